"""Where the course lives on disk, and the nbgrader configuration that describes it.

Every command of `python -m autograder` gets its paths and its nbgrader `Config` from here,
so plain nbgrader and our pipeline always agree on the layout (see nbgrader_config.py).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

PACKAGE_DIR = Path(__file__).resolve().parent
ROOT = PACKAGE_DIR.parent
SOLUTIONS = ROOT / "solutions"
COURSE = ROOT / "course"

# The lecture assignments, in teaching order.
ASSIGNMENTS = (
    "01-gradient-descent",
    "02-backprop",
    "03-optimizers",
    "04-overfitting",
    "05-dropout",
    "06-cnn-motivation",
)


def _put_environment_scripts_on_path() -> None:
    """nbgrader runs helper executables (e.g. `alembic`) by name; find the ones installed
    beside this interpreter even when the virtual environment was not activated."""
    scripts = str(Path(sys.executable).parent)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if scripts not in parts:
        os.environ["PATH"] = os.pathsep.join([scripts, *parts])


def load_config(**overrides: dict) -> Config:
    """Return the course's nbgrader Config, with `overrides` merged on top.

    overrides: section name -> {trait: value}, e.g. CourseDirectory={"root": "/tmp/x"}.
    """
    _put_environment_scripts_on_path()
    config = PyFileConfigLoader("nbgrader_config.py", path=str(PACKAGE_DIR)).load_config()
    for section, values in overrides.items():
        for key, value in values.items():
            config[section][key] = value
    return config


def existing_assignments(source: Path = SOLUTIONS) -> list[str]:
    """Names of the assignment folders in `source` that hold at least one notebook, sorted."""
    if not source.is_dir():
        return []
    return sorted(
        entry.name
        for entry in source.iterdir()
        if entry.is_dir() and not entry.name.startswith(".") and any(entry.glob("*.ipynb"))
    )


def resolve_assignments(name: str, source: Path = SOLUTIONS) -> list[str]:
    """Expand 'all' to every assignment in `source`; otherwise check `name` exists there."""
    available = existing_assignments(source)
    if name == "all":
        return available
    if name not in available:
        known = ", ".join(available) or "none"
        raise SystemExit(f"unknown assignment {name!r} in {source} (known: {known})")
    return [name]


def quiet_environment() -> dict[str, str]:
    """Environment for child processes: no stray warnings, single-threaded BLAS."""
    env = dict(os.environ)
    env.setdefault("PYTHONWARNINGS", "ignore")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("MKL_NUM_THREADS", "1")
    return env
