"""Training and validation curves with an early-stop mark, drawn into one explorer panel.

Contract:
  early_stop(val (K,), tolerance=0.01) -> int | None: index of the validation minimum if
      the error later rises above it by more than ``tolerance`` (relative), else None (a
      flat or still-falling curve gives no reason to stop).
  LearningCurves(view, ax, steps (K,), unit, title_prefix, clip=None): train (solid) and
      validation (dashed) curves over ``steps`` in the train/validation colours, an
      early-stop triangle with a dotted line, a legend, and a title; all dynamic in
      ``view`` (a FigureView). Axis scales, limits and labels stay the caller's.
  curves.show(train (K,), val (K,)) -> int | None: draws both curves (clipped to ``clip``
      = (low, high) for display, if given), marks the early stop where early_stop(val)
      finds one, hides the mark otherwise, and says so in the title. Returns the index.
"""

from __future__ import annotations

import numpy as np


def early_stop(val, tolerance: float = 0.01):
    """Index of the minimum of val (K,) if the error later rises by > tolerance, else None."""
    val = np.asarray(val, dtype=float)
    best = int(np.argmin(val))
    rises = np.max(val[best:]) > val[best] * (1.0 + tolerance)
    return best if rises else None


class LearningCurves:
    """See the module docstring."""

    def __init__(self, view, ax, steps, unit: str, title_prefix: str, clip=None):
        from nnlab import plots

        self.ax, self.unit, self.title_prefix, self.clip = ax, unit, title_prefix, clip
        self.steps = np.asarray(steps, dtype=float)
        flat = np.ones_like(self.steps)
        self.train = view.dynamic(
            *ax.plot(self.steps, flat, color=plots.TRAIN_COLOR, label="train")
        )
        self.val = view.dynamic(
            *ax.plot(self.steps, flat, "--", color=plots.VAL_COLOR, label="validation")
        )
        self.stop_marker = view.dynamic(
            *ax.plot(
                [], [], "v", color=plots.THEORY_COLOR, markersize=9,
                label="early stop (val. rises after)",
            )
        )
        self.stop_line = view.dynamic(ax.axvline(1, color=plots.THEORY_COLOR, linestyle=":"))
        ax.legend(loc="lower left")
        view.dynamic(ax.title)

    def _shown(self, values):
        values = np.asarray(values, dtype=float)
        return values if self.clip is None else np.clip(values, *self.clip)

    def show(self, train, val):
        """Draw train and val (K,); mark and return the early stop (None if none)."""
        self.train.set_ydata(self._shown(train))
        self.val.set_ydata(self._shown(val))
        best = early_stop(val)
        self.stop_marker.set_visible(best is not None)
        self.stop_line.set_visible(best is not None)
        if best is None:
            self.ax.set_title(
                f"{self.title_prefix}: validation never rises\n(no early stop needed)"
            )
            return None
        at = self.steps[best]
        self.stop_marker.set_data([at], [self._shown(val)[best]])
        self.stop_line.set_xdata([at, at])
        self.ax.set_title(
            f"{self.title_prefix}: validation rises after\n{self.unit} {int(at)}: stop there"
        )
        return best
