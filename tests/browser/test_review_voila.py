"""Voilà serves the flashcard review as an app: no code on the page, and the review works."""

from __future__ import annotations

import json

import pytest

from . import _review
from .conftest import KNOWN_VOILA_EXTENSION_CONSOLE, REPO_ROOT, unexpected_console_errors

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def _code_lines() -> list[str]:
    """Distinctive source lines of the notebook's code cells (long enough not to occur in prose)."""
    nb = json.loads((REPO_ROOT / "flashcards" / "review.ipynb").read_text())
    lines = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            source = "".join(cell["source"])
            lines += [line.strip() for line in source.splitlines() if len(line.strip()) >= 12]
    return lines


def test_voila_review_hides_code_and_reviews(voila_review, page):
    page.goto(voila_review.url(""))
    start = _review.read_state(page)
    today_before = _review.reviews_today(page)
    page.shot("1-app")

    body = page.inner_text("body")
    code_lines = _code_lines()
    assert code_lines, "review.ipynb has no code cell with a line to look for"
    shown = [line for line in code_lines if line in body]
    assert not shown, f"Voilà shows notebook code: {shown}"
    assert page.locator(".cm-editor, .CodeMirror, .jp-InputArea-editor").count() == 0, "a code editor is on the page"
    visible_inputs = page.locator(".jp-CodeCell .jp-InputArea").evaluate_all(
        "els => els.filter(e => e.offsetParent !== null && e.innerText.trim() !== '').map(e => e.innerText)"
    )
    assert not visible_inputs, f"code input areas with text: {visible_inputs}"

    assert start.reviewed == 0 and start.total >= 1 and start.front, f"no card to review: {start}"
    back = _review.reveal(page)
    assert back and back != start.front
    page.shot("2-revealed")
    after = _review.rate(page, "Good", start)
    page.shot("3-rated")
    assert after.reviewed == 1, after
    assert after.front != start.front or after.total > 1, "the next card did not appear"
    page.get_by_text("rated Good").first.wait_for(timeout=10_000)
    _review.wait_reviews_today(page, today_before + 1)  # the rating reached the progress store

    # The same with the keyboard: Space reveals, 3 rates Good (mouse over the card).
    back = _review.reveal_by_key(page)
    assert back, "Space over the card did not show the answer"
    by_key = _review.rate_by_key(page, "3", after)
    page.shot("4-rated-by-key")
    assert by_key.reviewed == 2, by_key
    _review.wait_reviews_today(page, today_before + 2)

    unexpected = [
        e for e in unexpected_console_errors(page.console_errors) if not KNOWN_VOILA_EXTENSION_CONSOLE.search(e)
    ]
    assert not unexpected, "JavaScript console errors in Voilà:\n" + "\n".join(unexpected)
