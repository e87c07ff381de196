"""ipywidgets for the lessons: the conv explorer, flashcards and quizzes.

``from course_lib.widgets import ConvExplorer, FlashcardReview, Quiz, MultipleChoice, Numeric, Ordering``.
Each submodule is imported on first use, so ``import course_lib.widgets`` stays light and a problem in
one widget never hides the others.
"""

import importlib

_SUBMODULES = ("conv_explorer", "flashcards", "quiz")


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
