"""Record whether named library objects are called while a trip-wire is armed.

Contract
--------
    wire = Tripwire(("nnlab.optim", "nnlab.gradcheck.numerical_gradient"))
    wire.start()          # from now on, calls of the targets on this thread are recorded
    ...                   # run the code under test
    first = wire.stop()   # dotted name of the first target called, or None

`wire.suspended = True` stops recording until it is set back to False: the grader's kernel
half sets it while it decodes a request and encodes a reply, which are not the answer's calls.

A target is the dotted path of a module (every function, class and method defined in it or,
for a package, in its submodules), of a class (instantiating it, or calling any of its
methods, inherited ones included) or of a function. A path that does not name a Python
function, class or module raises ValueError: a misspelt rule must never pass silently.

How: the Python code objects of the targets are collected, and a profile function
(sys.setprofile) watches for frames running them. Nothing is replaced, so every way of
reaching a target counts the same: `from nnlab.optim import Momentum as M`, an instance built
before the wire was armed, `importlib` with a built string. Calls made directly by one of
the `exempt` functions given to Tripwire (nnlab.check's own numerical gradient, which is the
test's, not the answer's) never count. Only the thread that armed the wire is watched; code
that switches the profiler off, or runs a target on another thread, gets past it (a
deliberate bypass, plain to see in the notebook).
"""

from __future__ import annotations

import importlib
import sys
import types

__all__ = ["Tripwire", "resolve"]


class _Watch:
    """What one call of a watched code object means.

    name: the dotted name to report. owner: for a method a listed class inherits, the class
    its first argument must belong to for the call to count (the method is shared with
    sibling classes). free: for code shared by several functions (a decorator's wrapper),
    the values of its free variables in the function meant, compared by identity.
    """

    __slots__ = ("name", "owner", "free")

    def __init__(self, name: str, owner: type | None = None, free: tuple | None = None):
        self.name = name
        self.owner = owner
        self.free = free


def _import_target(path: str):
    """The object a dotted path names: the longest importable module prefix, then attributes."""
    if not isinstance(path, str) or not path or not all(part.isidentifier()
                                                         for part in path.split(".")):
        raise ValueError(f"trip-wire target {path!r} is not a dotted name like "
                         "'nnlab.optim.Momentum'")
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            try:
                obj = getattr(obj, attr)
            except AttributeError:
                raise ValueError(f"trip-wire target {path!r} does not exist: "
                                 f"{'.'.join(parts[:cut])} has no attribute {attr!r}") from None
        return obj
    raise ValueError(f"trip-wire target {path!r} does not exist: no module {parts[0]!r}")


def _functions(member) -> list[types.FunctionType]:
    """A function and every function it wraps (functools.wraps), outermost first."""
    found, seen = [], set()
    while member is not None and id(member) not in seen:
        seen.add(id(member))
        if isinstance(member, (staticmethod, classmethod)):
            member = member.__func__
            continue
        if isinstance(member, types.FunctionType):
            found.append(member)
        member = getattr(member, "__wrapped__", None)
    return found


def _add(watches: dict, func: types.FunctionType, watch: _Watch) -> None:
    if func.__closure__:
        try:
            watch.free = tuple(cell.cell_contents for cell in func.__closure__)
        except ValueError:  # an empty cell: match on the code alone
            watch.free = None
    entries = watches.setdefault(func.__code__, [])
    if not any(entry.free == watch.free and entry.owner is watch.owner for entry in entries):
        entries.append(watch)


def _members(cls: type):
    """(name, member) for every function-like member of one class's own __dict__."""
    for name, member in vars(cls).items():
        if isinstance(member, property):
            for accessor in (member.fget, member.fset, member.fdel):
                if accessor is not None:
                    yield name, accessor
        elif isinstance(member, (staticmethod, classmethod, types.FunctionType)):
            yield name, member


def _watch_class(cls: type, label: str, watches: dict) -> None:
    for base in cls.__mro__:
        if base is object:
            continue
        # A method the listed class inherits is shared with its siblings: it counts only when
        # called on the listed class. The class's own methods always count.
        owner = cls if base is not cls else None
        for name, member in _members(base):
            shown = label if name in ("__init__", "__new__") else f"{label}.{name}"
            for func in _functions(member):
                _add(watches, func, _Watch(shown, owner))


def _defined_in(obj, module_name: str) -> bool:
    owner = getattr(obj, "__module__", None)
    return isinstance(owner, str) and (owner == module_name
                                       or owner.startswith(module_name + "."))


def _watch_module(module: types.ModuleType, label: str, watches: dict) -> None:
    name = module.__name__
    modules = [module] + [mod for key, mod in list(sys.modules.items())
                          if key.startswith(name + ".") and isinstance(mod, types.ModuleType)]
    classes, functions = {}, {}
    for mod in modules:
        for attr, obj in list(vars(mod).items()):
            if not _defined_in(obj, name):
                continue
            shown = f"{label}.{attr}" if mod is module else f"{mod.__name__}.{attr}"
            if isinstance(obj, type):
                classes.setdefault(obj, shown)
            elif isinstance(obj, types.FunctionType):
                functions.setdefault(obj, shown)
    # Subclasses first, so a method shared along a hierarchy is named after the class it
    # was called on (`nnlab.optim.SGD`, not its base `Optimizer`).
    for cls in sorted(classes, key=lambda c: -len(c.__mro__)):
        _watch_class(cls, classes[cls], watches)
    for func, shown in functions.items():
        for inner in _functions(func):
            _add(watches, inner, _Watch(shown))


def resolve(targets) -> dict[types.CodeType, list[_Watch]]:
    """Map every code object a call of one of `targets` runs to what running it means."""
    if isinstance(targets, str):
        targets = (targets,)
    watches: dict = {}
    for path in targets:
        obj = _import_target(path)
        if isinstance(obj, types.ModuleType):
            _watch_module(obj, path, watches)
        elif isinstance(obj, type):
            _watch_class(obj, path, watches)
        else:
            functions = _functions(obj)
            if not functions:
                raise ValueError(f"trip-wire target {path!r} is a {type(obj).__name__}, not a "
                                 "Python function, class or module")
            for func in functions:
                _add(watches, func, _Watch(path))
    return watches


class Tripwire:
    """Record the first call of any target on the arming thread between start() and stop()."""

    def __init__(self, targets, exempt=()):
        """targets: dotted paths (see resolve). exempt: functions whose own calls of a
        target never count."""
        self.targets = tuple([targets] if isinstance(targets, str) else targets)
        self._watches = resolve(self.targets)
        self._exempt = frozenset(func.__code__ for func in exempt)
        self.suspended = False  # True while the harness itself runs (e.g. decoding a request)
        self._previous = None
        self._armed = False
        self.first: str | None = None

    def _profile(self, frame, event, arg):
        if event == "call" and self.first is None and not self.suspended:
            entries = self._watches.get(frame.f_code)
            if entries is not None:
                self.first = self._meaning(frame, entries)
        if self._previous is not None:
            try:  # an enclosing trip-wire (nested blocks) sees every call too
                self._previous(frame, event, arg)
            except Exception:  # noqa: BLE001 - a foreign profiler must not break the answer
                self._previous = None

    def _meaning(self, frame, entries: list[_Watch]) -> str | None:
        """The name to report for this call, or None when it does not count."""
        try:
            code = frame.f_code
            local = frame.f_locals if (code.co_freevars or code.co_argcount) else {}
            if code.co_freevars:
                values = tuple(local.get(name) for name in code.co_freevars)
                entries = [e for e in entries if e.free is None
                           or (len(e.free) == len(values)
                               and all(a is b for a, b in zip(e.free, values, strict=True)))]
            first = local.get(code.co_varnames[0]) if code.co_argcount else None
            match = None
            for entry in entries:
                if entry.owner is None or isinstance(first, entry.owner) or (
                        isinstance(first, type) and issubclass(first, entry.owner)):
                    match = entry
                    break
            if match is None or self._called_by_exempt(frame):
                return None
            return match.name
        except Exception:  # noqa: BLE001 - a profile function that raises is switched off
            return entries[0].name if entries else None

    def _called_by_exempt(self, frame) -> bool:
        """Was this call made by an exempt function (through any watched wrappers)?"""
        if not self._exempt:
            return False
        caller = frame.f_back
        while caller is not None and caller.f_code in self._watches:
            caller = caller.f_back
        return caller is not None and caller.f_code in self._exempt

    def start(self) -> None:
        if self._armed:
            raise RuntimeError("this trip-wire is already armed")
        self.first = None
        self._previous = sys.getprofile()
        self._armed = True
        sys.setprofile(self._profile)

    def stop(self) -> str | None:
        if self._armed:
            sys.setprofile(self._previous)
            self._previous = None
            self._armed = False
        return self.first
