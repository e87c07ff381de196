"""Argument checking shared by every op: array kinds, dtypes, shapes, stride/padding/dilation.

Every public op in :mod:`course_lib.ops` calls these helpers first, so a bad argument fails
here with a ``ValueError``/``TypeError`` that names the argument, what was received and what
was expected, instead of an ``IndexError`` from deep inside a backend.

Padding is normalised to one ``(before, after)`` pair per spatial dimension, so ``"same"``
with an even kernel (which needs one more zero after than before, as in PyTorch) is
represented exactly.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..geometry import effective_kernel, output_length
from ..geometry import resolve_padding as _resolve_padding
from ..validation import check_int, int_tuple

BACKENDS = ("auto", "loops", "numpy", "torch")
_DIM_NAMES = {1: ("L",), 2: ("H", "W")}


def _torch():
    """The torch module if it has been imported (no tensor can exist otherwise), else None."""
    return sys.modules.get("torch")


def is_tensor(value: Any) -> bool:
    """True when ``value`` is a ``torch.Tensor`` (without importing torch)."""
    torch = _torch()
    return torch is not None and isinstance(value, torch.Tensor)


# ------------------------------------------------------------- ints and padding (shared)
# The int checks live in course_lib.validation and the window arithmetic in course_lib.geometry
# (one home for each, shared with shapes, viz and the widgets); ops keeps these names.
output_size = output_length


def resolve_padding(
    padding: Any, n: int, kernel: tuple[int, ...], stride: tuple[int, ...] | None,
    dilation: tuple[int, ...], op: str,
) -> tuple[tuple[int, int], ...]:
    """``padding`` as ``n`` pairs ``(before, after)``: :func:`course_lib.geometry.resolve_padding` for op ``op``."""
    if len(kernel) != n:
        raise ValueError(f"{op}: expected a kernel with {n} spatial dimensions; got {kernel!r}")
    return _resolve_padding(padding, kernel, stride, dilation, where=op)


# ------------------------------------------------------------------------- arrays / dtypes
@dataclass
class Prepared:
    """Inputs converted for one backend, plus how to turn results back into the caller's kind."""

    arrays: dict[str, Any]
    backend: str           # resolved backend: "loops" | "numpy" | "torch"
    caller_kind: str       # "numpy" | "torch"
    device: Any = None     # torch device of the caller's tensors (when caller_kind == "torch")
    dtype: Any = None      # caller's dtype (numpy dtype or torch dtype)

    def give_back(self, value: Any) -> Any:
        """Convert one backend result back to the caller's array kind (numpy or torch)."""
        if value is None:
            return None
        if self.caller_kind == "numpy":
            if is_tensor(value):
                return value.detach().cpu().numpy()
            return value
        torch = _torch()
        if isinstance(value, torch.Tensor):
            return value
        return torch.from_numpy(np.asarray(value)).to(self.device)


def _numpy_dtype_ok(a: np.ndarray) -> bool:
    return a.dtype.kind in "fiu"


def prepare(op: str, backend: str, **arrays: Any) -> Prepared:
    """Check array kinds and dtypes of ``arrays`` (``None`` entries are kept) for ``backend``.

    - all given arrays must be numpy arrays (lists are converted) or all torch tensors;
    - dtypes must be real numbers (float, or int which is converted to float);
    - they are promoted to one common floating dtype;
    - the result holds numpy arrays for ``"loops"``/``"numpy"`` and tensors for ``"torch"``.
    """
    if backend not in BACKENDS:
        raise ValueError(f"{op}: backend must be one of {BACKENDS}; got {backend!r}")
    given = {k: v for k, v in arrays.items() if v is not None}
    tensors = [k for k, v in given.items() if is_tensor(v)]
    others = [k for k in given if k not in tensors]
    if tensors and others:
        raise TypeError(
            f"{op}: mixed numpy/torch inputs: {', '.join(tensors)} "
            f"{'is a torch.Tensor' if len(tensors) == 1 else 'are torch.Tensors'} but "
            f"{', '.join(f'{k} is {type(given[k]).__name__}' for k in others)}; "
            f"expected all numpy arrays or all torch tensors"
        )
    caller_kind = "torch" if tensors else "numpy"
    if backend == "auto":
        backend = "torch" if caller_kind == "torch" else "numpy"

    if caller_kind == "torch":
        torch = _torch()
        devices = {str(v.device) for v in given.values()}
        if len(devices) > 1:
            raise ValueError(
                f"{op}: inputs live on different devices "
                f"({', '.join(f'{k} on {v.device}' for k, v in given.items())}); expected one device"
            )
        for k, v in given.items():
            if v.dtype == torch.bool or v.is_complex():
                raise TypeError(
                    f"{op}: {k} must hold real numbers (float or int); got dtype {v.dtype} "
                    f"with shape {tuple(v.shape)}"
                )
        dtype = None
        for v in given.values():
            dt = v.dtype if v.is_floating_point() else torch.get_default_dtype()
            dtype = dt if dtype is None else torch.promote_types(dtype, dt)
        device = next(iter(given.values())).device if given else None
        converted = {k: (v.to(dtype) if v.dtype != dtype else v) for k, v in given.items()}
        if backend != "torch":
            converted = {k: v.detach().cpu().numpy() for k, v in converted.items()}
    else:
        converted = {}
        for k, v in given.items():
            if not isinstance(v, np.ndarray):
                try:
                    v = np.asarray(v)
                except Exception as exc:  # noqa: BLE001 - report the argument, not numpy's words
                    raise TypeError(
                        f"{op}: {k} must be a numpy array or torch tensor; got {type(v).__name__}"
                    ) from exc
            if not _numpy_dtype_ok(v):
                raise TypeError(
                    f"{op}: {k} must hold real numbers (float or int); got dtype {v.dtype} "
                    f"with shape {v.shape}"
                )
            converted[k] = v
        dtype = None
        for v in converted.values():
            dt = v.dtype if v.dtype.kind == "f" else np.dtype(np.float64)
            dtype = dt if dtype is None else np.promote_types(dtype, dt)
        converted = {k: v.astype(dtype, copy=False) for k, v in converted.items()}
        device = None
        if backend == "torch":
            import torch

            converted = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in converted.items()}
    out = {k: converted.get(k) for k in arrays}
    return Prepared(out, backend, caller_kind, device, dtype)


def shape_of(a: Any) -> tuple[int, ...]:
    return tuple(int(s) for s in a.shape)


def check_ndim(op: str, name: str, a: Any, ndim: int, layout: str) -> None:
    """``a`` must have ``ndim`` dimensions laid out as ``layout`` (e.g. ``"(N, C_in, H, W)"``)."""
    if a.ndim != ndim:
        raise ValueError(
            f"{op}: {name} must be {ndim}-D {layout}; got shape {shape_of(a)} ({a.ndim}-D)"
        )


def check_shape(op: str, name: str, a: Any, expected: tuple[int, ...], meaning: str = "") -> None:
    """``a.shape`` must equal ``expected``."""
    if shape_of(a) != tuple(expected):
        extra = f" {meaning}" if meaning else ""
        raise ValueError(f"{op}: {name} has shape {shape_of(a)}; expected {tuple(expected)}{extra}")


@dataclass(frozen=True)
class ConvGeometry:
    """Everything a backend needs about one convolution, already checked."""

    n_spatial: int
    stride: tuple[int, ...]
    padding: tuple[tuple[int, int], ...]
    dilation: tuple[int, ...]
    kernel: tuple[int, ...]
    in_size: tuple[int, ...]
    out_size: tuple[int, ...]
    groups: int = 1


def check_groups(op: str, groups: Any, c_in: int, c_out: int, x_shape: tuple, w_shape: tuple) -> int:
    """``groups``: an int >= 1 dividing both ``c_in`` (from x) and ``c_out``."""
    groups = check_int(groups, "groups", minimum=1, where=op)
    for name, channels, where in (("C_in", c_in, f"x.shape={x_shape}"), ("C_out", c_out, f"w.shape={w_shape}")):
        if channels % groups:
            divisors = [g for g in range(1, channels + 1) if channels % g == 0]
            raise ValueError(f"{op}: groups={groups} must divide {name}={channels} ({where}); expected one of "
                             f"{divisors}")
    return groups


def layouts(n: int, transposed: bool = False) -> tuple[str, str]:
    """Layout strings of x and w for an ``n``-D (transposed) convolution, for messages."""
    names = _DIM_NAMES[n]
    kernel = ", ".join("K" + s if n > 1 else "K" for s in names)
    w_layout = f"(C_in, C_out // groups, {kernel})" if transposed else f"(C_out, C_in, {kernel})"
    return "(N, C_in, " + ", ".join(names) + ")", w_layout


def check_conv_arrays(op: str, x: Any, w: Any, b: Any, n: int, groups: Any, transposed: bool = False) -> int:
    """Shapes of ``x``, ``w``, ``b`` for an ``n``-D (transposed) convolution; returns groups.

    conv: w is (C_out, C_in // groups, *K); transposed: w is (C_in, C_out // groups, *K).
    """
    x_layout, w_layout = layouts(n, transposed)
    check_ndim(op, "x", x, n + 2, x_layout)
    check_ndim(op, "w", w, n + 2, w_layout)
    xs, ws = shape_of(x), shape_of(w)
    if any(s == 0 for s in xs[:2]) or any(s == 0 for s in ws):
        raise ValueError(f"{op}: empty input: x.shape={xs}, w.shape={ws}; expected all sizes >= 1")
    if transposed:
        if ws[0] != xs[1]:
            raise ValueError(
                f"{op}: w has {ws[0]} input channels (axis 0) but x has {xs[1]}: got w.shape={ws} and "
                f"x.shape={xs}; expected w of shape {(xs[1], *ws[1:])} {w_layout}"
            )
        groups = check_int(groups, "groups", minimum=1, where=op)
        check_groups(op, groups, xs[1], ws[1] * groups, xs, ws)      # C_out = w.shape[1] * groups
        c_out = ws[1] * groups
    else:
        groups = check_groups(op, groups, xs[1], ws[0], xs, ws)
        if ws[1] * groups != xs[1]:
            if groups == 1:
                raise ValueError(
                    f"{op}: w has {ws[1]} input channels but x has {xs[1]}: got w.shape={ws} and "
                    f"x.shape={xs}; expected w of shape {(ws[0], xs[1], *ws[2:])} (C_out, C_in={xs[1]}, ...)"
                )
            raise ValueError(
                f"{op}: w has {ws[1]} input channels per group but x has C_in={xs[1]} with groups={groups}: "
                f"got w.shape={ws} and x.shape={xs}; expected w of shape {(ws[0], xs[1] // groups, *ws[2:])} "
                f"(C_out, C_in // groups = {xs[1] // groups}, ...)"
            )
        c_out = ws[0]
    if b is not None:
        check_ndim(op, "b", b, 1, "(C_out,)")
        check_shape(op, "b", b, (c_out,), "(one bias per output channel)")
    return groups


def conv_geometry(op: str, x: Any, w: Any, b: Any, stride: Any, padding: Any, dilation: Any,
                  n: int, groups: Any = 1) -> ConvGeometry:
    """Check shapes of ``x``, ``w``, ``b`` for an ``n``-D convolution and work out the output size."""
    names = _DIM_NAMES[n]
    groups = check_conv_arrays(op, x, w, b, n, groups)
    xs, ws = shape_of(x), shape_of(w)
    stride_t = int_tuple(stride, n, "stride", op)
    dilation_t = int_tuple(dilation, n, "dilation", op)
    kernel = ws[2:]
    pads = resolve_padding(padding, n, kernel, stride_t, dilation_t, op)
    in_size = xs[2:]
    out = []
    for dim, (size, k, s, p, d) in enumerate(zip(in_size, kernel, stride_t, pads, dilation_t)):
        padded = size + p[0] + p[1]
        effective = effective_kernel(k, d)
        if effective > padded:
            raise ValueError(
                f"{op}: the kernel is larger than the padded input along {names[dim]}: w.shape={ws} "
                f"gives an effective kernel of {effective} (dilation {d}), but x.shape={xs} with "
                f"padding {p} gives only {padded}; expected a kernel of at most {padded} there "
                f"(or more padding)"
            )
        out.append(output_length(size, k, s, p, d))
    return ConvGeometry(n, stride_t, pads, dilation_t, tuple(kernel), tuple(in_size), tuple(out), groups)
