"""Self-check for numeric answers without printing the answer in the notebook: compare hashes.

This keeps the answer out of sight, not secret (a small integer can be found by trying them all);
graded notebooks rely on their hidden tests, which compare the value itself.
"""

from __future__ import annotations

import hashlib
from typing import Mapping

from .feedback import Diagnosis, fail, passed

__all__ = ["answer_digest", "check_answer"]


def _canonical(value) -> str:
    number = float(value)
    if number.is_integer():
        return str(int(number))
    return f"{number:.3f}"


def answer_digest(value, salt: str) -> str:
    """sha256 of the canonical text of ``value`` (ints as digits, floats to 3 decimals) salted by the question id."""
    return hashlib.sha256(f"{salt}:{_canonical(value)}".encode()).hexdigest()[:16]


def check_answer(check_id: str, value, digest: str, mistakes: Mapping[str, tuple[str, ...]] | None = None, hint: str = "") -> None:
    """Pass when ``value`` hashes to ``digest``; ``mistakes`` maps digests of common wrong answers to hints."""
    if value is None or value is Ellipsis:
        fail(check_id, Diagnosis("missing", "Replace the placeholder with your number."))
    try:
        float(value)
    except (TypeError, ValueError):
        fail(check_id, Diagnosis("not_a_number", f"Your answer {value!r} is not a number."))
    got = answer_digest(value, check_id)
    if got == digest:
        passed(check_id, "correct.")
        return
    for wrong, texts in (mistakes or {}).items():
        if got == wrong:
            fail(check_id, Diagnosis("known_mistake", f"{value!r} is a common wrong answer. {texts[0]}", tuple(texts[1:]) + ((hint,) if hint else ())))
    fail(check_id, Diagnosis("wrong_answer", f"{value!r} is not right.", (hint,) if hint else ()))
