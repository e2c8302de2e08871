"""The engine's layering, read from the source: no scikit-learn below the glue."""

import ast
import sys
from pathlib import Path

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
