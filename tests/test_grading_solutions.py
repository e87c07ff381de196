"""Every source notebook passes nbgrader's Validator, and its solution scores full marks when
submitted through the release notebook and graded by the real `nbgrader autograde`."""

from __future__ import annotations

import nbformat
import pytest

from test_grading_support import (
    ASSIGNMENTS, REPO, autograde, autograded_cells, filled, make_course, run_nbgrader, scores, submit,
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


# ps1 and ps2 solutions are graded in test_grading.py already.
GRADED_HERE = ("ps3", "ps4", "ps5")


@pytest.fixture(scope="module")
def graded_solutions(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("solutions"), GRADED_HERE)
    run_nbgrader(["generate_assignment", "*", "--force"], course)
    for ps in GRADED_HERE:
        release = nbformat.read(course / "exercises" / ps / f"{ps}.ipynb", as_version=4)
        submit(course, "solution", ps, filled(release, ps))
        autograde(course, ps)
    return {ps: scores(course, ps) for ps in GRADED_HERE}


@pytest.mark.parametrize("ps", GRADED_HERE)
def test_solution_through_release_scores_full_marks(graded_solutions, ps):
    assert graded_solutions[ps]["solution"] == autograded_cells(ps)
