"""Argument checks shared by the study package and its widgets: one helper per kind of value.

- :func:`text_arg`  a non-empty string that can be stored and exported (valid UTF-8, so no
  lone surrogate such as ``"\\ud800"``);
- :func:`count_arg` a whole number (Python or numpy int, never a bool) with a lower bound.
"""

from __future__ import annotations

import numbers

__all__ = ["text_arg", "count_arg", "describe", "utf8_problem"]


def describe(value) -> str:
    """``type repr`` of a value, the repr cut to 60 characters (for error messages)."""
    try:
        text = repr(value)
    except Exception:  # a learner's object whose repr raises
        text = "<unprintable>"
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def utf8_problem(text: str) -> str | None:
    """Why ``text`` cannot be written as UTF-8 (a lone surrogate and where), or None if it can."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return (
            f"it contains {text[exc.start]!r} at position {exc.start}, half of a surrogate pair, which "
            "is not a character (in YAML, write the character itself or its full \\U escape)"
        )
    return None


def text_arg(value, name: str, *, allow_empty: bool = False) -> str:
    """``value`` if it is a string (non-empty unless ``allow_empty``) that is valid UTF-8."""
    if not isinstance(value, str) or (not allow_empty and not value):
        kind = "a string" if allow_empty else "a non-empty string"
        raise TypeError(f"{name}: expected {kind}, got {describe(value)}")
    problem = utf8_problem(value)
    if problem is not None:
        raise ValueError(f"{name}: expected text that can be saved, but {problem}")
    return value


def count_arg(value, name: str, *, minimum: int = 0, optional: bool = False) -> int | None:
    """``value`` as an int >= ``minimum`` (numpy ints accepted; bools and floats refused);
    None passes through when ``optional``."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        kind = f"an int >= {minimum}" + (" or None" if optional else "")
        raise TypeError(f"{name}: expected {kind}, got {describe(value)}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value}")
    return value
