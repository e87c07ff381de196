"""Convolution as a matrix: which kernel weight sits in which entry of the (tied, sparse) matrix
that maps the flattened input to the flattened output of a single-channel 2D convolution.

Row ``r = i*W_out + j`` of the matrix is output cell ``(i, j)``; column ``c = p*W + q`` is input
pixel ``(p, q)``; entry ``(r, c)`` holds ``K(p - i*s, q - j*s)`` when that is a kernel tap and 0
otherwise (stride ``s``, no padding, no dilation). Every row holds the same ``KH*KW`` weights,
shifted: the matrix is *doubly block Toeplitz* for stride 1.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from course_lib.shapes import conv_output_size
from course_lib.validation import positive_int

from .conv import HATCHES, new_axes, to_numpy

__all__ = ["conv_tap_index", "plot_conv_matrix"]


def conv_tap_index(input_shape: tuple[int, int], kernel_shape: tuple[int, int], stride: int = 1) -> np.ndarray:
    """Tap map of the conv matrix: an int array (H_out*W_out, H*W) whose entry is ``m*KW + n``
    where input pixel ``c`` meets kernel weight ``K(m, n)`` for output cell ``r``, and -1 elsewhere.

    ``input_shape`` is (H, W), ``kernel_shape`` (KH, KW); no padding, no dilation.
    """
    if len(tuple(input_shape)) != 2 or len(tuple(kernel_shape)) != 2:
        raise ValueError(f"input_shape, kernel_shape: expected (H, W) and (KH, KW), got {input_shape} and {kernel_shape}")
    H, W = (positive_int(v, "input_shape") for v in input_shape)
    KH, KW = (positive_int(v, "kernel_shape") for v in kernel_shape)
    s = positive_int(stride, "stride")
    if KH > H or KW > W:
        raise ValueError(f"kernel_shape: expected a kernel that fits the {H}x{W} input, got {KH}x{KW}")
    H_out, W_out = conv_output_size(H, KH, s), conv_output_size(W, KW, s)
    taps = np.full((H_out * W_out, H * W), -1, dtype=int)
    for i in range(H_out):
        for j in range(W_out):
            for m in range(KH):
                for n in range(KW):
                    taps[i * W_out + j, (i * s + m) * W + (j * s + n)] = m * KW + n
    return taps


def plot_conv_matrix(kernel, input_shape: tuple[int, int], stride: int = 1, ax=None, title: str | None = None):
    """Draw the matrix of a single-channel conv with ``kernel`` (KH, KW) on an input of ``input_shape``
    (H, W): one colour (and hatch) per kernel tap, its value written in the cell, zeros left white.
    ``ax.images[0]`` holds the tap map of :func:`conv_tap_index` (masked where the entry is 0).
    Returns the Figure."""
    k = to_numpy(kernel, "kernel")
    if k.ndim != 2:
        raise ValueError(f"kernel: expected shape (KH, KW), got {k.shape}")
    taps = conv_tap_index(input_shape, k.shape, stride)
    n_taps = k.size
    rows, cols = taps.shape
    fig, ax = new_axes(ax, (min(12.0, 1.2 + 0.42 * cols), min(8.0, 1.4 + 0.42 * rows)))
    colours = plt.get_cmap("Pastel1" if n_taps <= 9 else "tab20")(np.arange(n_taps) % (9 if n_taps <= 9 else 20))
    ax.imshow(np.ma.masked_less(taps, 0), cmap=ListedColormap(colours), vmin=-0.5, vmax=n_taps - 0.5,
              interpolation="nearest", aspect="equal")
    for r, c in zip(*np.nonzero(taps >= 0)):
        tap = taps[r, c]
        ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, hatch=HATCHES[tap % len(HATCHES)],
                                   edgecolor="0.45", lw=0.3))
        if rows * cols <= 600:
            ax.text(c, r, f"{k.flat[tap]:g}", ha="center", va="center", fontsize=7)
    ax.set_xticks(np.arange(-0.5, cols, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, rows, 1), minor=True)
    ax.grid(which="minor", color="0.85", lw=0.4)
    ax.tick_params(which="minor", length=0)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(f"input pixel p·W + q  (flattened {input_shape[0]}×{input_shape[1]} input)")
    ax.set_ylabel("output cell i·W_out + j")
    KW = k.shape[1]
    handles = [Patch(facecolor=colours[t], hatch=HATCHES[t % len(HATCHES)], edgecolor="0.45",
                     label=f"K({t // KW},{t % KW}) = {k.flat[t]:g}") for t in range(n_taps)]
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(title or f"Conv as a matrix: {rows}×{cols}, {int((taps >= 0).sum())} tied entries, the rest 0")
    return fig
