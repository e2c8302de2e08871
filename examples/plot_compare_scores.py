"""
==============================================
DLC next to other hardness scores
==============================================

The paper compares DLC with scores that need no training (the uncertainty of
the pre-trained network's own predictions) and with scores that need a
fine-tuning run (the loss integrated along training, EL2N). All of them are
estimators of this package with the same interface, so they plug into the
same pruning code. Here we compute each on the UCI digits, time it, compare
the rankings, and prune with each one.
"""

# %%
# Six scores of the same training digits
# --------------------------------------
# The shipped :class:`~sklearn_dlc.DigitsCNN` was pre-trained on MNIST
# digits, so its head already predicts the downstream classes: scores that
# read the network's own outputs (``head="model"``,
# :class:`~sklearn_dlc.ConfidenceHardness`) are meaningful here, next to the
# default prototype head.
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy.stats import spearmanr
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sklearn_dlc import (
    ConfidenceHardness,
    DLCHardness,
    FlexRandSampler,
    TrainingDynamicsHardness,
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

scorers = {
    "DLC (prototype head)": DLCHardness(net, random_state=0),
    "DLC (model head)": DLCHardness(net, head="model", random_state=0),
    "dense prototype loss": DLCHardness(net, n_subnets=1),
    "margin (no training)": ConfidenceHardness(net, method="margin"),
    "loss integral (10 epochs)": TrainingDynamicsHardness(
        net, method="loss_integral", max_epochs=10, batch_size=64, random_state=0
    ),
    "EL2N (2 epochs)": TrainingDynamicsHardness(
        net, method="el2n", max_epochs=10, score_epoch=2, batch_size=64, random_state=0
    ),
}
scores, seconds = {}, {}
for name, scorer in scorers.items():
    start = time.perf_counter()
    scores[name] = scorer.fit(X_train, y_train).hardness_
    seconds[name] = time.perf_counter() - start
    print(f"{name:<26} {seconds[name]:6.2f} s")

# %%
# Cost and agreement
# ------------------
# DLC runs 50 forward passes of the frozen network; the loss integral trains
# a copy of the network for 10 epochs and evaluates every sample after each;
# EL2N stops after 2 epochs. The scores of the dense network alone need a
# single forward pass. For a network this small, DLC costs about as much as
# the loss integral, or somewhat less. The paper's 35-fold speed-up is measured
# with ImageNet-pretrained networks and a full fine-tuning schedule for the
# training-based scores, where training costs far more than forward passes.
#
# The rank correlations show that the scores measure related but different
# things. Among the training-free scores, the model-head DLC agrees best with
# the loss integral, the quantity DLC sets out to approximate without
# training. The prototype-head DLC stays close to the dense prototype loss it
# starts from.
names = list(scores)
rho = np.array(
    [[spearmanr(scores[a], scores[b]).statistic for b in names] for a in names]
)

fig, (ax0, ax1) = plt.subplots(
    1, 2, figsize=(12, 4.6), gridspec_kw={"width_ratios": [1, 1.25]}
)
ax0.barh(names, [seconds[n] for n in names], color=["C0", "C0", "C7", "C7", "C3", "C3"])
ax0.invert_yaxis()
ax0.set_xlabel("scoring time on 1,437 digits (s)")
ax0.set_title("Cost")
image = ax1.imshow(rho, vmin=0, vmax=1, cmap="viridis")
ax1.set_xticks(range(len(names)), names, rotation=35, ha="right")
ax1.set_yticks(range(len(names)), names)
for (i, j), value in np.ndenumerate(rho):
    ax1.text(
        j,
        i,
        f"{value:.2f}",
        ha="center",
        va="center",
        color="k" if value > 0.6 else "w",
    )
fig.colorbar(image, ax=ax1, label="Spearman correlation")
ax1.set_title("Agreement between rankings")
fig.tight_layout()


# %%
# Pruning with each score
# -----------------------
# Keep 10% of every class with FlexRand (``split=0.3``) under each score,
# fine-tune for 8 epochs, and compare with stratified random selection, over
# three seeds. With 144 training images left, the differences between the
# scores are of the order of the seed-to-seed spread: an experiment this
# small cannot rank them, and none is clearly ahead of random selection. The
# paper's comparisons average over several datasets and networks.
def test_accuracy(model):
    with torch.no_grad():
        pred = model(torch.from_numpy(X_test)).argmax(1).numpy()
    return float(np.mean(pred == y_test))


seeds = [0, 1, 2]
accuracy = {}
for name in ["random selection", *names]:
    values = []
    for seed in seeds:
        if name == "random selection":
            sampler = FlexRandSampler(0.9, strategy="random", random_state=seed)
            hardness = np.zeros(len(y_train))
        else:
            sampler = FlexRandSampler(0.9, split=0.3, random_state=seed)
            hardness = scores[name]
        X_kept, y_kept = sampler.fit_resample(X_train, y_train, hardness=hardness)
        values.append(
            test_accuracy(fine_tune(net, X_kept, y_kept, epochs=8, seed=seed))
        )
    accuracy[name] = (np.mean(values), np.std(values))
    print(f"{name:<26} {accuracy[name][0]:.3f} +- {accuracy[name][1]:.3f}")

fig, ax = plt.subplots(figsize=(7, 4))
labels = list(accuracy)
ax.barh(
    labels,
    [accuracy[n][0] for n in labels],
    xerr=[accuracy[n][1] for n in labels],
    color=["0.6", "C0", "C0", "C7", "C7", "C3", "C3"],
    capsize=3,
)
ax.invert_yaxis()
low = min(m - s for m, s in accuracy.values())
high = max(m + s for m, s in accuracy.values())
ax.set_xlim(low - 0.02, min(1, high + 0.02))
ax.set_xlabel("test accuracy after fine-tuning (mean and std, 3 seeds)")
ax.set_title("FlexRand at pruning_rate=0.9 (10% kept) with each score")
fig.tight_layout()
plt.show()
