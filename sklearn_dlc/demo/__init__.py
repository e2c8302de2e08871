"""The demo of sklearn-dlc: shipped data and networks, experiments, command line.

An application of the library, not part of its core. ``python -m sklearn_dlc
demo`` runs :func:`run_text_demo` (a sentence encoder pre-trained on a large
corpus, BANKING77 intents); ``python -m sklearn_dlc demo --digits`` runs
:func:`run_digits_demo` (a small CNN pre-trained on MNIST, UCI digits).
"""

from ._banking77 import load_banking77
from ._digits_demo import run_digits_demo
from ._pretrained import (
    DigitsCNN,
    fine_tune,
    load_digits_cnn,
    load_mnist_as_digits,
    mnist_to_digits,
    pretrained_metadata,
    to_digits_input,
)
from ._text_demo import load_minilm, run_text_demo

__all__ = [
    "DigitsCNN",
    "fine_tune",
    "load_banking77",
    "load_digits_cnn",
    "load_minilm",
    "load_mnist_as_digits",
    "mnist_to_digits",
    "pretrained_metadata",
    "run_digits_demo",
    "run_text_demo",
    "to_digits_input",
]
