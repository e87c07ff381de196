"""README's open command starts JupyterLab on the whole course folder and opens the start page.

The jupyter part of the command runs for real (plus a private port, token and Jupyter folders, and no browser);
the checks go through the server's REST API and the page the server writes for a browser to open.
"""

from __future__ import annotations

import secrets
import shlex
import sys
from pathlib import Path

import pytest

from browser._servers import _spawn, _wait_ready, free_port, isolated_env
from test_packaging import readme_commands

pytestmark = pytest.mark.slow  # starts a real JupyterLab server

ROOT = Path(__file__).resolve().parents[1]


def _jupyter_part(command: str) -> list[str]:
    """The arguments after ``.venv/bin/jupyter lab`` in the open command."""
    last = shlex.split(command.split("&&")[-1])
    assert Path(last[0]).name == "jupyter" and last[1] == "lab", f"the open command should end with jupyter lab: {command}"
    return last[2:]


def test_open_command_serves_the_course_folder_and_opens_lesson_00(tmp_path):
    args = _jupyter_part(readme_commands()["open"])
    port, token = free_port(), secrets.token_hex(16)
    cmd = [sys.executable, "-m", "jupyterlab", *args, "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--port-retries=0", f"--IdentityProvider.token={token}", "--allow-root",
           "--ServerApp.terminals_enabled=False"]
    server = _spawn("open-command", cmd, ROOT, isolated_env(tmp_path, ROOT), tmp_path, port, token)
    try:
        _wait_ready(server, "api/status", 60)
        top = {item["name"] for item in server.api("GET", "api/contents")["content"]}
        assert {"lessons", "exercises", "flashcards"} <= top, (
            f"the file browser must show the whole course (lesson 00 sends learners to exercises/ and flashcards/), "
            f"it shows {sorted(top)}"
        )
        for path in ("lessons/00_start_here.ipynb", "flashcards/review.ipynb", "exercises/ps1/ps1.ipynb"):
            assert server.api("GET", f"api/contents/{path}?content=0")["type"] == "notebook", path
        opener = list((tmp_path / "runtime").glob("jpserver-file-to-run-*-open.html"))
        assert len(opener) == 1, f"no page for the browser to open in {tmp_path / 'runtime'}"
        assert f"/lab/tree/lessons/00_start_here.ipynb?token={token}" in opener[0].read_text()
    finally:
        server.stop()
