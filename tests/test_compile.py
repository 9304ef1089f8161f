"""micrograd_c.compile: a recorded function replayed gives eager mode's data and grads to the bit
(random graphs of every op of the registry, MLPs and losses), picks up new parameter values,
records again when a model changes, refuses what it cannot replay, and holds no memory per call."""
import dataclasses
import functools
import gc
import math
import os
import random
import threading

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import micrograd_c
from micrograd_c import TraceError, Value, nn
from micrograd_c._core import ffi, lib
from graphs import ALL_OPS, MODERATE, programs
from helpers import bits, live, live_collected
from ops import OPS, ops

NON_CUSTOM = [name for name in ALL_OPS if not OPS[name].custom]


def program_fn(prog, aside=None):
    """prog's steps as a function of its leaves (a list of Values): the nodes no step used,
    summed (steps that raise are left out, as graphs.run leaves them: found eagerly first); with
    a list `aside`, every second one of them but the first is kept there instead, alive and
    reaching no output."""
    skip = set()

    def fn(leaves, skip=skip):
        nodes, used = list(leaves), set()
        for s, (op, i, j, c) in enumerate(prog.steps):
            if s in skip:
                continue
            i, j = (len(nodes) - 1 if k == -1 else k % len(nodes) for k in (i, j))
            nodes.append(OPS[op](nodes[i], nodes[j], c))
            used.update((i, j) if OPS[op].form == "value-value" else (i,))
        sinks = [n for k, n in enumerate(nodes) if k not in used]
        root = sinks[0]
        for k, n in enumerate(sinks[1:]):
            if aside is not None and k % 2 == 0:
                aside.append(n)
            else:
                root = root + n
        return root

    # the steps that raise on the program's own leaves, found eagerly
    nodes = [Value(x) for x in prog.leaves]
    for s, (op, i, j, c) in enumerate(prog.steps):
        i, j = (len(nodes) - 1 if k == -1 else k % len(nodes) for k in (i, j))
        try:
            nodes.append(OPS[op](nodes[i], nodes[j], c))
        except Exception:
            skip.add(s)
    return fn


def eager_and_compiled(fn, compiled, args_list):
    """For each args: (eager result, compiled result), data and the leaves' grads, as bits."""
    for args in args_list:
        results = []
        for f in (fn, compiled):
            leaves = [Value(x) for x in args]
            try:
                out = f(leaves)
            except Exception as e:
                results.append(type(e))
                continue
            out.backward()
            results.append(([bits(out.data)], [bits(v.grad) for v in leaves]))
        yield results


@settings(max_examples=max(10, settings().max_examples // 2))
@given(programs(ops=NON_CUSTOM, leaf=MODERATE, const=MODERATE, steps=(3, 25), max_leaves=5),
       st.randoms(use_true_random=False))
def test_random_graphs_replay_as_eager_mode_to_the_bit(prog, rnd):
    fn = program_fn(prog)
    compiled = micrograd_c.compile(lambda leaves: fn(leaves))
    leaves = [Value(x) for x in prog.leaves]
    first = compiled(leaves)  # recorded on these (Value arguments: used as themselves)
    assert bits(first.data) == bits(fn([Value(x) for x in prog.leaves]).data)
    # new numbers of the same structure: a float list each time
    args = [[x * (1 + rnd.uniform(-0.3, 0.3)) for x in prog.leaves] for _ in range(4)]

    def as_values(f):
        return lambda vs: f(vs)
    for eager, replayed in eager_and_compiled(as_values(fn), compiled, args):
        if eager is not replayed and isinstance(eager, type):
            # eager mode raised where the recording's graph (taken where it did not) does not:
            # the recording replays ops, and an op that raises raises when replayed too
            continue
        assert eager == replayed


@settings(max_examples=max(10, settings().max_examples // 2))
@given(programs(ops=NON_CUSTOM, leaf=MODERATE, const=MODERATE, steps=(3, 25), max_leaves=5),
       st.randoms(use_true_random=False))
def test_random_graphs_with_nodes_kept_aside_replay_as_eager_mode_to_the_bit(prog, rnd):
    """As above, with some of the graph's nodes kept alive by fn but reaching no output: the
    recording leaves them out, and replays the rest to the bit."""
    aside = []
    fn = program_fn(prog, aside)
    compiled = micrograd_c.compile(lambda leaves: fn(leaves))
    first = compiled([Value(x) for x in prog.leaves])
    assert bits(first.data) == bits(fn([Value(x) for x in prog.leaves]).data)
    args = [[x * (1 + rnd.uniform(-0.3, 0.3)) for x in prog.leaves] for _ in range(4)]
    for eager, replayed in eager_and_compiled(fn, compiled, args):
        if eager is not replayed and isinstance(eager, type):
            continue  # (as above: an op eager mode skipped raises when replayed)
        assert eager == replayed


@pytest.mark.parametrize("op", ops(having=lambda op: not op.custom), ids=lambda op: op.name)
def test_each_op_replays_as_eager_mode_and_raises_where_it_does(op):
    c = op.const
    compiled = micrograd_c.compile(lambda a, b: op(a, b, c))
    points = [-2.5, -1.0, -0.3, 0.0, 0.4, 1.7, 3.0, math.inf, math.nan]
    for x in points:
        for y in (0.8, -1.2, 0.0):
            results = []
            for f in (lambda a, b: op(a, b, c), compiled):
                a, b = Value(x), Value(y)
                try:
                    out = f(a, b)
                except Exception as e:
                    results.append(type(e))
                    continue
                out.backward()
                results.append((bits(out.data), bits(a.grad), bits(b.grad)))
            assert results[0] == results[1], (op.name, x, y)


def all_nodes(out):
    """Every node out reaches (asking for children makes a fused chain's nodes), as bits of
    data and grad and the op, sorted: a graph to compare, whatever order the ids came in."""
    seen, todo, found = set(), [out], []
    while todo:
        v = todo.pop()
        if v in seen:
            continue
        seen.add(v)
        found.append((bits(v.data), bits(v.grad), v._op))
        todo.extend(v._prev)
    return sorted(found, key=repr)


SUM_FORMS = {
    "sum() of products": lambda vs, pairs: sum(vs[a] * vs[b] for a, b in pairs),
    "sum() from a Value, then relu": lambda vs, pairs: sum((vs[a] * vs[b] for a, b in pairs), vs[0] * 2).relu(),
    "product + s, times a leaf": lambda vs, pairs: functools.reduce(
        lambda s, ab: vs[ab[0]] * vs[ab[1]] + s, pairs, vs[0]) * vs[-1],
}


@pytest.mark.parametrize("form", SUM_FORMS)
@pytest.mark.parametrize("seed", range(3))
def test_sums_of_products_replay_as_eager_mode_through_repeated_passes(form, seed):
    # A replay makes a chain of products and sums one fused node; its grads, and those of the
    # chain's nodes (micrograd's add up over passes), must stay eager mode's through any mix of
    # backward passes (from it and from Values made of it) and looks at its children.
    rng = random.Random(seed)
    fn = SUM_FORMS[form]
    edges = [0, 1, -2, 0.0, -0.0, 1.5, -2.25, math.inf, math.nan, 2**40, 2.0**60]
    for _ in range(60):
        pool = [rng.choice(edges + [rng.uniform(-3, 3)]) for _ in range(rng.randint(2, 5))]
        pairs = [(rng.randrange(len(pool)), rng.randrange(len(pool))) for _ in range(rng.randint(2, 9))]
        ps, qs = [Value(x) for x in pool], [Value(x) for x in pool]
        compiled = micrograd_c.compile(lambda: fn(ps, pairs))
        compiled()
        assert compiled.recordings()[0]["steps"] <= 4  # the chain is one step (with its leaf)
        out, eager = compiled(), fn(qs, pairs)
        for move in rng.choices("bbtc", k=rng.randint(1, 5)):
            for v in (out, eager):
                if move == "b":
                    v.backward()
                elif move == "t":
                    (v * -3.0).backward()
                else:
                    v._prev
        assert all_nodes(out) == all_nodes(eager), (pool, pairs)
        assert [bits(p.grad) for p in ps] == [bits(q.grad) for q in qs]


def test_sums_of_products_replay_in_batches_and_gradient_graphs():
    rng = np.random.default_rng(3)
    ws = [Value(float(w)) for w in rng.normal(size=5)]
    fn = lambda x: sum(w * xi for w, xi in zip(ws, x)).tanh()  # noqa: E731
    compiled = micrograd_c.compile(fn)
    X = rng.normal(size=(30, 5))
    out = compiled.batch(X)
    assert [bits(v) for v in out.tolist()] == [bits(fn(x).data) for x in X.tolist()]
    total = compiled.batch(X, reduce="sum")
    total.backward()
    got = [w.grad for w in ws]
    for w in ws:
        w.grad = 0
    sum(fn(x) for x in X.tolist()).backward()
    assert got == pytest.approx([w.grad for w in ws], rel=1e-12, abs=1e-15)
    x = [Value(v) for v in X[0].tolist()]
    replayed = compiled(x)
    for create_graph in (False, True):
        assert [bits(float(g.data if isinstance(g, Value) else g)) for g in
                micrograd_c.grad(replayed, ws + x, create_graph=create_graph)] == \
               [bits(float(g.data if isinstance(g, Value) else g)) for g in
                micrograd_c.grad(fn(x), ws + x, create_graph=create_graph)]


def mlp_loss(model):
    def loss(x, y):
        score = model(x)
        return (1 + -y * score).relu() + 1e-4 * sum(p * p for p in model.parameters())
    return loss


@pytest.mark.parametrize("nouts", [[4, 1], [16, 16, 1]])
def test_an_mlp_loss_replays_its_data_and_parameter_grads_to_the_bit(nouts):
    random.seed(7)
    model = nn.MLP(2, nouts)
    eager = mlp_loss(model)
    compiled = micrograd_c.compile(eager)
    rng = np.random.default_rng(0)
    for step in range(6):
        x, y = rng.normal(size=2), float(rng.choice([-1.0, 1.0]))
        grads = []
        for f, arg in ((eager, x.tolist()), (compiled, x)):  # a numpy array: its numbers
            model.zero_grad()
            out = f(arg, y)
            out.backward()
            grads.append((bits(out.data), [bits(p.grad) for p in model.parameters()]))
        assert grads[0] == grads[1], step
        for p in model.parameters():  # and an SGD step: new parameter values for the next call
            p.data -= 0.05 * p.grad


def test_losses_and_sequentials_replay():
    random.seed(3)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2), nn.Sigmoid())

    def loss(x, t):
        return nn.mse_loss(model(x), t) + nn.binary_cross_entropy(model(x), [0.3, 0.9])
    compiled = micrograd_c.compile(loss)
    for x in ([0.1, 0.2, 0.3], [1.0, -2.0, 0.5], [0.0, 0.0, 0.0]):
        outs = [f(x, [0.5, -0.5]) for f in (loss, compiled)]
        assert bits(outs[0].data) == bits(outs[1].data)


def test_a_result_is_new_at_every_call_and_lists_come_back_as_lists():
    compiled = micrograd_c.compile(lambda x: [x * 2, x + 1])
    a, b = compiled(1.0), compiled(5.0)
    assert [v.data for v in a] == [2.0, 2.0] and [v.data for v in b] == [10.0, 6.0]
    single = micrograd_c.compile(lambda x, y: x * y)
    assert single(2.0, 3.0).data == 6.0 and single(4.0, 0.5).data == 2.0
    assert single(2, 3).data == 6 and type(single(2, 3).data) is int  # ints stay ints, as eagerly


def test_value_arguments_are_used_as_themselves_and_get_grads():
    compiled = micrograd_c.compile(lambda x, w: (x * w).tanh())
    w = Value(0.5)
    for x in (1.0, 2.0, -1.0):
        w.grad = 0.0
        out = compiled(x, w)
        out.backward()
        assert w.grad == pytest.approx((1 - math.tanh(x * 0.5) ** 2) * x, rel=1e-15)


def test_new_parameter_values_are_picked_up():
    w = Value(2.0)
    compiled = micrograd_c.compile(lambda x: x * w)
    assert compiled(3.0).data == 6.0
    w.data = -1.0
    assert compiled(3.0).data == -3.0


def test_a_changed_model_is_recorded_again():
    random.seed(1)
    model = nn.MLP(2, [3, 1])
    compiled = micrograd_c.compile(lambda x: model(x))
    compiled([0.5, 0.5])
    model.layers[1].neurons[0].w[0] = Value(100.0)  # a parameter replaced
    assert compiled([0.5, 0.5]).data == model([0.5, 0.5]).data
    seq = nn.Sequential(nn.Linear(2, 2))
    f = micrograd_c.compile(lambda x: seq(x))
    assert len(f([1.0, 2.0])) == 2
    seq.append(nn.Linear(2, 3))  # a layer appended
    assert len(f([1.0, 2.0])) == 3


def test_structures_are_recorded_apart():
    compiled = micrograd_c.compile(lambda xs: sum(x * x for x in xs))
    assert compiled([1.0, 2.0]).data == 5.0
    assert compiled([1.0, 2.0, 3.0]).data == 14.0
    assert compiled(np.array([[1.0], [2.0]]).ravel()).data == 5.0
    assert len(compiled.recordings()) == 2


@pytest.mark.parametrize("args", [((0.5, 2.0), [1.5, -3.0]), ((0.5, 2), [1.5, -3.0]),
                                  ([[0.5], [2.0, -1.0]], (1.5, 3)), ((1, 2), [3, 4])])
def test_nested_and_mixed_arguments_replay_as_eager_mode(args):
    # floats in tuples and nested lists, and ints among them (an int stays an int)
    fn = lambda a, b: sum((x * y for x, y in zip(_flat(a), _flat(b))), Value(0.25))  # noqa: E731
    compiled = micrograd_c.compile(fn)
    for _ in range(3):
        got = compiled(*args)
        want = fn(*([Value(x) for x in _flat(a)] for a in args))
        assert bits(got.data) == bits(want.data)


def _flat(x):
    return [v for item in x for v in (_flat(item) if isinstance(item, (list, tuple)) else [item])]


def test_reading_a_traced_value_is_a_trace_error_naming_the_line():
    def branchy(x):
        if x.data > 0:  # Python branching on a value
            return x * 2
        return x
    with pytest.raises(TraceError, match=r"\.data at .*test_compile\.py:\d+"):
        micrograd_c.compile(branchy)(1.0)

    def peek(x):
        y = x * 3
        print(y.grad)
        return y
    with pytest.raises(TraceError, match=r"\.grad"):
        micrograd_c.compile(peek)(1.0)
    # and the engine is as it was: reads work again, nothing recorded, nothing left over
    v = Value(4.0)
    assert v.data == 4.0 and v.grad == 0


def test_a_custom_op_inside_is_a_trace_error():
    sin = OPS["py_sin(a)"]
    with pytest.raises(TraceError):  # (it reads x.data first: the read is what stops it)
        micrograd_c.compile(lambda x: sin(x, None, None) * 2)(0.5)

    def custom(x):
        out = Value(1.0, (x,), "one")
        out._backward = lambda: None
        return out * x
    with pytest.raises(TraceError, match="custom op"):
        micrograd_c.compile(custom)(0.5)
    outer = sin(Value(0.5), None, None)  # one made outside is captured: its backward still runs
    f = micrograd_c.compile(lambda x: outer * x)
    f(2.0).backward()
    assert outer.grad == 2.0


def test_an_exception_in_fn_leaves_the_engine_usable():
    def fails(x):
        x * 2
        raise KeyError("mine")
    with pytest.raises(KeyError):
        micrograd_c.compile(fails)(1.0)
    assert (Value(1.0) + 1).data == 2.0


def test_bad_arguments_are_clear_errors():
    compiled = micrograd_c.compile(lambda x: x * 2)
    with pytest.raises(TypeError):
        compiled("3")
    with pytest.raises(TypeError):
        compiled(np.array(["a", "b"]))
    with pytest.raises(TypeError):
        compiled(np.zeros((2, 2, 2)))
    with pytest.raises(TypeError):
        micrograd_c.compile(3)
    with pytest.raises(TraceError, match="must return a Value"):
        micrograd_c.compile(lambda x: 3.0)(1.0)
    f32 = micrograd_c.compile(lambda xs: xs[0] * xs[1])
    assert f32(np.array([1.5, 2.0], dtype=np.float32)).data == 3.0
    assert math.isnan(f32([math.nan, 1.0]).data)  # nan passes through, as eagerly
    with pytest.raises(ZeroDivisionError):
        micrograd_c.compile(lambda x: 1.0 / x)(0.0)
    f = micrograd_c.compile(lambda x: 1.0 / x)
    assert f(2.0).data == 0.5
    with pytest.raises(ZeroDivisionError):  # raised when replayed, too
        f(0.0)
    assert f(4.0).data == 0.25


def test_memory_is_flat_over_many_calls():
    random.seed(0)
    model = nn.MLP(2, [8, 1])
    compiled = micrograd_c.compile(mlp_loss(model))
    for k in range(2_000):  # warm-up (dead Values are released 1,024 ids at a time)
        compiled([0.1 * (k % 7), -0.2], 1.0 if k % 2 else -1.0).backward()
    base = live()
    capacity = micrograd_c.memory_stats()["capacity_nodes"]
    stats, peak = ffi.new("mg_stats *"), 0
    for k in range(10_000):
        compiled([0.1 * (k % 7), -0.2], 1.0 if k % 2 else -1.0).backward()
        lib.mg_get_stats(stats)  # (not memory_stats: it releases the dead Values' nodes first)
        peak = max(peak, stats.live_nodes)
    assert live() == base
    assert micrograd_c.memory_stats()["capacity_nodes"] == capacity
    # each dropped result holds 81 nodes: their release is not left for 1,024 results (83k nodes)
    assert peak - base < 5_000, peak - base


def test_arguments_fn_does_not_use_are_inputs_all_the_same():
    """Numbers fn leaves unused (an argument, or most of a list) are inputs of the recording
    like the others, however many there are (their Values die as fn runs; their nodes must not
    go before the recording is made)."""
    for n in (3, 5_000):
        ignore_x = micrograd_c.compile(lambda x, y: y * 2.0)
        first = micrograd_c.compile(lambda x: x[0] * 3.0 + x[-1])
        for k in range(3):
            xs = [0.25 * (j + k) for j in range(n)]
            assert bits(ignore_x(xs, 1.5 + k).data) == bits(Value(1.5 + k).__mul__(2.0).data)
            assert bits(first(xs).data) == bits((Value(xs[0]) * 3.0 + Value(xs[-1])).data)
        assert first.recordings()[0]["inputs"] == n


def test_nodes_the_outputs_do_not_reach_are_left_out_of_the_recording():
    """Values fn makes and keeps aside (alive, so still nodes when the recording is made) but
    that no output comes from are no steps, and what only they use is not captured; a custom
    op among them is no TraceError (it is not replayed)."""
    w, u, aside = Value(1.5), Value(-2.0), []

    def fn(x):
        h = x * w
        custom = Value(0.5, (x, u), "aside")
        custom._backward = lambda: None
        aside.extend([h * u, (x + u).tanh(), custom])  # kept, reaching no output
        return (h + 1.0).relu() * x
    compiled = micrograd_c.compile(fn)
    first = compiled(0.75)
    (recording,) = compiled.recordings()
    # x * w, h + 1.0 (a number operand: the step's constant), relu, * x
    assert recording == {"steps": 4, "captured": 1, "inputs": 1, "outputs": 1}
    for x in (0.75, -0.25, 3.0):
        eager, again = fn(Value(x)), compiled(x)
        assert bits(again.data) == bits(eager.data)
    assert bits(first.data) == bits(fn(Value(0.75)).data)
    assert len(aside) == 3 * 5 and all(isinstance(v, Value) for v in aside)


def test_a_dropped_compiled_function_lets_go_of_what_it_captured():
    w = Value(3.0)
    compiled = micrograd_c.compile(lambda x: x * w)
    compiled(1.0)
    before = live()
    del w, compiled  # the recording held w's node
    assert live_collected(before - 1) == before - 1


# ---- batches: every sample in one call ----

def batch_model():
    random.seed(11)
    model = nn.MLP(2, [6, 6, 1])
    return model, (lambda x, y: (1 + -y * model(x)).relu() + (model(x) * y).tanh() ** 2)


def test_batch_outputs_are_each_samples_eager_result_to_the_bit():
    model, loss = batch_model()
    compiled = micrograd_c.compile(loss)
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(40, 2)), np.where(rng.normal(size=40) > 0, 1.0, -1.0)
    out = compiled.batch(X, Y)
    assert out.shape == (40,) and out.dtype == np.float64
    assert [bits(v) for v in out.tolist()] == [bits(loss(x.tolist(), y).data) for x, y in zip(X, Y.tolist())]
    pairs = micrograd_c.compile(lambda x: [x[0] * x[1], (x[0] + x[1]).exp()]).batch(X)
    assert pairs.shape == (40, 2)
    assert pairs[:, 1].tolist() == [(Value(a) + Value(b)).exp().data for a, b in X.tolist()]


@pytest.mark.parametrize("reduce", ["mean", "sum"])
def test_batch_reduced_gives_the_eager_loops_value_and_gradients(reduce):
    model, loss = batch_model()
    compiled = micrograd_c.compile(loss)
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(25, 2)), np.where(rng.normal(size=25) > 0, 1.0, -1.0)
    total = compiled.batch(X, Y, reduce=reduce)
    reg = 1e-4 * sum(p * p for p in model.parameters())
    model.zero_grad()
    (total + reg).backward()  # it combines with other Values
    got = [p.grad for p in model.parameters()]
    eager = sum(loss(x.tolist(), y) for x, y in zip(X, Y.tolist()))
    eager = eager * (1.0 / 25) if reduce == "mean" else eager
    model.zero_grad()
    (eager + 1e-4 * sum(p * p for p in model.parameters())).backward()
    assert total.data == eager.data
    assert got == pytest.approx([p.grad for p in model.parameters()], rel=1e-12, abs=1e-15)


def test_a_reduced_batch_passes_gradients_on_through_captured_values_made_outside():
    """A captured Value made from others outside fn (scaled weights, a shared constant): the
    batch's backward adds its grad, and the pass goes on through it to what it came from."""
    def made():  # (fresh each time: the nodes between, c * w, keep their grads after a pass)
        w, c = Value(0.7), Value(-1.3)
        return w, c, w * 2.5, (c * w).tanh()  # the last two made before fn: captured

    def f(x, w, scaled, shift):
        return (scaled * x + shift).relu() + w * x

    X = np.linspace(-2.0, 3.0, 17)
    w, c, scaled, shift = made()
    total = micrograd_c.compile(lambda x: f(x, w, scaled, shift)).batch(X, reduce="sum")
    assert {id(v) for v in total._prev} == {id(scaled), id(shift)}  # not the leaves w and c
    total.backward()
    ew, ec, escaled, eshift = made()
    eager = sum(f(x, ew, escaled, eshift) for x in X.tolist())
    eager.backward()
    assert total.data == eager.data
    got, want = (w.grad, c.grad, scaled.grad, shift.grad), (ew.grad, ec.grad, escaled.grad, eshift.grad)
    assert got == pytest.approx(want, rel=1e-12)
    assert w.grad != 0 and c.grad != 0  # c reached only through shift


def test_a_reduced_batch_is_a_node_of_its_own_as_micrograd_code_sees_it():
    """Its _op names the reduction, its _backward() (micrograd's closure, run by hand) is the
    batch's backward, a _backward given to it replaces that, and it outlives its compiled
    function and recording."""
    model, loss = batch_model()
    compiled = micrograd_c.compile(loss)
    rng = np.random.default_rng(7)
    X, Y = rng.normal(size=(30, 2)), np.where(rng.normal(size=30) > 0, 1.0, -1.0)
    total = compiled.batch(X, Y, reduce="mean")
    assert total._op == "batch-mean" and compiled.batch(X, Y, reduce="sum")._op == "batch-sum"
    assert total._prev == set()  # (a model's parameters are not its children)
    model.zero_grad()
    total.backward()
    by_pass = [p.grad for p in model.parameters()]
    model.zero_grad()
    total.grad = 1.0
    total._backward()
    assert [p.grad for p in model.parameters()] == by_pass
    kept = compiled.batch(X, Y, reduce="sum")
    del compiled
    gc.collect()
    model.zero_grad()
    kept.backward()  # (its recording is held by its node)
    eager = sum(loss(x.tolist(), y) for x, y in zip(X, Y.tolist()))
    assert kept.data == eager.data
    got = [p.grad for p in model.parameters()]
    model.zero_grad()
    eager.backward()
    assert got == pytest.approx([p.grad for p in model.parameters()], rel=1e-12, abs=1e-15)
    calls = []
    kept._backward = lambda: calls.append(1)  # (a custom op now: its Python runs instead)
    model.zero_grad()
    kept.backward()
    assert calls == [1] and all(p.grad == 0 for p in model.parameters())


def test_a_reduced_batchs_children_follow_a_captured_value_given_a_backward_later():
    """A captured leaf given a `_backward` of its own after a batch (a custom op now), or made a
    leaf again: the next reduced batch's children, and the pass, follow."""
    w, calls = Value(0.5), []
    compiled = micrograd_c.compile(lambda x: (w * x).tanh())
    X = np.linspace(-1.0, 1.0, 9)
    assert compiled.batch(X, reduce="sum")._prev == set()
    w._backward = lambda: calls.append(w.grad)
    total = compiled.batch(X, reduce="sum")
    assert {id(v) for v in total._prev} == {id(w)}
    total.backward()
    assert calls == [w.grad] and w.grad != 0
    w.__init__(0.25)  # (a leaf again)
    assert compiled.batch(X, reduce="sum")._prev == set()


def test_grad_of_a_reduced_batch_is_refused_and_changes_no_grad():
    """micrograd_c.grad cannot build a reduced batch's gradient as nodes (only its backward
    computes it): a clear ValueError, and no .grad touched; outputs that do not reach its
    recording's captured Values are fine."""
    model, loss = batch_model()
    X, Y = np.ones((4, 2)), np.ones(4)
    total = micrograd_c.compile(loss).batch(X, Y, reduce="sum")
    x = Value(3.0)
    params = model.parameters()
    for p in params:
        p.grad = 0.5
    for create_graph in (False, True):
        with pytest.raises(ValueError, match="reduced batch"):
            micrograd_c.grad(total * x, params[:3], create_graph=create_graph)
    assert all(p.grad == 0.5 for p in params)
    assert micrograd_c.grad(total * x, [x]) == [total.data]
    with pytest.raises(TraceError, match="reduced batch"):
        micrograd_c.compile(lambda y: micrograd_c.compile(loss).batch(X, Y, reduce="sum") * y)(2.0)


def test_recording_suspends_the_collector_and_gives_it_back_as_it_was():
    """While fn is recorded the collector does not run on its own (its input Values die with
    the recording); after, it is as it was, enabled or not, also when fn raises, and the
    cycles fn made are collected."""
    seen = []

    def fn(x):
        seen.append(gc.isenabled())
        cycle = [x]
        cycle.append(cycle)
        return x * 2.0

    def fails(x):
        raise KeyError("in fn")

    was = gc.isenabled()
    try:
        for enabled in (True, False):
            gc.enable() if enabled else gc.disable()
            assert micrograd_c.compile(fn)(1.5).data == 3.0
            with pytest.raises(KeyError):
                micrograd_c.compile(fails)(1.5)
            assert gc.isenabled() == enabled
        assert seen == [False, False]
        gc.enable()
        assert gc.collect() > 0  # (fn's cycles, left for the collector)
    finally:
        gc.enable() if was else gc.disable()


def test_cross_entropy_with_one_hot_targets_compiles():
    """A classifier's minibatch step: cross_entropy (its detached max shift is recorded) with
    one-hot rows, batched; the same loss and grads as the eager loop with class indices."""
    random.seed(3)
    model = nn.MLP(5, [8, 4])
    rng = np.random.default_rng(3)
    X, labels = rng.normal(size=(30, 5)) * 4, rng.integers(0, 4, 30)
    step = micrograd_c.compile(lambda x, t: nn.cross_entropy(model(x), t))
    for k in range(2):  # (the second batch replays the first's recording, on new data)
        loss = step.batch(X + k, np.eye(4)[labels], reduce="mean")
        model.zero_grad()
        loss.backward()
        got = [p.grad for p in model.parameters()]
        eager = nn.cross_entropy([model(x) for x in (X + k).tolist()], labels.tolist())
        model.zero_grad()
        eager.backward()
        assert loss.data == pytest.approx(eager.data, rel=1e-12)
        assert got == pytest.approx([p.grad for p in model.parameters()], rel=1e-10, abs=1e-15)
    logits = micrograd_c.compile(lambda x: model(x)).batch(X)
    assert logits.shape == (30, 4)
    with pytest.raises(TypeError, match="one-hot"):  # an index is a Value inside: refused, clearly
        step.batch(X, labels.astype(float), reduce="mean")


def test_batch_picks_up_new_parameters_and_checks_its_arguments():
    w = Value(2.0)
    compiled = micrograd_c.compile(lambda x: x * w)
    assert compiled.batch(np.array([1.0, 2.0])).tolist() == [2.0, 4.0]
    w.data = 3.0
    assert compiled.batch([1.0, 2.0]).tolist() == [3.0, 6.0]
    with pytest.raises(ValueError, match="same number"):
        micrograd_c.compile(lambda x, y: x * y).batch([1.0, 2.0], [1.0])
    with pytest.raises(TypeError):
        compiled.batch(np.array(["a"]))
    with pytest.raises(TypeError):
        compiled.batch(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="reduce"):
        compiled.batch([1.0], reduce="max")
    with pytest.raises(ValueError, match="one Value"):
        micrograd_c.compile(lambda x: [x, x]).batch([1.0], reduce="sum")
    with pytest.raises(ValueError):  # a lane that raises: the op's error, as eagerly
        micrograd_c.compile(lambda x: x.log()).batch([1.0, -1.0])
    assert micrograd_c.compile(lambda x: x.log()).batch([1.0, math.e]).tolist() == [0.0, 1.0]


def test_batch_memory_is_flat():
    model, loss = batch_model()
    compiled = micrograd_c.compile(loss)
    X, Y = np.ones((10, 2)), np.ones(10)
    for _ in range(50):
        compiled.batch(X, Y, reduce="mean").backward()
    base = live_collected()
    for _ in range(300):
        compiled.batch(X, Y, reduce="mean").backward()
    assert live_collected(base) == base


def test_a_training_loops_reduced_batches_go_without_the_collector():
    """`total = batch + l2` drops each step's batch Value while the loss's node holds the batch's
    node, so the Value is kept for its backward: it must go once that loss has gone (two steps
    on), not at the collector's next run, which a loop that leaves no garbage may never reach.
    Each batch holds its lanes: megabytes for a big one."""
    model, loss = batch_model()
    compiled = micrograd_c.compile(loss)
    l2 = micrograd_c.compile(lambda: sum(p * p for p in model.parameters()))
    X, Y = np.ones((10, 2)), np.ones(10)
    stats = ffi.new("mg_stats *")

    def store_live():  # (not memory_stats(), which lets go of kept Values itself)
        lib.mg_get_stats(stats)
        return stats.live_nodes

    def step():
        total = compiled.batch(X, Y, reduce="mean") + l2()
        total.backward()
    gc.disable()
    try:
        for _ in range(20):
            step()
        base = store_live()
        for _ in range(300):
            step()
        assert store_live() <= base + 10
    finally:
        gc.enable()


def test_a_big_batch_split_over_threads_gives_one_threads_results():
    """Past 8,192 samples the lanes are split over the cores; every sample's output, and the
    chunked sums of the gradients, are what one thread gives (the same bits, run after run)."""
    model, loss = batch_model()
    compiled = micrograd_c.compile(loss)
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(20_000, 2)), np.where(rng.normal(size=20_000) > 0, 1.0, -1.0)
    whole = compiled.batch(X, Y)
    pieces = np.concatenate([compiled.batch(X[i:i + 4000], Y[i:i + 4000]) for i in range(0, 20_000, 4000)])
    assert whole.tobytes() == pieces.tobytes()
    runs = []
    for _ in range(2):
        model.zero_grad()
        compiled.batch(X, Y, reduce="sum").backward()
        runs.append([p.grad for p in model.parameters()])
    assert runs[0] == runs[1]
    model.zero_grad()
    for i in range(0, 20_000, 4000):  # the same sums, in pieces: to rounding
        compiled.batch(X[i:i + 4000], Y[i:i + 4000], reduce="sum").backward()
    assert runs[0] == pytest.approx([p.grad for p in model.parameters()], rel=1e-11, abs=1e-13)
    try:  # one thread, and more threads than lanes allow: the same bits as the cores' split
        for n in (1, 3, 64):
            micrograd_c.set_num_threads(n)
            assert micrograd_c.get_num_threads() == n
            assert compiled.batch(X, Y).tobytes() == whole.tobytes()
            model.zero_grad()
            compiled.batch(X, Y, reduce="sum").backward()
            assert [p.grad for p in model.parameters()] == runs[0]
    finally:
        micrograd_c.set_num_threads(0)
    assert micrograd_c.get_num_threads() == min(os.cpu_count(), 64)
    with pytest.raises(ValueError):
        micrograd_c.set_num_threads(-1)
    with pytest.raises(TypeError):
        micrograd_c.set_num_threads(1.5)


def test_big_batches_from_python_threads_at_once_give_each_ones_results_alone():
    """The pool of threads that runs a big batch's parts serves one batch at a time: a batch
    another Python thread starts meanwhile runs its parts on its own thread. Every batch gets
    the bits it gets alone, and none waits forever."""
    model, loss = batch_model()
    compiled = micrograd_c.compile(loss)
    rng = np.random.default_rng(5)
    sets = [(rng.normal(size=(12_000 + 1000 * k, 2)), np.where(rng.normal(size=12_000 + 1000 * k) > 0, 1.0, -1.0))
            for k in range(4)]
    alone = [compiled.batch(X, Y).tobytes() for X, Y in sets]
    got, failed = {}, []

    def work(k):
        try:
            for _ in range(15):
                out = compiled.batch(*sets[k]).tobytes()
                if out != alone[k]:
                    failed.append(k)
            got[k] = True
        except BaseException as e:  # (reported below)
            failed.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads) and not failed and len(got) == 4
