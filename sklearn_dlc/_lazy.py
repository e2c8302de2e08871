"""Public names of a package imported on first use (PEP 562)."""

import importlib


def lazy_names(package, modules):
    """``(__getattr__, __dir__)`` for ``package`` whose names live in ``modules``.

    ``modules`` maps each public name to the module (relative to
    ``package``) that defines it; a name is imported when first read.
    """

    def __getattr__(name):
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        namespace = importlib.import_module(package)
        value = getattr(importlib.import_module(module, package), name)
        setattr(namespace, name, value)
        return value

    def __dir__():
        return sorted(set(vars(importlib.import_module(package))) | set(modules))

    return __getattr__, __dir__
