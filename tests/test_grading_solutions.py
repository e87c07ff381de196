"""Every source notebook passes nbgrader's Validator; its solution scores full marks and its unchanged
release scores zero when submitted and graded by the real `nbgrader autograde`; and the cheat attempts
of test_grading.py (silenced checks and numpy, wrong answers behind them) gain nothing on problem set 6."""

from __future__ import annotations

import nbformat
import pytest

from test_grading import PATCH_EVERYTHING, _failed, assert_feedback_hides_secrets
from test_grading_support import (
    ASSIGNMENTS, REPO, autograde, autograded_cells, filled, grade_id, make_course, run_nbgrader, scores, submit,
)

pytestmark = pytest.mark.slow  # runs the real nbgrader CLI (tens of seconds)


@pytest.mark.parametrize("ps", ASSIGNMENTS)
def test_source_notebook_passes_the_nbgrader_validator(ps, monkeypatch, tmp_path):
    from nbgrader.validator import Validator

    monkeypatch.setenv("COURSE_LIB_GRADING", "1")
    monkeypatch.setenv("COURSE_LIB_PROGRESS_DB", str(tmp_path / "progress.sqlite3"))
    result = Validator().validate(str(REPO / "solutions" / ps / f"{ps}.ipynb"))
    assert not result.get("failed"), [f.get("error", f.get("source", ""))[-500:] for f in result["failed"]]
    assert not result.get("type_changed") and not result.get("changed"), result


# ps1 and ps2 are graded in test_grading.py already (solution, blank and the cheat attempts on ps2).
GRADED_HERE = ("ps3", "ps4", "ps5", "ps6", "ps7")

# Problem set 6: plausible wrong answers behind visible checks (and numpy, and torch's functional conv) silenced.
SILENCE = PATCH_EVERYTHING + """\
import torch.nn.functional as _F
_F.conv_transpose2d = lambda *args, **kwargs: None
"""
FULL_CONV_BLOCK = '''\
class DepthwiseSeparable(nn.Module):
    """Wrong: the 3x3 conv has groups=1 (a full conv), so the block is not separable."""

    def __init__(self, c_in, c_out, stride=1):
        super().__init__()
        self.depthwise = nn.Conv2d(c_in, c_in, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_in)
        self.pointwise = nn.Conv2d(c_in, c_out, kernel_size=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)

    def forward(self, x):
        return F.relu(self.bn2(self.pointwise(F.relu(self.bn1(self.depthwise(x))))))
'''
NO_OUTPUT_PADDING = '''\
def conv_transpose2d(x, w, stride=1, padding=0, output_padding=0):
    """Wrong: output_padding is ignored."""
    n, c_in, h, wd = x.shape
    _, c_out, kh, kw = w.shape
    canvas = np.zeros((n, c_out, (h - 1) * stride + kh, (wd - 1) * stride + kw))
    for i in range(h):
        for j in range(wd):
            canvas[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw] += np.einsum("nc,cokl->nokl", x[:, :, i, j], w)
    return canvas[:, :, padding:canvas.shape[2] - padding, padding:canvas.shape[3] - padding]
'''
BATCH_STATS_ALWAYS = '''\
def batch_norm2d(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    """Wrong: batch statistics in both modes, running statistics never updated."""
    mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    return gamma[None, :, None, None] * (x - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + eps) + beta[None, :, None, None]
'''
FULL_CONV_COUNTS = '''\
sep_params = 512 * 512 * 9
sep_macs = 2 * 14 * 14 * (512 * 9 + 512 * 512)
ir_params = 24 * 144 + 144 * 9 + 144 * 24
ir_macs = 2 * 56 * 56 * (24 * 144 + 144 * 9 + 144 * 24)
'''
PS6_WRONG = {"q1-answer": SILENCE + FULL_CONV_BLOCK, "q2-answer": NO_OUTPUT_PADDING,
             "q3-answer": BATCH_STATS_ALWAYS, "q4-answer": FULL_CONV_COUNTS}


@pytest.fixture(scope="module")
def graded_solutions(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("solutions"), GRADED_HERE)
    run_nbgrader(["generate_assignment", "*", "--force"], course)
    for ps in GRADED_HERE:
        release = nbformat.read(course / "exercises" / ps / f"{ps}.ipynb", as_version=4)
        submit(course, "solution", ps, filled(release, ps))
        submit(course, "blank", ps, release)
    ps6 = nbformat.read(course / "exercises" / "ps6" / "ps6.ipynb", as_version=4)
    submit(course, "patcher", "ps6", filled(ps6, "ps6", PS6_WRONG))
    submit(course, "nooutpad", "ps6", filled(ps6, "ps6", {"q2-answer": NO_OUTPUT_PADDING}))
    for ps in GRADED_HERE:
        autograde(course, ps)
    run_nbgrader(["generate_feedback", "ps6", "--force"], course)
    return course, {ps: scores(course, ps) for ps in GRADED_HERE}


@pytest.mark.parametrize("ps", GRADED_HERE)
def test_solution_through_release_scores_full_marks(graded_solutions, ps):
    assert graded_solutions[1][ps]["solution"] == autograded_cells(ps)


@pytest.mark.parametrize("ps", GRADED_HERE)
def test_unchanged_release_scores_zero(graded_solutions, ps):
    got = graded_solutions[1][ps]["blank"]
    assert set(got) == set(autograded_cells(ps)) and all(v == 0 for v in got.values()), got


def test_ps6_silenced_checks_and_numpy_gain_nothing_on_hidden_tests(graded_solutions):
    course, table = graded_solutions
    assert _failed(table["ps6"]["patcher"], "ps6") == set(autograded_cells("ps6")), table["ps6"]["patcher"]
    nb = nbformat.read(course / "autograded" / "patcher" / "ps6" / "ps6.ipynb", as_version=4)
    outputs = {grade_id(c): c.outputs for c in nb.cells if c.cell_type == "code"}
    # the visible check was silenced (no "passed", no diagnosis): only the hidden assert fired, in one line
    outs = outputs["q2-test"]
    assert [o.output_type for o in outs] == ["error"], outs
    assert outs[0]["evalue"] == "conv_transpose2d gives wrong results on an unseen input"
    assert len(outs[0]["traceback"]) == 1


def test_ps6_ignoring_output_padding_fails_only_the_transposed_conv_cells(graded_solutions):
    _, table = graded_solutions
    assert _failed(table["ps6"]["nooutpad"], "ps6") == {"q2-test", "q2-test-gradient"}


@pytest.mark.parametrize("student", ["solution", "blank", "patcher"])
def test_ps6_feedback_html_contains_no_hidden_test_source_or_mark_scheme(graded_solutions, student):
    assert_feedback_hides_secrets(graded_solutions[0], "ps6", student, "checks.check_conv_transpose2d(conv_transpose2d)",
                                  "54,591,488 MACs", 40)
