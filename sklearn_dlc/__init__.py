"""Training-free downstream dataset pruning for scikit-learn pipelines.

``DLCHardness`` scores every training sample by Distorting-based Learning
Complexity (Jiang et al., ICLR 2025); ``FlexRandSampler`` keeps a randomized
mix of easy and hard samples of every class.
"""

from ._choose_selection import choose_selection
from ._confidence_hardness import ConfidenceHardness
from ._dlc_hardness import DLCHardness
from ._flexrand_sampler import FlexRandSampler
from ._losses import causal_lm_loss, instruction_labels
from ._plot import HardnessDisplay, LearningPathDisplay, PruningCurveDisplay
from ._training_hardness import TrainingDynamicsHardness
from .demo._pretrained import (
    DigitsCNN,
    fine_tune,
    load_digits_cnn,
    load_mnist_as_digits,
    mnist_to_digits,
    pretrained_metadata,
    to_digits_input,
)

__all__ = [
    "ConfidenceHardness",
    "DLCHardness",
    "DigitsCNN",
    "FlexRandSampler",
    "HardnessDisplay",
    "LearningPathDisplay",
    "PruningCurveDisplay",
    "TrainingDynamicsHardness",
    "causal_lm_loss",
    "choose_selection",
    "fine_tune",
    "instruction_labels",
    "load_digits_cnn",
    "load_mnist_as_digits",
    "mnist_to_digits",
    "pretrained_metadata",
    "to_digits_input",
]
__version__ = "0.1.0.dev0"
