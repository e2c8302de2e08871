"""Warnings that point at the user's line, not at library code."""

import os
import sys
import warnings

import imblearn
import joblib
import sklearn
import sklearn_compat


def _folder(module):
    return os.path.dirname(os.path.abspath(module.__file__)) + os.sep


# Between the user's call and the warning lie this package's frames and the
# wrappers around ``fit`` (scikit-learn's fit context, pipelines and their
# joblib.Memory, samplers).
_LIBRARIES = tuple(
    _folder(m)
    for m in (sys.modules[__package__], sklearn, sklearn_compat, imblearn, joblib)
)


def warn_user(message, category=UserWarning):
    """``warnings.warn`` attributed to the first caller outside these libraries.

    A fixed ``stacklevel`` points into library code whenever the public
    method reached the warning through a different number of calls (``fit``
    or ``fit_transform``, a pipeline, a scorer inside a sampler).
    """
    level, frame = 1, sys._getframe(0)
    while frame is not None and frame.f_code.co_filename.startswith(_LIBRARIES):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
