"""Lessons in JupyterLab, as a learner meets them: open, run all, play with the conv explorer."""

from __future__ import annotations

import re

import pytest

from . import _lab
from .conftest import unexpected_console_errors

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

# "n_out = ⌊(n + p_before + p_after − d·(k − 1) − 1) / s⌋ + 1 = ⌊(12 + 0 + 0 − 1·(3 − 1) − 1) / 1⌋ + 1 = 10"
FORMULA = re.compile(
    r"=\s*⌊\((\d+) \+ (\d+) \+ (\d+) − (\d+)·\((\d+) − 1\) − 1\) / (\d+)⌋ \+ 1 = (-?\d+)"
)
# "Receptive field of one unit d·(k − 1) + 1 = 1·(3 − 1) + 1 = 3 × 3 cells"; "Parameters ... = 20"
RECEPTIVE_FIELD = re.compile(r"Receptive field[^\n]*?= (\d+)(?: × \d+ cells| steps)")
PARAMETERS = re.compile(r"Parameters[^\n]*= (\d+)\s*$", re.M)


def _assert_clean_run(page, where: str) -> None:
    errors = _lab.error_outputs(page)
    assert not errors, f"{where}: cells show errors after Run All:\n" + "\n---\n".join(e[:1500] for e in errors)
    unexpected = unexpected_console_errors(page.console_errors)
    assert not unexpected, f"{where}: JavaScript console errors:\n" + "\n".join(unexpected)


def test_start_here_runs_clean(lab, page):
    _lab.open_in_lab(page, lab, "lessons/00_start_here.ipynb", "lesson00")
    _lab.run_all_cells(page)
    page.shot("after-run-all")
    sources = _lab.cell_sources(page)
    assert sum(c["type"] == "code" for c in sources) >= 1, "lesson 00 has no code cell to run"
    prompts = page.eval_on_selector_all(
        ".jp-Notebook .jp-CodeCell .jp-InputPrompt", "els => els.map(e => e.textContent.trim())"
    )
    assert prompts and all(re.fullmatch(r"\[\d+\]:", p) for p in prompts), f"not every code cell ran: {prompts}"
    _assert_clean_run(page, "lessons/00_start_here.ipynb")


def _explorer_parts(page):
    """The first ConvExplorer on the page: its output area, kernel-size slider, formula, figure."""
    slider = page.locator(".jp-OutputArea-output .widget-slider").filter(
        has=page.locator(".widget-label", has_text=re.compile(r"^\s*kernel size\s*$"))
    ).first
    slider.scroll_into_view_if_needed()
    area = slider.locator("xpath=ancestor::div[contains(@class, 'jp-OutputArea-output')][1]")
    formula = area.locator(".widget-html-content").filter(has_text="n_out").first
    image = area.locator("img.widget-image").first
    return area, slider, formula, image


def _formula_numbers(text: str) -> dict:
    match = FORMULA.search(text)
    assert match, f"no output-size formula with numbers in the explorer: {text[:400]!r}"
    n, before, after, d, k, s, n_out = map(int, match.groups())
    field, params = RECEPTIVE_FIELD.search(text), PARAMETERS.search(text)
    assert field and params, f"no receptive field / parameter count in the explorer: {text!r}"
    return dict(n=n, before=before, after=after, d=d, k=k, s=s, n_out=n_out,
                field=int(field.group(1)), params=int(params.group(1)))


def test_conv_explorer_reacts_to_its_slider(lab, page):
    _lab.open_in_lab(page, lab, "lessons/02_local_connectivity.ipynb", "lesson02")
    _lab.run_all_cells(page)
    _assert_clean_run(page, "lessons/02_local_connectivity.ipynb")

    area, slider, formula, image = _explorer_parts(page)
    image.wait_for(state="visible")
    area.scroll_into_view_if_needed()
    page.shot("explorer-before")
    before = _formula_numbers(formula.inner_text())
    src_before = image.get_attribute("src")
    readout = slider.locator(".widget-readout")
    assert readout.inner_text().strip() == str(before["k"]), "slider readout and formula disagree on k"

    # Keyboard on the slider handle, as a learner without a mouse would do it.
    handle = slider.locator(".noUi-handle").first
    handle.focus()
    step = "ArrowLeft" if before["k"] >= 5 else "ArrowRight"
    page.keyboard.press(step)
    expected_k = before["k"] + (1 if step == "ArrowRight" else -1)
    page.wait_for_function(
        r"""([el, k]) => {
          const m = el.innerText.match(/·\((\d+) − 1\) − 1\)/);
          return m !== null && Number(m[1]) === k;
        }""",
        arg=[formula.element_handle(), expected_k],
        timeout=30_000,
    )
    page.wait_for_function(
        "([img, old]) => img.isConnected ? img.getAttribute('src') !== old : true",
        arg=[image.element_handle(), src_before],
        timeout=30_000,
    )
    _, slider, formula, image = _explorer_parts(page)
    image.wait_for(state="visible")
    after = _formula_numbers(formula.inner_text())
    page.shot("explorer-after")

    assert slider.locator(".widget-readout").inner_text().strip() == str(expected_k)
    assert after["k"] == expected_k, f"formula shows k={after['k']}, slider moved to {expected_k}"
    # The numbers shown are the formula's own result, and they moved with the slider.
    span = after["d"] * (after["k"] - 1) + 1
    room = after["n"] + after["before"] + after["after"] - span
    assert after["n_out"] == room // after["s"] + 1, f"the formula does not add up: {after}"
    assert after["field"] == span, f"receptive field shown {after['field']}, formula gives {span}"
    assert after["field"] != before["field"] and after["params"] != before["params"], (
        f"receptive field / parameter count did not follow the slider: {before} -> {after}"
    )
    assert image.get_attribute("src") != src_before, "the drawn figure did not change"
    _assert_clean_run(page, "lessons/02_local_connectivity.ipynb after moving the slider")
    _report_round_trips(page, slider, image)


def _report_round_trips(page, slider, image, moves: int = 8) -> None:
    """Time slider moved (key press) -> new figure decoded and shown (the image's load event), and print it."""
    handle = slider.locator(".noUi-handle").first
    handle.focus()
    img = image.element_handle()
    times = []
    for i in range(moves):
        page.evaluate(
            """img => { window.__shown = null;
                        img.addEventListener('load', () => { window.__shown = performance.now(); }, {once: true});
                        window.__moved = performance.now(); }""",
            img,
        )
        page.keyboard.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
        page.wait_for_function("() => window.__shown !== null", timeout=30_000)
        times.append(page.evaluate("() => window.__shown - window.__moved"))
    times.sort()
    median = times[len(times) // 2] if len(times) % 2 else (times[len(times) // 2 - 1] + times[len(times) // 2]) / 2
    print(f"\nConvExplorer browser round trip (key press on the kernel-size slider -> new figure loaded), "
          f"{moves} moves: median {median:.0f} ms, max {times[-1]:.0f} ms, all {[round(t) for t in times]}")
    assert all(t > 0 for t in times)
