"""Jupyter server settings every user's server reads (setup.sh installs it as <venv>/etc/jupyter/jupyter_server_config.py)."""

c = get_config()  # noqa: F821  (provided by Jupyter when it loads this file)

# Terminals start `bash -l` by default, and Debian's /etc/profile resets PATH, so the class
# environment's `nbgrader`, `python` and `jupyter` would be missing. A non-login shell keeps the
# PATH the hub gave the server.
c.ServerApp.terminado_settings = {"shell_command": ["/bin/bash"]}

# A class server is often offline or behind a firewall: no news feed, no update checks.
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.handlers.announcements.NeverCheckForUpdate"
