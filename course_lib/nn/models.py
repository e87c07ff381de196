"""The networks the lessons train, each with its baseline.

EKG (binary: normal 0 vs abnormal 1; input ``(N, 1, 100)``, output logits ``(N,)``):

- ``EKGNet``: the seed's network. Layer 1 is a Conv1d with kernel 20 and stride 10,
  so its unit ``i`` sees time steps ``10*i+1 .. 10*i+20`` (1-20, 11-30, ..., 81-100:
  ``(100 - 20) // 10 + 1 = 9`` positions). Layer 2 is a Conv1d with kernel 5 over
  those 9 outputs (5 positions, each seeing 5 adjacent layer-1 units, i.e. 60 time
  steps). A single output unit reads all layer-2 outputs; its sigmoid is the
  probability of "abnormal". The module returns the *logit* (pre-sigmoid score):
  train it with ``BCEWithLogitsLoss`` (numerically safer than sigmoid + BCELoss) and
  call ``predict_proba`` for probabilities. Under 2,000 parameters.
- ``DenseEKG``: the dense baseline: 100 inputs -> hidden -> 1 logit.

MNIST (10 classes; input ``(N, 1, 28, 28)``, output logits ``(N, 10)``):

- ``MnistCNN``: the seed's CNN: 32 filters 3x3 "same" -> ReLU -> 64 filters 3x3
  "same" -> ReLU -> max pool 2 -> dense -> 10, with input normalisation, BatchNorm
  after each conv and dropout before the dense layers on by default (with random
  +-2 px shifts, label smoothing and a one-cycle learning rate they lift the
  4,000-digit training set from ~96.5 % to >= 98 %); ``batch_norm=False,
  dropout=0, normalize_input=False`` give the bare seed network. ``conv_factory`` builds the conv layers, so lesson 4 can pass
  ``course_lib.nn.layers.Conv2d`` to train with course_lib's own backward pass.
- ``MnistMLP``: the dense baseline: 784 -> hidden -> hidden -> 10.
- ``ResidualCNN``: a small residual network (stem conv, two residual blocks with
  skip connections, global average pooling) for the "modern architectures" aside.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from course_lib.shapes import conv_output_size, param_count
from course_lib.validation import nonnegative_int, positive_int

__all__ = ["EKGNet", "DenseEKG", "MnistCNN", "MnistMLP", "ResidualCNN", "ResidualBlock", "count_parameters"]


def count_parameters(model: nn.Module) -> int:
    """Number of parameters of ``model`` (each counted once): :func:`course_lib.shapes.param_count`, so the
    models' counts and the lessons' formulas agree by construction."""
    return param_count(model)


def check_input_shape(x: torch.Tensor, expected: tuple, name: str = "x") -> None:
    """Refuse anything but a tensor of shape ``expected`` (``None`` = any size, e.g. the batch axis)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
    if x.dim() != len(expected) or any(e is not None and s != e for s, e in zip(x.shape, expected)):
        shown = ", ".join("N" if e is None else str(e) for e in expected)
        raise ValueError(f"{name}: expected shape ({shown}), got {tuple(x.shape)}")


class EKGNet(nn.Module):
    """The seed's EKG network. x: (N, 1, 100) -> logits (N,).

    conv1: Conv1d(1, channels1, kernel 20, stride 10)  -> (N, channels1, 9)  then ReLU
    conv2: Conv1d(channels1, channels2, kernel 5)       -> (N, channels2, 5)  then ReLU
    out:   Linear(channels2 * 5, 1)                      -> (N,) logit; sigmoid(logit) = P(abnormal)

    Parameters: 21*c1 + (5*c1 + 1)*c2 + 5*c2 + 1 (1,879 with the defaults c1 = 30, c2 = 8).
    """

    input_length = 100
    kernel1, stride1, kernel2 = 20, 10, 5

    def __init__(self, channels1: int = 30, channels2: int = 8):
        super().__init__()
        positive_int(channels1, "channels1", where="EKGNet")
        positive_int(channels2, "channels2", where="EKGNet")
        self.conv1 = nn.Conv1d(1, channels1, kernel_size=self.kernel1, stride=self.stride1)
        self.conv2 = nn.Conv1d(channels1, channels2, kernel_size=self.kernel2)
        self.out = nn.Linear(channels2 * self.positions2, 1)
        self.act = nn.ReLU()

    #: layer-1 positions: (100 - 20) // 10 + 1 = 9
    positions1 = conv_output_size(input_length, kernel1, stride1)
    #: layer-2 positions: 9 - 5 + 1 = 5
    positions2 = conv_output_size(positions1, kernel2)

    @classmethod
    def layer1_windows(cls) -> list[tuple[int, int]]:
        """1-based inclusive time-step windows seen by each layer-1 unit: [(1, 20), (11, 30), ...]."""
        return [(cls.stride1 * i + 1, cls.stride1 * i + cls.kernel1) for i in range(cls.positions1)]

    @classmethod
    def layer2_windows(cls) -> list[tuple[int, int]]:
        """1-based inclusive time-step windows seen by each layer-2 unit: [(1, 60), (11, 70), ...]."""
        w1 = cls.layer1_windows()
        return [(w1[i][0], w1[i + cls.kernel2 - 1][1]) for i in range(cls.positions2)]

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Layer outputs after ReLU: (N, channels1, 9) and (N, channels2, 5)."""
        check_input_shape(x, (None, 1, self.input_length))
        h1 = self.act(self.conv1(x))
        h2 = self.act(self.conv2(h1))
        return h1, h2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h2 = self.features(x)
        return self.out(h2.flatten(1)).squeeze(1)

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """P(abnormal) = sigmoid(logit), shape (N,)."""
        return torch.sigmoid(self(x))


class DenseEKG(nn.Module):
    """Dense baseline for the EKG task. x: (N, 1, 100) -> logits (N,).

    Linear(100, hidden) -> ReLU -> Linear(hidden, 1); every hidden unit sees all 100 steps.
    Parameters: 101 * hidden + hidden + 1.
    """

    def __init__(self, hidden: int = 32, input_length: int = 100):
        super().__init__()
        positive_int(hidden, "hidden", where="DenseEKG")
        self.input_length = input_length
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(input_length, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input_shape(x, (None, 1, self.input_length))
        return self.net(x).squeeze(1)

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """P(abnormal) = sigmoid(logit), shape (N,)."""
        return torch.sigmoid(self(x))


ConvFactory = Callable[..., nn.Module]

#: mean and standard deviation of MNIST pixel values scaled to [0, 1] (60,000 training digits)
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


class MnistCNN(nn.Module):
    """The seed's MNIST CNN. x: (N, 1, 28, 28) -> logits (N, 10).

    normalise                   (x - 0.1307) / 0.3081 (``normalize_input=True``)
    conv1 3x3 same, 32 filters  -> (N, 32, 28, 28) [-> BatchNorm] -> ReLU
    conv2 3x3 same, 64 filters  -> (N, 64, 28, 28) [-> BatchNorm] -> ReLU
    max pool 2                  -> (N, 64, 14, 14) -> flatten (N, 12544) [-> Dropout]
    dense 12544 -> hidden -> ReLU [-> Dropout] -> dense hidden -> 10   (hidden=0: 12544 -> 10 directly)

    conv_factory(in_channels, out_channels, kernel_size, stride=1, padding=1) builds each
    conv layer (default ``torch.nn.Conv2d``; ``course_lib.nn.layers.Conv2d`` fits too).
    """

    def __init__(
        self,
        hidden: int = 128,
        batch_norm: bool = True,
        dropout: float = 0.25,
        conv_factory: ConvFactory | None = None,
        normalize_input: bool = True,
    ):
        super().__init__()
        nonnegative_int(hidden, "hidden", where="MnistCNN")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout: expected a probability in [0, 1), got {dropout!r}")
        factory = conv_factory if conv_factory is not None else nn.Conv2d
        # (x - mean) / std with the training-set statistics of MNIST pixels in [0, 1]
        self.normalize_input = bool(normalize_input)
        self.register_buffer("input_mean", torch.tensor(MNIST_MEAN))
        self.register_buffer("input_std", torch.tensor(MNIST_STD))
        self.conv1 = factory(1, 32, 3, stride=1, padding=1)
        self.conv2 = factory(32, 64, 3, stride=1, padding=1)
        self.bn1 = nn.BatchNorm2d(32) if batch_norm else nn.Identity()
        self.bn2 = nn.BatchNorm2d(64) if batch_norm else nn.Identity()
        self.pool = nn.MaxPool2d(2)
        flat = 64 * 14 * 14
        drop = (lambda p: nn.Dropout(p) if p > 0 else nn.Identity())
        if hidden:
            self.head = nn.Sequential(
                drop(dropout), nn.Linear(flat, hidden), nn.ReLU(), drop(min(2 * dropout, 0.5)), nn.Linear(hidden, 10)
            )
        else:
            self.head = nn.Sequential(drop(dropout), nn.Linear(flat, 10))

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Feature maps after each conv + ReLU: (N, 32, 28, 28) and (N, 64, 28, 28)."""
        check_input_shape(x, (None, 1, 28, 28))
        if self.normalize_input:
            x = (x - self.input_mean) / self.input_std
        a1 = torch.relu(self.bn1(self.conv1(x)))
        a2 = torch.relu(self.bn2(self.conv2(a1)))
        return a1, a2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, a2 = self.features(x)
        return self.head(self.pool(a2).flatten(1))


class MnistMLP(nn.Module):
    """Dense baseline for MNIST. x: (N, 1, 28, 28) -> logits (N, 10).

    flatten 784 -> hidden -> ReLU -> hidden -> ReLU -> 10 (dropout between, default 0.2).
    """

    def __init__(self, hidden: int = 256, dropout: float = 0.2):
        super().__init__()
        positive_int(hidden, "hidden", where="MnistMLP")
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(784, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, 10),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input_shape(x, (None, 1, 28, 28))
        return self.net(x)


class ResidualBlock(nn.Module):
    """x -> conv-BN-ReLU-conv-BN, added back to x (the skip connection), then ReLU. Shape kept: (N, C, H, W)."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(x + self.bn2(self.conv2(y)))


class ResidualCNN(nn.Module):
    """Small residual network. x: (N, 1, 28, 28) -> logits (N, 10).

    stem conv 3x3 (1 -> c) + BN + ReLU                  -> (N, c, 28, 28)
    residual block(c), max pool 2                        -> (N, c, 14, 14)
    conv 3x3 (c -> 2c) + BN + ReLU, residual block(2c)   -> (N, 2c, 14, 14)
    global average pool, dense 2c -> 10                  -> (N, 10)
    """

    def __init__(self, channels: int = 16, n_classes: int = 10):
        super().__init__()
        positive_int(channels, "channels", where="ResidualCNN")
        c = channels
        self.stem = nn.Sequential(nn.Conv2d(1, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        self.block1 = ResidualBlock(c)
        self.pool = nn.MaxPool2d(2)
        self.widen = nn.Sequential(nn.Conv2d(c, 2 * c, 3, padding=1, bias=False), nn.BatchNorm2d(2 * c), nn.ReLU())
        self.block2 = ResidualBlock(2 * c)
        self.head = nn.Linear(2 * c, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input_shape(x, (None, 1, 28, 28))
        h = self.pool(self.block1(self.stem(x)))
        h = self.block2(self.widen(h))
        return self.head(h.mean(dim=(2, 3)))
