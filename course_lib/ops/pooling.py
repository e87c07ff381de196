"""Public pooling ops (max_pool2d, avg_pool2d and their backward): check arguments, dispatch."""

from __future__ import annotations

from ..geometry import output_length
from ._args import check_ndim, check_shape, int_tuple, prepare, resolve_padding, shape_of
from ._dispatch import backend_module as _module


def _pool_geometry(op, x, kernel_size, stride, padding):
    check_ndim(op, "x", x, 4, "(N, C, H, W)")
    kernel = int_tuple(kernel_size, 2, "kernel_size", op)
    stride_t = kernel if stride is None else int_tuple(stride, 2, "stride", op)
    if isinstance(padding, str) and padding == "same":
        raise ValueError(f"{op}: padding='same' is not supported for pooling; got padding={padding!r}; "
                         f"expected an int, a tuple of 2 ints or 'valid'")
    pads = resolve_padding(padding, 2, kernel, stride_t, (1, 1), op)
    for (before, after), k in zip(pads, kernel):
        if before != after or before > k // 2:
            raise ValueError(
                f"{op}: padding must be symmetric and at most half the kernel (as in PyTorch); got "
                f"padding={padding!r} with kernel_size={kernel}; expected at most {tuple(k // 2 for k in kernel)}"
            )
    xs = shape_of(x)
    out = []
    for dim, (size, k, s, p) in enumerate(zip(xs[2:], kernel, stride_t, pads)):
        padded = size + p[0] + p[1]
        if k > padded:
            raise ValueError(
                f"{op}: kernel_size={kernel} is larger than the padded input along {'HW'[dim]}: "
                f"x.shape={xs} with padding {p} gives {padded}; expected a kernel of at most {padded}"
            )
        out.append(output_length(size, k, s, p))
    return kernel, stride_t, pads, tuple(out)


def _pool_forward(op, x, kernel_size, stride, padding, backend):
    prep = prepare(op, backend, x=x)
    xa = prep.arrays["x"]
    kernel, stride_t, pads, _ = _pool_geometry(op, xa, kernel_size, stride, padding)
    return prep.give_back(getattr(_module(prep.backend), op)(xa, kernel, stride_t, pads))


def _pool_backward(op, dy, x, kernel_size, stride, padding, backend):
    prep = prepare(op, backend, dy=dy, x=x)
    a = prep.arrays
    kernel, stride_t, pads, out = _pool_geometry(op, a["x"], kernel_size, stride, padding)
    check_shape(op, "dy", a["dy"], (*shape_of(a["x"])[:2], *out), "(N, C, H_out, W_out), the forward output's shape")
    return prep.give_back(getattr(_module(prep.backend), op)(a["dy"], a["x"], kernel, stride_t, pads))


def max_pool2d(x, kernel_size, stride=None, padding=0, backend: str = "auto"):
    """Max pooling, as ``torch.nn.functional.max_pool2d``: the largest value of each window.

    Args:
        x: (N, C, H, W).
        kernel_size: int or (KH, KW).
        stride: int or (s_h, s_w); default ``kernel_size`` (windows side by side).
            A stride smaller than the kernel gives overlapping windows.
        padding: int or (p_h, p_w), at most half the kernel; padded entries are -inf.

    Returns:
        y: (N, C, H_out, W_out), H_out = floor((H + 2*p_h - KH) / s_h) + 1, likewise W_out.
    """
    return _pool_forward("max_pool2d", x, kernel_size, stride, padding, backend)


def max_pool2d_backward(dy, x, kernel_size, stride=None, padding=0, backend: str = "auto"):
    """Gradient of :func:`max_pool2d`: dy: (N, C, H_out, W_out), x: (N, C, H, W) -> dx: (N, C, H, W).

    Each window sends its gradient to the position of its maximum; with overlapping windows an
    input that wins several windows receives the sum of their gradients.
    """
    return _pool_backward("max_pool2d_backward", dy, x, kernel_size, stride, padding, backend)


def avg_pool2d(x, kernel_size, stride=None, padding=0, backend: str = "auto"):
    """Average pooling, as ``torch.nn.functional.avg_pool2d`` (padding zeros count in the mean).

    x: (N, C, H, W) -> y: (N, C, H_out, W_out), H_out = floor((H + 2*p_h - KH) / s_h) + 1.
    """
    return _pool_forward("avg_pool2d", x, kernel_size, stride, padding, backend)


def avg_pool2d_backward(dy, x, kernel_size, stride=None, padding=0, backend: str = "auto"):
    """Gradient of :func:`avg_pool2d`: dy (N, C, H_out, W_out), x (N, C, H, W) -> dx (N, C, H, W)."""
    return _pool_backward("avg_pool2d_backward", dy, x, kernel_size, stride, padding, backend)
