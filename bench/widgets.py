"""Slider-update latency of every explorer in nnlab.explore, headless.

Usage: python bench/widgets.py [--rounds N]

For each explorer: build it (timed), then move one or more controls through a list of
values N times, exactly as a slider does (setting the widget's value runs compute + redraw
+ PNG encode). The first round fills any per-setting caches ("cold"); the remaining rounds
are the steady state a student feels when dragging back and forth ("warm").
Table columns: build seconds, cold median and maximum (a first visit that trains a network),
warm median, PNG size. The last line is a
summary against the 100 ms target for the warm median of every explorer.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("MPLBACKEND", "Agg")

TARGET_MS = 100.0


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
            [("beta", [0.0, 0.3, 0.6, 0.9]), ("alpha", [0.01, 0.05, 0.1, 0.2])],
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
                ("kernel", ["identity", "box blur", "Sobel x", "Sobel y", "Laplacian"]),
                ("mode", ["template matching", "kernel"]),
            ],
        ),
    }


def measure(build, moves, rounds):
    start = time.perf_counter()
    explorer = build()
    build_seconds = time.perf_counter() - start
    cold, warm = [], []
    for round_index in range(rounds):
        for control, values in moves:
            for value in values:
                start = time.perf_counter()
                explorer.controls[control].value = value
                elapsed = (time.perf_counter() - start) * 1000
                (cold if round_index == 0 else warm).append(elapsed)
    size = len(bytes(explorer.view.image.value))
    return build_seconds, statistics.median(cold), max(cold), statistics.median(warm), size


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4, help="passes over the values (>= 2)")
    args = parser.parse_args()
    rounds = max(args.rounds, 2)
    rows = []
    for name, (build, moves) in cases().items():
        rows.append((name, *measure(build, moves, rounds)))
    width = max(len(r[0]) for r in rows)
    print(f"{'explorer':<{width}}  build s  cold ms  cold max  warm ms  png kB")
    for name, build_s, cold, cold_max, warm, size in rows:
        flag = "" if warm <= TARGET_MS else "  (over target)"
        print(
            f"{name:<{width}}  {build_s:7.2f}  {cold:7.1f}  {cold_max:8.0f}  {warm:7.1f}  "
            f"{size / 1024:6.0f}{flag}"
        )
    worst = max(rows, key=lambda r: r[4])
    verdict = "PASS" if worst[4] <= TARGET_MS else "FAIL"
    print(
        f"widgets: slowest warm median {worst[4]:.1f} ms ({worst[0]}) over {len(rows)} "
        f"explorers, target {TARGET_MS:.0f} ms: {verdict}"
    )


if __name__ == "__main__":
    main()
