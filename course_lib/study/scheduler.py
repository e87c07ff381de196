"""FSRS spaced-repetition scheduling, a thin layer over the ``fsrs`` package (v6).

FSRS models each card's memory by a stability S (days until recall probability falls to 90 %)
and a difficulty D; after every review it updates S and D from the rating and schedules the next
review when the predicted recall R(t) = (1 + F * t / S) ** -decay drops to the desired retention.

This module adds what the course needs on top: stable integer ids for ``fsrs.Card`` derived
from our string card ids, rating parsing ("good", 3, Rating.Good), UTC checks on ``now``, and a
factory with fuzzing switchable off for deterministic tests.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import fsrs
from fsrs import Rating, State

from course_lib.study.args import text_arg
from course_lib.validation import real_arg

__all__ = [
    "Rating",
    "State",
    "make_scheduler",
    "parse_rating",
    "as_utc",
    "utc_now",
    "fsrs_card_id",
    "new_fsrs_card",
    "format_interval",
]


def make_scheduler(enable_fuzzing: bool = True, desired_retention: float = 0.9) -> fsrs.Scheduler:
    """An FSRS scheduler with default parameters; fuzzing spreads due dates (off for tests)."""
    desired_retention = real_arg(desired_retention, "desired_retention", low=0.0, high=1.0, open_low=True, open_high=True)
    return fsrs.Scheduler(desired_retention=desired_retention, enable_fuzzing=bool(enable_fuzzing))


_RATING_NAMES = {r.name.lower(): r for r in Rating}


def parse_rating(rating) -> Rating:
    """Rating.Again/Hard/Good/Easy from a Rating, 1-4, or a name (any case)."""
    if isinstance(rating, Rating):
        return rating
    if isinstance(rating, str) and rating.strip().lower() in _RATING_NAMES:
        return _RATING_NAMES[rating.strip().lower()]
    if isinstance(rating, int) and not isinstance(rating, bool) and 1 <= rating <= 4:
        return Rating(rating)
    raise ValueError(f"rating: expected one of again/hard/good/easy or 1-4, got {rating!r}")


def utc_now() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(timezone.utc)


def as_utc(now, name: str = "now") -> datetime:
    """``now`` (aware datetime, or None for the current time) converted to UTC."""
    if now is None:
        return utc_now()
    if not isinstance(now, datetime):
        raise TypeError(f"{name}: expected a timezone-aware datetime, got {type(now).__name__} {now!r}")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"{name}: expected a timezone-aware datetime (e.g. tzinfo=timezone.utc), got naive {now!r}")
    return now.astimezone(timezone.utc)


def fsrs_card_id(card_id: str) -> int:
    """A stable positive 53-bit integer for a string card id (fsrs wants ints)."""
    digest = hashlib.sha256(text_arg(card_id, "card_id").encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") & ((1 << 53) - 1)


def new_fsrs_card(card_id: str, now: datetime) -> fsrs.Card:
    """A never-reviewed card, due at ``now`` (passing the id avoids fsrs's 1 ms sleep)."""
    return fsrs.Card(card_id=fsrs_card_id(card_id), due=as_utc(now))


def format_interval(delta: timedelta) -> str:
    """A short human interval: '10m', '3h', '4d', '2.5mo', '1.2y'."""
    if not isinstance(delta, timedelta):
        raise TypeError(f"delta: expected a datetime.timedelta, got {type(delta).__name__}")
    seconds = max(0.0, delta.total_seconds())
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))}m"
    if seconds < 86400:
        return f"{round(seconds / 3600)}h"
    days = seconds / 86400
    if days < 30:
        return f"{round(days)}d"
    if days < 365:
        return f"{days / 30:.1f}mo"
    return f"{days / 365:.1f}y"
