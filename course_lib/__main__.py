"""Command line: ``python -m course_lib doctor | progress | export-anki ...``."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m course_lib", description="convcourse helper commands")
    sub = parser.add_subparsers(dest="command", required=True)
    doctor = sub.add_parser("doctor", help="check that this machine can run the course")
    doctor.set_defaults(handler=lambda args: _doctor())
    try:
        from course_lib.study import cli as study_cli
    except Exception as error:  # keep `doctor` usable even when the study package cannot load
        print(f"warning: flashcard commands unavailable ({type(error).__name__}: {error})", file=sys.stderr)
    else:
        study_cli.register(sub)  # progress, export-anki
    return parser


def _doctor() -> int:
    from course_lib.doctor import main

    return main()


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
