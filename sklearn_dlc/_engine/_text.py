"""Text batches of the DLC engine (torch only).

Two things make scoring text cheaper without changing a score:

- raw strings are tokenized batch by batch by the user's tokenizer, so each
  batch is padded only to its own longest text;
- tokenized samples are grouped by length (longest first) and the trailing
  columns that are padding in every row of a batch are cut off.

(prompt, response) pairs are tokenized batch by batch too, and their token
labels, the response scored and the rest ``-100``, are built with each batch
(:class:`BatchLabels`).

Grouping permutes the samples: :class:`~._data.Batches` gives the data and
the targets to :func:`~._pass.run_pass` in grouped order
(:meth:`TextBatches.targets`), and the per-sample losses go back to the
original order (:meth:`TextBatches.restore`) before ``run_pass`` returns.
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


_NO_LIMIT = 1_000_000


def is_pairs(X):
    """Whether tokenizer input ``X`` holds (prompt, response) pairs: 2-D."""
    return getattr(X, "ndim", 1) == 2


def pad_token_id(tokenizer):
    """The id that pads pairs: the tokenizer's pad, else end-of-text, else 0."""
    for name in ("pad_token_id", "eos_token_id"):
        value = getattr(tokenizer, name, None)
        if isinstance(value, int):
            return value
    return 0


def _token_ids(tokenizer, texts, add_special_tokens):
    encoded = tokenizer(list(texts), add_special_tokens=add_special_tokens)
    ids = encoded["input_ids"] if isinstance(encoded, Mapping) else None
    if not isinstance(ids, (list, tuple)) or len(ids) != len(texts):
        raise TypeError(
            "With (prompt, response) pairs, tokenizer(list_of_texts, "
            "add_special_tokens=...) must return a mapping whose 'input_ids' "
            "is a list of token-id lists, one per text (as a transformers "
            f"tokenizer does); got {type(encoded).__name__}."
        )
    return [list(i) for i in ids]


def tokenize_pairs(tokenizer, prompts, responses):
    """Right-padded tensors and token labels of (prompt, response) pairs.

    The prompt is tokenized as the tokenizer does by default (its special
    tokens, such as a beginning-of-text token, added), the response without
    special tokens, and the two are concatenated. Labels are the response's
    token ids, ``-100`` over the prompt and the padding. A pair longer than
    the tokenizer's ``model_max_length`` loses the end of its response.

    Returns
    -------
    inputs : dict
        ``input_ids`` and ``attention_mask``, as wide as the longest pair.
    labels : torch.Tensor
        Same shape as ``input_ids``.
    """
    prompt_ids = _token_ids(tokenizer, prompts, True)
    response_ids = _token_ids(tokenizer, responses, False)
    limit = getattr(tokenizer, "model_max_length", None)
    limit = limit if isinstance(limit, int) and 0 < limit < _NO_LIMIT else None
    rows = [(p + r)[:limit] for p, r in zip(prompt_ids, response_ids)]
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_token_id(tokenizer), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
    for i, (row, n_prompt) in enumerate(zip(rows, map(len, prompt_ids))):
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[i, : len(row)] = 1
        labels[i, n_prompt : len(row)] = ids[i, n_prompt : len(row)]
    return {"input_ids": ids, "attention_mask": mask}, labels


class BatchLabels:
    """The token labels of (prompt, response) pairs, built batch by batch.

    ``run_pass`` reads the targets of rows ``start:stop`` right after the
    forward pass of that batch; the batch left its labels here.
    """

    def __init__(self, n_samples, device):
        self.n_samples, self.device = n_samples, device
        self._pending = {}

    def __len__(self):
        return self.n_samples

    def put(self, start, stop, labels):
        self._pending[start, stop] = labels

    def __getitem__(self, rows):
        labels = self._pending.pop((rows.start, rows.stop), None)
        if labels is None:
            raise RuntimeError(
                f"Labels of rows {rows.start}:{rows.stop} were read before "
                "their batch was tokenized."
            )
        return labels.to(self.device, non_blocking=True)


class TextBatches:
    """``batches()`` for :func:`run_pass` over tokenized dicts or raw strings.

    Parameters
    ----------
    X : dict of tensors, sequence of str, or array of shape (n_samples, 2)
        Tokenized inputs (``n_samples`` rows each; other values, such as
        sentence-transformers' ``modality`` string, go to every batch as they
        are), or raw texts with ``tokenizer``, or (prompt, response) text
        pairs with ``tokenizer`` (see :func:`tokenize_pairs`; the batches'
        token labels are then in :attr:`labels`).
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
    labels : BatchLabels or None
        For (prompt, response) pairs: the targets of the batches.
    """

    def __init__(self, X, batch_size, device, *, tokenizer=None, group=True, y=None):
        self.X, self.batch_size, self.device = X, batch_size, device
        self.tokenizer = tokenizer
        self.order = self._lengths = None
        self._token_targets = False
        self.labels = None
        if tokenizer is not None:
            self.n_samples = len(X)
            if is_pairs(X):
                self.labels = BatchLabels(self.n_samples, device)
            if group:
                lengths = torch.tensor(
                    [len(t) if isinstance(t, str) else sum(map(len, t)) for t in X],
                    dtype=torch.long,
                )
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
                if self.labels is not None:
                    prompts, responses = zip(*texts)
                    xb, labels = tokenize_pairs(self.tokenizer, prompts, responses)
                    self.labels.put(start, stop, labels)
                    yield start, stop, {k: v.to(self.device) for k, v in xb.items()}
                    continue
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
