"""ipywidgets for the lessons: the conv explorer, flashcards and quizzes.

Import the widget you need, e.g. ``from course_lib.widgets import ConvExplorer``.
Submodules are loaded on first use so ``import course_lib.widgets`` stays light.
"""

import importlib


_SUBMODULES = ("conv_explorer", "flashcards", "quiz")


def __getattr__(name):
    for sub in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{sub}")
        if name in getattr(module, "__all__", ()):
            return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
