"""Figures for the convolution lessons: sliding windows, kernels, feature maps,
which inputs each unit sees, and parameter-count comparisons.

Every function draws with matplotlib and returns the ``Figure`` (pass ``ax=`` where
offered to draw into an existing axes). Figures carry a title and axis labels and use
grey-scale-safe colour maps (``gray``, ``viridis``) plus hatching and line styles, so
they still read when printed in black and white.

Arrays may be NumPy arrays or torch tensors (they are detached and moved to the CPU).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from course_lib.geometry import effective_kernel, output_length, resolve_padding
from course_lib.shapes import conv_output_size, receptive_field
from course_lib.validation import check_int, positive_int

from .png import figure_png  # noqa: F401  (part of this module's API since the first lessons)

__all__ = [
    "UnitSpan",
    "unit_input_spans",
    "plot_sliding_window_1d",
    "plot_sliding_window_2d",
    "SlidingWindow1d",
    "SlidingWindow2d",
    "plot_kernels_2d",
    "plot_kernels_1d",
    "plot_feature_maps",
    "plot_images",
    "plot_unit_coverage",
    "plot_param_counts",
    "plot_filter_responses_1d",
    "figure_png",
]

HATCHES = ("//", "\\\\", "xx", "..", "oo", "++", "--", "||")
LINESTYLES = ("-", "--", ":", "-.")
WINDOW_COLOR = "tab:orange"


def to_numpy(x, name: str) -> np.ndarray:
    """Return ``x`` as a float NumPy array (torch tensors are detached and copied to the CPU)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: expected an array of numbers, got {type(x).__name__}") from exc
    return arr


def _window_geometry(kernel_size, stride, dilation, padding):
    """Validated ``(kernel, stride, dilation, (pad_before, pad_after))`` for drawing one sliding window axis.

    ``padding``: ``"valid"``, ``"same"`` (kept at any stride, as the explorer draws it), an int or
    one ``((before, after),)`` pair.
    """
    k = positive_int(kernel_size, "kernel_size")
    s = positive_int(stride, "stride")
    d = positive_int(dilation, "dilation")
    return k, s, d, resolve_padding(padding, (k,), None, (d,))[0]


def new_axes(ax, figsize):
    """``(figure, axes)``: a new figure of ``figsize`` when ``ax`` is None, else ``ax`` and its figure."""
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    else:
        fig = ax.figure
    return fig, ax


# ----------------------------------------------------------------------------------------------
# which inputs each unit sees
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UnitSpan:
    """The input steps one unit depends on: ``start`` .. ``stop - 1`` (0-based), every ``step``-th
    step inside that span for the first layer with dilation > 1, otherwise contiguous."""

    layer: int
    unit: int
    start: int
    stop: int

    @property
    def size(self) -> int:
        return self.stop - self.start


def unit_input_spans(input_length: int, layers: Sequence[Sequence[int]]) -> list[list[UnitSpan]]:
    """For a stack of un-padded conv layers, the input span every unit of every layer sees.

    ``layers`` is ``[(kernel, stride), ...]`` or ``[(kernel, stride, dilation), ...]``.
    Returns one list per layer of :class:`UnitSpan` (0-based, ``stop`` exclusive).
    Uses the receptive-field recursion ``r_l = r_{l-1} + d_l (k_l - 1) j_{l-1}``,
    ``j_l = j_{l-1} s_l`` and unit ``u`` of layer ``l`` starting at ``u * j_l``.

    >>> [(s.start + 1, s.stop) for s in unit_input_spans(100, [(20, 10)])[0][:3]]
    [(1, 20), (11, 30), (21, 40)]
    """
    n = positive_int(input_length, "input_length")
    if not layers:
        raise ValueError("layers: expected at least one (kernel, stride[, dilation]) tuple, got an empty list")
    fields = receptive_field(layers)  # validates every layer; r_l and j_l
    out = []
    for index, (layer, field) in enumerate(zip(layers, fields)):
        dilation = layer[2] if len(layer) == 3 else 1
        span = effective_kernel(layer[0], dilation)
        if span > n:
            raise ValueError(f"layers[{index}]: window of {span} steps does not fit the {n} steps coming in")
        n = output_length(n, layer[0], layer[1], (0, 0), dilation)
        out.append([UnitSpan(index + 1, u, u * field.jump, u * field.jump + field.size) for u in range(n)])
    return out


# ----------------------------------------------------------------------------------------------
# sliding windows
# ----------------------------------------------------------------------------------------------
def _patch_pool(ax, pool: list, count: int, **style) -> list:
    """The first ``count`` patches of ``pool`` (made visible), creating more on ``ax`` if needed;
    the rest are hidden.  Lets a figure that is redrawn many times keep its patches."""
    while len(pool) < count:
        pool.append(ax.add_patch(Rectangle((0, 0), 1, 1, **style)))
    for index, patch in enumerate(pool):
        patch.set_visible(index < count)
    return pool[:count]


class SlidingWindow1d:
    """The artists of a 1D sliding-window drawing on ``ax``, updated in place by :meth:`update`.

    :func:`plot_sliding_window_1d` draws one; the conv explorer keeps one and moves it.
    """

    def __init__(self, ax):
        self.ax = ax
        self.line, = ax.plot([], [], color="black", lw=1.2, marker=".", ms=3, label="input")
        self.padding_cells: list = []
        self.taps: list = []
        self.edges = [ax.axvline(0, color="black", ls="--", lw=1) for _ in range(2)]
        ax.set_xlabel("input step (padding shown hatched grey)")
        ax.set_ylabel("value")

    def update(self, x: np.ndarray, k: int, s: int, d: int, pads: tuple[int, int], position: int,
               title: str | None = None) -> None:
        """Show signal ``x`` (L,) padded by ``pads`` = (before, after), with the ``k`` taps of output
        unit ``position`` (stride ``s``, dilation ``d``) highlighted.  Arguments already checked."""
        before, after = pads
        span = effective_kernel(k, d)
        idx = np.arange(-before, x.size + after)
        self.line.set_data(idx, np.concatenate([np.zeros(before), x, np.zeros(after)]))
        self.line.set_marker(".")
        blend = self.ax.get_xaxis_transform()
        cells = list(range(-before, 0)) + list(range(x.size, x.size + after))
        for t, patch in zip(cells, _patch_pool(self.ax, self.padding_cells, len(cells), facecolor="0.85",
                                               hatch="..", edgecolor="0.5", lw=0, transform=blend)):
            patch.set_bounds(t - 0.5, 0, 1, 1)
        start = position * s - before
        for m, patch in enumerate(_patch_pool(self.ax, self.taps, k, facecolor=WINDOW_COLOR, alpha=0.45,
                                              hatch="//", edgecolor="black", lw=0.5, transform=blend)):
            patch.set_bounds(start + m * d - 0.5, 0, 1, 1)
        for line, at in zip(self.edges, (start - 0.5, start + span - 0.5)):
            line.set_xdata([at, at])
            line.set_visible(True)
        self.ax.relim(visible_only=True)
        self.ax.autoscale_view()
        self.ax.set_title(title or f"Output unit {position} reads steps {start}..{start + span - 1}"
                          f" (k={k}, stride={s}, dilation={d})", y=1.0)  # fixed y: no re-layout per move

    def dynamic_artists(self) -> list:
        """Every artist :meth:`update` changes (for blitting)."""
        return [self.line, *self.padding_cells, *self.taps, *self.edges]

    def show_plain(self, x: np.ndarray, title: str) -> None:
        """Only the signal, no window (when no window fits)."""
        self.line.set_data(np.arange(x.size), x)
        self.line.set_marker("")
        for artist in (*self.padding_cells, *self.taps, *self.edges):
            artist.set_visible(False)
        self.ax.relim(visible_only=True)
        self.ax.autoscale_view()
        self.ax.set_title(title, y=1.0)
        self.ax.set_xlabel("input step")


class SlidingWindow2d:
    """The artists of a 2D sliding-window drawing on ``ax``, updated in place by :meth:`update`.

    :func:`plot_sliding_window_2d` draws one; the conv explorer keeps one and moves it.
    """

    def __init__(self, ax):
        self.ax = ax
        self.image = ax.imshow(np.zeros((1, 1)), cmap="gray")
        self.strips = [ax.add_patch(Rectangle((0, 0), 1, 1, facecolor="0.8", hatch="..", edgecolor="0.55", lw=0.3))
                       for _ in range(4)]
        self.taps: list = []
        self.box = ax.add_patch(Rectangle((0, 0), 1, 1, fill=False, edgecolor=WINDOW_COLOR, lw=2.2, ls="--"))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # cells are whole rows and columns
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("column")
        ax.set_ylabel("row")

    def update(self, x: np.ndarray, k: int, s: int, d: int, pads: tuple[int, int], position: tuple[int, int],
               title: str | None = None) -> None:
        """Show image ``x`` (H, W) padded by ``pads`` = (before, after) on every side, with the taps
        of output cell ``position`` (stride ``s``, dilation ``d``) and its span marked."""
        before, after = pads
        span = effective_kernel(k, d)
        rows, cols = x.shape
        padded = np.pad(x, ((before, after), (before, after)))
        lo = -before - 0.5
        self.image.set_data(padded)
        self.image.set_extent((lo, cols + after - 0.5, rows + after - 0.5, lo))
        self.image.set_clim(min(0.0, padded.min()), max(1.0, padded.max()))
        hi_r, hi_c = rows + after - 0.5, cols + after - 0.5
        strips = [(lo, lo, hi_c - lo, before), (lo, rows - 0.5, hi_c - lo, after),
                  (lo, -0.5, before, rows), (cols - 0.5, -0.5, after, rows)]
        for patch, (x0, y0, width, height) in zip(self.strips, strips):
            patch.set_bounds(x0, y0, width, height)
            patch.set_visible(width > 0 and height > 0)
        i, j = position
        r0, c0 = i * s - before, j * s - before
        taps = _patch_pool(self.ax, self.taps, k * k, facecolor=WINDOW_COLOR, alpha=0.5, hatch="//",
                           edgecolor="black", lw=0.6)
        for index, patch in enumerate(taps):
            m, n = divmod(index, k)
            patch.set_xy((c0 + n * d - 0.5, r0 + m * d - 0.5))
        self.box.set_bounds(c0 - 0.5, r0 - 0.5, span, span)
        self.box.set_visible(True)
        self.ax.set_xlim(lo, hi_c)
        self.ax.set_ylim(hi_r, lo)
        self.ax.set_title(title or f"Output ({i},{j}) reads rows {r0}..{r0 + span - 1}, cols {c0}..{c0 + span - 1}",
                          y=1.0)  # fixed y: no re-layout per move

    def dynamic_artists(self) -> list:
        """Every artist :meth:`update` changes (for blitting)."""
        return [self.image, *self.strips, *self.taps, self.box]

    def show_plain(self, x: np.ndarray, title: str) -> None:
        """Only the image, no window (when no window fits)."""
        rows, cols = x.shape
        self.image.set_data(x)
        self.image.set_extent((-0.5, cols - 0.5, rows - 0.5, -0.5))
        self.image.set_clim(x.min(), x.max())
        for artist in (*self.strips, *self.taps, self.box):
            artist.set_visible(False)
        self.ax.set_xlim(-0.5, cols - 0.5)
        self.ax.set_ylim(rows - 0.5, -0.5)
        self.ax.set_title(title, y=1.0)


def plot_sliding_window_1d(signal, kernel_size: int, stride: int = 1, padding=0, dilation: int = 1,
                           position: int = 0, ax=None, title: str | None = None):
    """Draw a 1D input ``signal`` (L,) with the taps read by output unit ``position`` highlighted.

    Zero padding is drawn as hatched grey cells; the taps (``kernel_size`` of them, ``dilation``
    apart, starting at ``position * stride`` in padded coordinates) as orange hatched bars.
    Returns the Figure.
    """
    x = to_numpy(signal, "signal")
    if x.ndim != 1:
        raise ValueError(f"signal: expected shape (L,), got {x.shape}")
    k, s, d, pads = _window_geometry(kernel_size, stride, dilation, padding)
    n_out = output_length(x.size, k, s, pads, d)
    if n_out <= 0:
        raise ValueError(f"kernel_size: a window of {effective_kernel(k, d)} steps does not fit "
                         f"{x.size + sum(pads)} padded steps")
    if not 0 <= position < n_out:
        raise ValueError(f"position: expected 0 <= position < {n_out}, got {position}")
    fig, ax = new_axes(ax, (8, 2.6))
    SlidingWindow1d(ax).update(x, k, s, d, pads, position, title)
    return fig


def plot_sliding_window_2d(image, kernel_size: int, stride: int = 1, padding=0, dilation: int = 1,
                           position: tuple[int, int] = (0, 0), ax=None, title: str | None = None):
    """Draw a 2D input ``image`` (H, W) with the receptive field of output cell ``position`` marked.

    Padding cells are hatched; each kernel tap is an orange hatched square, and a dashed
    box shows the whole span ``dilation*(kernel_size-1)+1`` the unit depends on.
    Returns the Figure.
    """
    x = to_numpy(image, "image")
    if x.ndim != 2:
        raise ValueError(f"image: expected shape (H, W), got {x.shape}")
    k, s, d, pads = _window_geometry(kernel_size, stride, dilation, padding)
    n_rows, n_cols = (output_length(size, k, s, pads, d) for size in x.shape)
    if n_rows <= 0 or n_cols <= 0:
        span = effective_kernel(k, d)
        raise ValueError(f"kernel_size: a window of {span}x{span} does not fit the padded "
                         f"{tuple(size + sum(pads) for size in x.shape)} input")
    i, j = position
    if not (0 <= i < n_rows and 0 <= j < n_cols):
        raise ValueError(f"position: expected (row, col) inside ({n_rows}, {n_cols}), got {position}")
    fig, ax = new_axes(ax, (4, 4))
    SlidingWindow2d(ax).update(x, k, s, d, pads, (i, j), title)
    return fig


# ----------------------------------------------------------------------------------------------
# kernels, feature maps, images
# ----------------------------------------------------------------------------------------------
def _grid(n: int, ncols: int, panel: float = 1.6, extra_h: float = 0.5):
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    panel = max(panel, min(2.6, 6.0 / ncols))  # few panels: draw them larger
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel * ncols, panel * nrows + extra_h), squeeze=False,
                             layout="constrained")
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, list(axes.flat)


def plot_kernels_2d(weights, channel: int = 0, ncols: int = 8, title: str = "Convolution kernels",
                    panel_label: str = "filter"):
    """Show 2D kernels: ``weights`` (C_out, C_in, KH, KW) (input channel ``channel`` is drawn)
    or (C_out, KH, KW). Grey scale, one shared colour range centred on 0 so signs compare.
    Panels are titled "<panel_label> 0", ... (say ``"unit"`` for the weights of dense units)."""
    w = to_numpy(weights, "weights")
    if w.ndim == 4:
        if not 0 <= channel < w.shape[1]:
            raise ValueError(f"channel: expected 0 <= channel < {w.shape[1]}, got {channel}")
        w = w[:, channel]
    elif w.ndim != 3:
        raise ValueError(f"weights: expected shape (C_out, C_in, KH, KW) or (C_out, KH, KW), got {w.shape}")
    limit = float(np.abs(w).max()) or 1.0
    fig, axes = _grid(w.shape[0], ncols)
    for index, ax in zip(range(w.shape[0]), axes):
        im = ax.imshow(w[index], cmap="gray", vmin=-limit, vmax=limit)
        ax.set_title(f"{panel_label} {index}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{title} (dark = negative, light = positive)")
    fig.colorbar(im, ax=list(axes)[: w.shape[0]], shrink=0.7, label="weight")
    return fig


def plot_kernels_1d(weights, channel: int = 0, title: str = "1D convolution kernels", ax=None):
    """Show 1D kernels ``weights`` (C_out, C_in, K) (input channel ``channel``) or (C_out, K) as
    lines with different line styles and markers, one per filter."""
    w = to_numpy(weights, "weights")
    if w.ndim == 3:
        if not 0 <= channel < w.shape[1]:
            raise ValueError(f"channel: expected 0 <= channel < {w.shape[1]}, got {channel}")
        w = w[:, channel]
    elif w.ndim != 2:
        raise ValueError(f"weights: expected shape (C_out, C_in, K) or (C_out, K), got {w.shape}")
    fig, ax = new_axes(ax, (7, 3))
    markers = "osD^v<>p*h"
    for index, row in enumerate(w):
        ax.plot(np.arange(row.size), row, ls=LINESTYLES[index % 4], marker=markers[index % len(markers)],
                ms=3, label=f"filter {index}")
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_xlabel("tap (step inside the window)")
    ax.set_ylabel("weight")
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=min(4, w.shape[0]))
    return fig


def plot_feature_maps(maps, ncols: int = 8, image=None, title: str = "Feature maps", cmap: str = "viridis",
                      titles: Sequence[str] | None = None):
    """Show feature maps ``maps`` (C, H, W) or (1, C, H, W); if ``image`` (H0, W0) is given it is
    drawn first in grey. Each map uses its own colour range (``viridis`` reads in grey scale):
    bright is the map's highest value, dark its lowest, so a strong *negative* response is dark.
    ``titles`` (C strings) names the panels; default "map 0", "map 1", ..."""
    m = to_numpy(maps, "maps")
    if m.ndim == 4 and m.shape[0] == 1:
        m = m[0]
    if m.ndim != 3:
        raise ValueError(f"maps: expected shape (C, H, W) or (1, C, H, W), got {m.shape}")
    if titles is not None and len(titles) != m.shape[0]:
        raise ValueError(f"titles: expected {m.shape[0]} titles (one per map), got {len(titles)}")
    extra = 0 if image is None else 1
    fig, axes = _grid(m.shape[0] + extra, ncols)
    axes = list(axes)
    if image is not None:
        img = to_numpy(image, "image").squeeze()
        if img.ndim != 2:
            raise ValueError(f"image: expected shape (H, W) (or with size-1 axes), got {img.shape}")
        axes[0].imshow(img, cmap="gray")
        axes[0].set_title("input", fontsize=9)
        axes[0].set_xticks([])
        axes[0].set_yticks([])
    for index in range(m.shape[0]):
        ax = axes[index + extra]
        ax.imshow(m[index], cmap=cmap)
        ax.set_title(f"map {index}" if titles is None else titles[index], fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    signed = bool((m < 0).any())
    fig.suptitle(f"{title} (bright = highest, dark = lowest{': strong negative responses are dark' if signed else ''})")
    return fig


def plot_images(images, titles: Sequence[str] | None = None, suptitle: str = "", cmap: str = "gray",
                ncols: int = 8):
    """Show a row (or grid) of 2D images ``images`` (N, H, W) or (N, 1, H, W) with optional titles."""
    x = to_numpy(images, "images")
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 3:
        raise ValueError(f"images: expected shape (N, H, W) or (N, 1, H, W), got {x.shape}")
    if titles is not None and len(titles) != x.shape[0]:
        raise ValueError(f"titles: expected {x.shape[0]} titles (one per image), got {len(titles)}")
    fig, axes = _grid(x.shape[0], ncols, panel=1.9)
    for index, ax in zip(range(x.shape[0]), axes):
        ax.imshow(x[index], cmap=cmap)
        if titles is not None:
            ax.set_title(titles[index], fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    if suptitle:
        fig.suptitle(suptitle)
    return fig


# ----------------------------------------------------------------------------------------------
# receptive fields of stacked layers, parameter counts, 1D responses
# ----------------------------------------------------------------------------------------------
def plot_unit_coverage(input_length: int, layers: Sequence[Sequence[int]], signal=None,
                       layer_names: Sequence[str] | None = None, title: str | None = None):
    """Which input steps every unit of every layer sees (1-based step numbers, as in the lesson).

    One horizontal bar per unit, hatched per layer; with ``signal`` (L,) the input is drawn above.
    Returns the Figure.
    """
    spans = unit_input_spans(input_length, layers)
    names = list(layer_names) if layer_names else [f"layer {i + 1}" for i in range(len(spans))]
    if len(names) != len(spans):
        raise ValueError(f"layer_names: expected {len(spans)} names, got {len(names)}")
    rows = sum(len(s) for s in spans)
    top = 1 if signal is not None else 0
    fig, axes = plt.subplots(1 + top, 1, figsize=(9, 0.28 * rows + 1.0 + 1.6 * top), sharex=True,
                             gridspec_kw={"height_ratios": ([1.3] if top else []) + [max(2.0, 0.28 * rows)]},
                             squeeze=False, layout="constrained")
    axes = axes[:, 0]
    if signal is not None:
        sig = to_numpy(signal, "signal").squeeze()
        if sig.shape != (input_length,):
            raise ValueError(f"signal: expected shape ({input_length},), got {sig.shape}")
        axes[0].plot(np.arange(1, input_length + 1), sig, color="black", lw=1)
        axes[0].set_ylabel("signal")
        axes[0].set_title(title or "Which time steps each unit sees")
    ax = axes[-1]
    y, ticks, labels = 0, [], []
    for layer_index, layer_spans in enumerate(spans):
        for span in layer_spans:
            ax.barh(y, span.size, left=span.start + 0.5, height=0.7, color=f"{0.55 + 0.15 * (layer_index % 3):.2f}",
                    hatch=HATCHES[layer_index % len(HATCHES)], edgecolor="black", lw=0.6)
            ax.text(span.stop + 1.2, y, f"{span.start + 1}–{span.stop}", va="center", fontsize=7)
            ticks.append(y)
            labels.append(f"{names[layer_index]} unit {span.unit + 1}")
            y += 1
        y += 0.6
    ax.set_yticks(ticks)
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0.5, input_length + 10)
    ax.set_xlabel("input time step (1-based)")
    if signal is None:
        ax.set_title(title or "Which time steps each unit sees")
    return fig


def plot_param_counts(counts: Mapping[str, int], title: str = "Parameters per model", log: bool = True, ax=None):
    """Bar chart of parameter counts ``{name: count}``, hatched bars, value printed on each bar."""
    if not counts:
        raise ValueError("counts: expected a non-empty mapping of name -> parameter count, got an empty one")
    names = list(counts)
    values = []
    for name in names:
        values.append(check_int(counts[name], f"counts[{name!r}]", minimum=0))
    fig, ax = new_axes(ax, (1.6 * len(names) + 2.5, 3.4))
    bars = ax.bar(range(len(names)), values, color="0.75", edgecolor="black")
    for index, bar in enumerate(bars):
        bar.set_hatch(HATCHES[index % len(HATCHES)])
        ax.text(bar.get_x() + bar.get_width() / 2, max(values[index], 1), f"{values[index]:,}",
                ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, fontsize=8)
    if log:
        ax.set_yscale("log")
        ax.set_ylim(bottom=max(0.5, min(v for v in values if v > 0) / 3) if any(values) else 0.5,
                    top=max(values) * 8 if any(values) else 10)
    ax.set_ylabel("parameters" + (" (log scale)" if log else ""))
    ax.set_title(title)
    return fig


def plot_filter_responses_1d(signal, responses, kernel_size: int, stride: int = 1,
                             title: str = "What each filter responds to", names: Sequence[str] | None = None):
    """Draw ``signal`` (L,) and, below it, each filter's response ``responses`` (C, L_out) placed at
    the centre of the window it reads (window ``u`` covers steps ``u*stride .. u*stride+kernel_size-1``)."""
    sig = to_numpy(signal, "signal").squeeze()
    resp = to_numpy(responses, "responses")
    if sig.ndim != 1:
        raise ValueError(f"signal: expected shape (L,), got {sig.shape}")
    if resp.ndim == 1:
        resp = resp[None]
    if resp.ndim != 2:
        raise ValueError(f"responses: expected shape (C, L_out), got {resp.shape}")
    k = positive_int(kernel_size, "kernel_size")
    s = positive_int(stride, "stride")
    expected = conv_output_size(sig.size, k, s)
    if resp.shape[1] != expected:
        raise ValueError(f"responses: expected L_out = (L - kernel_size)//stride + 1 = {expected}, got {resp.shape[1]}")
    labels = list(names) if names is not None else [f"filter {c}" for c in range(resp.shape[0])]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 4.6), sharex=True, layout="constrained")
    top.plot(np.arange(1, sig.size + 1), sig, color="black", lw=1)
    top.set_ylabel("signal")
    top.set_title(title)
    centres = np.arange(expected) * s + (k + 1) / 2
    for c in range(resp.shape[0]):
        bottom.plot(centres, resp[c], ls=LINESTYLES[c % 4], marker="osD^"[c % 4], ms=3, label=labels[c])
    bottom.set_xlabel("time step (window centre, 1-based)")
    bottom.set_ylabel("response")
    bottom.legend(fontsize=7, ncol=min(4, resp.shape[0]))
    return fig
