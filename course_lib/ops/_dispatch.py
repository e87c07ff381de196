"""Backend name -> module holding that backend's implementation of every op."""

from __future__ import annotations

from types import ModuleType


def backend_module(backend: str) -> ModuleType:
    """"loops" -> ops.loops, "numpy" -> ops.numpy_backend, "torch" -> ops.torch_backend (imports torch)."""
    if backend == "loops":
        from . import loops

        return loops
    if backend == "numpy":
        from . import numpy_backend

        return numpy_backend
    from . import torch_backend

    return torch_backend
