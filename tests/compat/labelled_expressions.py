# oracle: lecture
"""Lecture-style labelled expressions: every node gets a label, L.backward(), and each node's
label, data, grad and _op are recorded (plus a few reprs)."""
import json

from micrograd.engine import Value


def nodes_of(root):
    """Every Value root was computed from (root included), each once, keyed on id()."""
    found, todo = {}, [root]
    while todo:
        v = todo.pop()
        if id(v) not in found:
            found[id(v)] = v
            todo.extend(v._prev)
    return list(found.values())


def record(root):
    """Each node as [label, data, grad, _op, number of children], sorted by label, op, data, grad
    (rounded, so that last-bit differences do not change the order)."""
    rows = [[v.label, v.data, v.grad, v._op, len(v._prev)] for v in nodes_of(root)]
    return sorted(rows, key=lambda r: (r[0], r[3], round(r[1], 9), round(r[2], 9), r[4]))


out = {}

# the lecture's first expression
a = Value(2.0, label='a')
b = Value(-3.0, label='b')
c = Value(10.0, label='c')
e = a * b; e.label = 'e'
d = e + c; d.label = 'd'
f = Value(-2.0, label='f')
L = d * f; L.label = 'L'
out["L_before_backward"] = [repr(L), repr(a), L.grad, a.grad]
L.backward()
out["L_nodes"] = record(L)
out["L_reprs"] = [repr(v) for v in (a, b, c, d, e, f, L)]
out["L_label_default"] = [Value(1.0).label, (a + b).label]

# the lecture's neuron, with tanh
x1 = Value(2.0, label='x1')
x2 = Value(0.0, label='x2')
w1 = Value(-3.0, label='w1')
w2 = Value(1.0, label='w2')
bias = Value(6.8813735870195432, label='b')
x1w1 = x1 * w1; x1w1.label = 'x1*w1'
x2w2 = x2 * w2; x2w2.label = 'x2*w2'
x1w1x2w2 = x1w1 + x2w2; x1w1x2w2.label = 'x1*w1 + x2*w2'
n = x1w1x2w2 + bias; n.label = 'n'
o = n.tanh(); o.label = 'o'
o.backward()
out["neuron_tanh"] = record(o)
out["neuron_tanh_repr"] = repr(o)

# the same neuron with tanh spelled out in exp, number operands and a division
x1 = Value(2.0, label='x1')
x2 = Value(0.0, label='x2')
w1 = Value(-3.0, label='w1')
w2 = Value(1.0, label='w2')
bias = Value(6.8813735870195432, label='b')
n = x1 * w1 + x2 * w2 + bias; n.label = 'n'
ex = (2 * n).exp(); ex.label = 'e'
o = (ex - 1) / (ex + 1); o.label = 'o'
o.backward()
out["neuron_exp"] = record(o)
out["neuron_exp_grads"] = {v.label: v.grad for v in (x1, x2, w1, w2, bias, n, ex, o)}

# a few more ops on labelled leaves: powers, negation, subtraction, reflected ops, relu
p = Value(3.0, label='p')
q = Value(-1.5, label='q')
r = (p ** 2 - q) * (1 - q) / 4 + (-p).relu() + q.relu() + (p * q).exp() + 2 / p; r.label = 'r'
r.backward()
out["mixed"] = record(r)
out["mixed_reprs"] = [repr(p), repr(q), repr(r)]

print(json.dumps({"impl": Value.__module__, "observed": out}))
