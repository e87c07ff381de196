"""A torch ``Dataset`` over in-memory arrays (what the loaders return)."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = ["ArrayDataset", "as_torch_dataset"]


class ArrayDataset(Dataset):
    """Pairs ``(x[i], y[i])`` as tensors; ``x`` (N, ...) float32, ``y`` (N,) int64 or float32.

    ``transform`` (optional) is applied to each ``x[i]``. ``tensors`` gives the whole
    arrays at once (``course_lib.train.fit`` batches those directly, skipping per-item calls).
    """

    def __init__(self, x, y, transform=None):
        x_t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
        y_t = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y)
        if x_t.dim() < 1:
            raise ValueError(f"x: expected an array of items of shape (N, ...), got a scalar of shape {tuple(x_t.shape)}")
        if y_t.dim() != 1:
            raise ValueError(f"y: expected labels of shape (N,), got {tuple(y_t.shape)}")
        if x_t.shape[0] != y_t.shape[0]:
            raise ValueError(f"x, y: expected the same number of items, got x {tuple(x_t.shape)} and y {tuple(y_t.shape)}")
        if x_t.is_floating_point() and x_t.dtype != torch.float32:
            x_t = x_t.float()
        self.x, self.y, self.transform = x_t, y_t, transform

    def __len__(self) -> int:
        return self.x.shape[0]

    def __getitem__(self, i):
        x = self.x[i]
        return (self.transform(x) if self.transform is not None else x), self.y[i]

    @property
    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x, self.y


def as_torch_dataset(x, y, transform=None) -> ArrayDataset:
    """Wrap arrays ``x`` (N, ...) and labels ``y`` (N,) as a torch ``Dataset``."""
    return ArrayDataset(x, y, transform=transform)
