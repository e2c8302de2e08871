"""The one data path of the engine: X into batches (torch and numpy only).

In-process scoring and every range of sharded scoring turn their data into
batches through :class:`Batches` alike: arrays, tensors, dicts of them
(transformers' ``BatchEncoding`` included), Datasets through a loader, and
raw texts through a tokenizer; text grouped by length and trimmed of
padding; the targets moved and put in the batches' order; and the
per-sample results put back in the original order.
"""

import warnings
from collections.abc import Mapping

import numpy as np
import torch

from ._text import TextBatches


def is_constant(value):
    """A str entry of a dict input (sentence-transformers' ``modality``) is
    passed to every batch as it is, not split into rows."""
    return isinstance(value, str)


def as_tensors(X, float_dtype=None):
    """Arrays, tensors or a dict of them as tensors, floats in ``float_dtype``.

    numpy arrays are shared, not copied, when C-contiguous.
    """
    if isinstance(X, Mapping):
        return {k: as_tensors(v, float_dtype) for k, v in X.items()}
    if is_constant(X):
        return X
    if isinstance(X, torch.Tensor):
        t = X
    else:
        with warnings.catch_warnings():
            # Read-only arrays (memmaps) are fine: nothing writes to X.
            warnings.filterwarnings("ignore", "The given NumPy array")
            t = torch.from_numpy(np.ascontiguousarray(X))
    if t.is_floating_point() and float_dtype is not None:
        t = t.to(float_dtype)
    return t


def check_finite_batch(xb):
    """Raise ValueError if a floating-point tensor of a batch holds NaN or inf."""
    for t in xb.values() if isinstance(xb, Mapping) else [xb]:
        if (
            isinstance(t, torch.Tensor)
            and t.is_floating_point()
            and not torch.isfinite(t).all()
        ):
            raise ValueError("Input X contains NaN or infinity.")


def to_device(x, device):
    """Move a tensor, array or (nested) dict/list of them to ``device``."""
    if isinstance(x, Mapping):
        return {k: to_device(v, device) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(to_device(v, device) for v in x)
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    return x.to(device, non_blocking=True) if isinstance(x, torch.Tensor) else x


def fits_on_device(n_bytes, device, fraction=0.25):
    """Whether ``n_bytes`` fit comfortably in the free memory of ``device``."""
    if device.type != "cuda":
        return True
    free, _ = torch.cuda.mem_get_info(device)
    return n_bytes <= fraction * free


def iterate_tensors(X, batch_size, device):
    """Batches of in-memory data by slicing (much cheaper than a DataLoader).

    ``X`` is a tensor or a dict of tensors on any device (other dict values
    go to every batch as they are); each batch is moved to ``device``.
    """
    if isinstance(X, Mapping):
        n = len(next(v for v in X.values() if isinstance(v, torch.Tensor)))
    else:
        n = len(X)

    def batches():
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            if isinstance(X, Mapping):
                xb = {
                    k: v[start:stop].to(device, non_blocking=True)
                    if isinstance(v, torch.Tensor)
                    else v
                    for k, v in X.items()
                }
            else:
                xb = X[start:stop].to(device, non_blocking=True)
            yield start, stop, xb

    return batches


def iterate_loader(make_loader, device):
    """Batches of a DataLoader over a Dataset, in order."""

    def batches():
        start = 0
        for item in make_loader():
            xb = item[0] if isinstance(item, (tuple, list)) else item
            xb = to_device(xb, device)
            first = next(iter(xb.values())) if isinstance(xb, Mapping) else xb
            stop = start + len(first)
            yield start, stop, xb
            start = stop

    return batches


def n_rows(X):
    """Number of samples of in-memory data (a dict's constants aside)."""
    if isinstance(X, Mapping):
        return len(next(v for v in X.values() if not is_constant(v)))
    return len(X)


class Batches:
    """Data as :func:`~._pass.run_pass` reads it.

    Parameters
    ----------
    X : ndarray, torch.Tensor, dict of them, torch Dataset, sequence of str, \
            or array of (prompt, response) str pairs
        The samples (all of them, or one range of sharded scoring).
    y : ndarray, torch.Tensor or None
        Targets of the samples, in their order. None for (prompt, response)
        pairs: their token labels are built with each batch.
    batch_size : int
    device : torch.device
    float_dtype : torch.dtype, optional
        Floating-point inputs and targets are cast to it.
    loader : (callable, dict), optional
        For a Dataset ``X``: ``loader[0](X, **loader[1], batch_size=...,
        shuffle=False)`` makes the DataLoader; its batches are checked for
        NaN.
    tokenizer : callable, optional
        For raw texts or (prompt, response) pairs ``X``: tokenizes every
        batch (see :class:`~._text.TextBatches`).
    trim_padding : bool
        Group text by length and cut padding columns (raw texts, or a dict
        with an ``attention_mask``); other data ignores it.

    Attributes
    ----------
    n_samples : int
    y : torch.Tensor or None
        The targets on ``device``, in the order of the batches.
    check_batch : callable or None
        To be called on the batches of the first pass.
    order : torch.Tensor or None
        Batch row ``i`` is sample ``order[i]``; None in the original order.
    """

    def __init__(
        self,
        X,
        y,
        batch_size,
        device,
        *,
        float_dtype=None,
        loader=None,
        tokenizer=None,
        trim_padding=False,
    ):
        self.check_batch = None
        text = None
        if tokenizer is not None:
            text = TextBatches(
                X, batch_size, device, tokenizer=tokenizer, group=trim_padding
            )
            self._batches = text
        elif loader is not None:
            make, kwargs = loader
            kwargs = dict(kwargs, batch_size=batch_size, shuffle=False)
            self._batches = iterate_loader(lambda: make(X, **kwargs), device)
            self.check_batch = check_finite_batch
        else:
            X = as_tensors(X, float_dtype)
            tensors = X.values() if isinstance(X, Mapping) else [X]
            n_bytes = sum(
                t.element_size() * t.numel()
                for t in tensors
                if isinstance(t, torch.Tensor)
            )
            if device.type == "cuda" and fits_on_device(n_bytes, device):
                X = to_device(X, device)
            if trim_padding and isinstance(X, Mapping):
                text = TextBatches(X, batch_size, device, y=as_tensors(y))
                if text.order is None:
                    text = None
            self._batches = text or iterate_tensors(X, batch_size, device)
        self.n_samples = n_rows(X)
        self.order = text.order if text is not None else None
        self._text = text
        if y is not None:
            y = as_tensors(y, float_dtype).to(device)
            if text is not None:
                y = text.targets(y)
        elif text is not None and text.labels is not None:
            y = text.labels
        self.y = y

    def __call__(self):
        """Yield ``(start, stop, x_batch)``, in batch order."""
        return self._batches()

    def restore(self, rows):
        """Per-sample ``rows`` (in batch order) in the original order."""
        return self._text.restore(rows) if self._text is not None else rows
