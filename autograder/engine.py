"""Grade one submission: student cells in a sandboxed kernel, test cells in trusted code.

Contract: grade_submission(source, submission, limits=Limits(), unsafe=False,
workdir_files=(), kernel=None) -> SubmissionResult. It never raises because of the submission
(unreadable, wrong notebook, crashing or hostile code give status 'invalid', 'error' or
'timeout' with a message); it raises SandboxUnavailable only when isolation is impossible and
unsafe is False.

How a notebook is assembled (the SOURCE notebook decides everything that earns points):
  - the source's cells are walked in order;
  - answer cells come from the submission, matched by grade_id, read as the student evidently
    meant them (answers.py): the pieces of a split cell are joined, an unchanged copy of the
    starter code next to the real answer is ignored, later copies run where they stand; a
    missing answer cell runs the release stub, so its tests fail, unless the stub would
    replace a name the student's own cells define (an answer cell whose metadata was lost);
  - locked cells and test cells always come from the source, whatever the student did to
    their copy (edited, deleted, duplicated, re-typed);
  - cells the student added (no known grade_id) run right after the known cell they follow;
  - test cells run in trusted code (trusted.py), never in the kernel;
  - points come from the source; the submission's outputs and metadata are ignored.
The graded notebook returned for feedback holds the student's cells with fresh outputs, and
every test cell with its visible source only and a passed/failed output (a failure is an
`error` output, so nbgrader's own grade logic agrees with the score).
"""

from __future__ import annotations

import base64
import copy
import functools
import queue
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import zmq

from . import bridge as bridge_module
from .answers import bound_names, pieces_of_answer
from .notebooks import (
    HIDDEN_MARKERS,
    NotebookProblem,
    check_source_notebook,
    grade_id,
    is_answer_cell,
    is_test_cell,
    nbgrader_meta,
    read_notebook,
)
from .sandbox import KernelDied, KernelPool, Limits, SandboxedKernel, SandboxUnavailable
from .trusted import (
    Bridge,
    CellTimeout,
    TestCell,
    TrustedRunner,
    hidden_line_numbers,
    import_statements,
)

__all__ = [
    "CellResult", "EnvironmentProblem", "KernelPool", "Limits", "SandboxUnavailable",
    "SubmissionResult", "grade_submission", "verify_environment",
]

TRUNCATION_NOTE = "\n[output truncated: the submission exceeded the output limit of {} bytes]\n"
# Seconds to wait for the second of the two signals that a request is done (iopub idle,
# shell reply) once the first has come: one may have been dropped at a full or capped socket.
REPLY_GRACE = 1.0
IOPUB_BATCH = 200  # iopub messages read per look while waiting for a bridge reply


class EnvironmentProblem(RuntimeError):
    """The grading environment itself is broken (not the submission's fault)."""


@dataclass
class CellResult:
    grade_id: str
    points: float
    max_points: float
    passed: bool
    message: str  # student-safe
    needs_manual: bool = False


@dataclass
class SubmissionResult:
    status: str  # 'ok' | 'timeout' | 'error' | 'invalid'
    message: str
    score: float
    max_score: float
    cells: dict[str, CellResult]
    duration: float
    notebook: nbformat.NotebookNode | None = None
    notes: list[str] = field(default_factory=list)
    output_truncated: bool = False


# ------------------------------------------------------------------------------ source side


@dataclass
class SourceCell:
    kind: str  # 'answer' | 'manual' | 'test' | 'locked' | 'free'
    grade_id: str | None
    source: str
    cell_type: str
    points: float
    release: nbformat.NotebookNode  # the cell as the student received it (with checksum)
    test: TestCell | None = None


@dataclass
class SourceInfo:
    path: Path
    cells: list[SourceCell]
    metadata: dict
    runner: TrustedRunner
    ids: frozenset[str]

    @property
    def max_score(self) -> float:
        return sum(cell.points for cell in self.cells if cell.kind in ("test", "manual"))


def _release_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """Run nbgrader's own release preprocessors on a copy of `nb`, cell for cell."""
    from nbgrader.preprocessors import (
        ClearHiddenTests,
        ClearMarkScheme,
        ClearSolutions,
        ComputeChecksums,
    )

    from .course import load_config

    config = load_config()
    released = copy.deepcopy(nb)
    resources: dict = {}
    for preprocessor in (ClearSolutions, ComputeChecksums, ClearHiddenTests, ClearMarkScheme,
                         ComputeChecksums):
        released, resources = preprocessor(config=config).preprocess(released, resources)
    return released.cells


@functools.lru_cache(maxsize=16)
def _load_source(path: str, _mtime_ns: int) -> SourceInfo:
    nb = check_source_notebook(Path(path))
    released = _release_cells(nb)
    cells, imports = [], []
    for cell, release in zip(nb.cells, released, strict=True):
        meta = nbgrader_meta(cell)
        gid = grade_id(cell)
        points = float(meta.get("points", 0) or 0) if meta.get("grade") else 0.0
        if is_test_cell(cell):
            kind = "test"
        elif is_answer_cell(cell):
            kind = "manual" if meta.get("grade") else "answer"
        elif gid:
            kind = "locked"
        else:
            kind = "free"
        test = None
        if kind == "test":
            test = TestCell(gid, cell.source, hidden_line_numbers(cell.source, HIDDEN_MARKERS))
        if kind in ("locked", "test") and cell.cell_type == "code":
            imports += import_statements(cell.source)
        cells.append(SourceCell(kind, gid, cell.source, cell.cell_type, points, release, test))
    try:
        runner = TrustedRunner(imports)
    except Exception as error:
        raise EnvironmentProblem(
            f"{path}: the notebook's imports fail in the grading process: "
            f"{type(error).__name__}: {error}"
        ) from None
    ids = frozenset(cell.grade_id for cell in cells if cell.grade_id)
    return SourceInfo(Path(path), cells, dict(nb.metadata), runner, ids)


def load_source(path: Path) -> SourceInfo:
    """Parse, check and prepare a source notebook (cached while the file is unchanged)."""
    path = Path(path).resolve()
    return _load_source(str(path), path.stat().st_mtime_ns)


# -------------------------------------------------------------------------- assembly


@dataclass
class Step:
    kind: str  # 'answer' | 'manual' | 'test' | 'locked' | 'student'
    source: SourceCell | None
    code: str
    cell: nbformat.NotebookNode  # the cell written to the graded notebook


def _new_cell(cell_type: str, source: str, metadata: dict | None = None) -> nbformat.NotebookNode:
    maker = {
        "code": nbformat.v4.new_code_cell,
        "markdown": nbformat.v4.new_markdown_cell,
    }.get(cell_type, nbformat.v4.new_raw_cell)
    cell = maker(source=source)
    cell.metadata = copy.deepcopy(metadata or {})
    cell.id = uuid.uuid4().hex[:12]
    return cell


def _text(value) -> str:
    if isinstance(value, list):
        return "".join(str(part) for part in value)
    return value if isinstance(value, str) else ""


def _submission_grade_id(raw: dict, info: SourceInfo) -> str | None:
    meta = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
    nbmeta = meta.get("nbgrader") if isinstance(meta.get("nbgrader"), dict) else {}
    gid = nbmeta.get("grade_id")
    return gid if isinstance(gid, str) and gid in info.ids else None


def assemble(info: SourceInfo, submission: nbformat.NotebookNode) -> tuple[list[Step], list[str]]:
    """The ordered steps of grading; see the module docstring. Returns (steps, notes)."""
    notes: list[str] = []
    raws = [raw for raw in submission.get("cells", []) or [] if isinstance(raw, dict)]
    ids = [_submission_grade_id(raw, info) for raw in raws]
    by_id = {cell.grade_id: cell for cell in info.cells if cell.grade_id}

    # Answers: every copy of an answer's cell, resolved as the student evidently meant it.
    pieces: dict[str, list[tuple[int, str]]] = {}
    for position, gid in enumerate(ids):
        if gid is not None and by_id[gid].kind in ("answer", "manual"):
            pieces.setdefault(gid, []).append((position, _text(raws[position].get("source", ""))))
    answers: dict[str, str] = {}
    consumed: set[int] = set()  # positions that are not run as cells the student added
    for gid, copies in pieces.items():
        graded, elsewhere, dropped = pieces_of_answer(copies, by_id[gid].release.source)
        answers[gid] = "\n".join(text for _, text in graded)
        consumed |= {position for position, _ in copies} - {position for position, _ in elsewhere}
        if len(graded) > 1:
            notes.append(f"cell {gid!r} was split into {len(graded)} pieces; they were joined")
        if dropped:
            notes.append(f"cell {gid!r}: an unchanged copy of the starter code was ignored")
        if elsewhere:
            notes.append(f"cell {gid!r} appears more than once; the first copy was graded and "
                         "the later ones ran where they stand")

    trailing: dict[str | None, list[dict]] = {None: []}
    anchor: str | None = None
    seen: set[str] = set()
    for position, (raw, gid) in enumerate(zip(raws, ids, strict=True)):
        if gid is not None and gid not in seen:
            seen.add(gid)
            anchor = gid
            trailing.setdefault(gid, [])
        elif position in consumed:
            continue
        elif gid is not None and by_id[gid].kind not in ("answer", "manual"):
            notes.append(f"cell {gid!r} appears more than once; the first copy was graded")
        else:
            trailing.setdefault(anchor, []).append(raw)
    if info.ids and not seen:
        raise NotebookProblem(
            f"none of the cells of {info.path.name} were found: is this the right notebook?"
        )
    # Names the student's own code defines: a stub must never overwrite them.
    student_names: set[str] = set()
    for text in answers.values():
        student_names |= bound_names(text)
    for raw in (raw for cells in trailing.values() for raw in cells):
        if raw.get("cell_type") == "code":
            student_names |= bound_names(_text(raw.get("source", "")))

    steps: list[Step] = []

    def add_student_cells(key):
        for raw in trailing.get(key, []):
            cell_type = raw.get("cell_type")
            cell_type = cell_type if cell_type in ("code", "markdown") else "raw"
            source = _text(raw.get("source", ""))
            meta = {k: v for k, v in (raw.get("metadata") or {}).items() if k != "nbgrader"}
            cell = _new_cell(cell_type, source, meta)
            steps.append(Step("student" if cell_type == "code" else "text", None, source, cell))

    add_student_cells(None)
    missing: list[str] = []
    for source_cell in info.cells:
        if source_cell.kind == "free":
            continue  # unmarked source cells: the student's copy (if any) stands in for them
        release = copy.deepcopy(source_cell.release)
        release.pop("outputs", None)
        release.pop("execution_count", None)
        if source_cell.kind in ("answer", "manual"):
            text = answers.get(source_cell.grade_id)
            code = text
            if text is None:
                text = code = release.source
                replaced = sorted(bound_names(code) & student_names)
                if source_cell.cell_type == "code" and replaced:
                    code = ""
                    text = (f"# This answer cell was missing; your own cell defining "
                            f"{', '.join(replaced)} was used instead.")
                    notes.append(f"answer cell {source_cell.grade_id!r} is missing; its starter "
                                 f"code was not run, as it would have replaced your "
                                 f"{', '.join(replaced)}")
                else:
                    missing.append(source_cell.grade_id)
            cell = _new_cell(source_cell.cell_type, text, release.metadata)
            cell.id = release.get("id", cell.id)
            kind = source_cell.kind if source_cell.cell_type == "code" else "manual"
            steps.append(Step(kind, source_cell, code, cell))
        else:
            cell = _new_cell(source_cell.cell_type, release.source, release.metadata)
            cell.id = release.get("id", cell.id)
            kind = source_cell.kind if source_cell.cell_type == "code" else "text"
            steps.append(Step(kind, source_cell, source_cell.source, cell))
        add_student_cells(source_cell.grade_id)
    if missing:
        notes.append("missing answer cells (graded as unanswered): " + ", ".join(missing))
    return steps, notes


# ---------------------------------------------------------------------------- kernel I/O


FORGED = {"parent_header": {}, "msg_type": "forged", "content": {}}


def _get(getter, timeout: float):
    """The next message from a channel getter, or None when none came within `timeout` s.

    A message that does not deserialize (bad or repeated signature, broken JSON: the kernel
    is the student's) stands as FORGED, a message of nobody's request.
    """
    try:
        return getter(timeout=timeout)
    except queue.Empty:
        return None
    except Exception:  # whatever a hostile kernel's bytes make jupyter_client raise
        return FORGED


class KernelRunner:
    """Executes code and bridge requests on one sandboxed kernel, with deadlines."""

    def __init__(self, kernel: SandboxedKernel, limits: Limits, notebook_deadline: float):
        self.kernel = kernel
        self.client = kernel.client
        self.limits = limits
        self.notebook_deadline = notebook_deadline
        self.cell_deadline = notebook_deadline
        self.output_budget = limits.max_output_bytes
        self.truncated = False
        self.memory_error = False
        self.process_limit = False

    def start_cell(self) -> None:
        cell_end = time.monotonic() + self.limits.cell_timeout
        self.cell_deadline = min(self.notebook_deadline, cell_end)

    def _check_time(self) -> None:
        if time.monotonic() > self.cell_deadline:
            raise CellTimeout()

    def _wait(self, getter, msg_id):
        """Next message with parent msg_id from `getter`, honouring deadline and liveness.

        Every message read, ours or not, is followed by a deadline check: a kernel thread
        flooding the channel cannot keep this loop busy past the cell's time.
        """
        while True:
            self._check_time()
            msg = _get(getter, 0.05)
            if msg is None:
                if not self.kernel.alive():
                    raise KernelDied("the kernel died")
                continue
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return msg

    def _request(self, code: str, **options) -> str:
        """Send an execute request; KernelDied when the kernel stops taking requests (the
        socket's send timeout, see sandbox.CappedKernelClient)."""
        try:
            return self.client.execute(code, allow_stdin=False, stop_on_error=False, **options)
        except zmq.ZMQError as error:
            raise KernelDied(f"the kernel stopped accepting requests ({error})") from None

    def _reply_to(self, msg_id, timeout: float):
        """The shell reply to msg_id if it arrives within `timeout` s, else None."""
        end = time.monotonic() + timeout
        while True:
            self._check_time()
            msg = _get(self.client.get_shell_msg, max(0.0, end - time.monotonic()))
            if msg is None:
                return None
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return msg
            if time.monotonic() >= end:
                return None

    def execute(self, code: str) -> list:
        """Run student code; return its outputs (capped). Errors in the code are outputs.

        The cell is over when iopub says the kernel is idle again. The shell reply is the
        fallback: iopub drops messages when its small queue is full, so once the reply is
        in, a missing idle status is waited for only REPLY_GRACE seconds.
        """
        msg_id = self._request(code, store_history=True)
        outputs: list = []
        replied_at = None
        while True:
            self._check_time()
            msg = _get(self.client.get_iopub_msg, 0.05)
            if msg is None:
                if replied_at is None and self._reply_to(msg_id, 0) is not None:
                    replied_at = time.monotonic()
                if replied_at is not None and time.monotonic() - replied_at > REPLY_GRACE:
                    break
                if not self.kernel.alive():
                    raise KernelDied("the kernel died")
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg.get("msg_type"), msg.get("content")
            if not isinstance(content, dict):
                continue  # forged by the student's code: nothing to show
            if kind == "status" and content.get("execution_state") == "idle":
                break
            if kind in ("stream", "display_data", "execute_result", "error"):
                if kind == "error" and content.get("ename") == "MemoryError":
                    self.memory_error = True
                if kind == "error" and _is_process_limit(content):
                    self.process_limit = True
                self._keep(outputs, kind, content)
            elif kind == "clear_output":
                outputs.clear()
        if replied_at is None:
            self._wait(self.client.get_shell_msg, msg_id)
        return outputs

    def _keep(self, outputs: list, kind: str, content: dict) -> None:
        size = len(str(content))
        if size > self.output_budget:
            if not self.truncated:
                self.truncated = True
                text = TRUNCATION_NOTE.format(self.limits.max_output_bytes)
                outputs.append(nbformat.v4.new_output("stream", name="stdout", text=text))
            self.output_budget = 0
            return
        self.output_budget -= size
        try:
            if kind == "stream":
                output = nbformat.v4.new_output("stream", name=content["name"],
                                                text=content["text"])
            elif kind == "error":
                output = nbformat.v4.new_output("error", ename=content["ename"],
                                                evalue=content["evalue"],
                                                traceback=content["traceback"])
            else:
                output = nbformat.v4.new_output(kind, data=content.get("data", {}),
                                                metadata=content.get("metadata", {}))
                if kind == "execute_result":
                    output.execution_count = content.get("execution_count")
            outputs.append(output)
        except (KeyError, TypeError, ValueError):
            pass  # a malformed message from the kernel is dropped

    def send(self, payload: bytes) -> str:
        """One bridge round trip; returns the raw reply text (decoded by the caller).

        A reply over Limits.max_reply_bytes never reaches this process: the socket drops it.
        The kernel still reports idle on iopub, so idle without a reply for REPLY_GRACE
        seconds means the reply was too large.
        """
        expression = bridge_module.SERVE_EXPRESSION.format(
            payload=base64.b64encode(payload).decode("ascii")
        )
        msg_id = self._request("", silent=True, store_history=False,
                               user_expressions={"r": expression})
        idle_at = None
        while True:
            reply = self._reply_to(msg_id, 0.05)
            if reply is not None:
                break
            if not self.kernel.alive():
                raise KernelDied("the kernel died")
            idle_at = idle_at or self._idle_seen(msg_id)
            if idle_at is not None and time.monotonic() - idle_at > REPLY_GRACE:
                self._reconnect_shell()
                raise bridge_module.BridgeError(
                    "the kernel's reply was dropped: it is over the limit of "
                    f"{self.limits.max_reply_bytes:,} bytes"
                )
        # Busy/idle of this request: left in iopub's small queue they would crowd out the
        # next cell's outputs.
        self._drain_iopub()
        content = reply.get("content", {})
        result = (content.get("user_expressions") or {}).get("r")
        if content.get("status") != "ok" or not isinstance(result, dict):
            raise bridge_module.BridgeError("the kernel did not answer the request")
        if result.get("status") != "ok":
            raise bridge_module.BridgeError(
                f"the request failed in the kernel: {str(result.get('ename'))[:100]}"
            )
        text = (result.get("data") or {}).get("text/plain")
        if not isinstance(text, str):
            raise bridge_module.BridgeError("the kernel's reply is not text")
        if len(text) > self.limits.max_reply_bytes:
            raise bridge_module.BridgeError(
                f"the kernel's reply is over the limit of {self.limits.max_reply_bytes:,} bytes"
            )
        return text

    def _reconnect_shell(self) -> None:
        """A new shell socket under a new identity. The socket that refused an oversized
        message reconnects under its old identity, which the kernel's ROUTER still holds
        for the broken connection: requests sent on it would wait for ever."""
        client = self.client
        client.shell_channel.close()
        client._shell_channel = None
        client.session.session = uuid.uuid4().hex
        client.shell_channel.start()

    def _idle_seen(self, msg_id) -> float | None:
        """Read what iopub holds now (within the deadline); the time idle for msg_id came."""
        for _ in range(IOPUB_BATCH):
            self._check_time()
            msg = _get(self.client.get_iopub_msg, 0)
            if msg is None:
                return None
            if (msg.get("parent_header", {}).get("msg_id") == msg_id
                    and msg.get("msg_type") == "status"
                    and msg.get("content", {}).get("execution_state") == "idle"):
                return time.monotonic()
        return None

    def _drain_iopub(self) -> None:
        """Discard what iopub holds; a flood ends in CellTimeout, not in an endless loop."""
        while True:
            self._check_time()
            if _get(self.client.get_iopub_msg, 0) is None:
                return

    def install_bridge(self) -> None:
        """Install the kernel half of the bridge and check the kernel can import numpy/nnlab."""
        self.start_cell()
        outputs = self.execute(bridge_module.KERNEL_SOURCE + "\nimport numpy, nnlab\n")
        errors = [o for o in outputs if o.output_type == "error"]
        if errors:
            raise EnvironmentProblem(
                f"the sandboxed kernel cannot start grading: {errors[0].ename}: {errors[0].evalue}"
            )
        # Forget the set-up cell: the student's first cell should be execution 1.
        self._drain_iopub()


# ------------------------------------------------------------------------------- grading


class ProcessLimit(Exception):
    """The student's code hit the process limit (a fork bomb); its kernel cannot be trusted
    to answer coherently any more, as forked copies share its sockets."""


def _is_process_limit(content: dict) -> bool:
    text = f"{content.get('ename')} {content.get('evalue')}"
    return "BlockingIOError" in text or "Resource temporarily unavailable" in text


def _test_output(passed: bool, message: str, grade_id: str) -> list:
    if passed:
        return [nbformat.v4.new_output("stream", name="stdout", text="Test passed.\n")]
    return [nbformat.v4.new_output("error", ename="TestFailed", evalue=message,
                                   traceback=[f"Test {grade_id} failed: {message}"])]


def _invalid(message: str, info: SourceInfo | None, started: float) -> SubmissionResult:
    cells = _empty_cells(info, "not graded: " + message) if info else {}
    return SubmissionResult("invalid", message, 0.0, info.max_score if info else 0.0, cells,
                            time.monotonic() - started, None)


def _empty_cells(info: SourceInfo, message: str) -> dict[str, CellResult]:
    cells = {}
    for cell in info.cells:
        if cell.kind == "test":
            cells[cell.grade_id] = CellResult(cell.grade_id, 0.0, cell.points, False, message)
        elif cell.kind == "manual":
            cells[cell.grade_id] = CellResult(cell.grade_id, 0.0, cell.points, False,
                                              "needs manual grading", needs_manual=True)
    return cells


def _read_submission(submission, limits: Limits) -> nbformat.NotebookNode:
    if isinstance(submission, (str, Path)):
        size = Path(submission).stat().st_size
        if size > limits.max_submission_bytes:
            raise NotebookProblem(
                f"too large: the notebook file has {size:,} bytes, over the limit of "
                f"{limits.max_submission_bytes:,} bytes per submission"
            )
        return read_notebook(Path(submission))
    if not isinstance(submission, dict):
        raise NotebookProblem("the submission is not a notebook")
    nb = nbformat.from_dict(copy.deepcopy(dict(submission)))
    if nb.get("nbformat", 4) < 4:
        nb = nbformat.convert(nb, 4)
    return nb


def grade_submission(
    source: Path,
    submission,
    *,
    limits: Limits | None = None,
    unsafe: bool = False,
    workdir_files=(),
    kernel: SandboxedKernel | None = None,
    secret: bytes | None = None,
) -> SubmissionResult:
    """Grade `submission` (a path or a notebook) against the source notebook `source`.

    kernel: an already started SandboxedKernel (e.g. from KernelPool.take()); it is used for
    this submission only and is always killed at the end.
    secret: what hidden tests draw their inputs from (autograder.secret.submission_secret);
    None uses nnlab.hidden's public fallback, which hides nothing.
    """
    limits = limits or Limits()
    started = time.monotonic()
    info = load_source(source)
    try:
        nb = _read_submission(submission, limits)
        if int(nb.get("nbformat", 0)) != 4:
            raise NotebookProblem(f"unsupported notebook format {nb.get('nbformat')}")
        check_cell_sizes(nb, limits)  # before assembly, which parses every cell
        steps, notes = assemble(info, nb)
        check_sizes(steps, limits)
    except NotebookProblem as problem:
        if kernel is not None:
            kernel.kill()
        return _invalid(str(problem), info, started)
    except Exception as error:  # anything odd in the JSON structure of the submission
        if kernel is not None:
            kernel.kill()
        return _invalid(f"unreadable notebook ({type(error).__name__}: {error})", info, started)

    if kernel is None:
        kernel = SandboxedKernel(limits, workdir_files, unsafe=unsafe)
    try:
        return _grade(info, steps, notes, kernel, limits, started, secret)
    finally:
        kernel.kill()


def _grade(info, steps, notes, kernel, limits, started, secret=None) -> SubmissionResult:
    status, message = "ok", ""
    cells = _empty_cells(info, "not run")
    try:
        kernel.wait_ready(timeout=max(5.0, min(60.0, limits.notebook_timeout)))
    except KernelDied as error:
        raise EnvironmentProblem(f"the sandboxed kernel does not start: {error}") from None
    # Start-up is not the student's time: the notebook budget starts when the kernel is ready.
    runner = KernelRunner(kernel, limits, time.monotonic() + limits.notebook_timeout)
    runner.install_bridge()
    session = info.runner.session(Bridge(runner.send), secret)
    halted = None  # reason the remaining cells were not run
    graded_cells = []
    for step in steps:
        cell = step.cell
        graded_cells.append(cell)
        if step.kind in ("text", "manual"):
            continue
        if halted:
            if step.kind == "test":
                cells[step.source.grade_id].message = f"not run: {halted}"
                cell.outputs = _test_output(False, f"not run: {halted}", step.source.grade_id)
            continue
        runner.start_cell()
        try:
            if step.kind == "test":
                outcome = session.run(step.source.test)
                points = step.source.points if outcome.passed else 0.0
                cells[step.source.grade_id] = CellResult(
                    step.source.grade_id, points, step.source.points, outcome.passed,
                    outcome.message,
                )
                cell.outputs = _test_output(outcome.passed, outcome.message, step.source.grade_id)
            else:
                cell.outputs = runner.execute(step.code)
                if runner.process_limit:
                    raise ProcessLimit()
        except ProcessLimit:
            status = "error"
            halted = (f"the code started too many processes (limit {limits.max_processes}); "
                      "grading stopped")
            message = halted
            kernel.kill()
        except CellTimeout:
            over_notebook = time.monotonic() >= runner.notebook_deadline
            status = "timeout"
            halted = (f"the notebook exceeded its time limit of {limits.notebook_timeout:g} s"
                      if over_notebook else
                      f"a cell exceeded its time limit of {limits.cell_timeout:g} s")
            message = halted
            kernel.kill()
            _mark_halted(step, cells, cell, halted)
        except KernelDied:
            status = "error"
            halted = ("the kernel died (the code exited, crashed or exceeded the memory or "
                      "process limit)")
            message = halted
            _mark_halted(step, cells, cell, halted)
    if status == "ok" and runner.memory_error:
        status, message = "error", "the code ran out of memory (MemoryError)"
    if runner.truncated:
        notes.append(f"output truncated at {limits.max_output_bytes} bytes")
    score = sum(result.points for result in cells.values())
    notebook = nbformat.v4.new_notebook(metadata=copy.deepcopy(info.metadata), cells=graded_cells)
    if not message:
        message = "; ".join(notes)
    elif notes:
        message += "; " + "; ".join(notes)
    return SubmissionResult(status, message, score, info.max_score, cells,
                            time.monotonic() - started, notebook, notes, runner.truncated)


def check_cell_sizes(nb, limits: Limits) -> None:
    """Raise NotebookProblem when any cell of the submission, as handed in, is over
    Limits.max_cell_chars: parsing it to assemble the notebook could itself take minutes."""
    for number, cell in enumerate(nb.get("cells", []), start=1):
        size = len(_text(cell.get("source", "")))
        if size > limits.max_cell_chars:
            gid = grade_id(cell)
            where = f"cell {gid!r}" if gid else f"cell {number}"
            raise NotebookProblem(
                f"too large: {where} has {size:,} characters, over the limit of "
                f"{limits.max_cell_chars:,} per cell"
            )


def check_sizes(steps: list[Step], limits: Limits) -> None:
    """Raise NotebookProblem when the student's cells are over Limits.max_cell_chars each or
    Limits.max_source_chars together: nothing that large is run or rendered (rendering
    alone could outlast every time limit)."""
    total = 0
    for number, step in enumerate(steps, start=1):
        if step.source is not None and step.kind not in ("answer", "manual"):
            continue  # the instructor's cell
        size = len(step.code)
        total += size
        if size > limits.max_cell_chars:
            where = f"cell {step.source.grade_id!r}" if step.source else f"cell {number}"
            raise NotebookProblem(
                f"too large: {where} has {size:,} characters, over the limit of "
                f"{limits.max_cell_chars:,} per cell"
            )
    if total > limits.max_source_chars:
        raise NotebookProblem(
            f"too large: the cells of the submission have {total:,} characters together, over "
            f"the limit of {limits.max_source_chars:,}"
        )


def _mark_halted(step: Step, cells: dict, cell, reason: str) -> None:
    if step.kind == "test":
        cells[step.source.grade_id].message = f"not run: {reason}"
        cell.outputs = _test_output(False, f"not run: {reason}", step.source.grade_id)
    elif cell.cell_type == "code":
        cell.outputs = [nbformat.v4.new_output("error", ename="GradingStopped", evalue=reason,
                                               traceback=[reason])]


def verify_environment(source: Path, *, limits: Limits | None = None, unsafe: bool = False,
                       workdir_files=()) -> SubmissionResult:
    """Grade the source notebook itself; raise EnvironmentProblem unless it earns full marks.

    Run this once before a batch: a broken environment (missing package, sandbox that cannot
    import nnlab, a test that fails on the model solution) must stop grading, not zero a class.
    """
    info = load_source(source)
    result = grade_submission(source, read_notebook(Path(source)), limits=limits, unsafe=unsafe,
                              workdir_files=workdir_files)
    auto_max = sum(c.points for c in info.cells if c.kind == "test")
    if result.status != "ok" or abs(result.score - auto_max) > 1e-9:
        failing = [f"{gid}: {cell.message}" for gid, cell in result.cells.items()
                   if not cell.passed and not cell.needs_manual]
        raise EnvironmentProblem(
            f"{source}: the solution notebook does not grade to full marks in the sandbox "
            f"(status {result.status}, {result.score:g}/{auto_max:g}"
            f"{'; ' + result.message if result.message else ''}); failing: "
            + ("; ".join(failing[:5]) or "none")
        )
    return result
