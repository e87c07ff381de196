"""Study statistics computed from the progress store: due today, learned, retention, streak,
reviews per day (for charts).

Days are calendar days in the learner's time zone (``tz``; default: the machine's local zone).

- *retention* (measured): of the reviews of cards that were in the Review state (i.e. real
  memory tests, not learning steps) in the last ``window_days``, the fraction not rated Again.
- *predicted_recall*: FSRS's mean probability of recalling each learned card right now,
  R = (1 + F t / S) ** -decay.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta, tzinfo

from course_lib.study.args import count_arg
from course_lib.study.scheduler import Rating, State, as_utc

__all__ = ["compute_stats", "reviews_per_day", "streak", "local_tz"]


def local_tz() -> tzinfo:
    """The machine's local time zone."""
    return datetime.now().astimezone().tzinfo


def _end_of_day(now: datetime, tz: tzinfo) -> datetime:
    local = now.astimezone(tz)
    return datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=tz)


def streak(review_days: set[date], today: date) -> int:
    """Consecutive days with at least one review, ending today (or yesterday if none yet today)."""
    day = today if today in review_days else today - timedelta(days=1)
    count = 0
    while day in review_days:
        count += 1
        day -= timedelta(days=1)
    return count


def _is_memory_test(record) -> bool:
    return record.state_before == int(State.Review)


def reviews_per_day(store, days: int = 30, now=None, tz=None, card_ids=None) -> list[dict]:
    """One dict per day for the last ``days`` days (oldest first):
    {date, reviews, again, retention (None when no memory tests that day)}."""
    days = count_arg(days, "days", minimum=1)
    now, tz = as_utc(now), tz or local_tz()
    today = now.astimezone(tz).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time(0), tzinfo=tz)
    wanted = None if card_ids is None else set(card_ids)
    counts, tests, passed, again = Counter(), Counter(), Counter(), Counter()
    for record in store.review_log(since=since):
        if wanted is not None and record.card_id not in wanted:
            continue
        day = record.reviewed_at.astimezone(tz).date()
        counts[day] += 1
        again[day] += record.rating == Rating.Again
        if _is_memory_test(record):
            tests[day] += 1
            passed[day] += record.rating != Rating.Again
    rows = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        rows.append(
            {
                "date": day,
                "reviews": counts[day],
                "again": again[day],
                "retention": passed[day] / tests[day] if tests[day] else None,
            }
        )
    return rows


def compute_stats(store, card_ids=None, now=None, tz=None, window_days: int = 30) -> dict:
    """A dict of: due_now, due_today, new, seen, learned, reviews_total, reviews_today,
    retention, retention_reviews, predicted_recall, streak, lapses.

    With ``card_ids`` the numbers are restricted to those cards and ``new`` counts the ones
    never reviewed; without, they cover every card in the store."""
    now, tz = as_utc(now), tz or local_tz()
    wanted = None if card_ids is None else set(card_ids)
    states = {k: v for k, v in store.card_states().items() if wanted is None or k in wanted}
    log = [r for r in store.review_log() if wanted is None or r.card_id in wanted]
    end_today = _end_of_day(now, tz)
    today = now.astimezone(tz).date()
    window_start = now - timedelta(days=window_days)
    tests = [r for r in log if _is_memory_test(r) and r.reviewed_at >= window_start]
    learned = [s for s in states.values() if s.state == State.Review]
    recall = [store.scheduler.get_card_retrievability(s.card, now) for s in learned]
    per_day = defaultdict(int)
    for record in log:
        per_day[record.reviewed_at.astimezone(tz).date()] += 1
    return {
        "due_now": sum(s.due <= now for s in states.values()),
        "due_today": sum(s.due < end_today for s in states.values()),
        "new": len(wanted - set(states)) if wanted is not None else 0,
        "seen": len(states),
        "learned": len(learned),
        "reviews_total": len(log),
        "reviews_today": per_day.get(today, 0),
        "retention": (sum(r.rating != Rating.Again for r in tests) / len(tests)) if tests else None,
        "retention_reviews": len(tests),
        "predicted_recall": (sum(recall) / len(recall)) if recall else None,
        "streak": streak(set(per_day), today),
        "lapses": sum(s.lapses for s in states.values()),
    }
