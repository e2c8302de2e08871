"""Which samples to keep, given their hardness (NumPy only).

FlexRand, the baselines, the tilted family and its budget-adaptive rule,
and CCS. The scikit-learn / imbalanced-learn glue lives in
``_flexrand_sampler.py``.
"""

from ._allocation import CLASS_BUDGETS, check_class_budget, class_counts, water_fill
from ._core import (
    STRATEGIES,
    FlexRandCounts,
    check_hardness,
    check_pruning_rate,
    check_split,
    flexrand_counts,
    keep_count,
    select_indices,
)
from ._strategies import (
    ADAPTIVE_PIVOT,
    ADAPTIVE_SLOPE,
    adaptive_tilt,
    check_ccs,
    check_tilt,
    tilt_weights,
)

__all__ = [
    "ADAPTIVE_PIVOT",
    "ADAPTIVE_SLOPE",
    "CLASS_BUDGETS",
    "STRATEGIES",
    "FlexRandCounts",
    "adaptive_tilt",
    "check_ccs",
    "check_class_budget",
    "check_hardness",
    "check_pruning_rate",
    "check_split",
    "check_tilt",
    "class_counts",
    "flexrand_counts",
    "keep_count",
    "select_indices",
    "tilt_weights",
    "water_fill",
]
