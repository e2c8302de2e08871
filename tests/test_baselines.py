import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import PooledMLP, TinyCNN, assert_same_state, state_copy
from imblearn.pipeline import Pipeline
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks
from skorch import NeuralNetClassifier
from torch import nn
from torch.utils.data import TensorDataset

from sklearn_dlc import (
    ConfidenceHardness,
    DLCHardness,
    FlexRandSampler,
    TrainingDynamicsHardness,
)
from sklearn_dlc._training_hardness import count_forgetting_events


def _bn_net():
    torch.manual_seed(0)
    # No bias before the batch norm: its gradient is pure rounding noise,
    # which Adam would blow up to a step of size lr.
    net = nn.Sequential(
        nn.Flatten(),
        nn.Linear(64, 16, bias=False),
        nn.BatchNorm1d(16),
        nn.ReLU(),
        nn.Linear(16, 10),
    )
    net[2].running_mean.uniform_(-0.5, 0.5)
    return net.eval()


def _probs(net, X):
    with torch.no_grad():
        return net(torch.as_tensor(X)).double().softmax(1)


# -- ConfidenceHardness ---------------------------------------------------


def test_confidence_scores_by_hand(tiny_cnn, small_digits):
    X, y = small_digits
    p = _probs(tiny_cnn, X)
    top2 = p.topk(2, dim=1).values
    lc = ConfidenceHardness(tiny_cnn).fit(X, y).hardness_
    np.testing.assert_allclose(lc, 1 - p.amax(1).numpy(), rtol=1e-5)
    ent = ConfidenceHardness(tiny_cnn, method="entropy").fit(X, y).hardness_
    expected = -(p * p.log()).sum(1).numpy()
    np.testing.assert_allclose(ent, expected, rtol=1e-4)
    margin = ConfidenceHardness(tiny_cnn, method="margin").fit(X, y).hardness_
    p_true = p[torch.arange(len(y)), torch.as_tensor(y)]
    other = p.clone()
    other[torch.arange(len(y)), torch.as_tensor(y)] = -1
    expected = (1 - (p_true - other.amax(1))).numpy()
    np.testing.assert_allclose(margin, expected, rtol=1e-5, atol=1e-7)
    predicted = p.argmax(1).numpy() == y
    # Where the net predicts y, the label-aware margin is the classic one.
    np.testing.assert_allclose(
        margin[predicted], 1 - (top2[:, 0] - top2[:, 1]).numpy()[predicted], atol=1e-6
    )
    assert np.all(margin[~predicted] > 1)


def test_confidence_skorch_probabilities_and_label_mapping(tiny_cnn, small_digits):
    X, y = small_digits
    labels = np.array([f"digit{d}" for d in range(10)])
    net = NeuralNetClassifier(
        nn.Sequential(tiny_cnn, nn.Softmax(dim=1)), classes=labels, batch_size=16
    )
    got = ConfidenceHardness(net, method="margin").fit(X, labels[y])
    want = ConfidenceHardness(tiny_cnn, method="margin").fit(X, y)
    np.testing.assert_allclose(got.hardness_, want.hardness_, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(got.classes_, np.sort(labels))


def test_dense_prototype_baseline_is_one_subnet_dlc(tiny_cnn, small_digits):
    X, y = small_digits
    dense = DLCHardness(tiny_cnn, n_subnets=1).fit(X, y).hardness_
    with torch.no_grad():
        z = tiny_cnn.features(torch.as_tensor(X)).double()
    protos = torch.stack([z[torch.as_tensor(y) == c].mean(0) for c in range(10)])
    logits = 1 / torch.cdist(z, protos)
    expected = F.cross_entropy(logits, torch.as_tensor(y), reduction="none")
    np.testing.assert_allclose(dense, expected.numpy(), rtol=1e-6)


def test_confidence_in_pipeline_hands_scores_to_sampler(tiny_cnn, small_digits):
    X, y = small_digits
    scores = ConfidenceHardness(tiny_cnn, method="entropy").fit(X, y).hardness_
    pipe = Pipeline(
        [
            ("score", ConfidenceHardness(tiny_cnn, method="entropy")),
            ("prune", FlexRandSampler(0.7, random_state=0)),
        ]
    )
    X_kept, y_kept = pipe.fit_resample(X, y)
    direct = FlexRandSampler(0.7, random_state=0).fit(X, y, hardness=scores)
    np.testing.assert_array_equal(pipe["prune"].sample_indices_, direct.sample_indices_)
    np.testing.assert_array_equal(X_kept, X[direct.sample_indices_])


# -- TrainingDynamicsHardness ---------------------------------------------


def test_count_forgetting_events_by_hand():
    correct = np.array(
        [
            [1, 0, 1, 0, 1],
            [0, 0, 1, 1, 1],
            [1, 0, 0, 0, 1],
            [0, 0, 1, 1, 1],
        ],
        dtype=bool,
    )
    # sample 0: 1->0, 1->0; 1 never learned; 2: 1->0; 3: 1->0; 4: never forgotten.
    np.testing.assert_array_equal(count_forgetting_events(correct), [2, 5, 1, 1, 0])
    with pytest.raises(ValueError, match="2-D"):
        count_forgetting_events([True, False])


def _adam_step_by_hand(net, X, y, lr):
    """One full-batch Adam step on a copy (the order of a full batch is moot)."""
    net = copy.deepcopy(net).train()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    opt.zero_grad()
    F.cross_entropy(net(torch.as_tensor(X)), torch.as_tensor(y)).backward()
    opt.step()
    return net.eval()


def test_el2n_and_loss_history_by_hand_on_one_epoch(small_digits):
    X, y = small_digits
    net = _bn_net()
    state = state_copy(net)
    scorer = TrainingDynamicsHardness(
        net, method="el2n", max_epochs=1, lr=0.01, batch_size=len(X), random_state=0
    ).fit(X, y)
    assert_same_state(net, state)
    tuned = _adam_step_by_hand(net, X, y, lr=0.01)
    p = _probs(tuned, X)
    expected = (p - F.one_hot(torch.as_tensor(y), 10)).norm(dim=1).numpy()
    np.testing.assert_allclose(scorer.hardness_, expected, rtol=1e-4, atol=1e-6)
    for row, model in enumerate([net, tuned]):
        loss = -_probs(model, X).log()[torch.arange(len(y)), torch.as_tensor(y)]
        np.testing.assert_allclose(
            scorer.loss_history_[row], loss.numpy(), rtol=1e-4, atol=1e-6
        )
    assert scorer.n_epochs_ == 1
    integral = TrainingDynamicsHardness(
        net, max_epochs=1, lr=0.01, batch_size=len(X), random_state=0
    ).fit(X, y)
    np.testing.assert_allclose(integral.hardness_, integral.loss_history_[1])
    np.testing.assert_allclose(integral.loss_history_, scorer.loss_history_)


def test_grand_by_hand_with_batchnorm(small_digits):
    X, y = small_digits[0][:40], small_digits[1][:40]
    net = _bn_net()
    scorer = TrainingDynamicsHardness(
        net, method="grand", score_epoch=0, batch_size=16, random_state=0
    ).fit(X, y)
    assert scorer.n_epochs_ == 0 and scorer.loss_history_.shape == (1, 40)
    expected = []
    for xi, yi in zip(torch.as_tensor(X), torch.as_tensor(y)):
        net.zero_grad()
        F.cross_entropy(net(xi[None]), yi[None]).backward()
        expected.append(
            torch.cat([p.grad.flatten() for p in net.parameters()]).norm().item()
        )
    np.testing.assert_allclose(scorer.hardness_, expected, rtol=1e-4)


@pytest.mark.parametrize("method", ["loss_integral", "el2n", "grand", "forgetting"])
def test_training_leaves_net_and_global_rng_untouched(small_digits, method):
    X, y = small_digits
    torch.manual_seed(0)
    module = TinyCNN().train()
    net = NeuralNetClassifier(
        module, criterion=nn.CrossEntropyLoss, classes=list(range(10)), batch_size=32
    ).initialize()
    state = state_copy(module)
    rng_state = torch.get_rng_state()
    kw = dict(method=method, max_epochs=3, score_epoch=2, random_state=0)
    a = TrainingDynamicsHardness(net, **kw).fit(X, y)
    b = TrainingDynamicsHardness(module, batch_size=32, **kw).fit(X, y)
    assert_same_state(module, state)
    assert all(m.training for m in module.modules())
    assert torch.equal(torch.get_rng_state(), rng_state)
    np.testing.assert_array_equal(a.hardness_, b.hardness_)
    assert np.all(np.isfinite(a.hardness_)) and a.hardness_.shape == (len(X),)
    if method == "forgetting":
        np.testing.assert_array_equal(
            a.hardness_, count_forgetting_events(a.correct_history_)
        )
    if method == "loss_integral":
        np.testing.assert_allclose(a.hardness_, a.loss_history_[1:].mean(0))


def test_training_is_seeded_and_accepts_datasets(small_digits):
    X, y = small_digits
    torch.manual_seed(0)
    module = TinyCNN()
    kw = dict(max_epochs=2, batch_size=32)
    a = TrainingDynamicsHardness(module, random_state=0, **kw).fit(X, y).hardness_
    c = TrainingDynamicsHardness(module, random_state=1, **kw).fit(X, y).hardness_
    ds = TensorDataset(torch.as_tensor(X), torch.zeros(len(X)))
    d = TrainingDynamicsHardness(module, random_state=0, **kw).fit(ds, y).hardness_
    assert not np.allclose(a, c)
    np.testing.assert_allclose(d, a, rtol=1e-5)


# -- errors and scikit-learn compatibility --------------------------------


@pytest.mark.parametrize(
    "cls, params, match",
    [
        (ConfidenceHardness, {"method": "top2"}, "'method' parameter"),
        (ConfidenceHardness, {"batch_size": 0}, "'batch_size' parameter"),
        (TrainingDynamicsHardness, {"method": "aum"}, "'method' parameter"),
        (TrainingDynamicsHardness, {"max_epochs": 0}, "'max_epochs' parameter"),
        (TrainingDynamicsHardness, {"lr": -1.0}, "'lr' parameter"),
        (TrainingDynamicsHardness, {"optimizer": "adam"}, "'optimizer' parameter"),
        (TrainingDynamicsHardness, {"score_epoch": -1}, "'score_epoch' parameter"),
    ],
)
def test_invalid_parameters_are_named(cls, params, match):
    X, y = np.zeros((6, 4)), np.array([0, 1, 2] * 2)
    with pytest.raises(InvalidParameterError, match=match):
        cls(PooledMLP(), **params).fit(X, y)


@pytest.mark.parametrize("cls", [ConfidenceHardness, TrainingDynamicsHardness])
def test_bad_targets(cls):
    X = np.random.RandomState(0).rand(6, 4)
    with pytest.raises(ValueError, match="requires y"):
        cls(PooledMLP()).fit(X, None)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        cls(PooledMLP()).fit(X, [0, 1, 2])
    with pytest.raises(ValueError, match="labels unknown to the net"):
        cls(PooledMLP(n_classes=3)).fit(X, [0, 1, 2, 3, 4, 5])


def test_score_epoch_beyond_max_epochs():
    X, y = np.random.RandomState(0).rand(6, 4), np.array([0, 1, 2] * 2)
    scorer = TrainingDynamicsHardness(
        PooledMLP(), method="el2n", max_epochs=2, score_epoch=3
    )
    with pytest.raises(ValueError, match="score_epoch must be <= max_epochs=2"):
        scorer.fit(X, y)
    # Other methods ignore score_epoch.
    TrainingDynamicsHardness(PooledMLP(), max_epochs=2, score_epoch=3).fit(X, y)


_EXPECTED_FAILURES = {
    "check_estimators_overwrite_params": (
        "joblib.hash of a torch module differs between deep copies of the "
        "same weights; tests check the weights bit for bit instead"
    ),
}


@parametrize_with_checks(
    [
        ConfidenceHardness(PooledMLP(n_classes=10), method="margin"),
        TrainingDynamicsHardness(
            PooledMLP(n_classes=10), method="forgetting", max_epochs=2, batch_size=16
        ),
    ],
    expected_failed_checks=lambda est: _EXPECTED_FAILURES,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize(
    "cls, params",
    [
        (ConfidenceHardness, {"method": "margin"}),
        (TrainingDynamicsHardness, {"method": "grand", "score_epoch": 0}),
        (TrainingDynamicsHardness, {"method": "el2n", "max_epochs": 1}),
        (TrainingDynamicsHardness, {"method": "forgetting", "max_epochs": 2}),
    ],
)
def test_cuda_matches_cpu_and_leaves_module_on_cpu(small_digits, cls, params):
    X, y = small_digits
    net = _bn_net()
    state = state_copy(net)
    if cls is TrainingDynamicsHardness:
        params = {**params, "batch_size": len(X), "lr": 0.01, "random_state": 0}
    cpu = cls(net, **params).fit(X, y).hardness_
    gpu = cls(net, device="cuda", **params).fit(X, y).hardness_
    assert_same_state(net, state)
    assert next(net.parameters()).device.type == "cpu"
    if params.get("method") == "forgetting":
        # Integer counts: a near-tie between two logits may flip on GPU.
        assert np.mean(gpu == cpu) > 0.97
    else:
        np.testing.assert_allclose(gpu, cpu, rtol=1e-3, atol=1e-4)
