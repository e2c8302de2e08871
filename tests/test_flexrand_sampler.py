import numpy as np
import pandas as pd
import pytest
import sklearn
import torch
from imblearn.pipeline import Pipeline
from imblearn.utils.estimator_checks import (
    check_param_validation as imblearn_check_param_validation,
)
from imblearn.utils.estimator_checks import (
    parametrize_with_checks as imblearn_parametrize_with_checks,
)
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import (
    check_param_validation as sklearn_check_param_validation,
)
from sklearn.utils.estimator_checks import (
    parametrize_with_checks as sklearn_parametrize_with_checks,
)
from sklearn.utils.validation import check_array
from torch.utils.data import Subset, TensorDataset

from sklearn_dlc import FlexRandSampler
from sklearn_dlc._scored import attach_hardness, split_hardness
from sklearn_dlc._selection import keep_count, select_indices


class RowNormScorer(BaseEstimator):
    """Deterministic test scorer: hardness = L1 norm of each row (NaN ignored)."""

    def __init__(self, scale=1.0):
        self.scale = scale

    def fit(self, X, y):
        X = check_array(X, accept_sparse="csr", ensure_all_finite="allow-nan")
        if sparse.issparse(X):
            norms = np.asarray(abs(X).sum(axis=1)).ravel()
        else:
            norms = np.nansum(np.abs(X), axis=1)
        self.hardness_ = self.scale * norms
        return self


class FailingScorer(BaseEstimator):
    def fit(self, X, y):
        raise AssertionError("the scorer must not be fitted")


class RecordingScorer(BaseEstimator):
    """Records the y it is fitted on; hardness = row index."""

    def fit(self, X, y):
        self.y_seen_ = y
        self.hardness_ = np.arange(float(len(X)))
        return self


class NoHardnessScorer(BaseEstimator):
    def fit(self, X, y):
        return self


class ShortHardnessScorer(BaseEstimator):
    def fit(self, X, y):
        self.hardness_ = np.zeros(len(y) - 1)
        return self


def _data(n_per_class=(12, 8, 5), seed=0):
    rng = np.random.RandomState(seed)
    y = rng.permutation(np.repeat(np.arange(len(n_per_class)), n_per_class))
    hardness = rng.normal(size=y.size)
    return y, hardness


def _as_numpy(values):
    if isinstance(values, torch.Tensor):
        return values.numpy()
    if sparse.issparse(values):
        return values.toarray()
    return np.asarray(values)


CHECKED = [
    FlexRandSampler(0.5, scorer=RowNormScorer(), random_state=0),
    # The random baseline needs neither scores nor a scorer.
    FlexRandSampler(0.5, strategy="random", random_state=0),
]


@sklearn_parametrize_with_checks(CHECKED)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# imblearn hands pytest a generator of checks, which pytest deprecates.
_IMBLEARN_CHECKS = imblearn_parametrize_with_checks(CHECKED)


@pytest.mark.parametrize(
    _IMBLEARN_CHECKS.args[0],
    list(_IMBLEARN_CHECKS.args[1]),
    **_IMBLEARN_CHECKS.kwargs,
)
def test_imblearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", CHECKED, ids=["scorer", "random"])
@pytest.mark.parametrize(
    "check", [sklearn_check_param_validation, imblearn_check_param_validation]
)
def test_param_validation(check, estimator):
    check("FlexRandSampler", estimator)


def _numpy_2d(n):
    return np.arange(n * 3, dtype=np.float32).reshape(n, 3)


def _numpy_4d(n):
    return np.arange(n * 64, dtype=np.float32).reshape(n, 1, 8, 8)


CONTAINERS = {
    "numpy-2d": _numpy_2d,
    "numpy-4d": _numpy_4d,
    "list": lambda n: _numpy_2d(n).tolist(),
    "csr": lambda n: sparse.csr_matrix(_numpy_2d(n)),
    "coo-array": lambda n: sparse.coo_array(_numpy_2d(n)),
    "dataframe": lambda n: pd.DataFrame(
        {"a": np.arange(n), "b": [f"s{i}" for i in range(n)]},
        index=np.arange(n) * 10 + 5,
    ),
    "tensor-3d": lambda n: torch.arange(n * 6, dtype=torch.float32).reshape(n, 2, 3),
}


@pytest.mark.parametrize("container", CONTAINERS)
def test_output_is_x_at_sample_indices_in_the_input_container(container):
    y, hardness = _data()
    X = CONTAINERS[container](y.size)
    sampler = FlexRandSampler(0.6, split=0.3, random_state=0)

    X_res, y_res = sampler.fit_resample(X, y, hardness=hardness)

    idx = sampler.sample_indices_
    np.testing.assert_array_equal(
        idx, select_indices(hardness, y, 0.6, 0.3, rng=np.random.RandomState(0))
    )
    assert type(X_res) is type(X)
    assert np.shape(X_res)[1:] == np.shape(X)[1:]
    if isinstance(X, pd.DataFrame):
        pd.testing.assert_frame_equal(X_res, X.iloc[idx])
    else:
        np.testing.assert_array_equal(_as_numpy(X_res), _as_numpy(X)[idx])
    np.testing.assert_array_equal(y_res, y[idx])


def test_pandas_target_keeps_its_type_and_index():
    y, hardness = _data()
    X = pd.DataFrame({"a": np.arange(y.size)}, index=np.arange(y.size) + 100)
    y_series = pd.Series(y, index=X.index, name="label")
    X_res, y_res = FlexRandSampler(0.5, random_state=0).fit_resample(
        X, y_series, hardness=hardness
    )
    assert isinstance(y_res, pd.Series) and y_res.name == "label"
    pd.testing.assert_index_equal(y_res.index, X_res.index)


def test_torch_target_and_hardness():
    y, hardness = _data()
    X = torch.randn(y.size, 4)
    h = torch.tensor(hardness, requires_grad=True)
    sampler = FlexRandSampler(0.5, strategy="easy")
    X_res, y_res = sampler.fit_resample(X, torch.from_numpy(y), hardness=h)
    idx = torch.from_numpy(sampler.sample_indices_)
    assert isinstance(y_res, torch.Tensor)
    torch.testing.assert_close(X_res, X[idx])
    torch.testing.assert_close(y_res, torch.from_numpy(y)[idx])
    np.testing.assert_array_equal(sampler.hardness_, hardness)


def test_dict_of_per_sample_arrays():
    y, hardness = _data()
    n = y.size
    X = {
        "input_ids": torch.arange(n * 5).reshape(n, 5),
        "attention_mask": np.ones((n, 5), dtype=np.int64),
        "text": [f"sentence {i}" for i in range(n)],
    }
    sampler = FlexRandSampler(0.5, random_state=0)
    X_res, _ = sampler.fit_resample(X, y, hardness=hardness)
    idx = sampler.sample_indices_
    assert type(X_res) is dict and X_res.keys() == X.keys()
    torch.testing.assert_close(X_res["input_ids"], X["input_ids"][idx])
    np.testing.assert_array_equal(X_res["attention_mask"], X["attention_mask"][idx])
    assert X_res["text"] == [X["text"][i] for i in idx]


def test_torch_dataset_becomes_a_subset():
    y, hardness = _data()
    dataset = TensorDataset(torch.randn(y.size, 3), torch.from_numpy(y))
    sampler = FlexRandSampler(0.5, random_state=0)
    X_res, y_res = sampler.fit_resample(dataset, y, hardness=hardness)
    assert isinstance(X_res, Subset) and X_res.dataset is dataset
    assert X_res.indices == sampler.sample_indices_.tolist()
    np.testing.assert_array_equal([int(X_res[i][1]) for i in range(len(X_res))], y_res)


def test_one_hot_target_stays_one_hot():
    y, hardness = _data()
    y_onehot = np.eye(3, dtype=int)[y]
    X = np.zeros((y.size, 2))
    sampler = FlexRandSampler(0.5, random_state=0)
    _, y_res = sampler.fit_resample(X, y_onehot, hardness=hardness)
    np.testing.assert_array_equal(y_res, y_onehot[sampler.sample_indices_])


def test_fitted_attributes():
    y, hardness = _data()
    X = pd.DataFrame(np.zeros((y.size, 2)), columns=["u", "v"])
    sampler = FlexRandSampler(0.5, split=0.5, random_state=0).fit(
        X, y, hardness=hardness
    )
    np.testing.assert_array_equal(sampler.classes_, [0, 1, 2])
    assert dict(sampler.sampling_strategy_) == {
        c: int((y[sampler.sample_indices_] == c).sum()) for c in (0, 1, 2)
    }
    assert sampler.n_features_in_ == 2
    np.testing.assert_array_equal(sampler.feature_names_in_, ["u", "v"])
    np.testing.assert_array_equal(sampler.hardness_, hardness)
    assert not hasattr(sampler, "scorer_")

    # A refit on data without a feature axis drops the stale attributes.
    sampler.fit(torch.zeros(y.size, 2), y, hardness=hardness)
    assert not hasattr(sampler, "n_features_in_")
    assert not hasattr(sampler, "feature_names_in_")


@pytest.mark.parametrize("strategy", ["flexrand", "random"])
def test_random_state_makes_it_reproducible(strategy):
    y, hardness = _data((60, 40))
    X = np.zeros((y.size, 1))

    def indices(random_state):
        sampler = FlexRandSampler(0.5, strategy=strategy, random_state=random_state)
        return sampler.fit(X, y, hardness=hardness).sample_indices_

    np.testing.assert_array_equal(indices(3), indices(3))
    np.testing.assert_array_equal(
        indices(np.random.RandomState(3)), indices(np.random.RandomState(3))
    )
    assert not np.array_equal(indices(3), indices(4))


def test_pruning_rate_is_the_removed_fraction():
    y = np.repeat([0, 1], [50, 30])
    _, y_res = FlexRandSampler(0.8, random_state=0).fit_resample(
        np.zeros((80, 1)), y, hardness=np.arange(80.0)
    )
    np.testing.assert_array_equal(np.bincount(y_res), [10, 6])


def test_explicit_hardness_beats_handed_over_beats_scorer():
    y, _ = _data()
    X = np.random.RandomState(0).normal(size=(y.size, 3))
    explicit, handed = np.arange(y.size, 0, -1.0), np.arange(float(y.size))
    marked = attach_hardness(X, handed)
    scorer = RowNormScorer()
    sampler = FlexRandSampler(0.5, strategy="easy", scorer=scorer)

    X_res, _ = sampler.fit_resample(marked, y, hardness=explicit)
    np.testing.assert_array_equal(sampler.hardness_, explicit)
    assert not hasattr(sampler, "scorer_")
    assert type(X_res) is np.ndarray and split_hardness(X_res)[1] is None

    sampler.fit_resample(marked, y)
    np.testing.assert_array_equal(sampler.hardness_, handed)
    assert not hasattr(sampler, "scorer_")

    sampler.fit_resample(X, y)
    np.testing.assert_array_equal(sampler.hardness_, np.abs(X).sum(axis=1))
    assert sampler.scorer_ is not scorer
    assert not hasattr(scorer, "hardness_")


@pytest.mark.parametrize(
    "make_X",
    [
        lambda n: pd.DataFrame({"a": np.arange(n)}),
        lambda n: torch.zeros(n, 2),
        lambda n: {"ids": np.zeros((n, 4))},
        lambda n: TensorDataset(torch.zeros(n, 2)),
    ],
    ids=["dataframe", "tensor", "dict", "dataset"],
)
def test_handed_over_mark_is_stripped(make_X):
    y, hardness = _data()
    X = make_X(y.size)
    sampler = FlexRandSampler(0.5, strategy="hard")
    X_res, _ = sampler.fit_resample(attach_hardness(X, hardness), y)
    np.testing.assert_array_equal(sampler.hardness_, hardness)
    assert split_hardness(X_res)[1] is None
    if isinstance(X, pd.DataFrame):
        assert X_res.attrs == {}
    elif isinstance(X_res, Subset):
        assert X_res.dataset is X
    else:
        assert type(X_res) is type(X)


def test_scorer_is_cloned_with_its_parameters():
    y, _ = _data()
    X = np.random.RandomState(0).normal(size=(y.size, 3))
    sampler = FlexRandSampler(0.5, scorer=RowNormScorer(scale=-1.0))
    sampler.fit(X, y)
    assert sampler.scorer_.scale == -1.0
    np.testing.assert_array_equal(sampler.hardness_, -np.abs(X).sum(axis=1))


def test_hardness_routed_through_an_imblearn_pipeline():
    y, hardness = _data()
    X = np.random.RandomState(0).normal(size=(y.size, 3))
    with sklearn.config_context(enable_metadata_routing=True):
        prune = FlexRandSampler(0.5, strategy="easy").set_fit_resample_request(
            hardness=True
        )
        pipe = Pipeline(
            [
                ("scale", StandardScaler()),
                ("prune", prune),
                ("clf", LogisticRegression()),
            ]
        )
        pipe.fit(X, y, hardness=hardness)
    expected = select_indices(hardness, y, 0.5, strategy="easy")
    np.testing.assert_array_equal(pipe["prune"].sample_indices_, expected)
    np.testing.assert_array_equal(pipe["clf"].classes_, [0, 1, 2])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"pruning_rate": 1.0}, r"pruning_rate must be a real number in \[0, 1\)"),
        ({"pruning_rate": -0.5}, "pruning_rate must be .*got -0.5"),
        ({"pruning_rate": "0.5"}, "pruning_rate must be .*got '0.5'"),
        ({"pruning_rate": None}, "pruning_rate must be .*got None"),
        ({"split": 0.0}, r"split must be a real number in \(0, 1\)"),
        ({"split": 1.5}, "split must be .*got 1.5"),
        ({"strategy": "top-k"}, "'strategy' parameter"),
        ({"stratify": "yes"}, "'stratify' parameter"),
        ({"stratify": 1}, "'stratify' parameter"),
        ({"stratify": None}, "'stratify' parameter"),
        ({"scorer": "dlc"}, "'scorer' parameter"),
    ],
)
@pytest.mark.parametrize("strategy", ["flexrand", "random"])
def test_invalid_parameters(params, match, strategy):
    y, hardness = _data()
    sampler = FlexRandSampler(**{"strategy": strategy, **params})
    with pytest.raises(ValueError, match=match):
        sampler.fit_resample(np.zeros((y.size, 2)), y, hardness=hardness)


def test_bad_pruning_rate_fails_before_scoring():
    y, _ = _data()
    sampler = FlexRandSampler(1.0, scorer=FailingScorer())
    with pytest.raises(ValueError, match="pruning_rate must be"):
        sampler.fit_resample(np.zeros((y.size, 2)), y)


@pytest.mark.parametrize(
    "hardness, match",
    [
        (np.ones(3), "hardness has 3 values but X has 25 samples"),
        (np.r_[np.nan, np.ones(24)], "hardness contains NaN"),
        (np.ones((25, 2)), "hardness must be 1-D"),
    ],
)
def test_invalid_hardness(hardness, match):
    y, _ = _data()
    with pytest.raises(ValueError, match=match):
        FlexRandSampler().fit_resample(np.zeros((y.size, 2)), y, hardness=hardness)


def test_no_hardness_anywhere_is_an_error():
    y, _ = _data()
    with pytest.raises(ValueError, match="no hardness scores.*scorer"):
        FlexRandSampler().fit_resample(np.zeros((y.size, 2)), y)


@pytest.mark.parametrize(
    "scorer, match",
    [
        (NoHardnessScorer(), r"scorer must set hardness_ .*set none"),
        (ShortHardnessScorer(), r"scorer must set hardness_ of shape \(25,\)"),
    ],
)
def test_scorer_without_proper_hardness_is_a_type_error(scorer, match):
    y, _ = _data()
    with pytest.raises(TypeError, match=match):
        FlexRandSampler(scorer=scorer).fit_resample(np.zeros((y.size, 2)), y)


@pytest.mark.parametrize(
    "X, y, match",
    [
        (np.zeros((25, 2)), np.zeros(25), "more than 1 class"),
        (np.zeros((24, 2)), _data()[0], "X has 24 samples but y has 25"),
        ({"a": np.zeros(25), "b": np.zeros(24)}, _data()[0], "X as a dict"),
        (np.zeros((25, 2)), np.linspace(0, 1, 25), "Unknown label type"),
    ],
)
def test_invalid_data(X, y, match):
    with pytest.raises(ValueError, match=match):
        FlexRandSampler().fit_resample(X, y, hardness=np.zeros(25))


@pytest.mark.parametrize("pruning_rate", [0.0, 0.3, 0.5, 0.9, 0.99])
def test_random_strategy_uses_no_scores(pruning_rate):
    y, hardness = _data((40, 13, 3))
    X = np.random.RandomState(0).normal(size=(y.size, 3))
    sampler = FlexRandSampler(
        pruning_rate, strategy="random", scorer=FailingScorer(), random_state=0
    )

    X_res, y_res = sampler.fit_resample(X, y)

    assert sampler.hardness_ is None
    assert not hasattr(sampler, "scorer_")
    expected = select_indices(
        None, y, pruning_rate, strategy="random", rng=np.random.RandomState(0)
    )
    np.testing.assert_array_equal(sampler.sample_indices_, expected)
    np.testing.assert_array_equal(X_res, X[expected])
    # Passed or handed-over scores are ignored, not even validated.
    for marked, scores in [(X, hardness), (attach_hardness(X, hardness), None)]:
        X_again, _ = sampler.fit_resample(marked, y, hardness=scores)
        assert sampler.hardness_ is None
        np.testing.assert_array_equal(sampler.sample_indices_, expected)
        assert type(X_again) is np.ndarray and split_hardness(X_again)[1] is None
    sampler.fit_resample(X, y, hardness=np.full(3, np.nan))
    np.testing.assert_array_equal(sampler.sample_indices_, expected)


def test_random_strategy_strips_the_mark_of_a_scorer_step():
    y, hardness = _data()
    X = pd.DataFrame({"a": np.arange(y.size)})
    sampler = FlexRandSampler(0.5, strategy="random", random_state=0)
    X_res, _ = sampler.fit_resample(attach_hardness(X, hardness), y)
    assert X_res.attrs == {}
    assert split_hardness(X_res)[1] is None


@pytest.mark.parametrize("pruning_rate", [0.0, 0.1, 0.5, 0.8, 0.9, 0.95])
@pytest.mark.parametrize("split", [0.05, 0.3, 0.5, 0.9])
def test_all_strategies_keep_the_same_count_per_class(pruning_rate, split):
    y, hardness = _data((101, 40, 13, 3, 1))
    X = np.zeros((y.size, 1))
    counts = {}
    for strategy in ("flexrand", "easy", "hard", "random"):
        sampler = FlexRandSampler(
            pruning_rate, split=split, strategy=strategy, random_state=0
        )
        sampler.fit(X, y, hardness=hardness)
        counts[strategy] = dict(sampler.sampling_strategy_)
    sizes = [101, 40, 13, 3, 1]
    expected = {c: keep_count(n, pruning_rate) for c, n in enumerate(sizes)}
    assert all(found == expected for found in counts.values()), counts


def test_digits_sized_classes_keep_equal_budgets():
    # The class sizes of a stratified 1,437-sample training split of
    # load_digits. At 90% pruned every strategy keeps 145 (FlexRand used to
    # keep 140: each class's two pool counts were rounded down on their own).
    sizes = [142, 146, 142, 146, 145, 145, 145, 143, 139, 144]
    y = np.repeat(np.arange(10), sizes)
    hardness = np.random.RandomState(0).uniform(size=y.size)
    X = np.zeros((y.size, 1))
    random = FlexRandSampler(0.9, strategy="random", random_state=0).fit(X, y)
    assert len(random.sample_indices_) == 145
    for split in (0.1, 0.3, 0.5, 0.7, 0.9):
        flexrand = FlexRandSampler(0.9, split=split, random_state=0)
        flexrand.fit(X, y, hardness=hardness)
        assert flexrand.sampling_strategy_ == random.sampling_strategy_


def _token_data(n=30, seq_len=7):
    rng = np.random.RandomState(0)
    X = {
        "input_ids": rng.randint(0, 100, size=(n, seq_len)),
        "attention_mask": np.ones((n, seq_len), dtype=np.int64),
    }
    token_labels = rng.randint(-100, 100, size=(n, seq_len))
    return X, token_labels, rng.normal(size=n)


@pytest.mark.parametrize("strategy", ["flexrand", "easy", "hard", "random"])
@pytest.mark.parametrize("pruning_rate", [0.0, 0.3, 0.9])
def test_unstratified_is_one_manual_group(strategy, pruning_rate):
    X, token_labels, hardness = _token_data()
    sampler = FlexRandSampler(
        pruning_rate, split=0.3, strategy=strategy, stratify=False, random_state=0
    )

    X_res, labels_res = sampler.fit_resample(X, token_labels, hardness=hardness)

    manual = select_indices(
        hardness, np.zeros(30), pruning_rate, 0.3, strategy, np.random.RandomState(0)
    )
    np.testing.assert_array_equal(sampler.sample_indices_, manual)
    assert manual.size == keep_count(30, pruning_rate)
    np.testing.assert_array_equal(labels_res, token_labels[manual])
    assert labels_res.shape == (manual.size, 7)
    np.testing.assert_array_equal(X_res["input_ids"], X["input_ids"][manual])
    assert not hasattr(sampler, "classes_")
    assert not hasattr(sampler, "sampling_strategy_")


def test_unstratified_ignores_classes():
    y, hardness = _data((40, 10))
    X = np.zeros((y.size, 2))
    sampler = FlexRandSampler(0.5, stratify=False, random_state=0)
    sampler.fit(X, y, hardness=hardness)
    np.testing.assert_array_equal(
        sampler.sample_indices_,
        select_indices(hardness, None, 0.5, rng=np.random.RandomState(0)),
    )
    # Even a single class or a continuous target is fine.
    sampler.fit(X, np.zeros(y.size), hardness=hardness)
    sampler.fit(X, np.linspace(0, 1, y.size), hardness=hardness)
    assert sampler.sample_indices_.size == 25


@pytest.mark.parametrize("strategy", ["flexrand", "random"])
def test_unstratified_without_y(strategy):
    X, _, hardness = _token_data()
    sampler = FlexRandSampler(0.8, strategy=strategy, stratify=False, random_state=0)
    X_res, y_res = sampler.fit_resample(X, hardness=hardness)
    assert y_res is None
    assert sampler.sample_indices_.size == 6
    np.testing.assert_array_equal(
        X_res["attention_mask"], X["attention_mask"][sampler.sample_indices_]
    )
    assert sampler.fit(X, hardness=hardness) is sampler


def test_unstratified_scorer_gets_y_as_given():
    X, token_labels, _ = _token_data()
    tensor_labels = torch.from_numpy(token_labels)
    sampler = FlexRandSampler(
        0.5, strategy="easy", stratify=False, scorer=RecordingScorer()
    )
    X_res, labels_res = sampler.fit_resample(X["input_ids"], tensor_labels)
    assert sampler.scorer_.y_seen_ is tensor_labels
    np.testing.assert_array_equal(sampler.sample_indices_, np.arange(15))
    assert isinstance(labels_res, torch.Tensor)
    torch.testing.assert_close(labels_res, tensor_labels[:15])


def test_unstratified_in_a_pipeline_with_token_labels():
    X, token_labels, hardness = _token_data()
    pipe = Pipeline([("prune", FlexRandSampler(0.5, stratify=False, random_state=0))])
    X_res, labels_res = pipe.fit_resample(attach_hardness(X, hardness), token_labels)
    idx = pipe["prune"].sample_indices_
    assert type(X_res) is dict
    np.testing.assert_array_equal(labels_res, token_labels[idx])


@pytest.mark.parametrize(
    "y, match",
    [
        (np.zeros((29, 7)), "X has 30 samples but y has 29"),
        ({"a": np.zeros(30), "b": np.zeros(29)}, "y as a dict"),
    ],
)
def test_unstratified_bad_y(y, match):
    X, _, hardness = _token_data()
    with pytest.raises(ValueError, match=match):
        FlexRandSampler(stratify=False).fit_resample(X, y, hardness=hardness)


@pytest.mark.parametrize(
    "y, match",
    [
        (None, "requires y to be passed.*stratify=False"),
        (
            np.random.RandomState(0).randint(0, 5, size=(25, 7)),
            "y should be a 1d array.*set stratify=False",
        ),
        (np.zeros(25), "more than 1 class.*stratify=False"),
    ],
)
def test_stratified_needs_class_labels(y, match):
    _, hardness = _data()
    with pytest.raises(ValueError, match=match):
        FlexRandSampler().fit_resample(np.zeros((25, 2)), y, hardness=hardness)


def test_refit_without_stratification_drops_class_attributes():
    y, hardness = _data()
    X = np.zeros((y.size, 2))
    sampler = FlexRandSampler(0.5).fit(X, y, hardness=hardness)
    assert hasattr(sampler, "classes_")
    sampler.set_params(stratify=False).fit(X, y, hardness=hardness)
    assert not hasattr(sampler, "classes_")
    assert not hasattr(sampler, "sampling_strategy_")
