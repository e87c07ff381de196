"""The vectorized CPU backend: im2col + one big matrix product, in numpy.

The idea (same formula as :mod:`course_lib.ops.loops`, reorganised):

1. Pad the input once and store it *channel-last*, ``x_pad`` of shape (N, H_pad, W_pad, C_in).
2. View every receptive field without copying (``as_strided``): ``cols`` has shape
   (N, H_out, W_out, KH, KW, C_in); row ``(n, i, j)`` holds all ``KH*KW*C_in`` inputs that
   output position ``(i, j)`` of image ``n`` reads.  Channel-last makes the innermost run of
   that view contiguous, so the single copy ``reshape`` makes (im2col) is cheap.
3. The whole convolution is then one GEMM (done chunk by chunk over the batch, see below):
   ``y (N*H_out*W_out, C_out) = cols (N*H_out*W_out, KH*KW*C_in) @ W (KH*KW*C_in, C_out)``.

Backward reuses the same matrices:

- ``dW = cols.T @ dy`` (one GEMM), ``db = dy.sum(rows)``;
- ``dcols = dy @ W.T`` (one batched GEMM, laid out as one contiguous (N, H_out, W_out, C_in)
  block per kernel offset), then col2im: add each block back into ``dx_pad`` with one strided
  add per kernel offset ``(m, k)`` (``KH*KW`` adds of whole arrays, never a loop over output
  positions), then crop the padding.

Results are returned as channels-first (N, C, ...) *views* of channel-last memory, which is
exactly the layout the next layer's im2col wants.  conv1d runs as conv2d with H = 1.

Speed: the batch is processed in chunks whose im2col block (about ``_CHUNK_BYTES``) stays in
cache between the copy and the GEMM.  Chunks are independent, so they run in a small thread
pool (numpy releases the GIL in copies, adds and GEMMs) with numpy's BLAS held to one thread
meanwhile (via threadpoolctl when installed), which keeps every core busy without
oversubscribing them.  ``COURSE_LIB_NUMPY_THREADS=1`` turns the pool off.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from ..geometry import output_length

_PARALLEL_MIN_ELEMENTS = 1 << 18     # smaller jobs are not worth a thread hand-off
_CHUNK_BYTES = 1 << 20               # im2col block per GEMM: small enough to stay in cache
_pool: ThreadPoolExecutor | None = None
_pool_pid = 0

try:  # threadpoolctl (a scikit-learn dependency) can hold numpy's BLAS to one thread
    from threadpoolctl import ThreadpoolController

    _controller = ThreadpoolController()

    def _blas_limit():
        return _controller.limit(limits=1, user_api="blas")
except ImportError:  # pragma: no cover - then chunks run one after another
    _blas_limit = None


def _threads() -> int:
    """Threads for the memory-bound steps: $COURSE_LIB_NUMPY_THREADS, else the usable CPUs."""
    wanted = os.environ.get("COURSE_LIB_NUMPY_THREADS", "").strip()
    if wanted.isdigit() and int(wanted) > 0:
        return int(wanted)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _get_pool(threads: int) -> ThreadPoolExecutor:
    """The shared worker pool (a new one after ``fork``: threads do not survive it)."""
    global _pool, _pool_pid
    if _pool is None or _pool._max_workers < threads or _pool_pid != os.getpid():
        _pool = ThreadPoolExecutor(threads, thread_name_prefix="course_lib_ops")
        _pool_pid = os.getpid()
    return _pool


def _over_batch(job, N: int, elements: int) -> None:
    """Run ``job(batch_slice)`` on slices covering ``range(N)``, in parallel when it is big."""
    threads = min(_threads(), N)
    if threads <= 1 or elements < _PARALLEL_MIN_ELEMENTS:
        job(slice(0, N))
        return
    bounds = [N * t // threads for t in range(threads + 1)]
    list(_get_pool(threads).map(job, [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]))


def _run_chunks(job, chunks: list[slice]) -> list:
    """``[job(c) for c in chunks]``; with several threads, the chunks run in the pool while BLAS
    is held to one thread each (so the cores are shared, not oversubscribed)."""
    threads = min(_threads(), len(chunks))
    if threads <= 1 or _blas_limit is None:
        return [job(c) for c in chunks]
    with _blas_limit():
        return list(_get_pool(threads).map(job, chunks))


def _pad_channel_last(x: np.ndarray, padding, value: float = 0.0) -> np.ndarray:
    """x: (N, C, H, W) -> zero-bordered channel-last copy (N, H + pt + pb, W + pl + pr, C)."""
    (pt, pb), (pl, pr) = padding
    N, C, H, W = x.shape
    out = np.empty((N, H + pt + pb, W + pl + pr, C), dtype=x.dtype)
    x_cl = x.transpose(0, 2, 3, 1)

    def job(batch):
        if pt or pb or pl or pr:
            out[batch, :pt] = value
            out[batch, pt + H:] = value
            out[batch, :, :pl] = value
            out[batch, :, pl + W:] = value
        out[batch, pt:pt + H, pl:pl + W, :] = x_cl[batch]

    _over_batch(job, N, out.size)
    return out


def _windows(x_pad_cl: np.ndarray, kernel, stride, dilation, out_size) -> np.ndarray:
    """Read-only view (N, H_out, W_out, KH, KW, C) of every receptive field of ``x_pad_cl``."""
    N, _, _, C = x_pad_cl.shape
    (KH, KW), (sh, sw), (dh, dw), (H_out, W_out) = kernel, stride, dilation, out_size
    sN, sH, sW, sC = x_pad_cl.strides
    return as_strided(
        x_pad_cl,
        shape=(N, H_out, W_out, KH, KW, C),
        strides=(sN, sH * sh, sW * sw, sH * dh, sW * dw, sC),
        writeable=False,
    )


def _weight_matrix(w: np.ndarray) -> np.ndarray:
    """w: (C_out, C_in, KH, KW) -> (KH*KW*C_in, C_out), rows ordered like im2col's columns."""
    C_out = w.shape[0]
    return w.transpose(2, 3, 1, 0).reshape(-1, C_out)


def _out_size(in_size, kernel, stride, padding, dilation):
    return tuple(output_length(n, k, s, p, d) for n, k, s, p, d in zip(in_size, kernel, stride, padding, dilation))


def _as_4d(x, w, stride, padding, dilation):
    """View a 1-D problem as 2-D with height 1."""
    return (x[:, :, None, :], w[:, :, None, :], (1, *stride), ((0, 0), *padding), (1, *dilation))


# ------------------------------------------------------------------------------- conv 2d
def _batch_chunks(N: int, bytes_per_image: int) -> list[slice]:
    """Split the batch so one chunk's im2col matrix is about ``_CHUNK_BYTES`` (stays in cache)."""
    per_chunk = max(1, min(N, _CHUNK_BYTES // max(1, bytes_per_image)))
    return [slice(start, min(start + per_chunk, N)) for start in range(0, N, per_chunk)]


def _group_slices(groups: int, per_group: int) -> list[slice]:
    """Channel ranges of the groups: [0, per_group), [per_group, 2*per_group), ..."""
    return [slice(g * per_group, (g + 1) * per_group) for g in range(groups)]


def _is_depthwise(w: np.ndarray, groups: int) -> bool:
    """One input and one output channel per group: a per-channel filter, no GEMM worth doing."""
    return groups > 1 and w.shape[1] == 1 and w.shape[0] == groups


def _conv_forward_cl(x, w, b, stride, padding, dilation, groups, out_size):
    """x: (N, C_in, H, W), w: (C_out, C_in//groups, KH, KW) -> channel-last y (N, H_out, W_out, C_out).

    One GEMM per group (one for groups=1); a depthwise conv is KH*KW broadcast multiply-adds.
    ``out_size`` may be smaller than the full output (the rest is not computed).
    """
    N = x.shape[0]
    C_out, C_g, KH, KW = w.shape
    windows = _windows(_pad_channel_last(x, padding), (KH, KW), stride, dilation, out_size)
    y = np.empty((N, *out_size, C_out), dtype=x.dtype)
    if _is_depthwise(w, groups):
        w_off = np.ascontiguousarray(w.reshape(C_out, KH * KW).T)      # (KH*KW, C)

        def job(batch):
            y_b = y[batch]
            np.multiply(windows[batch, :, :, 0, 0, :], w_off[0], out=y_b)
            for index in range(1, KH * KW):
                y_b += windows[batch, :, :, index // KW, index % KW, :] * w_off[index]
            if b is not None:
                y_b += b

        per_image = 2 * out_size[0] * out_size[1] * C_out * x.itemsize
    else:
        outs = _group_slices(groups, C_out // groups)
        ins = _group_slices(groups, C_g)
        w_mats = [np.ascontiguousarray(_weight_matrix(w[o])) for o in outs]   # (KH*KW*C_g, C_out/groups)

        def job(batch):
            y_rows = y[batch].reshape(-1, C_out)                # a view into y
            for o, c, w_mat in zip(outs, ins, w_mats):
                cols = windows[batch, ..., c].reshape(-1, w_mat.shape[0])   # im2col (one copy)
                if groups == 1:
                    np.matmul(cols, w_mat, out=y_rows)
                else:
                    y_rows[:, o] = cols @ w_mat
            if b is not None:
                y_rows += b

        per_image = out_size[0] * out_size[1] * KH * KW * C_g * x.itemsize
    _run_chunks(job, _batch_chunks(N, per_image))
    return y


def _conv_backward(dy, x, w, in_size, stride, padding, dilation, groups, need_dx=True, need_dw=True):
    """Gradients of a (grouped) conv: dy (N, C_out, H_out, W_out) -> (dx | None, dw | None, db | None).

    ``x`` (N, C_in, H, W) is only read when ``need_dw``; ``in_size`` = (H, W) gives dx its size.
    dw = cols.T @ dy and dcols = dy @ W (one GEMM each, per group), col2im = one strided add per
    kernel offset; a depthwise conv uses broadcast multiply-adds instead of GEMMs.
    """
    N, C_out, H_out, W_out = dy.shape
    _, C_g, KH, KW = w.shape
    C_in = C_g * groups
    (sh, sw), (dh, dw_) = stride, dilation
    (pt, pb), (pl, pr) = padding
    H, W = in_size
    dy_cl = dy.transpose(0, 2, 3, 1)                        # (N, H_out, W_out, C_out) view
    windows = (_windows(_pad_channel_last(x, padding), (KH, KW), stride, dilation, (H_out, W_out))
               if need_dw else None)
    dx_pad = np.zeros((N, H + pt + pb, W + pl + pr, C_in), dtype=dy.dtype) if need_dx else None
    offsets = [(m, k, slice(m * dh, m * dh + sh * (H_out - 1) + 1, sh),
                slice(k * dw_, k * dw_ + sw * (W_out - 1) + 1, sw)) for m in range(KH) for k in range(KW)]
    depthwise = _is_depthwise(w, groups)
    if depthwise:
        w_off = np.ascontiguousarray(w.reshape(C_out, KH * KW).T)      # (KH*KW, C)

        def job(batch):
            dy_b = dy_cl[batch]
            dw_part = np.empty((KH * KW, C_out), dtype=dy.dtype) if need_dw else None
            for index, (m, k, rows, cols_) in enumerate(offsets):
                if need_dx:
                    dx_pad[batch, rows, cols_, :] += dy_b * w_off[index]
                if need_dw:
                    dw_part[index] = np.einsum("nijc,nijc->c", windows[batch, :, :, m, k, :], dy_b)
            return dw_part, dy_b.sum(axis=(0, 1, 2))

        per_image = 2 * H_out * W_out * C_out * dy.itemsize
    else:
        outs = _group_slices(groups, C_out // groups)
        ins = _group_slices(groups, C_g)
        # dcols for kernel offset (m, k) is dy @ w[:, :, m, k]: one batched GEMM per group gives
        # all KH*KW of them as contiguous blocks, so the col2im adds below stream memory
        w_offsets = [np.ascontiguousarray(w[o].transpose(2, 3, 0, 1).reshape(KH * KW, o.stop - o.start, C_g))
                     for o in outs]

        def job(batch):
            dy_rows = dy_cl[batch].reshape(-1, C_out)       # (n*H_out*W_out, C_out)
            n = dy_rows.shape[0] // (H_out * W_out)
            dw_parts = []
            for o, c, w_off in zip(outs, ins, w_offsets):
                dy_g = dy_rows[:, o]
                if need_dx:
                    dcols = np.matmul(dy_g, w_off).reshape(KH, KW, n, H_out, W_out, C_g)
                    for m, k, rows, cols_ in offsets:       # col2im: one strided add per offset
                        dx_pad[batch, rows, cols_, c] += dcols[m, k]
                if need_dw:
                    cols = windows[batch, ..., c].reshape(-1, KH * KW * C_g)   # im2col of this group
                    dw_parts.append(cols.T @ dy_g)          # (KH*KW*C_g, C_out/groups)
            return dw_parts, dy_rows.sum(axis=0)

        per_image = H_out * W_out * KH * KW * C_g * dy.itemsize
    parts = _run_chunks(job, _batch_chunks(N, per_image))
    db = np.sum([p[1] for p in parts], axis=0)
    dw = None
    if need_dw and depthwise:
        dw = np.sum([p[0] for p in parts], axis=0).T.reshape(C_out, 1, KH, KW)
    elif need_dw:
        mats = [np.sum([p[0][g] for p in parts], axis=0) for g in range(groups)]
        dw = np.concatenate([m.reshape(KH, KW, C_g, -1).transpose(3, 2, 0, 1) for m in mats])
    dx = dx_pad[:, pt:pt + H, pl:pl + W, :].transpose(0, 3, 1, 2) if need_dx else None
    return dx, None if dw is None else np.ascontiguousarray(dw), db


def conv2d(x, w, b, stride, padding, dilation, groups=1):
    """x: (N, C_in, H, W), w: (C_out, C_in//groups, KH, KW), b: (C_out,)|None -> y: (N, C_out, H_out, W_out)

    H_out = floor((H + pt + pb - d_h*(KH-1) - 1) / s_h) + 1 (likewise W_out).
    """
    out = _out_size(x.shape[2:], w.shape[2:], stride, padding, dilation)
    return _conv_forward_cl(x, w, b, stride, padding, dilation, groups, out).transpose(0, 3, 1, 2)


def conv2d_backward(dy, x, w, stride, padding, dilation, groups=1):
    """dy: (N, C_out, H_out, W_out) -> dx: (N, C_in, H, W), dw: (C_out, C_in//groups, KH, KW), db: (C_out,)"""
    return _conv_backward(dy, x, w, x.shape[2:], stride, padding, dilation, groups)


# ------------------------------------------------------------------------------- conv 1d
def conv1d(x, w, b, stride, padding, dilation, groups=1):
    """x: (N, C_in, L), w: (C_out, C_in//groups, K) -> y: (N, C_out, L_out); runs as conv2d with H = 1."""
    x4, w4, s, p, d = _as_4d(x, w, stride, padding, dilation)
    return conv2d(x4, w4, b, s, p, d, groups)[:, :, 0, :]


def conv1d_backward(dy, x, w, stride, padding, dilation, groups=1):
    """dy: (N, C_out, L_out) -> dx (N, C_in, L), dw (C_out, C_in//groups, K), db (C_out,)."""
    x4, w4, s, p, d = _as_4d(x, w, stride, padding, dilation)
    dx, dw, db = conv2d_backward(dy[:, :, None, :], x4, w4, s, p, d, groups)
    return dx[:, :, 0, :], dw[:, :, 0, :], db


# ------------------------------------------------------------------------- transposed conv
def conv_transpose2d(x, w, b, stride, padding, output_padding, dilation, groups, out_size):
    """x: (N, C_in, H, W), w: (C_in, C_out//groups, KH, KW) -> y: (N, C_out, *out_size).

    A transposed conv is the input gradient of the conv with the same geometry whose weight is
    ``w`` (read as (C_out_conv = C_in, C_in_conv // groups, KH, KW)): each input value stamps its
    kernel onto the output, i.e. dcols = x @ W, then col2im.
    """
    y, _, _ = _conv_backward(x, None, w, out_size, stride, padding, dilation, groups, need_dw=False)
    return y if b is None else y + b[:, None, None]


def conv_transpose2d_backward(dy, x, w, stride, padding, output_padding, dilation, groups):
    """dy: (N, C_out, H_out, W_out) -> dx (N, C_in, H, W), dw (C_in, C_out//groups, KH, KW), db (C_out,).

    dx is the forward conv of dy with the same weight (cut to x's size); dw is that conv's
    weight gradient with dy as its input and x as its output gradient.
    """
    dx = _conv_forward_cl(dy, w, None, stride, padding, dilation, groups, x.shape[2:]).transpose(0, 3, 1, 2)
    _, dw, _ = _conv_backward(x, dy, w, dy.shape[2:], stride, padding, dilation, groups, need_dx=False)
    return dx, dw, dy.sum(axis=(0, 2, 3))


def conv_transpose1d(x, w, b, stride, padding, output_padding, dilation, groups, out_size):
    """x: (N, C_in, L), w: (C_in, C_out//groups, K) -> y: (N, C_out, L_out); runs as 2-D with H = 1."""
    x4, w4, s, p, d = _as_4d(x, w, stride, padding, dilation)
    return conv_transpose2d(x4, w4, b, s, p, (0, *output_padding), d, groups, (1, *out_size))[:, :, 0, :]


def conv_transpose1d_backward(dy, x, w, stride, padding, output_padding, dilation, groups):
    """dy: (N, C_out, L_out) -> dx (N, C_in, L), dw (C_in, C_out//groups, K), db (C_out,)."""
    x4, w4, s, p, d = _as_4d(x, w, stride, padding, dilation)
    dx, dw, db = conv_transpose2d_backward(dy[:, :, None, :], x4, w4, s, p, (0, *output_padding), d, groups)
    return dx[:, :, 0, :], dw[:, :, 0, :], db


# ------------------------------------------------------------------------------- pooling
def _pool_windows(x, kernel, stride, padding, value):
    """x: (N, C, H, W) -> (x_pad (N, C, H_pad, W_pad), windows view (N, C, H_out, W_out, KH, KW))."""
    x_pad = np.pad(x, ((0, 0), (0, 0), *padding), constant_values=value)
    windows = sliding_window_view(x_pad, kernel, axis=(2, 3))[:, :, ::stride[0], ::stride[1]]
    return x_pad, windows


def _scatter_windows(dx_pad, per_offset, kernel, stride, out_size):
    """col2im for pooling: dx_pad[.., i*s+m, j*s+k] += per_offset(m, k)[.., i, j] for every (m, k)."""
    (KH, KW), (sh, sw), (H_out, W_out) = kernel, stride, out_size
    for m in range(KH):
        for k in range(KW):
            dx_pad[:, :, m:m + sh * (H_out - 1) + 1:sh, k:k + sw * (W_out - 1) + 1:sw] += per_offset(m, k)
    return dx_pad


def _crop(x_pad, padding):
    (pt, pb), (pl, pr) = padding
    return x_pad[:, :, pt:x_pad.shape[2] - pb, pl:x_pad.shape[3] - pr]


def max_pool2d(x, kernel, stride, padding):
    """x: (N, C, H, W) -> y: (N, C, H_out, W_out), H_out = floor((H + 2p - KH) / s) + 1."""
    _, windows = _pool_windows(x, kernel, stride, padding, -np.inf)
    return windows.max(axis=(-2, -1))


def max_pool2d_backward(dy, x, kernel, stride, padding):
    """dy: (N, C, H_out, W_out) -> dx: (N, C, H, W); each window's gradient goes to its (first) max."""
    x_pad, windows = _pool_windows(x, kernel, stride, padding, -np.inf)
    KH, KW = kernel
    winner = windows.reshape(*windows.shape[:4], KH * KW).argmax(axis=-1)   # (N, C, H_out, W_out)
    dx_pad = np.zeros_like(x_pad)
    _scatter_windows(dx_pad, lambda m, k: np.where(winner == m * KW + k, dy, 0), kernel, stride,
                     dy.shape[2:])
    return _crop(dx_pad, padding)


def avg_pool2d(x, kernel, stride, padding):
    """x: (N, C, H, W) -> y: (N, C, H_out, W_out); padding zeros count (count_include_pad=True)."""
    _, windows = _pool_windows(x, kernel, stride, padding, 0.0)
    return windows.mean(axis=(-2, -1))


def avg_pool2d_backward(dy, x, kernel, stride, padding):
    """dy: (N, C, H_out, W_out) -> dx: (N, C, H, W); every window member gets dy / (KH*KW)."""
    x_pad = np.pad(x, ((0, 0), (0, 0), *padding))
    share = dy / (kernel[0] * kernel[1])
    dx_pad = np.zeros_like(x_pad)
    _scatter_windows(dx_pad, lambda m, k: share, kernel, stride, dy.shape[2:])
    return _crop(dx_pad, padding)


# ------------------------------------------------------------------- locally connected 1d
def locally_connected1d(x, w, b, stride):
    """y[n,o,i] = b[o,i] + sum_{c,m} w[i,o,c,m] x[n,c,i*s+m]

    x: (N, C_in, L), w: (L_out, C_out, C_in, K), b: (C_out, L_out)|None -> y: (N, C_out, L_out).
    One batched GEMM over output positions: (L_out, N, C_in*K) @ (L_out, C_in*K, C_out).
    """
    L_out, C_out, C_in, K = w.shape
    windows = sliding_window_view(x, K, axis=2)[:, :, ::stride[0]][:, :, :L_out]   # (N, C_in, L_out, K)
    patches = windows.transpose(2, 0, 1, 3).reshape(L_out, x.shape[0], C_in * K)
    y = patches @ w.reshape(L_out, C_out, C_in * K).transpose(0, 2, 1)          # (L_out, N, C_out)
    y = y.transpose(1, 2, 0)
    if b is not None:
        y = y + b
    return y


def locally_connected1d_backward(dy, x, w, stride):
    """dy: (N, C_out, L_out) -> dx (N, C_in, L), dw (L_out, C_out, C_in, K), db (C_out, L_out)."""
    L_out, C_out, C_in, K = w.shape
    (s,) = stride
    N = x.shape[0]
    windows = sliding_window_view(x, K, axis=2)[:, :, ::s][:, :, :L_out]
    patches = windows.transpose(2, 0, 1, 3).reshape(L_out, N, C_in * K)
    dy_l = dy.transpose(2, 0, 1)                                                 # (L_out, N, C_out)
    dw = (dy_l.transpose(0, 2, 1) @ patches).reshape(L_out, C_out, C_in, K)
    dpatches = (dy_l @ w.reshape(L_out, C_out, C_in * K)).reshape(L_out, N, C_in, K)
    dx = np.zeros_like(x)
    for m in range(K):                       # col2im: one strided add per kernel offset
        dx[:, :, m:m + s * (L_out - 1) + 1:s] += dpatches[:, :, :, m].transpose(1, 2, 0)
    db = dy.sum(axis=0)
    return dx, dw, db


# --------------------------------------------------------------------------------- dense
def dense(x, w, b):
    """x: (N, D_in), w: (D_out, D_in), b: (D_out,)|None -> y = x @ w.T + b: (N, D_out)."""
    y = x @ w.T
    if b is not None:
        y += b
    return y


def dense_backward(dy, x, w):
    """dy: (N, D_out) -> dx = dy @ w (N, D_in), dw = dy.T @ x (D_out, D_in), db = sum_n dy (D_out,)."""
    return dy @ w, dy.T @ x, dy.sum(axis=0)


# -------------------------------------------------------------------------- im2col / col2im
def _channel_first_windows(x_pad, kernel, stride, dilation, out_size):
    """Read-only view (N, C, KH, KW, H_out, W_out) of every receptive field of channel-first ``x_pad``."""
    N, C = x_pad.shape[:2]
    (KH, KW), (sh, sw), (dh, dw), (H_out, W_out) = kernel, stride, dilation, out_size
    sN, sC, sH, sW = x_pad.strides
    return as_strided(x_pad, shape=(N, C, KH, KW, H_out, W_out),
                      strides=(sN, sC, sH * dh, sW * dw, sH * sh, sW * sw), writeable=False)


def im2col(x, kernel, stride, padding, dilation, out_size):
    """x: (N, C, H, W) -> cols (N, C*KH*KW, H_out*W_out), as F.unfold: one strided view, one copy."""
    x_pad = np.pad(x, ((0, 0), (0, 0), *padding))
    windows = _channel_first_windows(x_pad, kernel, stride, dilation, out_size)
    N, C = x.shape[:2]
    return windows.reshape(N, C * kernel[0] * kernel[1], out_size[0] * out_size[1])


def col2im(cols, size, kernel, stride, padding, dilation, out_size):
    """cols (N, C*KH*KW, H_out*W_out) -> x (N, C, H, W), as F.fold: one strided add per kernel offset."""
    (KH, KW), (sh, sw), (dh, dw), (H_out, W_out) = kernel, stride, dilation, out_size
    N = cols.shape[0]
    C = cols.shape[1] // (KH * KW)
    blocks = cols.reshape(N, C, KH, KW, H_out, W_out)
    (pt, pb), (pl, pr) = padding
    x_pad = np.zeros((N, C, size[0] + pt + pb, size[1] + pl + pr), dtype=cols.dtype)
    for m in range(KH):
        for k in range(KW):
            x_pad[:, :, m * dh:m * dh + sh * (H_out - 1) + 1:sh, k * dw:k * dw + sw * (W_out - 1) + 1:sw] += blocks[:, :, m, k]
    return _crop(x_pad, padding)


# ------------------------------------------------------------------------------ batch norm
_CHANNEL_AXES = (0, 2, 3)


def _per_channel(v):
    """(C,) -> (1, C, 1, 1), to broadcast against (N, C, H, W)."""
    return v[None, :, None, None]


def batch_norm2d(x, gamma, beta, running_mean, running_var, training, momentum, eps):
    """x: (N, C, H, W) -> (y, new running_mean | None, new running_var | None); statistics over (N, H, W)."""
    M = x.shape[0] * x.shape[2] * x.shape[3]
    new_mean = new_var = None
    if training:
        mean = x.mean(axis=_CHANNEL_AXES)
        var = x.var(axis=_CHANNEL_AXES)
        if running_mean is not None:
            new_mean = (1 - momentum) * running_mean + momentum * mean
            new_var = (1 - momentum) * running_var + momentum * var * (M / (M - 1))
    else:
        mean, var = running_mean, running_var
    scale = 1.0 / np.sqrt(var + eps)
    if gamma is not None:
        scale = gamma * scale
    shift = -mean * scale if beta is None else beta - mean * scale
    y = x * _per_channel(scale.astype(x.dtype)) + _per_channel(shift.astype(x.dtype))
    return y, new_mean, new_var


def batch_norm2d_backward(dy, x, gamma, eps):
    """dy, x: (N, C, H, W), gamma: (C,)|None -> dx (N, C, H, W), dgamma (C,), dbeta (C,)."""
    M = x.shape[0] * x.shape[2] * x.shape[3]
    mean = x.mean(axis=_CHANNEL_AXES)
    inv_std = 1.0 / np.sqrt(x.var(axis=_CHANNEL_AXES) + eps)
    xhat = (x - _per_channel(mean)) * _per_channel(inv_std)
    dbeta = dy.sum(axis=_CHANNEL_AXES)
    dgamma = (dy * xhat).sum(axis=_CHANNEL_AXES)
    scale = inv_std if gamma is None else gamma * inv_std
    dx = _per_channel(scale) * (dy - _per_channel(dbeta / M) - xhat * _per_channel(dgamma / M))
    return dx.astype(x.dtype, copy=False), dgamma, dbeta
