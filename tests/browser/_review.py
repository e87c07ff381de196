"""Reading and driving the flashcard review widget (course_lib.widgets.flashcards) in a page.

Works in JupyterLab and in Voilà: both render ipywidgets with the same DOM classes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SESSION = re.compile(r"^\s*(\d+) / (\d+) reviewed\s*$")
REVIEWS_TODAY = re.compile(r"Reviews today\s*(\d+)")


@dataclass(frozen=True)
class ReviewState:
    reviewed: int
    total: int
    front: str
    bar_percent: float  # width of the session progress bar, in % of its track


def widget_button(scope, label: str):
    """The ipywidgets Button whose text is ``label`` (its icon glyph is not part of the match)."""
    return scope.locator("button.widget-button").filter(has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))


def session_label(page):
    return page.locator(".widget-label").filter(has_text=SESSION).first


def review_widget(page):
    """The FlashcardReview panel: the widget box holding the session label and the Reveal button."""
    return page.locator(".widget-vbox").filter(has=session_label(page)).filter(has=widget_button(page, "Reveal")).last


def read_state(page) -> ReviewState:
    """Session counts, the front of the current card and the progress bar of the review widget."""
    label = session_label(page)
    label.wait_for(state="visible", timeout=60_000)
    match = SESSION.match(label.inner_text())
    assert match, f"unexpected session label {label.inner_text()!r}"
    box = review_widget(page)
    front = box.locator(".widget-htmlmath").first.inner_text().strip()
    bar = box.locator(".widget-hprogress .progress-bar").first
    percent = float(bar.evaluate("e => parseFloat(e.style.width || '0')"))
    return ReviewState(int(match.group(1)), int(match.group(2)), front, percent)


def reviews_today(page) -> int:
    """The "Reviews today" number of the progress panel (read from the progress store)."""
    table = page.locator(".widget-html-content").filter(has_text="Reviews today").first
    table.wait_for(state="visible", timeout=60_000)
    match = REVIEWS_TODAY.search(table.inner_text())
    assert match, f"no 'Reviews today' number in {table.inner_text()!r}"
    return int(match.group(1))


def _answer_shown(page) -> str:
    """Wait until the rating buttons are enabled and the back shows; return the back's text."""
    box = review_widget(page)
    page.wait_for_function("(b) => !b.disabled", arg=widget_button(box, "Easy").element_handle(), timeout=30_000)
    back = box.locator(".widget-htmlmath").nth(1)
    back.wait_for(state="visible", timeout=30_000)
    return back.inner_text().strip()


def _moved_on(page, before: ReviewState) -> ReviewState:
    """Wait until the session label counts one more review than ``before``; return the new state."""
    page.wait_for_function(
        "([el, n]) => { const m = el.innerText.match(/(\\d+) \\/ (\\d+) reviewed/); return m && Number(m[1]) === n; }",
        arg=[session_label(page).element_handle(), before.reviewed + 1],
        timeout=30_000,
    )
    return read_state(page)


def reveal(page) -> str:
    """Press Reveal; return the back of the card once it shows."""
    widget_button(review_widget(page), "Reveal").click()
    return _answer_shown(page)


def rate(page, rating: str, before: ReviewState) -> ReviewState:
    """Press the ``rating`` button and wait until the session label moves on."""
    widget_button(review_widget(page), rating).click()
    return _moved_on(page, before)


def wait_reviews_today(page, expected: int, timeout: float = 30_000) -> None:
    """Wait until the progress panel shows ``expected`` reviews today."""
    page.wait_for_function(
        r"""(n) => [...document.querySelectorAll('.widget-html-content')]
                   .some(e => { const m = e.innerText.match(/Reviews today\s*(\d+)/); return m && Number(m[1]) === n; })""",
        arg=expected,
        timeout=timeout,
    )


def press_key(page, key: str) -> None:
    """Point at the card (ipyevents listens while the mouse is over it) and press ``key`` (Playwright name)."""
    front = review_widget(page).locator(".widget-htmlmath").first
    front.hover()
    page.wait_for_function("(el) => el.closest('.ipyevents-watched') !== null", arg=front.element_handle(), timeout=10_000)
    page.keyboard.press(key)


def reveal_by_key(page) -> str:
    """Space over the card; return the back once it shows."""
    press_key(page, "Space")
    return _answer_shown(page)


def rate_by_key(page, digit: str, before: ReviewState) -> ReviewState:
    """Press ``digit`` (1 Again … 4 Easy) over the card and wait until the session label moves on."""
    press_key(page, digit)
    return _moved_on(page, before)
