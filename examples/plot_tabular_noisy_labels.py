"""
=========================================================
Tabular data: a small MLP and a split with noisy labels
=========================================================

:class:`~sklearn_dlc.DLCHardness` works with any :class:`torch.nn.Module`,
not only image networks. Here a small multi-layer perceptron is pre-trained
on one half of scikit-learn's breast cancer data (30 numeric features per
tumour). The other half plays the downstream dataset, and 10% of its labels
are flipped on purpose, to stand for annotation errors. DLC then scores the
downstream rows with the frozen MLP, and we look at what each selection
strategy keeps.

The label noise is simulated, so we know which rows are wrong; on real data
one would not, and the hardest rows would mix wrong labels with genuinely
difficult cases.
"""

# %%
# Pre-training the MLP on the source half
# ---------------------------------------
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn

from sklearn_dlc import (
    DLCHardness,
    FlexRandSampler,
    HardnessDisplay,
    PruningCurveDisplay,
)

torch.set_num_threads(1)  # small networks on busy CPUs: user guide, Threads

X, y = load_breast_cancer(return_X_y=True)
X_source, X_target, y_source, y_target = train_test_split(
    X, y, test_size=0.5, stratify=y, random_state=0
)
scaler = StandardScaler().fit(X_source)
X_source = scaler.transform(X_source).astype(np.float32)
X_target = scaler.transform(X_target).astype(np.float32)

torch.manual_seed(0)
mlp = nn.Sequential(
    nn.Linear(30, 32),
    nn.ReLU(),
    nn.Linear(32, 16),
    nn.ReLU(),
    nn.Linear(16, 2),
)
optimizer = torch.optim.Adam(mlp.parameters(), lr=1e-2, weight_decay=1e-3)
Xs, ys = torch.from_numpy(X_source), torch.from_numpy(y_source)
for _ in range(200):
    optimizer.zero_grad()
    F.cross_entropy(mlp(Xs), ys).backward()
    optimizer.step()
mlp.eval()
with torch.no_grad():
    target_pred = mlp(torch.from_numpy(X_target)).argmax(1).numpy()
accuracy = np.mean(target_pred == y_target)
print(f"frozen MLP accuracy on the clean downstream half: {accuracy:.3f}")

# %%
# Flipping 10% of the downstream labels
# -------------------------------------
rng = np.random.default_rng(0)
flipped = np.zeros(len(y_target), dtype=bool)
flipped[rng.choice(len(y_target), size=len(y_target) // 10, replace=False)] = True
y_noisy = np.where(flipped, 1 - y_target, y_target)
print(f"{flipped.sum()} of {len(y_noisy)} downstream labels flipped")

# %%
# Scoring the downstream rows
# ---------------------------
# The head is the last ``nn.Linear``; with the default ``head="prototype"``
# the features are the 16 activations before it, and the class prototypes
# are their means over the (noisy) classes. The weights of the two hidden
# layers are masked.
scorer = DLCHardness(mlp, random_state=0).fit(X_target, y_noisy)
hardness = scorer.hardness_
print(f"{scorer.n_masked_weights_} masked weights in {len(scorer.sparsities_)} subnets")

# %%
# What the strategies keep
# ------------------------
# The left panel (:class:`~sklearn_dlc.HardnessDisplay`, with the two groups
# of rows in place of classes): rows with a flipped label are among the
# hardest. The right panel (:class:`~sklearn_dlc.PruningCurveDisplay`): the
# share of wrong labels among the kept rows against the kept fraction, the
# mean over 10 seeds with one standard deviation. Keeping the hardest
# rows concentrates the errors; the easiest top-K removes almost all of them;
# random selection keeps the 10% of the data it started with. FlexRand with a
# small split keeps the easy block and draws the rest at random from the
# harder rows, so it lands in between: it trades part of the cleaning for a
# sample that still covers the difficult region.
rates = [0.2, 0.4, 0.6, 0.8, 0.9]
strategies = {
    "easiest": dict(strategy="easy"),
    "FlexRand, split=0.3": dict(strategy="flexrand", split=0.3),
    "random": dict(strategy="random"),
    "hardest": dict(strategy="hard"),
}
records = []
for name, params in strategies.items():
    for rate in rates:
        for seed in range(10):
            sampler = FlexRandSampler(rate, random_state=seed, **params)
            sampler.fit_resample(X_target, y_noisy, hardness=hardness)
            share = flipped[sampler.sample_indices_].mean()
            records.append((name, 1 - rate, seed, share))
method, kept, seed, share = map(np.array, zip(*records))

fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4))
HardnessDisplay.from_predictions(
    np.where(flipped, "label flipped", "label kept"),
    hardness,
    kind="hist",
    classes=["label kept", "label flipped"],
    ax=ax0,
    hardness_name="DLC hardness",
)
ax0.set_ylabel("rows")
PruningCurveDisplay.from_results(
    kept,
    share,
    strategy=method,
    seed=seed,
    score_name="share of flipped labels among kept rows",
    ax=ax1,
)
ax1.axhline(flipped.mean(), color="0.4", linestyle=":", label="before pruning")
ax1.legend()
fig.suptitle("Breast cancer data, MLP pre-trained on the other half")
fig.tight_layout()
plt.show()
