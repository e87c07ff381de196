"""Quiz widget: multiple choice, numeric (with tolerance) and ordering questions.

    Quiz([
        MultipleChoice("Which layer shares weights?", ["dense", "conv"], answer=1, explanation="..."),
        Numeric("Output length for n=7, k=3, s=2?", answer=3, tolerance=0, explanation="..."),
        Ordering("Order the layers", ["conv", "ReLU", "pool"], explanation="...", seed=0),
    ])

Each question has a *Check* button; after checking, the learner sees whether the answer is right,
the correct answer if not, and the explanation. Text renders maths via ``HTMLMath`` (the
notebook's own MathJax). For tests: ``quiz.answer(i, value)`` sets an answer as a learner would,
``quiz.check(i)`` returns True/False, ``quiz.feedback(i)`` is the text shown, ``quiz.score``.
"""

from __future__ import annotations

import html
import math
import numbers
import random
import re
from dataclasses import dataclass

import ipywidgets as widgets

from course_lib.study.args import describe
from course_lib.study.text import to_html

__all__ = ["Quiz", "MultipleChoice", "Numeric", "Ordering", "QuestionView", "QuestionIndexError"]


class QuestionIndexError(ValueError, IndexError):
    """An index (question, option) outside the range there is; a ValueError with a plain message."""


def _index_arg(value, name: str, count: int, what: str, from_end: bool = False) -> int:
    """``value`` as an index 0..count-1 (numpy ints accepted, bools refused); with ``from_end``
    a negative index counts from the end, as in a list."""
    low = -count if from_end else 0
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= value < count:
        raise QuestionIndexError(f"{name}: expected {what} index 0..{count - 1}, got {describe(value)}")
    return int(value) % count


def _strings(values, name: str) -> list[str]:
    """``values`` (a list or tuple of at least two strings) as a list."""
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)):
        raise ValueError(
            f"{name}: expected a list of at least two strings, got {describe(values)}"
            + (" (a single string would be split into letters)" if isinstance(values, str) else "")
        )
    if len(values) < 2 or not all(isinstance(v, str) for v in values):
        raise ValueError(f"{name}: expected at least two strings, got {list(values)!r}")
    return list(values)


def _check_text(value, name: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected a string, got {describe(value)}")


def _finite(value) -> bool:
    """A finite real number (numpy scalars too; bools and ints too big for a float are not)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


@dataclass
class MultipleChoice:
    """``answer`` is the index of the right option (or the option's text)."""

    prompt: str
    options: list
    answer: int | str
    explanation: str = ""

    def __post_init__(self):
        _check_text(self.prompt, "prompt")
        _check_text(self.explanation, "explanation")
        self.options = _strings(self.options, "options")
        if isinstance(self.answer, str):
            if self.answer not in self.options:
                raise ValueError(f"answer: expected one of the options {self.options}, got {self.answer!r}")
            self.answer = self.options.index(self.answer)
        self.answer = _index_arg(self.answer, "answer", len(self.options), "an option")

    def is_correct(self, value) -> bool:
        return value == self.answer

    def correct_text(self) -> str:
        return f"{chr(65 + self.answer)}. {self.options[self.answer]}"


@dataclass
class Numeric:
    """Correct when ``|value - answer| <= tolerance`` (absolute tolerance)."""

    prompt: str
    answer: float
    tolerance: float = 0.0
    explanation: str = ""

    def __post_init__(self):
        _check_text(self.prompt, "prompt")
        _check_text(self.explanation, "explanation")
        # numbers.Real also accepts numpy scalars (np.int64 answers from computed shapes)
        if not _finite(self.answer):
            raise ValueError(f"answer: expected a finite number, got {describe(self.answer)}")
        if not _finite(self.tolerance) or not self.tolerance >= 0:
            raise ValueError(f"tolerance: expected a non-negative number, got {describe(self.tolerance)}")

    def is_correct(self, value) -> bool:
        return value is not None and abs(float(value) - float(self.answer)) <= float(self.tolerance)

    def correct_text(self) -> str:
        text = f"{int(self.answer):,}" if float(self.answer).is_integer() else f"{float(self.answer):g}"
        return text + (f" (± {self.tolerance:g})" if self.tolerance else "")


@dataclass
class Ordering:
    """``items`` are given in the correct order; the quiz shows them shuffled with ``seed``."""

    prompt: str
    items: list
    explanation: str = ""
    seed: int = 0

    def __post_init__(self):
        _check_text(self.prompt, "prompt")
        _check_text(self.explanation, "explanation")
        self.items = _strings(self.items, "items")
        if len(set(self.items)) != len(self.items):
            raise ValueError(f"items: expected distinct strings, got {self.items!r}")

    def shuffled(self) -> list[str]:
        """The items in a seeded order that is never already the correct one."""
        rng = random.Random(self.seed)
        order = list(self.items)
        while order == self.items:
            rng.shuffle(order)
        return order

    def is_correct(self, value) -> bool:
        return list(value) == self.items

    def correct_text(self) -> str:
        return " → ".join(self.items)


_NUMBER = re.compile(r"^[+-]?(\d[\d,_ ]*)?(\.\d*)?([eE][+-]?\d+)?$")


def parse_number(text: str) -> float | None:
    """'196,608,000', '1e6', ' 3.5 ' -> float; anything else -> None."""
    text = str(text).strip().replace("−", "-")
    if not text or not _NUMBER.match(text) or not any(ch.isdigit() for ch in text):
        return None
    try:
        return float(text.replace(",", "").replace("_", "").replace(" ", ""))
    except ValueError:
        return None


class QuestionView(widgets.VBox):
    """One question: prompt, input, Check button, feedback and explanation."""

    def __init__(self, number: int, question, on_check=None):
        if not isinstance(question, (MultipleChoice, Numeric, Ordering)):
            raise TypeError(
                f"questions[{number - 1}]: expected MultipleChoice, Numeric or Ordering, got {type(question).__name__}"
            )
        self.question = question
        self.on_check = on_check
        self.attempts = 0
        self.correct: bool | None = None
        self.prompt_html = widgets.HTMLMath(f"<b>{number}.</b> {to_html(question.prompt)}")
        self.check_button = widgets.Button(description="Check", button_style="primary")
        self.feedback_html = widgets.HTMLMath()
        self.explanation_html = widgets.HTMLMath(layout=widgets.Layout(display="none"))
        self.check_button.on_click(lambda _: self.check())
        body = self._build_input()
        super().__init__(
            [self.prompt_html, body, self.check_button, self.feedback_html, self.explanation_html],
            layout=widgets.Layout(margin="0 0 14px 0"),
        )

    def _build_input(self):
        q = self.question
        if isinstance(q, MultipleChoice):
            labels = [chr(65 + i) for i in range(len(q.options))]
            self.options_html = widgets.HTMLMath(
                "<br>".join(f"<b>{l}.</b> {to_html(o)}" for l, o in zip(labels, q.options))
            )
            self.choice = widgets.ToggleButtons(options=[(l, i) for i, l in enumerate(labels)], value=None)
            return widgets.VBox([self.options_html, self.choice])
        if isinstance(q, Numeric):
            self.number_text = widgets.Text(placeholder="your answer", layout=widgets.Layout(width="220px"))
            return self.number_text
        self.order = q.shuffled()
        self.order_box = widgets.VBox()
        self._render_order()
        return self.order_box

    def _render_order(self):
        rows = []
        for i, item in enumerate(self.order):
            # text arrows, not icons: the icon font comes from a CDN under Voila and may not load offline
            up = widgets.Button(description="↑", tooltip="move up", disabled=i == 0, layout=widgets.Layout(width="36px"))
            down = widgets.Button(
                description="↓", tooltip="move down", disabled=i == len(self.order) - 1, layout=widgets.Layout(width="36px")
            )
            up.on_click(lambda _, i=i: self.move(i, -1))
            down.on_click(lambda _, i=i: self.move(i, +1))
            rows.append(widgets.HBox([up, down, widgets.HTMLMath(f"{i + 1}. {to_html(item)}")]))
        self.order_box.children = rows

    def move(self, index: int, step: int) -> None:
        """Ordering questions: move the item at ``index`` up (-1) or down (+1)."""
        j = index + step
        if 0 <= index < len(self.order) and 0 <= j < len(self.order):
            self.order[index], self.order[j] = self.order[j], self.order[index]
            self._render_order()

    def set_answer(self, value) -> None:
        """Enter an answer as the learner would: option index or text / number or text / list."""
        q = self.question
        if isinstance(q, MultipleChoice):
            if isinstance(value, str) and value in q.options:
                value = q.options.index(value)
            self.choice.value = _index_arg(value, "value", len(q.options), "an option")
        elif isinstance(q, Numeric):
            self.number_text.value = str(value)
        else:
            if not isinstance(value, (list, tuple)) or sorted(map(str, value)) != sorted(q.items) or not all(
                isinstance(v, str) for v in value
            ):
                raise ValueError(f"value: expected a reordering of {q.items}, got {describe(value)}")
            self.order = list(value)
            self._render_order()

    def current_answer(self):
        q = self.question
        if isinstance(q, MultipleChoice):
            return self.choice.value
        if isinstance(q, Numeric):
            return parse_number(self.number_text.value)
        return list(self.order)

    def check(self) -> bool | None:
        """Grade the current answer, show feedback and the explanation. None = no answer given."""
        q = self.question
        value = self.current_answer()
        if value is None:
            if isinstance(q, Numeric) and self.number_text.value.strip():
                self.feedback_html.value = f"Could not read a number from {html.escape(self.number_text.value)!r}."
            else:
                self.feedback_html.value = "Choose an answer first."
            return None
        self.attempts += 1
        self.correct = bool(q.is_correct(value))
        if self.correct:
            self.feedback_html.value = "<span style='color:#2a9d3a'>✔ Correct.</span>"
        else:
            self.feedback_html.value = (
                f"<span style='color:#c0392b'>✘ Not quite.</span> Correct answer: {to_html(q.correct_text())}"
            )
        if q.explanation:
            self.explanation_html.value = to_html(q.explanation)
            self.explanation_html.layout.display = ""
        if self.on_check is not None:
            self.on_check(self)
        return self.correct


class Quiz(widgets.VBox):
    """A list of questions with per-question checking and a running score.

    ``record_as="lesson02"``: each check is also logged to the progress store as
    ``quiz:lesson02:<n>`` (``store`` defaults to ``open_store()``; a store problem never breaks
    the quiz)."""

    def __init__(self, questions, title: str | None = None, *, record_as: str | None = None, store=None):
        if isinstance(questions, (str, bytes, dict)) or not hasattr(questions, "__iter__"):
            raise TypeError(f"questions: expected a list of questions, got {describe(questions)}")
        if title is not None:
            _check_text(title, "title")
        if record_as is not None:
            _check_text(record_as, "record_as")
        questions = list(questions)
        if not questions:
            raise ValueError("questions: expected at least one question, got an empty list")
        self.questions = questions
        self.record_as = record_as
        self._store = store
        self.views = [QuestionView(i + 1, q, on_check=self._checked) for i, q in enumerate(questions)]
        self.score_html = widgets.HTML()
        header = [widgets.HTMLMath(f"<h3>{to_html(title)}</h3>")] if title else []
        super().__init__([*header, *self.views, self.score_html])
        self._update_score()

    def _index(self, i: int) -> int:
        return _index_arg(i, "i", len(self.views), "a question", from_end=True)

    def answer(self, i: int, value, check: bool = True):
        """Answer question ``i`` (0-based) and, by default, check it; returns True/False/None."""
        view = self.views[self._index(i)]
        view.set_answer(value)
        return view.check() if check else None

    def check(self, i: int):
        return self.views[self._index(i)].check()

    def feedback(self, i: int) -> str:
        """The feedback and explanation text shown for question ``i`` (HTML tags removed)."""
        view = self.views[self._index(i)]
        shown = view.feedback_html.value
        if view.explanation_html.layout.display != "none":
            shown += " " + view.explanation_html.value
        return html.unescape(re.sub(r"<[^>]+>", " ", shown)).strip()

    @property
    def score(self) -> int:
        return sum(bool(v.correct) for v in self.views)

    def _checked(self, view) -> None:
        self._update_score()
        if self.record_as:
            try:
                store = self._store
                if store is None:
                    from course_lib.study.store import open_store

                    store = self._store = open_store()
                n = self.views.index(view) + 1
                store.record_check(f"quiz:{self.record_as}:{n}", bool(view.correct), "")
            except Exception:  # noqa: BLE001 - progress is a bonus; never break the quiz
                pass

    def _update_score(self) -> None:
        answered = sum(v.correct is not None for v in self.views)
        self.score_html.value = f"Score: {self.score} / {len(self.views)} ({answered} checked)"

    def __repr__(self) -> str:
        return f"Quiz({len(self.views)} questions)"
