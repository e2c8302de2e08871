"""Training-free downstream dataset pruning for scikit-learn pipelines.

``DLCHardness`` scores every training sample by Distorting-based Learning
Complexity (Jiang et al., ICLR 2025); ``FlexRandSampler`` keeps a randomized
mix of easy and hard samples of every class.
"""

from ._dlc_hardness import DLCHardness
from ._flexrand_sampler import FlexRandSampler

__all__ = ["DLCHardness", "FlexRandSampler"]
__version__ = "0.1.0.dev0"
