"""The DLC scoring engine: nested masks and masked forward passes (torch only).

Nothing in this module knows about scikit-learn. The user's parameter tensors
are never written to: masked weights live in working copies that are swapped
into the parameters for the duration of :func:`masked_weights` and swapped
back in its ``finally`` clause, so an exception or a KeyboardInterrupt leaves
the model exactly as it was.
"""

import contextlib

import numpy as np
import torch
from torch import nn

MASKED_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
_PENDING_ELEMENTS = 1 << 22


def find_head(module, head_layer=None):
    """Return ``(name, submodule)`` of the classification head.

    ``head_layer=None`` picks the last ``nn.Linear`` in registration order.
    """
    named = dict(module.named_modules())
    if head_layer is not None:
        if head_layer not in named:
            raise ValueError(
                f"head_layer={head_layer!r} is not a submodule of the network; "
                f"expected one of {sorted(n for n in named if n)}."
            )
        return head_layer, named[head_layer]
    linears = [(n, m) for n, m in named.items() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError(
            "The network has no nn.Linear layer to use as the head; pass "
            "head_layer='<name of the submodule whose input is the feature vector>'."
        )
    return linears[-1]


def maskable_parameters(module, head):
    """Weights of every Conv1d/2d/3d and Linear except those of ``head``."""
    head_params = {id(p) for p in head.parameters()}
    seen, params = set(), []
    for name, sub in module.named_modules():
        if isinstance(sub, MASKED_TYPES) and sub.weight is not None:
            p = sub.weight
            if id(p) in head_params or id(p) in seen:
                continue
            seen.add(id(p))
            params.append((f"{name}.weight" if name else "weight", p))
    return params


def pruned_counts(n_weights, n_subnets, step, schedule):
    """Number of weights masked in each subnet (subnet 0 is the dense model).

    ``"geometric"`` removes ``step`` of the *remaining* weights at every step,
    rounded the way ``torch.nn.utils.prune`` rounds an iterative float amount
    (Python's round-half-even of ``step * remaining``); ``"linear"`` masks
    ``round(k * step * n_weights)`` weights in subnet ``k``.
    """
    counts = np.zeros(n_subnets, dtype=np.int64)
    remaining = n_weights
    for k in range(1, n_subnets):
        if schedule == "geometric":
            remaining -= round(step * remaining)
            counts[k] = n_weights - remaining
        else:
            counts[k] = min(n_weights, round(k * step * n_weights))
    return counts


def _ranked_orders(tensors, masking, scope, rng):
    """Per tensor: local flat indices in masking order, and their global ranks.

    Masks are nested, so one ordering serves every subnet: subnet ``k`` masks
    the first ``count`` entries of the ordering.
    """
    if scope == "layer":
        orders = []
        for t in tensors:
            if masking == "magnitude":
                local = torch.argsort(t.detach().abs().flatten().float(), stable=True)
            else:
                perm = rng.permutation(t.numel())
                local = torch.from_numpy(perm).to(t.device)
            orders.append((local, None))
        return orders
    device = tensors[0].device
    if masking == "magnitude":
        flat = torch.cat(
            [t.detach().abs().flatten().float().to(device) for t in tensors]
        )
        order = torch.argsort(flat, stable=True)
        del flat
    else:
        order = torch.from_numpy(rng.permutation(sum(t.numel() for t in tensors)))
        order = order.to(device)
    rank = torch.empty_like(order)
    rank[order] = torch.arange(order.numel(), device=device)
    del order
    orders, offset = [], 0
    for t in tensors:
        r = rank[offset : offset + t.numel()]
        offset += t.numel()
        local = torch.argsort(r)
        orders.append((local.to(t.device), r[local].cpu()))
    return orders


class NestedMasks:
    """Working copies of the masked weights, pruned along a nested ordering.

    Parameters
    ----------
    params : list of torch.nn.Parameter
        The weights to mask.
    masking : {"magnitude", "random"}
    scope : {"global", "layer"}
        Rank all weights together, or each tensor on its own.
    n_subnets, step, schedule :
        See :func:`pruned_counts`.
    rng : numpy.random.RandomState
        Source of the random ordering.
    """

    def __init__(self, params, *, masking, scope, n_subnets, step, schedule, rng):
        self.params = list(params)
        sizes = [p.numel() for p in self.params]
        self.n_weights = int(sum(sizes))
        orders = _ranked_orders(self.params, masking, scope, rng)
        self._local = [local for local, _ in orders]
        if scope == "layer":
            per_tensor = [pruned_counts(n, n_subnets, step, schedule) for n in sizes]
            self._counts = np.stack(per_tensor, axis=1)
        else:
            global_counts = pruned_counts(self.n_weights, n_subnets, step, schedule)
            self._counts = np.stack(
                [
                    np.searchsorted(ranks.numpy(), global_counts, side="left")
                    for _, ranks in orders
                ],
                axis=1,
            )
        self.sparsities = self._counts.sum(axis=1) / max(self.n_weights, 1)
        self._done = np.zeros(len(self.params), dtype=np.int64)
        self._work = None

    @contextlib.contextmanager
    def applied(self):
        """Swap working copies into the parameters; always swap back."""
        originals = [p.data for p in self.params]
        # Contiguous copies: masks index the flattened (logical) order, which
        # a channels-last weight does not store contiguously.
        self._work = [
            p.detach().clone(memory_format=torch.contiguous_format) for p in self.params
        ]
        self._done[:] = 0
        try:
            for p, w in zip(self.params, self._work):
                p.data = w
            yield self
        finally:
            for p, original in zip(self.params, originals):
                p.data = original
            self._work = None

    def prune_to(self, subnet):
        """Mask the weights of ``subnet`` (subnets must come in increasing order)."""
        target = self._counts[subnet]
        for i, (work, local) in enumerate(zip(self._work, self._local)):
            lo, hi = self._done[i], target[i]
            if hi > lo:
                work.view(-1)[local[lo:hi]] = 0
        self._done = np.maximum(self._done, target)


class _FeatureTap:
    """Records the input of the head module at every forward pass."""

    def __init__(self, head):
        self.value = None
        self._handle = head.register_forward_pre_hook(self._hook)

    def _hook(self, module, args):
        self.value = args[0]

    def remove(self):
        self._handle.remove()


def log_probabilities(output, probabilities=False):
    """Log-probabilities of network outputs, in float32 or better.

    ``probabilities=True``: the outputs are probabilities already (skorch's
    ``NLLLoss`` convention), not logits.
    """
    output = output if output.dtype == torch.float64 else output.float()
    if probabilities:
        return torch.log(output + torch.finfo(torch.float32).eps)
    return torch.log_softmax(output, dim=1)


def _true_class_scores(logp, y, measure):
    logp_true = logp.gather(1, y.view(-1, 1)).squeeze(1)
    return -logp_true if measure == "loss" else 1.0 - logp_true.exp()


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


def prototype_logits(features, prototypes):
    """Logits ``1 / ||z - mu_c||_2`` of the prototype head, in float64.

    1/d logits saturate the softmax, so small losses need the precision; in
    float64 the matrix-product form of the squared distance keeps plenty of
    digits even for a sample lying close to its prototype.
    """
    z = features.double()
    mu = prototypes.double()
    sq = z.square().sum(1, keepdim=True) + mu.square().sum(1) - 2.0 * (z @ mu.T)
    # A class with one sample has its own feature vector as prototype; the
    # clamp keeps its logit finite so the loss is ~0 instead of NaN.
    return 1.0 / sq.clamp_min(0).sqrt().clamp_min(1e-12)


class PrototypeLoss:
    """Loss against class prototypes made from the dense model's features."""

    needs_dense_pass = True

    def __init__(self, n_classes, measure):
        self.n_classes, self.measure = n_classes, measure
        self.prototypes = None

    def keep(self, output, features):
        return features

    def finish_dense(self, features, y):
        sums = torch.zeros(
            self.n_classes, features.shape[1], dtype=torch.float64, device=y.device
        )
        sums.index_add_(0, y, features.double())
        counts = torch.bincount(y, minlength=self.n_classes).clamp_min(1)
        self.prototypes = sums / counts[:, None]

    def scores(self, features, y):
        logits = prototype_logits(features, self.prototypes)
        return _true_class_scores(log_probabilities(logits), y, self.measure)


class LogitLoss:
    """Cross-entropy (or 1 - probability) of the network's own outputs."""

    needs_dense_pass = False

    def __init__(self, measure, outputs_are_probabilities=False, validate=None):
        self.measure = measure
        self.probabilities = outputs_are_probabilities
        self.validate = validate

    def keep(self, output, features):
        if self.validate is not None:
            self.validate(output)
            self.validate = None
        return output.float()

    def scores(self, output, y):
        logp = log_probabilities(output, self.probabilities)
        return _true_class_scores(logp, y, self.measure)


class CallableLoss:
    """A user's per-sample loss ``criterion(output, y) -> (batch,)``.

    Outputs can be large (token logits), so scores are computed per batch.
    """

    needs_dense_pass = False

    def __init__(self, criterion):
        self.criterion = criterion

    def keep(self, output, features):
        return None

    def scores(self, output, y):
        loss = self.criterion(output, y)
        if not isinstance(loss, torch.Tensor) or loss.ndim != 1:
            got = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss)
            raise TypeError(
                "criterion must return a 1-D tensor of per-sample losses "
                f"(shape (batch_size,)), got {got}."
            )
        return loss


def _call_module(module, xb):
    if isinstance(xb, dict):
        return module(**xb)
    return module(xb)


def score_subnets(
    module,
    masks,
    batches,
    y,
    n_samples,
    loss_fn,
    *,
    head=None,
    keep_matrix=False,
    amp_dtype=None,
    check_batch=None,
    progress=None,
):
    """Mean per-sample score over the subnets of ``masks``.

    Parameters
    ----------
    module : torch.nn.Module
        The network, already on its compute device and in eval mode.
    masks : NestedMasks
    batches : callable
        ``batches()`` yields ``(start, stop, x_batch)`` over the data in order,
        with ``x_batch`` on the compute device.
    y : torch.Tensor or None
        Targets of all samples, on the compute device.
    loss_fn : PrototypeLoss, LogitLoss or CallableLoss
    head : torch.nn.Module, optional
        Module whose input is recorded as the feature vector.
    keep_matrix : bool
        Also return the ``(n_samples, n_subnets)`` per-subnet scores.
    amp_dtype : torch.dtype, optional
        Run forward passes under autocast to this dtype.
    check_batch : callable, optional
        Called on every batch of the first pass (e.g. a finiteness check).
    progress : callable, optional
        Wraps the iterable of subnets (e.g. ``tqdm``).

    Returns
    -------
    mean : numpy.ndarray of shape (n_samples,)
    matrix : numpy.ndarray of shape (n_samples, n_subnets) or None
    """
    n_subnets = len(masks.sparsities)
    device = y.device if y is not None else next(module.parameters()).device
    acc_dtype = torch.float32 if device.type == "mps" else torch.float64
    total = torch.zeros(n_samples, dtype=acc_dtype, device=device)
    matrix = (
        torch.empty(n_samples, n_subnets, dtype=torch.float32, device=device)
        if keep_matrix
        else None
    )
    tap = _FeatureTap(head) if head is not None else None
    autocast = (
        torch.autocast(device.type, dtype=amp_dtype)
        if amp_dtype is not None
        else contextlib.nullcontext()
    )

    def record(k, start, stop, values):
        total[start:stop] += values.to(acc_dtype)
        if matrix is not None:
            matrix[start:stop, k] = values.float()

    def flush(k, start, pending):
        rows = torch.cat(pending) if len(pending) > 1 else pending[0]
        stop = start + len(rows)
        record(k, start, stop, loss_fn.scores(rows, y[start:stop]))

    subnets = range(n_subnets)
    if progress is not None:
        subnets = progress(subnets)
    try:
        with masks.applied(), torch.no_grad():
            for k in subnets:
                masks.prune_to(k)
                dense = k == 0 and loss_fn.needs_dense_pass
                # Small per-sample losses are computed for many batches at
                # once: per-batch loss kernels would cost as much as the
                # forward pass of a small network on a GPU.
                pending, pending_start, pending_size = [], 0, 0
                for start, stop, xb in batches():
                    if k == 0 and check_batch is not None:
                        check_batch(xb)
                    with autocast:
                        output = _call_module(module, xb)
                    features = None
                    if tap is not None:
                        features = tap.value.reshape(stop - start, -1).float()
                    kept = loss_fn.keep(output, features)
                    if kept is None:
                        yb = y[start:stop] if y is not None else None
                        record(k, start, stop, loss_fn.scores(output, yb))
                        continue
                    if not pending:
                        pending_start = start
                    pending.append(kept)
                    pending_size += kept.numel()
                    if not dense and pending_size >= _PENDING_ELEMENTS:
                        flush(k, pending_start, pending)
                        pending, pending_size = [], 0
                if dense:
                    features = torch.cat(pending)
                    loss_fn.finish_dense(features, y)
                    rows = max(1, _PENDING_ELEMENTS // max(features.shape[1], 1))
                    for start in range(0, n_samples, rows):
                        flush(k, start, [features[start : start + rows]])
                elif pending:
                    flush(k, pending_start, pending)
    finally:
        if tap is not None:
            tap.remove()
    mean = (total / n_subnets).cpu().double().numpy()
    if matrix is not None:
        matrix = matrix.cpu().numpy()
    return mean, matrix


def iterate_tensors(X, batch_size, device):
    """Batches of in-memory data by slicing (much cheaper than a DataLoader).

    ``X`` is a tensor or a dict of tensors on any device; each batch is moved
    to ``device``.
    """
    n = len(next(iter(X.values()))) if isinstance(X, dict) else len(X)

    def batches():
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            if isinstance(X, dict):
                xb = {
                    k: v[start:stop].to(device, non_blocking=True) for k, v in X.items()
                }
            else:
                xb = X[start:stop].to(device, non_blocking=True)
            yield start, stop, xb

    return batches


def to_device(x, device):
    """Move a tensor, array or (nested) dict/list of them to ``device``."""
    if isinstance(x, dict):
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
            first = next(iter(xb.values())) if isinstance(xb, dict) else xb
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
