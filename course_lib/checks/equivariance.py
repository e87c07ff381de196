"""Checks for the translation-equivariance exercise: a shift function and an equivariance gap."""

from __future__ import annotations

from typing import Callable

import numpy as np

from . import reference as ref
from .diagnose import Case, describe_shape, run_cases
from .feedback import Diagnosis, fail, not_implemented, passed
from .outputs import describe_exception, real_number

__all__ = ["check_shift", "check_equivariance_gap", "reference_shift", "reference_gap"]


def reference_shift(x: np.ndarray, s: int) -> np.ndarray:
    """Shift along the last axis by s >= 0 positions to the right, filling with zeros; same shape."""
    out = np.zeros_like(np.asarray(x, dtype=np.float64))
    if s == 0:
        return np.asarray(x, dtype=np.float64).copy()
    out[..., s:] = np.asarray(x)[..., :-s]
    return out


def reference_gap(layer: Callable, x: np.ndarray, s: int) -> float:
    """max |layer(shift(x, s)) - shift(layer(x), s)| over output positions >= s (away from the border)."""
    a = np.asarray(layer(reference_shift(x, s)), dtype=np.float64)
    b = reference_shift(np.asarray(layer(x), dtype=np.float64), s)
    return float(np.max(np.abs(a[..., s:] - b[..., s:])))


def check_shift(fn: Callable, check_id: str = "shift") -> None:
    """fn(x, s): x (C, L) -> (C, L), moved s positions right, zeros enter on the left."""
    rng = np.random.default_rng(11)
    specs = [(np.array([[1.0, 2.0, 3.0, 4.0, 5.0]]), 2, True), (rng.standard_normal((2, 9)), 3, False),
             (rng.standard_normal((3, 12)), 1, False), (rng.standard_normal((1, 6)), 0, False)]
    cases = []
    for i, (x, s, example) in enumerate(specs):
        alternatives = {"rolled": np.roll(x, s, axis=-1), "left": np.concatenate([x[..., s:], np.zeros_like(x[..., :s])], axis=-1)}
        label = "the notebook's example" if example else f"random input #{i} (shape {x.shape}, s={s})"
        cases.append(Case((x, s), reference_shift(x, s), label, {}, alternatives, example))
    mistakes = {
        "rolled": Diagnosis("wrapped_around", "You wrapped the last values around to the front (np.roll): shifted-in positions must be zeros.",
                            ("Start from np.zeros_like(x) and copy x[..., :L-s] into positions s..L-1.",)),
        "left": Diagnosis("shifted_left", "You shifted to the left; shift(x, s)[..., i] should equal x[..., i - s].", ()),
    }

    def shape_diagnosis(case: Case, got: tuple) -> Diagnosis:
        return Diagnosis("shape_changed", f"shift returned shape {describe_shape(got)} for input {describe_shape(case.args[0].shape)}: "
                         "a shift keeps the length (values fall off the right end, zeros come in on the left).",
                         ("Do not concatenate without cutting: the output has exactly L positions.",))

    run_cases(check_id, fn, cases, mistakes, shape_diagnosis, name="shift")
    passed(check_id, "shift moves signals right and pads with zeros.")


def check_equivariance_gap(fn: Callable, check_id: str = "equivariance_gap") -> None:
    """fn(layer, x, s) -> float, the equivariance gap of `layer` measured away from the border."""
    rng = np.random.default_rng(12)
    w = rng.standard_normal((2, 1, 3))
    lw = rng.standard_normal((14, 2, 1, 3))

    def conv(x):
        return ref.conv1d(x, w)

    def local(x):
        return ref.locally_connected1d(x, lw)

    def square(x):
        return np.asarray(x) ** 2

    for name, layer, x, s in [("conv1d", conv, rng.standard_normal((1, 16)), 3),
                              ("locally connected", local, rng.standard_normal((1, 16)), 2),
                              ("elementwise square", square, rng.standard_normal((1, 10)), 4)]:
        try:
            got = fn(layer, x.copy(), s)
        except NotImplementedError:
            not_implemented(check_id, "equivariance_gap")
        except Exception as exc:  # noqa: BLE001
            fail(check_id, Diagnosis("raised", f"equivariance_gap(layer={name}, x, s={s}) raised {describe_exception(exc)}."))
        expected = reference_gap(layer, x, s)
        value, problem = real_number(got)
        if value is None:
            fail(check_id, Diagnosis("not_a_number", f"equivariance_gap must return one float; it returned {problem}.",
                                     ("Reduce with np.max(np.abs(...)).",)))
        if abs(value - expected) <= 1e-6 * (1 + abs(expected)):
            continue
        a = np.asarray(layer(reference_shift(x, s)))
        b = reference_shift(np.asarray(layer(x)), s)
        whole = float(np.max(np.abs(a - b)))
        if abs(value - whole) <= 1e-6 * (1 + whole):
            fail(check_id, Diagnosis("border_included", f"For the {name} layer you compared all positions, including the first s={s} "
                                     "where zeros shifted in make the two sides differ even for a perfect convolution.",
                                     ("Compare only positions [..., s:] of the two outputs.",)))
        fail(check_id, Diagnosis("wrong_value", f"equivariance_gap for the {name} layer (s={s}) returned {value:.6g}, expected {expected:.6g}.",
                                 ("gap = max |layer(shift(x, s)) - shift(layer(x), s)| over positions >= s.",)))
    passed(check_id, "equivariance_gap is 0 for a convolution and positive for layers that are not shift-equivariant.")
