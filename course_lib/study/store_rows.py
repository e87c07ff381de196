"""Rows of the progress store read back into Python objects, each value checked.

One job: a row that SQLite's integrity check accepts can still hold nonsense (a card state 99, a
timestamp that is not a time, a negative count), written by another tool or by hand. Each reader
here returns the parsed object or raises :class:`DamagedRow` saying which value is wrong; the
store skips such a row, reports it once (``ProgressStoreWarning``) and keeps every good row.

Shapes: a ``card_state`` row is 9 values, a ``review_log`` row 8 and a ``check_result`` row 3,
in the column order of the ``SELECT`` the store uses.
"""

from __future__ import annotations

import math
import numbers
from datetime import datetime, timezone

import fsrs

from course_lib.study.scheduler import Rating, State, fsrs_card_id

__all__ = ["DamagedRow", "parse_time", "parse_card_row", "parse_log_row", "parse_check_row"]


class DamagedRow(ValueError):
    """A stored row holds a value that cannot be right; the message names the column."""


def _int(value, column: str, low: int, high: int | None = None, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bound = f"{low}..{high}" if high is not None else f">= {low}"
        raise DamagedRow(f"{column} is {value!r}, expected a whole number {bound}")
    return value


def _real(value, column: str, positive: bool = False) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or (positive and value <= 0):
        raise DamagedRow(f"{column} is {value!r}, expected a finite {'positive ' if positive else ''}number")
    return float(value)


def parse_time(text, column: str = "time", optional: bool = False) -> datetime | None:
    """An aware UTC datetime from the store's ISO text (as written by the store)."""
    if text is None and optional:
        return None
    try:
        value = datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise DamagedRow(f"{column} is {text!r}, expected an ISO time with a UTC offset")
    return value.astimezone(timezone.utc)


def parse_card_row(row) -> tuple[str, fsrs.Card, int, int]:
    """(card_id, fsrs.Card, reps, lapses) from a ``card_state`` row."""
    card_id, state, step, stability, difficulty, due, last_review, reps, lapses = row
    if not isinstance(card_id, str) or not card_id:
        raise DamagedRow(f"card_id is {card_id!r}, expected a non-empty string")
    state = _int(state, "state", 1, max(int(s) for s in State))
    card = fsrs.Card(
        card_id=fsrs_card_id(card_id),
        state=State(state),
        step=_int(step, "step", 0, optional=True),
        stability=_real(stability, "stability", positive=True),
        difficulty=_real(difficulty, "difficulty"),
        due=parse_time(due, "due"),
        last_review=parse_time(last_review, "last_review", optional=True),
    )
    return card_id, card, _int(reps, "reps", 0), _int(lapses, "lapses", 0)


def parse_log_row(row) -> tuple:
    """(card_id, Rating, reviewed_at, duration_ms, state_before, retrievability, due_after,
    stability_after) from a ``review_log`` row."""
    card_id, rating, reviewed_at, duration, before, recall, due_after, stability = row
    if not isinstance(card_id, str) or not card_id:
        raise DamagedRow(f"card_id is {card_id!r}, expected a non-empty string")
    return (
        card_id,
        Rating(_int(rating, "rating", 1, 4)),
        parse_time(reviewed_at, "reviewed_at"),
        _int(duration, "duration_ms", 0, optional=True),
        _int(before, "state_before", 0, max(int(s) for s in State)),
        _real(recall, "retrievability"),
        parse_time(due_after, "due_after"),
        _real(stability, "stability_after"),
    )


def parse_check_row(row) -> tuple[str, bool, datetime]:
    """(check_id, passed, checked_at) from a ``check_result`` row."""
    check_id, passed, checked_at = row
    if not isinstance(check_id, str) or not check_id:
        raise DamagedRow(f"check_id is {check_id!r}, expected a non-empty string")
    return check_id, bool(_int(passed, "passed", 0, 1)), parse_time(checked_at, "checked_at")
