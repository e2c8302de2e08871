"""PruningCurveDisplay: score against kept fraction, one curve per strategy."""

import numpy as np

from ._utils import (
    check_kwargs,
    check_matplotlib_support,
    check_option,
    get_axes,
    short_param,
    style_kwargs,
    to_numpy,
    unique_in_order,
)


def _column(data, key, name):
    """``data[key]`` when ``key`` names a column of ``data``, else ``key`` itself."""
    if isinstance(key, str):
        if data is None:
            raise TypeError(
                f"{name}={key!r} is a column name, but no data was given; pass "
                f"data=<DataFrame or dict> or an array for {name}."
            )
        try:
            return data[key]
        except (KeyError, IndexError, TypeError) as e:
            raise ValueError(f"{name}={key!r} is not a column of data.") from e
    return key


def _numbers(name, values, n=None, *, allow_nan=False):
    try:
        array = to_numpy(values).astype(np.float64)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} must hold numbers, got {values!r:.80}.") from e
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional, got shape {array.shape}.")
    if n is not None and len(array) != n:
        raise ValueError(
            f"{name} must have {n} values like the others, got {len(array)}."
        )
    if not allow_nan and not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must contain only finite values (no NaN or inf).")
    return array


def _labels(name, values, n):
    array = to_numpy(values)
    if array.ndim != 1 or len(array) != n:
        raise ValueError(
            f"{name} must be of shape ({n},) like the scores, got shape {array.shape}."
        )
    return array


def _unset(values):
    """Mask of the entries a ``cv_results_`` column leaves unset."""
    if np.ma.isMaskedArray(values):
        return np.ma.getmaskarray(values)
    return np.array(
        [v is None or (isinstance(v, float) and np.isnan(v)) for v in values],
        dtype=bool,
    )


class PruningCurveDisplay:
    """Score against the kept fraction of the data, one curve per strategy.

    Every curve is a mean score with a band (or error bars) of one standard
    deviation: over cross-validation folds (:meth:`from_cv_results`) or over
    repeated runs, e.g. seeds (:meth:`from_results`). Creating the display
    directly stores the curves without plotting; call :meth:`plot` to draw
    them.

    Parameters
    ----------
    x : list of array-like
        Per curve, the kept fractions (or other parameter values), increasing.
    mean : list of array-like
        Per curve, the mean score at every value of ``x``.
    std : list of array-like, default=None
        Per curve, the standard deviation of the score. None draws no band.
    labels : list of str, default=None
        Legend entry of every curve. None draws no legend.
    x_name : str, default="kept fraction"
        Label of the x axis.
    score_name : str, default="score"
        Label of the score axis.

    Attributes
    ----------
    lines_ : list of matplotlib.lines.Line2D
        The line of every curve (with ``std_display_style="errorbar"``, the
        data line of its error bars).
    fill_between_ : list of matplotlib.collections.PolyCollection or None
        The band of every curve, with ``std_display_style="fill_between"``.
    errorbar_ : list of matplotlib.container.ErrorbarContainer or None
        The error bars of every curve, with ``std_display_style="errorbar"``.
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
    >>> from imblearn.pipeline import Pipeline
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn_dlc import DLCHardness, FlexRandSampler, PruningCurveDisplay
    >>> X, y = load_iris(return_X_y=True)
    >>> _ = torch.manual_seed(0)
    >>> net = torch.nn.Sequential(
    ...     torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3)
    ... )
    >>> pipe = Pipeline([
    ...     ("score", DLCHardness(net, n_subnets=5)),
    ...     ("prune", FlexRandSampler(random_state=0)),
    ...     ("clf", LogisticRegression()),
    ... ])
    >>> grid = {
    ...     "prune__pruning_rate": [0.5, 0.8],
    ...     "prune__strategy": ["flexrand", "random"],
    ... }
    >>> search = GridSearchCV(pipe, grid, cv=3).fit(X, y)
    >>> display = PruningCurveDisplay.from_cv_results(
    ...     search.cv_results_, group_by="prune__strategy"
    ... )
    >>> [line.get_label() for line in display.lines_]
    ['strategy=flexrand', 'strategy=random']
    >>> display.lines_[0].get_xdata()
    array([0.2, 0.5])
    """

    def __init__(
        self,
        x,
        mean,
        std=None,
        *,
        labels=None,
        x_name="kept fraction",
        score_name="score",
    ):
        self.x = x
        self.mean = mean
        self.std = std
        self.labels = labels
        self.x_name = x_name
        self.score_name = score_name

    def _validate(self):
        def curves(name, values, allow_nan=True):
            if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
                raise TypeError(
                    f"{name} must be a list of 1-D arrays, one per curve; got "
                    f"{type(values).__name__}."
                )
            return [
                _numbers(f"{name}[{i}]", v, allow_nan=allow_nan)
                for i, v in enumerate(values)
            ]

        # NaN scores (failed fits) are gaps in a curve; x must be finite.
        xs, means = curves("x", self.x, allow_nan=False), curves("mean", self.mean)
        stds = None if self.std is None else curves("std", self.std)
        if not xs:
            raise ValueError("x must hold at least one curve.")
        for name, other in (("mean", means), ("std", stds), ("labels", self.labels)):
            if other is not None and len(other) != len(xs):
                raise ValueError(
                    f"{name} must have one entry per curve ({len(xs)} in x), "
                    f"got {len(other)}."
                )
        for i, x in enumerate(xs):
            for name, other in (("mean", means), ("std", stds)):
                if other is not None and len(other[i]) != len(x):
                    raise ValueError(
                        f"{name}[{i}] must have the length of x[{i}] ({len(x)}), "
                        f"got {len(other[i])}."
                    )
        if stds is not None and any(np.any(s < 0) for s in stds):  # NaN passes
            raise ValueError("std must not be negative.")
        for name in ("x_name", "score_name"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"{name} must be a str.")
        return xs, means, stds

    def plot(
        self,
        ax=None,
        *,
        std_display_style="fill_between",
        line_kwargs=None,
        fill_between_kwargs=None,
        errorbar_kwargs=None,
    ):
        """Plot the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to plot on. None creates a new figure and axes.
        std_display_style : {"fill_between", "errorbar"} or None, \
default="fill_between"
            How to draw the standard deviation: a band from mean - std to
            mean + std, error bars, or not at all.
        line_kwargs : dict, default=None
            Passed to :meth:`matplotlib.axes.Axes.plot`.
        fill_between_kwargs : dict, default=None
            Passed to :meth:`matplotlib.axes.Axes.fill_between`.
        errorbar_kwargs : dict, default=None
            Passed to :meth:`matplotlib.axes.Axes.errorbar`.
            In every ``*_kwargs``, matplotlib aliases (``c``, ``lw``, ``ec``, ...)
            replace the defaults they stand for; an alias with its full name
            raises a TypeError.

        Returns
        -------
        display : PruningCurveDisplay
            Object that stores computed values.
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        if std_display_style is not None:
            check_option(
                "std_display_style", std_display_style, ("fill_between", "errorbar")
            )
        line_kwargs = check_kwargs("line_kwargs", line_kwargs)
        fill_between_kwargs = check_kwargs("fill_between_kwargs", fill_between_kwargs)
        errorbar_kwargs = check_kwargs("errorbar_kwargs", errorbar_kwargs)
        xs, means, stds = self._validate()
        if stds is None:
            std_display_style = None
        ax, fig = get_axes(ax)
        labels = self.labels if self.labels is not None else [None] * len(xs)
        self.lines_, self.fill_between_, self.errorbar_ = [], None, None
        if std_display_style == "fill_between":
            self.fill_between_ = []
        elif std_display_style == "errorbar":
            self.errorbar_ = []
        for i, (x, mean, label) in enumerate(zip(xs, means, labels)):
            label = None if label is None else str(label)
            if std_display_style == "errorbar":
                style = style_kwargs(
                    {"marker": "o", "capsize": 3, "label": label}, errorbar_kwargs
                )
                container = ax.errorbar(x, mean, yerr=stds[i], **style)
                self.errorbar_.append(container)
                self.lines_.append(container.lines[0])
                continue
            style = style_kwargs({"marker": "o", "label": label}, line_kwargs)
            (line,) = ax.plot(x, mean, **style)
            self.lines_.append(line)
            if std_display_style == "fill_between":
                band = style_kwargs(
                    {"color": line.get_color(), "alpha": 0.2, "linewidth": 0},
                    fill_between_kwargs,
                )
                self.fill_between_.append(
                    ax.fill_between(x, mean - stds[i], mean + stds[i], **band)
                )
        ax.set_xlabel(self.x_name)
        ax.set_ylabel(self.score_name)
        if self.labels is not None:
            ax.legend(loc="best")
        self.ax_, self.figure_ = ax, fig
        return self

    @classmethod
    def from_cv_results(
        cls,
        cv_results,
        *,
        param="prune__pruning_rate",
        group_by=None,
        kept="auto",
        score="test_score",
        score_name=None,
        ax=None,
        std_display_style="fill_between",
        line_kwargs=None,
        fill_between_kwargs=None,
        errorbar_kwargs=None,
    ):
        """Plot the cross-validated score of a search against the kept fraction.

        Every candidate of the search gives one point: its ``mean_<score>``
        with a band of ``std_<score>`` (over the folds).

        Parameters
        ----------
        cv_results : dict or pandas.DataFrame
            The ``cv_results_`` of a
            :class:`~sklearn.model_selection.GridSearchCV` (or of another
            search), or a DataFrame made of it, possibly filtered to some
            candidates.
        param : str, default="prune__pruning_rate"
            The parameter on the x axis (its column is ``"param_" + param``).
        group_by : str, default=None
            A parameter whose values make separate curves, such as
            ``"prune__strategy"``. None draws one curve.
        kept : bool or "auto", default="auto"
            True plots ``1 - param`` (the kept fraction, for a pruning rate);
            False plots ``param`` itself. "auto" is True when ``param`` ends
            with ``"pruning_rate"``.
        score : str, default="test_score"
            Which score: the columns ``"mean_" + score`` and
            ``"std_" + score``. With several metrics, e.g. ``"test_accuracy"``.
        score_name : str, default=None
            Label of the score axis. None uses ``score`` with spaces, e.g.
            "test score".
        ax : matplotlib Axes, default=None
            Axes to plot on. None creates a new figure and axes.
        std_display_style : {"fill_between", "errorbar"} or None, \
default="fill_between"
            See :meth:`plot`.
        line_kwargs, fill_between_kwargs, errorbar_kwargs : dict, default=None
            See :meth:`plot`.

        Returns
        -------
        display : PruningCurveDisplay

        Raises
        ------
        ValueError
            When several candidates share a value of ``param`` (and of
            ``group_by``): their other parameters differ, and the curve would
            be ambiguous. Group by one of these parameters or keep one
            candidate per value.
        """
        check_matplotlib_support(f"{cls.__name__}.from_cv_results")
        if not isinstance(param, str):
            raise TypeError(f"param must be a str, got {type(param).__name__}.")
        if group_by is not None and not isinstance(group_by, str):
            raise TypeError(
                f"group_by must be a str or None, got {type(group_by).__name__}."
            )
        if not isinstance(score, str):
            raise TypeError(f"score must be a str, got {type(score).__name__}.")
        if not (hasattr(cv_results, "keys") and hasattr(cv_results, "__getitem__")):
            raise TypeError(
                "cv_results must be a dict such as GridSearchCV.cv_results_ or a "
                f"DataFrame of it, got {type(cv_results).__name__}."
            )
        keys = list(cv_results.keys())
        params = [k[len("param_") :] for k in keys if k.startswith("param_")]
        for name, p in (("param", param), ("group_by", group_by)):
            if p is not None and p not in params:
                raise ValueError(
                    f"{name}={p!r} is not a parameter of cv_results; its "
                    f"parameters are {params}."
                )
        for prefix in ("mean_", "std_"):
            if prefix + score not in keys:
                scores = [k[len("mean_") :] for k in keys if k.startswith("mean_")]
                raise ValueError(
                    f"score={score!r}: cv_results has no column {prefix + score!r}; "
                    f"the scores it has are {scores}."
                )
        if kept == "auto":
            kept = param.endswith("pruning_rate")
        elif not isinstance(kept, (bool, np.bool_)):
            raise TypeError(f"kept must be a bool or 'auto', got {kept!r}.")

        raw = cv_results["param_" + param]
        rows = ~_unset(raw)
        x = _numbers(
            f"the values of param {param!r}",
            np.asarray(to_numpy(raw), dtype=object)[rows],
        )
        if kept:
            if np.any((x < 0) | (x > 1)):
                raise ValueError(
                    f"kept=True plots 1 - {param}, which needs values in [0, 1]; "
                    f"got {sorted(set(x.tolist()))}. Pass kept=False."
                )
            x = np.round(1 - x, 12)  # 1 - 0.7 is 0.30000000000000004
        # A failed fit (error_score=nan) leaves NaN: a gap in the curve.
        mean = _numbers("mean_" + score, cv_results["mean_" + score], allow_nan=True)
        std = _numbers("std_" + score, cv_results["std_" + score], allow_nan=True)
        mean, std = mean[rows], std[rows]
        if group_by is None:
            groups = np.zeros(len(x), dtype=int)
            labels = None
        else:
            raw_group = cv_results["param_" + group_by]
            unset = _unset(raw_group)[rows]
            short = short_param(group_by)
            groups = np.array(
                [
                    f"{short} unset" if u else f"{short}={v}"
                    for v, u in zip(np.asarray(raw_group, dtype=object)[rows], unset)
                ],
                dtype=object,
            )
            labels = [str(g) for g in unique_in_order(groups)]
        others = [p for p in params if p not in (param, group_by)]
        xs, means, stds = [], [], []
        for g in unique_in_order(groups):
            member = groups == g
            order = np.argsort(x[member], kind="stable")
            gx, gmean, gstd = x[member][order], mean[member][order], std[member][order]
            duplicated = gx[np.flatnonzero(np.diff(gx) == 0)]
            if len(duplicated):
                value = 1 - duplicated[0] if kept else duplicated[0]
                where = "" if group_by is None else f" and {g}"
                raise ValueError(
                    f"cv_results has several candidates with {param}={value:g}{where}; "
                    f"their other parameters ({', '.join(others) or 'none'}) differ. "
                    "Pass group_by=<one of them>, or keep one candidate per value "
                    "(e.g. filter pandas.DataFrame(cv_results))."
                )
            xs.append(gx)
            means.append(gmean)
            stds.append(gstd)
        x_name = (
            f"kept fraction (1 - {short_param(param)})" if kept else short_param(param)
        )
        if score_name is None:
            score_name = score.replace("_", " ")
        display = cls(
            xs, means, stds, labels=labels, x_name=x_name, score_name=score_name
        )
        return display.plot(
            ax,
            std_display_style=std_display_style,
            line_kwargs=line_kwargs,
            fill_between_kwargs=fill_between_kwargs,
            errorbar_kwargs=errorbar_kwargs,
        )

    @classmethod
    def from_results(
        cls,
        kept_fraction,
        score,
        *,
        strategy=None,
        seed=None,
        data=None,
        score_name="score",
        ax=None,
        std_display_style="fill_between",
        line_kwargs=None,
        fill_between_kwargs=None,
        errorbar_kwargs=None,
    ):
        """Plot a table of results: mean ± std of the score per strategy and fraction.

        One row per run. The rows that share a strategy and a kept fraction
        are aggregated to their mean and (population, ``ddof=0``, as in
        ``cv_results_``) standard deviation.

        Parameters
        ----------
        kept_fraction : array-like of shape (n_runs,) or str
            Kept fraction of every run, in [0, 1] (``1 - pruning_rate``). A
            str names a column of ``data``; so do the str values of the
            parameters below.
        score : array-like of shape (n_runs,) or str
            Score of every run, e.g. test accuracy after fine-tuning.
        strategy : array-like of shape (n_runs,) or str, default=None
            Strategy (or any method name) of every run; one curve per
            strategy, in order of first appearance. None draws one curve.
        seed : array-like of shape (n_runs,) or str, default=None
            Seed of every run. When given, runs that share a strategy, a
            kept fraction *and* a seed (e.g. cross-validation folds) are
            first averaged, and the standard deviation is taken across
            seeds.
        data : pandas.DataFrame or dict, default=None
            The table that str arguments name columns of.
        score_name : str, default="score"
            Label of the score axis.
        ax : matplotlib Axes, default=None
            Axes to plot on. None creates a new figure and axes.
        std_display_style : {"fill_between", "errorbar"} or None, \
default="fill_between"
            See :meth:`plot`.
        line_kwargs, fill_between_kwargs, errorbar_kwargs : dict, default=None
            See :meth:`plot`.

        Returns
        -------
        display : PruningCurveDisplay

        Examples
        --------
        >>> from sklearn_dlc import PruningCurveDisplay
        >>> display = PruningCurveDisplay.from_results(
        ...     kept_fraction=[0.1, 0.1, 0.5, 0.5, 0.1, 0.1, 0.5, 0.5],
        ...     score=[0.80, 0.84, 0.90, 0.92, 0.78, 0.80, 0.91, 0.91],
        ...     strategy=["flexrand"] * 4 + ["random"] * 4,
        ... )
        >>> display.lines_[0].get_ydata()
        array([0.82, 0.91])
        >>> [line.get_label() for line in display.lines_]
        ['flexrand', 'random']
        """
        check_matplotlib_support(f"{cls.__name__}.from_results")
        kept_fraction = _column(data, kept_fraction, "kept_fraction")
        score = _column(data, score, "score")
        x = _numbers("kept_fraction", kept_fraction)
        n = len(x)
        if n == 0:
            raise ValueError("kept_fraction must not be empty.")
        if np.any((x < 0) | (x > 1)):
            raise ValueError(
                "kept_fraction must lie in [0, 1] (1 - pruning_rate); got values "
                f"from {x.min():g} to {x.max():g}."
            )
        values = _numbers("score", score, n)
        if strategy is None:
            groups, labels = np.zeros(n, dtype=int), None
        else:
            groups = _labels("strategy", _column(data, strategy, "strategy"), n).astype(
                str
            )
            labels = [str(g) for g in unique_in_order(groups)]
        seeds = None
        if seed is not None:
            seeds = _labels("seed", _column(data, seed, "seed"), n).astype(str)
        xs, means, stds = [], [], []
        for g in unique_in_order(groups):
            member = groups == g
            gx = np.unique(x[member])
            gmean, gstd = [], []
            for v in gx:
                at = member & (x == v)
                runs = values[at]
                if seeds is not None:
                    runs = np.array(
                        [
                            runs[seeds[at] == s].mean()
                            for s in unique_in_order(seeds[at])
                        ]
                    )
                gmean.append(runs.mean())
                gstd.append(runs.std())
            xs.append(gx)
            means.append(np.array(gmean))
            stds.append(np.array(gstd))
        display = cls(
            xs,
            means,
            stds,
            labels=labels,
            x_name="kept fraction (1 - pruning_rate)",
            score_name=score_name,
        )
        return display.plot(
            ax,
            std_display_style=std_display_style,
            line_kwargs=line_kwargs,
            fill_between_kwargs=fill_between_kwargs,
            errorbar_kwargs=errorbar_kwargs,
        )
