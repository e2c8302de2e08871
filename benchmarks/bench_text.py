"""Texts/s of DLC scoring of BANKING77 with MiniLM: padded vs grouped+trimmed.

python benchmarks/bench_text.py [N_TEXTS]   # default 1024 texts

Same process, same model, interleaved runs (padded, trimmed, raw texts with
the tokenizer, repeated), n_subnets=2, batch_size=64, prototype head.
BANKING77 ships with the package (:func:`sklearn_dlc.demo.load_banking77`).
"""

import argparse
import sys

import numpy as np
import torch
from _common import banking77, timed

from sklearn_dlc import DLCHardness
from sklearn_dlc.demo import load_minilm


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "n_texts", nargs="?", type=int, default=1024, help="texts drawn (seed 0)"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    n = args.n_texts
    all_texts, all_labels = banking77("train")
    rng = np.random.RandomState(0)
    chosen = rng.choice(len(all_texts), n, replace=False)
    texts = all_texts[chosen].tolist()
    _, y = np.unique(all_labels[chosen], return_inverse=True)

    model = load_minilm(max_seq_length=256)
    enc = model.tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
    X = {k: v.numpy() for k, v in enc.items()}
    mask = X["attention_mask"]
    print(
        f"{n} texts, padded width {mask.shape[1]}, mean length {mask.sum(1).mean():.1f}"
    )
    kw = dict(n_subnets=2, step=0.02, batch_size=64)
    variants = {
        "padded to longest": lambda: DLCHardness(model, trim_padding=False, **kw).fit(
            X, y
        ),
        "grouped + trimmed": lambda: DLCHardness(model, **kw).fit(X, y),
        "raw texts, tokenizer": lambda: DLCHardness(
            model, tokenizer=model.tokenizer, **kw
        ).fit(texts, y),
    }
    times = {k: [] for k in variants}
    scores = {}
    for _ in range(2):
        for name, run in variants.items():
            fitted, t = timed(run)
            scores[name] = fitted.hardness_
            times[name].append(t)
    base = min(times["padded to longest"])
    for name, ts in times.items():
        best = min(ts)
        print(
            f"{name:22s} best {best:6.2f} s  {2 * n / best:7.1f} texts/s (x2 subnets)  "
            f"speed-up x{base / best:.2f}  max |score diff| "
            f"{np.abs(scores[name] - scores['padded to longest']).max():.2e}"
        )


if __name__ == "__main__":
    main()
