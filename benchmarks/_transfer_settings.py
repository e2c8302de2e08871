"""Settings of ``bench_transfer.py``: kept fractions, splits, methods, sizes."""

import math

FRACTIONS = (0.01, 0.02, 0.05, 0.10, 0.20, 0.30, 0.50)
SPLITS = (0.3, 0.5, 0.7)
# The selection strategies at fixed parameters (strategy, FlexRandSampler
# parameters); "DLC recipe" (choose_selection) is added in _transfer_methods.
FIXED_STRATEGIES = {
    "DLC tilt 1": ("tilt", {"tilt": 1.0}),
    "DLC tilt 4": ("tilt", {"tilt": 4.0}),
    "DLC tilt -1": ("tilt", {"tilt": -1.0}),
    "DLC tilt inf (= easy)": ("tilt", {"tilt": math.inf}),
    "DLC adaptive": ("adaptive", {}),
    "DLC CCS": ("ccs", {"hard_cutoff": 0.1, "n_bins": 50}),
}
OTHER_SPLIT = 0.3  # FlexRand split of the training-free non-DLC scores
TRAINING = ("loss integral", "forgetting", "EL2N", "GraNd")
PROBE_C = 1.0

# Sizes chosen for 2 shared CPU cores; --quick shrinks them.
CONFIG = {
    "full": {
        "minilm": dict(
            # 30 intents of the 66 with >= 100 training queries, 100 each:
            # 1, 2, 5, 10, 20, 30 and 50 queries per intent at the fractions.
            n_intents=30,
            n_per_class=100,
            seq_len=32,
            n_subnets=10,
            step=0.1,
            ft_epochs=5,
            ft_lr=1e-3,
            ft_batch=32,
            el2n_epoch=1,
            score_runs={"el2n": 3, "grand": 1},
            ft_fractions=(0.05, 0.10),
            ft_test_per_class=20,
        ),
        "efficientnet": dict(
            n_pool=3000,
            n_holdout=1000,
            size=64,
            n_subnets=10,
            step=0.1,
            probe_epochs=10,
            probe_lr=1e-3,
            el2n_epoch=1,
            score_runs={"el2n": 10, "grand": 10},
            epoch_sample=1024,
        ),
        "seeds": 5,
    },
    "quick": {
        "minilm": dict(
            # 10 intents, 100 queries each: a different count per intent at
            # every fraction, as in the full run.
            n_intents=10,
            n_per_class=100,
            seq_len=32,
            n_subnets=4,
            step=0.25,
            ft_epochs=3,
            ft_lr=1e-3,
            ft_batch=32,
            el2n_epoch=1,
            score_runs={"el2n": 1, "grand": 1},
            ft_fractions=(),
            ft_test_per_class=20,
        ),
        "efficientnet": dict(
            n_pool=1000,
            n_holdout=0,
            size=64,
            n_subnets=5,
            step=0.2,
            probe_epochs=5,
            probe_lr=1e-3,
            el2n_epoch=1,
            score_runs={"el2n": 2, "grand": 2},
            epoch_sample=256,
        ),
        "seeds": 3,
    },
}


FT_METHODS = (
    "random",
    "DLC easy",
    "DLC hard",
    "DLC flex 0.3",
    "DLC flex cv",
    "permuted DLC flex 0.3",
    "forgetting hard",
    "EL2N hard",
)
