import numpy as np
import pytest
import torch
from torch import nn

# The test networks are tiny: intra-op threads cost more than they save, and
# far more when other jobs share the cores.
torch.set_num_threads(1)


def state_copy(module):
    """A copy of a module's weights and buffers."""
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def assert_same_state(module, state):
    """Assert a module's weights and buffers equal ``state`` bit for bit."""
    now = module.state_dict()
    assert now.keys() == state.keys()
    for k, v in state.items():
        assert now[k].dtype == v.dtype and torch.equal(now[k], v), k


class TinyCNN(nn.Module):
    """A small CNN for 8x8 single-channel images (scikit-learn's digits)."""

    def __init__(self, n_classes=10, width=8):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(2),
            nn.Flatten(),
            nn.Linear(8 * width, 16),
            nn.ReLU(),
        )
        self.head = nn.Linear(16, n_classes)

    def forward(self, x):
        if x.ndim == 2:
            x = x.reshape(-1, 1, 8, 8)
        elif x.ndim == 3:
            x = x.unsqueeze(1)
        return self.head(self.features(x))


class PooledMLP(nn.Module):
    """Accepts any number of features: summary statistics, then an MLP.

    Lets scikit-learn's estimator checks, which vary ``n_features``, run.
    """

    def __init__(self, n_classes=3):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 8), nn.Tanh())
        self.head = nn.Linear(8, n_classes)

    def forward(self, x):
        x = x.reshape(len(x), -1).float()
        stats = torch.stack(
            [x.mean(1), x.std(1, correction=0), x.amax(1), x.amin(1)], dim=1
        )
        return self.head(self.body(stats))


@pytest.fixture
def tiny_cnn():
    torch.manual_seed(0)
    return TinyCNN().eval()


@pytest.fixture(scope="session")
def digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    return X, y


@pytest.fixture
def small_digits(digits):
    X, y = digits
    rng = np.random.RandomState(0)
    idx = rng.choice(len(X), 200, replace=False)
    return X[idx], y[idx]
