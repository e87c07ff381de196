"""Public convolution ops (conv1d, conv2d and their backward): check arguments, dispatch to a backend."""

from __future__ import annotations

from ._args import check_ndim, check_shape, conv_geometry, prepare, shape_of
from ._dispatch import backend_module as _module


def _conv_forward(op, n, x, w, b, stride, padding, dilation, groups, backend):
    prep = prepare(op, backend, x=x, w=w, b=b)
    a = prep.arrays
    g = conv_geometry(op, a["x"], a["w"], a["b"], stride, padding, dilation, n, groups)
    fn = getattr(_module(prep.backend), op)
    return prep.give_back(fn(a["x"], a["w"], a["b"], g.stride, g.padding, g.dilation, g.groups))


def _conv_backward(op, n, dy, x, w, stride, padding, dilation, groups, backend):
    prep = prepare(op, backend, dy=dy, x=x, w=w)
    a = prep.arrays
    g = conv_geometry(op, a["x"], a["w"], None, stride, padding, dilation, n, groups)
    N, C_out = shape_of(a["x"])[0], shape_of(a["w"])[0]
    check_ndim(op, "dy", a["dy"], n + 2, "(N, C_out, *output size)")
    check_shape(op, "dy", a["dy"], (N, C_out, *g.out_size), "(N, C_out, *output size), the shape of the forward output")
    fn = getattr(_module(prep.backend), op)
    dx, dw, db = fn(a["dy"], a["x"], a["w"], g.stride, g.padding, g.dilation, g.groups)
    return prep.give_back(dx), prep.give_back(dw), prep.give_back(db)


def conv1d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1, backend: str = "auto"):
    """1-D convolution (cross-correlation), as ``torch.nn.functional.conv1d``.

    y[n, o, i] = b[o] + sum_c sum_m w[o, c, m] * x_pad[n, g*C_in/groups + c, i*s + m*d],  g = o // (C_out/groups)

    Args:
        x: (N, C_in, L) input.
        w: (C_out, C_in // groups, K) kernels.
        b: (C_out,) bias or None.
        stride, dilation: int or 1-tuple, >= 1.
        padding: int, 1-tuple, ((before, after),), "valid" or "same".
        groups: int >= 1 dividing C_in and C_out: output channel block g sees only input
            channel block g (depthwise: groups = C_in).
        backend: "loops" | "numpy" | "torch" | "auto".

    Returns:
        y: (N, C_out, L_out), L_out = floor((L + p_before + p_after - d*(K-1) - 1) / s) + 1.
    """
    return _conv_forward("conv1d", 1, x, w, b, stride, padding, dilation, groups, backend)


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1, backend: str = "auto"):
    """2-D convolution (cross-correlation), as ``torch.nn.functional.conv2d``.

    y[n, o, i, j] = b[o] + sum_c sum_m sum_k w[o, c, m, k] * x_pad[n, g*C_in/groups + c, i*s_h + m*d_h, j*s_w + k*d_w]

    with g = o // (C_out / groups) the group of output channel o.

    Args:
        x: (N, C_in, H, W) input.
        w: (C_out, C_in // groups, KH, KW) kernels.
        b: (C_out,) bias or None.
        stride, dilation: int or (s_h, s_w), >= 1.
        padding: int, (p_h, p_w), ((top, bottom), (left, right)), "valid" or "same".
        groups: int >= 1 dividing C_in and C_out (depthwise: groups = C_in).
        backend: "loops" | "numpy" | "torch" | "auto".

    Returns:
        y: (N, C_out, H_out, W_out), H_out = floor((H + p_top + p_bottom - d_h*(KH-1) - 1) / s_h) + 1,
        likewise W_out.
    """
    return _conv_forward("conv2d", 2, x, w, b, stride, padding, dilation, groups, backend)


def conv1d_backward(dy, x, w, stride=1, padding=0, dilation=1, groups=1, backend: str = "auto"):
    """Gradients of :func:`conv1d` given the upstream gradient ``dy``.

    Args:
        dy: (N, C_out, L_out) gradient of the loss with respect to the output.
        x: (N, C_in, L), w: (C_out, C_in // groups, K): the forward inputs.
        stride, padding, dilation, groups, backend: as in :func:`conv1d`.

    Returns:
        (dx (N, C_in, L), dw (C_out, C_in // groups, K), db (C_out,)).
    """
    return _conv_backward("conv1d_backward", 1, dy, x, w, stride, padding, dilation, groups, backend)


def conv2d_backward(dy, x, w, stride=1, padding=0, dilation=1, groups=1, backend: str = "auto"):
    """Gradients of :func:`conv2d` given the upstream gradient ``dy``.

    Args:
        dy: (N, C_out, H_out, W_out) gradient of the loss with respect to the output.
        x: (N, C_in, H, W), w: (C_out, C_in // groups, KH, KW): the forward inputs.
        stride, padding, dilation, groups, backend: as in :func:`conv2d`.

    Returns:
        (dx (N, C_in, H, W), dw (C_out, C_in // groups, KH, KW), db (C_out,)).
    """
    return _conv_backward("conv2d_backward", 2, dy, x, w, stride, padding, dilation, groups, backend)
