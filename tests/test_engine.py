"""micrograd_c.Value against its oracles: the pure-Python reference (bit for bit, on random
graphs with every op) and karpathy's micrograd (on graphs of the ops it has); and the
Value API that code written for micrograd relies on: repeated backward, reused nodes,
repr, _prev, _op, equality and hashing, writable data and grad."""
import pytest
from hypothesis import given, reject, settings

from micrograd_c import Value, reference
from graphs import MICROGRAD_OPS, MODERATE, check_same_as_reference, close, programs, run, spread
from helpers import live
from ops import REGISTRY

RV = reference.Value


@given(programs())
def test_random_graphs_match_the_reference_bit_for_bit(prog):
    check_same_as_reference(prog)


@settings(max_examples=max(5, settings().max_examples // 5))
@given(programs(steps=(100, 400), max_leaves=40))
def test_deep_and_wide_random_graphs_match_the_reference_bit_for_bit(prog):
    check_same_as_reference(prog)


# karpathy's micrograd: only its ops, finite inputs, and the constants it can take (see the
# registry's micrograd_consts).
MICROGRAD_PROGRAMS = programs(ops=MICROGRAD_OPS, leaf=MODERATE, const=MODERATE, oracle="micrograd",
                              steps=(10, 60))


@given(MICROGRAD_PROGRAMS)
def test_random_graphs_match_karpathys_micrograd(prog):
    mg = pytest.importorskip("micrograd.engine")
    ref, _, ref_errors = run(RV, prog)
    skip = {s for s, _ in ref_errors}
    try:
        theirs, _, errors = run(mg.Value, prog, skip)
    except OverflowError:  # in micrograd's backward, for x ** -1 of a tiny x: we give inf
        reject()
    assert errors == []  # it raises where the reference does, and nowhere else
    ours, _, _ = run(Value, prog, skip)
    # The forward pass does the same float ops in the same order: the same numbers (the
    # sign of a zero aside: micrograd's relu gives the int 0, and -0 is 0).
    assert [n.data if n.data == n.data else "nan" for n in ours] == \
        [float(n.data) if n.data == n.data else "nan" for n in theirs]
    # micrograd adds up each node's gradient in set order, so the last bits may differ.
    _, grad_spread = spread(prog, skip)
    for n, t, s in zip(ours, theirs, grad_spread):
        assert close(n.grad, float(t.grad), s), (n.grad, t.grad, s)


def small_graph(V):
    """Small integers and halves throughout: every sum is exact, so the order in which micrograd
    adds gradients up cannot change a bit. One relu is active, one is not."""
    a, b = V(3.0), V(2.0)
    c = a * b + b**3
    d = (c * a).relu() + (b - a).relu() * 3 + c / b
    return a, b, c, d


@pytest.mark.parametrize("times", [1, 2, 3])
def test_backward_again_accumulates_exactly_like_micrograd(times):
    mg = pytest.importorskip("micrograd.engine")
    graphs = [small_graph(V) for V in (Value, RV, mg.Value)]
    for nodes in graphs:
        for _ in range(times):
            nodes[-1].backward()
    ours, ref, theirs = ([(float(n.data), float(n.grad)) for n in g] for g in graphs)
    assert ours == ref == theirs
    if times > 1:  # not simply `times` times the first grads: inner nodes' grads are re-added
        once = small_graph(Value)
        once[-1].backward()
        assert ours[0][1] != times * once[0].grad


def test_a_node_used_many_times_gets_the_summed_gradient():
    ks = list(range(-25, 25))  # small integers: every partial sum is exact
    x = Value(0.75)
    y = Value(0.0)
    for k in ks:
        y = y + x * k
    z = x
    for _ in range(49):
        z = z + x
    (y + z).backward()
    assert x.grad == sum(ks) + 50
    assert y.data == sum(0.75 * k for k in ks)


# ---- the Value API code written for micrograd uses ----

def test_repr_is_micrograds():
    reprs = []
    for V in (Value, RV):
        a = V(2.5)
        b = a * -3
        b.backward()
        assert repr(a) == f"Value(data={a.data!r}, grad={a.grad!r})"
        reprs.append((repr(a), repr(b), repr(V(-0.0)), repr(V(float("nan")))))
    assert reprs[0] == reprs[1]


def test_prev_holds_values_equal_to_the_operands():
    a, b = Value(2.0), Value(-3.0)
    assert Value(1.0)._prev == set()
    c = a * b
    assert a in c._prev and b in c._prev and len(c._prev) == 2
    assert a in (a * 2)._prev and {k.data for k in (a * 2)._prev} == {2.0, 2}  # 2: a leaf
    assert (a + a)._prev == {a}  # the same node twice, as in micrograd's set
    assert c not in c._prev
    (kid,) = (a.relu())._prev
    kid.data = 5.0  # a Value from _prev is the node itself, not a copy
    assert a.data == 5.0


def test_prev_keeps_working_after_the_operands_are_dropped():
    base = live()
    c = Value(2.0) * Value(-3.0)
    assert sorted(k.data for k in c._prev) == [-3.0, 2.0]
    (c * 1).backward()
    assert sorted(k.grad for k in c._prev) == [-3.0, 2.0]
    del c
    assert live() == base


def label_cases(oracle=None):
    """(op, constant) for every op (of those micrograd has, for oracle "micrograd"), with each
    constant of its own an op has, else any one."""
    return [pytest.param(op, c, id=f"{op.name} c={c!r}") for op in REGISTRY
            if oracle is None or getattr(op, oracle) for c in op.consts_for(oracle) or [op.const]]


@pytest.mark.parametrize("op, c", label_cases())
def test_op_labels_are_the_references(op, c):
    assert op(Value(2.0), Value(3.0), c)._op == op(RV(2.0), RV(3.0), c)._op


@pytest.mark.parametrize("op, c", label_cases("micrograd"))
def test_op_labels_are_micrograds_for_its_ops(op, c):
    mg = pytest.importorskip("micrograd.engine")
    assert op(mg.Value(2.0), mg.Value(3.0), c)._op == op(Value(2.0), Value(3.0), c)._op


def test_equality_and_hash_are_identity_of_the_node():
    a, b = Value(1.0), Value(1.0)
    assert a == a and a != b and not (a == b)  # equal data, different nodes, as in micrograd
    assert a != 1.0 and a != "a" and a != RV(1.0)
    (same,) = (a * a)._prev
    assert same is a and hash(same) == hash(a)  # the very object (see test_identity.py)
    assert len({a, b, same}) == 2
    assert {a: "x"}[same] == "x"
    with pytest.raises(TypeError):
        a < b  # micrograd defines no ordering either


def test_data_and_grad_are_writable_and_keep_ints_as_micrograd_does():
    for V in (Value, RV):
        v = V(3)
        assert type(v.data) is int and type(v.grad) is int  # micrograd's Value(data=3, grad=0)
        v.data, v.grad = 7, True  # a bool is taken as its float
        assert (v.data, v.grad) == (7, 1.0) and type(v.data) is int and type(v.grad) is float
        w = v * 2  # the op reads data as it is now
        assert w.data == 14 and type(w.data) is int
        v.data, v.grad = 7.0, 0
        assert type(v.data) is float and type(v.grad) is int and type((v * 2).data) is float
        v.data = -0.5
        assert w.data == 14.0  # ...and a node's data is computed once, as in micrograd
        w.backward()
        assert v.grad == 0 + 2 and type(v.grad) is int  # backward adds to the grad that was set
        for bad in ("1", None, [1.0], object()):
            with pytest.raises(TypeError):
                v.data = bad
            with pytest.raises(TypeError):
                v.grad = bad
        assert (v.data, v.grad) == (-0.5, 2)

