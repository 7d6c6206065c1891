"""Scalar reverse-mode automatic differentiation on a computation graph.

Contract
--------
``Value(data, label="")`` wraps one Python float. Arithmetic on Values builds a
graph: every result remembers the Values it was computed from (``.children``,
a tuple) and the operation that made it (``.op``, a short string such as
``'+'``, ``'*'``, ``'exp'``; ``''`` for leaves you created yourself).

``out.backward()`` visits the graph in reverse topological order and fills
``.grad`` of every node with d(out)/d(node). Before it starts, it resets the
gradients of every node in the graph to 0 and seeds ``out.grad = 1``, so
calling it twice gives the same answer (it does not accumulate across calls).

Supported: ``+ - * /``, ``**`` with an int/float exponent, unary ``-``, the
reflected forms (``2 * v``, ``1 - v``, ``1 / v``, ``2 ** v``), and the methods
``exp log tanh sigmoid relu max``. ``Value.max(a, b)`` and ``a.max(b)`` are the
same call. At a tie, max passes the gradient to both inputs, matching the
lecture's rule df/dx = 1(x >= y), df/dy = 1(y >= x).

The ``.op`` strings: ``'+' '-' '*' '/' 'neg' 'exp' 'log' 'tanh' 'sigmoid'
'relu' 'max'``, ``'**p'`` for a power p (e.g. ``'**2'``) and ``'c**'`` for a
number c raised to a Value (e.g. ``'2**'``).

``draw(value, ax=None)`` draws the graph that produced ``value`` with
matplotlib only: one box per Value (label, data, grad), one circle per
operation, laid out in columns by distance from the output (output on the
right). Returns the matplotlib Axes.
"""

from __future__ import annotations

import math
import numbers

__all__ = ["Value", "draw", "topological_order"]


def _is_number(x) -> bool:
    # bool is an int subclass; a True in an expression is almost always a mistake.
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


class Value:
    """One scalar node of a computation graph.

    Attributes: ``data`` (float), ``grad`` (float, d(output)/d(this) after
    ``backward``), ``label`` (str, for drawing), ``op`` (str), ``children``
    (tuple of Value).
    """

    __slots__ = ("data", "grad", "label", "op", "children", "_backward")

    def __init__(self, data, label: str = "", _children: tuple = (), _op: str = ""):
        if isinstance(data, Value):
            raise TypeError("Value(data): data is already a Value; use it directly")
        if not _is_number(data):
            raise TypeError(f"Value(data): data must be a real number, got {type(data).__name__}")
        self.data = float(data)
        self.grad = 0.0
        self.label = str(label)
        self.op = _op
        self.children = tuple(_children)
        self._backward = _no_backward

    def __repr__(self) -> str:
        name = f"label={self.label!r}, " if self.label else ""
        return f"Value({name}data={self.data:.6g}, grad={self.grad:.6g})"

    # -- wrapping plain numbers ---------------------------------------------
    @staticmethod
    def _wrap(other):
        if isinstance(other, Value):
            return other
        if _is_number(other):
            return Value(other)
        return None

    # -- binary operations ---------------------------------------------------
    def __add__(self, other):
        other = self._wrap(other)
        if other is None:
            return NotImplemented
        out = Value(self.data + other.data, _children=(self, other), _op="+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __sub__(self, other):
        other = self._wrap(other)
        if other is None:
            return NotImplemented
        out = Value(self.data - other.data, _children=(self, other), _op="-")

        def _backward():
            self.grad += out.grad
            other.grad -= out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = self._wrap(other)
        if other is None:
            return NotImplemented
        out = Value(self.data * other.data, _children=(self, other), _op="*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __truediv__(self, other):
        other = self._wrap(other)
        if other is None:
            return NotImplemented
        if other.data == 0.0:
            raise ZeroDivisionError("Value division by zero")
        out = Value(self.data / other.data, _children=(self, other), _op="/")

        def _backward():
            self.grad += out.grad / other.data
            other.grad -= self.data / other.data**2 * out.grad

        out._backward = _backward
        return out

    def __pow__(self, exponent):
        if isinstance(exponent, Value):
            raise TypeError("Value ** Value is not supported; use (b * a.log()).exp() for a**b")
        if not _is_number(exponent):
            return NotImplemented
        exponent = float(exponent)
        if self.data < 0 and not exponent.is_integer():
            raise ValueError(f"negative base {self.data} ** non-integer {exponent} is not real")
        if self.data == 0 and exponent < 0:
            raise ZeroDivisionError("0 ** negative exponent")
        shown = int(exponent) if exponent.is_integer() else exponent
        out = Value(self.data**exponent, _children=(self,), _op=f"**{shown}")

        def _backward():
            self.grad += exponent * self.data ** (exponent - 1) * out.grad

        out._backward = _backward
        return out

    def __rpow__(self, base):
        # base ** self for a plain number base > 0: d/dx c**x = c**x * ln c
        if not _is_number(base):
            return NotImplemented
        if base <= 0:
            raise ValueError(f"{base} ** Value needs a positive base")
        out = Value(float(base) ** self.data, _children=(self,), _op=f"{base}**")
        log_base = math.log(base)

        def _backward():
            self.grad += out.data * log_base * out.grad

        out._backward = _backward
        return out

    def __neg__(self):
        out = Value(-self.data, _children=(self,), _op="neg")

        def _backward():
            self.grad -= out.grad

        out._backward = _backward
        return out

    def __radd__(self, other):
        other = self._wrap(other)
        return NotImplemented if other is None else other + self

    def __rsub__(self, other):
        other = self._wrap(other)
        return NotImplemented if other is None else other - self

    def __rmul__(self, other):
        other = self._wrap(other)
        return NotImplemented if other is None else other * self

    def __rtruediv__(self, other):
        other = self._wrap(other)
        return NotImplemented if other is None else other / self

    # -- unary functions -----------------------------------------------------
    def exp(self):
        out = Value(math.exp(self.data), _children=(self,), _op="exp")

        def _backward():
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def log(self):
        if self.data <= 0:
            raise ValueError(f"log of a non-positive number ({self.data})")
        out = Value(math.log(self.data), _children=(self,), _op="log")

        def _backward():
            self.grad += out.grad / self.data

        out._backward = _backward
        return out

    def tanh(self):
        out = Value(math.tanh(self.data), _children=(self,), _op="tanh")

        def _backward():
            self.grad += (1.0 - out.data**2) * out.grad

        out._backward = _backward
        return out

    def sigmoid(self):
        # Two branches so exp never sees a large positive argument.
        z = self.data
        if z >= 0:
            s = 1.0 / (1.0 + math.exp(-z))
        else:
            e = math.exp(z)
            s = e / (1.0 + e)
        out = Value(s, _children=(self,), _op="sigmoid")

        def _backward():
            self.grad += out.data * (1.0 - out.data) * out.grad

        out._backward = _backward
        return out

    def relu(self):
        out = Value(max(self.data, 0.0), _children=(self,), _op="relu")

        def _backward():
            self.grad += (1.0 if self.data > 0 else 0.0) * out.grad

        out._backward = _backward
        return out

    def max(self, other):
        """max(self, other); callable as ``a.max(b)`` or ``Value.max(a, b)``."""
        other = self._wrap(other)
        if other is None:
            raise TypeError("Value.max needs a Value or a real number")
        out = Value(max(self.data, other.data), _children=(self, other), _op="max")

        def _backward():
            if self.data >= other.data:
                self.grad += out.grad
            if other.data >= self.data:
                other.grad += out.grad

        out._backward = _backward
        return out

    # -- backward pass -------------------------------------------------------
    def backward(self) -> None:
        """Fill ``.grad`` of every node with d(self)/d(node); self.grad becomes 1."""
        order = topological_order(self)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            node._backward()


def _no_backward() -> None:
    return None


def topological_order(root: Value) -> list[Value]:
    """All nodes of root's graph, children before parents, root last.

    Iterative depth-first search, so deep graphs do not hit Python's recursion limit.
    """
    order: list[Value] = []
    visited: set[int] = set()
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for child in reversed(node.children):
            if id(child) not in visited:
                stack.append((child, False))
    return order


# ---------------------------------------------------------------------------
# drawing

_OP_SYMBOLS = {"sigmoid": "σ", "neg": "−x", "-": "−", "*": "×"}


def _layout(root: Value) -> tuple[dict[int, int], dict[int, float], list[Value]]:
    """Column (distance from root, longest path) and row position of every node."""
    order = topological_order(root)
    depth: dict[int, int] = {id(root): 0}
    for node in reversed(order):  # parents before children
        for child in node.children:
            depth[id(child)] = max(depth.get(id(child), 0), depth[id(node)] + 1)
    columns: dict[int, list[Value]] = {}
    for node in order:  # first child before second child
        columns.setdefault(depth[id(node)], []).append(node)

    row: dict[int, float] = {}
    parents: dict[int, list[Value]] = {}
    for node in order:
        for child in node.children:
            parents.setdefault(id(child), []).append(node)
    for d in sorted(columns):
        nodes = columns[d]
        if d > 0:
            # Order each column by the mean row of its parents (barycentre heuristic):
            # it keeps edges short and mostly uncrossed for expression trees.
            first_seen = {id(n): k for k, n in enumerate(nodes)}

            def key(n, first_seen=first_seen):
                placed = [row[id(p)] for p in parents.get(id(n), []) if id(p) in row]
                return (-sum(placed) / len(placed) if placed else 0.0, first_seen[id(n)])

            nodes.sort(key=key)
        # Rows grow downwards; the first child of an op ends up on top.
        for k, n in enumerate(nodes):
            row[id(n)] = -(k - (len(nodes) - 1) / 2.0)
    return depth, row, order


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def draw(value: Value, ax=None):
    """Draw the computation graph that produced ``value``; returns the Axes.

    Each Value is a box with its label (if any), ``data`` and ``grad``; each
    operation is a circle feeding the box of its result. Call
    ``value.backward()`` first to see gradients.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle, FancyBboxPatch

    if not isinstance(value, Value):
        raise TypeError(f"draw(value): expected a Value, got {type(value).__name__}")
    depth, row, order = _layout(value)
    n_columns = max(depth.values()) + 1
    n_rows = max(
        sum(1 for n in order if depth[id(n)] == d) for d in range(n_columns)
    )

    box_w, box_h = 1.5, 0.8
    col_step, row_step = 2.6, 1.2

    def centre(node):
        return (n_columns - 1 - depth[id(node)]) * col_step, row[id(node)] * row_step

    if ax is None:
        _, ax = plt.subplots(figsize=(1.2 + 1.9 * n_columns, 0.8 + 0.95 * n_rows))

    for node in order:
        x, y = centre(node)
        ax.add_patch(
            FancyBboxPatch(
                (x - box_w / 2, y - box_h / 2), box_w, box_h,
                boxstyle="round,pad=0.02", facecolor="#eef3fb", edgecolor="#34495e", lw=1,
            )
        )
        lines = ([node.label] if node.label else []) + [
            f"data {_fmt(node.data)}", f"grad {_fmt(node.grad)}"
        ]
        ax.text(x, y, "\n".join(lines), ha="center", va="center", fontsize=8, family="monospace")
        if node.op:
            ox, oy = x - col_step / 2, y
            ax.add_patch(Circle((ox, oy), 0.3, facecolor="#fdebd0", edgecolor="#a04000", lw=1))
            ax.text(ox, oy, _OP_SYMBOLS.get(node.op, node.op), ha="center", va="center",
                    fontsize=8 if len(node.op) > 3 else 10)
            ax.annotate("", xy=(x - box_w / 2, y), xytext=(ox + 0.3, oy),
                        arrowprops=dict(arrowstyle="->", color="#555555", lw=1))
            for child in node.children:
                cx, cy = centre(child)
                ax.annotate("", xy=(ox - 0.3, oy), xytext=(cx + box_w / 2, cy),
                            arrowprops=dict(arrowstyle="->", color="#555555", lw=1,
                                            shrinkA=0, shrinkB=2))

    xs = [centre(n)[0] for n in order]
    ys = [centre(n)[1] for n in order]
    ax.set_xlim(min(xs) - box_w, max(xs) + box_w)
    ax.set_ylim(min(ys) - box_h, max(ys) + box_h)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax
