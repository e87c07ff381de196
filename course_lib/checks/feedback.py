"""Failure messages, the hint ladder and progress recording shared by every check.

A check calls :func:`fail` with a diagnosis and a list of hints ordered from gentle to
explicit. The ladder counts failures per ``check_id``: the first failure shows
the diagnosis only, the second adds the first hint, the third and later add every hint. Counts
live in memory and are also persisted in a small JSON file so they survive a kernel restart.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "CheckFailed",
    "HintLadder",
    "Diagnosis",
    "fail",
    "passed",
    "ladder",
    "hint_state_path",
    "record_progress",
]


class CheckFailed(AssertionError):
    """Raised by a check that found a mistake; ``diagnosis.key`` names the kind of mistake."""

    def __init__(self, message: str, check_id: str, diagnosis: "Diagnosis", level: int):
        super().__init__(message)
        self.check_id = check_id
        self.diagnosis = diagnosis
        self.level = level

    def _render_traceback_(self):
        """IPython shows only the diagnosis: the frames inside course_lib.checks would only distract."""
        return [f"CheckFailed: {self}"]


@dataclass(frozen=True)
class Diagnosis:
    """What is wrong (``key`` is stable, ``message`` is for the learner) and hints to fix it."""

    key: str
    message: str
    hints: tuple[str, ...] = field(default_factory=tuple)


def _grading() -> bool:
    """True under auto-grading: no hint state, no progress records.

    Auto-grading is ``COURSE_LIB_GRADING=1``, or a kernel run by nbgrader's autograde or validate
    (they set ``NBGRADER_EXECUTION``, also when started from Formgrader or the Assignments panel).
    """
    if os.environ.get("NBGRADER_EXECUTION", "").strip():
        return True
    return os.environ.get("COURSE_LIB_GRADING", "").strip().lower() in ("1", "true", "yes", "on")


def hint_state_path() -> Path | None:
    """Where failure counts are persisted.

    None under auto-grading (``$COURSE_LIB_GRADING=1`` or ``$NBGRADER_EXECUTION``); ``$COURSE_LIB_CHECKS_STATE`` if set ("" or "off" disables persistence); else next to the
    progress store (``$COURSE_LIB_PROGRESS_DB``'s folder); else the platform data dir.
    """
    if _grading():
        return None
    explicit = os.environ.get("COURSE_LIB_CHECKS_STATE")
    if explicit is not None:
        return None if explicit.strip().lower() in ("", "off", "0", "none") else Path(explicit)
    progress = os.environ.get("COURSE_LIB_PROGRESS_DB")
    if progress:
        return Path(progress).expanduser().resolve().parent / "check_hints.json"
    try:
        from platformdirs import user_data_dir
    except ImportError:  # pragma: no cover - platformdirs is a dependency
        return None
    return Path(user_data_dir("convcourse")) / "check_hints.json"


class HintLadder:
    """Counts failures per check id, in memory and (best effort) on disk.

    ``level(check_id)`` after ``bump`` is 1 on the first failure, 2 on the second, and so on.
    A pass does not reset the count: a learner who passes and later breaks the function again
    still gets the stronger hints.
    """

    def __init__(self, path: Path | None = None, persist: bool = True):
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._path = path
        self._persist = persist
        self._loaded = False

    @property
    def path(self) -> Path | None:
        return self._path if self._path is not None else (hint_state_path() if self._persist else None)

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        path = self.path
        if path is None or not self._persist:
            return
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if isinstance(data, dict):
            for key, value in data.items():
                if isinstance(key, str) and isinstance(value, int) and value > 0:
                    self._counts[key] = max(self._counts.get(key, 0), value)

    def _save(self) -> None:
        path = self.path
        if path is None or not self._persist:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(self._counts, sort_keys=True), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            pass  # persistence is a convenience; the in-memory ladder still works

    def count(self, check_id: str) -> int:
        """Failures recorded so far for ``check_id``."""
        with self._lock:
            self._load()
            return self._counts.get(check_id, 0)

    def bump(self, check_id: str) -> int:
        """Record one more failure of ``check_id`` and return the new count (the hint level)."""
        with self._lock:
            self._load()
            self._counts[check_id] = self._counts.get(check_id, 0) + 1
            self._save()
            return self._counts[check_id]

    def reset(self, check_id: str | None = None) -> None:
        """Forget the count of one check (or of all checks)."""
        with self._lock:
            self._load()
            if check_id is None:
                self._counts.clear()
            else:
                self._counts.pop(check_id, None)
            self._save()


ladder = HintLadder()


def record_progress(check_id: str, ok: bool, detail: str = "") -> bool:
    """Record a check result in the learner's progress store; never raises.

    Returns True when the store accepted the record. Skipped under ``COURSE_LIB_GRADING=1`` or ``NBGRADER_EXECUTION``.
    """
    if _grading():
        return False
    try:
        from course_lib.study import open_store  # lazy: the study package is optional here

        with open_store() as store:
            store.record_check(check_id, bool(ok), detail)
        return True
    except Exception:  # noqa: BLE001 - a progress problem must never break a check
        return False


def format_failure(check_id: str, diagnosis: Diagnosis, level: int) -> str:
    """The message the learner sees at hint ``level`` (1 = diagnosis only)."""
    lines = [f"[{check_id}] {diagnosis.message}"]
    shown = diagnosis.hints[: max(0, level - 1)] if level < 3 else diagnosis.hints
    for i, hint in enumerate(shown, start=1):
        lines.append(f"  Hint {i}: {hint}")
    remaining = len(diagnosis.hints) - len(shown)
    if remaining > 0:
        lines.append(f"  ({remaining} more hint{'s' if remaining > 1 else ''} if this check fails again.)")
    return "\n".join(lines)


def fail(check_id: str, diagnosis: Diagnosis) -> None:
    """Count the failure, record it, and raise :class:`CheckFailed` with the right hint level."""
    level = ladder.bump(check_id)
    record_progress(check_id, False, diagnosis.key)
    raise CheckFailed(format_failure(check_id, diagnosis, level), check_id, diagnosis, level)


def not_implemented(check_id: str, name: str) -> None:
    """Fail because the learner's ``name`` still raises the release's ``NotImplementedError`` stub."""
    fail(check_id, Diagnosis(
        "not_implemented",
        f"{name} still raises NotImplementedError: replace the `raise NotImplementedError(...)` line in its cell "
        "with your code, run that cell, then run this check again.",
    ))


def passed(check_id: str, message: str) -> None:
    """Record a pass and print a short confirmation."""
    record_progress(check_id, True, "")
    print(f"[{check_id}] passed: {message}")
