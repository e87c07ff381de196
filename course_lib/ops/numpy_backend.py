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
  positions), then crop the padding.  At stride 1 with >= 8 input channels (per group) dx is
  instead the forward correlation of dy with the flipped kernel (one more im2col + GEMM, no
  scatter-adds).

Groups: the padded copy is *group-major*, (N, groups, H_pad, W_pad, C_in/groups), so each
group's window rows stay contiguous; one stacked ``np.matmul`` runs every group's GEMM and
writes each group's output columns.  Depthwise (one channel per group) at stride 1 skips
GEMMs: on the flattened, padded, channel-last images every kernel offset is one shift, so
the conv is one einsum over shifted views (:func:`_depthwise_flat`).  Transposed
convolutions: the forward splits the output into its stride phases, each an ordinary
stride-1 conv with part of the kernel (:func:`_transposed_by_phases`, "sub-pixel
convolution"); the backward is the conv forward (dx) and its weight gradient (dw).

Results are returned as channels-first (N, C, ...) *views* of channel-last memory, which is
exactly the layout the next layer's im2col wants.  conv1d runs as conv2d with H = 1.

Speed: a big batch is cut into as many jobs as there are threads (more when it exceeds
``_CHUNK_BYTES`` of im2col per job); each job pads its images once, then runs im2col + GEMM
on blocks of about ``_GEMM_BYTES``, which stay in cache between the copy and the GEMM.  The
calling thread takes jobs too, alongside ``threads - 1`` pool workers (a thread hand-off
costs tens of microseconds; the caller never waits idle for one), and numpy's BLAS is held
to one thread meanwhile (via threadpoolctl when installed), which keeps every core busy
without oversubscribing them.  Small problems (under ``_PARALLEL_MIN_BYTES``) run in the
calling thread.  ``COURSE_LIB_NUMPY_THREADS=1`` turns the pool off.
"""

from __future__ import annotations

import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from ..geometry import output_length

_PARALLEL_MIN_ELEMENTS = 1 << 18     # smaller copies are not worth a thread hand-off
_PARALLEL_MIN_BYTES = 1 << 20        # nor is less work than this (im2col bytes, see _batch_chunks)
_CHUNK_BYTES = 1 << 25               # work per job at most: a big batch gets more jobs than threads
_GEMM_BYTES = 1 << 19                # im2col block per GEMM inside a job: small enough to stay in L2
_DEPTHWISE_BLOCK_BYTES = 1 << 23     # padded images per depthwise einsum call (fewer, longer calls win)
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


def _share(job, chunks: list, threads: int) -> list:
    """``[job(c) for c in chunks]`` with the calling thread and ``threads - 1`` pool workers
    taking chunks in turn from one queue.  The caller works too, instead of waiting for the
    pool to wake up; the first error is raised once every worker has stopped."""
    results = [None] * len(chunks)
    queue = iter(enumerate(chunks))
    lock = threading.Lock()

    def work():
        while True:
            with lock:
                item = next(queue, None)
            if item is None:
                return
            try:
                results[item[0]] = job(item[1])
            except BaseException:
                with lock:
                    for _ in queue:             # nobody starts another chunk
                        pass
                raise

    helpers = threads - 1
    futures = [_get_pool(helpers).submit(work) for _ in range(helpers)]
    try:
        work()
    finally:
        for future in futures:
            future.result()
    return results


def _over_batch(job, N: int, elements: int) -> None:
    """Run ``job(batch_slice)`` on slices covering ``range(N)``, in parallel when it is big."""
    threads = min(_threads(), N)
    if threads <= 1 or elements < _PARALLEL_MIN_ELEMENTS:
        job(slice(0, N))
        return
    _share(job, _even_slices(N, threads), threads)


def _run_chunks(job, chunks: list[slice]) -> list:
    """``[job(c) for c in chunks]``; with several threads, the chunks are shared out (see
    :func:`_share`) while BLAS is held to one thread each (so the cores are shared, not
    oversubscribed)."""
    threads = min(_threads(), len(chunks))
    if threads <= 1 or _blas_limit is None:
        return [job(c) for c in chunks]
    with _blas_limit():
        return _share(job, chunks, threads)


def _channel_sums(a: np.ndarray) -> np.ndarray:
    """a: (N, C, H, W) -> (C,), the sum over images and positions (a bias gradient), the batch
    split across the threads when it is big (a sum is cheap per byte, hence the 8x threshold).
    einsum sums each image's channel planes (2-4x faster than ``sum(axis=(0, 2, 3))``), then
    ``sum`` adds the images pairwise."""
    chunks = _batch_chunks(a.shape[0], a[0].nbytes // 8)
    parts = _run_chunks(lambda batch: np.einsum("nchw->nc", a[batch]).sum(axis=0), chunks)
    return parts[0] if len(parts) == 1 else np.sum(parts, axis=0)


def _pad_channel_last(x: np.ndarray, padding, value: float = 0.0, groups: int = 1,
                      parallel: bool = True, out: np.ndarray | None = None) -> np.ndarray:
    """x: (N, C, H, W) -> zero-bordered channel-last copy (N, H + pt + pb, W + pl + pr, C).

    With ``groups`` > 1 the copy is group-major, (N, groups, H_pad, W_pad, C // groups), so
    that one group's window rows (KW * C/groups values) are contiguous runs.  ``out``: a
    contiguous array of the result's size to fill instead of a new one.
    """
    (pt, pb), (pl, pr) = padding
    N, C, H, W = x.shape
    shape = (N, groups, H + pt + pb, W + pl + pr, C // groups)
    out = np.empty(shape, dtype=x.dtype) if out is None else out.reshape(shape)
    x_cl = x.reshape(N, groups, C // groups, H, W).transpose(0, 1, 3, 4, 2)

    def job(batch):
        if pt or pb or pl or pr:
            out[batch, :, :pt] = value
            out[batch, :, pt + H:] = value
            out[batch, :, :, :pl] = value
            out[batch, :, :, pl + W:] = value
        out[batch, :, pt:pt + H, pl:pl + W, :] = x_cl[batch]

    if parallel:
        _over_batch(job, N, out.size)
    else:                                   # already inside a pool worker: no nested hand-off
        job(slice(0, N))
    return out[:, 0] if groups == 1 else out


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


def _group_window_view(x, padding, groups, kernel, stride, dilation, out_size) -> np.ndarray:
    """Every group's receptive fields: x (n, C, H, W) -> read-only view (groups, n, H_out, W_out, KH, KW, C/groups).

    A view over a group-major padded copy of x (see :func:`_pad_channel_last`); entry
    [g, n, i, j] holds what output (i, j) of image n reads from group g's channels, ordered
    (m, k, c) like :func:`_weight_stack`'s rows.  ``view[:, a:b].reshape(groups, -1, KH*KW*C/groups)``
    is the im2col of images a..b (one copy).
    """
    x_pad = _pad_channel_last(x, padding, groups=groups, parallel=False)
    if groups == 1:
        x_pad = x_pad[:, None]
    n, G, _, _, C_g = x_pad.shape
    (KH, KW), (sh, sw), (dh, dw), (H_out, W_out) = kernel, stride, dilation, out_size
    sN, sG, sH, sW, sC = x_pad.strides
    return as_strided(x_pad, shape=(G, n, H_out, W_out, KH, KW, C_g),
                      strides=(sG, sN, sH * sh, sW * sw, sH * dh, sW * dw, sC), writeable=False)


def _weight_stack(w: np.ndarray, groups: int) -> np.ndarray:
    """w: (C_out, C_in/groups, KH, KW) -> (groups, KH*KW*C_in/groups, C_out/groups), rows ordered like
    :func:`_group_window_view`'s im2col columns: group g's GEMM is cols[g] @ stack[g]."""
    C_out, C_g, KH, KW = w.shape
    return np.ascontiguousarray(w.reshape(groups, C_out // groups, C_g, KH, KW)
                                .transpose(0, 3, 4, 2, 1).reshape(groups, KH * KW * C_g, C_out // groups))


def _per_group(rows: np.ndarray, groups: int) -> np.ndarray:
    """Channel-last rows (R, C) -> the (groups, R, C/groups) view whose [g] is group g's columns."""
    return rows.reshape(rows.shape[0], groups, -1).transpose(1, 0, 2)


def _out_size(in_size, kernel, stride, padding, dilation):
    return tuple(output_length(n, k, s, p, d) for n, k, s, p, d in zip(in_size, kernel, stride, padding, dilation))


def _as_4d(x, w, stride, padding, dilation):
    """View a 1-D problem as 2-D with height 1."""
    return (x[:, :, None, :], w[:, :, None, :], (1, *stride), ((0, 0), *padding), (1, *dilation))


# ------------------------------------------------------------------------------- conv 2d
def _batch_chunks(N: int, bytes_per_image: int, target: int | None = None) -> list[slice]:
    """Split the batch into chunks of about ``target`` bytes of work each (``_CHUNK_BYTES``),
    their number a multiple of the worker threads so that every thread gets the same share."""
    target = _CHUNK_BYTES if target is None else target
    total = N * max(1, bytes_per_image)
    if total < _PARALLEL_MIN_BYTES:                 # too small to be worth a thread hand-off
        return [slice(0, N)]
    threads = max(1, _threads())
    count = threads * -(-total // (threads * target))      # ceil, then a multiple of the threads
    return _even_slices(N, max(1, min(N, count)))


def _even_slices(N: int, count: int) -> list[slice]:
    """``range(N)`` cut into ``count`` consecutive slices whose lengths differ by at most one."""
    return [slice(a, b) for a, b in itertools.pairwise(N * i // count for i in range(count + 1))]


def _group_slices(groups: int, per_group: int) -> list[slice]:
    """Channel ranges of the groups: [0, per_group), [per_group, 2*per_group), ..."""
    return [slice(g * per_group, (g + 1) * per_group) for g in range(groups)]


def _is_depthwise(w: np.ndarray, groups: int) -> bool:
    """One input and one output channel per group: a per-channel filter, no GEMM worth doing."""
    return groups > 1 and w.shape[1] == 1 and w.shape[0] == groups


def _depthwise_flat(x, w, b, padding, dilation, out_size):
    """Depthwise conv at stride 1 on padded channel-last images, one image row at a time.

    With stride 1, output (i, j) of channel c reads x_pad[i + m*d_h, j + k*d_w, c].  Channel-last,
    a padded image row is one contiguous run of W_pad*C entries (entry l is channel l mod C),
    and tap (m, k) of output row i is padded row i + m*d_h shifted by k*d_w*C entries.  So
    y[n, i, l] = sum_{m,k} x_row[n, i + m*d_h][l + k*d_w*C] * w[l mod C, 0, m, k]: one einsum
    over a read-only view (n, H_out, KH, KW, W_pad*C) of the padded images, times the KH*KW
    weight rows (w tiled along a row, small enough to stay in cache).  The last KW-1 columns
    of each output row read into the next row: they are computed and dropped.  Each pool job
    pads its images into one buffer and convolves them with one einsum per
    ``_DEPTHWISE_BLOCK_BYTES`` of images.

    x: (N, C, H, W), w: (C, 1, KH, KW), b: (C,) | None -> y: (N, C, H_out, W_out) (a view).
    """
    N, C, H, W = x.shape
    _, _, KH, KW = w.shape
    (dh, dw), (H_out, W_out) = dilation, out_size
    H_pad, W_pad = H + sum(padding[0]), W + sum(padding[1])
    row = W_pad * C
    per_image, size = H_pad * row, x.itemsize
    tiles = np.tile(w.reshape(C, KH * KW).T.astype(x.dtype), (1, W_pad)).reshape(KH, KW, row)
    bias = None if b is None else np.tile(b.astype(x.dtype), W_pad)
    y = np.empty((N, H_out, row), dtype=x.dtype)
    step = max(1, _DEPTHWISE_BLOCK_BYTES // (per_image * size))       # images per einsum

    reach = (KW - 1) * dw * C                 # what the taps of the very last, dropped, columns read

    def job(batch):
        # one buffer per job: a few padded channel-last images in one run, then `reach` zeros
        padded = np.empty(min(step, batch.stop - batch.start) * per_image + reach, dtype=x.dtype)
        for a in range(batch.start, batch.stop, step):
            e = min(a + step, batch.stop)
            used = (e - a) * per_image
            padded[used:used + reach] = 0
            _pad_channel_last(x[a:e], padding, parallel=False, out=padded[:used])
            taps = as_strided(padded, shape=(e - a, H_out, KH, KW, row),
                              strides=(per_image * size, row * size, dh * row * size, dw * C * size, size),
                              writeable=False)
            np.einsum("nimkl,mkl->nil", taps, tiles, out=y[a:e])
            if bias is not None:
                y[a:e] += bias

    _run_chunks(job, _batch_chunks(N, KH * KW * H_out * row * size))
    return y.reshape(N, H_out, W_pad, C)[:, :, :W_out].transpose(0, 3, 1, 2)


def _depthwise_flat_weight_grad(dy, x, kernel, padding, dilation):
    """dw (C, 1, KH, KW) and db (C,) of a stride-1 depthwise conv, channel-first this time: in each
    channel's flattened padded image, the window of offset (m, k) starts at m*d_h*W_pad + k*d_w,
    so a read-only view (n, C, KH, KW, Q) covers every offset without copying, and one einsum
    takes all the per-channel dot products with dy (placed on the padded grid, zeros in the
    dropped columns) along its contiguous last axis.  A few images at a time, in reused
    buffers, so the padded copies are read from cache."""
    N, C, H_out, W_out = dy.shape
    KH, KW = kernel
    dh, dw = dilation
    (pt, pb), (pl, pr) = padding
    H, W = x.shape[2:]
    H_pad, W_pad = H + pt + pb, W + pl + pr
    Q = (H_out - 1) * W_pad + W_out
    size = x.itemsize
    step = max(1, _GEMM_BYTES // (C * H_pad * W_pad * size))

    def job(batch):
        block = min(step, batch.stop - batch.start)
        x_pad = np.zeros((block, C, H_pad, W_pad), dtype=x.dtype)      # borders stay zero
        dy_grid = np.zeros((block, C, H_out, W_pad), dtype=dy.dtype)   # so do the dropped columns
        sN, sC = x_pad.strides[:2]
        dw_total = np.zeros((C, KH, KW), dtype=dy.dtype)
        db_total = np.zeros(C, dtype=dy.dtype)
        for a in range(batch.start, batch.stop, block):
            n = min(a + block, batch.stop) - a
            x_pad[:n, :, pt:pt + H, pl:pl + W] = x[a:a + n]
            dy_grid[:n, :, :, :W_out] = dy[a:a + n]
            windows = as_strided(x_pad, shape=(n, C, KH, KW, Q),
                                 strides=(sN, sC, dh * W_pad * size, dw * size, size), writeable=False)
            grid = dy_grid[:n].reshape(n, C, -1)
            dw_total += np.einsum("ncmkq,ncq->cmk", windows, grid[:, :, :Q])
            db_total += grid.sum(axis=(0, 2))
        return dw_total, db_total

    parts = _run_chunks(job, _batch_chunks(N, 2 * C * H_pad * W_pad * size))
    return np.sum([p[0] for p in parts], axis=0)[:, None], np.sum([p[1] for p in parts], axis=0)


def _conv_forward_cl(x, w, b, stride, padding, dilation, groups, out_size):
    """x: (N, C_in, H, W), w: (C_out, C_in//groups, KH, KW) -> channel-last y (N, H_out, W_out, C_out).

    One GEMM per group (one for groups=1); a depthwise conv is KH*KW broadcast multiply-adds.
    ``out_size`` may be smaller than the full output (the rest is not computed).
    """
    if not _is_depthwise(w, groups):
        return _conv_and_cols_product(x, w, groups, padding, stride, dilation, out_size, None, b)[0]
    N = x.shape[0]
    C_out, _, KH, KW = w.shape
    y = np.empty((N, *out_size, C_out), dtype=x.dtype)
    windows = _windows(_pad_channel_last(x, padding), (KH, KW), stride, dilation, out_size)
    w_off = np.ascontiguousarray(w.reshape(C_out, KH * KW).T)      # (KH*KW, C)

    def job(batch):
        y_b = y[batch]
        np.multiply(windows[batch, :, :, 0, 0, :], w_off[0], out=y_b)
        for index in range(1, KH * KW):
            y_b += windows[batch, :, :, index // KW, index % KW, :] * w_off[index]
        if b is not None:
            y_b += b

    _run_chunks(job, _batch_chunks(N, 2 * out_size[0] * out_size[1] * C_out * x.itemsize))
    return y


def _full_correlation_padding(kernel, stride, padding, dilation, in_size, out_size):
    """Padding under which dx = correlation of dy with the flipped kernel, or None.

    With stride 1, dx[l] = sum_m dy[l + p_before - m*d] w[m]: a correlation with the kernel
    reversed, over dy padded by d*(K-1) - p_before before and n - n_out + p_before after
    (= d*(K-1) - p_after for an ordinary conv; a transposed conv's output_padding adds to it),
    so that it gives dx's n entries.  Only when both are >= 0 (padding at most the dilated
    kernel's reach, e.g. 'same' or 'valid').
    """
    if any(s != 1 for s in stride):
        return None
    pads = tuple((d * (k - 1) - before, n - n_out + before)
                 for k, d, (before, _), n, n_out in zip(kernel, dilation, padding, in_size, out_size))
    return pads if all(a >= 0 and b >= 0 for a, b in pads) else None


def _conv_backward(dy, x, w, in_size, stride, padding, dilation, groups, need_dx=True, need_dw=True):
    """Gradients of a (grouped) conv: dy (N, C_out, H_out, W_out) -> (dx | None, dw | None, db | None)
    (db along with dw).

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
    offsets = [(m, k, slice(m * dh, m * dh + sh * (H_out - 1) + 1, sh),
                slice(k * dw_, k * dw_ + sw * (W_out - 1) + 1, sw)) for m in range(KH) for k in range(KW)]
    depthwise = _is_depthwise(w, groups)
    full_pads = _full_correlation_padding((KH, KW), stride, padding, dilation, (H, W), (H_out, W_out))
    if depthwise and full_pads is not None:
        # stride 1: shifted flat slices (see _depthwise_flat); dx correlates with the flipped kernel
        dx = _depthwise_flat(dy, w[:, :, ::-1, ::-1], None, full_pads, dilation, (H, W)) if need_dx else None
        dw, db = _depthwise_flat_weight_grad(dy, x, (KH, KW), padding, dilation) if need_dw else (None, None)
        return dx, dw, db
    if need_dx and not depthwise and C_g >= 8 and full_pads is not None:
        # stride 1: dx is the *forward* correlation of dy with the flipped kernel, input and
        # output channels swapped within each group (one im2col + one GEMM per group, no
        # scatter-adds); the job below then only does dw.  (With few input channels per group
        # that GEMM is a thin matrix-vector product: scatter instead.)
        O_g = C_out // groups
        w_flipped = (w.reshape(groups, O_g, C_g, KH, KW).transpose(0, 2, 1, 3, 4)
                     .reshape(C_in, O_g, KH, KW)[:, :, ::-1, ::-1])
        # the same im2col of dy gives dw too: dw[o, c, m, k] = (x_rows.T @ cols)[c, (KH-1-m, KW-1-k, o)]
        dx_cl, total = _conv_and_cols_product(dy, w_flipped, groups, full_pads, stride, dilation, (H, W),
                                              x if need_dw else None)
        dx = dx_cl.transpose(0, 3, 1, 2)
        if not need_dw:
            return dx, None, None
        dw = (total.reshape(groups, KH, KW, O_g, C_g)[:, ::-1, ::-1]          # total: (groups, KH*KW*O_g, C_g)
              .transpose(0, 3, 4, 1, 2).reshape(C_out, C_g, KH, KW))
        return dx, np.ascontiguousarray(dw), _channel_sums(dy)
    windows = None
    if need_dw and depthwise:
        windows = _windows(_pad_channel_last(x, padding), (KH, KW), stride, dilation, (H_out, W_out))
    dx_pad = np.zeros((N, H + pt + pb, W + pl + pr, C_in), dtype=dy.dtype) if need_dx else None
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
            return dw_part

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
            if need_dw:
                windows = _group_window_view(x[batch], padding, groups, (KH, KW), stride, dilation, (H_out, W_out))
            for g, (o, c, w_off) in enumerate(zip(outs, ins, w_offsets)):
                dy_g = dy_rows[:, o]
                if need_dx:
                    dcols = np.matmul(dy_g, w_off).reshape(KH, KW, n, H_out, W_out, C_g)
                    for m, k, rows, cols_ in offsets:       # col2im: one strided add per offset
                        dx_pad[batch, rows, cols_, c] += dcols[m, k]
                if need_dw:
                    cols = windows[g].reshape(-1, KH * KW * C_g)   # im2col of this group
                    dw_parts.append(cols.T @ dy_g)          # (KH*KW*C_g, C_out/groups)
            return dw_parts

        per_image = H_out * W_out * KH * KW * C_g * dy.itemsize
    parts = _run_chunks(job, _batch_chunks(N, per_image))
    db = _channel_sums(dy) if need_dw else None
    dw = None
    if need_dw and depthwise:
        dw = np.sum(parts, axis=0).T.reshape(C_out, 1, KH, KW)
    elif need_dw:
        dw = _weight_from_group_stack(np.sum(parts, axis=0), groups, (KH, KW), C_g)
    dx = dx_pad[:, pt:pt + H, pl:pl + W, :].transpose(0, 3, 1, 2) if need_dx else None
    return dx, None if dw is None else np.ascontiguousarray(dw), db


def _conv_and_cols_product(src, w, groups, padding, stride, dilation, out_size, other, b=None):
    """The grouped conv of ``src`` with ``w`` (+ bias ``b``; channel-last, (N, *out_size, C_out)) and, from the
    same im2col blocks, ``cols[g].T @ other_rows[g]`` summed over the batch (``other``: (N, C_out,
    *out_size) or None), the weight-gradient GEMM that shares those columns.

    Every group's GEMM runs in one stacked ``np.matmul`` (groups, rows, KH*KW*C/groups) @
    (groups, KH*KW*C/groups, C_out/groups), which writes straight into the group's output columns.

    src: (N, C, H, W), w: (C_out, C // groups, KH, KW) -> (y_cl, (groups, KH*KW*C/groups,
    C_out/groups) | None).
    """
    N = src.shape[0]
    C_out, C_g, KH, KW = w.shape
    w_stack = _weight_stack(w, groups)
    y_cl = np.empty((N, *out_size, C_out), dtype=src.dtype)
    other_cl = None if other is None else other.transpose(0, 2, 3, 1)

    rows_per_image = out_size[0] * out_size[1]
    per_image = rows_per_image * KH * KW * C_g * groups * src.itemsize        # im2col bytes of one image
    step = max(1, _GEMM_BYTES // per_image)             # images per GEMM: its blocks stay in L2

    def job(batch):
        windows = _group_window_view(src[batch], padding, groups, (KH, KW), stride, dilation, out_size)
        y_b = y_cl[batch]
        other_b = None if other is None else other_cl[batch]
        part = None
        for a in range(0, batch.stop - batch.start, step):
            cols = windows[:, a:a + step].reshape(groups, -1, w_stack.shape[1])   # im2col (one copy)
            np.matmul(cols, w_stack, out=_per_group(y_b[a:a + step].reshape(-1, C_out), groups))
            if other is not None:
                grad = np.matmul(cols.transpose(0, 2, 1), _per_group(other_b[a:a + step].reshape(-1, C_out), groups))
                part = grad if part is None else np.add(part, grad, out=part)
        if b is not None:
            y_b += b
        return part

    parts = _run_chunks(job, _batch_chunks(N, per_image))
    return y_cl, None if other is None else np.sum(parts, axis=0)


def _weight_from_group_stack(total, groups, kernel, C_g):
    """(groups, KH*KW*C_g, C_out/groups) matrices -> w's layout (C_out, C_g, KH, KW)."""
    return total.reshape(groups, *kernel, C_g, -1).transpose(0, 4, 3, 1, 2).reshape(-1, C_g, *kernel)


def conv2d(x, w, b, stride, padding, dilation, groups=1):
    """x: (N, C_in, H, W), w: (C_out, C_in//groups, KH, KW), b: (C_out,)|None -> y: (N, C_out, H_out, W_out)

    H_out = floor((H + pt + pb - d_h*(KH-1) - 1) / s_h) + 1 (likewise W_out).
    """
    out = _out_size(x.shape[2:], w.shape[2:], stride, padding, dilation)
    if _is_depthwise(w, groups) and stride == (1, 1):
        return _depthwise_flat(x, w, b, padding, dilation, out)
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
def _phase_plan(K: int, s: int, p_before: int, n_in: int, n_out: int) -> list[tuple]:
    """One dimension of a transposed conv (dilation 1) split into its ``s`` output phases.

    Output o receives x[i] * w[m] for every i*s + m = o + p_before.  The outputs of phase r,
    o = q*s + r - p_before, take only the taps m = r, r + s, r + 2s, ... (T of them), and
    y[q*s + r - p_before] = sum_t x[q - t] * w[r + s*t]: a *stride-1* correlation of x with
    those taps reversed.  Returns, per phase, (taps in correlation order, first output o0,
    output count n, pad/crop of x before, after); a negative pad means "crop that many".
    """
    plan = []
    for r in range(s):
        T = max(0, -(-(K - r) // s))                  # taps r, r+s, ... below K
        q0 = -(-(p_before - r) // s)                  # first q whose output o >= 0
        n = (n_out - 1 + p_before - r) // s - q0 + 1  # outputs of this phase inside [0, n_out)
        taps = [r + s * (T - 1 - u) for u in range(T)]
        plan.append((taps, q0 * s + r - p_before, n, T - 1 - q0, q0 + n - n_in))
    return plan


def _transposed_by_phases(x, w, b, stride, padding, groups, out_size):
    """Transposed conv (dilation 1) as stride-1 convs, one per output phase ("sub-pixel convolution").

    x: (N, C_in, H, W), w: (C_in, C_out//groups, KH, KW), b: (C_out,) | None -> channel-last
    y (N, *out_size, C_out).  Each phase (r_h, r_w) -- the outputs whose rows are r_h mod s_h
    and columns r_w mod s_w, after padding -- is an ordinary conv of x with the sub-kernel of
    taps that land there (see :func:`_phase_plan`): im2col of one padded copy of x (shared by
    all phases) and one GEMM per block of images, written into the phase's strided slice of y.
    No scatter-adds; every output is written once.
    """
    N, C_in, H, W = x.shape
    _, O_g, KH, KW = w.shape
    C_g, C_out = C_in // groups, O_g * groups
    (sh, sw) = stride
    rows = _phase_plan(KH, sh, padding[0][0], H, out_size[0])
    cols = _phase_plan(KW, sw, padding[1][0], W, out_size[1])
    top, left = max(0, *(p[3] for p in rows)), max(0, *(p[3] for p in cols))
    pads = ((top, max(0, *(p[4] for p in rows))), (left, max(0, *(p[4] for p in cols))))
    # as a conv weight: (C_out, C_in // groups, KH, KW), output channel o of group g reading its C_g inputs
    w_conv = w.reshape(groups, C_g, O_g, KH, KW).transpose(0, 2, 1, 3, 4).reshape(C_out, C_g, KH, KW)
    phases = []                             # (first output row, col, count, count, start in x_pad, weights)
    for taps_h, o0_h, n_h, before_h, _ in rows:
        for taps_w, o0_w, n_w, before_w, _ in cols:
            if taps_h and taps_w and n_h > 0 and n_w > 0:
                sub = w_conv[:, :, taps_h][:, :, :, taps_w]
                phases.append((o0_h, o0_w, n_h, n_w, top - before_h, left - before_w,
                               len(taps_h), len(taps_w), _weight_stack(sub, groups)))
    covered = sum(ph[2] * ph[3] for ph in phases) == out_size[0] * out_size[1]
    y = (np.empty if covered else np.zeros)((N, *out_size, C_out), dtype=x.dtype)
    if not covered and b is not None:
        y += b                              # outputs no tap reaches hold the bias alone

    def job(batch):
        x_pad = _pad_channel_last(x[batch], pads, groups=groups, parallel=False)
        if groups == 1:
            x_pad = x_pad[:, None]
        n = batch.stop - batch.start
        sN, sG, sH, sW, sC = x_pad.strides
        for o0_h, o0_w, n_h, n_w, start_h, start_w, T_h, T_w, w_stack in phases:
            windows = as_strided(x_pad[:, :, start_h:, start_w:], shape=(groups, n, n_h, n_w, T_h, T_w, C_g),
                                 strides=(sG, sN, sH, sW, sH, sW, sC), writeable=False)
            y_phase = y[batch, o0_h:o0_h + sh * (n_h - 1) + 1:sh, o0_w:o0_w + sw * (n_w - 1) + 1:sw]
            step = max(1, _GEMM_BYTES // (n_h * n_w * w_stack.shape[1] * groups * x.itemsize))
            for a in range(0, n, step):
                block = windows[:, a:a + step].reshape(groups, -1, w_stack.shape[1])     # im2col (one copy)
                z = np.matmul(block, w_stack)                                           # (groups, rows, O_g)
                z = z.transpose(1, 0, 2).reshape(-1, n_h, n_w, C_out)
                if b is not None:
                    z += b
                y_phase[a:a + step] = z                 # from cache into the strided phase slice

    per_image = out_size[0] * out_size[1] * KH * KW * C_in // (sh * sw) * x.itemsize
    _run_chunks(job, _batch_chunks(N, per_image))
    return y


def conv_transpose2d(x, w, b, stride, padding, output_padding, dilation, groups, out_size):
    """x: (N, C_in, H, W), w: (C_in, C_out//groups, KH, KW) -> y: (N, C_out, *out_size).

    A transposed conv is the input gradient of the conv with the same geometry whose weight is
    ``w`` (read as (C_out_conv = C_in, C_in_conv // groups, KH, KW)): each input value stamps its
    kernel onto the output, i.e. dcols = x @ W, then col2im.  That is how it runs when dilated or
    depthwise; otherwise the output is split into its stride phases, each an ordinary stride-1
    conv (:func:`_transposed_by_phases`): the same sums, without the scatter-adds.
    """
    if dilation == (1, 1) and not _is_depthwise(w, groups):
        return _transposed_by_phases(x, w, b, stride, padding, groups, out_size).transpose(0, 3, 1, 2)
    y, _, _ = _conv_backward(x, None, w, out_size, stride, padding, dilation, groups, need_dw=False)
    return y if b is None else y + b[:, None, None]


def conv_transpose2d_backward(dy, x, w, stride, padding, output_padding, dilation, groups):
    """dy: (N, C_out, H_out, W_out) -> dx (N, C_in, H, W), dw (C_in, C_out//groups, KH, KW), db (C_out,).

    dx is the forward conv of dy with the same weight (cut to x's size); dw is that conv's
    weight gradient with dy as its input and x as its output gradient.
    """
    if _is_depthwise(w, groups):
        dx = _conv_forward_cl(dy, w, None, stride, padding, dilation, groups, x.shape[2:]).transpose(0, 3, 1, 2)
        _, dw, _ = _conv_backward(x, dy, w, dy.shape[2:], stride, padding, dilation, groups, need_dx=False)
        return dx, dw, _channel_sums(dy)
    # one im2col of dy per chunk feeds both GEMMs: dx = cols @ W and dw = cols.T @ x
    KH, KW = w.shape[2:]
    dx_cl, total = _conv_and_cols_product(dy, w, groups, padding, stride, dilation, x.shape[2:], x)
    dw = np.ascontiguousarray(_weight_from_group_stack(total, groups, (KH, KW), w.shape[1]))
    return dx_cl.transpose(0, 3, 1, 2), dw, _channel_sums(dy)


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
