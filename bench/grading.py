"""Benchmark: grading one class of 40 submissions four ways, in one run.

    python bench/grading.py                          # the autograder's fixture assignment
    python bench/grading.py --assignment 01-gradient-descent [--submissions 40] [--repeat 3]

(a) plain `nbgrader autograde` on an equivalent course directory (serial, in-kernel tests);
(b) `python -m autograder grade --workers 1`; (c) the same with --workers 2;
(d) the floor: bare nbclient execution of the same notebooks, total time / cores.
Submissions are a mix of correct, partially correct and blank copies of the release
notebook. Times are wall-clock for the whole command (start-up, environment check, gradebook
and feedback included). With --repeat N each configuration runs N times and the median is
shown. The last line is a one-line summary; targets: (a)/(c) >= 1.8 and (c)/(d) <= 1.3.
"""

from __future__ import annotations

import argparse
import copy
import csv
import functools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder import course  # noqa: E402
from autograder.notebooks import (  # noqa: E402
    SOLUTION_MARKERS,
    clear_outputs,
    is_answer_cell,
    read_notebook,
)

FIXTURE = ROOT / "tests" / "fixtures" / "autograde" / "source" / "fixture.ipynb"
KINDS = ("correct", "partial", "blank")


# ------------------------------------------------------------------------ class setup


def release_of(source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student copy, made by nbgrader's own release preprocessors."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearMarkScheme, ClearSolutions

    config = course.load_config()
    nb = copy.deepcopy(source)
    for step in (ClearSolutions, ClearHiddenTests, ClearMarkScheme):
        nb, _ = step(config=config).preprocess(nb, {})
    return clear_outputs(nb)


def solution_text(cell) -> str:
    lines = cell.source.splitlines()
    return "\n".join(line for line in lines if line.strip() not in SOLUTION_MARKERS)


def variant(source, release, kind: str) -> nbformat.NotebookNode:
    """correct: every answer filled in; partial: the first half; blank: the release."""
    nb = copy.deepcopy(release)
    answers = [i for i, cell in enumerate(source.cells)
               if is_answer_cell(cell) and cell.cell_type == "code"]
    keep = {"correct": answers, "partial": answers[: len(answers) // 2], "blank": []}[kind]
    for index in keep:
        nb.cells[index].source = solution_text(source.cells[index])
    return nb


def build_class(work: Path, source_path: Path, assignment: str, count: int) -> tuple[Path, str]:
    """work/course: nbgrader course dir (source/, submitted/, nbgrader_config.py)."""
    notebook = source_path.stem
    course_dir = work / "course"
    (course_dir / "source" / assignment).mkdir(parents=True)
    shutil.copy(source_path, course_dir / "source" / assignment / f"{notebook}.ipynb")
    for extra in source_path.parent.iterdir():  # data files the notebook reads
        if extra.is_file() and extra.suffix != ".ipynb":
            shutil.copy(extra, course_dir / "source" / assignment / extra.name)
    source = read_notebook(source_path)
    release = release_of(source)
    for number in range(count):
        kind = KINDS[number % len(KINDS)]
        folder = course_dir / "submitted" / f"s{number:03d}-{kind}" / assignment
        folder.mkdir(parents=True)
        nbformat.write(variant(source, release, kind), folder / f"{notebook}.ipynb")
    (course_dir / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course_dir)!r}\n"
        "c.CourseDirectory.course_id = 'bench'\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{course_dir}/gradebook.db'\n"
        "c.ClearSolutions.code_stub = "
        "{'python': '# YOUR CODE HERE\\nraise NotImplementedError()'}\n"
        "c.OverwriteCells.add_missing_cells = True\n"
        "c.Execute.timeout = 120\n"
    )
    return course_dir, notebook


# ---------------------------------------------------------------------------- runs


@functools.lru_cache(maxsize=1)
def same_work_environment() -> dict[str, str]:
    """The environment every configuration runs in. The autograder's kernels draw figures
    with the inline backend at 60 dpi (feedback keeps the student's figures, see
    autograder/sandbox.py), so the baselines do the same: every configuration does the
    same work."""
    rc_dir = Path(tempfile.mkdtemp(prefix="bench-mplrc-"))
    (rc_dir / "matplotlibrc").write_text("figure.dpi: 60\n")
    return {**course.quiet_environment(),
            "MPLBACKEND": "module://matplotlib_inline.backend_inline",
            "MATPLOTLIBRC": str(rc_dir / "matplotlibrc")}


def timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True,
                          env=same_work_environment())
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n"
                         f"{done.stderr[-3000:]}")
    return elapsed


def run_nbgrader(course_dir: Path, assignment: str) -> float:
    nbgrader = [sys.executable, "-m", "nbgrader"]
    timed(nbgrader + ["generate_assignment", assignment, "--force"], course_dir)
    shutil.rmtree(course_dir / "autograded", ignore_errors=True)
    return timed(nbgrader + ["autograde", assignment, "--force"], course_dir)


def run_autograder(course_dir: Path, assignment: str, workers: int, out: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    return timed([sys.executable, "-m", "autograder", "grade", assignment,
                  "--submissions", str(course_dir / "submitted"), "--out", str(out),
                  "--source-root", str(course_dir / "source"), "--workers", str(workers)],
                 ROOT)


def run_floor(course_dir: Path) -> float:
    """Serial nbclient execution of every submission as handed in (errors allowed)."""
    from nbclient import NotebookClient

    paths = sorted((course_dir / "submitted").rglob("*.ipynb"))
    saved = dict(os.environ)
    os.environ.update(same_work_environment())  # kernels inherit this environment
    try:
        started = time.perf_counter()
        for path in paths:
            nb = nbformat.read(path, as_version=4)
            NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                           resources={"metadata": {"path": str(path.parent)}}).execute()
        return time.perf_counter() - started
    finally:
        os.environ.clear()
        os.environ.update(saved)


def agreement(course_dir: Path, assignment: str, out: Path) -> tuple[int, int]:
    """Students whose automatic score is the same under nbgrader and the autograder."""
    from nbgrader.api import Gradebook

    with open(out / "grades.csv", newline="") as handle:
        ours = {row["student_id"]: float(row["score"]) for row in csv.DictReader(handle)}
    same = 0
    with Gradebook(f"sqlite:///{course_dir}/gradebook.db") as gb:
        for student, score in ours.items():
            theirs = gb.find_submission(assignment, student).code_score
            same += abs(theirs - score) < 1e-9
    return same, len(ours)


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", help="an assignment of solutions/ (default: fixture)")
    parser.add_argument("--submissions", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=1, help="runs per configuration")
    args = parser.parse_args()

    if args.assignment:
        sources = sorted((course.SOLUTIONS / args.assignment).glob("*.ipynb"))
        if len(sources) != 1:
            raise SystemExit(f"{args.assignment}: expected one notebook in solutions/")
        source_path, assignment = sources[0], args.assignment
    else:
        source_path, assignment = FIXTURE, "fixture"
    cores = os.cpu_count() or 1
    work = Path(tempfile.mkdtemp(prefix="nnlab-bench-"))
    try:
        course_dir, _ = build_class(work, source_path, assignment, args.submissions)
        results: dict[str, list[float]] = {key: [] for key in "abcd"}
        for _ in range(args.repeat):
            results["a"].append(run_nbgrader(course_dir, assignment))
            results["b"].append(run_autograder(course_dir, assignment, 1, work / "out1"))
            results["c"].append(run_autograder(course_dir, assignment, 2, work / "out2"))
            results["d"].append(run_floor(course_dir) / cores)
        same, total = agreement(course_dir, assignment, work / "out2")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    labels = {
        "a": "(a) nbgrader autograde",
        "b": "(b) autograder --workers 1",
        "c": "(c) autograder --workers 2",
        "d": f"(d) floor: nbclient / {cores} cores",
    }
    median = {key: statistics.median(values) for key, values in results.items()}
    n = args.submissions
    print(f"assignment {assignment}: {n} submissions ({', '.join(KINDS)}), "
          f"{cores} cores, {args.repeat} run(s) each")
    print(f"{'configuration':34s} {'median s':>9s} {'s/submission':>13s}  runs")
    for key in "abcd":
        runs = " ".join(f"{value:.1f}" for value in results[key])
        print(f"{labels[key]:34s} {median[key]:9.1f} {median[key] / n:13.2f}  {runs}")
    speedup = median["a"] / median["c"]
    overhead = median["c"] / median["d"]
    print(f"(a)/(c) = {speedup:.2f}  (target >= 1.8)")
    print(f"(c)/(d) = {overhead:.2f}  (target <= 1.3)")
    print(f"automatic scores equal to nbgrader's: {same}/{total}")
    verdict = "met" if speedup >= 1.8 and overhead <= 1.3 else "NOT met"
    print(f"summary: {n} submissions of {assignment}: nbgrader {median['a']:.1f} s, "
          f"autograder 2 workers {median['c']:.1f} s ({speedup:.2f}x faster, "
          f"{overhead:.2f}x the floor of {median['d']:.1f} s); targets {verdict}")


if __name__ == "__main__":
    main()
