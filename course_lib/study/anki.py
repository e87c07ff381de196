"""Export decks to an Anki package (``.apkg``) with ``genanki``.

Ids are derived from names, never random, so importing a newer export into Anki *updates* the
notes it made before instead of duplicating them:

- model id and deck id: the first 31 bits of SHA-256 of a fixed name / the deck name;
- note guid: ``genanki.guid_for("convcourse", card.id)`` (the card's stable YAML id).

Maths: our ``$...$`` / ``$$...$$`` become Anki's MathJax delimiters ``\\(...\\)`` / ``\\[...\\]``.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
from pathlib import Path

import genanki

from course_lib.study.args import text_arg
from course_lib.study.decks import Card
from course_lib.study.text import to_html

__all__ = ["export_anki", "stable_id", "card_guid", "to_anki_html", "MODEL_NAME"]

MODEL_NAME = "convcourse card (front/back)"
ROOT_DECK = "convcourse"

_CSS = ".card { font-family: sans-serif; font-size: 20px; text-align: left; } .lesson { color: #888; font-size: 14px; }"


def stable_id(name: str) -> int:
    """A stable id in [2**30, 2**31) from a name (Anki wants ints that fit in 31 bits)."""
    digest = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big")
    return (1 << 30) + digest % (1 << 30)


def card_guid(card: Card) -> str:
    """The Anki note guid of a card: a hash of its stable id."""
    return genanki.guid_for("convcourse", card.id)


def to_anki_html(text: str) -> str:
    """The card text as Anki HTML: the same formatting as in the notebook, maths in Anki's MathJax delimiters."""
    return to_html(text, math="anki")


def _model() -> genanki.Model:
    return genanki.Model(
        stable_id(MODEL_NAME),
        MODEL_NAME,
        fields=[{"name": "Front"}, {"name": "Back"}, {"name": "Lesson"}, {"name": "CardId"}],
        templates=[
            {
                "name": "Card 1",
                "qfmt": "{{Front}}<div class=lesson>{{Lesson}}</div>",
                "afmt": "{{FrontSide}}<hr id=answer>{{Back}}",
            }
        ],
        css=_CSS,
    )


def export_anki(cards, out_path, root_deck: str = ROOT_DECK) -> Path:
    """Write ``cards`` to ``out_path`` (.apkg); one Anki subdeck per YAML deck. Returns the path."""
    cards = list(cards)
    if not cards:
        raise ValueError("cards: expected at least one card, got an empty list")
    if not all(isinstance(c, Card) for c in cards):
        raise TypeError("cards: expected course_lib.study.Card objects (from load_decks)")
    for i, card in enumerate(cards):  # text Anki's SQLite cannot store fails here, naming the card
        fields = [(f, getattr(card, f)) for f in ("id", "front", "back", "lesson", "deck")]
        for field, value in fields + [("tags", t) for t in card.tags]:
            text_arg(value, f"cards[{i}].{field} (card {card.id!r})", allow_empty=True)
        if card.image is not None and not Path(card.image).is_file():
            raise FileNotFoundError(f"cards[{i}].image: the image of card {card.id!r} is gone: {card.image}")
    out_path = Path(out_path)
    if out_path.suffix != ".apkg":
        raise ValueError(f"out_path: expected a file name ending in .apkg, got {str(out_path)!r}")
    model = _model()
    decks: dict[str, genanki.Deck] = {}
    media: list[str] = []
    for card in cards:
        name = f"{root_deck}::{card.deck or 'cards'}"
        deck = decks.setdefault(name, genanki.Deck(stable_id(name), name))
        back = to_anki_html(card.back)
        if card.image is not None:
            media.append(str(card.image))
            back += f'<br><img src="{html.escape(card.image.name)}">'
        tags = [re.sub(r"\s+", "_", t) for t in (*card.tags, card.lesson) if t]
        deck.add_note(
            genanki.Note(
                model=model,
                fields=[to_anki_html(card.front), back, html.escape(card.lesson), card.id],
                tags=tags,
                guid=card_guid(card),
            )
        )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    # Write next to the target, then rename: an interrupted export never leaves a broken .apkg behind.
    partial = out_path.with_name(out_path.name + ".partial")
    try:
        genanki.Package(list(decks.values()), media_files=sorted(set(media))).write_to_file(str(partial))
        os.replace(partial, out_path)
    finally:
        partial.unlink(missing_ok=True)
    return out_path
