"""Fixtures for the end-to-end tests: real servers on 127.0.0.1, driven by Chromium.

Missing Chromium or Playwright skips these tests with the reason, unless
``CONVCOURSE_REQUIRE_BROWSER=1`` (set by ``.ci/run``): then they fail, so CI can
never pass without having run them. Screenshots go to ``$CONVCOURSE_ARTIFACTS``
or ``<repo>/artifacts/browser/``.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest

from . import _servers

REPO_ROOT = Path(__file__).resolve().parents[2]
COURSE_FOLDERS = ("lessons", "flashcards", "exercises")

# Flags for Debian's chromium: no sandbox (containers, root), no GPU, and no
# traffic of its own (updates, sync, safe browsing, QUIC probes).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]

# Console errors a browser sees offline that say nothing about the course: MathJax and
# icon fonts come from a CDN, so requests to any host other than our local server fail.
# A failure on 127.0.0.1 itself (a 404 for a course file, a JS exception) is never excused.
_URL = re.compile(r"https?://([^/\s:]+)")
_LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def is_known_offline_error(entry: str) -> bool:
    """True for a console error caused only by the missing internet (CDN, MathJax)."""
    if re.search(r"mathjax", entry, re.IGNORECASE):
        return True
    hosts = set(_URL.findall(entry))
    external_only = bool(hosts) and not (hosts & _LOCAL_HOSTS)
    return external_only and ("net::ERR_" in entry or "Failed to load resource" in entry)


# Voilà also loads every JupyterLab extension installed in the environment; nbgrader's and
# the notebook's need JupyterLab's shared modules, so they fail to load in Voilà (harmlessly).
KNOWN_VOILA_EXTENSION_CONSOLE = re.compile(
    r"(shared module|shared scope).*/voila/labextensions/(@jupyter/nbgrader|@jupyter-notebook/lab-extension)/",
    re.IGNORECASE | re.DOTALL,
)


def _require_browser() -> bool:
    return os.environ.get("CONVCOURSE_REQUIRE_BROWSER", "") not in ("", "0", "false", "no")


def _skip_or_fail(reason: str):
    if _require_browser():
        pytest.fail(f"{reason} (CONVCOURSE_REQUIRE_BROWSER=1 turns this skip into a failure)", pytrace=False)
    pytest.skip(reason)


def chromium_path() -> str | None:
    """Chromium to drive: $CONVCOURSE_CHROMIUM, else Debian's /usr/bin/chromium."""
    candidate = os.environ.get("CONVCOURSE_CHROMIUM", "/usr/bin/chromium")
    if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
        return candidate
    return None


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Folder for screenshots and server logs that CI keeps."""
    folder = Path(os.environ.get("CONVCOURSE_ARTIFACTS") or REPO_ROOT / "artifacts" / "browser")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


#: the running Chromium while a session has one. A test module elsewhere that imports these fixtures
#: (tests/test_hub_class.py) gets its own fixture definition; it must reuse this browser, because a
#: second sync_playwright() refuses to start inside the first one's event loop.
_RUNNING: list = []


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium (Debian's) launched by Playwright, closed at the end."""
    if _RUNNING:
        yield _RUNNING[0]
        return
    exe = chromium_path()
    if exe is None:
        wanted = os.environ.get("CONVCOURSE_CHROMIUM", "/usr/bin/chromium")
        _skip_or_fail(
            f"browser tests need Chromium, none found at {wanted} (Debian/Ubuntu: apt-get install chromium; "
            "elsewhere point CONVCOURSE_CHROMIUM at a Chromium or Chrome binary)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _skip_or_fail(f"Playwright for Python is not installed ({exc}); pip install playwright")
    pw = sync_playwright().start()
    try:
        try:
            chromium = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, headless=True)
        except Exception as exc:  # a broken install is as bad as a missing one
            _skip_or_fail(f"Chromium at {exe} did not start under Playwright: {exc}")
        _RUNNING.append(chromium)
        yield chromium
        chromium.close()
    finally:
        _RUNNING.clear()
        pw.stop()


@pytest.fixture(scope="session")
def course_root(tmp_path_factory) -> Path:
    """A temporary copy of the course folders, so tests never modify the repo."""
    root = tmp_path_factory.mktemp("course")
    for name in COURSE_FOLDERS:
        src = REPO_ROOT / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    return root


def _save_log(server: _servers.Server, artifacts: Path) -> None:
    try:
        shutil.copyfile(server.log_path, artifacts / f"{server.name}.log")
    except OSError:
        pass


@pytest.fixture(scope="session")
def lab_server(browser, course_root, tmp_path_factory, artifacts_dir):
    """JupyterLab serving the course copy; stopped (with its kernels) at the end."""
    home = tmp_path_factory.mktemp("lab_home")
    server = _servers.start_lab(course_root, home, REPO_ROOT)
    try:
        yield server
    finally:
        survivors = server.stop()
        _save_log(server, artifacts_dir)
        assert not survivors, f"JupyterLab left processes running: {survivors}"


@pytest.fixture
def lab(lab_server):
    """The shared JupyterLab, with every kernel a test started shut down after it."""
    try:
        yield lab_server
    finally:
        lab_server.remember_descendants()
        lab_server.shutdown_kernels()
        deadline = time.monotonic() + 15
        while lab_server.kernel_pids() and time.monotonic() < deadline:
            time.sleep(0.2)
        left = lab_server.kernel_pids()
        assert not left, f"kernels still running after the test: {left}"


@pytest.fixture
def voila_review(browser, course_root, tmp_path_factory, artifacts_dir):
    """Voilà serving flashcards/review.ipynb from the course copy (own progress database)."""
    notebook = course_root / "flashcards" / "review.ipynb"
    if not notebook.is_file():
        pytest.fail(f"flashcards/review.ipynb is missing from {REPO_ROOT}")
    home = tmp_path_factory.mktemp("voila_home")
    server = _servers.start_voila("flashcards/review.ipynb", course_root, home, REPO_ROOT)
    try:
        yield server
    finally:
        server.remember_descendants()
        survivors = server.stop()
        _save_log(server, artifacts_dir)
        assert not survivors, f"Voilà left processes running: {survivors}"


@pytest.fixture
def page(browser, request, artifacts_dir):
    """A fresh browser tab that records console errors and leaves a final screenshot.

    ``page.console_errors`` lists console errors and uncaught exceptions as
    ``"<text> @ <url>"``; ``page.shot(name)`` saves ``<test>-<name>.png``.
    """
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    errors: list[str] = []

    def on_console(msg):
        if msg.type == "error":
            loc = msg.location or {}
            errors.append(f"{msg.text} @ {loc.get('url', '')}")

    pg.on("console", on_console)
    pg.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    test_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)

    def shot(name: str) -> Path:
        path = artifacts_dir / f"{test_name}-{name}.png"
        pg.screenshot(path=str(path), full_page=False)
        return path

    pg.console_errors = errors
    pg.shot = shot
    try:
        yield pg
    finally:
        try:
            shot("zz-final")
        except Exception:
            pass
        context.close()


def unexpected_console_errors(errors: list[str]) -> list[str]:
    """Console errors left after dropping the known offline CDN ones."""
    return [e for e in errors if not is_known_offline_error(e)]
