"""One lazy-import pattern for the packages whose names come from submodules on first use.

``viz`` and ``widgets`` do::

    __getattr__ = submodule_getattr(__name__, ("conv", "training"))

so ``from course_lib.viz import plot_history`` imports ``course_lib.viz.training`` only when
the name is asked for, and a submodule that fails to import never hides the others' names.
"""

from __future__ import annotations

import importlib
from typing import Callable, Sequence

__all__ = ["submodule_getattr"]


def submodule_getattr(package: str, submodules: Sequence[str]) -> Callable[[str], object]:
    """A module-level ``__getattr__`` for ``package`` that finds ``name`` in the ``__all__`` of one
    of ``submodules`` (imported on demand, in order), or raises ``AttributeError`` naming the
    submodules that failed to import."""

    def __getattr__(name: str):
        failures = []
        for sub in submodules:
            try:
                module = importlib.import_module(f"{package}.{sub}")
            except ImportError as error:  # one broken submodule must not hide the others
                failures.append(f"{sub}: {error}")
                continue
            if name in getattr(module, "__all__", ()):
                return getattr(module, name)
        hint = f" (submodules that failed to import: {'; '.join(failures)})" if failures else ""
        raise AttributeError(f"module {package!r} has no attribute {name!r}{hint}")

    return __getattr__
