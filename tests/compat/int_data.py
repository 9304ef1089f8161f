# oracle: micrograd
"""micrograd keeps Python ints as ints: the data and reprs of int-valued Values, the int 0 of a
grad nothing was added to, the int 1 of the root's grad after backward; each number is
recorded with its type. (How ints flow on through backward is int_grads.py.)"""
import json

from micrograd.engine import Value


def typed(x):
    return [type(x).__name__, x]


out = {}
three = Value(3)
out["Value(3).data"] = typed(three.data)
out["Value(3).grad"] = typed(three.grad)
out["repr(Value(3))"] = repr(three)
out["repr(Value(3.0))"] = repr(Value(3.0))
out["Value(2)*Value(3)"] = typed((Value(2) * Value(3)).data)
out["Value(2)+1"] = typed((Value(2) + 1).data)
out["-Value(3)"] = typed((-Value(3)).data)
out["Value(5)-Value(7)"] = typed((Value(5) - Value(7)).data)
out["Value(2)**3"] = typed((Value(2) ** 3).data)
out["Value(2)**-1"] = typed((Value(2) ** -1).data)
out["Value(6)/Value(3)"] = typed((Value(6) / Value(3)).data)
out["Value(-2).relu()"] = typed(Value(-2).relu().data)
out["Value(-2.0).relu()"] = typed(Value(-2.0).relu().data)
out["Value(0).relu()"] = typed(Value(0).relu().data)
out["Value(4).relu()"] = typed(Value(4).relu().data)
out["Value(2.5)*2"] = typed((Value(2.5) * 2).data)
out["Value(2.5)*2 children"] = sorted(typed(k.data) for k in (Value(2.5) * 2)._prev)
out["Value(2)*2.5 children"] = sorted(typed(k.data) for k in (Value(2) * 2.5)._prev)

# backward: the root's grad is the int 1; a grad nothing was added to stays the int 0
a, b = Value(2), Value(3)
unused = Value(7)
c = a * b + a
out["c before backward"] = [repr(c), typed(c.grad)]
c.backward()
out["c.grad"] = typed(c.grad)
out["unused.grad"] = typed(unused.grad)
out["repr(c) after backward"] = repr(c)
f = Value(1.5) * Value(-2.0)
f.backward()
out["float root grad"] = typed(f.grad)
out["repr(float root)"] = repr(f)

print(json.dumps({"impl": Value.__module__, "observed": out}))
