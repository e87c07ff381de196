"""The course decks load, are complete and their numbers agree with the formulas; malformed decks
are rejected with the file, card and field named."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import pytest

from course_lib.study import Card, DeckError, load_deck, load_decks
from course_lib.study.decks import default_deck_folder

ROOT = Path(__file__).resolve().parents[1]
LESSONS = [
    "00_start_here",
    "01_dense_limits",
    "02_local_connectivity",
    "03_ekg_conv1d",
    "04_mnist_cnn",
    "05_modern_conv_layers",
    "06_interview_prep",
]


def out_size(n, k, s=1, p=0, d=1):
    """The output-size formula the decks teach, written out here independently."""
    return math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1


@pytest.fixture(scope="module")
def cards():
    return load_decks(ROOT / "flashcards")


def test_at_least_80_cards_with_unique_ids(cards):
    assert len(cards) >= 80
    ids = [c.id for c in cards]
    assert len(set(ids)) == len(ids)
    assert all(isinstance(c, Card) and c.front and c.back for c in cards)


def test_every_lesson_has_cards(cards):
    per_lesson = Counter(c.lesson for c in cards)
    for lesson in LESSONS:
        assert per_lesson[lesson] >= 10, (lesson, per_lesson[lesson])
    assert set(per_lesson) == set(LESSONS)


def test_default_folder_is_the_course_folder(cards, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # load_decks() must work from any notebook folder
    assert default_deck_folder() == ROOT / "flashcards"
    assert [c.id for c in load_decks()] == [c.id for c in cards]
    single = load_decks("flashcards/03_ekg_conv1d")
    assert {c.lesson for c in single} == {"03_ekg_conv1d"}


@pytest.mark.parametrize(
    "topic",
    ["weight sharing", "stride", "padding", "receptive field", "pooling", "equivariant", "invariance",
     "TensorBoard", "EKG", "MNIST", "tabular", "Tradeoff", "inductive bias", "dilation", "filter",
     "1×1", "depthwise", "groups", "transposed", "checkerboard", "output_padding", "batch norm", "running",
     "residual", "projection shortcut", "global average pooling", "im2col", "multiply-add"],
)
def test_topics_are_covered(cards, topic):
    assert any(topic.lower() in (c.front + c.back).lower() for c in cards), topic


# (card id, text its back must contain, computed here)
NUMBER_FACTS = [
    ("dense-rgb-256-inputs", f"{256 * 256 * 3:,}"),
    ("dense-rgb-256-weights", f"{256 * 256 * 3 * 1000:,}"),
    ("dense-rgb-256-weights", f"{256 * 256 * 3 * 1000 + 1000:,}"),
    ("dense-mnist-784-128", f"{784 * 128 + 128:,}"),
    ("dense-conv-params-independent-of-size", f"{3 * 3 * 3 * 64 + 64:,}"),
    ("dense-mlp-vs-cnn-params", f"{(256 * 256 * 3 * 1000 + 1000):,}"),
    ("local-output-size-valid-32-5", str(out_size(32, 5))),
    ("local-output-size-stride2", f"= {out_size(7, 3, s=2)}"),
    ("local-output-size-same-28", str(out_size(28, 3, p=1))),
    ("local-output-size-floor", f"= {out_size(10, 3, s=2)}"),
    ("local-dilation-output", f"= {out_size(10, 3, d=2)}"),
    ("local-locally-connected-params", f"= {out_size(100, 20, s=10) * 20 + out_size(100, 20, s=10)}"),
    ("ekg-layer1-windows", f"= {out_size(100, 20, s=10)}$ windows"),
    ("ekg-layer2-windows", f"= {out_size(out_size(100, 20, s=10), 5)}$ units"),
    ("ekg-layer2-receptive-field", f"= {20 + (5 - 1) * 10}"),
    ("ekg-dense-vs-conv-params", f"{100 * 9 + 9}"),
    ("ekg-conv1d-shapes", f"(32, 8, {out_size(100, 20, s=10)})"),
    ("mnist-conv1-params", f"= {32 * 1 * 9 + 32}"),
    ("mnist-conv2-params", f"{64 * 32 * 9 + 64:,}"),
    ("mnist-shapes-through-net", f"{64 * 14 * 14:,}"),
    ("mnist-dense-params", f"{64 * 14 * 14 * 10 + 10:,}"),
    ("mnist-dense-params", f"{(32 * 9 + 32) + (64 * 32 * 9 + 64) + (64 * 14 * 14 * 10 + 10):,}"),
    ("mnist-conv2-macs", f"{28 * 28 * 64 * 32 * 9:,}"),
    ("local-receptive-field-with-pool", f"= {3 + (2 - 1) * 1 + (3 - 1) * 2}"),
    # modern conv layers (lesson 05) and their interview questions
    ("modern-1x1-params", f"{256 * 64:,}"),
    ("modern-bottleneck-savings", f"{256 * 64 + 64 * 64 * 9 + 64 * 256:,}"),
    ("modern-bottleneck-savings", f"{256 * 256 * 9:,}"),
    ("modern-bottleneck-savings", f"{256 * 256 * 9 / (256 * 64 + 64 * 64 * 9 + 64 * 256):.1f}×"),
    ("modern-grouped-params", f"{256 * (256 // 32) * 9:,}"),
    ("modern-grouped-params", f"{256 * 256 * 9:,}"),
    ("modern-depthwise-definition", f"{128 * 9:,}"),
    ("modern-separable-cost", f"{256 * 9 + 256 * 256:,}"),
    ("modern-separable-cost", f"{256 * 256 * 9:,}"),
    ("modern-separable-cost", f"{256 * 256 * 9 / (256 * 9 + 256 * 256):.1f}×"),
    ("modern-transposed-output-size", f"$o = {(7 - 1) * 2 - 2 * 1 + (4 - 1) + 1}$"),
    ("modern-output-padding", f"both 13 and 14 to {out_size(13, 3, s=2, p=1)}"),
    ("modern-output-padding", f"both 13 and 14 to {out_size(14, 3, s=2, p=1)}"),
    ("modern-bn-params", f"{2 * 64}"),
    ("modern-global-average-pooling", f"{64 * 10 + 10}"),
    ("modern-global-average-pooling", f"{64 * 14 * 14:,} \\cdot 128 + 128 = {64 * 14 * 14 * 128 + 128:,}"),
    ("local-im2col-memory", f"{64 * 9 * 56 * 56:,}"),
    ("local-im2col-memory", f"{64 * 9} \\times {56 * 56:,}"),
    ("local-im2col-memory", f"about {64 * 9 * 56 * 56 * 4 / 1e6:.1f} MB"),
    ("local-im2col-memory", f"{64 * 56 * 56:,} numbers ({64 * 56 * 56 * 4 / 1e6:.1f} MB)"),
    ("interview-1x1-conv", f"about {256 * 256 * 9 / (256 * 64 + 64 * 64 * 9 + 64 * 256):.1f}×"),
    ("interview-depthwise-separable-cost", f"{256 * 9 + 256 ** 2:,}"),
    ("interview-depthwise-separable-cost", f"({256 * 256 * 9 / (256 * 9 + 256 * 256):.1f}× fewer"),
    ("interview-im2col-memory", f"from {64 * 56 * 56 * 4 / 1e6:.1f} MB to {64 * 9 * 56 * 56 * 4 / 1e6:.1f} MB"),
]


@pytest.mark.parametrize("card_id, expected", NUMBER_FACTS)
def test_numbers_on_cards_match_the_formulas(cards, card_id, expected):
    by_id = {c.id: c for c in cards}
    assert expected in by_id[card_id].back.replace("{,}", ","), (card_id, expected, by_id[card_id].back)


GOOD = """deck: Test deck
lesson: 99_test
cards:
  - id: first-card
    front: Question one?
    back: Answer $x^2$.
    tags: [a, b]
  - id: second-card
    front: Question two?
    back: Answer two.
"""


def write(tmp_path, text, name="deck.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_good_deck_fields(tmp_path):
    cards = load_deck(write(tmp_path, GOOD))
    assert [c.id for c in cards] == ["first-card", "second-card"]
    assert cards[0].tags == ("a", "b") and cards[1].tags == ()
    assert cards[0].lesson == "99_test" and cards[0].deck == "Test deck"
    assert cards[0].image is None


def test_image_path_is_resolved_relative_to_the_deck(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "pic.png").write_bytes(b"\x89PNG fake")
    text = GOOD.replace("    tags: [a, b]\n", "    tags: [a, b]\n    image: img/pic.png\n")
    card = load_deck(write(tmp_path, text))[0]
    assert card.image == (tmp_path / "img" / "pic.png").resolve()


MALFORMED = [
    # (replace this, with this, card label expected, field expected)
    ("    front: Question one?\n", "", "#1 (id 'first-card')", "front"),
    ("back: Answer two.", "back: 42", "#2 (id 'second-card')", "back"),
    ("    front: Question two?", "    fornt: Question two?", "#2 (id 'second-card')", "fornt"),
    ("id: first-card", "id: First Card!", "#1 (id 'First Card!')", "id"),
    ("id: second-card", "id: first-card", "#2 (id 'first-card')", "id"),
    ("tags: [a, b]", "tags: {a: 1}", "#1 (id 'first-card')", "tags"),
    ("back: Answer $x^2$.", "back: Answer $x^2.", "#1 (id 'first-card')", "back"),
    ("    tags: [a, b]\n", "    tags: [a, b]\n    image: missing.png\n", "#1 (id 'first-card')", "image"),
    ("  - id: second-card\n    front: Question two?\n    back: Answer two.\n", "  - just a string\n", "#2", None),
]


@pytest.mark.parametrize("old, new, card, field", MALFORMED)
def test_malformed_card_names_file_card_and_field(tmp_path, old, new, card, field):
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new), "broken_deck.yaml")
    with pytest.raises(DeckError) as info:
        load_deck(path)
    message = str(info.value)
    assert "broken_deck.yaml" in message and f"card {card}" in message
    assert info.value.card == card and info.value.field == field
    if field:
        assert repr(field) in message


@pytest.mark.parametrize(
    "text, field",
    [
        ("deck: x\ncards: [\n", None),  # not YAML
        ("- a\n- b\n", None),  # not a mapping
        ("lesson: x\ncards:\n  - {id: a, front: f, back: b}\n", "deck"),
        ("deck: x\ncards: []\n", "cards"),
        ("deck: x\ncards:\n  - {id: a, front: f, back: b}\nextra: 1\n", "extra"),
    ],
)
def test_malformed_deck_level(tmp_path, text, field):
    with pytest.raises(DeckError) as info:
        load_deck(write(tmp_path, text, "bad.yaml"))
    assert "bad.yaml" in str(info.value) and info.value.field == field


def test_duplicate_id_across_files_names_both(tmp_path):
    write(tmp_path, GOOD, "a.yaml")
    write(tmp_path, GOOD.replace("second-card", "third-card"), "b.yaml")
    with pytest.raises(DeckError) as info:
        load_decks(tmp_path)
    assert "b.yaml" in str(info.value) and "a.yaml" in str(info.value) and "first-card" in str(info.value)


def test_missing_folder_names_the_argument(tmp_path):
    with pytest.raises(FileNotFoundError, match="folder"):
        load_decks(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="no \\*.yaml"):
        load_decks(tmp_path)
