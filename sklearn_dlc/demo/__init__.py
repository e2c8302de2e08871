"""The demo of sklearn-dlc: shipped data and networks, experiments, command line.

An application of the library, not part of its core. ``python -m sklearn_dlc
demo`` runs :func:`run_text_demo` (a sentence encoder pre-trained on a large
corpus, BANKING77 intents); ``python -m sklearn_dlc demo --digits`` runs
:func:`run_digits_demo` (a small CNN pre-trained on MNIST, UCI digits).
Names are imported on first use (the text demo needs scikit-learn's model
selection and imbalanced-learn; the command line needs neither to answer
``--help``).
"""

from .._lazy import lazy_names

_MODULES = {
    "DigitsCNN": "._pretrained",
    "fine_tune": "._pretrained",
    "load_banking77": "._banking77",
    "load_digits_cnn": "._pretrained",
    "load_minilm": "._text_demo",
    "load_mnist_as_digits": "._pretrained",
    "mnist_to_digits": "._pretrained",
    "pretrained_metadata": "._pretrained",
    "run_digits_demo": "._digits_demo",
    "run_text_demo": "._text_demo",
    "to_digits_input": "._pretrained",
}

__all__ = sorted(_MODULES)

__getattr__, __dir__ = lazy_names(__name__, _MODULES)
