"""Interactive explorers: one call returns a widget whose picture follows its sliders.

Each explorer is a pure compute function (testable without a browser) plus a thin
ipywidgets view that redraws one persistent figure in place. Executed without a widget
front end, an explorer still shows a static PNG of its default state; under nbgrader
autograding (NBGRADER_EXECUTION set) it returns a light placeholder and computes nothing.

    from nnlab.explore import step_size_explorer
    step_size_explorer()
"""

from .convolution import convolution_explorer
from .momentum import momentum_explorer
from .step_size import step_size_explorer

__all__ = [
    "convolution_explorer",
    "momentum_explorer",
    "step_size_explorer",
]
