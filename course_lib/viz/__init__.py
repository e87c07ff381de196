"""matplotlib figures for the lessons. Submodules: ``conv`` (kernels, feature maps,
receptive fields, sliding windows), ``matrix`` (a convolution as a tied sparse matrix) and
``training`` (training curves)."""

import importlib

_SUBMODULES = ("conv", "matrix", "training")


def __getattr__(name):
    failures = []
    for sub in _SUBMODULES:
        try:
            module = importlib.import_module(f"{__name__}.{sub}")
        except ImportError as error:  # one broken submodule must not hide the others
            failures.append(f"{sub}: {error}")
            continue
        if name in getattr(module, "__all__", ()):
            return getattr(module, name)
    hint = f" (submodules that failed to import: {'; '.join(failures)})" if failures else ""
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}{hint}")
