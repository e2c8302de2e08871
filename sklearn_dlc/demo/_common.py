"""Helpers shared by the two demos: devices, threads, argument checks, output."""

import contextlib
import importlib.util
from numbers import Integral, Real

import numpy as np
import torch
from threadpoolctl import threadpool_limits


def resolve_device(device):
    """Return ``"cuda"`` or ``"cpu"`` for ``device`` in {"cpu", "cuda", "auto"}.

    Parameters
    ----------
    device : {"cpu", "cuda", "auto"}
        ``"auto"`` picks CUDA when it is available.

    Returns
    -------
    device : str

    Raises
    ------
    ValueError
        If ``device`` is not one of the three, or is ``"cuda"`` while CUDA is
        not available.

    Examples
    --------
    >>> from sklearn_dlc.demo._common import resolve_device
    >>> resolve_device("cpu")
    'cpu'
    """
    if device not in ("cpu", "cuda", "auto"):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'auto', got {device!r}.")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was requested but CUDA is not available.")
    return device


def check_rates(rates):
    """Return ``rates`` as a tuple of pruning rates in [0, 1), or raise."""
    rates = tuple(rates)
    if not rates:
        raise ValueError("rates must hold at least one pruning rate.")
    for rate in rates:
        if isinstance(rate, bool) or not isinstance(rate, Real) or not 0 <= rate < 1:
            raise ValueError(f"Every pruning rate must be in [0, 1), got {rate!r}.")
    return rates


def check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}.")


def check_split(name, value):
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 < value < 1:
        raise ValueError(f"{name} must be in (0, 1), got {value!r}.")


def require_matplotlib():
    if importlib.util.find_spec("matplotlib") is None:
        raise ImportError(
            "Saving the figure needs matplotlib, which is not installed. "
            "Install it with: pip install 'sklearn-dlc[demo]'"
        )


@contextlib.contextmanager
def limit_threads(n_threads):
    """Run torch and the BLAS of NumPy / scikit-learn on ``n_threads`` threads.

    Restores torch's setting afterwards (threadpoolctl restores the BLAS').
    """
    before = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        with threadpool_limits(n_threads):
            yield
    finally:
        torch.set_num_threads(before)


def summary(values):
    """Mean and (population) standard deviation of ``values``, as floats."""
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std())


def plural(count, noun):
    return f"{count} {noun}" + ("s" if count != 1 else "")


def seed_range(seeds):
    return "seed 0" if seeds == 1 else f"seeds 0..{seeds - 1}"
