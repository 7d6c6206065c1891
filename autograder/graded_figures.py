"""Graded figures: pictures whose letters are a graded key, released as image files.

"Which curve is momentum 0.9?" is only a question if the letters cannot be read from, or
computed by, the student's copy. Plotting code in the notebook, however locked, gives the
order away (a seeded permutation can simply be run). So such a figure is drawn here, by the
instructor, from the key written in the hidden test, and saved as a PNG next to the source
notebook; the release copies it, and the notebook shows it with a Markdown image. The key
lives in two places only, both stripped from the release: the hidden test and the model
answer.

Contract:
  FIGURES: {assignment: GradedFigure}, one per assignment that has a graded figure.
  key_in(assignment) -> dict: the key, read (ast.literal_eval) from the line
      `<key_name> = {...}` in the hidden block of the test cell `test_id`.
  render(assignment, key) -> bytes: the PNG of the figure drawn for `key`; the same key and
      the same matplotlib give the same bytes (no timestamps or version in the file).
  write(assignment, new_key=False, rng=None) -> dict: draws solutions/<assignment>/<file>
      from the hidden key and returns the key. new_key=True first draws a fresh random key
      (rng: an np.random.Generator; by default seeded by the operating system and never
      stored) and writes it into the hidden test and the model answer.

    python -m autograder.graded_figures [ASSIGNMENT|all] [--new-key]

Then run `python -m autograder release ASSIGNMENT` to copy the image to course/.
"""

from __future__ import annotations

import argparse
import ast
import io
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np

from . import course
from .notebooks import HIDDEN_MARKERS, SOLUTION_MARKERS, grade_id, normalized_bytes


@dataclass(frozen=True)
class GradedFigure:
    file: str  # image name, next to the source notebook
    answer_id: str  # the answer cell; its model answer assigns the key to `answer_name`
    answer_name: str
    test_id: str  # the test cell; its hidden block assigns the key to `key_name`
    key_name: str
    draw: Callable  # draw(key) -> matplotlib Figure
    random_key: Callable  # random_key(rng) -> a new key


# ------------------------------------------------------------- 01: reading loss curves

LOSS_CURVE_FRACTIONS = {"slow": 0.01, "good": 0.12, "oscillating": 0.5, "diverging": 1.5}


def draw_loss_curves(key: dict):
    """Four minibatch runs of linear regression; key: letter A-D -> kind of learning rate."""
    from matplotlib.figure import Figure
    from nnlab import plots

    data_rng = np.random.default_rng(0)
    X = data_rng.normal(size=(200, 2)) * np.array([2.0, 1.0])
    y = X @ np.array([1.5, -2.0]) + data_rng.normal(size=200)
    limit = 2 / np.linalg.eigvalsh(2 * X.T @ X / 200).max()
    fig = Figure(figsize=(13, 3.1), layout="constrained")
    axes = fig.subplots(1, 4)
    for letter, ax in zip("ABCD", axes, strict=True):
        batch_rng = np.random.default_rng(1)
        w, losses = np.zeros(2), [np.mean(y**2)]
        for _ in range(80):
            idx = batch_rng.choice(200, 4, replace=False)
            grad = -2 / 4 * X[idx].T @ (y[idx] - X[idx] @ w)
            w = w - LOSS_CURVE_FRACTIONS[key[letter]] * limit * grad
            losses.append(np.mean((y - X @ w) ** 2))
        plots.loss_curves(np.array(losses), ax=ax, title=f"Curve {letter}", xlabel="step",
                          ylabel="mean squared error")
        ax.get_legend().remove()
    return fig


def random_loss_curve_key(rng: np.random.Generator) -> dict:
    kinds = list(LOSS_CURVE_FRACTIONS)
    return {letter: kinds[i] for letter, i in zip("ABCD", rng.permutation(4), strict=True)}


# ------------------------------------------------------- 03: GD against momentum 0.5, 0.9

MOMENTUM_RUNS = {"GD": 0.0, "momentum 0.5": 0.5, "momentum 0.9": 0.9}


def draw_momentum_curves(key: dict):
    """Loss curves on f = 1/2 (x1² + 10 x2²); key: algorithm name -> letter A-C."""
    from matplotlib.figure import Figure
    from nnlab import optim, plots

    lambdas, x0 = np.array([1.0, 10.0]), np.array([-4.0, 1.0])
    by_letter = {letter: name for name, letter in key.items()}
    fig = Figure(figsize=(12, 3.4), layout="constrained")
    axes = fig.subplots(1, 3, sharey=True)
    for ax, letter in zip(axes, "ABC", strict=True):
        beta = MOMENTUM_RUNS[by_letter[letter]]
        optimizer = optim.Momentum(0.02, beta) if beta else optim.SGD(0.02)
        path = optim.run(optimizer, lambda x: lambdas * x, x0, 80)
        losses = [0.5 * np.sum(lambdas * x**2) for x in path]
        plots.loss_curves({f"curve {letter}": losses}, ax=ax, title=f"curve {letter}")
    return fig


def random_momentum_key(rng: np.random.Generator) -> dict:
    return {name: "ABC"[i] for name, i in zip(MOMENTUM_RUNS, rng.permutation(3), strict=True)}


# ----------------------------------------- 04: underfitting, overfitting or a good fit

DIAGNOSIS_DEGREES = {"underfitting": 1, "overfitting": 14, "good fit": 3}


def draw_diagnosis_curves(key: dict):
    """Train and validation error of three polynomial fits; key: label P-R -> verdict."""
    from matplotlib.figure import Figure
    from nnlab import data, plots
    from nnlab.explore.capacity import gd_curves

    x_all, y_all = data.polynomial_1d(215, np.random.default_rng(21), noise=0.3)
    x_tr, x_va, y_tr, y_va = data.train_val_split(x_all, y_all, val_fraction=200 / 215,
                                                  rng=np.random.default_rng(21))
    steps = np.unique(np.round(np.logspace(0, 5, 80)))
    fig = Figure(figsize=(13, 3.5), layout="constrained")
    axes = fig.subplots(1, 3, sharey=True)
    for ax, label in zip(axes, "PQR", strict=True):
        train, val = gd_curves(x_tr, y_tr, x_va, y_va, DIAGNOSIS_DEGREES[key[label]], 0.0, steps)
        ax.semilogx(steps, train, color=plots.TRAIN_COLOR, label="train")
        ax.semilogx(steps, val, color=plots.VAL_COLOR, linestyle="--", label="validation")
        ax.set(title=f"model {label}", xlabel="gradient-descent steps",
               ylabel="mean squared error", ylim=(0, 1.2))
        ax.legend()
    return fig


def random_diagnosis_key(rng: np.random.Generator) -> dict:
    verdicts = list(DIAGNOSIS_DEGREES)
    return {label: verdicts[i] for label, i in zip("PQR", rng.permutation(3), strict=True)}


FIGURES = {
    "01-gradient-descent": GradedFigure(
        "loss-curves.png", "curve_labels", "curve_labels", "curve_labels_test", "cl_key",
        draw_loss_curves, random_loss_curve_key),
    "03-optimizers": GradedFigure(
        "momentum-curves.png", "curve_match", "curve_match", "curve_match_test", "_key",
        draw_momentum_curves, random_momentum_key),
    "04-overfitting": GradedFigure(
        "diagnosis-curves.png", "diagnosis", "diagnosis", "diagnosis_test", "_key",
        draw_diagnosis_curves, random_diagnosis_key),
}


# ------------------------------------------------------------------------- the key


def _source(assignment: str, root: Path) -> Path:
    notebooks = sorted((root / "solutions" / assignment).glob("*.ipynb"))
    if len(notebooks) != 1:
        raise ValueError(f"expected one notebook in solutions/{assignment}")
    return notebooks[0]


def _cell(nb, gid: str):
    for cell in nb.cells:
        if grade_id(cell) == gid:
            return cell
    raise ValueError(f"the notebook has no cell {gid!r}")


def _key_line(source: str, name: str, markers: tuple[str, str]) -> tuple[int, dict]:
    """(index, value) of the line `name = {...}` between the markers of `source`."""
    inside = False
    for index, line in enumerate(source.split("\n")):
        if markers[0] in line:
            inside = True
        elif markers[1] in line:
            inside = False
        elif inside and line.startswith(f"{name} = "):
            value = ast.literal_eval(line.split("=", 1)[1].strip())
            if not isinstance(value, dict):
                raise ValueError(f"{name} must be a dict literal on one line")
            return index, value
    raise ValueError(f"no line `{name} = {{...}}` between {markers[0]} and {markers[1]}")


def key_in(assignment: str, root: Path = course.ROOT) -> dict:
    """The graded key, as written in the hidden test of `assignment`."""
    figure = FIGURES[assignment]
    nb = nbformat.read(_source(assignment, root), as_version=4)
    return _key_line(_cell(nb, figure.test_id).source, figure.key_name, HIDDEN_MARKERS)[1]


def _set_key(cell, name: str, markers: tuple[str, str], key: dict) -> None:
    index, _ = _key_line(cell.source, name, markers)
    lines = cell.source.split("\n")
    items = ", ".join(f'"{k}": "{v}"' for k, v in key.items())
    lines[index] = f"{name} = {{{items}}}"
    cell.source = "\n".join(lines)


def render(assignment: str, key: dict) -> bytes:
    """PNG bytes of the graded figure of `assignment` drawn for `key`."""
    figure = FIGURES[assignment]
    buffer = io.BytesIO()
    # metadata None: no software version or date in the file, so the bytes are reproducible.
    figure.draw(key).savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return buffer.getvalue()


def write(assignment: str, new_key: bool = False, rng: np.random.Generator | None = None,
          root: Path = course.ROOT) -> dict:
    """Draw the graded figure of `assignment` into solutions/ (see the module docstring)."""
    figure = FIGURES[assignment]
    path = _source(assignment, root)
    if new_key:
        key = figure.random_key(rng if rng is not None else np.random.default_rng())
        nb = nbformat.read(path, as_version=4)
        _set_key(_cell(nb, figure.test_id), figure.key_name, HIDDEN_MARKERS, key)
        _set_key(_cell(nb, figure.answer_id), figure.answer_name, SOLUTION_MARKERS, key)
        path.write_bytes(normalized_bytes(nb))
    key = key_in(assignment, root)
    (path.parent / figure.file).write_bytes(render(assignment, key))
    return key


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.graded_figures",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("assignment", help=f"one of {', '.join(FIGURES)}, or all")
    parser.add_argument("--new-key", action="store_true",
                        help="draw a new random key first (rewrites the hidden test and answer)")
    options = parser.parse_args(argv)
    names = list(FIGURES) if options.assignment == "all" else [options.assignment]
    unknown = [name for name in names if name not in FIGURES]
    if unknown:
        parser.error(f"no graded figure in {unknown[0]}; known: {', '.join(FIGURES)}")
    for name in names:
        write(name, new_key=options.new_key)
        print(f"{name}: drew solutions/{name}/{FIGURES[name].file}"
              f"{' with a new key' if options.new_key else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
