"""Hand hardness scores from a scorer step to the next sampler step.

An imbalanced-learn Pipeline passes only ``X`` and ``y`` between steps, so a
scorer's ``fit_transform`` returns ``X`` unchanged in content but *marked*
with its scores; the sampler that follows reads and strips the mark. The mark
rides on a zero-copy view of the user's data (never on the user's object), so
``transform`` and everything downstream see the plain data.
"""

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
    marked.hardness = hardness
    return marked


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
