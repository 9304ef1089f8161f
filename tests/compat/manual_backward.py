# oracle: lecture
"""The lecture's backpropagation by hand: set o.grad = 1.0, then call each node's _backward()
in reverse topological order, first naming the nodes one by one, then with a build_topo walk."""
import json

from micrograd.engine import Value


def build_topo(root):
    """Every node after its children (a walk over _prev, as the lecture writes it)."""
    order, seen = [], set()

    def visit(v):
        if id(v) not in seen:
            seen.add(id(v))
            for child in v._prev:
                visit(child)
            order.append(v)

    visit(root)
    return order


def neuron():
    x1 = Value(2.0, label='x1')
    x2 = Value(0.0, label='x2')
    w1 = Value(-3.0, label='w1')
    w2 = Value(1.0, label='w2')
    b = Value(6.8813735870195432, label='b')
    x1w1 = x1 * w1; x1w1.label = 'x1*w1'
    x2w2 = x2 * w2; x2w2.label = 'x2*w2'
    s = x1w1 + x2w2; s.label = 'x1*w1 + x2*w2'
    n = s + b; n.label = 'n'
    o = n.tanh(); o.label = 'o'
    return [x1, x2, w1, w2, b, x1w1, x2w2, s, n, o]


def grads(nodes):
    return {v.label: [v.data, v.grad] for v in nodes}


out = {}

# 1. by name, in the lecture's order
x1, x2, w1, w2, b, x1w1, x2w2, s, n, o = nodes = neuron()
out["before"] = grads(nodes)
o.grad = 1.0
o._backward()
out["after_o"] = grads(nodes)
n._backward()
out["after_n"] = grads(nodes)
b._backward()  # a leaf: nothing to pass on
s._backward()
out["after_s"] = grads(nodes)
x2w2._backward()
x1w1._backward()
out["by_name"] = grads(nodes)

# 2. with build_topo, reversed
nodes = neuron()
o = nodes[-1]
topo = build_topo(o)
out["topo_size"] = len(topo)
out["topo_root_last"] = topo[-1] is o
out["topo_labels"] = sorted(v.label for v in topo)
o.grad = 1.0
for v in reversed(topo):
    v._backward()
out["by_topo"] = grads(nodes)

# 3. the same by hand on a graph with number operands, a power and a shared node
a = Value(1.5, label='a')
c = Value(-0.5, label='c')
t = (a * c + 3) ** 2; t.label = 't'
u = (t - a) / (c * 4); u.label = 'u'
topo = build_topo(u)
out["mixed_topo_size"] = len(topo)
out["mixed_ops"] = sorted(v._op for v in topo)
u.grad = 1.0
for v in reversed(topo):
    v._backward()
out["mixed"] = sorted(([v.label, v._op, v.data, v.grad] for v in topo),
                      key=lambda r: (r[0], r[1], round(r[2], 9), round(r[3], 9)))

# 4. calling _backward twice adds twice, as in the lecture's bug demonstration
p = Value(3.0, label='p')
q = p + p; q.label = 'q'
q.grad = 1.0
q._backward()
out["p_plus_p_once"] = p.grad
q._backward()
out["p_plus_p_twice"] = p.grad

print(json.dumps({"impl": Value.__module__, "observed": out}))
