"""What a learner's function returned (or raised), made safe to inspect.

One job: checks compare the learner's output with the expected one, and that output can be
anything: a tensor on the meta device, bfloat16 or sparse, complex numbers, an object whose
``__array__`` or ``__str__`` raises, a list where a number was meant, an int too big for a float.
Each helper here never raises; it returns the value in a form the checks can compare, or
``None`` with a sentence saying what was returned and what is expected.

- :func:`real_array`  an output array -> ``(float64 ndarray, "")`` or ``(None, problem)``
- :func:`real_number` an output number -> ``(int | float, "")`` or ``(None, problem)``; ints stay
  exact (no ``float()`` overflow), NaN and inf are refused
- :func:`describe_exception` ``"TypeError: message"`` even when ``str(exc)`` itself raises
- :func:`describe` a short ``type repr`` of any value, even one whose ``repr`` raises
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["real_array", "real_number", "describe", "describe_exception", "safe_repr"]


def _safe_text(fn, value, limit: int = 80) -> str:
    try:
        text = fn(value)
    except Exception:  # noqa: BLE001 - the learner's object decides what its str/repr does
        return f"<{type(value).__name__} that cannot be printed>"
    if not isinstance(text, str):
        return f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def safe_repr(value) -> str:
    """``repr(value)`` cut to 80 characters; a repr that raises is said so."""
    return _safe_text(repr, value)


def describe(value) -> str:
    """``list [9]``: the type and a short repr, safe for any object."""
    return f"{type(value).__name__} {_safe_text(repr, value)}"


def describe_exception(exc: BaseException) -> str:
    """``TypeError: message``; a message that cannot be turned into text is said so."""
    text = _safe_text(str, exc, limit=400)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _tensor_problem(value) -> str | None:
    """Why a torch tensor cannot become a float64 array (None if it can)."""
    if getattr(value, "is_meta", False) or getattr(getattr(value, "device", None), "type", "") == "meta":
        return ("a tensor on the meta device (it has a shape but no values); expected a tensor with values: "
                "create it on the CPU (do not pass device='meta')")
    if str(getattr(value, "layout", "torch.strided")) != "torch.strided":
        return f"a {getattr(value, 'layout')} sparse tensor; expected a dense array or tensor (call .to_dense())"
    dtype = str(getattr(value, "dtype", ""))
    if "complex" in dtype:
        return f"a complex tensor ({dtype}); expected real numbers (complex results are never right here)"
    if dtype in ("torch.bfloat16", "torch.float16", "torch.half"):
        return (f"a {dtype} tensor, whose 3-4 significant digits are too few to check; expected float32 or "
                "float64 (call .float() or .double())")
    return None


def real_array(value) -> tuple[np.ndarray | None, str]:
    """``value`` as a float64 ndarray, or ``(None, why)``: not numeric, complex, meta, sparse, bfloat16,
    or an object that fails to convert. Torch tensors are detached and copied to the CPU."""
    try:
        if hasattr(value, "detach") and hasattr(value, "cpu"):
            problem = _tensor_problem(value)
            if problem is not None:
                return None, problem
            value = value.detach().cpu().numpy()
        arr = np.asarray(value)
    except Exception as exc:  # noqa: BLE001 - a learner's __array__ may raise anything
        return None, f"a {type(value).__name__} that cannot be turned into an array ({describe_exception(exc)})"
    if arr.dtype.kind == "c" or (arr.dtype == object and any(isinstance(v, complex) for v in arr.flat)):
        return None, f"complex numbers ({arr.dtype}); expected real numbers (complex results are never right here)"
    if arr.dtype.kind == "b":
        return None, "booleans (True/False); expected numbers"
    try:
        return arr.astype(np.float64), ""
    except Exception as exc:  # noqa: BLE001 - strings, None inside a list, objects
        return None, f"a {type(value).__name__} that is not a numeric array ({describe_exception(exc)})"


def real_number(value) -> tuple[int | float | None, str]:
    """One finite real number: Python/numpy ints stay exact ints, floats stay floats; 0-d arrays
    and one-element tensors count as their value. Lists, sets, dicts, arrays of several values,
    bools, NaN and inf are refused with a sentence saying so."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a 0-d tensor: its value, dtype kept
        problem = _tensor_problem(value)
        if problem is not None:
            return None, problem
        try:
            value = value.detach().cpu().numpy()
        except Exception as exc:  # noqa: BLE001
            return None, f"a tensor that cannot be read ({describe_exception(exc)})"
    if isinstance(value, np.ndarray):
        if value.shape != ():
            return None, f"an array of shape {value.shape}; expected a single number"
        value = value.item()
    if isinstance(value, bool) or isinstance(value, np.bool_):
        return None, f"the bool {value}; expected a number"
    if isinstance(value, numbers.Integral):
        return int(value), ""
    if isinstance(value, numbers.Real):
        number = float(value)
        if not math.isfinite(number):
            return None, f"{number}, which is not a finite number"
        return number, ""
    if isinstance(value, numbers.Complex):
        return None, f"the complex number {value}; expected a real number"
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        return None, f"a {type(value).__name__} {_safe_text(repr, value)}; expected a single number, not a collection"
    return None, f"a {type(value).__name__} {_safe_text(repr, value)}; expected a number"
