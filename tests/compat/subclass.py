# oracle: micrograd
"""A Value subclass as micrograd users write them: its own __init__ passing _children and _op
on, a new op (sin) with its own _backward, and a reflected operator of its own."""
import json
import math

from micrograd.engine import Value


class ValueExt(Value):

    def __init__(self, data, _children=(), _op=''):
        super().__init__(data, _children=_children, _op=_op)
        self.note = 'ext'  # an attribute of its own

    def sin(self):
        out = ValueExt(math.sin(self.data), (self,), 'sin')

        def _backward():
            self.grad += math.cos(self.data) * out.grad
        out._backward = _backward
        return out

    def __rtruediv__(self, other):  # other / self, made of its own ops
        # (Python tries this before Value's __truediv__ for `value / value_ext`, as ValueExt is a
        # subclass: other may be a Value)
        other = other if isinstance(other, Value) else ValueExt(other)
        return other * self ** -1


def row(v):
    return [type(v).__name__, v._op, v.data, v.grad, len(v._prev)]


out = {}
a, b = ValueExt(0.5), ValueExt(2.0)
s = a.sin()
ss = s.sin()
u = 3 / b
y = ss * b + u - a
y.backward()
out["nodes"] = {name: row(v) for name, v in
                [("a", a), ("b", b), ("s", s), ("ss", ss), ("u", u), ("y", y)]}
out["isinstance"] = [isinstance(v, Value) for v in (a, s, u, y)]
out["is_ext"] = [isinstance(v, ValueExt) for v in (a, s, ss, u, y)]
out["notes"] = [getattr(v, "note", None) for v in (a, s, ss, u, y)]
out["children_of_s"] = [any(k is a for k in s._prev), [type(k).__name__ for k in s._prev]]
out["children_of_u"] = sorted([type(k).__name__, k._op, k.data, k.grad] for k in u._prev)

# the subclass mixed with plain Values, and made with children of its own by hand
p = Value(1.5)
q = ValueExt(p.data * 2, (p,), 'double')


def _double_backward():
    p.grad += 2 * q.grad


q._backward = _double_backward
r = (q.sin() + p) * 4 / ValueExt(-0.5)
r.backward()
out["mixed"] = {name: row(v) for name, v in [("p", p), ("q", q), ("r", r)]}

print(json.dumps({"impl": Value.__module__, "observed": out}))
