"""Anki export (stable ids, so re-import updates) and the progress / export-anki commands."""

from __future__ import annotations

import argparse
import sqlite3
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from course_lib.study import load_decks, open_store
from course_lib.study.anki import card_guid, export_anki, stable_id, to_anki_html
from course_lib.study.cli import register

ROOT = Path(__file__).resolve().parents[1]


def read_apkg(path, tmp_path):
    """(notes: {guid: (model id, fields)}, deck names: {id: name}) from an .apkg file."""
    with zipfile.ZipFile(path) as z:
        z.extract("collection.anki2", tmp_path / path.stem)
    conn = sqlite3.connect(tmp_path / path.stem / "collection.anki2")
    notes = {guid: (mid, flds.split("\x1f")) for guid, mid, flds in conn.execute("SELECT guid, mid, flds FROM notes")}
    import json

    decks = {int(k): v["name"] for k, v in json.loads(conn.execute("SELECT decks FROM col").fetchone()[0]).items()}
    conn.close()
    return notes, decks


def test_two_exports_have_identical_ids(tmp_path):
    cards = load_decks(ROOT / "flashcards")
    first = export_anki(cards, tmp_path / "one.apkg")
    second = export_anki(cards, tmp_path / "two.apkg")
    notes1, decks1 = read_apkg(first, tmp_path)
    notes2, decks2 = read_apkg(second, tmp_path)
    assert len(notes1) == len(cards)
    assert set(notes1) == set(notes2) == {card_guid(c) for c in cards}
    assert {m for m, _ in notes1.values()} == {m for m, _ in notes2.values()} == {stable_id("convcourse card (front/back)")}
    deck_names = {n for n in decks1.values() if n.startswith("convcourse::")}
    assert len(deck_names) == len({c.deck for c in cards}) == 7   # one Anki subdeck per lesson deck
    assert {k: v for k, v in decks1.items() if v in deck_names} == {k: v for k, v in decks2.items() if v in deck_names}
    by_id = {fields[3]: fields for _, fields in notes1.values()}
    assert r"\(256 \cdot 256 \cdot 3 = 196{,}608\)" in by_id["dense-rgb-256-inputs"][1]


def test_guid_depends_only_on_the_id(tmp_path):
    a = load_decks(ROOT / "flashcards")[0]
    from dataclasses import replace

    assert card_guid(replace(a, front="edited")) == card_guid(a)
    assert card_guid(replace(a, id="other-id")) != card_guid(a)
    assert 2**30 <= stable_id("x") < 2**31 and stable_id("x") == stable_id("x") != stable_id("y")


def test_anki_html():
    assert to_anki_html("a < b, $x^2$ and $$y$$\nnext") == r"a &lt; b, \(x^2\) and \[y\]<br>next"


def test_export_argument_errors(tmp_path):
    cards = load_decks(ROOT / "flashcards")
    with pytest.raises(ValueError, match="out_path: expected a file name ending in .apkg"):
        export_anki(cards, tmp_path / "deck.zip")
    with pytest.raises(ValueError, match="cards"):
        export_anki([], tmp_path / "deck.apkg")


def run_cli(argv):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.handler(args)


def test_cli_export_one_deck(tmp_path, capsys):
    out = tmp_path / "ekg.apkg"
    assert run_cli(["export-anki", str(ROOT / "flashcards" / "03_ekg_conv1d.yaml"), "-o", str(out)]) == 0
    n = len(load_decks(ROOT / "flashcards" / "03_ekg_conv1d.yaml"))
    assert f"wrote {n} cards in 1 deck(s)" in capsys.readouterr().out
    notes, _ = read_apkg(out, tmp_path)
    assert len(notes) == n


def test_cli_progress(tmp_path, capsys):
    db = tmp_path / "p.sqlite3"
    with open_store(db, enable_fuzzing=False) as store:
        store.review("ekg-input", "good", now=datetime(2026, 1, 1, tzinfo=timezone.utc))
        store.record_check("ps1.output_size", True)
    assert run_cli(["progress", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    total = len(load_decks(ROOT / "flashcards"))
    assert f"new (never reviewed)   {total - 1}" in out
    assert "reviews in total       1" in out
    assert "exercise checks        1 of 1 passed" in out


def test_course_lib_main_dispatches_to_these_commands(tmp_path, capsys):
    from course_lib.__main__ import main

    assert main(["progress", "--db", str(tmp_path / "p.sqlite3")]) == 0
    assert "streak" in capsys.readouterr().out
    assert main(["export-anki", "flashcards/06_interview_prep", "-o", str(tmp_path / "i.apkg")]) == 0
    assert (tmp_path / "i.apkg").stat().st_size > 0
