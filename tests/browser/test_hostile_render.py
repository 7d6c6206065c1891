"""A hostile submission, graded for real, opened where an instructor and a student open it.

One small class is graded through `python -m autograder grade` (sandboxed): an honest
student (maths, a figure, text), a student whose markdown, answers, outputs and file name
carry script payloads, and two students whose very ids are payloads. Then, in headless Chromium:

- formgrader (nbgrader's server extension on a private, token-less Jupyter server on
  127.0.0.1, course directory = the grading output) shows the hostile submission: no payload
  runs, although formgrader renders the autograded notebook without sanitising;
- every feedback page and report.html, opened from disk with the network cut: no payload
  runs, the page's Content-Security-Policy is in force, and the honest student's formula is
  rendered (as MathML) and figure shown.

Every payload, if it ran, would set window.__pwned; a click on every student link gives
javascript: URLs their chance. Needs Debian's chromium (found on PATH) and bubblewrap; like
the other browser tests it is skipped without a browser unless NNLAB_REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell

from tests.support.processes import stop_group
from tests.test_pipeline import (
    ASSIGNMENT,
    CORRECT,
    build_assignment,
    grade,
    put,
    student_notebook,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
HOSTILE = "mallory"
# A valid folder name that would break out of a single-quoted attribute, and one that is
# markup (the import and grade commands never take the second for a student).
HOSTILE_ID = "eve' onmouseover='window.__pwned=1"
MARKUP_ID = "<img src=x onerror=window.__pwned=2>"
HOSTILE_FILE = "<svg onload=window.__pwned='file'>.ipynb"
HONEST = "ada"


def pwn(tag: str) -> str:
    return f"window.__pwned='{tag}'"


MARKDOWN_PAYLOADS = "\n\n".join([
    f"<img src=x onerror=\"{pwn('md-img')}\">",
    f"<script>{pwn('md-script')}</script>",
    f"<svg onload=\"{pwn('md-svg')}\"></svg>",
    f"<details open ontoggle=\"{pwn('md-details')}\">x</details>",
    f"[javascript link](javascript:{pwn('md-link')})",
    f"[entity link](&#106;avascript:{pwn('md-entity-link')})",
    f"<a href=\"javascript:{pwn('md-a')}\">anchor</a>",
    f"![image](javascript:{pwn('md-image')})",
    f"<iframe srcdoc=\"<script>parent.{pwn('md-iframe')}</script>\"></iframe>",
    f"$<img src=x onerror=\"{pwn('md-math')}\">$",
    f"<style>@import url(x)</style><div style=\"background:url(javascript:{pwn('css')})\">s</div>",
])

OUTPUT_PAYLOADS = f"""
from IPython.display import HTML, SVG, Javascript, Markdown, display
display(HTML('<img src=x onerror="{pwn('html')}"><b>bold html</b>'))
display(Javascript("{pwn('js')}"))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg" onload="{pwn('svg')}"></svg>'))
display(Markdown('<img src=x onerror="{pwn('markdown-output')}">'))
display({{"application/vnd.jupyter.widget-view+json": {{"model_id": "m", "version_major": 2,
         "version_minor": 0}}, "text/plain": "a widget"}}, raw=True)
display({{"text/html": '<img src=x onerror="{pwn('raw-html')}">'}}, raw=True)
"""

HONEST_TEXT = "The square grows like $x^2$ and its mean is $\\frac{{1}}{{n}}\\sum_i x_i$."
HONEST_PLOT = ("import matplotlib.pyplot as plt\n"
               "plt.plot([0, 1, 2, 3], [0, 1, 4, 9])\nplt.title('honest figure')\nplt.show()")


def hostile_notebook():
    nb = student_notebook(CORRECT)
    cells = nb.cells
    cells[2].source = CORRECT["square"] + "\n" + OUTPUT_PAYLOADS
    why = next(c for c in cells if c.metadata.get("nbgrader", {}).get("grade_id") == "why")
    why.source = "My answer: " + MARKDOWN_PAYLOADS
    cells.insert(1, new_markdown_cell(MARKDOWN_PAYLOADS))
    link = new_markdown_cell(f"[click me](javascript:{pwn('click')})")
    link.metadata = {"jupyter": {"source_hidden": False}, "tags": [f"<b onclick={pwn('tag')}>"]}
    cells.insert(2, link)
    return nb


def honest_notebook():
    nb = student_notebook(CORRECT)
    nb.cells.insert(1, new_markdown_cell(HONEST_TEXT))
    nb.cells.insert(4, new_code_cell(HONEST_PLOT))
    why = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "why")
    why.source = "Because $x \\cdot x = |x|^2 \\geq 0$ for real $x$."
    return nb


def require_sandbox() -> None:
    """Skip without bubblewrap, unless NNLAB_REQUIRE_SANDBOX=1 makes that a failure."""
    from autograder.sandbox import sandbox_problem

    problem = sandbox_problem()
    if problem is None:
        return
    if os.environ.get("NNLAB_REQUIRE_SANDBOX") == "1":
        pytest.fail(f"{problem}; NNLAB_REQUIRE_SANDBOX=1 demands the grading sandbox")
    pytest.skip(problem)


def grade_hostile_class(root: Path) -> Path:
    """Grade the three students into root (an nbgrader course directory); return root."""
    require_sandbox()
    source_root = build_assignment(root / "source")
    submissions = root / "submitted"
    put(submissions, HONEST, honest_notebook())
    put(submissions, HOSTILE, hostile_notebook(), name=HOSTILE_FILE)
    put(submissions, HOSTILE_ID, student_notebook(CORRECT))
    put(submissions, MARKUP_ID, student_notebook(CORRECT))
    assert grade(source_root, submissions, root, "--workers", "2") == 0
    return root


# ------------------------------------------------------------------------- browser


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    reason = "chromium not found on PATH (install Debian's chromium package)"
    if os.environ.get("NNLAB_REQUIRE_BROWSER") == "1":
        pytest.fail(reason + "; NNLAB_REQUIRE_BROWSER=1 demands the browser test")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _own_group_and_die_with_parent():
    os.setpgrp()
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    chromium = _chromium()
    root = grade_hostile_class(tmp_path_factory.mktemp("course"))
    return chromium, root


@pytest.fixture(scope="module")
def formgrader(course, tmp_path_factory):
    """A token-less Jupyter server with formgrader on the course; yields its base URL."""
    _, root = course
    home = tmp_path_factory.mktemp("server")
    (root / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = {str(root)!r}\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{root / 'gradebook.db'}'\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "NBGRADER"))}
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        env[name] = str(home / name.lower())
        Path(env[name]).mkdir()
    (Path(env["JUPYTER_CONFIG_DIR"]) / "jupyter_server_config.json").write_text(json.dumps(
        {"ServerApp": {"jpserver_extensions": {"nbgrader.server_extensions.formgrader": True}}}))
    port = _free_port()
    command = [sys.executable, "-m", "jupyter", "server", "--no-browser", "--ip=127.0.0.1",
               f"--port={port}", "--ServerApp.port_retries=0", "--IdentityProvider.token=",
               "--ServerApp.password=", f"--ServerApp.root_dir={root}"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = open(home / "server.log", "w")  # noqa: SIM115 - closed in the finalizer
    server = subprocess.Popen(command, env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT,
                              preexec_fn=_own_group_and_die_with_parent)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status", timeout=5):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the Jupyter server did not start:\n"
                                       + (home / "server.log").read_text()) from None
                time.sleep(0.3)
        yield base
    finally:
        stop_group(server)
        log.close()


@pytest.fixture(scope="module")
def browser(course):
    from playwright.sync_api import sync_playwright

    chromium, _ = course
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


def _offline_page(browser, allowed_origin: str | None = None):
    """A page for which every request leaves no further than file:// or `allowed_origin`."""
    page = browser.new_page()

    def route(request_route):
        url = request_route.request.url
        if url.startswith(("file:", "data:")) or (allowed_origin and url.startswith(
                allowed_origin)):
            request_route.continue_()
        else:
            request_route.abort()

    page.route("**/*", route)
    return page


# Elements under `selector` that carry an event-handler attribute or a script URL.
ACTIVE_ATTRIBUTES_JS = """
(selector) => {
  const found = [];
  for (const root of document.querySelectorAll(selector)) {
    for (const el of root.querySelectorAll('*')) {
      for (const attr of el.attributes) {
        const value = attr.value.replace(/[\\x00-\\x20]/g, '').toLowerCase();
        if (attr.name.startsWith('on') || value.startsWith('javascript:')
            || el.localName === 'script' || el.localName === 'iframe'
            || el.localName === 'svg') {
          found.push(el.outerHTML.slice(0, 120));
        }
      }
      if (['script', 'iframe', 'svg', 'object', 'embed'].includes(el.localName)) {
        found.push(el.outerHTML.slice(0, 120));
      }
    }
  }
  return found;
}
"""


EXERCISE_JS = """
(selector) => {
  window.__same_document = true;
  for (const root of document.querySelectorAll(selector)) {
    for (const el of root.querySelectorAll('*')) {
      for (const kind of ['mouseover', 'mouseenter', 'focus', 'toggle', 'animationstart']) {
        el.dispatchEvent(new Event(kind, {bubbles: true}));
      }
    }
    // Follows each link as a click would, javascript: URLs included.
    for (const link of root.querySelectorAll('a[href]')) link.click();
  }
}
"""


def _exercise(page, content_selector: str) -> None:
    """Let every payload fire: images fail to load, then hover, focus and click everything
    the student put on the page; the page must still be the same document afterwards."""
    page.wait_for_timeout(500)
    _assert_not_pwned(page, page.url)
    page.evaluate(EXERCISE_JS, content_selector)
    page.wait_for_timeout(500)
    assert page.evaluate("() => window.__same_document === true"), "a link left the page"


def _assert_not_pwned(page, where: str) -> None:
    assert page.evaluate("() => window.__pwned === undefined"), (
        f"a payload ran in {where}: window.__pwned = {page.evaluate('() => window.__pwned')}")


# ---------------------------------------------------------------------------- tests


def test_formgrader_shows_the_hostile_submission_without_running_it(course, formgrader,
                                                                   browser):
    from nbgrader.api import Gradebook

    _, root = course
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        hostile = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, HOSTILE).id
        honest = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, HONEST).id
        students = {student.id for student in gradebook.students}
    assert students == {HONEST, HOSTILE}  # formgrader prints ids unescaped

    page = _offline_page(browser, allowed_origin=formgrader)
    try:
        page.goto(f"{formgrader}/formgrader/submissions/{hostile}/?index=0",
                  wait_until="load", timeout=60_000)
        page.wait_for_selector("#notebook-container .text_cell_render", timeout=30_000)
        assert "My answer:" in page.inner_text("#notebook-container")
        assert "bold html" in page.inner_text("#notebook-container")
        _exercise(page, "#notebook-container")
        _assert_not_pwned(page, "formgrader")
        student_parts = "#notebook-container .text_cell_render, #notebook-container .output_area"
        assert page.evaluate(ACTIVE_ATTRIBUTES_JS, student_parts) == []

        page.goto(f"{formgrader}/formgrader/submissions/{honest}/?index=0", wait_until="load",
                  timeout=60_000)
        page.wait_for_selector("#notebook-container .output_png img", timeout=30_000)
        figure = page.locator("#notebook-container .output_png img").first
        assert figure.evaluate("img => img.complete && img.naturalWidth > 100")
        assert "The square grows like" in page.inner_text("#notebook-container")
    finally:
        page.close()


def test_feedback_pages_and_report_run_nothing_and_render_maths_offline(course, browser):
    _, root = course
    pages = sorted((root / "feedback").rglob("*.html")) + [root / "report.html"]
    assert len(pages) == 3  # two graded students and the report; the hostile ids were refused
    for path in pages:
        page = _offline_page(browser)
        try:
            page.goto(path.as_uri(), wait_until="load")
            _exercise(page, "body")
            _assert_not_pwned(page, str(path))
            assert page.evaluate(ACTIVE_ATTRIBUTES_JS, "body") == [], path
            # The policy is in force: even a script the page itself adds does not run.
            page.evaluate("""() => { const s = document.createElement('script');
                s.textContent = 'window.__csp_allows_script = 1';
                document.body.appendChild(s); }""")
            page.wait_for_timeout(100)
            assert page.evaluate("() => window.__csp_allows_script === undefined"), path
        finally:
            page.close()

    report = (root / "report.html").read_text()
    assert "eve&#x27; onmouseover=&#x27;window.__pwned=1" in report


def test_honest_feedback_shows_maths_figure_and_text_offline(course, browser):
    _, root = course
    page = _offline_page(browser)
    try:
        page.goto((root / "feedback" / HONEST / ASSIGNMENT / "fx.html").as_uri(),
                  wait_until="load")
        assert "The square grows like" in page.inner_text("body")
        # x^2 as MathML: laid out by the browser (a superscript sits higher than its base).
        raised = page.evaluate("""() => {
            const sup = [...document.querySelectorAll('math msup')].find(
                m => m.textContent.replace(/\\s/g, '') === 'x2');
            if (!sup) return null;
            const [base, power] = sup.children;
            const b = base.getBoundingClientRect(), p = power.getBoundingClientRect();
            return b.width > 0 && p.bottom < b.bottom;
        }""")
        assert raised is True
        assert "$x^2$" not in page.inner_text("body")  # not left as raw TeX
        figure = page.locator("img[src^='data:image/png']").first
        assert figure.evaluate("img => img.complete && img.naturalWidth > 100")
        assert "awaiting grading" in page.inner_text("body")
    finally:
        page.close()
