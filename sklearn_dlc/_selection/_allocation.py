"""How many samples every class keeps: the per-class budgets.

Pure NumPy. ``"proportional"`` removes ``pruning_rate`` of every class;
``"balanced"`` and ``"hardness"`` spread the same total over the classes by
weighted water-filling; a mapping or a callable sets some counts directly,
like imbalanced-learn's ``sampling_strategy``.
"""

from collections.abc import Mapping
from numbers import Integral

import numpy as np

CLASS_BUDGETS = ("proportional", "balanced", "hardness")


def check_class_budget(class_budget, stratify=True):
    """Raise unless ``class_budget`` is a valid per-class budget.

    Parameters
    ----------
    class_budget : object
        ``"proportional"``, ``"balanced"``, ``"hardness"``, a mapping
        ``{class: count}`` or a callable ``f(y) -> mapping``.
    stratify : bool, default=True
        Whether samples are grouped by class; without classes only
        ``"proportional"`` is valid.

    Raises
    ------
    TypeError
        If ``class_budget`` is of another type.
    ValueError
        If it is an unknown string, or not ``"proportional"`` while
        ``stratify=False``.
    """
    if isinstance(class_budget, str):
        if class_budget not in CLASS_BUDGETS:
            raise ValueError(
                f"class_budget must be one of {CLASS_BUDGETS}, a dict "
                f"{{class: count}} or a callable; got {class_budget!r}."
            )
    elif not (isinstance(class_budget, Mapping) or callable(class_budget)):
        raise TypeError(
            f"class_budget must be one of {CLASS_BUDGETS}, a dict {{class: count}} "
            f"or a callable f(y) -> dict; got {type(class_budget).__name__}."
        )
    if not stratify and not (
        isinstance(class_budget, str) and class_budget == "proportional"
    ):
        raise ValueError(
            "class_budget must be 'proportional' when stratify=False: without "
            f"classes there are no per-class budgets; got {class_budget!r}."
        )


def water_fill(total, capacities, weights=None):
    """Spread ``total`` samples over classes in proportion to ``weights``.

    Every class first gets one sample, then the rest is spread by weighted
    water-filling: class ``c`` gets ``min(capacities[c], level * weights[c])``
    for the one ``level`` that uses up the total, so that the samples a
    small class cannot take go to the others. Whole samples: every class
    gets the floor of its share, and the samples left over go one each to
    the classes with the largest fractional parts; ties go to the larger
    class, then to the class that comes first.

    Parameters
    ----------
    total : int
        Number of samples to spread, between ``n_classes`` and
        ``sum(capacities)``.
    capacities : array-like of int, shape (n_classes,)
        Class sizes, each >= 1.
    weights : array-like of float, shape (n_classes,), default=None
        Positive weights; None spreads evenly (the ``"balanced"`` budget).

    Returns
    -------
    counts : ndarray of int, shape (n_classes,)
        Per-class counts, summing to ``total``, each in ``[1, capacity]``.

    Examples
    --------
    >>> from sklearn_dlc._selection import water_fill
    >>> water_fill(30, [5, 100, 100])
    array([ 5, 13, 12])
    >>> water_fill(30, [5, 100, 100], weights=[1.0, 1.0, 2.0])
    array([ 5,  9, 16])
    """
    capacities = np.asarray(capacities, dtype=np.int64)
    n_classes = capacities.shape[0]
    weights = (
        np.ones(n_classes) if weights is None else np.asarray(weights, dtype=float)
    )
    if not n_classes <= total <= capacities.sum():
        raise ValueError(
            f"cannot spread {total} samples over {n_classes} classes of "
            f"{capacities.sum()} samples with at least one each."
        )
    # One sample each first, then the rest over the remaining room.
    room = (capacities - 1).astype(float)
    rest = float(total - n_classes)
    share = np.zeros(n_classes)
    open_ = room > 0
    # Fill the classes that run out of room first (smallest room / weight).
    for c in np.argsort(room / weights, kind="stable"):
        if not open_[c]:
            continue
        level = rest / weights[open_].sum()
        if room[c] <= level * weights[c]:
            share[c] = room[c]
            rest -= room[c]
            open_[c] = False
        else:
            break
    if open_.any():
        share[open_] = rest / weights[open_].sum() * weights[open_]
    base = np.minimum(np.floor(share + 1e-9), room).astype(np.int64)
    left = int(total - n_classes - base.sum())
    fraction = np.where(base < room, share - base, -1.0)
    # Largest fraction first; ties to the larger class, then the first one.
    order = np.lexsort((np.arange(n_classes), -capacities, -np.round(fraction, 9)))
    base[order[:left]] += 1
    return base + 1


def _class_hardness(hardness, inverse, n_classes):
    """Mean percentile rank of each class's samples among all samples (0, 1]."""
    ranks = np.empty(hardness.shape[0])
    ranks[np.argsort(hardness, kind="stable")] = np.arange(1, hardness.shape[0] + 1)
    ranks /= hardness.shape[0]
    return np.bincount(inverse, ranks, n_classes) / np.bincount(
        inverse, None, n_classes
    )


def class_counts(
    y, pruning_rate, class_budget="proportional", hardness=None, keep_count=None
):
    """Number of samples every class keeps under a per-class budget.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels.
    pruning_rate : float in [0, 1)
        Fraction removed: the proportional count of a class of ``n_c``
        samples is ``keep_count(n_c, pruning_rate)``.
    class_budget : str, mapping or callable, default="proportional"
        - ``"proportional"``: ``keep_count(n_c, pruning_rate)`` per class.
        - ``"balanced"``: the proportional total, spread as evenly as the
          class sizes allow (:func:`water_fill`): a class too small for its
          share keeps all its samples and the rest goes to the others.
        - ``"hardness"``: the proportional total spread in proportion to
          each class's mean hardness percentile (DRoP-style, after
          Vysogorets et al., ICLR 2025, who set per-class ratios from
          per-class error): harder classes keep more. Needs ``hardness``.
        - a mapping ``{class: count}``: those counts; classes not listed
          keep their proportional count.
        - a callable ``f(y) -> mapping``, used as the mapping.
    hardness : array-like of shape (n_samples,), default=None
        Scores, needed only by ``"hardness"``.
    keep_count : callable, default=None
        ``keep_count(n_c, pruning_rate)``; None uses
        :func:`~sklearn_dlc._selection.keep_count`.

    Returns
    -------
    classes : ndarray of shape (n_classes,)
        Sorted class labels.
    counts : ndarray of int, shape (n_classes,)
        Samples kept per class, aligned with ``classes``.

    Raises
    ------
    ValueError
        For an unknown class, or a count that is negative, not a whole
        number or larger than its class.
    TypeError
        If the callable does not return a mapping, or ``class_budget`` is of
        another type.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_dlc._selection import class_counts
    >>> y = np.repeat([0, 1, 2], [10, 40, 150])
    >>> class_counts(y, 0.9)[1]
    array([ 1,  4, 15])
    >>> class_counts(y, 0.9, "balanced")[1]
    array([6, 7, 7])
    >>> class_counts(y, 0.9, {2: 5})[1]
    array([1, 4, 5])
    """
    if keep_count is None:
        from ._core import _keep_count as keep_count
    check_class_budget(class_budget)
    classes, inverse, sizes = np.unique(
        np.asarray(y), return_inverse=True, return_counts=True
    )
    inverse = inverse.ravel()
    proportional = np.array([keep_count(int(n), pruning_rate) for n in sizes])
    if isinstance(class_budget, str):
        if class_budget == "proportional":
            return classes, proportional
        if class_budget == "balanced":
            return classes, water_fill(int(proportional.sum()), sizes)
        if hardness is None:
            raise ValueError("class_budget='hardness' needs hardness scores.")
        weights = _class_hardness(np.asarray(hardness, float), inverse, classes.size)
        return classes, water_fill(int(proportional.sum()), sizes, weights)
    if callable(class_budget):
        mapping = class_budget(y)
        if not isinstance(mapping, Mapping):
            raise TypeError(
                "class_budget as a callable must return a dict {class: count}; "
                f"it returned {type(mapping).__name__}."
            )
    else:
        mapping = class_budget
    position = {label: i for i, label in enumerate(classes.tolist())}
    counts = proportional.copy()
    for label, count in mapping.items():
        i = position.get(label.item() if hasattr(label, "item") else label)
        if i is None:
            raise ValueError(
                f"class_budget names class {label!r}, which is not in y; the "
                f"classes are {classes.tolist()}."
            )
        if isinstance(count, bool) or not isinstance(count, Integral):
            raise ValueError(
                f"class_budget[{label!r}] must be a whole number of samples; "
                f"got {count!r}."
            )
        if not 0 <= count <= sizes[i]:
            raise ValueError(
                f"class_budget[{label!r}] must be between 0 and the class size "
                f"{sizes[i]}; got {count}."
            )
        counts[i] = int(count)
    return classes, counts
