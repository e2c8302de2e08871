"""Training-free downstream dataset pruning for scikit-learn pipelines.

``DLCHardness`` scores every training sample by Distorting-based Learning
Complexity (Jiang et al., ICLR 2025); ``FlexRandSampler`` keeps a randomized
mix of easy and hard samples of every class.

The public names are imported on first use, so that ``import sklearn_dlc``
(and ``python -m sklearn_dlc --help``) stays cheap and never imports the
demo in :mod:`sklearn_dlc.demo`.
"""

from ._lazy import lazy_names

# Public name -> the module that defines it.
_MODULES = {
    "ConfidenceHardness": "._confidence_hardness",
    "DLCHardness": "._dlc_hardness",
    "FlexRandEnsembleClassifier": "._flexrand_ensemble",
    "FlexRandSampler": "._flexrand_sampler",
    "HardnessDisplay": "._plot",
    "LearningPathDisplay": "._plot",
    "PruningCurveDisplay": "._plot",
    "TrainingDynamicsHardness": "._training_hardness",
    "choose_selection": "._choose_selection",
    "causal_lm_loss": "._engine",
    "instruction_labels": "._engine",
    # The digits network of the demo, kept here for the documentation's sake.
    "DigitsCNN": ".demo._pretrained",
    "fine_tune": ".demo._pretrained",
    "load_digits_cnn": ".demo._pretrained",
    "load_mnist_as_digits": ".demo._pretrained",
    "mnist_to_digits": ".demo._pretrained",
    "pretrained_metadata": ".demo._pretrained",
    "to_digits_input": ".demo._pretrained",
}

__all__ = sorted(_MODULES)
__version__ = "0.1.0.dev0"

__getattr__, __dir__ = lazy_names(__name__, _MODULES)
