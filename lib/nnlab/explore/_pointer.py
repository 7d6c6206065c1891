"""From a pointer position on a panel's PNG to the array cell drawn under it.

Contract:
  cell_under_pointer(image, x, y, png_size=None) -> (row, col) or None.
      image: a matplotlib AxesImage (what ``ax.imshow(array)`` returns), drawn in a panel
          Figure of a FigureView, whose PNG is the Figure's whole canvas. The panel must
          have been drawn once (its layout is solved, and frozen, on the first draw).
      x, y: a point on that PNG in its own (natural) pixels, measured from its top-left
          corner, x to the right and y down: what ipyevents reports as ``dataX`` and
          ``dataY`` for an Image widget, whatever size the browser shows it at. Floats
          are fine; a point is a position, not a pixel index (x = 0 is the left edge).
      png_size: (width, height) of the PNG in pixels, if it was not drawn at the figure's
          own size; by default the figure's size at its dpi (CSS_DPI * PIXEL_RATIO in a
          FigureView, so one PNG pixel is one display pixel of the figure).
      Returns the (row, col) index of image.get_array() (shape (rows, cols)) whose cell
      contains the point, for any extent and either origin, or None when the point lies
      outside the Axes, outside the array's extent, or is not a finite number.
      A point on the edge of the array's extent (up to float rounding) belongs to the
      outermost cell there.
"""

from __future__ import annotations

import math

# A point on the array's edge may land a rounding error outside it after the transforms.
_ROUNDING = 1e-9


def cell_under_pointer(image, x, y, png_size=None):
    """(row, col) of image's array under the PNG point (x, y), or None (see module doc)."""
    try:
        x, y = float(x), float(y)
    except (TypeError, ValueError):
        return None  # a malformed event: nothing is under it
    if not (math.isfinite(x) and math.isfinite(y)):
        return None
    figure = image.get_figure(root=True)
    axes = image.axes
    width, height = figure.bbox.width, figure.bbox.height
    if png_size is not None:
        x *= width / float(png_size[0])
        y *= height / float(png_size[1])
    # Matplotlib's display coordinates start at the figure's bottom-left, the PNG's at its
    # top-left.
    display = (x, height - y)
    in_axes = axes.transAxes.inverted().transform(display)  # (0, 0) to (1, 1) inside
    if not all(-_ROUNDING <= v <= 1.0 + _ROUNDING for v in in_axes):
        return None
    data_x, data_y = axes.transData.inverted().transform(display)
    rows, cols = image.get_array().shape[:2]
    left, right, bottom, top = image.get_extent()
    # Fraction of the way from column 0's edge to the last column's far edge; rows run from
    # "top" (origin upper: row 0 at the extent's top value) or from "bottom" (origin lower).
    across = (data_x - left) / (right - left)
    first_row_edge, last_row_edge = (top, bottom) if image.origin == "upper" else (bottom, top)
    down = (data_y - first_row_edge) / (last_row_edge - first_row_edge)
    if not (-_ROUNDING <= across <= 1.0 + _ROUNDING and -_ROUNDING <= down <= 1.0 + _ROUNDING):
        return None
    row = min(max(int(math.floor(down * rows)), 0), rows - 1)
    col = min(max(int(math.floor(across * cols)), 0), cols - 1)
    return row, col
