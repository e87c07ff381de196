"""A class on a real JupyterHub, end to end: the README's "Run a class on JupyterHub" on this machine.

As root on Linux with node, the session builds the class with ``deploy/jupyterhub/setup.sh`` in a
temporary folder (throwaway users with a unique prefix), starts the hub on free loopback ports
with ``deploy/jupyterhub/jupyterhub_config.py``, and runs one ps1 cycle through each user's own
server: the instructor generates and releases ps1 in Formgrader; student 1 pastes the solution's
code into the answer cells and submits, student 2 submits the blank notebook, student 3 submits a
notebook that first tries to read student 1's home, the instructor's solutions/, the exchange's
inbox and the gradebook; the instructor collects, autogrades, generates and releases feedback; the
students fetch it. Then a Chromium logs in through the hub's login page as a student and as the
instructor.

Skips with the reason off Linux, without root or node, unless ``CONVCOURSE_REQUIRE_HUB=1`` (set by
``.ci/run``): then it fails instead.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest

import hub_support
from test_grading import _hidden_lines, _visible_text
from test_grading_support import REPO, autograded_cells, filled, scores

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

PS = "ps1"


def _require_hub() -> bool:
    return os.environ.get("CONVCOURSE_REQUIRE_HUB", "") not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def hub(tmp_path_factory):
    """A running class (built once per session); torn down, and checked clean, at the end."""
    reason = hub_support.missing_requirements()
    if reason:
        if _require_hub():
            pytest.fail(f"{reason} (CONVCOURSE_REQUIRE_HUB=1 turns this skip into a failure)", pytrace=False)
        pytest.skip(reason)
    logs = Path(os.environ.get("CONVCOURSE_ARTIFACTS") or tmp_path_factory.mktemp("hub-logs")) / "hub"
    with hub_support.running_class(logs) as running:
        yield running


def _nosy_code(hub) -> tuple[str, list[str]]:
    """Code that tries to read what a student must not see; prints DENIED/READ per target."""
    victim, instr = hub.home(hub.students[0]), hub.course
    files = [victim / PS / f"{PS}.ipynb", instr / "solutions" / PS / f"{PS}.ipynb", instr / "gradebook.db"]
    folders = [victim, instr / "solutions", hub.exchange / "convcourse" / "inbound"]
    files, folders = [str(p) for p in files], [str(p) for p in folders]
    targets = files + folders
    code = f"""\
import os
def read(path, folder):
    return len(os.listdir(path)) if folder else len(open(path, 'rb').read())
for target, folder in [(f, False) for f in {files!r}] + [(d, True) for d in {folders!r}]:
    try:
        print('READ', target, read(target, folder))
    except PermissionError:
        print('DENIED', target)
    except OSError as exc:
        print('ERROR', target, type(exc).__name__)
"""
    return code, targets


def _between(source: str, begin: str, end: str) -> list[str]:
    """Lines strictly between the begin and end markers (stripped, at least 10 characters)."""
    lines, inside = [], False
    for line in source.splitlines():
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside and len(line.strip()) >= 10:
            lines.append(re.sub(r"\s+", " ", line.strip()))
    return lines


@pytest.fixture(scope="session")
def cycle(hub, tmp_path_factory):
    """One whole ps1 cycle; returns what the assertions need."""
    started = time.monotonic()
    solver, blank, nosy = hub.students
    for user in hub.users:
        hub.start_server(user)

    hub.formgrader(f"assignment/{PS}/assign")       # Formgrader's "Generate"
    hub.formgrader(f"assignment/{PS}/release")      # "Release"

    listed = {}
    for student in hub.students:
        listed[student] = hub.assignments(student)  # what the Assignments panel shows first
        hub.assignments(student, "fetch")

    path = f"{PS}/{PS}.ipynb"
    release = nbformat.from_dict(hub.read_notebook(solver, path))
    hub.write_notebook(solver, path, filled(release, PS))
    nosy_code, targets = _nosy_code(hub)
    nosy_nb = nbformat.from_dict(hub.read_notebook(nosy, path))
    answer = next(c for c in nosy_nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution"))
    answer.source = nosy_code
    nosy_output = hub.run_code(nosy, nosy_code)  # the student runs it, as that student
    hub.write_notebook(nosy, path, nosy_nb)
    for student in hub.students:
        result = hub.assignments(student, "submit")
        assert isinstance(result, dict) and result.get("success", True), result

    hub.formgrader(f"assignment/{PS}/collect")
    for student in hub.students:
        hub.formgrader(f"submission/{PS}/{student}/autograde")
    hub.formgrader(f"assignment/{PS}/generate_feedback")
    hub.formgrader(f"assignment/{PS}/release_feedback")
    for student in hub.students:
        hub.assignments(student, "fetch_feedback")

    copy = tmp_path_factory.mktemp("gradebook")  # read a copy: opening the gradebook may migrate it
    shutil.copyfile(hub.course / "gradebook.db", copy / "gradebook.db")
    feedback = {}
    for student in hub.students:
        pages = sorted(hub.home(student).glob(f"{PS}/feedback/*/{PS}.html"))
        assert len(pages) == 1, f"{student} fetched {len(pages)} feedback pages"
        feedback[student] = pages[0].read_text(encoding="utf-8")
    # What the same code printed when autograde ran it as the instructor (reported, see the README).
    under_autograde = re.findall(r"(READ|DENIED|ERROR) (/\S+)", _visible_text(feedback[nosy]).split("print(")[-1])
    formgrader_status = {user: hub.request("GET", f"user/{user}/formgrader/api/status").status_code for user in hub.users}
    return {
        "listed": listed, "nosy_output": nosy_output, "targets": targets, "scores": scores(copy, PS),
        "feedback": feedback, "formgrader": formgrader_status, "nosy_under_autograde": under_autograde,
        "seconds": time.monotonic() - started,
    }


def test_a_class_runs_ps1_end_to_end_on_jupyterhub(hub, cycle):
    solver, blank, nosy = hub.students
    print(f"ps1 cycle on the hub took {cycle['seconds']:.0f} s; the nosy cell under autograde: {cycle['nosy_under_autograde']}")
    for student, listing in cycle["listed"].items():
        assert [a["assignment_id"] for a in listing["value"] if a["status"] == "released"] == [PS], (student, listing)

    # Scores in the gradebook: every automatic point for the pasted solution, none for the others.
    auto = autograded_cells(PS)
    table = cycle["scores"]
    assert set(table) == set(hub.students), table
    assert table[solver] == auto, f"the pasted solution lost points: {table[solver]} (max {auto})"
    assert sum(auto.values()) > 0
    for student in (blank, nosy):
        assert set(table[student]) == set(auto) and not any(table[student].values()), (student, table[student])

    # Feedback: the student's own work and scores, no hidden test, no mark scheme.
    source = nbformat.read(REPO / "solutions" / PS / f"{PS}.ipynb", as_version=4)
    secrets_ = _hidden_lines(PS) + [line for cell in source.cells
                                    for line in _between(cell.source, "BEGIN MARK SCHEME", "END MARK SCHEME")]
    assert len(secrets_) > 5, "ps1 has hidden tests and mark schemes to look for"
    for student, page in cycle["feedback"].items():
        text = _visible_text(page)
        assert "Score" in text and f"{PS}" in text, f"{student}'s feedback is not a graded notebook"
        leaked = [line for line in secrets_ if line in text]
        assert not leaked and "HIDDEN TESTS" not in text and "MARK SCHEME" not in text, (student, leaked[:3])

    # The nosy student, running the code as themselves, read nothing.
    lines = cycle["nosy_output"].strip().splitlines()
    assert lines == [f"DENIED {t}" for t in cycle["targets"]], cycle["nosy_output"]

    # Formgrader answers the instructor only.
    assert cycle["formgrader"][hub.instructor] == 200, cycle["formgrader"]
    assert all(cycle["formgrader"][s] == 404 for s in hub.students), cycle["formgrader"]

    # Autograding from Formgrader ran the course's checks in the instructor's account: grading mode
    # (NBGRADER_EXECUTION) kept them from writing a progress store or hint files there.
    data = hub.home(hub.instructor) / ".local" / "share" / "convcourse"
    assert not (data.exists() and any(data.iterdir())), sorted(data.iterdir())

    # Homes are private, the exchange is world-writable (nbgrader needs it), and so is nothing else.
    for user in hub.users:
        assert hub.home(user).stat().st_mode & 0o777 == 0o700, user
    assert hub.exchange.stat().st_mode & 0o777 == 0o777


# ---- the same class in Chromium, through the hub's login page ----------------------------------

from browser.conftest import artifacts_dir, browser, page  # noqa: E402,F401  (the browser tests' fixtures)


def _log_in(pg, hub, user: str, who: str) -> None:
    pg.goto(f"{hub.url}/hub/login")
    pg.fill("#username_input", user)
    pg.fill("#password_input", hub.password(who))
    pg.click("#login_submit")
    pg.wait_for_url(re.compile(rf"/user/{user}/lab"), timeout=120_000)
    pg.get_by_text("Nbgrader", exact=True).wait_for(timeout=120_000)


def _nbgrader_menu(pg) -> str:
    """The entries of JupyterLab's Nbgrader menu."""
    pg.get_by_text("Nbgrader", exact=True).click()
    menu = pg.locator(".lm-Menu").last
    menu.wait_for()
    text = menu.inner_text()
    pg.keyboard.press("Escape")
    return text


@pytest.mark.browser
def test_students_see_assignments_and_only_the_instructor_sees_formgrader(hub, cycle, browser, page, artifacts_dir):
    student = hub.students[0]
    _log_in(page, hub, student, "student")
    entries = _nbgrader_menu(page)
    assert "Assignment List" in entries and "Formgrader" not in entries, entries
    page.get_by_text("Nbgrader", exact=True).click()
    page.get_by_text("Assignment List", exact=True).click()
    panel = page.locator("#nbgrader-assignment-list")
    panel.get_by_role("button", name="Fetch Feedback").wait_for(timeout=60_000)  # ps1 submitted
    panel.get_by_text("(view feedback)").first.wait_for()
    assert "There are no submitted assignments" not in panel.inner_text()
    page.shot("student-assignments")
    page.screenshot(path=str(artifacts_dir / "hub-student-assignments.png"))

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        teacher = context.new_page()
        teacher.set_default_timeout(30_000)
        _log_in(teacher, hub, hub.instructor, "instructor")
        assert "Formgrader" in _nbgrader_menu(teacher)
        # JupyterHub >= 4.1 forbids framing, so Formgrader opens in its own tab (nbgrader#1870).
        teacher.goto(f"{hub.url}/user/{hub.instructor}/formgrader")
        teacher.get_by_text("Manage Assignments").first.wait_for()
        row = teacher.locator("tr", has_text=PS).first
        row.wait_for()
        cells = [c.strip() for c in row.locator("td").all_inner_texts()]
        assert cells[0] == PS and str(len(hub.students)) in cells, cells  # ps1 with 3 submissions
        teacher.screenshot(path=str(artifacts_dir / "hub-instructor-formgrader.png"))
    finally:
        context.close()
    # The student cannot open Formgrader at all.
    resp = page.goto(f"{hub.url}/user/{student}/formgrader")
    assert resp.status == 404, resp.status
