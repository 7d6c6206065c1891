"""`python -m autograder release [ASSIGNMENT|all] [--check]`: regenerate course/ from solutions/.

The student notebooks are produced by nbgrader's own generate_assignment, then normalised
(outputs and execution counts cleared, stable JSON formatting) so that the same source always
gives byte-identical release files. With --check nothing is written; the command exits 1 and
names every release notebook that differs from what its source would generate.

A malformed source (invalid JSON, solution or hidden-test markers in a cell without nbgrader
metadata, duplicate grade ids, a graded cell without points) stops the release of that
assignment with a message naming the file and the cell; course/ is left untouched.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

from . import course
from .notebooks import NotebookProblem, check_source_notebook, normalized_bytes


class ReleaseError(Exception):
    """The release of one assignment could not be generated; the message says why."""


def generate(
    assignment: str, out_dir: Path, db_url: str | None = None, root: Path = course.ROOT
) -> dict[str, bytes]:
    """Generate the student release of `assignment` (from root/solutions) into `out_dir`.

    Returns {relative path: file bytes} for every file of the release. Notebooks are
    normalised. Raises ReleaseError naming the file and cell for a malformed source.
    """
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    source_dir = root / "solutions" / assignment
    for path in sorted(source_dir.glob("*.ipynb")):
        try:
            check_source_notebook(path)
        except NotebookProblem as problem:
            raise ReleaseError(str(problem)) from None

    with tempfile.TemporaryDirectory(prefix="nnlab-release-") as scratch:
        scratch_path = Path(scratch)
        config = course.load_config(
            CourseDirectory={
                "root": str(root),
                "release_directory": str(scratch_path / "release"),
                "db_url": db_url or f"sqlite:///{scratch_path / 'gradebook.db'}",
            }
        )
        coursedir = CourseDirectory(config=config)
        api = NbGraderAPI(coursedir=coursedir, config=config)
        result = api.generate_assignment(assignment, force=True, create=True)
        if not result.get("success"):
            detail = (result.get("error") or result.get("log") or "").strip().splitlines()
            reason = detail[-1] if detail else "unknown error"
            raise ReleaseError(f"{source_dir}: nbgrader generate_assignment failed: {reason}")

        generated = scratch_path / "release" / assignment
        files: dict[str, bytes] = {}
        for path in sorted(generated.rglob("*")):
            if not path.is_file() or ".ipynb_checkpoints" in path.parts:
                continue
            rel = path.relative_to(generated).as_posix()
            data = path.read_bytes()
            if path.suffix == ".ipynb":
                data = normalized_bytes(nbformat.reads(data.decode("utf-8"), as_version=4))
            files[rel] = data

    out_dir.mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        target = out_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return files


def release(assignment: str, db_url: str | None = None, root: Path = course.ROOT) -> None:
    """Regenerate course/<assignment>/ from solutions/<assignment>/, replacing it whole.

    The new release is generated into a staging folder first, so a failure leaves the
    previous release untouched.
    """
    release_root = root / "course"
    release_root.mkdir(exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{assignment}.", dir=release_root))
    try:
        generate(assignment, staging, db_url=db_url, root=root)
        target = release_root / assignment
        backup = release_root / f".{assignment}.old"
        if backup.exists():
            shutil.rmtree(backup)
        if target.exists():
            target.rename(backup)
        staging.rename(target)
        shutil.rmtree(backup, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def stale_files(
    assignment: str, root: Path = course.ROOT, db_url: str | None = None
) -> list[str]:
    """Release files of `assignment` that differ from what solutions/ would generate.

    Returns one line per stale file: differing, missing, or not generated at all.
    """
    with tempfile.TemporaryDirectory(prefix="nnlab-check-") as scratch:
        expected = generate(assignment, Path(scratch) / assignment, db_url=db_url, root=root)
    released_dir = root / "course" / assignment
    stale = []
    for rel, data in expected.items():
        path = released_dir / rel
        if not path.is_file():
            stale.append(f"course/{assignment}/{rel} (missing)")
        elif path.read_bytes() != data:
            stale.append(f"course/{assignment}/{rel} (differs from solutions/{assignment})")
    if released_dir.is_dir():
        for path in sorted(released_dir.rglob("*")):
            rel = path.relative_to(released_dir).as_posix()
            if path.is_file() and rel not in expected and ".ipynb_checkpoints" not in path.parts:
                stale.append(f"course/{assignment}/{rel} (not generated from solutions/)")
    return stale


def main(assignment: str, check: bool, root: Path = course.ROOT) -> int:
    names = course.resolve_assignments(assignment, root / "solutions")
    if not names:
        print("no assignments found in solutions/", file=sys.stderr)
        return 1
    failures = 0
    # One scratch gradebook for the whole check: creating a gradebook costs seconds.
    scratch = tempfile.TemporaryDirectory(prefix="nnlab-check-db-")
    check_db = f"sqlite:///{Path(scratch.name) / 'gradebook.db'}"
    for name in names:
        try:
            if check:
                stale = stale_files(name, root=root, db_url=check_db)
                for line in stale:
                    print(f"stale: {line}", file=sys.stderr)
                failures += bool(stale)
                if not stale:
                    print(f"{name}: course/ is in sync")
            else:
                release(name, db_url=gradebook_url() if root == course.ROOT else None, root=root)
                print(f"{name}: released to course/{name}")
        except ReleaseError as error:
            print(f"error: {error}", file=sys.stderr)
            failures += 1
    scratch.cleanup()
    if check and failures:
        print("run `python -m autograder release all` to regenerate course/", file=sys.stderr)
    return 1 if failures else 0


def gradebook_url() -> str:
    """The course gradebook (in the git-ignored grading/ workspace), created on first use.

    Releasing registers each assignment there, as plain `nbgrader generate_assignment` does,
    so `nbgrader db assignment list` and formgrader know every released assignment.
    """
    url = course.load_config().CourseDirectory.db_url
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    return url
