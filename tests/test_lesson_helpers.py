"""Helpers that used to live in lessons 00, 01 and 05: the progress overview, the shift-experiment
signals and the interview cards."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest
import torch

from course_lib.motifs import MOTIF, motif_signals
from course_lib.overview import LessonProgress, lesson_overview, progress_report
from course_lib.study import load_decks, open_store
from course_lib.widgets.interview import SENIOR_ANSWERS, interview_card, load_senior_answers


# ---- lesson 00: progress per lesson ----

def test_overview_counts_quiz_answers_and_learned_cards(tmp_path):
    cards = load_decks()
    with open_store(tmp_path / "progress.sqlite3") as store:
        rows = lesson_overview(store, cards)
        assert [r.lesson for r in rows] == [f"lesson{n:02d}" for n in range(7)]   # 00 start here ... 05 modern layers, 06 interview
        assert all(r == LessonProgress(r.lesson, 0, 0, 0) for r in rows)
        store.record_check("quiz:lesson01:q1", False)
        store.record_check("quiz:lesson01:q1", True)      # last try right
        store.record_check("quiz:lesson01:q2", True)
        store.record_check("quiz:lesson01:q3", False)
        store.record_check("conv1d", True)                 # an exercise check, not a quiz answer
        card = next(c for c in cards if c.lesson.startswith("03_"))
        now = datetime(2026, 1, 5, tzinfo=timezone.utc)
        for day in range(4):                               # reviewed on several days: learned
            store.review(card.id, "good", now=now.replace(day=5 + 7 * day))
        rows = {r.lesson: r for r in lesson_overview(store, cards)}
        assert rows["lesson01"] == LessonProgress("lesson01", 2, 3, 0)
        learned = store.stats(card_ids=[card.id])["learned"]
        assert rows["lesson03"].cards_learned == learned
        report = progress_report(store, cards)
    lines = report.splitlines()
    assert lines[0].split() == ["lesson", "quiz", "answers", "right", "flashcards", "learned"]
    assert lines[2].split() == ["lesson01", "2", "of", "3", "0"]
    assert "exercise checks passed: 1 of 1 tried" in report
    assert "review streak (days):" in report and "flashcards due today:" in report


# ---- lesson 01: motif signals ----

def test_motif_signals_put_the_motif_where_asked():
    x, y = motif_signals(200, starts=[5], seed=0, noise=0.0)
    assert x.shape == (200, 1, 24) and x.dtype == torch.float32 and y.shape == (200,)
    sign = np.where(y.numpy() == 1, 1.0, -1.0)
    np.testing.assert_allclose(x[:, 0, 5:8].numpy(), 1.5 * sign[:, None] * MOTIF[None], rtol=1e-6)
    assert float(x[:, 0, :5].abs().sum()) == 0 and float(x[:, 0, 8:].abs().sum()) == 0
    assert 60 < int(y.sum()) < 140   # both labels occur


def test_motif_signals_are_seeded_and_stay_in_their_positions():
    a, ya = motif_signals(50, starts=np.arange(12, 21), seed=2)
    b, yb = motif_signals(50, starts=np.arange(12, 21), seed=2)
    assert torch.equal(a, b) and torch.equal(ya, yb)
    clean, _ = motif_signals(300, starts=np.arange(12, 21), seed=2, noise=0.0)
    assert float(clean[:, 0, :12].abs().sum()) == 0   # the test-time motif never sits in the training half


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(n=0, starts=[0], seed=0), ValueError, "motif_signals: n must be an int >= 1; got 0"),
    (dict(n=5, starts=[22], seed=0), ValueError, r"every start must lie in 0..21"),
    (dict(n=5, starts=[], seed=0), ValueError, "starts must be a non-empty 1-D sequence of ints"),
])
def test_motif_signals_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        motif_signals(**kwargs)


# ---- lesson 06: interview cards ----

def test_senior_answers_load_from_any_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)   # the lesson used a path relative to lessons/
    entries = load_senior_answers()
    assert SENIOR_ANSWERS.is_file() and len(entries) >= 4
    assert all(e["question"].endswith("?") and "<p>" in e["answer_html"] for e in entries)


def test_interview_card_hides_the_answer_until_opened():
    card = interview_card({"question": "Why conv?", "answer_html": "<p>Weight sharing.</p>"})
    title, notes, reveal = card.children
    assert title.value == "<b>Why conv?</b>" and notes.value == ""
    assert reveal.selected_index is None and reveal.children[0].value == "<p>Weight sharing.</p>"


def test_bad_answer_files_are_named(tmp_path):
    bad = tmp_path / "answers.yaml"
    bad.write_text("- question: Q?\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"answers.yaml: entry 0 needs the text field\(s\) \['answer_html'\]"):
        load_senior_answers(bad)
    with pytest.raises(ValueError, match="entry: expected a mapping with 'question' and 'answer_html'"):
        interview_card({"question": "only"})
