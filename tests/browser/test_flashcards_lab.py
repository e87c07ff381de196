"""The flashcard review notebook in JupyterLab: review a card, restart, find the progress kept."""

from __future__ import annotations

import pytest

from . import _lab, _review
from .conftest import unexpected_console_errors

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

NOTEBOOK = "flashcards/review.ipynb"


def test_review_rate_restart_keeps_progress(lab, page):
    _lab.open_in_lab(page, lab, NOTEBOOK, "review")
    _lab.run_all_cells(page)
    assert not _lab.error_outputs(page), _lab.error_outputs(page)

    start = _review.read_state(page)
    today_before = _review.reviews_today(page)
    assert start.reviewed == 0 and start.total >= 2, f"expected a fresh session with cards due, got {start}"
    assert start.front, "the current card shows no question"
    page.shot("1-question")

    back = _review.reveal(page)
    assert back and back != start.front, "Reveal did not show the answer"
    page.shot("2-revealed")

    # Easy schedules the card days ahead, so it leaves this session for good.
    after = _review.rate(page, "Easy", start)
    page.shot("3-rated")
    assert (after.reviewed, after.total) == (1, start.total), f"session progress after one rating: {after}"
    assert start.bar_percent == 0 and after.bar_percent == pytest.approx(100 / start.total, abs=0.5), (
        f"progress bar: {start.bar_percent}% -> {after.bar_percent}%, expected 0% -> {100 / start.total:.1f}%"
    )
    assert after.front and after.front != start.front, "the next card did not appear"
    page.get_by_text("rated Easy").first.wait_for(timeout=10_000)
    _review.wait_reviews_today(page, today_before + 1)

    # Kernel ▸ Restart Kernel…, accept the dialog, run everything again.
    page.evaluate("() => { window.jupyterapp.commands.execute('kernelmenu:restart'); }")
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(state="visible", timeout=30_000)
    page.shot("4-restart-dialog")
    accept = dialog.locator("button.jp-mod-accept")
    assert "Restart" in accept.inner_text(), f"unexpected dialog: {dialog.inner_text()!r}"
    accept.click()
    dialog.wait_for(state="detached", timeout=30_000)
    _lab.wait_kernel_idle(page)
    _lab.run_all_cells(page)
    assert not _lab.error_outputs(page), _lab.error_outputs(page)

    again = _review.read_state(page)
    page.shot("5-after-restart")
    assert again.reviewed == 0, f"a new session starts at 0 reviewed, got {again}"
    assert again.total == start.total - 1, (
        f"the card rated Easy should no longer be due after the restart: {start.total} due before, {again.total} now"
    )
    assert again.front != start.front, "the card rated Easy came back: the rating was not kept"
    assert _review.reviews_today(page) == today_before + 1, "the review count was not kept across the restart"

    # The keyboard: Space reveals and 4 rates Easy while the mouse is over the card. In JupyterLab's
    # command mode these keys would otherwise run notebook commands (4 makes the cell a heading).
    cells = [(c["type"], c["source"]) for c in _lab.cell_sources(page)]
    back = _review.reveal_by_key(page)
    assert back and back != again.front, "Space over the card did not show the answer"
    page.shot("6-revealed-by-key")
    by_key = _review.rate_by_key(page, "4", again)
    page.shot("7-rated-by-key")
    assert (by_key.reviewed, by_key.total) == (1, again.total), f"session after the 4 key: {by_key}"
    page.get_by_text("rated Easy").first.wait_for(timeout=10_000)
    _review.wait_reviews_today(page, today_before + 2)
    assert [(c["type"], c["source"]) for c in _lab.cell_sources(page)] == cells, "a key over the card reached JupyterLab and changed a cell"
    assert not unexpected_console_errors(page.console_errors), unexpected_console_errors(page.console_errors)
