"""The DLC scoring engine: masked forward passes over the data (torch only).

Nothing in this module knows about scikit-learn. :func:`run_pass` is the one
pass primitive ("these subnets over this range of data: per-sample losses,
plus the dense class sums"); the mean of fixed ``n_subnets``, the
coarse-to-fine path and sharded scoring are drivers on top of it. Masks come
from :mod:`._masks`, losses from :mod:`._losses`, and everything that depends
on the model family from :mod:`._adapter`.
"""

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from ._losses import class_sums

_PENDING_ELEMENTS = 1 << 22


@contextlib.contextmanager
def eval_mode(module):
    """Put every submodule in eval mode; restore each one's own mode after."""
    flags = [m.training for m in module.modules()]
    module.eval()
    try:
        yield module
    finally:
        for m, flag in zip(module.modules(), flags):
            m.training = flag


def float_dtype(module):
    """dtype of the module's first floating-point parameter (inputs follow it)."""
    return next((p.dtype for p in module.parameters() if p.is_floating_point()), None)


def forward_batches(adapter, batches, *, amp_dtype=None, check_batch=None):
    """Yield ``(start, stop, output)`` of one pass, outputs read by ``adapter``.

    The first batch's failure is reported with what went in
    (:meth:`ModelAdapter.checked_call`); later ones pass through unchanged.
    """
    device = next(adapter.module.parameters()).device
    autocast = (
        torch.autocast(device.type, dtype=amp_dtype)
        if amp_dtype is not None
        else contextlib.nullcontext()
    )
    first = True
    for start, stop, xb in batches():
        if check_batch is not None:
            check_batch(xb)
        with autocast:
            raw = adapter.checked_call(xb) if first else adapter.call(xb)
        output = adapter.read(raw, xb)
        if first:
            adapter.output_width = output[0].numel() if len(output) else None
            first = False
        yield start, stop, output


@dataclass
class PassResult:
    """What one :func:`run_pass` returns.

    Attributes
    ----------
    losses : torch.Tensor of shape (n_samples, n_subnets_run) or None
        Per-sample scores (float64, CPU), one column per subnet run, in the
        order given; None with ``sums_only``.
    sums, counts : torch.Tensor or None
        Per-class sums (float64) and counts of the dense features; only when
        the prototype head had no prototypes yet.
    """

    losses: torch.Tensor | None
    sums: torch.Tensor | None = None
    counts: torch.Tensor | None = None


def run_pass(
    adapter,
    masks,
    subnets,
    batches,
    n_samples,
    y,
    loss_fn,
    *,
    sums_only=False,
    amp_dtype=None,
    check_batch=None,
    progress=None,
):
    """Per-sample scores of ``subnets`` over the data of ``batches``.

    Parameters
    ----------
    adapter : ModelAdapter
        The network (on its compute device, in eval mode) with its head
        resolved.
    masks : NestedMasks
    subnets : sequence of int
        Subnets to run, in this order (any order; 0 is the dense model).
    batches : callable
        ``batches()`` yields ``(start, stop, x_batch)`` over the range of data,
        in order, ``start`` counted from the range's first sample.
    n_samples : int
        Number of samples in the range.
    y : torch.Tensor or None
        Targets of the range, on the compute device.
    loss_fn : PrototypeLoss, LogitLoss or CallableLoss
        A prototype loss without prototypes needs the dense model: subnet 0
        must then come first. Its dense pass returns the class sums and sets
        the prototypes from them (this range's data alone).
    sums_only : bool
        Stop after the dense pass and return only the class sums (phase 1 of
        sharded scoring).
    amp_dtype : torch.dtype, optional
        Run forward passes under autocast to this dtype.
    check_batch : callable, optional
        Called on every batch of the first subnet (e.g. a finiteness check).
    progress : callable, optional
        Wraps the iterable of subnets (e.g. ``tqdm``).

    Returns
    -------
    PassResult
    """
    subnets = list(subnets)
    needs_dense = loss_fn.needs_features and loss_fn.prototypes is None
    if needs_dense and (not subnets or subnets[0] != 0):
        raise ValueError("The prototype head needs the dense subnet 0 first.")
    device = next(adapter.module.parameters()).device
    acc_dtype = torch.float32 if device.type == "mps" else torch.float64
    losses = None
    if not sums_only:
        losses = torch.empty(n_samples, len(subnets), dtype=acc_dtype, device=device)
    result = PassResult(losses)

    def flush(j, start, pending):
        rows = torch.cat(pending) if len(pending) > 1 else pending[0]
        stop = start + len(rows)
        losses[start:stop, j] = loss_fn.scores(rows, y[start:stop]).to(acc_dtype)

    order = enumerate(subnets)
    if progress is not None:
        order = progress(order, total=len(subnets))
    with masks.applied(), adapter.features_tapped(), torch.no_grad():
        for j, k in order:
            masks.prune_to(k)
            dense = j == 0 and needs_dense
            # Small per-sample losses are computed for many batches at once:
            # per-batch loss kernels would cost as much as the forward pass
            # of a small network on a GPU.
            pending, pending_start, pending_size = [], 0, 0
            for start, stop, output in forward_batches(
                adapter,
                batches,
                amp_dtype=amp_dtype,
                check_batch=check_batch if j == 0 else None,
            ):
                features = None
                if loss_fn.needs_features:
                    features = adapter.features(output, stop - start)
                kept = loss_fn.keep(output, features)
                if kept is None:
                    yb = y[start:stop] if y is not None else None
                    losses[start:stop, j] = loss_fn.scores(output, yb).to(acc_dtype)
                    continue
                if not pending:
                    pending_start = start
                pending.append(kept)
                pending_size += kept.numel()
                if not dense and pending_size >= _PENDING_ELEMENTS:
                    flush(j, pending_start, pending)
                    pending, pending_size = [], 0
            if dense:
                features = torch.cat(pending)
                result.sums, result.counts = class_sums(features, y, loss_fn.n_classes)
                if sums_only:
                    return result
                loss_fn.set_prototypes(result.sums, result.counts)
                rows = max(1, _PENDING_ELEMENTS // max(features.shape[1], 1))
                for start in range(0, n_samples, rows):
                    flush(j, start, [features[start : start + rows]])
                del features
            elif pending:
                flush(j, pending_start, pending)
    result.losses = losses.cpu().double()
    return result


def mean_over_subnets(losses):
    """The DLC score: the mean per-sample loss over the subnets, as numpy."""
    return losses.mean(1).numpy()


def iterate_tensors(X, batch_size, device):
    """Batches of in-memory data by slicing (much cheaper than a DataLoader).

    ``X`` is a tensor or a dict of tensors on any device (other dict values
    go to every batch as they are); each batch is moved to ``device``.
    """
    if isinstance(X, dict):
        n = len(next(v for v in X.values() if isinstance(v, torch.Tensor)))
    else:
        n = len(X)

    def batches():
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            if isinstance(X, dict):
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


def to_device(x, device):
    """Move a tensor, array or (nested) dict/list of them to ``device``."""
    if isinstance(x, Mapping):
        return {k: to_device(v, device) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(to_device(v, device) for v in x)
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    return x.to(device, non_blocking=True) if isinstance(x, torch.Tensor) else x


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


def fits_on_device(n_bytes, device, fraction=0.25):
    """Whether ``n_bytes`` fit comfortably in the free memory of ``device``."""
    if device.type != "cuda":
        return True
    free, _ = torch.cuda.mem_get_info(device)
    return n_bytes <= fraction * free
