"""The pass primitive of the DLC engine (torch only).

:func:`run_pass` is the one pass ("these subnets over this data: per-sample
scores, plus the dense class sums"); the mean of fixed ``n_subnets``, the
coarse-to-fine path, sharded scoring and the dense-only scorers are drivers
on top of it. Data comes from :mod:`._data`, masks from :mod:`._masks`,
losses from :mod:`._losses`, and everything that depends on the model family
from :mod:`._adapter`.
"""

import contextlib
from dataclasses import dataclass

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


class NoMasks:
    """Stands for :class:`~._masks.NestedMasks` when only the dense model runs."""

    n_weights = 0

    @contextlib.contextmanager
    def applied(self):
        yield self

    def prune_to(self, subnet):
        if subnet != 0:
            raise ValueError("Without masks, only the dense subnet 0 exists.")


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
        first = False
        yield start, stop, adapter.read(raw, xb)


@dataclass
class PassResult:
    """What one :func:`run_pass` returns.

    Attributes
    ----------
    losses : torch.Tensor of shape (n_samples, n_subnets_run, ...) or None
        Per-sample scores (float64, CPU), one column per subnet run, in the
        order given, the samples in their original order; None with
        ``sums_only``. A loss whose ``scores`` return several values per
        sample (its ``shape``) adds their dimensions.
    sums, counts : torch.Tensor or None
        Per-class sums (float64) and counts of the dense features; only when
        the prototype head had no prototypes yet.
    output_width : int or None
        Elements per sample of the network's read output (None if no batch
        had a sample).
    """

    losses: torch.Tensor | None
    sums: torch.Tensor | None = None
    counts: torch.Tensor | None = None
    output_width: int | None = None


def run_pass(
    adapter,
    masks,
    subnets,
    data,
    loss_fn,
    *,
    sums_only=False,
    amp_dtype=None,
    progress=None,
):
    """Per-sample scores of ``subnets`` over ``data``.

    Parameters
    ----------
    adapter : ModelAdapter
        The network (on its compute device, in eval mode) with its head
        resolved.
    masks : NestedMasks or None
        None runs the dense model alone (``subnets`` must then be ``[0]``).
    subnets : sequence of int
        Subnets to run, in this order (any order; 0 is the dense model).
    data : Batches
        The samples (:class:`~._data.Batches`): its batches, targets,
        the check of the first pass's batches and the order to restore.
    loss_fn : PrototypeLoss, LogitLoss or CallableLoss
        A prototype loss without prototypes needs the dense model: subnet 0
        must then come first. Its dense pass returns the class sums and sets
        the prototypes from them (this data alone).
    sums_only : bool
        Stop after the dense pass and return only the class sums (phase 1 of
        sharded scoring).
    amp_dtype : torch.dtype, optional
        Run forward passes under autocast to this dtype.
    progress : tqdm-like class, optional
        Wraps the iterable of subnets
        (``progress(iterable, total=, desc=, unit=)``).

    Returns
    -------
    PassResult
    """
    subnets = list(subnets)
    needs_dense = loss_fn.needs_features and loss_fn.prototypes is None
    if needs_dense and (not subnets or subnets[0] != 0):
        raise ValueError("The prototype head needs the dense subnet 0 first.")
    masks = NoMasks() if masks is None else masks
    y, n_samples = data.y, data.n_samples
    device = next(adapter.module.parameters()).device
    acc_dtype = torch.float32 if device.type == "mps" else torch.float64
    losses = None
    if not sums_only:
        shape = (n_samples, len(subnets), *getattr(loss_fn, "shape", ()))
        losses = torch.empty(shape, dtype=acc_dtype, device=device)
    result = PassResult(losses)

    def flush(j, start, pending):
        rows = torch.cat(pending) if len(pending) > 1 else pending[0]
        stop = start + len(rows)
        losses[start:stop, j] = loss_fn.scores(rows, y[start:stop]).to(acc_dtype)

    order = enumerate(subnets)
    if progress is not None:
        order = progress(order, total=len(subnets), desc="DLC subnets", unit="subnet")
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
                data,
                amp_dtype=amp_dtype,
                check_batch=data.check_batch if j == 0 else None,
            ):
                if result.output_width is None and stop > start:
                    result.output_width = output[0].numel()
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
    result.losses = data.restore(losses).cpu().double()
    return result


def mean_over_subnets(losses):
    """The DLC score: the mean per-sample loss over the subnets, as numpy."""
    return losses.mean(1).numpy()


class LocalScorer:
    """:func:`run_pass` in this process, with :class:`ShardedScorer`'s interface.

    Parameters
    ----------
    adapter : ModelAdapter
    masks : NestedMasks or None
    data : Batches
    loss_fn : PrototypeLoss, LogitLoss or CallableLoss
    amp_dtype, progress :
        As in :func:`run_pass`.

    Attributes
    ----------
    output_width : int or None
        That of the last pass's :class:`PassResult`.
    """

    def __init__(self, adapter, masks, data, loss_fn, *, amp_dtype=None, progress=None):
        self.adapter, self.masks, self.data, self.loss_fn = (
            adapter,
            masks,
            data,
            loss_fn,
        )
        self.amp_dtype, self.progress = amp_dtype, progress
        self.output_width = None

    def evaluate(self, subnets):
        """Per-sample losses of ``subnets``, shape (n_samples, len(subnets))."""
        result = run_pass(
            self.adapter,
            self.masks,
            subnets,
            self.data,
            self.loss_fn,
            amp_dtype=self.amp_dtype,
            progress=self.progress,
        )
        self.output_width = result.output_width
        return result.losses
