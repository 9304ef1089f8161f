"""Custom ops, micrograd's way: `Value(data, _children, _op)` and `_backward`.

A custom node lives in the C store; its backward is a Python closure, which the C pass hands
back to Python at the node's place in the order (csrc/backward.c, engine.backward). Every Value
has a `_backward` that does its node's own step, as micrograd's closure does. Checked against
the reference (bit for bit), and micrograd 0.1.0 where it is installed.
"""
import gc
import math
import threading

import pytest

import micrograd_c
from micrograd_c import Value, reference
from helpers import bits, live, live_collected
from ops import REGISTRY, VV, ids, py_ab_b, py_sin

RV = reference.Value


def grads(*values):
    return [bits(v.grad) for v in values]


@pytest.mark.parametrize("op", REGISTRY, ids=ids)
def test_every_nodes_own_backward_is_one_step_of_micrograds(op):
    # out._backward() alone, as the lecture calls it node by node: out's grad times the local
    # derivative added into each child (a number operand's leaf too), and nothing further down
    for g in (1.0, -2.5, 3):
        made = []
        for V in (Value, RV):
            a, b = V(0.75) * 1.5, V(-1.25)
            out = op(a, b, op.const)
            out.grad = g
            kids = sorted(out._children, key=lambda k: (k is not a, k is not b))
            for k in kids:
                k.grad = 0.5  # added to, not set
            out._backward()
            out._backward()  # twice adds twice, as in the lecture
            made.append((grads(out, *kids), [k._op for k in kids], grads(*a._children)))
        assert made[0] == made[1]


def test_a_custom_op_between_c_nodes_gets_micrograds_grads():
    out = []
    for V in (Value, RV):
        a, b, c = V(0.5), V(-1.25), V(0.3)
        t = py_sin(a * b)
        y = (t + c) * 2 + py_ab_b(t, c) ** 2
        y.backward()
        out.append((grads(a, b, c, t, y), bits(y.data), t._op, len(t._prev)))
    assert out[0] == out[1]


def test_with_micrograd_too():
    mg = pytest.importorskip("micrograd.engine")
    rows = []
    for V in (Value, mg.Value):
        a, b = V(0.5), V(-1.25)
        s = py_sin(a * b)
        y = py_ab_b(s, b) * s + a
        y.backward()
        rows.append([a.grad, b.grad, s.grad, y.data, s._op, len(y._prev)])
    assert rows[0][4:] == rows[1][4:]
    assert rows[0][:4] == pytest.approx(rows[1][:4], rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("size", [5, 20_000])
def test_the_pass_hands_back_each_python_node_in_its_place(size):
    # a long chain of C nodes with custom nodes here and there: a graph that is most of the
    # tape (one pass down it) and, with a crowd of other nodes, a small one (found and sorted)
    crowd = [Value(1.0) * 2 for _ in range(50_000 if size == 5 else 0)]
    out = []
    for V in (Value, RV):
        x = V(0.3)
        y = x
        for k in range(size):
            y = py_sin(y) if k % 7 == 3 else y * 0.999 + 0.0001
        y.backward()
        out.append((bits(y.data), bits(x.grad)))
    assert out[0] == out[1]
    del crowd


def test_the_lectures_constructor_and_a_label():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    n = Value(a.data * b.data, (a, b), "*", "n")
    assert (n.data, n._op, n.label) == (-6.0, "*", "n")
    assert all(any(k is v for k in n._prev) for v in (a, b))
    n.backward()  # no _backward yet: micrograd's does nothing
    assert (a.grad, b.grad, n.grad) == (0, 0, 1)
    assert Value(1.0, (), "leaf op")._op == "leaf op"
    assert Value(3, (a,))._op == "" and Value(3, (a,)).data == 3 and type(Value(3, (a,)).data) is int
    assert Value(1.0, [a, b])._prev == {a, b} and Value(1.0, {a})._prev == {a}


def test_children_must_be_values():
    with pytest.raises(TypeError, match="_children"):
        Value(1.0, (2.0,))
    with pytest.raises(TypeError):
        Value(1.0, 5)


def test_init_again_takes_older_children_only():
    a = Value(1.0)
    v = Value(2.0)
    v.__init__(5.0, (a,), "again")  # micrograd code calling __init__ on a live Value
    assert (v.data, v._op, v._prev, v.grad) == (5.0, "again", {a}, 0)
    newer = Value(3.0)
    with pytest.raises(ValueError, match="made before it"):
        v.__init__(1.0, (newer,), "x")
    with pytest.raises(ValueError):
        v.__init__(1.0, (v,), "itself")
    v.__init__(7.0)  # a leaf again
    assert (v.data, v._op, v._prev) == (7.0, "", set())


def test_backward_assigned_to_a_node_an_op_made():
    # the old _backward (the op's own step) still works after a new one is assigned
    out = []
    for V in (Value, RV):
        a, b = V(1.5), V(-2.0)
        y = a * b
        old = y._backward

        def new(old=old, a=a):
            old()
            a.grad += 100.0
        y._backward = new
        z = (y + 1).relu() * 3 + y
        z.backward()
        out.append((grads(a, b, y, z), y._op))
    assert out[0] == out[1]
    assert out[0][1] == "*"


def test_a_layers_neuron_with_a_backward_of_its_own():
    from micrograd_c import nn
    from micrograd_c.reference import nn as rnn
    out = []
    for mod, V in ((nn, Value), (rnn, RV)):
        layer = mod.Layer(3, 2)
        for k, p in enumerate(layer.parameters()):
            p.data = 0.1 * k - 0.3
        x = [V(1.0), V(-2.0), V(0.5)]
        h = layer(x)
        old = h[0]._backward

        def halved(old=old, h=h[0]):
            h.grad = h.grad / 2
            old()
        h[0]._backward = halved
        y = h[0] * h[1] + h[0]
        y.backward()
        out.append((grads(*layer.parameters(), *x), h[0]._op, len(h[0]._prev)))
    assert out[0] == out[1]


def test_a_closure_that_raises_ends_the_pass_and_the_store_works_on():
    a = Value(2.0)
    bad = Value(a.data, (a,), "bad")

    def fail():
        raise KeyError("from the closure")
    bad._backward = fail
    y = bad * 3
    with pytest.raises(KeyError):
        y.backward()
    assert y.grad == 1 and bad.grad == 3  # what ran before it
    # no pass is left open: freed slots are reused again, so a loop runs in bounded memory
    before = micrograd_c.memory_stats()["capacity_nodes"]
    for _ in range(200):
        (Value(1.0) * 2 + 3).relu()
    assert micrograd_c.memory_stats()["capacity_nodes"] == before


def test_closures_may_build_free_and_run_backward_while_the_pass_is_stopped():
    out = []
    for V in (Value, RV):
        a, b = V(0.5), V(2.0)
        side = []

        def busy(a=a):
            junk = [V(float(k)) * 2 for k in range(3000)]  # new nodes: the store may grow
            del junk
            w = V(1.5)
            (w * w).backward()  # another pass, inside this one
            side.append(w.grad)
            a.grad += 2 * mid.grad
        mid = V(a.data * 2, (a,), "2a")
        mid._backward = busy
        y = (mid * b + a).tanh() * mid
        y.backward()
        out.append((grads(a, b, mid, y), side))
    assert out[0] == out[1]


def test_custom_ops_in_threads():
    results, errors = {}, []

    def work(t):
        try:
            rows = []
            for k in range(300):
                a, b = Value(0.01 * k + t), Value(0.5)
                y = py_ab_b(py_sin(a * b), b) + py_sin(b)
                y.backward()
                rows.append(grads(a, b))
            results[t] = rows
        except BaseException as e:
            errors.append(e)
    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    for t, rows in results.items():
        for k, row in enumerate(rows):
            a, b = RV(0.01 * k + t), RV(0.5)
            y = py_ab_b(py_sin(a * b), b) + py_sin(b)
            y.backward()
            assert row == grads(a, b)


def test_a_loop_of_custom_ops_runs_in_bounded_memory():
    base = live_collected()
    x = Value(0.1)
    peak = 0
    for step in range(3000):
        y = py_ab_b(py_sin(x * 1.5), x) + py_sin(py_sin(x))  # each made, used, dropped
        y.backward()
        peak = max(peak, live() - base)
        x.data += 0.0001
    del y
    assert live_collected() == base + 1  # x
    assert peak < 3000  # freed as it goes (by the collector, as micrograd's cycles are)


def test_a_value_with_more_than_its_node_outlives_its_name_while_a_parent_lives():
    # micrograd's child objects live as long as their parents: a label, a subclass, an attribute
    class Ext(Value):
        pass

    def build():
        a = Value(2.0, label="a")
        e = Ext(3.0)
        e.note = "kept"
        return a * e + 1

    y = build()
    gc.collect()
    (s,) = [k for k in y._prev if k._op == "*"]
    kids = sorted(s._prev, key=lambda k: k.data)
    assert [(type(k).__name__, k.label) for k in kids] == [("Value", "a"), ("Ext", "")]
    assert kids[1].note == "kept"
    base = live_collected()
    del y, s, kids
    assert live_collected() == base - 5  # y, the 1, the *, a, e: all freed once the parent goes


def test_a_copy_of_a_custom_value_is_a_plain_leaf():
    import copy
    import pickle
    a = Value(1.0)
    t = py_sin(a)
    t.label = "t"
    for c in (copy.copy(t), copy.deepcopy(t), pickle.loads(pickle.dumps(Value(t.data, label="t")))):
        assert (c._op, c._prev, c.label, c.data) == ("", set(), "t", t.data)
        c.backward()
        assert a.grad == 0


def number_leaf(out, x):
    """The leaf a number operand of out made (x being its other child)."""
    (leaf,) = [k for k in out._prev if k is not x]
    return leaf


@pytest.mark.parametrize("crowd", [0, 50_000])
def test_a_number_operands_leaf_as_root_or_custom_op(crowd):
    # a number operand's leaf is not on the tape (it has no step): backward from it, a
    # _backward given to it, and __init__ again with children all still do micrograd's thing
    others = [Value(1.0) * 2 for _ in range(crowd)]
    out = []
    for V in (Value, RV):
        x = V(1.5)
        y = x * 3
        three = number_leaf(y, x)
        three.backward()
        first = grads(three, x, y)

        def step(three=three, x=x):
            x.grad += 100 * three.grad  # runs after y's step: three's grad is complete
        three._backward = step
        z = (y + 1) * y
        z.backward()
        out.append((first, grads(three, x, y, z), three._op))
    assert out[0] == out[1]
    x = Value(1.0)
    two = number_leaf(x + 2, x)
    with pytest.raises(ValueError, match="number operand"):
        two.__init__(5.0, (x,))
    del others
