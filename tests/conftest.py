"""Shared pytest setup: headless matplotlib, the repository root on sys.path, and the rule
for machines without the grading sandbox.

Grading tests need bubblewrap. Where it is missing (or cannot create a sandbox), a test that
fails *because* the sandbox is unavailable is reported as skipped with the reason, unless
NNLAB_REQUIRE_SANDBOX=1 (as in CI), where it stays a failure that says so. "Because" means
the failure report carries the sandbox's own explanation (autograder.sandbox.sandbox_problem),
which every grading entry point passes on: SandboxUnavailable, or the `grade` command's
"the grading sandbox is unavailable" error. Any other failure stays a failure.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

REQUIRE_SANDBOX = os.environ.get("NNLAB_REQUIRE_SANDBOX") == "1"
_problem: list[str | None] = []


def sandbox_problem() -> str | None:
    """Why the grading sandbox cannot run here, or None (probed once per session)."""
    if not _problem:
        from autograder.sandbox import sandbox_problem as probe

        _problem.append(probe())
    return _problem[0]


def _report_text(report) -> str:
    sections = "\n".join(content for _, content in report.sections)
    return f"{report.longrepr}\n{sections}"


def pytest_report_header(config):
    problem = sandbox_problem()
    if problem is None:
        return "grading sandbox: bubblewrap works"
    verdict = "required: its tests fail" if REQUIRE_SANDBOX else "its tests are skipped"
    return f"grading sandbox: unavailable ({problem}); {verdict}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.failed or call.excinfo is None:
        return
    problem = sandbox_problem()
    # The first words of the explanation identify it; the rest may be wrapped or cut.
    if problem is None or problem[:40] not in _report_text(report):
        return
    if REQUIRE_SANDBOX:
        report.longrepr = (f"{report.longrepr}\n\nThe grading sandbox is unavailable: {problem}"
                           "\nNNLAB_REQUIRE_SANDBOX=1 demands the sandbox tests.")
        return
    path, line, _ = item.location
    report.outcome = "skipped"
    report.longrepr = (str(path), (line or 0) + 1, f"Skipped: needs the grading sandbox: {problem}")
