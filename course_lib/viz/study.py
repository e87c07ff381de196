"""The flashcard progress chart: reviews per day (bars) and measured retention (line)."""

from __future__ import annotations

from typing import Mapping, Sequence

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

__all__ = ["plot_review_history"]


def plot_review_history(rows: Sequence[Mapping], figsize=(7, 2.6)) -> Figure:
    """Bars: reviews per day, with the *Again* ratings as a hatched dark part; line (right axis):
    retention in % on the days that have one.

    ``rows``: one mapping per day, oldest first, today last, with ``reviews`` (int), ``again`` (int)
    and ``retention`` (float in [0, 1] or None) — what ``course_lib.study.stats.reviews_per_day``
    returns.  Grey-scale safe (hatching and markers, no colour coding).  Returns a matplotlib
    ``Figure`` that is not registered with pyplot (so it is never shown twice in a notebook).
    """
    if not rows:
        raise ValueError("rows: expected at least one day, got none")
    days = len(rows)
    x = list(range(-days + 1, 1))
    reviews = [r["reviews"] for r in rows]
    fig = Figure(figsize=figsize)
    ax = fig.subplots()
    ax.bar(x, reviews, color="0.78", edgecolor="black", linewidth=0.5, label="reviews")
    ax.bar(x, [r["again"] for r in rows], color="0.35", hatch="//", edgecolor="black", linewidth=0.5,
           label="of which Again")
    ax.set_xlabel("days ago (0 = today)")
    ax.set_ylabel("reviews")
    ax.set_xlim(-days + 0.5, 0.5)
    ax.set_ylim(0, max(reviews + [4]) * 1.15)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ret = ax.twinx()
    points = [(xi, 100 * r["retention"]) for xi, r in zip(x, rows) if r["retention"] is not None]
    if points:
        ret.plot(*zip(*points), "o-", color="black", markerfacecolor="white", label="retention")
    ret.set_ylim(0, 105)
    ret.set_ylabel("retention %")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig
