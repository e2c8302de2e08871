"""FlexRandSampler: prune every class to a mix of easy and hard samples."""

from collections import OrderedDict
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
import torch
from imblearn.base import BaseSampler
from imblearn.utils import check_target_type
from scipy import sparse
from sklearn.base import clone
from sklearn.utils import _safe_indexing, check_random_state, metadata_routing
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _num_samples
from sklearn_compat.base import _fit_context
from sklearn_compat.utils.validation import check_array, validate_data
from torch.utils.data import Dataset, Subset

from ._scored import find_row_hardness, split_hardness
from ._selection import (
    CLASS_BUDGETS,
    STRATEGIES,
    check_ccs,
    check_class_budget,
    check_hardness,
    check_pruning_rate,
    check_split,
    check_tilt,
    select_indices,
)


def _to_numpy(values):
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy()
    return values


def _n_rows(data, name):
    """Number of samples (rows) of ``data``, any container ``_take`` handles."""
    if isinstance(data, torch.Tensor):
        return data.shape[0] if data.ndim else 0
    # A DOK sparse matrix is a dict: keep it on the array-like path.
    if isinstance(data, Mapping) and not sparse.issparse(data):
        lengths = {key: _num_samples(value) for key, value in data.items()}
        if not lengths or len(set(lengths.values())) != 1:
            raise ValueError(
                f"{name} as a dict must map names to per-sample arrays of one "
                f"common length; got lengths {lengths}."
            )
        return next(iter(lengths.values()))
    if isinstance(data, Dataset):
        try:
            return len(data)
        except TypeError as exc:
            raise TypeError(
                f"{name} is a torch Dataset without __len__; FlexRandSampler "
                "needs to know its number of samples."
            ) from exc
    return _num_samples(data)


def _take(data, indices):
    """Rows ``indices`` of ``data``, in the container type of ``data``."""
    if sparse.issparse(data):
        if data.format in ("csr", "csc"):
            return data[indices]
        # Not every format selects rows (coo, dia, bsr): go through CSR.
        return data.tocsr()[indices].asformat(data.format)
    if isinstance(data, torch.Tensor):
        return data[torch.as_tensor(indices, dtype=torch.long, device=data.device)]
    if isinstance(data, Mapping):
        taken = {key: _take(value, indices) for key, value in data.items()}
        if type(data) is dict:
            return taken
        try:  # dict subclasses such as transformers' BatchEncoding
            return type(data)(taken)
        except TypeError:
            return taken
    if isinstance(data, Dataset):
        return Subset(data, indices.tolist())
    if isinstance(data, np.ndarray):
        return data[indices]
    return _safe_indexing(data, indices)


def _is_text_column(X):
    values = np.asarray(X, dtype=object) if not hasattr(X, "dtype") else X
    if getattr(values, "ndim", 0) != 1 or len(values) == 0:
        return False
    return all(isinstance(v, str) for v in np.asarray(values, dtype=object))


class FlexRandSampler(BaseSampler):
    """Prune a dataset class by class, keeping a random mix of easy and hard samples.

    FlexRand (Jiang et al., ICLR 2025) sorts every class by hardness, splits
    it into an easy pool (the ``split`` fraction of easiest samples) and a
    hard pool (the rest), and draws uniformly from both so that
    ``1 - pruning_rate`` of the class is kept. The other strategies: top-K
    easiest, top-K hardest, stratified random, a tilted family that moves
    continuously from top-K easy through random to top-K hard (``tilt``),
    its budget-adaptive rule that needs no cross-validation, and CCS (Zheng
    et al., ICLR 2023). All keep the same number of samples of every class.

    ``pruning_rate`` is the fraction of each class that is **removed**:
    ``FlexRandSampler(0.8)`` keeps 20% of every class. The paper's "pruning
    ratio" is the *kept* fraction, i.e. ``1 - pruning_rate``.

    The hardness scores (higher = harder) come from, in order of precedence:

    1. ``fit_resample(X, y, hardness=scores)``, precomputed scores (routable
       as metadata);
    2. a preceding :class:`~sklearn_dlc.DLCHardness` step of the same
       imbalanced-learn :class:`~imblearn.pipeline.Pipeline`;
    3. ``scorer``, a clone of which is fitted on ``(X, y)``;
    4. the rows of a scorer step's output that an ensemble re-indexed
       (see Notes).

    If none is available, ``fit_resample`` raises a ``ValueError``.
    ``strategy="random"`` uses no scores: it needs none, fits no scorer and
    ignores scores that are passed or handed over.

    Parameters
    ----------
    pruning_rate : float in [0, 1), default=0.5
        Fraction of every class that is removed. The kept fraction
        ``1 - pruning_rate`` is what the paper calls the pruning ratio. A
        class of ``n_c`` samples keeps ``round((1 - pruning_rate) * n_c)``
        samples (halves rounded up), and at least one, whatever the
        ``strategy``.

    split : float in (0, 1), default=0.5
        The easy/hard boundary gamma: the easy pool of a class of ``n_c``
        samples holds its ``round(split * n_c)`` easiest samples. With
        ``b = 1 - pruning_rate``: if ``split <= 0.5``,
        ``e = min(split, b / 2)`` and ``h = b - e``, otherwise
        ``h = min(1 - split, b / 2)`` and ``e = b - h``; ``round(e * n_c)``
        samples are drawn from the easy pool and the rest of the class's
        budget from the hard pool. ``split=0.5`` is stratified random
        sampling; a small ``split`` keeps the whole easiest block and fills
        the rest from the hard side. Used only by ``strategy="flexrand"``.

    strategy : {"flexrand", "easy", "hard", "random", "tilt", "adaptive", \
            "ccs"}, default="flexrand"
        ``"flexrand"`` as above; ``"easy"`` / ``"hard"`` keep the
        ``round((1 - pruning_rate) * n_c)`` easiest / hardest samples of every
        class; ``"random"`` draws that many uniformly from every class,
        without hardness scores. ``"tilt"`` draws them without replacement
        (Efraimidis and Spirakis, 2006) with weight ``exp(-tilt * r / k)``
        for the sample of easiness rank ``r`` (0 = easiest) in a class whose
        budget is ``k``. ``"adaptive"`` is ``"tilt"`` with
        ``tilt = max(0, ln(0.05 / b))`` for the kept fraction
        ``b = 1 - pruning_rate``: easier samples the smaller the budget,
        stratified random from 5% kept on (after Sorscher et al., NeurIPS
        2022; constants fixed by cross-validation on the benchmark's training
        pools). ``"ccs"`` drops the ``hard_cutoff`` hardest fraction, splits
        the rest into ``n_bins`` bins of equal hardness width and spreads
        the budget evenly over them, smallest bin first, drawing at random
        within bins.

    tilt : float, default=0.0
        Used only by ``strategy="tilt"``: ``inf`` is top-K easy, ``0``
        stratified random, ``-inf`` top-K hard, and values in between move
        continuously between them (e.g. ``tilt=2``: the weight falls by
        ``e**2`` every budget-length of ranks), so that ``GridSearchCV`` can
        search it.

    hard_cutoff : float in [0, 1), default=0.1
        Used only by ``strategy="ccs"``: fraction of the hardest samples of
        every class dropped before binning (fewer when the budget needs them).

    n_bins : int, default=50
        Used only by ``strategy="ccs"``: number of hardness bins per class.

    class_budget : {"proportional", "balanced", "hardness"}, dict or \
            callable, default="proportional"
        How many samples every class keeps; the strategy then chooses which.
        The forms follow imbalanced-learn's ``sampling_strategy``.

        - ``"proportional"``: ``round((1 - pruning_rate) * n_c)`` of a class
          of ``n_c`` samples (at least one), the same rate for every class.
        - ``"balanced"``: the same total, spread as evenly over the classes
          as their sizes allow: a class smaller than its share keeps all its
          samples and the rest is spread over the others (water-filling).
          Samples left over after whole shares go one each to the largest
          classes, ties to the class whose label sorts first.
        - ``"hardness"``: the same total, spread in proportion to each
          class's mean hardness percentile among all samples, capped at the
          class size (after DRoP, Vysogorets et al., ICLR 2025, which sets
          per-class ratios from per-class error): harder classes keep more.
          Needs scores, also with ``strategy="random"``.
        - a dict ``{class: count}``: those counts (0 to the class size);
          classes not listed keep their proportional count.
        - a callable ``f(y) -> dict``, called with the class labels, whose
          result is used as the dict.

        Strategies that depend on the budget (FlexRand's shares,
        ``"adaptive"``) use each class's own kept fraction. With
        ``stratify=False`` only ``"proportional"`` is valid.

    stratify : bool, default=True
        If True, ``y`` holds class labels and every class is pruned on its
        own. If False, all samples form one group (e.g. the instructions of a
        language-model dataset): ``1 - pruning_rate`` of all samples is kept
        and ``y`` may be any per-sample targets, such as token labels of shape
        ``(n_samples, seq_len)``, or None.

    scorer : estimator, default=None
        Unfitted estimator whose ``fit(X, y)`` sets ``hardness_`` of shape
        ``(n_samples,)``, such as :class:`~sklearn_dlc.DLCHardness`. It is
        cloned and fitted only when scores are needed and none are passed or
        handed over by the pipeline (never with ``strategy="random"``). Its
        own parameters (including its ``random_state``) are left as set.

    random_state : int, RandomState instance or None, default=None
        Controls the random draws of every strategy but ``"easy"`` and
        ``"hard"``. Pass an int for reproducible output.

    Attributes
    ----------
    sample_indices_ : ndarray of shape (n_kept,)
        Sorted indices of the kept samples; the output is
        ``X[sample_indices_], y[sample_indices_]``.

    hardness_ : ndarray of shape (n_samples,) or None
        The hardness scores the selection used; None with
        ``strategy="random"``, which uses none.

    classes_ : ndarray of shape (n_classes,)
        Class labels seen in ``y``. Set only when ``stratify=True``.

    sampling_strategy_ : dict
        Number of samples kept per class label (every class of ``y``), as in
        imbalanced-learn. Set only when ``stratify=True``.

    scorer_ : estimator
        The fitted clone of ``scorer``. Set only when ``scorer`` provided the
        scores.

    n_features_in_ : int
        Number of features of ``X``. Set only when ``X`` is a 2-D array-like
        (array, list, DataFrame, sparse matrix).

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during `fit_resample`. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    sklearn_dlc.DLCHardness : Training-free hardness scores.
    imblearn.under_sampling.InstanceHardnessThreshold : Under-sampling by
        instance hardness, which balances classes instead of pruning them.

    Notes
    -----
    ``X`` is not used for the selection itself; it is passed to ``scorer``
    when there is one. Accepted containers: NumPy arrays of any number of
    dimensions, lists, pandas DataFrames, SciPy sparse matrices, torch
    tensors, dicts of per-sample arrays (every value with ``n_samples``
    rows, e.g. tokenized text) and torch ``Dataset`` objects (returned as a
    :class:`torch.utils.data.Subset`). The output keeps the container type,
    the dtype, the trailing dimensions and, for pandas, the index of the
    input. ``y`` is indexed the same way.

    Counts are rounded half up (2.5 -> 3). Every strategy keeps exactly
    ``round((1 - pruning_rate) * n_c)`` samples of a class of ``n_c`` (at
    least one), so that strategies compare at equal budgets. FlexRand
    draws ``h * n_c`` rounded half down from the hard pool (no more than
    leave ``e * n_c`` rounded half down to the easy pool) and the rest of
    the budget from the easy pool: remainders go to the easy pool, and a
    budget of one sample is drawn from it. When a pool is too small for its
    count, the excess is drawn from the other pool. Ties in hardness are
    broken by position (stable sort), so the output is deterministic for a
    given ``random_state``.

    With ``sklearn.set_config(enable_metadata_routing=True)``,
    ``set_fit_resample_request(hardness=True)`` routes ``hardness`` passed to
    an imbalanced-learn ``Pipeline.fit``/``fit_resample`` to this sampler.

    As the ``sampler`` of imbalanced-learn's
    :class:`~imblearn.ensemble.BalancedBaggingClassifier` after a scorer
    step (``Pipeline([("score", DLCHardness(...)), ("bag",
    BalancedBaggingClassifier(sampler=FlexRandSampler(...),
    bootstrap=False))])``), every member draws its own subset with its own
    seed. The bagging re-indexes the rows of ``X``, which drops the
    scorer's mark; for a 2-D numeric array the scores are then found by row
    content, for as long as the scorer's output is in use. Identical rows
    with different scores raise a ``ValueError``. Fit such an ensemble with
    ``n_jobs=None`` (or a threading backend): separate processes do not see
    the scores.

    References
    ----------
    .. [1] W. Jiang, Z. Liu, Z. Xie, S. Zhang, B. Jing, H. Wei. "Exploring
       Learning Complexity for Efficient Downstream Dataset Pruning", ICLR 2025.
       arXiv:2402.05356.
    .. [2] B. Sorscher, R. Geirhos, S. Shekhar, S. Ganguli, A. Morcos. "Beyond
       neural scaling laws: beating power law scaling via data pruning",
       NeurIPS 2022.
    .. [3] H. Zheng, R. Liu, F. Lai, A. Prakash. "Coverage-centric Coreset
       Selection for High Pruning Rates", ICLR 2023.
    .. [4] Y. Cho et al. "Lightweight Dataset Pruning without Full Training
       via Example Difficulty and Prediction Uncertainty" (DUAL), ICML 2025.
       arXiv:2502.06905.
    .. [5] P. Efraimidis, P. Spirakis. "Weighted random sampling with a
       reservoir", Information Processing Letters 97(5), 2006.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_dlc import FlexRandSampler
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(100, 4))
    >>> y = np.repeat([0, 1], 50)
    >>> hardness = rng.uniform(size=100)

    Remove 80% of every class, i.e. keep 10 of each class's 50 samples:

    >>> sampler = FlexRandSampler(0.8, split=0.1, random_state=0)
    >>> X_kept, y_kept = sampler.fit_resample(X, y, hardness=hardness)
    >>> X_kept.shape, np.bincount(y_kept)
    ((20, 4), array([10, 10]))

    With ``split=0.1`` the 5 easiest samples of every class are all kept:

    >>> easiest = [np.flatnonzero(y == c)[np.argsort(hardness[y == c])[:5]]
    ...            for c in (0, 1)]
    >>> bool(np.isin(np.concatenate(easiest), sampler.sample_indices_).all())
    True

    The tilted family at ``tilt=np.inf`` is top-K easy; the budget-adaptive
    rule needs no parameter:

    >>> easy = FlexRandSampler(0.8, strategy="tilt", tilt=np.inf)
    >>> _ = easy.fit_resample(X, y, hardness=hardness)
    >>> bool(np.isin(np.concatenate(easiest), easy.sample_indices_).all())
    True
    >>> adaptive = FlexRandSampler(0.98, strategy="adaptive", random_state=0)
    >>> np.bincount(adaptive.fit_resample(X, y, hardness=hardness)[1])
    array([1, 1])

    The random baseline needs no scores and keeps as many samples:

    >>> baseline = FlexRandSampler(0.8, strategy="random", random_state=0)
    >>> np.bincount(baseline.fit_resample(X, y)[1])
    array([10, 10])

    Per-class budgets for imbalanced classes: the same total, spread evenly.

    >>> y_lt = np.repeat([0, 1, 2], [10, 30, 60])
    >>> proportional = FlexRandSampler(0.8, random_state=0)
    >>> _ = proportional.fit_resample(X, y_lt, hardness=hardness)
    >>> dict(proportional.sampling_strategy_)
    {0: 2, 1: 6, 2: 12}
    >>> balanced = FlexRandSampler(0.8, class_budget="balanced", random_state=0)
    >>> _ = balanced.fit_resample(X, y_lt, hardness=hardness)
    >>> dict(balanced.sampling_strategy_)
    {0: 6, 1: 7, 2: 7}

    Without classes, e.g. for instruction data with token labels:

    >>> token_labels = rng.randint(0, 1000, size=(100, 16))
    >>> one_group = FlexRandSampler(0.8, stratify=False, random_state=0)
    >>> X_kept, labels_kept = one_group.fit_resample(
    ...     X, token_labels, hardness=hardness)
    >>> labels_kept.shape
    (20, 16)
    """

    _sampling_type = "bypass"

    # A pipeline routes its fit metadata to both fit and fit_resample of a
    # step, but only calls fit_resample of a sampler: requesting hardness
    # for fit too would force users to set both requests.
    __metadata_request__fit = {"hardness": metadata_routing.UNUSED}

    _parameter_constraints: dict = {
        # Validated in fit_resample by _selection's checks, which the NumPy
        # selection functions share: one definition of the valid values.
        "pruning_rate": "no_validation",
        "split": "no_validation",
        "strategy": [StrOptions(set(STRATEGIES))],
        # Any real, inf included; NaN is rejected by check_tilt in fit.
        "tilt": [Real],
        "hard_cutoff": [Interval(Real, 0, 1, closed="left")],
        "n_bins": [Interval(Integral, 1, None, closed="left")],
        "class_budget": [StrOptions(set(CLASS_BUDGETS)), Mapping, callable],
        "stratify": ["boolean"],
        "scorer": [HasMethods(["fit"]), None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        pruning_rate=0.5,
        *,
        split=0.5,
        strategy="flexrand",
        tilt=0.0,
        hard_cutoff=0.1,
        n_bins=50,
        class_budget="proportional",
        stratify=True,
        scorer=None,
        random_state=None,
    ):
        self.pruning_rate = pruning_rate
        self.split = split
        self.strategy = strategy
        self.tilt = tilt
        self.hard_cutoff = hard_cutoff
        self.n_bins = n_bins
        self.class_budget = class_budget
        self.stratify = stratify
        self.scorer = scorer
        self.random_state = random_state

    def fit(self, X, y=None, *, hardness=None):
        """Select the samples to keep; see :meth:`fit_resample`.

        Parameters
        ----------
        X : array-like, sparse matrix, DataFrame, tensor, dict or Dataset
            Data with ``n_samples`` samples.

        y : array-like of shape (n_samples,) or (n_samples, ...), default=None
            Class labels; with ``stratify=False``, any per-sample targets or
            None.

        hardness : array-like of shape (n_samples,), default=None
            Precomputed hardness scores, higher = harder.

        Returns
        -------
        self : object
            The fitted sampler.
        """
        self.fit_resample(X, y, hardness=hardness)
        return self

    @_fit_context(
        # scorer is validated when the clone is fitted.
        prefer_skip_nested_validation=False
    )
    def fit_resample(self, X, y=None, *, hardness=None):
        """Prune ``X`` and ``y``, keeping ``1 - pruning_rate`` of every class.

        Parameters
        ----------
        X : array-like, sparse matrix, DataFrame, tensor, dict or Dataset
            Data with ``n_samples`` samples: an array-like of any number of
            dimensions, a torch tensor, a dict whose values all have
            ``n_samples`` rows, or a torch ``Dataset``. It may carry scores
            from a preceding ``DLCHardness`` pipeline step.

        y : array-like of shape (n_samples,) or (n_samples, ...), default=None
            Class labels (one-hot encoded labels are accepted too); required
            when ``stratify=True``. With ``stratify=False``, any per-sample
            targets (e.g. token labels of shape ``(n_samples, seq_len)``) or
            None.

        hardness : array-like of shape (n_samples,), default=None
            Precomputed hardness scores, higher = harder. Takes precedence
            over scores from a preceding step and over ``scorer``. Ignored by
            ``strategy="random"``.

        Returns
        -------
        X_resampled : same type as X
            The kept samples, ``X[sample_indices_]``.

        y_resampled : same type as y, or None
            Their targets, ``y[sample_indices_]``; None if ``y`` is None.
        """
        # Strip the mark of a preceding scorer step whatever the strategy, so
        # that the output is plain data.
        X, handed_over = split_hardness(X)
        check_pruning_rate(self.pruning_rate)
        check_split(self.split)
        check_tilt(self.tilt)
        check_ccs(self.hard_cutoff, self.n_bins)
        check_class_budget(self.class_budget, self.stratify)
        # A refit must not leave attributes of the previous fit behind (a
        # tensor sets no n_features_in_, precomputed scores no scorer_).
        for attr in [name for name in vars(self) if name.endswith("_")]:
            delattr(self, attr)

        if self.stratify:
            y_labels = self._check_y(y)
            n_y = y_labels.shape[0]
        else:
            y_labels = None
            n_y = None if y is None else _n_rows(y, "y")
        n_samples = self._check_X(X)
        if n_y is not None and n_y != n_samples:
            raise ValueError(
                f"X has {n_samples} samples but y has {n_y}; they must match."
            )
        if self.stratify:
            n_classes = np.unique(y_labels).size
            if n_classes < 2:
                raise ValueError(
                    "The target 'y' needs to have more than 1 class. "
                    f"Got {n_classes} class instead. With stratify=False all "
                    "samples are pruned as one group."
                )
        return self._fit_resample(
            X,
            y,
            labels=y_labels,
            n_samples=n_samples,
            hardness=hardness,
            handed_over=handed_over,
        )

    def _fit_resample(self, X, y, *, labels, n_samples, hardness, handed_over):
        # X and y as given (X unmarked); labels: y as validated class labels,
        # or None without stratification.
        if self.strategy == "random" and not self._budget_needs_scores():
            self.hardness_ = None
        else:
            self.hardness_ = self._get_hardness(
                X, y if labels is None else labels, hardness, handed_over, n_samples
            )
        groups = np.zeros(n_samples, dtype=np.intp) if labels is None else labels
        self.sample_indices_ = select_indices(
            self.hardness_,
            groups,
            self.pruning_rate,
            split=self.split,
            strategy=self.strategy,
            rng=check_random_state(self.random_state),
            tilt=self.tilt,
            hard_cutoff=self.hard_cutoff,
            n_bins=self.n_bins,
            class_budget=self.class_budget,
        )
        if labels is not None:
            self.classes_, inverse = np.unique(labels, return_inverse=True)
            kept = np.bincount(
                inverse.ravel()[self.sample_indices_], minlength=self.classes_.size
            )
            self.sampling_strategy_ = OrderedDict(
                zip(self.classes_.tolist(), kept.tolist())
            )
        y_res = None if y is None else _take(y, self.sample_indices_)
        return _take(X, self.sample_indices_), y_res

    def _check_y(self, y):
        if y is None:
            raise ValueError(
                "FlexRandSampler with stratify=True requires y to be passed, but "
                "the target y is None. Pass class labels, or set stratify=False "
                "to prune all samples as one group."
            )
        y = _to_numpy(y)
        try:
            check_classification_targets(y)
            y, _ = check_target_type(y, indicate_one_vs_all=True)
        except ValueError as exc:
            raise ValueError(
                f"{exc} With stratify=True, y must hold class labels; for other "
                "per-sample targets (e.g. token labels of shape (n_samples, "
                "seq_len)) set stratify=False."
            ) from exc
        return np.asarray(y)

    def _check_X(self, X):
        """Validate what can be validated of ``X``; return its number of samples."""
        if isinstance(X, torch.Tensor | Dataset) or (
            isinstance(X, Mapping) and not sparse.issparse(X)
        ):
            n_samples = _n_rows(X, "X")
            if n_samples == 0:
                shape = f" of shape {tuple(X.shape)}" if hasattr(X, "shape") else ""
                raise ValueError(
                    f"X must hold at least one sample, got a {type(X).__name__}{shape}."
                )
            return n_samples
        # A 1-D X of str is raw text (for DLCHardness(tokenizer=...)); numeric
        # data must stay 2-D, as in scikit-learn.
        raw_text = not sparse.issparse(X) and _is_text_column(X)
        X_checked = check_array(
            X,
            accept_sparse=True,
            dtype=None,
            ensure_all_finite=False,
            ensure_2d=not raw_text,
            allow_nd=True,
            input_name="X",
        )
        if X_checked.ndim == 2:
            validate_data(self, X=X, reset=True, skip_check_array=True)
        return X_checked.shape[0]

    def _budget_needs_scores(self):
        return isinstance(self.class_budget, str) and self.class_budget == "hardness"

    def _get_hardness(self, X, y, hardness, handed_over, n_samples):
        if hardness is not None:
            return check_hardness(_to_numpy(hardness), n_samples, name="hardness")
        if handed_over is None and self.scorer is None:
            # Rows re-indexed by an ensemble (BalancedBaggingClassifier) after
            # a scorer step have lost the mark but not their content.
            handed_over = find_row_hardness(X)
        if handed_over is not None:
            return check_hardness(
                _to_numpy(handed_over),
                n_samples,
                name="hardness (handed over by the preceding pipeline step)",
            )
        if self.scorer is None:
            needs = (
                f"strategy={self.strategy!r}"
                if self.strategy != "random"
                else "class_budget='hardness'"
            )
            raise ValueError(
                f"FlexRandSampler({needs}) has no hardness "
                "scores: pass fit_resample(X, y, hardness=...), put a DLCHardness "
                "step before it in an imblearn Pipeline, or set the scorer "
                "parameter. To pass hardness through a Pipeline, enable metadata "
                "routing and call set_fit_resample_request(hardness=True). "
                "strategy='random' needs no scores (unless "
                "class_budget='hardness'). Inside BalancedBaggingClassifier, "
                "the scores of a preceding DLCHardness step reach the sampler "
                "only with n_jobs=None."
            )
        self.scorer_ = clone(self.scorer)
        self.scorer_.fit(X, y)
        scores = _to_numpy(getattr(self.scorer_, "hardness_", None))
        if scores is None or np.shape(scores) != (n_samples,):
            got = "none" if scores is None else f"shape {np.shape(scores)}"
            raise TypeError(
                f"scorer must set hardness_ of shape ({n_samples},) when fitted; "
                f"{type(self.scorer).__name__} set {got}."
            )
        return check_hardness(scores, n_samples, name="scorer's hardness_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.sampler_tags.sample_indices = True
        tags.target_tags.required = bool(self.stratify)
        # X is passed through untouched: NaN is the scorer's business, and
        # without a scorer to fit, X is never converted, so any dtype passes.
        tags.input_tags.allow_nan = True
        tags.input_tags.string = self.scorer is None or (
            self.strategy == "random" and not self._budget_needs_scores()
        )
        tags.input_tags.three_d_array = True
        return tags
