"""Public im2col / col2im (as ``torch.nn.functional.unfold`` / ``fold``): check arguments, dispatch.

im2col turns a convolution into one matrix product: column ``l`` of ``im2col(x)[n]`` holds the
``C*KH*KW`` inputs that output position ``l`` reads, so for ``w`` of shape (C_out, C, KH, KW)::

    conv2d(x, w)[n].reshape(C_out, -1) == w.reshape(C_out, -1) @ im2col(x, (KH, KW))[n]

col2im is its adjoint: it adds every column entry back onto the input position it came from
(overlapping windows add up), which is exactly how a convolution's input gradient is formed.
"""

from __future__ import annotations

from ._args import check_ndim, int_tuple, output_size, prepare, resolve_padding, shape_of
from ._dispatch import backend_module as _module


def _window_geometry(op, kernel_size, stride, padding, dilation, in_size, where):
    """(kernel, stride, padding pairs, dilation, output size) for windows over ``in_size``."""
    kernel = int_tuple(kernel_size, 2, "kernel_size", op)
    stride_t = int_tuple(stride, 2, "stride", op)
    dilation_t = int_tuple(dilation, 2, "dilation", op)
    pads = resolve_padding(padding, 2, kernel, stride_t, dilation_t, op)
    out = []
    for dim, (size, k, s, p, d) in enumerate(zip(in_size, kernel, stride_t, pads, dilation_t)):
        effective, padded = d * (k - 1) + 1, size + p[0] + p[1]
        if effective > padded:
            raise ValueError(
                f"{op}: kernel_size={kernel} (effective {effective} with dilation {d}) is larger than "
                f"the padded {where} along {'HW'[dim]}: {size} + padding {p} = {padded}; expected a "
                f"kernel of at most {padded}"
            )
        out.append(output_size(size, k, s, p, d))
    return kernel, stride_t, pads, dilation_t, tuple(out)


def im2col(x, kernel_size, stride=1, padding=0, dilation=1, backend: str = "auto"):
    """Every receptive field of ``x`` as one column, as ``torch.nn.functional.unfold``.

        cols[n, (c*KH + m)*KW + k, i*W_out + j] = x_pad[n, c, i*s_h + m*d_h, j*s_w + k*d_w]

    Args:
        x: (N, C, H, W).
        kernel_size, stride, dilation: int or pair, >= 1.
        padding: int, (p_h, p_w), ((top, bottom), (left, right)), "valid" or "same".

    Returns:
        cols: (N, C*KH*KW, L) with L = H_out*W_out, H_out = floor((H + p_top + p_bottom -
        d_h*(KH-1) - 1) / s_h) + 1 (likewise W_out).
    """
    op = "im2col"
    prep = prepare(op, backend, x=x)
    xa = prep.arrays["x"]
    check_ndim(op, "x", xa, 4, "(N, C, H, W)")
    kernel, stride_t, pads, dilation_t, out = _window_geometry(
        op, kernel_size, stride, padding, dilation, shape_of(xa)[2:], "input")
    return prep.give_back(_module(prep.backend).im2col(xa, kernel, stride_t, pads, dilation_t, out))


def col2im(cols, output_size, kernel_size, stride=1, padding=0, dilation=1, backend: str = "auto"):
    """Add columns back onto an image, as ``torch.nn.functional.fold`` (the adjoint of :func:`im2col`).

        x_pad[n, c, i*s_h + m*d_h, j*s_w + k*d_w] += cols[n, (c*KH + m)*KW + k, i*W_out + j]

    then the padding is cut off.  Entries read by several windows collect several values.

    Args:
        cols: (N, C*KH*KW, L), L = H_out*W_out for the image size ``output_size``.
        output_size: (H, W) (or an int for a square image) of the image to rebuild.
        kernel_size, stride, padding, dilation: as in :func:`im2col`.

    Returns:
        x: (N, C, H, W).
    """
    op = "col2im"
    prep = prepare(op, backend, cols=cols)
    ca = prep.arrays["cols"]
    check_ndim(op, "cols", ca, 3, "(N, C*KH*KW, L)")
    size = int_tuple(output_size, 2, "output_size", op)
    kernel, stride_t, pads, dilation_t, out = _window_geometry(
        op, kernel_size, stride, padding, dilation, size, "output_size")
    N, rows, L = shape_of(ca)
    per_channel = kernel[0] * kernel[1]
    if rows % per_channel or rows == 0:
        raise ValueError(
            f"{op}: cols has {rows} rows, not a positive multiple of KH*KW = {per_channel} for "
            f"kernel_size={kernel}: got cols.shape={shape_of(ca)}; expected (N, C*{per_channel}, L)"
        )
    if L != out[0] * out[1]:
        raise ValueError(
            f"{op}: cols has {L} columns but output_size={size} with kernel_size={kernel}, "
            f"stride={stride_t}, padding={pads}, dilation={dilation_t} has {out[0]}*{out[1]} = "
            f"{out[0] * out[1]} windows: got cols.shape={shape_of(ca)}; expected "
            f"{(N, rows, out[0] * out[1])}"
        )
    return prep.give_back(_module(prep.backend).col2im(ca, size, kernel, stride_t, pads, dilation_t, out))
