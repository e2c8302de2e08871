"""Hand hardness scores from a scorer step to the next sampler step.

An imbalanced-learn Pipeline passes only ``X`` and ``y`` between steps, so a
scorer's ``fit_transform`` returns ``X`` unchanged in content but *marked*
with its scores; the sampler that follows reads and strips the mark. The mark
rides on a zero-copy view of the user's data (never on the user's object), so
``transform`` and everything downstream see the plain data.

A step that validates and re-indexes the rows before its own sampler, such
as imbalanced-learn's ``BalancedBaggingClassifier``, drops the mark. For a
2-D numeric array the scores are therefore also kept by row content, for as
long as the marked array lives (the next step's ``fit``), and
:func:`find_row_hardness` gives them back for any rows taken from it.
"""

import weakref
from collections.abc import Mapping

import numpy as np
import torch
from torch.utils.data import Dataset

_ATTRS_KEY = "sklearn_dlc.hardness"


class _Scores:
    """Hardness array stored in ``DataFrame.attrs`` (compared by identity)."""

    __slots__ = ("values",)

    def __init__(self, values):
        self.values = values

    def __eq__(self, other):
        return self is other

    __hash__ = object.__hash__


class _ScoredArray(np.ndarray):
    def __array_finalize__(self, obj):
        # Slices and ufunc results are new data: they must not inherit scores
        # that describe other rows.
        self.hardness = None

    def __reduce__(self):
        reconstruct, args, state = super().__reduce__()
        return reconstruct, args, (state, self.hardness)

    def __setstate__(self, state):
        array_state, self.hardness = state
        super().__setstate__(array_state)


class _ScoredTensor(torch.Tensor):
    pass


class _ScoredDict(dict):
    """A plain-dict view of any mapping (e.g. ``BatchEncoding``); keeps the original."""

    def __init__(self, original):
        super().__init__(original)
        self.original = original


class _ScoredList(list):
    """A list of samples (e.g. raw texts); keeps the original."""

    def __init__(self, original):
        super().__init__(original)
        self.original = original


class _ScoredDataset(Dataset):
    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        return self.dataset[index]


def attach_hardness(X, hardness):
    """Return ``X`` (same content, no copy of the data) carrying ``hardness``."""
    hardness = np.asarray(hardness)
    if hasattr(X, "iloc") and hasattr(X, "attrs"):
        marked = X.copy(deep=False)
        marked.attrs = {**X.attrs, _ATTRS_KEY: _Scores(hardness)}
        return marked
    if isinstance(X, torch.Tensor):
        marked = X.as_subclass(_ScoredTensor)
    elif isinstance(X, Mapping):
        marked = _ScoredDict(X)
    elif isinstance(X, list):
        marked = _ScoredList(X)
    elif isinstance(X, Dataset):
        marked = _ScoredDataset(X)
    else:
        marked = np.asarray(X).view(_ScoredArray)
        if marked.ndim == 2 and marked.dtype.kind in "biuf" and marked.shape[1]:
            _register_rows(marked, hardness)
    marked.hardness = hardness
    return marked


class _RowScores:
    """Scores of the rows of one marked array, found by row content."""

    def __init__(self, marked, hardness):
        self.rows = weakref.ref(marked)
        self.dtype, self.n_features = marked.dtype, marked.shape[1]
        self.hardness = hardness
        self.table = None  # built on the first look-up only

    def lookup(self, X):
        if X.dtype != self.dtype or X.shape[1] != self.n_features:
            return None
        rows = self.rows()
        if rows is None:
            return None
        if self.table is None:
            table = {}
            for key, score in zip(_row_keys(rows), self.hardness.tolist()):
                # Equal rows with different scores (e.g. other labels) have
                # no single score: NaN marks them.
                if table.setdefault(key, score) != score:
                    table[key] = float("nan")
            self.table = table
        scores = [self.table.get(key) for key in _row_keys(X)]
        if any(score is None for score in scores):
            return None
        return np.asarray(scores, dtype=np.float64)


def _row_keys(X):
    X = np.ascontiguousarray(X)
    return [row.tobytes() for row in X]


_ROW_SCORES = []


def _register_rows(marked, hardness):
    entry = _RowScores(marked, hardness)
    _ROW_SCORES.append(entry)
    weakref.finalize(marked, _ROW_SCORES.remove, entry)


def find_row_hardness(X):
    """Scores of the rows of ``X`` by row content, or None.

    The rows must all come from one 2-D array that a scorer step marked and
    that is still in use; this is how the scores reach a sampler inside an
    ensemble that re-indexes the rows (``BalancedBaggingClassifier``).

    Raises
    ------
    ValueError
        If some rows of ``X`` occur several times in the scored data with
        different scores.
    """
    if not isinstance(X, np.ndarray) or X.ndim != 2:
        return None
    for entry in reversed(_ROW_SCORES):
        scores = entry.lookup(X)
        if scores is None:
            continue
        if np.isnan(scores).any():
            raise ValueError(
                "The rows of X were scored by the preceding step, but "
                f"{int(np.isnan(scores).sum())} of them occur several times "
                "there with different scores (equal features, other labels), "
                "so their scores cannot be told apart after the rows were "
                "re-indexed. Pass hardness= explicitly or set the scorer "
                "parameter of the sampler."
            )
        return scores
    return None


def split_hardness(X):
    """Return ``(X_plain, hardness)``; ``hardness`` is None if ``X`` is unmarked."""
    if hasattr(X, "iloc") and hasattr(X, "attrs"):
        scores = X.attrs.get(_ATTRS_KEY)
        if scores is None:
            return X, None
        plain = X.copy(deep=False)
        plain.attrs = {k: v for k, v in X.attrs.items() if k != _ATTRS_KEY}
        return plain, scores.values
    hardness = getattr(X, "hardness", None)
    if isinstance(X, _ScoredArray):
        return X.view(np.ndarray), hardness
    if isinstance(X, _ScoredTensor):
        return X.as_subclass(torch.Tensor), hardness
    if isinstance(X, (_ScoredDict, _ScoredList)):
        return X.original, hardness
    if isinstance(X, _ScoredDataset):
        return X.dataset, hardness
    return X, None
