"""DLCHardness and FlexRandSampler composed in imblearn Pipelines and grids."""

import numpy as np
import pytest
from conftest import TinyCNN
from imblearn.pipeline import Pipeline
from joblib import Memory
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from skorch import NeuralNetClassifier
from torch import nn

from sklearn_dlc import DLCHardness, FlexRandSampler


class ForwardLog:
    """Forward hook appending one line per pass to a file.

    A file survives the deep copies of ``clone`` and the worker processes of
    ``n_jobs=2``, where an in-memory counter would not.
    """

    def __init__(self, path):
        self.path = path

    def __call__(self, module, args, output):
        with open(self.path, "a") as f:
            f.write(f"{len(args[0])}\n")

    def passes(self):
        try:
            with open(self.path) as f:
                return [int(line) for line in f]
        except FileNotFoundError:
            return []


@pytest.fixture
def flat_digits(digits):
    X, y = digits
    rng = np.random.RandomState(1)
    idx = rng.choice(len(X), 300, replace=False)
    return X[idx].reshape(-1, 64), y[idx]


@pytest.fixture
def pretrained():
    """The shipped CNN pre-trained on MNIST digits (a real transfer to UCI)."""
    from sklearn_dlc import load_digits_cnn

    return load_digits_cnn()


def test_card_usage_prunes_each_class(pretrained, flat_digits):
    X, y = flat_digits
    pipe = Pipeline(
        [
            ("score", DLCHardness(pretrained, n_subnets=5)),
            ("prune", FlexRandSampler(0.8, random_state=0)),
        ]
    )
    X_kept, y_kept = pipe.fit_resample(X, y)
    sampler = pipe.named_steps["prune"]
    assert type(X_kept) is np.ndarray
    np.testing.assert_array_equal(X_kept, X[sampler.sample_indices_])
    np.testing.assert_array_equal(y_kept, y[sampler.sample_indices_])
    np.testing.assert_array_equal(
        sampler.hardness_, pipe.named_steps["score"].hardness_
    )
    for c in np.unique(y):
        n_c = (y == c).sum()
        assert abs((y_kept == c).sum() - 0.2 * n_c) <= 1


def test_sampler_owning_its_scorer_equals_the_pipeline(pretrained, flat_digits):
    X, y = flat_digits
    scorer = DLCHardness(pretrained, n_subnets=4)
    via_pipe = Pipeline(
        [("score", scorer), ("prune", FlexRandSampler(0.7, random_state=3))]
    ).fit_resample(X, y)
    owned = FlexRandSampler(0.7, scorer=scorer, random_state=3).fit_resample(X, y)
    np.testing.assert_array_equal(via_pipe[0], owned[0])
    np.testing.assert_array_equal(via_pipe[1], owned[1])


def test_predict_sees_unpruned_unchanged_features(pretrained, flat_digits):
    X, y = flat_digits
    X_train, y_train, X_test = X[:200], y[:200], X[200:]
    pipe = Pipeline(
        [
            ("score", DLCHardness(pretrained, n_subnets=3)),
            ("prune", FlexRandSampler(0.5, random_state=0)),
            ("clf", LogisticRegression(max_iter=500)),
        ]
    ).fit(X_train, y_train)
    kept = pipe.named_steps["prune"].sample_indices_
    direct = LogisticRegression(max_iter=500).fit(X_train[kept], y_train[kept])
    np.testing.assert_array_equal(pipe.predict(X_test), direct.predict(X_test))
    np.testing.assert_allclose(pipe.predict_proba(X_test), direct.predict_proba(X_test))
    assert pipe.score(X_test, y[200:]) == direct.score(X_test, y[200:])


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_grid_search_scores_once_per_fold_and_scorer_setting(
    pretrained, flat_digits, tmp_path, n_jobs
):
    X, y = flat_digits
    log = ForwardLog(tmp_path / "passes.txt")
    pretrained.register_forward_hook(log)
    scorer = DLCHardness(
        pretrained, batch_size=1000, memory=Memory(tmp_path / "cache", verbose=0)
    )
    final = NeuralNetClassifier(
        TinyCNN,
        criterion=nn.CrossEntropyLoss,
        max_epochs=3,
        lr=0.2,
        train_split=None,
        verbose=0,
    )
    pipe = Pipeline(
        [("score", scorer), ("prune", FlexRandSampler(random_state=0)), ("clf", final)]
    )
    grid = {
        "prune__pruning_rate": [0.3, 0.7],
        "prune__split": [0.3, 0.5],
        "score__n_subnets": [2, 3],
    }
    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    search = GridSearchCV(pipe, grid, cv=cv, n_jobs=n_jobs).fit(X, y)

    assert len(search.cv_results_["params"]) == 8
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    best = search.best_params_["score__n_subnets"]
    # One dense+masked scoring per (fold, n_subnets) and one for the refit;
    # with batch_size >= n_samples a scoring of K subnets is K passes.
    # Without the cache the 8 candidates would score 2 x 8 + 1 times.
    expected = 2 * (2 + 3) + best
    passes = log.passes()
    # Each scoring also runs the net once on two samples to detect its head.
    full = [n for n in passes if n != 2]
    assert len(passes) - len(full) == 2 * 2 + 1
    assert len(full) == expected
    assert sorted(set(full)) == [150, 300]
    assert search.best_estimator_.predict(X[:10]).shape == (10,)
