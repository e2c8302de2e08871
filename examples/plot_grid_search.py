"""
===========================================================
Choosing the pruning rate and the split by cross-validation
===========================================================

FlexRand has two knobs: ``pruning_rate``, how much of every class is
removed, and ``split``, where the boundary between its easy and its hard pool
lies. Both can be tuned like any other hyper-parameter, with
:class:`~sklearn.model_selection.GridSearchCV` over a pipeline that scores,
prunes and fine-tunes.

The expensive step, the DLC scoring, does not depend on either knob. With a
``memory`` cache, :class:`~sklearn_dlc.DLCHardness` scores each
cross-validation fold once, and every other candidate on that fold reuses
the scores.
"""

# %%
# A pipeline that scores, prunes and fine-tunes
# ---------------------------------------------
# The final step fine-tunes the MNIST-pretrained
# :class:`~sklearn_dlc.DigitsCNN` with skorch. Passing the module *instance*
# keeps its pre-trained weights: every clone made by the grid search starts
# from them. ``DLCHardness`` gets the same network; it never trains it.
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from imblearn.pipeline import Pipeline
from joblib import Memory
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from skorch import NeuralNetClassifier

from sklearn_dlc import (
    DLCHardness,
    FlexRandSampler,
    PruningCurveDisplay,
    load_digits_cnn,
    to_digits_input,
)

torch.set_num_threads(1)  # small networks on busy CPUs: user guide, Threads

X, y = load_digits(return_X_y=True)
X = to_digits_input(X)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.2, stratify=y, random_state=0
)

torch.manual_seed(0)
cache_dir = tempfile.mkdtemp(prefix="dlc_cache_")
pipe = Pipeline(
    [
        ("score", DLCHardness(load_digits_cnn(), memory=Memory(cache_dir, verbose=0))),
        ("prune", FlexRandSampler(random_state=0)),
        (
            "clf",
            NeuralNetClassifier(
                load_digits_cnn(),
                criterion=torch.nn.CrossEntropyLoss,
                optimizer=torch.optim.Adam,
                lr=1e-3,
                max_epochs=8,
                batch_size=64,
                iterator_train__shuffle=True,
                train_split=None,
                verbose=0,
            ),
        ),
    ]
)

# %%
# The grid
# --------
# Two pruning rates (70% and 90% of every class removed) and five splits. A
# small ``split`` makes the easy pool small: FlexRand then keeps that whole
# block of easiest samples and draws the rest from the hard side. A large
# ``split`` does the reverse. ``split=0.5`` is stratified random sampling.
param_grid = {
    "prune__pruning_rate": [0.7, 0.9],
    "prune__split": [0.1, 0.3, 0.5, 0.7, 0.9],
}
search = GridSearchCV(
    pipe,
    param_grid,
    cv=StratifiedKFold(3, shuffle=True, random_state=0),
    scoring="accuracy",
)
search.fit(X_train, y_train)

n_scored = len(list(Path(cache_dir).rglob("output.pkl")))
n_fits = len(search.cv_results_["params"]) * search.n_splits_ + 1
print(f"{n_fits} pipeline fits, {n_scored} DLC scorings (3 folds + the refit)")
print("best parameters:", search.best_params_)
print(f"cross-validated accuracy: {search.best_score_:.3f}")
print(f"test accuracy of the refitted pipeline: {search.score(X_test, y_test):.3f}")

# %%
# The cross-validation results
# ----------------------------
# Mean accuracy over the folds, with one standard deviation. The differences
# between splits are of the order of the fold-to-fold noise at a 70% pruning
# rate; at 90% the choice of the split matters more, because every sample
# that is kept carries more weight. There a large split, which draws half of
# the kept samples from the hardest 10% of every class, does worst: the same
# pattern as the hardest top-K in the previous example.
#
# :class:`~sklearn_dlc.PruningCurveDisplay` reads ``cv_results_`` directly:
# here with the split on the x axis and one curve per pruning rate.
results = pd.DataFrame(search.cv_results_)
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4))
PruningCurveDisplay.from_cv_results(
    search.cv_results_,
    param="prune__split",
    group_by="prune__pruning_rate",
    std_display_style="errorbar",
    score_name="cross-validated accuracy",
    ax=ax0,
)
ax0.set_xlabel("split (size of the easy pool, as a fraction of the class)")

table = results.pivot(
    index="param_prune__pruning_rate",
    columns="param_prune__split",
    values="mean_test_score",
)
image = ax1.imshow(table.to_numpy(), cmap="viridis", aspect="auto")
ax1.set_xticks(range(table.shape[1]), [f"{s:g}" for s in table.columns])
ax1.set_yticks(range(table.shape[0]), [f"{r:g}" for r in table.index])
ax1.set_xlabel("split")
ax1.set_ylabel("pruning_rate")
middle = (table.to_numpy().min() + table.to_numpy().max()) / 2
for (i, j), value in np.ndenumerate(table.to_numpy()):
    color = "k" if value > middle else "w"
    ax1.text(j, i, f"{value:.3f}", ha="center", va="center", color=color)
fig.colorbar(image, ax=ax1, label="mean accuracy")
fig.suptitle("GridSearchCV over FlexRandSampler's pruning_rate and split")
fig.tight_layout()
plt.show()

# %%
# The cache lives in a temporary directory; a real project would keep it
# between sessions so that the scores survive restarts.
import shutil

shutil.rmtree(cache_dir, ignore_errors=True)
