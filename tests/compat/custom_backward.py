# oracle: micrograd
"""A custom op written the micrograd way: a Value made with _children and _op, and its own
_backward closure assigned to it, mixed with the built-in ops before and after."""
import json
import math
import sys

from micrograd.engine import Value


def my_tanh(x):
    """tanh as a new op: the node, and the closure that sends its grad back to x."""
    out = Value(math.tanh(x.data), (x,), 'tanh')

    def _backward():
        x.grad += (1 - out.data ** 2) * out.grad
    out._backward = _backward
    return out


def cube(x):
    """x**3 as one node, its closure reading only x and out's grad through a default argument."""
    out = Value(x.data ** 3, (x,), 'cube')

    def _backward(out=out):
        x.grad += 3 * x.data ** 2 * out.grad
    out._backward = _backward
    return out


def scaled_sum(x, y, k):
    """k*x + y as one node with two children."""
    out = Value(k * x.data + y.data, (x, y), f'{k}x+y')

    def _backward():
        x.grad += k * out.grad
        y.grad += out.grad
    out._backward = _backward
    return out


out = {}

a, b, c = Value(0.5), Value(-1.25), Value(0.3)
t = my_tanh(a * b)
y = (t + c) * 2
y.backward()
out["mixed"] = {"a": [a.data, a.grad], "b": [b.data, b.grad], "c": [c.data, c.grad],
                "t": [t.data, t.grad, t._op, len(t._prev)], "y": [y.data, y.grad, y._op]}
(ab,) = t._prev  # the a*b node, reached through the custom node
out["custom_child"] = [ab._op, ab.data, ab.grad, sorted(k.data for k in ab._prev),
                       sorted(any(k is v for v in (a, b)) for k in ab._prev)]
held = a * c
u = my_tanh(held)
out["custom_child_is_the_operand"] = [len(u._prev), any(k is held for k in u._prev)]

# custom ops feeding custom ops, a node used twice, built-ins on top
p, q = Value(0.8), Value(-0.4)
s = scaled_sum(cube(p), my_tanh(q), 3)
z = (s * s + my_tanh(s)).relu() - q / 2
z.backward()
out["chain"] = {"p": [p.data, p.grad], "q": [q.data, q.grad], "s": [s.data, s.grad, s._op],
                "z": [z.data, z.grad, z._op]}
out["chain_ops"] = sorted(v._op for v in (s, *s._prev))

# backward twice accumulates, through the custom closures too
a.grad = b.grad = c.grad = 0
y2 = my_tanh(a * b) * c
y2.backward()
first = [a.grad, b.grad, c.grad]
y2.backward()
out["backward_twice"] = [first, [a.grad, b.grad, c.grad]]

# a custom op whose closure refers to its own result, dropped at once, many times over
x = Value(0.1)
for i in range(2000):
    my_tanh(x * 1.5)
    x.data += 0.0001
kept = my_tanh(x)
kept.backward()
out["loop"] = [i + 1, x.data, x.grad, kept.data]

extra = {}
if "micrograd_c" in sys.modules:  # on micrograd_c: how many nodes it holds, for the record only
    stats = getattr(sys.modules["micrograd_c"], "memory_stats", None)
    if stats is not None:
        extra["live_nodes"] = stats()["live_nodes"]

print(json.dumps({"impl": Value.__module__, "observed": out, "not_compared": extra}))
