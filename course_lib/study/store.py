"""The learner's progress store: one SQLite file with card states, the full review log and
exercise check results.

Durability rules:

- every review is one ``BEGIN IMMEDIATE ... COMMIT`` transaction (state update + log row), so a
  killed kernel loses at most the review in flight and never leaves half of one;
- WAL journal + ``busy_timeout``: two notebooks (two processes) can review at the same time;
- a file that is not a readable convcourse store (garbage, corrupt, another program's database)
  or that was written by a newer schema version is *moved aside* (renamed with a UTC timestamp)
  with a :class:`ProgressStoreWarning`, and a fresh store is started. Nothing is overwritten.
- a file that is fine but cannot be used right now (locked by another program past the busy
  timeout, read-only, a folder or dangling link at the path, journal files of another user, the
  store already closed) is never moved aside: :class:`ProgressStoreError` says what to do
  (see :mod:`course_lib.study.store_errors`);
- a row that passes SQLite's integrity check but holds nonsense (card state 99, a timestamp that
  is not a time) is skipped and reported once with a :class:`ProgressStoreWarning` (listed in
  ``store.damaged``); every good row stays readable, and a card with a damaged state starts
  over on its next review. A store of ours whose tables are missing gets them back (empty).

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

from course_lib.study import migrations
from course_lib.study.args import count_arg, describe, text_arg
from course_lib.study.scheduler import (
    Rating,
    State,
    as_utc,
    make_scheduler,
    new_fsrs_card,
    parse_rating,
)
from course_lib.study.store_errors import ProgressStoreError, check_path, explain, is_corruption
from course_lib.study.store_rows import DamagedRow, parse_card_row, parse_check_row, parse_log_row

__all__ = [
    "ProgressStore",
    "ProgressStoreWarning",
    "ProgressStoreError",
    "ReviewResult",
    "CardState",
    "ReviewRecord",
    "open_store",
    "default_store_path",
    "SCHEMA_VERSION",
    "APPLICATION_ID",
]

SCHEMA_VERSION = 2  # 2: quiz ids of interview prep renamed lesson05 -> lesson06 (study/migrations.py)
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


_TABLES = ("card_state", "review_log", "check_result")
_ROW_LEVEL = ("CHECK constraint failed", "NULL value in")


class ProgressStoreWarning(UserWarning):
    """The progress file could not be used as it was and was moved aside, or some of its rows
    are damaged and were skipped."""


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


def default_store_path() -> Path:
    """``$COURSE_LIB_PROGRESS_DB`` or the platform's user data folder / progress.sqlite3."""
    env = os.environ.get("COURSE_LIB_PROGRESS_DB")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("convcourse", appauthor=False)) / "progress.sqlite3"


@contextlib.contextmanager
def _open_lock(path: Path):
    """Serialise the open/check/repair step between processes (POSIX flock; no-op elsewhere).

    A lock file left by another user is opened read-only (flock works on it all the same)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    lock_path = path.with_name(path.name + ".lock")
    try:
        handle = open(lock_path, "a")
    except PermissionError:
        handle = open(lock_path)
    with handle:
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


def _diagnose(conn: sqlite3.Connection, path: Path) -> tuple[str, str]:
    """('ok' | 'fresh' | 'newer' | 'foreign' | 'corrupt', reason) for an open connection.

    Only SQLite's own verdict of damage counts as 'corrupt'; busy, read-only and permission
    errors raise :class:`ProgressStoreError` (the file is fine, it just cannot be used now)."""
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        problems = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()]
    except sqlite3.DatabaseError as exc:
        if not is_corruption(exc):
            raise explain(exc, path, BUSY_TIMEOUT_MS / 1000) from exc
        return "corrupt", f"it is not a readable SQLite database ({exc})"
    # A row breaking a CHECK or NOT NULL rule is a damaged row, not a damaged file: the row
    # readers skip it and keep the rest (see store_rows).
    damage = [p for p in problems if p != "ok" and not p.startswith(_ROW_LEVEL)]
    if damage:
        return "corrupt", f"SQLite integrity check failed ({damage[0]})"
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


def _move_aside(path: Path, label: str, reason: str) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    target = path.with_name(f"{path.name}.{label}-{stamp}")
    try:
        os.replace(path, target)
        for suffix in ("-wal", "-shm", "-journal"):  # a stale WAL must never be replayed into a new file
            side = path.with_name(path.name + suffix)
            if side.exists():
                os.replace(side, target.with_name(target.name + suffix))
    except OSError as exc:
        raise ProgressStoreError(
            "cannot move aside", path,
            f"The progress store {path} cannot be used ({reason}) and could not be moved aside to "
            f"start a fresh one ({exc.strerror or exc}). Move or rename it yourself, or point "
            "COURSE_LIB_PROGRESS_DB at another file.",
        ) from exc
    return target


class ProgressStore:
    """Card states, review log and check results in one SQLite file (see module docstring)."""

    def __init__(self, path, *, enable_fuzzing: bool = True, desired_retention: float = 0.9):
        self.scheduler = make_scheduler(enable_fuzzing=enable_fuzzing, desired_retention=desired_retention)
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self.moved_aside: Path | None = None
        self.damaged: list[str] = []  # one line per skipped row (see module docstring)
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path: expected a file path (str or Path) or ':memory:', got {describe(path)}")
        if isinstance(path, str) and not path.strip():
            raise ValueError("path: expected a file path (e.g. progress.sqlite3), got an empty string")
        if str(path) == ":memory:":
            self.path = None
            self._conn = _connect(":memory:")
            self._initialise()
            return
        self.path = Path(path).expanduser()
        self._prepare_folder()
        with _open_lock(self.path):
            self._conn = self._open_checked()

    def _prepare_folder(self) -> None:
        """Create the parent folder; refuse paths that cannot hold a progress file (plain answers)."""
        problem = check_path(self.path)
        if problem is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                problem = ProgressStoreError(
                    "cannot create folder", self.path,
                    f"The folder {self.path.parent} for the progress file could not be created "
                    f"({exc.strerror or exc}). Create it yourself or point COURSE_LIB_PROGRESS_DB at "
                    "a file in a folder you can write to.",
                )
            else:
                problem = check_path(self.path)
        if problem is not None:
            raise problem

    # -- opening ---------------------------------------------------------------------------------
    def _open_checked(self) -> sqlite3.Connection:
        conn = None
        try:
            conn = _connect(self.path)
            conn = self._check_or_replace(conn)
            self._conn = conn
            with self._sqlite_errors():
                if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = FULL")
            self._initialise()
        except BaseException:
            if conn is not None:
                conn.close()
            self._conn = None
            raise
        return conn

    def _check_or_replace(self, conn: sqlite3.Connection) -> sqlite3.Connection:
        """``conn`` if its file is a usable store, else a connection to a fresh file (the old one
        moved aside with a warning)."""
        try:
            verdict, reason = _diagnose(conn, self.path)
        except ProgressStoreError:
            raise
        except sqlite3.Error as exc:  # e.g. the file could not even be opened
            raise explain(exc, self.path, BUSY_TIMEOUT_MS / 1000) from exc
        if verdict in ("corrupt", "foreign", "newer"):
            conn.close()
            label = "newer-schema" if verdict == "newer" else "unreadable"
            self.moved_aside = _move_aside(self.path, label, reason)
            warnings.warn(
                f"The progress store {self.path} could not be used: {reason}. It was moved to "
                f"{self.moved_aside} (nothing was deleted) and a fresh, empty store was started.",
                ProgressStoreWarning,
                stacklevel=5,
            )
            conn = _connect(self.path)
        return conn

    def _initialise(self) -> None:
        """Create the schema in a new file; recreate (empty) any table missing from one of ours."""
        with self._transaction() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            missing = [t for t in _TABLES if t not in present]
            if version == 0 or missing:
                for statement in _SCHEMA.strip().split(";\n"):
                    if statement.strip():
                        conn.execute(statement)
            if version == 0:
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif version < SCHEMA_VERSION:
                migrations.upgrade(conn, version, SCHEMA_VERSION)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        if version != 0 and missing:
            self._report(f"the table(s) {', '.join(missing)} were missing and were recreated empty")

    # -- the two ways in: every SQLite call goes through one of these ---------------------------
    @contextlib.contextmanager
    def _sqlite_errors(self):
        """SQLite errors as :class:`ProgressStoreError` (plain answers); a closed store says so."""
        if self._conn is None:
            raise ProgressStoreError(
                "closed", self.path,
                f"{self!r} was closed. Open the store again with open_store() (your progress is "
                "saved in the file), or create the widget again.",
            )
        try:
            yield self._conn
        except ProgressStoreError:
            raise
        except sqlite3.Error as exc:
            raise explain(exc, self.path, BUSY_TIMEOUT_MS / 1000) from exc

    def _query(self, sql: str, args=()) -> list[tuple]:
        """All rows of one read-only statement."""
        with self._lock, self._sqlite_errors() as conn:
            return conn.execute(sql, args).fetchall()

    @contextlib.contextmanager
    def _transaction(self):
        """BEGIN IMMEDIATE (takes the write lock up front, so read-modify-write is safe) ... COMMIT."""
        with self._lock, self._sqlite_errors() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _report(self, problem: str) -> None:
        """Record and warn (once per problem) about damage that was skipped or repaired."""
        if problem in self.damaged:
            return
        self.damaged.append(problem)
        warnings.warn(
            f"The progress store {self.path or ':memory:'} has damage SQLite does not notice: {problem}. "
            "Everything else is kept and works; nothing was moved or deleted.",
            ProgressStoreWarning,
            stacklevel=4,
        )

    def _parsed(self, rows, parse, what):
        """``parse(row)`` of each row; damaged rows are reported and skipped."""
        out = []
        for row in rows:
            try:
                out.append(parse(row))
            except (DamagedRow, ValueError, TypeError, OverflowError) as exc:
                self._report(f"{what} {row[0]!r} was skipped ({exc})")
        return out

    @property
    def schema_version(self) -> int:
        return self._query("PRAGMA user_version")[0][0]

    def close(self) -> None:
        """Close the file (again is fine); any later call raises :class:`ProgressStoreError`."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        return f"ProgressStore({str(self.path) if self.path else ':memory:'!r})"

    # -- cards -----------------------------------------------------------------------------------
    def _states(self, rows) -> dict[str, CardState]:
        return {s[0]: CardState(*s) for s in self._parsed(rows, parse_card_row, "the saved state of card")}

    def card_state(self, card_id: str) -> CardState | None:
        """The stored state of one card, or None if it was never reviewed (or its row is damaged)."""
        card_id = text_arg(card_id, "card_id")
        return self._states(self._query("SELECT * FROM card_state WHERE card_id = ?", (card_id,))).get(card_id)

    def card_states(self) -> dict[str, CardState]:
        """Every reviewed card's state, keyed by card id (damaged rows skipped and reported)."""
        return self._states(self._query("SELECT * FROM card_state"))

    def review(self, card_id: str, rating, now=None, duration_ms: int | None = None) -> ReviewResult:
        """Rate ``card_id`` (Again/Hard/Good/Easy) at ``now`` (aware datetime, default: now).

        The new FSRS state and the log row are written in one transaction.
        """
        card_id = text_arg(card_id, "card_id")
        rating = parse_rating(rating)
        now = as_utc(now)
        duration_ms = count_arg(duration_ms, "duration_ms", optional=True)
        with self._transaction() as conn:
            rows = conn.execute("SELECT * FROM card_state WHERE card_id = ?", (card_id,)).fetchall()
            old = self._states(rows).get(card_id)  # a damaged state starts over as a new card
            if old is None:
                before, card, reps, lapses, recall = 0, new_fsrs_card(card_id, now), 0, 0, None
            else:
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
        limit = count_arg(limit, "limit", optional=True)
        states = self.card_states()
        wanted = list(dict.fromkeys(_card_ids(card_ids))) if card_ids is not None else list(states)
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
            args.append(text_arg(card_id, "card_id"))
        if since is not None:
            sql += " AND reviewed_at >= ?"
            args.append(_ts(as_utc(since, "since")))
        rows = self._query(sql + " ORDER BY reviewed_at, id", args)
        return [ReviewRecord(*r) for r in self._parsed(rows, parse_log_row, "a review-log row of card")]

    # -- exercise checks -------------------------------------------------------------------------
    def record_check(self, check_id: str, passed: bool, detail: str = "", now=None) -> None:
        """Log one run of a self-check (used by course_lib.checks and lesson quizzes)."""
        check_id = text_arg(check_id, "check_id")
        detail = text_arg(detail, "detail", allow_empty=True)
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO check_result (check_id, passed, detail, checked_at) VALUES (?, ?, ?, ?)",
                (check_id, int(bool(passed)), detail, _ts(as_utc(now))),
            )

    def check_failures(self, check_id: str) -> int:
        """How many runs of ``check_id`` failed (the hint level of the checks comes from this)."""
        check_id = text_arg(check_id, "check_id")
        rows = self._query("SELECT check_id, passed, checked_at FROM check_result WHERE check_id = ? ORDER BY id", (check_id,))
        return sum(1 for _, passed, _ in self._parsed(rows, parse_check_row, "a check result of") if not passed)

    def check_summary(self) -> dict[str, dict]:
        """{check_id: {passed: ever passed, attempts, last: datetime of the latest run, last_passed}}."""
        rows = self._query("SELECT check_id, passed, checked_at FROM check_result ORDER BY id")
        summary: dict[str, dict] = {}
        for check_id, passed, at in self._parsed(rows, parse_check_row, "a check result of"):
            entry = summary.setdefault(check_id, {"passed": False, "attempts": 0, "last": at, "last_passed": False})
            entry["passed"] |= passed
            entry["attempts"] += 1
            entry["last"] = max(entry["last"], at)
            entry["last_passed"] = passed  # rows in id order: the latest run wins
        return summary

    # -- statistics ------------------------------------------------------------------------------
    def stats(self, card_ids=None, now=None, tz=None) -> dict:
        """Summary numbers; see :func:`course_lib.study.stats.compute_stats`."""
        from course_lib.study.stats import compute_stats

        return compute_stats(self, card_ids=card_ids, now=now, tz=tz)


def _card_ids(card_ids) -> list[str]:
    """``card_ids`` (an iterable of card id strings) as a list, each checked."""
    if isinstance(card_ids, str) or not hasattr(card_ids, "__iter__"):
        raise TypeError(f"card_ids: expected a list of card id strings or None, got {describe(card_ids)}")
    return [text_arg(c, f"card_ids[{i}]") for i, c in enumerate(card_ids)]


def open_store(path=None, *, enable_fuzzing: bool = True, desired_retention: float = 0.9) -> ProgressStore:
    """Open (creating or repairing as needed) the progress store at ``path`` or the default path."""
    return ProgressStore(
        default_store_path() if path is None else path,
        enable_fuzzing=enable_fuzzing,
        desired_retention=desired_retention,
    )
