"""FlexRandEnsembleClassifier: one model per draw of a sampler, votes averaged."""

from collections.abc import Mapping
from numbers import Integral

import numpy as np
import torch
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils import check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted
from sklearn_compat.base import _fit_context
from sklearn_compat.utils.validation import validate_data
from torch.utils.data import Dataset

from ._flexrand_sampler import FlexRandSampler, _is_text_column, _n_rows, _to_numpy
from ._scored import split_hardness


def _is_table(X):
    """Whether ``X`` is 2-D array-like data that scikit-learn validates."""
    if sparse.issparse(X):
        return True
    if isinstance(X, torch.Tensor | Dataset | Mapping):
        return False
    ndim = getattr(X, "ndim", None)
    if ndim is not None:
        return ndim == 2
    return not _is_text_column(X)


class FlexRandEnsembleClassifier(ClassifierMixin, BaseEstimator):
    """Ensemble of classifiers, each fitted on its own draw of a sampler.

    Every member prunes the training data with a clone of ``sampler`` seeded
    differently, and fits a clone of ``estimator`` on the kept samples. The
    hardness scores are read once (passed, handed over by a preceding
    :class:`~sklearn_dlc.DLCHardness` step, or computed once by the sampler's
    own ``scorer``) and shared by every draw. Predictions average the
    members' class probabilities (``voting="soft"``) or count their votes
    (``voting="hard"``).

    Unlike imbalanced-learn's
    :class:`~imblearn.ensemble.BalancedBaggingClassifier`, which also works
    with :class:`~sklearn_dlc.FlexRandSampler` on 2-D features, the input
    may be anything the sampler and the estimator accept: image arrays,
    tensors, dicts of tokenized text, torch datasets or lists of texts.

    Parameters
    ----------
    estimator : estimator object, default=None
        Unfitted classifier cloned for every member. None means
        :class:`~sklearn.linear_model.LogisticRegression`.

    sampler : sampler object, default=None
        Unfitted sampler with ``fit_resample`` and a ``random_state``
        parameter, cloned for every member with its own seed. None means
        ``FlexRandSampler()``.

    n_estimators : int, default=5
        Number of members.

    voting : {"soft", "hard"}, default="soft"
        ``"soft"`` averages ``predict_proba`` of the members (the estimator
        needs it); ``"hard"`` takes the most frequent prediction, ties to
        the class that comes first in ``classes_``.

    random_state : int, RandomState instance or None, default=None
        Draws the seed of every member's sampler. Pass an int for
        reproducible output.

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted members.

    samplers_ : list of samplers
        The fitted sampler of every member (``sample_indices_``,
        ``sampling_strategy_``).

    hardness_ : ndarray of shape (n_samples,) or None
        The scores every draw used; None if the sampler used none.

    classes_ : ndarray of shape (n_classes,)
        Class labels.

    n_features_in_ : int
        Number of features of ``X``. Set only when ``X`` is 2-D array-like.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during `fit`. Defined only when `X` has
        feature names that are all strings.

    See Also
    --------
    sklearn_dlc.FlexRandSampler : The default sampler.
    imblearn.ensemble.BalancedBaggingClassifier : The same composition for
        2-D features.

    Notes
    -----
    How many members pay off depends on the data and the budget; see the
    user guide's section on imbalanced classes and ensembles for measured
    curves.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_dlc import FlexRandEnsembleClassifier, FlexRandSampler
    >>> rng = np.random.RandomState(0)
    >>> y = np.repeat([0, 1, 2], [60, 30, 10])
    >>> X = rng.normal(size=(100, 4)) + y[:, None]
    >>> hardness = rng.uniform(size=100)
    >>> ensemble = FlexRandEnsembleClassifier(
    ...     sampler=FlexRandSampler(0.8, class_budget="balanced"),
    ...     n_estimators=3, random_state=0)
    >>> ensemble.fit(X, y, hardness=hardness).predict(X[:3]).shape
    (3,)
    >>> [dict(s.sampling_strategy_) for s in ensemble.samplers_][0]
    {0: 7, 1: 7, 2: 6}
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "sampler": [HasMethods(["fit_resample"]), None],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "voting": [StrOptions({"soft", "hard"})],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator=None,
        sampler=None,
        *,
        n_estimators=5,
        voting="soft",
        random_state=None,
    ):
        self.estimator = estimator
        self.sampler = sampler
        self.n_estimators = n_estimators
        self.voting = voting
        self.random_state = random_state

    @_fit_context(
        # estimator and sampler are validated when their clones are fitted.
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y, *, hardness=None):
        """Fit ``n_estimators`` members, each on its own draw.

        Parameters
        ----------
        X : array-like, sparse matrix, tensor, dict or Dataset
            Training data, possibly carrying the scores of a preceding
            ``DLCHardness`` pipeline step.

        y : array-like of shape (n_samples,)
            Class labels.

        hardness : array-like of shape (n_samples,), default=None
            Precomputed hardness scores, higher = harder.

        Returns
        -------
        self : object
            The fitted ensemble.
        """
        X, handed_over = split_hardness(X)
        estimator = self._estimator()
        if _is_table(X):
            X, y = validate_data(
                self,
                X,
                y,
                accept_sparse=True,
                dtype=self._dtype(estimator),
                ensure_all_finite=False,
            )
        else:
            y = np.asarray(_to_numpy(y))
            if y.shape != (_n_rows(X, "X"),):
                raise ValueError(
                    f"y must have one label per sample of X ({_n_rows(X, 'X')}); "
                    f"got shape {y.shape}."
                )
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if self.classes_.size < 2:
            raise ValueError(
                f"y needs at least 2 classes; got {self.classes_.size} class."
            )
        if self.voting == "soft" and not hasattr(estimator, "predict_proba"):
            raise TypeError(
                f"voting='soft' needs an estimator with predict_proba; "
                f"{type(estimator).__name__} has none. Use voting='hard'."
            )
        sampler = self.sampler if self.sampler is not None else FlexRandSampler()
        if "random_state" not in sampler.get_params():
            raise TypeError(
                "sampler must have a random_state parameter, so that every "
                f"member draws its own subset; {type(sampler).__name__} has none."
            )
        scores = hardness if hardness is not None else handed_over
        seeds = check_random_state(self.random_state).randint(
            np.iinfo(np.int32).max, size=self.n_estimators
        )
        self.estimators_, self.samplers_ = [], []
        for seed in seeds:
            member_sampler = clone(sampler).set_params(random_state=int(seed))
            if scores is None:
                X_kept, y_kept = member_sampler.fit_resample(X, y)
                # Scores computed by the sampler's own scorer serve every draw.
                scores = getattr(member_sampler, "hardness_", None)
            else:
                X_kept, y_kept = member_sampler.fit_resample(X, y, hardness=scores)
            self.samplers_.append(member_sampler)
            self.estimators_.append(clone(estimator).fit(X_kept, y_kept))
        self.hardness_ = None if scores is None else np.asarray(_to_numpy(scores))
        return self

    def _estimator(self):
        if self.estimator is not None:
            return self.estimator
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression()

    @staticmethod
    def _dtype(estimator):
        # Strings reach only an estimator that takes them.
        return None if get_tags(estimator).input_tags.string else "numeric"

    def _check_predict_input(self, X):
        check_is_fitted(self)
        X, _ = split_hardness(X)
        if _is_table(X):
            X = validate_data(
                self,
                X,
                reset=False,
                accept_sparse=True,
                dtype=self._dtype(self._estimator()),
                ensure_all_finite=False,
            )
        return X

    def predict_proba(self, X):
        """Mean class probabilities of the members.

        Parameters
        ----------
        X : array-like, sparse matrix, tensor, dict or Dataset
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``; a member that never saw a
            class gives it probability 0.
        """
        X = self._check_predict_input(X)
        if self.voting == "hard":
            votes = self._votes(X)
            return votes / votes.sum(axis=1, keepdims=True)
        return self._mean_proba(X)

    def _mean_proba(self, X):
        proba = 0.0
        for member in self.estimators_:
            columns = np.searchsorted(self.classes_, member.classes_)
            member_proba = np.zeros((_n_rows(X, "X"), self.classes_.size))
            member_proba[:, columns] = member.predict_proba(X)
            proba = proba + member_proba
        return proba / len(self.estimators_)

    def _votes(self, X):
        votes = np.zeros((_n_rows(X, "X"), self.classes_.size))
        for member in self.estimators_:
            pred = np.searchsorted(self.classes_, np.asarray(member.predict(X)))
            votes[np.arange(votes.shape[0]), pred] += 1
        return votes

    def predict(self, X):
        """Class of the largest mean probability (soft) or most votes (hard).

        Parameters
        ----------
        X : array-like, sparse matrix, tensor, dict or Dataset
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted class labels.
        """
        X = self._check_predict_input(X)
        scores = self._votes(X) if self.voting == "hard" else self._mean_proba(X)
        return self.classes_[np.argmax(scores, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = get_tags(self._estimator()).input_tags.sparse
        return tags
