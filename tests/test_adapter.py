"""The model adapter: inputs, outputs, head detection, masked weights, errors."""

import warnings

import numpy as np
import pytest
import torch
from conftest import TinyCNN, assert_same_state, state_copy
from torch import nn

from sklearn_dlc import DLCHardness
from sklearn_dlc._engine._adapter import ModelAdapter, masked_parameters

Y6 = np.arange(24) % 3
RNG = np.random.RandomState(0)


def _probe_head(module, xb):
    return ModelAdapter(module, owner="T").resolve_head(xb).head_name


class TupleOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 8), nn.ReLU())
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        z = self.body(x)
        return self.fc(z), z


class DictOut(TupleOut):
    def forward(self, x):
        z = self.body(x)
        return {"scores": self.fc(z), "hidden": z}


class UnusedPooler(nn.Module):
    """Its last registered Linear never reaches the output."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 8), nn.ReLU())
        self.fc = nn.Linear(8, 3)
        self.pooler = nn.Linear(8, 8)

    def forward(self, x):
        z = self.body(x)
        self.pooler(z)
        return torch.softmax(self.fc(z), dim=1)


class NormOut(nn.Module):
    """A headless backbone: its output comes from a LayerNorm."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 8)
        self.norm = nn.LayerNorm(8)

    def forward(self, x):
        return self.norm(self.lin(x))


class TwoLinearsOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(4, 3), nn.Linear(4, 3)

    def forward(self, x):
        return self.a(x) + self.b(x)


class OneDictArg(nn.Module):
    """Takes its dict batch as one argument, like sentence-transformers."""

    def __init__(self):
        super().__init__()
        self.lin, self.fc = nn.Linear(4, 8), nn.Linear(8, 3)

    def forward(self, features):
        return self.fc(torch.relu(self.lin(features["a"] * features["b"])))


class KeywordArgs(OneDictArg):
    def forward(self, a, b):
        return self.fc(torch.relu(self.lin(a * b)))


@pytest.mark.parametrize(
    "module, expected",
    [
        (TinyCNN(), "head"),
        (nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)), "2"),
        (UnusedPooler(), "fc"),
        (TupleOut(), "fc"),
        (NormOut(), None),
        (nn.Sequential(nn.Conv1d(1, 3, 4), nn.Flatten()), None),
    ],
)
def test_head_detection(module, expected):
    x = torch.rand(3, 64) if isinstance(module, TinyCNN) else torch.rand(3, 4)
    if isinstance(module, nn.Sequential) and isinstance(module[0], nn.Conv1d):
        x = torch.rand(3, 1, 4)
    assert _probe_head(module.eval(), x) == expected


def test_ambiguous_head_asks_for_head_layer():
    with pytest.raises(ValueError, match="head_layer="):
        _probe_head(TwoLinearsOut(), torch.rand(3, 4))


def test_unused_pooler_scores_like_named_head():
    torch.manual_seed(0)
    net, X = UnusedPooler().eval(), np.random.RandomState(0).rand(24, 4)
    auto = DLCHardness(net, n_subnets=4).fit(X, Y6)
    named = DLCHardness(net, n_subnets=4, head_layer="fc").fit(X, Y6)
    assert auto.head_layer_ == "fc"
    # The pooler ran but cannot change the output: its weights stay unmasked.
    assert auto.masked_parameters_ == named.masked_parameters_ == ["body.0.weight"]
    np.testing.assert_array_equal(auto.hardness_, named.hardness_)


@pytest.mark.parametrize("cls", [TupleOut, DictOut])
def test_outputs_read_by_adapter(cls):
    torch.manual_seed(0)
    net, X = cls().eval(), np.random.RandomState(0).rand(24, 4).astype(np.float32)
    key = {"output_key": "scores"} if cls is DictOut else {}
    got = DLCHardness(net, n_subnets=3, head="model", **key).fit(X, Y6)
    logits = net(torch.from_numpy(X))
    logits = logits["scores"] if cls is DictOut else logits[0]
    dense = -torch.log_softmax(logits, 1)[torch.arange(24), torch.as_tensor(Y6)]
    single = DLCHardness(net, n_subnets=1, head="model", **key).fit(X, Y6)
    np.testing.assert_allclose(single.hardness_, dense.detach().numpy(), rtol=1e-5)
    assert got.head_layer_ == "fc"


def test_unreadable_output_type_raises_type_error():
    class SetOut(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 3)

        def forward(self, x):
            return {1, 2}

    with pytest.raises(TypeError, match="set"):
        DLCHardness(SetOut(), n_subnets=2).fit(RNG.rand(6, 4), [0, 1] * 3)


def test_dict_output_without_known_key_names_keys():
    with pytest.raises(TypeError, match="output_key"):
        DLCHardness(DictOut(), n_subnets=2).fit(RNG.rand(6, 4), [0, 1] * 3)


@pytest.mark.parametrize("cls", [OneDictArg, KeywordArgs])
def test_dict_inputs_one_argument_or_keywords(cls):
    torch.manual_seed(0)
    net = cls().eval()
    rng = np.random.RandomState(0)
    X = {"a": rng.rand(24, 4).astype(np.float32), "b": rng.rand(24, 4)}
    got = DLCHardness(net, n_subnets=3).fit(X, Y6)
    assert got.hardness_.shape == (24,) and np.isfinite(got.hardness_).all()
    assert got.head_layer_ == "fc"


def test_multihead_attention_projection_is_masked():
    layer = nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)
    names = [n for n, _ in masked_parameters(layer)]
    assert "self_attn.in_proj_weight" in names
    assert "self_attn.out_proj.weight" in names
    assert not any("norm" in n or "bias" in n for n in names)


def test_embeddings_and_tied_weights_never_masked():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 4)
            self.mid = nn.Linear(4, 4)
            self.out = nn.Linear(4, 10, bias=False)
            self.out.weight = self.emb.weight

    assert [n for n, _ in masked_parameters(Tied())] == ["mid.weight"]


@pytest.mark.parametrize(
    "masked_layers, expected",
    [
        (None, ["0.weight", "2.weight"]),
        ([nn.Linear], ["0.weight", "2.weight"]),
        ("0", ["0.weight"]),
        (["2*"], ["2.weight"]),
        (lambda name, m: name == "2", ["2.weight"]),
        (nn.Conv2d, []),
    ],
)
def test_masked_layers_choice(masked_layers, expected):
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.Linear(8, 3))
    head = net[3]
    got = [n for n, _ in masked_parameters(net, head, masked_layers)]
    assert got == expected


def test_masked_layers_bad_item():
    with pytest.raises(TypeError, match="masked_layers"):
        masked_parameters(nn.Linear(2, 2), None, [3])


def test_fitted_masked_parameters_and_choice(tiny_cnn, small_digits):
    X, y = small_digits
    every = DLCHardness(tiny_cnn, n_subnets=2).fit(X, y)
    assert every.masked_parameters_ == [
        "features.0.weight",
        "features.2.weight",
        "features.6.weight",
    ]
    convs = DLCHardness(tiny_cnn, n_subnets=2, masked_layers=[nn.Conv2d]).fit(X, y)
    assert convs.masked_parameters_ == ["features.0.weight", "features.2.weight"]
    assert convs.n_masked_weights_ < every.n_masked_weights_


# -- errors a user can hit ---------------------------------------------------


def test_first_batch_failure_names_input(tiny_cnn):
    X = RNG.rand(10, 7).astype(np.float32)  # 7 features, the CNN takes 64
    match = r"DLCHardness.*first samples of X.*shape \(2, 7\)"
    with pytest.raises(ValueError, match=match) as info:
        DLCHardness(tiny_cnn, n_subnets=2).fit(X, np.arange(10) % 2)
    assert isinstance(info.value.__cause__, RuntimeError)


def test_later_failures_pass_through(tiny_cnn, small_digits):
    X, y = small_digits
    calls = []

    def fail_later(module, args):
        calls.append(1)
        if len(calls) > 3:
            raise RuntimeError("boom")

    tiny_cnn.register_forward_pre_hook(fail_later)
    state = state_copy(tiny_cnn)
    with pytest.raises(RuntimeError, match="boom"):
        DLCHardness(tiny_cnn, n_subnets=3, batch_size=50).fit(X, y)
    assert_same_state(tiny_cnn, state)


def test_interrupt_passes_through_unchanged(tiny_cnn, small_digits):
    X, y = small_digits

    def interrupt(module, args):
        raise KeyboardInterrupt

    tiny_cnn.register_forward_pre_hook(interrupt)
    with pytest.raises(KeyboardInterrupt):
        DLCHardness(tiny_cnn, n_subnets=2).fit(X, y)


def test_single_layer_net_says_what_to_do():
    with pytest.raises(ValueError, match="single layer.*masked_layers"):
        DLCHardness(nn.Linear(4, 3), n_subnets=2).fit(RNG.rand(6, 4), Y6[:6])


def test_prototype_head_needs_two_classes(tiny_cnn, small_digits):
    X, _ = small_digits
    with pytest.raises(ValueError, match="at least 2 classes.*1 class"):
        DLCHardness(tiny_cnn, n_subnets=2).fit(X, np.zeros(len(X), dtype=int))


def test_one_output_net_warns():
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    with pytest.warns(UserWarning, match="single output") as record:
        DLCHardness(net, n_subnets=2).fit(RNG.rand(6, 4), Y6[:6])
    assert [w.filename for w in record] == [__file__]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DLCHardness(nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 3)), n_subnets=2).fit(
            RNG.rand(6, 4), Y6[:6]
        )


# -- the device contract -----------------------------------------------------


def test_device_follows_bare_module_parameters():
    from skorch import NeuralNet

    scorer = DLCHardness(nn.Linear(2, 2, device="meta"))
    net, module = scorer._skorch_net()
    assert scorer._resolve_device(net, module) == torch.device("meta")
    user_net = NeuralNet(nn.Linear(2, 2, device="meta"), nn.CrossEntropyLoss)
    scorer = DLCHardness(user_net)
    net, module = scorer._skorch_net()
    assert scorer._resolve_device(net, module) == torch.device("cpu")
    scorer = DLCHardness(user_net, device="meta")
    assert scorer._resolve_device(net, module) == torch.device("meta")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_bare_cuda_module_is_scored_on_cuda(tiny_cnn, small_digits):
    X, y = small_digits
    net = tiny_cnn.cuda()
    seen = []
    net.register_forward_pre_hook(lambda m, a: seen.append(a[0].device.type))
    state = state_copy(net)
    DLCHardness(net, n_subnets=2).fit(X, y)
    assert set(seen) == {"cuda"}
    assert next(net.parameters()).device.type == "cuda"
    assert_same_state(net, state)
