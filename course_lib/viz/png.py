"""One way to turn a matplotlib figure into PNG bytes, for Image widgets and files."""

from __future__ import annotations

import io

__all__ = ["figure_png", "canvas_png"]


def figure_png(fig, dpi: int = 80, close: bool = True) -> bytes:
    """Render ``fig`` to PNG bytes; with ``close=True`` also close it (so a notebook does not show it too).

    For widgets: ``ipywidgets.Image(value=figure_png(fig))`` updates by a comm message, which
    behaves the same in JupyterLab, Voila and headless runs (unlike printing into an Output widget).
    A figure that is kept and redrawn (the conv explorer's) passes ``close=False``.
    """
    if not hasattr(fig, "savefig"):
        raise TypeError(f"fig: expected a matplotlib Figure, got {type(fig).__name__}")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    if close:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return buffer.getvalue()


def canvas_png(canvas, compress_level: int = 1) -> bytes:
    """PNG bytes (RGB: the figures are opaque) of what an Agg ``canvas`` holds now, without a new
    render: for figures drawn by blitting.

    ``compress_level`` 1 (of 0-9): a few percent larger than the default, several times faster to encode.
    """
    from PIL import Image

    width, height = canvas.get_width_height(physical=True)
    image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="png", compress_level=compress_level)
    return buffer.getvalue()
