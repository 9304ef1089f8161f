"""Random expression programs for the differential tests.

A program is generated once (by hypothesis) and then run, step by step, on any
Value class: micrograd_c's, the reference, karpathy's micrograd, or a torch
adapter. Each step makes one node from earlier nodes; an operand index of -1
means "the newest node" (so programs grow deep chains), any other index picks
an earlier node modulo the count (so nodes get shared and reused). A step that
raises makes no node, so every engine that raises at the same steps sees the
same graph afterwards. The root is the sum of the nodes no step used.
"""
import math
import random
from dataclasses import dataclass

from hypothesis import strategies as st

from micrograd_c import Value, reference
from helpers import bits, live, live_collected
from ops import OPS, VV, ops

ALL_OPS = [op.name for op in ops()]  # not LEAF: a program's leaves are its own
MICROGRAD_OPS = [op.name for op in ops(having=lambda op: op.micrograd)]
TORCH_OPS = [op.name for op in ops(having=lambda op: op.compared_with_torch)]

EDGES = [0.0, -0.0, 1.0, -1.0, 0.5, -2.0, 1e300, -1e300, 5e-324, -5e-324,
         math.nan, math.inf, -math.inf]
# Numbers for comparisons with engines that round differently (see `spread`): no tiny ones.
MODERATE = st.one_of(st.integers(-3, 3).map(float), st.floats(1e-3, 3), st.floats(-3, -1e-3))


@dataclass
class Program:
    leaves: list    # leaf values
    steps: list     # (op, i, j, c)
    backwards: int  # how many times backward() runs on the root


def programs(ops=ALL_OPS, leaf=None, const=None, oracle=None, steps=(10, 40), max_leaves=6,
             max_backwards=2):
    """A strategy for Programs. Defaults: any float (edge values often) as leaf or constant; an
    op with constants of its own (the registry's consts) takes those of them it is compared
    with `oracle` with ("micrograd", or None: the reference)."""
    finite = st.floats(-3, 3)
    if leaf is None:
        leaf = st.one_of(finite, st.sampled_from(EDGES), st.floats())
    if const is None:
        const = st.one_of(finite, st.sampled_from(EDGES), st.integers(-3, 3))
    index = st.one_of(st.just(-1), st.integers(0, 1000))

    @st.composite
    def step(draw):
        op = draw(st.sampled_from(ops))
        own = OPS[op].consts_for(oracle)
        c = draw(st.sampled_from(own) if own else const)
        return op, draw(index), draw(index), c

    return st.builds(Program, st.lists(leaf, min_size=1, max_size=max_leaves),
                     st.lists(step(), min_size=steps[0], max_size=steps[1]), st.integers(1, max_backwards))


def run(V, prog, skip=(), nudge=None):
    """Build prog with Value class V and run its backwards.

    Backward runs from the sum of the nodes no step used (in order), so every
    node takes part. Returns (nodes, leaves, errors): every node made (the
    sum's last), the leaves, and the (step, exception type) of each step that
    raised. Steps in `skip` are left out (for engines that should not see the
    steps the reference rejected). nudge(), if given, is a relative change
    applied to every constant, to every new node's data and to every gradient
    contribution its backward makes (see `spread`; the reference Value only)."""
    leaves = [V(x) for x in prog.leaves]
    nodes, errors, used = list(leaves), [], set()
    for s, (op, i, j, c) in enumerate(prog.steps):
        if s in skip:
            continue
        if nudge and not OPS[op].consts:  # an op's own constant (an exponent) must stay one
            c = c * (1 + nudge())
        i, j = (len(nodes) - 1 if k == -1 else k % len(nodes) for k in (i, j))
        try:
            nodes.append(OPS[op](nodes[i], nodes[j], c))
        except Exception as e:
            errors.append((s, type(e)))
            continue
        used.update((i, j) if OPS[op].form == VV else (i,))
        if nudge:
            nodes[-1].data = nodes[-1].data * (1 + nudge())
            nodes[-1]._backward = _nudged_backward(nodes[-1], nudge)
    sinks = [n for k, n in enumerate(nodes) if k not in used]
    root = sinks[0]
    for n in sinks[1:]:
        root = root + n
        nodes.append(root)
    for _ in range(prog.backwards):
        root.backward()
    return nodes, leaves, errors


def check_same_as_reference(prog):
    """prog on the C engine gives the reference's nodes, to the bit; and frees them all."""
    base = live()  # (no garbage: the test's fixture frees it, and each example its own)
    ref, ref_leaves, ref_errors = run(reference.Value, prog)
    nodes, leaves, errors = run(Value, prog)
    assert errors == ref_errors  # the same exception type at the same step
    assert [bits(n.data) for n in nodes] == [bits(n.data) for n in ref]
    assert [bits(n.grad) for n in nodes] == [bits(n.grad) for n in ref]
    assert [n._op for n in nodes] == [n._op for n in ref]
    assert [len(n._prev) for n in nodes] == [len(n._prev) for n in ref]
    del nodes, leaves
    count = live()
    assert (count if count == base else live_collected(base)) == base


def _nudged_backward(node, nudge):
    backward = node._backward

    def nudged():
        before = [(kid, kid.grad) for kid in set(node._children)]
        backward()
        for kid, g in before:
            kid.grad = g + (kid.grad - g) * (1 + nudge())
    return nudged


def spread(prog, skip, runs=3, size=2.0**-46):
    """How far each node's data and grad (on the reference) move when every
    node's value, every constant and every gradient contribution is moved by a
    relative amount of up to `size` (some 30 ulps), at random.

    Two correct engines that round differently (torch's own exp, tanh, pow;
    micrograd adding gradients in set order) differ by an ulp or two per op;
    in an ill-conditioned graph (cancellation, a saturated tanh, a relu at 0)
    that can grow to far more than 1e-12 relative. This measures that growth
    for the graph at hand. inf where a nudged run raised or went non-finite,
    and everywhere if a value or grad is beyond 1e±100: then a derivative's
    inner power or product can overflow or go subnormal, and round by far
    more than an ulp."""
    base, _, _ = run(reference.Value, prog, skip)
    data = [0.0] * len(base)
    grad = [0.0] * len(base)
    if not all(x == 0 or 1e-100 < abs(x) < 1e100 for n in base for x in (n.data, n.grad)):
        return [math.inf] * len(base), [math.inf] * len(base)
    for r in range(runs):
        rng = random.Random(r)
        nodes, _, errors = run(reference.Value, prog, skip, nudge=lambda: rng.uniform(-size, size))
        if errors or len(nodes) != len(base):
            return [math.inf] * len(base), [math.inf] * len(base)
        for k, (n, b) in enumerate(zip(nodes, base)):
            data[k] = max(data[k], _moved(n.data, b.data))
            grad[k] = max(grad[k], _moved(n.grad, b.grad))
    return data, grad


def _moved(x, y):
    if math.isfinite(x) and math.isfinite(y):
        return abs(x - y)
    return 0.0 if bits(x) == bits(y) else math.inf


def close(x, y, spread, rel=1e-12):
    """x and y agree to `rel`, or to well within what `spread` says rounding can do."""
    if not math.isfinite(spread):
        return True  # an ill-posed comparison: the graph's own rounding decides the result
    if not (math.isfinite(x) and math.isfinite(y)):
        return bits(x) == bits(y)
    return abs(x - y) <= rel * abs(y) + 100 * spread
