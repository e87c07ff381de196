"""Flashcard review widget with FSRS scheduling and persistent progress.

``FlashcardReview(cards, store)`` shows the front of the next due card; *Reveal* shows the back;
*Again / Hard / Good / Easy* record the review in the progress store (one transaction) and move
on. Cards rated so that they come back within a few minutes (learning steps) return later in the
same session. Filter by deck (lesson) or tag; shuffle with a seed.

``ProgressPanel(store, cards)`` shows the statistics and a chart of reviews and retention per day.

Keyboard: with the mouse over the card, Space or Enter reveals and 1-4 rate (Again, Hard, Good,
Easy). ipywidgets has no key events, so the ``ipyevents`` extension listens; it takes the keys
only while the pointer is over the card, so JupyterLab's own single-key commands keep working
everywhere else (while it is over the card, the card has the keyboard, Ctrl+S included). Without
ipyevents installed the buttons still work and the hint says so.

Everything can be driven from Python (``review.reveal()``, ``review.rate("good")``,
``review.press_key("3")`` or ``review.reveal_button.click()``), which is how the tests and the
benchmark use it.
"""

from __future__ import annotations

import random
import time
from collections import deque
from datetime import timedelta

import ipywidgets as widgets

from course_lib.study.args import count_arg
from course_lib.study.decks import Card
from course_lib.study.scheduler import Rating, format_interval, parse_rating, utc_now, as_utc
from course_lib.study.text import to_html

__all__ = ["FlashcardReview", "ProgressPanel", "LEARN_AHEAD", "KEYS"]

#: a card due again within this time (a learning step) comes back in the same session
LEARN_AHEAD = timedelta(minutes=20)

#: key (``KeyboardEvent.key``) -> action; digits rate, Space/Enter reveal
KEYS = {" ": "reveal", "Enter": "reveal", "1": Rating.Again, "2": Rating.Hard, "3": Rating.Good, "4": Rating.Easy}
KEY_HINT = "Keys, with the mouse over the card: Space reveal · 1 Again · 2 Hard · 3 Good · 4 Easy"

_BUTTON_STYLE = {Rating.Again: "danger", Rating.Hard: "warning", Rating.Good: "success", Rating.Easy: "info"}


class FlashcardReview(widgets.VBox):
    """Review the due cards among ``cards``; progress goes to ``store`` (default: open_store()).

    Parameters: ``lesson`` / ``tag`` preselect the filters; ``shuffle`` with ``seed`` shuffles the
    session reproducibly; ``limit`` caps the number of cards per session; ``clock`` is a callable
    returning an aware UTC datetime (tests inject fixed times); ``on_review(result)`` is called
    after every rating; ``keyboard=False`` turns the key shortcuts off.
    """

    def __init__(
        self,
        cards,
        store=None,
        *,
        lesson=None,
        tag=None,
        shuffle: bool = False,
        seed: int = 0,
        limit: int | None = None,
        clock=None,
        on_review=None,
        keyboard: bool = True,
    ):
        cards = list(cards)
        if not cards or not all(isinstance(c, Card) for c in cards):
            raise TypeError("cards: expected a non-empty list of course_lib.study.Card (from load_decks)")
        limit = count_arg(limit, "limit", minimum=1, optional=True)
        if store is None:
            from course_lib.study.store import open_store

            store = open_store()
        self.cards = cards
        self.store = store
        self.seed = seed
        self.limit = limit
        self.clock = clock or utc_now
        self.on_review = on_review
        self._by_id = {c.id: c for c in cards}

        lessons = sorted({c.lesson for c in cards if c.lesson})
        tags = sorted({t for c in cards for t in c.tags})
        # "" (not None) means "all": a Dropdown shows nothing when its value is None
        lesson, tag = lesson or "", tag or ""
        if lesson and lesson not in lessons:
            raise ValueError(f"lesson: expected one of {lessons}, got {lesson!r}")
        if tag and tag not in tags:
            raise ValueError(f"tag: expected one of the deck tags, got {tag!r}")
        decks = {c.lesson: c.deck for c in cards}
        self.lesson_picker = widgets.Dropdown(
            options=[("All decks", "")] + [(decks[l] or l, l) for l in lessons],
            value=lesson,
            description="Deck",
            layout=widgets.Layout(width="460px"),
        )
        self.tag_picker = widgets.Dropdown(
            options=[("All tags", "")] + [(t, t) for t in tags], value=tag, description="Tag"
        )
        self.shuffle_box = widgets.Checkbox(value=shuffle, description="Shuffle", indent=False)
        self.restart_button = widgets.Button(description="New session")

        self.progress = widgets.IntProgress(min=0, max=1, value=0, description="Session")
        self.progress_label = widgets.Label()
        self.card_info = widgets.HTML()
        self.front_html = widgets.HTMLMath()
        self.back_html = widgets.HTMLMath()
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="420px", display="none"))
        self.back_box = widgets.VBox(
            [widgets.HTML("<hr style='margin:6px 0'>"), self.back_html, self.image], layout=widgets.Layout(display="none")
        )
        self.reveal_button = widgets.Button(description="Reveal", button_style="primary")
        self.rating_buttons = {
            r: widgets.Button(description=r.name, button_style=_BUTTON_STYLE[r], disabled=True) for r in Rating
        }
        self.hint = widgets.HTML()
        self.status = widgets.HTML()

        for picker in (self.lesson_picker, self.tag_picker, self.shuffle_box):
            picker.observe(lambda change: self._from_ui(self.new_session), names="value")
        self.restart_button.on_click(lambda _: self._from_ui(self.new_session))
        self.reveal_button.on_click(lambda _: self._from_ui(self.reveal))
        for rating, button in self.rating_buttons.items():
            button.on_click(lambda _, r=rating: self._on_rate_click(r))

        card_box = widgets.VBox(
            [self.card_info, self.front_html, self.back_box],
            layout=widgets.Layout(border="1px solid #ccc", padding="8px 16px", min_height="140px"),
        )
        # The card and its buttons: the area that listens to the keyboard while the mouse is over it.
        self.card_area = widgets.VBox([card_box, widgets.HBox([self.reveal_button, *self.rating_buttons.values()])])
        self.key_events = self._listen_to_keys() if keyboard else None
        self.key_hint = widgets.HTML()
        if keyboard:
            self.key_hint.value = "<small style='color:#666'>" + (
                KEY_HINT if self.key_events is not None else
                "Keyboard shortcuts need the ipyevents package (pip install ipyevents); the buttons work without it."
            ) + "</small>"
        super().__init__(
            [
                widgets.HBox([self.lesson_picker, self.tag_picker]),
                widgets.HBox([self.shuffle_box, self.restart_button]),
                widgets.HBox([self.progress, self.progress_label]),
                self.card_area,
                self.key_hint,
                self.hint,
                self.status,
            ]
        )
        self.queue: deque[str] = deque()
        self.current: Card | None = None
        self.revealed = False
        self.reviewed = 0
        self.new_session()

    def _from_ui(self, action, *args) -> None:
        """Run a button's or key's action; a progress-store problem (busy, read-only, closed) is
        shown under the card instead of being lost in the log. The card stays, so the learner
        can try again: no review is lost."""
        from course_lib.study.store_errors import ProgressStoreError

        try:
            action(*args)
        except ProgressStoreError as exc:
            self.status.value = f"<span style='color:#c0392b'>Not saved: {to_html(str(exc))}</span>"

    # -- session ---------------------------------------------------------------------------------
    def _now(self):
        return as_utc(self.clock(), "clock()")

    def selected_cards(self) -> list[Card]:
        """The cards that pass the deck and tag filters."""
        lesson, tag = self.lesson_picker.value, self.tag_picker.value
        return [
            c for c in self.cards if (not lesson or c.lesson == lesson) and (not tag or tag in c.tags)
        ]

    def new_session(self) -> None:
        """Rebuild the queue of due cards for the current filters."""
        ids = self.store.due_cards([c.id for c in self.selected_cards()], now=self._now(), limit=self.limit)
        if self.shuffle_box.value:
            random.Random(self.seed).shuffle(ids)
        self.queue = deque(ids)
        self.reviewed = 0
        self.status.value = ""
        self._show_next()

    def _update_progress(self) -> None:
        total = self.reviewed + len(self.queue) + (self.current is not None)
        self.progress.max = max(total, 1)
        self.progress.value = self.reviewed
        self.progress_label.value = f"{self.reviewed} / {total} reviewed"

    def _show_next(self) -> None:
        self.current = self._by_id[self.queue.popleft()] if self.queue else None
        self.revealed = False
        self.back_box.layout.display = "none"
        self.back_html.value = ""
        self.hint.value = ""
        for button in self.rating_buttons.values():
            button.disabled = True
        card = self.current
        if card is None:
            self.card_info.value = ""
            self.front_html.value = (
                "<b>Session complete.</b> Nothing else is due for this selection." if self.reviewed else
                "<b>No cards are due</b> for this selection. Come back later, or pick another deck or tag."
            )
            self.reveal_button.disabled = True
        else:
            tags = ", ".join(card.tags)
            self.card_info.value = f"<small>{to_html(card.deck or card.lesson)}{' · ' + tags if tags else ''}</small>"
            self.front_html.value = to_html(card.front)
            self.reveal_button.disabled = False
            self._shown_at = time.monotonic()
        self._update_progress()

    # -- actions ---------------------------------------------------------------------------------
    def reveal(self) -> None:
        """Show the back of the current card and enable the rating buttons."""
        card = self.current
        if card is None or self.revealed:
            return
        now = self._now()
        preview = self.store.preview(card.id, now=now)  # first: a store problem leaves the card unrevealed
        self.revealed = True
        image = _read_image(card)
        self.back_html.value = to_html(card.back) + (f"<br><small><i>{image}</i></small>" if isinstance(image, str) else "")
        if isinstance(image, bytes):
            self.image.value = image
            self.image.format = card.image.suffix.lstrip(".").lower() or "png"
            self.image.layout.display = ""
        else:
            self.image.layout.display = "none"
        self.back_box.layout.display = ""
        self.reveal_button.disabled = True
        for rating, button in self.rating_buttons.items():
            button.disabled = False
            button.tooltip = f"next review in {format_interval(preview[rating] - now)}"
        self.hint.value = "<small>Next review: " + " · ".join(
            f"{r.name} {format_interval(preview[r] - now)}" for r in Rating
        ) + "</small>"

    def _listen_to_keys(self):
        """An ipyevents listener for key presses over the card area, or None without ipyevents."""
        try:
            from ipyevents import Event
        except ImportError:
            return None
        listener = Event(source=self.card_area, watched_events=["keydown"], ignore_modifier_key_events=True)
        listener.on_dom_event(self._on_key_event)
        return listener

    def _on_key_event(self, event: dict) -> None:
        """ipyevents' keydown message: ``{"key": "3", "ctrlKey": False, ...}``; shortcuts with a modifier are not ours."""
        if event.get("type", "keydown") != "keydown" or any(event.get(m) for m in ("ctrlKey", "altKey", "metaKey")):
            return
        self.press_key(event.get("key", ""))

    def press_key(self, key: str) -> bool:
        """Act on one key as the keyboard shortcuts do (``KEYS``); returns whether it did something.

        Rating keys count only once the answer is shown; unknown keys do nothing (and the listener
        ignores keys pressed with Ctrl, Alt or Meta).
        """
        action = KEYS.get(key)
        if action is None or self.current is None:
            return False
        if action == "reveal":
            if self.revealed:
                return False
            self.reveal()
            return True
        if not self.revealed:
            return False
        self._from_ui(self.rate, action)
        return True

    def _on_rate_click(self, rating) -> None:
        if self.revealed:
            self._from_ui(self.rate, rating)

    def rate(self, rating):
        """Record ``rating`` (Again/Hard/Good/Easy, 1-4 or a name) for the current card and move on.
        Returns the store's ReviewResult."""
        if self.current is None:
            raise RuntimeError("rate: there is no current card (the session is complete)")
        if not self.revealed:
            raise RuntimeError(
                "rate: the answer is not shown yet; call reveal() first (a rating given before seeing "
                "the answer would teach the scheduler nothing)"
            )
        rating = parse_rating(rating)
        now = self._now()
        duration = int(1000 * (time.monotonic() - self._shown_at))
        result = self.store.review(self.current.id, rating, now=now, duration_ms=duration)
        self.reviewed += 1
        if result.due <= now + LEARN_AHEAD:
            self.queue.append(self.current.id)  # a learning step: see it again this session
        self.status.value = f"<small>Last: {to_html(self.current.id)} rated {rating.name}.</small>"
        self._show_next()
        if self.on_review is not None:
            self.on_review(result)
        return result

    def __repr__(self) -> str:
        # only what the code decided, not the learner's progress: stable text for nbval
        return (
            f"FlashcardReview({len(self.cards)} cards, deck={self.lesson_picker.value or 'all'}, "
            f"tag={self.tag_picker.value or 'all'})"
        )


def _read_image(card: Card) -> bytes | str | None:
    """The card image's bytes, None without an image, or a note saying why it cannot be shown."""
    if card.image is None:
        return None
    try:
        return card.image.read_bytes()
    except OSError as exc:
        return f"(The image {card.image.name} could not be shown: {exc.strerror or exc}. Reload the decks.)"


class ProgressPanel(widgets.VBox):
    """Statistics of ``store`` for ``cards`` plus a chart of reviews and retention per day."""

    def __init__(self, store, cards, *, days: int = 30, clock=None, tz=None):
        self.store = store
        self.card_ids = [c.id for c in cards]
        self.days = days
        self.clock = clock or utc_now
        self.tz = tz
        self.summary = widgets.HTML()
        self.chart = widgets.Image(format="png")  # a PNG, so no Output-widget capture is needed
        self.refresh_button = widgets.Button(description="Refresh")
        self.refresh_button.on_click(lambda _: self.refresh())
        self.figure = None
        super().__init__([widgets.HBox([self.summary, self.refresh_button]), self.chart])
        self.refresh()

    def refresh(self, *_, chart: bool = True):
        """Recompute the statistics and (unless ``chart=False``, which is cheap) redraw the chart."""
        now = as_utc(self.clock(), "clock()")
        self.stats = self.store.stats(card_ids=self.card_ids, now=now, tz=self.tz)
        s = self.stats
        pct = lambda v: "n/a" if v is None else f"{100 * v:.0f}%"  # noqa: E731
        rows = [
            ("Due now", s["due_now"] + s["new"]),
            ("Learned", f"{s['learned']} of {len(self.card_ids)}"),
            ("Reviews today", s["reviews_today"]),
            ("Retention (30 days)", pct(s["retention"])),
            ("Predicted recall", pct(s["predicted_recall"])),
            ("Streak", f"{s['streak']} day(s)"),
        ]
        self.summary.value = "<table>" + "".join(
            f"<tr><td style='padding-right:1em'>{k}</td><td><b>{v}</b></td></tr>" for k, v in rows
        ) + "</table>"
        if not chart:
            return
        import io

        self.figure = self.make_figure(now)
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=90)
        self.chart.value = buffer.getvalue()

    def make_figure(self, now):
        """Bars: reviews per day; line: measured retention per day (right axis)."""
        from matplotlib.figure import Figure  # not pyplot: no global figure state, no backend
        from matplotlib.ticker import MaxNLocator

        from course_lib.study.stats import reviews_per_day

        rows = reviews_per_day(self.store, days=self.days, now=now, tz=self.tz, card_ids=self.card_ids)
        x = list(range(-self.days + 1, 1))
        fig = Figure(figsize=(7, 2.6))
        ax = fig.subplots()
        ax.bar(x, [r["reviews"] for r in rows], color="#5b8fd9", label="reviews")
        ax.bar(x, [r["again"] for r in rows], color="#d95b5b", label="of which Again")
        ax.set_xlabel("days ago (0 = today)")
        ax.set_ylabel("reviews")
        ax.set_xlim(-self.days + 0.5, 0.5)
        ax.set_ylim(0, max([r["reviews"] for r in rows] + [4]) * 1.15)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ret = ax.twinx()
        points = [(xi, 100 * r["retention"]) for xi, r in zip(x, rows) if r["retention"] is not None]
        if points:
            ret.plot(*zip(*points), "o-", color="#2a9d3a", label="retention")
        ret.set_ylim(0, 105)
        ret.set_ylabel("retention %")
        ax.legend(loc="upper left", fontsize=8)
        fig.tight_layout()
        return fig

    def __repr__(self) -> str:
        return f"ProgressPanel({len(self.card_ids)} cards)"
