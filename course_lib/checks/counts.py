"""Checks for parameter and FLOP counting functions (dense vs convolutional layers).

Conventions taught in lesson 01: a dense layer n_in -> n_out has n_in*n_out weights and n_out
biases; a conv layer with C_in -> C_out channels and a K (or KH x KW) kernel has
C_out*C_in*K weights and C_out biases, whatever the input length. FLOPs count a multiply and
an add as two operations: each output value costs 2 * (inputs it reads) FLOPs (the bias add
replaces the first addition).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from course_lib.shapes import conv_output_size

from .feedback import Diagnosis, fail, not_implemented, passed
from .outputs import describe_exception, real_number, safe_repr

__all__ = ["check_dense_params", "check_conv_params", "check_dense_flops", "check_conv1d_flops", "check_integer_function"]


def _kernel_size(kernel) -> int:
    return int(np.prod(kernel)) if isinstance(kernel, (tuple, list)) else int(kernel)


def check_integer_function(check_id: str, fn: Callable, name: str, rows: list, mistakes: Callable, explain: str) -> None:
    """Generic: rows are (args, kwargs, expected); mistakes(args, kwargs) -> {wrong value: Diagnosis}."""
    first = None
    for index, (args, kwargs, expected) in enumerate(rows):
        call = f"{name}(" + ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]) + ")"
        try:
            got = fn(*args, **kwargs)
        except NotImplementedError:
            not_implemented(check_id, name)
        except Exception as exc:  # noqa: BLE001
            fail(check_id, Diagnosis("raised", f"{call} raised {describe_exception(exc)}.", (explain,)))
        if got is None:
            fail(check_id, Diagnosis("returned_none", f"{call} returned None: did you forget `return`?"))
        value, problem = real_number(got)  # ints stay exact: a huge int is compared, not overflowed
        if value is None:
            fail(check_id, Diagnosis("not_a_number", f"{call} returned {problem}. Expected a number, here {expected}.", (explain,)))
        if value == expected:
            if index == 0:
                first = value
            continue
        known = mistakes(args, kwargs)
        known.pop(expected, None)
        if value in known:
            d = known[value]
            fail(check_id, Diagnosis(d.key, f"{call} returned {safe_repr(value)}, expected {expected}. {d.message}", d.hints + (explain,)))
        if first is not None and value == first:
            fail(check_id, Diagnosis("hard_coded", f"{call} returned {safe_repr(value)} - the example's answer - but expected {expected}: "
                                     "compute the count from the arguments instead of returning a fixed number.", (explain,)))
        fail(check_id, Diagnosis("wrong_value", f"{call} returned {safe_repr(value)}, expected {expected}.", (explain,)))
    passed(check_id, f"{name} is right on {len(rows)} cases.")


def check_dense_params(fn: Callable, check_id: str = "dense_params") -> None:
    """fn(n_in, n_out, bias=True) -> number of trainable parameters."""
    rows = [((100, 9), {}, 909), ((784, 128), {}, 100480), ((3, 5), {"bias": False}, 15), ((10, 1), {}, 11), ((7, 13), {}, 104)]

    def mistakes(args, kwargs):
        n_in, n_out = args
        return {
            n_in * n_out: Diagnosis("bias_forgotten", "You forgot the biases: one per output neuron.", ("n_in * n_out + n_out",)),
            n_in * n_out + n_in: Diagnosis("bias_per_input", "There is one bias per output neuron, not per input.", ()),
            n_in + n_out: Diagnosis("added_not_multiplied", "Every input connects to every output: multiply n_in by n_out.", ()),
        } if kwargs.get("bias", True) else {
            n_in * n_out + n_out: Diagnosis("bias_counted", "bias=False: leave the biases out.", ()),
        }

    check_integer_function(check_id, fn, "dense_params", rows, mistakes, "weights n_in*n_out, plus n_out biases when bias=True.")


def check_conv_params(fn: Callable, check_id: str = "conv_params") -> None:
    """fn(c_in, c_out, kernel, bias=True) -> parameters of a conv layer (kernel int or tuple)."""
    rows = [((1, 8, 20), {}, 168), ((3, 16, (3, 3)), {}, 448), ((16, 32, 5), {"bias": False}, 2560), ((2, 4, (2, 3)), {}, 52), ((8, 8, 1), {}, 72)]

    def mistakes(args, kwargs):
        c_in, c_out, kernel = args
        k = _kernel_size(kernel)
        out = {
            c_out * k + c_out: Diagnosis("input_channels_ignored", "Each filter spans all input channels: multiply by C_in as well.", ()),
            c_in * k + c_out: Diagnosis("output_channels_ignored", "There is one filter per output channel: multiply the weights by C_out.", ()),
        }
        if kwargs.get("bias", True):
            out[c_in * c_out * k] = Diagnosis("bias_forgotten", "You forgot the biases: one per output channel.", ())
            out[c_in * c_out * k + c_in] = Diagnosis("bias_per_input", "One bias per output channel, not per input channel.", ())
        else:
            out[c_in * c_out * k + c_out] = Diagnosis("bias_counted", "bias=False: leave the biases out.", ())
        if isinstance(kernel, (tuple, list)):
            out[c_in * c_out * sum(kernel) + (c_out if kwargs.get("bias", True) else 0)] = Diagnosis(
                "kernel_added", "A KH x KW kernel has KH*KW weights: multiply, do not add.", ())
        return out

    check_integer_function(check_id, fn, "conv_params", rows, mistakes,
                           "C_out * C_in * (kernel elements) weights plus C_out biases; the input length does not matter (weights are shared).")


def check_dense_flops(fn: Callable, check_id: str = "dense_flops") -> None:
    """fn(n_in, n_out) -> FLOPs of one forward pass for one example: 2 * n_in * n_out."""
    rows = [((100, 9), {}, 1800), ((784, 128), {}, 200704), ((3, 5), {}, 30), ((1, 1), {}, 2), ((12, 7), {}, 168)]

    def mistakes(args, kwargs):
        n_in, n_out = args
        return {
            n_in * n_out: Diagnosis("macs_not_flops", "That is the number of multiply-adds (MACs); each is 2 FLOPs.", ()),
            2 * n_in * n_out + n_out: Diagnosis("bias_double_counted", "The bias add takes the place of the first addition: 2*n_in per output.", ()),
        }

    check_integer_function(check_id, fn, "dense_flops", rows, mistakes, "each of the n_out outputs costs n_in multiplies and n_in adds.")


def check_conv1d_flops(fn: Callable, check_id: str = "conv1d_flops") -> None:
    """fn(c_in, c_out, kernel, length, stride=1) -> FLOPs of a valid conv1d forward pass on one example."""
    rows = [((1, 8, 20, 100), {"stride": 10}, 2 * 8 * 9 * 20), ((3, 4, 5, 32), {}, 2 * 4 * 28 * 15),
            ((2, 6, 3, 11), {"stride": 2}, 2 * 6 * 5 * 6), ((4, 4, 4, 4), {}, 2 * 4 * 1 * 16)]

    def mistakes(args, kwargs):
        c_in, c_out, k, n = args
        s = kwargs.get("stride", 1)
        l_out = conv_output_size(n, k, s)
        return {
            c_in * c_out * k * l_out: Diagnosis("macs_not_flops", "That counts multiply-adds; each is 2 FLOPs.", ()),
            2 * c_in * c_out * k * (n - k + 1): Diagnosis("stride_ignored", "You used the stride-1 output length.", ()),
            2 * c_in * c_out * k: Diagnosis("positions_forgotten", "Weights are shared, but the work is not: multiply by the number of output positions L_out.", ()),
            2 * c_in * c_out * k * n: Diagnosis("input_length_used", "Multiply by the number of output positions L_out = (L - K)//stride + 1, not by L.", ()),
        }

    check_integer_function(check_id, fn, "conv1d_flops", rows, mistakes, "2 * C_out * L_out * C_in * K with L_out = (L - K)//stride + 1.")
