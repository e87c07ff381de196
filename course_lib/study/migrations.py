"""Upgrades of a progress file's records from one schema version to the next, applied once on opening.

Each version lists the id prefixes it renames; records keep their values, times and order.

- **Version 2**: lesson 05 "Modern conv layers" was inserted and interview prep became lesson 06, so the quiz
  answers that interview prep recorded as ``quiz:lesson05:<n>`` and ``quiz:lesson05-order:<n>`` are renamed to
  ``quiz:lesson06:<n>`` and ``quiz:lesson06-order:<n>``. Card ids and exercise check ids name no lesson and
  are unchanged.
"""

from __future__ import annotations

import sqlite3

__all__ = ["RENAMED_CHECK_PREFIXES", "upgrade"]

#: schema version -> (old prefix, new prefix) pairs of ``check_result.check_id`` renamed on reaching it
RENAMED_CHECK_PREFIXES: dict[int, tuple[tuple[str, str], ...]] = {
    2: (("quiz:lesson05:", "quiz:lesson06:"), ("quiz:lesson05-order:", "quiz:lesson06-order:")),
}


def upgrade(conn: sqlite3.Connection, from_version: int, to_version: int) -> int:
    """Apply every rename between ``from_version`` (exclusive) and ``to_version`` (inclusive) inside the
    caller's transaction; returns how many records were renamed."""
    renamed = 0
    for version in range(from_version + 1, to_version + 1):
        for old, new in RENAMED_CHECK_PREFIXES.get(version, ()):
            cursor = conn.execute(
                "UPDATE check_result SET check_id = ? || substr(check_id, ?) WHERE substr(check_id, 1, ?) = ?",
                (new, len(old) + 1, len(old), old),
            )
            renamed += cursor.rowcount
    return renamed
