"""Shared machinery for the nbgrader tests and the grading benchmark.

Builds a temporary course folder (the repo's nbgrader_config.py + solutions/), runs the real
``nbgrader`` CLI in it, makes student submissions from the *release* notebooks, and reads
scores back through ``nbgrader.api.Gradebook``. The few tests at the bottom check this
machinery itself.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
ASSIGNMENTS = ("ps1", "ps2", "ps3", "ps4", "ps5", "ps6", "ps7")


def nbgrader_env(**extra: str) -> dict:
    """Environment for nbgrader: venv bin first on PATH (nbgrader calls `alembic`), grading mode on."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["COURSE_LIB_GRADING"] = "1"  # no hint-ladder files, no progress records from student kernels
    env.setdefault("PYTHONHASHSEED", "0")
    env.update(extra)
    return env


def run_nbgrader(args: list[str], course: Path, timeout: float = 900, **env: str) -> subprocess.CompletedProcess:
    """Run `nbgrader <args>` in the course folder; raise with its log if it fails."""
    proc = subprocess.run([str(VENV_BIN / "nbgrader"), *args], cwd=course, env=nbgrader_env(**env),
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def make_course(root: Path, assignments=ASSIGNMENTS, extra_config: str = "") -> Path:
    """A course folder under root: nbgrader_config.py (+ extra_config lines) and solutions/<ps>/."""
    course = root / "course"
    (course / "solutions").mkdir(parents=True)
    config = (REPO / "nbgrader_config.py").read_text(encoding="utf-8")
    (course / "nbgrader_config.py").write_text(config + "\n" + extra_config + "\n", encoding="utf-8")
    for ps in assignments:
        shutil.copytree(REPO / "solutions" / ps, course / "solutions" / ps,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    return course


def generate(course: Path, ps: str) -> Path:
    """`nbgrader generate_assignment ps --force`; returns the release notebook path."""
    run_nbgrader(["generate_assignment", ps, "--force"], course)
    return course / "exercises" / ps / f"{ps}.ipynb"


def grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def solution_sources(ps: str) -> dict[str, str]:
    """grade_id -> source of every auto-graded answer cell in the source notebook."""
    nb = nbformat.read(REPO / "solutions" / ps / f"{ps}.ipynb", as_version=4)
    return {grade_id(c): c.source for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}


def strip_delimiters(source: str) -> str:
    """What a student would type: the solution without the ### BEGIN/END SOLUTION lines."""
    return "\n".join(line for line in source.splitlines() if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)


def filled(release: nbformat.NotebookNode, ps: str, overrides: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """The release notebook with every answer cell replaced by the solution (or an override)."""
    nb = copy.deepcopy(release)
    sources = solution_sources(ps)
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid in sources:
            cell.source = strip_delimiters(sources[gid])
        if overrides and gid in overrides:
            cell.source = overrides[gid]
    return nb


def submit(course: Path, student: str, ps: str, nb: nbformat.NotebookNode) -> None:
    folder = course / "submitted" / student / ps
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{ps}.ipynb")


def autograde(course: Path, ps: str, *students: str) -> subprocess.CompletedProcess:
    args = ["autograde", ps, "--force"]
    if len(students) == 1:
        args.append(f"--student={students[0]}")
    return run_nbgrader(args, course)


def scores(course: Path, ps: str) -> dict[str, dict[str, float | None]]:
    """student -> {auto-graded (code) cell id: auto score} read through nbgrader.api.Gradebook."""
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in gb.students:
            try:
                nb = gb.find_submission_notebook(ps, ps, student.id)
            except Exception:  # noqa: BLE001 - student without this assignment
                continue
            out[student.id] = {g.name: g.auto_score for g in nb.grades if g.cell.cell_type == "code"}
    return out


def autograded_cells(ps: str) -> dict[str, float]:
    """grade_id -> points of every auto-graded (code) test cell in the source notebook."""
    nb = nbformat.read(REPO / "solutions" / ps / f"{ps}.ipynb", as_version=4)
    return {grade_id(c): float(c.metadata["nbgrader"]["points"]) for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")}


# ---- tests of the machinery itself (fast, no nbgrader run) ----

def test_every_answer_cell_has_a_solution_to_fill():
    for ps in ASSIGNMENTS:
        sources = solution_sources(ps)
        assert sources, f"{ps} has no auto-graded answer cells"
        for gid, src in sources.items():
            assert "### BEGIN SOLUTION" in src and "### END SOLUTION" in src, f"{ps}/{gid} lacks solution delimiters"
            assert "BEGIN SOLUTION" not in strip_delimiters(src)


def test_every_assignment_has_autograded_and_hand_graded_points():
    for ps in ASSIGNMENTS:
        nb = nbformat.read(REPO / "solutions" / ps / f"{ps}.ipynb", as_version=4)
        auto = autograded_cells(ps)
        tasks = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("task")]
        assert auto and all(p > 0 for p in auto.values()), ps
        assert tasks and all("BEGIN MARK SCHEME" in c.source for c in tasks), f"{ps}: task cells need a mark scheme"
        hidden = [gid for gid in auto if "### BEGIN HIDDEN TESTS" in next(c.source for c in nb.cells if grade_id(c) == gid)]
        assert hidden, f"{ps} has no hidden tests"
