"""matplotlib figures for the lessons. Submodules: ``conv`` (kernels, feature maps,
receptive fields, sliding windows) and ``training`` (training curves)."""

import importlib

_SUBMODULES = ("conv", "training")


def __getattr__(name):
    for sub in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{sub}")
        if name in getattr(module, "__all__", ()):
            return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
