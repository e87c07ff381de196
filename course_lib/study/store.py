"""The learner's progress store: one SQLite file with card states, the full review log and
exercise check results.

Durability rules:

- every review is one ``BEGIN IMMEDIATE ... COMMIT`` transaction (state update + log row), so a
  killed kernel loses at most the review in flight and never leaves half of one;
- WAL journal + ``busy_timeout``: two notebooks (two processes) can review at the same time;
- a file that is not a readable convcourse store (garbage, corrupt, another program's database)
  or that was written by a newer schema version is *moved aside* (renamed with a UTC timestamp)
  with a :class:`ProgressStoreWarning`, and a fresh store is started. Nothing is overwritten.

Default location: ``$COURSE_LIB_PROGRESS_DB``, else ``platformdirs.user_data_dir("convcourse")``
``/progress.sqlite3``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import fsrs

from course_lib.study.scheduler import (
    Rating,
    State,
    as_utc,
    fsrs_card_id,
    make_scheduler,
    new_fsrs_card,
    parse_rating,
)

__all__ = [
    "ProgressStore",
    "ProgressStoreWarning",
    "ReviewResult",
    "CardState",
    "ReviewRecord",
    "open_store",
    "default_store_path",
    "SCHEMA_VERSION",
    "APPLICATION_ID",
]

SCHEMA_VERSION = 1
APPLICATION_ID = 0x43435253  # "CCRS": marks the file as a convcourse review store
BUSY_TIMEOUT_MS = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS card_state (
    card_id     TEXT PRIMARY KEY,
    state       INTEGER NOT NULL,
    step        INTEGER,
    stability   REAL,
    difficulty  REAL,
    due         TEXT NOT NULL,
    last_review TEXT,
    reps        INTEGER NOT NULL,
    lapses      INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS review_log (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    card_id        TEXT NOT NULL,
    rating         INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 4),
    reviewed_at    TEXT NOT NULL,
    duration_ms    INTEGER,
    state_before   INTEGER NOT NULL,
    retrievability REAL,
    due_after      TEXT NOT NULL,
    stability_after REAL
);
CREATE INDEX IF NOT EXISTS review_log_time ON review_log (reviewed_at);
CREATE INDEX IF NOT EXISTS review_log_card ON review_log (card_id);
CREATE TABLE IF NOT EXISTS check_result (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    check_id   TEXT NOT NULL,
    passed     INTEGER NOT NULL,
    detail     TEXT NOT NULL,
    checked_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS check_result_id ON check_result (check_id);
"""


class ProgressStoreWarning(UserWarning):
    """The progress file could not be used as it was and was moved aside."""


@dataclass(frozen=True)
class CardState:
    """A card's scheduling state: the fsrs card plus review and lapse counts."""

    card_id: str
    card: fsrs.Card
    reps: int
    lapses: int

    @property
    def due(self) -> datetime:
        return self.card.due

    @property
    def state(self) -> State:
        return self.card.state


@dataclass(frozen=True)
class ReviewRecord:
    """One row of the review log. ``state_before`` is 0 for a card's first review."""

    card_id: str
    rating: Rating
    reviewed_at: datetime
    duration_ms: int | None
    state_before: int
    retrievability: float | None
    due_after: datetime
    stability_after: float | None


@dataclass(frozen=True)
class ReviewResult:
    """What one review did: the new state and when the card is due next."""

    card_id: str
    rating: Rating
    reviewed_at: datetime
    due: datetime
    state: State

    @property
    def interval(self) -> timedelta:
        return self.due - self.reviewed_at


def _ts(dt: datetime) -> str:
    """Fixed-width UTC ISO text, so text order is time order in SQL."""
    return dt.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def default_store_path() -> Path:
    """``$COURSE_LIB_PROGRESS_DB`` or the platform's user data folder / progress.sqlite3."""
    env = os.environ.get("COURSE_LIB_PROGRESS_DB")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("convcourse", appauthor=False)) / "progress.sqlite3"


@contextlib.contextmanager
def _open_lock(path: Path):
    """Serialise the open/check/repair step between processes (POSIX flock; no-op elsewhere)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path.with_name(path.name + ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _connect(path) -> sqlite3.Connection:
    conn = sqlite3.connect(
        str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


def _diagnose(conn: sqlite3.Connection) -> tuple[str, str]:
    """('ok' | 'fresh' | 'newer' | 'foreign' | 'corrupt', reason) for an open connection."""
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        return "corrupt", f"it is not a readable SQLite database ({exc})"
    if check != "ok":
        return "corrupt", f"SQLite integrity check failed ({check})"
    if app_id == 0 and not tables:
        return "fresh", "empty"
    if app_id != APPLICATION_ID:
        return "foreign", f"it is a SQLite database of another program (application_id {app_id:#x})"
    if version > SCHEMA_VERSION:
        return "newer", (
            f"it was written by a newer course_lib (schema version {version}, this one reads up to "
            f"{SCHEMA_VERSION}); upgrade course_lib to use it"
        )
    return "ok", ""


def _move_aside(path: Path, label: str) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    target = path.with_name(f"{path.name}.{label}-{stamp}")
    os.replace(path, target)
    for suffix in ("-wal", "-shm", "-journal"):  # a stale WAL must never be replayed into a new file
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.replace(side, target.with_name(target.name + suffix))
    return target


class ProgressStore:
    """Card states, review log and check results in one SQLite file (see module docstring)."""

    def __init__(self, path, *, enable_fuzzing: bool = True, desired_retention: float = 0.9):
        self.scheduler = make_scheduler(enable_fuzzing=enable_fuzzing, desired_retention=desired_retention)
        self._lock = threading.RLock()
        self.moved_aside: Path | None = None
        if str(path) == ":memory:":
            self.path = None
            self._conn = _connect(":memory:")
            self._initialise()
            return
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _open_lock(self.path):
            self._conn = self._open_checked()

    # -- opening ---------------------------------------------------------------------------------
    def _open_checked(self) -> sqlite3.Connection:
        conn = _connect(self.path)
        verdict, reason = _diagnose(conn)
        if verdict in ("corrupt", "foreign", "newer"):
            conn.close()
            label = "newer-schema" if verdict == "newer" else "unreadable"
            self.moved_aside = _move_aside(self.path, label)
            warnings.warn(
                f"The progress store {self.path} could not be used: {reason}. It was moved to "
                f"{self.moved_aside} (nothing was deleted) and a fresh, empty store was started.",
                ProgressStoreWarning,
                stacklevel=4,
            )
            conn = _connect(self.path)
        self._conn = conn
        if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        self._initialise()
        return conn

    def _initialise(self) -> None:
        with self._transaction() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                for statement in _SCHEMA.strip().split(";\n"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextlib.contextmanager
    def _transaction(self):
        """BEGIN IMMEDIATE (takes the write lock up front, so read-modify-write is safe) ... COMMIT."""
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @property
    def schema_version(self) -> int:
        with self._lock:
            return self._conn.execute("PRAGMA user_version").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        return f"ProgressStore({str(self.path) if self.path else ':memory:'!r})"

    # -- cards -----------------------------------------------------------------------------------
    @staticmethod
    def _row_to_state(row) -> CardState:
        card_id, state, step, stability, difficulty, due, last_review, reps, lapses = row
        card = fsrs.Card(
            card_id=fsrs_card_id(card_id),
            state=State(state),
            step=step,
            stability=stability,
            difficulty=difficulty,
            due=_dt(due),
            last_review=_dt(last_review),
        )
        return CardState(card_id, card, reps, lapses)

    def card_state(self, card_id: str) -> CardState | None:
        """The stored state of one card, or None if it was never reviewed."""
        with self._lock:
            row = self._conn.execute("SELECT * FROM card_state WHERE card_id = ?", (card_id,)).fetchone()
        return None if row is None else self._row_to_state(row)

    def card_states(self) -> dict[str, CardState]:
        """Every reviewed card's state, keyed by card id."""
        with self._lock:
            rows = self._conn.execute("SELECT * FROM card_state").fetchall()
        return {row[0]: self._row_to_state(row) for row in rows}

    def review(self, card_id: str, rating, now=None, duration_ms: int | None = None) -> ReviewResult:
        """Rate ``card_id`` (Again/Hard/Good/Easy) at ``now`` (aware datetime, default: now).

        The new FSRS state and the log row are written in one transaction.
        """
        if not isinstance(card_id, str) or not card_id:
            raise TypeError(f"card_id: expected a non-empty string, got {card_id!r}")
        rating = parse_rating(rating)
        now = as_utc(now)
        if duration_ms is not None and (not isinstance(duration_ms, int) or duration_ms < 0):
            raise ValueError(f"duration_ms: expected a non-negative int or None, got {duration_ms!r}")
        with self._transaction() as conn:
            row = conn.execute("SELECT * FROM card_state WHERE card_id = ?", (card_id,)).fetchone()
            if row is None:
                before, card, reps, lapses, recall = 0, new_fsrs_card(card_id, now), 0, 0, None
            else:
                old = self._row_to_state(row)
                before, card, reps, lapses = int(old.card.state), old.card, old.reps, old.lapses
                recall = self.scheduler.get_card_retrievability(card, now) if card.stability else None
            card, _ = self.scheduler.review_card(card, rating, now, duration_ms)
            lapses += int(before == State.Review and rating == Rating.Again)
            conn.execute(
                "INSERT OR REPLACE INTO card_state VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    card_id,
                    int(card.state),
                    card.step,
                    card.stability,
                    card.difficulty,
                    _ts(card.due),
                    _ts(card.last_review),
                    reps + 1,
                    lapses,
                ),
            )
            conn.execute(
                "INSERT INTO review_log (card_id, rating, reviewed_at, duration_ms, state_before,"
                " retrievability, due_after, stability_after) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (card_id, int(rating), _ts(now), duration_ms, before, recall, _ts(card.due), card.stability),
            )
        return ReviewResult(card_id, rating, now, card.due, card.state)

    def preview(self, card_id: str, now=None) -> dict[Rating, datetime]:
        """When the card would next be due for each rating (nothing is written)."""
        now = as_utc(now)
        state = self.card_state(card_id)
        card = new_fsrs_card(card_id, now) if state is None else state.card
        fuzz, self.scheduler.enable_fuzzing = self.scheduler.enable_fuzzing, False
        try:
            return {r: self.scheduler.review_card(card, r, now)[0].due for r in Rating}
        finally:
            self.scheduler.enable_fuzzing = fuzz

    def due_cards(self, card_ids=None, now=None, limit: int | None = None, include_new: bool = True) -> list[str]:
        """Ids of cards due at ``now``: reviewed cards by due time (most overdue first), then
        never-reviewed cards of ``card_ids`` in the given order. Without ``card_ids`` only
        reviewed cards are considered."""
        now = as_utc(now)
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise ValueError(f"limit: expected a non-negative int or None, got {limit!r}")
        states = self.card_states()
        wanted = list(dict.fromkeys(card_ids)) if card_ids is not None else list(states)
        due = sorted((states[c].due, c) for c in wanted if c in states and states[c].due <= now)
        result = [c for _, c in due]
        if include_new and card_ids is not None:
            result += [c for c in wanted if c not in states]
        return result if limit is None else result[:limit]

    def review_log(self, card_id: str | None = None, since=None) -> list[ReviewRecord]:
        """The review log in time order, optionally for one card and/or since a time."""
        sql, args = "SELECT card_id, rating, reviewed_at, duration_ms, state_before, retrievability, due_after, stability_after FROM review_log WHERE 1", []
        if card_id is not None:
            sql += " AND card_id = ?"
            args.append(card_id)
        if since is not None:
            sql += " AND reviewed_at >= ?"
            args.append(_ts(as_utc(since, "since")))
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY reviewed_at, id", args).fetchall()
        return [
            ReviewRecord(r[0], Rating(r[1]), _dt(r[2]), r[3], r[4], r[5], _dt(r[6]), r[7]) for r in rows
        ]

    def reset_card(self, card_id: str) -> None:
        """Forget a card's schedule (its log rows stay, for the statistics)."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM card_state WHERE card_id = ?", (card_id,))

    # -- exercise checks -------------------------------------------------------------------------
    def record_check(self, check_id: str, passed: bool, detail: str = "", now=None) -> None:
        """Log one run of a self-check (used by course_lib.checks and lesson quizzes)."""
        if not isinstance(check_id, str) or not check_id:
            raise TypeError(f"check_id: expected a non-empty string, got {check_id!r}")
        if not isinstance(detail, str):
            raise TypeError(f"detail: expected a string, got {type(detail).__name__}")
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO check_result (check_id, passed, detail, checked_at) VALUES (?, ?, ?, ?)",
                (check_id, int(bool(passed)), detail, _ts(as_utc(now))),
            )

    def check_summary(self) -> dict[str, dict]:
        """{check_id: {passed: ever passed, attempts, last: datetime of the latest run, last_passed}}."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT check_id, MAX(passed), COUNT(*), MAX(checked_at) FROM check_result GROUP BY check_id"
            ).fetchall()
            last = dict(
                self._conn.execute(
                    "SELECT check_id, passed FROM check_result c WHERE id = "
                    "(SELECT MAX(id) FROM check_result WHERE check_id = c.check_id)"
                ).fetchall()
            )
        return {
            cid: {"passed": bool(p), "attempts": n, "last": _dt(t), "last_passed": bool(last.get(cid))}
            for cid, p, n, t in rows
        }

    # -- statistics ------------------------------------------------------------------------------
    def stats(self, card_ids=None, now=None, tz=None) -> dict:
        """Summary numbers; see :func:`course_lib.study.stats.compute_stats`."""
        from course_lib.study.stats import compute_stats

        return compute_stats(self, card_ids=card_ids, now=now, tz=tz)


def open_store(path=None, *, enable_fuzzing: bool = True, desired_retention: float = 0.9) -> ProgressStore:
    """Open (creating or repairing as needed) the progress store at ``path`` or the default path."""
    return ProgressStore(
        default_store_path() if path is None else path,
        enable_fuzzing=enable_fuzzing,
        desired_retention=desired_retention,
    )
