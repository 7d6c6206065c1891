"""One submission must not stall or starve the batch.

Each case was reproduced against the grader as an attack: a kernel flooding iopub, a huge
reply to a test's request, many huge queued messages, a huge cell, a dying grading process,
sandbox folders left by a killed grader. The grader must end the offending submission with
a clear status, keep its own memory bounded, and grade every other student normally.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
from dataclasses import asdict
from pathlib import Path

import nbformat
import pytest

from autograder import pipeline, workers
from autograder.bridge import MAX_REPLY_BYTES, BridgeError, decode_reply
from autograder.engine import KernelRunner, Limits, grade_submission
from autograder.notebooks import grade_id
from autograder.sandbox import remove_stale_sandboxes
from autograder.trusted import CellTimeout
from tests.support.dying import fake_record, grade_or_die
from tests.test_pipeline import (
    ASSIGNMENT,
    CORRECT,
    build_assignment,
    by_student,
    grade,
    put,
    read_grades,
    student_notebook,
)

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "autograde"
SOURCE = FIXTURE / "source" / "fixture.ipynb"
ROOT = Path(__file__).resolve().parent.parent

# A kernel thread that floods iopub with valid, signed 1 MB messages. The signature of the
# fixed part is computed once, so sending costs the kernel almost nothing while reading
# costs the grader a signature check and a JSON parse of 1 MB per message.
FLOOD = '''
import threading
def _flood():
    import hmac, json
    kernel = get_ipython().kernel
    session, socket = kernel.session, kernel.iopub_thread.socket
    header = json.dumps({"msg_id": "f", "msg_type": "stream", "session": "f", "username": "f",
                         "date": "2020-01-01T00:00:00Z", "version": "5.3"}).encode()
    frames = [header, b"{}", b"{}"]
    prefix = b'{"name": "stdout", "text": "' + b"x" * 1_000_000
    signed = hmac.new(session.key, digestmod=session.digest_mod)
    for frame in frames + [prefix]:
        signed.update(frame)
    number = 0
    while True:
        number += 1
        tail = b'%d"}' % number
        signature = signed.copy()
        signature.update(tail)
        socket.send_multipart([b"<IDS|MSG>", signature.hexdigest().encode(), *frames,
                               prefix + tail])
threading.Thread(target=_flood, daemon=True).start()
'''

# Every request of the tests gets a 255 MB reply.
HUGE_REPLY = '''
import sys
class _Verbatim(str):
    def __repr__(self):
        return str.__str__(self)
_huge = _Verbatim('{"ok": "' + "x" * 255_000_000 + '"}')
sys.modules["_nnlab_bridge"].serve = lambda payload: _huge
'''

# Thirty 100 MB outputs, each its own iopub message.
QUEUED = '''
for _ in range(30):
    print("x" * 100_000_000, flush=True)
'''


def load(name: str) -> nbformat.NotebookNode:
    return nbformat.read(FIXTURE / "submissions" / f"{name}.ipynb", as_version=4)


def with_code(code: str, gid: str = "sigmoid", base: str = "correct"):
    nb = load(base)
    cell = next(cell for cell in nb.cells if grade_id(cell) == gid)
    cell.source += "\n" + code
    return nb


# ------------------------------------------------------------------ kernel reads


class FakeKernel:
    def __init__(self, client):
        self.client = client

    def alive(self):
        return True


class FloodingClient:
    """A kernel connection whose iopub never runs dry (messages of nobody's request);
    shell answers every request at once."""

    def __init__(self, forged_first: int = 0):
        self.forged_left = forged_first
        self.request = None

    def execute(self, code, **options):
        self.request = f"request-{time.monotonic()}"
        return self.request

    def get_iopub_msg(self, timeout=None):
        return {"parent_header": {"msg_id": "someone-else"}, "msg_type": "stream",
                "content": {"name": "stdout", "text": "x"}}

    def get_shell_msg(self, timeout=None):
        if self.forged_left:
            self.forged_left -= 1
            raise ValueError("Invalid Signature")  # what jupyter_client raises for forgeries
        return {"parent_header": {"msg_id": self.request},
                "content": {"status": "ok", "user_expressions": {"r": {
                    "status": "ok", "data": {"text/plain": '{"ok": 1}'}}}}}


def finishes_within(seconds: float, function) -> tuple[bool, object]:
    """Run `function` in a thread; (finished in time, its result or exception)."""
    box: list = []

    def target():
        try:
            box.append(function())
        except BaseException as error:  # reported to the test
            box.append(error)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive(), (box[0] if box else None)


@pytest.mark.parametrize("operation", ["send", "execute"])
def test_every_kernel_read_stops_at_the_cell_deadline(operation):
    limits = Limits(cell_timeout=0.5, notebook_timeout=60)
    runner = KernelRunner(FakeKernel(FloodingClient()), limits, time.monotonic() + 60)
    runner.start_cell()
    call = (lambda: runner.send(b"payload")) if operation == "send" else (
        lambda: runner.execute("pass"))
    finished, outcome = finishes_within(10, call)
    assert finished, f"{operation} kept reading a flooded channel past the cell deadline"
    assert isinstance(outcome, CellTimeout), outcome


def test_the_notebook_deadline_bounds_every_cell():
    limits = Limits(cell_timeout=60, notebook_timeout=60)
    runner = KernelRunner(FakeKernel(FloodingClient()), limits, time.monotonic() + 0.5)
    runner.start_cell()
    finished, outcome = finishes_within(10, lambda: runner.send(b"payload"))
    assert finished and isinstance(outcome, CellTimeout), outcome


def test_forged_messages_are_skipped_not_fatal():
    client = FloodingClient(forged_first=3)
    client.get_iopub_msg = lambda timeout=None: (_ for _ in ()).throw(queue.Empty())
    runner = KernelRunner(FakeKernel(client), Limits(cell_timeout=5), time.monotonic() + 60)
    runner.start_cell()
    assert runner.send(b"payload") == '{"ok": 1}'


class ForgingClient(FloodingClient):
    """iopub: a message of the current request whose content is not an object, then idle."""

    def execute(self, code, **options):
        self.script = iter([["not", "an", "object"], {"execution_state": "idle"}])
        return super().execute(code, **options)

    def get_iopub_msg(self, timeout=None):
        content = next(self.script, None)
        if content is None:
            raise queue.Empty()
        return {"parent_header": {"msg_id": self.request}, "msg_type": "status",
                "content": content}


def test_forged_outputs_of_a_cell_are_dropped_not_fatal():
    runner = KernelRunner(FakeKernel(ForgingClient()), Limits(cell_timeout=5),
                          time.monotonic() + 60)
    runner.start_cell()
    finished, outcome = finishes_within(10, lambda: runner.execute("pass"))
    assert finished and outcome == [], outcome


# ------------------------------------------------------------------ size caps


def test_oversized_reply_is_refused_before_parsing():
    text = json.dumps({"ok": "x" * (MAX_REPLY_BYTES + 10)})
    tracemalloc.start()
    try:
        with pytest.raises(BridgeError, match="limit"):
            decode_reply(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000  # nothing of the reply was copied or parsed


@pytest.mark.parametrize("where", ["answer", "added", "markdown"])
def test_huge_cell_is_invalid_at_once(tmp_path, where):
    nb = load("correct")
    huge = "x = 1\n" * 700_000  # 4.2 MB
    if where == "answer":
        next(c for c in nb.cells if grade_id(c) == "sigmoid").source = huge
    elif where == "added":
        nb.cells.append(nbformat.v4.new_code_cell(huge))
    else:
        nb.cells.append(nbformat.v4.new_markdown_cell("[" * 2_000_000 + "]" * 2_000_000))
    started = time.monotonic()
    result = grade_submission(SOURCE, nb, limits=Limits())
    assert time.monotonic() - started < 10  # no kernel, no rendering
    assert result.status == "invalid"
    assert "too large" in result.message and "100,000 per cell" in result.message
    assert result.score == 0 and result.max_score == 7


def test_cells_over_the_total_cap_are_invalid():
    nb = load("correct")
    for _ in range(6):
        nb.cells.append(nbformat.v4.new_code_cell("y = 2\n" * 15_000))  # 90,000 each
    result = grade_submission(SOURCE, nb, limits=Limits())
    assert result.status == "invalid"
    assert "500,000" in result.message and "together" in result.message


def test_oversized_file_is_invalid_before_it_is_read(tmp_path):
    path = tmp_path / "big.ipynb"
    path.write_bytes(b"{" + b" " * 2_000_000 + b"}")
    result = grade_submission(SOURCE, path, limits=Limits(max_submission_bytes=1_000_000))
    assert result.status == "invalid"
    assert "2,000,002 bytes" in result.message and "1,000,000" in result.message


# ------------------------------------------------------------- isolated processes


def _return_pid():
    return os.getpid()


def _sleep_forever():
    time.sleep(600)


def _hog_memory():
    hoard = []
    while True:
        hoard.append(bytearray(50_000_000))


def _kill_myself():
    os.kill(os.getpid(), signal.SIGKILL)


def _raise():
    raise KeyError("boom")


def test_run_isolated_reports_how_the_child_ended():
    ended = workers.run_isolated(_return_pid, (), memory_mb=4096, seconds=30)
    assert ended.how == "ok" and ended.value != os.getpid()  # it ran in another process

    started = time.monotonic()
    ended = workers.run_isolated(_sleep_forever, (), memory_mb=4096, seconds=1)
    assert ended.how == "timeout" and time.monotonic() - started < 10

    ended = workers.run_isolated(_hog_memory, (), memory_mb=2048, seconds=60)
    assert ended.how == "memory"

    ended = workers.run_isolated(_kill_myself, (), memory_mb=4096, seconds=30)
    assert ended.how == "died" and "SIGKILL" in ended.message

    ended = workers.run_isolated(_raise, (), memory_mb=4096, seconds=30)
    assert ended.how == "raised" and "boom" in ended.message


@pytest.mark.slow
def test_a_dead_worker_costs_only_its_own_task():
    pool = workers.SupervisedPool(2)
    try:
        tasks = [pipeline.Task(student=name, assignment="a", notebook="n", source_path="-",
                               source_bytes=b"", submission_name="n.ipynb",
                               submission_bytes=name.encode(), limits={})
                 for name in ["s1", "s2", "doomed", "s3", "s4", "s5"]]
        futures = {pool.submit(fake_record, task): task.student for task in tasks}
        outcomes = {}
        for future in pool.as_completed(futures):
            try:
                outcomes[futures[future]] = future.result()
            except workers.WorkerDied as died:
                outcomes[futures[future]] = died
    finally:
        pool.shutdown()
    assert isinstance(outcomes["doomed"], workers.WorkerDied)
    assert "SIGKILL" in str(outcomes["doomed"])
    others = [outcomes[name] for name in ["s1", "s2", "s3", "s4", "s5"]]
    assert all(isinstance(record, dict) and record["status"] == "ok" for record in others)


class ListStore:
    def __init__(self, state):
        self.state = state
        self.saved = []

    def save(self, record):
        record.pop("feedback_html", None)
        record.pop("autograded_ipynb", None)
        self.saved.append(record)
        self.state.append(record)


class Silent:
    def update(self, text):
        pass

    def close(self):
        pass


@pytest.mark.slow
def test_dead_worker_then_rerun_grades_the_victim_again(tmp_path):
    source_root = build_assignment(tmp_path / "solutions")
    submissions = tmp_path / "submitted"
    students = ["ada", "bo", "doomed", "cy"]
    for student in students:
        put(submissions, student, student_notebook(CORRECT))
    limits = {**asdict(Limits()), "cell_timeout": 20.0}
    plan = pipeline.plan_run(source_root, [ASSIGNMENT], submissions, {}, limits, False)
    state = pipeline.StateFile(tmp_path / "state.jsonl")
    store = ListStore(state)
    pipeline.execute(plan.tasks, lambda: pipeline.LocalPool(2), lambda: (store, Silent()),
                     function=grade_or_die)
    state.close()
    records = {record["student"]: record for record in store.saved}
    assert sorted(records) == sorted(students)
    doomed = records.pop("doomed")
    assert doomed["status"] == "error" and doomed["infra"] is True
    assert "SIGKILL" in doomed["message"]
    for record in records.values():  # queued behind the dead worker, graded normally
        assert record["status"] == "ok" and record["score"] == 3.0, record
        assert record["infra"] is False

    again = pipeline.StateFile(tmp_path / "state.jsonl")
    regraded = [task.student for task in plan.tasks if again.lookup(task) is None]
    assert regraded == ["doomed"]


# ------------------------------------------------------------------ leftovers


def test_stale_sandbox_folders_of_dead_graders_are_removed(tmp_path):
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    dead = tmp_path / f"nnlab-sbx-{finished.pid}-abc"
    dead_scratch = tmp_path / f"nnlab-task-{finished.pid}-def"
    alive = tmp_path / f"nnlab-sbx-{os.getppid()}-ghi"
    unrelated = tmp_path / f"other-{finished.pid}-x"
    for folder in (dead, dead_scratch, alive, unrelated):
        (folder / "home").mkdir(parents=True)
        (folder / "home" / "big").write_bytes(b"x" * 1000)
    removed = remove_stale_sandboxes(str(tmp_path))
    assert sorted(removed) == sorted([dead, dead_scratch])
    assert not dead.exists() and not dead_scratch.exists()
    assert alive.exists() and unrelated.exists()


# ------------------------------------------------------- end to end, sandboxed

PEAK_SCRIPT = """
import json, resource, sys
import nbformat
from autograder.engine import Limits, grade_submission
limits = Limits(**json.loads(sys.argv[3]))
result = grade_submission(sys.argv[1], nbformat.read(sys.argv[2], as_version=4), limits=limits)
print(json.dumps({
    "status": result.status, "score": result.score, "message": result.message,
    "cells": {gid: cell.message for gid, cell in result.cells.items()},
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def graded_in_own_process(tmp_path, name, nb, limits: dict) -> dict:
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(nb, path)
    done = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, str(SOURCE), str(path),
                           json.dumps(limits)], capture_output=True, text=True, cwd=ROOT,
                          timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_huge_replies_and_queued_messages_do_not_bloat_the_grader(tmp_path):
    limits = {"cell_timeout": 60.0, "notebook_timeout": 200.0, "memory_mb": 3072}
    honest = graded_in_own_process(tmp_path, "honest", load("correct"), limits)
    huge = graded_in_own_process(tmp_path, "huge", with_code(HUGE_REPLY), limits)
    queued = graded_in_own_process(tmp_path, "queued", with_code(QUEUED), limits)
    assert honest["status"] == "ok" and honest["score"] == 6

    # The 255 MB replies were dropped at the socket; every test failed, saying why.
    assert huge["status"] == "ok" and huge["score"] == 0, huge
    assert "over the limit" in huge["cells"]["sigmoid_test"], huge["cells"]
    # Thirty 100 MB outputs were dropped at the socket; grading went on normally.
    assert queued["status"] == "ok" and queued["score"] == 6, queued

    for attack in (huge, queued):
        assert attack["peak_mb"] < honest["peak_mb"] + 150, (honest["peak_mb"], attack)


@pytest.mark.slow
def test_output_flood_ends_the_submission_and_the_run_writes_grades(tmp_path):
    source_root = build_assignment(tmp_path / "solutions")
    submissions, out = tmp_path / "submitted", tmp_path / "out"
    flooder = dict(CORRECT, square=CORRECT["square"] + "\n" + FLOOD)
    put(submissions, "flooder", student_notebook(flooder))
    put(submissions, "honest", student_notebook(CORRECT))
    started = time.monotonic()
    assert grade(source_root, submissions, out, "--workers", "2", "--timeout", "3") == 0
    assert time.monotonic() - started < 200
    rows = by_student(read_grades(out))
    # Whether the flood outpaces the grader depends on the CPU each side gets: either the
    # grader kept up and graded normally, or the cell's deadline ended the submission.
    # Never an internal error, never a hang.
    assert rows["flooder"]["status"] in ("timeout", "ok"), rows["flooder"]
    if rows["flooder"]["status"] == "timeout":
        assert "time limit of 3 s" in rows["flooder"]["message"]
    assert rows["honest"]["status"] == "ok" and float(rows["honest"]["score"]) == 3.0


@pytest.mark.slow
def test_feedback_rendering_is_time_limited_and_keeps_the_grade(tmp_path, monkeypatch):
    source_root = build_assignment(tmp_path / "solutions")
    submissions = tmp_path / "submitted"
    nb = student_notebook(CORRECT)
    # Under the cell cap; nbconvert once spent tens of seconds on it. Sanitising the markdown
    # first made it fast, but a renderer that hangs must still be cut off, grade kept.
    nb.cells.append(nbformat.v4.new_markdown_cell("[" * 49_000 + "]" * 49_000))
    put(submissions, "slowpage", nb)
    from autograder import feedback

    real_render = feedback.render_feedback

    def hanging_render(notebook, *args):
        if any("[" * 1000 in cell.source for cell in notebook.cells):
            time.sleep(120)
        return real_render(notebook, *args)

    monkeypatch.setattr(feedback, "render_feedback", hanging_render)
    limits = {**asdict(Limits()), "cell_timeout": 20.0, "feedback_seconds": 2.0}
    (task,) = pipeline.plan_run(source_root, [ASSIGNMENT], submissions, {}, limits,
                                False).tasks
    started = time.monotonic()
    record = pipeline.grade_task(task)
    assert time.monotonic() - started < 60
    assert record["status"] == "ok" and record["score"] == 3.0
    assert "could not be rendered within 2 s" in record["feedback_html"]
    assert "Score: 3 / 4" in record["feedback_html"]


def test_bracket_flood_markdown_now_renders_within_the_limit(tmp_path):
    source_root = build_assignment(tmp_path / "solutions")
    submissions = tmp_path / "submitted"
    nb = student_notebook(CORRECT)
    nb.cells.append(nbformat.v4.new_markdown_cell("[" * 49_000 + "]" * 49_000))
    put(submissions, "slowpage", nb)
    limits = {**asdict(Limits()), "cell_timeout": 20.0, "feedback_seconds": 20.0}
    (task,) = pipeline.plan_run(source_root, [ASSIGNMENT], submissions, {}, limits,
                                False).tasks
    record = pipeline.grade_task(task)
    assert record["status"] == "ok" and record["score"] == 3.0
    assert "could not be rendered" not in record["feedback_html"]
    assert "[[[[" in record["feedback_html"]
