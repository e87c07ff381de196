"""Benchmark: a 200-card flashcard review session in-process, the widget driven from Python.

Each step is what a click does in the notebook: *Reveal* (show the back, preview the four
intervals) and *rate-and-next* (one FSRS review committed to the SQLite store with
synchronous=FULL, then the next card rendered). Target: rate-and-next under 50 ms.

    python benchmarks/bench_review.py [--cards 200] [--seed 0] [--kernel]

``--kernel`` runs the same session inside a real Jupyter kernel (via nbclient), where every widget
update is serialized and sent as a comm message, as in JupyterLab or Voila.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from course_lib.study import load_decks, open_store, parse_rating
from course_lib.widgets.flashcards import FlashcardReview


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def make_cards(n):
    """``n`` cards: the real decks, repeated with distinct ids when n exceeds them."""
    base = load_decks()
    return [replace(base[i % len(base)], id=f"{base[i % len(base)].id}-{i}") for i in range(n)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kernel", action="store_true", help="run inside a Jupyter kernel (nbclient)")
    args = parser.parse_args(argv)
    if args.kernel:
        return run_in_kernel(args)

    rng = random.Random(args.seed)
    cards = make_cards(args.cards)
    now = [datetime(2026, 3, 2, 9, tzinfo=timezone.utc)]

    def clock():
        now[0] += timedelta(seconds=8)  # a learner's pace, so learning steps come due in-session
        return now[0]

    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "bench.sqlite3")
        t = time.perf_counter()
        review = FlashcardReview(cards, store, clock=clock)
        build_ms = 1000 * (time.perf_counter() - t)
        reveal_ms, rate_ms = [], []
        weights = [0.15, 0.15, 0.5, 0.2]  # Again, Hard, Good, Easy
        while review.current is not None:
            t = time.perf_counter()
            review.reveal_button.click()
            reveal_ms.append(1000 * (time.perf_counter() - t))
            rating = rng.choices(["again", "hard", "good", "easy"], weights)[0]
            t = time.perf_counter()
            review.rating_buttons[parse_rating(rating)].click()
            rate_ms.append(1000 * (time.perf_counter() - t))
        reviews = len(store.review_log())
        store.close()

    print(f"session: {args.cards} cards, {reviews} reviews (learning steps repeat cards), widget built in {build_ms:.1f} ms")
    for name, values in (("reveal", reveal_ms), ("rate-and-next", rate_ms)):
        print(
            f"{name:>14}: median {statistics.median(values):6.2f} ms   p95 {percentile(values, 95):6.2f} ms"
            f"   max {max(values):6.2f} ms   (n={len(values)})"
        )
    p95 = percentile(rate_ms, 95)
    print(f"target rate-and-next < 50 ms: {'met' if p95 < 50 else 'NOT met'} (p95 {p95:.2f} ms, {50 / p95:.0f}x headroom)")


def run_in_kernel(args):
    import nbformat
    from nbclient import NotebookClient

    code = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})\n"
        f"import bench_review; bench_review.main(['--cards', '{args.cards}', '--seed', '{args.seed}'])"
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    NotebookClient(nb, timeout=600, kernel_name="python3").execute()
    print("(inside a Jupyter kernel: widget updates sent as comm messages)")
    for output in nb.cells[0].outputs:
        print(output.get("text") or output)


if __name__ == "__main__":
    main()
