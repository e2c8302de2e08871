"""Shared scikit-learn glue of the hardness scorers: nets, devices, data."""

import copy
from collections.abc import Mapping

import numpy as np
import torch
from joblib import effective_n_jobs
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d
from sklearn_compat.utils.validation import validate_data
from skorch import NeuralNet
from torch.utils.data import Dataset

from ._engine import Batches, LocalScorer, ShardedScorer, is_constant
from ._scored import attach_hardness
from ._threads import warn_if_cores_busy


def _n_samples(X):
    if isinstance(X, Mapping):
        lengths = {k: len(v) for k, v in X.items() if not is_constant(v)}
        if not lengths or len(set(lengths.values())) != 1:
            raise ValueError(
                "X as a dict must map names to arrays that all have n_samples "
                f"rows; got lengths {lengths}."
            )
        return next(iter(lengths.values()))
    return len(X)


_PAIR_KEYS = ("prompt", "response")


def _as_pairs(X):
    """(prompt, response) pairs as an (n, 2) object array, or None if X is not
    pair-shaped: a dict with keys "prompt" and "response", a 2-column
    DataFrame or array, or a sequence of 2-item lists/tuples."""
    if isinstance(X, Mapping):
        if set(X) != set(_PAIR_KEYS):
            return None
        columns = [list(X[k]) for k in _PAIR_KEYS]
        if len(columns[0]) != len(columns[1]):
            raise ValueError(
                "X['prompt'] and X['response'] must have one entry per sample; "
                f"got {len(columns[0])} and {len(columns[1])}."
            )
        rows = list(zip(*columns))
    elif hasattr(X, "iloc") and getattr(X, "ndim", 1) == 2:
        rows = [tuple(r) for r in X.to_numpy()] if X.shape[1] == 2 else None
    elif isinstance(X, np.ndarray):
        rows = [tuple(r) for r in X] if X.ndim == 2 and X.shape[1] == 2 else None
    elif isinstance(X, (list, tuple)) and X and isinstance(X[0], (list, tuple)):
        rows = list(X)
    else:
        return None
    if rows is None:
        return None
    pairs = np.empty((len(rows), 2), dtype=object)
    for i, row in enumerate(rows):
        if (
            not isinstance(row, (list, tuple))
            or len(row) != 2
            or not all(isinstance(t, str) for t in row)
        ):
            raise ValueError(
                "With a tokenizer, (prompt, response) pairs must be two str "
                f"per sample; sample {i} is {row!r}."
            )
        pairs[i] = row
    return pairs


def _validate_texts(X):
    """Raw texts for a tokenizer: a 1-D sequence of str, as an object array,
    or (prompt, response) pairs, as an (n, 2) object array."""
    pairs = _as_pairs(X)
    if pairs is not None:
        return pairs
    if hasattr(X, "iloc"):
        if getattr(X, "ndim", 1) != 1:
            raise ValueError(
                "With a tokenizer, X must be a 1-D sequence of str (a list, "
                "array or pandas Series) or (prompt, response) pairs (a "
                f"2-column DataFrame); got a DataFrame of shape {X.shape}."
            )
        X = X.to_numpy()
    if isinstance(X, (str, bytes, Mapping, torch.Tensor)) or not hasattr(X, "__len__"):
        raise ValueError(
            "With a tokenizer, X must be a 1-D sequence of str (a list, array "
            "or pandas Series) or (prompt, response) pairs (a dict with keys "
            "'prompt' and 'response', or a sequence of 2-tuples of str); got "
            f"{type(X).__name__}."
        )
    texts = np.empty(len(X), dtype=object)
    for i, t in enumerate(X):
        texts[i] = str(t) if isinstance(t, str) else t
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise ValueError(
            "With a tokenizer, every sample of X must be a str; sample "
            f"{bad[0]} is {type(texts[bad[0]]).__name__} ({texts[bad[0]]!r})."
        )
    return texts


def _looks_like_texts(X):
    """Whether X is a non-empty 1-D list, array or Series of str (raw texts)."""
    if hasattr(X, "iloc") and getattr(X, "ndim", 2) == 1:
        X = X.to_numpy()
    if isinstance(X, np.ndarray):
        if X.ndim != 1 or not len(X) or X.dtype.kind not in "OUS":
            return False
    elif not isinstance(X, (list, tuple)) or not X:
        return False
    return all(isinstance(v, str) for v in X)


def _check_finite_tensor(t):
    if t.is_floating_point() and not torch.isfinite(t).all():
        raise ValueError("Input X contains NaN or infinity.")


def net_class_indices(y, net):
    """Map labels to output columns of ``net`` (its ``classes_`` if it has any).

    Returns the indices and a validator of the net's output, or None.
    """
    try:
        net_classes = net.classes_
    except AttributeError:
        net_classes = None
    if net_classes is not None:
        net_classes = np.asarray(net_classes)
        lookup = {label: i for i, label in enumerate(net_classes.tolist())}
        unknown = sorted({v for v in y.tolist() if v not in lookup}, key=str)
        if unknown:
            raise ValueError(
                f"With head='model', every label in y must be one of the "
                f"net's classes {net_classes.tolist()}; unknown: {unknown}."
            )
        return np.array([lookup[v] for v in y.tolist()]), None
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
        raise ValueError(
            "With head='model' and a net without `classes`, y must hold "
            "integer class indices >= 0 (the output columns of the net); "
            f"got labels {np.unique(y)[:10].tolist()}."
        )
    top = int(y.max())

    def validate(output):
        if output.ndim != 2 or output.shape[1] <= top:
            raise ValueError(
                "With head='model', y holds class indices up to "
                f"{top}, but the net outputs shape {tuple(output.shape)}: "
                "labels unknown to the net."
            )

    return y, validate


# -- scoring -----------------------------------------------------------


def encode_labels(y, n_samples, net, estimator_name, net_columns=True):
    """Check class labels; return ``(classes_, target indices, validator)``.

    With ``net_columns`` the indices are output columns of the net, from
    :func:`net_class_indices`, and the validator, if not None, checks the
    shape of the network's output against them; otherwise they index
    ``classes_``.
    """
    if y is None:
        raise ValueError(
            f"{estimator_name} requires y to be passed, but the target y is None."
        )
    y = column_or_1d(y.cpu().numpy() if isinstance(y, torch.Tensor) else y)
    if len(y) != n_samples:
        raise ValueError(
            f"X and y have inconsistent numbers of samples: {n_samples} and {len(y)}."
        )
    check_classification_targets(y)
    classes, inverse = np.unique(y, return_inverse=True)
    if not net_columns:
        return classes, torch.from_numpy(inverse.astype(np.int64)), None
    if y.dtype.kind == "f" and np.array_equal(y, np.round(y)):
        # Integral floats (0.0, 1.0, ...) name output columns like integers.
        columns, validate = net_class_indices(y.astype(np.int64), net)
    else:
        columns, validate = net_class_indices(y, net)
    columns = torch.from_numpy(np.array(columns, dtype=np.int64))
    return classes, columns, validate


def outputs_are_probabilities(user_net, net):
    """Whether the module outputs probabilities (skorch's ``NLLLoss`` convention)."""
    return (
        isinstance(user_net, NeuralNet)
        and isinstance(net.criterion, type)
        and issubclass(net.criterion, torch.nn.NLLLoss)
    )


class BaseHardness(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Base class of the scorers: ``fit`` sets ``hardness_``, X passes through.

    Subclasses hold a ``net`` parameter and may use ``batch_size`` and
    ``device`` parameters; they implement ``fit``.
    """

    def _skorch_net(self):
        net = self.net
        if not isinstance(net, NeuralNet):
            net = NeuralNet(module=net, criterion=torch.nn.CrossEntropyLoss)
        module = net.module_ if getattr(net, "initialized_", False) else net.module
        if not isinstance(module, torch.nn.Module):
            raise TypeError(
                "net must hold a pre-trained torch.nn.Module instance; its "
                f"module is {module!r}. DLCHardness never trains the network, "
                "so pass NeuralNet(module=<pre-trained module instance>)."
            )
        if not any(True for _ in module.parameters()):
            raise ValueError("net has no parameters to mask.")
        return net, module

    def _resolve_device(self, net, module):
        """``device``, else the user's skorch net's device, else the module's."""
        if self.device is not None:
            requested = self.device
        elif isinstance(self.net, NeuralNet) and net.device is not None:
            requested = net.device
        else:
            return next(module.parameters()).device
        device = torch.device(requested)
        if device.type == "cuda" and not torch.cuda.is_available():
            name = "device" if self.device is not None else "net.device"
            raise ValueError(
                f"{name}={requested!r} asks for CUDA, which is not available."
            )
        return device

    def _prepare_fit(self, X):
        """Resolve net, module and device, validate X; count its samples."""
        net, module = self._skorch_net()
        if any(p.is_meta for p in module.parameters()):
            raise ValueError(
                f"{type(self).__name__}: the network's parameters are on the "
                "'meta' device, which holds shapes but no weights, so there is "
                "nothing to score. Load the weights first (e.g. from_pretrained "
                "without device_map='meta', or load_state_dict(state, "
                "assign=True) after building the model under "
                "torch.device('meta'))."
            )
        device = self._resolve_device(net, module)
        if device.type == "cpu":
            warn_if_cores_busy(type(self).__name__)
        X = self._validate_X(X, reset=True)
        n_samples = _n_samples(X)
        if n_samples < 1:
            raise ValueError("X has 0 samples; at least 1 is required.")
        return net, module, device, X, n_samples

    @staticmethod
    def _module_on(module, device, dtype=None):
        """The module itself if it lives on ``device`` (with its floating-point
        parameters in ``dtype``), else a copy there, cast to ``dtype``.

        The user's module is never moved or cast.
        """
        first = next(module.parameters())
        floats = [p.dtype for p in module.parameters() if p.is_floating_point()]
        if first.device == device and (dtype is None or set(floats) <= {dtype}):
            return module
        return copy.deepcopy(module).to(device=device, dtype=dtype)

    def _validate_X(self, X, reset):
        """Validate X; array-likes go through scikit-learn's checks."""
        if getattr(self, "tokenizer", None) is not None:
            return _validate_texts(X)
        if isinstance(X, Dataset):
            return X
        if isinstance(X, torch.Tensor):
            _check_finite_tensor(X)
            return X
        if isinstance(X, Mapping) and not issparse(X):
            # dict-likes such as transformers' BatchEncoding become plain dicts.
            _n_samples(X)
            out = {}
            for key, value in X.items():
                if is_constant(value):
                    out[key] = value
                    continue
                value = torch.as_tensor(
                    value if isinstance(value, torch.Tensor) else np.asarray(value)
                )
                _check_finite_tensor(value)
                out[key] = value
            return out
        if _looks_like_texts(X):
            raise ValueError(
                f"{type(self).__name__}: X holds raw texts; pass the model's "
                "tokenizer as tokenizer= to score them (each batch is tokenized "
                "as the network reads it), or tokenize them first and pass the "
                "tokenizer's output (a dict of arrays) as X."
            )
        try:
            return validate_data(
                self,
                X,
                reset=reset,
                allow_nd=True,
                dtype="numeric",
                ensure_all_finite=True,
            )
        except ValueError as exc:
            if "NaN" not in str(exc) and "infinity" not in str(exc):
                raise
            raise ValueError(
                f"{type(self).__name__}: X contains NaN or infinity, which a "
                "network cannot score. Impute the missing values before the "
                "scorer (e.g. sklearn.impute.SimpleImputer as a pipeline step) "
                "or drop those samples."
            ) from None

    def _batches(self, X, y, net, device, float_dtype, *, trim_padding=False):
        """X and its targets ``y`` as :class:`~._engine.Batches`, the one data
        path of in-process and sharded scoring.

        In-memory data is batched by slicing, much cheaper than skorch's
        sample-by-sample DataLoader; a Dataset streams through the net's
        ``iterator_valid``; raw texts are tokenized batch by batch by the
        estimator's ``tokenizer``, and with ``trim_padding`` text may come
        grouped by length (the batches restore the order of their results).
        """
        return Batches(
            X,
            y,
            self.batch_size or net.batch_size,
            device,
            float_dtype=float_dtype,
            **self._data_options(X, net, trim_padding),
        )

    def _data_options(self, X, net, trim_padding=False):
        """How X becomes batches, besides its batch size and device."""
        loader = None
        if isinstance(X, Dataset):
            loader = net.iterator_valid, net.get_params_for("iterator_valid")
        return {
            "loader": loader,
            "tokenizer": getattr(self, "tokenizer", None),
            "trim_padding": trim_padding,
        }

    def _scorer(
        self,
        adapter,
        masks,
        X,
        y,
        data,
        loss_fn,
        net,
        device,
        *,
        trim_padding=False,
        amp_dtype=None,
        progress=None,
        cache=None,
    ):
        """Who runs the passes: a :class:`~._engine.ShardedScorer` over ranges
        of ``X`` and its targets ``y`` with ``n_jobs > 1``, else a
        :class:`~._engine.LocalScorer` over ``data`` (``self._batches(X, y,
        ...)``).

        Both read the data through :class:`~._engine.Batches` alike, so
        ``n_jobs > 1`` scores like ``n_jobs=1``.
        """
        if effective_n_jobs(self.n_jobs) <= 1:
            return LocalScorer(
                adapter, masks, data, loss_fn, amp_dtype=amp_dtype, progress=progress
            )
        masked_names = []
        if masks is not None:
            masked_names = [name for name, _ in adapter.masked_parameters()]
        return ShardedScorer(
            adapter,
            masks,
            masked_names,
            X,
            y,
            loss_fn,
            n_samples=data.n_samples,
            n_jobs=self.n_jobs,
            batch_size=self.batch_size or net.batch_size,
            device=device,
            amp_dtype=amp_dtype,
            owner=type(self).__name__,
            progress=progress,
            **self._data_options(X, net, trim_padding),
            **(cache or {}),
        )

    def transform(self, X):
        """Return ``X`` unchanged (the scorer does not alter features).

        Parameters
        ----------
        X : array-like, torch.Tensor, dict of arrays or torch Dataset
            Input data.

        Returns
        -------
        X : same as input
            The input, unchanged; a list other than raw texts comes back as
            the validated array.
        """
        check_is_fitted(self, "hardness_")
        validated = self._validate_X(X, reset=False)
        texts = getattr(self, "tokenizer", None) is not None and isinstance(
            X, (list, tuple)
        )
        kept = (np.ndarray, torch.Tensor, Mapping, Dataset)
        if texts or isinstance(X, kept) or hasattr(X, "iloc"):
            return X
        return validated

    def fit_transform(self, X, y=None, **fit_params):
        """Fit, then return ``X`` marked with ``hardness_`` for a next sampler.

        The content of ``X`` is returned unchanged (no copy of the data); a
        :class:`FlexRandSampler` that directly follows in a pipeline reads the
        scores from the mark and removes it.

        Parameters
        ----------
        X : array-like, torch.Tensor, dict of arrays or torch Dataset
            Input data.
        y : array-like of shape (n_samples,)
            Class labels.
        **fit_params : dict
            Passed to :meth:`fit`.

        Returns
        -------
        X : same content as input
            ``X``, carrying the scores for the next pipeline step.
        """
        self.fit(X, y, **fit_params)
        return attach_hardness(self.transform(X), self.hardness_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.allow_nan = False
        return tags
