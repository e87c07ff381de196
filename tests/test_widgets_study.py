"""Flashcard and quiz widgets driven from Python, as a learner would click them; assertions on
what the learner sees and on what the store recorded."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from course_lib.study import Card, Rating, load_decks, open_store
from course_lib.widgets.flashcards import FlashcardReview, ProgressPanel
from course_lib.widgets.quiz import MultipleChoice, Numeric, Ordering, Quiz

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self, now=T0):
        self.now = now

    def __call__(self):
        return self.now


def make_cards(n=5):
    return [
        Card(
            id=f"c{i}",
            front=f"Question {i}: $k = {i}$ and a < b?",
            back=f"Answer {i}",
            tags=("even",) if i % 2 == 0 else ("odd",),
            lesson=f"L{i % 2}",
            deck=f"Deck {i % 2}",
        )
        for i in range(n)
    ]


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "p.sqlite3", enable_fuzzing=False) as s:
        yield s


def test_reveal_then_rate_records_and_moves_on(store):
    review = FlashcardReview(make_cards(), store, clock=Clock())
    assert review.current.id == "c0"
    assert "Question 0" in review.front_html.value and "$k = 0$" in review.front_html.value
    assert "a &lt; b" in review.front_html.value  # text is escaped, maths left for MathJax
    assert review.back_box.layout.display == "none" and review.back_html.value == ""
    assert all(b.disabled for b in review.rating_buttons.values())

    review.rating_buttons[Rating.Good].click()  # ignored before reveal
    assert store.review_log() == [] and review.current.id == "c0"

    review.reveal_button.click()
    assert review.back_box.layout.display == "" and "Answer 0" in review.back_html.value
    assert not any(b.disabled for b in review.rating_buttons.values())
    assert "Good 10m" in review.hint.value

    review.rating_buttons[Rating.Good].click()
    log = store.review_log()
    assert [(r.card_id, r.rating, r.reviewed_at) for r in log] == [("c0", Rating.Good, T0)]
    assert log[0].duration_ms is not None
    assert review.current.id == "c1" and review.back_box.layout.display == "none"
    # Good on a new card is a 10-minute learning step: it comes back this session
    assert review.progress.value == 1 and review.progress_label.value == "1 / 6 reviewed"
    assert review.queue[-1] == "c0"


def _key(review, key, **modifiers):
    """Deliver a keydown as the browser does: a message from ipyevents' front end to its Event widget."""
    review.key_events._handle_mouse_msg(review.key_events, {"type": "keydown", "key": key, **modifiers}, [])


def test_keyboard_reveals_and_rates(store):
    review = FlashcardReview(make_cards(3), store, clock=Clock())
    from ipyevents import Event

    assert isinstance(review.key_events, Event) and review.key_events.source is review.card_area
    assert review.key_events.watched_events == ["keydown"]
    assert "Space reveal" in review.key_hint.value and "3 Good" in review.key_hint.value

    _key(review, "3")  # a rating before the answer shows does nothing
    _key(review, "x")
    assert store.review_log() == [] and not review.revealed
    _key(review, " ")
    assert review.revealed and "Answer 0" in review.back_html.value
    _key(review, "4", ctrlKey=True)  # Ctrl+4 is not ours
    assert store.review_log() == []
    _key(review, "4")
    assert [(r.card_id, r.rating) for r in store.review_log()] == [("c0", Rating.Easy)]
    assert review.current.id == "c1" and not review.revealed
    _key(review, "Enter")
    _key(review, "1")
    assert [r.rating for r in store.review_log()] == [Rating.Easy, Rating.Again]
    assert review.progress_label.value == "2 / 4 reviewed"  # c1 (Again) comes back this session
    assert review.press_key("2") is False and review.press_key(" ") is True and review.press_key("2") is True


def test_without_ipyevents_the_buttons_still_work(store, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ipyevents", None)  # import ipyevents now raises ImportError
    review = FlashcardReview(make_cards(2), store, clock=Clock())
    assert review.key_events is None and "need the ipyevents package" in review.key_hint.value
    review.reveal_button.click()
    review.rating_buttons[Rating.Good].click()
    assert len(store.review_log()) == 1
    quiet = FlashcardReview(make_cards(2), store, clock=Clock(), keyboard=False)
    assert quiet.key_events is None and quiet.key_hint.value == ""


def test_again_comes_back_in_the_same_session(store):
    review = FlashcardReview(make_cards(2), store, clock=Clock())
    review.reveal()
    review.rate("again")  # c0 due in 1 minute: requeued
    review.reveal()
    review.rate("easy")  # c1 graduates: due in days
    assert review.current.id == "c0"
    assert review.progress_label.value == "2 / 3 reviewed"
    review.reveal()
    review.rate("easy")
    assert review.current is None
    assert "Session complete" in review.front_html.value and review.reveal_button.disabled
    with pytest.raises(RuntimeError, match="no current card"):
        review.rate("good")


def test_progress_survives_a_new_widget(store):
    clock = Clock()
    review = FlashcardReview(make_cards(3), store, clock=clock)
    for _ in range(3):
        review.reveal()
        review.rate("easy")
    again = FlashcardReview(make_cards(3), store, clock=clock)  # e.g. after a kernel restart
    assert again.current is None and "No cards are due" in again.front_html.value
    clock.now = T0 + timedelta(days=60)
    later = FlashcardReview(make_cards(3), store, clock=clock)
    assert later.current is not None and len(later.queue) == 2


def test_filter_by_lesson_and_tag(store):
    unfiltered = FlashcardReview(make_cards(6), store, clock=Clock())
    assert unfiltered.lesson_picker.label == "All decks" and unfiltered.tag_picker.label == "All tags"
    review = FlashcardReview(make_cards(6), store, clock=Clock(), lesson="L1")
    assert {review.current.id, *review.queue} == {"c1", "c3", "c5"}
    review.tag_picker.value = "odd"
    assert {c.id for c in review.selected_cards()} == {"c1", "c3", "c5"}
    review.lesson_picker.value = ""  # "All decks"
    review.tag_picker.value = "even"
    assert {review.current.id, *review.queue} == {"c0", "c2", "c4"}
    assert [label for label, _ in review.lesson_picker.options] == ["All decks", "Deck 0", "Deck 1"]
    with pytest.raises(ValueError, match="lesson: expected one of"):
        FlashcardReview(make_cards(), store, lesson="nope")


def test_shuffle_is_seeded(store):
    def order(seed):
        r = FlashcardReview(make_cards(12), store, clock=Clock(), shuffle=True, seed=seed)
        return [r.current.id, *r.queue]

    assert order(1) == order(1)
    assert order(1) != order(2)
    assert sorted(order(1)) == sorted(c.id for c in make_cards(12))
    plain = FlashcardReview(make_cards(12), store, clock=Clock())
    assert [plain.current.id, *plain.queue] == [f"c{i}" for i in range(12)]


def test_limit_and_argument_errors(store):
    review = FlashcardReview(make_cards(), store, clock=Clock(), limit=2)
    assert review.progress_label.value == "0 / 2 reviewed"
    with pytest.raises(TypeError, match="cards"):
        FlashcardReview([], store)
    with pytest.raises(ValueError, match="limit"):
        FlashcardReview(make_cards(), store, limit=0)
    with pytest.raises(ValueError, match="clock"):
        FlashcardReview(make_cards(), store, clock=lambda: datetime(2026, 1, 1))


def test_image_card_shows_the_image(store, tmp_path):
    png = tmp_path / "pic.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    card = Card(id="img", front="f", back="b", image=png)
    review = FlashcardReview([card], store, clock=Clock())
    assert review.image.layout.display == "none"
    review.reveal()
    assert review.image.value == png.read_bytes() and review.image.layout.display == ""


def test_on_review_callback_and_progress_panel(store):
    seen = []
    cards = make_cards(3)
    panel = ProgressPanel(store, cards, clock=Clock(), tz=timezone.utc)
    assert bytes(panel.chart.value).startswith(b"\x89PNG")
    assert "Due now</td><td><b>3" in panel.summary.value
    review = FlashcardReview(cards, store, clock=Clock(), on_review=seen.append)
    review.reveal()
    review.rate("good")
    assert [r.card_id for r in seen] == ["c0"]
    panel.refresh()
    assert panel.stats["reviews_today"] == 1
    assert "Reviews today</td><td><b>1" in panel.summary.value


def test_real_decks_in_the_widget(store):
    cards = load_decks()
    review = FlashcardReview(cards, store, clock=Clock(), lesson="03_ekg_conv1d")
    assert review.progress_label.value == f"0 / {sum(c.lesson == '03_ekg_conv1d' for c in cards)} reviewed"
    assert repr(review) == f"FlashcardReview({len(cards)} cards, deck=03_ekg_conv1d, tag=all)"


# -- quiz -----------------------------------------------------------------------------------------


def make_quiz(**kwargs):
    return Quiz(
        [
            MultipleChoice("Which layer shares weights?", ["dense", "conv", "dropout"], answer="conv",
                           explanation="A conv filter is reused at every position."),
            Numeric("Output length for $n=7, k=3, s=2$?", answer=3, explanation="$(7-3)/2+1 = 3$"),
            Numeric("Weights of a 1000-unit dense layer on 256x256x3?", answer=196_608_000, tolerance=1e6),
            Ordering("Order the stages", ["conv", "ReLU", "pool", "dense"], explanation="features first", seed=3),
        ],
        title="Check yourself",
        **kwargs,
    )


def test_multiple_choice_feedback():
    quiz = make_quiz()
    view = quiz.views[0]
    assert view.explanation_html.layout.display == "none"
    assert quiz.answer(0, 0) is False
    text = quiz.feedback(0)
    assert "Not quite" in text and "B. conv" in text and "reused at every position" in text
    assert view.explanation_html.layout.display == ""
    view.choice.value = 1  # the learner clicks B
    view.check_button.click()
    assert view.correct is True and "Correct" in quiz.feedback(0)
    assert view.attempts == 2


def test_numeric_tolerance_and_parsing():
    quiz = make_quiz()
    assert quiz.answer(1, "3") is True
    assert quiz.answer(1, 4) is False
    assert quiz.answer(2, "196,608,000") is True
    assert quiz.answer(2, "1.97e8") is True
    assert quiz.answer(2, 190_000_000) is False
    assert quiz.answer(2, "about 2e8") is None
    assert "Could not read a number" in quiz.feedback(2)
    assert quiz.answer(1, "") is None and "Choose an answer first" in quiz.feedback(1)


def test_ordering_question():
    quiz = make_quiz()
    view = quiz.views[3]
    assert view.order != ["conv", "ReLU", "pool", "dense"]  # shown shuffled, never already solved
    assert make_quiz().views[3].order == view.order  # seeded
    # solve it by clicking the arrow buttons, like a learner
    target = ["conv", "ReLU", "pool", "dense"]
    for position, item in enumerate(target):
        while view.order.index(item) > position:
            row = view.order_box.children[view.order.index(item)]
            row.children[0].click()  # "move up"
    assert view.order == target
    view.check_button.click()
    assert view.correct is True and "features first" in quiz.feedback(3)
    assert quiz.answer(3, ["dense", "conv", "ReLU", "pool"]) is False
    assert "conv → ReLU → pool → dense" in quiz.feedback(3)
    with pytest.raises(ValueError, match="value: expected a reordering"):
        quiz.answer(3, ["conv", "ReLU"])


def test_score_and_recording(store):
    quiz = make_quiz(record_as="lesson02", store=store)
    quiz.answer(0, "conv")
    quiz.answer(1, 5)
    assert quiz.score == 1 and quiz.score_html.value == "Score: 1 / 4 (2 checked)"
    summary = store.check_summary()
    assert summary["quiz:lesson02:1"]["passed"] is True and summary["quiz:lesson02:2"]["passed"] is False


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: MultipleChoice("q", ["only"], 0), "options"),
        (lambda: MultipleChoice("q", ["a", "b"], 2), "answer"),
        (lambda: MultipleChoice("q", ["a", "b"], "c"), "answer"),
        (lambda: Numeric("q", float("nan")), "answer"),
        (lambda: Numeric("q", 1, tolerance=-1), "tolerance"),
        (lambda: Ordering("q", ["a"]), "items"),
        (lambda: Ordering("q", ["a", "a"]), "items"),
        (lambda: Quiz([]), "questions"),
    ],
)
def test_question_validation(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_quiz_rejects_unknown_question_types():
    with pytest.raises(TypeError, match=r"questions\[0\]"):
        Quiz(["not a question"])
    with pytest.raises(IndexError, match="i: expected a question index"):
        make_quiz().answer(9, 1)


def test_numeric_accepts_numpy_answers():
    import numpy as np

    quiz = Quiz([Numeric("n?", answer=np.int64(16), tolerance=np.float64(0.5))])
    assert quiz.answer(0, "16.4") is True and quiz.answer(0, 17) is False
    assert "Correct answer: 16 (± 0.5)" in quiz.feedback(0)
