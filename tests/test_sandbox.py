"""The sandbox hides the host, limits resources, and the bridge decoder rejects bad replies."""

from __future__ import annotations

import base64
import json
import os
import queue
import time

import numpy as np
import pytest

from autograder import sandbox
from autograder.bridge import BridgeError, Handle, StudentError, decode_reply
from autograder.course import ROOT


def encoded_array(array):
    return {"A": {"dtype": array.dtype.name, "shape": list(array.shape),
                  "data": base64.b64encode(array.tobytes()).decode()}}


def test_decode_plain_values_and_arrays():
    array = np.arange(6, dtype=np.float64).reshape(2, 3)
    reply = {"ok": {"L": [1, 2.5, "s", None, True, {"T": [1]}, {"C": [1.0, -2.0]},
                          {"D": [["k", 3]]}, encoded_array(array),
                          {"P": {"id": 4, "kind": "callable", "repr": "f"}}]}}
    value = decode_reply(json.dumps(reply))
    assert value[:5] == [1, 2.5, "s", None, True]
    assert value[5] == (1,) and value[6] == 1 - 2j and value[7] == {"k": 3}
    np.testing.assert_array_equal(value[8], array)
    assert value[8].flags.writeable
    assert value[9] == Handle(4, "callable", "f")


@pytest.mark.parametrize("reply", [
    "not json",
    json.dumps([1]),
    json.dumps({"ok": 1, "err": ["a", "b"]}),
    json.dumps({"ok": {"X": 1}}),
    json.dumps({"ok": {"A": {"dtype": "object", "shape": [1], "data": ""}}}),
    json.dumps({"ok": {"A": {"dtype": "float64", "shape": [3], "data": "AAAA"}}}),
    json.dumps({"ok": {"A": {"dtype": "float64", "shape": [-1], "data": ""}}}),
    json.dumps({"ok": {"M": "os"}}),
    json.dumps({"ok": {"P": {"id": "1", "kind": "callable", "repr": ""}}}),
    json.dumps({"ok": {"D": [[{"L": []}, 1]]}}),
    "[" * 100_000 + "]" * 100_000,
])
def test_decode_rejects_malformed_replies(reply):
    with pytest.raises(BridgeError):
        decode_reply(reply)


def test_decode_reports_student_errors():
    with pytest.raises(StudentError) as info:
        decode_reply(json.dumps({"err": ["ValueError", "bad shape"]}))
    assert info.value.type_name == "ValueError" and info.value.message == "bad shape"


def test_decode_enforces_size_limit():
    with pytest.raises(BridgeError, match="limit"):
        decode_reply(json.dumps({"ok": "x" * 1000}), max_bytes=100)


def run(kernel, code, timeout=20.0):
    client = kernel.client
    msg_id = client.execute(code)
    texts, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            msg = client.get_iopub_msg(timeout=0.2)
        except queue.Empty:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            texts.append(msg["content"]["text"])
        if msg["msg_type"] == "error":
            texts.append(msg["content"]["ename"])
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return "".join(texts)
    raise TimeoutError(code)


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    data = tmp_path_factory.mktemp("data") / "points.csv"
    data.write_text("1,2\n")
    os.environ["NNLAB_GRADER_SECRET"] = "instructor-only"
    started = sandbox.SandboxedKernel(sandbox.Limits(memory_mb=1536, max_processes=20),
                                      workdir_files=[data])
    del os.environ["NNLAB_GRADER_SECRET"]
    started.wait_ready(60)
    yield started
    started.kill()


@pytest.mark.slow
def test_kernel_sees_only_what_it_needs(kernel):
    probe = (
        "import json, os, resource\n"
        "def exists(p):\n    return os.path.exists(p)\n"
        "print(json.dumps({"
        "'uid': os.getuid(), 'cwd': os.getcwd(), 'files': sorted(os.listdir('.')),"
        f"'solutions': exists({str(ROOT / 'solutions')!r}),"
        f"'tests': exists({str(ROOT / 'tests')!r}),"
        f"'autograder': exists({str(ROOT / 'autograder')!r}),"
        "'nproc': resource.getrlimit(resource.RLIMIT_NPROC)[0],"
        "'address_space': resource.getrlimit(resource.RLIMIT_AS)[0],"
        "'grading': os.environ.get('NBGRADER_EXECUTION'),"
        "'blas': os.environ.get('OPENBLAS_NUM_THREADS'),"
        "'env': sorted(os.environ)}))\n"
    )
    facts = json.loads(run(kernel, probe))
    # Only the notebook's data file, besides the kernel's own dot-directories.
    assert [name for name in facts["files"] if not name.startswith(".")] == ["points.csv"]
    assert not facts["solutions"] and not facts["tests"] and not facts["autograder"]
    assert facts["nproc"] == 20 and facts["address_space"] == 1536 * 1024 * 1024
    assert facts["grading"] == "autograde" and facts["blas"] == "1"
    assert "NNLAB_GRADER_SECRET" not in facts["env"]  # nothing leaks from the grader
    if os.geteuid() == 0:
        assert facts["uid"] != 0


@pytest.mark.slow
def test_kernel_can_import_the_course_stack_and_cannot_write_outside(kernel):
    output = run(kernel, "import numpy, nnlab, matplotlib.pyplot\nprint('imported')")
    assert "imported" in output
    output = run(kernel, (
        "for path in ['/usr/evil', '/etc/evil', " + repr(str(ROOT / 'evil')) + "]:\n"
        "    try:\n        open(path, 'w')\n        print('WROTE')\n"
        "    except OSError:\n        print('DENIED')"
    ))
    assert output.split() == ["DENIED"] * 3


@pytest.mark.slow
def test_fork_bomb_hits_the_process_limit(kernel):
    output = run(kernel, (
        "import os, time\npids = []\ntry:\n    for _ in range(100):\n"
        "        pid = os.fork()\n        if pid == 0:\n            time.sleep(30)\n"
        "            os._exit(0)\n        pids.append(pid)\n"
        "except BlockingIOError:\n    print('LIMITED', len(pids))\n"
        "for pid in pids:\n    os.kill(pid, 9)\n    os.waitpid(pid, 0)"
    ))
    assert "LIMITED" in output
    assert int(output.split()[-1]) < 20


def test_missing_bubblewrap_fails_closed(monkeypatch):
    sandbox.sandbox_problem.cache_clear()
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    try:
        with pytest.raises(sandbox.SandboxUnavailable, match="bubblewrap"):
            sandbox.SandboxedKernel(sandbox.Limits())
    finally:
        sandbox.sandbox_problem.cache_clear()


@pytest.mark.slow
def test_disk_fill_is_capped_and_never_reaches_the_host_disk(kernel):
    fill = (
        "import os\nwritten = 0\n"
        "for folder in (os.path.expanduser('~'), '/tmp'):\n"
        "    for number in range(40):\n"
        "        path = os.path.join(folder, f'fill{number}')\n"
        "        try:\n"
        "            with open(path, 'wb') as handle:\n"
        "                handle.write(bytes(16_000_000))\n"
        "            written += 16_000_000\n"
        "        except OSError as error:\n"
        "            print('FULL', folder, error.errno)\n"
        "            break\n"
        "print('WRITTEN', written)\n"
    )
    output = run(kernel, fill, timeout=120)
    host_bytes = sum(path.stat().st_size for path in kernel.root.rglob("*") if path.is_file())
    run(kernel, "import glob, os\nfor path in glob.glob(os.path.expanduser('~/fill*')) + "
                "glob.glob('/tmp/fill*'):\n    os.remove(path)")
    lines = output.split("\n")
    assert "FULL /home/student 28" in lines and "FULL /tmp 28" in lines  # ENOSPC in both
    written = int(output.split("WRITTEN")[1].split()[0])
    cap = kernel.limits.disk_mb * 1024 * 1024
    assert cap // 2 < written <= cap
    assert host_bytes < 10_000_000  # the notebook's files and caches only


class LossyIopubClient:
    """A kernel client whose iopub subscription connects only after `lost` requests.

    Shell replies always arrive; the status messages published for the first requests
    are lost, as ZeroMQ loses messages published before a subscriber has joined.
    """

    def __init__(self, lost):
        self.lost, self.requests = lost, []
        self.shell, self.iopub = queue.Queue(), queue.Queue()

    def kernel_info(self):
        msg_id = f"info-{len(self.requests)}"
        self.requests.append(msg_id)
        self.shell.put({"parent_header": {"msg_id": msg_id}, "msg_type": "kernel_info_reply"})
        if len(self.requests) > self.lost:
            self.iopub.put({"parent_header": {"msg_id": msg_id}, "msg_type": "status"})
        return msg_id

    def get_shell_msg(self, timeout):
        return self.shell.get(timeout=timeout)

    def get_iopub_msg(self, timeout):
        return self.iopub.get(timeout=timeout)


def test_ready_only_once_iopub_carries_our_request():
    started = sandbox.SandboxedKernel.__new__(sandbox.SandboxedKernel)
    started._client, started.ready = LossyIopubClient(lost=2), False
    started.alive = lambda: True
    started.unsafe = True  # no sandbox folders to seal
    started.wait_ready(timeout=10)
    assert started.ready
    # A shell reply alone did not count: it took a third request to see iopub carry one.
    assert len(started.client.requests) == 3
    assert started.client.shell.empty(), "stale kernel_info replies left for the first cell"


@pytest.mark.slow
def test_a_ready_kernel_can_create_nothing_in_its_socket_folder(kernel):
    sockets_before = sorted(p.name for p in kernel.conndir.iterdir())
    attempt = (
        "import os\n"
        f"folder = {str(kernel.conndir)!r}\n"
        "def path(name):\n    return os.path.join(folder, name)\n"
        "for name, action in [('new', lambda: open(path('flood'), 'w')),\n"
        "                     ('chmod', lambda: os.chmod(folder, 0o777)),\n"
        "                     ('config', lambda: open(path('kernel.json'), 'a'))]:\n"
        "    try:\n"
        "        action()\n"
        "        print(name, 'allowed')\n"
        "    except OSError as error:\n"
        "        print(name, type(error).__name__)\n"
    )
    report = run(kernel, attempt)
    if os.geteuid() == 0:  # the kernel runs as a uid of its own: every attempt is refused
        assert report.split() == ["new", "PermissionError", "chmod", "PermissionError",
                                  "config", "PermissionError"], report
    else:  # same uid: the folder is read-only, though the owner could chmod it back
        assert report.split()[:2] == ["new", "PermissionError"], report
    assert sorted(p.name for p in kernel.conndir.iterdir()) == sockets_before
    assert run(kernel, "print(6 * 7)").strip() == "42"  # the sockets still work
