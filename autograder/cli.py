"""Argument parsing for `python -m autograder`; each sub-command lives in its own module."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import course

GRADING = course.ROOT / "grading"  # git-ignored workspace for everything about students
DEFAULT_SUBMISSIONS = GRADING / "submitted"
DEFAULT_GRADEBOOK = GRADING / "gradebook.db"
LMS_FORMATS = ("canvas", "moodle", "blackboard", "d2l")


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

    export = commands.add_parser(
        "export", help="grades from the gradebook (manual scores included) for an LMS"
    )
    export.add_argument("assignment", help="assignment name or 'all'")
    export.add_argument("--format", required=True, choices=(*LMS_FORMATS, "csv"),
                        help="the LMS to upload to, or csv for grade's grades.csv layout")
    export.add_argument("--roster", type=Path,
                        help="the class list the LMS exported (Canvas gradebook CSV, Moodle "
                             "grading worksheet, ...); default: the roster kept by import")
    export.add_argument("--out", type=Path,
                        help="file to write (default: grading/export/ASSIGNMENT-FORMAT.csv; "
                             "grading/grades.csv for csv)")
    export.add_argument("--gradebook", type=Path, default=DEFAULT_GRADEBOOK,
                        help="nbgrader gradebook (default: grading/gradebook.db)")
    export.add_argument("--missing", choices=("zero", "blank"), default="zero",
                        help="a student without a submission: 0 (default, as nbgrader "
                             "export) or an empty cell (the LMS's missing-work policy applies)")
    export.add_argument("--allow-ungraded", action="store_true",
                        help="export even though written answers are not graded yet (as 0)")
    export.add_argument("--source-root", type=Path, default=course.SOLUTIONS,
                        help=argparse.SUPPRESS)

    bundle = commands.add_parser(
        "bundle", help="the student distribution: course/, nnlab, set-up; no solutions"
    )
    bundle.add_argument("assignment", nargs="?", default="all",
                        help="assignment released so far ('all', or names separated by commas)")
    bundle.add_argument("--out", type=Path, required=True,
                        help="a folder to create, or a .zip file")
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
            status = run(options)
        except (RunAborted, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        return status or _after_grading(args)
    if args.command == "export":
        return _export(args)
    if args.command == "bundle":
        from .bundle import BundleProblem, build_bundle

        try:
            path = build_bundle(args.assignment, args.out)
        except BundleProblem as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(f"wrote the student bundle {path}; hand it out as described in its README.md")
        return 0
    raise AssertionError(f"unhandled command {args.command}")


def _after_grading(args) -> int:
    """Refresh grades.csv from the gradebook (manual scores kept) and say what comes next."""
    from .export import ExportProblem, read_gradebook, write_grades_csv

    out = Path(args.out)
    assignments = course.resolve_assignments(args.assignment, Path(args.source_root))
    try:
        data = read_gradebook(out / "gradebook.db", assignments)
        write_grades_csv(out / "grades.csv", out / "gradebook.db", args.source_root,
                         assignments, out / "state.jsonl", data=data)
    except ExportProblem as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    waiting = sum(result.awaiting for result in data.results.values())
    gradebook = "" if out.resolve() == GRADING.resolve() else f" --gradebook {out / 'gradebook.db'}"
    export = (f"python -m autograder export {args.assignment} --format "
              f"canvas|moodle|blackboard|d2l --roster grading/roster.csv{gradebook}")
    print("next:")
    if waiting:
        where = ("jupyter lab → Formgrader" if not gradebook else
                 "formgrader reads grading/gradebook.db, so grade with --out grading to "
                 "mark them there")
        print(f"  {waiting} written answers wait in formgrader: {where}")
        print(f"  then: {export}")
    else:
        print(f"  {export}")
    return 0


def _export(args) -> int:
    from .export import export
    from .rosters import default_roster_path

    assignments = course.resolve_assignments(args.assignment, Path(args.source_root))
    gradebook = Path(args.gradebook)
    out = args.out
    if out is None:
        out = (gradebook.parent / "grades.csv" if args.format == "csv" else
               gradebook.parent / "export" / f"{args.assignment}-{args.format}.csv")
    roster = args.roster
    if roster is None and args.format != "csv":
        kept = default_roster_path(DEFAULT_SUBMISSIONS)
        roster = kept if kept.is_file() else None
    try:
        summary = export(args.format, assignments, gradebook, out, roster_path=roster,
                         missing=args.missing, allow_ungraded=args.allow_ungraded,
                         source_root=Path(args.source_root),
                         state_path=gradebook.parent / "state.jsonl")
    except ValueError as error:  # ExportProblem, or a malformed roster
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {summary.rows} students to {summary.path}")
    for note in summary.notes:
        print(f"  note: {note}")
    if summary.not_on_roster:
        print(f"  not on the LMS roster, so not in the file: {', '.join(summary.not_on_roster)}",
              file=sys.stderr)
    return 0
