"""One Python object per node, as micrograd code assumes: `_prev` holds the very objects a node
was made from while they are alive, and every way of reaching a node gives the same object. The
graph walks here are karpathy's draw_dot's trace(), keyed on id(), written anew."""
import gc

import pytest

from micrograd_c import Value, nn
from helpers import live


def trace(root):
    """The nodes and edges draw_dot draws, keyed on id() as it does."""
    nodes, edges = set(), set()

    def build(v):
        if v not in nodes:
            nodes.add(v)
            for child in v._prev:
                edges.add((id(child), id(v)))
                build(child)
    build(root)
    return nodes, edges


def well_formed(nodes, edges):
    declared = {id(n) for n in nodes}
    return all(a in declared and b in declared for a, b in edges)


def shared_graphs(V):
    """Graphs with nodes used twice and no number operands (whose leaf nodes come with issue 13's
    item 5): (name, root, the leaves)."""
    a, b = V(2.0), V(-3.0)
    yield "a + a", a + a, (a,)
    c = a * b
    yield "(a*b)*(a+b)", c * (a + b), (a, b)
    d = (c + a).relu()
    yield "relu chain", (d * d + c).tanh() if hasattr(d, "tanh") else d * d + c, (a, b)
    yield "square", (a ** 2) * a, (a,)


def test_prev_holds_the_objects_the_node_was_made_from():
    a, b = Value(2.0), Value(3.0)
    assert any(c is a for c in (a * b)._prev) and any(c is b for c in (a * b)._prev)
    s = a + a
    assert s._children[0] is a and s._children[1] is a and s._prev == {a}
    f = (a * b) * (a + b)
    left, right = f._children
    assert left._children[0] is a and right._children[0] is a
    assert f._children[0] is left  # asked again: the same objects


@pytest.mark.parametrize("case", range(4))
def test_traces_keyed_on_id_are_well_formed_and_have_micrograds_counts(case):
    mg = pytest.importorskip("micrograd.engine")
    ours = list(shared_graphs(Value))[case]
    name, root, _ = ours
    nodes, edges = trace(root)
    assert well_formed(nodes, edges), name
    if "relu chain" != name:  # micrograd 0.1.0 has no tanh
        _, their_root, _ = list(shared_graphs(mg.Value))[case]
        their_nodes, their_edges = trace(their_root)
        assert (len(nodes), len(edges)) == (len(their_nodes), len(their_edges)), name


def test_a_node_whose_value_was_dropped_gets_one_object_for_every_path():
    a = Value(1.5)
    h = a * a   # h's Value is dropped below; h's node lives on in both parents
    p, q = h + a, h * a
    del h
    gc.collect()
    h1 = p._children[0]
    assert q._children[0] is h1 and p._children[0] is h1
    nodes, edges = trace(p + q)
    assert well_formed(nodes, edges) and len(nodes) == 5  # a, h, p, q and the sum


def test_a_layers_inputs_and_parameters_are_the_models_objects():
    layer = nn.Layer(3, 2)
    x = [Value(0.5), Value(-1.0), Value(2.0)]
    out = layer(x)
    # the fused neuron is shown as micrograd's chain: its leaves are the very inputs and parameters
    found, todo = {}, [out[0]]
    while todo:
        v = todo.pop()
        if id(v) not in found:
            found[id(v)] = v
            todo.extend(v._prev)
    leaves = {i for i, v in found.items() if not v._prev}
    assert leaves == {id(v) for v in x + layer.neurons[0].w + [layer.neurons[0].b]}


def test_finding_objects_holds_no_node():
    gc.collect()  # trace's nested function is a cycle: what earlier walks saw waits for the collector
    base = live()
    a, b = Value(1.0), Value(2.0)
    c = (a * b) + a
    for _ in range(3):
        trace(c)
        del _
    del a, b, c
    gc.collect()
    assert live() == base


def test_values_made_after_a_walk_are_found_by_the_next():
    a = Value(1.0)
    trace(a * 2.0)
    b = Value(2.0)  # made after the walk
    assert (a * b)._children[1] is b


@pytest.mark.parametrize("collect", [None, 0, 1, 2])
def test_values_are_found_whichever_generation_the_collector_moved_them_to(collect):
    a = Value(1.0)
    trace(a * a)  # what was alive then is known
    b = Value(2.0)  # made after: in the youngest generation...
    if collect is not None:
        gc.collect(collect)  # ...unless a collection moved it on
    junk = [[] for _ in range(2000)]  # and enough allocations for the collector's own runs
    c = a * b
    assert c._children[0] is a and c._children[1] is b
    del junk


def test_values_are_found_when_the_collector_runs_during_the_search():
    # The search's own allocations can set off a collection, which moves Values it has not
    # reached yet into a generation it had not planned to look in.
    threshold = gc.get_threshold()
    gc.set_threshold(1)  # a collection at every allocation the collector counts
    try:
        for _ in range(50):
            a = Value(1.0)
            trace(a * 2.0)
            b = Value(2)
            c = a * b
            assert c._children[0] is a and c._children[1] is b
    finally:
        gc.set_threshold(*threshold)
        gc.collect()  # (trace's closure is a cycle: what it saw waits for the collector)
