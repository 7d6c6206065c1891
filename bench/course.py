"""Execution time of every solution notebook, against the 20 s budget of a lecture.

Usage: python bench/course.py [--repeats N]

Each notebook is executed top to bottom with nbclient (a fresh kernel each time, as a student
would run it), N times; the table gives the median and the spread. The last line is a summary.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
BUDGET_SECONDS = 20.0


def run_once(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    notebooks = sorted((ROOT / "solutions").glob("*/*.ipynb"))
    if not notebooks:
        print("no solution notebooks found")
        return 1
    header = f"{'notebook':<40} {'median s':>9} {'min s':>7} {'max s':>7}"
    print(f"{header}  budget {BUDGET_SECONDS:.0f} s")
    over = 0
    medians = []
    for path in notebooks:
        times = [run_once(path) for _ in range(args.repeats)]
        median = statistics.median(times)
        medians.append(median)
        flag = "" if median <= BUDGET_SECONDS else "  OVER BUDGET"
        over += median > BUDGET_SECONDS
        name = path.relative_to(ROOT / "solutions").as_posix()
        print(f"{name:<40} {median:9.1f} {min(times):7.1f} {max(times):7.1f}{flag}")
    print(
        f"summary: {len(notebooks)} notebooks, slowest median {max(medians):.1f} s, "
        f"{over} over the {BUDGET_SECONDS:.0f} s budget"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
