import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import PooledMLP, TinyCNN, assert_same_state, state_copy
from joblib import Memory
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks
from skorch import NeuralNet, NeuralNetClassifier
from torch import nn
from torch.nn.utils import prune
from torch.utils.data import TensorDataset

from sklearn_dlc import DLCHardness
from sklearn_dlc._engine._masks import pruned_counts
from sklearn_dlc._scored import split_hardness

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def reference_dlc(module, X, y, n_subnets, step):
    """Straightforward DLC: iterative torch pruning, prototype head, float64."""
    m = copy.deepcopy(module).eval()
    feats = {}
    m.head.register_forward_pre_hook(lambda mod, a: feats.__setitem__("z", a[0]))
    targets = [
        (mod, "weight")
        for mod in m.modules()
        if isinstance(mod, (nn.Conv2d, nn.Linear)) and mod is not m.head
    ]
    X, y = torch.as_tensor(X), torch.as_tensor(y)
    classes = torch.unique(y)
    losses = []
    with torch.no_grad():
        for k in range(n_subnets):
            if k > 0:
                prune.global_unstructured(
                    targets, pruning_method=prune.L1Unstructured, amount=step
                )
            m(X)
            z = feats["z"].double()
            if k == 0:
                protos = torch.stack([z[y == c].mean(0) for c in classes])
            logits = 1.0 / torch.cdist(z, protos)
            target = torch.searchsorted(classes, y)
            losses.append(F.cross_entropy(logits, target, reduction="none"))
    return torch.stack(losses).mean(0).numpy()


@pytest.mark.parametrize("n_subnets", [1, 7, 50])
def test_matches_iterative_torch_prune(tiny_cnn, small_digits, n_subnets):
    X, y = small_digits
    expected = reference_dlc(tiny_cnn, X, y, n_subnets, 0.02)
    scorer = DLCHardness(tiny_cnn, n_subnets=n_subnets, step=0.02, batch_size=64)
    scorer.fit(X, y)
    np.testing.assert_allclose(scorer.hardness_, expected, rtol=1e-5)


@pytest.mark.parametrize("n_weights", [1, 99, 2248, 100_003])
@pytest.mark.parametrize("step", [0.02, 0.1, 0.5])
def test_geometric_counts_follow_torch_prune_rounding(n_weights, step):
    lin = nn.Linear(n_weights, 1, bias=False)
    counts = pruned_counts(n_weights, 8, step, "geometric")
    for k in range(1, 8):
        prune.l1_unstructured(lin, "weight", amount=step)
        assert int((lin.weight_mask == 0).sum()) == counts[k]


def test_linear_schedule_sparsities(tiny_cnn, small_digits):
    X, y = small_digits
    scorer = DLCHardness(tiny_cnn, n_subnets=11, step=0.05, schedule="linear")
    scorer.fit(X, y)
    np.testing.assert_allclose(scorer.sparsities_, np.arange(11) * 0.05, atol=1e-3)


def test_nested_magnitude_masks_and_dense_column(tiny_cnn, small_digits):
    X, y = small_digits
    scorer = DLCHardness(tiny_cnn, n_subnets=6, step=0.3, store_subnet_scores=True)
    scorer.fit(X, y)
    assert scorer.subnet_scores_.shape == (len(X), 6)
    np.testing.assert_allclose(
        scorer.subnet_scores_.mean(1), scorer.hardness_, rtol=1e-6
    )
    dense = DLCHardness(tiny_cnn, n_subnets=1).fit(X, y).hardness_
    np.testing.assert_allclose(scorer.subnet_scores_[:, 0], dense, rtol=1e-6)
    assert np.all(np.diff(scorer.sparsities_) > 0)
    for k in range(1, 6):
        assert not np.allclose(scorer.subnet_scores_[:, k], scorer.subnet_scores_[:, 0])


def test_refit_without_storing_drops_subnet_scores(tiny_cnn, small_digits):
    X, y = small_digits
    scorer = DLCHardness(tiny_cnn, n_subnets=3, store_subnet_scores=True).fit(X, y)
    assert scorer.subnet_scores_.shape == (len(X), 3)
    scorer.set_params(store_subnet_scores=False).fit(X, y)
    assert not hasattr(scorer, "subnet_scores_")


def test_random_masking_is_seeded(tiny_cnn, small_digits):
    X, y = small_digits
    kw = dict(n_subnets=5, step=0.2, masking="random")
    a = DLCHardness(tiny_cnn, random_state=0, **kw).fit(X, y).hardness_
    b = DLCHardness(tiny_cnn, random_state=0, **kw).fit(X, y).hardness_
    c = DLCHardness(tiny_cnn, random_state=1, **kw).fit(X, y).hardness_
    m = DLCHardness(tiny_cnn, n_subnets=5, step=0.2).fit(X, y).hardness_
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert not np.allclose(a, m)


def test_layer_scope_masks_each_layer_at_the_schedule(tiny_cnn, small_digits):
    X, y = small_digits
    scorer = DLCHardness(tiny_cnn, n_subnets=4, step=0.5, scope="layer")
    scorer.fit(X, y)
    expected = 1 - 0.5 ** np.arange(4)
    np.testing.assert_allclose(scorer.sparsities_, expected, atol=0.01)
    glob = DLCHardness(tiny_cnn, n_subnets=4, step=0.5).fit(X, y)
    assert not np.allclose(scorer.hardness_, glob.hardness_)


@pytest.mark.parametrize("measure", ["loss", "confidence"])
def test_model_head_dense_equals_network_loss(tiny_cnn, small_digits, measure):
    X, y = small_digits
    scorer = DLCHardness(tiny_cnn, n_subnets=1, head="model", measure=measure)
    scorer.fit(X, y)
    with torch.no_grad():
        logits = tiny_cnn(torch.as_tensor(X))
    if measure == "loss":
        expected = F.cross_entropy(logits, torch.as_tensor(y), reduction="none")
    else:
        expected = 1 - logits.softmax(1)[torch.arange(len(y)), torch.as_tensor(y)]
    np.testing.assert_allclose(scorer.hardness_, expected.numpy(), rtol=1e-5)


def test_confidence_prototype_in_unit_interval(tiny_cnn, small_digits):
    X, y = small_digits
    h = DLCHardness(tiny_cnn, n_subnets=5, measure="confidence").fit(X, y).hardness_
    assert np.all((h >= 0) & (h <= 1))
    loss = DLCHardness(tiny_cnn, n_subnets=5).fit(X, y).hardness_
    # Both rank samples similarly: the losses are monotone in probability.
    assert (
        np.corrcoef(np.argsort(np.argsort(h)), np.argsort(np.argsort(loss)))[0, 1] > 0.9
    )


def test_callable_criterion_for_regression():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 1))
    rng = np.random.RandomState(0)
    X = rng.randn(40, 3)
    y = rng.randn(40, 1)

    def squared_error(output, target):
        return ((output - target) ** 2).sum(1)

    scorer = DLCHardness(
        net, n_subnets=3, step=0.2, head="model", criterion=squared_error
    ).fit(X, y)
    with torch.no_grad():
        dense = (net(torch.tensor(X, dtype=torch.float32)) - torch.tensor(y)) ** 2
    assert scorer.hardness_.shape == (40,)
    assert not hasattr(scorer, "classes_")
    one = DLCHardness(net, n_subnets=1, head="model", criterion=squared_error).fit(X, y)
    np.testing.assert_allclose(one.hardness_, dense.sum(1).numpy(), rtol=1e-5)


def test_callable_criterion_must_return_per_sample_losses():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    X = np.zeros((10, 3), dtype=np.float32)
    bad = DLCHardness(
        net, n_subnets=2, head="model", criterion=lambda out, t: out.mean()
    )
    with pytest.raises(TypeError, match="criterion must return a 1-D tensor"):
        bad.fit(X, np.zeros(10))


class DictInputCNN(TinyCNN):
    def forward(self, image, scale):
        return super().forward(image * scale[:, None, None, None])


@pytest.mark.parametrize("container", ["numpy", "flat", "tensor", "dataset", "dict"])
def test_input_containers_give_the_same_scores(container, small_digits):
    torch.manual_seed(0)
    net = DictInputCNN() if container == "dict" else TinyCNN()
    X, y = small_digits
    expected = DLCHardness(net, n_subnets=4, step=0.1, batch_size=32)
    if container == "dict":
        expected.set_params(net=TinyCNN())
        expected.net.load_state_dict(net.state_dict())
    expected = expected.fit(X, y).hardness_
    if container == "flat":
        data = X.reshape(len(X), 8, 8).astype(np.float64)
    elif container == "tensor":
        data = torch.as_tensor(X)
    elif container == "dataset":
        data = TensorDataset(torch.as_tensor(X), torch.as_tensor(y))
    elif container == "dict":
        data = {"image": X, "scale": np.ones(len(X), dtype=np.float32)}
    else:
        data = X
    got = DLCHardness(net, n_subnets=4, step=0.1, batch_size=32).fit(data, y)
    np.testing.assert_allclose(got.hardness_, expected, rtol=1e-6)


class Exploding(nn.Module):
    """Wraps a net and raises on its n-th forward pass."""

    def __init__(self, inner, after, exc):
        super().__init__()
        self.inner, self.after, self.exc, self.calls = inner, after, exc, 0

    def forward(self, x):
        self.calls += 1
        if self.calls > self.after:
            raise self.exc
        return self.inner(x)


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
def test_weights_restored_bit_for_bit_after_failure(small_digits, exc):
    torch.manual_seed(0)
    net = Exploding(TinyCNN(), after=7, exc=exc)
    state = state_copy(net)
    X, y = small_digits
    with pytest.raises(type(exc)):
        DLCHardness(net, n_subnets=10, step=0.2, batch_size=50).fit(X, y)
    assert net.calls > 4  # it failed after some subnets were already masked
    assert_same_state(net, state)
    assert all(p.data.data_ptr() == p.data_ptr() for p in net.parameters())


class HookError(Exception):
    pass


def test_failure_after_a_successful_call_keeps_its_type(small_digits):
    # Only a failure before any successful forward call is about the input.
    X, y = small_digits
    torch.manual_seed(0)
    net = TinyCNN()
    calls = []

    def hook(module, args, output):
        calls.append(1)
        if len(calls) == 5:  # the probe, subnets 0 to 2, then subnet 3
            raise HookError("raised by a hook")

    net.register_forward_hook(hook)
    state = state_copy(net)
    with pytest.raises(HookError, match="raised by a hook"):
        DLCHardness(net, n_subnets=5, step=0.1, batch_size=len(X)).fit(X, y)
    assert_same_state(net, state)
    calls.clear()
    with pytest.raises(ValueError, match="failed on the first samples of X"):
        DLCHardness(Exploding(TinyCNN(), 0, HookError("at once")), n_subnets=2).fit(
            X, y
        )


def test_meta_module_holds_no_weights(small_digits):
    X, y = small_digits
    with torch.device("meta"):
        net = TinyCNN()
    with pytest.raises(ValueError, match="'meta' device.*no weights"):
        DLCHardness(net, n_subnets=2).fit(X, y)


class FeaturesAndLogits(nn.Module):
    def __init__(self):
        super().__init__()
        self.f = nn.Linear(64, 16)
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        z = torch.tanh(self.f(x.reshape(len(x), -1)))
        return z, self.head(z)


def test_tuple_output_message_and_output_key_index(small_digits):
    X, y = small_digits
    torch.manual_seed(0)
    net = FeaturesAndLogits()
    with pytest.raises(ValueError, match=r"tuple of 2 elements.*output_key=1"):
        DLCHardness(net, n_subnets=2).fit(X, y)
    scorer = DLCHardness(net, n_subnets=2, output_key=1).fit(X, y)
    assert scorer.head_layer_ == "head" and scorer.masked_parameters_ == ["f.weight"]
    with pytest.raises(ValueError, match="output_key=2 is out of range"):
        DLCHardness(net, n_subnets=2, output_key=2).fit(X, y)


def test_weights_and_modes_untouched_after_fit(tiny_cnn, small_digits):
    X, y = small_digits
    tiny_cnn.train()
    state = state_copy(tiny_cnn)
    ptrs = [p.data_ptr() for p in tiny_cnn.parameters()]
    DLCHardness(tiny_cnn, n_subnets=5, step=0.3).fit(X, y)
    assert_same_state(tiny_cnn, state)
    assert ptrs == [p.data_ptr() for p in tiny_cnn.parameters()]
    assert all(m.training for m in tiny_cnn.modules())


def test_batchnorm_uses_running_statistics(small_digits):
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Flatten(),
        nn.Linear(64, 32),
        nn.BatchNorm1d(32),
        nn.ReLU(),
        nn.Linear(32, 10),
    )
    net[2].running_mean.uniform_(-1, 1)
    state = state_copy(net)
    X, y = small_digits
    a = DLCHardness(net, n_subnets=3, batch_size=10).fit(X, y).hardness_
    b = DLCHardness(net, n_subnets=3, batch_size=200).fit(X, y).hardness_
    np.testing.assert_allclose(a, b, rtol=1e-5)
    assert_same_state(net, state)


def test_single_sample_class_is_fine(tiny_cnn, small_digits):
    X, y = small_digits
    y = y.copy()
    y[0] = 42
    h = DLCHardness(tiny_cnn, n_subnets=3).fit(X, y).hardness_
    assert np.all(np.isfinite(h))
    assert h[0] < np.median(h)  # its own prototype: dense loss is ~0


@pytest.mark.parametrize("initialize", [True, False])
def test_skorch_classifier_nets(tiny_cnn, small_digits, initialize):
    X, y = small_digits
    net = NeuralNetClassifier(
        tiny_cnn, criterion=nn.CrossEntropyLoss, batch_size=16, classes=list(range(10))
    )
    if initialize:
        net.initialize()
    bare = DLCHardness(tiny_cnn, n_subnets=3, head="model").fit(X, y).hardness_
    wrapped = DLCHardness(net, n_subnets=3, head="model").fit(X, y).hardness_
    np.testing.assert_allclose(wrapped, bare, rtol=1e-6)


def test_skorch_nllloss_outputs_are_probabilities(tiny_cnn, small_digits):
    X, y = small_digits
    probs = nn.Sequential(tiny_cnn, nn.Softmax(dim=1))
    net = NeuralNetClassifier(probs, classes=list(range(10)))
    got = DLCHardness(net, n_subnets=1, head="model", head_layer="0.head").fit(X, y)
    want = DLCHardness(tiny_cnn, n_subnets=1, head="model").fit(X, y)
    np.testing.assert_allclose(got.hardness_, want.hardness_, rtol=1e-4, atol=1e-6)


def test_model_head_maps_string_labels_through_net_classes(tiny_cnn, small_digits):
    X, y = small_digits
    names = np.array(list("abcdefghij"))
    net = NeuralNetClassifier(
        tiny_cnn, criterion=nn.CrossEntropyLoss, classes=list(names)
    )
    got = DLCHardness(net, n_subnets=2, head="model").fit(X, names[y])
    want = DLCHardness(tiny_cnn, n_subnets=2, head="model").fit(X, y)
    np.testing.assert_allclose(got.hardness_, want.hardness_, rtol=1e-6)
    np.testing.assert_array_equal(got.classes_, names)


def test_transform_passes_through_and_fit_transform_marks(tiny_cnn, small_digits):
    X, y = small_digits
    scorer = DLCHardness(tiny_cnn, n_subnets=2)
    marked = scorer.fit_transform(X, y)
    plain, hardness = split_hardness(marked)
    np.testing.assert_array_equal(plain, X)
    np.testing.assert_array_equal(hardness, scorer.hardness_)
    assert scorer.transform(X) is X
    assert split_hardness(scorer.transform(X))[1] is None


@pytest.mark.parametrize("as_path", [False, True])
def test_memory_caches_scores_by_content(tmp_path, small_digits, as_path):
    torch.manual_seed(0)
    calls = []
    net = TinyCNN()
    net.register_forward_hook(lambda *a: calls.append(1))
    X, y = small_digits
    memory = str(tmp_path) if as_path else Memory(tmp_path, verbose=0)
    first = DLCHardness(net, n_subnets=3, batch_size=100, memory=memory).fit(X, y)
    # 3 subnets x 2 batches, plus one two-sample pass that detects the head.
    assert len(calls) == 7
    again = clone(first).fit(X.copy(), y.copy())  # a deep copy of the weights
    assert len(calls) == 7
    np.testing.assert_array_equal(first.hardness_, again.hardness_)
    other = clone(first).set_params(n_subnets=2).fit(X, y)
    assert len(calls) == 12
    assert not np.array_equal(other.hardness_, first.hardness_)
    changed = clone(first)
    with torch.no_grad():
        changed.net.head.bias.add_(1.0)
    changed.fit(X, y)
    assert len(calls) == 19


def test_verbose_shows_progress(tiny_cnn, small_digits, capsys):
    X, y = small_digits
    DLCHardness(tiny_cnn, n_subnets=3, verbose=1).fit(X, y)
    assert "DLC subnets" in capsys.readouterr().err


def _X():
    return np.random.RandomState(0).rand(20, 1, 8, 8).astype(np.float32)


@pytest.mark.parametrize(
    "params, X, y, exc, match",
    [
        ({"n_subnets": 0}, None, None, ValueError, "n_subnets"),
        ({"step": 0.0}, None, None, ValueError, "step"),
        ({"step": 1.0}, None, None, ValueError, "step"),
        ({"masking": "l2"}, None, None, ValueError, "masking"),
        ({"schedule": "cosine"}, None, None, ValueError, "schedule"),
        ({"head": "knn"}, None, None, ValueError, "head"),
        ({"measure": "auc"}, None, None, ValueError, "measure"),
        ({"scope": "block"}, None, None, ValueError, "scope"),
        ({"net": "resnet"}, None, None, TypeError, "net"),
        (
            {"net": NeuralNet(TinyCNN, criterion=nn.CrossEntropyLoss)},
            None,
            None,
            TypeError,
            "pre-trained torch.nn.Module instance",
        ),
        ({"head_layer": "nope"}, None, None, ValueError, "head_layer"),
        (
            {"schedule": "linear", "n_subnets": 60},
            None,
            None,
            ValueError,
            "schedule='linear'",
        ),
        ({"criterion": lambda o, t: o}, None, None, ValueError, "criterion"),
        ({}, "nan", None, ValueError, "NaN or infinity.*SimpleImputer"),
        ({}, "texts", None, ValueError, "raw texts; pass the model's tokenizer"),
        ({}, "inf", None, ValueError, "infinity"),
        ({}, "nan-tensor", None, ValueError, "NaN"),
        ({}, None, "short", ValueError, "inconsistent numbers of samples"),
        ({}, None, "missing", ValueError, "requires y"),
        ({}, None, "continuous", ValueError, "Unknown label type"),
        ({"head": "model"}, None, "big", ValueError, "labels unknown to the net"),
        ({"head": "model"}, None, "strings", ValueError, "integer class indices"),
        ({"device": "cuda:0"}, None, None, ValueError, "device"),
    ],
)
def test_bad_input_errors_name_the_problem(params, X, y, exc, match):
    if params.get("device") and torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    torch.manual_seed(0)
    net = TinyCNN()
    state = state_copy(net)
    data = _X()
    labels = np.arange(20) % 3
    if X == "nan":
        data[3, 0, 0, 0] = np.nan
    elif X == "inf":
        data[3, 0, 0, 0] = np.inf
    elif X == "texts":
        data = [f"text {i}" for i in range(20)]
    elif X == "nan-tensor":
        data = torch.as_tensor(data)
        data[2, 0, 1, 1] = float("nan")
    if y == "short":
        labels = labels[:-1]
    elif y == "missing":
        labels = None
    elif y == "continuous":
        labels = np.linspace(0, 1, 20)
    elif y == "big":
        labels = np.arange(20)
    elif y == "strings":
        labels = np.array(["a", "b"] * 10)
    scorer = DLCHardness(net, n_subnets=2).set_params(**params)
    with pytest.raises(exc, match=match):
        scorer.fit(data, labels)
    assert_same_state(net, state)


def test_nan_in_streamed_dataset_is_reported(small_digits):
    torch.manual_seed(0)
    X, y = small_digits
    X = X.copy()
    X[150, 0, 2, 2] = np.nan
    ds = TensorDataset(torch.as_tensor(X))
    with pytest.raises(ValueError, match="NaN"):
        DLCHardness(TinyCNN(), n_subnets=2, batch_size=64).fit(ds, y)


@parametrize_with_checks(
    [DLCHardness(PooledMLP(), n_subnets=3, step=0.1)],
    expected_failed_checks=lambda est: {
        "check_estimators_overwrite_params": (
            "joblib.hash of a torch module differs between deep copies of the "
            "same weights; tests check the weights bit for bit instead"
        ),
    },
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.fixture
def no_tf32(monkeypatch):
    """Full float32 convolutions and products, as on the CPU.

    By default cuDNN runs convolutions in TF32 (10-bit mantissa), which moves
    1/distance logits by up to a few percent.
    """
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)


@cuda
def test_cuda_matches_cpu(tiny_cnn, small_digits, no_tf32):
    X, y = small_digits
    cpu = DLCHardness(tiny_cnn, n_subnets=10).fit(X, y).hardness_
    state = state_copy(tiny_cnn)
    gpu = DLCHardness(tiny_cnn, n_subnets=10, device="cuda").fit(X, y)
    assert_same_state(tiny_cnn, state)
    assert next(tiny_cnn.parameters()).device.type == "cpu"
    np.testing.assert_allclose(gpu.hardness_, cpu, rtol=1e-4, atol=1e-6)


@cuda
def test_cuda_bf16_autocast_ranks_like_float32(tiny_cnn, small_digits):
    from scipy.stats import spearmanr

    X, y = small_digits
    full = DLCHardness(tiny_cnn, n_subnets=10, device="cuda").fit(X, y).hardness_
    amp = DLCHardness(tiny_cnn, n_subnets=10, device="cuda", amp=True).fit(X, y)
    assert np.all(np.isfinite(amp.hardness_))
    assert spearmanr(amp.hardness_, full).statistic > 0.95


@cuda
def test_cuda_skorch_net_stays_on_gpu(tiny_cnn, small_digits, no_tf32):
    X, y = small_digits
    cpu = DLCHardness(tiny_cnn, n_subnets=5).fit(X, y)
    net = NeuralNetClassifier(
        tiny_cnn, criterion=nn.CrossEntropyLoss, device="cuda"
    ).initialize()
    state = state_copy(net.module_)
    scorer = DLCHardness(net, n_subnets=5).fit(X, y)
    assert_same_state(net.module_, state)
    assert next(net.module_.parameters()).is_cuda
    np.testing.assert_allclose(scorer.hardness_, cpu.hardness_, rtol=1e-4, atol=1e-6)


@cuda
def test_cuda_streams_a_dataset_and_a_dict(small_digits, no_tf32):
    torch.manual_seed(0)
    net = DictInputCNN()
    X, y = small_digits
    cpu = DLCHardness(net, n_subnets=4, batch_size=32)
    cpu = cpu.fit({"image": X, "scale": np.ones(len(X), dtype=np.float32)}, y)
    ds = TensorDataset(torch.as_tensor(X))
    plain = TinyCNN()
    plain.load_state_dict(net.state_dict())
    gpu = DLCHardness(plain, n_subnets=4, batch_size=32, device="cuda").fit(ds, y)
    np.testing.assert_allclose(gpu.hardness_, cpu.hardness_, rtol=1e-4, atol=1e-6)


def test_channels_last_weights(tiny_cnn, small_digits):
    X, y = small_digits
    expected = DLCHardness(tiny_cnn, n_subnets=5, step=0.2).fit(X, y).hardness_
    net = copy.deepcopy(tiny_cnn).to(memory_format=torch.channels_last)
    assert not net.features[2].weight.is_contiguous()
    state = state_copy(net)
    got = DLCHardness(net, n_subnets=5, step=0.2).fit(X, y).hardness_
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert_same_state(net, state)
    assert not net.features[2].weight.is_contiguous()
