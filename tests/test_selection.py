from fractions import Fraction
from math import floor

import numpy as np
import pytest

from sklearn_dlc._selection import (
    check_hardness,
    check_pruning_rate,
    check_split,
    flexrand_counts,
    keep_count,
    select_indices,
)

PRUNING_RATES = [0.0, 0.1, 0.3, 0.5, 0.8, 0.9, 0.95, 0.99]
SPLITS = [0.05, 0.1, 0.3, 0.5, 0.7, 0.9, 0.95]
CLASS_SIZES = [1, 2, 3, 5, 7, 10, 33, 100, 101]


def _round_half_up(x):
    return floor(x + Fraction(1, 2))


def _budget(n_c, pruning_rate):
    """round((1 - pruning_rate) * n_c), halves up, at least 1: exact arithmetic."""
    b = 1 - Fraction(str(pruning_rate))
    return min(n_c, max(1, _round_half_up(b * n_c)))


def _round_half_down(x):
    return max(0, -floor(Fraction(1, 2) - x))


def _reference(n_c, pruning_rate, split):
    """DESIGN.md's FlexRand counts in exact arithmetic, before pool clipping.

    Returns ``(easy_pool, easy, hard)``: the hard count is ``h * n_c``
    rounded half down, capped so that the easy pool keeps ``e * n_c`` rounded
    half down (remainders go to the easy pool), and the easy count is the
    rest of the class budget.
    """
    b = 1 - Fraction(str(pruning_rate))
    g = Fraction(str(split))
    e = min(g, b / 2) if g <= Fraction(1, 2) else b - min(1 - g, b / 2)
    budget = _budget(n_c, pruning_rate)
    n_hard = min(_round_half_down((b - e) * n_c), budget - _round_half_down(e * n_c))
    return _round_half_up(g * n_c), budget - n_hard, n_hard


def _pools(hardness, y, label, easy_pool):
    members = np.flatnonzero(y == label)
    ranked = members[np.argsort(hardness[members], kind="stable")]
    return ranked[:easy_pool], ranked[easy_pool:]


@pytest.mark.parametrize("pruning_rate", PRUNING_RATES)
@pytest.mark.parametrize("split", SPLITS)
def test_flexrand_counts_follow_the_formula(pruning_rate, split):
    for n_c in CLASS_SIZES:
        easy_pool, n_easy, n_hard = _reference(n_c, pruning_rate, split)
        hard_pool = n_c - easy_pool
        assert n_easy >= 0 and n_hard >= 0
        # Both counts cannot overflow: their sum is at most n_c.
        if n_easy > easy_pool:
            n_easy, n_hard = easy_pool, n_hard + n_easy - easy_pool
        elif n_hard > hard_pool:
            n_easy, n_hard = n_easy + n_hard - hard_pool, hard_pool
        assert tuple(flexrand_counts(n_c, pruning_rate, split)) == (
            easy_pool,
            n_easy,
            n_hard,
        )


ALL_STRATEGIES = [
    ("flexrand", {}),
    ("easy", {}),
    ("hard", {}),
    ("random", {}),
    ("tilt", {"tilt": 2.0}),
    ("tilt", {"tilt": -0.5}),
    ("tilt", {"tilt": np.inf}),
    ("adaptive", {}),
    ("ccs", {}),
    ("ccs", {"hard_cutoff": 0.6, "n_bins": 3}),
]
GRID_RATES = [0.0, 0.05, 0.1, 0.25, 0.3, 0.5, 0.7, 0.75, 0.8, 0.9, 0.95, 0.99]
GRID_SPLITS = [0.01, 0.05, 0.1, 0.25, 0.3, 0.5, 0.7, 0.75, 0.9, 0.99]


@pytest.mark.parametrize("split", GRID_SPLITS)
def test_every_strategy_keeps_the_same_budget(split):
    """Equal budgets: FlexRand keeps per class what top-K and random keep."""
    sizes = list(range(1, 42)) + [50, 99, 100, 101, 149, 150, 151, 178, 182]
    y = np.repeat(np.arange(len(sizes)), sizes)
    hardness = np.random.RandomState(0).normal(size=y.size)
    for pruning_rate in GRID_RATES:
        expected = np.array([_budget(n_c, pruning_rate) for n_c in sizes])
        for n_c, k in zip(sizes, expected):
            assert keep_count(n_c, pruning_rate) == k
            counts = flexrand_counts(n_c, pruning_rate, split)
            assert counts.easy + counts.hard == k
            assert 0 <= counts.easy <= counts.easy_pool
            assert 0 <= counts.hard <= n_c - counts.easy_pool
        for strategy, kwargs in ALL_STRATEGIES:
            kept = select_indices(
                hardness, y, pruning_rate, split, strategy, rng=0, **kwargs
            )
            np.testing.assert_array_equal(
                np.bincount(y[kept], minlength=len(sizes)),
                expected,
                err_msg=f"{strategy=}, {pruning_rate=}",
            )


@pytest.mark.parametrize(
    "n_c, pruning_rate, split, expected",
    [
        (100, 0.8, 0.05, (5, 5, 15)),  # keeps the whole easiest block
        (100, 0.8, 0.5, (50, 10, 10)),  # stratified random
        (100, 0.8, 0.9, (90, 10, 10)),
        (100, 0.5, 0.2, (20, 20, 30)),
        (100, 0.2, 0.9, (90, 70, 10)),
        (10, 0.5, 0.5, (5, 3, 2)),  # easy 2.5 -> 3, hard the rest of 5
        (30, 0.9, 0.5, (15, 2, 1)),  # budget 3: hard 1.5 -> 1, easy the rest
        (30, 0.99, 0.5, (15, 1, 0)),  # a budget of one comes from the easy pool
        (33, 0.9, 0.05, (2, 2, 1)),  # 1.65 + 1.65 of 3: the easy share first
        (5, 0.0, 0.5, (3, 3, 2)),  # the whole class
        (5, 0.1, 0.7, (4, 4, 1)),  # hard asks 2 of a pool of 1: 1 moves
        (5, 0.9, 0.5, (3, 1, 0)),  # budget 1 (0.5 -> 1): from the easy pool
        (3, 0.9, 0.05, (0, 0, 1)),  # budget 0.3 raised to 1
        (1, 0.5, 0.3, (0, 0, 1)),  # empty easy pool: the one is hard
        (1, 0.5, 0.7, (1, 1, 0)),  # empty hard pool: the one is easy
        (0, 0.5, 0.5, (0, 0, 0)),
    ],
)
def test_flexrand_counts_worked_examples(n_c, pruning_rate, split, expected):
    assert tuple(flexrand_counts(n_c, pruning_rate, split)) == expected


@pytest.mark.parametrize("split", SPLITS)
def test_no_pruning_keeps_every_sample(split):
    for n_c in range(1, 60):
        counts = flexrand_counts(n_c, 0.0, split)
        assert counts.easy + counts.hard == n_c


def test_float_noise_is_rounded_like_the_exact_value():
    # (1 - 0.9) * 5 == 0.4999999999999999 in floats; exactly 0.5.
    assert keep_count(5, 0.9) == 1
    assert keep_count(15, 0.9) == 2  # 1.5 -> 2
    assert flexrand_counts(30, 0.9, 0.5) == (15, 2, 1)  # hard 1.5 -> 1


@pytest.mark.parametrize("pruning_rate", PRUNING_RATES)
@pytest.mark.parametrize("split", SPLITS)
def test_select_indices_draws_the_counts_from_each_pool(pruning_rate, split):
    rng = np.random.RandomState(0)
    sizes = [1, 2, 5, 10, 33]
    y = rng.permutation(np.repeat(np.arange(len(sizes)), sizes))
    hardness = rng.normal(size=y.size)

    kept = select_indices(hardness, y, pruning_rate, split, rng=0)

    assert np.all(np.diff(kept) > 0)
    for label, n_c in enumerate(sizes):
        counts = flexrand_counts(n_c, pruning_rate, split)
        easy, hard = _pools(hardness, y, label, counts.easy_pool)
        assert np.isin(kept, easy).sum() == counts.easy
        assert np.isin(kept, hard).sum() == counts.hard


@pytest.mark.parametrize("strategy", ["easy", "hard"])
@pytest.mark.parametrize("pruning_rate", [0.0, 0.3, 0.5, 0.8, 0.99])
def test_top_k_baselines_are_exact(strategy, pruning_rate):
    rng = np.random.RandomState(1)
    y = np.array(["cat"] * 40 + ["dog"] * 25 + ["eel"] * 3)
    hardness = rng.uniform(size=y.size)

    kept = select_indices(hardness, y, pruning_rate, strategy=strategy)

    expected = []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        k = keep_count(members.size, pruning_rate)
        ranked = members[np.argsort(hardness[members])]
        expected.append(ranked[:k] if strategy == "easy" else ranked[-k:])
    np.testing.assert_array_equal(kept, np.sort(np.concatenate(expected)))


@pytest.mark.parametrize("pruning_rate", [0.0, 0.5, 0.9])
def test_random_baseline_is_stratified_and_ignores_hardness(pruning_rate):
    y = np.repeat([3, 7, 9], [50, 20, 4])
    kept = select_indices(None, y, pruning_rate, strategy="random", rng=0)
    for label in (3, 7, 9):
        assert (y[kept] == label).sum() == keep_count((y == label).sum(), pruning_rate)
    rng = np.random.RandomState(0)
    # Scores, even unusable ones, change nothing.
    for hardness in (rng.normal(size=y.size), np.full(y.size, np.nan), [1.0]):
        other = select_indices(hardness, y, pruning_rate, strategy="random", rng=0)
        np.testing.assert_array_equal(kept, other)


@pytest.mark.parametrize("strategy", ["flexrand", "easy", "hard", "random"])
@pytest.mark.parametrize("pruning_rate", [0.0, 0.3, 0.9])
def test_y_none_is_one_group(strategy, pruning_rate):
    hardness = np.random.RandomState(0).normal(size=37)
    one_group = select_indices(
        hardness, None, pruning_rate, 0.3, strategy, rng=np.random.RandomState(1)
    )
    manual = select_indices(
        hardness,
        np.full(37, "all"),
        pruning_rate,
        0.3,
        strategy,
        rng=np.random.RandomState(1),
    )
    np.testing.assert_array_equal(one_group, manual)
    assert one_group.size == keep_count(37, pruning_rate)


@pytest.mark.parametrize(
    "strategy", ["flexrand", "easy", "hard", "tilt", "adaptive", "ccs"]
)
def test_scores_are_required_except_for_random(strategy):
    with pytest.raises(ValueError, match=f"strategy='{strategy}' needs hardness"):
        select_indices(None, [0, 0, 1, 1], 0.5, strategy=strategy)
    with pytest.raises(ValueError, match="y and hardness are both None"):
        select_indices(None, None, 0.5, strategy="random")


def test_flexrand_draws_every_member_of_a_pool_over_seeds():
    y = np.zeros(20, dtype=int)
    y[:4] = 1
    hardness = np.arange(20, dtype=float)
    seen = np.zeros(20, dtype=bool)
    for seed in range(100):
        seen[select_indices(hardness, y, 0.5, 0.5, rng=seed)] = True
    assert seen.all()


@pytest.mark.parametrize(
    "strategy", ["flexrand", "easy", "hard", "random", "tilt", "adaptive", "ccs"]
)
@pytest.mark.parametrize("split", [0.05, 0.5, 0.95])
def test_every_class_keeps_at_least_one_sample(strategy, split):
    y = np.array([0] * 50 + [1, 2, 2, 3, 3, 3])
    kept = select_indices(
        np.linspace(0, 1, y.size), y, 0.99, split, strategy=strategy, rng=0
    )
    np.testing.assert_array_equal(np.unique(y[kept]), [0, 1, 2, 3])


@pytest.mark.parametrize(
    "strategy, kwargs",
    [
        ("flexrand", {}),
        ("random", {}),
        ("tilt", {"tilt": 1.5}),
        ("tilt", {"tilt": -3.0}),
        ("adaptive", {}),
        ("ccs", {"hard_cutoff": 0.2, "n_bins": 5}),
    ],
)
@pytest.mark.parametrize(
    "make_rng", [int, np.random.RandomState, np.random.default_rng]
)
def test_same_seed_same_selection(strategy, kwargs, make_rng):
    rng = np.random.RandomState(2)
    y = rng.randint(0, 4, size=300)
    hardness = rng.normal(size=300)

    def draw(seed):
        return select_indices(
            hardness, y, 0.7, 0.3, strategy, rng=make_rng(seed), **kwargs
        )

    first, again, other = draw(42), draw(42), draw(43)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_ties_are_broken_by_position():
    y = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    hardness = np.zeros(8)
    np.testing.assert_array_equal(
        select_indices(hardness, y, 0.5, strategy="easy"), [0, 1, 2, 3]
    )
    np.testing.assert_array_equal(
        select_indices(hardness, y, 0.5, strategy="hard"), [4, 5, 6, 7]
    )
    # With a tiny split the easy pool is the first sample of each class.
    kept = select_indices(hardness, y, 0.5, split=0.25, rng=0)
    assert {0, 1} <= set(kept.tolist())


def test_infinite_hardness_sorts_last():
    y = np.zeros(4, dtype=int)
    y[0] = 1
    hardness = np.array([0.0, np.inf, 1.0, -np.inf])
    np.testing.assert_array_equal(
        select_indices(hardness, y, 0.5, strategy="hard"), [0, 1, 2]
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"pruning_rate": 1.0}, r"pruning_rate must be a real number in \[0, 1\)"),
        ({"pruning_rate": -0.1}, "pruning_rate.*got -0.1"),
        ({"pruning_rate": "0.5"}, "pruning_rate.*got '0.5'"),
        ({"pruning_rate": True}, "pruning_rate.*got True"),
        ({"pruning_rate": np.nan}, "pruning_rate.*got nan"),
        ({"split": 0.0}, r"split must be a real number in \(0, 1\).*got 0.0"),
        ({"split": 1.0}, "split.*got 1.0"),
        ({"split": None}, "split.*got None"),
        ({"strategy": "hardest"}, "strategy"),
        ({"strategy": "tilt", "tilt": np.nan}, "tilt must be a real number.*nan"),
        ({"strategy": "tilt", "tilt": "2"}, "tilt must be a real number.*'2'"),
        ({"strategy": "tilt", "tilt": True}, "tilt.*True"),
        ({"strategy": "ccs", "hard_cutoff": 1.0}, r"hard_cutoff.*\[0, 1\).*1.0"),
        ({"strategy": "ccs", "hard_cutoff": -0.1}, "hard_cutoff.*-0.1"),
        ({"strategy": "ccs", "n_bins": 0}, "n_bins must be an integer >= 1.*0"),
        ({"strategy": "ccs", "n_bins": 2.5}, "n_bins.*2.5"),
        ({"hardness": np.ones(5)}, "hardness has 5 values"),
        ({"hardness": np.array([0.1, np.nan, 0.3, 0.4, 0.5, 0.6])}, "hardness.*NaN"),
        ({"hardness": np.ones((6, 1))}, "hardness must be 1-D"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(kwargs, match):
    args = {
        "hardness": np.arange(6.0),
        "y": np.array([0, 0, 0, 1, 1, 1]),
        "pruning_rate": 0.5,
        **kwargs,
    }
    with pytest.raises(ValueError, match=match):
        select_indices(**args)


def test_non_numeric_hardness_is_a_type_error():
    with pytest.raises(TypeError, match="hardness must be an array of numbers"):
        check_hardness(["easy", "hard"], 2)


@pytest.mark.parametrize("value", [0, 0.0, 0.5, np.float32(0.9), 0.999])
def test_valid_pruning_rates(value):
    check_pruning_rate(value)
    keep_count(10, value)


@pytest.mark.parametrize(
    "function, args",
    [
        (keep_count, (10, 1.5)),
        (flexrand_counts, (10, 1.5, 0.5)),
        (select_indices, (np.zeros(4), [0, 0, 1, 1], 1.5)),
    ],
)
def test_every_function_validates_pruning_rate_with_the_one_check(function, args):
    with pytest.raises(ValueError) as from_function:
        function(*args)
    with pytest.raises(ValueError) as from_check:
        check_pruning_rate(1.5)
    assert str(from_function.value) == str(from_check.value)


def test_flexrand_counts_validates_split_with_the_one_check():
    with pytest.raises(ValueError) as from_function:
        flexrand_counts(10, 0.5, 0)
    with pytest.raises(ValueError) as from_check:
        check_split(0)
    assert str(from_function.value) == str(from_check.value)
