"""Run test cells in the grading process, against the student's kernel through proxies.

Contract: `TrustedRunner(import_sources)` prepares, once per source notebook, a namespace in
which the source notebook's own `import` statements have run (so `np`, `check`, `nnlab` are
the real modules). For each submission, `runner.session(bridge)` gives a TestSession whose
`run(test)` executes one test cell:

  - every name the cell loads that it does not bind itself, that is not a builtin and not
    already bound in the trusted namespace is fetched from the kernel (bridge.get): plain data
    arrives as plain data, anything else as a RemoteObject proxy;
  - the cell runs with stdout/stderr captured (what trusted code prints never matters);
  - `check.not_calling` blocks in the cell arm their trip-wire in the kernel (KernelTripwires),
    where the answer runs when the cell calls it;
  - any exception means the cell failed; the outcome carries a student-safe message that never
    quotes hidden test source.

Names bound by a test cell persist for later test cells; names fetched from the kernel are
dropped after the cell, so a later cell sees the kernel's current value.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import pickle
import sys
import threading
from dataclasses import dataclass

from nnlab import check

from .bridge import BridgeError, Handle, StudentError

BUILTIN_NAMES = frozenset(dir(builtins))


class CellTimeout(Exception):
    """The per-cell or per-notebook time budget ran out while the kernel was working."""


@dataclass
class TestCell:
    """One test cell of the source notebook, ready to run."""

    grade_id: str
    source: str  # full source, hidden tests included
    hidden_lines: frozenset[int]  # 1-based line numbers inside BEGIN/END HIDDEN TESTS
    code: object = None  # compiled code, filled lazily
    loaded: tuple[str, ...] = ()


@dataclass
class Outcome:
    passed: bool
    message: str


def to_python(source: str) -> str:
    """IPython cell source -> plain Python (magics become function calls)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def import_statements(source: str) -> list[str]:
    """The top-level import statements of a cell, as source snippets."""
    try:
        tree = ast.parse(to_python(source))
    except SyntaxError:
        return []
    imports = (ast.Import, ast.ImportFrom)
    return [ast.unparse(node) for node in tree.body if isinstance(node, imports)]


def free_names(tree: ast.AST) -> tuple[str, ...]:
    """Names a cell loads but never binds anywhere in itself, in first-use order."""
    bound: set[str] = set()
    loaded: dict[str, None] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                loaded.setdefault(node.id, None)
            else:
                bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                bound.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            bound.update(node.names)
    return tuple(name for name in loaded if name not in bound and name not in BUILTIN_NAMES)


def hidden_line_numbers(source: str, markers: tuple[str, str]) -> frozenset[int]:
    lines, inside, hidden = source.splitlines(), False, set()
    for number, line in enumerate(lines, start=1):
        if markers[0] in line:
            inside = True
        if inside:
            hidden.add(number)
        if markers[1] in line:
            inside = False
    return frozenset(hidden)


class _ThreadRouter(io.TextIOBase):
    """sys.stdout/stderr stand-in: a thread that is running trusted code writes to its own
    sink; every other thread writes to the original stream. (contextlib.redirect_stdout
    swaps one global and would mix up threads grading concurrently.)"""

    def __init__(self, original):
        self.original = original

    def write(self, text):
        sink = getattr(_sinks, "sink", None)
        return (sink if sink is not None else self.original).write(text)

    def flush(self):
        if getattr(_sinks, "sink", None) is None:
            self.original.flush()

    def __getattr__(self, name):
        return getattr(self.original, name)


_sinks = threading.local()
_install_lock = threading.Lock()


@contextlib.contextmanager
def _captured():
    """Swallow whatever trusted code prints: output never decides a grade."""
    with _install_lock:
        if type(sys.stdout) is not _ThreadRouter:
            sys.stdout = _ThreadRouter(sys.stdout)
        if type(sys.stderr) is not _ThreadRouter:
            sys.stderr = _ThreadRouter(sys.stderr)
    previous = getattr(_sinks, "sink", None)
    _sinks.sink = io.StringIO()
    try:
        yield
    finally:
        _sinks.sink = previous


class RemoteObject:
    """A student object that stays in the kernel. Calls and attribute reads run there.

    Comparisons, hashing and truth use the proxy's own identity: a student's lying __eq__,
    __bool__ or __array__ never runs in trusted code.
    """

    __slots__ = ("_bridge", "_handle", "__weakref__")

    def __init__(self, bridge, handle: Handle):
        object.__setattr__(self, "_bridge", bridge)
        object.__setattr__(self, "_handle", handle)

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._bridge.request(("getattr", self._handle.id, name))

    def __setattr__(self, name, value):
        self._bridge.request(("setattr", self._handle.id, name, value))

    def __call__(self, *args, **kwargs):
        return self._bridge.request(("call", self._handle.id, args, kwargs))

    def __call_and_return_arguments__(self, args: tuple, kwargs: dict):
        """(result, args, kwargs) with the arguments as the call in the kernel left them.

        The protocol of nnlab.check.unchanged: arguments travel as copies, so only their
        state after the call, sent back, shows whether the student's code changed them.
        """
        reply = self._bridge.request(("call_report", self._handle.id, tuple(args),
                                      dict(kwargs)))
        if type(reply) is not tuple or len(reply) != 3 or type(reply[1]) is not tuple \
                or type(reply[2]) is not dict:
            raise BridgeError("the kernel's report of the call is malformed")
        return reply

    def __len__(self):
        size = self._bridge.request(("len", self._handle.id))
        if type(size) is not int or size < 0:
            raise TypeError("len() of the student's object is not a non-negative int")
        return size

    def __iter__(self):
        items = self._bridge.request(("list", self._handle.id))
        if type(items) is not list:
            raise TypeError("the student's object could not be iterated")
        return iter(items)

    def __getitem__(self, key):
        return self._bridge.request(("getitem", self._handle.id, key))

    def __repr__(self):
        return f"<student {self._handle.kind} {self._handle.text}>"

    def __reduce__(self):
        raise TypeError("student objects cannot be pickled")


class _RequestPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if type(obj) is RemoteObject:
            return ("h", obj._handle.id)
        return None


def encode_request(request) -> bytes:
    buffer = io.BytesIO()
    _RequestPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(request)
    return buffer.getvalue()


class Bridge:
    """Turns requests into kernel round trips and replies into values or proxies.

    send(payload: bytes) -> reply text is supplied by the engine; it enforces deadlines and
    raises CellTimeout or KernelDied itself.
    """

    def __init__(self, send):
        self._send = send

    def request(self, request):
        from .bridge import decode_reply

        try:
            payload = encode_request(request)
        except (pickle.PicklingError, TypeError, AttributeError) as error:
            raise TypeError(
                f"test argument cannot be sent to the student's kernel: {error}"
            ) from None
        return self._wrap(decode_reply(self._send(payload)))

    def _wrap(self, value):
        kind = type(value)
        if kind is Handle:
            return RemoteObject(self, value)
        if kind is list:
            return [self._wrap(item) for item in value]
        if kind is tuple:
            return tuple(self._wrap(item) for item in value)
        if kind is dict:
            return {key: self._wrap(item) for key, item in value.items()}
        if kind in (set, frozenset):
            return kind(self._wrap(item) for item in value)
        return value

    def get(self, name: str):
        return self.request(("get", name))


class KernelTripwires:
    """nnlab.check.not_calling's backend while grading: the trip-wire is armed in the
    student's kernel, where the answer's code runs when a test calls it through a proxy.

    The kernel is the student's: code that disables its own trip-wire gets past it, and that
    is visible in the notebook. A report that is neither None nor a name breaks the protocol.
    """

    def __init__(self, bridge: Bridge):
        self.bridge = bridge

    def arm(self, targets: tuple[str, ...]):
        key = self.bridge.request(("tripwire", "arm", tuple(str(t) for t in targets)))
        if type(key) is not int:
            raise BridgeError("the kernel did not arm the trip-wire")
        return key

    def disarm(self, key) -> str | None:
        called = self.bridge.request(("tripwire", "disarm", key))
        if called is not None and type(called) is not str:
            raise BridgeError("the kernel's trip-wire report is not a name")
        return None if called is None else called[:200]


class TrustedRunner:
    """Per source notebook: the trusted imports, executed once, and compiled test cells."""

    def __init__(self, import_sources: list[str]):
        self.base: dict = {"__name__": "__grading__", "__builtins__": builtins}
        with _captured():
            for statement in import_sources:
                exec(compile(statement, "<trusted imports>", "exec"), self.base)

    def session(self, bridge: Bridge) -> TestSession:
        return TestSession(dict(self.base), bridge)


def prepare(test: TestCell) -> None:
    if test.code is None:
        python = to_python(test.source)
        test.code = compile(python, f"<test {test.grade_id}>", "exec")
        test.loaded = free_names(ast.parse(python))


class TestSession:
    """The trusted namespace of one submission; runs its test cells in order."""

    def __init__(self, namespace: dict, bridge: Bridge):
        self.namespace = namespace
        self.bridge = bridge
        self.tripwires = KernelTripwires(bridge)

    def run(self, test: TestCell) -> Outcome:
        try:
            prepare(test)
        except SyntaxError as error:
            return Outcome(False, f"the test cell itself has a syntax error: {error.msg}")
        fetched = {}
        try:
            for name in test.loaded:
                if name in self.namespace:
                    continue
                try:
                    fetched[name] = self.bridge.get(name)
                except StudentError as error:
                    if error.type_name != "NameError":
                        raise
            self.namespace.update(fetched)
            with _captured(), check.tripwire_backend(self.tripwires):
                exec(test.code, self.namespace)
        except CellTimeout:
            raise
        except StudentError as error:
            text = f"your code raised {error.type_name}"
            return Outcome(False, f"{text}: {error.message}" if error.message else text)
        except BridgeError as error:
            return Outcome(False, f"your code returned something that cannot be checked: {error}")
        except Exception as error:  # any failure of the test is a failed test
            if type(error).__name__ == "KernelDied":
                raise
            return Outcome(False, student_message(error, test))
        finally:
            for name, value in fetched.items():
                if self.namespace.get(name) is value:
                    del self.namespace[name]
        return Outcome(True, "passed")


def student_message(error: BaseException, test: TestCell) -> str:
    """Describe a failed test without quoting hidden test source."""
    line = None
    trace = error.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == f"<test {test.grade_id}>":
            line = trace.tb_lineno
        trace = trace.tb_next
    name = type(error).__name__
    text = str(error).strip()
    if line is not None and line in test.hidden_lines:
        # Only a message the instructor wrote (`assert ok, "..."`) is shown. Library checks
        # such as nnlab.check quote the expected value, which for a hidden test is the key.
        if type(error) is AssertionError and text:
            return f"hidden test failed: {text}"
        return f"hidden test failed: {name} (hidden test details are not shown)"
    return f"{name}: {text}" if text else name


