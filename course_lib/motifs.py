"""Toy signals for lesson 01's shift experiment: a short motif at a position the model has or has not seen.

A dense layer learns "motif at steps 3-5" as its own weights; a convolution learns the motif
once and finds it anywhere.  :func:`motif_signals` draws the data for that comparison.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from course_lib.validation import positive_int

__all__ = ["motif_signals", "MOTIF"]

#: the motif: up-down-up (label 1) or its negative, down-up-down (label 0)
MOTIF = np.array([1.0, -1.0, 1.0])


def motif_signals(n: int, starts: Sequence[int], seed: int, length: int = 24,
                  amplitude: float = 1.5, noise: float = 0.3) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` noisy signals ``x`` (n, 1, length) float32 and labels ``y`` (n,) int64.

    Each signal is Gaussian noise (std ``noise``) plus ``amplitude * MOTIF`` (label 1) or its
    negative (label 0) at a start drawn uniformly from ``starts``; the same ``seed`` gives the same data.
    """
    n = positive_int(n, "n", where="motif_signals")
    length = positive_int(length, "length", where="motif_signals")
    starts = np.asarray(starts)
    if starts.ndim != 1 or starts.size == 0 or starts.dtype.kind not in "iu":
        raise ValueError(f"motif_signals: starts must be a non-empty 1-D sequence of ints; got {starts!r}")
    if starts.min() < 0 or starts.max() + len(MOTIF) > length:
        raise ValueError(f"motif_signals: every start must lie in 0..{length - len(MOTIF)} so the motif fits in "
                         f"{length} steps; got starts from {starts.min()} to {starts.max()}")
    rng = np.random.default_rng(seed)
    x = noise * rng.standard_normal((n, 1, length)).astype(np.float32)
    y = rng.integers(0, 2, n)
    start = rng.choice(starts, n)
    for i in range(n):
        x[i, 0, start[i]:start[i] + len(MOTIF)] += amplitude * MOTIF * (1 if y[i] else -1)
    return torch.tensor(x), torch.tensor(y)
