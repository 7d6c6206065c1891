"""Grade hand-made student variants of a notebook through the real sandboxed autograder.

Lecture tests use this to show that their tests accept right answers and reject wrong ones:

    from tests.support.grading import cells_for, grade_all, variant
    nbs = {"right": variant("01-gradient-descent", {}),
           "off_by_one": variant("01-gradient-descent", {"gd_step": "def gd_step(...): ..."})}
    results = grade_all("01-gradient-descent", nbs)
    assert all(c.passed for c in cells_for(results["right"], "gd_step"))
    assert not any(c.passed for c in cells_for(results["off_by_one"], "gd_step"))

variant(assignment, answers, base="solution") -> NotebookNode
    The student release of the assignment with the answer cells named in `answers`
    (grade_id -> source) replaced. Other answer cells hold the model solution
    (base="solution", solution markers removed) or the release stub (base="release").
grade_all(assignment, variants, workers=2, limits=None) -> {name: SubmissionResult}
    Grades every variant with autograder.engine.grade_submission (sandboxed), in parallel.
cells_for(result, answer_id) -> [CellResult]
    The results of the test cells of one answer: grade ids answer_id + "_test*".
`assignment` is an assignment name under solutions/ or a path to a source notebook.
"""

from __future__ import annotations

import copy
import multiprocessing
import multiprocessing.util
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat

from autograder import course
from autograder.engine import CellResult, KernelPool, Limits, SubmissionResult, grade_submission
from autograder.notebooks import SOLUTION_MARKERS, grade_id, is_answer_cell, read_notebook

# Generous limits: lecture notebooks are graded whole; the defaults guard real batches.
TEST_LIMITS = Limits(cell_timeout=120.0, notebook_timeout=600.0)


def source_path(assignment: str | Path) -> Path:
    """The source notebook of an assignment name (the single notebook in solutions/<name>/)."""
    path = Path(assignment)
    if path.suffix == ".ipynb":
        return path
    notebooks = sorted((course.SOLUTIONS / str(assignment)).glob("*.ipynb"))
    if len(notebooks) != 1:
        raise ValueError(f"expected one notebook in solutions/{assignment}, found {len(notebooks)}")
    return notebooks[0]


def strip_solution_markers(text: str) -> str:
    return "\n".join(line for line in text.split("\n")
                     if line.strip() not in SOLUTION_MARKERS)


def answered(source: Path, answers: dict[str, str], base: str = "solution"):
    """The release of `source` with answer cells filled in (see variant)."""
    if base not in ("solution", "release"):
        raise ValueError(f"base must be 'solution' or 'release', not {base!r}")
    from autograder.engine import _release_cells

    src = read_notebook(source)
    release = copy.deepcopy(src)
    release.cells = _release_cells(src)
    unknown = set(answers) - {grade_id(c) for c in src.cells if is_answer_cell(c)}
    if unknown:
        raise ValueError(f"not answer cells of {source.name}: {sorted(unknown)}")
    for original, cell in zip(src.cells, release.cells, strict=True):
        gid = grade_id(original)
        if not is_answer_cell(original):
            continue
        if gid in answers:
            cell.source = answers[gid]
        elif base == "solution":
            cell.source = strip_solution_markers(original.source)
    return release


def variant(assignment: str | Path, answers: dict[str, str], base: str = "solution"):
    return answered(source_path(assignment), answers, base=base)


_POOLS: dict = {}


def _grade_one(args) -> SubmissionResult:
    """Grade in a worker process, with the next sandboxed kernel already booting."""
    source, nb, limits = args
    key = repr(limits)
    if key not in _POOLS:
        _POOLS[key] = KernelPool(limits)
        # Worker processes end with os._exit: multiprocessing's finalizers still run.
        multiprocessing.util.Finalize(None, _POOLS[key].close, exitpriority=10)
    return grade_submission(source, nb, limits=limits, kernel=_POOLS[key].take())


def grade_all(assignment: str | Path, variants: dict[str, nbformat.NotebookNode],
              workers: int = 2, limits: Limits | None = None) -> dict[str, SubmissionResult]:
    """Grade each variant through the sandboxed engine, `workers` at a time."""
    source = source_path(assignment)
    limits = limits or TEST_LIMITS
    names = list(variants)
    jobs = [(source, variants[name], limits) for name in names]
    if workers <= 1 or len(jobs) == 1:
        return {name: grade_submission(source, variants[name], limits=limits) for name in names}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        results = list(pool.map(_grade_one, jobs))
    return dict(zip(names, results, strict=True))


def cells_for(result: SubmissionResult, answer_id: str) -> list[CellResult]:
    """Results of the test cells belonging to `answer_id` (named answer_id + '_test...')."""
    prefix = answer_id + "_test"
    found = [cell for gid, cell in result.cells.items() if gid.startswith(prefix)]
    if not found:
        raise KeyError(f"no test cells named {prefix}* in the result")
    return found
