"""Sphinx configuration of the sklearn-dlc documentation.

Build with ``sphinx-build -W --keep-going -b html docs docs/_build/html``.
The example gallery (``examples/``) runs during the build, in this process,
in about a minute and a half on two CPU cores; pass ``-D plot_gallery=0`` to
skip running it. Nothing here needs network access: see
``_UnreachableInventoryFilter`` for the cross-references to other projects.
Environment variables: ``SKLEARN_DLC_DOCS_THREADS`` (torch CPU threads for
the examples, default 1), ``SKLEARN_DLC_DOCS_STRICT_INTERSPHINX=1`` (fail on
unreachable inventories).
"""

import logging
import os
import re
import sys
import warnings
from pathlib import Path

import torch
from sphinx.util import logging as sphinx_logging
from sphinx_gallery.sorting import ExplicitOrder

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# Document the checkout, installed or not; the gallery runs in this process
# and imports the same package.
sys.path.insert(0, str(ROOT))

import sklearn_dlc

# -- Project -----------------------------------------------------------------

project = "sklearn-dlc"
author = "sklearn-dlc developers"
copyright = "sklearn-dlc developers"
release = sklearn_dlc.__version__
version = re.sub(r"(\.dev\d*|rc\d*|a\d*|b\d*)$", "", release)

# -- General -----------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "_templates", "sg_execution_times.rst"]
root_doc = "index"
default_role = "literal"
pygments_style = "sphinx"

autosummary_generate = True
# Members are chosen by the templates _templates/class.rst and function.rst.
# (A default "inherited-members" here would override their excluded bases.)
autodoc_default_options = {}
autodoc_typehints = "none"

# numpydoc renders the parameter tables; autosummary lists the members.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# -- Cross-references to other projects ----------------------------------------

intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable", None),
    "scipy": ("https://docs.scipy.org/doc/scipy", None),
    "sklearn": ("https://scikit-learn.org/stable", None),
    "imblearn": ("https://imbalanced-learn.org/stable", None),
    "skorch": ("https://skorch.readthedocs.io/en/stable", None),
    "torch": ("https://docs.pytorch.org/docs/stable", None),
    "joblib": ("https://joblib.readthedocs.io/en/stable", None),
    "matplotlib": ("https://matplotlib.org/stable", None),
    "pandas": ("https://pandas.pydata.org/docs", None),
}
intersphinx_timeout = 10


class _UnreachableInventoryFilter(logging.Filter):
    """Report an intersphinx inventory that cannot be fetched as information.

    Without network access (CI, an air-gapped machine) no inventory can be
    downloaded. Sphinx then warns, without a warning type that
    ``suppress_warnings`` could select, and ``-W`` would fail the build. The
    pages are still complete: references to other projects render as plain
    code instead of links. With network access the inventories load and the
    links work as usual. ``SKLEARN_DLC_DOCS_STRICT_INTERSPHINX=1`` keeps the
    warning (to check the URLs above).
    """

    def filter(self, record):
        if record.levelno == logging.WARNING and str(record.msg).startswith(
            "failed to reach any of the inventories"
        ):
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


if os.environ.get("SKLEARN_DLC_DOCS_STRICT_INTERSPHINX", "0") in ("", "0"):
    # The module that loads inventories: sphinx.ext.intersphinx._load since
    # Sphinx 8, sphinx.ext.intersphinx before; Sphinx prefixes "sphinx.".
    for _name in ("sphinx.ext.intersphinx", "sphinx.ext.intersphinx._load"):
        logging.getLogger(f"sphinx.{_name}").addFilter(_UnreachableInventoryFilter())

# -- Example gallery -----------------------------------------------------------

os.environ.setdefault("MPLBACKEND", "Agg")
# The examples run in this process. Their networks are tiny, and torch's
# intra-op threads cost more than they save on them, a lot more on a busy
# machine: one thread by default.
torch.set_num_threads(int(os.environ.get("SKLEARN_DLC_DOCS_THREADS", "1")))
warnings.filterwarnings(
    "ignore",
    category=UserWarning,
    message="Matplotlib is currently using agg, which is a non-GUI backend",
)

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "backreferences_dir": "generated/backreferences",
    "doc_module": ("sklearn_dlc",),
    "reset_modules": ("matplotlib",),
    # The order of a reading path, not of file names.
    "within_subsection_order": ExplicitOrder(
        [
            "plot_prune_digits.py",
            "plot_pruning_rate.py",
            "plot_grid_search.py",
            "plot_learning_path.py",
            "plot_compare_scores.py",
            "*",
        ]
    ),
    "download_all_examples": False,
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "min_reported_time": 0,
    "show_memory": False,
    "remove_config_comments": True,
}

# -- HTML --------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"sklearn-dlc {release}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
}
html_show_sourcelink = False


# -- Consistency check -----------------------------------------------------------


def _check_api_page(app):
    """Warn when a public name of ``sklearn_dlc`` is missing from api.rst."""
    text = (DOCS / "api.rst").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\s{3,}([A-Za-z_][A-Za-z0-9_]*)\s*$", text, re.M))
    missing = sorted(set(sklearn_dlc.__all__) - listed)
    if missing:
        sphinx_logging.getLogger(__name__).warning(
            "api.rst does not list these public names of sklearn_dlc: %s",
            ", ".join(missing),
        )


_TYPE_LINE = re.compile(r"^(\s*[\w*]+(?:\s*,\s*[\w*]+)* : )(.+)$")
_TRAILING_UNDERSCORE_NAME = re.compile(r"(?<![`\w])([A-Za-z_]\w*_)(?![`\w])")


def _quote_fitted_names_in_types(app, what, name, obj, options, lines):
    """Render ``n_features_in_`` in a numpydoc type line as code.

    In reStructuredText a bare word ending in "_" is a hyperlink reference,
    so a type such as ``ndarray of shape (n_features_in_,)`` would fail the
    build with an unknown target. Type lines never mean a link.
    """
    for i, line in enumerate(lines):
        match = _TYPE_LINE.match(line)
        if match:
            head, kind = match.groups()
            lines[i] = head + _TRAILING_UNDERSCORE_NAME.sub(r"``\1``", kind)


def setup(app):
    app.connect("builder-inited", _check_api_page)
    # Before numpydoc (priority 500) parses the sections.
    app.connect("autodoc-process-docstring", _quote_fitted_names_in_types, priority=400)
