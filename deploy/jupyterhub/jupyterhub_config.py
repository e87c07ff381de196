"""JupyterHub for a convcourse class on one server (LocalProcessSpawner, real Unix users).

Start it as root, after ``setup.sh`` has built the class environment::

    sudo /opt/convcourse/venv/bin/jupyterhub -f deploy/jupyterhub/jupyterhub_config.py

Settings come from the folder ``setup.sh`` filled (``$CONVCOURSE_PREFIX``, default
``/opt/convcourse``): the class virtualenv (``venv/``, or ``$CONVCOURSE_VENV``), the roster (``roster/instructor``,
``roster/students``, one user name a line) and the hub's private state and passwords (``hub/``,
mode 0700). The hub listens on 127.0.0.1 only: put it behind an HTTPS reverse proxy (or set
``ssl_cert``/``ssl_key``) before students connect from other machines.

Authenticator: a shared password (``shared-password``, JupyterHub >= 5.1) is enough for a first
class: students type their user name and the class password, the instructor a separate, longer
one. Every student knows the class password, so a student can log in as another: for graded work
switch to the university's login (see the README, "Run a class on JupyterHub").
"""

import os
from pathlib import Path

c = get_config()  # noqa: F821  (provided by JupyterHub when it loads this file)

PREFIX = Path(os.environ.get("CONVCOURSE_PREFIX", "/opt/convcourse"))
VENV = Path(os.environ.get("CONVCOURSE_VENV") or PREFIX / "venv")
HUB_STATE = PREFIX / "hub"


def _lines(path: Path) -> list[str]:
    """Non-empty, non-comment lines of a roster or password file ([] when it is missing)."""
    if not path.is_file():
        return []
    return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]


INSTRUCTORS = set(_lines(PREFIX / "roster" / "instructor"))
STUDENTS = set(_lines(PREFIX / "roster" / "students"))

# ---- where the hub listens and keeps its state -------------------------------------------------
c.JupyterHub.bind_url = "http://127.0.0.1:8000"
c.JupyterHub.hub_ip = "127.0.0.1"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:8001"
c.ConfigurableHTTPProxy.pid_file = str(HUB_STATE / "jupyterhub-proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{HUB_STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(HUB_STATE / "jupyterhub_cookie_secret")

# ---- who may log in ----------------------------------------------------------------------------
# First class: one shared password for students, another (>= 32 characters) for the instructor.
# University login instead, for example:
#   c.JupyterHub.authenticator_class = "pam"           # the users' own Unix passwords
#   c.JupyterHub.authenticator_class = "ltiauthenticator.lti13.authenticator.LTI13Authenticator"
#   c.JupyterHub.authenticator_class = "oauthenticator.generic.GenericOAuthenticator"  # SSO/OIDC
# Keep allowed_users/admin_users below; the user names the university sends must be the Unix names.
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = (_lines(HUB_STATE / "student_password") or [""])[0]
c.SharedPasswordAuthenticator.admin_password = (_lines(HUB_STATE / "instructor_password") or [""])[0]
c.Authenticator.allowed_users = INSTRUCTORS | STUDENTS
c.Authenticator.admin_users = INSTRUCTORS

# ---- one Jupyter server per user, as that Unix user --------------------------------------------
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(VENV / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
# Only these variables reach a user's server: the class venv first on PATH (nbgrader calls
# alembic; terminals find nbgrader), nothing of root's environment (PYTHONPATH, virtualenvs).
c.Spawner.env_keep = ["LANG", "LC_ALL"]
c.Spawner.environment = {"PATH": f"{VENV / 'bin'}:/usr/local/bin:/usr/bin:/bin"}
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
