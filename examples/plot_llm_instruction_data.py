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

To run in a few seconds without downloading anything, this example builds a
*tiny, randomly initialised* GPT-2 and random token data, so the scores it
prints carry no meaning about language. In practice one loads real weights,
e.g. ``AutoModelForCausalLM.from_pretrained(...)``, and tokenizes real
instructions; everything else stays as below.
"""

# %%
# A tiny GPT-2 and instruction data
# ---------------------------------
# Each sample is a prompt followed by its response, right-padded with token 0.
# :func:`~sklearn_dlc.instruction_labels` turns the token ids into labels
# that score the response only: the prompt and the padding get ``-100``.
import matplotlib.pyplot as plt
import numpy as np
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from sklearn_dlc import DLCHardness, FlexRandSampler, causal_lm_loss, instruction_labels

torch.set_num_threads(1)  # small networks on busy CPUs: user guide, Threads

torch.manual_seed(0)
config = GPT2Config(
    vocab_size=200, n_positions=32, n_embd=32, n_layer=2, n_head=2,
    bos_token_id=0, eos_token_id=0,
)  # fmt: skip
model = GPT2LMHeadModel(config).eval()  # in practice: from_pretrained(...)

rng = np.random.RandomState(0)
n_samples, width = 300, 24
prompt_lengths = rng.randint(3, 10, n_samples)
response_lengths = rng.randint(2, 12, n_samples)
lengths = prompt_lengths + response_lengths
attention_mask = (np.arange(width)[None, :] < lengths[:, None]).astype(np.int64)
input_ids = rng.randint(1, 200, (n_samples, width)) * attention_mask
labels = instruction_labels(input_ids, prompt_lengths, attention_mask)
X = {"input_ids": input_ids, "attention_mask": attention_mask}
print(f"{n_samples} instructions, {int(attention_mask.sum())} tokens")
print("labels of the first sample:", labels[0, : lengths[0] + 1].tolist())

# %%
# Scoring with the paper's language-model defaults
# ------------------------------------------------
# ``scope="layer"`` masks the same fraction of every layer by magnitude;
# ``step=0.2`` and ``n_subnets=3`` give subnets at 0%, 20% and 36% sparsity.
# Embeddings and the output layer tied to them are never masked. The batches
# are grouped by length and their all-padding columns trimmed
# (``trim_padding=True``, the default), which leaves the scores unchanged.
scorer = DLCHardness(
    model,
    n_subnets=3,
    step=0.2,
    scope="layer",
    head="model",
    criterion=causal_lm_loss,
    batch_size=32,
    store_subnet_scores=True,
).fit(X, labels)
print("masked weight tensors:", len(scorer.masked_parameters_))
print("sparsity of the subnets:", scorer.sparsities_.round(2))

# %%
# Keeping 20% of the instructions
# -------------------------------
# ``stratify=False`` treats all samples as one group; the token labels are
# subset along with the inputs. (A random network predicts every token about
# as badly as a uniform guess, whatever the sparsity: with real weights the
# loss grows along the subnets and the scores separate easy from hard.)
sampler = FlexRandSampler(0.8, stratify=False, random_state=0)
X_kept, labels_kept = sampler.fit_resample(X, labels, hardness=scorer.hardness_)
print(f"kept {len(labels_kept)} of {n_samples} instructions")

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
