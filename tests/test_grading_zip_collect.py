"""README's zip_collect command, run as written, on an LMS download with a notebook and a zip."""

from __future__ import annotations

import re
import shlex
import zipfile

import nbformat
import pytest

from test_grading_support import ASSIGNMENTS, REPO, generate, make_course, run_nbgrader

pytestmark = pytest.mark.slow  # runs the real nbgrader CLI, like the other grading tests

README = (REPO / "README.md").read_text(encoding="utf-8")


def _readme_zip_collect_args(ps: str) -> list[str]:
    line = next(line for line in README.splitlines() if line.startswith("nbgrader zip_collect psN"))
    args = shlex.split(line.replace("psN", ps))
    assert args[:2] == ["nbgrader", "zip_collect"]
    return args[1:]


@pytest.mark.parametrize("ps", [ASSIGNMENTS[0], ASSIGNMENTS[-1]])  # the regexp's range must reach the last set
def test_readme_zip_collect_takes_notebooks_and_zips(tmp_path, ps):
    course = make_course(tmp_path, (ps,))
    release = generate(course, ps)
    archive = course / "downloaded" / ps / "archive"
    archive.mkdir(parents=True)
    notebook = nbformat.read(release, as_version=4)
    nbformat.write(notebook, archive / f"s001_{ps}.ipynb")  # a notebook renamed by the LMS
    with zipfile.ZipFile(archive / f"s002_{ps}.zip", "w") as zf:  # a student's zip of their folder
        zf.writestr(f"{ps}.ipynb", nbformat.writes(notebook))
    proc = run_nbgrader(_readme_zip_collect_args(ps), course)
    for student in ("s001", "s002"):
        assert (course / "submitted" / student / ps / f"{ps}.ipynb").is_file(), (
            f"{student} was not collected:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    assert not re.search(r"Skipped submission", proc.stdout + proc.stderr)
