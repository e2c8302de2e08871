"""Text batches of the DLC engine (torch only).

Two things make scoring text cheaper without changing a score:

- raw strings are tokenized batch by batch by the user's tokenizer, so each
  batch is padded only to its own longest text;
- tokenized samples are grouped by length (longest first) and the trailing
  columns that are padding in every row of a batch are cut off.

Grouping permutes the samples. :func:`run_pass` knows nothing of it: the
data and the targets are given to it in grouped order (:meth:`TextBatches.targets`)
and the per-sample losses it returns are put back in the original order
(:meth:`TextBatches.restore`).
"""

from collections.abc import Mapping

import torch

from ._losses import IGNORE_INDEX


def last_real_column(attention_mask, labels=None):
    """Per row: 1 + index of its last column that is not padding (0 if none).

    A column is not padding where the attention mask is non-zero or, with 2-D
    token ``labels``, where the label is not ``-100``.
    """
    real = attention_mask != 0
    if labels is not None:
        real = real | (labels != IGNORE_INDEX)
    cols = torch.arange(1, real.shape[1] + 1, device=real.device)
    return (real * cols).amax(1)


def is_left_padded(attention_mask):
    """Whether some row starts with padding (``attention_mask[:, 0] == 0``)."""
    return bool((attention_mask[:, 0] == 0).any())


def trimmable(X):
    """The attention mask of a dict of tokenized inputs that can be trimmed.

    None when ``X`` has no 2-D ``attention_mask``, or is left-padded (its
    padding is not at the end, so no trailing column can go).
    """
    if not isinstance(X, Mapping):
        return None
    mask = X.get("attention_mask")
    if not isinstance(mask, torch.Tensor) or mask.ndim != 2 or not len(mask):
        return None
    return None if is_left_padded(mask) else mask


class _RowTrimmed:
    """Token targets whose row slices are trimmed like the batches' inputs.

    ``run_pass`` only slices its targets by row ranges; each slice comes back
    with the width of the batch of the same rows.
    """

    def __init__(self, y, widths):
        self.y, self.widths = y, widths

    def __len__(self):
        return len(self.y)

    def __getitem__(self, rows):
        return self.y[rows][:, : self.widths(rows.start, rows.stop)]


class TextBatches:
    """``batches()`` for :func:`run_pass` over tokenized dicts or raw strings.

    Parameters
    ----------
    X : dict of tensors, or sequence of str
        Tokenized inputs (``n_samples`` rows each; other values, such as
        sentence-transformers' ``modality`` string, go to every batch as they
        are), or raw texts with ``tokenizer``.
    batch_size : int
    device : torch.device
    tokenizer : callable, optional
        Called once per batch as ``tokenizer(list_of_str, padding=True,
        truncation=True, return_tensors="pt")``; returns a mapping of tensors
        (a transformers ``BatchEncoding``).
    group : bool
        Group samples by length, longest first, and trim trailing padding
        columns per batch. Tokenized inputs are grouped by their
        ``attention_mask`` (left-padded inputs are left as they are), raw
        texts by their number of characters.
    y : torch.Tensor, optional
        Targets; 2-D token labels as wide as the inputs keep every column
        whose label is not ``-100``, and are trimmed along with the inputs.

    Attributes
    ----------
    order : torch.Tensor or None
        The permutation: batch row ``i`` is sample ``order[i]``. None when
        the samples keep their order.
    """

    def __init__(self, X, batch_size, device, *, tokenizer=None, group=True, y=None):
        self.X, self.batch_size, self.device = X, batch_size, device
        self.tokenizer = tokenizer
        self.order = self._lengths = None
        self._token_targets = False
        if tokenizer is not None:
            self.n_samples = len(X)
            if group:
                lengths = torch.tensor([len(t) for t in X], dtype=torch.long)
                self.order = torch.argsort(lengths, descending=True, stable=True)
            return
        self.n_samples = len(next(v for v in X.values() if not isinstance(v, str)))
        mask = trimmable(X) if group else None
        if mask is None:
            return
        width = mask.shape[1]
        labels = None
        if isinstance(y, torch.Tensor) and y.ndim == 2 and y.shape[1] == width:
            labels, self._token_targets = y.to(mask.device), True
        lengths = last_real_column(mask, labels).cpu()
        self.order = torch.argsort(lengths, descending=True, stable=True)
        self._lengths = lengths[self.order].clamp_min(1)
        self._width = width

    def width(self, start, stop):
        """Number of columns kept for grouped rows ``start:stop``."""
        return int(self._lengths[start:stop].max())

    def targets(self, y):
        """``y`` in the order of the batches (trimmed along for token labels)."""
        if y is None or self.order is None:
            return y
        y = y[self.order.to(y.device)]
        return _RowTrimmed(y, self.width) if self._token_targets else y

    def restore(self, losses):
        """Rows of per-sample ``losses`` (in batch order) in the original order."""
        if self.order is None:
            return losses
        restored = torch.empty_like(losses)
        restored[self.order.to(losses.device)] = losses
        return restored

    def _rows(self, value, idx, width):
        if not isinstance(value, torch.Tensor):
            return value
        rows = value[idx.to(value.device)] if idx is not None else value
        if width is not None and rows.ndim >= 2 and rows.shape[1] == self._width:
            rows = rows[:, :width]
        return rows.to(self.device, non_blocking=True)

    def __call__(self):
        for start in range(0, self.n_samples, self.batch_size):
            stop = min(start + self.batch_size, self.n_samples)
            idx = self.order[start:stop] if self.order is not None else None
            if self.tokenizer is not None:
                texts = [self.X[int(i)] for i in idx] if idx is not None else None
                if texts is None:
                    texts = list(self.X[start:stop])
                encoded = self.tokenizer(
                    texts, padding=True, truncation=True, return_tensors="pt"
                )
                if not isinstance(encoded, Mapping):
                    raise TypeError(
                        "tokenizer must return a mapping of tensors (such as a "
                        "transformers BatchEncoding) when called as tokenizer("
                        "texts, padding=True, truncation=True, "
                        f"return_tensors='pt'); got {type(encoded).__name__}."
                    )
                xb = {
                    k: v.to(self.device, non_blocking=True)
                    if isinstance(v, torch.Tensor)
                    else v
                    for k, v in encoded.items()
                }
            else:
                if idx is None:
                    idx = torch.arange(start, stop)
                width = self.width(start, stop) if self._lengths is not None else None
                xb = {k: self._rows(v, idx, width) for k, v in self.X.items()}
            yield start, stop, xb
