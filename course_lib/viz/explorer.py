"""The conv explorer's figure: input with the sliding window, kernels, feature maps.

:class:`ExplorerFigure` builds the figure once (one per layout: 1D or 2D, number of filters)
and then only updates its artists (image data, patch positions, line data, titles).  Rendering
is split in two layers: each axes' frame, ticks, tick labels and axis labels (most of the drawing
time, and the same for every position of the window) are rendered once per set of axis limits
and kept (the last :data:`BACKGROUNDS` per axes); a move pastes those regions and draws only the
data artists and titles on top (blitting).  The widget (:class:`course_lib.widgets.ConvExplorer`)
computes the numbers and calls :meth:`update`, then :meth:`png`.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import Bbox

from .conv import LINESTYLES, SlidingWindow1d, SlidingWindow2d
from .png import canvas_png

__all__ = ["ExplorerView", "ExplorerFigure"]

_MARKERS = "osD^"
DPI = 80
#: rendered static regions kept per axes (one per distinct set of axis limits)
BACKGROUNDS = 32


@dataclass(frozen=True)
class ExplorerView:
    """What the explorer shows after one move.

    data: (H, W) or (L,) input; kernels: (F, k, k) or (F, k); maps: (F, H_out, W_out) or (F, L_out)
    after the activation, or None when no window fits; pads: (before, after) zeros per axis;
    unit: the chosen output unit, (row, col) or (i,); padding and activation: the control values
    (for the titles).
    """

    data: np.ndarray
    kernels: np.ndarray
    maps: np.ndarray | None
    kernel_size: int
    stride: int
    dilation: int
    pads: tuple[int, int]
    unit: tuple[int, ...]
    padding: object
    activation: str


class ExplorerFigure:
    """One figure for ``ndim`` (1 or 2) and ``n_filters`` filters, redrawn in place by :meth:`update`."""

    def __init__(self, ndim: int, n_filters: int):
        if ndim not in (1, 2):
            raise ValueError(f"ndim: expected 1 or 2, got {ndim!r}")
        self.ndim, self.n_filters = ndim, n_filters
        f = n_filters
        self.figure = Figure(figsize=(4.2 + 2.0 * f, 4.4) if ndim == 2 else (9, 5.2), dpi=DPI)
        FigureCanvasAgg(self.figure)
        self._backgrounds: dict[int, OrderedDict] = {}  # axes index -> {axes key: pixel region}
        self._text_regions: OrderedDict = OrderedDict()  # (title, text, place) -> pixel region
        self._blank = None
        if ndim == 2:
            self._build_2d(f)
        else:
            self._build_1d(f)
        self._titles = {self.window.ax.title, self.title if ndim == 2 else self.ax_m.title}

    # ------------------------------------------------------------------------------------ 2D
    def _build_2d(self, f):
        grid = self.figure.add_gridspec(2, 1 + f, height_ratios=[1, 1.3], width_ratios=[1.7] + [1] * f,
                                        left=0.07, right=0.98, bottom=0.1, top=0.86, wspace=0.35, hspace=0.35)
        self.window = SlidingWindow2d(self.figure.add_subplot(grid[:, 0]))
        self.kernel_images, self.map_images, self.markers, self.side_axes = [], [], [], []
        for c in range(f):
            ax_k = self.figure.add_subplot(grid[0, 1 + c])
            self.kernel_images.append(ax_k.imshow(np.zeros((1, 1)), cmap="gray"))
            ax_k.set_title(f"kernel {c}", fontsize=9, y=1.0)
            ax_k.set_xticks([])
            ax_k.set_yticks([])
            ax_m = self.figure.add_subplot(grid[1, 1 + c])
            self.map_images.append(ax_m.imshow(np.zeros((1, 1)), cmap="viridis"))
            self.markers.append(ax_m.add_patch(Rectangle((0, 0), 1, 1, fill=False, edgecolor="white", lw=2,
                                                         hatch="xx")))
            ax_m.set_title(f"feature map {c}", fontsize=9, y=1.0)
            ax_m.set_xlabel("output col", fontsize=8)
            for axis in (ax_m.xaxis, ax_m.yaxis):  # unit indices: whole numbers only
                axis.set_major_locator(MaxNLocator(integer=True))
            if c == 0:
                ax_m.set_ylabel("output row", fontsize=8)
            self.side_axes += [ax_k, ax_m]
        self.title = self.figure.suptitle("", fontsize=10)

    def _update_2d(self, view: ExplorerView):
        if view.maps is None:
            self.window.show_plain(view.data, "window does not fit")
            self.window.ax.set_xlabel("column")
            for ax in self.side_axes:
                ax.set_visible(False)
            self.title.set_text("")
            return
        k, s, d = view.kernel_size, view.stride, view.dilation
        self.window.update(view.data, k, s, d, view.pads, view.unit, title=f"input + window of unit {view.unit}")
        limit = float(np.abs(view.kernels).max()) or 1.0
        row, col = view.unit
        for c, (kernel_image, map_image, marker) in enumerate(zip(self.kernel_images, self.map_images, self.markers)):
            kernel_image.set_data(view.kernels[c])
            kernel_image.set_extent((-0.5, k - 0.5, k - 0.5, -0.5))
            kernel_image.set_clim(-limit, limit)
            kernel_image.axes.set_xlim(-0.5, k - 0.5)
            kernel_image.axes.set_ylim(k - 0.5, -0.5)
            fmap = view.maps[c]
            rows, cols = fmap.shape
            map_image.set_data(fmap)
            map_image.set_extent((-0.5, cols - 0.5, rows - 0.5, -0.5))
            map_image.set_clim(fmap.min(), fmap.max())
            map_image.axes.set_xlim(-0.5, cols - 0.5)
            map_image.axes.set_ylim(rows - 0.5, -0.5)
            marker.set_xy((col - 0.5, row - 0.5))
        for ax in self.side_axes:
            ax.set_visible(True)
        self.title.set_text(f"{self.n_filters} filter(s) of {k}×{k}, stride {s}, padding {view.padding!r}, "
                            f"dilation {d}, {view.activation}")

    # ------------------------------------------------------------------------------------ 1D
    def _build_1d(self, f):
        grid = self.figure.add_gridspec(2, 2, width_ratios=[1, 2], left=0.08, right=0.98, bottom=0.09, top=0.93,
                                        wspace=0.25, hspace=0.45)
        self.window = SlidingWindow1d(self.figure.add_subplot(grid[0, :]))
        self.ax_k = self.figure.add_subplot(grid[1, 0])
        self.ax_m = self.figure.add_subplot(grid[1, 1])
        self.kernel_lines = [self.ax_k.plot([], [], ls=LINESTYLES[c], marker=_MARKERS[c], ms=3, label=f"kernel {c}")[0]
                             for c in range(f)]
        self.map_lines = [self.ax_m.plot([], [], ls=LINESTYLES[c], marker=_MARKERS[c], ms=3, label=f"map {c}")[0]
                          for c in range(f)]
        self.unit_line = self.ax_m.axvline(0, color="black", lw=2, alpha=0.5)
        self.ax_k.set_title("kernels", fontsize=9, y=1.0)
        self.ax_k.set_xlabel("tap")
        self.ax_k.set_ylabel("weight")
        self.ax_m.set_xlabel("output unit")
        self.ax_m.xaxis.set_major_locator(MaxNLocator(integer=True))
        self.ax_k.xaxis.set_major_locator(MaxNLocator(integer=True))
        self.ax_m.set_ylabel("response")
        self.ax_m.legend(fontsize=7)

    def _update_1d(self, view: ExplorerView):
        if view.maps is None:
            self.window.show_plain(view.data, "window does not fit")
            self.ax_k.set_visible(False)
            self.ax_m.set_visible(False)
            return
        (unit,) = view.unit
        self.window.update(view.data, view.kernel_size, view.stride, view.dilation, view.pads, unit)
        self.window.ax.set_xlabel("input step (padding shown hatched grey)")
        for c, (kernel_line, map_line) in enumerate(zip(self.kernel_lines, self.map_lines)):
            kernel_line.set_data(np.arange(view.kernels.shape[1]), view.kernels[c])
            map_line.set_data(np.arange(view.maps.shape[1]), view.maps[c])
        self.unit_line.set_xdata([unit, unit])
        for ax in (self.ax_k, self.ax_m):
            ax.relim(visible_only=True)
            ax.autoscale_view()
            ax.set_visible(True)
        self.ax_m.set_title(f"feature maps ({view.activation}); grey line = unit {unit}", fontsize=9, y=1.0)

    # ------------------------------------------------------------------------------------ both
    def update(self, view: ExplorerView) -> None:
        """Move every artist to ``view`` (no new axes, no new figure)."""
        if view.kernels.shape[0] != self.n_filters:
            raise ValueError(f"view.kernels: expected {self.n_filters} filters, got {view.kernels.shape[0]}")
        if self.ndim == 2:
            self._update_2d(view)
        else:
            self._update_1d(view)

    def _dynamic(self) -> list:
        """The artists that change from move to move, in the order a full render draws them
        (per axes by z-order, then the figure title); the spines go with them, as the data
        artists lie under the axes frame."""
        artists = [self.window.ax.title, *self.window.dynamic_artists()]
        if self.ndim == 2:
            artists += [*self.kernel_images, *self.map_images, *self.markers]
        else:
            artists += [*self.kernel_lines, *self.map_lines, self.unit_line, self.ax_m.title]
        ordered = []
        for ax in self.figure.axes:
            children = {id(child): i for i, child in enumerate(ax.get_children())}
            mine = [a for a in artists if a.axes is ax] + list(ax.spines.values())
            if ax.get_legend() is not None:
                mine.append(ax.get_legend())  # above the lines, as in a full render
            ordered += sorted(mine, key=lambda a: (a.get_zorder(), children.get(id(a), len(children))))
        if self.ndim == 2:
            ordered.append(self.title)
        return ordered

    def _cells(self) -> dict:
        """A rectangle of the figure for each visible axes; together they tile the figure.

        An axes' cell reaches left up to its left neighbour's right edge + 4 px (room for that
        neighbour's last tick label), down to the lower neighbour's top + 20 px (its title
        row), and to the figure's edge where there is no neighbour.  Computed from the axes
        positions, not from text extents, so it costs nothing.
        """
        axes = [ax for ax in self.figure.axes if ax.get_visible()]
        boxes = {ax: ax.bbox.extents for ax in axes}  # (x0, y0, x1, y1) in pixels, y up
        width, height = self.figure.bbox.width, self.figure.bbox.height
        cells = {}
        for ax, (x0, y0, x1, y1) in boxes.items():
            rows = [b for b in boxes.values() if b[1] < y1 and b[3] > y0]   # overlap vertically
            cols = [b for b in boxes.values() if b[0] < x1 and b[2] > x0]   # overlap horizontally
            left = max([b[2] + 4 for b in rows if b[2] <= x0], default=0)
            right = x1 + 4 if any(b[0] >= x1 for b in rows) else width
            below = max([b[3] + 20 for b in cols if b[3] <= y0], default=0)
            top = y1 + 20 if any(b[1] >= y1 for b in cols) else height
            cells[ax] = Bbox.from_extents(left, below, right, top)
        return cells

    @staticmethod
    def _axes_key(ax) -> tuple:
        def rounded(values):  # autoscaled limits carry float noise from the order of the updates
            return tuple(round(float(v), 6) for v in values)

        return (rounded(ax.get_xlim()), rounded(ax.get_ylim()), rounded(ax.get_position().bounds), ax.get_xlabel())

    def render(self) -> None:
        """Render the current state into the canvas.

        Every axes' static part (frame, ticks, tick labels, axis labels, fixed titles) is cached per
        axis limits as a pixel region; a move pastes the cached regions onto a blank figure, renders
        only the axes whose limits changed, and draws the changing artists on top.  The axes'
        regions do not overlap, so pasting them reproduces a full render.
        """
        canvas = self.figure.canvas
        renderer = canvas.get_renderer()
        dynamic = self._dynamic()
        for artist in dynamic:
            artist.set_animated(True)  # left out of the axes' own drawing: drawn on top each move
        if self._blank is None:
            renderer.clear()
            self.figure.patch.draw(renderer)
            self._blank = canvas.copy_from_bbox(self.figure.bbox)
        regions, missing = [], []
        for index, ax in enumerate(self.figure.axes):
            if not ax.get_visible():
                continue
            ax.apply_aspect()  # the position that goes with the current limits
            cache = self._backgrounds.setdefault(index, OrderedDict())
            key = self._axes_key(ax)
            if key in cache:
                cache.move_to_end(key)
                regions.append(cache[key])
            else:
                missing.append((ax, cache, key))
        if missing:
            cells = self._cells()
            canvas.restore_region(self._blank)
            for ax, _, _ in missing:
                ax.draw(renderer)
            for ax, cache, key in missing:
                cache[key] = canvas.copy_from_bbox(cells[ax])
                if len(cache) > BACKGROUNDS:
                    cache.popitem(last=False)
                regions.append(cache[key])
        canvas.restore_region(self._blank)
        for region in regions:
            canvas.restore_region(region)
        for artist in dynamic:
            if not artist.get_visible() or (artist.axes is not None and not artist.axes.get_visible()):
                continue
            if artist in self._titles:
                self._draw_title(artist, renderer)
            else:
                self.figure.draw_artist(artist)

    def _draw_title(self, text, renderer) -> None:
        """Draw a title, from a cached pixel region when the same text was drawn there before.

        Titles sit on plain white (nothing else is drawn under them), so pasting the pixels of
        an earlier rendering of the same text at the same place gives exactly the same result
        as laying the text out and rendering its glyphs again (a few ms per title)."""
        canvas = self.figure.canvas
        where = text.axes.get_position().bounds if text.axes is not None else ()
        key = (id(text), text.get_text(), text.get_position(), where)
        region = self._text_regions.get(key)
        if region is not None:
            self._text_regions.move_to_end(key)
            canvas.restore_region(region)
            return
        self.figure.draw_artist(text)
        self._text_regions[key] = canvas.copy_from_bbox(text.get_window_extent(renderer).padded(1))
        if len(self._text_regions) > 8 * BACKGROUNDS:
            self._text_regions.popitem(last=False)

    def png(self) -> bytes:
        """The figure as PNG bytes (rendered first; the figure is kept for the next move)."""
        self.render()
        return canvas_png(self.figure.canvas)
