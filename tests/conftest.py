"""Test-session setup shared by every test: private data, progress and config folders.

The variables are set in ``os.environ`` at import time so that notebook kernels started by
nbval and the servers started by the browser tests inherit them too: no test reads or writes
the learner's real progress store or data cache.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="convcourse-tests-"))
os.environ["COURSE_LIB_DATA"] = str(_SESSION_DIR / "data")
os.environ["COURSE_LIB_PROGRESS_DB"] = str(_SESSION_DIR / "progress.sqlite3")
os.environ.setdefault("PYTHONHASHSEED", "0")

# In-process figures never need a screen. (Not via MPLBACKEND: kernels must keep the inline backend.)
import matplotlib  # noqa: E402

matplotlib.use("Agg")

# Property-based tests draw the same examples on every run and machine, so CI cannot fail on an example
# nobody has seen before (tests may still ask for more examples; they cannot turn randomness back on).
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("convcourse", derandomize=True, database=None, deadline=None)
_hypothesis_settings.load_profile("convcourse")

ROOT = Path(__file__).resolve().parents[1]
