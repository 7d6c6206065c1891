"""OUT/report.html: one self-contained page summarising a grading run.

write_report(path, rows, columns, slowest)
    rows:    the grades.csv rows (dicts with student_id, assignment, score, max_score, status,
             message and one key per graded-cell column);
    columns: {assignment: [(column name, max points), ...]} in notebook order;
    slowest: [(seconds, student, assignment), ...], slowest first.
Histograms (matplotlib, Agg backend) are embedded as base64 PNG, so the file can be mailed
or opened offline. Counts by status and the slowest submissions follow, then every
submission that needs a look: any status but ok, missing submissions included.
Means and histograms are over graded submissions (every status but missing), as formgrader
averages; the page says so. Student ids, file names and messages come from submissions:
every field is escaped, and the page carries sanitize.CONTENT_SECURITY_POLICY (no script).
"""

from __future__ import annotations

import base64
import html
import io
from collections import Counter
from pathlib import Path

from .sanitize import CSP_META

STATUSES = ("ok", "timeout", "error", "invalid", "missing")


def _histogram_png(values: list[float], maximum: float, title: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4.0, 2.4), dpi=80)
    axes = figure.add_subplot()
    top = maximum if maximum > 0 else max(values + [1.0])
    bins = min(20, max(2, int(round(top)) + 1)) if top <= 20 else 20
    axes.hist(values, bins=bins, range=(0, top), color="#4477aa", edgecolor="white")
    axes.set_title(title, fontsize=9)
    axes.set_xlabel("points", fontsize=8)
    axes.set_ylabel("students", fontsize=8)
    axes.tick_params(labelsize=7)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _cell(value) -> str:
    return f"<td>{html.escape(str(value))}</td>"


def _img(values, maximum, title) -> str:
    data = _histogram_png([float(v) for v in values], float(maximum), title)
    return f'<img alt="{html.escape(title)}" src="data:image/png;base64,{data}">'


def write_report(path: Path, rows: list[dict], columns: dict, slowest: list) -> None:
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'>{CSP_META}"
        "<title>Grading report</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 8px}img{margin:4px}</style></head><body>",
        "<h1>Grading report</h1>",
    ]
    counts = Counter(row["status"] for row in rows)
    parts.append("<h2>Submissions by status</h2><table><tr><th>status</th><th>count</th></tr>")
    for status in STATUSES:
        parts.append(f"<tr>{_cell(status)}{_cell(counts.get(status, 0))}</tr>")
    parts.append(f"<tr><th>total</th><th>{len(rows)}</th></tr></table>")

    for assignment, cols in columns.items():
        mine = [row for row in rows if row["assignment"] == assignment]
        graded = [row for row in mine if row["status"] != "missing"]
        maximum = max((float(row["max_score"] or 0) for row in mine), default=0.0)
        parts.append(f"<h2>{html.escape(assignment)}</h2>")
        mean = sum(float(r["score"]) for r in graded) / len(graded) if graded else float("nan")
        parts.append(
            f"<p>{len(graded)} graded of {len(mine)} students; "
            f"mean score {mean:.2f} / {maximum:g} (mean over the {len(graded)} graded "
            "submissions; missing submissions are not counted, as in formgrader)</p>"
        )
        parts.append(_img([row["score"] for row in graded], maximum, f"{assignment}: total"))
        parts.append("<h3>Per exercise</h3><div>")
        for column, points in cols:
            values = [row.get(column) or 0 for row in graded]
            parts.append(_img(values, points, column))
        parts.append("</div>")

    parts.append("<h2>Slowest submissions</h2><table><tr><th>seconds</th><th>student</th>"
                 "<th>assignment</th></tr>")
    for seconds, student, assignment in slowest:
        parts.append(
            f"<tr>{_cell(f'{seconds:.1f}')}{_cell(student)}{_cell(assignment)}</tr>"
        )
    parts.append("</table>")
    problems = [row for row in rows if row["status"] != "ok"]
    if problems:
        parts.append("<h2>Submissions that need a look</h2><table><tr><th>student</th>"
                     "<th>assignment</th><th>status</th><th>message</th></tr>")
        for row in problems:
            parts.append(
                "<tr>" + "".join(
                    _cell(row.get(key, ""))
                    for key in ("student_id", "assignment", "status", "message")
                ) + "</tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>")
    Path(path).write_text("\n".join(parts), encoding="utf-8")
