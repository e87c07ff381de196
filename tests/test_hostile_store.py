"""Hostile conditions for the progress store (issue 14, class 1): every failure is injected for
real (a lock held by another process, files and folders another user owns, damaged rows written
with SQLite itself) and the store must answer plainly, never move a healthy file aside and never
lose a good row.

Permission denials need a real non-root user: root bypasses permission checks, so those cases
run the learner's side in a subprocess that drops to ``nobody`` (uid 65534) after importing.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.study import ProgressStoreWarning, open_store
from course_lib.study import store as store_module
from course_lib.study.store import APPLICATION_ID, SCHEMA_VERSION, ProgressStoreError

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
ROOT = Path(__file__).resolve().parents[1]
NOBODY = 65534


def siblings(path: Path) -> list[str]:
    """Names next to the store that would show it was moved aside."""
    return sorted(p.name for p in path.parent.iterdir() if "unreadable" in p.name or "newer-schema" in p.name)


def seeded(path: Path, reviews: int = 6) -> list[str]:
    """A store with ``reviews`` reviews of three cards; returns the card ids."""
    with open_store(path, enable_fuzzing=False) as store:
        for i in range(reviews):
            store.review(f"card-{i % 3}", "good", now=T0 + timedelta(days=i))
        store.record_check("ps1.size", True, now=T0)
    return ["card-0", "card-1", "card-2"]


def log_count(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT COUNT(*) FROM review_log").fetchone()[0]
    finally:
        conn.close()


# -- a lock held by another process ---------------------------------------------------------------

LOCK_HOLDER = r"""
import sqlite3, sys, time, os
path, release, mode = sys.argv[1], sys.argv[2], sys.argv[3]
conn = sqlite3.connect(path, isolation_level=None, timeout=20)
if mode == "exclusive":
    conn.execute("PRAGMA locking_mode = EXCLUSIVE")  # readers are shut out too
    conn.execute("BEGIN EXCLUSIVE")
else:
    conn.execute("BEGIN IMMEDIATE")  # the write lock, as another notebook's review holds it
conn.execute("INSERT INTO check_result (check_id, passed, detail, checked_at) VALUES ('other', 1, '', '2026-03-01T00:00:00.000000+00:00')")
print("locked", flush=True)
while not os.path.exists(release):
    time.sleep(0.02)
conn.execute("COMMIT")
conn.close()
print("released", flush=True)
"""


def hold_lock(path: Path, release: Path, mode: str = "exclusive") -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(path), str(release), mode],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked", proc.stderr.read()
    return proc


def test_a_store_locked_by_another_process_is_waited_for_not_moved_aside(tmp_path):
    path = tmp_path / "progress.sqlite3"
    seeded(path)
    release = tmp_path / "release"
    holder = hold_lock(path, release)
    try:
        # The learner opens the store while the other process holds it; it lets go 1.5 s later.
        threading_release = subprocess.Popen([sys.executable, "-c", f"import time, pathlib; time.sleep(1.5); pathlib.Path({str(release)!r}).touch()"])
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no "moved aside" warning
            with open_store(path, enable_fuzzing=False) as store:
                store.review("card-0", "good", now=T0 + timedelta(days=30))
        threading_release.wait(timeout=30)
    finally:
        release.touch()
        assert holder.wait(timeout=30) == 0, holder.stderr.read()
    assert siblings(path) == []
    with open_store(path) as store:
        assert len(store.review_log()) == 7  # six before, one while the other process held the lock
        assert "other" in store.check_summary()  # the other process's write is in the same file


def test_busy_past_the_timeout_is_a_plain_error_and_no_review_is_lost(tmp_path, monkeypatch):
    from course_lib.study import Card
    from course_lib.widgets.flashcards import FlashcardReview

    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_MS", 300)
    path = tmp_path / "progress.sqlite3"
    seeded(path)
    release = tmp_path / "release"
    cards = [Card(id=f"new-{i}", front=f"q{i}", back=f"a{i}") for i in range(3)]
    store = open_store(path, enable_fuzzing=False)
    review = FlashcardReview(cards, store, clock=lambda: T0)
    review.reveal()
    holder = hold_lock(path, release, mode="immediate")  # the learner's store is open: a write lock
    try:
        shown = review.current.id
        review.rating_buttons[store_module.Rating.Good].click()  # the learner clicks while it is locked
        assert "Not saved" in review.status.value and "Another program" in review.status.value
        assert review.current.id == shown and review.revealed  # the card stays: nothing lost
        with pytest.raises(ProgressStoreError, match="Another program") as info:
            review.rate("good")
        assert info.value.reason == "busy"
        with pytest.raises(ProgressStoreError, match="Close it or wait"):
            open_store(path)  # a second open while locked: busy, not "unreadable"
    finally:
        release.touch()
        assert holder.wait(timeout=30) == 0, holder.stderr.read()
    review.rating_buttons[store_module.Rating.Good].click()  # released: the same click now saves
    assert review.current is None or review.current.id != shown
    store.close()
    assert siblings(path) == []
    with open_store(path) as again:
        assert [r.card_id for r in again.review_log()].count(shown) == 1  # saved once, after the release
        assert len(again.review_log()) == 7 and "other" in again.check_summary()


# -- paths that cannot hold a store ---------------------------------------------------------------

def test_a_folder_at_the_path(tmp_path):
    with pytest.raises(ProgressStoreError, match="is a folder") as info:
        open_store(tmp_path)
    assert info.value.reason == "folder" and tmp_path.is_dir()


def test_a_dangling_symlink_at_the_path(tmp_path):
    link = tmp_path / "progress.sqlite3"
    link.symlink_to(tmp_path / "gone" / "x.sqlite3")
    with pytest.raises(ProgressStoreError, match="symbolic link") as info:
        open_store(link)
    assert info.value.reason == "dangling link" and link.is_symlink()


def test_a_file_where_the_folder_should_be(tmp_path):
    (tmp_path / "notes").write_text("mine")
    with pytest.raises(ProgressStoreError, match="not a folder"):
        open_store(tmp_path / "notes" / "progress.sqlite3")
    assert (tmp_path / "notes").read_text() == "mine"


@pytest.mark.parametrize("bad, error", [("", ValueError), ("   ", ValueError), (3, TypeError), (None, None), (b"x", TypeError)])
def test_bad_path_arguments(bad, error, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_LIB_PROGRESS_DB", str(tmp_path / "p.sqlite3"))
    if error is None:  # None means the default path
        open_store(bad).close()
        return
    with pytest.raises(error, match="path"):
        open_store(bad)


def test_a_closed_store_says_so(tmp_path):
    store = open_store(tmp_path / "p.sqlite3")
    store.close()
    store.close()  # twice is fine
    for call in (lambda: store.review("a", "good"), store.card_states, store.review_log, store.check_summary,
                 lambda: store.record_check("x", True), store.stats, lambda: store.schema_version):
        with pytest.raises(ProgressStoreError, match="was closed") as info:
            call()
        assert info.value.reason == "closed"


# -- permission denials, as a real non-root user --------------------------------------------------

AS_NOBODY = r"""
import os, sys, warnings, json
from datetime import datetime, timezone
import course_lib.study.store as store_module
from course_lib.study import open_store, ProgressStoreError
import pwd, sqlite3, fsrs  # everything imported before the uid changes (the venv is root's)
os.setgid(65534)
os.setuid(65534)
path = sys.argv[1]
warnings.simplefilter("error")
try:
    with open_store(path, enable_fuzzing=False) as store:
        store.review("card-0", "good", now=datetime(2026, 6, 1, tzinfo=timezone.utc))
    print(json.dumps({"ok": True}))
except ProgressStoreError as exc:
    print(json.dumps({"reason": exc.reason, "message": str(exc)}))
"""


def run_as_nobody(path: Path) -> dict:
    import json

    out = subprocess.run([sys.executable, "-c", AS_NOBODY, str(path)], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture
def shared_dir():
    """A folder outside pytest's 0700 tmp tree, so that user nobody can reach it."""
    if os.geteuid() != 0:
        pytest.skip("needs root to act as another user")
    folder = Path(tempfile.mkdtemp(prefix="convcourse-perm-"))
    folder.chmod(0o777)
    (folder / "d").mkdir()
    (folder / "d").chmod(0o777)
    yield folder / "d"
    (folder / "d").chmod(0o777)
    subprocess.run(["rm", "-rf", str(folder)], check=True)


def _leave_wal(path: Path) -> None:
    """Write a review and exit without closing: the -wal and -shm files stay behind (root-owned)."""
    code = ("import sys; from course_lib.study import open_store; from datetime import datetime, timezone;"
            "s = open_store(sys.argv[1], enable_fuzzing=False);"
            "s._conn.execute('PRAGMA wal_autocheckpoint = 0');"
            "s.review('card-9', 'easy', now=datetime(2026, 5, 1, tzinfo=timezone.utc)); import os; os._exit(0)")
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))


@pytest.mark.parametrize("case", ["read-only file", "read-only folder", "read-only folder with a lock file", "foreign journal"])
def test_permission_problems_get_plain_answers_and_nothing_moves(shared_dir, case):
    path = shared_dir / "progress.sqlite3"
    seeded(path)
    path.chmod(0o666)
    if case == "read-only file":
        path.chmod(0o644)  # root's file, read-only for nobody
    elif case.startswith("read-only folder"):
        if case.endswith("lock file"):
            (shared_dir / "progress.sqlite3.lock").touch()
        shared_dir.chmod(0o555)
    else:
        _leave_wal(path)
        for suffix in ("-wal", "-shm"):
            (shared_dir / f"progress.sqlite3{suffix}").chmod(0o644)
    before = sorted(p.name for p in shared_dir.iterdir())
    result = run_as_nobody(path)
    expected_reason = "read-only folder" if case.startswith("read-only folder") else case
    assert result.get("reason") == expected_reason, result
    assert "Nothing was changed" in result["message"] and str(path) in result["message"]
    shared_dir.chmod(0o777)
    assert sorted(p.name for p in shared_dir.iterdir()) == before  # nothing moved aside or created
    with open_store(path) as store:  # and nothing lost: every review is still there
        assert len(store.review_log()) == (7 if case == "foreign journal" else 6)


def test_a_journal_chowned_to_another_user_still_opens_for_root(shared_dir):
    """Root bypasses permissions: a WAL owned by nobody is no obstacle, and is not damage."""
    path = shared_dir / "progress.sqlite3"
    seeded(path)
    _leave_wal(path)
    for suffix in ("-wal", "-shm"):
        os.chown(shared_dir / f"progress.sqlite3{suffix}", NOBODY, NOBODY)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with open_store(path) as store:
            assert len(store.review_log()) == 7
    assert siblings(path) == []


def test_the_writable_case_as_nobody_works(shared_dir):
    """Control for the permission cases: the same subprocess succeeds when nothing is denied."""
    path = shared_dir / "progress.sqlite3"
    seeded(path)
    path.chmod(0o666)
    assert run_as_nobody(path) == {"ok": True}


# -- damage SQLite does not notice ------------------------------------------------------------------

def raw(path: Path):
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA ignore_check_constraints = ON")
    return conn


CARD_DAMAGE = {  # column -> impossible values
    "state": [99, 0, -1, "Review", 2.5],
    "step": [-3, 1.5, "x"],
    "stability": [-1.0, 0.0, float("inf"), "abc"],
    "difficulty": [float("nan"), "hard"],
    "due": ["not a time", "2026-03-02 09:00:00", 12345, "2026-13-45T00:00:00+00:00"],
    "last_review": ["yesterday", 3],
    "reps": [-1, "many"],
    "lapses": [-2, 0.5],
}
LOG_DAMAGE = {
    "rating": [7, 0, "good"],
    "reviewed_at": ["bad", "2026-03-02", 1.5],
    "duration_ms": [-5, "long", 2.5],
    "state_before": [9, -1, "x"],
    "retrievability": [float("inf"), 1.5, -0.1, "high"],
    "due_after": ["soon", "2026-03-02T09:00:00"],
    "stability_after": [-2.0, float("inf"), "x"],
}


def _damage_cases(table):
    return [(column, value) for column, values in table.items() for value in values]


def damaged(path: Path, sql: str, value) -> Path:
    """A seeded store at ``path`` (unless it exists) with one impossible ``value`` written by ``sql``
    past the CHECK constraints (NOT NULL still holds, so no None there)."""
    if not path.exists():
        seeded(path)
    conn = raw(path)
    conn.execute(sql, (value,))
    conn.close()
    return path


@pytest.mark.parametrize("column, value", _damage_cases(CARD_DAMAGE))
def test_a_damaged_card_row_is_skipped_reported_and_repaired_by_the_next_review(tmp_path, column, value):
    path = damaged(tmp_path / "p.sqlite3", f"UPDATE card_state SET {column} = ? WHERE card_id = 'card-1'", value)
    with pytest.warns(ProgressStoreWarning, match="card-1") as record:
        store = open_store(path, enable_fuzzing=False)
        states = store.card_states()
    assert sorted(states) == ["card-0", "card-2"]  # the good rows are all there
    assert any(column in str(w.message) for w in record) and len(store.damaged) == 1
    stats = store.stats(card_ids=["card-0", "card-1", "card-2"], now=T0 + timedelta(days=10))
    assert stats["reviews_total"] == 6 and stats["seen"] == 2
    assert store.due_cards(["card-0", "card-1", "card-2"], now=T0 + timedelta(days=400))  # works
    result = store.review("card-1", "good", now=T0 + timedelta(days=20))  # starts over, rewrites the row
    assert result.card_id == "card-1"
    assert store.card_state("card-1").reps == 1
    assert len(store.review_log()) == 7
    store.close()
    assert siblings(path) == []


@pytest.mark.parametrize("column, value", _damage_cases(LOG_DAMAGE))
def test_a_damaged_log_row_is_skipped_and_the_rest_of_the_history_stays(tmp_path, column, value):
    path = damaged(tmp_path / "p.sqlite3", f"UPDATE review_log SET {column} = ? WHERE id = 3", value)
    with pytest.warns(ProgressStoreWarning, match=column):
        store = open_store(path, enable_fuzzing=False)
        log = store.review_log()
    assert len(log) == 5
    assert store.stats(now=T0 + timedelta(days=10))["reviews_total"] == 5
    store.review("card-0", "good", now=T0 + timedelta(days=30))
    assert len(store.review_log()) == 6
    store.close()
    assert siblings(path) == []


@pytest.mark.parametrize("column, value", [("checked_at", "later"), ("checked_at", "2026-03-02"), ("passed", 5), ("passed", "yes"), ("check_id", "")])
def test_a_damaged_check_row_is_skipped(tmp_path, column, value):
    path = tmp_path / "p.sqlite3"
    seeded(path)
    with open_store(path) as store:
        store.record_check("ps1.size", False, now=T0 + timedelta(hours=1))
    damaged(path, f"UPDATE check_result SET {column} = ? WHERE id = 1", value)
    with pytest.warns(ProgressStoreWarning):
        with open_store(path) as store:
            summary = store.check_summary()
    assert summary["ps1.size"]["attempts"] == 1 and summary["ps1.size"]["last_passed"] is False


@pytest.mark.parametrize("drop", [("card_state", "review_log", "check_result"), ("review_log",), ("check_result",)])
def test_our_marker_with_missing_tables_is_repaired_in_place(tmp_path, drop):
    path = tmp_path / "p.sqlite3"
    seeded(path)
    conn = raw(path)
    for table in drop:
        conn.execute(f"DROP TABLE {table}")
    conn.close()
    with pytest.warns(ProgressStoreWarning, match="recreated empty"):
        store = open_store(path, enable_fuzzing=False)
    assert len(store.card_states()) == (0 if "card_state" in drop else 3)
    store.review("card-0", "good", now=T0 + timedelta(days=40))
    assert store.schema_version == SCHEMA_VERSION
    store.close()
    assert siblings(path) == []


def test_only_our_marker_and_nothing_else(tmp_path):
    path = tmp_path / "p.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    conn.close()
    with pytest.warns(ProgressStoreWarning, match="no such table|recreated"):
        with open_store(path) as store:
            store.review("a", "good")
            assert len(store.review_log()) == 1
    assert siblings(path) == []


_JUNK = st.one_of(st.none(), st.integers(-10**12, 10**12), st.floats(allow_nan=True, allow_infinity=True),
                  st.text(max_size=12), st.binary(max_size=6))


def junk_store(folder: Path, sql: str, row) -> Path:
    """A store of three reviews plus one junk row (``assume``: NOT NULL columns refuse None, so
    such a row cannot exist on disk)."""
    from hypothesis import assume

    path = folder / "p.sqlite3"
    seeded(path, reviews=3)
    conn = raw(path)
    try:
        conn.execute(sql, row)
    except sqlite3.IntegrityError:
        assume(False)
    finally:
        conn.close()
    return path


@settings(max_examples=60)
@given(row=st.tuples(*[_JUNK] * 8))
def test_any_junk_card_row_never_breaks_the_store(row, tmp_path_factory):
    path = junk_store(tmp_path_factory.mktemp("junk"), "INSERT INTO card_state VALUES ('junk', ?, ?, ?, ?, ?, ?, ?, ?)", row)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProgressStoreWarning)
        with open_store(path, enable_fuzzing=False) as store:
            states = store.card_states()
            assert {"card-0", "card-1", "card-2"} <= set(states)
            store.stats(card_ids=["junk", "card-0"], now=T0 + timedelta(days=5))
            store.review("junk", "hard", now=T0 + timedelta(days=5))
            assert store.card_state("junk") is not None
    assert siblings(path) == []


@settings(max_examples=60)
@given(row=st.tuples(*[_JUNK] * 7))
def test_any_junk_log_row_never_breaks_the_store(row, tmp_path_factory):
    path = junk_store(tmp_path_factory.mktemp("junklog"),
                      "INSERT INTO review_log (card_id, rating, reviewed_at, duration_ms, state_before, retrievability,"
                      " due_after, stability_after) VALUES ('card-0', ?, ?, ?, ?, ?, ?, ?)", row)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProgressStoreWarning)
        with open_store(path, enable_fuzzing=False) as store:
            assert len(store.review_log()) >= 3
            store.stats(now=T0 + timedelta(days=5))
            from course_lib.study.stats import reviews_per_day

            reviews_per_day(store, days=10, now=T0 + timedelta(days=5), tz=timezone.utc)


def test_real_corruption_is_still_moved_aside(tmp_path):
    """The one case that does move the file: SQLite itself says it is damaged (unchanged behaviour)."""
    path = tmp_path / "p.sqlite3"
    seeded(path)
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # the first page's b-tree header and content
    path.write_bytes(bytes(data))
    with pytest.warns(ProgressStoreWarning, match="moved to"):
        with open_store(path) as store:
            assert store.moved_aside is not None and store.review_log() == []


# -- arguments ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, error, name", [
    (lambda s: s.due_cards(["a"], limit=True), TypeError, "limit"),
    (lambda s: s.due_cards(["a"], limit=2.0), TypeError, "limit"),
    (lambda s: s.due_cards("abc"), TypeError, "card_ids"),
    (lambda s: s.due_cards([1, 2]), TypeError, r"card_ids\[0\]"),
    (lambda s: s.review("a", "good", duration_ms=True), TypeError, "duration_ms"),
    (lambda s: s.review("a", "good", duration_ms=1.5), TypeError, "duration_ms"),
    (lambda s: s.review("a\ud800", "good"), ValueError, "card_id"),
    (lambda s: s.review(None, "good"), TypeError, "card_id"),
    (lambda s: s.review("a", True), ValueError, "rating"),
    (lambda s: s.review("a", "good", now="today"), TypeError, "now"),
    (lambda s: s.card_state(3), TypeError, "card_id"),
    (lambda s: s.review_log(card_id=["a"]), TypeError, "card_id"),
    (lambda s: s.record_check("x\udcff", True), ValueError, "check_id"),
    (lambda s: s.record_check("x", True, detail="\ud800"), ValueError, "detail"),
])
def test_bad_arguments_name_themselves(tmp_path, call, error, name):
    with open_store(tmp_path / "p.sqlite3") as store:
        with pytest.raises(error, match=name):
            call(store)
        assert store.review_log() == []


def test_numpy_ints_are_fine_where_ints_are_meant(tmp_path):
    import numpy as np

    with open_store(tmp_path / "p.sqlite3", enable_fuzzing=False) as store:
        store.review("a", "good", now=T0, duration_ms=np.int64(1500))
        assert store.review_log()[0].duration_ms == 1500
        assert store.due_cards(["a", "b"], now=T0, limit=np.int32(1)) == ["b"]
