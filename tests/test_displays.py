"""Tests of the Display classes: the plotted data equal the inputs."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from sklearn_dlc import (
    DLCHardness,
    FlexRandSampler,
    HardnessDisplay,
    LearningPathDisplay,
    PruningCurveDisplay,
)

mpl = pytest.importorskip("matplotlib")
mpl.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


class FittedScorer:
    """Stands for a fitted scorer (duck-typed): the attributes, no network."""

    def __init__(self, **attributes):
        self.__dict__.update(attributes)


@pytest.fixture
def scores():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], [30, 20, 10])
    hardness = rng.normal(loc=y, size=len(y))
    kept = np.sort(rng.choice(len(y), 15, replace=False))
    return y, hardness, kept


def hist_heights(patch, n_bins):
    """Bar heights of a ``step`` / ``stepfilled`` histogram polygon."""
    return patch.get_xy()[1 : 2 * n_bins : 2, 1]


def band_bounds(collection, x):
    """Lowest and highest y of a fill_between band at every ``x``."""
    vertices = collection.get_paths()[0].vertices
    low = [vertices[np.isclose(vertices[:, 0], v), 1].min() for v in x]
    high = [vertices[np.isclose(vertices[:, 0], v), 1].max() for v in x]
    return np.array(low), np.array(high)


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_import_does_not_import_matplotlib():
    code = "import sys, sklearn_dlc; print('matplotlib' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


# -- HardnessDisplay -------------------------------------------------------------


def test_hardness_box_data(scores):
    y, hardness, kept = scores
    display = HardnessDisplay.from_predictions(y, hardness, kept_indices=kept)
    np.testing.assert_array_equal(display.classes_, [0, 1, 2])
    medians = display.boxes_["medians"]
    assert len(medians) == 3
    ticks = dict(
        zip(
            display.ax_.get_yticks(),
            [t.get_text() for t in display.ax_.get_yticklabels()],
        )
    )
    for c, median, dots in zip([0, 1, 2], medians, display.kept_):
        np.testing.assert_allclose(median.get_xdata(), np.median(hardness[y == c]))
        position = median.get_ydata().mean()
        assert ticks[position] == str(c)
        offsets = dots.get_offsets()
        in_class = np.intersect1d(kept, np.flatnonzero(y == c))
        np.testing.assert_allclose(np.sort(offsets[:, 0]), np.sort(hardness[in_class]))
        assert np.all(np.abs(offsets[:, 1] - position) <= 0.2)
    # The first class is drawn on top.
    assert medians[0].get_ydata().mean() > medians[-1].get_ydata().mean()
    assert display.ax_.get_xlabel() == "hardness"
    assert display.ax_.get_ylabel() == "class"
    assert legend_texts(display.ax_) == ["kept samples"]
    assert display.patches_ is None and display.bins_ is None


def test_hardness_box_without_kept_shows_fliers(scores):
    y, hardness, _ = scores
    display = HardnessDisplay.from_predictions(y, hardness)
    assert display.kept_ is None
    assert display.ax_.get_legend() is None
    n_fliers = sum(len(f.get_xdata()) for f in display.boxes_["fliers"])
    with_kept = HardnessDisplay.from_predictions(y, hardness, kept_indices=[0, 1])
    assert sum(len(f.get_xdata()) for f in with_kept.boxes_["fliers"]) == 0
    assert n_fliers >= 0


@pytest.mark.parametrize("density", [False, True])
def test_hardness_hist_data(scores, density):
    y, hardness, kept = scores
    display = HardnessDisplay.from_predictions(
        y, hardness, kept_indices=kept, kind="hist", bins=12, density=density
    )
    edges = np.histogram_bin_edges(hardness, bins=12)
    np.testing.assert_allclose(display.bins_, edges)
    kept_mask = np.isin(np.arange(len(y)), kept)
    for c, patches, kept_patches in zip([0, 1, 2], display.patches_, display.kept_):
        expected, _ = np.histogram(hardness[y == c], bins=edges, density=density)
        np.testing.assert_allclose(hist_heights(patches[0], 12), expected)
        expected, _ = np.histogram(
            hardness[(y == c) & kept_mask], bins=edges, density=density
        )
        np.testing.assert_allclose(hist_heights(kept_patches[0], 12), expected)
    assert legend_texts(display.ax_) == ["0", "0, kept", "1", "1, kept", "2", "2, kept"]
    assert display.ax_.get_ylabel() == ("density" if density else "samples")
    assert display.boxes_ is None


@pytest.mark.parametrize("kind", ["box", "hist"])
def test_hardness_single_group(scores, kind):
    _, hardness, kept = scores
    display = HardnessDisplay.from_predictions(
        None, hardness, kept_indices=kept, kind=kind
    )
    if kind == "box":
        labels = [t.get_text() for t in display.ax_.get_yticklabels()]
        assert labels == ["all samples"]
        assert display.ax_.get_ylabel() == ""
        assert len(display.kept_[0].get_offsets()) == len(kept)
    else:
        assert legend_texts(display.ax_) == ["all samples", "kept samples"]
        counts, _ = np.histogram(hardness[kept], bins=display.bins_)
        np.testing.assert_allclose(hist_heights(display.kept_[0][0], 30), counts)


def test_hardness_kept_mask_equals_indices(scores):
    y, hardness, kept = scores
    mask = np.zeros(len(y), dtype=bool)
    mask[kept] = True
    a = HardnessDisplay.from_predictions(y, hardness, kept_indices=kept)
    b = HardnessDisplay.from_predictions(y, hardness, kept_indices=mask)
    for dots_a, dots_b in zip(a.kept_, b.kept_):
        np.testing.assert_array_equal(dots_a.get_offsets(), dots_b.get_offsets())


@pytest.mark.parametrize(
    "classes, expected", [([2, 0], [2, 0]), (2, [2, 1]), (1, [2]), (10, [2, 1, 0])]
)
def test_hardness_classes_subset(scores, classes, expected):
    y, hardness, _ = scores
    display = HardnessDisplay.from_predictions(y, hardness, classes=classes)
    np.testing.assert_array_equal(display.classes_, expected)
    ticks = zip(display.ax_.get_yticks(), display.ax_.get_yticklabels())
    # The first class is on top.
    top_down = [label.get_text() for _, label in sorted(ticks, key=lambda t: -t[0])]
    assert top_down == [str(c) for c in expected]


def test_hardness_string_labels():
    y = np.array(["flipped", "kept", "kept", "flipped", "kept"])
    hardness = np.array([2.0, 0.5, 0.7, 1.5, 0.2])
    display = HardnessDisplay.from_predictions(y, hardness, kind="hist", bins=3)
    assert legend_texts(display.ax_) == ["flipped", "kept"]
    counts, _ = np.histogram([2.0, 1.5], bins=display.bins_)
    np.testing.assert_allclose(hist_heights(display.patches_[0][0], 3), counts)


def test_hardness_ax_reuse(scores):
    y, hardness, _ = scores
    fig, (ax0, ax1) = plt.subplots(1, 2)
    display = HardnessDisplay.from_predictions(y, hardness, ax=ax1, kind="hist")
    assert display.ax_ is ax1 and display.figure_ is fig
    assert not ax0.has_data()
    again = display.plot(ax=ax0)
    assert again is display and display.ax_ is ax0


def test_hardness_from_estimator_real_scorer():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3)
    )
    scorer = DLCHardness(net, n_subnets=5).fit(X, y)
    sampler = FlexRandSampler(0.8, random_state=0)
    sampler.fit_resample(X, y, hardness=scorer.hardness_)
    display = HardnessDisplay.from_estimator(scorer, y, sampler=sampler)
    assert display.ax_.get_xlabel() == "hardness (DLCHardness)"
    dots = np.concatenate([d.get_offsets()[:, 0] for d in display.kept_])
    np.testing.assert_allclose(
        np.sort(dots), np.sort(scorer.hardness_[sampler.sample_indices_])
    )
    # A fitted sampler is a scorer too: it keeps the scores it used.
    from_sampler = HardnessDisplay.from_estimator(sampler, y, hardness_name="h")
    assert from_sampler.ax_.get_xlabel() == "h"


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(hardness=np.ones((4, 2))), ValueError, "hardness must be 1-dimensional"),
        (dict(hardness=[1.0, np.nan, 2, 3]), ValueError, "finite"),
        (dict(hardness=["a", "b", "c", "d"]), TypeError, "hardness must be"),
        (dict(y=[0, 1]), ValueError, r"y must be of shape \(n_samples,\)"),
        (dict(kept_indices=[0, 4]), ValueError, r"kept_indices must lie in \[0, 4\)"),
        (dict(kept_indices=[-1]), ValueError, "kept_indices must lie"),
        (dict(kept_indices=[1, 1]), ValueError, "must not repeat"),
        (dict(kept_indices=[0.5]), TypeError, "kept_indices must hold integer"),
        (dict(kept_indices=[True, False]), ValueError, "boolean mask must have"),
        (dict(kept_indices=[[0]]), ValueError, "kept_indices must be a 1-D"),
        (dict(kind="violin"), ValueError, "kind must be one of 'box', 'hist'"),
        (dict(classes=[7]), ValueError, r"classes \[7\] are not in y"),
        (dict(classes=0), ValueError, "classes must be >= 1"),
        (dict(classes="a"), TypeError, "classes must be None, an int or a list"),
        (dict(classes=[]), ValueError, "at least one class"),
        (dict(y=None, classes=[0]), ValueError, "classes can only be chosen when y"),
        (dict(kind="hist", bins="nope"), ValueError, "bins must be"),
        (dict(density="yes"), TypeError, "density must be a bool"),
        (dict(box_kwargs=[1]), TypeError, "box_kwargs must be a dict"),
        (dict(ax="axes"), TypeError, "ax must be a matplotlib Axes"),
        (dict(hardness_name=3), TypeError, "hardness_name must be a str"),
    ],
)
def test_hardness_errors(kwargs, error, match):
    params = dict(y=[0, 0, 1, 1], hardness=[0.1, 0.2, 0.3, 0.4])
    params.update(kwargs)
    with pytest.raises(error, match=match):
        HardnessDisplay.from_predictions(**params)


def test_hardness_many_classes_hist_warns():
    y = np.arange(24) % 12
    with pytest.warns(UserWarning, match="overlays 12 histograms"):
        HardnessDisplay.from_predictions(y, np.arange(24.0), kind="hist")


def test_hardness_from_estimator_errors(scores):
    y, hardness, kept = scores
    with pytest.raises(NotFittedError):
        HardnessDisplay.from_estimator(DLCHardness(torch.nn.Linear(2, 2)), y)
    scorer = FittedScorer(hardness_=hardness)
    with pytest.raises(NotFittedError):
        HardnessDisplay.from_estimator(scorer, y, sampler=FlexRandSampler())
    other = FittedScorer(sample_indices_=np.arange(3), hardness_=np.zeros(5))
    with pytest.raises(ValueError, match="sampler was fitted on 5 samples"):
        HardnessDisplay.from_estimator(scorer, y, sampler=other)
    with pytest.raises(TypeError):
        HardnessDisplay.from_estimator(object(), y)
    # Duck typing: any object with the fitted attributes will do.
    display = HardnessDisplay.from_estimator(
        scorer, y, sampler=FittedScorer(sample_indices_=kept)
    )
    assert sum(len(d.get_offsets()) for d in display.kept_) == len(kept)


# -- LearningPathDisplay ---------------------------------------------------------


@pytest.fixture
def path():
    rng = np.random.default_rng(0)
    sparsities = np.linspace(0, 0.6, 7)
    subnet_scores = (
        rng.uniform(size=(40, 1)) + sparsities + rng.normal(scale=0.05, size=(40, 7))
    )
    return subnet_scores, sparsities


@pytest.mark.parametrize("statistic", ["mean", "median"])
@pytest.mark.parametrize("n_groups", [1, 2, 4])
def test_learning_path_lines(path, statistic, n_groups):
    subnet_scores, sparsities = path
    display = LearningPathDisplay.from_predictions(
        subnet_scores, sparsities, n_groups=n_groups, statistic=statistic
    )
    order = np.argsort(subnet_scores.mean(axis=1), kind="stable")
    groups = np.array_split(order, n_groups)
    assert len(display.lines_) == n_groups
    assert display.fill_between_ is None
    reduce = np.mean if statistic == "mean" else np.median
    for line, rows in zip(display.lines_, groups):
        np.testing.assert_allclose(line.get_xdata(), sparsities)
        np.testing.assert_allclose(
            line.get_ydata(), reduce(subnet_scores[rows], axis=0)
        )
    ax = display.ax_
    assert ax.get_xlabel() == "sparsity of the subnet (fraction of masked weights)"
    assert ax.get_ylabel() == "per-subnet loss"
    assert ax.get_legend().get_title().get_text() == "hardness quantile"
    size = 40 // n_groups
    assert legend_texts(ax)[0] == f"0–{100 / n_groups:g}% (n={size})"
    assert legend_texts(ax)[-1] == f"{100 - 100 / n_groups:g}–100% (n={size})"


@pytest.mark.parametrize("band", ["std", "iqr"])
def test_learning_path_bands(path, band):
    subnet_scores, sparsities = path
    display = LearningPathDisplay.from_predictions(
        subnet_scores, sparsities, n_groups=2, band=band
    )
    order = np.argsort(subnet_scores.mean(axis=1), kind="stable")
    for collection, rows in zip(display.fill_between_, np.array_split(order, 2)):
        values = subnet_scores[rows]
        if band == "std":
            mean, std = values.mean(axis=0), values.std(axis=0)
            expected = mean - std, mean + std
        else:
            expected = np.percentile(values, [25, 75], axis=0)
        low, high = band_bounds(collection, sparsities)
        np.testing.assert_allclose(low, expected[0])
        np.testing.assert_allclose(high, expected[1])


def test_learning_path_quantiles_and_hardness(path):
    subnet_scores, sparsities = path
    hardness = -subnet_scores[:, 0]
    display = LearningPathDisplay.from_predictions(
        subnet_scores, sparsities, hardness=hardness, quantiles=[0, 0.1, 0.9, 1]
    )
    order = np.argsort(hardness, kind="stable")
    for line, rows in zip(display.lines_, [order[:4], order[4:36], order[36:]]):
        np.testing.assert_allclose(line.get_ydata(), subnet_scores[rows].mean(axis=0))
    assert legend_texts(display.ax_) == [
        "0–10% (n=4)",
        "10–90% (n=32)",
        "90–100% (n=4)",
    ]
    # Edges need not cover [0, 1]: samples outside are left out.
    display = LearningPathDisplay.from_predictions(
        subnet_scores, sparsities, hardness=hardness, quantiles=[0.9, 1]
    )
    np.testing.assert_allclose(
        display.lines_[0].get_ydata(), subnet_scores[order[36:]].mean(axis=0)
    )


def test_learning_path_ties_give_equal_groups():
    scores = np.ones((8, 3))
    display = LearningPathDisplay.from_predictions(scores, [0, 0.1, 0.2], n_groups=4)
    assert [t.endswith("(n=2)") for t in legend_texts(display.ax_)] == [True] * 4


def test_learning_path_from_estimator():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3)
    )
    scorer = DLCHardness(net, n_subnets=4, step=0.2).fit(X, y)
    with pytest.raises(ValueError, match="store_subnet_scores=True"):
        LearningPathDisplay.from_estimator(scorer)
    scorer.set_params(store_subnet_scores=True, measure="confidence").fit(X, y)
    fig, ax = plt.subplots()
    display = LearningPathDisplay.from_estimator(scorer, n_groups=2, ax=ax)
    assert display.ax_ is ax and display.figure_ is fig
    np.testing.assert_allclose(display.lines_[0].get_xdata(), scorer.sparsities_)
    easiest = np.argsort(scorer.hardness_, kind="stable")[:75]
    np.testing.assert_allclose(
        display.lines_[0].get_ydata(),
        scorer.subnet_scores_[easiest].mean(axis=0),
        rtol=1e-6,
    )
    assert ax.get_ylabel() == "per-subnet 1 - p(true class)"


def test_learning_path_not_fitted():
    with pytest.raises(NotFittedError):
        LearningPathDisplay.from_estimator(DLCHardness(torch.nn.Linear(2, 2)))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(subnet_scores=np.ones(5)), ValueError, "subnet_scores must be 2-dim"),
        (dict(sparsities=[0, 0.5]), ValueError, "subnet_scores has 3 columns"),
        (dict(hardness=np.ones(3)), ValueError, "hardness must have one value per"),
        (dict(n_groups=20), ValueError, "too few for 20 hardness groups"),
        (dict(n_groups=0), ValueError, "n_groups must be >= 1"),
        (dict(n_groups=2.0), TypeError, "n_groups must be an int"),
        (dict(quantiles=[0.5, 0.2]), ValueError, "quantiles must be at least two"),
        (dict(quantiles=[0, 1.5]), ValueError, "quantiles must be"),
        (dict(quantiles=["a", "b"]), TypeError, "quantiles must be an array-like"),
        (dict(statistic="max"), ValueError, "statistic must be one of"),
        (dict(band="minmax"), ValueError, "band must be one of"),
        (dict(line_kwargs="red"), TypeError, "line_kwargs must be a dict"),
        (dict(score_name=1), TypeError, "score_name must be a str"),
    ],
)
def test_learning_path_errors(kwargs, error, match):
    params = dict(
        subnet_scores=np.arange(30.0).reshape(10, 3), sparsities=[0, 0.1, 0.2]
    )
    params.update(kwargs)
    with pytest.raises(error, match=match):
        LearningPathDisplay.from_predictions(**params)


def test_learning_path_init_errors():
    with pytest.raises(ValueError, match="lower and upper must be given together"):
        LearningPathDisplay([0, 1], [[1, 2]], lower=[[0, 1]]).plot()
    with pytest.raises(ValueError, match="curves must have one column per subnet"):
        LearningPathDisplay([0, 1, 2], [[1, 2]]).plot()
    with pytest.raises(ValueError, match="group_labels must be a list of 1"):
        LearningPathDisplay([0, 1], [[1, 2]], group_labels=["a", "b"]).plot()
    display = LearningPathDisplay([0, 1], [[1, 2]]).plot()
    assert legend_texts(display.ax_) == ["group 0"]


# -- PruningCurveDisplay ---------------------------------------------------------


@pytest.fixture
def results():
    rng = np.random.default_rng(0)
    kept = np.tile(np.repeat([0.5, 0.1, 0.3], 3), 2)
    strategy = np.repeat(["random", "flexrand"], 9)
    seed = np.tile([0, 1, 2], 6)
    score = rng.uniform(0.7, 0.9, size=18)
    return kept, score, strategy, seed


def expected_curves(kept, score, strategy):
    curves = {}
    for s in dict.fromkeys(strategy):
        xs = np.unique(kept[strategy == s])
        runs = [score[(strategy == s) & (kept == x)] for x in xs]
        curves[s] = (
            xs,
            np.array([r.mean() for r in runs]),
            np.array([r.std() for r in runs]),
        )
    return curves


@pytest.mark.parametrize("style", ["fill_between", "errorbar", None])
def test_pruning_curve_from_results(results, style):
    kept, score, strategy, _ = results
    display = PruningCurveDisplay.from_results(
        kept, score, strategy=strategy, std_display_style=style
    )
    curves = expected_curves(kept, score, strategy)
    artists = display.errorbar_ if style == "errorbar" else display.lines_
    assert [a.get_label() for a in artists] == ["random", "flexrand"]
    assert legend_texts(display.ax_) == ["random", "flexrand"]
    for i, (line, (x, mean, std)) in enumerate(zip(display.lines_, curves.values())):
        np.testing.assert_allclose(line.get_xdata(), x)
        np.testing.assert_allclose(line.get_ydata(), mean)
        if style == "fill_between":
            low, high = band_bounds(display.fill_between_[i], x)
            np.testing.assert_allclose(low, mean - std)
            np.testing.assert_allclose(high, mean + std)
        elif style == "errorbar":
            segments = display.errorbar_[i].lines[2][0].get_segments()
            np.testing.assert_allclose([s[0][1] for s in segments], mean - std)
            np.testing.assert_allclose([s[1][1] for s in segments], mean + std)
    if style != "fill_between":
        assert display.fill_between_ is None
    if style != "errorbar":
        assert display.errorbar_ is None
    assert display.ax_.get_xlabel() == "kept fraction (1 - pruning_rate)"
    assert display.ax_.get_ylabel() == "score"


def test_pruning_curve_seed_aggregation():
    # Two folds per seed are averaged first; std is across seeds.
    kept = [0.2] * 4
    score = [0.6, 0.8, 0.9, 0.9]
    seed = [0, 0, 1, 1]
    display = PruningCurveDisplay.from_results(kept, score, seed=seed)
    np.testing.assert_allclose(display.lines_[0].get_ydata(), [0.8])
    low, high = band_bounds(display.fill_between_[0], [0.2])
    np.testing.assert_allclose([low[0], high[0]], [0.7, 0.9])
    assert display.ax_.get_legend() is None


def test_pruning_curve_from_dataframe(results):
    pd = pytest.importorskip("pandas")
    kept, score, strategy, seed = results
    table = pd.DataFrame(dict(kept=kept, acc=score, method=strategy, seed=seed))
    a = PruningCurveDisplay.from_results(
        "kept", "acc", strategy="method", seed="seed", data=table, score_name="acc"
    )
    b = PruningCurveDisplay.from_results(kept, score, strategy=strategy)
    for line_a, line_b in zip(a.lines_, b.lines_):
        np.testing.assert_allclose(line_a.get_ydata(), line_b.get_ydata())
    assert a.ax_.get_ylabel() == "acc"
    # A dict of columns works the same way.
    c = PruningCurveDisplay.from_results("k", "s", data={"k": kept, "s": score})
    np.testing.assert_allclose(c.lines_[0].get_xdata(), [0.1, 0.3, 0.5])


def make_cv_results(rates, strategies, mean, std):
    """A ``cv_results_`` as GridSearchCV builds it (masked object arrays)."""
    rate_col, strategy_col = [], []
    for rate in rates:
        for s in strategies:
            rate_col.append(rate)
            strategy_col.append(s)
    n = len(rate_col)
    return {
        "param_prune__pruning_rate": np.ma.MaskedArray(
            rate_col, mask=[False] * n, dtype=object
        ),
        "param_prune__strategy": np.ma.MaskedArray(
            strategy_col, mask=[False] * n, dtype=object
        ),
        "mean_test_score": np.asarray(mean, dtype=float),
        "std_test_score": np.asarray(std, dtype=float),
        "params": [{} for _ in range(n)],
    }


def test_pruning_curve_from_cv_results():
    mean = [0.9, 0.85, 0.7, 0.72]
    std = [0.01, 0.02, 0.03, 0.04]
    cv_results = make_cv_results([0.5, 0.9], ["flexrand", "random"], mean, std)
    display = PruningCurveDisplay.from_cv_results(
        cv_results, group_by="prune__strategy"
    )
    assert legend_texts(display.ax_) == ["strategy=flexrand", "strategy=random"]
    flexrand, random = display.lines_
    # x = 1 - pruning_rate, increasing.
    np.testing.assert_allclose(flexrand.get_xdata(), [0.1, 0.5])
    np.testing.assert_allclose(flexrand.get_ydata(), [0.7, 0.9])
    np.testing.assert_allclose(random.get_ydata(), [0.72, 0.85])
    low, high = band_bounds(display.fill_between_[1], [0.1, 0.5])
    np.testing.assert_allclose(low, [0.68, 0.83])
    np.testing.assert_allclose(high, [0.76, 0.87])
    assert display.ax_.get_xlabel() == "kept fraction (1 - pruning_rate)"
    assert display.ax_.get_ylabel() == "test score"


def test_pruning_curve_cv_results_param_on_x():
    cv_results = make_cv_results([0.5, 0.9], ["a", "b"], [1, 2, 3, 4], [0, 0, 0, 0])
    cv_results["param_prune__split"] = cv_results.pop("param_prune__strategy")
    cv_results["param_prune__split"][:] = [0.7, 0.3, 0.7, 0.3]
    display = PruningCurveDisplay.from_cv_results(
        cv_results, param="prune__split", group_by="prune__pruning_rate"
    )
    assert display.ax_.get_xlabel() == "split"  # kept="auto": not a pruning rate
    np.testing.assert_allclose(display.lines_[0].get_xdata(), [0.3, 0.7])
    np.testing.assert_allclose(display.lines_[0].get_ydata(), [2, 1])
    assert legend_texts(display.ax_) == ["pruning_rate=0.5", "pruning_rate=0.9"]


def test_pruning_curve_cv_results_dataframe_and_masked():
    pd = pytest.importorskip("pandas")
    cv_results = make_cv_results(
        [0.5, 0.9], ["flexrand", "random"], [0.9, 0.85, np.nan, 0.72], [0.0] * 4
    )
    cv_results["param_prune__strategy"].mask[3] = True  # a grid without it
    display = PruningCurveDisplay.from_cv_results(
        pd.DataFrame(cv_results), group_by="prune__strategy"
    )
    labels = [line.get_label() for line in display.lines_]
    assert labels == ["strategy=flexrand", "strategy=random", "strategy unset"]
    # A failed fit (NaN score) is a gap, not an error.
    assert np.isnan(display.lines_[0].get_ydata()[0])
    filtered = pd.DataFrame(cv_results).query("param_prune__strategy == 'random'")
    one = PruningCurveDisplay.from_cv_results(filtered)
    np.testing.assert_allclose(one.lines_[0].get_ydata(), [0.85])


def test_pruning_curve_real_grid_search():
    from imblearn.pipeline import Pipeline
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    pipe = Pipeline(
        [
            ("prune", FlexRandSampler(scorer=_ZeroScorer(), random_state=0)),
            ("clf", LogisticRegression()),
        ]
    )
    grid = {"prune__pruning_rate": [0.2, 0.6], "prune__strategy": ["random", "easy"]}
    search = GridSearchCV(pipe, grid, cv=2).fit(X, y)
    display = PruningCurveDisplay.from_cv_results(
        search.cv_results_, group_by="prune__strategy", std_display_style="errorbar"
    )
    res = search.cv_results_
    for line, strategy in zip(display.lines_, ["random", "easy"]):
        rows = [
            i for i, p in enumerate(res["params"]) if p["prune__strategy"] == strategy
        ]
        rows = sorted(rows, key=lambda i: -res["params"][i]["prune__pruning_rate"])
        np.testing.assert_allclose(line.get_xdata(), [0.4, 0.8])
        np.testing.assert_allclose(line.get_ydata(), res["mean_test_score"][rows])


class _ZeroScorer:
    """A cheap scorer for a grid search: every sample equally hard."""

    def get_params(self, deep=True):
        return {}

    def set_params(self, **params):
        return self

    def fit(self, X, y):
        self.hardness_ = np.zeros(len(X))
        return self


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(param="prune__split"), ValueError, "param='prune__split' is not a"),
        (dict(group_by="clf__C"), ValueError, "group_by='clf__C' is not a parameter"),
        (dict(score="train_score"), ValueError, "no column 'mean_train_score'"),
        (dict(), ValueError, "several candidates with prune__pruning_rate=0.9"),
        (dict(kept="yes"), TypeError, "kept must be a bool or 'auto'"),
        (dict(param=3), TypeError, "param must be a str"),
        (dict(group_by=["a"]), TypeError, "group_by must be a str"),
        (dict(cv_results=[1, 2]), TypeError, "cv_results must be a dict"),
        (
            dict(param="prune__strategy", group_by=None, kept=False),
            TypeError,
            "must hold numbers",
        ),
    ],
)
def test_pruning_curve_cv_results_errors(kwargs, error, match):
    params = dict(
        cv_results=make_cv_results([0.5, 0.9], ["a", "b"], [1, 2, 3, 4], [0] * 4)
    )
    params.update(kwargs)
    with pytest.raises(error, match=match):
        PruningCurveDisplay.from_cv_results(**params)


def test_pruning_curve_cv_results_kept_needs_fraction():
    cv_results = make_cv_results([0.5, 0.9], ["a"], [1, 2], [0, 0])
    cv_results["param_prune__pruning_rate"][:] = [2, 3]
    with pytest.raises(ValueError, match="kept=True plots 1 - prune__pruning_rate"):
        PruningCurveDisplay.from_cv_results(cv_results, kept=True)
    display = PruningCurveDisplay.from_cv_results(cv_results, kept=False)
    np.testing.assert_allclose(display.lines_[0].get_xdata(), [2, 3])
    assert display.ax_.get_xlabel() == "pruning_rate"


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (
            dict(kept_fraction=[0.1, 1.5]),
            ValueError,
            r"kept_fraction must lie in \[0, 1\]",
        ),
        (dict(kept_fraction=[]), ValueError, "must not be empty"),
        (dict(score=[0.5]), ValueError, "score must have 2 values"),
        (dict(score=["a", "b"]), TypeError, "score must hold numbers"),
        (dict(score=[np.nan, 1]), ValueError, "score must contain only finite"),
        (dict(strategy=["a"]), ValueError, r"strategy must be of shape \(2,\)"),
        (dict(seed=[0, 1, 2]), ValueError, r"seed must be of shape \(2,\)"),
        (dict(kept_fraction="k"), TypeError, "is a column name, but no data"),
        (dict(kept_fraction="k", data={"x": [1]}), ValueError, "not a column of data"),
        (dict(std_display_style="band"), ValueError, "std_display_style must be one"),
        (dict(errorbar_kwargs=1), TypeError, "errorbar_kwargs must be a dict"),
    ],
)
def test_pruning_curve_results_errors(kwargs, error, match):
    params = dict(kept_fraction=[0.1, 0.2], score=[0.5, 0.6])
    params.update(kwargs)
    with pytest.raises(error, match=match):
        PruningCurveDisplay.from_results(**params)


def test_pruning_curve_init_errors_and_ax_reuse():
    with pytest.raises(ValueError, match="mean must have one entry per curve"):
        PruningCurveDisplay([[0.1, 0.2]], [[1, 2], [3, 4]]).plot()
    with pytest.raises(ValueError, match=r"mean\[0\] must have the length of x\[0\]"):
        PruningCurveDisplay([[0.1, 0.2]], [[1]]).plot()
    with pytest.raises(ValueError, match="std must not be negative"):
        PruningCurveDisplay([[0.1]], [[1]], [[-1]]).plot()
    with pytest.raises(TypeError, match="x must be a list of 1-D arrays"):
        PruningCurveDisplay("x", [[1]]).plot()
    fig, ax = plt.subplots()
    ax.axhline(0.5)
    display = PruningCurveDisplay([[0.1, 0.2]], [[1, 2]], labels=["a"]).plot(ax=ax)
    assert display.ax_ is ax and display.figure_ is fig
    assert display.fill_between_ is None  # no std given
    assert legend_texts(ax) == ["a"]


# -- matplotlib aliases in *_kwargs, matplotlib checks ---------------------------


@pytest.fixture
def fitted(scores):
    """A duck-typed fitted scorer and sampler over ``scores``."""
    y, hardness, kept = scores
    return y, FittedScorer(hardness_=hardness), FittedScorer(sample_indices_=kept)


def test_hardness_box_kept_kwargs_alias(fitted):
    y, scorer, sampler = fitted
    display = HardnessDisplay.from_estimator(
        scorer, y, sampler=sampler, kept_kwargs={"c": "k"}
    )
    assert len(display.kept_) == 3
    for dots in display.kept_:
        np.testing.assert_allclose(dots.get_facecolor(), [[0, 0, 0, 0.8]])


@pytest.mark.parametrize("y_is_none", [False, True])
def test_hardness_hist_kept_kwargs_alias(fitted, y_is_none):
    y, scorer, sampler = fitted
    display = HardnessDisplay.from_estimator(
        scorer,
        None if y_is_none else y,
        sampler=sampler,
        kind="hist",
        kept_kwargs={"lw": 1},
        hist_kwargs={"ec": "k"},
    )
    kept = [p for patches in display.kept_ for p in patches]
    drawn = [p for patches in display.patches_ for p in patches]
    assert kept and drawn
    assert {p.get_linewidth() for p in kept} == {1.0}
    assert {tuple(p.get_edgecolor()[:3]) for p in drawn} == {(0.0, 0.0, 0.0)}


def test_learning_path_line_kwargs_alias():
    rng = np.random.default_rng(0)
    sparsities = np.linspace(0, 0.5, 6)
    scorer = FittedScorer(
        hardness_=rng.uniform(size=40),
        sparsities_=sparsities,
        subnet_scores_=rng.uniform(size=(40, 6)) + sparsities,
    )
    display = LearningPathDisplay.from_estimator(
        scorer, n_groups=2, band="std", line_kwargs={"lw": 1}
    )
    assert [line.get_linewidth() for line in display.lines_] == [1.0, 1.0]
    assert len(display.fill_between_) == 2


def test_pruning_curve_fill_between_kwargs_alias(results):
    kept, score, strategy, _ = results
    display = PruningCurveDisplay.from_results(
        kept, score, strategy=strategy, fill_between_kwargs={"lw": 1}
    )
    assert len(display.fill_between_) == 2
    for band in display.fill_between_:
        np.testing.assert_array_equal(band.get_linewidth(), [1.0])


@pytest.mark.parametrize(
    "kwargs", [{"lw": 1, "linewidth": 2}, {"c": "k", "color": "r"}]
)
def test_alias_with_its_full_name_raises(results, kwargs):
    kept, score, strategy, _ = results
    with pytest.raises(TypeError, match="aliases of one another"):
        PruningCurveDisplay.from_results(
            kept, score, strategy=strategy, line_kwargs=kwargs
        )


def test_hardness_from_estimator_goes_through_from_predictions(
    fitted, scores, monkeypatch
):
    y, scorer, sampler = fitted
    calls = []
    original = HardnessDisplay.from_predictions.__func__

    def spy(cls, *args, **kwargs):
        calls.append((args, kwargs))
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(HardnessDisplay, "from_predictions", classmethod(spy))
    display = HardnessDisplay.from_estimator(scorer, y, sampler=sampler, kind="hist")
    ((args, kwargs),) = calls
    assert args[0] is y and args[1] is scorer.hardness_
    assert kwargs["kept_indices"] is sampler.sample_indices_
    assert kwargs["hardness_name"] == "hardness (FittedScorer)"
    assert kwargs["kind"] == "hist"
    assert display.bins_ is not None


@pytest.mark.parametrize(
    "name, call",
    [
        (
            "HardnessDisplay.from_estimator",
            lambda y, h, k: HardnessDisplay.from_estimator(
                FittedScorer(hardness_=h), y
            ),
        ),
        (
            "HardnessDisplay.from_predictions",
            lambda y, h, k: HardnessDisplay.from_predictions(y, h),
        ),
        ("HardnessDisplay.plot", lambda y, h, k: HardnessDisplay(h, y=y).plot()),
        (
            "LearningPathDisplay.from_predictions",
            lambda y, h, k: LearningPathDisplay.from_predictions(
                np.ones((len(h), 2)), [0.0, 0.1]
            ),
        ),
        (
            "PruningCurveDisplay.from_results",
            lambda y, h, k: PruningCurveDisplay.from_results([0.1, 0.5], [0.8, 0.9]),
        ),
    ],
)
def test_without_matplotlib(scores, monkeypatch, name, call):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=rf"^{name} requires matplotlib"):
        call(*scores)
