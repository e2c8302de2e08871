"""Nested weight masks and sparsity schedules of the DLC engine (torch only).

The user's parameter tensors are never written to: masked weights live in
working copies that are swapped into the parameters for the duration of
:meth:`NestedMasks.applied` and swapped back in its ``finally`` clause, so an
exception or a KeyboardInterrupt leaves the model exactly as it was.
"""

import contextlib
import copy

import numpy as np
import torch


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
        originals = self._originals = [p.data for p in self.params]
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
            self._work = self._originals = None

    def prune_to(self, subnet):
        """Mask the weights of ``subnet``; subnets may come in any order.

        Going sparser zeroes only the newly masked slice of each tensor;
        going denser copies the slice back from the user's weights.
        """
        target = self._counts[subnet]
        for i, (work, local) in enumerate(zip(self._work, self._local)):
            lo, hi = self._done[i], target[i]
            if hi > lo:
                work.view(-1)[local[lo:hi]] = 0
            elif hi < lo:
                idx = local[hi:lo]
                work.view(-1)[idx] = self._originals[i].contiguous().view(-1)[idx]
        self._done = target.copy()

    def detached(self):
        """A copy holding the orderings but no parameters, cheap to pickle.

        Sharded scoring computes the masks once on the driver and ships this
        copy to the workers, which :meth:`bind` it to their own copy of the
        weights. Orderings travel on the CPU, as int32 where they fit (half
        the bytes of int64).
        """
        new = copy.copy(self)
        new.params = []
        new._local = [
            local.cpu().int() if local.numel() < 2**31 else local.cpu()
            for local in self._local
        ]
        return new

    def bind(self, params):
        """A copy of these masks acting on ``params`` instead.

        ``params`` are the same weights as the ones the orderings were computed
        on, in the same order (e.g. a worker's copy of the network).
        """
        params = list(params)
        sizes = [local.numel() for local in self._local]
        if [p.numel() for p in params] != sizes:
            raise ValueError(
                "bind() needs weights of the sizes the masks were made for: "
                f"{sizes}; got {[p.numel() for p in params]}."
            )
        new = copy.copy(self)
        new.params = params
        new._local = [
            local.to(p.device, torch.int64) for local, p in zip(self._local, params)
        ]
        new._done = np.zeros(len(params), dtype=np.int64)
        return new
