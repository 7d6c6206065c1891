"""Slider-update latency of every explorer in nnlab.explore, headless.

Usage: python bench/widgets.py [--rounds N]

For each explorer: build it (timed: the first render), then move one or more controls
through a list of values N times, exactly as a slider does (setting the widget's value runs
compute + redraw + PNG encode of the panels that changed). The first round is the "first
visit" (every setting new: computed and drawn; a dropout p or a network size trains, since a
script has no idle kernel to pre-train them); the remaining rounds revisit the same settings,
the steady state a student feels when dragging back and forth ("warm": settings seen before
are shown from memory, except the convolution explorer's, which are redrawn). The last row
hovers the convolution map instead: each update is one ipyevents mouse-move event handed to
the explorer, as the pointer over the map sends them.
Columns: first render seconds; median and 95th percentile of first-visit and of warm
updates (ms); kB sent per update (the changed layers only: usually just the overlays).
The last line is a summary against the targets: warm median <= 50 ms, warm p95 <= 150 ms,
first render <= 1 s. In the browser add the round trip (see tests/browser).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("MPLBACKEND", "Agg")

TARGET_MEDIAN_MS = 50.0
TARGET_P95_MS = 150.0
TARGET_FIRST_RENDER_S = 1.0


def cases():
    """name -> (builder, [(control, values), ...])."""
    from nnlab import explore

    return {
        "step_size_explorer()": (
            explore.step_size_explorer,
            [("lr", [0.1, 0.3, 0.5, 0.7, 0.9, 1.1])],
        ),
        "momentum_explorer()": (
            explore.momentum_explorer,
            [("beta", [0.0, 0.3, 0.6, 0.9]), ("alpha", [0.01, 0.05, 0.1, 0.2, 0.38])],
        ),
        "momentum_explorer(compare=True)": (
            lambda: explore.momentum_explorer(compare=True),
            [("alpha", [0.01, 0.03, 0.05, 0.1, 0.15])],
        ),
        'optimizer_race(surface="rosenbrock")': (
            explore.optimizer_race,
            [("SGD", [5e-4, 1e-3, 2e-3]), ("Adam", [0.01, 0.05, 0.1])],
        ),
        'capacity_explorer(mode="polynomial")': (
            explore.capacity_explorer,
            [("degree", [0, 2, 4, 6, 8, 10, 12, 15]), ("l2", [0.0, 1e-4, 1e-2])],
        ),
        'capacity_explorer(mode="network")': (
            lambda: explore.capacity_explorer(mode="network"),
            [("hidden", [1, 4, 16, 32]), ("l2", [0.0, 1e-2])],
        ),
        "dropout_explorer()": (
            explore.dropout_explorer,
            [("p", [0.0, 0.2, 0.4, 0.5, 0.6, 0.8])],
        ),
        "convolution_explorer()": (
            explore.convolution_explorer,
            [
                ("row", [20, 40, 60, 80, 100]),
                ("kernel", ["identity", "box blur", "Sobel x", "Sobel y", "Laplacian"]),
                ("mode", ["template matching", "kernel"]),
            ],
        ),
        "convolution_explorer(), pointer over the map": (
            explore.convolution_explorer,
            [(POINTER, _map_points)],
        ),
    }


# A move whose "control" is POINTER sends the explorer's on_pointer the ipyevents events
# that ``values(explorer)`` lists, one hover per event, as a mouse over the map does.
POINTER = object()


def _map_points(explorer, count=10):
    """Mouse-move events over ``count`` map pixels along the diagonal, in PNG pixels."""
    feature = explorer.view.axes[1].images[0]
    figure = feature.get_figure(root=True)
    left, _right, _bottom, top = feature.get_extent()
    rows, cols = feature.get_array().shape
    events = []
    for k in range(count):
        row, col = (k + 1) * rows // (count + 2), (k + 1) * cols // (count + 2)
        x, y = feature.axes.transData.transform((left + col + 0.5, top + row + 0.5))
        events.append({"type": "mousemove", "dataX": x, "dataY": figure.bbox.height - y})
    return events


def p95(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure(build, moves, rounds):
    start = time.perf_counter()
    explorer = build()
    first_render = time.perf_counter() - start
    first, warm, sent = [], [], []
    for layers in explorer.view.layers:  # base and overlay of every panel
        for image in layers:
            image.observe(lambda change: sent.append(len(change["new"])), names="value")
    for round_index in range(rounds):
        for control, values in moves:
            pointer = control is POINTER
            for value in values(explorer) if pointer else values:
                start = time.perf_counter()
                if pointer:
                    explorer.on_pointer(value)
                else:
                    explorer.controls[control].value = value
                elapsed = (time.perf_counter() - start) * 1000
                (first if round_index == 0 else warm).append(elapsed)
    updates = len(first) + len(warm)
    return first_render, first, warm, sum(sent) / max(updates, 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4, help="passes over the values (>= 2)")
    args = parser.parse_args()
    rounds = max(args.rounds, 2)
    rows = []
    for name, (build, moves) in cases().items():
        rows.append((name, *measure(build, moves, rounds)))
    width = max(len(r[0]) for r in rows)
    print(
        f"{'explorer':<{width}}  first render s  first visit ms (median / p95)"
        f"  warm ms (median / p95)  kB/update"
    )
    failures = []
    for name, first_render, first, warm, sent in rows:
        warm_median, warm_p95 = statistics.median(warm), p95(warm)
        over = (
            warm_median > TARGET_MEDIAN_MS
            or warm_p95 > TARGET_P95_MS
            or first_render > TARGET_FIRST_RENDER_S
        )
        if over:
            failures.append(name)
        print(
            f"{name:<{width}}  {first_render:14.2f}  {statistics.median(first):14.1f} / "
            f"{p95(first):6.0f}  {warm_median:13.1f} / {warm_p95:6.0f}  {sent / 1024:9.0f}"
            + ("  (over target)" if over else "")
        )
    worst = max(rows, key=lambda r: statistics.median(r[3]))
    verdict = "PASS" if not failures else f"FAIL ({len(failures)} over target)"
    print(
        f"widgets: slowest warm median {statistics.median(worst[3]):.1f} ms ({worst[0]}) over "
        f"{len(rows)} explorers; targets median {TARGET_MEDIAN_MS:.0f} ms, p95 "
        f"{TARGET_P95_MS:.0f} ms, first render {TARGET_FIRST_RENDER_S:.0f} s: {verdict}"
    )


if __name__ == "__main__":
    main()
