"""Training-time augmentations that work on a whole batch tensor at once."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from course_lib.validation import nonnegative_int

__all__ = ["RandomShift"]


class RandomShift:
    """Shift every image by its own random (dy, dx) in [-max_shift, max_shift] pixels.

    x: (N, C, H, W) -> (N, C, H, W). Pixels shifted in from outside take the value
    ``fill`` (0 = black background for MNIST in [0, 1]). Uses torch's global RNG, so
    ``seed_everything`` makes it reproducible.
    """

    def __init__(self, max_shift: int = 2, fill: float = 0.0):
        self.max_shift = nonnegative_int(max_shift, "max_shift", where="RandomShift")
        self.fill = float(fill)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f"x: expected a batch of images (N, C, H, W), got shape {tuple(x.shape)}")
        p = self.max_shift
        if p == 0:
            return x
        n, _, h, w = x.shape
        padded = F.pad(x, (p, p, p, p), value=self.fill)  # (N, C, H + 2p, W + 2p)
        dy, dx = torch.randint(0, 2 * p + 1, (2, n, 1, 1), device=x.device)
        rows = dy + torch.arange(h, device=x.device).view(1, h, 1)  # (N, H, 1)
        cols = dx + torch.arange(w, device=x.device).view(1, 1, w)  # (N, 1, W)
        batch = torch.arange(n, device=x.device).view(n, 1, 1)
        # one gather: out[i, c, r, k] = padded[i, c, r + dy_i, k + dx_i]; indexing puts C last
        return padded[batch, :, rows, cols].permute(0, 3, 1, 2).contiguous()

    def __repr__(self) -> str:
        return f"RandomShift(max_shift={self.max_shift}, fill={self.fill})"
