"""Nested weight masks and sparsity schedules of the DLC engine (torch only).

The user's parameter tensors are never written to. Masked weights are
computed from them into separate tensors, either

- ``"persistent"``: one working copy per masked tensor, swapped into the
  parameters for the duration of :meth:`NestedMasks.applied` and swapped
  back in its ``finally`` clause (fastest; memory: one copy of the masked
  weights), or
- ``"per_access"``: a layer's masked weight is computed each time the layer
  reads it, and freed once the layer is done with it (memory: one layer's
  weight at a time; costs a pass over each weight per batch). The layer's
  class is swapped, for the duration of ``applied``, for a subclass whose
  weight attribute is a property computing the masked tensor; the
  parameters themselves stay registered and untouched. Reads that bypass
  the layer's own ``forward`` (``nn.MultiheadAttention`` reading
  ``out_proj.weight``, the fast path of ``nn.TransformerEncoderLayer``) see
  the masked weight too.

Either way an exception or a KeyboardInterrupt leaves the model exactly as it
was. Magnitude masks are stored as one cut per tensor and subnet (a value and
a number of ties), not as an ordering of the weights, so no mask costs memory
in proportion to the model; random masks keep their random ordering.
"""

import contextlib
import copy

import numpy as np
import torch

# Masked weights above this size are computed per access ("auto" mode).
PER_ACCESS_BYTES = 1 << 28


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


def _magnitude_bits(t):
    """``|t|`` in float32, flat in logical order, as int32 bit patterns.

    The bit patterns of non-negative floats sort like the floats, which lets
    :func:`_magnitude_cuts` find order statistics by counting.
    """
    return t.detach().abs().float().reshape(-1).contiguous().view(torch.int32)


def _magnitude_cuts(tensors, counts):
    """Cuts of the masks that zero the ``counts`` smallest ``|w|`` of ``tensors``.

    The order is that of a stable sort of all ``|w|`` (float32) together,
    tensor after tensor: ties go by position. For each count ``c``, returns
    the bit pattern ``v`` of the ``c``-th smallest value and, per tensor, the
    number of its entries below ``v`` and of its entries equal to ``v`` that
    are masked. Only per-tensor temporaries are allocated (a radix select
    over the 32-bit patterns, 16 bits at a time).
    """
    targets = [int(c) for c in counts if c > 0]
    n = len(tensors)
    empty = (None, np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64))
    if not targets:
        return [empty for _ in counts]
    device = tensors[0].device
    hist = torch.zeros(1 << 16, dtype=torch.int64, device=device)
    for t in tensors:
        hist += torch.bincount(_magnitude_bits(t).to(device) >> 16, minlength=1 << 16)
    cum = hist.cumsum(0).cpu().numpy()
    his = [int(np.searchsorted(cum, c, side="left")) for c in targets]
    below = [int(cum[h - 1]) if h else 0 for h in his]
    uniq = torch.tensor(sorted(set(his)), dtype=torch.int32, device=device)
    low = torch.zeros(len(uniq) << 16, dtype=torch.int64, device=device)
    for t in tensors:
        bits = _magnitude_bits(t).to(device)
        pos = torch.searchsorted(uniq, bits >> 16).clamp_max(len(uniq) - 1)
        hit = uniq[pos] == bits >> 16
        low += torch.bincount(
            (pos[hit].long() << 16) + (bits[hit] & 0xFFFF), minlength=len(low)
        )
    low = low.view(len(uniq), 1 << 16).cumsum(1).cpu().numpy()
    row = {int(h): i for i, h in enumerate(uniq.tolist())}
    values, ties = [], []
    for c, h, b in zip(targets, his, below):
        cum_low = low[row[h]]
        lo = int(np.searchsorted(cum_low, c - b, side="left"))
        values.append((h << 16) | lo)
        ties.append(c - b - (int(cum_low[lo - 1]) if lo else 0))
    vs = torch.tensor(sorted(set(values)), dtype=torch.int32, device=device)
    less = np.zeros((len(vs), n), dtype=np.int64)
    equal = np.zeros((len(vs), n), dtype=np.int64)
    for i, t in enumerate(tensors):
        bits = _magnitude_bits(t).to(device)
        pos = torch.searchsorted(vs, bits)  # number of cut values below
        eq = vs[pos.clamp_max(len(vs) - 1)] == bits
        upto = torch.bincount(pos, minlength=len(vs) + 1).cumsum(0)[: len(vs)]
        n_eq = torch.bincount(pos[eq], minlength=len(vs))
        less[:, i] = (upto - n_eq).cpu().numpy()
        equal[:, i] = n_eq.cpu().numpy()
    index = {v: j for j, v in enumerate(vs.tolist())}
    by_target = {}
    for c, v, tie in zip(targets, values, ties):
        j = index[v]
        masked_ties = np.zeros(n, dtype=np.int64)
        for i in range(n):
            masked_ties[i] = min(equal[j, i], tie)
            tie -= masked_ties[i]
        by_target[c] = (v, less[j].copy(), masked_ties)
    return [by_target[int(c)] if c > 0 else empty for c in counts]


def _random_orders(tensors, scope, rng):
    """Per tensor: local flat indices in masking order, and their global ranks."""
    if scope == "layer":
        return [
            (torch.from_numpy(rng.permutation(t.numel())).to(t.device), None)
            for t in tensors
        ]
    device = tensors[0].device
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


_MASKED_CLASSES = {}


def _masked_class(cls, names):
    """A subclass of ``cls`` whose ``names`` attributes are masked on read."""
    key = (cls, names)
    if key not in _MASKED_CLASSES:

        def getter(name):
            def get(self):
                masks, i = self.__dict__["_dlc_masked"][name]
                return masks._masked(i, self._parameters[name])

            return property(get)

        _MASKED_CLASSES[key] = type(
            cls.__name__,
            (cls,),
            {"__module__": cls.__module__, **{n: getter(n) for n in names}},
        )
    return _MASKED_CLASSES[key]


class NestedMasks:
    """Masked weights along a nested ordering, one subnet at a time.

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
    module : torch.nn.Module, optional
        The network that owns ``params``; needed for ``"per_access"``.
    working_copies : {"auto", "persistent", "per_access"}, default="auto"
        How masked weights are materialized (see the module docstring).
        ``"auto"``: per access when ``module`` is given and the masked
        weights take more than :data:`PER_ACCESS_BYTES`, else persistent.
    """

    def __init__(
        self,
        params,
        *,
        masking,
        scope,
        n_subnets,
        step,
        schedule,
        rng,
        module=None,
        working_copies="auto",
    ):
        self.params = list(params)
        self.module = module
        sizes = self._sizes = [p.numel() for p in self.params]
        self.n_weights = int(sum(sizes))
        self.masking = masking
        if masking == "magnitude":
            if scope == "layer":
                per_tensor = [
                    _magnitude_cuts([p], pruned_counts(n, n_subnets, step, schedule))
                    for p, n in zip(self.params, sizes)
                ]
                self._cuts = [
                    [(cuts[k][0], int(cuts[k][2][0])) for cuts in per_tensor]
                    for k in range(n_subnets)
                ]
                counts = [
                    [int(cuts[k][1][0] + cuts[k][2][0]) for cuts in per_tensor]
                    for k in range(n_subnets)
                ]
            else:
                cuts = _magnitude_cuts(
                    self.params,
                    pruned_counts(self.n_weights, n_subnets, step, schedule),
                )
                self._cuts = [[(v, int(m)) for m in ties] for v, _, ties in cuts]
                counts = [less + ties for _, less, ties in cuts]
            self._counts = np.asarray(counts, dtype=np.int64).reshape(
                n_subnets, len(self.params)
            )
        else:
            orders = _random_orders(self.params, scope, rng)
            self._local = [local for local, _ in orders]
            if scope == "layer":
                per_tensor = [
                    pruned_counts(n, n_subnets, step, schedule) for n in sizes
                ]
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
        n_bytes = sum(p.numel() * p.element_size() for p in self.params)
        if working_copies == "auto":
            big = module is not None and n_bytes > PER_ACCESS_BYTES
            working_copies = "per_access" if big else "persistent"
        if working_copies == "per_access" and module is None:
            raise ValueError("working_copies='per_access' needs the module.")
        self.working_copies = working_copies
        self._subnet = 0
        self._work = None

    def _zero_mask(self, i, original, subnet):
        """Boolean mask (flat, logical order) of the entries ``subnet`` zeroes."""
        count = int(self._counts[subnet, i])
        if count == 0:
            return None
        if self.masking == "random":
            mask = torch.zeros(
                original.numel(), dtype=torch.bool, device=original.device
            )
            mask[self._local[i][:count].to(original.device)] = True
            return mask
        bits, m = self._cuts[subnet][i]
        x = _magnitude_bits(original)
        mask = x < bits
        if m:
            eq = x == bits
            mask |= eq & (eq.cumsum(0, dtype=torch.int32) <= m)
        return mask

    def _masked(self, i, original, out=None):
        """``original`` with the current subnet's entries of tensor ``i`` zeroed."""
        if out is None:
            out = original.detach().clone(memory_format=torch.contiguous_format)
        else:
            out.copy_(original.detach())
        mask = self._zero_mask(i, original, self._subnet)
        if mask is not None:
            out.view(-1).masked_fill_(mask, 0)
        return out

    @contextlib.contextmanager
    def applied(self):
        """Make the parameters read as masked; always restore them."""
        self._subnet = 0
        if self.working_copies == "per_access":
            with self._per_access():
                yield self
            return
        originals = self._originals = [p.data for p in self.params]
        # Contiguous copies: masks index the flattened (logical) order, which
        # a channels-last weight does not store contiguously.
        self._work = [
            p.detach().clone(memory_format=torch.contiguous_format) for p in self.params
        ]
        try:
            for p, w in zip(self.params, self._work):
                p.data = w
            yield self
        finally:
            for p, original in zip(self.params, originals):
                p.data = original
            self._work = self._originals = None

    @contextlib.contextmanager
    def _per_access(self):
        index = {id(p): i for i, p in enumerate(self.params)}
        swapped = []
        try:
            for sub in self.module.modules():
                names = {
                    name: (self, index[id(p)])
                    for name, p in sub._parameters.items()
                    if p is not None and id(p) in index
                }
                if not names:
                    continue
                cls = type(sub)
                masked_cls = _masked_class(cls, tuple(sorted(names)))
                sub.__dict__["_dlc_masked"] = names
                swapped.append((sub, cls))
                sub.__class__ = masked_cls
            yield self
        finally:
            for sub, cls in swapped:
                sub.__class__ = cls
                sub.__dict__.pop("_dlc_masked", None)

    def prune_to(self, subnet):
        """Mask the weights of ``subnet``; subnets may come in any order."""
        self._subnet = subnet
        if self._work is not None:
            for i, (work, original) in enumerate(zip(self._work, self._originals)):
                self._masked(i, original, out=work)

    def detached(self):
        """A copy holding the masks but no parameters, cheap to pickle.

        Sharded scoring computes the masks once on the driver and ships this
        copy to the workers, which :meth:`bind` it to their own copy of the
        weights. Magnitude masks are a few numbers per tensor and subnet;
        random orderings travel on the CPU, as int32 where they fit (half
        the bytes of int64).
        """
        new = copy.copy(self)
        new.params, new.module, new._work = [], None, None
        if self.masking == "random":
            new._local = [
                local.cpu().int() if local.numel() < 2**31 else local.cpu()
                for local in self._local
            ]
        return new

    def bind(self, params, module=None):
        """A copy of these masks acting on ``params`` instead.

        ``params`` are the same weights as the ones the masks were computed
        on, in the same order (e.g. a worker's copy of the network), and
        ``module`` the network that owns them (needed for per-access masked
        weights; without it the copy uses persistent working copies).
        """
        params = list(params)
        if [p.numel() for p in params] != self._sizes:
            raise ValueError(
                "bind() needs weights of the sizes the masks were made for: "
                f"{self._sizes}; got {[p.numel() for p in params]}."
            )
        new = copy.copy(self)
        new.params, new.module, new._work = params, module, None
        if self.masking == "random":
            new._local = [
                local.to(p.device, torch.int64) for local, p in zip(self._local, params)
            ]
        if module is None:
            new.working_copies = "persistent"
        return new
