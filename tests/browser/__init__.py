"""End-to-end tests: JupyterLab and Voilà driven by a real Chromium (see conftest.py)."""
