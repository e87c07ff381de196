"""The progress store: persistence, atomic reviews, crash safety, recovery from bad files,
two writers at once, check results and statistics."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from course_lib.study import ProgressStoreWarning, Rating, open_store
from course_lib.study.store import APPLICATION_ID, SCHEMA_VERSION, default_store_path

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
UTC = timezone.utc


def integrity(path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def test_reviews_survive_reopening(tmp_path):
    path = tmp_path / "p.sqlite3"
    with open_store(path, enable_fuzzing=False) as store:
        first = store.review("a", "good", now=T0, duration_ms=1200)
        store.review("b", "again", now=T0)
    with open_store(path, enable_fuzzing=False) as store:
        assert store.card_state("a").due == first.due
        assert store.card_state("a").reps == 1
        log = store.review_log()
        assert [(r.card_id, r.rating, r.duration_ms) for r in log] == [("a", Rating.Good, 1200), ("b", Rating.Again, None)]
        assert log[0].reviewed_at == T0 and log[0].state_before == 0
        assert store.schema_version == SCHEMA_VERSION


def test_wal_mode_and_marker(tmp_path):
    path = tmp_path / "p.sqlite3"
    open_store(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    conn.close()


def test_a_failed_review_changes_nothing(tmp_path):
    """State update and log row are one transaction: if the log insert fails, the state is unchanged."""
    path = tmp_path / "p.sqlite3"
    with open_store(path, enable_fuzzing=False) as store:
        store.review("a", "good", now=T0)
        before = store.card_state("a")
        store._conn.execute(
            "CREATE TRIGGER fail BEFORE INSERT ON review_log BEGIN SELECT RAISE(ABORT, 'disk says no'); END"
        )
        with pytest.raises(sqlite3.DatabaseError, match="disk says no"):
            store.review("a", "good", now=before.due)
        assert store.card_state("a") == before
        assert len(store.review_log()) == 1


def test_garbage_file_is_moved_aside_with_a_warning(tmp_path):
    path = tmp_path / "progress.sqlite3"
    garbage = b"this is not a database\x00\x01" * 100
    path.write_bytes(garbage)
    with pytest.warns(ProgressStoreWarning, match="not a readable SQLite database") as record:
        store = open_store(path)
    moved = store.moved_aside
    assert moved is not None and moved.name.startswith("progress.sqlite3.unreadable-")
    assert moved.read_bytes() == garbage  # nothing lost
    assert str(moved) in str(record[0].message)
    store.review("a", "good")
    store.close()
    assert integrity(path) == "ok"


def test_newer_schema_is_moved_aside_not_overwritten(tmp_path):
    path = tmp_path / "progress.sqlite3"
    with open_store(path) as store:
        store.review("a", "good")
        store._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.warns(ProgressStoreWarning, match="newer course_lib"):
        store = open_store(path)
    moved = store.moved_aside
    assert moved.name.startswith("progress.sqlite3.newer-schema-")
    old = sqlite3.connect(moved)
    assert old.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    assert old.execute("SELECT COUNT(*) FROM review_log").fetchone()[0] == 1
    old.close()
    assert store.review_log() == [] and store.schema_version == SCHEMA_VERSION
    store.close()


def test_another_programs_database_is_moved_aside(tmp_path):
    path = tmp_path / "progress.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (name TEXT)")
    conn.commit()
    conn.close()
    with pytest.warns(ProgressStoreWarning, match="another program"):
        store = open_store(path)
    assert store.moved_aside.exists()
    store.close()


def test_a_good_store_opens_without_warnings(tmp_path):
    path = tmp_path / "p.sqlite3"
    open_store(path).close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        open_store(path).close()
    assert sorted(p.name for p in tmp_path.iterdir() if ".unreadable-" in p.name or ".newer-" in p.name) == []


def test_default_path_honours_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_LIB_PROGRESS_DB", str(tmp_path / "x" / "mine.sqlite3"))
    assert default_store_path() == tmp_path / "x" / "mine.sqlite3"
    with open_store() as store:
        assert store.path == tmp_path / "x" / "mine.sqlite3"
    monkeypatch.delenv("COURSE_LIB_PROGRESS_DB")
    assert default_store_path().name == "progress.sqlite3"


WORKER = r"""
import sys, time
from datetime import datetime, timedelta, timezone
from course_lib.study import open_store
path, prefix, n, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
store = open_store(path, enable_fuzzing=False)
while go != "-" and not __import__("os").path.exists(go):
    time.sleep(0.01)
t0 = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
for i in range(n):
    store.review(f"card-{i % 7}", ["good", "again", "hard", "easy"][i % 4], now=t0 + timedelta(minutes=i))
    print(f"{prefix} {i}", flush=True)
"""


def start_worker(path, prefix, n, go="-"):
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, str(path), prefix, str(n), str(go)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_sigkill_mid_session_loses_at_most_the_review_in_flight(tmp_path):
    path = tmp_path / "p.sqlite3"
    proc = start_worker(path, "w", 100_000)
    for line in proc.stdout:
        if int(line.split()[1]) >= 150:
            break
    proc.send_signal(signal.SIGKILL)  # mid-way: the worker is still reviewing
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    printed = 151 + len(proc.stdout.read().splitlines())  # a line is printed after each commit
    assert integrity(path) == "ok"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the store is readable: not moved aside
        store = open_store(path, enable_fuzzing=False)
    log = store.review_log()
    committed = len(log)
    # every printed review is there; at most one more (committed, killed before printing)
    assert printed <= committed <= printed + 1
    assert committed < 100_000
    states = store.card_states()
    assert sum(s.reps for s in states.values()) == committed  # state and log always agree
    for card_id, state in states.items():
        last = [r for r in log if r.card_id == card_id][-1]
        assert state.card.last_review == last.reviewed_at and state.due == last.due_after
    store.review("card-0", "good")  # still writable
    store.close()


def test_two_processes_reviewing_at_once(tmp_path):
    path = tmp_path / "p.sqlite3"
    go = tmp_path / "go"
    procs = [start_worker(path, name, 150, go) for name in ("left", "right")]
    time.sleep(0.5)
    go.touch()
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert len(out.splitlines()) == 150
    assert integrity(path) == "ok"
    with open_store(path) as store:
        assert len(store.review_log()) == 300
        assert sum(s.reps for s in store.card_states().values()) == 300


def test_check_results(tmp_path):
    with open_store(tmp_path / "p.sqlite3") as store:
        store.record_check("ps1.output_size", False, "got 9, expected 7", now=T0)
        store.record_check("ps1.output_size", True, now=T0 + timedelta(minutes=5))
        store.record_check("ps2.conv1d", False, now=T0)
        summary = store.check_summary()
    assert summary["ps1.output_size"] == {
        "passed": True, "attempts": 2, "last": T0 + timedelta(minutes=5), "last_passed": True}
    assert summary["ps2.conv1d"]["passed"] is False and summary["ps2.conv1d"]["attempts"] == 1
    with open_store(tmp_path / "p.sqlite3") as store:
        with pytest.raises(TypeError, match="check_id"):
            store.record_check("", True)
        with pytest.raises(TypeError, match="detail"):
            store.record_check("x", True, detail=3)


def test_review_argument_errors(tmp_path):
    with open_store(tmp_path / "p.sqlite3") as store:
        with pytest.raises(TypeError, match="card_id"):
            store.review(3, "good")
        with pytest.raises(ValueError, match="rating"):
            store.review("a", "superb")
        with pytest.raises(ValueError, match="duration_ms"):
            store.review("a", "good", duration_ms=-1)
        with pytest.raises(ValueError, match="limit"):
            store.due_cards(["a"], limit=-1)


def test_due_cards_order(tmp_path):
    with open_store(tmp_path / "p.sqlite3", enable_fuzzing=False) as store:
        store.review("late", "good", now=T0)  # due T0 + 10 min
        store.review("early", "again", now=T0)  # due T0 + 1 min
        store.review("future", "easy", now=T0)  # due in days
        ids = ["new1", "late", "future", "early", "new2"]
        assert store.due_cards(ids, now=T0) == ["new1", "new2"]
        assert store.due_cards(ids, now=T0 + timedelta(hours=1)) == ["early", "late", "new1", "new2"]
        assert store.due_cards(ids, now=T0 + timedelta(hours=1), limit=3) == ["early", "late", "new1"]
        assert store.due_cards(None, now=T0 + timedelta(hours=1)) == ["early", "late"]


def test_stats_at_fixed_times(tmp_path):
    with open_store(tmp_path / "p.sqlite3", enable_fuzzing=False) as store:
        # day 1 and 2: learn cards a and b; day 4: review (skip day 3 to break the streak)
        now = T0
        for card in ("a", "b"):
            store.review(card, "good", now=now)
            store.review(card, "good", now=now + timedelta(minutes=10))  # graduates: due in days
        store.review("a", "good", now=T0 + timedelta(days=1))
        day4 = T0 + timedelta(days=3)
        store.review("a", "good", now=day4)  # a memory test, remembered
        store.review("b", "again", now=day4)  # a memory test, forgotten
        stats = store.stats(card_ids=["a", "b", "c"], now=day4 + timedelta(hours=1), tz=UTC)
    assert stats["reviews_total"] == 7
    assert stats["reviews_today"] == 2
    assert stats["streak"] == 1
    assert stats["new"] == 1 and stats["seen"] == 2
    assert stats["learned"] == 1  # b lapsed into relearning
    assert stats["retention"] == pytest.approx(2 / 3) and stats["retention_reviews"] == 3
    assert stats["due_now"] == 1 and stats["due_today"] == 1  # b, due 10 min after the lapse
    assert 0.85 < stats["predicted_recall"] <= 1.0
    assert stats["lapses"] == 1


def test_streak_and_reviews_per_day(tmp_path):
    from course_lib.study.stats import reviews_per_day

    with open_store(tmp_path / "p.sqlite3") as store:
        for day in range(5):
            store.review(f"c{day}", "good", now=T0 + timedelta(days=day))
        store.review("c0", "again", now=T0 + timedelta(days=4, minutes=1))
        assert store.stats(now=T0 + timedelta(days=4, hours=2), tz=UTC)["streak"] == 5
        # nothing yet today: yesterday's streak still counts
        assert store.stats(now=T0 + timedelta(days=5), tz=UTC)["streak"] == 5
        assert store.stats(now=T0 + timedelta(days=6), tz=UTC)["streak"] == 0
        rows = reviews_per_day(store, days=7, now=T0 + timedelta(days=4), tz=UTC)
    assert [r["reviews"] for r in rows] == [0, 0, 1, 1, 1, 1, 2]
    assert rows[-1]["date"] == (T0 + timedelta(days=4)).date() and rows[-1]["again"] == 1
    assert all(r["retention"] is None for r in rows)  # only learning-step reviews


def test_in_memory_store():
    store = open_store(":memory:")
    store.review("a", "good")
    assert store.path is None and len(store.review_log()) == 1
