"""ipywidgets for the lessons: the conv explorer, flashcards and quizzes.

``from course_lib.widgets import ConvExplorer, FlashcardReview, Quiz, MultipleChoice, Numeric, Ordering,
interview_card``.
Each submodule is imported on first use, so ``import course_lib.widgets`` stays light and a problem in
one widget never hides the others.
"""

from course_lib.lazy import submodule_getattr

__getattr__ = submodule_getattr(__name__, ("conv_explorer", "flashcards", "quiz", "interview"))
