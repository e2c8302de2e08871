"""HardnessDisplay: per-class distribution of hardness scores."""

import warnings
from numbers import Integral

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

# Overlaid histograms stop being readable well before this many groups.
_MAX_HIST_GROUPS = 10


def _check_kept_indices(kept_indices, n_samples):
    """Sorted integer indices from indices or a boolean mask of the samples."""
    if kept_indices is None:
        return None
    kept = to_numpy(kept_indices)
    if kept.ndim != 1:
        raise ValueError(
            "kept_indices must be a 1-D array of sample indices or a boolean mask "
            f"of shape (n_samples,); got an array of shape {kept.shape}."
        )
    if kept.dtype == bool:
        if len(kept) != n_samples:
            raise ValueError(
                f"kept_indices as a boolean mask must have length n_samples="
                f"{n_samples}, got {len(kept)}."
            )
        return np.flatnonzero(kept)
    if len(kept) and not np.issubdtype(kept.dtype, np.integer):
        raise TypeError(
            "kept_indices must hold integer sample indices (or be a boolean mask), "
            f"got dtype {kept.dtype}."
        )
    kept = kept.astype(np.intp)
    if len(kept) and (kept.min() < 0 or kept.max() >= n_samples):
        raise ValueError(
            f"kept_indices must lie in [0, {n_samples}) (n_samples={n_samples}); "
            f"got values from {kept.min()} to {kept.max()}."
        )
    if len(np.unique(kept)) != len(kept):
        raise ValueError("kept_indices must not repeat a sample index.")
    return np.sort(kept)


class HardnessDisplay:
    """Per-class distribution of hardness scores, with the kept samples marked.

    One horizontal box per class (``kind="box"``, the default, readable with
    dozens of classes) or one histogram per class on shared bins
    (``kind="hist"``, for a few classes or groups). When the indices of the
    samples a sampler kept are given, they are drawn on top: as dots over
    each box, or as a second histogram per class.

    Use :meth:`from_estimator` with a fitted scorer such as
    :class:`~sklearn_dlc.DLCHardness` (and optionally a fitted
    :class:`~sklearn_dlc.FlexRandSampler`), or :meth:`from_predictions` with
    precomputed scores. Creating the display directly stores the data
    without plotting; call :meth:`plot` to draw it.

    Parameters
    ----------
    hardness : array-like of shape (n_samples,)
        Hardness scores, higher = harder.
    y : array-like of shape (n_samples,), default=None
        Class labels (or any grouping) of the samples. None puts all samples
        into one group, labelled "all samples".
    kept_indices : array-like of int or of bool, default=None
        Indices of the kept samples (as in ``FlexRandSampler.sample_indices_``)
        or a boolean mask of shape (n_samples,). None marks nothing.
    hardness_name : str, default="hardness"
        Label of the hardness axis.

    Attributes
    ----------
    classes_ : ndarray of shape (n_groups,)
        The classes drawn, in the order of the boxes (top to bottom) or of the
        legend.
    boxes_ : dict or None
        The artists :meth:`matplotlib.axes.Axes.boxplot` returned
        (``kind="box"``), else None.
    patches_ : list of list of matplotlib.patches.Patch or None
        The histogram of every class (``kind="hist"``), else None.
    kept_ : list of matplotlib artists or None
        Per class, the kept samples: a
        :class:`~matplotlib.collections.PathCollection` of dots
        (``kind="box"``) or a list of histogram patches (``kind="hist"``).
        None when no ``kept_indices`` are given.
    bins_ : ndarray or None
        The shared bin edges (``kind="hist"``), else None.
    ax_ : matplotlib.axes.Axes
        Axes with the plot.
    figure_ : matplotlib.figure.Figure
        Figure containing the plot.

    See Also
    --------
    LearningPathDisplay : Subnet loss along growing sparsity.
    PruningCurveDisplay : Score against the kept fraction.

    Examples
    --------
    >>> import torch
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_dlc import DLCHardness, FlexRandSampler, HardnessDisplay
    >>> X, y = load_iris(return_X_y=True)
    >>> _ = torch.manual_seed(0)
    >>> net = torch.nn.Sequential(
    ...     torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3)
    ... )
    >>> scorer = DLCHardness(net, n_subnets=5).fit(X, y)
    >>> sampler = FlexRandSampler(0.8, random_state=0)
    >>> _ = sampler.fit_resample(X, y, hardness=scorer.hardness_)
    >>> display = HardnessDisplay.from_estimator(scorer, y, sampler=sampler)
    >>> display.classes_
    array([0, 1, 2])
    >>> [len(dots.get_offsets()) for dots in display.kept_]
    [10, 10, 10]
    """

    def __init__(
        self, hardness, *, y=None, kept_indices=None, hardness_name="hardness"
    ):
        self.hardness = hardness
        self.y = y
        self.kept_indices = kept_indices
        self.hardness_name = hardness_name

    def _validate(self):
        hardness = check_scores("hardness", self.hardness)
        n = len(hardness)
        if self.y is None:
            y = None
        else:
            y = to_numpy(self.y)
            if y.ndim != 1 or len(y) != n:
                raise ValueError(
                    f"y must be of shape (n_samples,) = ({n},) like hardness, "
                    f"got shape {y.shape}."
                )
        kept = _check_kept_indices(self.kept_indices, n)
        if not isinstance(self.hardness_name, str):
            raise TypeError(
                f"hardness_name must be a str, got {type(self.hardness_name).__name__}."
            )
        return hardness, y, kept

    @staticmethod
    def _select_classes(classes, hardness, y):
        """The labels to draw, in drawing order."""
        present = np.unique(y)
        if classes is None:
            return present
        if isinstance(classes, Integral) and not isinstance(classes, bool):
            n = check_int("classes", classes, 1)
            medians = np.array([np.median(hardness[y == c]) for c in present])
            # Hardest first; a stable sort keeps ties in label order.
            order = np.argsort(-medians, kind="stable")
            return present[order[:n]]
        if isinstance(classes, str):
            raise TypeError(
                "classes must be None, an int or a list of class labels, got a str; "
                f"use classes=[{classes!r}] for a single class."
            )
        try:
            chosen = np.asarray(list(classes))
        except TypeError as e:
            raise TypeError(
                "classes must be None, an int (the N hardest classes) or a list "
                f"of class labels, got {type(classes).__name__}."
            ) from e
        if chosen.size == 0:
            raise ValueError("classes must name at least one class.")
        missing = [c for c in chosen.tolist() if not np.any(y == c)]
        if missing:
            raise ValueError(
                f"classes {missing} are not in y; the classes of y are "
                f"{present.tolist()}."
            )
        return chosen

    def plot(
        self,
        ax=None,
        *,
        kind="box",
        classes=None,
        bins=30,
        density=False,
        box_kwargs=None,
        hist_kwargs=None,
        kept_kwargs=None,
    ):
        """Plot the hardness distribution of every class.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to plot on. None creates a new figure and axes.
        kind : {"box", "hist"}, default="box"
            ``"box"``: one horizontal box per class, first class on top, with
            the kept samples as dots (jittered vertically) over it. Fliers
            are hidden when kept samples are drawn, so that every dot is a
            kept sample. Reads well up to a few dozen classes.
            ``"hist"``: one filled histogram per class on shared bins, with
            the kept samples of each class as an outlined histogram over it
            (with one group, as a filled histogram over the grey one of all
            samples).
            Reads well up to about 5 classes; more than 10 warn.
        classes : list of labels or int, default=None
            Which classes to draw. None: all classes, in sorted order. A list:
            these classes, in this order. An int ``N``: the ``N`` classes of
            highest median hardness, hardest first (for datasets with many
            classes).
        bins : int, sequence or str, default=30
            Bins of ``kind="hist"``, as in :func:`numpy.histogram_bin_edges`;
            computed over the drawn classes and shared by all of them.
        density : bool, default=False
            ``kind="hist"`` only: normalize every histogram (the kept samples
            of a class included) to unit area, so that distributions of
            groups of different sizes compare.
        box_kwargs : dict, default=None
            Passed to :meth:`matplotlib.axes.Axes.boxplot`.
        hist_kwargs : dict, default=None
            Passed to :meth:`matplotlib.axes.Axes.hist` for all samples.
        kept_kwargs : dict, default=None
            Passed to :meth:`matplotlib.axes.Axes.scatter` (``kind="box"``) or
            :meth:`matplotlib.axes.Axes.hist` (``kind="hist"``) for the kept
            samples.
            In every ``*_kwargs``, matplotlib aliases (``c``, ``lw``, ``ec``, ...)
            replace the defaults they stand for; an alias with its full name
            raises a TypeError.

        Returns
        -------
        display : HardnessDisplay
            Object that stores computed values.
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        check_option("kind", kind, ("box", "hist"))
        if not isinstance(density, (bool, np.bool_)):
            raise TypeError(f"density must be a bool, got {type(density).__name__}.")
        box_kwargs = check_kwargs("box_kwargs", box_kwargs)
        hist_kwargs = check_kwargs("hist_kwargs", hist_kwargs)
        kept_kwargs = check_kwargs("kept_kwargs", kept_kwargs)
        hardness, y, kept = self._validate()
        single = y is None
        if single:
            if classes is not None:
                raise ValueError("classes can only be chosen when y is given.")
            y = np.zeros(len(hardness), dtype=int)
            chosen = np.array([0])
        else:
            chosen = self._select_classes(classes, hardness, y)
        kept_mask = None
        if kept is not None:
            kept_mask = np.zeros(len(hardness), dtype=bool)
            kept_mask[kept] = True
        if kind == "hist" and len(chosen) > _MAX_HIST_GROUPS:
            warnings.warn(
                f"kind='hist' overlays {len(chosen)} histograms, too many to read; "
                "pass kind='box', or classes=[...] or classes=N (the N hardest).",
                UserWarning,
                stacklevel=2,
            )

        ax, fig = get_axes(ax)
        self.boxes_ = self.patches_ = self.kept_ = self.bins_ = None
        members = [y == c for c in chosen]
        labels = ["all samples"] if single else [str(c) for c in chosen]
        if kind == "box":
            self._plot_box(
                ax, hardness, members, labels, kept_mask, box_kwargs, kept_kwargs
            )
            if not single:
                ax.set_ylabel("class")
        else:
            self._plot_hist(
                ax,
                hardness,
                members,
                labels,
                kept_mask,
                bins,
                density,
                single,
                hist_kwargs,
                kept_kwargs,
            )
            ax.set_ylabel("density" if density else "samples")
        ax.set_xlabel(self.hardness_name)
        if kind == "hist" or kept_mask is not None:
            ax.legend(loc="best")
        self.classes_ = chosen
        self.ax_, self.figure_ = ax, fig
        return self

    def _plot_box(
        self, ax, hardness, members, labels, kept_mask, box_kwargs, kept_kwargs
    ):
        import matplotlib

        n = len(members)
        # The first class on top, without inverting an axes the caller may share.
        positions = np.arange(n, 0, -1)
        style = {
            "positions": positions,
            "widths": 0.6,
            "patch_artist": True,
            "showfliers": kept_mask is None,
            "boxprops": {"facecolor": "C0", "alpha": 0.35},
            "medianprops": {"color": "k"},
            "flierprops": {"markersize": 3, "markerfacecolor": "0.5", "alpha": 0.5},
        }
        mpl_version = tuple(int(v) for v in matplotlib.__version__.split(".")[:2])
        if mpl_version >= (3, 10):
            style["orientation"] = "horizontal"
        else:  # pragma: no cover - older matplotlib
            style["vert"] = False
        style = style_kwargs(style, box_kwargs)
        self.boxes_ = ax.boxplot([hardness[m] for m in members], **style)
        ax.set_yticks(positions, labels)
        if kept_mask is None:
            return
        rng = np.random.default_rng(0)
        kept_style = style_kwargs(
            {"s": 9, "color": "C3", "alpha": 0.8, "zorder": 3}, kept_kwargs
        )
        self.kept_ = []
        for i, (pos, m) in enumerate(zip(positions, members)):
            values = hardness[m & kept_mask]
            jitter = rng.uniform(-0.2, 0.2, size=len(values))
            label = kept_style.pop("label", "kept samples") if i == 0 else None
            self.kept_.append(
                ax.scatter(values, pos + jitter, label=label, **kept_style)
            )

    def _plot_hist(
        self,
        ax,
        hardness,
        members,
        labels,
        kept_mask,
        bins,
        density,
        single,
        hist_kwargs,
        kept_kwargs,
    ):
        shown = hardness[np.logical_or.reduce(members)]
        try:
            self.bins_ = np.histogram_bin_edges(shown, bins=bins)
        except (TypeError, ValueError) as e:
            raise ValueError(
                "bins must be an int, a sequence of increasing bin edges or a "
                f"numpy.histogram_bin_edges method name, got {bins!r}."
            ) from e
        self.patches_ = []
        self.kept_ = None if kept_mask is None else []
        for i, (m, label) in enumerate(zip(members, labels)):
            color = "0.7" if single else f"C{i}"
            style = {
                "histtype": "stepfilled",
                "color": color,
                "alpha": 1.0 if single else 0.5,
                "label": label,
            }
            style = style_kwargs(style, hist_kwargs)
            *_, patches = ax.hist(
                hardness[m], bins=self.bins_, density=density, **style
            )
            self.patches_.append(list(patches))
            if kept_mask is None:
                continue
            if single:
                style = {"histtype": "stepfilled", "color": "C0"}
                style["label"] = "kept samples"
            else:
                # An outline over the filled histogram of all samples of the
                # class, so that the classes stay apart.
                style = {"histtype": "step", "color": f"C{i}", "linewidth": 2}
                style["label"] = f"{label}, kept"
            style = style_kwargs(style, kept_kwargs)
            *_, patches = ax.hist(
                hardness[m & kept_mask], bins=self.bins_, density=density, **style
            )
            self.kept_.append(list(patches))

    @classmethod
    def from_estimator(
        cls,
        scorer,
        y,
        *,
        sampler=None,
        ax=None,
        kind="box",
        classes=None,
        bins=30,
        density=False,
        hardness_name=None,
        box_kwargs=None,
        hist_kwargs=None,
        kept_kwargs=None,
    ):
        """Plot the hardness scores of a fitted scorer, per class.

        Parameters
        ----------
        scorer : fitted estimator
            An estimator with a ``hardness_`` attribute, such as a fitted
            :class:`~sklearn_dlc.DLCHardness` (or a fitted
            :class:`~sklearn_dlc.FlexRandSampler`, which keeps the scores it
            used).
        y : array-like of shape (n_samples,) or None
            The labels the scorer was fitted with (scorers do not keep
            them). None draws all samples as one group.
        sampler : fitted sampler, default=None
            A sampler fitted on the same samples, such as a
            :class:`~sklearn_dlc.FlexRandSampler`; its ``sample_indices_``
            are marked as kept.
        ax : matplotlib Axes, default=None
            Axes to plot on. None creates a new figure and axes.
        kind : {"box", "hist"}, default="box"
            See :meth:`plot`.
        classes : list of labels or int, default=None
            See :meth:`plot`.
        bins : int, sequence or str, default=30
            See :meth:`plot`.
        density : bool, default=False
            See :meth:`plot`.
        hardness_name : str, default=None
            Label of the hardness axis. None uses
            ``"hardness (<scorer class name>)"``.
        box_kwargs, hist_kwargs, kept_kwargs : dict, default=None
            See :meth:`plot`.

        Returns
        -------
        display : HardnessDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        check_fitted(scorer, ["hardness_"])
        hardness = scorer.hardness_
        kept_indices = None
        if sampler is not None:
            check_fitted(sampler, ["sample_indices_"])
            sampler_hardness = getattr(sampler, "hardness_", None)
            if sampler_hardness is not None and len(sampler_hardness) != len(hardness):
                raise ValueError(
                    f"sampler was fitted on {len(sampler_hardness)} samples but "
                    f"scorer on {len(hardness)}: fit both on the same samples."
                )
            kept_indices = sampler.sample_indices_
        if hardness_name is None:
            hardness_name = f"hardness ({type(scorer).__name__})"
        return cls.from_predictions(
            y,
            hardness,
            kept_indices=kept_indices,
            ax=ax,
            kind=kind,
            classes=classes,
            bins=bins,
            density=density,
            hardness_name=hardness_name,
            box_kwargs=box_kwargs,
            hist_kwargs=hist_kwargs,
            kept_kwargs=kept_kwargs,
        )

    @classmethod
    def from_predictions(
        cls,
        y,
        hardness,
        *,
        kept_indices=None,
        ax=None,
        kind="box",
        classes=None,
        bins=30,
        density=False,
        hardness_name="hardness",
        box_kwargs=None,
        hist_kwargs=None,
        kept_kwargs=None,
    ):
        """Plot precomputed hardness scores, per class.

        Parameters
        ----------
        y : array-like of shape (n_samples,) or None
            Class labels, or any grouping of the samples (e.g. "label
            flipped" / "label kept"). None draws all samples as one group.
        hardness : array-like of shape (n_samples,)
            Hardness scores, higher = harder.
        kept_indices : array-like of int or of bool, default=None
            Indices of the kept samples, or a boolean mask of shape
            (n_samples,).
        ax : matplotlib Axes, default=None
            Axes to plot on. None creates a new figure and axes.
        kind : {"box", "hist"}, default="box"
            See :meth:`plot`.
        classes : list of labels or int, default=None
            See :meth:`plot`.
        bins : int, sequence or str, default=30
            See :meth:`plot`.
        density : bool, default=False
            See :meth:`plot`.
        hardness_name : str, default="hardness"
            Label of the hardness axis.
        box_kwargs, hist_kwargs, kept_kwargs : dict, default=None
            See :meth:`plot`.

        Returns
        -------
        display : HardnessDisplay

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_dlc import HardnessDisplay
        >>> rng = np.random.default_rng(0)
        >>> hardness = rng.normal(size=100)
        >>> y = np.repeat(["clean", "noisy"], [90, 10])
        >>> display = HardnessDisplay.from_predictions(y, hardness, kind="hist")
        >>> [text.get_text() for text in display.ax_.get_legend().get_texts()]
        ['clean', 'noisy']
        """
        check_matplotlib_support(f"{cls.__name__}.from_predictions")
        display = cls(
            hardness, y=y, kept_indices=kept_indices, hardness_name=hardness_name
        )
        return display.plot(
            ax,
            kind=kind,
            classes=classes,
            bins=bins,
            density=density,
            box_kwargs=box_kwargs,
            hist_kwargs=hist_kwargs,
            kept_kwargs=kept_kwargs,
        )
