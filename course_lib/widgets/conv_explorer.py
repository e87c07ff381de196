"""ConvExplorer: an ipywidgets panel to play with one convolution layer.

Sliders for kernel size, number of filters, stride, padding (valid / same / an int),
dilation and activation, plus a slider that picks one output unit. Every change redraws

- the input with the receptive field of the chosen unit highlighted (the sliding window),
- the kernels and the output feature maps (with the chosen unit marked),
- the output-size formula with the current numbers filled in, the receptive field and the
  parameter count (``explorer.formula``, an HTML widget).

It works for a 2D image ``(H, W)`` and for a 1D signal ``(L,)``. The convolution itself is
``course_lib.ops`` (cross-correlation, as in PyTorch).

Drive it from Python (tests, or to set up a starting point in a lesson)::

    ex = ConvExplorer()
    ex.kernel.value = 5          # redraws: ex.formula.value, ex.feature_maps, ex.png change
    ex.padding.value = "same"
    ex.set(stride=2, dilation=2) # several controls, one redraw
    ex                           # display it in a notebook
"""

from __future__ import annotations

import html
import io

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from course_lib import shapes
from course_lib.geometry import effective_kernel, output_length, resolve_padding
from course_lib.validation import check_int

__all__ = ["ConvExplorer", "default_image", "default_signal", "kernel_bank", "ACTIVATIONS"]

ACTIVATIONS = {
    "none": lambda z: z,
    "relu": lambda z: np.maximum(z, 0.0),
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "tanh": np.tanh,
}
MAX_FILTERS = 4
PADDING_OPTIONS = [("valid", "valid"), ("same", "same"), ("0", 0), ("1", 1), ("2", 2), ("3", 3)]


def default_image(size: int = 12) -> np.ndarray:
    """A small grey-scale test image (size, size) in [0, 1]: a bright square outline with a diagonal
    stroke, so edge detectors and blurs give visibly different feature maps."""
    img = np.zeros((size, size))
    a, b = size // 6, size - size // 6 - 1
    img[a, a:b + 1] = img[b, a:b + 1] = 1.0
    img[a:b + 1, a] = img[a:b + 1, b] = 1.0
    for t in range(a + 1, b):
        img[t, t] = 0.6
    return img


def default_signal(length: int = 60) -> np.ndarray:
    """A deterministic toy pulse train (length,): two sharp spikes on a slow wave, like a tiny EKG."""
    t = np.arange(length)
    sig = 0.3 * np.sin(2 * np.pi * t / length)
    for centre in (length // 4, 3 * length // 4):
        sig += np.exp(-0.5 * ((t - centre) / 1.2) ** 2)
    return sig


def kernel_bank(kernel_size: int, n_filters: int, ndim: int = 2) -> np.ndarray:
    """Fixed, readable kernels: (n_filters, k, k) for ``ndim=2`` or (n_filters, k) for ``ndim=1``.

    2D: vertical edge, horizontal edge, box blur, centre-minus-surround.
    1D: rising-edge (slope), moving average, peak (centre-minus-surround), alternating.
    """
    if not 1 <= n_filters <= MAX_FILTERS:
        raise ValueError(f"n_filters: expected 1..{MAX_FILTERS}, got {n_filters}")
    k = int(kernel_size)
    ramp = np.linspace(-1.0, 1.0, k) if k > 1 else np.ones(1)
    centre = -np.ones(k) / max(k - 1, 1)
    centre[k // 2] = 1.0
    if ndim == 1:
        bank = [ramp, np.ones(k) / k, centre if k > 1 else np.ones(1), (-1.0) ** np.arange(k) / k]
        return np.stack(bank[:n_filters])
    if ndim != 2:
        raise ValueError(f"ndim: expected 1 or 2, got {ndim}")
    surround = -np.ones((k, k)) / max(k * k - 1, 1)
    surround[k // 2, k // 2] = 1.0
    bank = [np.tile(ramp, (k, 1)), np.tile(ramp[:, None], (1, k)), np.ones((k, k)) / (k * k), surround]
    return np.stack(bank[:n_filters])


def _correlate(padded: np.ndarray, kernels: np.ndarray, stride: int, dilation: int) -> np.ndarray:
    """Cross-correlate an already padded input with ``kernels`` using course_lib.ops.

    padded (L,) or (H, W); kernels (F, k) or (F, k, k) -> (F, L_out) or (F, H_out, W_out).
    """
    from course_lib import ops

    if padded.ndim == 1:
        y = ops.conv1d(padded[None, None], kernels[:, None], stride=stride, padding=0, dilation=dilation,
                       backend="numpy")
    else:
        y = ops.conv2d(padded[None, None], kernels[:, None], stride=stride, padding=0, dilation=dilation,
                       backend="numpy")
    return np.asarray(y)[0]


class ConvExplorer:
    """Interactive single-layer convolution: sliders → sliding window, feature maps, formula.

    Parameters
    ----------
    data : array (H, W) or (L,), optional
        The input; default a 12×12 test image (:func:`default_image`). A 1D array switches to
        1D mode (kernel sizes and strides up to 25; in 2D up to 7 and 4).
    kernel_size, n_filters, stride, padding, dilation, activation :
        Starting values of the controls.

    Attributes (the controls; set ``.value`` to drive it from code)
    ----------
    kernel, filters, stride, padding, dilation, activation, position : ipywidgets controls
    formula : ipywidgets.HTML  the output-size formula with numbers, receptive field, parameters
    image : ipywidgets.Image  the drawn figure (PNG);  output : ipywidgets.Box holding ``image``
    widget : ipywidgets.VBox    the whole panel
    feature_maps : ndarray (F, H_out, W_out) or (F, L_out) after the activation, or None when the
        window does not fit the input
    figure : matplotlib Figure last drawn;  png : its PNG bytes;  redraws : how many times it drew
    """

    def __init__(self, data=None, kernel_size: int = 3, n_filters: int = 2, stride: int = 1, padding="valid",
                 dilation: int = 1, activation: str = "relu"):
        x = default_image() if data is None else np.asarray(data, dtype=float)
        if x.ndim not in (1, 2):
            raise ValueError(f"data: expected a 1D signal (L,) or a 2D image (H, W), got shape {x.shape}")
        if x.ndim == 2 and x.shape[0] != x.shape[1]:
            raise ValueError(f"data: expected a square image (H == W), got shape {x.shape}")
        if min(x.shape) < 3:
            raise ValueError(f"data: expected at least 3 steps per axis, got shape {x.shape}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation: expected one of {sorted(ACTIVATIONS)}, got {activation!r}")
        if padding not in [value for _, value in PADDING_OPTIONS]:
            raise ValueError(f"padding: expected one of 'valid', 'same', 0, 1, 2, 3, got {padding!r}")
        self.data = x
        self.ndim = x.ndim
        max_kernel = 7 if x.ndim == 2 else 25
        max_stride = 4 if x.ndim == 2 else 25
        style = {"description_width": "110px"}
        layout = widgets.Layout(width="330px")

        def slider(name, description, value, lo, hi):
            value = check_int(value, name, minimum=lo, maximum=hi, where="ConvExplorer")
            return widgets.IntSlider(value=value, min=lo, max=hi, description=description,
                                     style=style, layout=layout, continuous_update=False)

        self.kernel = slider("kernel_size", "kernel size", kernel_size, 1, max_kernel)
        self.filters = slider("n_filters", "filters", n_filters, 1, MAX_FILTERS)
        self.stride = slider("stride", "stride", stride, 1, max_stride)
        self.dilation = slider("dilation", "dilation", dilation, 1, 3)
        self.padding = widgets.Dropdown(options=PADDING_OPTIONS, value=padding, description="padding",
                                        style=style, layout=layout)
        self.activation = widgets.Dropdown(options=list(ACTIVATIONS), value=activation, description="activation",
                                           style=style, layout=layout)
        self.position = widgets.IntSlider(value=0, min=0, max=0, description="output unit", style=style,
                                          layout=layout, continuous_update=False)
        self.formula = widgets.HTML()
        # The figure goes into an Image widget (a comm update), not an Output widget: output captured by an
        # Output widget leaks into the cell's outputs when notebooks run headless (nbval, nbclient).
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.output = widgets.Box([self.image])
        controls = widgets.HBox([
            widgets.VBox([self.kernel, self.filters, self.stride, self.dilation]),
            widgets.VBox([self.padding, self.activation, self.position]),
        ])
        self.widget = widgets.VBox([controls, self.formula, self.output])
        self.feature_maps = None
        self.figure = None
        self.png = b""
        self.redraws = 0
        self._updating = False
        self._held = False
        for control in (self.kernel, self.filters, self.stride, self.dilation, self.padding, self.activation):
            control.observe(self._on_setting, names="value")
        self.position.observe(self._on_position, names="value")
        self._recompute()
        self._draw()

    # -------------------------------------------------------------------------------- geometry
    @property
    def n(self) -> int:
        """Input length per axis."""
        return self.data.shape[0]

    @property
    def pads(self) -> tuple[int, int]:
        """(before, after) zero padding per axis for the current settings."""
        return resolve_padding(self.padding.value, (self.kernel.value,), None, (self.dilation.value,))[0]

    @property
    def span(self) -> int:
        """Receptive field of one output unit along one axis: d·(k − 1) + 1."""
        return effective_kernel(self.kernel.value, self.dilation.value)

    @property
    def n_out(self) -> int:
        """Output length per axis: ⌊(n + p_before + p_after − d·(k − 1) − 1) / s⌋ + 1 (0 if it does not fit)."""
        return max(self._raw_n_out(), 0)

    def _raw_n_out(self) -> int:
        return output_length(self.n, self.kernel.value, self.stride.value, self.pads, self.dilation.value)

    @property
    def params(self) -> int:
        """Weights + biases of the layer: filters × (k^ndim · C_in + 1), with C_in = 1."""
        return shapes.conv_params(1, self.filters.value, (self.kernel.value,) * self.ndim)

    def unit_index(self) -> tuple[int, ...]:
        """The chosen output unit as (i,) in 1D or (row, col) in 2D (row-major over the output)."""
        p = self.position.value
        return (p,) if self.ndim == 1 else divmod(p, max(self.n_out, 1))

    def unread_inputs(self) -> int:
        """How many input steps (per axis) no output unit reads, e.g. when stride > receptive field."""
        before, _ = self.pads
        read = np.zeros(self.n, dtype=bool)
        for u in range(self.n_out):
            for m in range(self.kernel.value):
                t = u * self.stride.value + m * self.dilation.value - before
                if 0 <= t < self.n:
                    read[t] = True
        return int((~read).sum())

    # -------------------------------------------------------------------------------- updates
    def _on_setting(self, change):
        if self._held:
            return
        self._recompute()
        self._draw()

    _CONTROLS = {"kernel_size": "kernel", "n_filters": "filters", "stride": "stride", "padding": "padding",
                 "dilation": "dilation", "activation": "activation", "position": "position"}

    def set(self, **settings) -> "ConvExplorer":
        """Change several controls at once and redraw once, e.g. ``ex.set(kernel_size=5, stride=2)``.

        Keys: kernel_size, n_filters, stride, padding, dilation, activation, position. Returns the explorer.
        """
        unknown = sorted(set(settings) - set(self._CONTROLS))
        if unknown:
            raise TypeError(f"set: unknown setting(s) {unknown}; expected some of {list(self._CONTROLS)}")
        position = settings.pop("position", None)
        self._held = True
        try:
            for key, value in settings.items():
                getattr(self, self._CONTROLS[key]).value = value
        finally:
            self._held = False
        self._recompute()
        if position is not None:
            self._updating = True
            try:
                self.position.value = position
            finally:
                self._updating = False
        self._draw()
        return self

    def _on_position(self, change):
        if not self._updating:
            self._draw()

    def _recompute(self):
        n_out = self.n_out
        self._updating = True
        try:
            units = n_out ** self.ndim
            self.position.max = max(units - 1, 0)
            if self.position.value > self.position.max:
                self.position.value = self.position.max
        finally:
            self._updating = False
        if n_out <= 0:
            self.feature_maps = None
            self.kernels = kernel_bank(self.kernel.value, self.filters.value, self.ndim)
            return
        before, after = self.pads
        padded = np.pad(self.data, [(before, after)] * self.ndim)
        self.kernels = kernel_bank(self.kernel.value, self.filters.value, self.ndim)
        pre = _correlate(padded, self.kernels, self.stride.value, self.dilation.value)
        self.feature_maps = ACTIVATIONS[self.activation.value](pre)

    # -------------------------------------------------------------------------------- text
    def formula_text(self) -> str:
        """The HTML shown in ``formula``: the output-size formula with the numbers filled in."""
        k, s, d = self.kernel.value, self.stride.value, self.dilation.value
        before, after = self.pads
        n, n_out = self.n, self.n_out
        axis = "per axis " if self.ndim == 2 else ""
        raw = self._raw_n_out()
        result = f"<b>{n_out}</b>" if raw > 0 else f"{raw} → <b>0</b> (no position fits)"
        lines = [
            f"<b>Output size {axis}</b>n_out = ⌊(n + p_before + p_after − d·(k − 1) − 1) / s⌋ + 1 "
            f"= ⌊({n} + {before} + {after} − {d}·({k} − 1) − 1) / {s}⌋ + 1 = {result}"
        ]
        f = self.filters.value
        if n_out > 0:
            shape = f"{f} × {n_out} × {n_out}" if self.ndim == 2 else f"{f} × {n_out}"
            lines.append(f"<b>Output shape</b> (filters, {'rows, cols' if self.ndim == 2 else 'steps'}) = {shape}")
        else:
            lines.append(f"<b style='color:#b00'>No output:</b> the window spans {self.span} steps but the padded "
                         f"input has only {n + before + after}. Use a smaller kernel or dilation, or pad.")
        field = f"{self.span} × {self.span} cells" if self.ndim == 2 else f"{self.span} steps"
        lines.append(f"<b>Receptive field of one unit</b> d·(k − 1) + 1 = {d}·({k} − 1) + 1 = {field}")
        power = "·k" if self.ndim == 2 else ""
        kk = f"{k}·{k}" if self.ndim == 2 else f"{k}"
        lines.append(f"<b>Parameters</b> filters × (k{power}·C_in + 1) = {f} × ({kk}·1 + 1) = <b>{self.params}</b>")
        if n_out > 0:
            unit = self.unit_index()
            value = self.feature_maps[(0, *unit)]
            if self.ndim == 2:
                r0, c0 = unit[0] * s - before, unit[1] * s - before
                where = (f"unit ({unit[0]}, {unit[1]}) reads rows {r0}..{r0 + self.span - 1}, "
                         f"cols {c0}..{c0 + self.span - 1}")
            else:
                t0 = unit[0] * s - before
                where = f"unit {unit[0]} reads steps {t0}..{t0 + self.span - 1}"
            lines.append(f"<b>Sliding window</b> {where} (negative or ≥ {n} = padding); "
                         f"filter 0 gives {self.activation.value}(…) = {value:.3f}")
            unread = self.unread_inputs()
            if unread:
                lines.append(f"<b style='color:#b00'>Warning:</b> stride {s} skips {unread} of the {n} input steps "
                             f"{axis}— no unit ever reads them.")
        if self.padding.value == "same" and s > 1:
            lines.append("<i>Note: PyTorch accepts padding='same' only with stride 1; here the same zero padding "
                         "is kept, so n_out = ⌈n / s⌉.</i>")
        return "<br>".join(lines)

    # -------------------------------------------------------------------------------- drawing
    def _draw(self):
        self.formula.value = self.formula_text()
        f = self.filters.value
        fig = Figure(figsize=(4.2 + 2.0 * f, 4.4) if self.ndim == 2 else (9, 5.2))
        FigureCanvasAgg(fig)
        if self.ndim == 2:
            self._draw_2d(fig, f)
        else:
            self._draw_1d(fig, f)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=80)
        self.figure, self.png = fig, buffer.getvalue()
        self.redraws += 1
        self.image.value = self.png

    def _draw_2d(self, fig, f):
        from course_lib.viz.conv import plot_sliding_window_2d

        grid = fig.add_gridspec(2, 1 + f, height_ratios=[1, 1.3], width_ratios=[1.7] + [1] * f, left=0.07,
                                right=0.98, bottom=0.1, top=0.86, wspace=0.35, hspace=0.35)
        ax_in = fig.add_subplot(grid[:, 0])
        if self.n_out <= 0:
            ax_in.imshow(self.data, cmap="gray")
            ax_in.set_title("window does not fit")
            ax_in.set_xlabel("column")
            ax_in.set_ylabel("row")
            return
        unit = self.unit_index()
        plot_sliding_window_2d(self.data, self.kernel.value, self.stride.value, self.padding.value,
                               self.dilation.value, position=unit, ax=ax_in,
                               title=f"input + window of unit {unit}")
        limit = float(np.abs(self.kernels).max()) or 1.0
        for c in range(f):
            ax_k = fig.add_subplot(grid[0, 1 + c])
            ax_k.imshow(self.kernels[c], cmap="gray", vmin=-limit, vmax=limit)
            ax_k.set_title(f"kernel {c}", fontsize=9)
            ax_k.set_xticks([])
            ax_k.set_yticks([])
            ax_m = fig.add_subplot(grid[1, 1 + c])
            ax_m.imshow(self.feature_maps[c], cmap="viridis")
            ax_m.add_patch(Rectangle((unit[1] - 0.5, unit[0] - 0.5), 1, 1, fill=False, edgecolor="white",
                                     lw=2, hatch="xx"))
            ax_m.set_title(f"feature map {c}", fontsize=9)
            ax_m.set_xlabel("output col", fontsize=8)
            for axis in (ax_m.xaxis, ax_m.yaxis):  # unit indices: whole numbers only
                axis.set_major_locator(MaxNLocator(integer=True))
            if c == 0:
                ax_m.set_ylabel("output row", fontsize=8)
        fig.suptitle(f"{f} filter(s) of {self.kernel.value}×{self.kernel.value}, stride {self.stride.value}, "
                     f"padding {self.padding.value!r}, dilation {self.dilation.value}, {self.activation.value}",
                     fontsize=10)

    def _draw_1d(self, fig, f):
        from course_lib.viz.conv import plot_sliding_window_1d

        grid = fig.add_gridspec(2, 2, width_ratios=[1, 2], left=0.08, right=0.98, bottom=0.09, top=0.93,
                                wspace=0.25, hspace=0.45)
        ax_in = fig.add_subplot(grid[0, :])
        if self.n_out <= 0:
            ax_in.plot(self.data, color="black")
            ax_in.set_title("window does not fit")
            ax_in.set_xlabel("input step")
            return
        unit = self.unit_index()[0]
        plot_sliding_window_1d(self.data, self.kernel.value, self.stride.value, self.padding.value,
                               self.dilation.value, position=unit, ax=ax_in)
        ax_k = fig.add_subplot(grid[1, 0])
        ax_m = fig.add_subplot(grid[1, 1])
        styles = ("-", "--", ":", "-.")
        for c in range(f):
            ax_k.plot(self.kernels[c], ls=styles[c], marker="osD^"[c], ms=3, label=f"kernel {c}")
            ax_m.plot(self.feature_maps[c], ls=styles[c], marker="osD^"[c], ms=3, label=f"map {c}")
        ax_m.axvline(unit, color="black", lw=2, alpha=0.5)
        ax_k.set_title("kernels", fontsize=9)
        ax_k.set_xlabel("tap")
        ax_k.set_ylabel("weight")
        ax_m.set_title(f"feature maps ({self.activation.value}); grey line = unit {unit}", fontsize=9)
        ax_m.set_xlabel("output unit")
        ax_m.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax_k.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax_m.set_ylabel("response")
        ax_m.legend(fontsize=7)

    # -------------------------------------------------------------------------------- display
    def settings(self) -> dict:
        """The current control values as a plain dict."""
        return {"kernel_size": self.kernel.value, "n_filters": self.filters.value, "stride": self.stride.value,
                "padding": self.padding.value, "dilation": self.dilation.value,
                "activation": self.activation.value, "position": self.position.value}

    def __repr__(self) -> str:
        body = ", ".join(f"{key}={value!r}" for key, value in self.settings().items())
        return f"ConvExplorer({body})"

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.widget._repr_mimebundle_(**kwargs)
        if isinstance(bundle, dict):
            bundle = dict(bundle)
            bundle["text/plain"] = html.unescape(repr(self))
        return bundle
