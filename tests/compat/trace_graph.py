# oracle: micrograd
"""Graph drawing as karpathy's trace_graph notebook does it, keyed on id(): walk _prev from the
root, collect the nodes and the (child, parent) edges, lay out a draw_dot-style picture (one
record per Value, one op node per non-leaf), check it is well formed, and record its shape."""
import json
import random

from micrograd.engine import Value
from micrograd.nn import Neuron


def trace(root):
    """(nodes, edges): nodes is {id: Value} (which keeps every Value alive, so no id is reused
    while we look), edges a set of (id(child), id(parent))."""
    nodes, edges = {}, set()

    def walk(v):
        if id(v) in nodes:
            return
        nodes[id(v)] = v
        for child in v._prev:
            edges.add((id(child), id(v)))
            walk(child)

    walk(root)
    return nodes, edges


def draw_dot(root):
    """The statements of a Graphviz picture of root's graph, without Graphviz: a dict of node
    name -> label, and a list of (tail, head) edges between node names."""
    nodes, edges = trace(root)
    names, arrows = {}, []
    for key, v in nodes.items():
        me = str(key)
        names[me] = "{ data %.4f | grad %.4f }" % (v.data, v.grad)
        if v._op:
            names[me + v._op] = v._op
            arrows.append((me + v._op, me))
    for child, parent in edges:
        arrows.append((str(child), str(parent) + nodes[parent]._op))
    return names, arrows


def sort_rows(rows):
    """Rows of (op, data, grad) in a stable order that last-bit differences do not change."""
    return sorted(rows, key=lambda r: (r[0], round(r[1], 9), round(r[2], 9)))


def shape(root):
    nodes, edges = trace(root)
    names, arrows = draw_dot(root)
    return {
        "nodes": len(nodes),
        "edges": len(edges),
        "edges_well_formed": all(c in nodes and p in nodes for c, p in edges),
        "root_in_nodes": id(root) in nodes,
        "ops": sorted(v._op for v in nodes.values()),
        "data": sorted(round(v.data, 9) for v in nodes.values()),
        "rows": sort_rows([v._op, v.data, v.grad] for v in nodes.values()),
        "children": sorted(len(v._prev) for v in nodes.values()),
        "dot_nodes": len(names),
        "dot_edges": len(arrows),
        "dot_well_formed": all(t in names and h in names for t, h in arrows),
        "dot_labels": sorted(names.values()),
    }


def case(build):
    """root's picture before backward and after; the first trace is dropped before backward."""
    root = build()
    before = shape(root)
    root.backward()
    return {"before": before, "after": shape(root)}


def twice_a():
    a = Value(3.0)
    return a + a


def product_of_sum():
    a, b = Value(2.0), Value(-3.0)
    return (a * b) * (a + b)


def times_number():
    return Value(1.5) * 2


def negation():
    return -Value(1.5)


def difference():
    return Value(1.5) - Value(4.0)


def quotient():
    return Value(1.5) / Value(4.0)


def square_int():
    return Value(1.5) ** 2


def square_float():
    return Value(1.5) ** 2.0


def notebook_relu():
    x = Value(1.0)
    return (x * 2 + 1).relu()


def number_on_the_left():
    x = Value(0.75)
    return (3 - x) * (2 / x) + (1 + x) * (4 * x)


def neuron(nonlin):
    def build():
        random.seed(1337)
        n = Neuron(2, nonlin=nonlin)
        build.params = [[p.data, p.grad] for p in n.parameters()]
        return n([Value(1.0), Value(-2.0)])
    return build


def neuron_of_numbers():
    random.seed(1337)
    n = Neuron(3)
    return n([1.0, -2.0, 0.5])


out = {}
for name, build in [("a+a", twice_a), ("(a*b)*(a+b)", product_of_sum), ("x*2", times_number),
                    ("-x", negation), ("x-y", difference), ("x/y", quotient),
                    ("x**2", square_int), ("x**2.0", square_float),
                    ("(x*2+1).relu()", notebook_relu), ("numbers on the left", number_on_the_left),
                    ("Neuron(2)", neuron(True)), ("Neuron(2, nonlin=False)", neuron(False)),
                    ("Neuron(3) of numbers", neuron_of_numbers)]:
    out[name] = case(build)
    if hasattr(build, "params"):
        out[name]["params"] = build.params

# the neuron's parameters after backward, as the model holds them
random.seed(1337)
n = Neuron(2)
y = n([Value(1.0), Value(-2.0)])
y.backward()
out["Neuron(2) parameters after backward"] = [[p.data, p.grad] for p in n.parameters()]
out["Neuron(2) output"] = [y.data, y.grad, y._op, len(y._prev)]

print(json.dumps({"impl": Value.__module__, "observed": out}))
