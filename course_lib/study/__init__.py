"""Flashcard decks, FSRS spaced-repetition scheduling and the learner's progress store.

- ``decks``     load and validate the YAML decks in ``flashcards/``  -> list[Card]
- ``scheduler`` FSRS scheduling (the ``fsrs`` package): ratings Again/Hard/Good/Easy
- ``store``     the SQLite progress store: card states, review log, exercise check results
- ``stats``     due today, learned, retention, streak, reviews per day
- ``anki``      export decks to an Anki ``.apkg`` (``genanki``) with stable ids
- ``cli``       the ``progress`` and ``export-anki`` commands of ``python -m course_lib``
"""

from course_lib.study.decks import Card, DeckError, load_deck, load_decks
from course_lib.study.scheduler import Rating, make_scheduler, parse_rating
from course_lib.study.store import ProgressStore, ProgressStoreError, ProgressStoreWarning, ReviewResult, open_store

__all__ = [
    "Card",
    "DeckError",
    "load_deck",
    "load_decks",
    "Rating",
    "make_scheduler",
    "parse_rating",
    "ProgressStore",
    "ProgressStoreError",
    "ProgressStoreWarning",
    "ReviewResult",
    "open_store",
]
