"""
=================================================
Prune a long-tailed dataset: per-class budgets
=================================================

Downstream data is rarely balanced. Here the training split of
scikit-learn's digits is made long-tailed: the digit 0 keeps 120 images, the
digit 9 only 5, on an exponential profile. Keeping 10% of every class (the
``"proportional"`` budget) then leaves the rare digits one image each. The
``"balanced"`` budget of :class:`~sklearn_dlc.FlexRandSampler` keeps the
same total but spreads it as evenly over the classes as their sizes allow.
We compare the kept counts and the recall of every digit on a balanced test
set, and end with ensembles of draws:
:class:`~sklearn_dlc.FlexRandEnsembleClassifier` and imbalanced-learn's
:class:`~imblearn.ensemble.BalancedBaggingClassifier`.
"""

# %%
# A long-tailed training set
# --------------------------
import matplotlib.pyplot as plt
import numpy as np
import torch
from imblearn.ensemble import BalancedBaggingClassifier
from imblearn.pipeline import Pipeline
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, recall_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_dlc import (
    DLCHardness,
    FlexRandEnsembleClassifier,
    FlexRandSampler,
    load_digits_cnn,
    to_digits_input,
)

torch.set_num_threads(1)  # small networks on busy CPUs: user guide, Threads

X, y = load_digits(return_X_y=True)
X = to_digits_input(X)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)
rng = np.random.default_rng(0)
sizes = np.round(120 * (5 / 120) ** (np.arange(10) / 9)).astype(int)
keep = np.concatenate(
    [rng.permutation(np.flatnonzero(y_train == c))[:n] for c, n in enumerate(sizes)]
)
X_train, y_train = X_train[keep], y_train[keep]
print("training images per digit:", np.bincount(y_train))

# %%
# Score once, prune under both budgets
# ------------------------------------
# The DLC scores come from the small CNN pre-trained on MNIST that ships with
# the package; the downstream model is a logistic regression on the pixels.
scorer = DLCHardness(load_digits_cnn(), random_state=0).fit(X_train, y_train)
budgets = ("proportional", "balanced")
recalls, kept_counts = {}, {}
for budget in budgets:
    sampler = FlexRandSampler(
        0.9, strategy="adaptive", class_budget=budget, random_state=0
    )
    X_kept, y_kept = sampler.fit_resample(X_train, y_train, hardness=scorer.hardness_)
    kept_counts[budget] = list(sampler.sampling_strategy_.values())
    clf = LogisticRegression(max_iter=1000)
    clf.fit(X_kept.reshape(len(X_kept), -1), y_kept)
    pred = clf.predict(X_test.reshape(len(X_test), -1))
    recalls[budget] = recall_score(y_test, pred, average=None)
    print(
        f"{budget:>12}: kept {len(y_kept)} images {kept_counts[budget]}, "
        f"balanced accuracy {balanced_accuracy_score(y_test, pred):.3f}, "
        f"worst-digit recall {recalls[budget].min():.3f}"
    )

# %%
# Kept images and recall, digit by digit
# --------------------------------------
# Both budgets keep the same number of images. The proportional one follows
# the long tail; the balanced one takes images from the head classes and
# gives them to the tail, whose recall rises the most.
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.8))
digits = np.arange(10)
for shift, budget in zip((-0.2, 0.2), budgets):
    ax0.bar(digits + shift, kept_counts[budget], width=0.4, label=budget)
    ax1.bar(digits + shift, recalls[budget], width=0.4, label=budget)
ax0.set(xlabel="digit", ylabel="images kept", xticks=digits)
ax1.set(xlabel="digit", ylabel="recall on the test set", xticks=digits)
ax0.legend()
fig.tight_layout()

# %%
# Ensembles of draws
# ------------------
# :class:`~sklearn_dlc.FlexRandEnsembleClassifier` fits one model per draw,
# each member with its own seed, on the images themselves; the scores come
# from the ``DLCHardness`` step before it, computed once. The members'
# probabilities are averaged.
to_pixels = FunctionTransformer(lambda X: X.reshape(len(X), -1))
for n_members in (1, 5):
    pipe = Pipeline(
        [
            ("score", DLCHardness(load_digits_cnn(), random_state=0)),
            (
                "ensemble",
                FlexRandEnsembleClassifier(
                    make_pipeline(to_pixels, LogisticRegression(max_iter=1000)),
                    FlexRandSampler(0.9, class_budget="balanced"),
                    n_estimators=n_members,
                    random_state=0,
                ),
            ),
        ]
    ).fit(X_train, y_train)
    pred = pipe.predict(X_test)
    print(
        f"{n_members} member(s): balanced accuracy "
        f"{balanced_accuracy_score(y_test, pred):.3f}"
    )

# %%
# On 2-D features, imbalanced-learn's
# :class:`~imblearn.ensemble.BalancedBaggingClassifier` does the same with
# ``FlexRandSampler`` as its ``sampler`` and ``bootstrap=False``. Here the
# network reads the flattened pixels through a reshaping first layer.
net = torch.nn.Sequential(torch.nn.Unflatten(1, (1, 8, 8)), load_digits_cnn())
bagging = Pipeline(
    [
        ("score", DLCHardness(net, random_state=0)),
        (
            "bag",
            BalancedBaggingClassifier(
                LogisticRegression(max_iter=1000),
                n_estimators=5,
                sampler=FlexRandSampler(0.9, class_budget="balanced"),
                bootstrap=False,
                random_state=0,
            ),
        ),
    ]
).fit(to_pixels.transform(X_train), y_train)
pred = bagging.predict(to_pixels.transform(X_test))
print(
    f"bagging, 5 members: balanced accuracy {balanced_accuracy_score(y_test, pred):.3f}"
)
