"""The engine's layering, read from the source: no scikit-learn below the glue."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import sklearn_dlc

ENGINE = Path(sklearn_dlc.__file__).parent / "_engine"
# torch, numpy and joblib (cloudpickle is joblib's), and the standard library.
ALLOWED = {"torch", "numpy", "joblib", "cloudpickle"} | set(sys.stdlib_module_names)


def imports_of(path):
    """``(top-level package, relative level, line)`` of every import in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], 0, node.lineno
        elif isinstance(node, ast.ImportFrom):
            name = (node.module or "").split(".")[0]
            yield name, node.level, node.lineno


def test_engine_imports_torch_numpy_joblib_only():
    files = sorted(ENGINE.glob("*.py"))
    assert {f.name for f in files} >= {"_pass.py", "_data.py", "_sharded.py"}
    bad = []
    for path in files:
        for name, level, line in imports_of(path):
            if level > 1 or (level == 0 and name not in ALLOWED):
                bad.append(f"{path.name}:{line} imports {'.' * level}{name}")
    assert not bad, bad


def test_imports_of_sees_every_kind(tmp_path):
    source = tmp_path / "m.py"
    source.write_text(
        "import sklearn.base\nfrom .. import x\ndef f():\n    from skorch import N\n"
    )
    assert list(imports_of(source)) == [("sklearn", 0, 1), ("", 2, 2), ("skorch", 0, 4)]


def _modules_after(code):
    """Names in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = f"import sys\n{code}\nprint('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    return set(done.stdout.split())


def test_import_leaves_the_demo_out():
    loaded = _modules_after(
        "import sklearn_dlc\n"
        "from sklearn_dlc import (ConfidenceHardness, DLCHardness,"
        " FlexRandSampler, TrainingDynamicsHardness, causal_lm_loss)"
    )
    assert "sklearn_dlc._dlc_hardness" in loaded
    assert not [m for m in loaded if m.startswith("sklearn_dlc.demo")]


def test_version_and_help_import_no_scikit_learn():
    for flag in ("--version", "--help"):
        loaded = _modules_after(
            "import contextlib, io, runpy\n"
            f"sys.argv = ['sklearn_dlc', {flag!r}]\n"
            "with contextlib.suppress(SystemExit), "
            "contextlib.redirect_stdout(io.StringIO()):\n"
            "    runpy.run_module('sklearn_dlc', run_name='__main__')"
        )
        assert "sklearn_dlc.demo._cli" in loaded
        heavy = {"sklearn", "imblearn", "skorch", "sklearn_dlc.demo._text_demo"}
        assert not heavy & loaded, heavy & loaded


def test_demo_names_stay_reachable():
    import sklearn_dlc.demo

    for name in sklearn_dlc.__all__:
        assert getattr(sklearn_dlc, name) is not None
    for name in sklearn_dlc.demo.__all__:
        assert callable(getattr(sklearn_dlc.demo, name))
    assert sklearn_dlc.load_digits_cnn is sklearn_dlc.demo.load_digits_cnn
    assert set(sklearn_dlc.__all__) <= set(dir(sklearn_dlc))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        sklearn_dlc.nope  # noqa: B018


@pytest.mark.parametrize("head", ["prototype", "model"])
def test_pass_buffer_flushes_give_the_same_scores(monkeypatch, head):
    """Losses computed in many small flushes equal those of one flush (up to
    the last bits of float64 distance kernels run on other shapes)."""
    import numpy as np
    import torch
    from conftest import TinyCNN

    import sklearn_dlc._engine._pass as pass_module
    from sklearn_dlc import DLCHardness

    rng = np.random.RandomState(0)
    X = rng.rand(70, 1, 8, 8).astype(np.float32)
    y = np.arange(70) % 10
    torch.manual_seed(0)
    net = TinyCNN().eval()
    kw = dict(n_subnets=3, step=0.1, batch_size=16, head=head)
    whole = DLCHardness(net, **kw).fit(X, y).hardness_
    # 40 elements hold 2 or 4 rows: flushes inside every pass, and batches
    # wider than the buffer.
    monkeypatch.setattr(pass_module, "_PENDING_ELEMENTS", 40)
    pieces = DLCHardness(net, **kw).fit(X, y).hardness_
    np.testing.assert_allclose(pieces, whole, rtol=1e-9, atol=0)
