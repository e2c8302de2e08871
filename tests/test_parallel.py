"""Sharded scoring through joblib: loky processes and a local Dask cluster."""

import copy
import os
import pickle
import threading
import time

import joblib
import numpy as np
import pytest
import torch
from conftest import TinyCNN, assert_same_state, state_copy
from joblib import Memory, parallel_config
from torch import nn
from torch.utils.data import Dataset, TensorDataset

from sklearn_dlc import ConfidenceHardness, DLCHardness
from sklearn_dlc._engine._adapter import ModelAdapter
from sklearn_dlc._engine._losses import LogitLoss, PrototypeLoss
from sklearn_dlc._engine._masks import NestedMasks
from sklearn_dlc._engine._sharded import (
    ShardedScorer,
    _score_range,
    cloudpickle,
    split_ranges,
)

K = 4
STEP = 0.1


class Recorder(nn.Module):
    """TinyCNN that logs which process ran which samples, and can misbehave.

    Each forward pass outside the driver appends ``pid first_index`` to a file
    of ``log_dir``; with ``barrier``, it first waits (up to a minute) until
    that many processes have logged, so that two ranges cannot run one after
    the other in the same process. Attributes are not weights, so they leave
    the content digest of ``memory=`` unchanged.
    """

    def __init__(self):
        super().__init__()
        self.net = TinyCNN()
        self.driver = os.getpid()
        self.log_dir = None
        self.barrier = 0
        self.fail_at = None
        self.fail_delay = 0.0
        self.crash_at = None

    def forward(self, x, idx=None):
        if os.getpid() != self.driver and self.log_dir is not None:
            first = -1 if idx is None else int(idx[0])
            with open(os.path.join(self.log_dir, f"{os.getpid()}.log"), "a") as f:
                f.write(f"{first}\n")
            deadline = time.monotonic() + 60
            while len(os.listdir(self.log_dir)) < self.barrier:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.01)
        if (
            idx is not None
            and self.crash_at is not None
            and (idx == self.crash_at).any()
        ):
            os._exit(3)
        if idx is not None and self.fail_at is not None and (idx == self.fail_at).any():
            time.sleep(self.fail_delay)
            raise ValueError(f"sample {self.fail_at} is poisoned")
        return self.net(x)


def logged(log_dir):
    """``{pid: [first index of each batch]}`` logged by the workers."""
    out = {}
    for name in os.listdir(log_dir):
        with open(os.path.join(log_dir, name)) as f:
            out[int(name.split(".")[0])] = [int(v) for v in f.read().split()]
    return out


@pytest.fixture(scope="module")
def data(digits):
    X, y = digits
    return X[:240], y[:240]


def as_input(kind, X):
    if kind == "array":
        return X
    if kind == "dict":
        return {"x": torch.from_numpy(X), "idx": torch.arange(len(X))}
    return TensorDataset(torch.from_numpy(X))


def recorder(log_dir=None, barrier=0):
    torch.manual_seed(0)
    module = Recorder().eval()
    module.log_dir = None if log_dir is None else str(log_dir)
    module.barrier = barrier
    return module


def scorer(module, **kwargs):
    params = {"n_subnets": K, "step": STEP, "batch_size": 32}
    params.update(kwargs)
    return DLCHardness(module, **params)


class LoggedDataset(Dataset):
    """Appends every index read to a file per process."""

    def __init__(self, X, log_dir):
        self.X = torch.from_numpy(X)
        self.log_dir = str(log_dir)

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        with open(os.path.join(self.log_dir, f"{os.getpid()}.log"), "a") as f:
            f.write(f"{i}\n")
        return self.X[i]


class Unpicklable(Dataset):
    def __init__(self, X):
        self.X = torch.from_numpy(X)
        self.lock = threading.Lock()

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i]


def test_split_ranges():
    assert split_ranges(10, 3) == [(0, 4), (4, 7), (7, 10)]
    assert split_ranges(2, 5) == [(0, 1), (1, 2)]
    assert split_ranges(7, 1) == [(0, 7)]


@pytest.mark.parametrize("kind", ["array", "dict", "dataset"])
def test_loky_equals_single_process(data, tmp_path, kind):
    X, y = data
    module = recorder(tmp_path, barrier=2)
    state = state_copy(module)
    expected = scorer(module).fit(as_input(kind, X), y).hardness_
    assert not os.listdir(tmp_path)
    with parallel_config(backend="loky"):
        got = scorer(module, n_jobs=2).fit(as_input(kind, X), y).hardness_
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    pids = logged(tmp_path)
    assert len(pids) == 2 and os.getpid() not in pids
    if kind == "dict":
        # Two contiguous ranges, each scored batch by batch from its start.
        firsts = sorted({i for v in pids.values() for i in v})
        assert firsts == list(range(0, 120, 32)) + list(range(120, 240, 32))
    assert_same_state(module, state)


def test_dataset_each_worker_reads_its_range(data, tmp_path):
    X, y = data
    forward_log, read_log = tmp_path / "forward", tmp_path / "read"
    forward_log.mkdir()
    read_log.mkdir()
    module = recorder(forward_log, barrier=2)
    scorer(module, head="model", n_jobs=2).fit(LoggedDataset(X, read_log), y)
    reads = logged(read_log)
    # The driver reads the first batch only, for the head detection.
    assert sorted(reads.pop(os.getpid())) == list(range(32))
    # Each worker reads its own range, once per subnet.
    assert sorted(sorted(v) for v in reads.values()) == [
        sorted(list(range(0, 120)) * K),
        sorted(list(range(120, 240)) * K),
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"head": "model", "verbose": 1},
        {"masking": "random", "random_state": 0, "store_subnet_scores": True},
        {"criterion": lambda out, yb: out.square().mean(1), "head": "model"},
    ],
    ids=["model-head", "random-masks", "criterion"],
)
def test_loky_heads_and_options(data, params):
    X, y = data
    module = recorder()
    a = scorer(module, **params).fit(X, y)
    b = scorer(module, n_jobs=2, **params).fit(X, y)
    np.testing.assert_allclose(b.hardness_, a.hardness_, rtol=1e-5)
    assert b.head_layer_ == a.head_layer_ == "net.head"
    np.testing.assert_array_equal(b.sparsities_, a.sparsities_)
    if params.get("store_subnet_scores"):
        np.testing.assert_allclose(b.subnet_scores_, a.subnet_scores_, rtol=1e-5)


class WithUnusedPooler(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = TinyCNN()
        self.pooler = nn.Linear(10, 10)

    def forward(self, x):
        out = self.net(x)
        self.pooler(out)
        return out


def test_loky_unused_layer_stays_unmasked(data):
    X, y = data
    torch.manual_seed(0)
    module = WithUnusedPooler().eval()
    a = scorer(module).fit(X, y)
    b = scorer(module, n_jobs=2).fit(X, y)
    assert "pooler.weight" not in a.masked_parameters_
    assert b.masked_parameters_ == a.masked_parameters_
    assert b.n_masked_weights_ == a.n_masked_weights_
    np.testing.assert_allclose(b.hardness_, a.hardness_, rtol=1e-5)


def test_confidence_hardness_n_jobs(data):
    X, y = data
    module = recorder()
    a = ConfidenceHardness(module, method="margin").fit(X, y).hardness_
    b = ConfidenceHardness(module, method="margin", n_jobs=2).fit(X, y).hardness_
    np.testing.assert_allclose(b, a, rtol=1e-5)


def _driver_masks(module, X):
    """The driver's adapter, masked weights and magnitude masks (K, STEP)."""
    adapter = ModelAdapter(module, owner="test").resolve_head(torch.from_numpy(X[:2]))
    named = adapter.masked_parameters()
    masks = NestedMasks(
        [p for _, p in named],
        masking="magnitude",
        scope="global",
        n_subnets=K,
        step=STEP,
        schedule="geometric",
        rng=np.random.RandomState(0),
    )
    return adapter, named, masks


def test_evaluate_any_subnets_more_ranges_than_workers(data):
    """The contract of the coarse-to-fine driver: evaluate(subnets)."""
    X, y = data
    module = recorder()
    reference = scorer(module, store_subnet_scores=True).fit(X, y).subnet_scores_
    adapter, named, masks = _driver_masks(module, X)
    state = state_copy(module)
    # Threads share the driver's module: each range must work on a copy.
    with parallel_config(backend="threading"):
        sharded = ShardedScorer(
            adapter,
            masks,
            [n for n, _ in named],
            X,
            torch.from_numpy(y),
            PrototypeLoss(10, "loss"),
            n_samples=len(X),
            n_jobs=2,
            n_ranges=3,
            batch_size=32,
            device="cpu",
        )
        losses = sharded.evaluate([3, 0, 1])
    assert len(sharded.ranges) == 3 and losses.shape == (len(X), 3)
    assert losses.dtype == torch.float64
    np.testing.assert_allclose(losses.numpy(), reference[:, [3, 0, 1]], rtol=1e-5)
    assert_same_state(module, state)


def test_dataset_must_pickle(data):
    X, y = data
    with pytest.raises(TypeError, match="Unpicklable does not"):
        scorer(recorder(), n_jobs=2).fit(Unpicklable(X), y)


@pytest.mark.parametrize("n_jobs", [0, 1.5, "2"])
def test_bad_n_jobs(data, n_jobs):
    X, y = data
    for est in (
        scorer(recorder(), n_jobs=n_jobs),
        ConfidenceHardness(recorder(), n_jobs=n_jobs),
    ):
        with pytest.raises((ValueError, TypeError), match="'n_jobs' parameter"):
            est.fit(X, y)


def test_threads_range_error_names_range(data):
    # Threads share the driver's module: a failing range must leave it as it was.
    X, y = data
    module = recorder()
    module.fail_at = 150
    state = state_copy(module)
    with (
        parallel_config(backend="threading"),
        pytest.raises(ValueError, match=r"samples 120 to 239 \(range 2 of 2\)") as e,
    ):
        scorer(module, n_jobs=2).fit(as_input("dict", X), y)
    assert "sample 150 is poisoned" in str(e.value)
    assert_same_state(module, state)


def test_n_jobs_not_in_cache_key(data, tmp_path):
    X, y = data
    log = tmp_path / "log"
    log.mkdir()
    module = recorder(log)
    memory = Memory(tmp_path / "cache", verbose=0)
    a = scorer(module, n_jobs=2, memory=memory).fit(X, y).hardness_
    assert len(logged(log)) == 2
    for name in os.listdir(log):
        os.remove(log / name)
    b = scorer(module, n_jobs=1, memory=memory).fit(X, y).hardness_
    c = scorer(module, n_jobs=-1, memory=memory).fit(X, y).hardness_
    assert not os.listdir(log)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


# loky replaces its workers after an error: the test that fails a worker comes
# last, so that it alone pays for new ones.


def test_loky_dead_worker(data):
    X, y = data
    module = recorder()
    module.crash_at = 200
    state = state_copy(module)
    with pytest.raises(RuntimeError, match="a worker died while scoring") as e:
        scorer(module, n_jobs=2, head="model").fit(as_input("dict", X), y)
    assert "samples 120 to 239" in str(e.value)
    assert_same_state(module, state)


# -- a local Dask cluster ---------------------------------------------------


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("dask.distributed")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            worker_dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def test_dask_equals_single_process(dask_client, data, tmp_path):
    X, y = data
    module = recorder(tmp_path, barrier=2)
    state = state_copy(module)
    expected = scorer(module).fit(X, y).hardness_
    with parallel_config(backend="dask"):
        assert joblib.effective_n_jobs(None) == 2
        got = scorer(module).fit(X, y).hardness_
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    worker_pids = set(dask_client.run(os.getpid).values())
    assert set(logged(tmp_path)) == worker_pids and len(worker_pids) == 2
    assert_same_state(module, state)


def test_dask_range_error(dask_client, data):
    X, y = data
    module = recorder()
    module.fail_at = 30
    state = state_copy(module)
    with (
        parallel_config(backend="dask"),
        pytest.raises(ValueError, match=r"samples 0 to 119 \(range 1 of 2\)") as e,
    ):
        scorer(module, n_jobs=2).fit(as_input("dict", X), y)
    assert "sample 30 is poisoned" in str(e.value)
    assert_same_state(module, state)


def test_dask_resume_recomputes_missing_ranges(dask_client, data, tmp_path):
    X, y = data
    log = tmp_path / "log"
    log.mkdir()
    memory = Memory(tmp_path / "cache", verbose=0)
    module = recorder(log)
    module.fail_at = 200
    module.fail_delay = 3.0
    expected = scorer(recorder(), head="model").fit(as_input("dict", X), y).hardness_
    with parallel_config(backend="dask"):
        with pytest.raises(ValueError, match="range 2 of 2"):
            scorer(module, head="model", memory=memory).fit(as_input("dict", X), y)
        for name in os.listdir(log):
            os.remove(log / name)
        module.fail_at = None
        got = scorer(module, head="model", memory=memory).fit(as_input("dict", X), y)
    np.testing.assert_allclose(got.hardness_, expected, rtol=1e-5)
    firsts = sorted({i for v in logged(log).values() for i in v})
    assert firsts == list(range(120, 240, 32))


def _two_ranges(module, X, y):
    adapter, named, masks = _driver_masks(module, X)
    sharded = ShardedScorer(
        adapter,
        masks,
        [n for n, _ in named],
        X,
        torch.from_numpy(y),
        LogitLoss("loss"),
        n_samples=len(X),
        n_jobs=1,
        n_ranges=2,
        batch_size=32,
        device="cpu",
    )

    def run(network, part):
        args = (list(range(K)), False, sharded.loss_fn, sharded._settings)
        return _score_range(network, None, part, *args)[1]["losses"]

    return sharded, run


def test_worker_copy_sent_mid_pass_holds_dense_weights(data):
    """A Dask worker keeps one unpickled network for all the ranges it runs.
    When the scheduler has dropped another worker's replica (its active memory
    manager does so), that worker fetches the network from this one, possibly
    while a range is in a masked pass here. This replays that order: the copy
    sent during subnet 1 must score the other range like a pristine copy."""
    X, y = data
    sharded, run = _two_ranges(recorder(), X, y)
    on_worker = pickle.loads(cloudpickle.dumps(sharded._network))
    calls, sent = [], []

    def send(module, args):
        calls.append(len(calls))
        if len(calls) == 6 and not sent:  # second batch of subnet 1
            handle.remove()
            sent.append(cloudpickle.dumps(on_worker))

    handle = on_worker.module.register_forward_pre_hook(send)
    first, second = sharded._parts
    run(on_worker, first)
    assert len(sent) == 1
    expected = run(pickle.loads(cloudpickle.dumps(sharded._network)), second)
    got = run(pickle.loads(sent[0]), second)
    torch.testing.assert_close(got, expected, rtol=0, atol=0)


def test_worker_refuses_altered_weights(data):
    X, y = data
    sharded, run = _two_ranges(recorder(), X, y)
    on_worker = pickle.loads(cloudpickle.dumps(sharded._network))
    name = on_worker.masked_names[0]
    weight = dict(on_worker.module.named_parameters())[name]
    n = int(torch.count_nonzero(weight))
    with torch.no_grad():
        weight.view(-1)[weight.view(-1).abs().argmax()] = 0.0
    with pytest.raises(RuntimeError, match=f"'{name}' has {n - 1} nonzeros"):
        run(on_worker, sharded._parts[1])


def test_masks_detach_and_bind():
    torch.manual_seed(0)
    module = TinyCNN()
    copied = copy.deepcopy(module)

    def weights(m):
        return [p for n, p in m.named_parameters() if n.endswith("weight")]

    masks = NestedMasks(
        weights(module),
        masking="random",
        scope="global",
        n_subnets=4,
        step=0.3,
        schedule="geometric",
        rng=np.random.RandomState(0),
    )
    shipped = masks.detached()
    assert shipped.params == [] and all(o.dtype == torch.int32 for o in shipped._local)
    bound = shipped.bind(weights(copied))
    for k in (3, 1):
        with masks.applied(), bound.applied():
            masks.prune_to(k)
            bound.prune_to(k)
            for a, b in zip(weights(module), weights(copied)):
                assert torch.equal(a, b)
    with pytest.raises(ValueError, match="sizes the masks were made for"):
        shipped.bind(weights(copied)[1:])


def test_auto_with_n_jobs_builds_one_sharded_scorer(data, monkeypatch):
    X, y = data
    built = []
    original = ShardedScorer.__init__

    def counted(self, *args, **kwargs):
        built.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(ShardedScorer, "__init__", counted)
    params = {"n_subnets": "auto", "max_subnets": 9, "auto_tol": 0.9999}
    single = scorer(recorder(), **params).fit(X, y)
    with parallel_config(backend="threading"):
        sharded = scorer(recorder(), n_jobs=2, **params).fit(X, y)
    assert sharded.n_passes_ == single.n_passes_ > 2
    np.testing.assert_allclose(sharded.hardness_, single.hardness_, rtol=1e-5)
    # Every refinement goes through one scorer: the weights travel once.
    assert len(built) == 1
