"""Per-class budgets (class_budget) and ensembles of FlexRand draws."""

import numpy as np
import pytest
import torch
from imblearn.ensemble import BalancedBaggingClassifier
from imblearn.pipeline import Pipeline
from imblearn.utils.estimator_checks import (
    parametrize_with_checks as imblearn_parametrize_with_checks,
)
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.svm import LinearSVC
from sklearn.utils.estimator_checks import (
    parametrize_with_checks as sklearn_parametrize_with_checks,
)
from sklearn.utils.validation import check_array

from sklearn_dlc import (
    DLCHardness,
    FlexRandEnsembleClassifier,
    FlexRandSampler,
    choose_selection,
)
from sklearn_dlc._scored import attach_hardness, find_row_hardness
from sklearn_dlc._selection import (
    STRATEGIES,
    class_counts,
    keep_count,
    select_indices,
    water_fill,
)

SIZES = (200, 60, 20, 7, 3)
ALLOCATIONS = ["proportional", "balanced", "hardness", {1: 4, 4: 0}, "callable"]


def _data(sizes=SIZES, seed=0):
    rng = np.random.RandomState(seed)
    y = rng.permutation(np.repeat(np.arange(len(sizes)), sizes))
    return y, rng.normal(size=y.size) + 0.3 * y


def _budget(allocation):
    if allocation == "callable":
        return lambda y: {0: int(np.sum(y == 0)) // 10}
    return allocation


class RowSumScorer(BaseEstimator):
    def fit(self, X, y):
        X = check_array(X, accept_sparse="csr", ensure_all_finite="allow-nan")
        if sparse.issparse(X):
            self.hardness_ = np.asarray(abs(X).sum(axis=1)).ravel()
        else:
            self.hardness_ = np.nansum(np.abs(X), axis=1)
        return self


CHECKED = [
    FlexRandSampler(
        0.5, class_budget="balanced", scorer=RowSumScorer(), random_state=0
    ),
    FlexRandSampler(0.5, strategy="random", class_budget="balanced", random_state=0),
]


@sklearn_parametrize_with_checks(CHECKED)
def test_sklearn_compatible(estimator, check):
    check(estimator)


_IMBLEARN_CHECKS = imblearn_parametrize_with_checks(CHECKED)


@pytest.mark.parametrize(
    _IMBLEARN_CHECKS.args[0],
    list(_IMBLEARN_CHECKS.args[1]),
    **_IMBLEARN_CHECKS.kwargs,
)
def test_imblearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("rate", [0.5, 0.9, 0.98])
def test_water_fill_is_as_even_as_sizes_allow(rate):
    y, _ = _data()
    total = sum(keep_count(n, rate) for n in SIZES)
    counts = water_fill(total, SIZES)
    assert counts.sum() == total
    assert np.all(counts >= 1) and np.all(counts <= SIZES)
    # Classes below their share keep all; the others differ by at most one.
    open_ = counts < np.array(SIZES)
    assert open_.any() and np.ptp(counts[open_]) <= 1
    assert np.all(counts[~open_] <= counts[open_].min())


def test_water_fill_remainder_goes_to_larger_then_first_class():
    np.testing.assert_array_equal(water_fill(8, [10, 20, 20]), [2, 3, 3])
    np.testing.assert_array_equal(water_fill(7, [20, 20, 20]), [3, 2, 2])
    np.testing.assert_array_equal(water_fill(30, [5, 100, 100]), [5, 13, 12])


def test_water_fill_weights_and_caps():
    counts = water_fill(60, [100, 100, 5], weights=[1.0, 3.0, 100.0])
    np.testing.assert_array_equal(counts, [14, 41, 5])
    with pytest.raises(ValueError, match="cannot spread"):
        water_fill(2, [5, 5, 5])


@pytest.mark.parametrize("allocation", ALLOCATIONS, ids=str)
@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("rate", [0.5, 0.95])
def test_counts_of_every_allocation_and_strategy(allocation, strategy, rate):
    y, hardness = _data()
    budget = _budget(allocation)
    _, expected = class_counts(y, rate, budget, hardness)
    idx = select_indices(
        hardness,
        y,
        rate,
        split=0.3,
        strategy=strategy,
        rng=np.random.RandomState(0),
        class_budget=budget,
    )
    assert np.unique(idx).size == idx.size
    np.testing.assert_array_equal(np.bincount(y[idx], minlength=len(SIZES)), expected)
    # The random baseline keeps the same counts.
    random_idx = select_indices(
        hardness, y, rate, strategy="random", rng=1, class_budget=budget
    )
    np.testing.assert_array_equal(
        np.bincount(y[random_idx], minlength=len(SIZES)), expected
    )
    sampler = FlexRandSampler(
        rate, split=0.3, strategy=strategy, class_budget=budget, random_state=0
    )
    sampler.fit_resample(np.zeros((y.size, 1)), y, hardness=hardness)
    np.testing.assert_array_equal(sampler.sample_indices_, idx)
    assert list(sampler.sampling_strategy_) == list(range(len(SIZES)))
    np.testing.assert_array_equal(list(sampler.sampling_strategy_.values()), expected)


@pytest.mark.parametrize("rate", [0.5, 0.9, 0.98])
def test_balanced_and_hardness_keep_the_proportional_total(rate):
    y, hardness = _data()
    total = class_counts(y, rate)[1].sum()
    balanced = class_counts(y, rate, "balanced")[1]
    by_hardness = class_counts(y, rate, "hardness", hardness)[1]
    assert balanced.sum() == by_hardness.sum() == total
    # The smallest classes gain under "balanced", the largest loses.
    proportional = class_counts(y, rate)[1]
    assert balanced[0] < proportional[0] and balanced[-1] >= proportional[-1]


def test_hardness_budget_gives_harder_classes_more():
    y = np.repeat([0, 1], 100)
    hardness = np.where(y == 1, 5.0, 1.0) + np.linspace(0, 0.1, 200)
    np.testing.assert_array_equal(
        class_counts(y, 0.8, "hardness", hardness)[1], [11, 29]
    )
    # Random draws inside classes, but the allocation needs scores.
    sampler = FlexRandSampler(0.8, strategy="random", class_budget="hardness")
    with pytest.raises(ValueError, match="class_budget='hardness'"):
        sampler.fit_resample(np.zeros((200, 1)), y)
    sampler.fit_resample(np.zeros((200, 1)), y, hardness=hardness)
    assert dict(sampler.sampling_strategy_) == {0: 11, 1: 29}


def test_proportional_is_todays_selection():
    y, hardness = _data()
    for strategy in STRATEGIES:
        a = select_indices(hardness, y, 0.9, split=0.3, strategy=strategy, rng=3)
        b = select_indices(
            hardness,
            y,
            0.9,
            split=0.3,
            strategy=strategy,
            rng=3,
            class_budget="proportional",
        )
        np.testing.assert_array_equal(a, b)
    # An explicit dict of the proportional counts draws differently only
    # through FlexRand's kept fraction, never in the counts.
    counts = dict(zip(range(len(SIZES)), class_counts(y, 0.9)[1].tolist()))
    c = select_indices(hardness, y, 0.9, strategy="random", rng=3, class_budget=counts)
    np.testing.assert_array_equal(
        c, select_indices(hardness, y, 0.9, strategy="random", rng=3)
    )


def test_adaptive_uses_each_class_kept_fraction():
    # Class 0 keeps 2% of itself under "balanced": the adaptive rule leans to
    # its easiest samples there, and is random where a class keeps it all.
    y = np.repeat([0, 1], [500, 10])
    hardness = np.arange(510.0)
    idx = select_indices(
        hardness, y, 0.96, strategy="adaptive", rng=0, class_budget={0: 10}
    )
    tilt_idx = select_indices(
        hardness,
        y,
        0.96,
        strategy="tilt",
        tilt=np.log(0.05 / 0.02),
        rng=0,
        class_budget={0: 10},
    )
    np.testing.assert_array_equal(idx[y[idx] == 0], tilt_idx[y[tilt_idx] == 0])


@pytest.mark.parametrize("allocation", ALLOCATIONS[1:], ids=str)
def test_deterministic_under_random_state(allocation):
    y, hardness = _data()
    X = np.zeros((y.size, 2))

    def run(seed):
        s = FlexRandSampler(0.9, class_budget=_budget(allocation), random_state=seed)
        return s.fit(X, y, hardness=hardness).sample_indices_

    np.testing.assert_array_equal(run(0), run(0))
    assert not np.array_equal(run(0), run(1))


@pytest.mark.parametrize(
    "budget, error, match",
    [
        ({7: 3}, ValueError, "class 7, which is not in y"),
        ({0: -1}, ValueError, r"between 0 and the class size 200; got -1"),
        ({4: 4}, ValueError, r"between 0 and the class size 3; got 4"),
        ({0: 2.5}, ValueError, "whole number of samples; got 2.5"),
        ({0: True}, ValueError, "whole number"),
        (lambda y: [1, 2], TypeError, "must return a dict"),
        ("even", ValueError, "class_budget"),
        ([1, 2], ValueError, "class_budget"),
    ],
    ids=[
        "unknown",
        "negative",
        "too-large",
        "float",
        "bool",
        "callable",
        "str",
        "list",
    ],
)
def test_errors(budget, error, match):
    y, hardness = _data()
    with pytest.raises(error, match=match):
        FlexRandSampler(0.5, class_budget=budget).fit_resample(
            np.zeros((y.size, 1)), y, hardness=hardness
        )


def test_stratify_false_accepts_only_proportional():
    _, hardness = _data()
    X = np.zeros((hardness.size, 1))
    sampler = FlexRandSampler(0.5, stratify=False, class_budget="balanced")
    with pytest.raises(ValueError, match="'proportional' when stratify=False"):
        sampler.fit_resample(X, None, hardness=hardness)
    kept = FlexRandSampler(0.5, stratify=False, random_state=0).fit_resample(
        X, None, hardness=hardness
    )[0]
    assert kept.shape[0] == keep_count(hardness.size, 0.5)
    with pytest.raises(ValueError, match="stratify=False"):
        select_indices(hardness, None, 0.5, class_budget={0: 1})


def test_zero_count_drops_a_class_but_reports_it():
    y, hardness = _data()
    sampler = FlexRandSampler(0.5, class_budget={4: 0}, random_state=0)
    _, y_kept = sampler.fit_resample(np.zeros((y.size, 1)), y, hardness=hardness)
    assert 4 not in y_kept and sampler.sampling_strategy_[4] == 0
    np.testing.assert_array_equal(sampler.classes_, np.arange(5))


def test_string_labels_and_numpy_keys():
    y, hardness = _data()
    names = np.array(list("abcde"))[y]
    sampler = FlexRandSampler(0.5, class_budget={"e": 1}, random_state=0)
    sampler.fit_resample(np.zeros((y.size, 1)), names, hardness=hardness)
    assert sampler.sampling_strategy_["e"] == 1
    counts = class_counts(y, 0.5, {np.int64(4): 2})[1]
    assert counts[4] == 2


def test_choose_selection_passes_the_budget_through():
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1, 2], [20, 60, 120])
    X = rng.normal(size=(200, 4)) + y[:, None]
    hardness = rng.uniform(size=200)
    sampler, results = choose_selection(
        LogisticRegression(),
        X,
        y,
        hardness=hardness,
        pruning_rate=0.9,
        class_budget="balanced",
        n_splits=2,
        n_repeats=1,
        random_state=0,
    )
    assert sampler.class_budget == "balanced"
    sampler.fit_resample(X, y, hardness=hardness)
    assert dict(sampler.sampling_strategy_) == {0: 6, 1: 7, 2: 7}


# -- ensembles ----------------------------------------------------------------


def _features(n_per_class=(60, 30, 10), seed=0):
    rng = np.random.RandomState(seed)
    y = np.repeat(np.arange(len(n_per_class)), n_per_class)
    X = (rng.normal(size=(y.size, 6)) + y[:, None]).astype(np.float32)
    return X, y


def test_bagging_members_draw_their_own_subsets_with_handed_over_scores():
    X, y = _features()
    hardness = np.random.RandomState(1).uniform(size=y.size)
    bag = BalancedBaggingClassifier(
        LogisticRegression(max_iter=200),
        n_estimators=4,
        sampler=FlexRandSampler(0.8, class_budget="balanced"),
        bootstrap=False,
        random_state=0,
    )
    bag.fit(attach_hardness(X, hardness), y)
    subsets = []
    for member in bag.estimators_:
        sampler = member[0]
        assert dict(sampler.sampling_strategy_) == {0: 7, 1: 7, 2: 6}
        kept = sampler.sample_indices_
        # The member's rows are re-indexed; its scores are theirs.
        rows = bag.estimators_samples_[len(subsets)]
        np.testing.assert_array_equal(sampler.hardness_, hardness[rows])
        subsets.append(frozenset(rows[kept].tolist()))
    assert len(set(subsets)) == len(subsets)
    assert bag.predict(X).shape == y.shape


def test_bagging_after_dlc_step_in_a_pipeline():
    torch.manual_seed(0)
    X, y = _features()
    net = torch.nn.Sequential(
        torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)
    )
    scorer = DLCHardness(net, n_subnets=3, step=0.2, random_state=0)
    pipe = Pipeline(
        [
            ("score", scorer),
            (
                "bag",
                BalancedBaggingClassifier(
                    LogisticRegression(max_iter=200),
                    n_estimators=3,
                    sampler=FlexRandSampler(0.9, split=0.3),
                    bootstrap=False,
                    random_state=0,
                ),
            ),
        ]
    )
    pipe.fit(X, y)
    scores = pipe[0].hardness_
    bag = pipe[-1]
    draws = set()
    for member, rows in zip(bag.estimators_, bag.estimators_samples_):
        np.testing.assert_array_equal(member[0].hardness_, scores[rows])
        assert sum(member[0].sampling_strategy_.values()) == sum(
            keep_count(n, 0.9) for n in (60, 30, 10)
        )
        draws.add(frozenset(rows[member[0].sample_indices_].tolist()))
    assert len(draws) == 3
    # Once the pipeline is fitted, the rows' scores are no longer kept.
    assert find_row_hardness(X) is None


def test_row_lookup_refuses_ambiguous_duplicates():
    X = np.zeros((4, 2))
    marked = attach_hardness(X, np.array([0.0, 1.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="different scores"):
        find_row_hardness(X[[1, 0]])
    del marked
    assert find_row_hardness(X) is None


def test_row_lookup_needs_rows_of_the_scored_data():
    X, y = _features()
    marked = attach_hardness(X, np.arange(float(y.size)))
    np.testing.assert_array_equal(find_row_hardness(X[[5, 2]]), [5.0, 2.0])
    assert find_row_hardness(X[:, :3]) is None
    assert find_row_hardness(X[:2] + 1) is None
    assert find_row_hardness(X.astype(np.float64)) is None
    # A scorer set on the sampler wins over the look-up, as without an ensemble.
    sampler = FlexRandSampler(0.5, strategy="easy", scorer=RowSumScorer())
    sampler.fit_resample(X, y)
    assert hasattr(sampler, "scorer_")
    del marked


ENSEMBLES = [
    FlexRandEnsembleClassifier(
        sampler=FlexRandSampler(0.5, strategy="random"), n_estimators=2, random_state=0
    ),
    FlexRandEnsembleClassifier(
        sampler=FlexRandSampler(0.5, scorer=RowSumScorer()),
        n_estimators=2,
        voting="hard",
        random_state=0,
    ),
]


@sklearn_parametrize_with_checks(ENSEMBLES)
def test_ensemble_sklearn_compatible(estimator, check):
    check(estimator)


def test_ensemble_members_draw_different_subsets_of_the_right_sizes():
    X, y = _features()
    hardness = np.random.RandomState(1).uniform(size=y.size)
    ensemble = FlexRandEnsembleClassifier(
        LogisticRegression(max_iter=200),
        FlexRandSampler(0.8, class_budget="balanced"),
        n_estimators=4,
        random_state=0,
    ).fit(X, y, hardness=hardness)
    draws = {frozenset(s.sample_indices_.tolist()) for s in ensemble.samplers_}
    assert len(draws) == 4
    for s in ensemble.samplers_:
        assert dict(s.sampling_strategy_) == {0: 7, 1: 7, 2: 6}
    np.testing.assert_array_equal(ensemble.hardness_, hardness)
    again = FlexRandEnsembleClassifier(
        LogisticRegression(max_iter=200),
        FlexRandSampler(0.8, class_budget="balanced"),
        n_estimators=4,
        random_state=0,
    ).fit(X, y, hardness=hardness)
    np.testing.assert_array_equal(ensemble.predict_proba(X), again.predict_proba(X))
    proba = np.mean([m.predict_proba(X) for m in ensemble.estimators_], axis=0)
    np.testing.assert_allclose(ensemble.predict_proba(X), proba, rtol=1e-6)


def test_ensemble_scores_once_with_the_samplers_scorer():
    X, y = _features()
    calls = []

    class CountingScorer(RowSumScorer):
        def fit(self, X, y):
            calls.append(len(X))
            return super().fit(X, y)

    ensemble = FlexRandEnsembleClassifier(
        sampler=FlexRandSampler(0.5, strategy="easy", scorer=CountingScorer()),
        n_estimators=3,
    ).fit(X, y)
    assert calls == [y.size]
    np.testing.assert_array_equal(ensemble.hardness_, np.abs(X).sum(axis=1))


def test_ensemble_takes_images_after_a_dlc_step():
    torch.manual_seed(0)
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1, 2], [30, 20, 10])
    images = rng.normal(size=(60, 1, 4, 4)).astype(np.float32) + y[:, None, None, None]
    net = torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(16, 8),
        torch.nn.ReLU(),
        torch.nn.Linear(8, 3),
    )
    flat = FunctionTransformer(lambda X: X.reshape(len(X), -1))
    pipe = Pipeline(
        [
            ("score", DLCHardness(net, n_subnets=2, step=0.2, random_state=0)),
            (
                "ensemble",
                FlexRandEnsembleClassifier(
                    make_pipeline(flat, LogisticRegression(max_iter=200)),
                    FlexRandSampler(0.5, split=0.3),
                    n_estimators=3,
                    random_state=0,
                ),
            ),
        ]
    )
    pipe.fit(images, y)
    ensemble = pipe[-1]
    np.testing.assert_array_equal(ensemble.hardness_, pipe[0].hardness_)
    assert not hasattr(ensemble, "n_features_in_")
    assert pipe.predict(images).shape == (60,)


@pytest.mark.parametrize(
    "params, error, match",
    [
        (dict(estimator=LinearSVC()), TypeError, "predict_proba"),
        (dict(sampler=FlexRandSampler(), n_estimators=0), ValueError, "n_estimators"),
        (dict(sampler=FlexRandSampler(0.5)), ValueError, "no hardness"),
    ],
)
def test_ensemble_errors(params, error, match):
    X, y = _features()
    with pytest.raises(error, match=match):
        FlexRandEnsembleClassifier(**params).fit(X, y)


def test_bagging_in_other_processes_says_why_scores_are_missing():
    X, y = _features()
    bag = BalancedBaggingClassifier(
        LogisticRegression(max_iter=200),
        n_estimators=2,
        sampler=FlexRandSampler(0.8),
        bootstrap=False,
        n_jobs=2,
        random_state=0,
    )
    with pytest.raises(ValueError, match="only with n_jobs=None"):
        bag.fit(attach_hardness(X, np.arange(float(y.size))), y)
