"""The tilted family, the budget-adaptive rule, CCS and the one-sample rule."""

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression

from sklearn_dlc import FlexRandSampler, choose_selection
from sklearn_dlc._selection import (
    adaptive_tilt,
    flexrand_counts,
    keep_count,
    select_indices,
    tilt_weights,
)


def _inclusion(hardness, y, pruning_rate, n_draws, **kwargs):
    counts = np.zeros(y.size)
    for seed in range(n_draws):
        counts[select_indices(hardness, y, pruning_rate, rng=seed, **kwargs)] += 1
    return counts / n_draws


@pytest.mark.parametrize("pruning_rate", [0.0, 0.5, 0.9, 0.99])
def test_tilt_end_points_are_top_k_easy_and_hard(pruning_rate):
    rng = np.random.RandomState(0)
    y = rng.randint(0, 3, size=120)
    hardness = rng.normal(size=120)
    for tilt, strategy in ((np.inf, "easy"), (-np.inf, "hard")):
        top_k = select_indices(hardness, y, pruning_rate, strategy=strategy)
        np.testing.assert_array_equal(
            select_indices(hardness, y, pruning_rate, strategy="tilt", tilt=tilt),
            top_k,
        )
        # The family is continuous: a huge finite tilt is already top-K.
        np.testing.assert_array_equal(
            select_indices(
                hardness, y, pruning_rate, strategy="tilt", tilt=np.sign(tilt) * 1e6
            ),
            top_k,
        )


def test_tilt_zero_is_stratified_random_in_distribution():
    y = np.repeat([0, 1], [20, 10])
    hardness = np.arange(30.0)
    freq = _inclusion(hardness, y, 0.7, 2000, strategy="tilt", tilt=0.0)
    # Every member of a class is kept with probability k / n_c.
    np.testing.assert_allclose(freq[:20], 6 / 20, atol=0.05)
    np.testing.assert_allclose(freq[20:], 3 / 10, atol=0.05)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tilt_zero_draws_what_random_draws_with_the_same_seed(seed):
    rng = np.random.RandomState(seed)
    y = rng.randint(0, 3, size=90)
    hardness = rng.normal(size=90)
    np.testing.assert_array_equal(
        select_indices(hardness, y, 0.8, strategy="tilt", tilt=0.0, rng=seed),
        select_indices(None, y, 0.8, strategy="random", rng=seed),
    )


def test_tilt_draws_one_sample_with_probability_proportional_to_its_weight():
    y = np.zeros(4, dtype=int)
    hardness = np.array([3.0, 0.0, 2.0, 1.0])  # ranks 3, 0, 2, 1
    freq = _inclusion(hardness, y, 0.75, 4000, strategy="tilt", tilt=1.0)
    weights = tilt_weights(4, 1, 1.0)
    np.testing.assert_allclose(freq[[1, 3, 2, 0]], weights / weights.sum(), atol=0.03)


@pytest.mark.parametrize("tilt", [0.5, 3.0])
def test_positive_tilt_prefers_easy_and_negative_tilt_hard(tilt):
    y = np.zeros(40, dtype=int)
    hardness = np.arange(40.0)
    easy = _inclusion(hardness, y, 0.75, 400, strategy="tilt", tilt=tilt)
    hard = _inclusion(hardness, y, 0.75, 400, strategy="tilt", tilt=-tilt)
    assert easy[:10].mean() > 0.25 > easy[30:].mean()
    assert hard[30:].mean() > 0.25 > hard[:10].mean()


def test_tilt_weights_are_budget_relative():
    np.testing.assert_allclose(tilt_weights(6, 3, 1.0), np.exp(-np.arange(6) / 3))
    np.testing.assert_allclose(tilt_weights(3, 1, -1.0), np.exp([-2.0, -1.0, 0.0]))


@pytest.mark.parametrize("pruning_rate", [0.5, 0.8, 0.95, 0.99])
def test_adaptive_is_tilt_at_the_rule_value(pruning_rate):
    rng = np.random.RandomState(3)
    y = rng.randint(0, 4, size=400)
    hardness = rng.normal(size=400)
    np.testing.assert_array_equal(
        select_indices(hardness, y, pruning_rate, strategy="adaptive", rng=7),
        select_indices(
            hardness,
            y,
            pruning_rate,
            strategy="tilt",
            tilt=adaptive_tilt(1 - pruning_rate),
            rng=7,
        ),
    )


def test_adaptive_rule_leans_easy_as_the_budget_shrinks():
    tilts = [adaptive_tilt(b) for b in (0.005, 0.01, 0.02, 0.05, 0.2, 0.5, 1.0)]
    assert all(a > b for a, b in zip(tilts[:3], tilts[1:4]))
    assert tilts[-4:] == [0.0, 0.0, 0.0, 0.0]


def test_ccs_drops_the_hardest_and_covers_every_bin():
    y = np.zeros(100, dtype=int)
    hardness = np.arange(100.0)
    kept = select_indices(
        hardness, y, 0.8, strategy="ccs", hard_cutoff=0.3, n_bins=4, rng=0
    )
    assert kept.size == 20
    assert kept.max() < 70  # the 30 hardest are dropped
    # Scores 0..69 in 4 equal-width bins (18, 17, 17, 18 samples): 5 from each.
    bins = np.searchsorted([17.25, 34.5, 51.75], hardness[kept], side="right")
    np.testing.assert_array_equal(np.bincount(bins, minlength=4), [5, 5, 5, 5])


def test_ccs_gives_small_bins_all_they_have_and_the_rest_to_the_others():
    y = np.zeros(23, dtype=int)
    # Bin 0 holds 2 samples, bin 1 holds 21.
    hardness = np.r_[0.0, 0.1, np.linspace(0.6, 1.0, 21)]
    kept = select_indices(hardness, y, 0.6, strategy="ccs", hard_cutoff=0, n_bins=2)
    assert kept.size == keep_count(23, 0.6) == 9
    assert {0, 1} <= set(kept.tolist())


def test_ccs_cutoff_yields_to_the_budget():
    y = np.zeros(10, dtype=int)
    kept = select_indices(
        np.arange(10.0), y, 0.2, strategy="ccs", hard_cutoff=0.9, n_bins=3, rng=0
    )
    # The budget of 8 keeps 8: only 2 of the 9 asked are dropped.
    np.testing.assert_array_equal(kept, np.arange(8))


@pytest.mark.parametrize("split", [0.05, 0.3, 0.5, 0.7, 0.95])
@pytest.mark.parametrize("n_c", [20, 30, 49, 60])
def test_a_budget_of_one_comes_from_the_easy_pool(split, n_c):
    pruning_rate = 0.99  # keeps round(0.01 * n_c) = 0 -> 1 sample
    counts = flexrand_counts(n_c, pruning_rate, split)
    assert (counts.easy, counts.hard) == (1, 0)
    y = np.zeros(n_c, dtype=int)
    hardness = np.arange(float(n_c))
    for seed in range(5):
        (kept,) = select_indices(hardness, y, pruning_rate, split, rng=seed)
        assert kept < counts.easy_pool


def test_choose_selection_prunes_folds_to_the_final_count_and_falls_back_on_ties():
    y = np.repeat([0, 1, 2], 50)
    X = np.random.RandomState(0).normal(size=(150, 3))
    hardness = np.random.RandomState(1).normal(size=150)
    # A constant model: every candidate ties, random must win.
    sampler, results = choose_selection(
        DummyClassifier(), X, y, hardness=hardness, pruning_rate=0.9, random_state=0
    )
    assert results["fell_back_to_random"] and sampler.tilt == 0.0
    # 15 kept of a fold's 120 training samples, as of the whole 150.
    assert results["fold_pruning_rate"] == pytest.approx(1 - 15 / 120)
    assert keep_count(40, results["fold_pruning_rate"]) == keep_count(50, 0.9)
    assert results["scores"].shape == (6, 10)


def test_choose_selection_picks_easy_samples_when_the_hard_ones_are_noise():
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1, 2, 3], 60)
    X = rng.normal(size=(240, 2)) + 3 * np.c_[y % 2, y // 2]
    # The hardest third of every class is mislabelled.
    hardness = rng.uniform(size=240)
    noisy = np.zeros(240, dtype=bool)
    for c in range(4):
        members = np.flatnonzero(y == c)
        noisy[members[np.argsort(hardness[members])[-20:]]] = True
    y_noisy = np.where(noisy, (y + 1) % 4, y)
    sampler, results = choose_selection(
        LogisticRegression(),
        X,
        y_noisy,
        hardness=hardness,
        pruning_rate=0.9,
        random_state=0,
    )
    assert not results["fell_back_to_random"]
    assert sampler.tilt > 0 and results["mean_scores"].argmax() != 0


def test_choose_selection_is_deterministic():
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1], 40)
    X = rng.normal(size=(80, 2)) + y[:, None]
    hardness = rng.normal(size=80)
    runs = [
        choose_selection(
            LogisticRegression(),
            X,
            y,
            hardness=hardness,
            pruning_rate=0.8,
            random_state=3,
        )[1]["scores"]
        for _ in range(2)
    ]
    np.testing.assert_array_equal(*runs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"tilts": [1.0, 2.0]}, "tilts must contain 0"),
        ({"tilts": [0.0, np.nan]}, "tilt must be a real number"),
        ({"pruning_rate": 1.0}, "pruning_rate"),
        ({"n_splits": 1}, "n_splits"),
        ({"hardness": np.ones(3)}, "hardness has 3 values"),
    ],
)
def test_choose_selection_rejects_bad_arguments(kwargs, match):
    args = {
        "hardness": np.arange(20.0),
        "pruning_rate": 0.5,
        "random_state": 0,
        **kwargs,
    }
    with pytest.raises(ValueError, match=match):
        choose_selection(
            LogisticRegression(), np.zeros((20, 2)), np.repeat([0, 1], 10), **args
        )


@pytest.mark.parametrize(
    "params, match",
    [
        ({"tilt": "easy"}, "tilt"),
        ({"tilt": np.nan}, "tilt must be a real number"),
        ({"hard_cutoff": 1.0}, "hard_cutoff"),
        ({"n_bins": 0}, "n_bins"),
    ],
)
def test_sampler_validates_the_new_parameters_in_fit(params, match):
    sampler = FlexRandSampler(0.5, strategy="tilt", **params)
    X, y = np.zeros((10, 2)), np.repeat([0, 1], 5)
    with pytest.raises(ValueError, match=match):
        sampler.fit_resample(X, y, hardness=np.arange(10.0))
