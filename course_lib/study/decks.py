"""Load and validate flashcard decks written as YAML files.

A deck file (``flashcards/01_dense_limits.yaml``) looks like::

    deck: Dense layers and their limits      # display name
    lesson: 01_dense_limits                  # default lesson of its cards
    cards:
      - id: dense-params-rgb-256             # stable, unique across every deck
        front: How many weights ...?         # text; $...$ is maths
        back: ...
        tags: [dense, parameters]            # optional
        lesson: 01_dense_limits              # optional, overrides the deck's
        image: images/field.png              # optional, relative to the deck file

Anything else is an error: a malformed deck raises :class:`DeckError` naming the file, the
card and the field, so a typo (``fornt:``) never silently drops a card.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from course_lib.study.args import describe as _describe, utf8_problem

__all__ = ["Card", "DeckError", "load_deck", "load_decks", "default_deck_folder", "resolve_deck_path"]

_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_DECK_KEYS = {"deck", "lesson", "cards", "description"}
_CARD_KEYS = {"id", "front", "back", "tags", "lesson", "image"}
DECK_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Card:
    """One flashcard: ``id`` is stable across edits (progress is keyed by it)."""

    id: str
    front: str
    back: str
    tags: tuple[str, ...] = ()
    lesson: str = ""
    image: Path | None = None
    deck: str = ""
    source: Path | None = None


class DeckError(ValueError):
    """A deck file is malformed; ``file``, ``card`` and ``field`` say where."""

    def __init__(self, file, message, card=None, field=None):
        self.file = Path(file)
        self.card = card
        self.field = field
        where = str(self.file)
        if card is not None:
            where += f": card {card}"
        if field is not None:
            where += f": field {field!r}"
        super().__init__(f"{where}: {message}")


def default_deck_folder() -> Path:
    """The course's own ``flashcards/`` folder (next to the ``course_lib`` package)."""
    return Path(__file__).resolve().parents[2] / "flashcards"


def _card_label(index: int, raw) -> str:
    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
        return f"#{index + 1} (id {raw['id']!r})"
    return f"#{index + 1}"


def _check_text(path, label, field, value) -> str:
    """``value`` stripped, if it is a non-empty string that UTF-8 can hold (Anki, the store)."""
    if not isinstance(value, str) or not value.strip():
        raise DeckError(path, f"expected a non-empty string, got {_describe(value)}", label, field)
    problem = utf8_problem(value)
    if problem is not None:
        raise DeckError(path, f"expected text, but {problem}", label, field)
    return value.strip()


def _text(path, label, raw, field, required=True):
    value = raw.get(field)
    if value is None and not required:
        return None
    return _check_text(path, label, field, value)


def _parse_card(path: Path, index: int, raw, deck_name: str, deck_lesson: str) -> Card:
    label = _card_label(index, raw)
    if not isinstance(raw, dict):
        raise DeckError(path, f"expected a mapping with id/front/back, got {_describe(raw)}", label)
    unknown = sorted(set(map(str, raw)) - _CARD_KEYS)
    if unknown:
        raise DeckError(path, f"unknown field; expected only {sorted(_CARD_KEYS)}", label, unknown[0])
    card_id = _text(path, label, raw, "id")
    if not _ID_PATTERN.match(card_id):
        raise DeckError(
            path, f"expected lowercase letters, digits, '-', '_' or '.', got {card_id!r}", label, "id"
        )
    front = _text(path, label, raw, "front")
    back = _text(path, label, raw, "back")
    for field, text in (("front", front), ("back", back)):
        if text.replace("$$", "").count("$") % 2:
            raise DeckError(path, "unbalanced '$' maths delimiters", label, field)
    tags = raw.get("tags", [])
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, list):
        raise DeckError(path, f"expected a list of non-empty strings, got {_describe(tags)}", label, "tags")
    tags = [_check_text(path, label, "tags", t) for t in tags]
    lesson = _text(path, label, raw, "lesson", required=False) or deck_lesson
    image = _text(path, label, raw, "image", required=False)
    image_path = None
    if image is not None:
        image_path = (path.parent / image).resolve()
        if not image_path.is_file():
            raise DeckError(path, f"image file not found: {image_path}", label, "image")
    return Card(
        id=card_id,
        front=front,
        back=back,
        tags=tuple(tags),
        lesson=lesson,
        image=image_path,
        deck=deck_name,
        source=path,
    )


def load_deck(path) -> list[Card]:
    """Read one YAML deck file and return its cards (validated, ids unique within the file)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise DeckError(
            path,
            f"the file is not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start}); "
            "save it as UTF-8 (most editors: 'Save with encoding')",
        ) from exc
    except yaml.YAMLError as exc:
        raise DeckError(path, f"not valid YAML: {exc}") from exc
    except OSError as exc:
        raise DeckError(path, f"cannot read the file: {exc}") from exc
    if not isinstance(data, dict):
        raise DeckError(path, f"expected a mapping with keys deck, lesson, cards; got {_describe(data)}")
    unknown = sorted(set(map(str, data)) - _DECK_KEYS)
    if unknown:
        raise DeckError(path, f"unknown top-level key; expected only {sorted(_DECK_KEYS)}", field=unknown[0])
    deck_name = _check_text(path, None, "deck", data.get("deck"))
    lesson = data.get("lesson", "")
    if not isinstance(lesson, str):
        raise DeckError(path, f"expected a string, got {_describe(lesson)}", field="lesson")
    if lesson.strip():
        lesson = _check_text(path, None, "lesson", lesson)
    raw_cards = data.get("cards")
    if not isinstance(raw_cards, list) or not raw_cards:
        raise DeckError(path, f"expected a non-empty list of cards, got {_describe(raw_cards)}", field="cards")
    cards: list[Card] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_cards):
        card = _parse_card(path, index, raw, deck_name, lesson.strip())
        if card.id in seen:
            raise DeckError(
                path, f"duplicate id, already used by card #{seen[card.id] + 1}", _card_label(index, raw), "id"
            )
        seen[card.id] = index
        cards.append(card)
    return cards


def resolve_deck_path(folder) -> Path:
    """Where ``folder`` is: as given, else (for a relative path) under the course root."""
    path = Path(folder)
    if path.exists() or path.is_absolute():
        return path
    candidate = default_deck_folder().parent / path
    if candidate.exists():
        return candidate
    for suffix in DECK_SUFFIXES:  # "flashcards/01_dense_limits" means the .yaml file
        for base in (path, candidate):
            if base.with_suffix(suffix).is_file():
                return base.with_suffix(suffix)
    return path


def load_decks(folder="flashcards") -> list[Card]:
    """Every card of every ``*.yaml`` deck in ``folder`` (or of one deck file), sorted by file name.

    A relative ``folder`` that does not exist from the current directory is looked up under the
    course root, so ``load_decks()`` works from any notebook folder. Card ids must be unique
    across all decks; a clash raises :class:`DeckError` naming both files.
    """
    path = resolve_deck_path(folder)
    if path.is_file():
        return load_deck(path)
    if not path.is_dir():
        raise FileNotFoundError(f"folder: no deck folder or file at {str(folder)!r} (looked in {path.resolve()})")
    files = sorted(p for p in path.iterdir() if p.suffix in DECK_SUFFIXES and p.is_file())
    if not files:
        raise FileNotFoundError(f"folder: no *.yaml deck files in {path.resolve()}")
    cards: list[Card] = []
    owner: dict[str, Path] = {}
    for file in files:
        for card in load_deck(file):
            if card.id in owner:
                raise DeckError(
                    file, f"duplicate id, already used in {owner[card.id]}", f"(id {card.id!r})", "id"
                )
            owner[card.id] = file
            cards.append(card)
    return cards
