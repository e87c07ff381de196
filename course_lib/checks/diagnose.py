"""Run a learner's function on a list of cases and turn the first mismatch into a diagnosis.

Each :class:`Case` carries the expected output and the outputs that known mistakes would
produce (``alternatives``: mistake key -> array). When the learner's output matches one of
those, the learner gets that mistake's message rather than a generic "values differ".
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from .feedback import Diagnosis, fail, not_implemented
from .outputs import describe_exception, real_array

__all__ = ["Case", "run_cases", "as_array", "close", "describe_shape"]


@dataclass
class Case:
    """One call of the learner's function and what it should return."""

    args: tuple
    expected: np.ndarray
    label: str
    kwargs: dict = field(default_factory=dict)
    alternatives: dict[str, np.ndarray] = field(default_factory=dict)
    example: bool = False  # True for the example shown in the notebook


def close(a: np.ndarray, b: np.ndarray, rtol: float = 1e-5, atol: float = 1e-6) -> bool:
    """Same shape and allclose."""
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def describe_shape(shape: tuple) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def as_array(value: Any) -> np.ndarray | None:
    """The learner's output as a float64 array (torch tensors detached), or None if impossible
    (see :func:`course_lib.checks.outputs.real_array` for why)."""
    return real_array(value)[0]


def _call(fn: Callable, case: Case):
    args = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in case.args)
    return fn(*args, **case.kwargs)


def _signature(case: Case) -> str:
    parts = []
    for a in case.args:
        parts.append(f"array{describe_shape(a.shape)}" if isinstance(a, np.ndarray) else repr(a))
    parts += [f"{k}={v!r}" for k, v in case.kwargs.items()]
    return "(" + ", ".join(parts) + ")"


def run_cases(
    check_id: str,
    fn: Callable,
    cases: list[Case],
    mistakes: Mapping[str, Diagnosis],
    shape_diagnosis: Callable[[Case, tuple], Diagnosis],
    name: str = "your function",
    rtol: float = 1e-5,
    atol: float = 1e-6,
) -> None:
    """Call ``fn`` on every case; on the first problem raise through :func:`feedback.fail`."""
    if not callable(fn):
        fail(check_id, Diagnosis(
            "not_callable",
            f"Expected a function, got {type(fn).__name__}: pass the function itself, e.g. check(conv1d), not check(conv1d(...)).",
        ))
    example_ok = False
    first_output: np.ndarray | None = None
    for index, case in enumerate(cases):
        call = f"{name}{_signature(case)}"
        try:
            raw = _call(fn, case)
        except NotImplementedError:
            not_implemented(check_id, name)
        except Exception as exc:  # noqa: BLE001 - any learner error becomes a diagnosis
            where = traceback.extract_tb(exc.__traceback__)[-1]
            fail(check_id, Diagnosis(
                "raised",
                f"{call} raised {describe_exception(exc)} (line {where.lineno}: `{(where.line or '').strip()}`) on {case.label}.",
                ("Print the shapes of the intermediate arrays just before that line.",
                 "Check that your slice bounds use the kernel size and the stride of this call, not the example's."),
            ))
        if raw is None:
            fail(check_id, Diagnosis("returned_none", f"{call} returned None: did you forget the `return` statement?"))
        got, problem = real_array(raw)
        if got is None:
            fail(check_id, Diagnosis(
                "not_numeric",
                f"{call} returned {problem}. Expected a NumPy array of real numbers of shape "
                f"{describe_shape(case.expected.shape)} on {case.label}.",
            ))
        expected = case.expected
        if (example_ok and not case.example and first_output is not None and got.shape == first_output.shape
                and np.allclose(got, first_output) and not close(got, expected, rtol, atol)):
            fail(check_id, Diagnosis(
                "hard_coded",
                f"{name} returns exactly the same output for {case.label} as for the notebook's example: "
                "the result is hard-coded rather than computed from the inputs.",
                ("Compute the output from x, w, b and the stride; never type expected numbers into your function.",),
            ))
        if got.shape != expected.shape:
            fail(check_id, shape_diagnosis(case, got.shape))
        if not np.all(np.isfinite(got)):
            fail(check_id, Diagnosis("not_finite", f"{call} returned NaN or inf values on {case.label}.",
                                      ("Look for a division by zero or an uninitialised np.empty array.",)))
        if close(got, expected, rtol, atol):
            if case.example:
                example_ok = True
            if first_output is None:
                first_output = got
            continue
        for key, alternative in case.alternatives.items():
            if close(got, np.asarray(alternative, dtype=np.float64), rtol, atol):
                fail(check_id, mistakes[key])
        if example_ok and not case.example:
            same_as_before = first_output is not None and first_output.shape == got.shape and np.allclose(first_output, got)
            fail(check_id, Diagnosis(
                "hard_coded",
                f"{name} gives the right answer on the notebook's example but not on {case.label}"
                + (" - it even returns the same numbers as for the example." if same_as_before else ".")
                + " The result seems to depend on the example's particular values or sizes (a hard-coded number, shape or index).",
                ("Replace every literal size in your code by a value read from the inputs (x.shape, w.shape, stride).",
                 "Try your function yourself on np.random.randn inputs of other sizes and compare with a hand computation."),
            ))
        bad = np.argwhere(~np.isclose(got, expected, rtol=rtol, atol=atol))
        where = tuple(int(i) for i in bad[0])
        fail(check_id, Diagnosis(
            "wrong_values",
            f"{call} has the right shape {describe_shape(expected.shape)} but wrong values on {case.label}: "
            f"{len(bad)} of {expected.size} entries differ; first at index {where}: got {got[where]:.6g}, expected {expected[where]:.6g}.",
            ("Work out that single entry by hand from the formula and compare with your loop.",
             "Check the index arithmetic: output position i reads input positions i*stride ... i*stride + K - 1."),
        ))
