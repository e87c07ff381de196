"""Self-check for numeric answers without printing the answer in the notebook: compare hashes.

This keeps the answer out of sight, not secret (a small integer can be found by trying them all);
graded notebooks rely on their hidden tests, which compare the value itself.
"""

from __future__ import annotations

import hashlib
import math
from typing import Mapping

from .feedback import Diagnosis, fail, passed
from .outputs import safe_repr

__all__ = ["answer_digest", "check_answer"]


#: float noise forgiven around a rounding boundary or an integer: relative to the value (about float32 precision;
#: absolute below 1). Large counts stay strict: 196,608,000 accepts at most ±19.
_NOISE = 1e-7


def _canonical(value) -> str:
    """The text that is hashed: digits for an integer, three decimals for anything else."""
    number = float(value)
    if number.is_integer():
        return str(int(number))
    return f"{number:.3f}"


def _canonical_forms(value) -> set[str]:
    """The canonical text of ``value`` and of the values a float-noise away from it.

    A correct answer computed in floating point can land a hair from an integer (6.0000001) or from
    a rounding boundary (0.01249999 for 0.0125); those noise-sized nudges must not fail a right answer.
    """
    number = float(value)
    noise = _NOISE * max(1.0, abs(number))
    forms = {_canonical(number), _canonical(number - noise), _canonical(number + noise)}
    nearest = round(number)
    if abs(number - nearest) <= noise:
        forms.add(str(int(nearest)))
    return forms


def answer_digest(value, salt: str) -> str:
    """sha256 of the canonical text of ``value`` (ints as digits, floats to 3 decimals) salted by the question id."""
    return _digest_of(_canonical(value), salt)


def _digest_of(text: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{text}".encode()).hexdigest()[:16]


def check_answer(check_id: str, value, digest: str, mistakes: Mapping[str, tuple[str, ...]] | None = None, hint: str = "") -> None:
    """Pass when ``value`` hashes to ``digest``; ``mistakes`` maps digests of common wrong answers to hints."""
    if value is None or value is Ellipsis:
        fail(check_id, Diagnosis("missing", "Replace the placeholder with your number."))
    try:
        float(value)
    except Exception:  # noqa: BLE001 - a learner's object decides what float() does
        fail(check_id, Diagnosis("not_a_number", f"Your answer {safe_repr(value)} is not a number."))
    if not math.isfinite(float(value)):
        fail(check_id, Diagnosis("not_a_number", f"Your answer {safe_repr(value)} is not a finite number."))
    if digest in {_digest_of(text, check_id) for text in _canonical_forms(value)}:
        passed(check_id, "correct.")
        return
    got = answer_digest(value, check_id)
    for wrong, texts in (mistakes or {}).items():
        if got == wrong:
            fail(check_id, Diagnosis("known_mistake", f"{safe_repr(value)} is a common wrong answer. {texts[0]}", tuple(texts[1:]) + ((hint,) if hint else ())))
    fail(check_id, Diagnosis("wrong_answer", f"{safe_repr(value)} is not right.", (hint,) if hint else ()))
