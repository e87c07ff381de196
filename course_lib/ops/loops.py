"""The teaching backend: every op written as the formula, one loop per index.

Slow on purpose (pure Python loops over numpy arrays): read it next to the lesson, run it on
tiny inputs, and use it as the reference the fast backends are tested against.

Notation used in every docstring here:

- ``s`` stride, ``d`` dilation, ``p`` padding (zeros added before/after), ``K`` kernel size;
- output size along one dimension: ``out = floor((n + p_before + p_after - d*(K-1) - 1) / s) + 1``;
- ``x_pad`` is the input with its zero border.

Arguments arrive already checked by :mod:`course_lib.ops` (shapes, dtypes, padding pairs).
"""

from __future__ import annotations

import numpy as np

from ..geometry import output_length


def _out(n_padded: int, k: int, s: int, d: int) -> int:
    """Output length over an already padded input (the formula: :func:`course_lib.geometry.output_length`)."""
    return output_length(n_padded, k, s, (0, 0), d)


def pad_with(x: np.ndarray, padding: tuple[tuple[int, int], ...], value: float = 0.0) -> np.ndarray:
    """Add ``padding[i] = (before, after)`` constant entries around spatial dimension ``i``.

    x: (N, C, *spatial) -> (N, C, *[n_i + before_i + after_i])
    """
    return np.pad(x, ((0, 0), (0, 0), *padding), mode="constant", constant_values=value)


def crop(x_pad: np.ndarray, padding: tuple[tuple[int, int], ...]) -> np.ndarray:
    """Undo :func:`pad_with`: cut the border off again (used to turn d x_pad into dx)."""
    index = [slice(None), slice(None)]
    for before, after in padding:
        index.append(slice(before, x_pad.shape[len(index)] - after))
    return x_pad[tuple(index)]


# ------------------------------------------------------------------------------- conv 1d
# groups: the C_in input and C_out output channels are split into ``groups`` equal blocks;
# output channel o belongs to block g = o // (C_out // groups) and reads only the C_in // groups
# input channels of that block: input channel g * (C_in // groups) + c pairs with w[o, c, ...].
def conv1d(x, w, b, stride, padding, dilation, groups=1):
    """y[n, o, i] = b[o] + sum_c sum_m w[o, c, m] * x_pad[n, g*C_g + c, i*s + m*d]

    with g = o // (C_out // groups) and c < C_g = C_in // groups (g = 0, C_g = C_in without groups).
    x: (N, C_in, L), w: (C_out, C_in // groups, K), b: (C_out,) or None -> y: (N, C_out, L_out)
    """
    (s,), (d,) = stride, dilation
    x_pad = pad_with(x, padding)
    N, _, L_pad = x_pad.shape
    C_out, C_g, K = w.shape
    L_out = _out(L_pad, K, s, d)
    y = np.zeros((N, C_out, L_out), dtype=x.dtype)
    for n in range(N):
        for o in range(C_out):
            first = (o // (C_out // groups)) * C_g          # first input channel of o's group
            for i in range(L_out):
                total = b[o] if b is not None else 0.0
                for c in range(C_g):
                    for m in range(K):
                        total += w[o, c, m] * x_pad[n, first + c, i * s + m * d]
                y[n, o, i] = total
    return y


def conv1d_backward(dy, x, w, stride, padding, dilation, groups=1):
    """Gradients of conv1d, by the chain rule applied to each term of the forward sum.

    Every product ``w[o,c,m] * x_pad[n,first+c,i*s+m*d]`` that fed ``y[n,o,i]`` passes the
    upstream gradient ``dy[n,o,i]`` back to both of its factors (``first`` = first input
    channel of o's group, 0 without groups):

        dw[o, c, m]                   += dy[n, o, i] * x_pad[n, first + c, i*s + m*d]
        dx_pad[n, first + c, i*s + m*d] += dy[n, o, i] * w[o, c, m]
        db[o]                         += dy[n, o, i]

    dy: (N, C_out, L_out) -> dx: (N, C_in, L), dw: (C_out, C_in // groups, K), db: (C_out,)
    """
    (s,), (d,) = stride, dilation
    x_pad = pad_with(x, padding)
    N = x_pad.shape[0]
    C_out, C_g, K = w.shape
    L_out = dy.shape[2]
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    db = np.zeros(C_out, dtype=dy.dtype)
    for n in range(N):
        for o in range(C_out):
            first = (o // (C_out // groups)) * C_g
            for i in range(L_out):
                g = dy[n, o, i]
                db[o] += g
                for c in range(C_g):
                    for m in range(K):
                        dw[o, c, m] += g * x_pad[n, first + c, i * s + m * d]
                        dx_pad[n, first + c, i * s + m * d] += g * w[o, c, m]
    return crop(dx_pad, padding), dw, db


# ------------------------------------------------------------------------------- conv 2d
def conv2d(x, w, b, stride, padding, dilation, groups=1):
    """y[n, o, i, j] = b[o] + sum_c sum_m sum_k w[o, c, m, k] * x_pad[n, first + c, i*s_h + m*d_h, j*s_w + k*d_w]

    first = (o // (C_out // groups)) * (C_in // groups), c < C_in // groups (see conv1d).
    x: (N, C_in, H, W), w: (C_out, C_in // groups, KH, KW), b: (C_out,) or None
    -> y: (N, C_out, H_out, W_out)
    """
    (sh, sw), (dh, dw_) = stride, dilation
    x_pad = pad_with(x, padding)
    N, _, H_pad, W_pad = x_pad.shape
    C_out, C_g, KH, KW = w.shape
    H_out, W_out = _out(H_pad, KH, sh, dh), _out(W_pad, KW, sw, dw_)
    y = np.zeros((N, C_out, H_out, W_out), dtype=x.dtype)
    for n in range(N):
        for o in range(C_out):
            first = (o // (C_out // groups)) * C_g
            for i in range(H_out):
                for j in range(W_out):
                    total = b[o] if b is not None else 0.0
                    for c in range(C_g):
                        for m in range(KH):
                            for k in range(KW):
                                total += w[o, c, m, k] * x_pad[n, first + c, i * sh + m * dh, j * sw + k * dw_]
                    y[n, o, i, j] = total
    return y


def conv2d_backward(dy, x, w, stride, padding, dilation, groups=1):
    """Gradients of conv2d (same chain-rule bookkeeping as :func:`conv1d_backward`):

        dw[o, c, m, k]                                  += dy[n, o, i, j] * x_pad[n, first + c, i*s_h + m*d_h, j*s_w + k*d_w]
        dx_pad[n, first + c, i*s_h + m*d_h, j*s_w + k*d_w] += dy[n, o, i, j] * w[o, c, m, k]
        db[o]                                           += dy[n, o, i, j]

    dy: (N, C_out, H_out, W_out) -> dx: (N, C_in, H, W), dw: (C_out, C_in // groups, KH, KW), db: (C_out,)
    """
    (sh, sw), (dh, dw_) = stride, dilation
    x_pad = pad_with(x, padding)
    N = x_pad.shape[0]
    C_out, C_g, KH, KW = w.shape
    H_out, W_out = dy.shape[2:]
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    db = np.zeros(C_out, dtype=dy.dtype)
    for n in range(N):
        for o in range(C_out):
            first = (o // (C_out // groups)) * C_g
            for i in range(H_out):
                for j in range(W_out):
                    g = dy[n, o, i, j]
                    db[o] += g
                    for c in range(C_g):
                        for m in range(KH):
                            for k in range(KW):
                                row, col = i * sh + m * dh, j * sw + k * dw_
                                dw[o, c, m, k] += g * x_pad[n, first + c, row, col]
                                dx_pad[n, first + c, row, col] += g * w[o, c, m, k]
    return crop(dx_pad, padding), dw, db


# ------------------------------------------------------------------------- transposed conv
# Transposed convolution: every input value *stamps* a scaled copy of its kernel onto the
# output.  Input position i lands at i*s, its kernel taps at i*s + m*d; stamps of neighbouring
# inputs overlap when the kernel is longer than the stride, and add up.  The full stamped
# signal has (L - 1)*s + d*(K - 1) + 1 + output_padding entries; ``padding`` cuts p_before
# entries off the start and p_after off the end.  Weight layout (C_in, C_out // groups, K):
# input channel ci (group g = ci // (C_in // groups)) stamps onto output channels
# g * (C_out // groups) + oc.
def conv_transpose1d(x, w, b, stride, padding, output_padding, dilation, groups, out_size):
    """full[n, first + oc, i*s + m*d] += x[n, ci, i] * w[ci, oc, m];  y = crop(full) + b

    first = (ci // (C_in // groups)) * (C_out // groups).
    x: (N, C_in, L), w: (C_in, C_out // groups, K), b: (C_out,) or None -> y: (N, C_out, L_out)
    """
    (s,), (d,), (L_out,) = stride, dilation, out_size
    (before, after), = padding
    N, C_in, L = x.shape
    _, O_g, K = w.shape
    full = np.zeros((N, O_g * groups, before + L_out + after), dtype=x.dtype)
    for n in range(N):
        for ci in range(C_in):
            first = (ci // (C_in // groups)) * O_g
            for i in range(L):
                for oc in range(O_g):
                    for m in range(K):                      # the stamp of x[n, ci, i]
                        full[n, first + oc, i * s + m * d] += x[n, ci, i] * w[ci, oc, m]
    y = crop(full, padding)
    return y if b is None else y + b[:, None]


def conv_transpose1d_backward(dy, x, w, stride, padding, output_padding, dilation, groups):
    """Each stamped product ``x[n,ci,i] * w[ci,oc,m]`` went to ``full[n, first+oc, i*s+m*d]``, so

        dx[n, ci, i]    += dfull[n, first + oc, i*s + m*d] * w[ci, oc, m]
        dw[ci, oc, m]   += dfull[n, first + oc, i*s + m*d] * x[n, ci, i]
        db[o]           += dy[n, o, j]

    where dfull is dy with the cropped ends put back as zeros.
    dy: (N, C_out, L_out) -> dx (N, C_in, L), dw (C_in, C_out // groups, K), db (C_out,)
    """
    (s,), (d,) = stride, dilation
    dfull = pad_with(dy, padding)
    N, C_in, L = x.shape
    _, O_g, K = w.shape
    dx = np.zeros_like(x)
    dw = np.zeros_like(w)
    for n in range(N):
        for ci in range(C_in):
            first = (ci // (C_in // groups)) * O_g
            for i in range(L):
                for oc in range(O_g):
                    for m in range(K):
                        g = dfull[n, first + oc, i * s + m * d]
                        dx[n, ci, i] += g * w[ci, oc, m]
                        dw[ci, oc, m] += g * x[n, ci, i]
    return dx, dw, dy.sum(axis=(0, 2))


def conv_transpose2d(x, w, b, stride, padding, output_padding, dilation, groups, out_size):
    """full[n, first + oc, i*s_h + m*d_h, j*s_w + k*d_w] += x[n, ci, i, j] * w[ci, oc, m, k];  y = crop(full) + b

    x: (N, C_in, H, W), w: (C_in, C_out // groups, KH, KW), b: (C_out,) or None -> y: (N, C_out, *out_size)
    """
    (sh, sw), (dh, dw_) = stride, dilation
    (pt, pb), (pl, pr) = padding
    N, C_in, H, W = x.shape
    _, O_g, KH, KW = w.shape
    full = np.zeros((N, O_g * groups, pt + out_size[0] + pb, pl + out_size[1] + pr), dtype=x.dtype)
    for n in range(N):
        for ci in range(C_in):
            first = (ci // (C_in // groups)) * O_g
            for i in range(H):
                for j in range(W):
                    for oc in range(O_g):
                        for m in range(KH):                 # the stamp of x[n, ci, i, j]
                            for k in range(KW):
                                full[n, first + oc, i * sh + m * dh, j * sw + k * dw_] += x[n, ci, i, j] * w[ci, oc, m, k]
    y = crop(full, padding)
    return y if b is None else y + b[:, None, None]


def conv_transpose2d_backward(dy, x, w, stride, padding, output_padding, dilation, groups):
    """dx[n, ci, i, j] += dfull[n, first + oc, i*s_h + m*d_h, j*s_w + k*d_w] * w[ci, oc, m, k],
    dw[ci, oc, m, k] += the same dfull entry * x[n, ci, i, j], db[o] = sum of dy[:, o]
    (dfull: dy with the cropped border put back as zeros; see conv_transpose1d_backward).
    """
    (sh, sw), (dh, dw_) = stride, dilation
    dfull = pad_with(dy, padding)
    N, C_in, H, W = x.shape
    _, O_g, KH, KW = w.shape
    dx = np.zeros_like(x)
    dw = np.zeros_like(w)
    for n in range(N):
        for ci in range(C_in):
            first = (ci // (C_in // groups)) * O_g
            for i in range(H):
                for j in range(W):
                    for oc in range(O_g):
                        for m in range(KH):
                            for k in range(KW):
                                g = dfull[n, first + oc, i * sh + m * dh, j * sw + k * dw_]
                                dx[n, ci, i, j] += g * w[ci, oc, m, k]
                                dw[ci, oc, m, k] += g * x[n, ci, i, j]
    return dx, dw, dy.sum(axis=(0, 2, 3))


# ------------------------------------------------------------------------------- pooling
def max_pool2d(x, kernel, stride, padding):
    """y[n, c, i, j] = max over (m, k) of x_pad[n, c, i*s_h + m, j*s_w + k]   (padding is -inf)

    x: (N, C, H, W) -> y: (N, C, H_out, W_out)
    """
    (KH, KW), (sh, sw) = kernel, stride
    x_pad = pad_with(x, padding, value=-np.inf)
    N, C, H_pad, W_pad = x_pad.shape
    H_out, W_out = _out(H_pad, KH, sh, 1), _out(W_pad, KW, sw, 1)
    y = np.zeros((N, C, H_out, W_out), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    best = -np.inf
                    for m in range(KH):
                        for k in range(KW):
                            best = max(best, x_pad[n, c, i * sh + m, j * sw + k])
                    y[n, c, i, j] = best
    return y


def max_pool2d_backward(dy, x, kernel, stride, padding):
    """The gradient of a max goes to the input that won (the first one, if several tie):

        dx_pad[n, c, i*s_h + m*, j*s_w + k*] += dy[n, c, i, j]   where (m*, k*) = argmax of the window

    Windows overlap when stride < kernel, so an input can win several windows and collect
    several gradients (hence ``+=``).  dy: (N, C, H_out, W_out) -> dx: (N, C, H, W)
    """
    (KH, KW), (sh, sw) = kernel, stride
    x_pad = pad_with(x, padding, value=-np.inf)
    N, C, H_out, W_out = dy.shape
    dx_pad = np.zeros_like(x_pad)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    best, best_at = -np.inf, None
                    for m in range(KH):
                        for k in range(KW):
                            value = x_pad[n, c, i * sh + m, j * sw + k]
                            if best_at is None or value > best:
                                best, best_at = value, (i * sh + m, j * sw + k)
                    dx_pad[n, c, best_at[0], best_at[1]] += dy[n, c, i, j]
    return crop(dx_pad, padding)


def avg_pool2d(x, kernel, stride, padding):
    """y[n, c, i, j] = (1 / (KH*KW)) * sum over (m, k) of x_pad[n, c, i*s_h + m, j*s_w + k]

    Zeros of the padding count in the average (``count_include_pad=True``, PyTorch's default).
    x: (N, C, H, W) -> y: (N, C, H_out, W_out)
    """
    (KH, KW), (sh, sw) = kernel, stride
    x_pad = pad_with(x, padding)
    N, C, H_pad, W_pad = x_pad.shape
    H_out, W_out = _out(H_pad, KH, sh, 1), _out(W_pad, KW, sw, 1)
    y = np.zeros((N, C, H_out, W_out), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    total = 0.0
                    for m in range(KH):
                        for k in range(KW):
                            total += x_pad[n, c, i * sh + m, j * sw + k]
                    y[n, c, i, j] = total / (KH * KW)
    return y


def avg_pool2d_backward(dy, x, kernel, stride, padding):
    """Each input in a window receives an equal share: dx_pad[..] += dy[n, c, i, j] / (KH*KW)."""
    (KH, KW), (sh, sw) = kernel, stride
    x_pad = pad_with(x, padding)
    N, C, H_out, W_out = dy.shape
    dx_pad = np.zeros_like(x_pad)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    for m in range(KH):
                        for k in range(KW):
                            dx_pad[n, c, i * sh + m, j * sw + k] += dy[n, c, i, j] / (KH * KW)
    return crop(dx_pad, padding)


# ------------------------------------------------------------------- locally connected 1d
def locally_connected1d(x, w, b, stride):
    """Like conv1d, but every output position i has its own weights (nothing is shared):

        y[n, o, i] = b[o, i] + sum_c sum_m w[i, o, c, m] * x[n, c, i*s + m]

    x: (N, C_in, L), w: (L_out, C_out, C_in, K), b: (C_out, L_out) or None -> y: (N, C_out, L_out)
    """
    (s,) = stride
    N, C_in, _ = x.shape
    L_out, C_out, _, K = w.shape
    y = np.zeros((N, C_out, L_out), dtype=x.dtype)
    for n in range(N):
        for o in range(C_out):
            for i in range(L_out):
                total = b[o, i] if b is not None else 0.0
                for c in range(C_in):
                    for m in range(K):
                        total += w[i, o, c, m] * x[n, c, i * s + m]
                y[n, o, i] = total
    return y


def locally_connected1d_backward(dy, x, w, stride):
    """dw[i, o, c, m] += dy[n, o, i] * x[n, c, i*s + m];  dx[n, c, i*s + m] += dy[n, o, i] * w[i, o, c, m];
    db[o, i] += dy[n, o, i].   Shapes as in :func:`locally_connected1d`.
    """
    (s,) = stride
    N, C_in, _ = x.shape
    L_out, C_out, _, K = w.shape
    dx = np.zeros_like(x)
    dw = np.zeros_like(w)
    db = np.zeros((C_out, L_out), dtype=dy.dtype)
    for n in range(N):
        for o in range(C_out):
            for i in range(L_out):
                g = dy[n, o, i]
                db[o, i] += g
                for c in range(C_in):
                    for m in range(K):
                        dw[i, o, c, m] += g * x[n, c, i * s + m]
                        dx[n, c, i * s + m] += g * w[i, o, c, m]
    return dx, dw, db


# --------------------------------------------------------------------------------- dense
def dense(x, w, b):
    """y[n, o] = b[o] + sum_i w[o, i] * x[n, i]      x: (N, D_in), w: (D_out, D_in) -> y: (N, D_out)"""
    N, D_in = x.shape
    D_out = w.shape[0]
    y = np.zeros((N, D_out), dtype=x.dtype)
    for n in range(N):
        for o in range(D_out):
            total = b[o] if b is not None else 0.0
            for i in range(D_in):
                total += w[o, i] * x[n, i]
            y[n, o] = total
    return y


def dense_backward(dy, x, w):
    """dx[n, i] += dy[n, o] * w[o, i];  dw[o, i] += dy[n, o] * x[n, i];  db[o] += dy[n, o]."""
    N, D_in = x.shape
    D_out = w.shape[0]
    dx = np.zeros_like(x)
    dw = np.zeros_like(w)
    db = np.zeros(D_out, dtype=dy.dtype)
    for n in range(N):
        for o in range(D_out):
            g = dy[n, o]
            db[o] += g
            for i in range(D_in):
                dx[n, i] += g * w[o, i]
                dw[o, i] += g * x[n, i]
    return dx, dw, db


# -------------------------------------------------------------------------- im2col / col2im
def im2col(x, kernel, stride, padding, dilation, out_size):
    """cols[n, (c*KH + m)*KW + k, i*W_out + j] = x_pad[n, c, i*s_h + m*d_h, j*s_w + k*d_w]

    x: (N, C, H, W) -> cols: (N, C*KH*KW, H_out*W_out); one column per output position.
    """
    (KH, KW), (sh, sw), (dh, dw_), (H_out, W_out) = kernel, stride, dilation, out_size
    x_pad = pad_with(x, padding)
    N, C = x.shape[:2]
    cols = np.zeros((N, C * KH * KW, H_out * W_out), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for m in range(KH):
                for k in range(KW):
                    for i in range(H_out):
                        for j in range(W_out):
                            cols[n, (c * KH + m) * KW + k, i * W_out + j] = x_pad[n, c, i * sh + m * dh, j * sw + k * dw_]
    return cols


def col2im(cols, size, kernel, stride, padding, dilation, out_size):
    """x_pad[n, c, i*s_h + m*d_h, j*s_w + k*d_w] += cols[n, (c*KH + m)*KW + k, i*W_out + j], then crop.

    cols: (N, C*KH*KW, H_out*W_out) -> x: (N, C, H, W) with (H, W) = ``size``.
    """
    (KH, KW), (sh, sw), (dh, dw_), (H_out, W_out) = kernel, stride, dilation, out_size
    N, rows, _ = cols.shape
    C = rows // (KH * KW)
    (pt, pb), (pl, pr) = padding
    x_pad = np.zeros((N, C, size[0] + pt + pb, size[1] + pl + pr), dtype=cols.dtype)
    for n in range(N):
        for c in range(C):
            for m in range(KH):
                for k in range(KW):
                    for i in range(H_out):
                        for j in range(W_out):
                            x_pad[n, c, i * sh + m * dh, j * sw + k * dw_] += cols[n, (c * KH + m) * KW + k, i * W_out + j]
    return crop(x_pad, padding)


# ------------------------------------------------------------------------------ batch norm
def _channel_stats(x, c):
    """Mean and biased variance of the M = N*H*W values of channel c, summed one by one."""
    N, _, H, W = x.shape
    M = N * H * W
    total = 0.0
    for n in range(N):
        for i in range(H):
            for j in range(W):
                total += x[n, c, i, j]
    mean = total / M
    squares = 0.0
    for n in range(N):
        for i in range(H):
            for j in range(W):
                squares += (x[n, c, i, j] - mean) ** 2
    return mean, squares / M


def batch_norm2d(x, gamma, beta, running_mean, running_var, training, momentum, eps):
    """y[n, c, i, j] = gamma[c] * (x[n, c, i, j] - mean_c) / sqrt(var_c + eps) + beta[c]

    mean_c, var_c: batch statistics of channel c (training) or the running ones (eval).
    x: (N, C, H, W) -> (y (N, C, H, W), new running_mean (C,) | None, new running_var (C,) | None)
    """
    N, C, H, W = x.shape
    M = N * H * W
    y = np.zeros_like(x)
    new_mean = None if running_mean is None else np.array(running_mean, copy=True)
    new_var = None if running_var is None else np.array(running_var, copy=True)
    for c in range(C):
        if training:
            mean, var = _channel_stats(x, c)
            if new_mean is not None:
                new_mean[c] = (1 - momentum) * running_mean[c] + momentum * mean
                new_var[c] = (1 - momentum) * running_var[c] + momentum * var * M / (M - 1)
        else:
            mean, var = running_mean[c], running_var[c]
        scale = 1.0 if gamma is None else gamma[c]
        shift = 0.0 if beta is None else beta[c]
        for n in range(N):
            for i in range(H):
                for j in range(W):
                    y[n, c, i, j] = scale * (x[n, c, i, j] - mean) / np.sqrt(var + eps) + shift
    return y, new_mean, new_var


def batch_norm2d_backward(dy, x, gamma, eps):
    """Training-mode gradients, channel by channel (M = N*H*W, xhat = (x - mean)/sqrt(var + eps)):

        dbeta[c]  = sum dy[n, c, i, j]
        dgamma[c] = sum dy[n, c, i, j] * xhat[n, c, i, j]
        dx[n, c, i, j] = gamma[c]/sqrt(var_c + eps) * (dy[n, c, i, j] - dbeta[c]/M - xhat[n, c, i, j]*dgamma[c]/M)

    (the last two terms are the paths through mean_c and var_c, which depend on every x of c).
    """
    N, C, H, W = x.shape
    M = N * H * W
    dx = np.zeros_like(x)
    dgamma = np.zeros(C, dtype=x.dtype)
    dbeta = np.zeros(C, dtype=x.dtype)
    for c in range(C):
        mean, var = _channel_stats(x, c)
        inv_std = 1.0 / np.sqrt(var + eps)
        for n in range(N):
            for i in range(H):
                for j in range(W):
                    dbeta[c] += dy[n, c, i, j]
                    dgamma[c] += dy[n, c, i, j] * (x[n, c, i, j] - mean) * inv_std
        scale = 1.0 if gamma is None else gamma[c]
        for n in range(N):
            for i in range(H):
                for j in range(W):
                    xhat = (x[n, c, i, j] - mean) * inv_std
                    dx[n, c, i, j] = scale * inv_std * (dy[n, c, i, j] - dbeta[c] / M - xhat * dgamma[c] / M)
    return dx, dgamma, dbeta
