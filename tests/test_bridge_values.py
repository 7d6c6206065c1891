"""The bridge end to end, in-process: the kernel half serves requests from the trusted half.

The kernel half (bridge.KERNEL_SOURCE) runs here against a stand-in user namespace, so what a
test cell receives for a student's value, and what the kernel reports about a call, is checked
without starting a sandboxed kernel.
"""

from __future__ import annotations

import base64
import collections
import sys
import types

import numpy as np
import pytest
from nnlab import check
from nnlab.check import CheckFailed

from autograder.bridge import KERNEL_SOURCE
from autograder.trusted import Bridge, KernelTripwires, RemoteObject


@pytest.fixture
def kernel():
    """(user namespace, Bridge) with the kernel half installed in this process."""
    user_ns: dict = {}
    shell = types.SimpleNamespace(user_ns=user_ns)
    previous = sys.modules.pop("_nnlab_bridge", None)
    exec(KERNEL_SOURCE, {"get_ipython": lambda: shell})  # noqa: S102 - the code under test
    serve = sys.modules["_nnlab_bridge"].serve
    bridge = Bridge(lambda payload: str(serve(base64.b64encode(payload).decode("ascii"))))
    yield user_ns, bridge
    sys.modules.pop("_nnlab_bridge", None)
    if previous is not None:
        sys.modules["_nnlab_bridge"] = previous


Point = collections.namedtuple("Point", "x y")


@pytest.mark.parametrize("value, plain", [
    (np.str_("A"), "A"),
    ([np.str_("D"), np.str_("A")], ["D", "A"]),
    (list(np.array(["A", "B", "C", "D"])[np.array([True, False, False, True])]), ["A", "D"]),
    (collections.OrderedDict(a=1, b=2), {"a": 1, "b": 2}),
    (collections.defaultdict(list, {"k": [1]}), {"k": [1]}),
    (Point(1, 2), (1, 2)),
    (range(2, 10, 3), range(2, 10, 3)),
    ({"b", "a"}, {"a", "b"}),
    (frozenset({1, 2}), frozenset({1, 2})),
    (True, True),
])
def test_values_arrive_as_the_plain_value_a_plain_test_sees(kernel, value, plain):
    user_ns, bridge = kernel
    user_ns["answer"] = value
    got = bridge.get("answer")
    assert type(got) is type(plain) and got == plain


def test_numpy_numbers_arrive_as_numpy_numbers(kernel):
    user_ns, bridge = kernel
    user_ns["answer"] = [np.int64(3), np.float32(0.5), np.arange(3), np.bool_(True)]
    got = bridge.get("answer")
    assert type(got[3]) is np.bool_ and bool(got[3]) is True
    assert type(got[0]) is np.int64 and got[0] == 3
    assert type(got[1]) is np.float32 and got[1] == np.float32(0.5)
    assert type(got[2]) is np.ndarray and got[2].tolist() == [0, 1, 2]


def test_other_objects_stay_in_the_kernel(kernel):
    user_ns, bridge = kernel

    class Thing:
        pass

    user_ns["answer"] = Thing()
    assert type(bridge.get("answer")) is RemoteObject


def _in_place(theta, g, lr):
    theta -= lr * g
    return theta


def _new_array(theta, g, lr):
    return theta - lr * g


def test_unchanged_sees_in_place_changes_made_in_the_kernel(kernel):
    user_ns, bridge = kernel
    user_ns.update(in_place=_in_place, new_array=_new_array)
    theta, g = np.ones(3), np.arange(3.0)
    result = check.unchanged(bridge.get("new_array"), theta, g, 0.5)
    assert result.tolist() == [1.0, 0.5, 0.0]
    with pytest.raises(CheckFailed, match="1st argument in place"):
        check.unchanged(bridge.get("in_place"), theta, g, 0.5)
    assert theta.tolist() == [1.0, 1.0, 1.0]  # the test's own copy is never touched


def test_unchanged_in_a_plain_kernel_names_the_parameter():
    theta, g = np.ones(3), np.arange(3.0)
    assert check.unchanged(_new_array, theta, g, 0.5).tolist() == [1.0, 0.5, 0.0]
    with pytest.raises(CheckFailed, match="`theta` in place"):
        check.unchanged(_in_place, theta, g, 0.5)

    def fills_dict(params):
        params["w"][0] = 7.0
        return params

    with pytest.raises(CheckFailed, match=r"`params`\['w'\]"):
        check.unchanged(fills_dict, {"w": np.zeros(2)})


def test_trip_wire_armed_through_the_bridge_watches_the_kernel_side(kernel):
    from nnlab import optim

    user_ns, bridge = kernel

    def honest(theta, g):
        return theta - 0.1 * g

    def via_library(theta, g):
        params = {"w": theta.copy()}
        optim.SGD(0.1).step(params, {"w": g})
        return params["w"]

    user_ns.update(honest=honest, via_library=via_library)
    with check.tripwire_backend(KernelTripwires(bridge)):
        with check.not_calling("nnlab.optim"):
            bridge.get("honest")(np.ones(2), np.ones(2))
        with pytest.raises(CheckFailed, match=r"nnlab\.optim\.SGD"):
            with check.not_calling("nnlab.optim"):
                bridge.get("via_library")(np.ones(2), np.ones(2))
    assert sys.getprofile() is None


class _Stateful:
    """Unpickling it runs its __setstate__: library code the harness runs, not the answer."""

    def __setstate__(self, state):
        self.__dict__.update(state)

    def method(self):
        return 1


@pytest.fixture
def library_module():
    module = types.ModuleType("tripwire_fixture_library")
    _Stateful.__module__ = module.__name__
    module._Stateful = _Stateful
    sys.modules[module.__name__] = module
    yield module
    del sys.modules[module.__name__]
    _Stateful.__module__ = __name__


def test_decoding_arguments_in_the_kernel_is_not_a_call_of_the_answer(kernel, library_module):
    user_ns, bridge = kernel
    user_ns.update(honest=lambda obj: 0, uses_it=lambda obj: obj.method())
    argument = library_module._Stateful()
    argument.size = 3  # a non-empty state: unpickling calls __setstate__
    with check.tripwire_backend(KernelTripwires(bridge)):
        with check.not_calling("tripwire_fixture_library"):
            bridge.get("honest")(argument)
        with pytest.raises(CheckFailed, match=r"_Stateful\.method"):
            with check.not_calling("tripwire_fixture_library"):
                bridge.get("uses_it")(argument)
