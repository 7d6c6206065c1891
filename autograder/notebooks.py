"""Reading, checking and normalising notebooks, shared by release and grading.

A "source notebook" is an instructor notebook in solutions/ with nbgrader markup:
  - answer cells:  metadata.nbgrader.solution = True   (code between BEGIN/END SOLUTION)
  - test cells:    metadata.nbgrader.grade = True, solution = False, with points
                   (hidden part between BEGIN/END HIDDEN TESTS)
  - manual cells:  grade = True and solution = True (Markdown answers, with points)
  - locked cells:  metadata.nbgrader.locked = True
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN_MARKERS = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
MARK_SCHEME_MARKERS = ("=== BEGIN MARK SCHEME ===", "=== END MARK SCHEME ===")


class NotebookProblem(ValueError):
    """A notebook is malformed; the message names the file and, where it can, the cell."""


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def grade_id(cell) -> str | None:
    return nbgrader_meta(cell).get("grade_id")


def is_test_cell(cell) -> bool:
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade")) and not meta.get("solution") and cell.cell_type == "code"


def is_answer_cell(cell) -> bool:
    return bool(nbgrader_meta(cell).get("solution"))


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Parse `path` as an nbformat-4 notebook, raising NotebookProblem naming the file."""
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise NotebookProblem(
            f"{path}: not UTF-8 text ({error.reason} at byte {error.start})"
        ) from None
    if not text.strip():
        raise NotebookProblem(f"{path}: the file is empty")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise NotebookProblem(f"{path}: invalid JSON at line {error.lineno}: {error.msg}") from None
    if not isinstance(raw, dict) or "cells" not in raw and "worksheets" not in raw:
        raise NotebookProblem(f"{path}: JSON is not a notebook (no 'cells')")
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as error:  # nbformat raises several unrelated types
        raise NotebookProblem(f"{path}: not a readable notebook: {error}") from None
    return nb


def cell_label(index: int, cell) -> str:
    gid = grade_id(cell)
    return f"cell {index}" + (f" (grade_id {gid!r})" if gid else "")


def check_source_notebook(path: Path) -> nbformat.NotebookNode:
    """Validate an instructor source notebook; return it, or raise NotebookProblem."""
    nb = read_notebook(path)
    seen: dict[str, int] = {}
    for index, cell in enumerate(nb.cells):
        source = cell.get("source", "")
        meta = nbgrader_meta(cell)
        markers = [m for m in SOLUTION_MARKERS + HIDDEN_MARKERS if m in source]
        if markers and not meta:
            raise NotebookProblem(
                f"{path}: cell {index} contains {markers[0]!r} but has no nbgrader metadata; "
                "mark it as an answer or test cell in the nbgrader toolbar"
            )
        if any(m in source for m in SOLUTION_MARKERS) and meta and not meta.get("solution"):
            raise NotebookProblem(
                f"{path}: {cell_label(index, cell)} has solution markers but is not a solution cell"
            )
        if any(m in source for m in MARK_SCHEME_MARKERS) and not meta.get("task"):
            raise NotebookProblem(
                f"{path}: {cell_label(index, cell)} has a mark scheme, which nbgrader allows only "
                "in task cells; put the rubric inside the answer cell's solution region"
            )
        if not meta:
            continue
        gid = meta.get("grade_id")
        if not gid and (meta.get("grade") or meta.get("solution") or meta.get("locked")):
            raise NotebookProblem(f"{path}: cell {index} has nbgrader metadata but no grade_id")
        if gid in seen:
            raise NotebookProblem(
                f"{path}: duplicate grade_id {gid!r} in cells {seen[gid]} and {index}"
            )
        seen[gid] = index
        if meta.get("grade"):
            points = meta.get("points")
            if not isinstance(points, (int, float)) or points <= 0:
                raise NotebookProblem(
                    f"{path}: {cell_label(index, cell)} is graded but has no positive points"
                )
    return nb


def clear_outputs(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove outputs, execution counts and run-time metadata, in place; return `nb`."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for key in ("execution", "collapsed", "scrolled"):
            cell.metadata.pop(key, None)
    nb.metadata.pop("widgets", None)
    return nb


def normalized_bytes(nb: nbformat.NotebookNode) -> bytes:
    """The canonical stored form of a notebook: cleared, sorted keys, one-space indent."""
    clear_outputs(nb)
    return (nbformat.writes(nb, version=4) + "\n").encode("utf-8")
