"""Parameter descriptions shared by the scorers' docstrings, written once.

The imbalanced-learn ``Substitution`` pattern, replacing only the named
``{placeholders}`` so that the rest of a docstring needs no brace escaping.
"""

_SHARED_PARAMETERS = {
    "batch_size": """batch_size : int, default=None
        Samples per forward pass. None uses the skorch net's ``batch_size``.""",
    "device": """device : str or torch.device, default=None
        Where to run. None: the device of ``net`` when it is a skorch net,
        else the device of the module's parameters (a module on CUDA is
        scored on CUDA). A module that lives elsewhere is copied there, so
        the user's module is never moved.""",
}


def shared_parameters(obj):
    """Fill ``{batch_size}``-style placeholders of ``obj``'s docstring."""
    if obj.__doc__:
        for name, text in _SHARED_PARAMETERS.items():
            obj.__doc__ = obj.__doc__.replace("{" + name + "}", text)
    return obj
