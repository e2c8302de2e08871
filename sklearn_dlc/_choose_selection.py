"""choose_selection: the cross-validated recipe for a pruning budget."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import RepeatedStratifiedKFold
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    validate_params,
)
from sklearn.utils.validation import _num_samples

from ._flexrand_sampler import FlexRandSampler
from ._selection import (
    check_class_budget,
    check_hardness,
    check_pruning_rate,
    check_tilt,
    class_counts,
    keep_count,
    select_indices,
)

DEFAULT_TILTS = (0.0, 0.5, 1.0, 2.0, 4.0, np.inf)


@validate_params(
    {
        "estimator": [HasMethods(["fit"])],
        "X": ["array-like", "sparse matrix"],
        "y": ["array-like"],
        "hardness": ["array-like"],
        "pruning_rate": [Interval(Real, 0, 1, closed="left")],
        "tilts": ["array-like", None],
        "n_splits": [Interval(Integral, 2, None, closed="left")],
        "n_repeats": [Interval(Integral, 1, None, closed="left")],
        "scoring": [str, callable, None],
        "random_state": ["random_state"],
        "class_budget": [str, dict, callable],
    },
    prefer_skip_nested_validation=False,
)
def choose_selection(
    estimator,
    X,
    y,
    *,
    hardness,
    pruning_rate,
    tilts=None,
    n_splits=5,
    n_repeats=2,
    scoring=None,
    random_state=None,
    class_budget="proportional",
):
    """Choose how to prune to a budget by cross-validation, robust to small folds.

    The recommended recipe: every candidate ``tilt`` of
    ``FlexRandSampler(strategy="tilt")`` (``0`` is stratified random,
    ``inf`` top-K easy) prunes the training part of every fold of a repeated
    stratified K-fold to the **same per-class count** as the final subset
    (``keep_count(n_c, pruning_rate)`` of the whole data), ``estimator`` is
    fitted on the kept samples and scored on the held-out fold. All
    candidates of a fold share its random draws, so their scores are
    paired. The candidate with the best mean score wins, but every
    candidate whose mean is within one standard error of the paired
    differences to the best is tied with it, and among tied candidates the
    one closest to random (smallest ``|tilt|``) is chosen: stratified random
    wins every tie.

    Parameters
    ----------
    estimator : estimator object
        The downstream model (unfitted), e.g. a logistic regression on frozen
        features; cloned for every fit.

    X : array-like or sparse matrix of shape (n_samples, n_features)
        Training data the downstream model is fitted on.

    y : array-like of shape (n_samples,)
        Class labels; every class is pruned on its own.

    hardness : array-like of shape (n_samples,)
        Hardness scores of the samples (higher = harder), e.g.
        ``DLCHardness(...).fit(...).hardness_``. Scored once on the whole
        data: cross-validation never re-scores.

    pruning_rate : float in [0, 1)
        Fraction of every class that the final subset removes.

    tilts : array-like of float, default=None
        Candidate values of ``tilt``; None means
        ``(0, 0.5, 1, 2, 4, inf)``. Must contain 0 (stratified random).

    n_splits : int >= 2, default=5
        Folds of every repetition.

    n_repeats : int >= 1, default=2
        Repetitions of the stratified K-fold, each with other folds.

    scoring : str, callable or None, default=None
        Scorer of the held-out folds, as in scikit-learn; None uses
        ``estimator.score``.

    random_state : int, RandomState instance or None, default=None
        Controls the folds and the random draws of the selections.

    class_budget : str, dict or callable, default="proportional"
        Per-class budget of the final subset, as in
        :class:`FlexRandSampler`. With anything but ``"proportional"``,
        every fold keeps each class's final count exactly (fewer only if
        the fold's training part has fewer samples of that class).

    Returns
    -------
    sampler : FlexRandSampler
        Unfitted ``FlexRandSampler(pruning_rate, strategy="tilt",
        tilt=<chosen>, class_budget=class_budget)``, ready to prune the
        whole data.

    results : dict
        ``"tilts"`` (ndarray of the candidates), ``"scores"`` (ndarray of
        shape (n_tilts, n_splits * n_repeats)), ``"mean_scores"``,
        ``"standard_errors"`` (of the paired difference to the best),
        ``"best_tilt"`` (before the tie rule), ``"tilt"`` (chosen),
        ``"fell_back_to_random"`` (True when the chosen tilt is 0) and
        ``"fold_pruning_rate"`` (the rate that keeps the final per-class count
        within a fold's training part).

    See Also
    --------
    sklearn_dlc.FlexRandSampler : The sampler whose ``tilt`` is chosen.

    Notes
    -----
    A plain ``GridSearchCV`` over the sampler prunes every training fold by
    ``pruning_rate`` and thus to fewer samples per class than the final fit;
    on small folds its choice is noisy, and it has no preference for random
    selection when candidates tie. This recipe fixes both.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_dlc import choose_selection
    >>> rng = np.random.RandomState(0)
    >>> y = np.repeat([0, 1, 2], 60)
    >>> X = rng.normal(size=(180, 5)) + y[:, None]
    >>> hardness = rng.uniform(size=180)
    >>> sampler, results = choose_selection(
    ...     LogisticRegression(), X, y, hardness=hardness, pruning_rate=0.9,
    ...     random_state=0)
    >>> sampler.strategy, results["scores"].shape
    ('tilt', (6, 10))
    >>> X_kept, y_kept = sampler.fit_resample(X, y, hardness=hardness)
    >>> np.bincount(y_kept)
    array([6, 6, 6])
    """
    check_pruning_rate(pruning_rate)
    check_class_budget(class_budget)
    tilts = np.asarray(DEFAULT_TILTS if tilts is None else tilts, dtype=float)
    if tilts.ndim != 1 or tilts.size == 0:
        raise ValueError(f"tilts must be a non-empty 1-D list, got {tilts!r}.")
    for tilt in tilts:
        check_tilt(float(tilt))
    if not (tilts == 0).any():
        raise ValueError(
            "tilts must contain 0 (stratified random), the choice on a tie; "
            f"got {tilts.tolist()}."
        )
    y = np.asarray(y)
    n_samples = _num_samples(X)
    if y.shape != (n_samples,):
        raise ValueError(
            f"y must have shape ({n_samples},), one label per sample of X; got "
            f"{y.shape}."
        )
    hardness = check_hardness(hardness, n_samples)
    if not is_classifier(estimator) and scoring is None:
        scoring = "accuracy"
    scorer = check_scoring(estimator, scoring=scoring)
    rng = check_random_state(random_state)
    classes, inverse, class_sizes = np.unique(
        y, return_inverse=True, return_counts=True
    )
    inverse = inverse.ravel()
    kept = sum(keep_count(int(n_c), pruning_rate) for n_c in class_sizes)
    final_counts = None
    if not (isinstance(class_budget, str) and class_budget == "proportional"):
        final_counts = class_counts(y, pruning_rate, class_budget, hardness)[1]
    folds = RepeatedStratifiedKFold(
        n_splits=n_splits,
        n_repeats=n_repeats,
        random_state=rng.randint(np.iinfo(np.int32).max),
    )
    scores = np.empty((tilts.size, n_splits * n_repeats))
    fold_rates = []
    for j, (train, test) in enumerate(folds.split(np.zeros(n_samples), y)):
        # The same kept count as the final subset, from a smaller pool.
        fold_rate = max(0.0, 1.0 - kept / train.size)
        fold_rates.append(fold_rate)
        seed = rng.randint(np.iinfo(np.int32).max)
        X_test, y_test = _safe_indexing(X, test), y[test]
        fold_budget = "proportional"
        if final_counts is not None:
            in_train = np.bincount(inverse[train], minlength=classes.size)
            fold_budget = {
                label: int(min(count, room))
                for label, count, room in zip(classes.tolist(), final_counts, in_train)
                if room
            }
        for i, tilt in enumerate(tilts):
            idx = train[
                select_indices(
                    hardness[train],
                    y[train],
                    fold_rate,
                    strategy="tilt",
                    tilt=float(tilt),
                    rng=seed,
                    class_budget=fold_budget,
                )
            ]
            model = clone(estimator).fit(_safe_indexing(X, idx), y[idx])
            scores[i, j] = scorer(model, X_test, y_test)
    mean = scores.mean(axis=1)
    best = int(np.argmax(mean))
    diffs = scores[best] - scores
    se = diffs.std(axis=1, ddof=1) / np.sqrt(scores.shape[1])
    tied = np.flatnonzero(mean[best] - mean <= se)
    chosen = tied[np.argmin(np.abs(tilts[tied]))]
    sampler = FlexRandSampler(
        pruning_rate,
        strategy="tilt",
        tilt=float(tilts[chosen]),
        class_budget=class_budget,
        random_state=random_state,
    )
    results = dict(
        tilts=tilts,
        scores=scores,
        mean_scores=mean,
        standard_errors=se,
        best_tilt=float(tilts[best]),
        tilt=float(tilts[chosen]),
        fell_back_to_random=bool(tilts[chosen] == 0),
        fold_pruning_rate=float(np.mean(fold_rates)),
    )
    return sampler, results
