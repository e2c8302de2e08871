"""
=====================================================
Accuracy after fine-tuning on a pruned training set
=====================================================

How much accuracy does pruning cost? We score the UCI digits once with
:class:`~sklearn_dlc.DLCHardness`, prune them at several rates with
:class:`~sklearn_dlc.FlexRandSampler` and its baselines (stratified random,
the easiest top-K, the hardest top-K), fine-tune the MNIST-pretrained
:class:`~sklearn_dlc.DigitsCNN` on each kept subset and measure the accuracy
on a held-out test set. Every fine-tuning run is repeated with a few seeds,
which change both the random selections and the order of the batches.
"""

# %%
# Scores, computed once
# ---------------------
# The DLC scores do not depend on the pruning rate, so one
# :meth:`~sklearn_dlc.DLCHardness.fit` serves every selection below: the
# sampler takes the precomputed scores through ``fit_resample(...,
# hardness=...)``.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sklearn_dlc import (
    DLCHardness,
    FlexRandSampler,
    PruningCurveDisplay,
    fine_tune,
    load_digits_cnn,
    to_digits_input,
)

torch.set_num_threads(1)  # small networks on busy CPUs: user guide, Threads

X, y = load_digits(return_X_y=True)
X = to_digits_input(X)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.2, stratify=y, random_state=0
)
net = load_digits_cnn()
hardness = DLCHardness(net, random_state=0).fit(X_train, y_train).hardness_


def test_accuracy(model):
    with torch.no_grad():
        pred = model(torch.from_numpy(X_test)).argmax(1).numpy()
    return float(np.mean(pred == y_test))


# %%
# Fine-tuning on every subset
# ---------------------------
# ``pruning_rate`` is the fraction of every class that is removed. FlexRand
# uses ``split=0.3``: the easiest 30% of a class form the easy pool. All runs
# train every layer for the same number of epochs, so a smaller subset also
# means proportionally less training time.
rates = [0.5, 0.7, 0.9]
seeds = [0, 1, 2]
strategies = {
    "DLC + FlexRand": dict(strategy="flexrand", split=0.3),
    "random": dict(strategy="random"),
    "DLC easiest": dict(strategy="easy"),
    "DLC hardest": dict(strategy="hard"),
}
epochs = 8

records = []
for seed in seeds:
    full = fine_tune(net, X_train, y_train, epochs=epochs, seed=seed)
    records.append(("full data", 0.0, seed, test_accuracy(full)))
    for rate in rates:
        for name, params in strategies.items():
            sampler = FlexRandSampler(rate, random_state=seed, **params)
            X_kept, y_kept = sampler.fit_resample(X_train, y_train, hardness=hardness)
            tuned = fine_tune(net, X_kept, y_kept, epochs=epochs, seed=seed)
            records.append((name, rate, seed, test_accuracy(tuned)))

results = pd.DataFrame(records, columns=["method", "pruning_rate", "seed", "accuracy"])
# Standard deviations over the seeds with ddof=0, as the plot below uses.
summary = results.groupby(["method", "pruning_rate"])["accuracy"].agg(
    mean="mean", std=lambda a: a.std(ddof=0)
)
print(f"frozen pre-trained network: {test_accuracy(net):.3f}")
print(summary.round(3))

# %%
# Accuracy against pruning rate
# -----------------------------
# :class:`~sklearn_dlc.PruningCurveDisplay` aggregates the table of runs: one
# curve per method, the mean over the seeds with a band of one standard
# deviation, against the kept fraction ``1 - pruning_rate``.
# The dashed line is fine-tuning on all the training data, the dotted one the
# frozen pre-trained network. Two regimes show up (the table above has the
# numbers of this run):
#
# * When half or more of the data is kept, the hardest samples are the most
#   useful ones. The easy digits are the ones the MNIST-pretrained network
#   already classifies; the hard ones carry what differs between the two
#   collections. The easiest top-K is the worst choice at every rate.
# * When only 10% is kept, the hardest top-K falls behind the randomized
#   selections and varies more from seed to seed: a handful of unusual or
#   ambiguous digits per class no longer describes the classes. FlexRand and
#   random selection degrade the least; on a problem this small they are
#   within noise of each other.
#
# This is the trade-off FlexRand's ``split`` controls; the next example picks
# the rate and the split by cross-validation instead of by eye.
pruned = results[results["method"] != "full data"].assign(
    kept=lambda t: 1 - t["pruning_rate"]
)
display = PruningCurveDisplay.from_results(
    "kept",
    "accuracy",
    strategy="method",
    seed="seed",
    data=pruned,
    score_name=f"test accuracy (mean and std, {len(seeds)} seeds)",
)
ax = display.ax_
display.figure_.set_size_inches(7, 4.5)
full_mean = summary.loc[("full data", 0.0), "mean"]
ax.axhline(full_mean, color="k", linestyle="--", label="all data")
ax.axhline(test_accuracy(net), color="0.5", linestyle=":", label="no fine-tuning")
kept_fractions = [1 - r for r in rates]
ax.set_xticks(kept_fractions)
ax.set_xticklabels([f"{1 - k:.0%} removed\n({k:.0%} kept)" for k in kept_fractions])
ax.set_title("Fine-tuning the MNIST-pretrained CNN on pruned UCI digits")
ax.legend(loc="lower right")
display.figure_.tight_layout()
plt.show()
