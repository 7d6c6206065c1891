"""The narrow channel between trusted test code and the student's sandboxed kernel.

Two halves live here:

  KERNEL_SOURCE   Python source executed once inside the student's kernel. It installs a
                  module `_nnlab_bridge` whose `serve(request)` performs one request (look up a
                  name, call a function, read an attribute, ...) and returns the result
                  encoded as JSON text.
  decode_reply    the trusted-side parser of that JSON text.

Direction matters. Requests (trusted -> kernel) are pickled: unpickling in the kernel can only
hurt the student's own process. Replies (kernel -> trusted) are NEVER unpickled: the kernel is
controlled by the student, so a reply is parsed as strict JSON with a fixed grammar, size and
depth limits, and a whitelist of numeric array dtypes. Whatever a reply contains, the trusted
side can only ever obtain plain data (None, bool, int, float, complex, str, bytes, list, tuple,
dict, set, frozenset, range, numeric numpy arrays and scalars) or an opaque handle to an
object that stays in the kernel. The encoder in KERNEL_SOURCE is a convenience for honest
kernels, not a defence: it sends subclasses of the plain types (numpy.str_, OrderedDict,
defaultdict, namedtuple) as the plain value they hold, so a test sees a plain value.

Reply grammar (JSON):
    reply  := {"ok": value} | {"err": [type_name: str, message: str]}
    value  := null | true | false | int | float | str
            | {"L": [value...]}  list        | {"T": [value...]}  tuple
            | {"D": [[value, value]...]} dict | {"B": base64}     bytes
            | {"C": [float, float]} complex   | {"M": str}         a module (refused)
            | {"E": [value...]}  set          | {"F": [value...]}  frozenset
            | {"R": [int, int, int]} range(start, stop, step)
            | {"A": {"dtype": name, "shape": [int...], "data": base64}}  numpy array
            | {"S": {"dtype": name, "data": base64}}                      numpy scalar
            | {"P": {"id": int, "kind": "callable"|"class"|"object", "repr": str}}  handle
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass

import numpy as np

# Array dtypes accepted from the kernel: booleans and fixed-size numbers only, little-endian.
ALLOWED_DTYPES = {
    name: np.dtype(name).newbyteorder("<")
    for name in (
        "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
        "float16", "float32", "float64", "complex64", "complex128",
    )
}

MAX_DEPTH = 40
# A reply over MAX_REPLY_BYTES is refused before it is parsed (the engine's sockets drop
# larger messages even before they are read; see sandbox.Limits.max_reply_bytes). Parsing a
# reply at the cap costs a few times its size in memory, so the caps below are about it.
MAX_REPLY_BYTES = 32_000_000
MAX_ELEMENTS = 8_000_000  # total array elements in one reply
MAX_STRING = 10_000_000


class BridgeError(Exception):
    """The kernel's reply broke the protocol (malformed, too large, disallowed type)."""


class StudentError(Exception):
    """An exception raised by the student's code inside the kernel.

    `type_name` and `message` are text reported by the kernel; they describe, they never
    carry objects.
    """

    def __init__(self, type_name: str, message: str):
        super().__init__(f"{type_name}: {message}" if message else type_name)
        self.type_name = type_name
        self.message = message


@dataclass(frozen=True)
class Handle:
    """An object that stays in the kernel, known to the trusted side only by its id."""

    id: int
    kind: str
    text: str


def decode_reply(text: str, max_bytes: int = MAX_REPLY_BYTES):
    """Parse one kernel reply; return its value, or raise StudentError / BridgeError.

    text: the JSON reply text. The result is plain data, numpy arrays/scalars of whitelisted
    dtypes, or Handle objects nested inside plain containers.
    """
    if not isinstance(text, str):
        raise BridgeError("reply is not text")
    if len(text) > max_bytes:
        raise BridgeError(f"reply of {len(text)} bytes exceeds the {max_bytes}-byte limit")
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise BridgeError(f"reply is not valid JSON: {str(error)[:200]}") from None
    if not isinstance(raw, dict) or len(raw) != 1:
        raise BridgeError("reply must be an object with one key")
    if "err" in raw:
        err = raw["err"]
        if (
            not isinstance(err, list)
            or len(err) != 2
            or not all(isinstance(part, str) for part in err)
        ):
            raise BridgeError("malformed error reply")
        raise StudentError(err[0][:200], err[1][:2000])
    if "ok" not in raw:
        raise BridgeError("reply has neither 'ok' nor 'err'")
    budget = [MAX_ELEMENTS]
    return _decode(raw["ok"], 0, budget)


def _decode_items(tag, body, depth, budget) -> list:
    """The members of a list-like node (L, T, E, F), each counted against the budget."""
    if type(body) is not list:
        raise BridgeError(f"{tag} body must be a list")
    budget[0] -= len(body)
    if budget[0] < 0:
        raise BridgeError("reply has too many elements")
    return [_decode(item, depth + 1, budget) for item in body]


def _decode(node, depth: int, budget: list[int]):
    if depth > MAX_DEPTH:
        raise BridgeError("reply is nested too deeply")
    # bool before int: bool is a subclass of int, both are plain data.
    if node is None or type(node) in (bool, int, float):
        return node
    if type(node) is str:
        if len(node) > MAX_STRING:
            raise BridgeError("string in reply is too long")
        return node
    if type(node) is not dict or len(node) != 1:
        raise BridgeError(f"unexpected JSON node of type {type(node).__name__}")
    ((tag, body),) = node.items()
    if tag in ("L", "T"):
        items = _decode_items(tag, body, depth, budget)
        return items if tag == "L" else tuple(items)
    if tag == "D":
        if type(body) is not list:
            raise BridgeError("D body must be a list of pairs")
        out = {}
        for pair in body:
            if type(pair) is not list or len(pair) != 2:
                raise BridgeError("D entries must be [key, value] pairs")
            key = _decode(pair[0], depth + 1, budget)
            try:
                hash(key)
            except TypeError:
                raise BridgeError("unhashable dict key in reply") from None
            out[key] = _decode(pair[1], depth + 1, budget)
        return out
    if tag in ("E", "F"):
        items = _decode_items(tag, body, depth, budget)
        try:
            return set(items) if tag == "E" else frozenset(items)
        except TypeError:
            raise BridgeError("unhashable set member in reply") from None
    if tag == "R":
        if type(body) is not list or len(body) != 3 or not all(type(x) is int for x in body):
            raise BridgeError("R body must be [start, stop, step] integers")
        if body[2] == 0:
            raise BridgeError("range step must not be zero")
        return range(*body)
    if tag == "B":
        return _b64(body)
    if tag == "C":
        numbers = type(body) is list and all(type(x) in (int, float) for x in body)
        if not numbers or len(body) != 2:
            raise BridgeError("C body must be [real, imag]")
        return complex(body[0], body[1])
    if tag == "A":
        return _decode_array(body, budget)
    if tag == "S":
        if type(body) is not dict or set(body) != {"dtype", "data"}:
            raise BridgeError("S body must have dtype and data")
        array = _decode_array({"dtype": body["dtype"], "shape": [], "data": body["data"]}, budget)
        return array[()]
    if tag == "P":
        if type(body) is not dict or set(body) != {"id", "kind", "repr"}:
            raise BridgeError("P body must have id, kind and repr")
        if type(body["id"]) is not int or body["kind"] not in ("callable", "class", "object"):
            raise BridgeError("malformed handle")
        if type(body["repr"]) is not str:
            raise BridgeError("malformed handle")
        return Handle(body["id"], body["kind"], body["repr"][:200])
    if tag == "M":
        name = body if type(body) is str else "?"
        raise BridgeError(
            f"the name refers to the module {name[:100]!r}; modules are never fetched from the "
            "student's kernel (import it in a locked cell of the source notebook)"
        )
    raise BridgeError(f"unknown tag {tag[:20]!r} in reply")


def _b64(body) -> bytes:
    if type(body) is not str:
        raise BridgeError("base64 payload must be a string")
    try:
        return base64.b64decode(body.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raise BridgeError("invalid base64 payload") from None


def _decode_array(body, budget: list[int]) -> np.ndarray:
    if type(body) is not dict or set(body) != {"dtype", "shape", "data"}:
        raise BridgeError("A body must have dtype, shape and data")
    dtype = ALLOWED_DTYPES.get(body["dtype"]) if type(body["dtype"]) is str else None
    if dtype is None:
        raise BridgeError(f"array dtype {str(body['dtype'])[:40]!r} is not allowed")
    shape = body["shape"]
    if type(shape) is not list or len(shape) > 32:
        raise BridgeError("array shape must be a list of at most 32 sizes")
    if not all(type(size) is int and 0 <= size for size in shape):
        raise BridgeError("array sizes must be non-negative integers")
    count = math.prod(shape)
    budget[0] -= count
    if budget[0] < 0:
        raise BridgeError("reply has too many array elements")
    data = _b64(body["data"])
    if len(data) != count * dtype.itemsize:
        raise BridgeError("array data does not match its shape and dtype")
    array = np.frombuffer(data, dtype=dtype).astype(dtype.newbyteorder("="), copy=True)
    return array.reshape(shape)


# ---------------------------------------------------------------------------------------------
# Kernel side. Executed once in the student's kernel; it only helps honest kernels answer.

KERNEL_SOURCE = r'''
def __nnlab_bridge_install():
    import base64, json, pickle, sys, types, io

    bridge = types.ModuleType("_nnlab_bridge")
    handles = {}
    counter = iter(range(1, 1 << 62))
    plain = (type(None), bool, int, float, str)

    class Reply(str):
        # Displayed verbatim (no quoting) when returned through user_expressions.
        def __repr__(self):
            return str.__str__(self)

    def handle(obj):
        key = next(counter)
        handles[key] = obj
        kind = "class" if isinstance(obj, type) else "callable" if callable(obj) else "object"
        try:
            text = object.__repr__(obj) if kind == "object" else getattr(obj, "__name__", "?")
        except Exception:
            text = "?"
        return {"P": {"id": key, "kind": kind, "repr": str(text)[:200]}}

    def encode(obj, depth=0):
        kind = type(obj)
        if kind in plain:
            return obj
        if depth > 30:
            raise ValueError("value is nested too deeply to be returned")
        np = sys.modules.get("numpy")
        if np is not None and isinstance(obj, (np.ndarray, np.generic)):
            if obj.dtype.kind in "biufc":
                array = np.asarray(obj)
                if isinstance(obj, np.ndarray):
                    array = array.view(np.ndarray)
                array = np.ascontiguousarray(array)
                array = array.astype(array.dtype.newbyteorder("<"), copy=False)
                data = base64.b64encode(array.tobytes()).decode("ascii")
                name = array.dtype.name
                if isinstance(obj, np.generic):
                    return {"S": {"dtype": name, "data": data}}
                return {"A": {"dtype": name, "shape": list(array.shape), "data": data}}
            if isinstance(obj, np.str_):
                return str.__str__(obj)
            if isinstance(obj, np.bytes_):
                return {"B": base64.b64encode(bytes.__bytes__(obj)).decode("ascii")}
        # Subclasses of the plain types (OrderedDict, defaultdict, namedtuple, IntEnum, ...)
        # travel as the plain value they hold, read through the base type's own methods, so
        # a test sees what a plain test would compare.
        if isinstance(obj, bool):
            return bool(obj)
        if isinstance(obj, int):
            return int.__index__(obj)
        if isinstance(obj, float):
            return float.__float__(obj)
        if isinstance(obj, str):
            return str.__str__(obj)
        if isinstance(obj, complex):
            value = complex.__complex__(obj)
            return {"C": [value.real, value.imag]}
        if isinstance(obj, bytes):
            return {"B": base64.b64encode(bytes.__bytes__(obj)).decode("ascii")}
        if isinstance(obj, list):
            return {"L": [encode(item, depth + 1) for item in list.__iter__(obj)]}
        if isinstance(obj, tuple):
            return {"T": [encode(item, depth + 1) for item in tuple.__iter__(obj)]}
        if isinstance(obj, dict):
            return {"D": [[encode(k, depth + 1), encode(v, depth + 1)]
                          for k, v in dict.items(obj)]}
        if isinstance(obj, (set, frozenset)):
            items = set.__iter__(obj) if isinstance(obj, set) else frozenset.__iter__(obj)
            tag = "F" if isinstance(obj, frozenset) else "E"
            return {tag: [encode(item, depth + 1) for item in items]}
        if kind is range:
            return {"R": [obj.start, obj.stop, obj.step]}
        if isinstance(obj, types.ModuleType):
            return {"M": obj.__name__}
        return handle(obj)

    class Unpickler(pickle.Unpickler):
        def persistent_load(self, pid):
            return handles[pid[1]]

    wires = {}

    def tripwire(action, arg):
        # nnlab.check.not_calling in the trusted process arms its trip-wire here, where the
        # answer runs: ("arm", targets) -> key; ("disarm", key) -> first target called or None.
        if action == "arm":
            from nnlab.tripwire import Tripwire
            wire = Tripwire(tuple(arg))
            key = next(counter)
            wires[key] = wire
            wire.start()
            return key
        if action == "disarm":
            return wires.pop(arg).stop()
        raise ValueError("unknown trip-wire action %r" % (action,))

    def perform(request):
        op = request[0]
        if op == "get":
            namespace = get_ipython().user_ns
            if request[1] not in namespace:
                raise NameError("name %r is not defined" % request[1])
            return namespace[request[1]]
        if op == "tripwire":
            return tripwire(request[1], request[2])
        target = handles[request[1]]
        if op == "call":
            return target(*request[2], **request[3])
        if op == "call_report":
            # The arguments as the call left them, so a test can see in-place changes.
            args, kwargs = request[2], request[3]
            return (target(*args, **kwargs), tuple(args), dict(kwargs))
        if op == "getattr":
            return getattr(target, request[2])
        if op == "setattr":
            setattr(target, request[2], request[3])
            return None
        if op == "len":
            return len(target)
        if op == "list":
            return list(target)
        if op == "getitem":
            return target[request[2]]
        if op == "release":
            for key in request[2]:
                handles.pop(key, None)
            return None
        raise ValueError("unknown bridge request %r" % (op,))

    def harness(running):
        # Decoding a request and encoding a reply are not the answer's calls.
        for wire in wires.values():
            wire.suspended = running

    def serve(payload):
        try:
            harness(True)
            request = Unpickler(io.BytesIO(base64.b64decode(payload))).load()
            harness(False)
            result = perform(request)
            harness(True)
            reply = {"ok": encode(result)}
        except BaseException as error:
            try:
                message = str(error)[:2000]
            except BaseException:
                message = ""
            reply = {"err": [type(error).__name__, message]}
        finally:
            harness(False)
        try:
            return Reply(json.dumps(reply))
        except BaseException as error:
            return Reply(json.dumps({"err": [type(error).__name__, "result could not be encoded"]}))

    bridge.serve = serve
    bridge.handles = handles
    sys.modules["_nnlab_bridge"] = bridge

__nnlab_bridge_install()
del __nnlab_bridge_install
'''

# The expression evaluated (through user_expressions) to serve one request.
SERVE_EXPRESSION = "__import__('sys').modules['_nnlab_bridge'].serve({payload!r})"
