"""Public locally connected 1-D op and its backward: check arguments, dispatch to a backend."""

from __future__ import annotations

from ..geometry import output_length
from ._args import check_ndim, check_shape, int_tuple, prepare, shape_of
from ._dispatch import backend_module as _module


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
    expected_L_out = output_length(L, K, s)
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
