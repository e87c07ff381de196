"""A progress store written before interview prep became lesson 06 keeps every record under the new names."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from course_lib.study import migrations
from course_lib.study.store import SCHEMA_VERSION, ProgressStore

FIXTURE = Path(__file__).parent / "fixtures" / "progress_before_renumbering.sqlite3"


@pytest.fixture
def old_store(tmp_path):
    path = tmp_path / "progress.sqlite3"
    shutil.copy(FIXTURE, path)
    return path


def raw_rows(path):
    with sqlite3.connect(path) as conn:
        return (conn.execute("PRAGMA user_version").fetchone()[0],
                conn.execute("SELECT check_id, passed, detail, checked_at FROM check_result ORDER BY id").fetchall(),
                conn.execute("SELECT * FROM review_log ORDER BY id").fetchall(),
                conn.execute("SELECT * FROM card_state ORDER BY card_id").fetchall())


def test_fixture_is_a_version_1_store_with_the_old_quiz_ids():
    version, checks, log, cards = raw_rows(FIXTURE)
    assert version == 1 < SCHEMA_VERSION
    ids = [c[0] for c in checks]
    assert ids.count("quiz:lesson05:1") == 1 and "quiz:lesson05-order:1" in ids and len(log) == 5 and len(cards) == 4


def test_every_record_survives_under_the_new_names(old_store):
    _, checks_before, log_before, cards_before = raw_rows(old_store)
    rename = dict(migrations.RENAMED_CHECK_PREFIXES[2])
    expected = []
    for check_id, *rest in checks_before:
        for old, new in rename.items():
            if check_id.startswith(old):
                check_id = new + check_id[len(old):]
        expected.append((check_id, *rest))

    with ProgressStore(old_store, enable_fuzzing=False) as store:
        assert store.schema_version == SCHEMA_VERSION
        summary = store.check_summary()
        assert {f"quiz:lesson06:{n}" for n in (1, 2, 3, 4)} | {"quiz:lesson06-order:1"} <= set(summary)
        assert not any(k.startswith("quiz:lesson05") for k in summary)
        assert {"quiz:lesson04:1", "quiz:lesson04:2", "quiz:lesson00:1", "params_conv", "check_conv2d"} <= set(summary)
        assert len(store.review_log()) == 5
        assert set(store.card_states()) == {"interview-q1-dense-vs-conv", "interview-answer-structure",
                                            "mnist-conv1-params", "ekg-layer1-windows"}
        assert store.card_states()["interview-q1-dense-vs-conv"].reps == 2

    version, checks_after, log_after, cards_after = raw_rows(old_store)
    assert version == SCHEMA_VERSION
    assert checks_after == expected                      # same values, times and order; only the ids renamed
    assert log_after == log_before and cards_after == cards_before


def test_the_upgrade_runs_once(old_store):
    with ProgressStore(old_store) as store:
        store.record_check("quiz:lesson05:1", True, "")   # the new lesson 05's first quiz answer
    with ProgressStore(old_store) as store:
        summary = store.check_summary()
    assert summary["quiz:lesson05:1"]["attempts"] == 1    # not renamed to lesson06 on the second opening
    assert summary["quiz:lesson06:1"]["attempts"] == 1


def test_a_new_store_starts_at_the_current_version(tmp_path):
    with ProgressStore(tmp_path / "new.sqlite3") as store:
        assert store.schema_version == SCHEMA_VERSION
