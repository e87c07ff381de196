"""Markers for the whole tree, so one expression selects the quick unit tests.

- every notebook cell that nbval checks (``lessons/``, ``solutions/``, ``flashcards/``) is ``slow``:
  a lesson runs for seconds to minutes (lesson 04 trains a CNN);
- every test under ``tests/browser/`` is ``browser`` (it drives Chromium against a real server).

``python -m pytest`` still runs everything; ``python -m pytest -m "not slow and not browser"``
is the quick inner loop (README, "Development").
"""

from __future__ import annotations

from pathlib import Path

import pytest

_BROWSER_DIR = Path(__file__).resolve().parent / "tests" / "browser"


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = Path(str(item.fspath))
        if path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)
        if _BROWSER_DIR in path.parents:
            item.add_marker(pytest.mark.browser)
