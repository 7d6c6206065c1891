"""Start an IPython kernel for one submission inside a bubblewrap sandbox.

Contract: `SandboxedKernel(limits, workdir_files)` launches a kernel that
  - sees a read-only view of the system (/usr, a few /etc files), the Python installation
    (sys.prefix, sys.base_prefix) and the nnlab package, and nothing else of the host:
    no solutions/, no gradebook, no other submissions, no repository, no home directory;
  - works in a throwaway home (its HOME and cwd) holding a copy of `workdir_files`, plus a
    private /tmp: two size-capped tmpfs (Limits.disk_mb in total) that vanish with the
    sandbox, so a disk-filling loop fills only them;
  - has no network (own network namespace), its own pid namespace (killing the sandbox kills
    every process the student started), its own session (no terminal injection);
  - runs under rlimits: address space (memory_mb), CPU seconds, processes, file size;
  - as root, runs as a fresh unprivileged uid (RLIMIT_NPROC is not enforced for uid 0, so a
    fork bomb needs the uid drop); as a normal user, runs as that user in a user namespace.
The kernel talks ZMQ over unix-domain sockets in a directory bind-mounted at the same path
inside and outside (filesystem sockets work across network namespaces; TCP would not).
The grader's sockets refuse any message over a size cap and queue only a few messages
(CappedKernelClient), so a hostile kernel cannot make the grading process allocate more
than a bounded amount. The client is created on first use, in whichever process uses it
(the grading process may be a fork of the one that started the kernel).

Host folders of sandboxes are named nnlab-sbx-<pid of the creating process>-...;
remove_stale_sandboxes() deletes those whose creator is dead (a killed grader).

If bubblewrap is missing or cannot create namespaces, SandboxUnavailable is raised, unless
unsafe=True, in which case the kernel runs unisolated (rlimits only) and a warning is logged.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import logging
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import zmq
from jupyter_client import BlockingKernelClient
from jupyter_client.connect import channel_socket_types, write_connection_file

log = logging.getLogger(__name__)

HOME_IN_SANDBOX = "/home/student"
# The notebook's files, read-only; the launcher copies them into the (tmpfs) home.
FILES_IN_SANDBOX = "/run/grader-files"
FILE_SIZE_LIMIT_MB = 256
SANDBOX_PREFIX = "nnlab-sbx-"
SCRATCH_PREFIX = "nnlab-task-"  # a grading process's copy of one submission
# iopub carries the student's outputs: a message may be big (a long print is one message),
# but only a few are queued. Shell carries the replies to bridge requests (Limits.max_reply_bytes).
IOPUB_MESSAGE_BYTES = 8_000_000
IOPUB_QUEUED_MESSAGES = 32
SHELL_QUEUED_MESSAGES = 4
SEND_TIMEOUT_MS = 10_000
# Files of /etc a Python kernel may legitimately read (dynamic loader, fonts, time zone, users).
ETC_FILES = (
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "fonts", "passwd", "group",
    "nsswitch.conf", "mime.types", "os-release",
)


class SandboxUnavailable(RuntimeError):
    """Isolation cannot be set up on this machine; grading refuses to run unsandboxed."""


class KernelDied(RuntimeError):
    """The kernel process ended or stopped answering."""


@dataclass
class Limits:
    """Resource limits for one submission (see README.md, "Sandbox")."""

    cell_timeout: float = 30.0
    notebook_timeout: float = 300.0
    memory_mb: int = 2048
    max_processes: int = 64
    max_output_bytes: int = 1_000_000
    cpu_seconds: int = 600
    # Home plus /tmp of the sandbox, in MB (tmpfs: it counts against the machine's memory).
    disk_mb: int = 256
    # Largest reply to one bridge request; larger ones are dropped at the socket.
    max_reply_bytes: int = 32_000_000
    # Size caps on what the student hands in (checked before anything runs or renders).
    max_submission_bytes: int = 20_000_000  # the .ipynb file, outputs included
    max_cell_chars: int = 100_000  # source of one cell
    max_source_chars: int = 500_000  # sources of all the student's cells together
    # The trusted grading process of one submission (tests, decoding, feedback rendering):
    # address space it may map beyond what it inherits from its worker, and wall time
    # beyond notebook_timeout (kernel start-up and rendering).
    grader_memory_mb: int = 4096
    grader_extra_seconds: float = 120.0
    feedback_seconds: float = 30.0  # rendering one feedback page; past it, a short page

    def queued_bytes(self) -> int:
        """Upper bound on bytes the grading process holds in its kernel sockets' queues."""
        return (IOPUB_QUEUED_MESSAGES * IOPUB_MESSAGE_BYTES
                + SHELL_QUEUED_MESSAGES * int(self.max_reply_bytes))


# Runs inside the sandbox before the kernel: set rlimits, drop root, fill the home with the
# notebook's files (as the kernel's user, so they are the student's to change), exec ipykernel.
LAUNCHER = r"""
import json, os, resource, sys
cfg = json.loads(sys.argv[1])
for name, value in cfg["rlimits"].items():
    resource.setrlimit(getattr(resource, name), (value, value))
if cfg["uid"] is not None:
    os.setgroups([])
    os.setgid(cfg["uid"])
    os.setuid(cfg["uid"])
if cfg["files"]:
    import shutil
    for name in os.listdir(cfg["files"]):
        source, target = os.path.join(cfg["files"], name), os.path.join(cfg["home"], name)
        if os.path.isdir(source):
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
    os.chdir(cfg["home"])
os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", "-f", cfg["connection"],
                          "--HistoryManager.enabled=False", "--IPKernelApp.quiet=True"])
"""


def _rlimits(limits: Limits) -> dict[str, int]:
    return {
        "RLIMIT_AS": int(limits.memory_mb) * 1024 * 1024,
        "RLIMIT_CPU": int(limits.cpu_seconds),
        "RLIMIT_NPROC": int(limits.max_processes),
        "RLIMIT_FSIZE": FILE_SIZE_LIMIT_MB * 1024 * 1024,
        "RLIMIT_CORE": 0,
    }


def _readonly_paths() -> list[str]:
    """Host paths the kernel needs to read: Python, its packages, and nnlab."""
    paths = {os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)}
    spec = importlib.util.find_spec("nnlab")
    if spec is not None and spec.origin:
        paths.add(os.path.dirname(os.path.realpath(spec.origin)))
    # The interpreter itself may be a symlink into another tree (pyenv, conda).
    paths.add(os.path.dirname(os.path.dirname(os.path.realpath(sys.executable))))
    ordered = sorted(paths)
    # Drop paths already covered by a parent in the list or by /usr.
    kept = []
    for path in ordered:
        if path.startswith("/usr/") or any(path.startswith(parent + "/") for parent in kept):
            continue
        kept.append(path)
    return kept


def kernel_environment(unsafe_home: str | None = None) -> dict[str, str]:
    """The kernel's whole environment: nothing inherited from the grader."""
    home = unsafe_home or HOME_IN_SANDBOX
    return {
        "PATH": f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "LANG": "C.UTF-8",
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "NUMEXPR_NUM_THREADS": "1",
        "NBGRADER_EXECUTION": "autograde",
        # Figures become PNG outputs, so feedback keeps what the student plotted.
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "MPLCONFIGDIR": f"{home}/.matplotlib",
        "IPYTHONDIR": f"{home}/.ipython",
        "JUPYTER_PLATFORM_DIRS": "1",
        "JUPYTER_CONFIG_DIR": f"{home}/.jupyter",
        "JUPYTER_DATA_DIR": f"{home}/.local/share/jupyter",
        "JUPYTER_RUNTIME_DIR": f"{home}/.local/share/jupyter/runtime",
    }


def _namespace_flags() -> list[str]:
    flags = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
             "--unshare-cgroup-try"]
    if os.geteuid() != 0:
        # Unprivileged bubblewrap needs a user namespace; root keeps real uids so that the
        # launcher can drop to an unprivileged one (and RLIMIT_NPROC then applies).
        flags.append("--unshare-user")
    else:
        flags += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    return flags


def disk_split(limits: Limits) -> tuple[int, int]:
    """(home MB, /tmp MB): Limits.disk_mb shared 3:1 between the two tmpfs."""
    total = max(8, int(limits.disk_mb))
    tmp_mb = max(4, total // 4)
    return total - tmp_mb, tmp_mb


def bwrap_command(workdir: Path, conndir: Path, tmp_mb: int, home_mb: int | None = None
                  ) -> list[str]:
    """The bubblewrap prefix that isolates one kernel (see the module docstring).

    workdir: host folder with the notebook's files, mounted read-only at FILES_IN_SANDBOX;
    the home is a tmpfs of home_mb MB (default: 3 x tmp_mb) and /tmp one of tmp_mb MB.
    """
    home_mb = 3 * tmp_mb if home_mb is None else home_mb
    command = [shutil.which("bwrap") or "bwrap", *_namespace_flags(),
               "--die-with-parent", "--new-session", "--clearenv",
               "--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        host = Path("/") / name
        if host.is_symlink():
            command += ["--symlink", os.readlink(host), str(host)]
        elif host.is_dir():
            command += ["--ro-bind", str(host), str(host)]
    for name in ETC_FILES:
        command += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    # Size-capped tmpfs: whatever the student writes lives in memory the cap bounds, never
    # on the host disk. Mode 1777/0777: as root, the kernel runs as a uid of its own.
    command += ["--proc", "/proc", "--dev", "/dev",
                "--perms", "1777", "--size", str(tmp_mb * 1024 * 1024), "--tmpfs", "/tmp"]
    readonly = _readonly_paths()
    # bwrap creates missing parent directories as 0700 root; the kernel's uid must traverse.
    parents = {str(parent) for path in [*readonly, str(conndir), HOME_IN_SANDBOX,
                                        FILES_IN_SANDBOX]
               for parent in Path(path).parents if str(parent) != "/"}
    for parent in sorted(parents):
        command += ["--perms", "0755", "--dir", parent]
    for path in readonly:
        command += ["--ro-bind", path, path]
    command += ["--perms", "0777", "--size", str(home_mb * 1024 * 1024),
                "--tmpfs", HOME_IN_SANDBOX,
                "--ro-bind", str(workdir), FILES_IN_SANDBOX,
                "--bind", str(conndir), str(conndir),
                "--chdir", HOME_IN_SANDBOX,
                # The sandbox's own root (a tmpfs holding /etc, the mount points, ...) is
                # writable for a user-namespace root; make it read-only so the only writable
                # places are the throwaway home and the size-capped /tmp.
                "--remount-ro", "/"]
    return command


@functools.lru_cache(maxsize=1)
def sandbox_problem() -> str | None:
    """None when bubblewrap works here; otherwise a message saying what is wrong."""
    if shutil.which("bwrap") is None:
        return ("bubblewrap (`bwrap`) is not installed; install it (Debian/Ubuntu: "
                "`apt-get install bubblewrap`) or pass --unsafe to grade without isolation")
    scratch = Path(tempfile.mkdtemp(prefix="nnlab-probe-"))
    try:
        command = bwrap_command(scratch, scratch, 1) + [sys.executable, "-c", "print('ok')"]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"bubblewrap could not start: {error}"
        if done.returncode != 0 or done.stdout.strip() != "ok":
            detail = (done.stderr.strip().splitlines() or ["no message"])[-1]
            return (f"bubblewrap cannot create a sandbox here ({detail}); unprivileged user "
                    "namespaces may be disabled (sysctl kernel.unprivileged_userns_clone=1) "
                    "or run as root; or pass --unsafe to grade without isolation")
        return None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _sandbox_uid() -> int | None:
    """A fresh unprivileged uid for one sandbox when running as root, else None.

    A uid of its own per sandbox keeps RLIMIT_NPROC (counted per uid) from being shared
    between concurrently graded submissions.
    """
    if os.geteuid() != 0:
        return None
    return 1_500_000 + secrets.randbelow(1_000_000)


@functools.lru_cache(maxsize=1)
def _matplotlib_cache() -> Path | None:
    """A matplotlib font cache, built once per user and version, copied into each sandbox.

    Without it every kernel that imports matplotlib spends seconds rebuilding the cache.
    """
    spec = importlib.util.find_spec("matplotlib")
    if spec is None:
        return None
    from importlib.metadata import version

    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nnlab-autograder"
    python = f"py{sys.version_info[0]}{sys.version_info[1]}"
    cache = base / f"matplotlib-{version('matplotlib')}-{python}"
    if cache.is_dir():
        return cache
    base.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix="mpl-", dir=base))
    env = dict(os.environ, MPLCONFIGDIR=str(building), MPLBACKEND="agg")
    subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env=env,
                   capture_output=True, timeout=300)
    try:
        building.rename(cache)  # atomic: concurrent builders race, one wins
    except OSError:
        shutil.rmtree(building, ignore_errors=True)
    return cache


class CappedKernelClient(BlockingKernelClient):
    """A kernel client whose sockets refuse oversized messages and queue only a few.

    ZMQ drops the connection of a peer that sends a message over MAXMSGSIZE (the client
    reconnects by itself), before any byte of it is kept; RCVHWM bounds how many messages
    wait in the queue. `caps` maps a channel to (max message bytes, max queued messages).
    """

    caps: dict[str, tuple[int, int]] = {}

    def _create_connected_socket(self, channel: str, identity: bytes | None = None):
        max_bytes, max_queued = self.caps.get(channel, (IOPUB_MESSAGE_BYTES, 4))
        sock = self.context.socket(channel_socket_types[channel])
        sock.linger = 0
        sock.setsockopt(zmq.MAXMSGSIZE, int(max_bytes))
        sock.setsockopt(zmq.RCVHWM, int(max_queued))
        sock.setsockopt(zmq.SNDTIMEO, SEND_TIMEOUT_MS)  # a send never waits for ever
        if identity:
            sock.identity = identity
        sock.connect(self._make_url(channel))  # options apply to connections made after
        return sock


def _pid_running(pid: int) -> bool:
    """Whether process `pid` exists and has not exited (a zombie has exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc (unsafe mode off Linux): existence is all we can learn
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def remove_stale_sandboxes(folder: str | None = None) -> list[Path]:
    """Delete sandbox folders left behind by grading processes that no longer run.

    Ours are named SANDBOX_PREFIX or SCRATCH_PREFIX + "<creator pid>-..."; a folder whose
    creator is alive is kept (it may be grading right now). Returns the folders removed.
    """
    base = Path(folder or tempfile.gettempdir())
    prefixes = "|".join(re.escape(prefix) for prefix in (SANDBOX_PREFIX, SCRATCH_PREFIX))
    pattern = re.compile(rf"(?:{prefixes})(\d+)-")
    removed = []
    try:
        entries = list(base.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = pattern.match(entry.name)
        if not match or not entry.is_dir() or entry.is_symlink():
            continue
        pid = int(match.group(1))
        if pid == os.getpid() or _pid_running(pid):
            continue
        _remove_tree(entry)
        removed.append(entry)
    return removed


def _remove_tree(root: Path) -> None:
    """rmtree that first makes sealed folders (see _seal_socket_folder) writable again."""
    def unseal_and_retry(function, path, _error):
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(path), 0o700)
            function(path)

    if sys.version_info >= (3, 12):
        shutil.rmtree(root, onexc=unseal_and_retry)
    else:
        shutil.rmtree(root, onerror=unseal_and_retry)


class SandboxedKernel:
    """One kernel process in its own sandbox, and a blocking client connected to it.

    Starting returns at once (the kernel boots in the background); call wait_ready(). The
    client is created on first use; a process forked after start-up may use and kill the
    kernel (it then checks liveness through /proc rather than waitpid).
    """

    def __init__(self, limits: Limits, workdir_files=(), unsafe: bool = False):
        if not unsafe:
            problem = sandbox_problem()
            if problem:
                raise SandboxUnavailable(problem)
        self.unsafe = unsafe
        self.limits = limits
        self.owner = os.getpid()
        self.root = Path(tempfile.mkdtemp(prefix=f"{SANDBOX_PREFIX}{os.getpid()}-"))
        self.workdir = self.root / "home"
        self.conndir = self.root / "c"
        self.workdir.mkdir()
        self.conndir.mkdir()
        for source in workdir_files:
            source = Path(source)
            target = self.workdir / source.name
            if source.is_dir():
                shutil.copytree(source, target)
            else:
                shutil.copy2(source, target)
        mpl_cache = _matplotlib_cache()
        if mpl_cache is not None:
            shutil.copytree(mpl_cache, self.workdir / ".matplotlib")
            # Feedback figures at 60 dpi: half the bytes of the default, within the output cap.
            (self.workdir / ".matplotlib" / "matplotlibrc").write_text("figure.dpi: 60\n")
        connection_file, self.connection = write_connection_file(
            fname=str(self.conndir / "kernel.json"), transport="ipc", ip=str(self.conndir / "k")
        )
        uid = None if unsafe else _sandbox_uid()
        if uid is not None:
            for path in [self.root, *self.root.rglob("*")]:
                os.lchown(path, uid, uid)
        launcher_config = {"rlimits": _rlimits(limits), "uid": uid,
                           "connection": connection_file, "files": None, "home": None}
        if unsafe:
            log.warning("grading WITHOUT a sandbox (--unsafe): student code runs as this user")
            env = kernel_environment(unsafe_home=str(self.workdir))
            command, cwd = [], str(self.workdir)
        else:
            home_mb, tmp_mb = disk_split(limits)
            launcher_config.update(files=FILES_IN_SANDBOX, home=HOME_IN_SANDBOX)
            env = kernel_environment()
            command = bwrap_command(self.workdir, self.conndir, tmp_mb, home_mb)
            for key, value in env.items():
                command += ["--setenv", key, value]
            cwd = None
        command += [sys.executable, "-c", LAUNCHER, json.dumps(launcher_config)]
        self.log_path = self.root / "kernel.log"
        with open(self.log_path, "wb") as log_file:
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file,
                env=env, cwd=cwd, start_new_session=True,
            )
        self._client = None
        self.ready = False

    @property
    def client(self) -> CappedKernelClient:
        if self._client is None:
            client = CappedKernelClient(context=zmq.Context())
            client.caps = {
                "shell": (self.limits.max_reply_bytes, SHELL_QUEUED_MESSAGES),
                "iopub": (IOPUB_MESSAGE_BYTES, IOPUB_QUEUED_MESSAGES),
            }
            client.load_connection_info(self.connection)
            # Only the two channels grading uses: every open socket is one more queue a
            # hostile kernel could fill.
            client.start_channels(shell=True, iopub=True, stdin=False, hb=False, control=False)
            self._client = client
        return self._client

    def alive(self) -> bool:
        if os.getpid() == self.owner:
            return self.process.poll() is None
        return _pid_running(self.process.pid)

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until the kernel answers kernel_info on shell AND on iopub.

        A shell reply alone is not enough: iopub is a subscription, and messages published
        before it is connected are lost (ZeroMQ's "slow joiner"). The first cell's output
        and its idle status would then never arrive. Seeing the status the kernel publishes
        for one of our own requests proves the subscription is live. Raises KernelDied if
        the kernel exits or the deadline passes.
        """
        if self.ready:
            return
        deadline = time.monotonic() + timeout
        our_requests: set[str] = set()
        while time.monotonic() < deadline:
            if not self.alive():
                raise KernelDied(f"the kernel exited during start-up: {self.startup_log()}")
            try:
                our_requests.add(self.client.kernel_info())
            except zmq.ZMQError:  # the send timed out: try again until the deadline
                continue
            attempt_deadline = min(deadline, time.monotonic() + 1.0)
            while time.monotonic() < attempt_deadline:
                try:
                    message = self.client.get_iopub_msg(timeout=0.1)
                except Exception:  # queue.Empty
                    continue
                if message["parent_header"].get("msg_id") in our_requests:
                    self._drain_shell()
                    self._drain_iopub(deadline)
                    self._seal_socket_folder()
                    self.ready = True
                    return
        raise KernelDied(f"the kernel did not start within {timeout:.0f} s: {self.startup_log()}")

    def _seal_socket_folder(self) -> None:
        """Once the kernel has bound its sockets, it may create nothing more in their folder.

        The folder is on the host disk (the grader must reach the sockets), so files made
        there would escape the tmpfs caps. As root the folder and the connection file go
        back to the grader's uid, which the kernel's uid cannot undo; without root the kernel
        runs as the grader's own uid, and the read-only mode only stops it by accident.
        """
        if self.unsafe:
            return
        grader = os.getuid()
        for path in self.conndir.iterdir():
            if not path.is_socket():
                os.lchown(path, grader, grader)
                path.chmod(0o444)
        os.lchown(self.conndir, grader, grader)
        self.conndir.chmod(0o555)

    def _drain_shell(self) -> None:
        """Discard the kernel_info replies, so that they are not mistaken for later ones."""
        while True:
            try:
                self.client.get_shell_msg(timeout=0.05)
            except Exception:  # queue.Empty
                return

    def _drain_iopub(self, deadline: float) -> None:
        """Discard start-up messages; stop at a quiet moment or at the deadline."""
        while time.monotonic() < deadline:
            try:
                self.client.get_iopub_msg(timeout=0.05)
            except Exception:
                return

    def startup_log(self) -> str:
        try:
            text = self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"
        return text.strip().splitlines()[-1] if text.strip() else "(no output)"

    def kill(self) -> None:
        """End the kernel and everything it started; remove its directories."""
        if self.alive():
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if os.getpid() == self.owner:
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                log.error("sandbox process %s did not exit after SIGKILL", self.process.pid)
        if self._client is not None:
            try:
                self._client.stop_channels()
                self._client.context.destroy(linger=0)
            except Exception:  # closing a dead connection may raise anything zmq has
                pass
            self._client = None
        _remove_tree(self.root)

    close = kill


class KernelPool:
    """Keeps one sandboxed kernel booting ahead, so a worker rarely waits for start-up.

    pool.take() returns a started kernel (maybe still booting) and starts the next one.
    Kernels are never reused between submissions. Use from one thread; close() at the end.
    """

    def __init__(self, limits: Limits, workdir_files=(), unsafe: bool = False, size: int = 1):
        self.limits, self.workdir_files, self.unsafe = limits, list(workdir_files), unsafe
        self.size = size
        self.ready: list[SandboxedKernel] = []

    def _start(self) -> SandboxedKernel:
        return SandboxedKernel(self.limits, self.workdir_files, self.unsafe)

    def take(self) -> SandboxedKernel:
        kernel = self.ready.pop(0) if self.ready else self._start()
        while len(self.ready) < self.size:
            self.ready.append(self._start())
        return kernel

    def close(self) -> None:
        for kernel in self.ready:
            kernel.kill()
        self.ready.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
