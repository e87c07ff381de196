"""Progress per lesson, from the progress store: quiz answers right and flashcards learned.

Lesson 00 prints it (``print(progress_report(store, cards))``); the numbers come from the same
store methods as ``python -m course_lib progress`` (``check_summary`` and ``stats``).
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

__all__ = ["LESSONS", "LessonProgress", "lesson_overview", "progress_report"]

#: the course's lesson numbers: 00 start here ... 05 modern conv layers, 06 interview prep
LESSONS = range(7)


class LessonProgress(NamedTuple):
    """One lesson's row: ``lesson`` ("lesson03"), quiz answers right (their last try) of those tried,
    and flashcards learned from the lesson's deck."""

    lesson: str
    quiz_right: int
    quiz_tried: int
    cards_learned: int


def lesson_overview(store, cards: Sequence, lessons: Sequence[int] = LESSONS) -> list[LessonProgress]:
    """One :class:`LessonProgress` per lesson number in ``lessons``.

    ``store``: a ``course_lib.study`` progress store; ``cards``: the flashcards (``card.lesson`` starts
    with the two-digit lesson number, ``"03_ekg_conv1d"``). Quiz answers are the store's check
    results whose id starts with ``quiz:lessonNN:``.
    """
    checks = store.check_summary()
    rows = []
    for number in lessons:
        lesson = f"lesson{number:02d}"
        quiz = [v for k, v in checks.items() if k.startswith(f"quiz:{lesson}:")]
        deck = [card.id for card in cards if card.lesson.startswith(f"{number:02d}_")]
        learned = store.stats(card_ids=deck)["learned"] if deck else 0
        rows.append(LessonProgress(lesson, sum(v["last_passed"] for v in quiz), len(quiz), learned))
    return rows


def progress_report(store, cards: Sequence, lessons: Sequence[int] = LESSONS) -> str:
    """The per-lesson table, then exercise checks passed, flashcards due today and the review streak."""
    lines = [f"{'lesson':<10} {'quiz answers right':>18} {'flashcards learned':>19}"]
    for row in lesson_overview(store, cards, lessons):
        lines.append(f"{row.lesson:<10} {row.quiz_right:>10} of {row.quiz_tried:<5} {row.cards_learned:>14}")
    exercise = {k: v for k, v in store.check_summary().items() if not k.startswith("quiz:")}
    stats = store.stats(card_ids=[card.id for card in cards])
    lines += [
        "",
        f"exercise checks passed: {sum(v['passed'] for v in exercise.values())} of {len(exercise)} tried",
        f"flashcards due today:   {stats['due_today']}",
        f"review streak (days):   {stats['streak']}",
    ]
    return "\n".join(lines)
