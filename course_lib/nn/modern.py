"""The building blocks of today's conv networks, for lesson 05, and a small network made of them.

Every block maps ``(N, C_in, H, W)`` to ``(N, C_out, H', W')`` with ``H' = ceil(H / stride)``
(3x3 kernels with padding 1):

- ``SeparableConv``: depthwise 3x3 (``groups = C_in``) -> BN -> ReLU -> pointwise 1x1 -> BN.
  Parameters ``9*C_in + C_in*C_out`` (+ BN) instead of ``9*C_in*C_out`` for one full 3x3 conv.
- ``SeparableBlock``: a ``SeparableConv`` plus a shortcut, then ReLU. The shortcut is the
  identity when shape is kept (``stride == 1`` and ``C_in == C_out``) and a *projection*
  (1x1 conv with the block's stride, then BN) otherwise, so the two branches can be added.
- ``ModernCNN``: stem conv -> separable blocks -> global average pooling -> one dense layer.
  No flatten + big dense head: global average pooling keeps one number per channel, so the
  head has ``C * 10 + 10`` parameters whatever the input size.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from course_lib.nn.models import MNIST_MEAN, MNIST_STD, check_input_shape
from course_lib.validation import positive_int

__all__ = ["SeparableConv", "SeparableBlock", "ModernCNN"]


class SeparableConv(nn.Module):
    """Depthwise-separable 3x3 conv. x: (N, c_in, H, W) -> (N, c_out, ceil(H/stride), ceil(W/stride)).

    depthwise: Conv2d(c_in, c_in, 3, stride, padding=1, groups=c_in) -> BN -> ReLU   (one 3x3 filter per channel)
    pointwise: Conv2d(c_in, c_out, 1) -> BN                                          (mixes channels at each pixel)
    """

    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        c_in, c_out = positive_int(c_in, "c_in", where="SeparableConv"), positive_int(c_out, "c_out", where="SeparableConv")
        if stride not in (1, 2):
            raise ValueError(f"stride: expected 1 or 2, got {stride!r}")
        self.depthwise = nn.Conv2d(c_in, c_in, 3, stride=stride, padding=1, groups=c_in, bias=False)
        self.bn1 = nn.BatchNorm2d(c_in)
        self.pointwise = nn.Conv2d(c_in, c_out, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn2(self.pointwise(torch.relu(self.bn1(self.depthwise(x)))))


class SeparableBlock(nn.Module):
    """Residual block around a SeparableConv. x: (N, c_in, H, W) -> (N, c_out, ceil(H/stride), ceil(W/stride)).

    y = ReLU(SeparableConv(x) + shortcut(x)); shortcut = identity if the shape is kept, else
    Conv2d(c_in, c_out, 1, stride) -> BN (a projection shortcut).
    """

    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        self.body = SeparableConv(c_in, c_out, stride)
        if stride == 1 and c_in == c_out:
            self.shortcut: nn.Module = nn.Identity()
        else:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class ModernCNN(nn.Module):
    """A small modern network for MNIST. x: (N, 1, 28, 28) -> logits (N, 10).

    With the default ``widths=(24, 48, 96)``:

    normalise, stem Conv2d(1, 24, 3, padding=1) -> BN -> ReLU        -> (N, 24, 28, 28)
    SeparableBlock(24 -> 48, stride 2), SeparableBlock(48 -> 48)      -> (N, 48, 14, 14)
    SeparableBlock(48 -> 96, stride 2), SeparableBlock(96 -> 96)      -> (N, 96, 7, 7)
    global average pooling                                           -> (N, 96)
    dense 96 -> 10                                                   -> (N, 10)
    """

    def __init__(self, widths: Sequence[int] = (24, 48, 96), n_classes: int = 10):
        super().__init__()
        if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence) or len(widths) < 1:
            raise ValueError(f"widths: expected a non-empty sequence of positive ints, got {widths!r}")
        widths = [positive_int(c, f"widths[{i}]", where="ModernCNN") for i, c in enumerate(widths)]
        positive_int(n_classes, "n_classes", where="ModernCNN")
        self.register_buffer("input_mean", torch.tensor(MNIST_MEAN))
        self.register_buffer("input_std", torch.tensor(MNIST_STD))
        self.stem = nn.Sequential(nn.Conv2d(1, widths[0], 3, padding=1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU())
        blocks: list[nn.Module] = []
        for c_in, c_out in zip(widths, widths[1:]):
            blocks += [SeparableBlock(c_in, c_out, stride=2), SeparableBlock(c_out, c_out)]
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(widths[-1], n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Feature maps before global average pooling: (N, widths[-1], H', W')."""
        check_input_shape(x, (None, 1, 28, 28))
        return self.blocks(self.stem((x - self.input_mean) / self.input_std))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(2, 3)))
