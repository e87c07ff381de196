"""Card and quiz text → HTML, for ``ipywidgets.HTMLMath`` and for Anki.

Cards are plain text, not HTML: the text is HTML-escaped, ``**bold**``, ``*italic*`` and
```code``` are formatted, and line breaks become ``<br>``. Maths (``$...$`` inline,
``$$...$$`` display) is passed through untouched by the formatting, so ``$a_i * b_i$`` stays
maths: for the widgets it keeps its dollars for the notebook's own MathJax (HTMLMath typesets
it with JupyterLab's renderer, no CDN); for Anki it gets Anki's ``\\(...\\)`` / ``\\[...\\]``.
"""

from __future__ import annotations

import html
import re

__all__ = ["to_html"]

# One pass, leftmost first: a code span, display maths or inline maths; prose is what lies between.
_TOKEN = re.compile(r"`(?P<code>[^`\n]+)`|\$\$(?P<display>.+?)\$\$|\$(?P<inline>[^$]+?)\$", re.S)
_BOLD = re.compile(r"\*\*(?=\S)([^*\n]+?)(?<=\S)\*\*")
_ITALIC = re.compile(r"(?<![*\w])\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*(?![*\w])")
_MATH_DELIMITERS = {"dollars": (("$", "$"), ("$$", "$$")), "anki": ((r"\(", r"\)"), (r"\[", r"\]"))}


def _prose(text: str) -> str:
    out = html.escape(text, quote=False)
    out = _BOLD.sub(r"<b>\1</b>", out)
    return _ITALIC.sub(r"<i>\1</i>", out)


def to_html(text: str, math: str = "dollars") -> str:
    """Plain card text (with $maths$, **bold**, *italic*, `code`) as an HTML fragment.

    ``math="dollars"`` keeps ``$...$`` for MathJax in the notebook; ``math="anki"`` writes
    Anki's delimiters ``\\(...\\)`` and ``\\[...\\]``.
    """
    if not isinstance(text, str):
        raise TypeError(f"text: expected a string, got {type(text).__name__}")
    if math not in _MATH_DELIMITERS:
        raise ValueError(f"math: expected one of {sorted(_MATH_DELIMITERS)}, got {math!r}")
    (open_inline, close_inline), (open_display, close_display) = _MATH_DELIMITERS[math]
    parts, end = [], 0
    for token in _TOKEN.finditer(text):
        parts.append(_prose(text[end:token.start()]))
        if token["code"] is not None:
            parts.append(f"<code>{html.escape(token['code'], quote=False)}</code>")
        elif token["display"] is not None:
            parts.append(open_display + html.escape(token["display"], quote=False) + close_display)
        else:
            parts.append(open_inline + html.escape(token["inline"], quote=False) + close_inline)
        end = token.end()
    parts.append(_prose(text[end:]))
    return "".join(parts).replace("\n", "<br>")
