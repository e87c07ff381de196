"""An exercise in JupyterLab: a wrong conv1d gets a diagnosis, the fixed one passes the self-check."""

from __future__ import annotations

import json
import re

import pytest

from . import _lab
from .conftest import REPO_ROOT, unexpected_console_errors

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

# A plausible first attempt: np.convolve flips the kernel (a true convolution), so every
# output is the cross-correlation with the kernel reversed. Shapes and stride are right.
WRONG_CONV1D = '''\
def conv1d(x, w, b=None, stride=1):
    c_out, c_in, k = w.shape
    rows = []
    for o in range(c_out):
        total = sum(np.convolve(x[c], w[o, c], mode="valid") for c in range(c_in))
        rows.append(total[::stride] + (0.0 if b is None else b[o]))
    return np.array(rows)
'''
# The fix the diagnosis suggests: reverse the kernel so np.convolve cross-correlates.
FIXED_CONV1D = WRONG_CONV1D.replace("w[o, c], mode", "w[o, c, ::-1], mode")


def _find_conv1d_exercise():
    """(path, setup index, answer index, check indices) of the released exercise asking for conv1d."""
    for path in sorted((REPO_ROOT / "exercises").glob("ps*/ps*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        sources = ["".join(c["source"]) for c in cells]
        meta = [c.get("metadata", {}).get("nbgrader", {}) for c in cells]
        answer = next((i for i, (s, m) in enumerate(zip(sources, meta))
                       if m.get("solution") and re.search(r"^def conv1d\(", s, re.M)), None)
        if answer is None:
            continue
        check = next((i for i, s in enumerate(sources) if i > answer and "check_conv1d(conv1d)" in s), None)
        setup = next((i for i, m in enumerate(meta) if m.get("grade_id") == "setup"), None)
        if check is None or setup is None:
            continue
        between = [i for i in range(answer + 1, check)
                   if meta[i].get("grade") and cells[i]["cell_type"] == "code" and "conv1d(" in sources[i]]
        return path.relative_to(REPO_ROOT).as_posix(), setup, answer, [*between, check]
    pytest.fail("no exercises/psN/psN.ipynb has a conv1d answer cell followed by checks.check_conv1d(conv1d)")


def _cell_output_text(page, index: int) -> str:
    return _lab.cell_locator(page, index).locator(".jp-OutputArea").inner_text()


def _cell_has_error(page, index: int) -> bool:
    return _lab.cell_locator(page, index).locator(_lab.ERROR_OUTPUT_SELECTOR).count() > 0


def test_wrong_conv1d_is_diagnosed_then_fixed(lab, page):
    path, setup, answer, checks = _find_conv1d_exercise()
    check = checks[-1]
    _lab.open_in_lab(page, lab, path, "exercise")
    _lab.run_cell(page, setup)
    assert not _cell_has_error(page, setup), _cell_output_text(page, setup)

    _lab.replace_cell_source_by_typing(page, answer, WRONG_CONV1D)
    assert _lab.cell_sources(page)[answer]["source"].strip() == WRONG_CONV1D.strip(), "typing into the answer cell failed"
    for index in [answer, *checks]:
        _lab.run_cell(page, index)
    _lab.cell_locator(page, check).scroll_into_view_if_needed()
    page.shot("1-wrong-answer-diagnosed")
    feedback = _cell_output_text(page, check)
    assert _cell_has_error(page, check), f"the check did not fail on a flipped kernel: {feedback!r}"
    assert re.search(r"kernel reversed|flipped", feedback, re.I), f"no diagnosis of the flipped kernel: {feedback!r}"
    assert "np.convolve" in feedback, f"the hint does not name np.convolve: {feedback!r}"
    assert not re.search(r"\[conv1d\] passed", feedback), "a failing check also printed a pass"

    _lab.replace_cell_source_by_typing(page, answer, FIXED_CONV1D)
    for index in [answer, *checks]:
        _lab.run_cell(page, index)
    _lab.cell_locator(page, check).scroll_into_view_if_needed()
    page.shot("2-fixed-answer-passes")
    result = _cell_output_text(page, check)
    assert not _cell_has_error(page, check), f"the fixed conv1d still fails: {result!r}"
    assert re.search(r"\[conv1d\] passed", result), f"no pass message: {result!r}"
    assert not unexpected_console_errors(page.console_errors), unexpected_console_errors(page.console_errors)
