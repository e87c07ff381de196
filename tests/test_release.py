"""exercises/ is exactly what `nbgrader generate_assignment` makes from solutions/, and leaks nothing."""

from __future__ import annotations

import json
import re

import nbformat
import pytest

from test_grading_support import ASSIGNMENTS, REPO, make_course, run_nbgrader

pytestmark = pytest.mark.slow  # runs the real nbgrader CLI (tens of seconds)

SECRET_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "MARK SCHEME")


def _split(source: str) -> tuple[list[str], list[str]]:
    """(secret lines, public lines) of one cell: secret = strictly inside a solution,
    hidden-test or mark-scheme region; public = every other line (by position, not by value)."""
    pairs = (("### BEGIN SOLUTION", "### END SOLUTION"), ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"),
             ("BEGIN MARK SCHEME", "END MARK SCHEME"))
    secret, public, inside = [], [], None
    for line in source.splitlines():
        if inside is None:
            inside = next((end for begin, end in pairs if begin in line), None)
            if inside is None:
                public.append(line)
        elif inside in line:
            inside = None
        else:
            secret.append(line)
    return secret, public


def _secret_lines(ps: str) -> list[str]:
    """Distinctive lines of solutions, hidden tests and mark schemes (that appear nowhere public in the source)."""
    nb = nbformat.read(REPO / "solutions" / ps / f"{ps}.ipynb", as_version=4)
    secret, public = [], []
    for cell in nb.cells:
        s, p = _split(cell.source)
        secret += s
        public += p
    public_text = "\n".join(public)
    distinctive = []
    for line in secret:
        text = line.strip()
        if len(text) >= 12 and not text.startswith("#") and text not in public_text:
            distinctive.append(text)
    return distinctive


def _canonical(path) -> str:
    """Notebook JSON with keys sorted; nothing in a generated release is legitimately variable
    (cell ids are fixed in the sources, checksums are hashes of the sources), so nothing is dropped
    except nbformat's minor version, which depends on the installed nbformat."""
    data = json.loads(path.read_text(encoding="utf-8"))
    data.pop("nbformat_minor", None)
    return json.dumps(data, sort_keys=True, indent=1)


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("release"))
    run_nbgrader(["generate_assignment", "*", "--force"], course)
    return course / "exercises"


@pytest.mark.parametrize("ps", ASSIGNMENTS)
def test_committed_release_matches_a_fresh_generation(regenerated, ps):
    fresh = regenerated / ps / f"{ps}.ipynb"
    committed = REPO / "exercises" / ps / f"{ps}.ipynb"
    assert committed.is_file(), f"{committed} is missing: run `nbgrader generate_assignment {ps} --force` at the repo root"
    a, b = _canonical(committed), _canonical(fresh)
    if a != b:
        diff = [f"- {x}\n+ {y}" for x, y in zip(a.splitlines(), b.splitlines()) if x != y][:5]
        pytest.fail(f"exercises/{ps} differs from a fresh `nbgrader generate_assignment {ps}`; regenerate and commit it.\n" + "\n".join(diff))
    extra = sorted(p.name for p in (REPO / "exercises" / ps).iterdir()) 
    assert extra == sorted(p.name for p in (regenerated / ps).iterdir()), f"exercises/{ps} has files nbgrader does not generate: {extra}"


@pytest.mark.parametrize("ps", ASSIGNMENTS)
def test_release_leaks_no_solution_hidden_test_or_mark_scheme(ps):
    text = (REPO / "exercises" / ps / f"{ps}.ipynb").read_text(encoding="utf-8")
    for marker in SECRET_MARKERS:
        assert marker not in text, f"exercises/{ps} contains {marker!r}"
    secrets = _secret_lines(ps)
    assert len(secrets) >= 5, f"{ps}: expected solution/hidden/mark-scheme content in the source"
    body = json.loads(text)
    release_text = "\n".join("".join(c["source"]) for c in body["cells"])
    leaked = [line for line in secrets if line in release_text]
    assert not leaked, f"exercises/{ps} leaks source lines: {leaked[:3]}"


@pytest.mark.parametrize("ps", ASSIGNMENTS)
def test_release_answer_cells_are_stubs(ps):
    nb = nbformat.read(REPO / "exercises" / ps / f"{ps}.ipynb", as_version=4)
    answers = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"]
    assert answers
    for cell in answers:
        assert re.search(r'raise NotImplementedError\("not answered yet: replace this line', cell.source), cell.source
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"exercises/{ps} has outputs"
