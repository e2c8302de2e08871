"""Text inputs: raw strings with a tokenizer, length grouping and padding
trimming, the causal-LM loss and instruction labels."""

import numpy as np
import pytest
import torch
from conftest import assert_same_state, state_copy
from imblearn.pipeline import Pipeline
from sklearn.utils._param_validation import InvalidParameterError
from torch import nn

from sklearn_dlc import (
    DLCHardness,
    FlexRandSampler,
    causal_lm_loss,
    instruction_labels,
)
from sklearn_dlc._engine._text import TextBatches, last_real_column

VOCAB = 40


class MaskedMean(nn.Module):
    """Token classifier that ignores padded positions through the mask."""

    def __init__(self, n_classes=3):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, 8)
        self.body = nn.Linear(8, 8)
        self.head = nn.Linear(8, n_classes)

    def forward(self, input_ids, attention_mask):
        h = torch.tanh(self.body(self.emb(input_ids)))
        m = attention_mask.unsqueeze(-1).to(h.dtype)
        return self.head((h * m).sum(1) / m.sum(1).clamp_min(1))


class TinyCausalLM(nn.Module):
    """Next-token logits from the current and previous token (causal)."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, 8)
        self.mix = nn.Linear(16, 8)
        self.lm = nn.Linear(8, VOCAB)

    def forward(self, input_ids, attention_mask):
        e = self.emb(input_ids)
        prev = torch.cat([torch.zeros_like(e[:, :1]), e[:, :-1]], 1)
        return {"logits": self.lm(torch.tanh(self.mix(torch.cat([e, prev], -1))))}


def _padded(n=30, width=16, seed=0, left=False):
    rng = np.random.RandomState(seed)
    lengths = rng.randint(2, width // 2, n)
    lengths[:2] = width // 2 + 3  # two long ones, kept in one batch
    mask = (np.arange(width)[None] < lengths[:, None]).astype(np.int64)
    if left:
        mask = mask[:, ::-1].copy()
    ids = rng.randint(1, VOCAB, (n, width)) * mask
    return {"input_ids": ids, "attention_mask": mask}


def _widths(net):
    seen = []
    net.register_forward_pre_hook(
        lambda m, args, kwargs: seen.append(kwargs["input_ids"].shape[1]),
        with_kwargs=True,
    )
    return seen


@pytest.mark.parametrize("head", ["prototype", "model"])
def test_trimmed_grouped_scores_equal_padded(head):
    torch.manual_seed(0)
    net = MaskedMean().eval()
    X, y = _padded(), np.arange(30) % 3
    seen = _widths(net)
    kw = dict(n_subnets=3, step=0.2, head=head, batch_size=8)
    trimmed = DLCHardness(net, **kw).fit(X, y).hardness_
    n_trimmed = len(seen)
    padded = DLCHardness(net, trim_padding=False, **kw).fit(X, y).hardness_
    # Batches really were narrower than the padded width, and longest first.
    assert max(seen[:n_trimmed]) == 11 and min(seen[:n_trimmed]) < 8
    assert set(seen[n_trimmed:]) == {16}
    np.testing.assert_allclose(trimmed, padded, rtol=1e-5, atol=1e-6)


def test_grouping_restores_original_order():
    torch.manual_seed(0)
    net = MaskedMean().eval()
    X, y = _padded(), np.arange(30) % 3
    batches = TextBatches(
        {k: torch.as_tensor(v) for k, v in X.items()}, 8, torch.device("cpu")
    )
    lengths = X["attention_mask"].sum(1)
    assert not torch.equal(batches.order, torch.arange(30))
    np.testing.assert_array_equal(
        lengths[batches.order.numpy()], np.sort(lengths)[::-1]
    )
    losses = torch.arange(30.0)[:, None]
    restored = batches.restore(losses)
    np.testing.assert_array_equal(restored[batches.order, 0], losses[:, 0])
    # Each sample's own score comes back to it: score samples one by one.
    scorer = DLCHardness(net, n_subnets=1, head="model", batch_size=7).fit(X, y)
    with torch.no_grad():
        one_by_one = [
            nn.functional.cross_entropy(
                net(
                    torch.as_tensor(X["input_ids"][i : i + 1, : lengths[i]]),
                    torch.as_tensor(X["attention_mask"][i : i + 1, : lengths[i]]),
                ),
                torch.as_tensor(y[i : i + 1]),
            ).item()
            for i in range(30)
        ]
    np.testing.assert_allclose(scorer.hardness_, one_by_one, rtol=1e-5)


def test_left_padding_left_alone():
    torch.manual_seed(0)
    net = MaskedMean().eval()
    X = _padded(left=True)
    tensors = {k: torch.as_tensor(v) for k, v in X.items()}
    assert TextBatches(tensors, 8, torch.device("cpu")).order is None
    seen = _widths(net)
    DLCHardness(net, n_subnets=2, batch_size=8).fit(X, np.arange(30) % 3)
    assert set(seen) == {16}


def test_token_labels_trimmed_along():
    torch.manual_seed(0)
    net = TinyCausalLM().eval()
    X = _padded(n=20, seed=1)
    labels = instruction_labels(X["input_ids"], np.full(20, 1), X["attention_mask"])
    kw = dict(n_subnets=3, step=0.2, head="model", criterion=causal_lm_loss)
    seen = _widths(net)
    trimmed = DLCHardness(net, batch_size=6, **kw).fit(X, labels).hardness_
    assert min(seen) < 16
    padded = DLCHardness(net, batch_size=6, trim_padding=False, **kw)
    np.testing.assert_allclose(
        trimmed, padded.fit(X, labels).hardness_, rtol=1e-5, atol=1e-6
    )


def test_label_past_the_mask_keeps_its_column():
    mask = torch.tensor([[1, 1, 0, 0, 0], [1, 0, 0, 0, 0]])
    labels = torch.full((2, 5), -100)
    labels[1, 3] = 7
    np.testing.assert_array_equal(last_real_column(mask, labels), [2, 4])
    np.testing.assert_array_equal(last_real_column(mask), [2, 1])


# -- raw strings and a tokenizer ------------------------------------------------


def word_tokenizer(texts, padding=True, truncation=True, return_tensors="pt"):
    """A stand-in for a transformers tokenizer: one id per word, right padding."""
    assert padding is True and truncation is True and return_tensors == "pt"
    rows = [[1 + sum(map(ord, w)) % (VOCAB - 1) for w in t.split()][:12] for t in texts]
    width = max(1, max(len(r) for r in rows))
    ids = torch.zeros(len(rows), width, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
        mask[i, : len(r)] = 1
    return {"input_ids": ids, "attention_mask": mask}


TEXTS = [
    "my card has not arrived",
    "how do I top up",
    "refund please",
    "the exchange rate on my statement looks wrong to me",
    "card declined",
    "why was I charged a fee for this transfer",
    "lost card",
    "can I change my PIN at an ATM",
    "top up failed",
    "where is my money",
    "cash withdrawal not recognised",
    "pending payment",
]
Y_TEXT = np.arange(len(TEXTS)) % 3


@pytest.mark.parametrize("as_type", [list, np.array, "series"])
def test_raw_texts_with_tokenizer_match_pretokenized(as_type):
    torch.manual_seed(0)
    net = MaskedMean().eval()
    state = state_copy(net)
    if as_type == "series":
        pd = pytest.importorskip("pandas")
        texts = pd.Series(TEXTS)
    else:
        texts = as_type(TEXTS)
    kw = dict(n_subnets=3, step=0.2, batch_size=5)
    got = DLCHardness(net, tokenizer=word_tokenizer, **kw).fit(texts, Y_TEXT)
    pre = word_tokenizer(TEXTS)
    expected = DLCHardness(net, trim_padding=False, **kw).fit(pre, Y_TEXT)
    np.testing.assert_allclose(got.hardness_, expected.hardness_, rtol=1e-5)
    assert_same_state(net, state)


def test_raw_texts_through_pipeline_keep_strings():
    torch.manual_seed(0)
    net = MaskedMean().eval()
    pipe = Pipeline(
        [
            ("score", DLCHardness(net, n_subnets=2, tokenizer=word_tokenizer)),
            ("prune", FlexRandSampler(0.5, random_state=0)),
        ]
    )
    X_kept, y_kept = pipe.fit_resample(TEXTS, Y_TEXT)
    kept = pipe[-1].sample_indices_
    assert type(X_kept) is list and len(X_kept) == 6
    assert list(X_kept) == [TEXTS[i] for i in kept]
    np.testing.assert_array_equal(y_kept, Y_TEXT[kept])


def test_batch_encoding_through_pipeline():
    # transformers' tokenizers return a BatchEncoding: a Mapping, not a dict.
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    net = MaskedMean().eval()
    X, y = _padded(), np.arange(30) % 3
    batch = transformers.BatchEncoding({k: torch.from_numpy(v) for k, v in X.items()})
    kw = dict(n_subnets=2, step=0.2)
    pipe = Pipeline(
        [("score", DLCHardness(net, **kw)), ("prune", FlexRandSampler(0.5))]
    )
    X_kept, y_kept = pipe.fit_resample(batch, y)
    kept = pipe[-1].sample_indices_
    assert type(X_kept) is transformers.BatchEncoding and len(kept) == 15
    for key, value in X.items():
        np.testing.assert_array_equal(X_kept[key].numpy(), value[kept])
    np.testing.assert_array_equal(y_kept, y[kept])
    expected = DLCHardness(net, **kw).fit(X, y).hardness_
    np.testing.assert_array_equal(pipe[0].hardness_, expected)


@pytest.mark.parametrize(
    "X, match",
    [
        ("one string", "1-D sequence of str"),
        ([["a", "b"], ["c", "d"]], "pairs are scored by a per-sample token loss"),
        (["fine", 3], "sample 1 is int"),
        (np.array([["a"], ["b"]]), "sample 0 is ndarray"),
    ],
)
def test_bad_texts(X, match):
    scorer = DLCHardness(MaskedMean(), tokenizer=word_tokenizer, n_subnets=2)
    with pytest.raises(ValueError, match=match):
        scorer.fit(X, np.arange(len(X)) % 2)


def test_tokenizer_must_return_mapping():
    def bad(texts, **kwargs):
        return [len(t) for t in texts]

    with pytest.raises(TypeError, match="tokenizer must return a mapping"):
        DLCHardness(MaskedMean(), tokenizer=bad, n_subnets=2).fit(TEXTS, Y_TEXT)


@pytest.mark.parametrize(
    "params", [{"tokenizer": "bert-base-uncased"}, {"trim_padding": "yes"}]
)
def test_bad_text_parameters(params):
    with pytest.raises(InvalidParameterError, match=next(iter(params))):
        DLCHardness(MaskedMean(), **params).fit(TEXTS, Y_TEXT)


def test_tokenizer_with_memory_cache(tmp_path):
    torch.manual_seed(0)
    net = MaskedMean().eval()
    kw = dict(n_subnets=2, tokenizer=word_tokenizer, memory=str(tmp_path))
    first = DLCHardness(net, **kw).fit(TEXTS, Y_TEXT).hardness_
    calls = _widths(net)
    again = DLCHardness(net, **kw).fit(list(TEXTS), Y_TEXT).hardness_
    assert calls == []  # served from the cache
    np.testing.assert_array_equal(first, again)


# -- causal_lm_loss and instruction_labels -----------------------------------


def test_causal_lm_loss_by_hand():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 6, 11, generator=gen)
    labels = torch.randint(0, 11, (3, 6), generator=gen)
    labels[:, :2] = -100
    labels[2, 4:] = -100
    got = causal_lm_loss(logits, labels)
    logp = logits.log_softmax(-1)
    for i in range(3):
        terms = [
            -logp[i, t - 1, labels[i, t]] for t in range(1, 6) if labels[i, t] != -100
        ]
        torch.testing.assert_close(got[i], torch.stack(terms).mean())
    # Extra trailing columns of -100 (trimmed inputs) change nothing.
    wider = torch.cat([labels, torch.full((3, 2), -100)], 1)
    torch.testing.assert_close(causal_lm_loss(logits, wider), got)


@pytest.mark.parametrize(
    "logits, labels, match",
    [
        (torch.zeros(2, 4), torch.zeros(2, 4), "shape"),
        (torch.zeros(2, 4, 5), torch.zeros(2, 3), "fewer"),
        (torch.zeros(2, 4, 5), torch.zeros(2, 5), "extra columns"),
        (
            torch.zeros(2, 4, 5),
            torch.tensor([[0, 1, 2, 3], [1, -100, -100, -100]]),
            "no scored",
        ),
    ],
)
def test_causal_lm_loss_errors(logits, labels, match):
    with pytest.raises(ValueError, match=match):
        causal_lm_loss(logits, labels.long())


def test_instruction_labels_right_and_left_padding():
    ids = torch.tensor([[5, 6, 7, 8, 0], [0, 0, 5, 6, 7]])
    mask = (ids != 0).long()
    labels = instruction_labels(ids, [2, 1], mask)
    expected = [[-100, -100, 7, 8, -100], [-100, -100, -100, 6, 7]]
    assert labels.tolist() == expected
    assert instruction_labels([[1, 2, 3]], [0]).tolist() == [[1, 2, 3]]


@pytest.mark.parametrize(
    "args, match",
    [
        (([1, 2, 3], [1]), "input_ids"),
        (([[1, 2]], [1, 2]), "prompt_lengths"),
        (([[1, 2]], [-1]), "prompt_lengths"),
        (([[1, 2]], [1], [[1, 1, 0]]), "attention_mask"),
    ],
)
def test_instruction_labels_errors(args, match):
    with pytest.raises(ValueError, match=match):
        instruction_labels(*args)


@pytest.mark.parametrize("trim_padding", [True, False])
def test_tokenizer_with_n_jobs_equals_one_job(trim_padding):
    torch.manual_seed(0)
    net = MaskedMean().eval()
    state = state_copy(net)
    kw = dict(
        n_subnets=3,
        step=0.2,
        batch_size=3,
        tokenizer=word_tokenizer,
        trim_padding=trim_padding,
    )
    one = DLCHardness(net, **kw).fit(TEXTS, Y_TEXT).hardness_
    from joblib import parallel_config

    with parallel_config(backend="threading"):
        two = DLCHardness(net, n_jobs=2, **kw).fit(TEXTS, Y_TEXT).hardness_
    np.testing.assert_allclose(two, one, rtol=1e-5)
    np.testing.assert_array_equal(np.argsort(two), np.argsort(one))
    assert_same_state(net, state)


def test_tokenizer_with_loky_workers():
    torch.manual_seed(0)
    net = MaskedMean().eval()
    kw = dict(n_subnets=2, step=0.2, batch_size=4, tokenizer=word_tokenizer)
    one = DLCHardness(net, **kw).fit(TEXTS, Y_TEXT).hardness_
    two = DLCHardness(net, n_jobs=2, **kw).fit(TEXTS, Y_TEXT).hardness_
    np.testing.assert_allclose(two, one, rtol=1e-5)
    np.testing.assert_array_equal(np.argsort(two), np.argsort(one))


def test_sharded_text_scores_equal_grouped():
    torch.manual_seed(0)
    net = MaskedMean().eval()
    X, y = _padded(), np.arange(30) % 3
    kw = dict(n_subnets=2, step=0.2, batch_size=8)
    grouped = DLCHardness(net, **kw).fit(X, y).hardness_
    from joblib import parallel_config

    seen = _widths(net)
    with parallel_config(backend="threading"):
        sharded = DLCHardness(net, n_jobs=2, **kw).fit(X, y).hardness_
    np.testing.assert_allclose(sharded, grouped, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(np.argsort(sharded), np.argsort(grouped))
    # The ranges trimmed their padding too.
    assert min(seen) < 16


def test_engine_batches_any_mapping():
    # The engine takes any Mapping as a dict input, as the estimators do.
    from collections import UserDict

    from sklearn_dlc._engine._data import Batches, iterate_tensors

    X = {k: torch.from_numpy(v) for k, v in _padded(n=10).items()}
    for data in (
        Batches(UserDict(X), None, 4, torch.device("cpu")),
        iterate_tensors(UserDict(X), 4, torch.device("cpu")),
    ):
        got = list(data())
        assert [(start, stop) for start, stop, _ in got] == [(0, 4), (4, 8), (8, 10)]
        for start, stop, xb in got:
            assert set(xb) == set(X)
            torch.testing.assert_close(xb["input_ids"], X["input_ids"][start:stop])
