"""FlexRandSampler: prune every class to a mix of easy and hard samples."""

from collections import OrderedDict
from collections.abc import Mapping
from numbers import Real

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

from ._scored import split_hardness
from ._selection import STRATEGIES, check_hardness, select_indices


def _to_numpy(values):
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy()
    return values


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


class FlexRandSampler(BaseSampler):
    """Prune a dataset class by class, keeping a random mix of easy and hard samples.

    FlexRand (Jiang et al., ICLR 2025) sorts every class by hardness, splits
    it into an easy pool (the ``split`` fraction of easiest samples) and a
    hard pool (the rest), and draws uniformly from both so that
    ``1 - pruning_rate`` of the class is kept. Top-K easiest, top-K hardest
    and stratified random selection are available as baselines.

    ``pruning_rate`` is the fraction of each class that is **removed**:
    ``FlexRandSampler(0.8)`` keeps 20% of every class. The paper's "pruning
    ratio" is the *kept* fraction, i.e. ``1 - pruning_rate``.

    The hardness scores (higher = harder) come from, in order of precedence:

    1. ``fit_resample(X, y, hardness=scores)``, precomputed scores (routable
       as metadata);
    2. a preceding :class:`~sklearn_dlc.DLCHardness` step of the same
       imbalanced-learn :class:`~imblearn.pipeline.Pipeline`;
    3. ``scorer``, a clone of which is fitted on ``(X, y)``.

    If none is available, ``fit_resample`` raises a ``ValueError``.

    Parameters
    ----------
    pruning_rate : float in [0, 1), default=0.5
        Fraction of every class that is removed. The kept fraction
        ``1 - pruning_rate`` is what the paper calls the pruning ratio.

    split : float in (0, 1), default=0.5
        The easy/hard boundary gamma: the easy pool of a class of ``n_c``
        samples holds its ``round(split * n_c)`` easiest samples. With
        ``b = 1 - pruning_rate``: if ``split <= 0.5``,
        ``e = min(split, b / 2)`` and ``h = b - e``, otherwise
        ``h = min(1 - split, b / 2)`` and ``e = b - h``; ``round(e * n_c)``
        samples are drawn from the easy pool and ``round(h * n_c)`` from the
        hard pool. ``split=0.5`` is stratified random sampling; a small
        ``split`` keeps the whole easiest block and fills the rest from the
        hard side. Used only by ``strategy="flexrand"``.

    strategy : {"flexrand", "easy", "hard", "random"}, default="flexrand"
        ``"flexrand"`` as above; ``"easy"`` / ``"hard"`` keep the
        ``round((1 - pruning_rate) * n_c)`` easiest / hardest samples of every
        class; ``"random"`` draws that many uniformly from every class.

    scorer : estimator, default=None
        Unfitted estimator whose ``fit(X, y)`` sets ``hardness_`` of shape
        ``(n_samples,)``, such as :class:`~sklearn_dlc.DLCHardness`. It is
        cloned and fitted only when no scores are passed or handed over by
        the pipeline. Its own parameters (including its ``random_state``) are
        left as set.

    random_state : int, RandomState instance or None, default=None
        Controls the random draws of ``"flexrand"`` and ``"random"``. Pass an
        int for reproducible output.

    Attributes
    ----------
    sample_indices_ : ndarray of shape (n_kept,)
        Sorted indices of the kept samples; the output is
        ``X[sample_indices_], y[sample_indices_]``.

    hardness_ : ndarray of shape (n_samples,)
        The hardness scores the selection used.

    classes_ : ndarray of shape (n_classes,)
        Class labels seen in ``y``.

    sampling_strategy_ : dict
        Number of samples kept per class label.

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

    Counts are rounded half up (2.5 -> 3). Rounding the two per-pool counts
    separately may make a class's total differ by one from
    ``round((1 - pruning_rate) * n_c)`` (``pruning_rate=0`` always keeps
    everything). When rounding
    asks for more samples than a pool holds, the excess is drawn from the
    other pool. Every class keeps at least one sample. Ties in hardness are
    broken by position (stable sort), so the output is deterministic for a
    given ``random_state``.

    With ``sklearn.set_config(enable_metadata_routing=True)``,
    ``set_fit_resample_request(hardness=True)`` routes ``hardness`` passed to
    an imbalanced-learn ``Pipeline.fit``/``fit_resample`` to this sampler.

    References
    ----------
    .. [1] W. Jiang, Z. Liu, Z. Xie, S. Zhang, B. Jing, H. Wei. "Exploring
       Learning Complexity for Efficient Downstream Dataset Pruning", ICLR 2025.
       arXiv:2402.05356.

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
    """

    _sampling_type = "bypass"

    # A pipeline routes its fit metadata to both fit and fit_resample of a
    # step, but only calls fit_resample of a sampler: requesting hardness
    # for fit too would force users to set both requests.
    __metadata_request__fit = {"hardness": metadata_routing.UNUSED}

    _parameter_constraints: dict = {
        "pruning_rate": [Interval(Real, 0, 1, closed="left")],
        "split": [Interval(Real, 0, 1, closed="neither")],
        "strategy": [StrOptions(set(STRATEGIES))],
        "scorer": [HasMethods(["fit"]), None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        pruning_rate=0.5,
        *,
        split=0.5,
        strategy="flexrand",
        scorer=None,
        random_state=None,
    ):
        self.pruning_rate = pruning_rate
        self.split = split
        self.strategy = strategy
        self.scorer = scorer
        self.random_state = random_state

    def fit(self, X, y, *, hardness=None):
        """Select the samples to keep; see :meth:`fit_resample`.

        Parameters
        ----------
        X : array-like, sparse matrix, DataFrame, tensor, dict or Dataset
            Data with ``n_samples`` samples.

        y : array-like of shape (n_samples,)
            Class labels.

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
    def fit_resample(self, X, y, *, hardness=None):
        """Prune ``X`` and ``y``, keeping ``1 - pruning_rate`` of every class.

        Parameters
        ----------
        X : array-like, sparse matrix, DataFrame, tensor, dict or Dataset
            Data with ``n_samples`` samples: an array-like of any number of
            dimensions, a torch tensor, a dict whose values all have
            ``n_samples`` rows, or a torch ``Dataset``. It may carry scores
            from a preceding ``DLCHardness`` pipeline step.

        y : array-like of shape (n_samples,)
            Class labels (one-hot encoded labels are accepted too).

        hardness : array-like of shape (n_samples,), default=None
            Precomputed hardness scores, higher = harder. Takes precedence
            over scores from a preceding step and over ``scorer``.

        Returns
        -------
        X_resampled : same type as X
            The kept samples, ``X[sample_indices_]``.

        y_resampled : same type as y
            Their labels, ``y[sample_indices_]``.
        """
        X, handed_over = split_hardness(X)
        # A refit must not leave attributes of the previous fit behind (a
        # tensor sets no n_features_in_, precomputed scores no scorer_).
        for attr in [name for name in vars(self) if name.endswith("_")]:
            delattr(self, attr)

        y_labels = self._check_y(y)
        n_samples = self._check_X(X)
        if y_labels.shape[0] != n_samples:
            raise ValueError(
                f"X has {n_samples} samples but y has {y_labels.shape[0]}; "
                "they must match."
            )
        n_classes = np.unique(y_labels).size
        if n_classes < 2:
            raise ValueError(
                "The target 'y' needs to have more than 1 class. "
                f"Got {n_classes} class instead."
            )

        X_res, _ = self._fit_resample(
            X, y_labels, hardness=hardness, handed_over=handed_over
        )
        return X_res, _take(y, self.sample_indices_)

    def _fit_resample(self, X, y, hardness=None, handed_over=None):
        self.hardness_ = self._get_hardness(X, y, hardness, handed_over)
        self.sample_indices_ = select_indices(
            self.hardness_,
            y,
            self.pruning_rate,
            split=self.split,
            strategy=self.strategy,
            rng=check_random_state(self.random_state),
        )
        self.classes_ = np.unique(y)
        # Every class keeps at least one sample, so the labels match classes_.
        _, kept = np.unique(y[self.sample_indices_], return_counts=True)
        self.sampling_strategy_ = OrderedDict(
            zip(self.classes_.tolist(), kept.tolist())
        )
        return _take(X, self.sample_indices_), y[self.sample_indices_]

    def _check_y(self, y):
        y = _to_numpy(y)
        check_classification_targets(y)
        y, _ = check_target_type(y, indicate_one_vs_all=True)
        return np.asarray(y)

    def _check_X(self, X):
        """Validate what can be validated of ``X``; return its number of samples."""
        if isinstance(X, torch.Tensor):
            if X.ndim == 0 or X.shape[0] == 0:
                raise ValueError(
                    f"X must hold at least one sample, got a tensor of shape "
                    f"{tuple(X.shape)}."
                )
            return X.shape[0]
        # A DOK sparse matrix is a dict: keep it on the array-like path.
        if isinstance(X, Mapping) and not sparse.issparse(X):
            lengths = {key: _num_samples(value) for key, value in X.items()}
            if not lengths or len(set(lengths.values())) != 1:
                raise ValueError(
                    "X as a dict must map names to per-sample arrays of one "
                    f"common length; got lengths {lengths}."
                )
            return next(iter(lengths.values()))
        if isinstance(X, Dataset):
            try:
                return len(X)
            except TypeError as exc:
                raise TypeError(
                    "X is a torch Dataset without __len__; FlexRandSampler "
                    "needs to know its number of samples."
                ) from exc
        X_checked = check_array(
            X,
            accept_sparse=True,
            dtype=None,
            ensure_all_finite=False,
            allow_nd=True,
            input_name="X",
        )
        if X_checked.ndim == 2:
            validate_data(self, X=X, reset=True, skip_check_array=True)
        return X_checked.shape[0]

    def _get_hardness(self, X, y, hardness, handed_over):
        n_samples = y.shape[0]
        if hardness is not None:
            return check_hardness(_to_numpy(hardness), n_samples, name="hardness")
        if handed_over is not None:
            return check_hardness(
                _to_numpy(handed_over),
                n_samples,
                name="hardness (handed over by the preceding pipeline step)",
            )
        if self.scorer is None:
            raise ValueError(
                "FlexRandSampler has no hardness scores: pass "
                "fit_resample(X, y, hardness=...), put a DLCHardness step before "
                "it in an imblearn Pipeline, or set the scorer parameter. To "
                "pass hardness through a Pipeline, enable metadata routing and "
                "call set_fit_resample_request(hardness=True)."
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
        # X is passed through untouched: NaN is the scorer's business.
        tags.input_tags.allow_nan = True
        tags.input_tags.three_d_array = True
        return tags
