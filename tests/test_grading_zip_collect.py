"""README's zip_collect command, run as written, on an LMS download with a notebook and a zip."""

from __future__ import annotations

import re
import shlex
import zipfile

import nbformat
import pytest

from test_grading_support import REPO, generate, make_course, run_nbgrader

pytestmark = pytest.mark.slow  # runs the real nbgrader CLI, like the other grading tests

README = (REPO / "README.md").read_text(encoding="utf-8")


def _readme_zip_collect_args(ps: str) -> list[str]:
    line = next(line for line in README.splitlines() if line.startswith("nbgrader zip_collect psN"))
    args = shlex.split(line.replace("psN", ps))
    assert args[:2] == ["nbgrader", "zip_collect"]
    return args[1:]


def test_readme_zip_collect_takes_notebooks_and_zips(tmp_path):
    course = make_course(tmp_path, ("ps1",))
    release = generate(course, "ps1")
    archive = course / "downloaded" / "ps1" / "archive"
    archive.mkdir(parents=True)
    notebook = nbformat.read(release, as_version=4)
    nbformat.write(notebook, archive / "s001_ps1.ipynb")  # a notebook renamed by the LMS
    with zipfile.ZipFile(archive / "s002_ps1.zip", "w") as zf:  # a student's zip of their folder
        zf.writestr("ps1.ipynb", nbformat.writes(notebook))
    proc = run_nbgrader(_readme_zip_collect_args("ps1"), course)
    for student in ("s001", "s002"):
        assert (course / "submitted" / student / "ps1" / "ps1.ipynb").is_file(), (
            f"{student} was not collected:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    assert not re.search(r"Skipped submission", proc.stdout + proc.stderr)
