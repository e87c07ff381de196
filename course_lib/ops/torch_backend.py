"""The PyTorch backend: the same ops on torch tensors, on whatever device they live on.

Forward uses ``torch.nn.functional``; the convolution backward is written with
``torch.nn.grad.conv{1,2}d_input`` (a transposed convolution: dy padded and correlated with
the flipped kernel) and ``torch.nn.grad.conv{1,2}d_weight`` (dy correlated with the input),
so it needs no autograd graph.  Padding arrives as ``(before, after)`` pairs; asymmetric
padding (``"same"`` with an even kernel) is applied with ``F.pad`` and cropped off dx again.

Shapes are those of :mod:`course_lib.ops` (channels first).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.nn import grad as nn_grad


def _symmetric(padding) -> bool:
    return all(before == after for before, after in padding)


def _flat_pad(padding) -> list[int]:
    """((pt, pb), (pl, pr)) -> [pl, pr, pt, pb], the order F.pad wants (last dimension first)."""
    flat: list[int] = []
    for before, after in reversed(padding):
        flat += [before, after]
    return flat


def _crop(x_pad, padding):
    index = [slice(None), slice(None)]
    for dim, (before, after) in enumerate(padding):
        index.append(slice(before, x_pad.shape[2 + dim] - after))
    return x_pad[tuple(index)]


_CONV = {1: F.conv1d, 2: F.conv2d}
_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d}
_GRAD_INPUT = {1: nn_grad.conv1d_input, 2: nn_grad.conv2d_input}
_GRAD_WEIGHT = {1: nn_grad.conv1d_weight, 2: nn_grad.conv2d_weight}


def _conv(x, w, b, stride, padding, dilation, groups=1):
    n = x.ndim - 2
    if _symmetric(padding):
        return _CONV[n](x, w, b, stride, tuple(p for p, _ in padding), dilation, groups)
    return _CONV[n](F.pad(x, _flat_pad(padding)), w, b, stride, 0, dilation, groups)


def _conv_backward(dy, x, w, stride, padding, dilation, groups=1):
    n = x.ndim - 2
    if _symmetric(padding):
        pad = tuple(p for p, _ in padding)
        dx = _GRAD_INPUT[n](x.shape, w, dy, stride, pad, dilation, groups)
        dw = _GRAD_WEIGHT[n](x, w.shape, dy, stride, pad, dilation, groups)
    else:
        x_pad = F.pad(x, _flat_pad(padding))
        dx = _crop(_GRAD_INPUT[n](x_pad.shape, w, dy, stride, 0, dilation, groups), padding)
        dw = _GRAD_WEIGHT[n](x_pad, w.shape, dy, stride, 0, dilation, groups)
    db = dy.sum(dim=(0, *range(2, dy.ndim)))
    return dx, dw, db


def conv1d(x, w, b, stride, padding, dilation, groups=1):
    """x: (N, C_in, L), w: (C_out, C_in//groups, K), b: (C_out,)|None -> (N, C_out, L_out)."""
    return _conv(x, w, b, stride, padding, dilation, groups)


def conv2d(x, w, b, stride, padding, dilation, groups=1):
    """x: (N, C_in, H, W), w: (C_out, C_in//groups, KH, KW), b: (C_out,)|None -> (N, C_out, H_out, W_out)."""
    return _conv(x, w, b, stride, padding, dilation, groups)


def conv1d_backward(dy, x, w, stride, padding, dilation, groups=1):
    """dy: (N, C_out, L_out) -> dx (N, C_in, L), dw (C_out, C_in//groups, K), db (C_out,)."""
    return _conv_backward(dy, x, w, stride, padding, dilation, groups)


def conv2d_backward(dy, x, w, stride, padding, dilation, groups=1):
    """dy: (N, C_out, H_out, W_out) -> dx (N, C_in, H, W), dw (C_out, C_in//groups, KH, KW), db (C_out,)."""
    return _conv_backward(dy, x, w, stride, padding, dilation, groups)


# ------------------------------------------------------------------------- transposed conv
def _conv_transpose(x, w, b, stride, padding, output_padding, dilation, groups, out_size):
    """F.conv_transpose{1,2}d (symmetric padding: the public op accepts only that)."""
    pad = tuple(p for p, _ in padding)
    return _CONV_T[x.ndim - 2](x, w, b, stride, pad, output_padding, groups, dilation)


def _conv_transpose_backward(dy, x, w, stride, padding, output_padding, dilation, groups):
    """dx = conv(dy, w) cut to x's size; dw = that conv's weight gradient with input dy and
    output gradient x (x padded with zeros where the conv would give more outputs, which
    happens when output_padding >= stride); db = sum of dy.  No autograd graph."""
    n = x.ndim - 2
    pad = tuple(p for p, _ in padding)
    y = _CONV[n](dy, w, None, stride, pad, dilation, groups)         # (N, C_in, >= x's size)
    dx = y[(slice(None), slice(None), *(slice(0, size) for size in x.shape[2:]))]
    extra = [full - size for full, size in zip(y.shape[2:], x.shape[2:])]
    x_full = F.pad(x, [a for e in reversed(extra) for a in (0, e)]) if any(extra) else x
    dw = _GRAD_WEIGHT[n](dy, w.shape, x_full, stride, pad, dilation, groups)
    return dx, dw, dy.sum(dim=(0, *range(2, dy.ndim)))


def conv_transpose1d(x, w, b, stride, padding, output_padding, dilation, groups, out_size):
    """x: (N, C_in, L), w: (C_in, C_out//groups, K), b: (C_out,)|None -> (N, C_out, L_out)."""
    return _conv_transpose(x, w, b, stride, padding, output_padding, dilation, groups, out_size)


def conv_transpose2d(x, w, b, stride, padding, output_padding, dilation, groups, out_size):
    """x: (N, C_in, H, W), w: (C_in, C_out//groups, KH, KW), b: (C_out,)|None -> (N, C_out, H_out, W_out)."""
    return _conv_transpose(x, w, b, stride, padding, output_padding, dilation, groups, out_size)


def conv_transpose1d_backward(dy, x, w, stride, padding, output_padding, dilation, groups):
    """dy: (N, C_out, L_out) -> dx (N, C_in, L), dw (C_in, C_out//groups, K), db (C_out,)."""
    return _conv_transpose_backward(dy, x, w, stride, padding, output_padding, dilation, groups)


def conv_transpose2d_backward(dy, x, w, stride, padding, output_padding, dilation, groups):
    """dy: (N, C_out, H_out, W_out) -> dx (N, C_in, H, W), dw (C_in, C_out//groups, KH, KW), db (C_out,)."""
    return _conv_transpose_backward(dy, x, w, stride, padding, output_padding, dilation, groups)


# ------------------------------------------------------------------------------- pooling
def _pool_pad(padding):
    return tuple(p for p, _ in padding)


def max_pool2d(x, kernel, stride, padding):
    """x: (N, C, H, W) -> (N, C, H_out, W_out)."""
    return F.max_pool2d(x, kernel, stride, _pool_pad(padding))


def avg_pool2d(x, kernel, stride, padding):
    """x: (N, C, H, W) -> (N, C, H_out, W_out); padding zeros count in the mean."""
    return F.avg_pool2d(x, kernel, stride, _pool_pad(padding), count_include_pad=True)


def _grad_of(fn, dy, x):
    with torch.enable_grad():
        leaf = x.detach().requires_grad_(True)
        (dx,) = torch.autograd.grad(fn(leaf), leaf, dy)
    return dx


def max_pool2d_backward(dy, x, kernel, stride, padding):
    """dy: (N, C, H_out, W_out) -> dx: (N, C, H, W) (gradient routed to each window's max)."""
    return _grad_of(lambda t: max_pool2d(t, kernel, stride, padding), dy, x)


def avg_pool2d_backward(dy, x, kernel, stride, padding):
    """dy: (N, C, H_out, W_out) -> dx: (N, C, H, W) (each window member gets dy / (KH*KW))."""
    return _grad_of(lambda t: avg_pool2d(t, kernel, stride, padding), dy, x)


# ------------------------------------------------------------------- locally connected 1d
def _patches(x, K, s, L_out):
    """x: (N, C_in, L) -> (N, C_in, L_out, K), patch i = x[:, :, i*s : i*s + K]."""
    return x.unfold(2, K, s)[:, :, :L_out]


def locally_connected1d(x, w, b, stride):
    """x: (N, C_in, L), w: (L_out, C_out, C_in, K), b: (C_out, L_out)|None -> (N, C_out, L_out)."""
    L_out, _, _, K = w.shape
    y = torch.einsum("nclk,lock->nol", _patches(x, K, stride[0], L_out), w)
    return y if b is None else y + b


def locally_connected1d_backward(dy, x, w, stride):
    """dy: (N, C_out, L_out) -> dx (N, C_in, L), dw (L_out, C_out, C_in, K), db (C_out, L_out)."""
    L_out, _, _, K = w.shape
    (s,) = stride
    dw = torch.einsum("nol,nclk->lock", dy, _patches(x, K, s, L_out))
    dpatches = torch.einsum("nol,lock->nclk", dy, w)
    dx = torch.zeros_like(x)
    for m in range(K):
        dx[:, :, m:m + s * (L_out - 1) + 1:s] += dpatches[:, :, :, m]
    return dx, dw, dy.sum(dim=0)


# --------------------------------------------------------------------------------- dense
def dense(x, w, b):
    """x: (N, D_in), w: (D_out, D_in), b: (D_out,)|None -> (N, D_out)."""
    return F.linear(x, w, b)


def dense_backward(dy, x, w):
    """dy: (N, D_out) -> dx (N, D_in), dw (D_out, D_in), db (D_out,)."""
    return dy @ w, dy.t() @ x, dy.sum(dim=0)


# -------------------------------------------------------------------------- im2col / col2im
def im2col(x, kernel, stride, padding, dilation, out_size):
    """x: (N, C, H, W) -> cols (N, C*KH*KW, H_out*W_out) via F.unfold (asymmetric padding via F.pad)."""
    if _symmetric(padding):
        return F.unfold(x, kernel, dilation, tuple(p for p, _ in padding), stride)
    return F.unfold(F.pad(x, _flat_pad(padding)), kernel, dilation, 0, stride)


def col2im(cols, size, kernel, stride, padding, dilation, out_size):
    """cols (N, C*KH*KW, L) -> x (N, C, H, W) via F.fold (asymmetric padding: fold, then crop)."""
    if _symmetric(padding):
        return F.fold(cols, tuple(size), kernel, dilation, tuple(p for p, _ in padding), stride)
    padded = tuple(n + before + after for n, (before, after) in zip(size, padding))
    return _crop(F.fold(cols, padded, kernel, dilation, 0, stride), padding)


# ------------------------------------------------------------------------------ batch norm
def batch_norm2d(x, gamma, beta, running_mean, running_var, training, momentum, eps):
    """x: (N, C, H, W) -> (y, new running_mean | None, new running_var | None) via F.batch_norm
    (on copies of the running arrays, which it updates; the caller writes them back)."""
    new_mean = None if running_mean is None else running_mean.clone()
    new_var = None if running_var is None else running_var.clone()
    y = F.batch_norm(x, new_mean, new_var, gamma, beta, training, momentum, eps)
    return y, new_mean, new_var


def batch_norm2d_backward(dy, x, gamma, eps):
    """dy, x: (N, C, H, W), gamma: (C,)|None -> dx (N, C, H, W), dgamma (C,), dbeta (C,) (no autograd)."""
    dims = (0, 2, 3)
    M = x.shape[0] * x.shape[2] * x.shape[3]
    var, mean = torch.var_mean(x, dim=dims, correction=0, keepdim=True)
    inv_std = torch.rsqrt(var + eps)
    xhat = (x - mean) * inv_std
    dbeta = dy.sum(dim=dims)
    dgamma = (dy * xhat).sum(dim=dims)
    scale = inv_std if gamma is None else gamma[None, :, None, None] * inv_std
    dx = scale * (dy - dbeta[None, :, None, None] / M - xhat * dgamma[None, :, None, None] / M)
    return dx, dgamma, dbeta
