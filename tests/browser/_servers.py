"""Start and stop the real Jupyter servers the browser tests drive.

Each server runs in its own process group (``start_new_session=True``) with its
own config, data, runtime and IPython folders and its own progress database, so
a test never reads or writes the learner's real Jupyter setup or progress.
Stopping is layered so nothing outlives a test, also when the test failed:
ask the server to shut down (it stops its kernels), then SIGTERM the process
group and every descendant seen (kernels live in sessions of their own), then
SIGKILL whatever is left.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

VENV_BIN = Path(sys.executable).parent

# Server-side settings that keep JupyterLab offline and quiet.
LAB_CONFIG = """\
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.handlers.announcements.NeverCheckForUpdate"
c.LabApp.extension_manager = "readonly"
"""

# Front-end plugins a test does not need and that would only ask questions or
# poll (news pop-up, the "would you like to check for updates" toast).
PAGE_CONFIG = {
    "disabledExtensions": {
        "@jupyterlab/apputils-extension:announcements": True,
    }
}


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def isolated_env(home: Path, repo_root: Path) -> dict[str, str]:
    """Environment for a server: temp Jupyter/IPython folders, temp course data.

    ``home`` (a temp folder) receives ``config/``, ``data/``, ``runtime/``,
    ``ipython/``, ``course_data/`` and ``progress.sqlite3``. The venv's own
    ``share/jupyter`` (kernelspecs, lab extensions) is still found because
    Jupyter always searches ``sys.prefix/share/jupyter`` besides
    ``JUPYTER_DATA_DIR``. ``PYTHONPATH`` puts the repository under test first so
    kernels import its ``course_lib``.
    """
    env = dict(os.environ)
    for name in ("config", "data", "runtime", "ipython", "course_data"):
        (home / name).mkdir(parents=True, exist_ok=True)
    (home / "config" / "labconfig").mkdir(exist_ok=True)
    (home / "config" / "jupyter_server_config.py").write_text(LAB_CONFIG)
    (home / "config" / "labconfig" / "page_config.json").write_text(json.dumps(PAGE_CONFIG))
    env.update(
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        IPYTHONDIR=str(home / "ipython"),
        COURSE_LIB_DATA=str(home / "course_data"),
        COURSE_LIB_PROGRESS_DB=str(home / "progress.sqlite3"),
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=os.pathsep.join(p for p in (str(repo_root), env.get("PYTHONPATH", "")) if p),
        PYTHONUNBUFFERED="1",
        JUPYTER_PLATFORM_DIRS="1",
    )
    # The test process may force Agg for matplotlib; kernels must keep their
    # inline backend or no figure would reach the browser.
    env.pop("MPLBACKEND", None)
    env.pop("JUPYTER_PATH", None)
    env.pop("JUPYTER_TOKEN", None)
    return env


@dataclass
class Server:
    """A running Jupyter server (JupyterLab or Voilà) in its own process group."""

    name: str
    proc: subprocess.Popen
    port: int
    token: str
    log_path: Path
    home: Path
    root_dir: Path
    seen_pids: set[int] = field(default_factory=set)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str, **query: str) -> str:
        """Absolute URL for ``path`` with the token (and ``query``) appended."""
        params = "&".join([f"token={self.token}"] + [f"{k}={v}" for k, v in query.items()])
        sep = "&" if "?" in path else "?"
        return f"{self.base_url}/{path.lstrip('/')}{sep}{params}"

    def api(self, method: str, path: str, timeout: float = 10.0):
        """Call the REST API with the token; return the decoded JSON (or None)."""
        req = urllib.request.Request(
            f"{self.base_url}/{path.lstrip('/')}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
            data=b"" if method in ("POST", "PUT", "PATCH") else None,
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def log_tail(self, n_chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n_chars:]
        except OSError:
            return "(no log)"

    def remember_descendants(self) -> None:
        """Record every process below the server (kernels) so stop() reaches them."""
        try:
            for child in psutil.Process(self.proc.pid).children(recursive=True):
                self.seen_pids.add(child.pid)
        except psutil.Error:
            pass

    def kernel_pids(self) -> set[int]:
        """PIDs of live processes started below the server that run ipykernel."""
        pids = set()
        try:
            for child in psutil.Process(self.proc.pid).children(recursive=True):
                try:
                    if any("ipykernel" in part for part in child.cmdline()):
                        pids.add(child.pid)
                except psutil.Error:
                    pass
        except psutil.Error:
            pass
        return pids

    def shutdown_kernels(self) -> None:
        """Stop every kernel the server runs (between tests sharing a server)."""
        try:
            for kernel in self.api("GET", "api/kernels") or []:
                self.api("DELETE", f"api/kernels/{kernel['id']}")
        except (urllib.error.URLError, OSError, ValueError):
            pass

    def stop(self, grace: float = 10.0) -> list[int]:
        """Stop the server, its kernels and anything else it started.

        Returns the PIDs still alive afterwards (an empty list when all went well).
        """
        self.remember_descendants()
        if self.proc.poll() is None:
            try:  # JupyterLab: a clean shutdown that also stops its kernels
                self.api("POST", "api/shutdown", timeout=5)
                self.proc.wait(timeout=grace)
            except (urllib.error.URLError, OSError, ValueError, subprocess.TimeoutExpired):
                pass
        procs = []
        for pid in self.seen_pids | {self.proc.pid}:
            try:
                procs.append(psutil.Process(pid))
            except psutil.Error:
                pass
        if self.proc.poll() is None:  # Voilà (no shutdown API) or a server that hangs
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=grace)
            except (ProcessLookupError, PermissionError, subprocess.TimeoutExpired):
                pass
        for p in procs:
            try:
                p.terminate()
            except psutil.Error:
                pass
        _, alive = psutil.wait_procs(procs, timeout=5)
        for p in alive:
            try:
                p.kill()
            except psutil.Error:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        survivors = []
        for p in procs:
            try:
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    survivors.append(p.pid)
            except psutil.Error:
                pass
        return survivors


def _spawn(name: str, cmd: list[str], cwd: Path, env: dict, home: Path, port: int, token: str) -> Server:
    log_path = home / f"{name}.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True,
    )
    log.close()
    return Server(name=name, proc=proc, port=port, token=token, log_path=log_path, home=home, root_dir=cwd)


def _wait_ready(server: Server, path: str, timeout: float) -> None:
    """Poll ``path`` until it answers 200; fail with the server's log if it never does."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with code {server.proc.returncode} before it was ready.\n"
                f"--- log ---\n{server.log_tail()}"
            )
        try:
            req = urllib.request.Request(
                f"{server.base_url}/{path}", headers={"Authorization": f"token {server.token}"}
            )
            with urllib.request.urlopen(req, timeout=5) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:
            last_error = exc
        time.sleep(0.25)
    raise RuntimeError(
        f"{server.name} did not answer {path} within {timeout:.0f}s (last error: {last_error}).\n"
        f"--- log ---\n{server.log_tail()}"
    )


def start_lab(root_dir: Path, home: Path, repo_root: Path, timeout: float = 60.0) -> Server:
    """Start JupyterLab on 127.0.0.1 (random free port, random token) serving ``root_dir``."""
    port, token = free_port(), secrets.token_hex(24)
    cmd = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
        f"--IdentityProvider.token={token}", "--allow-root",
        "--LabApp.expose_app_in_browser=True",
        "--ServerApp.open_browser=False",
        f"--ServerApp.root_dir={root_dir}",
        # A learner test needs no terminal; fewer processes to clean up.
        "--ServerApp.terminals_enabled=False",
    ]
    server = _spawn("jupyterlab", cmd, root_dir, isolated_env(home, repo_root), home, port, token)
    try:
        _wait_ready(server, "api/status", timeout)
        _wait_ready(server, "lab/api/settings", timeout)
    except BaseException:
        server.stop()
        raise
    return server


def start_voila(notebook: str, root_dir: Path, home: Path, repo_root: Path, timeout: float = 60.0) -> Server:
    """Start Voilà serving ``notebook`` (a path relative to ``root_dir``)."""
    port, token = free_port(), secrets.token_hex(24)
    cmd = [
        sys.executable, "-m", "voila", notebook,
        "--no-browser", "--Voila.ip=127.0.0.1", f"--port={port}",
        f"--Voila.token={token}",
        "--Voila.port_retries=0",
    ]
    server = _spawn("voila", cmd, root_dir, isolated_env(home, repo_root), home, port, token)
    try:
        _wait_ready(server, "voila/static/voila.js", timeout)
    except BaseException:
        server.stop()
        raise
    return server
