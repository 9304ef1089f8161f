# oracle: micrograd
"""Beyond int_data.py: micrograd's grads are Python numbers, so an int root grad of 1 flows back
through + and * on int data as ints, relu's backward multiplies by a bool, and a grad or data
set by hand keeps its type. Each number is recorded with its type."""
import json

from micrograd.engine import Value


def typed(x):
    return [type(x).__name__, x]


out = {}
a, b = Value(2), Value(3)
c = a * b + a
c.backward()
out["a.grad"] = typed(a.grad)
out["b.grad"] = typed(b.grad)
out["repr(a) after backward"] = repr(a)

# a float leaf, an int relu in between, and a relu that passed nothing back
x = Value(1.5)
n = Value(-4)
r = x * n.relu() + (x * 2).relu() + Value(5).relu()
r.backward()
out["r"] = [typed(r.data), typed(r.grad)]
out["x.grad"] = typed(x.grad)
out["n.grad"] = typed(n.grad)  # relu of a negative number: grad += False * 1.5
out["repr(n)"] = repr(n)

# int data and an int root grad, but a float exponent on the way
p = Value(3)
q = p ** 2.0 + p
q.backward()
out["p.grad"] = typed(p.grad)

# set by hand
g = Value(1)
g.grad = 5
out["g.grad"] = typed(g.grad)
g.grad = 0.25
out["g.grad float"] = typed(g.grad)
g.data = 7
out["g.data set int"] = typed(g.data)
out["repr(g)"] = repr(g)

print(json.dumps({"impl": Value.__module__, "observed": out}))
