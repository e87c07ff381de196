"""The real nbgrader pipeline on submissions built from the release notebooks (ps1, ps2).

One temporary course folder, generated with `nbgrader generate_assignment`, graded with
`nbgrader autograde` (per-cell timeout 8 s), scores read through nbgrader.api.Gradebook.
"""

from __future__ import annotations

import html
import re

import nbformat
import pytest

from test_grading_support import (
    REPO, autograde, autograded_cells, filled, grade_id, make_course, run_nbgrader, scores, submit,
)

pytestmark = pytest.mark.slow  # runs the real nbgrader CLI (tens of seconds)

CONVOLVE = '''\
def conv1d(x, w, b=None, stride=1):
    """Plausible but wrong: np.convolve flips the kernel."""
    c_out, c_in, k = w.shape
    y = np.stack([sum(np.convolve(x[c], w[o, c], mode="valid") for c in range(c_in)) for o in range(c_out)])
    y = y[:, ::stride]
    if b is not None:
        y = y + b[:, None]
    return y
'''
RAISES = '''\
def conv1d(x, w, b=None, stride=1):
    raise ValueError("I gave up")
'''
LOOPS = '''\
def conv1d(x, w, b=None, stride=1):
    while True:
        pass
'''
SHARED_LOCAL = '''\
def locally_connected1d(x, w, b=None, stride=1):
    """Wrong: uses the first position's kernel everywhere (that is a convolution)."""
    l_out, c_out, c_in, k = w.shape
    y = np.stack([np.sum(w[0] * x[None, :, i * stride:i * stride + k], axis=(1, 2)) for i in range(l_out)], axis=1)
    return y + (b if b is not None else 0)
'''
PATCH_EVERYTHING = '''\
import course_lib.checks as _c
for _name in dir(_c):
    if _name.startswith("check_"):
        setattr(_c, _name, lambda *args, **kwargs: None)
np.allclose = lambda *args, **kwargs: True
np.isclose = lambda *args, **kwargs: True
np.array_equal = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None
np.testing.assert_array_almost_equal = lambda *args, **kwargs: None
'''
NOISY = '''\
import sys, warnings
print("debug: about to define things", file=sys.stderr)
warnings.warn("this answer cell warns")
sys.__stderr__.write("raw stderr\\n")
'''
NOISY_FUNCTION_LINE = '    print("conv1d called", file=sys.stderr); warnings.warn("conv1d warns")\n'


def _release(course, ps):
    return nbformat.read(course / "exercises" / ps / f"{ps}.ipynb", as_version=4)


def _solution(ps, gid):
    from test_grading_support import solution_sources, strip_delimiters

    return strip_delimiters(solution_sources(ps)[gid])


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("grading"), ("ps1", "ps2"), "c.Execute.timeout = 8")
    run_nbgrader(["generate_assignment", "*", "--force"], course)
    ps1, ps2 = _release(course, "ps1"), _release(course, "ps2")
    submit(course, "solution", "ps1", filled(ps1, "ps1"))
    submit(course, "blank", "ps1", ps1)

    submit(course, "solution", "ps2", filled(ps2, "ps2"))
    submit(course, "blank", "ps2", ps2)
    submit(course, "convolve", "ps2", filled(ps2, "ps2", {"q2-answer": CONVOLVE}))
    submit(course, "raises", "ps2", filled(ps2, "ps2", {"q2-answer": RAISES}))
    submit(course, "loops", "ps2", filled(ps2, "ps2", {"q2-answer": LOOPS}))

    tamper = filled(ps2, "ps2", {"q2-answer": CONVOLVE})
    for cell in tamper.cells:
        if grade_id(cell) == "q2-test-values":
            cell.source = "pass  # nothing to see here"
    tamper.cells = [c for c in tamper.cells if grade_id(c) != "q3-test"]
    submit(course, "tamper", "ps2", tamper)

    patcher = filled(ps2, "ps2", {"q1-answer": PATCH_EVERYTHING + "\n" + _solution("ps2", "q1-answer"),
                                   "q2-answer": CONVOLVE, "q3-answer": SHARED_LOCAL})
    submit(course, "patcher", "ps2", patcher)

    noisy_conv = _solution("ps2", "q2-answer").replace('    """x (C_in, L)', NOISY_FUNCTION_LINE + '    """x (C_in, L)', 1)
    assert NOISY_FUNCTION_LINE in noisy_conv
    submit(course, "noisy", "ps2", filled(ps2, "ps2", {"q1-answer": NOISY + _solution("ps2", "q1-answer"), "q2-answer": noisy_conv}))

    autograde(course, "ps1")
    autograde(course, "ps2")
    run_nbgrader(["generate_feedback", "ps2", "--force"], course)
    return course, {"ps1": scores(course, "ps1"), "ps2": scores(course, "ps2")}


def _full(ps):
    return autograded_cells(ps)


@pytest.mark.parametrize("ps", ["ps1", "ps2"])
def test_solution_scores_full_marks_on_every_autograded_cell(graded, ps):
    _, table = graded
    assert table[ps]["solution"] == _full(ps)


@pytest.mark.parametrize("ps", ["ps1", "ps2"])
def test_unchanged_release_scores_zero(graded, ps):
    _, table = graded
    got = table[ps]["blank"]
    assert set(got) == set(_full(ps)) and all(v == 0 for v in got.values()), got


def _failed(row, ps):
    full = _full(ps)
    return {gid for gid, pts in full.items() if (row.get(gid) or 0) < pts}


def test_np_convolve_fails_only_the_cells_that_test_conv1d_values(graded):
    _, table = graded
    assert _failed(table["ps2"]["convolve"], "ps2") == {"q2-test-values"}


def test_raising_answer_scores_zero_on_its_cells_only(graded):
    _, table = graded
    assert _failed(table["ps2"]["raises"], "ps2") == {"q2-test-shape", "q2-test-values"}


def test_infinite_loop_times_out_and_grading_goes_on(graded):
    course, table = graded
    assert _failed(table["ps2"]["loops"], "ps2") == {"q2-test-shape", "q2-test-values"}
    nb = nbformat.read(course / "autograded" / "loops" / "ps2" / "ps2.ipynb", as_version=4)
    errors = {o.get("ename") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"}
    assert "CellTimeoutError" in errors or "KeyboardInterrupt" in errors, errors


def test_edited_or_deleted_locked_test_cells_earn_nothing(graded):
    course, table = graded
    row = table["ps2"]["tamper"]
    # q2-test-values was replaced by `pass`: nbgrader restores it from the gradebook, so it runs and fails.
    assert row["q2-test-values"] == 0
    # q3-test was deleted: no points, although the locally connected answer is right.
    assert not row.get("q3-test")
    nb = nbformat.read(course / "autograded" / "tamper" / "ps2" / "ps2.ipynb", as_version=4)
    restored = next(c for c in nb.cells if grade_id(c) == "q2-test-values")
    assert "checks.check_conv1d(conv1d)" in restored.source
    assert _failed(row, "ps2") == {"q2-test-values", "q3-test"}


def test_monkeypatching_checks_and_numpy_gains_nothing_on_hidden_tests(graded):
    course, table = graded
    row = table["ps2"]["patcher"]
    assert _failed(row, "ps2") == {"q2-test-values", "q3-test"}
    nb = nbformat.read(course / "autograded" / "patcher" / "ps2" / "ps2.ipynb", as_version=4)
    outputs = {grade_id(c): c.outputs for c in nb.cells if c.cell_type == "code"}
    # the visible check really was silenced (no "passed" line, no diagnosis); only the hidden assert fired,
    # with a one-line message that quotes no test source
    outs = outputs["q2-test-values"]
    assert [o.output_type for o in outs] == ["error"]
    assert outs[0]["evalue"] == "conv1d gives wrong values on an unseen input"
    assert len(outs[0]["traceback"]) == 1


def test_stderr_and_warnings_in_answers_do_not_cost_points(graded):
    _, table = graded
    assert table["ps2"]["noisy"] == _full("ps2")


def _visible_text(html_text: str) -> str:
    text = html.unescape(re.sub(r"<[^>]+>", "", html_text))
    return re.sub(r"\s+", " ", text)


def _hidden_lines(ps: str) -> list[str]:
    nb = nbformat.read(REPO / "solutions" / ps / f"{ps}.ipynb", as_version=4)
    lines = []
    for cell in nb.cells:
        inside = False
        for line in cell.source.splitlines():
            if "### BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "### END HIDDEN TESTS" in line:
                inside = False
            elif inside and len(line.strip()) >= 10:
                lines.append(re.sub(r"\s+", " ", line.strip()))
    return lines


def assert_feedback_hides_secrets(course, ps: str, student: str, visible: str, scheme_line: str, min_hidden: int) -> None:
    """The feedback page shows the visible test source `visible` (positive control) and no line of a hidden
    test (beyond lines the student wrote in their own answers), no traceback of one, no mark scheme."""
    page = _visible_text((course / "feedback" / student / ps / f"{ps}.html").read_text(encoding="utf-8"))
    assert visible in page
    hidden = _hidden_lines(ps)
    assert len(hidden) > min_hidden
    submitted = nbformat.read(course / "submitted" / student / ps / f"{ps}.ipynb", as_version=4)
    own = "\n".join(c.source for c in submitted.cells if c.metadata.get("nbgrader", {}).get("solution"))
    leaked = [line for line in hidden if line in page and line not in own]  # a student's own loops are not a leak
    assert not leaked, leaked[:3]
    assert "BEGIN HIDDEN TESTS" not in page and "set_mode" not in page  # not even quoted by a traceback
    assert "MARK SCHEME" not in page and scheme_line not in page


@pytest.mark.parametrize("student", ["solution", "blank", "convolve", "raises", "patcher", "loops"])
def test_feedback_html_contains_no_hidden_test_source(graded, student):
    assert_feedback_hides_secrets(graded[0], "ps2", student, "checks.check_conv1d(conv1d)",
                                  "1 point: the locally connected layer has different weights", 20)
