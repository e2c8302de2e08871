"""LearningPathDisplay: subnet loss along growing sparsity, per hardness group."""

import numpy as np

from ._utils import (
    check_fitted,
    check_int,
    check_kwargs,
    check_matplotlib_support,
    check_option,
    check_scores,
    get_axes,
    style_kwargs,
    to_numpy,
)


def _check_quantiles(quantiles):
    try:
        edges = to_numpy(quantiles).astype(np.float64)
    except (TypeError, ValueError) as e:
        raise TypeError(
            "quantiles must be an array-like of numbers, got "
            f"{type(quantiles).__name__}."
        ) from e
    if (
        edges.ndim != 1
        or len(edges) < 2
        or edges[0] < 0
        or edges[-1] > 1
        or np.any(np.diff(edges) <= 0)
    ):
        raise ValueError(
            "quantiles must be at least two increasing edges in [0, 1], such as "
            f"[0, 0.1, 0.9, 1]; got {quantiles!r}."
        )
    return edges


def _group_by_rank(hardness, edges):
    """Group of every sample: rank quantile ``[edges[g], edges[g + 1])``.

    Ranks (ties broken by position) rather than score thresholds, so that
    groups have the sizes the quantiles promise even with tied scores.
    Samples outside ``[edges[0], edges[-1]]`` get group -1.
    """
    n = len(hardness)
    rank = np.empty(n, dtype=np.intp)
    rank[np.argsort(hardness, kind="stable")] = np.arange(n)
    bounds = np.round(edges * n).astype(np.intp)
    group = np.searchsorted(bounds, rank, side="right") - 1
    group[(rank < bounds[0]) | (rank >= bounds[-1])] = -1
    return group


class LearningPathDisplay:
    """Per-subnet loss against sparsity, one curve per hardness group.

    DLC scores a sample by its mean loss along a path of subnets of growing
    sparsity. This display splits the samples into groups by quantiles of
    their hardness (by default 4 groups, the easiest quarter to the hardest)
    and draws, for every group, a statistic of the per-subnet loss against
    the sparsity of the subnet, optionally with a band of its spread.

    Use :meth:`from_estimator` with a :class:`~sklearn_dlc.DLCHardness`
    fitted with ``store_subnet_scores=True``, or :meth:`from_predictions`
    with a ``(n_samples, n_subnets)`` matrix of per-subnet scores. Creating
    the display directly stores the curves without plotting; call
    :meth:`plot` to draw them.

    Parameters
    ----------
    sparsities : array-like of shape (n_subnets,)
        Sparsity of every subnet (``DLCHardness.sparsities_``).
    curves : array-like of shape (n_groups, n_subnets)
        The central line of every group.
    lower, upper : array-like of shape (n_groups, n_subnets), default=None
        The band around every curve; both or neither.
    group_labels : list of str, default=None
        Legend entry of every group. None numbers the groups.
    score_name : str, default="loss"
        Label of the score axis ("per-subnet <score_name>").

    Attributes
    ----------
    lines_ : list of matplotlib.lines.Line2D
        One line per group.
    fill_between_ : list of matplotlib.collections.PolyCollection or None
        One band per group, or None without bands.
    ax_ : matplotlib.axes.Axes
        Axes with the plot.
    figure_ : matplotlib.figure.Figure
        Figure containing the plot.

    See Also
    --------
    HardnessDisplay : Per-class distribution of the hardness scores.

    Examples
    --------
    >>> import torch
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_dlc import DLCHardness, LearningPathDisplay
    >>> X, y = load_iris(return_X_y=True)
    >>> _ = torch.manual_seed(0)
    >>> net = torch.nn.Sequential(
    ...     torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3)
    ... )
    >>> scorer = DLCHardness(net, n_subnets=5, store_subnet_scores=True).fit(X, y)
    >>> display = LearningPathDisplay.from_estimator(scorer, n_groups=3)
    >>> [line.get_label() for line in display.lines_]
    ['0–33.3% (n=50)', '33.3–66.7% (n=50)', '66.7–100% (n=50)']
    """

    def __init__(
        self,
        sparsities,
        curves,
        *,
        lower=None,
        upper=None,
        group_labels=None,
        score_name="loss",
    ):
        self.sparsities = sparsities
        self.curves = curves
        self.lower = lower
        self.upper = upper
        self.group_labels = group_labels
        self.score_name = score_name

    def _validate(self):
        sparsities = check_scores("sparsities", self.sparsities)
        curves = check_scores("curves", self.curves, ndim=2)
        if curves.shape[1] != len(sparsities):
            raise ValueError(
                f"curves must have one column per subnet, {len(sparsities)} "
                f"like sparsities; got shape {curves.shape}."
            )
        if (self.lower is None) != (self.upper is None):
            raise ValueError("lower and upper must be given together, or neither.")
        lower = upper = None
        if self.lower is not None:
            lower = check_scores("lower", self.lower, ndim=2)
            upper = check_scores("upper", self.upper, ndim=2)
            if lower.shape != curves.shape or upper.shape != curves.shape:
                raise ValueError(
                    f"lower and upper must have the shape of curves {curves.shape}; "
                    f"got {lower.shape} and {upper.shape}."
                )
        labels = self.group_labels
        if labels is None:
            labels = [f"group {g}" for g in range(len(curves))]
        elif isinstance(labels, str) or len(labels) != len(curves):
            raise ValueError(
                f"group_labels must be a list of {len(curves)} labels, one per "
                f"curve; got {labels!r}."
            )
        if not isinstance(self.score_name, str):
            raise TypeError(
                f"score_name must be a str, got {type(self.score_name).__name__}."
            )
        return sparsities, curves, lower, upper, [str(s) for s in labels]

    def plot(self, ax=None, *, line_kwargs=None, fill_between_kwargs=None):
        """Plot the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to plot on. None creates a new figure and axes.
        line_kwargs : dict, default=None
            Passed to :meth:`matplotlib.axes.Axes.plot` for every curve.
        fill_between_kwargs : dict, default=None
            Passed to :meth:`matplotlib.axes.Axes.fill_between` for every band.
            In every ``*_kwargs``, matplotlib aliases (``c``, ``lw``, ``ec``, ...)
            replace the defaults they stand for; an alias with its full name
            raises a TypeError.

        Returns
        -------
        display : LearningPathDisplay
            Object that stores computed values.
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        line_kwargs = check_kwargs("line_kwargs", line_kwargs)
        fill_between_kwargs = check_kwargs("fill_between_kwargs", fill_between_kwargs)
        sparsities, curves, lower, upper, labels = self._validate()
        ax, fig = get_axes(ax)
        colors = _group_colors(len(curves))
        self.lines_ = []
        self.fill_between_ = None if lower is None else []
        for g, (curve, label) in enumerate(zip(curves, labels)):
            style = style_kwargs(
                {"color": colors[g], "linewidth": 2, "label": label}, line_kwargs
            )
            (line,) = ax.plot(sparsities, curve, **style)
            self.lines_.append(line)
            if lower is not None:
                band_style = style_kwargs(
                    {"color": line.get_color(), "alpha": 0.2, "linewidth": 0},
                    fill_between_kwargs,
                )
                self.fill_between_.append(
                    ax.fill_between(sparsities, lower[g], upper[g], **band_style)
                )
        ax.set_xlabel("sparsity of the subnet (fraction of masked weights)")
        ax.set_ylabel(f"per-subnet {self.score_name}")
        ax.legend(title="hardness quantile", loc="best")
        self.ax_, self.figure_ = ax, fig
        return self

    @classmethod
    def from_estimator(
        cls,
        scorer,
        *,
        n_groups=4,
        quantiles=None,
        statistic="mean",
        band=None,
        score_name=None,
        ax=None,
        line_kwargs=None,
        fill_between_kwargs=None,
    ):
        """Plot the learning paths of a fitted :class:`~sklearn_dlc.DLCHardness`.

        Parameters
        ----------
        scorer : fitted DLCHardness
            Fitted with ``store_subnet_scores=True``; the samples are grouped
            by its ``hardness_``.
        n_groups : int, default=4
            Number of equal-size groups, by quantiles of hardness.
        quantiles : array-like of float, default=None
            Increasing quantile edges in [0, 1] instead of ``n_groups``, e.g.
            ``[0, 0.1, 0.9, 1]`` for the easiest 10%, the middle 80% and the
            hardest 10%.
        statistic : {"mean", "median"}, default="mean"
            The central line of a group at every subnet.
        band : {None, "std", "iqr"}, default=None
            A band around every line: mean ± one standard deviation, or the
            25th to 75th percentile.
        score_name : str, default=None
            Label of the score axis. None: ``"loss"`` for
            ``measure="loss"``, ``"1 - p(true class)"`` for
            ``measure="confidence"``.
        ax : matplotlib Axes, default=None
            Axes to plot on. None creates a new figure and axes.
        line_kwargs, fill_between_kwargs : dict, default=None
            See :meth:`plot`.

        Returns
        -------
        display : LearningPathDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        check_fitted(scorer, ["hardness_", "sparsities_"])
        if getattr(scorer, "subnet_scores_", None) is None:
            raise ValueError(
                f"{type(scorer).__name__} has no subnet_scores_: fit it with "
                "store_subnet_scores=True to plot its learning paths."
            )
        if score_name is None:
            measure = getattr(scorer, "measure", "loss")
            score_name = "1 - p(true class)" if measure == "confidence" else "loss"
        return cls.from_predictions(
            scorer.subnet_scores_,
            scorer.sparsities_,
            hardness=scorer.hardness_,
            n_groups=n_groups,
            quantiles=quantiles,
            statistic=statistic,
            band=band,
            score_name=score_name,
            ax=ax,
            line_kwargs=line_kwargs,
            fill_between_kwargs=fill_between_kwargs,
        )

    @classmethod
    def from_predictions(
        cls,
        subnet_scores,
        sparsities,
        *,
        hardness=None,
        n_groups=4,
        quantiles=None,
        statistic="mean",
        band=None,
        score_name="loss",
        ax=None,
        line_kwargs=None,
        fill_between_kwargs=None,
    ):
        """Plot learning paths from a matrix of per-subnet scores.

        Parameters
        ----------
        subnet_scores : array-like of shape (n_samples, n_subnets)
            Per-subnet score of every sample (``DLCHardness.subnet_scores_``).
        sparsities : array-like of shape (n_subnets,)
            Sparsity of every subnet (``DLCHardness.sparsities_``).
        hardness : array-like of shape (n_samples,), default=None
            Scores the groups are made by. None uses the mean of every row
            of ``subnet_scores``, which is DLC's hardness.
        n_groups : int, default=4
            Number of equal-size groups, by quantiles of hardness.
        quantiles : array-like of float, default=None
            Increasing quantile edges in [0, 1] instead of ``n_groups``.
        statistic : {"mean", "median"}, default="mean"
            The central line of a group at every subnet.
        band : {None, "std", "iqr"}, default=None
            A band around every line: mean ± one standard deviation, or the
            25th to 75th percentile.
        score_name : str, default="loss"
            Label of the score axis.
        ax : matplotlib Axes, default=None
            Axes to plot on. None creates a new figure and axes.
        line_kwargs, fill_between_kwargs : dict, default=None
            See :meth:`plot`.

        Returns
        -------
        display : LearningPathDisplay

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_dlc import LearningPathDisplay
        >>> rng = np.random.default_rng(0)
        >>> sparsities = np.linspace(0, 0.6, 8)
        >>> scores = rng.uniform(size=(40, 1)) + sparsities
        >>> display = LearningPathDisplay.from_predictions(
        ...     scores, sparsities, n_groups=2, band="iqr"
        ... )
        >>> len(display.lines_), len(display.fill_between_)
        (2, 2)
        """
        check_matplotlib_support(f"{cls.__name__}.from_predictions")
        scores = check_scores("subnet_scores", subnet_scores, ndim=2)
        sparsities = check_scores("sparsities", sparsities)
        if scores.shape[1] != len(sparsities):
            raise ValueError(
                f"subnet_scores has {scores.shape[1]} columns but sparsities "
                f"{len(sparsities)} values: they must have one per subnet."
            )
        if hardness is None:
            hardness = scores.mean(axis=1)
        else:
            hardness = check_scores("hardness", hardness)
            if len(hardness) != len(scores):
                raise ValueError(
                    f"hardness must have one value per row of subnet_scores "
                    f"({len(scores)}), got {len(hardness)}."
                )
        check_option("statistic", statistic, ("mean", "median"))
        if band is not None:
            check_option("band", band, ("std", "iqr"))
        if quantiles is None:
            n_groups = check_int("n_groups", n_groups, 1)
            edges = np.linspace(0, 1, n_groups + 1)
        else:
            edges = _check_quantiles(quantiles)
        group = _group_by_rank(hardness, edges)
        sizes = np.bincount(group[group >= 0], minlength=len(edges) - 1)
        if np.any(sizes == 0):
            raise ValueError(
                f"{len(scores)} samples are too few for {len(edges) - 1} hardness "
                f"groups (group sizes {sizes.tolist()}): lower n_groups or widen "
                "the quantiles."
            )
        curves, lower, upper, labels = [], [], [], []
        for g in range(len(edges) - 1):
            rows = scores[group == g]
            if statistic == "mean":
                curves.append(rows.mean(axis=0))
            else:
                curves.append(np.median(rows, axis=0))
            if band == "std":
                mean, std = rows.mean(axis=0), rows.std(axis=0)
                lower.append(mean - std)
                upper.append(mean + std)
            elif band == "iqr":
                q1, q3 = np.percentile(rows, [25, 75], axis=0)
                lower.append(q1)
                upper.append(q3)
            low, high = (f"{round(100 * e, 1):g}" for e in edges[g : g + 2])
            labels.append(f"{low}–{high}% (n={len(rows)})")
        display = cls(
            sparsities,
            np.array(curves),
            lower=np.array(lower) if band else None,
            upper=np.array(upper) if band else None,
            group_labels=labels,
            score_name=score_name,
        )
        return display.plot(
            ax, line_kwargs=line_kwargs, fill_between_kwargs=fill_between_kwargs
        )


def _group_colors(n):
    from matplotlib import colormaps

    # Ordered groups, easiest (dark blue) to hardest (orange); the light end
    # of the map is cut off because it is hard to see on white.
    return [colormaps["plasma"](p) for p in np.linspace(0.0, 0.8, n)]
