"""A real JupyterHub class on this machine, for the end-to-end test: build, drive, tear down.

``running_class()`` runs ``deploy/jupyterhub/setup.sh`` into a temporary class folder (the class
virtualenv from /usr/bin/python3.11, an exchange, throwaway Unix users with a unique prefix),
starts the hub with ``deploy/jupyterhub/jupyterhub_config.py`` on free loopback ports, and yields
a :class:`ClassHub`. Whatever happens, it stops every process it started (by PID: the hub, the
proxy, user servers, kernels), deletes the users with ``userdel -r`` and the class folder, and
then checks that nothing is left.

Everything a user does goes through that user's own Jupyter server (running as that Unix user):
the contents API, kernels, nbgrader's Assignments handlers and Formgrader's API.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy" / "jupyterhub"
CLASS_PYTHON = "/usr/bin/python3.11"


def missing_requirements() -> str | None:
    """Why a hub cannot run here (None when it can): Linux, root, node/npm, a system Python 3.11."""
    if not sys.platform.startswith("linux"):
        return f"the JupyterHub class test needs Linux (real Unix users), this is {sys.platform}"
    if os.geteuid() != 0:
        return "the JupyterHub class test needs root (it creates Unix users and spawns servers as them)"
    if not (shutil.which("configurable-http-proxy") or shutil.which("npm")):
        return "the JupyterHub class test needs configurable-http-proxy or node with npm"
    if not os.access(CLASS_PYTHON, os.X_OK):
        return f"the JupyterHub class test needs {CLASS_PYTHON}, an interpreter every user can run"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ClassHub:
    """A running class: its folder, users, hub URL and an admin service token."""

    prefix: Path
    venv: Path
    exchange: Path
    instructor: str
    students: list[str]
    url: str
    token: str
    proc: subprocess.Popen
    log_path: Path
    seen_pids: set[int] = field(default_factory=set)

    @property
    def users(self) -> list[str]:
        return [self.instructor, *self.students]

    def home(self, user: str) -> Path:
        return Path(pwd.getpwnam(user).pw_dir)

    @property
    def course(self) -> Path:
        return self.home(self.instructor) / "convcourse"

    def password(self, who: str) -> str:
        """The shared login password of 'student' or 'instructor'."""
        return (self.prefix / "hub" / f"{who}_password").read_text().strip()

    def request(self, method: str, path: str, timeout: float = 120, **kwargs) -> requests.Response:
        """A request to the hub or a user's server (path below the hub URL), as the admin service."""
        headers = {"Authorization": f"token {self.token}", **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.url}/{path.lstrip('/')}", headers=headers,
                                timeout=timeout, allow_redirects=False, **kwargs)

    def ok(self, method: str, path: str, **kwargs):
        """``request`` that must succeed (2xx); returns the decoded JSON body (or None)."""
        resp = self.request(method, path, **kwargs)
        assert 200 <= resp.status_code < 300, f"{method} {path}: {resp.status_code} {resp.text[:2000]}\n{self.log_tail()}"
        return resp.json() if resp.content else None

    def log_tail(self, n: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def start_server(self, user: str, timeout: float = 120) -> None:
        """Spawn ``user``'s Jupyter server and wait until the hub says it is ready."""
        resp = self.request("POST", f"hub/api/users/{user}/server")
        assert resp.status_code in (201, 202, 400), f"spawn {user}: {resp.status_code} {resp.text}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            model = self.ok("GET", f"hub/api/users/{user}")
            server = (model.get("servers") or {}).get("", {})
            if server.get("ready"):
                return
            time.sleep(0.5)
        raise AssertionError(f"{user}'s server did not start in {timeout} s\n{self.log_tail()}")

    def remember_descendants(self) -> None:
        with contextlib.suppress(psutil.Error):
            self.seen_pids.update(p.pid for p in psutil.Process(self.proc.pid).children(recursive=True))

    # ---- what a user does in their own server ----------------------------------------------

    def assignments(self, user: str, action: str | None = None, assignment: str = "ps1", course_id: str = "convcourse"):
        """What the Assignments panel does: list (action None), or fetch / submit / fetch_feedback."""
        if action is None:
            return self.ok("GET", f"user/{user}/assignments", params={"course_id": course_id})
        return self.ok("POST", f"user/{user}/assignments/{action}",
                       data={"course_id": course_id, "assignment_id": assignment})

    def read_notebook(self, user: str, path: str) -> dict:
        return self.ok("GET", f"user/{user}/api/contents/{path}", params={"content": "1"})["content"]

    def write_notebook(self, user: str, path: str, nb: dict) -> None:
        self.ok("PUT", f"user/{user}/api/contents/{path}", json={"type": "notebook", "format": "json", "content": nb})

    def formgrader(self, action: str) -> dict:
        """Formgrader's API as the instructor (``assignment/ps1/release``, ...); fails on an nbgrader error."""
        body = self.ok("POST", f"user/{self.instructor}/formgrader/api/{action}", timeout=600)
        assert body.get("success"), f"Formgrader {action}: {json.dumps(body)[:4000]}"
        return body

    def run_code(self, user: str, code: str, timeout: float = 60) -> str:
        """Run ``code`` in a new kernel of ``user``'s server; return what it printed (errors included)."""
        kernel = self.ok("POST", f"user/{user}/api/kernels", json={"name": "python3"})
        try:
            return _execute(f"{self.url.replace('http', 'ws', 1)}/user/{user}/api/kernels/{kernel['id']}/channels",
                            self.token, code, timeout)
        finally:
            self.request("DELETE", f"user/{user}/api/kernels/{kernel['id']}")


def _execute(ws_url: str, token: str, code: str, timeout: float) -> str:
    """Send one execute_request over the kernel's websocket; collect stdout, stderr and errors."""
    import asyncio

    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    async def run() -> str:
        conn = await websocket_connect(HTTPRequest(ws_url, headers={"Authorization": f"token {token}"}))
        msg_id = uuid.uuid4().hex
        conn.write_message(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test",
                       "session": uuid.uuid4().hex, "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True},
        }))
        out = []
        while True:
            raw = await conn.read_message()
            if raw is None:
                raise AssertionError("kernel websocket closed before the cell finished")
            if isinstance(raw, bytes):
                continue
            msg = json.loads(raw)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out.append(content["text"])
            elif kind == "error":
                out.append(f"{content['ename']}: {content['evalue']}\n")
            elif kind == "status" and content["execution_state"] == "idle":
                conn.close()
                return "".join(out)

    # In its own thread: Playwright's sync API (the browser tests, which may run first in the same
    # process) leaves an event loop running in the main thread, where asyncio.run() refuses to start.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(asyncio.wait_for(run(), timeout))).result()


# ---- build and tear down ---------------------------------------------------------------------

def _traversable_tempdir(prefix: str) -> Path:
    """A temporary folder every user can traverse (mkdtemp makes 0700 ones)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def _run_setup(prefix: Path, venv: Path, exchange: Path, instructor: str, students: list[str], log) -> None:
    roster = prefix / "students.txt"
    roster.write_text("".join(f"{s}\n" for s in students))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "JUPYTER", "VIRTUAL_ENV"))}
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
    subprocess.run(["bash", str(DEPLOY / "setup.sh"), "--prefix", str(prefix), "--venv", str(venv), "--exchange", str(exchange),
                    "--instructor", instructor, "--students", str(roster)],
                   check=True, stdout=log, stderr=subprocess.STDOUT, env=env, timeout=1200)


def _hub_config(prefix: Path, port: int, token: str) -> Path:
    """The deploy config plus what the test needs: free ports and an admin service token."""
    path = prefix / "hub" / "test_config.py"
    path.write_text(f"""\
c = get_config()
load_subconfig({str(DEPLOY / 'jupyterhub_config.py')!r})
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_port = {free_port()}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{free_port()}"
c.JupyterHub.services = [{{"name": "convcourse-test", "api_token": {token!r}}}]
c.JupyterHub.load_roles = [{{"name": "convcourse-test", "services": ["convcourse-test"],
                             "scopes": ["admin:users", "admin:servers", "access:servers", "tokens"]}}]
""")
    return path


def _start_hub(prefix: Path, venv: Path, log_path: Path) -> tuple[subprocess.Popen, str, str]:
    port, token = free_port(), secrets.token_hex(24)
    config = _hub_config(prefix, port, token)
    env = {"PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
           "HOME": os.environ.get("HOME", "/root"), "CONVCOURSE_PREFIX": str(prefix), "CONVCOURSE_VENV": str(venv)}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([str(venv / "bin" / "jupyterhub"), "-f", str(config)],
                                cwd=prefix / "hub", env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyterhub exited ({proc.returncode}):\n{log_path.read_text()[-4000:]}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{url}/hub/api/", timeout=2).status_code == 200:
                return proc, url, token
        time.sleep(0.5)
    raise RuntimeError(f"jupyterhub did not answer on {url} in 90 s:\n{log_path.read_text()[-4000:]}")


def _stop(pids: set[int], users: list[str], grace: float = 15) -> None:
    """SIGTERM the given processes and every process of the users, then SIGKILL what is left."""
    def alive():
        procs = []
        for p in psutil.process_iter(["pid", "username"]):
            with contextlib.suppress(psutil.Error):
                if (p.pid in pids or p.info["username"] in users) and p.status() != psutil.STATUS_ZOMBIE:
                    procs.append(p)
        return procs

    for p in alive():
        with contextlib.suppress(psutil.Error):
            p.send_signal(signal.SIGTERM)
    _, left = psutil.wait_procs(alive(), timeout=grace)
    for p in left:
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(left, timeout=5)


TEMP_FOLDERS = (Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"))


def _owned_files(uids: set[int], roots=TEMP_FOLDERS) -> list[str]:
    """Files and folders in the shared temporary folders that belong to ``uids``."""
    found = []
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root, onerror=lambda e: None):
            for name in dirnames + filenames:
                path = os.path.join(dirpath, name)
                with contextlib.suppress(OSError):
                    if os.lstat(path).st_uid in uids:
                        found.append(path)
    return found


def leftovers(users: list[str], folders: list[Path], pids: set[int], uids: set[int] = frozenset()) -> list[str]:
    """What a torn-down class left behind: live processes, Unix users, folders (world-writable ones named),
    files of the users' uids in /tmp, /var/tmp or /dev/shm."""
    found = [f"file of a class user: {path}" for path in _owned_files(set(uids))]
    for p in psutil.process_iter(["pid", "username", "cmdline"]):
        if p.pid in pids or p.info["username"] in users:
            with contextlib.suppress(psutil.Error):
                if p.status() != psutil.STATUS_ZOMBIE:
                    found.append(f"process {p.pid} ({p.info['username']}): {' '.join(p.info['cmdline'] or [])[:120]}")
    for user in users:
        with contextlib.suppress(KeyError):
            pwd.getpwnam(user)
            found.append(f"user {user}")
        if Path("/home", user).exists():
            found.append(f"home /home/{user}")
    for folder in folders:
        if folder.exists():
            writable = [str(d) for d in [folder, *folder.rglob("*")] if d.is_dir() and d.stat().st_mode & 0o002]
            found.append(f"folder {folder}" + (f" (world-writable: {writable[:3]})" if writable else ""))
    return found


@contextlib.contextmanager
def running_class(log_dir: Path, n_students: int = 3):
    """Build a class (setup.sh), start its hub, yield a ClassHub; always tear everything down.

    Users are named ``cc<6 random letters>i`` (instructor) and ``cc<letters>s<k>`` (students), so
    they can never clash with real accounts; ``log_dir`` receives setup.log and hub.log. The class
    virtualenv is built in the temporary class folder, or kept in ``$CONVCOURSE_HUB_VENV`` (a folder
    every user can traverse) so that later runs reuse it: setup.sh only reinstalls when the course changed.
    """
    tag = "cc" + "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(6))
    instructor, students = f"{tag}i", [f"{tag}s{k}" for k in range(1, n_students + 1)]
    prefix = _traversable_tempdir("convcourse-hub-")
    exchange = prefix / "exchange"
    venv = Path(os.environ.get("CONVCOURSE_HUB_VENV") or prefix / "venv")
    log_dir.mkdir(parents=True, exist_ok=True)
    hub = None
    pids: set[int] = set()
    try:
        with open(log_dir / "setup.log", "wb") as log:
            _run_setup(prefix, venv, exchange, instructor, students, log)
        proc, url, token = _start_hub(prefix, venv, log_dir / "hub.log")
        pids.add(proc.pid)
        hub = ClassHub(prefix, venv, exchange, instructor, students, url, token, proc, log_dir / "hub.log")
        yield hub
    finally:
        if hub is not None:
            hub.remember_descendants()
            pids |= hub.seen_pids
            with contextlib.suppress(ProcessLookupError):
                hub.proc.send_signal(signal.SIGTERM)  # the hub stops the proxy and every user server
            with contextlib.suppress(subprocess.TimeoutExpired):
                hub.proc.wait(timeout=20)
        users = [instructor, *students]
        uids = set()
        for user in users:
            with contextlib.suppress(KeyError):
                uids.add(pwd.getpwnam(user).pw_uid)
        _stop(pids, users)
        for user in users:
            subprocess.run(["userdel", "-r", user], capture_output=True)
        shutil.rmtree(prefix, ignore_errors=True)
        left = leftovers(users, [prefix], pids, uids)
        assert not left, f"the class left things behind: {left}"
