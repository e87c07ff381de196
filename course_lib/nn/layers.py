"""course_lib's own layers as PyTorch modules, with gradients computed by course_lib.ops.

- :class:`Conv2d` / :class:`Conv1d`: drop-in twins of ``torch.nn.Conv2d`` / ``Conv1d``
  (same parameters, same initialisation), whose backward pass is *ours*: a
  ``torch.autograd.Function`` that calls ``ops.conv2d_backward(..., backend="torch")``
  instead of PyTorch's autograd formula.  Lesson 4 trains an MNIST network with them.
- :class:`LocallyConnected1d`: a 1-D convolution without weight sharing (one kernel per
  output position), the layer lesson 2 compares with a convolution.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from course_lib import ops, shapes
from course_lib.validation import int_tuple, positive_int

__all__ = ["Conv1d", "Conv2d", "LocallyConnected1d", "ConvFunction", "LocallyConnected1dFunction"]


class ConvFunction(torch.autograd.Function):
    """y = conv(x, w, b) with course_lib's forward *and* backward.

    ``apply(x, w, b, stride, padding, dilation, backend="torch")``; x: (N, C_in, *spatial),
    w: (C_out, C_in, *kernel), b: (C_out,) or None. 1-D or 2-D, chosen by ``x.ndim``.
    ``backend`` is any backend of :mod:`course_lib.ops` ("numpy" runs on the CPU and copies
    the tensors there and back; "torch" stays on the tensors' device).
    """

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, dilation, backend="torch"):
        ctx.save_for_backward(x, w)
        ctx.has_bias = b is not None
        ctx.geometry = (stride, padding, dilation)
        ctx.backend = backend
        conv = ops.conv1d if x.ndim == 3 else ops.conv2d
        return conv(x, w, b, stride, padding, dilation, backend=backend)

    @staticmethod
    def backward(ctx, dy):
        x, w = ctx.saved_tensors
        stride, padding, dilation = ctx.geometry
        backward = ops.conv1d_backward if x.ndim == 3 else ops.conv2d_backward
        dx, dw, db = backward(dy.contiguous(), x, w, stride, padding, dilation, backend=ctx.backend)
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        return (dx if need_x else None, dw if need_w else None,
                db if (need_b and ctx.has_bias) else None, None, None, None, None)


class _ConvNd(nn.Module):
    _n = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 bias=True, device=None, dtype=None, backend="torch"):
        super().__init__()
        if backend not in ops.BACKENDS:
            raise ValueError(f"{type(self).__name__}: backend must be one of {ops.BACKENDS}; got {backend!r}")
        self.backend = backend
        where = type(self).__name__
        positive_int(in_channels, "in_channels", where=where)
        positive_int(out_channels, "out_channels", where=where)
        kernel = int_tuple(kernel_size, self._n, "kernel_size", where)
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel
        self.stride, self.padding, self.dilation = stride, padding, dilation
        factory = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, *kernel, **factory))
        self.bias = nn.Parameter(torch.empty(out_channels, **factory)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Same scheme as ``torch.nn.Conv2d`` (so equal seeds give equal weights)."""
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight[0].numel()
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ConvFunction.apply(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                                  self.backend)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}, "
                f"bias={self.bias is not None}, backend={self.backend!r}")


class Conv2d(_ConvNd):
    """2-D convolution module whose gradients come from ``ops.conv2d_backward``.

    Args: in_channels, out_channels, kernel_size (int or (KH, KW)), stride, padding (int,
    tuple, "valid", "same"), dilation, bias — as ``torch.nn.Conv2d`` (no groups);
    backend: which ``course_lib.ops`` backend computes forward and backward ("torch", the
    default, on any device; "numpy" to train on the numpy im2col code; "loops" only for toys).
    Shapes: x (N, C_in, H, W) -> y (N, C_out, H_out, W_out),
    H_out = floor((H + 2*p_h - d_h*(KH-1) - 1) / s_h) + 1.
    Parameters: weight (C_out, C_in, KH, KW), bias (C_out,).
    """

    _n = 2


class Conv1d(_ConvNd):
    """1-D twin of :class:`Conv2d`: x (N, C_in, L) -> y (N, C_out, L_out),
    L_out = floor((L + 2p - d*(K-1) - 1) / s) + 1; weight (C_out, C_in, K), bias (C_out,)."""

    _n = 1


class LocallyConnected1dFunction(torch.autograd.Function):
    """y = locally_connected1d(x, w, b) with course_lib's own backward (torch backend).

    ``apply(x, w, b, stride)``; x (N, C_in, L), w (L_out, C_out, C_in, K), b (C_out, L_out) or None.
    """

    @staticmethod
    def forward(ctx, x, w, b, stride):
        ctx.save_for_backward(x, w)
        ctx.has_bias, ctx.stride = b is not None, stride
        return ops.locally_connected1d(x, w, b, stride, backend="torch")

    @staticmethod
    def backward(ctx, dy):
        x, w = ctx.saved_tensors
        dx, dw, db = ops.locally_connected1d_backward(dy.contiguous(), x, w, ctx.stride, backend="torch")
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        return (dx if need_x else None, dw if need_w else None,
                db if (need_b and ctx.has_bias) else None, None)


class LocallyConnected1d(nn.Module):
    """A 1-D layer with local receptive fields but *unshared* weights.

    Output position ``i`` looks at ``x[:, :, i*stride : i*stride + kernel_size]`` like a
    convolution, but through its own kernel.  Compared with ``Conv1d`` it has ``L_out``
    times the weights, and it is no longer translation-equivariant.

    Args:
        in_channels (C_in), out_channels (C_out), input_length (L), kernel_size (K), stride, bias.
    Shapes:
        x (N, C_in, L) -> y (N, C_out, L_out), L_out = floor((L - K) / stride) + 1.
        weight (L_out, C_out, C_in, K), bias (C_out, L_out).
    """

    def __init__(self, in_channels: int, out_channels: int, input_length: int, kernel_size: int,
                 stride: int = 1, bias: bool = True, device=None, dtype=None):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                            ("input_length", input_length), ("kernel_size", kernel_size),
                            ("stride", stride)):
            positive_int(value, name, where="LocallyConnected1d")
        if kernel_size > input_length:
            raise ValueError(f"LocallyConnected1d: kernel_size={kernel_size} is larger than "
                             f"input_length={input_length}; expected kernel_size <= {input_length}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.input_length, self.kernel_size, self.stride = input_length, kernel_size, stride
        self.output_length = shapes.conv_output_size(input_length, kernel_size, stride)
        factory = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(
            torch.empty(self.output_length, out_channels, in_channels, kernel_size, **factory))
        self.bias = nn.Parameter(torch.empty(out_channels, self.output_length, **factory)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Uniform in ±1/sqrt(C_in*K), the fan-in of one output (as PyTorch's conv layers)."""
        bound = 1 / math.sqrt(self.in_channels * self.kernel_size)
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 3 or x.shape[1] != self.in_channels or x.shape[2] != self.input_length:
            raise ValueError(
                f"LocallyConnected1d: x has shape {tuple(x.shape)}; expected (N, {self.in_channels}, "
                f"{self.input_length}) (N, in_channels, input_length)")
        return LocallyConnected1dFunction.apply(x, self.weight, self.bias, self.stride)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, input_length={self.input_length}, "
                f"kernel_size={self.kernel_size}, stride={self.stride}, bias={self.bias is not None}")
