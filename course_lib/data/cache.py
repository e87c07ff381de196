"""Where downloaded and parsed data sets live on disk.

``$COURSE_LIB_DATA`` wins; otherwise the platform cache folder,
``platformdirs.user_cache_dir("convcourse")`` (``~/.cache/convcourse`` on Linux).
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "COURSE_LIB_DATA"

__all__ = ["ENV_VAR", "cache_dir"]


def cache_dir(subfolder: str | None = None, create: bool = True) -> Path:
    """Return the data cache folder (or ``subfolder`` inside it), creating it if asked."""
    root = os.environ.get(ENV_VAR, "").strip()
    if root:
        base = Path(root).expanduser()
    else:
        import platformdirs

        base = Path(platformdirs.user_cache_dir("convcourse"))
    path = base / subfolder if subfolder else base
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path
