"""Stateful fuzzing: random sequences of everything a user can do, on the C engine and the
reference side by side.

After every step, both engines agree on every live Value's data and grad, bit for bit (every nan
counts as the same nan), and the C store holds exactly the nodes reachable from live Values: its
live_nodes, less what it held before, equals the number of distinct nodes reachable from the
reference Values the machine still holds. A leaked node, a node freed too soon, a half-made node
after an error, or a wrong refcount all show up there.

A fused neuron (micrograd_c.nn) is one C node; on the reference side it is one node too
(`reference.nn.fused_neuron`, csrc/ops.c's arithmetic written out), because micrograd's unfused neuron is a
different graph: its inner nodes keep grads of their own, so a second backward through it adds
different amounts. Its data is also checked against the unfused micrograd_c.reference.nn.Layer.
"""
import copy
import gc
import math

import numpy as np
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from micrograd_c import Value, nn
from micrograd_c import reference
from micrograd_c.reference import Value as RValue
from helpers import bits, live, live_collected
from ops import CV, UNARY, VC, VV, ops

try:
    from micrograd_c import optim
    from micrograd_c.reference import optim as ref_optim
    OPTIMIZERS = {"sgd": (optim.SGD, ref_optim.SGD), "adam": (optim.Adam, ref_optim.Adam)}
except ImportError:  # before micrograd_c.optim existed
    OPTIMIZERS = {}

SPECIALS = [0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, 3.0, -0.25, math.nan, math.inf, -math.inf,
            1e308, -1e308, 1e300, -1e300, 5e-324, 1e-300, 709.0, 710.0, 2.0 ** 53 + 1]
FLOATS = st.one_of(st.sampled_from(SPECIALS), st.sampled_from(SPECIALS), st.floats(-4, 4), st.floats())
NUMBERS = st.one_of(FLOATS, FLOATS, FLOATS, st.integers(-3, 3), st.booleans(),
                    st.floats(-4, 4).map(np.float64), st.integers(-3, 3).map(np.int64),
                    st.booleans().map(np.bool_), st.floats(-4, 4).map(np.array))
NOT_NUMBERS = st.sampled_from(["1", None, 1j, np.array(1j), np.array([1.0, 2.0]), np.array([True]), 10**400])
INDEX = st.integers(0, 10**6)  # taken modulo the number of live Values
OWN_CONSTANTS = ops(VC, CV, having=lambda op: op.consts)  # the exponents of **


def attempt(f, *args):
    """(result, None) or (None, the exception's type)."""
    try:
        with np.errstate(all="ignore"):  # numpy scalars warn, e.g. np.float64(0) ** -1
            return f(*args), None
    except Exception as e:
        return None, type(e)


class EngineMachine(RuleBasedStateMachine):

    def __init__(self):
        super().__init__()
        self.pairs = []       # (C Value, reference Value) for the same node
        self.optimizers = []  # (C optimizer, reference optimizer, their reference params)
        self.base = live()  # (no garbage: see teardown)

    def teardown(self):
        self.pairs.clear()  # release this example's nodes now, not when the machine is collected
        self.optimizers.clear()
        if live() != self.base:  # and free its garbage (custom ops' cycles), for the next one's base
            live_collected(self.base)

    def pick(self, i):
        return self.pairs[i % len(self.pairs)]

    def both(self, f, *args):
        """f on the C pair members and on the reference ones: the same outcome, kept if a Value."""
        c, c_exc = attempt(f, *(a[0] if isinstance(a, tuple) else a for a in args))
        r, r_exc = attempt(f, *(a[1] if isinstance(a, tuple) else a for a in args))
        assert c_exc == r_exc, (c, r)
        if c_exc is None and isinstance(c, Value):
            self.pairs.append((c, r))
        return c_exc

    # ---- making Values ----
    @rule(x=NUMBERS)
    def leaf(self, x):
        self.both(lambda V: V(x), (Value, RValue))

    @rule(bad=NOT_NUMBERS)
    def leaf_from_a_non_number(self, bad):
        assert self.both(lambda V: V(bad), (Value, RValue)) in (TypeError, OverflowError)

    @precondition(lambda self: self.pairs)
    @rule(op=st.sampled_from(ops(VV)), i=INDEX, j=INDEX)
    def binary(self, op, i, j):
        assert self.both(lambda a, b: op(a, b, None), self.pick(i), self.pick(j)) is not TypeError

    @precondition(lambda self: self.pairs)
    @rule(i=INDEX, j=INDEX, k=st.one_of(NUMBERS, NOT_NUMBERS))
    def power_of_a_value(self, i, j, k):
        """Value ** Value and number ** Value: no such ops."""
        assert self.both(lambda a, b: a ** b, self.pick(i), self.pick(j)) is TypeError
        self.both(lambda a: k ** a, self.pick(i))

    @precondition(lambda self: self.pairs)
    @rule(op=st.sampled_from(ops(VC, CV)), i=INDEX, k=st.one_of(NUMBERS, NUMBERS, NOT_NUMBERS))
    def with_constant(self, op, i, k):
        self.both(lambda a: op(a, None, k), self.pick(i))

    @precondition(lambda self: self.pairs)
    @rule(op=st.sampled_from(OWN_CONSTANTS), i=INDEX, data=st.data())
    def with_its_own_constant(self, op, i, data):
        """An op with constants of its own (the registry's consts), with those, specials or any number."""
        k = data.draw(st.one_of(st.sampled_from(op.consts), st.sampled_from(SPECIALS), NUMBERS))
        self.both(lambda a: op(a, None, k), self.pick(i))

    @precondition(lambda self: self.pairs)
    @rule(op=st.sampled_from(ops(UNARY)), i=INDEX)
    def unary(self, op, i):
        self.both(lambda a: op(a, None, None), self.pick(i))

    @precondition(lambda self: self.pairs)
    @rule(i=INDEX)
    def children(self, i):
        """_prev/_op: new C Value objects for existing nodes (the reference gives the originals)."""
        c, r = self.pick(i)
        assert c._op == r._op
        kids = c._children
        assert len(kids) == len(r._children) and len(c._prev) == len(r._prev)
        # the very objects: a child the machine holds is that object, in the C engine too
        known = {id(rv): cv for cv, rv in self.pairs}
        for ck, rk in zip(kids, r._children):
            assert ck is known.get(id(rk), ck)
        self.pairs.extend(zip(kids, r._children))

    @precondition(lambda self: self.pairs)
    @rule(i=INDEX, text=st.sampled_from(["a", "b", ""]), other=st.booleans())
    def attribute(self, i, text, other):
        """A label (kept while a parent lives, as micrograd's), or another attribute."""
        for v in self.pick(i):
            if other:
                v.tag = [text]
            else:
                v.label = text

    @precondition(lambda self: self.pairs)
    @rule(i=INDEX)
    def backward_twice_over(self, i):
        """The node's backward replaced by a closure that runs the old one twice: a custom op
        made of a node an op (or a layer's neuron) made."""
        for v in self.pick(i):
            old = v._backward

            def twice(old=old):
                old()
                old()
            v._backward = twice

    @precondition(lambda self: self.pairs)
    @rule(i=INDEX, how=st.sampled_from([copy.copy, copy.deepcopy]))
    def copy(self, i, how):
        self.both(how, self.pick(i))

    # ---- fused layers ----
    @rule(nin=st.integers(1, 3), nout=st.integers(1, 3), relu=st.booleans(), data=st.data())
    def layer(self, nin, nout, relu, data):
        """micrograd_c.nn.Layer on live Values and numbers, some weights shared with live Values."""
        draw = data.draw

        def some_pair(numbers, plain=False):
            """A live pair, or a new one: a leaf of a number (kept by the machine or not), or,
            if plain, sometimes the number itself (a layer makes it a leaf)."""
            if self.pairs and draw(st.booleans()):
                return self.pick(draw(INDEX))
            if plain and draw(st.booleans()):
                x = draw(numbers)
                return x, x
            c = Value(draw(numbers))
            pair = (c, RValue(c.data))
            if draw(st.booleans()):
                self.pairs.append(pair)
            return pair

        c_layer = nn.Layer(nin, nout, nonlin=relu)
        r_neurons = []  # (weights, bias) on the reference side
        for n in c_layer.neurons:
            w, b = [some_pair(FLOATS) for _ in range(nin)], some_pair(FLOATS)
            n.w, n.b = [c for c, _ in w], b[0]
            r_neurons.append(([r for _, r in w], b[1]))
        x = [some_pair(NUMBERS, plain=True) for _ in range(nin + draw(st.sampled_from([0, 0, 0, 0, 1, -1])))]
        if len(x) != nin:  # the wrong number of inputs: an error, and no node made
            assert attempt(c_layer, [c for c, _ in x]) == (None, ValueError)
            return
        out = c_layer([c for c, _ in x])
        out = out if isinstance(out, list) else [out]
        r_x = [r if isinstance(r, RValue) else RValue(r) for _, r in x]
        self.pairs.extend(zip(out, [reference.nn.fused_neuron(r_x, w, b, relu) for w, b in r_neurons]))
        # the data is micrograd's unfused neuron's, bit for bit
        unfused = reference.nn.Layer(nin, nout, nonlin=relu)
        for n, (w, b) in zip(unfused.neurons, r_neurons):
            n.w, n.b = w, b
        u = unfused(r_x)
        assert [bits(v.data) for v in (u if isinstance(u, list) else [u])] == [bits(v.data) for v in out]

    # ---- writing data and grad ----
    @precondition(lambda self: self.pairs)
    @rule(i=INDEX, field=st.sampled_from(["data", "grad"]), x=st.one_of(NUMBERS, NUMBERS, NOT_NUMBERS))
    def write(self, i, field, x):
        self.both(lambda v: setattr(v, field, x), self.pick(i))

    # ---- backward, from any node, any number of times ----
    @precondition(lambda self: self.pairs)
    @rule(i=INDEX)
    def backward(self, i):
        assert self.both(lambda v: v.backward(), self.pick(i)) is None

    # ---- letting go ----
    @precondition(lambda self: self.pairs)
    @rule(i=INDEX, collect=st.booleans())
    def drop(self, i, collect):
        del self.pairs[i % len(self.pairs)]
        if collect:
            gc.collect()

    @precondition(lambda self: len(self.pairs) > 8)
    @rule(keep=st.integers(0, 4))
    def drop_most(self, keep):
        del self.pairs[keep:]

    # ---- optimizers ----
    @precondition(lambda self: OPTIMIZERS and self.pairs)
    @rule(kind=st.sampled_from(sorted(OPTIMIZERS)), picks=st.lists(INDEX, min_size=1, max_size=6),
          lr=st.sampled_from([0.0, 0.01, 0.5, 2.0]), momentum=st.sampled_from([0.0, 0.9]),
          weight_decay=st.sampled_from([0.0, 0.1]))
    def make_optimizer(self, kind, picks, lr, momentum, weight_decay):
        chosen = {id(r): (c, r) for c, r in map(self.pick, picks)}  # one Value per node
        c_params, r_params = zip(*chosen.values())
        C, R = OPTIMIZERS[kind]
        extra = {"momentum": momentum} if kind == "sgd" else {}
        self.optimizers.append((C(c_params, lr=lr, weight_decay=weight_decay, **extra),
                                R(r_params, lr=lr, weight_decay=weight_decay, **extra), r_params))

    @precondition(lambda self: self.optimizers)
    @rule(i=INDEX, zero=st.booleans())
    def optimizer_step(self, i, zero):
        c_opt, r_opt, _ = self.optimizers[i % len(self.optimizers)]
        assert attempt(c_opt.step) == attempt(r_opt.step) == (None, None)
        if zero:
            c_opt.zero_grad()
            r_opt.zero_grad()

    @precondition(lambda self: self.optimizers)
    @rule(i=INDEX)
    def drop_optimizer(self, i):
        del self.optimizers[i % len(self.optimizers)]

    # ---- after every step ----
    @invariant()
    def same_numbers(self):
        for c, r in self.pairs:
            assert (bits(c.data), bits(c.grad)) == (bits(r.data), bits(r.grad)), (c, r, r._op)
            assert (c.label, getattr(c, "tag", None)) == (r.label, getattr(r, "tag", None))

    @invariant()
    def exactly_the_reachable_nodes_are_live(self):
        # (walking the C graph turns its fused neurons into micrograd's chains, as drawing does)
        roots = [c for c, _ in self.pairs] + [p for c_opt, *_ in self.optimizers for p in c_opt._params]
        seen, todo = {}, roots  # id -> the Value, kept: a freed one's id() could be reused
        while todo:
            v = todo.pop()
            if id(v) not in seen:
                seen[id(v)] = v
                todo.extend(v._children)
        count = live()
        if count - self.base != len(seen):
            # Values kept only by a reference cycle (a traceback, a custom op's closure) die here
            count = live_collected(self.base + len(seen))
        assert count - self.base == len(seen)


def test_c_engine_and_reference_agree_on_random_sequences():
    gc.collect()  # garbage left by earlier tests must not die mid-run: live_nodes is counted exactly
    run_state_machine_as_test(EngineMachine, settings=settings(
        settings.default, stateful_step_count=40, max_examples=3 * settings.default.max_examples))
