"""deploy/jupyterhub: the configs say what the README says, and name no host but 127.0.0.1 (fast; no hub).

The hub itself is exercised end to end by tests/test_hub_class.py.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from traitlets.config import Config

DEPLOY = Path(__file__).resolve().parents[1] / "deploy" / "jupyterhub"


def _load(path: Path, env: dict | None = None, monkeypatch=None) -> Config:
    """Execute a Jupyter/nbgrader/JupyterHub config file the way traitlets does; return its Config."""
    config = Config()
    loaded = []

    def load_subconfig(name):
        loaded.append(name)

    namespace = {"get_config": lambda: config, "load_subconfig": load_subconfig, "__file__": str(path)}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)  # noqa: S102
    config._loaded_subconfigs = loaded
    return config


def test_hub_config_listens_on_loopback_with_local_users_and_the_roster(tmp_path, monkeypatch):
    (tmp_path / "roster").mkdir()
    (tmp_path / "hub").mkdir()
    (tmp_path / "roster" / "instructor").write_text("teacher\n")
    (tmp_path / "roster" / "students").write_text("s001\n# a comment\n\ns002\n")
    (tmp_path / "hub" / "student_password").write_text("class-password\n")
    (tmp_path / "hub" / "instructor_password").write_text("x" * 40 + "\n")
    monkeypatch.setenv("CONVCOURSE_PREFIX", str(tmp_path))
    monkeypatch.delenv("CONVCOURSE_VENV", raising=False)
    c = _load(DEPLOY / "jupyterhub_config.py")
    assert c.JupyterHub.bind_url == "http://127.0.0.1:8000" and c.JupyterHub.hub_ip == "127.0.0.1"
    assert c.JupyterHub.spawner_class == "localprocess" and c.Spawner.default_url == "/lab"
    assert c.JupyterHub.authenticator_class == "shared-password"
    assert c.Authenticator.allowed_users == {"teacher", "s001", "s002"}
    assert c.Authenticator.admin_users == {"teacher"}
    assert c.SharedPasswordAuthenticator.user_password == "class-password"
    assert len(c.SharedPasswordAuthenticator.admin_password) >= 32
    assert c.Spawner.cmd == [str(tmp_path / "venv" / "bin" / "jupyterhub-singleuser")]
    assert "PYTHONPATH" not in c.Spawner.env_keep and "VIRTUAL_ENV" not in c.Spawner.env_keep
    assert c.Spawner.environment["PATH"].startswith(str(tmp_path / "venv" / "bin") + ":")


def test_every_user_gets_course_id_exchange_and_a_terminal_that_keeps_path():
    nb = _load(DEPLOY / "nbgrader_config.py")
    assert nb.CourseDirectory.course_id == "convcourse" and nb.Exchange.root == "/srv/nbgrader/exchange"
    server = _load(DEPLOY / "jupyter_server_config.py")
    assert server.ServerApp.terminado_settings == {"shell_command": ["/bin/bash"]}


def test_instructor_overlay_enables_formgrader_and_loads_the_course_config():
    import json

    overlay = json.loads((DEPLOY / "instructor" / "nbgrader-formgrader.json").read_text())
    assert overlay["ServerApp"]["jpserver_extensions"] == {"nbgrader.server_extensions.formgrader": True}
    c = _load(DEPLOY / "instructor" / "nbgrader_config.py")
    assert c.CourseDirectory.root == "/home/instructor/convcourse"
    assert c._loaded_subconfigs == ["/home/instructor/convcourse/nbgrader_config.py"]


def test_setup_script_parses_and_documents_its_options():
    subprocess.run(["bash", "-n", str(DEPLOY / "setup.sh")], check=True)
    out = subprocess.run(["bash", str(DEPLOY / "setup.sh"), "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for option in ("--prefix", "--venv", "--exchange", "--instructor", "--students", "--course-id"):
        assert option in out.stdout, option
    bad = subprocess.run(["bash", str(DEPLOY / "setup.sh"), "--nonsense"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown option --nonsense" in bad.stderr


@pytest.mark.parametrize("path", sorted(p for p in DEPLOY.rglob("*") if p.is_file()), ids=lambda p: p.name)
def test_deploy_files_name_no_host_but_loopback(path):
    text = path.read_text(encoding="utf-8")
    ips = set(re.findall(r"\b\d{1,3}(?:\.\d{1,3}){3}\b", text)) - {"127.0.0.1"}
    # (PyTorch's CPU wheel index is a package source, not a server of the class)
    hosts = {h for h in re.findall(r"https?://([^/:\s\"'<>]+)", text)} - {"127.0.0.1", "download.pytorch.org"}
    assert not ips and not hosts, (ips, hosts)


def test_the_hub_test_says_why_it_cannot_run(monkeypatch):
    import hub_support

    monkeypatch.setattr(hub_support.sys, "platform", "darwin")
    assert "needs Linux" in hub_support.missing_requirements()
    monkeypatch.setattr(hub_support.sys, "platform", "linux")
    monkeypatch.setattr(hub_support.os, "geteuid", lambda: 1000)
    assert "needs root" in hub_support.missing_requirements()
    monkeypatch.setattr(hub_support.os, "geteuid", lambda: 0)
    monkeypatch.setattr(hub_support.shutil, "which", lambda name: None)
    assert "node with npm" in hub_support.missing_requirements()
