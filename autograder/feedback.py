"""Student feedback pages, rendered with nbgrader's own feedback template.

render_feedback(notebook, cells, score, max_score, assignment, student, notebook_name) -> str
    notebook: the graded notebook from SubmissionResult.notebook (student cells with outputs,
              test cells showing only their visible source plus a pass/fail output);
    cells:    {grade_id: {"points": float, "max_points": float, ...}} for every graded cell.
Returns one self-contained HTML page. The scores written into the cells' nbgrader metadata
are the ones nbgrader's GetGrades preprocessor would read back from the gradebook, so the
page is what `nbgrader generate_feedback` shows, without a database round trip per student.
The notebook is never re-read from the source, so hidden test code cannot appear here.
"""

from __future__ import annotations

import copy
import os
from functools import lru_cache

import nbformat

STUDENT_SAFE_PLACEHOLDER = "(this submission could not be shown)"


@lru_cache(maxsize=1)
def _exporter():
    import nbgrader
    from nbconvert.exporters import HTMLExporter
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from traitlets.config import Config

    formgrader = os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader")
    config = Config()
    config.HTMLExporter.template_name = "feedback"
    config.HTMLExporter.extra_template_basedirs = [os.path.join(formgrader, "templates")]
    config.HTMLExporter.extra_template_paths = [
        os.path.join(formgrader, "static", "node_modules", "bootstrap", "dist", "css")
    ]
    exporter = HTMLExporter(config=config)
    exporter.register_preprocessor(CSSHTMLHeaderPreprocessor(config=config), enabled=True)
    return exporter


def _with_scores(notebook, cells: dict) -> nbformat.NotebookNode:
    """A copy of `notebook` whose graded cells carry score/points, as GetGrades sets them."""
    nb = copy.deepcopy(notebook)
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader")
        if not meta:
            continue
        gid = meta.get("grade_id")
        if meta.get("solution") or meta.get("task"):
            meta["comment"] = None
        if meta.get("grade") or meta.get("task"):
            info = cells.get(gid, {})
            meta["score"] = float(info.get("points", 0.0))
            meta["points"] = float(info.get("max_points", meta.get("points", 0.0)) or 0.0)
    return nb


def message_notebook(message: str) -> nbformat.NotebookNode:
    """A one-cell notebook explaining why a submission has no graded notebook."""
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell(message or STUDENT_SAFE_PLACEHOLDER))
    return nb


def render_feedback(
    notebook,
    cells: dict,
    score: float,
    max_score: float,
    assignment: str,
    student: str,
    notebook_name: str,
) -> str:
    """HTML feedback page for one graded notebook (see module docstring)."""
    nb = _with_scores(notebook, cells)
    resources = {
        "nbgrader": {
            "student": student,
            "assignment": assignment,
            "notebook": notebook_name,
            "score": float(score),
            "max_score": float(max_score),
            "late_penalty": 0.0,
        }
    }
    html, _ = _exporter().from_notebook_node(nb, resources=resources)
    return html
