"""Helpers shared by the Display classes (no matplotlib import at module level)."""

from numbers import Integral

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted


def check_matplotlib_support(caller_name):
    """Import matplotlib, or raise an ImportError naming ``caller_name``."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as e:  # pragma: no cover - matplotlib is a test dependency
        raise ImportError(
            f"{caller_name} requires matplotlib. You can install matplotlib with "
            "`pip install matplotlib`."
        ) from e


def get_axes(ax, caller_name):
    """``(ax, figure)``: a new figure and axes when ``ax`` is None."""
    check_matplotlib_support(caller_name)
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes

    if ax is None:
        _, ax = plt.subplots()
    elif not isinstance(ax, Axes):
        raise TypeError(
            f"ax must be a matplotlib Axes or None, got {type(ax).__name__}."
        )
    return ax, ax.figure


def check_fitted(estimator, attributes):
    """Raise NotFittedError unless ``estimator`` has all ``attributes``.

    Any object with the attributes passes (duck typing); otherwise
    scikit-learn's :func:`~sklearn.utils.validation.check_is_fitted` gives
    its usual errors.
    """
    if all(hasattr(estimator, a) for a in attributes):
        return
    check_is_fitted(estimator, attributes)
    raise NotFittedError(  # pragma: no cover - check_is_fitted raised above
        f"{type(estimator).__name__} lacks {attributes}; fit it first."
    )


def check_kwargs(name, value):
    """A copy of a keyword-argument dict, ``{}`` for None."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TypeError(f"{name} must be a dict or None, got {type(value).__name__}.")
    return dict(value)


def check_option(name, value, options):
    if not isinstance(value, str) or value not in options:
        opts = ", ".join(repr(o) for o in options)
        raise ValueError(f"{name} must be one of {opts}, got {value!r}.")
    return value


def to_numpy(values):
    """A NumPy array from an array-like, a tensor or a pandas object."""
    if hasattr(values, "detach") and hasattr(values, "cpu"):  # torch.Tensor
        values = values.detach().cpu().numpy()
    elif hasattr(values, "to_numpy"):  # pandas
        values = values.to_numpy()
    return np.asarray(values)


def check_scores(name, values, *, ndim=1):
    """A float array of ``ndim`` dimensions with finite values."""
    try:
        array = to_numpy(values).astype(np.float64)
    except (TypeError, ValueError) as e:
        raise TypeError(
            f"{name} must be an array-like of numbers, got {type(values).__name__}."
        ) from e
    if array.ndim != ndim:
        shape = "(n_samples,)" if ndim == 1 else "(n_samples, n_subnets)"
        raise ValueError(
            f"{name} must be {ndim}-dimensional, of shape {shape}; "
            f"got an array of shape {array.shape}."
        )
    if array.size == 0:
        raise ValueError(f"{name} must not be empty.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must contain only finite values (no NaN or inf).")
    return array


def check_int(name, value, low):
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}.")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}.")
    return int(value)


def unique_in_order(values):
    """The distinct values of a 1-D array in order of first appearance."""
    _, first = np.unique(values, return_index=True)
    return values[np.sort(first)]


def short_param(name):
    """``"prune__pruning_rate"`` -> ``"pruning_rate"``."""
    return name.rsplit("__", 1)[-1]
