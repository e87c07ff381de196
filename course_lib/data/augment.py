"""Training-time augmentations that work on a whole batch tensor at once."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["RandomShift"]


class RandomShift:
    """Shift every image by its own random (dy, dx) in [-max_shift, max_shift] pixels.

    x: (N, C, H, W) -> (N, C, H, W). Pixels shifted in from outside take the value
    ``fill`` (0 = black background for MNIST in [0, 1]). Uses torch's global RNG, so
    ``seed_everything`` makes it reproducible.
    """

    def __init__(self, max_shift: int = 2, fill: float = 0.0):
        if not isinstance(max_shift, int) or isinstance(max_shift, bool) or max_shift < 0:
            raise ValueError(f"max_shift: expected an int >= 0, got {max_shift!r}")
        self.max_shift = max_shift
        self.fill = float(fill)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f"x: expected a batch of images (N, C, H, W), got shape {tuple(x.shape)}")
        p = self.max_shift
        if p == 0:
            return x
        n, _, h, w = x.shape
        padded = F.pad(x, (p, p, p, p), value=self.fill)
        offsets = torch.randint(0, 2 * p + 1, (2, n))
        out = torch.empty_like(x)
        code = offsets[0] * (2 * p + 1) + offsets[1]
        for c in code.unique().tolist():  # one slice per distinct shift, at most (2p+1)^2
            sel = (code == c).nonzero().squeeze(1)
            dy, dx = divmod(c, 2 * p + 1)
            out[sel] = padded[sel, :, dy : dy + h, dx : dx + w]
        return out

    def __repr__(self) -> str:
        return f"RandomShift(max_shift={self.max_shift}, fill={self.fill})"
