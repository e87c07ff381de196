"""Failure messages, the hint ladder and progress recording shared by every check.

A check calls :func:`fail` with a diagnosis and a list of hints ordered from gentle to
explicit. The ladder counts failures per ``check_id``: the first failure shows
the diagnosis only, the second adds the first hint, the third and later add every hint. Every
failure is a row in the learner's progress store, which is where the counts come from after a
kernel restart.
"""

from __future__ import annotations

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
    """True under auto-grading: the progress store is neither read nor written.

    Auto-grading is ``COURSE_LIB_GRADING=1``, or a kernel run by nbgrader's autograde or validate
    (they set ``NBGRADER_EXECUTION``, also when started from Formgrader or the Assignments panel).
    """
    if os.environ.get("NBGRADER_EXECUTION", "").strip():
        return True
    return os.environ.get("COURSE_LIB_GRADING", "").strip().lower() in ("1", "true", "yes", "on")


class HintLadder:
    """Counts failures per check id; the count is the hint level.

    The learner's progress store already holds one row per failed check, so the count is read from
    there (once per check id, the first time it is needed) and then kept up to date in memory:
    ``count = failures stored before this kernel asked + failures since``. There is no second file.
    Under auto-grading (``COURSE_LIB_GRADING=1`` or ``$NBGRADER_EXECUTION``), or with
    ``persist=False``, the store is neither read nor written and counts live in memory only.

    ``level(check_id)`` after ``bump`` is 1 on the first failure, 2 on the second, and so on.
    A pass does not reset the count: a learner who passes and later breaks the function again
    still gets the stronger hints.
    """

    def __init__(self, store_path: Path | str | None = None, persist: bool = True):
        self._lock = threading.Lock()
        self._stored: dict[str, int] = {}    # failures already in the store when first asked
        self._counts: dict[str, int] = {}    # failures counted by this ladder since
        self._store_path = store_path
        self._persist = persist

    def _stored_failures(self, check_id: str) -> int:
        if check_id not in self._stored:
            self._stored[check_id] = 0
            if self._persist and not _grading():
                try:
                    from course_lib.study import open_store  # lazy: the study package is optional here

                    with open_store(self._store_path) as store:
                        self._stored[check_id] = store.check_failures(check_id)
                except Exception:  # noqa: BLE001 - an unreadable store only costs the stronger hints
                    pass
        return self._stored[check_id]

    def count(self, check_id: str) -> int:
        """Failures recorded so far for ``check_id``."""
        with self._lock:
            return self._stored_failures(check_id) + self._counts.get(check_id, 0)

    def bump(self, check_id: str) -> int:
        """Count one more failure of ``check_id`` and return the new count (the hint level).

        Call it before the failure is recorded in the store (as :func:`fail` does)."""
        with self._lock:
            stored = self._stored_failures(check_id)
            self._counts[check_id] = self._counts.get(check_id, 0) + 1
            return stored + self._counts[check_id]

    def reset(self, check_id: str | None = None) -> None:
        """Start the count of one check (or of all checks) again from 0; the store's history is kept."""
        with self._lock:
            ids = list(set(self._stored) | set(self._counts)) if check_id is None else [check_id]
            for key in ids:
                self._stored[key] = 0
                self._counts.pop(key, None)


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
