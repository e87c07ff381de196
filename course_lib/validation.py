"""Argument validators shared by the whole package: one function per kind of input.

Each validator takes the value, the argument's ``name`` and, optionally, ``where`` (the
function or class the argument belongs to, put in front of the message), and either
returns the value in its canonical form or raises

- ``TypeError`` when the value is of the wrong kind (a float, a string, a bool where an int
  is meant), or
- ``ValueError`` when it is of the right kind but out of range,

with a message that names the argument, says what was received and what was expected::

    >>> positive_int(3, "stride")
    3
    >>> check_int(9, "kernel_size", minimum=1, maximum=7, where="ConvExplorer")
    Traceback (most recent call last):
    ...
    ValueError: ConvExplorer: kernel_size must be an int in 1..7; got 9

This module is the bottom of the package: it imports nothing from ``course_lib`` (and not
numpy), so every other module, ``ops`` and ``shapes`` included, can use it.
"""

from __future__ import annotations

import numbers
from typing import Any

__all__ = ["is_int", "check_int", "positive_int", "nonnegative_int", "int_tuple", "prefix"]


def prefix(where: str) -> str:
    """``"where: "`` (or ``""``): the start of every message, naming the function or class."""
    return f"{where}: " if where else ""


def is_int(value: Any) -> bool:
    """True for Python and numpy integers; False for bools (``True`` is not a kernel size)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and type(value).__name__ != "bool_"


def _int_range(minimum: int | None, maximum: int | None) -> str:
    if minimum is not None and maximum is not None:
        return f"an int in {minimum}..{maximum}"
    if minimum is not None:
        return f"an int >= {minimum}"
    if maximum is not None:
        return f"an int <= {maximum}"
    return "an int"


def check_int(value: Any, name: str, *, minimum: int | None = None, maximum: int | None = None,
              where: str = "") -> int:
    """``value`` as a Python int, checked to lie in ``minimum..maximum`` (either bound optional).

    Raises ``TypeError`` for anything that is not an int (bools included), ``ValueError`` when
    it lies outside the range.  The message reads ``"<where>: <name> must be an int in 1..7;
    got 9"``.
    """
    expected = _int_range(minimum, maximum)
    if not is_int(value):
        raise TypeError(f"{prefix(where)}{name} must be {expected}; got {type(value).__name__} {value!r}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{prefix(where)}{name} must be {expected}; got {value!r}")
    return int(value)


def positive_int(value: Any, name: str, *, where: str = "") -> int:
    """``value`` as an int >= 1 (a size, a count, a stride), else ``TypeError``/``ValueError``."""
    return check_int(value, name, minimum=1, where=where)


def nonnegative_int(value: Any, name: str, *, where: str = "") -> int:
    """``value`` as an int >= 0 (a padding amount, a seed), else ``TypeError``/``ValueError``."""
    return check_int(value, name, minimum=0, where=where)


def int_tuple(value: Any, n: int, name: str, where: str = "", minimum: int = 1) -> tuple[int, ...]:
    """``value`` (an int or a length-``n`` sequence of ints) as an ``n``-tuple, each ``>= minimum``.

    ``int_tuple(2, 2, "stride")`` is ``(2, 2)``; ``int_tuple((1, 3), 2, "stride")`` is ``(1, 3)``.
    """
    expected = f"an int or a tuple of {n} ints"
    if is_int(value):
        values = (int(value),) * n
    elif isinstance(value, (tuple, list)):
        if len(value) != n or not all(is_int(v) for v in value):
            raise TypeError(f"{prefix(where)}{name} must be {expected}; got {value!r} (length {len(value)})")
        values = tuple(int(v) for v in value)
    elif isinstance(value, bool) or type(value).__name__ == "bool_":
        raise TypeError(f"{prefix(where)}{name} must be {expected}; got {value!r}")
    else:
        raise TypeError(f"{prefix(where)}{name} must be {expected}; got {type(value).__name__} {value!r}")
    for v in values:
        if v < minimum:
            raise ValueError(f"{prefix(where)}{name} must be >= {minimum} in every dimension; got {value!r}")
    return values
