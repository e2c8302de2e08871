"""Peak memory and time of DLC scoring vs a dense forward, one subprocess per variant.

python benchmarks/bench_memory.py [MODEL ...]   # every variant of each MODEL
                                                # (gpt2, gpt2-12, minilm, digits;
                                                # default gpt2 minilm digits),
                                                # each in a subprocess
python benchmarks/bench_memory.py MODEL --variant VARIANT  # one measurement,
                                                # prints a JSON line

Variants: dense (plain forward loop over the data, no masks, the same
per-sample loss for GPT-2), persistent (one working copy of the masked
weights) and per_access (each masked weight computed when its layer reads
it). Peak = ru_maxrss after the run minus the RSS just before it (model and
data already built, one warm-up batch run). Run with
``MALLOC_MMAP_THRESHOLD_=65536`` for steadier RSS numbers; results of
2026-11-29 are in ``results/bench_memory.txt``.
"""

import argparse
import json
import os
import resource
import subprocess
import sys

import numpy as np
import torch
from _common import masks, timed

from sklearn_dlc import DLCHardness

N_SUBNETS = 3
VARIANTS = ("dense", "persistent", "per_access")
MODELS = ("gpt2", "gpt2-12", "minilm", "digits")


def build(model):
    torch.manual_seed(0)
    rng = np.random.RandomState(0)
    if model.startswith("gpt2"):
        import transformers

        config = transformers.GPT2Config(
            vocab_size=5000,
            n_positions=128,
            n_embd=768,
            n_layer=12 if model == "gpt2-12" else 6,
            n_head=12,
        )
        net = transformers.GPT2LMHeadModel(config).eval()
        n, width = 64, 64
        ids = rng.randint(0, 5000, (n, width))
        mask = np.ones_like(ids)
        from sklearn_dlc import causal_lm_loss

        labels = torch.as_tensor(ids).clone()
        labels[:, :8] = -100
        X = {"input_ids": ids, "attention_mask": mask}
        kw = dict(
            scope="layer",
            step=0.2,
            head="model",
            criterion=causal_lm_loss,
            batch_size=16,
            trim_padding=False,
        )
        return net, X, labels, kw
    if model == "minilm":
        from sklearn_dlc.demo import load_minilm

        net = load_minilm(max_seq_length=256)  # sentence-transformers' default
        texts = [f"sample text number {i} " * (1 + i % 5) for i in range(256)]
        X = {k: v for k, v in net.tokenize(texts).items()}
        y = np.arange(256) % 4
        kw = dict(step=0.02, batch_size=64, trim_padding=False)
        return net, X, y, kw
    if model == "digits":
        from sklearn.datasets import load_digits

        from sklearn_dlc import load_digits_cnn, to_digits_input

        X, y = load_digits(return_X_y=True)
        return load_digits_cnn(), to_digits_input(X), y, dict(step=0.02, batch_size=256)
    raise ValueError(model)


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def dense_passes(module, X, y, kw, model):
    """``N_SUBNETS`` plain forward loops over the data, no masks."""
    bs = kw["batch_size"]
    with torch.no_grad():
        for _ in range(N_SUBNETS):
            for s in range(0, len(y), bs):
                if not isinstance(X, dict):
                    module(torch.as_tensor(X[s : s + bs]))
                    continue
                xb = {
                    k: v if isinstance(v, str) else torch.as_tensor(v[s : s + bs])
                    for k, v in X.items()
                }
                try:
                    out = module(**xb)
                except TypeError:
                    out = module(xb)
                if model.startswith("gpt2"):  # the same per-sample loss as DLC
                    kw["criterion"](out.logits, y[s : s + bs])


def one(model, variant):
    torch.set_num_threads(1)
    net, X, y, kw = build(model)
    module = (
        net.module
        if hasattr(net, "module") and not isinstance(net, torch.nn.Module)
        else net
    )
    first = (
        {
            k: (torch.as_tensor(v[:2]) if not isinstance(v, str) else v)
            for k, v in X.items()
        }
        if isinstance(X, dict)
        else torch.as_tensor(X[:2])
    )
    with torch.no_grad():
        if isinstance(first, dict):
            try:
                module(**first)
            except TypeError:
                module(first)
        else:
            module(first)
    before = rss()
    if variant == "dense":
        _, seconds = timed(dense_passes, module, X, y, kw, model)
    else:
        # Layers whose weights take more bytes than this compute their masked
        # weight on each access; the others keep one working copy.
        masks.PER_ACCESS_BYTES = 0 if variant == "per_access" else 1 << 62
        _, seconds = timed(DLCHardness(net, n_subnets=N_SUBNETS, **kw).fit, X, y)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        json.dumps(
            {
                "model": model,
                "variant": variant,
                "seconds": round(seconds, 3),
                "peak_delta_mib": round((peak - before) / 2**20, 1),
                "params_mib": round(
                    sum(p.numel() * p.element_size() for p in module.parameters())
                    / 2**20,
                    1,
                ),
            }
        )
    )


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "models", nargs="*", metavar="MODEL", help="gpt2, gpt2-12, minilm or digits"
    )
    parser.add_argument(
        "--variant",
        choices=VARIANTS,
        help="measure this variant of the one MODEL in this process",
    )
    args = parser.parse_args(argv)
    args.models = args.models or ["gpt2", "minilm", "digits"]
    unknown = set(args.models) - set(MODELS)
    if unknown:
        parser.error(f"unknown models {sorted(unknown)}; known: {', '.join(MODELS)}")
    if args.variant is not None:
        if len(args.models) != 1:
            parser.error("--variant needs exactly one MODEL")
        return one(args.models[0], args.variant)
    for model in args.models:
        for variant in VARIANTS:
            out = subprocess.run(
                [sys.executable, __file__, model, "--variant", variant],
                capture_output=True,
                text=True,
            )
            line = [row for row in out.stdout.splitlines() if row.startswith("{")]
            print(line[-1] if line else out.stderr[-2000:], flush=True)


if __name__ == "__main__":
    main()
