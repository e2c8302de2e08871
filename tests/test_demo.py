import importlib.util
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from sklearn_dlc import __main__ as cli
from sklearn_dlc._demo import run_demo

ROOT = Path(__file__).resolve().parents[1]
OPTIONS = ["--rates", "--seeds", "--device", "--split", "--n-subnets", "--epochs"]
ROW_KEYS = {
    "pruning_rate",
    "kept_fraction",
    "n_kept",
    "n_kept_random",
    "epochs",
    "dlc_flexrand",
    "random",
    "dlc_flexrand_mean",
    "dlc_flexrand_std",
    "random_mean",
    "random_std",
    "difference",
}


@pytest.fixture(scope="module")
def tiny():
    out = io.StringIO()
    results = run_demo(
        rates=[0.5, 0.9],
        seeds=2,
        n_subnets=3,
        epochs=1,
        out=out,
        progress=False,
    )
    return results, out.getvalue()


def test_run_demo_returns_table(tiny):
    results, _ = tiny
    assert results["n_train"] == 1437
    assert results["n_test"] == 360
    assert results["device"] == "cpu"
    assert results["scoring_seconds"] > 0
    assert results["total_seconds"] >= results["scoring_seconds"]
    assert 0 <= results["full_accuracy"] <= 1
    assert 0 <= results["frozen_accuracy"] <= 1
    rows = results["rows"]
    assert [row["pruning_rate"] for row in rows] == [0.5, 0.9]
    for row in rows:
        assert set(row) == ROW_KEYS
        assert row["kept_fraction"] == pytest.approx(1 - row["pruning_rate"])
        assert row["n_kept"] == pytest.approx(1437 * row["kept_fraction"], rel=0.05)
        for key in ("dlc_flexrand", "random"):
            accuracies = np.asarray(row[key])
            assert accuracies.shape == (2,)
            assert ((accuracies >= 0) & (accuracies <= 1)).all()
            assert row[f"{key}_mean"] == pytest.approx(accuracies.mean())
            assert row[f"{key}_std"] == pytest.approx(accuracies.std())
        assert row["difference"] == pytest.approx(
            row["dlc_flexrand_mean"] - row["random_mean"]
        )


def test_run_demo_prints_table(tiny):
    _, text = tiny
    for needle in ("DLC+FlexRand", "random", "kept", "scoring time", "total time"):
        assert needle in text
    assert " 50%" in text and " 90%" in text and " 10%" in text


def test_run_demo_restores_threads():
    before = torch.get_num_threads()
    with pytest.raises(ValueError, match="seeds"):
        run_demo(seeds=0, out=io.StringIO(), progress=False)
    assert torch.get_num_threads() == before


def test_epochs_match_the_full_data_steps(tiny):
    results, _ = tiny
    # 1 epoch of 1,437 samples is 23 batches of 64: about 720 kept samples
    # make 12 batches per epoch (2 epochs), about 140 make 3 (8 epochs).
    assert [row["epochs"] for row in results["rows"]] == [[2], [8]]
    assert results["match_steps"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"rates": [1.0]}, "pruning rate"),
        ({"rates": [-0.1]}, "pruning rate"),
        ({"rates": []}, "rates"),
        ({"seeds": 0}, "seeds"),
        ({"n_subnets": 0}, "n_subnets"),
        ({"epochs": 1.5}, "epochs"),
        ({"split": 1.0}, "split"),
        ({"device": "tpu"}, "device"),
    ],
)
def test_run_demo_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        run_demo(out=io.StringIO(), progress=False, **kwargs)


def test_demo_help_subprocess():
    completed = subprocess.run(
        [sys.executable, "-m", "sklearn_dlc", "demo", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    for option in [*OPTIONS, "--plot", "--fixed-epochs", "--quick"]:
        assert option in completed.stdout
    assert "REMOVED" in completed.stdout  # rates are fractions removed


def test_main_help_lists_demo(capsys):
    with pytest.raises(SystemExit) as excinfo:
        cli.main(["--help"])
    assert excinfo.value.code == 0
    assert "demo" in capsys.readouterr().out


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 0
    assert "demo" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, option",
    [
        (["--rates", "1.5"], "--rates"),
        (["--rates", "1"], "--rates"),
        (["--rates", "-0.2"], "--rates"),
        (["--rates", "half"], "--rates"),
        (["--seeds", "0"], "--seeds"),
        (["--seeds", "two"], "--seeds"),
        (["--split", "1"], "--split"),
        (["--n-subnets", "0"], "--n-subnets"),
        (["--epochs", "0"], "--epochs"),
        (["--device", "tpu"], "--device"),
    ],
)
def test_bad_options_name_the_option(argv, option, capsys):
    with pytest.raises(SystemExit) as excinfo:
        cli.main(["demo", *argv])
    assert excinfo.value.code == 2
    assert f"argument {option}" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available")
def test_cuda_unavailable_is_a_clear_error(capsys):
    with pytest.raises(SystemExit) as excinfo:
        cli.main(["demo", "--device", "cuda"])
    assert excinfo.value.code == 2
    assert "argument --device" in capsys.readouterr().err


def test_plot_writes_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "accuracy.png"
    argv = ["demo", "--quick", "--fixed-epochs", "--n-subnets", "2", "--no-progress"]
    assert cli.main([*argv, "--plot", str(path)]) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = capsys.readouterr().out
    assert "DLC+FlexRand" in out and str(path) in out


def test_plot_without_matplotlib(monkeypatch, tmp_path, capsys):
    find_spec = importlib.util.find_spec

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib":
            return None
        return find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", no_matplotlib)
    with pytest.raises(SystemExit) as excinfo:
        cli.main(["demo", "--quick", "--plot", str(tmp_path / "a.png")])
    assert excinfo.value.code == 2
    err = capsys.readouterr().err
    assert "argument --plot" in err and "matplotlib" in err
    with pytest.raises(ImportError, match=r"sklearn-dlc\[demo\]"):
        run_demo(plot=tmp_path / "a.png", out=io.StringIO(), progress=False)
    assert not (tmp_path / "a.png").exists()
