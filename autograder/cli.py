"""Argument parsing for `python -m autograder`; each sub-command lives in its own module."""

from __future__ import annotations

import argparse
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    release = commands.add_parser("release", help="regenerate course/ from solutions/")
    release.add_argument("assignment", nargs="?", default="all", help="assignment name or 'all'")
    release.add_argument(
        "--check", action="store_true", help="write nothing; fail if course/ is out of date"
    )
    release.add_argument(
        "--root", type=Path, default=None, help="course root holding solutions/ and course/"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "release":
        from . import release
        from .course import ROOT

        return release.main(args.assignment, check=args.check, root=args.root or ROOT)
    raise AssertionError(f"unhandled command {args.command}")
