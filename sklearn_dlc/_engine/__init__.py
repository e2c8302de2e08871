"""The DLC scoring engine (torch, numpy and joblib only; no scikit-learn).

Layers, bottom up:

- :mod:`._adapter`: how a network is called and read (inputs, outputs, head,
  which weights are masked);
- :mod:`._masks`: nested weight masks and sparsity schedules;
- :mod:`._losses`: per-sample losses;
- :mod:`._text`: text batches (tokenizing, grouping by length, trimming);
- :mod:`._data`: the one data path, X into :class:`Batches`, for in-process
  and sharded scoring alike;
- :mod:`._pass`: the one pass primitive, :func:`run_pass`;
- drivers on top of it: :mod:`._auto` (``n_subnets="auto"``, coarse to fine)
  and :mod:`._sharded` (contiguous ranges through joblib).

The scikit-learn glue of the package imports from here, never the reverse.
"""

from ._adapter import ModelAdapter
from ._auto import coarse_to_fine
from ._data import Batches, as_tensors, is_constant
from ._losses import (
    IGNORE_INDEX,
    CallableLoss,
    LogitLoss,
    PrototypeLoss,
    causal_lm_loss,
    instruction_labels,
    log_probabilities,
)
from ._masks import NestedMasks
from ._pass import (
    LocalScorer,
    PassResult,
    eval_mode,
    float_dtype,
    mean_over_subnets,
    run_pass,
)
from ._sharded import ShardedScorer, split_ranges
from ._text import TextBatches, is_pairs

__all__ = [
    "Batches",
    "IGNORE_INDEX",
    "CallableLoss",
    "LocalScorer",
    "LogitLoss",
    "ModelAdapter",
    "NestedMasks",
    "PassResult",
    "PrototypeLoss",
    "ShardedScorer",
    "TextBatches",
    "as_tensors",
    "causal_lm_loss",
    "coarse_to_fine",
    "eval_mode",
    "float_dtype",
    "instruction_labels",
    "is_pairs",
    "is_constant",
    "log_probabilities",
    "mean_over_subnets",
    "run_pass",
    "split_ranges",
]
