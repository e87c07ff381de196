"""Hostile input to the learner-facing study surfaces (issue 14, classes 5 and 6): widgets driven
out of order, decks that are not UTF-8 or hold lone surrogates, the command line given folders and
empty paths, the doctor given an unknown device. Each answer is a plain message, never a traceback."""

from __future__ import annotations

import codecs
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.study import Card, DeckError, Rating, load_deck, open_store
from course_lib.study.anki import export_anki
from course_lib.study.store import ProgressStoreError
from course_lib.widgets.flashcards import FlashcardReview
from course_lib.widgets.quiz import MultipleChoice, Numeric, Ordering, QuestionIndexError, Quiz

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
ROOT = Path(__file__).resolve().parents[1]


def cards(n=3, image=None):
    return [Card(id=f"c{i}", front=f"q{i}", back=f"a{i}", image=image if i == 0 else None) for i in range(n)]


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "p.sqlite3", enable_fuzzing=False) as s:
        yield s


# -- flashcard widget ----------------------------------------------------------------------------

def test_rate_before_reveal_is_refused_and_records_nothing(store):
    review = FlashcardReview(cards(), store, clock=lambda: T0)
    for rating in ("good", 1, Rating.Easy):
        with pytest.raises(RuntimeError, match="reveal"):
            review.rate(rating)
    assert review.press_key("3") is False
    assert store.review_log() == [] and review.current.id == "c0"
    review.reveal()
    review.rate("good")
    assert len(store.review_log()) == 1


def test_a_deleted_image_still_reveals_and_rates(store, tmp_path):
    png = tmp_path / "pic.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    review = FlashcardReview(cards(image=png), store, clock=lambda: T0)
    png.unlink()
    review.reveal()
    assert review.revealed and review.back_box.layout.display == ""
    assert "could not be shown" in review.back_html.value and "pic.png" in review.back_html.value
    assert review.image.layout.display == "none"
    assert not any(b.disabled for b in review.rating_buttons.values())
    review.rating_buttons[Rating.Good].click()
    assert [r.card_id for r in store.review_log()] == ["c0"]


def test_rating_after_the_store_closed(tmp_path):
    store = open_store(tmp_path / "p.sqlite3", enable_fuzzing=False)
    review = FlashcardReview(cards(), store, clock=lambda: T0)
    review.reveal()
    store.close()
    review.rating_buttons[Rating.Good].click()
    assert "was closed" in review.status.value and review.current.id == "c0"
    with pytest.raises(ProgressStoreError, match="was closed"):
        review.rate("good")
    review.restart_button.click()  # a new session on a closed store: shown, not raised
    assert "was closed" in review.status.value


@pytest.mark.parametrize("limit, error", [(True, TypeError), (False, TypeError), (0, ValueError), (-1, ValueError),
                                          (2.0, TypeError), ("3", TypeError), ([2], TypeError)])
def test_flashcard_limit_refuses_non_ints(store, limit, error):
    with pytest.raises(error, match="limit"):
        FlashcardReview(cards(), store, limit=limit)


def test_flashcard_limit_takes_numpy_ints(store):
    review = FlashcardReview(cards(), store, clock=lambda: T0, limit=np.int64(2))
    assert review.progress_label.value == "0 / 2 reviewed"


# -- quiz ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("make, error, name", [
    (lambda: MultipleChoice("q", "ab", 0), ValueError, "split into letters"),
    (lambda: MultipleChoice("q", None, 0), ValueError, "options"),
    (lambda: MultipleChoice("q", {"a": 1, "b": 2}, 0), ValueError, "options"),
    (lambda: MultipleChoice("q", ["a", 3], 0), ValueError, "options"),
    (lambda: MultipleChoice("q", ["a", "b"], True), ValueError, "answer"),
    (lambda: MultipleChoice("q", ["a", "b"], 1.0), ValueError, "answer"),
    (lambda: MultipleChoice("q", ["a", "b"], -1), ValueError, "answer"),
    (lambda: MultipleChoice("q", ["a", "b"], None), ValueError, "answer"),
    (lambda: MultipleChoice(3, ["a", "b"], 0), TypeError, "prompt"),
    (lambda: Numeric("q", 10**400), ValueError, "answer"),
    (lambda: Numeric("q", True), ValueError, "answer"),
    (lambda: Numeric("q", 1, tolerance=True), ValueError, "tolerance"),
    (lambda: Numeric("q", 1, tolerance=float("inf")), ValueError, "tolerance"),
    (lambda: Numeric("q", 1, explanation=None), TypeError, "explanation"),
    (lambda: Ordering("q", "abc"), ValueError, "items"),
    (lambda: Ordering("q", None), ValueError, "items"),
    (lambda: Quiz("not a list"), TypeError, "questions"),
    (lambda: Quiz([Numeric("q", 1)], title=5), TypeError, "title"),
    (lambda: Quiz([Numeric("q", 1)], record_as=["x"]), TypeError, "record_as"),
])
def test_question_arguments(make, error, name):
    with pytest.raises(error, match=name):
        make()


def test_numpy_indices_are_answers():
    question = MultipleChoice("q", ["a", "b", "c"], np.int64(1))
    assert question.answer == 1 and type(question.answer) is int
    quiz = Quiz([question, MultipleChoice("r", ("x", "y"), np.int32(0))])
    assert quiz.answer(np.int64(0), np.int64(1)) is True
    assert quiz.answer(-1, 0) is True
    for bad in (True, 2.0, "0", 5, None):
        with pytest.raises(QuestionIndexError, match="i: expected a question index"):
            quiz.check(bad)
    for bad in (True, 7, 1.0):
        with pytest.raises(ValueError, match="value"):
            quiz.answer(0, bad)
    with pytest.raises(ValueError, match="value"):
        Quiz([Ordering("o", ["a", "b"])]).answer(0, "ba")


# -- decks ---------------------------------------------------------------------------------------------

DECK = "deck: Test deck\nlesson: L01\ncards:\n  - id: a\n    front: Größe der Ausgabe?\n    back: 7 – sieben\n"


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "utf-16", "utf-32"])
def test_a_deck_that_is_not_utf8_names_the_file(tmp_path, encoding):
    path = tmp_path / f"deck-{encoding}.yaml"
    path.write_bytes(DECK.encode(encoding, errors="replace"))
    with pytest.raises(DeckError, match="not UTF-8") as info:
        load_deck(path)
    assert info.value.file == path and str(path) in str(info.value)


def test_a_utf8_bom_is_fine(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(codecs.BOM_UTF8 + DECK.encode())
    assert load_deck(path)[0].front == "Größe der Ausgabe?"


@settings(max_examples=80)
@given(junk=st.binary(min_size=1, max_size=40))
def test_any_bytes_give_a_deck_error_or_cards(junk, tmp_path_factory):
    path = tmp_path_factory.mktemp("deck") / "d.yaml"
    path.write_bytes(DECK.encode() + b"\n# " + junk)
    try:
        load_deck(path)
    except DeckError as exc:
        assert str(path) in str(exc)


@pytest.mark.parametrize("field, text", [
    ("front", '"\\ud800 half"'), ("back", '"x\\udfff"'), ("tags", '["ok", "\\ud83d"]'), ("lesson", '"\\udc80"'),
])
def test_a_lone_surrogate_is_refused_at_load(tmp_path, field, text):
    lines = {"front": "f", "back": "b", "tags": "[t]", "lesson": "l"}
    lines[field] = text
    path = tmp_path / "s.yaml"
    path.write_text("deck: D\ncards:\n  - id: a\n" + "".join(f"    {k}: {v}\n" for k, v in lines.items()), encoding="utf-8")
    with pytest.raises(DeckError, match="surrogate") as info:
        load_deck(path)
    assert info.value.field == field


def test_a_lone_surrogate_in_the_deck_name(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text('deck: "D\\ud800"\ncards:\n  - {id: a, front: f, back: b}\n', encoding="utf-8")
    with pytest.raises(DeckError, match="surrogate"):
        load_deck(path)


def test_a_full_surrogate_pair_is_a_character(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text('deck: D\ncards:\n  - {id: a, front: "\\ud83d\\ude00 smile", back: b}\n', encoding="utf-8")
    assert load_deck(path)[0].front.startswith("\U0001F600")


@pytest.mark.parametrize("field", ["front", "back", "deck", "lesson", "tags"])
def test_export_refuses_cards_built_in_code_with_lone_surrogates(tmp_path, field):
    values = {"id": "a", "front": "f", "back": "b", "deck": "D", "lesson": "L", "tags": ("t",)}
    values[field] = ("t\ud800",) if field == "tags" else "x\ud800"
    with pytest.raises(ValueError, match=rf"cards\[0\]\.{field}.*surrogate"):
        export_anki([Card(**values)], tmp_path / "out.apkg")
    assert not (tmp_path / "out.apkg").exists()


def test_export_names_a_missing_image(tmp_path):
    card = Card(id="a", front="f", back="b", image=tmp_path / "gone.png")
    with pytest.raises(FileNotFoundError, match=r"cards\[0\]\.image"):
        export_anki([card], tmp_path / "out.apkg")


# -- command line and doctor -------------------------------------------------------------------------

def run_cli(args, capsys):
    from course_lib.__main__ import main

    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("make_db, phrase", [
    (lambda tmp: str(tmp), "is a folder"),
    (lambda tmp: "", "empty string"),
    (lambda tmp: "   ", "empty string"),
    (lambda tmp: str(tmp / "f.txt" / "p.sqlite3"), "not a folder"),
])
def test_progress_with_a_bad_db_path(tmp_path, capsys, make_db, phrase):
    (tmp_path / "f.txt").write_text("x")
    code, out, err = run_cli(["progress", "--db", make_db(tmp_path)], capsys)
    assert code == 1 and phrase in err and "Traceback" not in err


def test_progress_with_a_dangling_link_and_a_bad_deck(tmp_path, capsys):
    link = tmp_path / "p.sqlite3"
    link.symlink_to(tmp_path / "missing" / "p.sqlite3")
    code, _, err = run_cli(["progress", "--db", str(link)], capsys)
    assert code == 1 and "symbolic link" in err
    deck = tmp_path / "bad.yaml"
    deck.write_bytes(DECK.encode("latin-1", errors="replace"))
    code, _, err = run_cli(["progress", "--db", str(tmp_path / "ok.sqlite3"), "--decks", str(deck)], capsys)
    assert code == 1 and "not UTF-8" in err and str(deck) in err
    code, _, err = run_cli(["export-anki", str(deck), "-o", str(tmp_path / "x.apkg")], capsys)
    assert code == 1 and "not UTF-8" in err
    code, _, err = run_cli(["export-anki", str(tmp_path / "nowhere"), "-o", str(tmp_path / "x.apkg")], capsys)
    assert code == 1 and "no deck folder" in err


def test_progress_db_folder_in_a_real_process(tmp_path):
    out = subprocess.run([sys.executable, "-m", "course_lib", "progress", "--db", str(tmp_path)],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 1 and "is a folder" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize("value", ["tpu", "gpu", "cuda:abc", "cuda:", "cpu:x", "mps:0:1", "💥"])
def test_doctor_with_an_unknown_device(monkeypatch, value):
    from course_lib import doctor

    monkeypatch.setenv("COURSE_LIB_DEVICE", value)
    finding = doctor.check_device()
    assert not finding.ok
    assert "COURSE_LIB_DEVICE" in finding.fix and "pip install" not in finding.fix
    assert "expected one of cpu, cuda, mps" in finding.detail


@pytest.mark.parametrize("value", ["cpu", " CPU ", ""])
def test_doctor_with_a_known_device(monkeypatch, value):
    from course_lib import doctor

    monkeypatch.setenv("COURSE_LIB_DEVICE", value)
    assert doctor.check_device().ok
