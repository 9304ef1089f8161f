"""The reference Value: micrograd's algorithm in plain Python, with micrograd_c's extra ops and rules.

Same API and semantics as micrograd_c.Value, op for op, so both give the same
bits: a number operand becomes a leaf Value, as in micrograd; ints stay ints
while a double holds them exactly (|x| <= 2**53 for what is given, below 2**53
for what is computed), as in micrograd_c's C store; and backward visits Values
newest first, as the C engine reads its tape backwards. Forward errors are those of Python's float arithmetic and `math`
module; a negative base to a non-integer power is a ValueError (Python would
give a complex number). Backward never raises: inf or nan, as in PyTorch.
"""
from __future__ import annotations

import itertools
import math

from .._numbers import as_float

TYPE_CHECKING = False  # (as in micrograd_c.engine: typing is not imported at run time)
if TYPE_CHECKING:
    from collections.abc import Iterable

_next_seq = itertools.count()


_EXACT = 2**53


def _const(x):
    """x as a number the C store keeps: an int it holds exactly stays an int; else a float, or
    None for what is not a real number."""
    if type(x) is float:  # the common case, first: this runs on every data and grad write
        return x
    if type(x) is int and -_EXACT <= x <= _EXACT:
        return x
    return None if isinstance(x, Value) else as_float(x)


def _number(x, what):
    c = _const(x)
    if c is None:
        raise TypeError(f"{what} must be a real number, not {type(x).__name__}")
    return c


def _exact(r):
    """A computed result as the C store keeps it: an int only below 2**53."""
    return r if type(r) is not int or -_EXACT < r < _EXACT else float(r)


def _operand(other):
    """other as a Value (a number becomes a leaf, as in micrograd), or None."""
    if isinstance(other, Value):
        return other
    return None if _const(other) is None else Value(other)


def _pow(x, k):
    """x ** k as in Python, but a ValueError instead of a complex result, and computed as a
    float's power (as the C store does): an int to an int power >= 0 is then an int again."""
    if x < 0 and math.isfinite(x) and math.isfinite(k) and not float(k).is_integer():
        raise ValueError("math domain error")  # before Python's complex power, which may overflow
    r = float(x) ** k
    if type(x) is int and type(k) is int and k >= 0 and -_EXACT < r < _EXACT:
        return int(r)
    return r


def _pow_ieee(x, k):
    """x ** k as C's pow gives it: inf or nan where Python would raise (for backward)."""
    odd = math.isfinite(k) and math.fmod(abs(k), 2.0) == 1.0  # math.fmod(inf, 2) raises; C's gives nan
    try:
        return _pow(x, k)
    except ZeroDivisionError:  # 0 ** negative
        return math.copysign(math.inf, x) if odd else math.inf
    except OverflowError:
        return -math.inf if x < 0 and odd else math.inf
    except ValueError:  # negative ** non-integer
        return math.nan


def _sigmoid(x):
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)  # exp of a negative number only: never overflows
    return z / (1.0 + z)


class Value:
    """Stores a single scalar value and its gradient, as micrograd's Value does.

    The reference engine's: micrograd's algorithm in plain Python, each Value holding its
    data, grad, children and `_backward` closure, with micrograd_c.Value's API and results.
    """
    __array_ufunc__ = None  # as in micrograd_c: numpy defers to our operators, never makes object arrays

    label = ''  # the nn-zero-to-hero lecture's Value has one, as micrograd_c's does

    def __init__(self, data: float, _children: Iterable[Value] = (), _op: str = '',
                 label: str = '') -> None:
        """A leaf Value holding `data`, a real number (int, float, bool, numpy scalar, ...).

        `_children` and `_op` are micrograd's: the Values this one is computed from and the
        op's name (a custom op sets `_backward` next). `label` is a name for the Value (the
        nn-zero-to-hero lecture's). TypeError if `data` is not a real number.
        """
        if label != '':
            self.label = label
        self.data = data
        self.grad = 0
        self._backward = lambda: None
        self._children = tuple(_children)
        self._seq = next(_next_seq)  # creation order, which backward follows
        self._op = _op

    # data and grad: ints while micrograd's would be (and a double holds them), else floats
    @property
    def data(self) -> float:
        """The Value's number: an int where micrograd's would be one, else a float. Settable;
        TypeError for what is not a real number."""
        return self._data

    @data.setter
    def data(self, x: float) -> None:
        self._data = _number(x, "data")

    @property
    def grad(self) -> float:
        """d(root)/d(self), added in by root.backward(); 0 until then. Settable (`p.grad = 0`
        zeroes it)."""
        return self._grad

    @grad.setter
    def grad(self, x: float) -> None:
        self._grad = _number(x, "grad")

    @property
    def _prev(self) -> set[Value]:
        """The Values this one was made from, as a set (micrograd's)."""
        return set(self._children)

    def __add__(self, other: Value | float) -> Value:
        """self + other: a new Value. A number operand becomes a leaf Value, as in micrograd."""
        other = _operand(other)
        if other is None:
            return NotImplemented
        out = Value(_exact(self.data + other.data), (self, other), '+')

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other: Value | float) -> Value:
        """self * other: a new Value."""
        other = _operand(other)
        if other is None:
            return NotImplemented
        out = Value(_exact(self.data * other.data), (self, other), '*')

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, other: float) -> Value:
        """self ** other, for an int or float power: a new Value (a Value power is a
        TypeError, as in micrograd)."""
        k = _const(other)
        if k is None:
            return NotImplemented
        out = Value(_pow(self.data, k), (self,), f'**{k}')

        def _backward():
            if k != 0:  # x ** 0 is constant: no gradient (not 0 * x ** -1, nan at 0)
                self.grad += (k * _pow_ieee(self.data, k - 1)) * out.grad
        out._backward = _backward
        return out

    def __neg__(self) -> Value:
        """-self, computed as self * -1 (micrograd's way)."""
        return self * -1

    def relu(self) -> Value:
        """max(0, self): a new Value, whose gradient is 1 where data > 0, else 0."""
        out = Value(0 if self.data < 0 else self.data, (self,), 'ReLU')

        def _backward():
            self.grad += (out.data > 0) * out.grad
        out._backward = _backward
        return out

    def tanh(self) -> Value:
        """tanh(self): a new Value."""
        out = Value(math.tanh(self.data), (self,), 'tanh')

        def _backward():
            self.grad += (1.0 - out.data * out.data) * out.grad
        out._backward = _backward
        return out

    def exp(self) -> Value:
        """e ** self: a new Value. OverflowError if the result is too large for a float."""
        out = Value(math.exp(self.data), (self,), 'exp')  # OverflowError past ~709.78

        def _backward():
            self.grad += out.data * out.grad
        out._backward = _backward
        return out

    def log(self) -> Value:
        """The natural logarithm of self: a new Value. ValueError if data <= 0."""
        out = Value(math.log(self.data), (self,), 'log')  # ValueError for x <= 0

        def _backward():
            x = self.data  # may have been set to 0 since: then inf or nan, as C's division gives
            self.grad += out.grad / x if x != 0 else math.copysign(math.inf, x) * out.grad
        out._backward = _backward
        return out

    def sigmoid(self) -> Value:
        """1 / (1 + e ** -self): a new Value (computed without overflow for any data)."""
        out = Value(_sigmoid(self.data), (self,), 'sigmoid')

        def _backward():
            self.grad += (out.data * (1.0 - out.data)) * out.grad
        out._backward = _backward
        return out

    def detach(self) -> Value:
        """A new Value with self's data through which no gradient flows back to self (torch's
        detach). It keeps self as its child, so a compiled function replays it."""
        return Value(self.data, (self,), 'detach')  # (its _backward: the leaf's, nothing)

    def backward(self) -> None:
        """Backpropagate from this Value: set its grad to 1, then add d(self)/d(v) into
        v.grad for every Value v it was computed from (newest first, as the C engine does).
        Grads add up: zero them before each backward pass."""
        # every Value reachable from this one (a loop, not recursion: graphs can be deep)
        reached, stack = {id(self): self}, [self]
        while stack:
            for child in stack.pop()._children:
                if id(child) not in reached:
                    reached[id(child)] = child
                    stack.append(child)

        # newest first: a Value is made after its children, so each one is visited
        # after all of its parents (the order of the C engine's tape)
        self.grad = 1
        for v in sorted(reached.values(), key=lambda v: v._seq, reverse=True):
            v._backward()

    def __radd__(self, other: float) -> Value:
        """other + self."""
        return self + other

    def __rmul__(self, other: float) -> Value:
        """other * self."""
        return self * other

    def __sub__(self, other: Value | float) -> Value:
        """self - other, computed as self + (-other) (micrograd's way)."""
        if isinstance(other, Value):
            return self + (-other)
        c = _const(other)
        return NotImplemented if c is None else self + (-c)  # -c: a number, as micrograd negates it

    def __rsub__(self, other: float) -> Value:
        """other - self, computed as other + (-self)."""
        return -self + other

    def __truediv__(self, other: Value | float) -> Value:
        """self / other, computed as self * other**-1."""
        if isinstance(other, Value):
            return self * other**-1
        c = _const(other)
        return NotImplemented if c is None else self * c**-1

    def __rtruediv__(self, other: float) -> Value:
        """other / self, computed as other * self**-1."""
        return self**-1 * other

    def __repr__(self) -> str:
        """Value(data=..., grad=...), as micrograd shows a Value."""
        return f"Value(data={self.data}, grad={self.grad})"

    def __reduce__(self) -> tuple[object, ...]:
        """copy, deepcopy and pickle give a new leaf with this Value's data, grad and attributes
        (but not its graph), as in micrograd_c."""
        own = {k: v for k, v in vars(self).items() if k not in _GRAPH}
        return _leaf, (self.data, self.grad), (own or None)


# What a Value's node is (as opposed to attributes a user set), which a copy makes anew.
_GRAPH = {"_data", "_grad", "_backward", "_children", "_seq", "_op"}


def _leaf(data, grad):
    v = Value(data)
    v.grad = grad
    return v
