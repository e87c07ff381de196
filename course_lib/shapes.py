"""The counting formulas the lessons teach: output sizes, receptive fields, parameters, FLOPs.

Conventions:

- ``kernel_size`` and ``output_size`` are an int (a 1-D layer) or a tuple with one value per
  spatial dimension (``(3, 3)`` for a 2-D 3x3 kernel); ``kernel_size`` is torch's name for it, and
  the older keyword ``kernel=`` (and a ``"kernel"`` key in layer specs) is still accepted;
- FLOPs: by default one multiply-add counts as **2 FLOPs** (``unit="flop"``); with
  ``unit="mac"`` the FLOP functions count **multiply-adds** (MACs) instead, half the number:
  the convention of torchvision's model tables ("GFLOPS" there are multiply-adds) and of most
  papers (the ResNet paper's "3.8 billion FLOPs" for ResNet-50 are multiply-adds too).
  Bias additions, activations, batch norm and pooling are not counted (one operation per
  output, negligible next to the products; batch norm folds into the preceding conv at
  inference), which is also what those tables do.

Example (lesson 01: why dense layers do not scale to images)::

    >>> dense_params(256 * 256 * 3, 1000)          # 196,608,000 weights + 1,000 biases
    196609000
    >>> conv_params(3, 1000, (3, 3))                # 1000 filters of 3x3x3, + 1,000 biases
    28000
"""

from __future__ import annotations

import functools
import inspect
import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from .geometry import checked_transposed_length, effective_kernel, output_length, resolve_padding
from .validation import check_int

__all__ = [
    "conv_output_size", "conv_transpose_output_size", "ReceptiveField", "receptive_field",
    "dense_params", "conv_params", "conv_transpose_params", "locally_connected_params",
    "batch_norm_params", "pool_params", "param_count",
    "dense_flops", "conv_flops", "conv_transpose_flops", "locally_connected_flops",
    "batch_norm_flops", "pool_flops", "flop_count", "UNITS",
]

UNITS = ("flop", "mac")


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


@_accepts_old_kernel_keyword
def conv_transpose_output_size(n: int, kernel_size: int, stride: int = 1, padding: int = 0,
                               output_padding: int = 0, dilation: int = 1) -> int:
    """Output length of a transposed convolution along one dimension (as ``torch.nn.ConvTranspose1d``).

        n_out = (n - 1)*stride - 2*padding + dilation*(kernel_size - 1) + output_padding + 1

    Every input ``i`` stamps a kernel onto outputs ``i*stride + m*dilation`` (``m < kernel_size``);
    ``padding`` crops that many outputs off each end and ``output_padding`` (``< max(stride,
    dilation)``) adds outputs at the end, to pick one of the ``stride`` input sizes a strided
    convolution maps onto ``n``.  With ``output_padding < stride`` it inverts
    :func:`conv_output_size`'s shape: ``conv_output_size(conv_transpose_output_size(n, k, s, p, op), k, s, p) == n``.

    >>> conv_transpose_output_size(14, 4, stride=2, padding=1)     # 2x upsampling
    28
    >>> conv_transpose_output_size(3, 3, stride=2, output_padding=1)
    8
    """
    n = _positive("n", n)
    kernel_size = _positive("kernel_size", kernel_size)
    stride = _positive("stride", stride)
    dilation = _positive("dilation", dilation)
    padding = _positive("padding", padding, minimum=0)
    output_padding = _positive("output_padding", output_padding, minimum=0)
    return checked_transposed_length(n, kernel_size, stride, padding, output_padding, dilation)


# -------------------------------------------------------------------------- receptive field
@dataclass(frozen=True)
class ReceptiveField:
    """Receptive field after one layer: ``size`` inputs seen by one output, ``jump`` = input
    distance between neighbouring outputs (the product of the strides so far), and
    ``effective_padding``: how far the field of output 0 starts *before* input 0 (the zeros
    it covers on the left), so output ``i`` sees inputs ``i*jump - effective_padding`` to
    ``i*jump - effective_padding + size - 1`` (see :meth:`span`)."""

    size: int
    jump: int
    effective_padding: int = 0

    def span(self, index: int = 0) -> tuple[int, int]:
        """(first, last) input index seen by output ``index`` (negative or past the end = padding)."""
        first = _positive("index", index, minimum=0) * self.jump - self.effective_padding
        return first, first + self.size - 1


@_takes_layer_list
def receptive_field(layers: Iterable[Sequence[int]]) -> list[ReceptiveField]:
    """Receptive field size, jump and effective padding after each layer of a stack.

    ``layers``: ``[(kernel, stride), ...]``, ``[(kernel, stride, dilation), ...]`` or
    ``[(kernel, stride, dilation, padding), ...]`` (pooling layers count too; ``padding`` is
    the zeros added on each side, default 0).  With ``r_0 = 1``, ``j_0 = 1``, ``P_0 = 0``
    (Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional Neural Networks",
    Distill 2019)::

        r_l = r_{l-1} + dilation_l * (kernel_l - 1) * j_{l-1}
        j_l = j_{l-1} * stride_l
        P_l = P_{l-1} + padding_l * j_{l-1}          (effective padding)

    >>> [(rf.size, rf.jump) for rf in receptive_field([(3, 1), (3, 1), (2, 2), (3, 1)])]
    [(3, 1), (5, 1), (6, 2), (10, 2)]
    >>> rf = receptive_field([(3, 1, 1, 1), (3, 1, 1, 1), (2, 2, 1, 0)])[-1]
    >>> rf.size, rf.jump, rf.effective_padding, rf.span(0), rf.span(1)
    (6, 2, 2, (-2, 3), (0, 5))
    """
    size, jump, pad = 1, 1, 0
    result = []
    for index, layer in enumerate(layers):
        if not isinstance(layer, (tuple, list)) or len(layer) not in (2, 3, 4):
            raise ValueError(
                f"layers[{index}] must be (kernel, stride), (kernel, stride, dilation) or "
                f"(kernel, stride, dilation, padding); got {layer!r}"
            )
        kernel = _positive(f"layers[{index}] kernel_size", layer[0])
        stride = _positive(f"layers[{index}] stride", layer[1])
        dilation = _positive(f"layers[{index}] dilation", layer[2]) if len(layer) >= 3 else 1
        padding = _positive(f"layers[{index}] padding", layer[3], minimum=0) if len(layer) == 4 else 0
        size += (effective_kernel(kernel, dilation) - 1) * jump
        pad += padding * jump
        jump *= stride
        result.append(ReceptiveField(size, jump, pad))
    return result


# ---------------------------------------------------------------------------- parameters
def dense_params(n_in: int, n_out: int, bias: bool = True) -> int:
    """Parameters of a dense layer: ``n_in * n_out`` weights (+ ``n_out`` biases)."""
    n_in, n_out = _positive("n_in", n_in), _positive("n_out", n_out)
    return n_in * n_out + (n_out if bias else 0)


def _groups(c_in: int, c_out: int, groups: Any) -> int:
    """``groups`` checked: an int >= 1 that divides both ``c_in`` and ``c_out``."""
    groups = _positive("groups", groups)
    for name, channels in (("c_in", c_in), ("c_out", c_out)):
        if channels % groups:
            raise ValueError(f"groups={groups} must divide {name}={channels}; expected a divisor of {channels}")
    return groups


@_accepts_old_kernel_keyword
def conv_params(c_in: int, c_out: int, kernel_size: int | Sequence[int], bias: bool = True,
                groups: int = 1) -> int:
    """Parameters of a convolution: ``c_out * (c_in // groups) * prod(kernel_size)`` weights (+ ``c_out`` biases).

    Independent of the input size: the same kernels slide over every position.  With
    ``groups`` > 1 the channels are split into ``groups`` independent convolutions, each
    output channel seeing only ``c_in // groups`` input channels (depthwise: ``groups = c_in``).

    >>> conv_params(32, 32, (3, 3), bias=False, groups=32)      # depthwise 3x3
    288
    """
    c_in, c_out = _positive("c_in", c_in), _positive("c_out", c_out)
    groups = _groups(c_in, c_out, groups)
    return c_out * (c_in // groups) * math.prod(_per_dim("kernel_size", kernel_size)) + (c_out if bias else 0)


@_accepts_old_kernel_keyword
def conv_transpose_params(c_in: int, c_out: int, kernel_size: int | Sequence[int], bias: bool = True,
                          groups: int = 1) -> int:
    """Parameters of a transposed convolution: weight ``(c_in, c_out // groups, *kernel_size)``
    (+ ``c_out`` biases), the same count as :func:`conv_params` for the same channels."""
    return conv_params(c_in, c_out, kernel_size, bias, groups)


def batch_norm_params(channels: int, affine: bool = True) -> int:
    """Parameters of batch normalisation: ``gamma`` and ``beta`` per channel, ``2 * channels``
    (the running mean and variance are buffers, not parameters, as in ``torch.nn.BatchNorm2d``)."""
    channels = _positive("channels", channels)
    return 2 * channels if affine else 0


def pool_params(**_: Any) -> int:
    """Pooling has no parameters (whatever its kernel, stride or padding)."""
    return 0


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


_SPEC_KINDS = {"dense": dense_params, "conv": conv_params, "conv_transpose": conv_transpose_params,
               "locally_connected": locally_connected_params, "batch_norm": batch_norm_params,
               "pool": pool_params}


def param_count(spec_or_module: Any) -> int:
    """Number of parameters of a torch module, or of a layer spec / list of specs.

    A spec is a dict with ``"kind"`` in ``{"dense", "conv", "conv_transpose",
    "locally_connected", "batch_norm", "pool"}`` and the keyword arguments of
    :func:`dense_params` / :func:`conv_params` (``groups`` included) /
    :func:`conv_transpose_params` / :func:`locally_connected_params` /
    :func:`batch_norm_params` (``{"kind": "batch_norm", "channels": C}``: ``2*C``) /
    :func:`pool_params` (0, any keys).  Keys that only :func:`flop_count` uses
    (``output_size``, ``input_size``, ``batch``) are ignored here, so one spec list serves both.
    A 2-D kernel is a tuple (an int ``kernel_size`` means a 1-D kernel)::

        >>> param_count([{"kind": "conv", "c_in": 1, "c_out": 32, "kernel_size": (3, 3)},
        ...              {"kind": "dense", "n_in": 32 * 26 * 26, "n_out": 10}])
        216650

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
    return _sum_over_specs(spec_or_module, _SPEC_KINDS, "param_count",
                           ignore=("output_size", "input_size", "batch"))


def _sum_over_specs(spec: Any, table: dict, fname: str, ignore: tuple = (), **extra: Any) -> int:
    """Sum ``table[kind](**spec_without_kind, **extra)`` over a spec or list of specs.

    Keys in ``ignore`` are dropped when the function does not take them (so a spec written for
    :func:`flop_count` also works in :func:`param_count`)."""
    if isinstance(spec, (list, tuple)):
        return sum(_sum_over_specs(s, table, fname, ignore, **extra) for s in spec)
    if not isinstance(spec, dict) or "kind" not in spec:
        raise TypeError(
            f"{fname}: expected a torch module, a dict with a 'kind' key ({', '.join(table)}) or a "
            f"list of such dicts; got {type(spec).__name__} {spec!r}"
        )
    kind = spec["kind"]
    if not isinstance(kind, str) or kind not in table:
        raise ValueError(f"{fname}: unknown kind {kind!r}; expected one of {sorted(table)}")
    accepted = inspect.signature(table[kind]).parameters
    kwargs = {k: v for k, v in spec.items()
              if k != "kind" and not (k in ignore and k not in accepted)}
    kwargs.update({k: v for k, v in extra.items() if k in accepted})
    try:
        return table[kind](**kwargs)
    except TypeError as exc:
        if "argument" in str(exc):
            raise TypeError(f"{fname}: spec {spec!r} does not fit {table[kind].__name__}: {exc}") from None
        raise


# ---------------------------------------------------------------------------------- FLOPs
def _per_mac(unit: Any) -> int:
    """FLOPs per multiply-add: 2 for ``unit="flop"``, 1 for ``unit="mac"``."""
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS} ('flop': a multiply-add is 2 FLOPs; 'mac': "
                         f"count multiply-adds); got {unit!r}")
    return 2 if unit == "flop" else 1


def dense_flops(n_in: int, n_out: int, batch: int = 1, unit: str = "flop") -> int:
    """Forward cost of a dense layer: ``batch * n_in * n_out`` multiply-adds, twice that in FLOPs."""
    return _per_mac(unit) * _positive("batch", batch) * _positive("n_in", n_in) * _positive("n_out", n_out)


@_accepts_old_kernel_keyword
def conv_flops(c_in: int, c_out: int, kernel_size: int | Sequence[int], output_size: int | Sequence[int],
               batch: int = 1, groups: int = 1, unit: str = "flop") -> int:
    """Forward cost of a convolution: ``batch * prod(output_size) * c_out * (c_in // groups) * prod(kernel_size)``
    multiply-adds (``unit="mac"``, torchvision's and most papers' convention), twice that in
    FLOPs (``unit="flop"``, the default).

    Every output value is a dot product of length ``(c_in // groups) * prod(kernel_size)``.  The
    backward pass costs about twice this (one such product for dx, one for dw).

    >>> conv_flops(3, 64, (7, 7), (112, 112), unit="mac")      # ResNet's first layer
    118013952
    """
    c_in, c_out = _positive("c_in", c_in), _positive("c_out", c_out)
    groups = _groups(c_in, c_out, groups)
    positions = math.prod(_per_dim("output_size", output_size))
    return (_per_mac(unit) * _positive("batch", batch) * positions * c_out
            * (c_in // groups) * math.prod(_per_dim("kernel_size", kernel_size)))


@_accepts_old_kernel_keyword
def conv_transpose_flops(c_in: int, c_out: int, kernel_size: int | Sequence[int],
                         input_size: int | Sequence[int], batch: int = 1, groups: int = 1,
                         unit: str = "flop") -> int:
    """Forward cost of a transposed convolution: each of the ``batch * prod(input_size) * c_in``
    inputs stamps a ``(c_out // groups) * prod(kernel_size)`` kernel onto the output, one
    multiply-add per entry (twice that in FLOPs).  The same count as the convolution whose
    input gradient it is: that conv maps ``c_out`` channels of the output back to ``c_in``."""
    c_in, c_out = _positive("c_in", c_in), _positive("c_out", c_out)   # named as the caller named them
    _groups(c_in, c_out, groups)
    _per_dim("input_size", input_size)
    return conv_flops(c_out, c_in, kernel_size, input_size, batch, groups, unit=unit)


@_accepts_old_kernel_keyword
def locally_connected_flops(c_in: int, c_out: int, kernel_size: int | Sequence[int],
                            output_size: int | Sequence[int], batch: int = 1, unit: str = "flop") -> int:
    """Same arithmetic as a convolution (only the weights differ per position)."""
    return conv_flops(c_in, c_out, kernel_size, output_size, batch, unit=unit)


def batch_norm_flops(channels: int, **_: Any) -> int:
    """Counted as 0, as in torchvision's tables and most papers: at inference batch norm is a
    per-channel scale and shift that folds into the preceding convolution."""
    _positive("channels", channels)
    return 0


def pool_flops(**_: Any) -> int:
    """Counted as 0 (comparisons or additions, no multiply-adds), as in torchvision's tables."""
    return 0


_FLOP_KINDS = {"dense": dense_flops, "conv": conv_flops, "conv_transpose": conv_transpose_flops,
               "locally_connected": locally_connected_flops, "batch_norm": batch_norm_flops,
               "pool": pool_flops}


def flop_count(spec: Any, unit: str = "flop") -> int:
    """Forward cost of a layer spec or list of specs (dicts with ``"kind"`` and the keyword
    arguments of :func:`dense_flops` / :func:`conv_flops` / :func:`conv_transpose_flops` /
    :func:`locally_connected_flops`; ``"batch_norm"`` and ``"pool"`` count 0).

    ``unit="flop"`` (default): a multiply-add is 2 FLOPs.  ``unit="mac"``: multiply-adds, the
    convention of torchvision's model tables and most papers (half the FLOP number).  Keys
    only :func:`param_count` uses (``bias``, ``affine``) are ignored.

    >>> spec = {"kind": "conv", "c_in": 64, "c_out": 64, "kernel_size": (3, 3), "output_size": (56, 56)}
    >>> flop_count(spec, unit="mac"), flop_count(spec)
    (115605504, 231211008)
    """
    _per_mac(unit)
    return _sum_over_specs(spec, _FLOP_KINDS, "flop_count", ignore=("bias", "affine"), unit=unit)
