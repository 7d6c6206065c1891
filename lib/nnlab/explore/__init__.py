"""Interactive explorers: one call returns a widget whose picture follows its sliders.

Each explorer is a pure compute function (testable without a browser) plus a thin
ipywidgets view that redraws one persistent figure in place. Executed without a widget
front end, an explorer still shows a static PNG of its default state; under nbgrader
autograding (NBGRADER_EXECUTION set) it returns a light placeholder and computes nothing.

    from nnlab.explore import step_size_explorer
    step_size_explorer()                      # learning rate vs the limit 2/λ
    momentum_explorer(compare=True)           # GD vs momentum 0.5 vs 0.9
    optimizer_race(surface="rosenbrock")      # six optimizers on one surface
    capacity_explorer(mode="polynomial")      # under- and overfitting, early stopping
    dropout_explorer()                        # thinned networks, curves with/without
    convolution_explorer()                    # kernels and template matching
"""

from .capacity import capacity_explorer
from .convolution import convolution_explorer
from .dropout import dropout_explorer
from .momentum import momentum_explorer
from .race import optimizer_race
from .step_size import step_size_explorer

__all__ = [
    "capacity_explorer",
    "convolution_explorer",
    "dropout_explorer",
    "momentum_explorer",
    "optimizer_race",
    "step_size_explorer",
]
