"""n_subnets="auto": the coarse-to-fine driver and its DLCHardness face."""

import numpy as np
import pytest
import torch
from conftest import TinyCNN, assert_same_state, state_copy
from joblib import Memory
from scipy.stats import spearmanr
from sklearn.base import clone

from sklearn_dlc import DLCHardness
from sklearn_dlc._engine._auto import (
    coarse_to_fine,
    interpolation_weights,
    refinement_levels,
    spearman,
)
from sklearn_dlc._engine._pass import mean_over_subnets


class Recorder:
    """An ``evaluate`` that reads columns of a known (n_samples, K) path."""

    def __init__(self, path):
        self.path = path
        self.calls = []

    def __call__(self, subnets):
        self.calls.append(list(subnets))
        return self.path[:, list(subnets)]


@pytest.mark.parametrize("K", [1, 2, 3, 7, 50])
def test_refinement_levels_cover_the_path_once(K):
    levels = refinement_levels(K)
    assert levels[0] == ([0] if K == 1 else [0, K - 1])
    flat = [k for level in levels for k in level]
    assert sorted(flat) == list(range(K))
    assert all(level == sorted(level) for level in levels)


def test_refinement_levels_bisect():
    assert refinement_levels(9) == [[0, 8], [4], [2, 6], [1, 3, 5, 7]]
    assert [len(lv) for lv in refinement_levels(50)] == [2, 1, 2, 4, 8, 16, 17]


def test_interpolation_matches_the_mean_of_the_interpolated_path():
    rng = np.random.RandomState(0)
    K = 11
    path = rng.rand(6, K)
    k = np.arange(K)
    for evaluated in ([0, 10], [0, 5, 10], [0, 2, 3, 9, 10], list(range(K))):
        interpolated = np.stack(
            [np.interp(k, evaluated, row[evaluated]) for row in path]
        )
        got = path[:, evaluated] @ interpolation_weights(evaluated, K)
        np.testing.assert_allclose(got, interpolated.mean(1), rtol=1e-12)


def test_interpolation_is_exact_on_a_linear_path():
    K = 20
    slopes = np.array([[0.5], [-0.1], [2.0]])
    path = 1.0 + slopes * np.arange(K)
    w = interpolation_weights([0, K - 1], K)
    np.testing.assert_allclose(path[:, [0, K - 1]] @ w, path.mean(1), rtol=1e-12)


def test_spearman_matches_scipy_with_ties():
    rng = np.random.RandomState(0)
    a = rng.randint(0, 5, 40).astype(float)
    b = a + rng.rand(40)
    assert spearman(a, b) == pytest.approx(spearmanr(a, b)[0], abs=1e-12)
    assert spearman(np.ones(5), np.ones(5)) == 1.0
    assert spearman(np.ones(5), np.arange(5)) == 0.0


def test_stops_when_the_ranking_stops_moving():
    # Per-sample losses linear in k: the dense and sparsest subnets already
    # give the exact mean, so the first refinement changes nothing.
    rng = np.random.RandomState(0)
    K = 50
    path = torch.from_numpy(rng.rand(30, 1) + rng.rand(30, 1) * np.arange(K))
    evaluate = Recorder(path)
    result = coarse_to_fine(evaluate, K, tol=0.999)
    assert evaluate.calls == [[0, K - 1], [24]]
    assert result.converged
    assert result.n_passes == [2, 3]
    assert np.isnan(result.spearman[0]) and result.spearman[1] == pytest.approx(1.0)
    np.testing.assert_array_equal(result.subnets, [0, 24, K - 1])
    np.testing.assert_array_equal(result.losses, path[:, [0, 24, K - 1]])
    np.testing.assert_allclose(result.hardness, path.mean(1).numpy(), rtol=1e-12)


def test_without_convergence_reaches_k_max_and_equals_fixed_k():
    # Independent noise per subnet: every refinement reshuffles the ranking.
    K = 13
    path = torch.from_numpy(np.random.RandomState(1).rand(40, K))
    evaluate = Recorder(path)
    result = coarse_to_fine(evaluate, K, tol=0.999)
    assert not result.converged
    assert result.n_passes == [2, 3, 5, 9, 13]
    assert [k for call in evaluate.calls for k in call] != list(range(K))
    assert sorted(k for call in evaluate.calls for k in call) == list(range(K))
    np.testing.assert_array_equal(result.losses, path)
    # Exactly what fixed K computes from the same passes.
    np.testing.assert_array_equal(result.hardness, mean_over_subnets(path))


def test_driver_accepts_arrays_and_checks_their_shape():
    path = np.random.RandomState(0).rand(5, 4)
    result = coarse_to_fine(lambda s: path[:, s], 4, tol=1.0)
    np.testing.assert_array_equal(
        result.hardness, mean_over_subnets(torch.from_numpy(path))
    )
    with pytest.raises(ValueError, match=r"shape \(n_samples, 2\)"):
        coarse_to_fine(lambda s: path[:, :1], 4, tol=1.0)


def test_auto_to_the_end_equals_fixed_k(small_digits):
    torch.manual_seed(0)
    net = TinyCNN()
    state = state_copy(net)
    X, y = small_digits
    fixed = DLCHardness(net, n_subnets=9, step=0.05, store_subnet_scores=True)
    auto = clone(fixed).set_params(n_subnets="auto", max_subnets=9, auto_tol=1.0)
    fixed.fit(X, y)
    auto.fit(X, y)
    np.testing.assert_array_equal(auto.hardness_, fixed.hardness_)
    np.testing.assert_array_equal(auto.subnet_scores_, fixed.subnet_scores_)
    np.testing.assert_array_equal(auto.sparsities_, fixed.sparsities_)
    np.testing.assert_array_equal(auto.evaluated_subnets_, np.arange(9))
    np.testing.assert_array_equal(auto.convergence_["n_passes"], [2, 3, 5, 9])
    assert auto.n_passes_ == fixed.n_passes_ == 9
    assert not hasattr(fixed, "convergence_")
    assert_same_state(net, state)


def test_auto_stopping_early_reports_what_it_evaluated(tiny_cnn, small_digits):
    X, y = small_digits
    full = DLCHardness(tiny_cnn, n_subnets=17, step=0.05, store_subnet_scores=True)
    full.fit(X, y)
    auto = DLCHardness(
        tiny_cnn,
        n_subnets="auto",
        max_subnets=17,
        step=0.05,
        auto_tol=0.5,
        store_subnet_scores=True,
    ).fit(X, y)
    trace = auto.convergence_
    assert auto.n_passes_ < 17
    assert auto.n_passes_ == len(auto.evaluated_subnets_) == trace["n_passes"][-1]
    assert trace["spearman"][-1] >= 0.5
    assert np.all(trace["spearman"][1:-1] < 0.5)
    np.testing.assert_array_equal(auto.sparsities_, full.sparsities_)
    # The evaluated columns are those subnets of the full path, bit for bit.
    np.testing.assert_array_equal(
        auto.subnet_scores_, full.subnet_scores_[:, auto.evaluated_subnets_]
    )
    # The score is the interpolated mean over the whole path of 17.
    w = interpolation_weights(auto.evaluated_subnets_, 17)
    np.testing.assert_allclose(auto.hardness_, auto.subnet_scores_ @ w, rtol=1e-6)


def test_auto_is_deterministic(tiny_cnn, small_digits):
    X, y = small_digits
    params = dict(n_subnets="auto", max_subnets=20, masking="random", auto_tol=0.9)
    a = DLCHardness(tiny_cnn, random_state=0, **params).fit(X, y)
    b = DLCHardness(tiny_cnn, random_state=0, **params).fit(X, y)
    np.testing.assert_array_equal(a.hardness_, b.hardness_)
    np.testing.assert_array_equal(a.evaluated_subnets_, b.evaluated_subnets_)
    np.testing.assert_array_equal(
        a.convergence_["spearman"], b.convergence_["spearman"]
    )


def test_auto_with_memory(tmp_path, small_digits):
    torch.manual_seed(0)
    calls = []
    net = TinyCNN()
    net.register_forward_hook(lambda *a: calls.append(1))
    X, y = small_digits
    memory = Memory(tmp_path, verbose=0)
    first = DLCHardness(
        net,
        n_subnets="auto",
        max_subnets=9,
        auto_tol=1.0,
        batch_size=200,
        memory=memory,
    ).fit(X, y)
    # 9 subnets x 1 batch, plus the two-sample pass that detects the head.
    assert len(calls) == 10
    again = clone(first).fit(X.copy(), y.copy())
    assert len(calls) == 10
    np.testing.assert_array_equal(first.hardness_, again.hardness_)
    np.testing.assert_array_equal(first.evaluated_subnets_, again.evaluated_subnets_)
    np.testing.assert_array_equal(
        first.convergence_["spearman"], again.convergence_["spearman"]
    )
    clone(first).set_params(auto_tol=0.5).fit(X, y)
    assert len(calls) > 10
    # max_subnets and auto_tol are not part of the key of a fixed K.
    fixed = clone(first).set_params(n_subnets=3).fit(X, y)
    n = len(calls)
    clone(fixed).set_params(max_subnets=4, auto_tol=0.5).fit(X, y)
    assert len(calls) == n


def test_refit_with_fixed_k_drops_the_trace(tiny_cnn, small_digits):
    X, y = small_digits
    scorer = DLCHardness(tiny_cnn, n_subnets="auto", max_subnets=5).fit(X, y)
    assert hasattr(scorer, "convergence_")
    scorer.set_params(n_subnets=5).fit(X, y)
    assert not hasattr(scorer, "convergence_")


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_subnets": "Auto"}, "n_subnets"),
        ({"n_subnets": "max"}, "n_subnets"),
        ({"n_subnets": "auto", "max_subnets": 0}, "max_subnets"),
        ({"n_subnets": "auto", "max_subnets": 2.5}, "max_subnets"),
        ({"n_subnets": "auto", "auto_tol": 0.0}, "auto_tol"),
        ({"n_subnets": "auto", "auto_tol": 1.5}, "auto_tol"),
        ({"n_subnets": "auto", "auto_tol": "high"}, "auto_tol"),
        (
            {"n_subnets": "auto", "max_subnets": 30, "schedule": "linear"},
            r"\(max_subnets - 1\) \* step",
        ),
    ],
)
def test_bad_values(tiny_cnn, small_digits, params, match):
    X, y = small_digits
    with pytest.raises(ValueError, match=match):
        DLCHardness(tiny_cnn, step=0.05, **params).fit(X, y)
