"""Which samples to keep, given their hardness: counts and the dispatcher.

Pure NumPy, no estimator classes: the scikit-learn / imbalanced-learn glue
lives in ``_flexrand_sampler.py``.
"""

from numbers import Real
from typing import NamedTuple

import numpy as np

from ._allocation import check_class_budget, class_counts
from ._strategies import _pick_ccs, _pick_tilt, adaptive_tilt, check_ccs, check_tilt

STRATEGIES = ("flexrand", "easy", "hard", "random", "tilt", "adaptive", "ccs")


class FlexRandCounts(NamedTuple):
    """How many samples of one class FlexRand keeps, and from where."""

    easy_pool: int
    """Size of the easy pool: the ``round(split * n_c)`` easiest samples."""
    easy: int
    """Samples drawn from the easy pool."""
    hard: int
    """Samples drawn from the hard pool (the other ``n_c - easy_pool``)."""


def _round(x):
    """Round half up (x >= 0): 2.5 -> 3, unlike Python's half-to-even round.

    Float noise is snapped away first: (1 - 0.9) * 5 is 0.49999999999999989,
    and must round like 0.5.
    """
    return int(np.floor(round(x, 9) + 0.5))


def _round_half_down(x):
    """Round half down (x >= 0): 1.5 -> 1, 1.6 -> 2, float noise snapped."""
    return max(0, int(np.ceil(round(x, 9) - 0.5)))


def check_pruning_rate(pruning_rate):
    """Raise a ValueError unless ``pruning_rate`` is a real number in [0, 1).

    The one validation of ``pruning_rate``: the functions of this module and
    :class:`~sklearn_dlc.FlexRandSampler` all call it.

    Parameters
    ----------
    pruning_rate : object
        The value to check: the fraction of each class that is removed.

    Raises
    ------
    ValueError
        If ``pruning_rate`` is not a real number (booleans excluded) in
        [0, 1); the message names ``pruning_rate`` and the valid range.
    """
    if (
        not isinstance(pruning_rate, Real)
        or isinstance(pruning_rate, bool)
        or not 0 <= pruning_rate < 1
    ):
        raise ValueError(
            "pruning_rate must be a real number in [0, 1), the fraction of each "
            f"class that is removed; got {pruning_rate!r}."
        )


def check_split(split):
    """Raise a ValueError unless ``split`` is a real number in (0, 1).

    The one validation of ``split``, shared like :func:`check_pruning_rate`.

    Parameters
    ----------
    split : object
        The value to check: the fraction of each class in the easy pool.

    Raises
    ------
    ValueError
        If ``split`` is not a real number (booleans excluded) in (0, 1).
    """
    if not isinstance(split, Real) or isinstance(split, bool) or not 0 < split < 1:
        raise ValueError(
            "split must be a real number in (0, 1), the fraction of each class "
            f"in the easy pool; got {split!r}."
        )


def keep_count(n_c, pruning_rate):
    """Number of samples every strategy keeps out of a class of ``n_c``.

    ``round((1 - pruning_rate) * n_c)``, halves rounded up, but at least one
    sample of a non-empty class. Top-K, random and FlexRand selections all
    keep exactly this many, so that they compare at equal budgets.

    Parameters
    ----------
    n_c : int
        Number of samples of the class.
    pruning_rate : float in [0, 1)
        Fraction of the class that is removed.

    Returns
    -------
    k : int
        Number of samples to keep, in ``[min(1, n_c), n_c]``.

    Examples
    --------
    >>> from sklearn_dlc._selection import keep_count
    >>> keep_count(10, 0.8), keep_count(3, 0.9), keep_count(15, 0.9)
    (2, 1, 2)
    """
    check_pruning_rate(pruning_rate)
    return _keep_count(n_c, pruning_rate)


def _keep_count(n_c, pruning_rate):
    if n_c <= 0:
        return 0
    return min(n_c, max(1, _round((1 - pruning_rate) * n_c)))


def flexrand_counts(n_c, pruning_rate, split=0.5):
    """FlexRand's per-class counts for a class of ``n_c`` samples.

    With the keep ratio ``b = 1 - pruning_rate`` and ``split`` (gamma), the
    easy pool holds the ``round(gamma * n_c)`` easiest samples and the hard
    pool the rest. If ``gamma <= 0.5``: ``e = min(gamma, b / 2)``,
    ``h = b - e``; otherwise ``h = min(1 - gamma, b / 2)``, ``e = b - h``.
    ``h * n_c`` rounded half down (``ceil(h * n_c - 0.5)``) samples are drawn
    from the hard pool, but no more than leave ``e * n_c`` rounded half down
    to the easy pool, and the rest of the class budget
    ``k = keep_count(n_c, pruning_rate)`` from the easy pool: remainders and
    ties go to the easy pool, and a budget of one sample is drawn from the
    easy pool (a rounding the paper leaves open).

    The total is therefore always ``k``, what top-K and random selection
    keep. When a count is larger than its pool, it is clipped to the pool and
    the excess is drawn from the other pool (which always has room, since
    ``k <= n_c``).

    Parameters
    ----------
    n_c : int
        Number of samples of the class.
    pruning_rate : float in [0, 1)
        Fraction of the class that is removed.
    split : float in (0, 1), default=0.5
        The easy/hard boundary gamma, as a fraction of the class.

    Returns
    -------
    counts : FlexRandCounts
        ``(easy_pool, easy, hard)``, with ``easy + hard == keep_count(n_c,
        pruning_rate)``.

    Examples
    --------
    >>> from sklearn_dlc._selection import flexrand_counts
    >>> flexrand_counts(100, 0.8, split=0.05)
    FlexRandCounts(easy_pool=5, easy=5, hard=15)
    >>> flexrand_counts(100, 0.8, split=0.5)
    FlexRandCounts(easy_pool=50, easy=10, hard=10)

    A budget of 3 cannot be split evenly: the hard count 1.5 rounds down,
    and a budget of one comes from the easy pool.

    >>> flexrand_counts(30, 0.9, split=0.5)
    FlexRandCounts(easy_pool=15, easy=2, hard=1)
    >>> flexrand_counts(30, 0.99, split=0.5)
    FlexRandCounts(easy_pool=15, easy=1, hard=0)
    """
    check_pruning_rate(pruning_rate)
    check_split(split)
    return _flexrand_counts(int(n_c), pruning_rate, split)


def _flexrand_counts(n_c, pruning_rate, split):
    if n_c <= 0:
        return FlexRandCounts(0, 0, 0)
    return _flexrand_budget_counts(
        n_c, _keep_count(n_c, pruning_rate), 1 - pruning_rate, split
    )


def _flexrand_budget_counts(n_c, budget, b, split):
    """FlexRand's counts for a class budget ``budget`` and kept fraction ``b``."""
    # The easy fraction e; the hard pool gets the rest of the budget.
    e = min(split, b / 2) if split <= 0.5 else b - min(1 - split, b / 2)
    easy_pool = _round(split * n_c)
    hard_pool = n_c - easy_pool
    # Both shares rounded half down; when they still overflow the budget
    # (e.g. 1.65 + 1.65 of 3), the easy share is honoured first.
    n_hard = min(_round_half_down((b - e) * n_c), budget - _round_half_down(e * n_c))
    n_easy = budget - n_hard
    if n_easy > easy_pool:
        n_easy, n_hard = easy_pool, budget - easy_pool
    elif n_hard > hard_pool:
        n_easy, n_hard = budget - hard_pool, hard_pool
    return FlexRandCounts(easy_pool, n_easy, n_hard)


def check_hardness(hardness, n_samples, name="hardness"):
    """Validate hardness scores and return them as a 1-D float array.

    Parameters
    ----------
    hardness : array-like of shape (n_samples,)
        One score per sample, higher = harder. Infinite values are allowed
        (they sort), NaN is not.
    n_samples : int
        Expected number of scores.
    name : str, default="hardness"
        Name used in error messages.

    Returns
    -------
    hardness : ndarray of shape (n_samples,), dtype float64

    Raises
    ------
    TypeError
        If the scores are not numeric.
    ValueError
        If they are not 1-D, have the wrong length, or contain NaN.
    """
    try:
        values = np.asarray(hardness, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{name} must be an array of numbers, got {type(hardness).__name__} "
            f"that cannot be converted to float: {exc}"
        ) from exc
    if values.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D with one score per sample, got shape {values.shape}."
        )
    if values.shape[0] != n_samples:
        raise ValueError(
            f"{name} has {values.shape[0]} values but X has {n_samples} samples; "
            "they must match."
        )
    if np.isnan(values).any():
        raise ValueError(
            f"{name} contains NaN (at index {int(np.flatnonzero(np.isnan(values))[0])})"
            "; every sample needs a score."
        )
    return values


def select_indices(
    hardness,
    y,
    pruning_rate,
    split=0.5,
    strategy="flexrand",
    rng=None,
    *,
    tilt=0.0,
    hard_cutoff=0.1,
    n_bins=50,
    class_budget="proportional",
):
    """Indices of the samples to keep, selected class by class.

    Every class keeps the count its ``class_budget`` gives it
    (:func:`class_counts`; by default :func:`keep_count`), whatever the
    strategy.
    Within a class, samples are ordered by hardness with a stable sort, so
    equal scores are ordered by position (the earlier one counts as easier)
    and the result is deterministic given ``rng``.

    Parameters
    ----------
    hardness : array-like of shape (n_samples,) or None
        Scores, higher = harder. NaN is rejected. Not used by
        ``strategy="random"``, which accepts None (and ignores scores).
    y : array-like of shape (n_samples,) or None
        Class labels. None treats all samples as one group.
    pruning_rate : float in [0, 1)
        Fraction of every class that is removed.
    split : float in (0, 1), default=0.5
        The easy/hard boundary gamma (``strategy="flexrand"`` only); see
        :func:`flexrand_counts`.
    strategy : str, default="flexrand"
        ``"flexrand"``: random draws from the easy and the hard pool, sized
        by :func:`flexrand_counts` (Jiang et al., ICLR 2025). ``"easy"`` /
        ``"hard"``: the :func:`keep_count` easiest / hardest samples.
        ``"random"``: :func:`keep_count` samples drawn uniformly (stratified
        random). ``"tilt"``: weighted draws without replacement, weights
        :func:`tilt_weights` with ``tilt``. ``"adaptive"``: ``"tilt"`` with
        ``tilt = adaptive_tilt(1 - pruning_rate)``. ``"ccs"``:
        coverage-centric selection (Zheng et al., ICLR 2023) with
        ``hard_cutoff`` and ``n_bins``.
    rng : numpy.random.Generator, numpy.random.RandomState, int or None
        Source of randomness; classes are drawn in the sorted order of their
        labels.
    tilt : float, default=0.0
        ``strategy="tilt"`` only: ``inf`` is top-K easy, ``0`` stratified
        random, ``-inf`` top-K hard.
    hard_cutoff : float in [0, 1), default=0.1
        ``strategy="ccs"`` only: fraction of the hardest samples of each
        class dropped before binning (fewer if the budget needs them).
    n_bins : int >= 1, default=50
        ``strategy="ccs"`` only: number of equal-width hardness bins.
    class_budget : str, mapping or callable, default="proportional"
        Per-class counts, see :func:`class_counts`. Anything but
        ``"proportional"`` needs class labels ``y``. FlexRand's shares and
        the adaptive rule's tilt use each class's own kept fraction
        ``k_c / n_c``; ``"hardness"`` needs scores, also with
        ``strategy="random"``.

    Returns
    -------
    indices : ndarray of shape (n_kept,), dtype intp
        Sorted positions of the kept samples. Every class keeps at least one
        unless a mapping gives it 0.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_dlc._selection import select_indices
    >>> y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    >>> hardness = np.array([0.9, 0.1, 0.5, 0.3, 0.2, 0.8, 0.4, 0.6])
    >>> select_indices(hardness, y, 0.5, strategy="easy")
    array([1, 3, 4, 6])
    >>> select_indices(hardness, y, 0.5, strategy="hard")
    array([0, 2, 5, 7])

    The tilted family reaches both ends:

    >>> select_indices(hardness, y, 0.5, strategy="tilt", tilt=np.inf)
    array([1, 3, 4, 6])

    With ``y=None`` all samples form one group:

    >>> select_indices(hardness, None, 0.5, strategy="easy")
    array([1, 3, 4, 6])
    """
    check_pruning_rate(pruning_rate)
    check_split(split)
    check_tilt(tilt)
    check_ccs(hard_cutoff, n_bins)
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}.")
    check_class_budget(class_budget, stratify=y is not None)
    if y is None:
        if hardness is None:
            raise ValueError(
                "y and hardness are both None: pass y (labels, or zeros for one "
                "group) so that the number of samples is known."
            )
        y = np.zeros(np.shape(hardness)[:1], dtype=np.intp)
    needs_scores = strategy != "random" or (
        isinstance(class_budget, str) and class_budget == "hardness"
    )
    if not needs_scores:
        hardness = None
    elif hardness is None:
        what = f"strategy={strategy!r}" if strategy != "random" else "class_budget"
        raise ValueError(f"{what} needs hardness scores, got None.")
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {y.shape}.")
    if hardness is not None:
        hardness = check_hardness(hardness, y.shape[0])
    if not isinstance(rng, np.random.Generator | np.random.RandomState):
        rng = np.random.default_rng(rng)
    budgets = None
    if not (isinstance(class_budget, str) and class_budget == "proportional"):
        budgets = class_counts(y, pruning_rate, class_budget, hardness)[1]
    if strategy == "random":
        hardness = None
    adaptive = strategy == "adaptive"
    if adaptive:
        strategy, tilt = "tilt", adaptive_tilt(1 - pruning_rate)

    _, inverse, class_sizes = np.unique(y, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    if hardness is None:
        order = np.argsort(inverse, kind="stable")
    else:
        # lexsort is stable: by class, then by hardness, then by position.
        order = np.lexsort((hardness, inverse))
    kept = [np.empty(0, dtype=np.intp)]
    for i, members in enumerate(np.split(order, np.cumsum(class_sizes)[:-1])):
        n_c = members.shape[0]
        if budgets is None:
            k, b = _keep_count(n_c, pruning_rate), 1 - pruning_rate
        else:
            # Each class's own kept fraction drives its shares and tilt.
            k = int(budgets[i])
            b = k / n_c
            if adaptive:
                tilt = adaptive_tilt(b) if k else 0.0
        if k == 0:
            continue
        if strategy == "flexrand":
            counts = _flexrand_budget_counts(n_c, k, b, split)
            easy_pool = members[: counts.easy_pool]
            hard_pool = members[counts.easy_pool :]
            kept.append(rng.permutation(easy_pool)[: counts.easy])
            kept.append(rng.permutation(hard_pool)[: counts.hard])
        elif strategy == "easy":
            kept.append(members[:k])
        elif strategy == "hard":
            kept.append(members[n_c - k :])
        elif strategy == "random":
            kept.append(rng.permutation(members)[:k])
        elif strategy == "tilt":
            kept.append(_pick_tilt(members, k, tilt, rng))
        else:
            kept.append(
                _pick_ccs(members, hardness[members], k, hard_cutoff, n_bins, rng)
            )
    return np.sort(np.concatenate(kept)).astype(np.intp, copy=False)
