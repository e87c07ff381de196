"""Public dense (fully connected) op and its backward: check arguments, dispatch to a backend."""

from __future__ import annotations

from ._args import check_ndim, check_shape, prepare, shape_of
from ._dispatch import backend_module as _module


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
