"""Plain-numpy reference maths the checks compare against (independent of course_lib.ops).

Shapes follow torch.nn.functional (channels first, cross-correlation, no kernel flip):
conv1d x (C_in, L), w (C_out, C_in, K) -> (C_out, L_out); conv2d x (N, C_in, H, W),
w (C_out, C_in, KH, KW) -> (N, C_out, H_out, W_out) with
``out = floor((n + 2*padding - kernel) / stride) + 1``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "output_size",
    "conv1d",
    "conv2d",
    "conv2d_backward",
    "max_pool2d",
    "max_pool2d_backward",
    "locally_connected1d",
    "dense",
    "numerical_gradient",
]


def output_size(n: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """floor((n + 2*padding - dilation*(kernel-1) - 1) / stride) + 1."""
    return (n + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def conv1d(x, w, b=None, stride: int = 1, padding: int = 0) -> np.ndarray:
    """x (C_in, L), w (C_out, C_in, K), b (C_out,) -> (C_out, L_out); cross-correlation."""
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    if padding:
        x = np.pad(x, ((0, 0), (padding, padding)))
    c_out, _, k = w.shape
    l_out = (x.shape[1] - k) // stride + 1
    windows = np.stack([x[:, i * stride : i * stride + k] for i in range(l_out)])  # (L_out, C_in, K)
    y = np.einsum("lck,ock->ol", windows, w)
    if b is not None:
        y = y + np.asarray(b, dtype=np.float64)[:, None]
    return y


def _windows2d(x: np.ndarray, kh: int, kw: int, stride: int) -> np.ndarray:
    """x (N, C, H, W) -> (N, C, H_out, W_out, kh, kw) strided view."""
    view = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
    return view[:, :, ::stride, ::stride]


def conv2d(x, w, b=None, stride: int = 1, padding: int = 0) -> np.ndarray:
    """x (N, C_in, H, W), w (C_out, C_in, KH, KW), b (C_out,) -> (N, C_out, H_out, W_out)."""
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = _windows2d(x, w.shape[2], w.shape[3], stride)
    y = np.einsum("nchwij,ocij->nohw", win, w)
    if b is not None:
        y = y + np.asarray(b, dtype=np.float64)[None, :, None, None]
    return y


def conv2d_backward(dy, x, w, stride: int = 1, padding: int = 0):
    """Gradients of conv2d: dy (N, C_out, H_out, W_out) -> dx like x, dw like w, db (C_out,)."""
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    dy = np.asarray(dy, dtype=np.float64)
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding))) if padding else x
    kh, kw = w.shape[2:]
    win = _windows2d(xp, kh, kw, stride)
    dw = np.einsum("nohw,nchwij->ocij", dy, win)
    db = dy.sum(axis=(0, 2, 3))
    dxp = np.zeros_like(xp)
    h_out, w_out = dy.shape[2:]
    for i in range(h_out):
        for j in range(w_out):
            dxp[:, :, i * stride : i * stride + kh, j * stride : j * stride + kw] += np.einsum(
                "no,ocij->ncij", dy[:, :, i, j], w
            )
    dx = dxp[:, :, padding : padding + x.shape[2], padding : padding + x.shape[3]] if padding else dxp
    return dx, dw, db


def max_pool2d(x, kernel_size: int, stride: int | None = None) -> np.ndarray:
    """x (N, C, H, W) -> (N, C, H_out, W_out), max over kernel_size x kernel_size windows."""
    stride = kernel_size if stride is None else stride
    x = np.asarray(x, dtype=np.float64)
    return _windows2d(x, kernel_size, kernel_size, stride).max(axis=(4, 5))


def max_pool2d_backward(dy, x, kernel_size: int, stride: int | None = None) -> np.ndarray:
    """Route each dy value to the (first) arg-max of its window; returns dx shaped like x."""
    stride = kernel_size if stride is None else stride
    x = np.asarray(x, dtype=np.float64)
    dy = np.asarray(dy, dtype=np.float64)
    dx = np.zeros_like(x)
    n, c, h_out, w_out = dy.shape
    for a in range(n):
        for ch in range(c):
            for i in range(h_out):
                for j in range(w_out):
                    win = x[a, ch, i * stride : i * stride + kernel_size, j * stride : j * stride + kernel_size]
                    r, s = np.unravel_index(np.argmax(win), win.shape)
                    dx[a, ch, i * stride + r, j * stride + s] += dy[a, ch, i, j]
    return dx


def locally_connected1d(x, w, b=None, stride: int = 1) -> np.ndarray:
    """x (C_in, L), w (L_out, C_out, C_in, K), b (C_out, L_out) -> (C_out, L_out); unshared weights."""
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    l_out, c_out, _, k = w.shape
    y = np.empty((c_out, l_out))
    for i in range(l_out):
        y[:, i] = np.einsum("ck,ock->o", x[:, i * stride : i * stride + k], w[i])
    if b is not None:
        y = y + np.asarray(b, dtype=np.float64)
    return y


def dense(x, w, b=None) -> np.ndarray:
    """x (N, D_in), w (D_out, D_in), b (D_out,) -> (N, D_out) = x @ w.T + b."""
    y = np.asarray(x, dtype=np.float64) @ np.asarray(w, dtype=np.float64).T
    if b is not None:
        y = y + np.asarray(b, dtype=np.float64)
    return y


def numerical_gradient(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar function f at x (x is perturbed in place and restored)."""
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        idx = it.multi_index
        old = x[idx]
        x[idx] = old + eps
        plus = f()
        x[idx] = old - eps
        minus = f()
        x[idx] = old
        grad[idx] = (plus - minus) / (2 * eps)
    return grad
