"""Checks for output sizes, conv1d, conv2d, the locally connected layer and dense forward passes.

Every check takes the learner's function, runs it on the notebook's example plus random inputs
of other sizes, and explains the first mistake it recognises (flipped kernel, channels on the
wrong axis, off-by-one output length, forgotten bias, ignored stride or padding, hard-coding).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from course_lib.shapes import conv_output_size

from . import reference as ref
from .diagnose import Case, describe_shape, run_cases
from .feedback import Diagnosis, fail, not_implemented, passed
from .outputs import describe_exception, real_number, safe_repr

__all__ = [
    "check_output_size",
    "check_conv1d",
    "check_conv2d",
    "check_locally_connected1d",
    "check_dense_forward",
]

FORMULA = "L_out = floor((L + 2*padding - K) / stride) + 1"

FLIPPED = Diagnosis(
    "flipped_kernel",
    "Your output equals the result with the kernel reversed: you computed a true convolution "
    "(kernel flipped, as np.convolve / scipy.signal.convolve do). Convolutional layers compute "
    "cross-correlation: y[i] = sum_k w[k] * x[i*stride + k], with no flip.",
    ("If you used np.convolve, replace it by an explicit sum over the window, or reverse the kernel yourself.",
     "Check the kernel index: it should run forwards (w[k]), not backwards (w[K-1-k])."),
)
NO_BIAS = Diagnosis(
    "bias_forgotten",
    "Your output equals the correct result without the bias: add b (one value per output channel) to every position.",
    ("The bias has shape (C_out,); broadcast it over positions, e.g. y + b[:, None].",
     "Make sure you add the bias after the sum over the window, once per output value (not once per kernel tap)."),
)
BIAS_PER_TAP = Diagnosis(
    "bias_per_tap",
    "Your output adds the bias K times (once per kernel tap) instead of once per output value.",
    ("Move `+ b` out of the innermost loop.",),
)


def _shape_diagnosis_factory(kind: str, n_spatial: int) -> Callable[[Case, tuple], Diagnosis]:
    """Explain a wrong output shape for conv-like layers (kind names the layer)."""

    def diagnose(case: Case, got: tuple) -> Diagnosis:
        exp = case.expected.shape
        stride = case.kwargs.get("stride", 1)
        padding = case.kwargs.get("padding", 0)
        x, w = case.args[0], case.args[1]
        k = w.shape[-1]
        n = x.shape[-1]
        header = f"{kind} output shape is {describe_shape(got)}, expected {describe_shape(exp)} on {case_label(case)}."
        lead = len(exp) - n_spatial - 1  # index of the channel axis
        channels_last = exp[:lead] + exp[lead + 1:] + (exp[lead],)
        if len(got) == len(exp) and got == channels_last and got != exp:
            return Diagnosis("channels_wrong_axis", header + " The channel axis is in the wrong place: layers here are "
                             "channels-first, so output channel c is y[..., c, :] with positions on the last axis.",
                             ("If you built the output with positions first, transpose it (np.moveaxis(y, -1, "
                              f"{lead})) or index it as y[c, i].",
                              "Check the order of the dimensions you pass to np.zeros when creating the output."))
        if len(got) != len(exp):
            return Diagnosis("wrong_ndim", header + f" Your output has {len(got)} dimensions instead of {len(exp)}: "
                             "keep the channel axis even when there is one channel.",
                             ("Create the output with np.zeros(( C_out, L_out )) (plus the batch axis for conv2d).",))
        if got[:-n_spatial] != exp[:-n_spatial]:
            return Diagnosis("wrong_channels", header + " The number of output channels must be w.shape[0] (C_out).",
                             ("Loop over (or vectorise across) the output channels w[o], one per filter.",))
        g, e = got[-1], exp[-1]
        full = n + 2 * padding + k - 1
        candidates = {
            e + 1: ("off_by_one", "one position too many"),
            e - 1: ("off_by_one", "one position too few"),
        }
        if stride > 1:
            candidates[(n + 2 * padding - k) + 1] = ("stride_ignored", "the length you would get with stride 1: the stride is ignored")
            candidates[math.ceil((n + 2 * padding - k) / stride) + 1] = ("ceil_instead_of_floor", "rounded up instead of down")
        if padding:
            candidates[(n - k) // stride + 1] = ("padding_ignored", "the length without padding: the padding is ignored")
            candidates[(n + padding - k) // stride + 1] = ("padding_one_side", "the length with padding on one side only")
        candidates[full] = ("full_mode", "the length of a 'full' convolution (np.convolve's default mode)")
        candidates[n] = ("same_mode", "the input length ('same' mode)")
        candidates.pop(e, None)
        key, what = candidates.get(g, ("wrong_length", "not what the formula gives"))
        return Diagnosis(key, header + f" Length {g} is {what}. Use {FORMULA} with L={n}, K={k}, "
                         f"stride={stride}, padding={padding}: ({n} + {2 * padding} - {k}) // {stride} + 1 = {e}.",
                         ("The last window must fit inside the (padded) input: its last index is i*stride + K - 1 <= L + 2*padding - 1.",
                          f"Compute L_out once, from the formula, before your loop: L_out = ({n} + 2*{padding} - {k}) // {stride} + 1."))

    return diagnose


def case_label(case: Case) -> str:
    return case.label


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def check_output_size(fn: Callable, check_id: str = "output_size") -> None:
    """fn(n, kernel, stride=1, padding=0) -> int, the conv output length."""
    rows = [(100, 20, 10, 0), (28, 5, 1, 0), (28, 3, 1, 1), (7, 3, 2, 0), (8, 3, 2, 0), (32, 5, 2, 2),
            (9, 9, 1, 0), (10, 4, 3, 1), (227, 11, 4, 0), (5, 2, 2, 0)]
    rng = _rng(7)
    for _ in range(6):
        k = int(rng.integers(1, 8))
        p = int(rng.integers(0, 3))
        s = int(rng.integers(1, 5))
        n = int(rng.integers(k, 40))
        rows.append((n, k, s, p))
    float_seen = None
    for index, (n, k, s, p) in enumerate(rows):
        expected = ref.output_size(n, k, s, p)
        call = f"output_size({n}, {k}, stride={s}, padding={p})"
        try:
            got = fn(n, k, stride=s, padding=p)
        except NotImplementedError:
            not_implemented(check_id, "output_size")
        except Exception as exc:  # noqa: BLE001
            fail(check_id, Diagnosis("raised", f"{call} raised {describe_exception(exc)}.",
                                     ("Accept the keyword arguments stride= and padding=.",)))
        if got is None:
            fail(check_id, Diagnosis("returned_none", f"{call} returned None: did you forget `return`?"))
        got, problem = real_number(got)
        if got is None:
            fail(check_id, Diagnosis("not_a_number", f"{call} returned {problem}. Expected one whole number, here {expected}.",
                                     (f"The formula: {FORMULA}.",)))
        if isinstance(got, float):
            if got != int(got):
                fail(check_id, Diagnosis("true_division", f"{call} returned {got!r}, a fraction: use floor division //, "
                                         f"because a window that does not fit is dropped. Expected {expected}.",
                                         ("(n + 2*padding - kernel) // stride + 1",)))
            if got == expected:
                float_seen = call
                continue
        if got == expected:
            continue
        guesses = {
            (n + 2 * p - k + 1) // s: ("plus_one_inside", "The +1 belongs outside the division: floor((n + 2p - k) / s) + 1."),
            (n + 2 * p - k) // s: ("forgot_plus_one", "You forgot the +1: the first window sits at position 0 before any stride is taken."),
            (n + 2 * p - k) // s + 2: ("off_by_one", "One too many: the +1 is counted twice, or the last partial window is kept."),
            (n + 2 * p - k) + 1: ("stride_ignored", "You ignored the stride: each step moves the window by `stride` positions, so divide by it."),
            (n + p - k) // s + 1: ("padding_one_side", "You added the padding once; it is added on both sides, so use 2*padding."),
            (n - k) // s + 1: ("padding_ignored", "You ignored the padding: it lengthens the input to n + 2*padding."),
            -(-(n + 2 * p - k) // s) + 1: ("ceil_instead_of_floor", "You rounded up; a window that does not fully fit is dropped, so round down."),
        }
        guesses.pop(expected, None)
        if index > 0 and got == ref.output_size(*rows[0]):
            key, message = "hard_coded", "You return the example's answer for every input: compute it from the arguments."
        else:
            key, message = guesses.get(got, ("wrong_value", "That does not match the formula."))
        fail(check_id, Diagnosis(key, f"{call} returned {safe_repr(got)}, expected {expected}. {message}",
                                 (f"The formula: {FORMULA}.",
                                  f"Here: ({n} + 2*{p} - {k}) // {s} + 1 = {expected}.")))
    if float_seen is not None:
        fail(check_id, Diagnosis("float_result", f"{float_seen} returned a float; an output size is an int (it counts positions).",
                                 ("Use floor division // instead of / (and no float() around it).",)))
    passed(check_id, f"output_size agrees with {FORMULA} on {len(rows)} cases.")


def _conv1d_cases(bias: bool, stride: bool) -> list[Case]:
    x0 = np.array([[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]])
    w0 = np.array([[[1.0, 0.0, -1.0]]])
    specs = [(x0, w0, 1, True)]
    rng = _rng(1)
    shapes = [(2, 11, 3, 4, 1), (3, 13, 2, 3, 2 if stride else 1), (1, 20, 1, 5, 3 if stride else 1),
              (2, 9, 4, 2, 2 if stride else 1), (1, 100, 2, 20, 10 if stride else 1)]
    for c_in, length, c_out, k, s in shapes:
        specs.append((rng.standard_normal((c_in, length)), rng.standard_normal((c_out, c_in, k)), s, False))
    cases = []
    for i, (x, w, s, example) in enumerate(specs):
        b = np.linspace(0.5, -0.5, w.shape[0]) + 0.25 if bias else None
        args = (x, w, b) if bias else (x, w)
        kwargs = {"stride": s} if stride else {}
        alternatives = {"flipped_kernel": ref.conv1d(x, w[..., ::-1], b, s)}
        if bias:
            alternatives["bias_forgotten"] = ref.conv1d(x, w, None, s)
            alternatives["bias_per_tap"] = ref.conv1d(x, w, b * w.shape[2] * w.shape[1], s)
        label = "the notebook's example" if example else f"random input #{i} (C_in={x.shape[0]}, L={x.shape[1]}, C_out={w.shape[0]}, K={w.shape[2]}, stride={s})"
        cases.append(Case(args, ref.conv1d(x, w, b, s), label, kwargs, alternatives, example))
    return cases


def check_conv1d(fn: Callable, check_id: str = "conv1d", bias: bool = True, stride: bool = True) -> None:
    """fn(x, w, b, stride=s): x (C_in, L), w (C_out, C_in, K), b (C_out,) -> (C_out, L_out), valid padding."""
    mistakes = {"flipped_kernel": FLIPPED, "bias_forgotten": NO_BIAS, "bias_per_tap": BIAS_PER_TAP}
    cases = _conv1d_cases(bias, stride)
    run_cases(check_id, fn, cases, mistakes, _shape_diagnosis_factory("conv1d", 1), name="conv1d")
    passed(check_id, f"conv1d matches the cross-correlation formula on {len(cases)} inputs (incl. strides and several channels).")


def check_conv2d(fn: Callable, check_id: str = "conv2d", padding: bool = True) -> None:
    """fn(x, w, b, stride=s, padding=p): x (N, C_in, H, W), w (C_out, C_in, KH, KW) -> (N, C_out, H_out, W_out)."""
    rng = _rng(2)
    x0 = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
    w0 = np.array([[[[1.0, 2.0], [0.0, -1.0]]]])
    specs = [(x0, w0, 1, 0, True)]
    for n, c_in, h, c_out, k, s, p in [(2, 3, 7, 4, 3, 1, 0), (1, 2, 8, 3, 3, 2, 1 if padding else 0),
                                       (2, 1, 9, 2, 4, 3, 2 if padding else 0), (3, 2, 6, 2, 2, 2, 0)]:
        specs.append((rng.standard_normal((n, c_in, h, h)), rng.standard_normal((c_out, c_in, k, k)), s, p, False))
    cases = []
    for i, (x, w, s, p, example) in enumerate(specs):
        b = np.linspace(-0.3, 0.7, w.shape[0])
        kwargs = {"stride": s, "padding": p} if padding else {"stride": s}
        alternatives = {"flipped_kernel": ref.conv2d(x, w[..., ::-1, ::-1], b, s, p),
                        "bias_forgotten": ref.conv2d(x, w, None, s, p)}
        label = "the notebook's example" if example else (
            f"random input #{i} (N={x.shape[0]}, C_in={x.shape[1]}, H=W={x.shape[2]}, C_out={w.shape[0]}, K={w.shape[2]}, stride={s}, padding={p})")
        cases.append(Case((x, w, b), ref.conv2d(x, w, b, s, p), label, kwargs, alternatives, example))
    mistakes = {"flipped_kernel": FLIPPED, "bias_forgotten": NO_BIAS}
    run_cases(check_id, fn, cases, mistakes, _shape_diagnosis_factory("conv2d", 2), name="conv2d")
    passed(check_id, f"conv2d matches the reference on {len(cases)} inputs (batch, channels, stride, padding).")


def check_locally_connected1d(fn: Callable, check_id: str = "locally_connected1d") -> None:
    """fn(x, w, b, stride=s): x (C_in, L), w (L_out, C_out, C_in, K), b (C_out, L_out) -> (C_out, L_out)."""
    rng = _rng(3)
    specs = [(rng.standard_normal((1, 10)), rng.standard_normal((4, 1, 1, 4)), 2, True)]
    for c_in, length, c_out, k, s in [(2, 12, 3, 3, 1), (3, 15, 2, 5, 2), (1, 100, 2, 20, 10)]:
        l_out = conv_output_size(length, k, s)
        specs.append((rng.standard_normal((c_in, length)), rng.standard_normal((l_out, c_out, c_in, k)), s, False))
    cases = []
    for i, (x, w, s, example) in enumerate(specs):
        b = rng.standard_normal((w.shape[1], w.shape[0]))
        shared = np.broadcast_to(w[:1], w.shape)
        alternatives = {"weights_shared": ref.locally_connected1d(x, shared, b, s),
                        "flipped_kernel": ref.locally_connected1d(x, w[..., ::-1], b, s),
                        "bias_forgotten": ref.locally_connected1d(x, w, None, s)}
        label = "the notebook's example" if example else f"random input #{i} (C_in={x.shape[0]}, L={x.shape[1]}, K={w.shape[3]}, stride={s})"
        cases.append(Case((x, w, b), ref.locally_connected1d(x, w, b, s), label, {"stride": s}, alternatives, example))
    mistakes = {
        "weights_shared": Diagnosis("weights_shared", "Your output equals a convolution with w[0] at every position: a "
                                    "locally connected layer uses a different kernel w[i] at each output position i.",
                                    ("Index the weights with the output position: w[i] has shape (C_out, C_in, K).",)),
        "flipped_kernel": FLIPPED,
        "bias_forgotten": Diagnosis("bias_forgotten", "Your output equals the correct result without the bias b (shape (C_out, L_out), one value per output).",
                                    ("Add b[:, i] to output position i, or add the whole b at the end.",)),
    }
    run_cases(check_id, fn, cases, mistakes, _shape_diagnosis_factory("locally_connected1d", 1), name="locally_connected1d")
    passed(check_id, f"locally_connected1d matches the reference on {len(cases)} inputs.")


def check_dense_forward(fn: Callable, check_id: str = "dense_forward") -> None:
    """fn(x, w, b): x (N, D_in), w (D_out, D_in), b (D_out,) -> (N, D_out) = x @ w.T + b."""
    rng = _rng(4)
    specs = [(np.array([[1.0, 2.0, 3.0]]), np.array([[1.0, 0.0, -1.0], [0.5, 0.5, 0.5]]), True)]
    for n, d_in, d_out in [(4, 5, 3), (2, 100, 7), (3, 6, 6)]:
        specs.append((rng.standard_normal((n, d_in)), rng.standard_normal((d_out, d_in)), False))
    cases = []
    for i, (x, w, example) in enumerate(specs):
        b = np.linspace(1.0, 2.0, w.shape[0])
        alternatives = {"bias_forgotten": ref.dense(x, w), "square_transposed": (w @ x.T + b[:, None]).T if w.shape[0] == w.shape[1] else ref.dense(x, w) * np.nan,
                        "activation_applied": np.maximum(ref.dense(x, w, b), 0)}
        label = "the notebook's example" if example else f"random input #{i} (N={x.shape[0]}, D_in={x.shape[1]}, D_out={w.shape[0]})"
        cases.append(Case((x, w, b), ref.dense(x, w, b), label, {}, alternatives, example))

    def shape_diagnosis(case: Case, got: tuple) -> Diagnosis:
        exp = case.expected.shape
        msg = f"dense output shape is {describe_shape(got)}, expected {describe_shape(exp)} (N, D_out) on {case.label}."
        if got == exp[::-1]:
            return Diagnosis("transposed_output", msg + " Your output is transposed: rows must be examples. Use x @ w.T (w is (D_out, D_in)).",
                             ("w @ x.T gives (D_out, N); x @ w.T gives (N, D_out).",))
        return Diagnosis("wrong_shape", msg, ("Each output neuron d has the weight row w[d] of length D_in: y[n, d] = x[n] . w[d] + b[d].",))

    mistakes = {
        "bias_forgotten": NO_BIAS,
        "square_transposed": Diagnosis("weights_transposed", "You used w where w.T belongs (x @ w instead of x @ w.T): w is (D_out, D_in), one row per output neuron.",
                                       ("y[n, d] = sum_j x[n, j] * w[d, j] + b[d].",)),
        "activation_applied": Diagnosis("activation_applied", "Your output looks like ReLU(x @ w.T + b): the layer asked for here is linear (no activation).",
                                        ("Remove the np.maximum(..., 0).",)),
    }
    run_cases(check_id, fn, cases, mistakes, shape_diagnosis, name="dense_forward")
    passed(check_id, f"dense_forward matches x @ w.T + b on {len(cases)} inputs.")
