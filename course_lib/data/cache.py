"""Where downloaded and parsed data sets live on disk.

``$COURSE_LIB_DATA`` wins; otherwise the platform cache folder,
``platformdirs.user_cache_dir("convcourse")`` (``~/.cache/convcourse`` on Linux).
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV_VAR = "COURSE_LIB_DATA"

__all__ = ["DATA_ENV_VAR", "cache_dir", "ensure_folder"]


def cache_dir(subfolder: str | None = None, create: bool = True) -> Path:
    """Return the data cache folder (or ``subfolder`` inside it), creating it if asked.

    Raises ``CacheWriteError`` (naming the folder and ``COURSE_LIB_DATA``) when it cannot be created.
    """
    root = os.environ.get(DATA_ENV_VAR, "").strip()
    if root:
        base = Path(root).expanduser()
    else:
        import platformdirs

        base = Path(platformdirs.user_cache_dir("convcourse"))
    path = base / subfolder if subfolder else base
    return ensure_folder(path) if create else path


def ensure_folder(path: str | Path) -> Path:
    """Create ``path`` (and its parents) if needed; ``CacheWriteError`` says what to do when that fails."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from .errors import CacheWriteError

        raise CacheWriteError(
            f"{path}: could not create the data folder ({exc.strerror or exc}); "
            f"set {DATA_ENV_VAR} (or pass data_dir=) to a writable folder"
        ) from exc
    return path
