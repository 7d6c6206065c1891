"""Each submission is graded in a process of its own that can be killed without loss to others.

Two layers:

run_isolated(function, args, memory_mb, seconds) -> Ended
    Forks this process and runs function(*args) in the child, under an address-space limit
    (RLIMIT_AS, soft) of `memory_mb` MB more than it inherited, and a wall-clock watchdog of
    `seconds` here in the parent, which SIGKILLs the child when time is up. The child
    inherits everything this process has loaded (modules, the parsed source notebook, the
    feedback templates), so it starts in milliseconds. Ended.how is 'ok' (value: the
    function's return value, which must pickle), 'raised' (message), 'memory' (MemoryError
    in the child), 'timeout' or 'died' (message names the signal or exit status). Never
    raises for the child's sake.

SupervisedPool(workers)
    The local executor: `workers` long-lived supervisor processes (spawn start method), each
    running one task at a time. submit(function, task) returns a concurrent.futures.Future.
    When a supervisor process dies, only the future of the task it was running fails, with
    WorkerDied naming the cause; queued tasks go to a fresh supervisor.

Fork is safe here because the process that forks is single-threaded at that point: the
supervisor's main loop, or a caller that has no ZMQ context (kernel clients are created in
the child, see sandbox.SandboxedKernel.client).
"""

from __future__ import annotations

import concurrent.futures as cf
import ctypes
import multiprocessing
import multiprocessing.connection
import os
import pickle
import queue
import resource
import select
import signal
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any

PR_SET_PDEATHSIG = 1


@dataclass
class Ended:
    """How an isolated call ended (see run_isolated)."""

    how: str  # 'ok' | 'raised' | 'memory' | 'timeout' | 'died'
    value: Any = None
    message: str = ""
    seconds: float = 0.0


class WorkerDied(RuntimeError):
    """A supervisor process ended while it was running a task (the message says how)."""


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _die_with_parent() -> None:
    """Linux: the kernel sends SIGKILL to this process when its parent dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the watchdog and RLIMIT_CPU still bound the child


def _mapped_bytes() -> int:
    """This process's address space now (VmSize), or 0 where /proc cannot tell."""
    try:
        status = open("/proc/self/status").read()
        return int(status.split("VmSize:")[1].split()[0]) * 1024
    except (OSError, IndexError, ValueError):
        return 0


def _child(function, args, memory_mb: int, seconds: float, write_fd: int) -> None:
    """Body of the forked child; always ends with os._exit (never returns to the caller)."""
    code = 0
    try:
        _die_with_parent()
        # The child may map memory_mb MB on top of what it inherited: a worker's own size
        # (libraries, thread stacks: it grows with the number of cores) is not its fault.
        limit = _mapped_bytes() + int(memory_mb) * 1024 * 1024
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
        cpu = int(seconds) + 5  # a backstop should the parent's watchdog be gone
        _, cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)
        if cpu_hard == resource.RLIM_INFINITY or cpu < cpu_hard:
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu_hard))
        try:
            outcome = ("ok", function(*args))
        except MemoryError:
            outcome = ("memory", None)
        except BaseException as error:  # reported to the parent, which decides
            detail = "".join(traceback.format_exception_only(type(error), error)).strip()
            outcome = ("raised", detail[-2000:])
        try:
            data = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
        except MemoryError:
            data = pickle.dumps(("memory", None))
        except Exception as error:
            data = pickle.dumps(("raised", f"result cannot be sent back: {error!r}"[:2000]))
        view = memoryview(data)
        while view:
            written = os.write(write_fd, view)
            view = view[written:]
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def run_isolated(function, args: tuple, *, memory_mb: int, seconds: float) -> Ended:
    """Run function(*args) in a forked child with limits (see the module docstring)."""
    started = time.monotonic()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(function, args, memory_mb, seconds, write_fd)
    os.close(write_fd)
    chunks: list[bytes] = []
    timed_out = False
    deadline = started + seconds
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                os.kill(pid, signal.SIGKILL)
                break
            ready, _, _ = select.select([read_fd], [], [], min(remaining, 1.0))
            if ready:
                chunk = os.read(read_fd, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
    finally:
        os.close(read_fd)
        _, status = os.waitpid(pid, 0)
    elapsed = time.monotonic() - started
    if timed_out:
        return Ended("timeout", message=f"stopped after {seconds:g} s", seconds=elapsed)
    if chunks:
        try:
            how, value = pickle.loads(b"".join(chunks))
        except Exception:
            how, value = "died", None
        else:
            if how == "ok":
                return Ended("ok", value=value, seconds=elapsed)
            if how == "raised":
                return Ended("raised", message=str(value), seconds=elapsed)
            if how == "memory":
                return Ended("memory", message=f"over {memory_mb} MB", seconds=elapsed)
    if os.WIFSIGNALED(status):
        cause = f"killed by {signal_name(os.WTERMSIG(status))}"
    else:
        cause = f"exited with status {os.waitstatus_to_exitcode(status)} without a result"
    return Ended("died", message=cause, seconds=elapsed)


# --------------------------------------------------------------------- supervisors


def _supervise(connection) -> None:
    """Supervisor main loop: receive (function, task), send back function(task)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's business
    while True:
        try:
            item = connection.recv()
        except (EOFError, OSError):
            return
        if item is None:
            return
        function, task = item
        try:
            result = ("ok", function(task))
        except BaseException as error:
            result = ("raised", f"{type(error).__name__}: {error}"[:2000])
        connection.send(result)


class Supervisor:
    """One spawned supervisor process and the pipe to it."""

    def __init__(self, context):
        self.connection, remote = context.Pipe()
        self.process = context.Process(target=_supervise, args=(remote,), daemon=True)
        self.process.start()
        remote.close()

    def call(self, function, task):
        """function(task) in the supervisor; WorkerDied if the process ends first."""
        try:
            self.connection.send((function, task))
            ready = multiprocessing.connection.wait([self.connection, self.process.sentinel])
            if self.connection in ready:
                how, value = self.connection.recv()
                if how == "raised":
                    raise RuntimeError(value)
                return value
        except (EOFError, OSError, BrokenPipeError):
            pass
        self.process.join(5)
        code = self.process.exitcode
        if code is not None and code < 0:
            cause = f"killed by {signal_name(-code)}"
        else:
            cause = f"ended with exit status {code}"
        raise WorkerDied(f"the grading worker process was {cause}"
                         if code is not None and code < 0 else
                         f"the grading worker process {cause}")

    def stop(self, kill: bool = False) -> None:
        if kill:
            self.process.kill()
        else:
            try:
                self.connection.send(None)
            except (OSError, BrokenPipeError):
                pass
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.connection.close()


class SupervisedPool:
    """`workers` supervisor processes fed from one queue (see the module docstring)."""

    def __init__(self, workers: int):
        self.context = multiprocessing.get_context("spawn")
        self.queue: queue.Queue = queue.Queue()
        count = max(1, workers)
        self.supervisors: list[Supervisor | None] = [None] * count
        self.busy = [False] * count
        self.threads = [threading.Thread(target=self._serve, args=(slot,), daemon=True)
                        for slot in range(count)]
        for thread in self.threads:
            thread.start()

    def _serve(self, slot: int) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                if self.supervisors[slot] is not None:
                    self.supervisors[slot].stop()  # lets it clean up its booting kernel
                return
            future, function, task = item
            if not future.set_running_or_notify_cancel():
                continue
            self.busy[slot] = True
            try:
                supervisor = self.supervisors[slot]
                if supervisor is None or not supervisor.process.is_alive():
                    supervisor = self.supervisors[slot] = Supervisor(self.context)
                result = supervisor.call(function, task)
            except WorkerDied as died:
                self.supervisors[slot] = None
                future.set_exception(died)
            except BaseException as error:
                future.set_exception(error)
            else:
                future.set_result(result)
            finally:
                self.busy[slot] = False

    def submit(self, function, task) -> cf.Future:
        future: cf.Future = cf.Future()
        self.queue.put((future, function, task))
        return future

    def as_completed(self, futures):
        return cf.as_completed(list(futures))

    def shutdown(self, cancel: bool = False) -> None:
        """Stop the supervisors; with cancel, drop queued tasks and kill busy supervisors."""
        if cancel:
            while True:
                try:
                    item = self.queue.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    item[0].cancel()
            for slot, supervisor in enumerate(self.supervisors):
                if supervisor is not None and self.busy[slot]:
                    supervisor.process.kill()
        for _ in self.threads:
            self.queue.put(None)
        for thread in self.threads:
            thread.join()
