"""The counting formulas the lessons teach: output sizes, receptive fields, parameters, FLOPs.

Conventions:

- ``kernel_size`` and ``output_size`` are an int (a 1-D layer) or a tuple with one value per
  spatial dimension (``(3, 3)`` for a 2-D 3x3 kernel); ``kernel_size`` is torch's name for it, and
  the older keyword ``kernel=`` (and a ``"kernel"`` key in layer specs) is still accepted;
- one multiply-add counts as **2 FLOPs**; bias additions and activations are not counted
  (they are one add per output, negligible next to the products).

Example (lesson 01: why dense layers do not scale to images)::

    >>> dense_params(256 * 256 * 3, 1000)          # 196,608,000 weights + 1,000 biases
    196609000
    >>> conv_params(3, 1000, (3, 3))                # 1000 filters of 3x3x3, + 1,000 biases
    28000
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from .geometry import effective_kernel, output_length, resolve_padding
from .validation import check_int

__all__ = [
    "conv_output_size", "ReceptiveField", "receptive_field",
    "dense_params", "conv_params", "locally_connected_params", "param_count",
    "dense_flops", "conv_flops", "locally_connected_flops", "flop_count",
]


def _positive(name: str, value: Any, minimum: int = 1) -> int:
    return check_int(value, name, minimum=minimum)


def _accepts_old_kernel_keyword(fn):
    """Let ``fn(..., kernel=3)`` keep working after the argument was renamed ``kernel_size`` (as in torch)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if "kernel" in kwargs:
            if "kernel_size" in kwargs:
                raise TypeError(f"{fn.__name__}: give kernel_size or kernel (its older name), not both")
            kwargs["kernel_size"] = kwargs.pop("kernel")
        return fn(*args, **kwargs)

    return wrapper


def _per_dim(name: str, value: Any, minimum: int = 1) -> tuple[int, ...]:
    if isinstance(value, (tuple, list)):
        if not value:
            raise ValueError(f"{name} must be an int or a non-empty tuple of ints; got {value!r}")
        return tuple(_positive(f"{name}[{i}]", v, minimum) for i, v in enumerate(value))
    return (_positive(name, value, minimum),)


# ----------------------------------------------------------------------------- output size
def _takes_layer_list(fn):
    """Decorator: ``fn(layers)`` refuses anything but an iterable of layer tuples (not a string
    or dict) with a TypeError naming ``layers``, and gets it as a list."""
    import functools

    @functools.wraps(fn)
    def checked(layers):
        if isinstance(layers, (str, bytes, dict)) or not hasattr(layers, "__iter__"):
            raise TypeError(
                f"layers must be a list of (kernel, stride) or (kernel, stride, dilation) tuples; "
                f"got {type(layers).__name__} {layers!r}"
            )
        return fn(list(layers))

    return checked


@_accepts_old_kernel_keyword
def conv_output_size(n: int, kernel_size: int, stride: int = 1, padding: int | str = 0,
                     dilation: int = 1) -> int:
    """Output length of a convolution (or pooling) along one dimension.

        n_out = floor((n + 2*padding - dilation*(kernel_size - 1) - 1) / stride) + 1

    ``padding`` may be an int (zeros on *each* side), ``"valid"`` (0) or ``"same"`` (returns
    ``n``; stride must be 1, as in PyTorch).  Raises ``ValueError`` when the (dilated) kernel
    does not fit in the padded input.

    >>> conv_output_size(28, 5)                  # 28 - 5 + 1
    24
    >>> conv_output_size(100, 20, stride=10)     # floor(80 / 10) + 1
    9
    """
    n = _positive("n", n)
    kernel = _positive("kernel_size", kernel_size)
    stride = _positive("stride", stride)
    dilation = _positive("dilation", dilation)
    if isinstance(padding, str) and padding not in ("valid", "same"):
        raise ValueError(f"padding must be an int >= 0, 'valid' or 'same'; got {padding!r}")
    if not isinstance(padding, str):
        padding = _positive("padding", padding, minimum=0)
    pad = resolve_padding(padding, (kernel,), (stride,), (dilation,))[0]
    effective = effective_kernel(kernel, dilation)
    if effective > n + pad[0] + pad[1]:
        raise ValueError(
            f"kernel {kernel} (effective size {effective} with dilation {dilation}) is larger than "
            f"the padded input n + 2*padding = {n + 2 * pad[0]}; expected at most {n + 2 * pad[0]}"
        )
    return output_length(n, kernel, stride, pad, dilation)


# -------------------------------------------------------------------------- receptive field
@dataclass(frozen=True)
class ReceptiveField:
    """Receptive field after one layer: ``size`` inputs seen by one output, ``jump`` = input
    distance between neighbouring outputs (the product of the strides so far)."""

    size: int
    jump: int


@_takes_layer_list
def receptive_field(layers: Iterable[Sequence[int]]) -> list[ReceptiveField]:
    """Receptive field size and jump after each layer of a stack.

    ``layers``: ``[(kernel, stride), ...]`` or ``[(kernel, stride, dilation), ...]`` (pooling
    layers count too).  With ``r_0 = 1``, ``j_0 = 1``::

        r_l = r_{l-1} + dilation_l * (kernel_l - 1) * j_{l-1}
        j_l = j_{l-1} * stride_l

    >>> [(rf.size, rf.jump) for rf in receptive_field([(3, 1), (3, 1), (2, 2), (3, 1)])]
    [(3, 1), (5, 1), (6, 2), (10, 2)]
    """
    size, jump = 1, 1
    result = []
    for index, layer in enumerate(layers):
        if not isinstance(layer, (tuple, list)) or len(layer) not in (2, 3):
            raise ValueError(
                f"layers[{index}] must be (kernel, stride) or (kernel, stride, dilation); got {layer!r}"
            )
        kernel = _positive(f"layers[{index}] kernel_size", layer[0])
        stride = _positive(f"layers[{index}] stride", layer[1])
        dilation = _positive(f"layers[{index}] dilation", layer[2]) if len(layer) == 3 else 1
        size += dilation * (kernel - 1) * jump
        jump *= stride
        result.append(ReceptiveField(size, jump))
    return result


# ---------------------------------------------------------------------------- parameters
def dense_params(n_in: int, n_out: int, bias: bool = True) -> int:
    """Parameters of a dense layer: ``n_in * n_out`` weights (+ ``n_out`` biases)."""
    n_in, n_out = _positive("n_in", n_in), _positive("n_out", n_out)
    return n_in * n_out + (n_out if bias else 0)


@_accepts_old_kernel_keyword
def conv_params(c_in: int, c_out: int, kernel_size: int | Sequence[int], bias: bool = True) -> int:
    """Parameters of a convolution: ``c_out * c_in * prod(kernel_size)`` weights (+ ``c_out`` biases).

    Independent of the input size: the same kernels slide over every position.
    """
    c_in, c_out = _positive("c_in", c_in), _positive("c_out", c_out)
    return c_out * c_in * math.prod(_per_dim("kernel_size", kernel_size)) + (c_out if bias else 0)


@_accepts_old_kernel_keyword
def locally_connected_params(c_in: int, c_out: int, kernel_size: int | Sequence[int],
                             output_size: int | Sequence[int], bias: bool = True) -> int:
    """Parameters of a locally connected layer (a convolution without weight sharing):
    one kernel per output position, so ``prod(output_size) * c_out * c_in * prod(kernel_size)``
    weights (+ one bias per output channel and position, ``prod(output_size) * c_out``)."""
    c_in, c_out = _positive("c_in", c_in), _positive("c_out", c_out)
    positions = math.prod(_per_dim("output_size", output_size))
    weights = positions * c_out * c_in * math.prod(_per_dim("kernel_size", kernel_size))
    return weights + (positions * c_out if bias else 0)


_SPEC_KINDS = {"dense": dense_params, "conv": conv_params, "locally_connected": locally_connected_params}


def param_count(spec_or_module: Any) -> int:
    """Number of parameters of a torch module, or of a layer spec / list of specs.

    A spec is a dict with ``"kind"`` in ``{"dense", "conv", "locally_connected"}`` and the
    keyword arguments of :func:`dense_params` / :func:`conv_params` /
    :func:`locally_connected_params`::

        param_count([{"kind": "conv", "c_in": 1, "c_out": 32, "kernel_size": 3},
                     {"kind": "dense", "n_in": 32 * 26 * 26, "n_out": 10}])

    For a ``torch.nn.Module`` it counts every parameter (trainable or not) once.
    """
    if isinstance(spec_or_module, type):
        raise TypeError(
            f"param_count: got the class {spec_or_module.__name__}, expected a module instance or a spec; "
            f"create the layer first, e.g. {spec_or_module.__name__}(...) with its arguments"
        )
    if hasattr(spec_or_module, "parameters") and callable(spec_or_module.parameters):
        seen, total = set(), 0
        for p in spec_or_module.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                total += p.numel()
        return total
    return _sum_over_specs(spec_or_module, _SPEC_KINDS, "param_count")


def _sum_over_specs(spec: Any, table: dict, fname: str) -> int:
    if isinstance(spec, (list, tuple)):
        return sum(_sum_over_specs(s, table, fname) for s in spec)
    if not isinstance(spec, dict) or "kind" not in spec:
        raise TypeError(
            f"{fname}: expected a torch module, a dict with a 'kind' key ({', '.join(table)}) or a "
            f"list of such dicts; got {type(spec).__name__} {spec!r}"
        )
    kind = spec["kind"]
    if not isinstance(kind, str) or kind not in table:
        raise ValueError(f"{fname}: unknown kind {kind!r}; expected one of {sorted(table)}")
    kwargs = {k: v for k, v in spec.items() if k != "kind"}
    try:
        return table[kind](**kwargs)
    except TypeError as exc:
        if "argument" in str(exc):
            raise TypeError(f"{fname}: spec {spec!r} does not fit {table[kind].__name__}: {exc}") from None
        raise


# ---------------------------------------------------------------------------------- FLOPs
def dense_flops(n_in: int, n_out: int, batch: int = 1) -> int:
    """FLOPs of a dense layer's forward pass: ``2 * batch * n_in * n_out``."""
    return 2 * _positive("batch", batch) * _positive("n_in", n_in) * _positive("n_out", n_out)


@_accepts_old_kernel_keyword
def conv_flops(c_in: int, c_out: int, kernel_size: int | Sequence[int], output_size: int | Sequence[int],
               batch: int = 1) -> int:
    """FLOPs of a convolution's forward pass: ``2 * batch * prod(output_size) * c_out * c_in * prod(kernel_size)``.

    Every output value is a dot product of length ``c_in * prod(kernel_size)``.  The backward pass
    costs about twice this (one such product for dx, one for dw).
    """
    positions = math.prod(_per_dim("output_size", output_size))
    return (2 * _positive("batch", batch) * positions * _positive("c_out", c_out)
            * _positive("c_in", c_in) * math.prod(_per_dim("kernel_size", kernel_size)))


@_accepts_old_kernel_keyword
def locally_connected_flops(c_in: int, c_out: int, kernel_size: int | Sequence[int],
                            output_size: int | Sequence[int], batch: int = 1) -> int:
    """Same arithmetic as a convolution (only the weights differ per position)."""
    return conv_flops(c_in, c_out, kernel_size, output_size, batch)


_FLOP_KINDS = {"dense": dense_flops, "conv": conv_flops, "locally_connected": locally_connected_flops}


def flop_count(spec: Any) -> int:
    """Forward FLOPs of a layer spec or list of specs (dicts with ``"kind"`` and the keyword
    arguments of :func:`dense_flops` / :func:`conv_flops` / :func:`locally_connected_flops`)."""
    return _sum_over_specs(spec, _FLOP_KINDS, "flop_count")
