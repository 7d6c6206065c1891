"""`python -m autograder grade`: grade every submission of a class, in parallel, resumably.

Input:  SUBMISSIONS/<student_id>/<assignment>/<notebook>.ipynb  (what `import` writes)
Output, in OUT:
    grades.csv          one row per (student, assignment): student_id, assignment, score,
                        max_score, status, one column per graded cell, message
    feedback/<student>/<assignment>/<notebook>.html    nbgrader's feedback page
    autograded/<student>/<assignment>/<notebook>.ipynb graded notebooks, for formgrader
    gradebook.db        nbgrader gradebook (see gradebook.py), written only by this process
    report.html         score histograms per assignment and per exercise, status counts
    state.jsonl         append-only record of every graded notebook (fsync'd per line)

Flow: build one Task per (student, assignment, notebook) -> skip tasks whose key (student,
assignment, notebook, sha256 of the submission bytes, sha256 of the source notebook) is
already in state.jsonl unless force -> start the pool, and meanwhile grade the SOLUTION
notebook itself in this process (pre-flight); no result is stored unless it gets full
automatic marks -> store each result as it arrives: files, gradebook, then the state line.
A run killed at any point can be rerun: state lines are whole or ignored, the gradebook
update is one transaction and is repeated for every stored result, and grades.csv is
rebuilt from the state, one row per student and assignment. A record that failed for the
grader's reasons (a dead process, an internal error) carries "infra": true and is graded
again by the next run.

Workers (supervisor processes from workers.SupervisedPool, or a Dask cluster) only compute:
grade_task grades each submission in a forked child with its own limits (workers.py), and
returns plain data.
"""

from __future__ import annotations

import concurrent.futures as cf
import csv
import dataclasses
import gc
import hashlib
import json
import multiprocessing
import multiprocessing.util
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import course, sanitize
from .identity import safe_id_problem
from .notebooks import nbgrader_meta, read_notebook
from .secret import SecretProblem, submission_secret, workspace_secret

STATE_FILE = "state.jsonl"
STATUS_ORDER = ("error", "timeout", "invalid", "missing", "ok")
DEATHS_BEFORE_ABORT = 3  # worker deaths in a row, before any success, that stop the run
FIXED_COLUMNS = ["student_id", "assignment", "score", "max_score", "status"]


class RunAborted(RuntimeError):
    """The run cannot proceed (sandbox unavailable, environment check failed, ...)."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ----------------------------------------------------------------------------- tasks


@dataclass(frozen=True)
class Task:
    """One notebook of one student, with everything a worker needs (no shared disk)."""

    student: str
    assignment: str
    notebook: str  # expected notebook name, without .ipynb
    source_path: str
    source_bytes: bytes = field(repr=False)
    submission_name: str
    submission_bytes: bytes = field(repr=False)
    limits: dict
    unsafe: bool = False
    note: str = ""
    secret: bytes = field(default=b"", repr=False)  # the workspace's (autograder.secret)

    @property
    def display_name(self) -> str:
        return f"{self.student}/{self.assignment}/{self.submission_name}"

    @property
    def key(self) -> dict:
        return {
            "student": self.student,
            "assignment": self.assignment,
            "notebook": self.notebook,
            "submission_sha256": sha256(self.submission_bytes),
            "source_sha256": sha256(self.source_bytes),
        }


def _cell_dict(cell) -> dict:
    return {
        "points": float(cell.points),
        "max_points": float(cell.max_points),
        "passed": bool(cell.passed),
        "message": str(cell.message),
        "needs_manual": bool(getattr(cell, "needs_manual", False)),
    }


def old_format_note(data: bytes) -> str:
    """A note when the submission is an nbformat 3 (or older) notebook, else ''."""
    try:
        version = json.loads(data).get("nbformat")
    except (ValueError, AttributeError):
        return ""
    if isinstance(version, int) and version < 4:
        return f"old notebook format (nbformat {version}) converted to nbformat 4"
    return ""


_pools = threading.local()


def _kernel_pool(limits: dict, unsafe: bool):
    """This worker thread's KernelPool: the next sandboxed kernel boots while one grades."""
    from . import engine

    wanted = (tuple(sorted(limits.items())), unsafe)
    pool = getattr(_pools, "pool", None)
    if pool is None or _pools.key != wanted:
        if pool is not None:
            pool.close()
        pool = engine.KernelPool(engine.Limits(**limits), unsafe=unsafe)
        _pools.pool, _pools.key = pool, wanted
        # Kill the kernel booting ahead when the worker process ends.
        multiprocessing.util.Finalize(pool, pool.close, exitpriority=10)
    return pool


def _failure_record(task: Task, status: str, message: str, infra: bool,
                    duration: float = 0.0) -> dict:
    """A record for a submission whose grading did not finish. infra: the grader's fault
    (a dead process, an internal error), not the student's: a rerun grades it again."""
    return {
        **task.key,
        "status": status,
        "message": message,
        "score": 0.0,
        "max_score": 0.0,
        "cells": {},
        "duration": float(duration),
        "note": task.note,
        "infra": infra,
    }


def grade_task(task: Task) -> dict:
    """Worker entry point: grade one notebook in a process of its own; return plain data.

    The kernel boots ahead in this process (KernelPool); the grading itself (test cells,
    decoding replies, rendering feedback) runs in a forked child under
    Limits.grader_memory_mb of address space and a wall-clock limit of notebook_timeout +
    grader_extra_seconds, so whatever happens to it costs this submission only. Never
    raises for a bad submission. {"fatal": message} means the run must stop (the sandbox
    cannot be set up on this worker).
    """
    from . import engine
    from .workers import run_isolated

    limits = engine.Limits(**task.limits)
    try:
        kernel = _kernel_pool(task.limits, task.unsafe).take()
    except engine.SandboxUnavailable as error:
        return {"fatal": f"grading cannot run on this worker: {error}"}
    try:
        source = _source_file(task)
        _warm_up(source)
        seconds = limits.notebook_timeout + limits.grader_extra_seconds
        ended = run_isolated(_grade_in_child, (task, source, kernel),
                             memory_mb=limits.grader_memory_mb, seconds=seconds)
    finally:
        kernel.kill()
    if ended.how == "ok":
        return ended.value
    if ended.how == "timeout":
        return _failure_record(
            task, "timeout",
            f"grading this submission took longer than {seconds:g} s, the limit for a whole "
            "submission (kernel start-up, tests and feedback included)", False, ended.seconds)
    if ended.how == "memory":
        return _failure_record(
            task, "error",
            f"grading this submission needed more than {limits.grader_memory_mb} MB in the "
            "grading process", False, ended.seconds)
    if ended.how == "died":
        return _failure_record(
            task, "error",
            f"the grading process of this submission {ended.message} (for example by the "
            "out-of-memory killer; not the student's fault): run the command again to grade "
            "it again", True, ended.seconds)
    return _failure_record(task, "error", f"internal grading error: {ended.message}", True,
                           ended.seconds)


def _source_file(task: Task) -> Path:
    """The source notebook on this machine: the planned path, or a copy named by content."""
    import tempfile

    source = Path(task.source_path)
    if source.is_file() and sha256(source.read_bytes()) == sha256(task.source_bytes):
        return source
    folder = Path(tempfile.gettempdir()) / f"nnlab-source-{sha256(task.source_bytes)[:16]}"
    copy = folder / f"{task.notebook}.ipynb"
    if not copy.is_file():
        folder.mkdir(exist_ok=True)
        tmp = folder / f".{os.getpid()}.tmp"
        tmp.write_bytes(task.source_bytes)
        os.replace(tmp, copy)
    return copy


def _warm_up(source: Path) -> None:
    """Parse the source notebook, compile its tests and render one feedback page here, once
    per worker, so every forked child inherits the work (the feedback templates alone
    take a second or more to compile) instead of repeating it."""
    from . import engine
    from .feedback import message_notebook, render_feedback
    from .trusted import prepare

    if getattr(_warm_up, "done", None) == source:
        return
    try:
        info = engine.load_source(source)
        for cell in info.cells:
            if cell.test is not None:
                prepare(cell.test)
    except Exception:
        pass  # the child meets the same problem and reports it
    render_feedback(message_notebook("warm-up"), {}, 0.0, 0.0, "-", "-", "-")
    # Out of the collector's sight: a child's garbage collections would otherwise write to
    # every inherited object and copy the worker's memory page by page.
    gc.collect()
    gc.freeze()
    _warm_up.done = source


def _grade_in_child(task: Task, source: Path, kernel) -> dict:
    """Grade one notebook and render its feedback page (runs in the isolated child)."""
    import nbformat

    from . import engine
    from .feedback import message_notebook, render_feedback
    from .workers import run_isolated

    started = time.monotonic()
    from .sandbox import SCRATCH_PREFIX

    with tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-") as scratch:
        submission = Path(scratch) / "submitted" / f"{task.notebook}.ipynb"
        submission.parent.mkdir()
        submission.write_bytes(task.submission_bytes)
        try:
            result = engine.grade_submission(
                source, submission, limits=engine.Limits(**task.limits), unsafe=task.unsafe,
                kernel=kernel,
                secret=submission_secret(task.secret, task.submission_bytes) if task.secret
                else None,
            )
        except (engine.SandboxUnavailable, engine.EnvironmentProblem) as error:
            return {"fatal": f"grading cannot run on this worker: {error}"}
        except MemoryError:
            raise
        except Exception as error:  # the batch continues; the row says what happened
            return _failure_record(task, "error",
                                   f"internal grading error: {type(error).__name__}: {error}",
                                   True, time.monotonic() - started)
    cells = {gid: _cell_dict(cell) for gid, cell in result.cells.items()}
    notes = [n for n in getattr(result, "notes", []) if n not in result.message]
    parts = [task.note, old_format_note(task.submission_bytes), *notes, result.message]
    # Name the student's file, not the worker's scratch copy.
    message = "; ".join(p for p in parts if p).replace(str(submission), task.display_name)
    record = {
        **task.key,
        "status": result.status,
        "message": message,
        "score": float(result.score),
        "max_score": float(result.max_score),
        "cells": cells,
        "duration": float(result.duration),
        "note": task.note,
        "infra": False,
    }
    graded = result.notebook if result.notebook is not None else message_notebook(message)
    # Rendering runs in a process of its own, killed after feedback_seconds: markdown
    # rendering can spend minutes inside a regular expression, where no signal reaches it.
    limits = engine.Limits(**task.limits)
    rendered = run_isolated(
        render_feedback,
        (graded, cells, result.score, result.max_score, task.assignment, task.student,
         task.notebook),
        memory_mb=limits.grader_memory_mb, seconds=limits.feedback_seconds,
    )
    if rendered.how == "ok":
        record["feedback_html"] = rendered.value
    else:  # a feedback page must never cost the grade
        reason = (f"within {limits.feedback_seconds:g} s" if rendered.how == "timeout"
                  else f"({rendered.message})")
        record["feedback_html"] = sanitize.error_page(
            f"Score: {result.score:g} / {result.max_score:g}. The feedback page could not "
            f"be rendered {reason}.")
    if result.notebook is not None:  # formgrader renders it unsanitised, as the instructor
        record["autograded_ipynb"] = nbformat.writes(sanitize.safe_notebook(result.notebook))
    record["duration"] = float(time.monotonic() - started)
    return record


# ------------------------------------------------------------------------ state file


class StateFile:
    """Append-only JSONL; the newest line for a (student, assignment, notebook) wins."""

    def __init__(self, path: Path):
        self.path = path
        self.records: dict[tuple, dict] = {}
        if path.exists():
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    record = json.loads(line)
                    self.records[self.ident(record)] = record
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue  # a line cut short by a kill: that notebook is graded again
        self.handle = None

    @staticmethod
    def ident(record: dict) -> tuple:
        return (record["student"], record["assignment"], record["notebook"])

    def lookup(self, task: Task) -> dict | None:
        record = self.records.get((task.student, task.assignment, task.notebook))
        key = task.key
        if record and record.get("infra"):
            return None  # failed for the grader's reasons, not the student's: grade again
        if record and all(record.get(k) == key[k] for k in ("submission_sha256", "source_sha256")):
            return record
        return None

    def append(self, record: dict) -> None:
        if self.handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.handle = open(self.path, "ab")
            if self.handle.tell() and not self.path.read_bytes().endswith(b"\n"):
                self.handle.write(b"\n")  # seal a line cut short by a kill
        self.handle.write((json.dumps(record, sort_keys=True) + "\n").encode("utf-8"))
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.records[self.ident(record)] = record

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()


# ---------------------------------------------------------------------- discovery


@dataclass
class Plan:
    tasks: list[Task]
    missing: list[tuple[str, str, str]]  # (student, assignment, notebook)
    students: dict[str, dict]  # id -> roster fields
    columns: dict[str, list[tuple[str, str, str, float, bool]]]  # see graded_columns
    notebooks: dict[str, list[str]]  # assignment -> notebook names
    # Ids formgrader would show unescaped: not graded, not in the gradebook; id -> reason.
    refused: dict[str, str] = field(default_factory=dict)


def graded_columns(source_root: Path, assignments: list[str], qualify: bool) -> dict:
    """{assignment: [(column, notebook, grade_id, points, manual), ...]} in notebook order."""
    columns: dict[str, list] = {}
    for assignment in assignments:
        notebooks = sorted((source_root / assignment).glob("*.ipynb"))
        entries = []
        for path in notebooks:
            for cell in read_notebook(path).cells:
                meta = nbgrader_meta(cell)
                if not meta.get("grade"):
                    continue
                gid = meta["grade_id"]
                name = gid if len(notebooks) == 1 else f"{path.stem}:{gid}"
                if qualify:
                    name = f"{assignment}/{name}"
                manual = bool(meta.get("solution")) or cell.cell_type != "code"
                entries.append((name, path.stem, gid, float(meta.get("points", 0)), manual))
        columns[assignment] = entries
    return columns


def find_submission(folder: Path, notebook: str, single: bool) -> tuple[Path | None, str]:
    """The student's file for `notebook` in `folder`, and a note when it was renamed."""
    expected = folder / f"{notebook}.ipynb"
    if expected.is_file():
        return expected, ""
    candidates = sorted(p for p in folder.glob("*.ipynb") if p.is_file()) if folder.is_dir() else []
    if single and len(candidates) == 1:
        return candidates[0], f"graded {candidates[0].name} as {notebook}.ipynb (renamed)"
    return None, ""


def plan_run(
    source_root: Path,
    assignments: list[str],
    submissions: Path,
    roster: dict[str, dict],
    limits: dict,
    unsafe: bool,
) -> Plan:
    unsafe_ids = {s: problem for s in roster if (problem := safe_id_problem(s))}
    if unsafe_ids:  # the id becomes a folder under OUT: refuse before anything is written
        raise ValueError("the roster has student ids that are not safe folder names: " + "; ".join(
            f"{s!r}: {problem}" for s, problem in sorted(unsafe_ids.items())))
    students = dict(roster)
    if submissions.is_dir():
        for entry in sorted(submissions.iterdir()):
            if entry.is_dir() and not safe_id_problem(entry.name):
                students.setdefault(entry.name, {})
    columns = graded_columns(source_root, assignments, qualify=len(assignments) > 1)
    tasks: list[Task] = []
    missing = []
    notebooks = {}
    refused = {s: r for s in students if (r := sanitize.unsafe_name_reason(s)) is not None}
    for assignment in assignments:
        sources = sorted((source_root / assignment).glob("*.ipynb"))
        notebooks[assignment] = [source.stem for source in sources]
        for source in sources:
            source_bytes = source.read_bytes()
            for student in sorted(set(students) - set(refused)):
                path, note = find_submission(
                    submissions / student / assignment, source.stem, single=len(sources) == 1
                )
                if path is None:
                    missing.append((student, assignment, source.stem))
                    continue
                tasks.append(
                    Task(
                        student=student, assignment=assignment, notebook=source.stem,
                        source_path=str(source), source_bytes=source_bytes,
                        submission_name=path.name, submission_bytes=path.read_bytes(),
                        limits=limits, unsafe=unsafe, note=note,
                    )
                )
    return Plan(tasks, missing, students, columns, notebooks, refused)


# ------------------------------------------------------------------------ pre-flight


def preflight(source_root: Path, assignments: list[str], limits: dict, unsafe: bool) -> None:
    """Grade each solution notebook as if it were a submission; raise RunAborted unless
    every automatically graded cell gets its full points."""
    from . import engine

    for assignment in assignments:
        for source in sorted((source_root / assignment).glob("*.ipynb")):
            try:
                engine.verify_environment(source, limits=engine.Limits(**limits), unsafe=unsafe)
            except engine.SandboxUnavailable as error:
                raise RunAborted(
                    f"the grading sandbox is unavailable: {error}\n"
                    "Install bubblewrap (apt install bubblewrap) or, on a machine you trust "
                    "with this class's code, pass --unsafe."
                ) from None
            except engine.EnvironmentProblem as problem:
                raise RunAborted(
                    f"environment check failed for {assignment}/{source.name}:\n  {problem}\n"
                    "Nothing was graded. Fix the grading environment (missing package? "
                    "wrong nnlab?) and run again."
                ) from None


# -------------------------------------------------------------------------- storing


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class Store:
    """Everything that writes to OUT; lives only in the main process."""

    def __init__(self, out: Path, state: StateFile, gradebook, submissions: Path | None = None):
        self.out = out
        self.state = state
        self.gradebook = gradebook
        self.submissions = submissions  # where import left each submission's time

    def save(self, record: dict) -> None:
        feedback = record.pop("feedback_html", None)
        autograded = record.pop("autograded_ipynb", None)
        where = Path(record["student"]) / record["assignment"]
        if feedback is not None:
            _atomic_write(self.out / "feedback" / where / f"{record['notebook']}.html",
                          feedback.encode("utf-8"))
        if autograded is not None:
            _atomic_write(self.out / "autograded" / where / f"{record['notebook']}.ipynb",
                          autograded.encode("utf-8"))
        self.to_gradebook(record)
        record["graded_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.state.append(record)

    def to_gradebook(self, record: dict) -> None:
        from .gradebook import submission_time

        submitted = None
        if self.submissions is not None:
            submitted = submission_time(self.submissions / record["student"] / record["assignment"])
        self.gradebook.record(
            record["assignment"], record["notebook"], record["student"], record["cells"],
            submitted=submitted,
        )


# ------------------------------------------------------------------------ executors


def LocalPool(workers: int):  # noqa: N802  (stands for a class: a pool of this machine)
    """Supervised worker processes on this machine (see workers.SupervisedPool)."""
    from .workers import SupervisedPool

    return SupervisedPool(workers)


def _crash_record(task: Task, error: BaseException) -> dict:
    """The record of a task whose worker process died under it."""
    return _failure_record(
        task, "error",
        f"{error} while grading this submission (not the student's fault): run the command "
        "again to grade it again", True)


def execute(tasks, make_pool, setup, function=None) -> None:
    """Run `tasks` on a pool from `make_pool()`; store results with what `setup()` returns.

    setup() -> (store, progress) runs after the tasks were handed to the pool, so workers
    boot and grade while this process prepares the gradebook and checks the environment;
    their results wait until setup() has returned. `function` (default grade_task) runs on
    the workers. A task whose worker process dies is recorded as an error of that task
    alone, flagged `infra` so that the next run grades it again; when workers keep dying
    before any task succeeds, the run stops rather than give the class errors.
    """
    function = function or grade_task
    store = progress = None
    pool = make_pool()
    deaths_in_a_row, succeeded = 0, 0
    try:
        futures = {pool.submit(function, task): task for task in tasks}
        store, progress = setup()
        for future in pool.as_completed(futures):
            task = futures[future]
            try:
                record = future.result()
            except Exception as error:
                deaths_in_a_row += 1
                if not succeeded and deaths_in_a_row >= DEATHS_BEFORE_ABORT:
                    raise RunAborted(f"grading worker processes keep dying: {error}") from None
                record = _crash_record(task, error)
            else:
                if "fatal" in record:
                    raise RunAborted(record["fatal"])
                deaths_in_a_row = 0
                succeeded += 1
            store.save(record)
            progress.update(f"{task.student} {task.assignment} {record['status']}")
    finally:
        pool.shutdown(cancel=True)
    if progress is not None:
        progress.close()


# --------------------------------------------------------------------------- output


def build_rows(plan: Plan, records: dict, assignments: list[str]) -> list[dict]:
    """One row per (student, assignment): totals, status, per-cell points, message."""
    rows = []
    for assignment in assignments:
        entries = plan.columns[assignment]
        notebooks = plan.notebooks[assignment]
        for student in sorted(plan.students):
            row = {"student_id": student, "assignment": assignment}
            found = [records.get((student, assignment, nb)) for nb in notebooks]
            statuses = [r["status"] if r else "missing" for r in found]
            messages = [r["message"] for r in found if r and r.get("message")]
            if all(status == "missing" for status in statuses):
                messages = ["no submission"]
            if student in plan.refused:
                statuses, messages = ["invalid"], [plan.refused[student]]
            row["status"] = next(s for s in STATUS_ORDER if s in statuses or s == "ok")
            row["score"] = round(float(sum(r["score"] for r in found if r)), 6)
            row["max_score"] = float(sum(points for _, _, _, points, _ in entries))
            by_notebook = {nb: r for nb, r in zip(notebooks, found, strict=True)}
            for column, nb, gid, _, manual in entries:
                record = by_notebook.get(nb)
                cell = (record or {}).get("cells", {}).get(gid)
                if manual or (cell and cell.get("needs_manual")):
                    row[column] = ""
                else:
                    row[column] = round(cell["points"], 6) if cell else 0.0
            row["message"] = "; ".join(messages)
            rows.append(row)
    return rows


def write_grades(path: Path, rows: list[dict], columns: dict) -> None:
    cell_columns = [entry[0] for entries in columns.values() for entry in entries]
    header = FIXED_COLUMNS + cell_columns + ["message"]
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, restval="")
        writer.writerow({key: sanitize.spreadsheet_safe(key) for key in header})
        for row in rows:
            writer.writerow({key: sanitize.spreadsheet_safe(row.get(key, "")) for key in header})
    os.replace(tmp, path)


def summary_lines(rows: list[dict], slowest: list) -> list[str]:
    counts = Counter(row["status"] for row in rows)
    lines = ["status: " + ", ".join(f"{s} {counts.get(s, 0)}" for s in reversed(STATUS_ORDER))]
    if slowest:
        lines.append("slowest submissions:")
        lines.extend(f"  {secs:6.1f} s  {student}  {assignment}" for secs, student, assignment
                     in slowest)
    return lines


# ------------------------------------------------------------------------------ run


@dataclass
class Options:
    assignment: str
    submissions: Path
    out: Path
    workers: int = 0
    cell_timeout: float | None = None
    memory_mb: int | None = None
    force: bool = False
    scheduler: str | None = None
    roster: Path | None = None
    unsafe: bool = False
    source_root: Path = course.SOLUTIONS


def limits_from(options: Options) -> dict:
    from . import engine

    limits = asdict(engine.Limits())
    if options.cell_timeout:
        limits["cell_timeout"] = float(options.cell_timeout)
    if options.memory_mb:
        limits["memory_mb"] = int(options.memory_mb)
    return limits


def run(options: Options, stream=None) -> int:
    """Grade; return the exit status (0: every submission has a row). Raises RunAborted."""
    from .gradebook import GradebookWriter, create_gradebook, db_url_for, register_assignment
    from .importer import default_roster_path, read_roster
    from .report import write_report
    from .sandbox import remove_stale_sandboxes

    stream = stream or sys.stdout
    remove_stale_sandboxes()  # left behind by a grader that was killed
    source_root = Path(options.source_root)
    assignments = course.resolve_assignments(options.assignment, source_root)
    if not assignments:
        raise RunAborted(f"no assignments found in {source_root}")
    roster_path = options.roster or default_roster_path(options.submissions)
    roster = read_roster(roster_path) if roster_path and Path(roster_path).is_file() else {}
    if not options.submissions.is_dir():
        raise RunAborted(f"submissions folder {options.submissions} does not exist")

    limits = limits_from(options)
    plan = plan_run(source_root, assignments, options.submissions, roster, limits, options.unsafe)
    out = options.out
    out.mkdir(parents=True, exist_ok=True)
    state = StateFile(out / STATE_FILE)
    todo = [t for t in plan.tasks if options.force or state.lookup(t) is None]
    reused = [state.lookup(t) for t in plan.tasks if t not in todo]
    try:
        grading_secret = workspace_secret(out)
    except SecretProblem as problem:
        raise RunAborted(str(problem)) from None
    todo = [dataclasses.replace(t, secret=grading_secret) for t in todo]

    db_url = db_url_for(out / "gradebook.db")
    writers = []

    def prepare() -> Store:
        """Register the assignments and students; bring the gradebook up to the state."""
        create_gradebook(out / "gradebook.db")
        for assignment in assignments:
            try:
                register_assignment(db_url, source_root, assignment)
            except Exception as error:  # nbgrader refuses, e.g. cells changed after grading
                raise RunAborted(
                    f"the gradebook {out / 'gradebook.db'} cannot take {assignment}: {error}"
                ) from None
        writer = GradebookWriter(db_url)
        writers.append(writer)
        for student, fields in sorted(plan.students.items()):
            if student in plan.refused:
                continue
            writer.add_student(student, *(sanitize.inert_name(fields.get(key))
                                          for key in ("first_name", "last_name", "email")))
        store = Store(out, state, writer, options.submissions)
        for record in reused:  # repeat the idempotent update: the gradebook may lag the state
            store.to_gradebook(record)
        return store

    print(
        f"grading {len(todo)} notebooks ({len(reused)} unchanged since the last run, "
        f"{len(plan.missing)} missing) of {len(plan.students)} students",
        file=stream, flush=True,
    )
    try:
        if todo:
            from .progress import Progress, Ticker

            if options.scheduler:
                from .cluster import ClusterUnavailable, DaskPool

                def make_pool():
                    try:
                        return DaskPool(options.scheduler)
                    except ClusterUnavailable as error:
                        raise RunAborted(str(error)) from None
            else:
                workers = options.workers or os.cpu_count() or 1

                def make_pool():
                    return LocalPool(min(workers, len(todo)))

            def setup():
                # The check mostly waits on its kernel: run it while the gradebook is set up.
                with cf.ThreadPoolExecutor(max_workers=1) as thread, \
                        Ticker("checking the grading environment (the solution is graded "
                               "in the sandbox)", stream):
                    check = thread.submit(preflight, source_root, assignments, limits,
                                          options.unsafe)
                    try:
                        store = prepare()
                    finally:
                        check.result()  # raises RunAborted before anything is stored
                return store, Progress(len(todo), stream)

            execute(todo, make_pool, setup)
        else:
            prepare()
    finally:
        for writer in writers:
            writer.close()
        state.close()

    records = {StateFile.ident(r): r for r in state.records.values()}
    rows = build_rows(plan, records, assignments)
    write_grades(out / "grades.csv", rows, plan.columns)
    current = [records[(t.student, t.assignment, t.notebook)] for t in plan.tasks
               if (t.student, t.assignment, t.notebook) in records]
    slowest = sorted(
        ((r["duration"], r["student"], r["assignment"]) for r in current), reverse=True
    )[:5]
    report_columns = {a: [(e[0], e[3]) for e in plan.columns[a] if not e[4]] for a in assignments}
    write_report(out / "report.html", rows, report_columns, slowest)
    for line in summary_lines(rows, slowest):
        print(line, file=stream)
    print(f"wrote {out / 'grades.csv'}, {out / 'report.html'}, feedback in {out / 'feedback'}",
          file=stream, flush=True)
    return 0
