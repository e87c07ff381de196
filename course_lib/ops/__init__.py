"""The maths of the course: convolution, pooling, locally connected and dense layers.

Every op comes in three backends that compute the same numbers:

- ``"loops"``: the formula written as nested loops (slow; read it, run it on tiny inputs);
- ``"numpy"``: vectorized CPU version (channel-last im2col + one GEMM, forward and backward);
- ``"torch"``: torch tensors on any device (``torch.nn.functional`` / ``torch.nn.grad``);
- ``"auto"`` (default): ``"torch"`` for torch tensors, ``"numpy"`` for numpy arrays.

The result has the caller's kind: numpy in, numpy out; tensor in, tensor out (on the same
device), whichever backend ran.  Layout and semantics follow ``torch.nn.functional``:
channels first, cross-correlation (the kernel is not flipped).

Output size along each spatial dimension (``n`` input size, ``K`` kernel, ``s`` stride,
``d`` dilation, ``p_before``/``p_after`` zeros added)::

    n_out = floor((n + p_before + p_after - d*(K - 1) - 1) / s) + 1

``padding`` is an int, a tuple (one int per dimension, or one ``(before, after)`` pair per
dimension), ``"valid"`` (= 0) or ``"same"`` (``n_out = n``; needs stride 1, as in PyTorch;
with an even effective kernel the extra zero goes after).

Example::

    >>> import numpy as np
    >>> from course_lib import ops
    >>> x = np.ones((1, 1, 5, 5)); w = np.ones((1, 1, 3, 3))
    >>> ops.conv2d(x, w, padding="same")[0, 0, 0, 0]   # corner: 4 of 9 taps see the image
    4.0
"""

from __future__ import annotations

from . import loops, numpy_backend
from ._args import (
    BACKENDS,
    check_ndim,
    check_shape,
    conv_geometry,
    int_tuple,
    prepare,
    resolve_padding,
    shape_of,
)

__all__ = [
    "BACKENDS",
    "conv1d", "conv2d", "conv1d_backward", "conv2d_backward",
    "max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward",
    "locally_connected1d", "locally_connected1d_backward",
    "dense", "dense_backward",
]


def _module(backend: str):
    if backend == "loops":
        return loops
    if backend == "numpy":
        return numpy_backend
    from . import torch_backend

    return torch_backend


# ------------------------------------------------------------------------------ convolution
def _conv_forward(op, n, x, w, b, stride, padding, dilation, backend):
    prep = prepare(op, backend, x=x, w=w, b=b)
    a = prep.arrays
    g = conv_geometry(op, a["x"], a["w"], a["b"], stride, padding, dilation, n)
    fn = getattr(_module(prep.backend), op)
    return prep.give_back(fn(a["x"], a["w"], a["b"], g.stride, g.padding, g.dilation))


def _conv_backward(op, n, dy, x, w, stride, padding, dilation, backend):
    prep = prepare(op, backend, dy=dy, x=x, w=w)
    a = prep.arrays
    g = conv_geometry(op, a["x"], a["w"], None, stride, padding, dilation, n)
    N, C_out = shape_of(a["x"])[0], shape_of(a["w"])[0]
    check_ndim(op, "dy", a["dy"], n + 2, "(N, C_out, *output size)")
    check_shape(op, "dy", a["dy"], (N, C_out, *g.out_size), "(N, C_out, *output size), the shape of the forward output")
    fn = getattr(_module(prep.backend), op)
    dx, dw, db = fn(a["dy"], a["x"], a["w"], g.stride, g.padding, g.dilation)
    return prep.give_back(dx), prep.give_back(dw), prep.give_back(db)


def conv1d(x, w, b=None, stride=1, padding=0, dilation=1, backend: str = "auto"):
    """1-D convolution (cross-correlation), as ``torch.nn.functional.conv1d``.

    y[n, o, i] = b[o] + sum_c sum_m w[o, c, m] * x_pad[n, c, i*s + m*d]

    Args:
        x: (N, C_in, L) input.
        w: (C_out, C_in, K) kernels.
        b: (C_out,) bias or None.
        stride, dilation: int or 1-tuple, >= 1.
        padding: int, 1-tuple, ((before, after),), "valid" or "same".
        backend: "loops" | "numpy" | "torch" | "auto".

    Returns:
        y: (N, C_out, L_out), L_out = floor((L + p_before + p_after - d*(K-1) - 1) / s) + 1.
    """
    return _conv_forward("conv1d", 1, x, w, b, stride, padding, dilation, backend)


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, backend: str = "auto"):
    """2-D convolution (cross-correlation), as ``torch.nn.functional.conv2d``.

    y[n, o, i, j] = b[o] + sum_c sum_m sum_k w[o, c, m, k] * x_pad[n, c, i*s_h + m*d_h, j*s_w + k*d_w]

    Args:
        x: (N, C_in, H, W) input.
        w: (C_out, C_in, KH, KW) kernels.
        b: (C_out,) bias or None.
        stride, dilation: int or (s_h, s_w), >= 1.
        padding: int, (p_h, p_w), ((top, bottom), (left, right)), "valid" or "same".
        backend: "loops" | "numpy" | "torch" | "auto".

    Returns:
        y: (N, C_out, H_out, W_out), H_out = floor((H + p_top + p_bottom - d_h*(KH-1) - 1) / s_h) + 1,
        likewise W_out.
    """
    return _conv_forward("conv2d", 2, x, w, b, stride, padding, dilation, backend)


def conv1d_backward(dy, x, w, stride=1, padding=0, dilation=1, backend: str = "auto"):
    """Gradients of :func:`conv1d` given the upstream gradient ``dy``.

    Args:
        dy: (N, C_out, L_out) gradient of the loss with respect to the output.
        x: (N, C_in, L), w: (C_out, C_in, K): the forward inputs.
        stride, padding, dilation, backend: as in :func:`conv1d`.

    Returns:
        (dx (N, C_in, L), dw (C_out, C_in, K), db (C_out,)).
    """
    return _conv_backward("conv1d_backward", 1, dy, x, w, stride, padding, dilation, backend)


def conv2d_backward(dy, x, w, stride=1, padding=0, dilation=1, backend: str = "auto"):
    """Gradients of :func:`conv2d` given the upstream gradient ``dy``.

    Args:
        dy: (N, C_out, H_out, W_out) gradient of the loss with respect to the output.
        x: (N, C_in, H, W), w: (C_out, C_in, KH, KW): the forward inputs.
        stride, padding, dilation, backend: as in :func:`conv2d`.

    Returns:
        (dx (N, C_in, H, W), dw (C_out, C_in, KH, KW), db (C_out,)).
    """
    return _conv_backward("conv2d_backward", 2, dy, x, w, stride, padding, dilation, backend)


# --------------------------------------------------------------------------------- pooling
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
        out.append((padded - k) // s + 1)
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


# --------------------------------------------------------------------- locally connected
def _lc_geometry(op, x, w, b, stride):
    check_ndim(op, "x", x, 3, "(N, C_in, L)")
    check_ndim(op, "w", w, 4, "(L_out, C_out, C_in, K)")
    (s,) = int_tuple(stride, 1, "stride", op)
    N, C_in, L = shape_of(x)
    L_out, C_out, w_cin, K = shape_of(w)
    if w_cin != C_in:
        raise ValueError(
            f"{op}: w has {w_cin} input channels but x has {C_in}: got w.shape={shape_of(w)} and "
            f"x.shape={shape_of(x)}; expected w of shape {(L_out, C_out, C_in, K)} (L_out, C_out, C_in, K)"
        )
    if K > L:
        raise ValueError(f"{op}: the kernel is larger than the input: w.shape={shape_of(w)} has K={K} "
                         f"but x.shape={shape_of(x)} has L={L}; expected K <= {L}")
    expected_L_out = (L - K) // s + 1
    if L_out != expected_L_out:
        raise ValueError(
            f"{op}: w has weights for {L_out} output positions but x of length {L} with kernel {K} "
            f"and stride {s} has {expected_L_out}: got w.shape={shape_of(w)}; expected "
            f"{(expected_L_out, C_out, C_in, K)} (L_out = floor((L - K) / stride) + 1)"
        )
    if b is not None:
        check_shape(op, "b", b, (C_out, L_out), "(C_out, L_out): one bias per output channel and position")
    return (s,), (N, C_out, L_out)


def locally_connected1d(x, w, b=None, stride=1, backend: str = "auto"):
    """Locally connected 1-D layer: a convolution whose weights are *not* shared across positions.

    y[n, o, i] = b[o, i] + sum_c sum_m w[i, o, c, m] * x[n, c, i*s + m]

    Args:
        x: (N, C_in, L).
        w: (L_out, C_out, C_in, K): one (C_out, C_in, K) kernel per output position.
        b: (C_out, L_out) or None: one bias per output channel and position.
        stride: int >= 1 (no padding, no dilation).

    Returns:
        y: (N, C_out, L_out), L_out = floor((L - K) / s) + 1.
    """
    op = "locally_connected1d"
    prep = prepare(op, backend, x=x, w=w, b=b)
    a = prep.arrays
    s, _ = _lc_geometry(op, a["x"], a["w"], a["b"], stride)
    return prep.give_back(_module(prep.backend).locally_connected1d(a["x"], a["w"], a["b"], s))


def locally_connected1d_backward(dy, x, w, stride=1, backend: str = "auto"):
    """Gradients of :func:`locally_connected1d`.

    dy: (N, C_out, L_out) -> (dx (N, C_in, L), dw (L_out, C_out, C_in, K), db (C_out, L_out)).
    """
    op = "locally_connected1d_backward"
    prep = prepare(op, backend, dy=dy, x=x, w=w)
    a = prep.arrays
    s, out = _lc_geometry(op, a["x"], a["w"], None, stride)
    check_shape(op, "dy", a["dy"], out, "(N, C_out, L_out), the forward output's shape")
    dx, dw, db = _module(prep.backend).locally_connected1d_backward(a["dy"], a["x"], a["w"], s)
    return prep.give_back(dx), prep.give_back(dw), prep.give_back(db)


# --------------------------------------------------------------------------------- dense
def _dense_check(op, x, w, b):
    check_ndim(op, "x", x, 2, "(N, D_in)")
    check_ndim(op, "w", w, 2, "(D_out, D_in)")
    (N, D_in), (D_out, w_in) = shape_of(x), shape_of(w)
    if w_in != D_in:
        raise ValueError(f"{op}: w has {w_in} inputs per unit but x has D_in={D_in}: got w.shape="
                         f"{shape_of(w)}, x.shape={shape_of(x)}; expected w of shape {(D_out, D_in)}")
    if b is not None:
        check_shape(op, "b", b, (D_out,), "(D_out,): one bias per unit")
    return N, D_out


def dense(x, w, b=None, backend: str = "auto"):
    """Fully connected layer: y[n, o] = b[o] + sum_i w[o, i] * x[n, i].

    x: (N, D_in), w: (D_out, D_in), b: (D_out,) or None -> y: (N, D_out).
    Parameters: D_out * D_in weights + D_out biases.
    """
    prep = prepare("dense", backend, x=x, w=w, b=b)
    a = prep.arrays
    _dense_check("dense", a["x"], a["w"], a["b"])
    return prep.give_back(_module(prep.backend).dense(a["x"], a["w"], a["b"]))


def dense_backward(dy, x, w, backend: str = "auto"):
    """Gradients of :func:`dense`: dy (N, D_out) -> (dx (N, D_in), dw (D_out, D_in), db (D_out,))."""
    op = "dense_backward"
    prep = prepare(op, backend, dy=dy, x=x, w=w)
    a = prep.arrays
    N, D_out = _dense_check(op, a["x"], a["w"], None)
    check_shape(op, "dy", a["dy"], (N, D_out), "(N, D_out), the forward output's shape")
    dx, dw, db = _module(prep.backend).dense_backward(a["dy"], a["x"], a["w"])
    return prep.give_back(dx), prep.give_back(dw), prep.give_back(db)
