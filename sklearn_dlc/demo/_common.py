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


def format_table(rows, column, cell, method="DLC+FlexRand"):
    """The demos' results table; ``column`` heads the one demo-specific
    column and ``cell(row)`` fills it; ``method`` heads the DLC column."""

    def pm(mean, std):
        return f"{100 * mean:5.1f} ± {100 * std:3.1f}"

    width = max(len(column), *(len(cell(row)) for row in rows))
    header = (
        f"  {'pruned':>6}  {'kept':>4}  {'n kept':>6}  {column:>{width}}  "
        f"{method:>12}  {'random':>12}  {'diff':>5}"
    )
    lines = [header, "  " + "-" * (len(header) - 2)]
    for row in rows:
        lines.append(
            f"  {100 * row['pruning_rate']:5.0f}%  {100 * row['kept_fraction']:3.0f}%"
            f"  {row['n_kept']:>6}  {cell(row):>{width}}  "
            f"{pm(row['dlc_flexrand_mean'], row['dlc_flexrand_std']):>12}  "
            f"{pm(row['random_mean'], row['random_std']):>12}  "
            f"{100 * row['difference']:+5.1f}"
        )
    return "\n".join(lines)


def save_plot(results, path, *, title, full_label):
    """Save test accuracy against the kept fraction, both methods, to ``path``.

    Draws with :class:`~sklearn_dlc.PruningCurveDisplay` on a
    :class:`matplotlib.figure.Figure` (no GUI backend, no pyplot state); the
    format follows the extension of ``path`` (``.png``, ``.pdf``, ``.svg``...).
    """
    require_matplotlib()
    from matplotlib.figure import Figure

    from .._plot import PruningCurveDisplay

    kept, score, method, seed = [], [], [], []
    for row in results["rows"]:
        for key, label in (("dlc_flexrand", "DLC + FlexRand"), ("random", "random")):
            for s, accuracy in enumerate(row[key]):
                kept.append(row["kept_fraction"])
                score.append(100 * accuracy)
                method.append(label)
                seed.append(s)
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.add_subplot()
    PruningCurveDisplay.from_results(
        kept,
        score,
        strategy=method,
        seed=seed,
        score_name="test accuracy (%)",
        ax=ax,
        std_display_style="errorbar",
    )
    ax.axhline(
        100 * results["full_accuracy"], color="gray", linestyle="--", label=full_label
    )
    fractions = sorted({row["kept_fraction"] for row in results["rows"]})
    if len(fractions) > 1:
        ax.set_xscale("log")
    ax.set_xticks(fractions, [f"{f:.0%}" for f in fractions])
    ax.minorticks_off()
    ax.legend()
    ax.set_title(
        f"{title}\nmean ± std over {plural(results['seeds'], 'seed')}",
        fontsize="medium",
    )
    fig.savefig(path, dpi=120)
