"""Card and quiz text → HTML for ``ipywidgets.HTMLMath``.

Text is HTML-escaped (cards are plain text, not HTML), ``**bold**`` and ```code``` are kept,
line breaks become ``<br>``; ``$...$`` and ``$$...$$`` maths is left for the notebook's own
MathJax (HTMLMath typesets it with JupyterLab's renderer, no CDN).
"""

from __future__ import annotations

import html
import re

__all__ = ["to_html"]

_CODE = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"\*\*([^*\n]+)\*\*")


def to_html(text: str) -> str:
    """Plain card text (with $maths$, **bold**, `code`) as an HTML fragment."""
    if not isinstance(text, str):
        raise TypeError(f"text: expected a string, got {type(text).__name__}")
    out = html.escape(text, quote=False)
    out = _CODE.sub(r"<code>\1</code>", out)
    out = _BOLD.sub(r"<b>\1</b>", out)
    return out.replace("\n", "<br>")
