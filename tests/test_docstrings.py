import pytest

import sklearn_dlc
from sklearn_dlc._docstrings import _SHARED_PARAMETERS


@pytest.mark.parametrize("name", sklearn_dlc.__all__)
def test_no_unfilled_shared_parameter(name):
    doc = getattr(sklearn_dlc, name).__doc__ or ""
    assert not [p for p in _SHARED_PARAMETERS if "{" + p + "}" in doc]


@pytest.mark.parametrize(
    "cls", [sklearn_dlc.DLCHardness, sklearn_dlc.ConfidenceHardness]
)
def test_shared_parameters_written_once(cls):
    for text in _SHARED_PARAMETERS.values():
        assert text in cls.__doc__
