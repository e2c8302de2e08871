"""Real model families, built small and random (no downloads): transformers'
BERT and GPT-2, sentence-transformers, ResNet- and ViT-style vision networks,
EfficientNet-Lite0; and how masked weights are materialized."""

import copy

import numpy as np
import pytest
import torch
from conftest import assert_same_state, state_copy
from torch import nn
from torch.nn import functional as F

import sklearn_dlc._engine._masks as masks_module
from sklearn_dlc import DLCHardness, causal_lm_loss, instruction_labels
from sklearn_dlc._engine._masks import NestedMasks

transformers = pytest.importorskip("transformers")

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list("abcdefghijklmnop")
TEXTS = [
    "a b c",
    "d e",
    "f g h i j k",
    "l",
    "m n o p a",
    "b b",
    "c d e f g h i j",
    "k l m",
    "n",
    "o p a b",
    "c",
    "d e f g",
]
Y = np.arange(len(TEXTS)) % 3


def _bert_config(**kw):
    return transformers.BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
        **kw,
    )


@pytest.fixture(scope="module")
def tokenizer():
    return transformers.BertTokenizer(vocab={w: i for i, w in enumerate(VOCAB)})


@pytest.fixture(scope="module")
def encoded(tokenizer):
    return tokenizer(TEXTS, padding=True, return_tensors="pt")


def _prototype_losses(z, y):
    """The prototype head by hand: CE of 1 / distance to the class means."""
    z = z.double()
    y = torch.as_tensor(y)
    mu = torch.stack([z[y == c].mean(0) for c in range(int(y.max()) + 1)])
    return F.cross_entropy(1 / torch.cdist(z, mu), y, reduction="none").numpy()


def _mean_pool(hidden, mask):
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1)


# -- transformers: BERT --------------------------------------------------------


@pytest.mark.parametrize("as_batch_encoding", [False, True])
def test_bert_sequence_classifier(encoded, as_batch_encoding):
    torch.manual_seed(0)
    net = transformers.BertForSequenceClassification(_bert_config(num_labels=3))
    net.eval()
    state = state_copy(net)
    X = encoded if as_batch_encoding else {k: v.numpy() for k, v in encoded.items()}
    proto = DLCHardness(net, n_subnets=3, step=0.2, batch_size=5).fit(X, Y)
    assert proto.head_layer_ == "classifier"
    assert "classifier.weight" not in proto.masked_parameters_
    assert "bert.pooler.dense.weight" in proto.masked_parameters_
    assert not any("embeddings" in n for n in proto.masked_parameters_)
    # Trimmed batches give the logits of the padded ones (the prototype
    # head's 1/distance would magnify float rounding near a prototype).
    kw = dict(n_subnets=3, step=0.2, head="model", batch_size=5)
    trimmed = DLCHardness(net, **kw).fit(X, Y).hardness_
    padded = DLCHardness(net, trim_padding=False, **kw).fit(X, Y).hardness_
    np.testing.assert_allclose(trimmed, padded, rtol=1e-5, atol=1e-6)
    dense = DLCHardness(net, n_subnets=1, head="model", batch_size=5).fit(X, Y)
    with torch.no_grad():
        logits = net(**encoded).logits
    expected = F.cross_entropy(logits, torch.as_tensor(Y), reduction="none")
    np.testing.assert_allclose(dense.hardness_, expected.numpy(), rtol=1e-5)
    assert_same_state(net, state)


def test_bert_headless_prototype_on_mean_pooled_hidden_states(encoded):
    torch.manual_seed(0)
    net = transformers.BertModel(_bert_config()).eval()
    X = {k: v.numpy() for k, v in encoded.items()}
    scorer = DLCHardness(net, n_subnets=1, batch_size=5).fit(X, Y)
    assert scorer.head_layer_ is None
    with torch.no_grad():
        hidden = net(**encoded).last_hidden_state
    z = _mean_pool(hidden, encoded["attention_mask"])
    np.testing.assert_allclose(scorer.hardness_, _prototype_losses(z, Y), rtol=1e-4)


# -- sentence-transformers -------------------------------------------------------


@pytest.fixture(scope="module")
def sentence_model(tmp_path_factory, tokenizer):
    st = pytest.importorskip("sentence_transformers")
    try:
        from sentence_transformers.sentence_transformer.modules import (
            Pooling,
            Transformer,
        )
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.models import Pooling, Transformer

    path = tmp_path_factory.mktemp("tiny_bert")
    torch.manual_seed(0)
    # BertModel keeps its pooler: sentence-transformers never uses it.
    transformers.BertModel(_bert_config()).save_pretrained(path)
    tokenizer.save_pretrained(path)
    body = Transformer(str(path))
    pooling = Pooling(16, "mean")
    return st.SentenceTransformer(modules=[body, pooling], device="cpu").eval()


def test_sentence_transformer_dict_input_picks_no_pooler(sentence_model):
    model = sentence_model
    assert any(n.endswith("pooler.dense") for n, _ in model.named_modules())
    features = model.tokenize(TEXTS)
    assert isinstance(features["modality"], str)
    X = dict(features)
    state = state_copy(model)
    scorer = DLCHardness(model, n_subnets=1, batch_size=5).fit(X, Y)
    assert scorer.head_layer_ is None
    z = model.encode(TEXTS, convert_to_tensor=True, batch_size=len(TEXTS))
    np.testing.assert_allclose(scorer.hardness_, _prototype_losses(z, Y), rtol=1e-4)
    masked = DLCHardness(model, n_subnets=3, step=0.2, batch_size=5).fit(X, Y)
    assert np.isfinite(masked.hardness_).all()
    assert_same_state(model, state)


def test_sentence_transformer_raw_texts_with_its_tokenizer(sentence_model):
    model = sentence_model
    kw = dict(n_subnets=3, step=0.2, batch_size=5)
    raw = DLCHardness(model, tokenizer=model.tokenizer, **kw).fit(TEXTS, Y)
    pre = DLCHardness(model, trim_padding=False, **kw).fit(
        dict(model.tokenize(TEXTS)), Y
    )
    np.testing.assert_allclose(raw.hardness_, pre.hardness_, rtol=1e-5, atol=1e-6)


# -- transformers: GPT-2 with the causal-LM loss ------------------------------


@pytest.fixture(scope="module")
def gpt2_data():
    torch.manual_seed(0)
    config = transformers.GPT2Config(
        vocab_size=60,
        n_positions=32,
        n_embd=16,
        n_layer=2,
        n_head=2,
        bos_token_id=0,
        eos_token_id=0,
    )
    net = transformers.GPT2LMHeadModel(config).eval()
    rng = np.random.RandomState(0)
    n, width = 10, 14
    lengths = rng.randint(5, width + 1, n)
    mask = (np.arange(width)[None] < lengths[:, None]).astype(np.int64)
    ids = rng.randint(1, 60, (n, width)) * mask
    labels = instruction_labels(ids, rng.randint(1, 4, n), mask)
    return net, {"input_ids": ids, "attention_mask": mask}, labels


def _hand_scores(net, X, labels, masked_names):
    """Mean of the dense and the 20%-per-layer magnitude-masked token NLL."""
    inputs = {k: torch.as_tensor(v) for k, v in X.items()}
    pruned = copy.deepcopy(net)
    params = dict(pruned.named_parameters())
    with torch.no_grad():
        for name in masked_names:
            flat = params[name].data.view(-1)
            order = torch.argsort(flat.abs(), stable=True)
            flat[order[: round(0.2 * flat.numel())]] = 0
        dense = causal_lm_loss(net(**inputs).logits, labels)
        sparse = causal_lm_loss(pruned(**inputs).logits, labels)
    return ((dense + sparse) / 2).numpy()


@pytest.mark.parametrize("working_copies", ["persistent", "per_access"])
def test_gpt2_causal_lm_scores_by_hand(gpt2_data, monkeypatch, working_copies):
    net, X, labels = gpt2_data
    if working_copies == "per_access":
        monkeypatch.setattr(masks_module, "PER_ACCESS_BYTES", 0)
    state = state_copy(net)
    scorer = DLCHardness(
        net,
        n_subnets=2,
        step=0.2,
        scope="layer",
        head="model",
        criterion=causal_lm_loss,
        batch_size=4,
    ).fit(X, labels)
    conv1d = {
        f"{name}.weight"
        for name, m in net.named_modules()
        if type(m).__name__ == "Conv1D"
    }
    assert set(scorer.masked_parameters_) == conv1d and len(conv1d) == 8
    assert "lm_head.weight" not in scorer.masked_parameters_
    assert not any(n.startswith(("transformer.wte", "transformer.wpe")) for n in conv1d)
    expected = _hand_scores(net, X, labels, scorer.masked_parameters_)
    np.testing.assert_allclose(scorer.hardness_, expected, rtol=1e-5)
    assert_same_state(net, state)
    assert all(
        type(m).__name__ != "Conv1D" or "_dlc_masked" not in vars(m)
        for m in net.modules()
    )


# -- vision without torchvision ----------------------------------------------


class BasicBlock(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(x + self.bn2(self.conv2(out)))


class MiniResNet(nn.Module):
    def __init__(self, n_classes=3, width=8):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.layer1 = nn.Sequential(BasicBlock(width), BasicBlock(width))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(width, n_classes)

    def forward(self, x):
        x = self.layer1(F.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class MiniViT(nn.Module):
    def __init__(self, n_classes=3, dim=16):
        super().__init__()
        self.patch = nn.Conv2d(3, dim, 4, 4)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, 17, dim) * 0.02)
        layer = nn.TransformerEncoderLayer(dim, 2, 2 * dim, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, n_classes)

    def forward(self, x):
        z = self.patch(x).flatten(2).transpose(1, 2)
        z = torch.cat([self.cls.expand(len(z), -1, -1), z], 1) + self.pos
        return self.head(self.norm(self.encoder(z))[:, 0])


IMAGES = np.random.RandomState(0).rand(24, 3, 16, 16).astype(np.float32)
Y_IMAGES = np.arange(24) % 3


def test_resnet_style_head_fc():
    torch.manual_seed(0)
    net = MiniResNet().eval()
    scorer = DLCHardness(net, n_subnets=3, step=0.2).fit(IMAGES, Y_IMAGES)
    assert scorer.head_layer_ == "fc"
    convs = [n for n, m in net.named_modules() if isinstance(m, nn.Conv2d)]
    assert scorer.masked_parameters_ == [f"{n}.weight" for n in convs]


def test_vit_style_masks_attention_projections(monkeypatch):
    torch.manual_seed(0)
    net = MiniViT().eval()
    state = state_copy(net)
    kw = dict(n_subnets=3, step=0.2, store_subnet_scores=True)
    persistent = DLCHardness(net, head_layer="head", **kw).fit(IMAGES, Y_IMAGES)
    names = persistent.masked_parameters_
    assert "encoder.layers.0.self_attn.in_proj_weight" in names
    assert "encoder.layers.1.self_attn.out_proj.weight" in names
    assert "patch.weight" in names and "head.weight" not in names
    # MultiheadAttention reads out_proj.weight and the encoder layer's fast
    # path reads all weights without calling the layers: masked per access too.
    monkeypatch.setattr(masks_module, "PER_ACCESS_BYTES", 0)
    per_access = DLCHardness(net, head_layer="head", **kw).fit(IMAGES, Y_IMAGES)
    np.testing.assert_allclose(
        per_access.subnet_scores_, persistent.subnet_scores_, rtol=1e-6
    )
    assert not np.allclose(
        persistent.subnet_scores_[:, 2], persistent.subnet_scores_[:, 0]
    )
    assert_same_state(net, state)


def test_vit_style_head_detected_with_root_parameters():
    # The class token and position embeddings are parameters of the top
    # module itself, as in timm's VisionTransformer.
    torch.manual_seed(0)
    net = MiniViT().eval()
    scorer = DLCHardness(net, n_subnets=2, step=0.2).fit(IMAGES, Y_IMAGES)
    assert scorer.head_layer_ == "head"


def test_efficientnet_lite0_head_fc():
    efficientnet = pytest.importorskip("efficientnet_lite_pytorch")
    torch.manual_seed(0)
    net = efficientnet.EfficientNet.from_name("efficientnet-lite0", num_classes=3)
    net.eval()
    state = state_copy(net)
    X = np.random.RandomState(0).rand(6, 3, 32, 32).astype(np.float32)
    scorer = DLCHardness(net, n_subnets=2, step=0.2).fit(X, np.arange(6) % 2)
    assert scorer.head_layer_ == "_fc"
    assert "_fc.weight" not in scorer.masked_parameters_
    assert "_conv_stem.weight" in scorer.masked_parameters_
    assert np.isfinite(scorer.hardness_).all()
    assert_same_state(net, state)


# -- how masked weights are materialized -------------------------------------


def _tied_params():
    torch.manual_seed(0)
    # Rounded weights tie a lot, so the cuts must order ties by position.
    return [
        nn.Parameter(torch.randn(12, 10).round(decimals=1)),
        nn.Parameter(torch.randn(5, 4, 3).round(decimals=1)),
        nn.Parameter(torch.randn(40).round(decimals=1)),
    ]


def _reference(params, scope, count):
    """Zero the ``count`` smallest |w| by a stable sort (global or per tensor)."""
    out = [p.detach().clone().view(-1) for p in params]
    if scope == "global":
        order = torch.argsort(torch.cat(out).abs(), stable=True)[
            : count(sum(map(len, out)))
        ]
        offset = 0
        for o in out:
            hit = order[(order >= offset) & (order < offset + len(o))] - offset
            o[hit] = 0
            offset += len(o)
    else:
        for o in out:
            o[torch.argsort(o.abs(), stable=True)[: count(len(o))]] = 0
    return out


@pytest.mark.parametrize("scope", ["global", "layer"])
def test_magnitude_cuts_match_a_stable_sort_in_any_order(scope):
    params = _tied_params()
    before = [p.detach().clone() for p in params]
    masks = NestedMasks(
        params,
        masking="magnitude",
        scope=scope,
        n_subnets=5,
        step=0.3,
        schedule="geometric",
        rng=np.random.RandomState(0),
    )
    with masks.applied():
        for k in [3, 1, 4, 0, 2, 3]:
            masks.prune_to(k)
            expected = _reference(
                before,
                scope,
                lambda n, k=k: int(
                    masks_module.pruned_counts(n, 5, 0.3, "geometric")[k]
                ),
            )
            for p, e in zip(params, expected):
                assert torch.equal(p.detach().view(-1), e)
    for p, b in zip(params, before):
        assert torch.equal(p.detach(), b)


def test_per_access_computes_weights_on_read_and_restores():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    state = state_copy(net)
    weight = net[0].weight
    masks = NestedMasks(
        [weight],
        masking="magnitude",
        scope="global",
        n_subnets=3,
        step=0.5,
        schedule="geometric",
        rng=np.random.RandomState(0),
        module=net,
        working_copies="per_access",
    )
    with masks.applied():
        masks.prune_to(2)
        read = net[0].weight
        assert read is not weight and read.data_ptr() != weight.data_ptr()
        assert int((read == 0).sum()) == 32 - 8
        assert dict(net.named_parameters())["0.weight"] is weight
        assert isinstance(net[0], nn.Linear)
    assert type(net[0]) is nn.Linear and net[0].weight is weight
    assert_same_state(net, state)


def test_per_access_interrupted_leaves_model_intact(monkeypatch):
    monkeypatch.setattr(masks_module, "PER_ACCESS_BYTES", 0)
    torch.manual_seed(0)
    net = MiniViT().eval()
    state = state_copy(net)
    calls = []

    def interrupt(module, args):
        calls.append(1)
        if len(calls) > 4:
            raise KeyboardInterrupt

    net.head.register_forward_pre_hook(interrupt)
    with pytest.raises(KeyboardInterrupt):
        DLCHardness(net, n_subnets=3, batch_size=8, head_layer="head").fit(
            IMAGES, Y_IMAGES
        )
    assert_same_state(net, state)
    assert all("_dlc_masked" not in vars(m) for m in net.modules())
    assert type(net.encoder.layers[0].linear1) is nn.Linear


def test_per_access_needs_the_module():
    with pytest.raises(ValueError, match="needs the module"):
        NestedMasks(
            _tied_params(),
            masking="random",
            scope="global",
            n_subnets=2,
            step=0.5,
            schedule="geometric",
            rng=np.random.RandomState(0),
            working_copies="per_access",
        )


def test_magnitude_masks_detach_and_bind_to_a_copy():
    torch.manual_seed(0)
    net = MiniViT().eval()
    copied = copy.deepcopy(net)

    def weights(m):
        return [p for n, p in m.named_parameters() if n.endswith("in_proj_weight")]

    masks = NestedMasks(
        weights(net),
        masking="magnitude",
        scope="global",
        n_subnets=4,
        step=0.3,
        schedule="geometric",
        rng=np.random.RandomState(0),
        module=net,
        working_copies="per_access",
    )
    shipped = masks.detached()
    assert shipped.params == [] and shipped.module is None
    bound = shipped.bind(weights(copied))
    assert bound.working_copies == "persistent"
    on_module = shipped.bind(weights(copied), module=copied)
    assert on_module.working_copies == "per_access"
    for k in (3, 1):
        with masks.applied():
            masks.prune_to(k)
            expected = [layer.self_attn.in_proj_weight for layer in net.encoder.layers]
            with bound.applied():
                bound.prune_to(k)
                for a, b in zip(expected, weights(copied)):
                    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="sizes the masks were made for"):
        shipped.bind(weights(copied)[1:])
