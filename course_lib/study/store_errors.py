"""Plain answers for a progress file that cannot be used right now.

One job: turn what the operating system and SQLite say (busy, read-only, permission denied, a
folder or a dangling link at the path, someone else's journal files) into a
:class:`ProgressStoreError` that says what happened, what was expected and what to do. None of
these is damage, so none of them moves the file aside; only :func:`is_corruption` errors do.

- :func:`check_path` looks at the path before SQLite opens it (and again to explain an error);
- :func:`explain` maps a ``sqlite3.Error`` (by its SQLite result code) to a plain answer.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

__all__ = ["ProgressStoreError", "check_path", "explain", "is_corruption", "ENV_VAR"]

ENV_VAR = "COURSE_LIB_PROGRESS_DB"
_CHOOSE_ANOTHER = f"or point {ENV_VAR} at a file in a folder you can write to"

# SQLite primary result codes (https://sqlite.org/rescode.html)
_PERM, _BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _AUTH, _NOTADB = 3, 5, 6, 8, 10, 11, 13, 14, 23, 26


class ProgressStoreError(sqlite3.DatabaseError):
    """The progress file cannot be used right now (busy, read-only, wrong kind of path, closed).

    A ``sqlite3.DatabaseError``, so code that caught SQLite's own errors still catches it; the
    message is the course's plain answer, with SQLite's words in brackets where it had any.

    ``reason`` is a short keyword (``"busy"``, ``"read-only file"``, ``"read-only folder"``,
    ``"foreign journal"``, ``"folder"``, ``"dangling link"``, ``"closed"``, ...); ``path`` the
    file. The file was not changed and not moved aside.
    """

    def __init__(self, reason: str, path, message: str):
        self.reason = reason
        self.path = None if path is None else Path(path)
        super().__init__(message)


def _owner(path: Path) -> str:
    try:
        uid = path.stat().st_uid
    except OSError:
        return "another user"
    try:
        import pwd

        return f"user {pwd.getpwuid(uid).pw_name!r} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def check_path(path: Path) -> ProgressStoreError | None:
    """What stops ``path`` from being used as a progress file, or None if nothing visible does.

    Checks, in order: a dangling symbolic link, a folder at the path, a parent that is not a
    folder, a file or folder this user cannot write, journal files (``-wal``/``-shm``) that
    another user owns.
    """
    if path.is_symlink() and not path.exists():
        return ProgressStoreError(
            "dangling link", path,
            f"The progress file {path} is a symbolic link to {os.readlink(path)}, which does not exist. "
            f"Remove the link (or make it point to an existing file), {_CHOOSE_ANOTHER}.",
        )
    if path.is_dir():
        return ProgressStoreError(
            "folder", path,
            f"The progress file path {path} is a folder; a file was expected. "
            f"Give a file name inside it, e.g. {path / 'progress.sqlite3'}, {_CHOOSE_ANOTHER}.",
        )
    parent = path.parent
    if parent.exists() and not parent.is_dir():
        return ProgressStoreError(
            "not a folder", path,
            f"The progress file {path} cannot be created: {parent} is a file, not a folder. {_CHOOSE_ANOTHER.capitalize()}.",
        )
    if path.exists():
        if not os.access(path, os.R_OK | os.W_OK):
            return ProgressStoreError(
                "read-only file", path,
                f"The progress file {path} is read-only for you (it belongs to {_owner(path)}, mode "
                f"{path.stat().st_mode & 0o777:o}); reviews could not be saved. Make it writable "
                f"(chmod u+rw {path}), {_CHOOSE_ANOTHER}. Nothing was changed.",
            )
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            if side.exists() and not os.access(side, os.R_OK | os.W_OK):
                return ProgressStoreError(
                    "foreign journal", path,
                    f"SQLite's journal file {side} next to the progress file belongs to {_owner(side)} "
                    "and you cannot write it, so the progress file cannot be opened. If that user's "
                    "program is still running, close it; otherwise ask them (or an administrator) to "
                    f"give the file to you (chown), {_CHOOSE_ANOTHER}. Nothing was changed.",
                )
    if parent.is_dir() and not os.access(parent, os.W_OK | os.X_OK):
        return ProgressStoreError(
            "read-only folder", path,
            f"The folder {parent} of the progress file is read-only for you, and SQLite must create "
            f"its journal files next to the progress file. Make the folder writable (chmod u+w {parent}), "
            f"{_CHOOSE_ANOTHER}. Nothing was changed.",
        )
    return None


def _code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF
    text = str(exc).lower()
    for needle, guess in (("locked", _BUSY), ("readonly", _READONLY), ("read-only", _READONLY),
                          ("unable to open", _CANTOPEN), ("malformed", _CORRUPT), ("not a database", _NOTADB)):
        if needle in text:
            return guess
    return None


def is_corruption(exc: BaseException) -> bool:
    """True only for SQLite's own verdicts that the file is damaged or not a database."""
    return isinstance(exc, sqlite3.DatabaseError) and _code(exc) in (_CORRUPT, _NOTADB)


def explain(exc: sqlite3.Error, path: Path | None, timeout_s: float) -> ProgressStoreError:
    """The plain answer for a SQLite error that is not damage (see :func:`is_corruption`)."""
    code = _code(exc)
    where = "the in-memory progress store" if path is None else f"the progress file {path}"
    if code in (_BUSY, _LOCKED):
        return ProgressStoreError(
            "busy", path,
            f"Another program has {where} open and kept it locked for more than {timeout_s:g} s "
            "(another notebook reviewing flashcards, or a database browser). Close it or wait a "
            "moment, then try again: your progress is safe and nothing was moved.",
        )
    if path is not None and code in (_PERM, _READONLY, _AUTH, _CANTOPEN, _IOERR):
        found = check_path(path)
        if found is not None:
            return found
    if code in (_PERM, _READONLY, _AUTH):
        return ProgressStoreError(
            "read-only file", path,
            f"SQLite may not write {where} ({exc}). Make the file and its folder writable, "
            f"{_CHOOSE_ANOTHER}. Nothing was changed.",
        )
    if code == _FULL:
        return ProgressStoreError(
            "disk full", path, f"The disk holding {where} is full ({exc}). Free some space and try again.",
        )
    if code in (_CORRUPT, _NOTADB):
        return ProgressStoreError(
            "damaged", path,
            f"SQLite reports {where} as damaged ({exc}). Open the store again (open_store()): a damaged "
            "file is moved aside, nothing deleted, and a fresh store is started.",
        )
    return ProgressStoreError(
        "cannot open", path,
        f"SQLite could not use {where} ({exc}). Check that the file and its folder exist and are "
        f"yours, {_CHOOSE_ANOTHER}. Nothing was changed.",
    )
