"""Submission content made safe to render: each payload is neutralised, each honest element kept.

The markdown checks render the sanitised source with nbconvert's markdown renderer (the one
formgrader and our feedback pages use) and inspect the resulting HTML with the standard
library's parser: no element outside a small inert set, no event-handler attribute, no URL
with an executable scheme. The payloads are the ones a student would try first.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import re
import struct
import time
import zlib
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from nbconvert.filters.markdown_mistune import markdown2html_mistune
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograder import sanitize
from autograder.feedback import render_feedback
from autograder.report import write_report

ACTIVE_ELEMENTS = {"script", "svg", "iframe", "object", "embed", "style", "link", "meta", "form",
                   "input", "button", "textarea", "base", "frame", "frameset", "math", "video",
                   "audio", "template", "noscript", "xmp", "plaintext", "select", "option"}
EXECUTABLE_SCHEMES = ("javascript:", "vbscript:", "data:text", "data:image/svg", "file:")

MARKDOWN_PAYLOADS = [
    "<img src=x onerror=alert(1)>",
    "<IMG SRC=x OnError=alert(1)>",
    "<script>alert(1)</script>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mi><style><img src=x onerror=alert(1)></style></mi></math>",
    "<details open ontoggle=alert(1)>x</details>",
    "<details open ontoggle=alert(1)\n\nthe tag is never closed",
    "<div\n<img src=x onerror=alert(1)\n",
    "<a href=\"javascript:alert(1)\">click</a>",
    "<a href=\"jav&#x09;ascript:alert(1)\">click</a>",
    "<iframe src=\"javascript:alert(1)\"></iframe>",
    "<object data=\"data:text/html,<script>alert(1)</script>\"></object>",
    "<form action=\"https://evil.example\"><button>go</button></form>",
    "<style>body{background:url(https://evil.example)}</style>",
    "<p style=\"background:url(https://evil.example)\">styled</p>",
    "<!-- <script>alert(1)</script> -->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "[click](javascript:alert(1))",
    "[click]( javascript:alert(1) )",
    "[click](<javascript:alert(1)>)",
    "[click](&#106;avascript:alert(1))",
    "[click](java\\script:alert(1))",
    "[click](JAVASCRIPT:alert(1))",
    "![pic](javascript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![pic](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "[ref]: javascript:alert(1)\n\n[click][ref]",
    "<javascript:alert(1)>",
    "<https://x.example/a/onfocus=alert(1)/autofocus/tabindex=1>",
    "$<img src=x onerror=alert(1)>$",
    "`<img src=x onerror=alert(1)>`",
    "```\n<img src=x onerror=alert(1)>\n```",
    "$$\n</p><img src=x onerror=alert(1)>\n$$",
    "<img src=\"data:image/png;base64,iVBORw0KGgo=\" width=\"1 onerror=alert(1)\">",
    "<img alt=\"<img src=x onerror=alert(1)>\" src=\"data:image/png;base64,iVBORw0KGgo=\">",
    "<a href=\"https://ok.example\" onclick=\"alert(1)\">ok</a>",
]


class Inspector(HTMLParser):
    """Collects what a browser would treat as active in an HTML fragment."""

    def __init__(self, allowed: frozenset):
        super().__init__(convert_charrefs=True)
        self.allowed = allowed
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ACTIVE_ELEMENTS - self.allowed:
            self.problems.append(f"element <{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name in ("style", "srcdoc", "formaction"):
                self.problems.append(f"attribute {name} on <{tag}>")
            url = re.sub(r"[\x00-\x20]", "", value or "").lower()
            if name in ("href", "src", "action", "data") and url.startswith(EXECUTABLE_SCHEMES):
                self.problems.append(f"{name}={value!r} on <{tag}>")

    handle_startendtag = handle_starttag

    def handle_comment(self, data):
        self.problems.append("comment")


def active_content(fragment: str, allowed: frozenset = frozenset()) -> list[str]:
    """What is active in `fragment`; `allowed`: elements we emit ourselves (MathML)."""
    inspector = Inspector(allowed)
    inspector.feed(fragment)
    inspector.close()
    return inspector.problems


def rendered(markdown: str) -> str:
    return markdown2html_mistune(markdown)


@pytest.mark.parametrize("payload", [
    "<img src=x onerror=alert(1)>", "<script>alert(1)</script>", "<svg onload=alert(1)>",
    "<details open ontoggle=alert(1)>x</details>", "<a href=\"javascript:alert(1)\">click</a>",
    "[click](javascript:alert(1))", "![pic](javascript:alert(1))",
    "[ref]: javascript:alert(1)\n\n[click][ref]", "<!-- <script>alert(1)</script> -->",
])
def test_without_sanitising_the_payload_reaches_the_page_active(payload):
    """The renderer passes these through: the inspector below is not vacuous."""
    assert active_content(rendered(payload)) != []


@pytest.mark.parametrize("payload", MARKDOWN_PAYLOADS)
def test_markdown_payload_renders_inert(payload):
    assert active_content(rendered(sanitize.safe_markdown(payload))) == []


@pytest.mark.parametrize("payload", MARKDOWN_PAYLOADS)
def test_markdown_payload_is_inert_even_as_plain_html(payload):
    """Whatever a renderer takes for code or maths, the source itself holds no active tag."""
    assert active_content(sanitize.safe_markdown(payload)) == []


@pytest.mark.parametrize("payload", MARKDOWN_PAYLOADS)
def test_sanitising_twice_changes_nothing_more(payload):
    """The autograded notebook is sanitised, then sanitised again for its feedback page."""
    once = sanitize.safe_markdown(payload)
    assert sanitize.safe_markdown(once) == once


def test_honest_markdown_keeps_its_text_maths_and_syntax():
    source = ("# Results\n\nThe loss *falls* when $a < b$ and **rises** when "
              "$$\\sum_i w_i > 1$$.\n\n"
              "> a quote with a > b\n\n1. first & second\n2. `x < y` in code\n\n"
              "| a | b |\n|---|---|\n| 1 | 2 |\n\n"
              "<b>bold</b>, <sup>2</sup> and <img src=\"data:image/png;base64,iVBORw0KGgo=\">\n\n"
              "[docs](https://numpy.org) and ![plot](figures/plot.png)\n\n"
              "```python\nif x < y and y > z:\n    pass\n```\n")
    cleaned = sanitize.safe_markdown(source)
    assert cleaned == source  # nothing in honest markdown needs changing
    page = rendered(cleaned)
    assert "<em>falls</em>" in page and "<strong>rises</strong>" in page
    assert "$a &lt; b$" in page  # maths reaches the maths renderer intact
    assert "<blockquote>" in page and "<table>" in page and "<ol>" in page
    assert '<a href="https://numpy.org">' in page


def test_tag_starts_inside_maths_and_code_only_gain_a_space():
    assert sanitize.safe_markdown("$0<b>1$") == "$0< b>1$"  # the same formula in TeX
    assert sanitize.safe_markdown("`if x<y:`") == "`if x< y:`"


def test_tex_commands_that_mathjax_makes_active_are_shown_as_names():
    cleaned = sanitize.safe_markdown(r"$\href{javascript:alert(1)}{x} + \style{color:red}{y}$")
    assert cleaned == r"$\mathrm{href}{javascript:alert(1)}{x} + \mathrm{style}{color:red}{y}$"
    assert sanitize.safe_markdown(r"`\href{a}`") == r"`\href{a}`"  # code stays as written


@pytest.mark.parametrize("unit", ["\\[ ", "$$ a ", "$a ", "`` a ` ", "\\begin{x} ", "<a b ",
                                  "<a x=\"", "[x](javascript:a) ", "a<b "])
def test_sanitising_time_grows_linearly_with_hostile_repetition(unit):
    """An unclosed opener is never searched for twice: 4x the text takes about 4x the time;
    a scan from every opener to the end (the first version) took 16x to 19x."""
    def seconds(repeats: int) -> float:
        text = unit * repeats
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            sanitize.safe_markdown(text)
            best = min(best, time.perf_counter() - started)
        return best

    small = 20_000 // len(unit)
    assert seconds(4 * small) < 12 * seconds(small)


def test_forbidden_link_becomes_a_same_page_fragment_and_text_survives():
    cleaned = sanitize.safe_markdown("see [the notes](javascript:alert(1)) here")
    assert "see [the notes](#javascript:alert(1)) here" == cleaned


def test_safe_html_keeps_tables_and_images_drops_script():
    table = ("<table class='dataframe'><thead><tr><th>a</th></tr></thead><tbody><tr>"
             "<td onclick='alert(1)'>1</td></tr></tbody></table>"
             "<style>td{color:red}</style><script>alert(1)</script>")
    cleaned = sanitize.safe_html(table)
    assert "<td>1</td>" in cleaned and "<th>a</th>" in cleaned
    assert "script" not in cleaned and "style" not in cleaned and "onclick" not in cleaned


# ---------------------------------------------------------------------------- outputs


def png_bytes(width: int = 2, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


PNG = base64.b64encode(png_bytes()).decode()
JPEG = base64.b64encode(b"\xff\xd8\xff\xe0" + b"\x00" * 16).decode()


def display(data: dict, metadata: dict | None = None):
    return new_output("display_data", data=data, metadata=metadata or {})


def test_active_output_types_are_dropped_with_a_note():
    outputs = sanitize.safe_outputs([
        display({"application/javascript": "window.__pwned = 1"}),
        display({"image/svg+xml": "<svg onload='window.__pwned=1'/>", "text/plain": "<Figure>"}),
        display({"application/vnd.jupyter.widget-view+json": {"model_id": "x"},
                 "text/plain": "IntSlider(value=1)"}),
        display({"application/x-unknown": "?"}),
    ])
    assert [sorted(o.data) for o in outputs] == [["text/plain"]] * 4
    assert "application/javascript" in outputs[0].data["text/plain"]
    assert outputs[1].data["text/plain"].startswith("<Figure>")
    assert "image/svg+xml" in outputs[1].data["text/plain"]
    assert outputs[2].data["text/plain"].startswith("IntSlider(value=1)")


def test_html_output_is_sanitised_and_images_are_kept():
    outputs = sanitize.safe_outputs([
        display({"text/html": "<b>ok</b><img src=x onerror=alert(1)>"}),
        display({"image/png": PNG, "text/plain": "<Figure size 640x480>"},
                {"image/png": {"width": 320, "height": "1 onerror=alert(1)"}}),
        display({"image/jpeg": JPEG}),
    ])
    assert outputs[0].data["text/html"] == '<b>ok</b><img src="x">'
    assert outputs[1].data["image/png"] == PNG
    assert outputs[1].metadata == {"image/png": {"width": 320}}
    assert outputs[2].data["image/jpeg"] == JPEG


@pytest.mark.parametrize("bad", ["not base64 at all!", base64.b64encode(b"GIF89a...").decode(),
                                 base64.b64encode(b"<svg onload=alert(1)>").decode()])
def test_an_image_output_that_is_not_a_png_is_dropped(bad):
    [output] = sanitize.safe_outputs([display({"image/png": bad})])
    assert list(output.data) == ["text/plain"] and "not a valid image" in output.data["text/plain"]


def test_stream_error_and_execution_count_are_coerced_to_plain_values():
    outputs = sanitize.safe_outputs([
        new_output("stream", name="<script>", text="hi"),
        new_output("error", ename="E", evalue="v", traceback=["line"]),
        {"output_type": "execute_result", "execution_count": "1 onerror=x",
         "data": {"text/plain": "1"}, "metadata": {}},
        {"output_type": "update_display_data", "data": {"text/html": "<script>"}},
    ])
    assert [o.output_type for o in outputs] == ["stream", "error", "execute_result"]
    assert outputs[0].name == "stdout" and outputs[2].execution_count is None


KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def test_notebook_keeps_png_attachments_and_only_nbgrader_metadata():
    cell = new_markdown_cell("![a](attachment:a.png) ![b](attachment:b.svg) <script>x</script>")
    cell.attachments = {"a.png": {"image/png": PNG},
                        "b.svg": {"image/svg+xml": "<svg onload=alert(1)>"}}
    cell.metadata = {"nbgrader": {"grade_id": "why", "points": 1}, "tags": ["<x>"],
                     "jupyter": {"source_hidden": True}}
    code = new_code_cell("1")
    code.metadata = {"raw_mimetype": "text/html", "widgets": {}}
    raw = nbformat.v4.new_raw_cell("<script>alert(1)</script>text")
    nb = new_notebook(cells=[cell, code, raw], metadata={"widgets": {"state": {}},
                                                         "kernelspec": KERNELSPEC})
    safe = sanitize.safe_notebook(nb)
    assert safe.cells[0].attachments == {"a.png": {"image/png": PNG}}
    assert "attachment:a.png" in safe.cells[0].source
    assert "attachment:b.svg" not in safe.cells[0].source  # would stop nbconvert rendering
    assert safe.cells[0].metadata == {"nbgrader": {"grade_id": "why", "points": 1}}
    assert safe.cells[1].metadata == {} and safe.cells[2].source == "text"
    assert dict(safe.metadata) == {"kernelspec": KERNELSPEC}
    nbformat.validate(safe)


# ------------------------------------------------------------------ feedback, report


def hostile_notebook():
    answer = new_markdown_cell("Honest $x^2$ and <img src=x onerror=\"window.__pwned=1\">")
    answer.metadata["nbgrader"] = {"grade": True, "solution": True, "grade_id": "why",
                                   "points": 3.0, "schema_version": 3}
    code = new_code_cell("plot()")
    code.outputs = [display({"image/png": PNG, "text/plain": "<Figure>"}),
                    display({"text/html": "<script>window.__pwned=1</script>"})]
    return new_notebook(cells=[answer, code])


def head_of(page: str) -> str:
    return page[:page.index("</head>")]


def test_feedback_page_has_the_policy_first_and_no_script():
    page = render_feedback(hostile_notebook(), {"why": {"points": 0.0, "max_points": 3.0,
                                                        "needs_manual": True}},
                           0.0, 3.0, "fx", "<b>student</b>", "nb<script>x</script>")
    head = head_of(page)
    meta = re.search(r'<meta[^>]*http-equiv="Content-Security-Policy"[^>]*>', head)
    assert meta is not None
    policy = re.search(r'content="([^"]+)"', meta.group(0))
    assert head.index("Content-Security-Policy") < min(
        head.find(tag) if tag in head else len(head) for tag in ("<style", "<title", "<link"))
    directives = dict(d.strip().split(" ", 1) for d in policy.group(1).split(";"))
    assert directives["script-src"] == "'none'" and directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'" and directives["form-action"] == "'none'"
    assert "<script" not in page.lower()
    assert active_content(page[page.index("<body"):], allowed=frozenset({"math"})) == []
    assert "nb&lt;script&gt;x&lt;/script&gt;" in page


def test_feedback_renders_maths_as_mathml_and_keeps_figures():
    page = render_feedback(hostile_notebook(), {"why": {"points": 0.0, "max_points": 3.0,
                                                        "needs_manual": True}},
                           0.0, 3.0, "fx", "ada", "fx")
    assert re.search(r"<math[^>]*><mrow><msup><mi>x</mi><mn>2</mn></msup></mrow></math>", page)
    assert f"data:image/png;base64,{PNG}" in page
    assert "mathjax" not in page.lower()


def test_feedback_shows_manual_answers_as_awaiting_grading_not_zero():
    cells = {"why": {"points": 0.0, "max_points": 3.0, "needs_manual": True}}
    page = render_feedback(hostile_notebook(), cells, 0.0, 3.0, "fx", "ada", "fx")
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert "awaiting grading" in text
    assert "Score: 0.0 / 3.0" not in text.replace("(Score: 0.0 / 3.0;", "")
    graded = render_feedback(hostile_notebook(), {"why": {"points": 2.0, "max_points": 3.0}},
                             2.0, 3.0, "fx", "ada", "fx")
    assert "awaiting grading" not in graded and "Score: 2.0 / 3.0" in graded


def report_rows():
    def row(student, status, score, message=""):
        return {"student_id": student, "assignment": "fx", "score": score, "max_score": 4.0,
                "status": status, "message": message, "square_test": score}

    return [row("ada", "ok", 4.0), row("bo", "ok", 2.0),
            row("<img src=x onerror=window.__pwned=1>", "error", 0.0,
                "<script>window.__pwned=1</script> in <b>file</b>.ipynb"),
            row("dee", "missing", 0.0, "no submission")]


def test_report_escapes_every_field_and_lists_missing_students(tmp_path):
    path = tmp_path / "report.html"
    write_report(path, report_rows(), {"fx": [("square_test", 4.0)]},
                 [(1.5, "<svg onload=alert(1)>", "fx")])
    page = path.read_text()
    assert sanitize.CONTENT_SECURITY_POLICY in head_of(page)
    assert active_content(page[page.index("<body"):]) == []
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    look = page[page.index("need a look"):]
    assert "<td>dee</td>" in look and "<td>missing</td>" in look


def test_report_states_and_uses_the_mean_over_graded_submissions(tmp_path):
    path = tmp_path / "report.html"
    write_report(path, report_rows(), {"fx": [("square_test", 4.0)]}, [])
    text = html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))
    # ada 4, bo 2, the errored submission 0; dee's missing submission is not counted.
    assert "mean score 2.00 / 4" in text
    assert "missing submissions are not counted" in text


# ------------------------------------------------------------------------ spreadsheet


@pytest.mark.parametrize("value, expected", [
    ("=HYPERLINK(\"https://evil.example\")", "'=HYPERLINK(\"https://evil.example\")"),
    ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("ada", "ada"),
    ("", ""),
    (None, ""),
    (2.5, "2.5"),
    (-1.5, "-1.5"),
    ("-1.5", "-1.5"),
    ("0", "0"),
])
def test_spreadsheet_safe(value, expected):
    assert sanitize.spreadsheet_safe(value) == expected


def test_grades_csv_neutralises_formulas_and_keeps_numbers(tmp_path):
    from autograder.pipeline import write_grades

    rows = [{"student_id": "=cmd|' /C calc'!A0", "assignment": "fx", "score": 2.5,
             "max_score": 4.0, "status": "ok", "square_test": 2.5, "message": "@SUM(1)"}]
    write_grades(tmp_path / "grades.csv", rows, {"fx": [("square_test", "fx", "sq", 4.0, False)]})
    [row] = list(csv.DictReader(io.StringIO((tmp_path / "grades.csv").read_text())))
    assert row["student_id"] == "'=cmd|' /C calc'!A0" and row["message"] == "'@SUM(1)"
    assert float(row["score"]) == 2.5 and float(row["square_test"]) == 2.5


# ------------------------------------------------------------------------ student ids


@pytest.mark.parametrize("name", ["<img src=x onerror=alert(1)>", "a\"b", "it's", "x&y", "a`b"])
def test_ids_that_formgrader_would_run_are_named(name):
    assert sanitize.unsafe_name_reason(name) is not None


@pytest.mark.parametrize("name", ["ada", "jdoe.2", "Ana María_1234", "x@uni.edu", "a-b+c"])
def test_plain_ids_are_accepted(name):
    assert sanitize.unsafe_name_reason(name) is None


def test_a_hostile_student_folder_is_not_graded_and_gets_an_invalid_row(tmp_path):
    from autograder.pipeline import build_rows, plan_run
    from tests.test_pipeline import CORRECT, build_assignment, put, student_notebook

    root = build_assignment(tmp_path / "solutions")
    hostile = "eve' onmouseover='alert(1)"  # a valid folder name, but not inert in a page
    put(tmp_path / "submitted", "ada", student_notebook(CORRECT))
    put(tmp_path / "submitted", hostile, student_notebook(CORRECT))
    put(tmp_path / "submitted", "<img src=x onerror=alert(1)>", student_notebook(CORRECT))
    plan = plan_run(root, ["fx"], tmp_path / "submitted", {}, {}, False)
    assert [t.student for t in plan.tasks] == ["ada"]
    rows = {r["student_id"]: r for r in build_rows(plan, {}, ["fx"])}
    assert rows[hostile]["status"] == "invalid"
    assert "rename" in rows[hostile]["message"]


def test_inert_name_removes_markup_characters():
    assert sanitize.inert_name("<b>Ana</b> O'Neil") == "bAna/b ONeil"
    assert sanitize.inert_name(None) is None



# ---------------------------------------------------------------- through the pipeline


def formgrader_html(notebook: Path) -> str:
    """The page formgrader serves for an autograded notebook (its exporter and template)."""
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers

    exporter = HTMLExporter(template_name="formgrade",
                            extra_template_basedirs=[handlers.template_path])
    resources = {"assignment_id": "fx", "notebook_id": "fx", "submission_id": "s", "index": 0,
                 "total": 1, "base_url": "", "student": "mallory", "last_name": "",
                 "first_name": "", "notebook_path": str(notebook)}
    return exporter.from_filename(str(notebook), resources=resources)[0]


@pytest.mark.slow
def test_graded_hostile_submission_is_inert_in_formgrader_and_feedback(tmp_path):
    from bs4 import BeautifulSoup

    from tests.browser.test_hostile_render import (
        HOSTILE,
        HOSTILE_ID,
        MARKUP_ID,
        grade_hostile_class,
    )

    root = grade_hostile_class(tmp_path)
    autograded = root / "autograded" / HOSTILE / "fx" / "fx.ipynb"
    soup = BeautifulSoup(formgrader_html(autograded), "html.parser")
    student_parts = soup.select(".text_cell_render, .output_subarea")
    assert len(student_parts) >= 5
    for part in student_parts:
        assert active_content(str(part)) == [], str(part)[:300]
    text = soup.get_text()
    assert "My answer:" in text and "bold html" in text and "a widget" in text
    feedback = (root / "feedback" / HOSTILE / "fx" / "fx.html").read_text()
    body = feedback[feedback.index("<body"):]
    assert active_content(body, allowed=frozenset({"math"})) == []
    assert not (root / "feedback" / HOSTILE_ID).exists()
    rows = {row["student_id"]: row for row in csv.DictReader(
        io.StringIO((root / "grades.csv").read_text()))}
    assert rows[HOSTILE_ID]["status"] == "invalid" and MARKUP_ID not in rows


def test_error_page_escapes_the_message_under_the_same_policy():
    page = sanitize.error_page("could not render <img src=x onerror=alert(1)>")
    assert sanitize.CONTENT_SECURITY_POLICY in page
    assert active_content(page[page.index("<body"):]) == []
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
