"""Sharded scoring: :func:`._pass.run_pass` over contiguous ranges of the data,
run through joblib (torch and joblib only; nothing here knows scikit-learn).

joblib's active backend decides where the ranges run: loky's local processes
by default, a Dask cluster under ``joblib.parallel_config(backend="dask")``
with a ``dask.distributed.Client`` in scope, Ray under Ray's joblib backend.

A prototype loss without prototypes takes two phases: (1) per range, the
dense pass returns per-class sums and counts of the features, which the
driver adds up into the prototypes; (2) per range, the requested subnets
against those prototypes. The dense model thus runs twice (K + 1 passes over
the data instead of K). ``head="model"`` and a criterion need phase 2 only.

The masks and the head are computed once, on the driver; the workers get
copies of the weights, the mask orderings and the head's name, and rebind
the orderings to their copy (:meth:`NestedMasks.bind`). The user's weights
never leave the driver except as copies.
"""

import contextlib
import copy
import os
import socket
import threading
from collections.abc import Mapping

import joblib
import numpy as np
import torch
from joblib import Parallel, delayed
from torch.utils.data import Subset

from ._adapter import ModelAdapter
from ._data import Batches
from ._pass import eval_mode, float_dtype, run_pass

try:  # joblib >= 1.5 depends on cloudpickle; older versions vendor it
    import cloudpickle
except ImportError:  # pragma: no cover
    from joblib.externals import cloudpickle

# Exceptions by which joblib's backends report a worker that died: loky,
# concurrent.futures, Dask, Ray (matched by name: none of them is imported).
_DEAD_WORKER = {
    "TerminatedWorkerError",
    "BrokenProcessPool",
    "KilledWorker",
    "WorkerCrashedError",
}


def split_ranges(n_samples, n_ranges):
    """``n_ranges`` contiguous ``(start, stop)`` ranges covering ``n_samples``.

    Sizes differ by at most one; never more ranges than samples.
    """
    n_ranges = max(1, min(int(n_ranges), n_samples))
    sizes = np.full(n_ranges, n_samples // n_ranges)
    sizes[: n_samples % n_ranges] += 1
    stops = np.cumsum(sizes)
    return [(int(b - s), int(b)) for b, s in zip(stops, sizes)]


def _portable(x, start, stop):
    """Rows ``start:stop`` of ``x`` that pickle alone.

    A pickled torch view carries its whole storage, so tensors become numpy
    views (their pickle holds the rows only, and loky memory-maps big ones)
    or, for dtypes numpy lacks, copies.
    """
    if isinstance(x, Mapping):
        return {k: _portable(v, start, stop) for k, v in x.items()}
    if isinstance(x, np.ndarray):
        return x[start:stop]
    if isinstance(x, torch.Tensor):
        rows = x.detach()[start:stop]
        if rows.device.type == "cpu" and rows.dtype != torch.bfloat16:
            with contextlib.suppress(TypeError, RuntimeError):
                return rows.numpy()
        return rows.to("cpu", copy=True)
    return x


def _digest(x):
    """Content hash of a range's data, stable across copies (unlike tensors')."""
    if isinstance(x, Mapping):
        return joblib.hash({k: _digest(v) for k, v in x.items()})
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        x = x.view(torch.int16) if x.dtype == torch.bfloat16 else x
        x = x.numpy()
    return joblib.hash(x)


def _sharing_copy(module):
    """A copy of ``module`` with new Parameter objects on the same storage.

    Masks set ``.data`` of the copy's parameters (or swap its layers'
    classes), which leaves ``module`` untouched; no weight is copied.
    """
    memo = {}
    for p in module.parameters():
        memo[id(p)] = torch.nn.Parameter(p.data, requires_grad=p.requires_grad)
    for b in module.buffers():
        memo[id(b)] = b
    return copy.deepcopy(module, memo)


def _fingerprint(module, names):
    """Per masked weight: its number of nonzeros and the float64 sum of ``|w|``."""
    named = dict(module.named_parameters())
    out = []
    for name in names:
        w = named[name].detach()
        out.append((int(torch.count_nonzero(w)), float(w.double().abs().sum())))
    return out


def _check_fingerprint(module, names, expected):
    got = _fingerprint(module, names)
    for name, (nnz, total), (nnz0, total0) in zip(names, got, expected):
        if nnz != nnz0 or abs(total - total0) > 1e-6 * abs(total0):
            raise RuntimeError(
                f"The worker's copy of the network is not the driver's: weight "
                f"{name!r} has {nnz} nonzeros and sum |w| {total:.9g} instead "
                f"of {nnz0} and {total0:.9g} (the copy was altered, e.g. "
                "masked, before it reached this worker)."
            )


class _Network:
    """The network as every range needs it: weights, mask orderings, head."""

    def __init__(self, module, masks, masked_names, head, adapter_kwargs):
        if next(module.parameters()).device.type != "cpu":
            module = copy.deepcopy(module).cpu()
        self.module = module
        self.masks = masks.detached() if masks is not None else None
        self.masked_names = masked_names
        self.head_name, self.unused = head
        self.adapter_kwargs = adapter_kwargs
        self.fingerprint = _fingerprint(module, masked_names)
        # Not unpickled: this is the driver's (maybe the user's) module, as
        # under joblib's threading backend.
        self._private = False
        self._lock = threading.Lock()

    def __getstate__(self):
        state = self.__dict__.copy()
        del state["_lock"]
        state["_private"] = True
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def checkout(self, device):
        """``(adapter, masks)`` on ``device``, in eval mode, for one range.

        The range gets its own module whose parameters share the weights of
        ``self.module`` and are masked in its place: this object stays dense
        while ranges run. A Dask worker keeps one unpickled copy for all its
        ranges and may send it to another worker mid-pass (when the scheduler
        has dropped that worker's replica); a copy masked in place would give
        the other worker masked weights as the dense ones. Ranges that share
        a copy (threads of one worker) take turns, to hold one set of masked
        working copies at a time.
        """
        with self._lock:
            if self._private:
                # Once per worker and device; moving keeps the values.
                self.module = self.module.to(device)
                module = _sharing_copy(self.module)
            else:
                module = _sharing_copy(self.module).to(device)
            adapter = ModelAdapter(
                module, head_layer=self.head_name, **self.adapter_kwargs
            )
            # What the driver's resolve_head found, without its probe pass.
            named_modules = dict(module.named_modules())
            adapter.head_name = self.head_name
            adapter.head = named_modules.get(self.head_name)
            adapter.unused = set(self.unused)
            masks = None
            if self.masks is not None:
                named = adapter.masked_parameters()
                if [name for name, _ in named] != self.masked_names:
                    raise RuntimeError(
                        "The worker's copy of the network masks other weights "
                        f"than the driver's: {[n for n, _ in named]} instead of "
                        f"{self.masked_names}."
                    )
                _check_fingerprint(module, self.masked_names, self.fingerprint)
                masks = self.masks.bind([p for _, p in named], module=module)
            with eval_mode(module):
                yield adapter, masks


class _Source:
    """A torch Dataset and how to load it; each range reads its own indices."""

    def __init__(self, dataset, loader):
        self.dataset = dataset
        self.loader = loader

    def rows(self, start, stop):
        return Subset(self.dataset, range(start, stop))


class _Range:
    """One contiguous range of samples, with its in-memory data and targets."""

    def __init__(self, index, n_ranges, start, stop, X, y):
        self.index, self.n_ranges = index, n_ranges
        self.start, self.stop = start, stop
        self.X, self.y = X, y

    def describe(self):
        return (
            f"samples {self.start} to {self.stop - 1} "
            f"(range {self.index + 1} of {self.n_ranges})"
        )


def _worker_name():
    return f"{socket.gethostname()} pid {os.getpid()}"


def _range_error(exc, part, owner):
    """``exc`` with the range and the worker in its message, same type if possible."""
    message = (
        f"{owner}: scoring {part.describe()} failed on worker {_worker_name()}: "
        f"{type(exc).__name__}: {exc}"
    )
    try:
        error = type(exc)(message)
    except Exception:
        error = RuntimeError(message)
    return error


def _score_range(network, source, part, subnets, sums_only, loss_fn, settings):
    """Run on a worker: :func:`._pass.run_pass` over one range."""
    try:
        device = torch.device(settings["device"])
        with network.checkout(device) as (adapter, masks):
            data = Batches(
                part.X if source is None else source.rows(part.start, part.stop),
                part.y,
                settings["batch_size"],
                device,
                float_dtype=float_dtype(adapter.module),
                loader=None if source is None else source.loader,
                tokenizer=settings["tokenizer"],
                trim_padding=settings["trim_padding"],
            )
            result = run_pass(
                adapter,
                masks,
                subnets,
                data,
                copy.copy(loss_fn),
                sums_only=sums_only,
                amp_dtype=settings["amp_dtype"],
            )
    except Exception as exc:
        raise _range_error(exc, part, settings["owner"]) from exc
    return part.index, {
        "losses": result.losses,
        "sums": None if result.sums is None else result.sums.cpu(),
        "counts": None if result.counts is None else result.counts.cpu(),
        "output_width": result.output_width,
    }


def _cached_range(key, *, compute=None):
    # joblib.Memory keys on ``key`` alone: digests of the weights, the
    # parameters, the range's data and what is asked of it.
    return compute()


def _not_cached():
    raise RuntimeError("A range result expected in the cache is missing.")


class _NullWriter:
    def write(self, data):
        return len(data)


class ShardedScorer:
    """:func:`_pass.run_pass` over contiguous ranges of the data, via joblib.

    Parameters
    ----------
    adapter : ModelAdapter
        The driver's adapter, head resolved (its weights stay on the driver;
        the workers get copies).
    masks : NestedMasks or None
        Masks computed on the driver; None runs the dense model only.
    masked_names : list of str
        Names of the masked weights, checked on every worker.
    X : ndarray, torch.Tensor, dict of them, torch Dataset, or texts
        The data; a Dataset is read through ``loader`` by index ranges
        (``torch.utils.data.Subset``) on the workers and must pickle; raw
        texts (a 1-D object array of str) need ``tokenizer``.
    y : torch.Tensor or None
        Targets of all samples.
    loss_fn : PrototypeLoss, LogitLoss or CallableLoss
        A prototype loss without prototypes gets them from phase 1.
    n_samples : int
    n_jobs : int or None
        joblib's ``n_jobs``.
    n_ranges : int, optional
        Number of ranges; None makes one per worker
        (``joblib.effective_n_jobs(n_jobs)``).
    batch_size : int
    device : torch.device or str
        Device on every worker; ``"cuda"`` is each worker's current CUDA
        device (one GPU per worker with dask-cuda).
    loader, tokenizer, trim_padding :
        How each range's data becomes batches, as in
        :class:`~._data.Batches` (on every worker alike).
    amp_dtype :
        As in :func:`~._pass.run_pass`.
    memory : joblib.Memory, optional
        Cache of range results; with ``cache_key`` (a digest of the weights
        and the parameters), finished ranges are not recomputed by a later
        call, e.g. after an interrupted fit. In-memory data only.
    owner : str
        Name of the estimator, for messages.
    progress : tqdm-like class, optional
        Shows the ranges done (``progress(total=, desc=, unit=)``, then
        ``update()`` and ``close()``).
    """

    def __init__(
        self,
        adapter,
        masks,
        masked_names,
        X,
        y,
        loss_fn,
        *,
        n_samples,
        n_jobs,
        n_ranges=None,
        batch_size,
        device,
        loader=None,
        tokenizer=None,
        trim_padding=False,
        amp_dtype=None,
        memory=None,
        cache_key=None,
        owner="DLCHardness",
        progress=None,
    ):
        self.loss_fn = loss_fn
        self.n_samples = n_samples
        self.n_jobs = n_jobs
        self.owner = owner
        self.progress = progress
        if n_ranges is None:
            n_ranges = joblib.effective_n_jobs(n_jobs)
        self.ranges = split_ranges(n_samples, n_ranges)
        n = len(self.ranges)
        is_dataset = loader is not None
        self._network = _Network(
            adapter.module,
            masks,
            list(masked_names),
            (adapter.head_name, sorted(adapter.unused)),
            {
                "owner": owner,
                "output_key": adapter.output_key,
                "masked_layers": adapter.masked_layers,
            },
        )
        self._source = None
        if is_dataset:
            self._source = _Source(X, loader)
            self._check_picklable(self._source)
        self._parts = [
            _Range(
                i,
                n,
                start,
                stop,
                None if is_dataset else _portable(X, start, stop),
                None if y is None else _portable(y, start, stop),
            )
            for i, (start, stop) in enumerate(self.ranges)
        ]
        self._settings = {
            "device": str(device),
            "batch_size": batch_size,
            "amp_dtype": amp_dtype,
            "tokenizer": tokenizer,
            "trim_padding": trim_padding,
            "owner": owner,
        }
        self._cache = None
        if memory is not None and cache_key is not None and not is_dataset:
            self._cache = memory.cache(_cached_range, ignore=["compute"])
            self._cache_key = cache_key
            self._digests = [(_digest(p.X), _digest(p.y)) for p in self._parts]
        self.output_width = None
        self._shared = None

    def _check_picklable(self, source):
        try:
            cloudpickle.CloudPickler(_NullWriter()).dump(source)
        except Exception as exc:
            raise TypeError(
                f"{self.owner}: with n_jobs, each worker receives the Dataset "
                "and reads its own range of it, so the Dataset (and the net's "
                "iterator_valid arguments, e.g. collate_fn) must pickle; "
                f"{type(source.dataset).__name__} does not: "
                f"{type(exc).__name__}: {exc}. Keep open files, locks or "
                "database connections out of its attributes (open them "
                "lazily in __getitem__), or use n_jobs=None."
            ) from exc

    def _shared_args(self):
        """The network and the Dataset, as the tasks' arguments.

        Under Dask's joblib backend they are broadcast once to every worker
        and the tasks refer to them, for all phases and calls: joblib's own
        scattering sends a large argument to one worker, whereupon the
        scheduler runs every range there, next to the weights.
        """
        if self._shared is None:
            backend = joblib.parallel.get_active_backend()[0]
            client = getattr(backend, "client", None)
            if type(backend).__name__ == "DaskDistributedBackend" and client:
                self._shared = tuple(
                    None
                    if obj is None
                    else client.scatter(obj, broadcast=True, hash=False)
                    for obj in (self._network, self._source)
                )
            else:
                self._shared = (self._network, self._source)
        return self._shared

    def _key(self, part, subnets, sums_only):
        x_digest, y_digest = self._digests[part.index]
        prototypes = getattr(self.loss_fn, "prototypes", None)
        return {
            "fit": self._cache_key,
            "range": (part.start, part.stop, self.n_samples),
            "data": (x_digest, y_digest),
            "subnets": [int(k) for k in subnets],
            "sums_only": sums_only,
            "prototypes": None if prototypes is None else _digest(prototypes),
        }

    def _map(self, subnets, sums_only, desc):
        """Run ``subnets`` over every range; return the results in order."""
        results = [None] * len(self._parts)
        todo = []
        for part in self._parts:
            if self._cache is not None:
                key = self._key(part, subnets, sums_only)
                if self._cache.check_call_in_cache(key, compute=None):
                    results[part.index] = self._cache(key, compute=_not_cached)
                    continue
            todo.append(part)
        bar = None
        if self.progress is not None and todo:
            bar = self.progress(total=len(todo), desc=desc, unit="range")
        network, source = self._shared_args() if todo else (None, None)
        tasks = (
            delayed(_score_range)(
                network,
                source,
                part,
                subnets,
                sums_only,
                self.loss_fn,
                self._settings,
            )
            for part in todo
        )
        try:
            for index, result in Parallel(
                n_jobs=self.n_jobs, return_as="generator_unordered"
            )(tasks):
                results[index] = result
                if self._cache is not None:
                    key = self._key(self._parts[index], subnets, sums_only)
                    self._cache(key, compute=lambda result=result: result)
                if bar is not None:
                    bar.update()
        except Exception as exc:
            if any(c.__name__ in _DEAD_WORKER for c in type(exc).__mro__):
                lost = [p.describe() for p in todo if results[p.index] is None]
                raise RuntimeError(
                    f"{self.owner}: a worker died while scoring; no result came "
                    f"back for {', '.join(lost)}. A worker dies when it runs "
                    "out of memory (lower batch_size) or crashes in native "
                    "code; with memory=, a new fit recomputes only these "
                    f"ranges. {type(exc).__name__}: {exc}"
                ) from exc
            raise
        finally:
            if bar is not None:
                bar.close()
        for result in results:
            if result["output_width"] is not None:
                self.output_width = result["output_width"]
                break
        return results

    def prototypes(self):
        """Phase 1, when the loss needs prototypes: reduce the range sums."""
        loss_fn = self.loss_fn
        if not loss_fn.needs_features or loss_fn.prototypes is not None:
            return
        results = self._map([0], True, "DLC class sums")
        sums = sum(r["sums"] for r in results)
        counts = sum(r["counts"] for r in results)
        loss_fn.set_prototypes(sums, counts)

    def evaluate(self, subnets):
        """Per-sample losses of ``subnets`` over all ranges, in sample order.

        Returns
        -------
        losses : torch.Tensor of shape (n_samples, len(subnets))
            float64, on the CPU.
        """
        subnets = list(subnets)
        self.prototypes()
        results = self._map(subnets, False, "DLC ranges")
        return torch.cat([r["losses"] for r in results])
