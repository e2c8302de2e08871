"""Instruction data as (prompt, response) pairs, scoring in another dtype,
and per-sample losses beyond classification (regression, token labelling),
on tiny models."""

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import assert_same_state, state_copy
from scipy.stats import spearmanr
from torch import nn

from sklearn_dlc import (
    DLCHardness,
    FlexRandSampler,
    causal_lm_loss,
    instruction_labels,
)
from sklearn_dlc._engine._text import tokenize_pairs

transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

WORDS = "the a cat dog sat ran on mat fast slow red blue one two three".split()  # noqa: SIM905
LM = dict(n_subnets=3, step=0.2, scope="layer", head="model", criterion=causal_lm_loss)


def word_tokenizer():
    """A real transformers tokenizer over a small word vocabulary (offline)."""
    vocab = {"<pad>": 0, "<unk>": 1, "<s>": 2, "</s>": 3, "USER:": 4, "BOT:": 5}
    vocab.update({w: i + 6 for i, w in enumerate(WORDS)})
    model = tokenizers.models.WordLevel(vocab, unk_token="<unk>")
    tok = tokenizers.Tokenizer(model)
    tok.pre_tokenizer = tokenizers.pre_tokenizers.WhitespaceSplit()
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>", eos_token="</s>"
    )


def tiny_llama(vocab_size=32, seed=0):
    torch.manual_seed(seed)
    config = transformers.LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=64,
        tie_word_embeddings=True,
        pad_token_id=0,
    )
    return transformers.LlamaForCausalLM(config).eval()


def pairs(n=24, seed=0):
    rng = np.random.RandomState(seed)

    def text(lo, hi):
        return " ".join(rng.choice(WORDS, rng.randint(lo, hi)))

    return [(f"USER: {text(1, 6)} BOT:", f"{text(1, 9)} </s>") for _ in range(n)]


def test_tokenize_pairs_masks_prompt_and_padding():
    tok = word_tokenizer()
    inputs, labels = tokenize_pairs(
        tok, ["USER: a cat BOT:", "USER: dog"], ["sat", "ran on"]
    )
    assert inputs["input_ids"].tolist() == [[4, 7, 8, 5, 10], [4, 9, 11, 12, 0]]
    assert inputs["attention_mask"].tolist() == [[1] * 5, [1, 1, 1, 1, 0]]
    assert labels.tolist() == [[-100] * 4 + [10], [-100, -100, 11, 12, -100]]


@pytest.mark.parametrize("form", ["tuples", "dict", "frame", "array"])
def test_pairs_match_pretokenized_labels(form):
    tok, model, data = word_tokenizer(), tiny_llama(), pairs()
    X = {
        "tuples": data,
        "dict": {"prompt": [p for p, _ in data], "response": [r for _, r in data]},
        "frame": pd.DataFrame(data, columns=["prompt", "response"]),
        "array": np.array(data, dtype=object),
    }[form]
    got = DLCHardness(model, tokenizer=tok, batch_size=5, **LM).fit(X)

    # The same tokens, padded once to the longest pair, labelled with
    # instruction_labels: the path of pre-tokenized data.
    enc = tok([p + " " + r for p, r in data], padding=True, return_tensors="pt")
    n_prompt = [len(tok(p)["input_ids"]) for p, _ in data]
    y = instruction_labels(enc["input_ids"], n_prompt, enc["attention_mask"])
    ref = DLCHardness(model, batch_size=5, **LM).fit(dict(enc), y)
    np.testing.assert_allclose(got.hardness_, ref.hardness_, rtol=1e-5, atol=1e-6)


def test_pairs_are_grouped_by_length_and_padded_per_batch():
    tok, model, data = word_tokenizer(), tiny_llama(), pairs(20)
    widths = []
    hook = model.register_forward_pre_hook(
        lambda m, args, kwargs: widths.append(kwargs["input_ids"].shape[1]),
        with_kwargs=True,
    )
    DLCHardness(
        model,
        tokenizer=tok,
        batch_size=4,
        n_subnets=1,
        **{k: v for k, v in LM.items() if k != "n_subnets"},
    ).fit(data)
    hook.remove()
    lengths = sorted(
        (len(tok(p + " " + r)["input_ids"]) for p, r in data), reverse=True
    )
    # (The first call finds the head.) Longest first, grouped by characters;
    # each batch is as wide as its own longest pair.
    assert widths[1:] == [lengths[i] for i in range(0, 20, 4)]


def test_pairs_with_memory_and_workers_match(tmp_path):
    tok, model, data = word_tokenizer(), tiny_llama(), pairs(16)
    ref = DLCHardness(model, tokenizer=tok, batch_size=4, **LM).fit(data)
    kw = dict(tokenizer=tok, batch_size=4, memory=str(tmp_path), **LM)
    cached = DLCHardness(model, **kw).fit(data)
    again = DLCHardness(model, **kw).fit(data)
    sharded = DLCHardness(model, n_jobs=2, tokenizer=tok, batch_size=4, **LM).fit(data)
    np.testing.assert_array_equal(cached.hardness_, again.hardness_)
    np.testing.assert_allclose(ref.hardness_, cached.hardness_, rtol=1e-6)
    np.testing.assert_allclose(ref.hardness_, sharded.hardness_, rtol=1e-5)


def test_pairs_prune_with_flexrand_in_a_pipeline():
    from imblearn.pipeline import Pipeline

    tok, model, data = word_tokenizer(), tiny_llama(), pairs(20)
    pipe = Pipeline(
        [
            ("score", DLCHardness(model, tokenizer=tok, batch_size=8, **LM)),
            ("prune", FlexRandSampler(0.75, stratify=False, random_state=0)),
        ]
    )
    kept, _ = pipe.fit_resample(data, np.zeros(len(data)))
    assert len(kept) == 5 and all(tuple(p) in data for p in kept)


@pytest.mark.parametrize(
    "X, y, kw, match",
    [
        (pairs(4), None, {"n_subnets": 2}, "criterion=causal_lm_loss"),
        ([("a", 1), ("b", "c")], None, LM, r"sample 0 is \('a', 1\)"),
        ({"prompt": ["a"], "response": ["b", "c"]}, None, LM, "one entry per"),
        (pd.DataFrame({"a": ["x"], "b": ["y"], "c": ["z"]}), None, LM, "2-column"),
    ],
)
def test_bad_pairs_are_reported(X, y, kw, match):
    scorer = DLCHardness(tiny_llama(), tokenizer=word_tokenizer(), **kw)
    with pytest.raises(ValueError, match=match):
        scorer.fit(X, y)


def test_pair_tokenizer_must_return_token_lists():
    def bad(texts, **kwargs):
        return {"input_ids": torch.zeros(len(texts), 3, dtype=torch.long)}

    with pytest.raises(TypeError, match="list of token-id lists"):
        DLCHardness(tiny_llama(), tokenizer=bad, **LM).fit(pairs(4))


def _trained_llama(data, tok, steps=30):
    """A tiny Llama trained a few steps on the pairs, so that losses differ."""
    model = tiny_llama().train()
    inputs, labels = tokenize_pairs(tok, *zip(*data))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(steps):
        loss = causal_lm_loss(model(**inputs).logits, labels).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def test_bfloat16_ranks_like_float32_and_leaves_weights_alone():
    tok, data = word_tokenizer(), pairs(40, seed=1)
    model = _trained_llama(data, tok)
    before = state_copy(model)
    fp32 = DLCHardness(model, tokenizer=tok, batch_size=8, **LM).fit(data)
    bf16 = DLCHardness(model, tokenizer=tok, batch_size=8, dtype="bfloat16", **LM)
    bf16.fit(data)
    assert_same_state(model, before)
    assert next(model.parameters()).dtype == torch.float32
    assert np.ptp(fp32.hardness_) > 0.5  # the ranking has something to keep
    assert spearmanr(fp32.hardness_, bf16.hardness_).statistic >= 0.99
    same = DLCHardness(model, tokenizer=tok, batch_size=8, dtype=torch.float32, **LM)
    np.testing.assert_array_equal(same.fit(data).hardness_, fp32.hardness_)


def test_dtype_copy_keeps_weights_on_failure():
    tok, model = word_tokenizer(), tiny_llama()
    before = state_copy(model)
    calls = []

    def failing(logits, labels):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("interrupted")
        return causal_lm_loss(logits, labels)

    scorer = DLCHardness(
        model,
        tokenizer=tok,
        batch_size=4,
        dtype="bfloat16",
        **dict(LM, criterion=failing),
    )
    with pytest.raises(RuntimeError, match="interrupted"):
        scorer.fit(pairs(16))
    assert_same_state(model, before)


@pytest.mark.parametrize("dtype", ["half-ish", 16, np.float32])
def test_bad_dtype_is_rejected(dtype):
    from sklearn.utils._param_validation import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="dtype"):
        DLCHardness(tiny_llama(), dtype=dtype).fit(np.zeros((2, 3)), [0, 1])


# -- beyond classification ---------------------------------------------------


def squared_error(output, y):
    return (output.squeeze(1) - y).square()


def test_regression_targets_with_a_squared_error_criterion():
    rng = np.random.RandomState(0)
    X = rng.randn(60, 5).astype(np.float32)
    y = (X @ rng.randn(5) + 0.1 * rng.randn(60)).astype(np.float32)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 1))
    scorer = DLCHardness(
        net,
        n_subnets=4,
        step=0.1,
        head="model",
        criterion=squared_error,
        store_subnet_scores=True,
    ).fit(X, y)
    with torch.no_grad():
        dense = squared_error(net(torch.from_numpy(X)), torch.from_numpy(y))
    np.testing.assert_allclose(scorer.subnet_scores_[:, 0], dense.numpy(), rtol=1e-5)
    np.testing.assert_allclose(
        scorer.hardness_, scorer.subnet_scores_.mean(1), rtol=1e-5
    )

    sampler = FlexRandSampler(0.8, stratify=False, random_state=0)
    X_kept, y_kept = sampler.fit_resample(X, y, hardness=scorer.hardness_)
    assert len(y_kept) == 12 and np.isin(y_kept, y).all()


class TokenTagger(nn.Module):
    """Per-token tag logits (a token-labelling network, e.g. NER)."""

    def __init__(self, vocab=30, n_tags=4):
        super().__init__()
        self.emb = nn.Embedding(vocab, 8)
        self.body = nn.Linear(8, 8)
        self.head = nn.Linear(8, n_tags)

    def forward(self, input_ids, attention_mask):
        return self.head(torch.tanh(self.body(self.emb(input_ids))))


def token_loss(logits, tags):
    """Per-sample mean cross-entropy over the labelled tokens (not -100)."""
    tags = tags[:, : logits.shape[1]].long()
    scored = tags != -100
    nll = nn.functional.cross_entropy(
        logits.float().transpose(1, 2), tags.masked_fill(~scored, 0), reduction="none"
    )
    return (nll * scored).sum(1) / scored.sum(1)


def test_token_labelling_loss_averages_over_labelled_tokens():
    rng = np.random.RandomState(0)
    n, width = 40, 12
    lengths = rng.randint(2, width + 1, n)
    mask = (np.arange(width)[None] < lengths[:, None]).astype(np.int64)
    X = {"input_ids": rng.randint(1, 30, (n, width)) * mask, "attention_mask": mask}
    tags = np.where(mask == 1, rng.randint(0, 4, (n, width)), -100)
    torch.manual_seed(0)
    net = TokenTagger()
    kw = dict(n_subnets=3, step=0.2, head="model", criterion=token_loss)
    scorer = DLCHardness(net, batch_size=8, store_subnet_scores=True, **kw).fit(X, tags)
    with torch.no_grad():
        dense = token_loss(
            net(torch.from_numpy(X["input_ids"]), None), torch.from_numpy(tags)
        )
    np.testing.assert_allclose(scorer.subnet_scores_[:, 0], dense.numpy(), rtol=1e-5)
    # Grouping and trimming cut the token labels along with the inputs.
    padded = DLCHardness(net, batch_size=8, trim_padding=False, **kw).fit(X, tags)
    np.testing.assert_allclose(scorer.hardness_, padded.hardness_, rtol=1e-5)
