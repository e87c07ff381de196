"""The ``progress`` and ``export-anki`` subcommands of ``python -m course_lib``."""

from __future__ import annotations

import argparse
import sys

__all__ = ["register", "format_stats", "main"]


def _percent(value) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"


def format_stats(stats: dict) -> str:
    """The stats dict as aligned text lines (no dates, so the output is stable)."""
    rows = [
        ("due now", stats["due_now"]),
        ("due today", stats["due_today"]),
        ("new (never reviewed)", stats["new"]),
        ("learned", stats["learned"]),
        ("reviews today", stats["reviews_today"]),
        ("reviews in total", stats["reviews_total"]),
        (
            "retention (30 days)",
            f"{_percent(stats['retention'])} of {stats['retention_reviews']} reviews of learned cards"
            if stats["retention"] is not None
            else "n/a (no reviews of learned cards yet)",
        ),
        ("predicted recall now", _percent(stats["predicted_recall"])),
        ("streak", f"{stats['streak']} day(s)"),
    ]
    return "\n".join(f"{name:<22} {value}" for name, value in rows)


def _progress(args) -> int:
    from course_lib.study.decks import load_decks
    from course_lib.study.store import open_store

    cards = load_decks(args.decks)
    with open_store(args.db) as store:
        print(f"progress store: {store.path}")
        print(format_stats(store.stats(card_ids=[c.id for c in cards])))
        checks = store.check_summary()
        if checks:
            passed = sum(v["passed"] for v in checks.values())
            print(f"{'exercise checks':<22} {passed} of {len(checks)} passed")
    return 0


def _export_anki(args) -> int:
    from course_lib.study.anki import export_anki
    from course_lib.study.decks import load_decks

    cards = load_decks(args.deck)
    path = export_anki(cards, args.output)
    decks = len({c.deck for c in cards})
    print(f"wrote {len(cards)} cards in {decks} deck(s) to {path}")
    return 0


def _plain_errors(handler):
    """Run ``handler(args)``; a problem the learner can fix prints its message and returns 1
    (no traceback): a damaged deck, a progress file that cannot be used, a missing file."""
    from course_lib.study.decks import DeckError
    from course_lib.study.store_errors import ProgressStoreError

    def run(args) -> int:
        try:
            return handler(args)
        except (DeckError, ProgressStoreError, OSError, ValueError, TypeError) as exc:
            print(f"{args.command}: {exc}", file=sys.stderr)
            return 1

    return run


def register(subparsers) -> None:
    """Add ``progress`` and ``export-anki`` to an argparse subparsers object (handler=...)."""
    progress = subparsers.add_parser("progress", help="show flashcard and exercise progress")
    progress.add_argument("--db", default=None, help="progress store (default: $COURSE_LIB_PROGRESS_DB or the user data folder)")
    progress.add_argument("--decks", default="flashcards", help="deck folder or file (default: flashcards)")
    progress.set_defaults(handler=_plain_errors(_progress), command="progress")
    export = subparsers.add_parser("export-anki", help="export a deck (or the deck folder) to an Anki .apkg")
    export.add_argument("deck", help="a deck file (flashcards/01_dense_limits.yaml), its name without .yaml, or a folder")
    export.add_argument("-o", "--output", required=True, help="output file, e.g. convcourse.apkg")
    export.set_defaults(handler=_plain_errors(_export_anki), command="export-anki")


def main(argv=None) -> int:
    """Run these subcommands on their own: ``python -m course_lib.study.cli progress``."""
    parser = argparse.ArgumentParser(prog="python -m course_lib.study.cli")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
