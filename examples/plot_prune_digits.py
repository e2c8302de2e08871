"""
==============================================
Score and prune the digits with a pipeline
==============================================

A network pre-trained on one collection of handwritten digits (MNIST) is to
be fine-tuned on another one (scikit-learn's UCI digits). Before fine-tuning,
we score every downstream training image with
:class:`~sklearn_dlc.DLCHardness` and keep 20% of every class with
:class:`~sklearn_dlc.FlexRandSampler`, in one imbalanced-learn
:class:`~imblearn.pipeline.Pipeline`. No training happens in this example:
DLC only runs the frozen network, with more and more of its weights masked.
"""

# %%
# The data and the pre-trained network
# ------------------------------------
# :func:`~sklearn_dlc.to_digits_input` turns the 64 pixel counts of
# :func:`~sklearn.datasets.load_digits` into ``(n, 1, 8, 8)`` images in
# ``[0, 1]``, the input of the shipped :class:`~sklearn_dlc.DigitsCNN`.
import matplotlib.pyplot as plt
import numpy as np
import torch
from imblearn.pipeline import Pipeline
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sklearn_dlc import (
    DLCHardness,
    FlexRandSampler,
    HardnessDisplay,
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
print(f"{len(X_train)} training images, {net.head.in_features} features per image")

# %%
# Scoring and pruning
# -------------------
# ``FlexRandSampler(0.8)`` removes 80% of every class: its ``pruning_rate``
# is the fraction *removed* (the paper's "pruning ratio" is the kept
# fraction, here 0.2). With ``split=0.3`` the easiest 30% of a class form the
# easy pool and the other 70% the hard pool; FlexRand draws 10% of the class
# at random from each pool.
pipe = Pipeline(
    [
        ("score", DLCHardness(net, random_state=0)),
        ("prune", FlexRandSampler(0.8, split=0.3, random_state=0)),
    ]
)
X_kept, y_kept = pipe.fit_resample(X_train, y_train)
hardness = pipe.named_steps["score"].hardness_
kept = pipe.named_steps["prune"].sample_indices_
print(f"kept {len(X_kept)} of {len(X_train)} images")
print("kept per class:", np.bincount(y_kept))

# %%
# The hardness of the kept images, class by class
# -----------------------------------------------
# :class:`~sklearn_dlc.HardnessDisplay` draws one box per class (the
# quartiles of its DLC scores, whiskers to 1.5 times the interquartile range)
# and a dot for every image the sampler kept. Some classes are harder than
# others as a whole; within every class, half of the kept images come from
# its easiest 30% and half from the other 70%, so the dots cover the whole box.
display = HardnessDisplay.from_estimator(
    pipe.named_steps["score"], y_train, sampler=pipe.named_steps["prune"]
)
display.ax_.set_xlabel("DLC hardness (estimated mean loss over 50 subnets)")
display.figure_.set_size_inches(7, 5)
display.figure_.tight_layout()

# %%
# All classes together
# --------------------
# The left panel shows the distribution of DLC scores over the whole training
# set and over the kept subset: FlexRand keeps samples from the whole range,
# not only one end of it. The right panel relates the scores to the frozen
# network's own predictions on these images: the images it gets wrong
# without any fine-tuning score clearly harder. (``y=None`` draws all samples
# as one group; any grouping of the samples can take the place of the
# classes.)
with torch.no_grad():
    frozen_pred = net(torch.from_numpy(X_train)).argmax(1).numpy()
correct = frozen_pred == y_train
print(f"frozen network accuracy on the training images: {correct.mean():.3f}")

fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.8))
HardnessDisplay.from_predictions(
    None, hardness, kept_indices=kept, kind="hist", bins=40, ax=ax0
)
ax0.set_xlabel("DLC hardness (estimated mean loss over 50 subnets)")
ax0.set_ylabel("images")
HardnessDisplay.from_predictions(
    np.where(correct, "frozen net correct", "frozen net wrong"),
    hardness,
    kind="hist",
    bins=40,
    density=True,
    ax=ax1,
    hardness_name="DLC hardness",
)
fig.tight_layout()

# %%
# The easiest and the hardest images of every class
# -------------------------------------------------
# Easy images are drawn like the MNIST digits the network was trained on;
# hard ones are unusual shapes, thick or broken strokes, or digits that look
# like another class.
# sphinx_gallery_thumbnail_number = 3
n_show = 4
kept_set = set(kept.tolist())
fig, axes = plt.subplots(10, 2 * n_show, figsize=(2 * n_show * 0.9, 10 * 0.95))
for c in range(10):
    members = np.flatnonzero(y_train == c)
    order = members[np.argsort(hardness[members])]
    picks = list(order[:n_show]) + list(order[-n_show:])
    for j, i in enumerate(picks):
        ax = axes[c, j]
        ax.imshow(X_train[i, 0], cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        color = "C2" if j < n_show else "C3"
        for spine in ax.spines.values():
            spine.set_edgecolor(color)
            spine.set_linewidth(2 if i in kept_set else 0.5)
        if j == 0:
            ax.set_ylabel(str(c), rotation=0, labelpad=10, fontsize=12)
axes[0, 0].set_title("easiest", loc="left", fontsize=10)
axes[0, n_show].set_title("hardest", loc="left", fontsize=10)
fig.suptitle("Easiest (green) and hardest (red) images; thick frame = kept")
fig.tight_layout()

# %%
# The pruned set feeds the fine-tuning
# ------------------------------------
# ``X_kept, y_kept`` can go straight into any training loop, e.g.
# :func:`~sklearn_dlc.fine_tune`, or the pipeline can end with the
# classifier itself (see the grid-search example). Fine-tuning on 20% of the
# data is much cheaper; the next example measures what it costs in accuracy.
plt.show()
