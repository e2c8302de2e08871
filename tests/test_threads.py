"""The once-per-process warning about torch threads on busy cores."""

import warnings

import numpy as np
import pytest
import torch
from conftest import TinyCNN

from sklearn_dlc import DLCHardness, _threads


@pytest.fixture
def machine(monkeypatch):
    """Two cores, a settable load average and torch thread count, no warning yet."""
    threads = torch.get_num_threads()
    monkeypatch.setitem(_threads._state, "warned", False)
    monkeypatch.setattr(_threads, "_n_cores", lambda: 2)

    def set_machine(load, n_threads):
        monkeypatch.setattr(_threads.os, "getloadavg", lambda: (load, load, load))
        torch.set_num_threads(n_threads)

    yield set_machine
    torch.set_num_threads(threads)


def test_fit_warns_once_on_busy_cores(machine, digits):
    X, y = digits[0][:40], digits[1][:40]
    machine(load=5.0, n_threads=2)
    scorer = DLCHardness(TinyCNN(), n_subnets=2)
    with pytest.warns(UserWarning, match=r"2 threads on 2 cores .* load average 5\.0"):
        scorer.fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scorer.fit(X, y)
    assert np.isfinite(scorer.hardness_).all()


@pytest.mark.parametrize("call", ["fit", "fit_transform", "pipeline"])
def test_warning_points_at_the_callers_line(machine, digits, call):
    from imblearn.pipeline import Pipeline

    from sklearn_dlc import FlexRandSampler

    X, y = digits[0][:40], digits[1][:40]
    machine(load=5.0, n_threads=2)
    scorer = DLCHardness(TinyCNN(), n_subnets=2)
    pipe = Pipeline([("score", scorer), ("prune", FlexRandSampler(0.5))])
    fit = {"pipeline": pipe.fit_resample}.get(call) or getattr(scorer, call)
    with pytest.warns(UserWarning, match="threads on 2 cores") as record:
        fit(X, y)
    assert [w.filename for w in record] == [__file__]


@pytest.mark.parametrize(
    "load, n_threads, warned",
    [(5.0, 2, True), (3.0, 2, True), (2.5, 2, False), (0.3, 2, False), (9.0, 1, False)],
)
def test_busy_means_load_above_cores(machine, load, n_threads, warned):
    machine(load, n_threads)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert _threads.warn_if_cores_busy("Owner") is warned
    assert len(caught) == int(warned)
    if warned:
        assert "torch.set_num_threads(1)" in str(caught[0].message)


def test_no_load_average(machine, monkeypatch):
    machine(9.0, 2)

    def unavailable():
        raise OSError("no load average")

    monkeypatch.setattr(_threads.os, "getloadavg", unavailable)
    assert not _threads.warn_if_cores_busy("Owner")
