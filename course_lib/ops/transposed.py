"""Public transposed convolution (conv_transpose1d/2d and their backward): check arguments, dispatch.

A transposed convolution runs a convolution's wiring backwards: every input value *stamps* a
scaled copy of its kernel onto the output, at ``i*stride`` (taps ``i*stride + m*dilation``);
overlapping stamps add up.  It is exactly the input gradient of the convolution with the same
geometry and weight, which is why it upsamples (stride 2 doubles the size).  Semantics and
weight layout as ``torch.nn.functional.conv_transpose1d/2d``: ``w`` is (C_in, C_out // groups, *K).

Output size along each spatial dimension (``n`` input size)::

    n_out = (n - 1)*stride - 2*padding + dilation*(K - 1) + output_padding + 1

``padding`` (int or tuple, >= 0) crops that many outputs off both ends; ``output_padding``
(``< max(stride, dilation)``) adds outputs at the end, choosing among the input sizes that a
strided convolution maps onto the same ``n``.
"""

from __future__ import annotations

from ..geometry import transposed_output_length
from ._args import _DIM_NAMES, check_conv_arrays, check_shape, int_tuple, prepare, shape_of
from ._dispatch import backend_module as _module


def _transposed_geometry(op, x, w, b, stride, padding, output_padding, dilation, groups, n):
    """Checked (stride, padding pairs, output_padding, dilation, groups, output size)."""
    groups = check_conv_arrays(op, x, w, b, n, groups, transposed=True)
    stride_t = int_tuple(stride, n, "stride", op)
    dilation_t = int_tuple(dilation, n, "dilation", op)
    if isinstance(padding, str):
        raise TypeError(f"{op}: padding must be an int or a tuple of {n} ints (zeros cropped off each end), "
                        f"as in torch.nn.functional.conv_transpose{n}d; got {padding!r}")
    pad_t = int_tuple(padding, n, "padding", op, minimum=0)
    out_pad_t = int_tuple(output_padding, n, "output_padding", op, minimum=0)
    xs, ws = shape_of(x), shape_of(w)
    out = []
    for dim, (size, k, s, p, op_, d) in enumerate(zip(xs[2:], ws[2:], stride_t, pad_t, out_pad_t, dilation_t)):
        if op_ >= max(s, d):
            raise ValueError(
                f"{op}: output_padding must be smaller than max(stride, dilation) = {max(s, d)} along "
                f"{_DIM_NAMES[n][dim]}; got output_padding={output_padding!r} with stride={stride_t}, "
                f"dilation={dilation_t}"
            )
        length = transposed_output_length(size, k, s, (p, p), op_, d)
        if length < 1:
            raise ValueError(
                f"{op}: padding={pad_t} crops the whole output along {_DIM_NAMES[n][dim]}: x.shape={xs} "
                f"and w.shape={ws} give {length + 2 * p} outputs before cropping; expected padding of "
                f"at most {(length + 2 * p - 1) // 2} there"
            )
        out.append(length)
    return stride_t, tuple((p, p) for p in pad_t), out_pad_t, dilation_t, groups, tuple(out)


def _forward(op, n, x, w, b, stride, padding, output_padding, dilation, groups, backend):
    prep = prepare(op, backend, x=x, w=w, b=b)
    a = prep.arrays
    s, p, op_, d, g, out = _transposed_geometry(op, a["x"], a["w"], a["b"], stride, padding,
                                                output_padding, dilation, groups, n)
    return prep.give_back(getattr(_module(prep.backend), op)(a["x"], a["w"], a["b"], s, p, op_, d, g, out))


def _backward(op, n, dy, x, w, stride, padding, output_padding, dilation, groups, backend):
    prep = prepare(op, backend, dy=dy, x=x, w=w)
    a = prep.arrays
    s, p, op_, d, g, out = _transposed_geometry(op, a["x"], a["w"], None, stride, padding,
                                                output_padding, dilation, groups, n)
    c_out = shape_of(a["w"])[1] * g
    check_shape(op, "dy", a["dy"], (shape_of(a["x"])[0], c_out, *out),
                "(N, C_out, *output size), the shape of the forward output")
    dx, dw, db = getattr(_module(prep.backend), op)(a["dy"], a["x"], a["w"], s, p, op_, d, g)
    return prep.give_back(dx), prep.give_back(dw), prep.give_back(db)


def conv_transpose1d(x, w, b=None, stride=1, padding=0, output_padding=0, dilation=1, groups=1,
                     backend: str = "auto"):
    """1-D transposed convolution, as ``torch.nn.functional.conv_transpose1d``.

        full[n, g*C_out/groups + oc, i*s + m*d] += x[n, ci, i] * w[ci, oc, m],  g = ci // (C_in/groups)
        y = full[:, :, p : p + L_out] + b

    Args:
        x: (N, C_in, L).
        w: (C_in, C_out // groups, K).
        b: (C_out,) or None.
        stride, dilation: int or 1-tuple, >= 1.
        padding: int or 1-tuple, >= 0 (outputs cropped off each end).
        output_padding: int or 1-tuple, 0 <= output_padding < max(stride, dilation).
        groups: int >= 1 dividing C_in (C_out = w.shape[1] * groups).
        backend: "loops" | "numpy" | "torch" | "auto".

    Returns:
        y: (N, C_out, L_out), L_out = (L - 1)*s - 2*p + d*(K - 1) + output_padding + 1.
    """
    return _forward("conv_transpose1d", 1, x, w, b, stride, padding, output_padding, dilation, groups, backend)


def conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0, dilation=1, groups=1,
                     backend: str = "auto"):
    """2-D transposed convolution, as ``torch.nn.functional.conv_transpose2d``.

        full[n, g*C_out/groups + oc, i*s_h + m*d_h, j*s_w + k*d_w] += x[n, ci, i, j] * w[ci, oc, m, k]
        y = full cropped by padding on every side, + b

    Args:
        x: (N, C_in, H, W).
        w: (C_in, C_out // groups, KH, KW).
        b: (C_out,) or None.
        stride, dilation: int or (s_h, s_w), >= 1.
        padding: int or (p_h, p_w), >= 0.
        output_padding: int or pair, each < max(stride, dilation) in its dimension.
        groups: int >= 1 dividing C_in.
        backend: "loops" | "numpy" | "torch" | "auto".

    Returns:
        y: (N, C_out, H_out, W_out), H_out = (H - 1)*s_h - 2*p_h + d_h*(KH - 1) + output_padding_h + 1.
    """
    return _forward("conv_transpose2d", 2, x, w, b, stride, padding, output_padding, dilation, groups, backend)


def conv_transpose1d_backward(dy, x, w, stride=1, padding=0, output_padding=0, dilation=1, groups=1,
                              backend: str = "auto"):
    """Gradients of :func:`conv_transpose1d`.

    dy: (N, C_out, L_out); x: (N, C_in, L), w: (C_in, C_out // groups, K) the forward inputs
    -> (dx (N, C_in, L), dw (C_in, C_out // groups, K), db (C_out,)).  dx is the ordinary
    convolution of dy with w (same geometry).
    """
    return _backward("conv_transpose1d_backward", 1, dy, x, w, stride, padding, output_padding, dilation,
                     groups, backend)


def conv_transpose2d_backward(dy, x, w, stride=1, padding=0, output_padding=0, dilation=1, groups=1,
                              backend: str = "auto"):
    """Gradients of :func:`conv_transpose2d`.

    dy: (N, C_out, H_out, W_out); x: (N, C_in, H, W), w: (C_in, C_out // groups, KH, KW)
    -> (dx (N, C_in, H, W), dw (C_in, C_out // groups, KH, KW), db (C_out,)).
    """
    return _backward("conv_transpose2d_backward", 2, dy, x, w, stride, padding, output_padding, dilation,
                     groups, backend)
