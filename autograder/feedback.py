"""Student feedback pages: nbgrader's feedback template, made safe to open offline.

render_feedback(notebook, cells, score, max_score, assignment, student, notebook_name) -> str
    notebook: the graded notebook from SubmissionResult.notebook (student cells with outputs,
              test cells showing only their visible source plus a pass/fail output);
    cells:    {grade_id: {"points": float, "max_points": float, ...}} for every graded cell.
Returns one self-contained HTML page. The scores written into the cells' nbgrader metadata
are the ones nbgrader's GetGrades preprocessor would read back from the gradebook, so the
page is what `nbgrader generate_feedback` shows, without a database round trip per student.
The notebook is never re-read from the source, so hidden test code cannot appear here.

Safety (every byte of the notebook is the student's): the notebook goes through
sanitize.safe_notebook first; every rendered markdown fragment (cells and text/markdown
outputs) is sanitised again after rendering (sanitize.safe_html); the page carries
sanitize.CONTENT_SECURITY_POLICY, which allows no script at all; names are escaped.
Maths needs no script and no network: $...$, $$...$$, \\(...\\), \\[...\\] and LaTeX
environments are converted to MathML (latex2mathml), which browsers render natively; a
formula latex2mathml cannot read is shown as its TeX source.
Manually graded cells without a grade yet (cells[gid]["needs_manual"]) read "awaiting
grading" instead of a score of 0.
"""

from __future__ import annotations

import copy
import html
import os
from functools import lru_cache
from pathlib import Path

import nbformat

from . import sanitize

STUDENT_SAFE_PLACEHOLDER = "(this submission could not be shown)"
TEMPLATES = Path(__file__).with_name("templates")


def math_to_mathml(tex: str, display: str) -> str:
    """MathML for one formula, or its escaped TeX source when it cannot be converted."""
    from latex2mathml.converter import convert

    try:
        return convert(tex, display=display)
    except Exception:  # any malformed formula: show what the student wrote
        delimiter = "$$" if display == "block" else "$"
        return f"<code>{html.escape(delimiter + tex + delimiter)}</code>"


def _renderer_class():
    from nbconvert.filters.markdown_mistune import IPythonRenderer

    class MathMLRenderer(IPythonRenderer):
        """nbconvert's markdown renderer with maths written as MathML (no MathJax)."""

        def block_math(self, body: str) -> str:
            return math_to_mathml(body, "block")

        def inline_math(self, body: str) -> str:
            return math_to_mathml(body, "inline")

        def latex_environment(self, name: str, body: str) -> str:
            return math_to_mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", "block")

    return MathMLRenderer


@lru_cache(maxsize=1)
def _exporter():
    import nbgrader
    from nbconvert.exporters import HTMLExporter
    from nbconvert.filters.markdown_mistune import MarkdownWithMath
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from traitlets.config import Config

    try:
        from jinja2 import pass_context
    except ImportError:  # jinja2 < 3
        from jinja2 import contextfilter as pass_context

    renderer_class = _renderer_class()

    class SafeFeedbackExporter(HTMLExporter):
        @pass_context
        def markdown2html(self, context, source):
            cell = context.get("cell", {})
            renderer = renderer_class(escape=False, attachments=cell.get("attachments", {}),
                                      exclude_anchor_links=True)
            return sanitize.safe_html(MarkdownWithMath(renderer=renderer).render(source))

    formgrader = os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader")
    config = Config()
    config.HTMLExporter.template_name = "safe_feedback"
    config.HTMLExporter.extra_template_basedirs = [
        str(TEMPLATES), os.path.join(formgrader, "templates")
    ]
    config.HTMLExporter.extra_template_paths = [
        os.path.join(formgrader, "static", "node_modules", "bootstrap", "dist", "css"),
        formgrader,  # our template extends templates/feedback/index.html.j2 from here
    ]
    exporter = SafeFeedbackExporter(config=config)
    exporter.register_preprocessor(CSSHTMLHeaderPreprocessor(config=config), enabled=True)
    return exporter


def _with_scores(notebook, cells: dict) -> tuple[nbformat.NotebookNode, float]:
    """A copy of `notebook` whose graded cells carry score/points, as GetGrades sets them,
    and the points of cells still awaiting manual grading."""
    nb = copy.deepcopy(notebook)
    awaiting = 0.0
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
            if info.get("needs_manual"):
                meta["awaiting_grading"] = True
                awaiting += meta["points"]
    return nb, awaiting


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
    nb, awaiting = _with_scores(sanitize.safe_notebook(notebook), cells)
    resources = {
        "csp_meta": sanitize.CSP_META,
        "nbgrader": {
            "student": student,
            "assignment": assignment,
            "notebook": notebook_name,
            "score": float(score),
            "max_score": float(max_score),
            "awaiting": awaiting,
            "late_penalty": 0.0,
        },
    }
    page, _ = _exporter().from_notebook_node(nb, resources=resources)
    return page
