# oracle: micrograd
"""_prev holds the very Value objects a node was made from: `is` finds the operands, and a node
reached along two paths is one object."""
import json

from micrograd.engine import Value


def only(s):
    (x,) = s
    return x


out = {}
a, b = Value(2.0), Value(-3.0)
c = a * b
out["a in (a*b)._prev"] = any(k is a for k in c._prev)
out["b in (a*b)._prev"] = any(k is b for k in c._prev)
out["a in (a*b)._prev, asked again"] = any(k is a for k in c._prev)
out["stranger in (a*b)._prev"] = any(k is Value(2.0) for k in c._prev)
out["(a*b)._prev"] = [type(c._prev).__name__, len(c._prev)]
out["(a+a)._prev"] = [len((a + a)._prev), only((a + a)._prev) is a]

# a leaf reached two ways, through intermediate nodes nothing else holds
e = (a * b) * (a + b)
left, right = sorted(e._prev, key=lambda v: v._op)  # '*' then '+'
out["ops of e's children"] = [left._op, right._op]
from_left = [k for k in left._prev if k.data == a.data]
from_right = [k for k in right._prev if k.data == a.data]
out["a reached two ways"] = [len(from_left), len(from_right),
                             from_left[0] is from_right[0], from_left[0] is a]

# an intermediate node reached two ways, its own Value dropped
m = a * b + 1
p, q = m * 2, m - 4
r = p * q
del m
ps, qs = sorted(r._prev, key=lambda v: v.data)
m_from_p = [k for k in ps._prev if k._op == '+']
m_from_q = [k for k in qs._prev if k._op == '+']
out["m reached two ways"] = [len(m_from_p), len(m_from_q), m_from_p[0] is m_from_q[0],
                             id(m_from_p[0]) == id(m_from_q[0]), m_from_p[0].data]

# the same node object again after backward, and the _prev of a held node asked twice
r.backward()
again = [k for k in sorted(r._prev, key=lambda v: v.data)[0]._prev if k._op == '+']
out["m after backward"] = [again[0] is m_from_p[0], again[0].grad]
out["_prev asked twice"] = sorted(x is y for x in c._prev for y in c._prev)

# a number operand's leaf is one object too, while it is held
d = a * 5
five = [k for k in d._prev if k is not a]
out["number leaf"] = [len(five), five[0].data, [k for k in d._prev if k is not a][0] is five[0]]

print(json.dumps({"impl": Value.__module__, "observed": out}))
