"""Scikit-learn style Display classes; matplotlib is imported only when plotting."""

from ._hardness_display import HardnessDisplay
from ._learning_path_display import LearningPathDisplay
from ._pruning_curve_display import PruningCurveDisplay

__all__ = ["HardnessDisplay", "LearningPathDisplay", "PruningCurveDisplay"]
