"""Argument parsing for `python -m autograder`; each sub-command lives in its own module."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import course

DEFAULT_SUBMISSIONS = course.ROOT / "grading" / "submitted"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    release = commands.add_parser("release", help="regenerate course/ from solutions/")
    release.add_argument("assignment", nargs="?", default="all", help="assignment name or 'all'")
    release.add_argument(
        "--check", action="store_true", help="write nothing; fail if course/ is out of date"
    )

    importer = commands.add_parser(
        "import", help="sort an LMS download (folder or .zip) into SUBMISSIONS/<student>/<a>/"
    )
    importer.add_argument("assignment", help="assignment name (a folder of solutions/)")
    importer.add_argument("source", type=Path, help="folder or .zip of downloaded submissions")
    importer.add_argument("--roster", type=Path, help="CSV of students (id, optional names)")
    importer.add_argument("--submissions", type=Path, default=DEFAULT_SUBMISSIONS,
                          help="where to put the submissions (default: grading/submitted)")
    importer.add_argument("--source-root", type=Path, default=course.SOLUTIONS,
                          help=argparse.SUPPRESS)

    grade = commands.add_parser(
        "grade", help="grade every submission: grades.csv, feedback, report"
    )
    grade.add_argument("assignment", help="assignment name or 'all'")
    grade.add_argument("--submissions", type=Path, default=DEFAULT_SUBMISSIONS,
                       help="SUBMISSIONS/<student>/<assignment>/<notebook>.ipynb "
                            "(default: grading/submitted)")
    grade.add_argument("--out", type=Path, required=True,
                       help="output folder; use grading/ to fill the course gradebook")
    grade.add_argument("--workers", type=int, default=0,
                       help="submissions graded at once (default: number of CPUs)")
    grade.add_argument("--timeout", type=float, help="seconds allowed per cell (default 30)")
    grade.add_argument("--memory", type=int, help="MB of memory per submission (default 2048)")
    grade.add_argument("--force", action="store_true",
                       help="grade again even submissions already graded from the same bytes")
    grade.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://host:8786")
    grade.add_argument("--roster", type=Path,
                       help="CSV of students (default: the roster kept by import)")
    grade.add_argument("--unsafe", action="store_true",
                       help="run student code without the sandbox (only on a throwaway machine)")
    grade.add_argument("--source-root", type=Path, default=course.SOLUTIONS,
                       help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "release":
        from . import release

        return release.main(args.assignment, check=args.check)
    if args.command == "import":
        from .importer import import_submissions

        try:
            import_submissions(args.assignment, args.source, args.submissions,
                               roster_path=args.roster, source_root=args.source_root)
        except (ValueError, OSError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        return 0
    if args.command == "grade":
        from .pipeline import Options, RunAborted, run

        if args.workers < 0:
            print("error: --workers must be positive", file=sys.stderr)
            return 2
        options = Options(
            assignment=args.assignment, submissions=args.submissions, out=args.out,
            workers=args.workers, cell_timeout=args.timeout, memory_mb=args.memory,
            force=args.force, scheduler=args.scheduler, roster=args.roster,
            unsafe=args.unsafe, source_root=args.source_root,
        )
        try:
            return run(options)
        except (RunAborted, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    raise AssertionError(f"unhandled command {args.command}")
