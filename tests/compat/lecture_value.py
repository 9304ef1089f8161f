"""The oracle for the compat programs that need what micrograd 0.1.0 lacks (a `label=`, tanh, exp):
a Value as the nn-zero-to-hero "micrograd" lecture builds it, written for these tests.

Where micrograd 0.1.0 has the same thing, this follows micrograd 0.1.0 (which micrograd_c
promises to match): a grad starts as the int 0, backward() sets the root's grad to the int 1,
repr shows data and grad, relu is micrograd's. tanh uses math.tanh: the lecture's
(e**2x - 1) / (e**2x + 1) differs from it only in the last bits (the tests compare floats at 1e-12)
and overflows for large x.

    import lecture_value; lecture_value.install_as_micrograd()
    from micrograd.engine import Value        # this module's Value

install_as_micrograd() does what micrograd_c's does, for this module: a program written for
micrograd then runs on the oracle unchanged. It installs only `micrograd` and `micrograd.engine`
(there is no `micrograd.nn` here: a program that imports it fails, as it should).
"""
import math
import sys
import types


def install_as_micrograd():
    """Make `import micrograd` and `from micrograd.engine import Value` resolve to this module."""
    me = sys.modules[__name__]
    package = types.ModuleType("micrograd", "the lecture's Value, standing in for micrograd")
    package.engine = me
    sys.modules["micrograd"] = package
    sys.modules["micrograd.engine"] = me


def _as_value(x):
    """A number operand becomes a leaf of its own (it then shows up in the graph)."""
    return x if isinstance(x, Value) else Value(x)


class Value:

    def __init__(self, data, _children=(), _op='', label=''):
        self.data = data
        self.grad = 0
        self._backward = lambda: None  # what this node passes on to its children; leaves: nothing
        self._prev = set(_children)
        self._op = _op
        self.label = label

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"

    # ---- the ops that make a node, each with the closure that sends its grad back ----

    def __add__(self, other):
        other = _as_value(other)
        out = Value(self.data + other.data, (self, other), '+')

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = _as_value(other)
        out = Value(self.data * other.data, (self, other), '*')

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, k):
        assert isinstance(k, (int, float)), "the exponent is a plain number"
        out = Value(self.data ** k, (self,), f'**{k}')

        def _backward():
            self.grad += (k * self.data ** (k - 1)) * out.grad
        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,), 'tanh')

        def _backward():
            self.grad += (1 - t ** 2) * out.grad
        out._backward = _backward
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,), 'exp')

        def _backward():
            self.grad += out.data * out.grad
        out._backward = _backward
        return out

    def relu(self):
        out = Value(0 if self.data < 0 else self.data, (self,), 'ReLU')

        def _backward():
            self.grad += (out.data > 0) * out.grad
        out._backward = _backward
        return out

    # ---- the rest is made of the ops above, as the lecture composes them ----

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def __truediv__(self, other):
        return self * other ** -1

    def __rtruediv__(self, other):
        return other * self ** -1

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    # ---- backpropagation: every node after all the nodes that use it ----

    def backward(self):
        order, seen = [], set()

        def visit(v):
            if v in seen:
                return
            seen.add(v)
            for child in v._prev:
                visit(child)
            order.append(v)

        visit(self)
        self.grad = 1
        for v in reversed(order):
            v._backward()
