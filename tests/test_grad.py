"""micrograd_c.grad (torch.autograd.grad), gradcheck and gradgradcheck: every op of the registry to
third order against torch's float64 autograd, random graphs, Hessian-vector products of MLP losses,
and what grad must leave alone (grads, memory)."""
import dataclasses
import math
import random

import pytest
from hypothesis import given, settings

import micrograd_c
from micrograd_c import GradcheckError, Value, grad, gradcheck, gradgradcheck, nn
from graphs import MODERATE, TORCH_OPS, programs, run
from helpers import live, live_collected
from ops import OPS, VV, ids, ops

POINTS = (-2.9, -1.3, -0.7, -0.1, 0.1, 0.7, 1.3, 2.9)
ORDERS = 3


def derivatives(out, inputs, differentiate, orders=ORDERS):
    """[first, second, third, ...] derivatives of out: each the gradient (with respect to inputs)
    of the sum of the one before, weighted 1, 0.5, 0.25, ... (zeros where it does not depend
    on an input). differentiate(y, xs) is an engine's grad with create_graph, allow_unused."""
    found, y = [], out
    for _ in range(orders):
        gs = differentiate(y, inputs)
        found.append(gs)
        terms = [g * (0.5 ** k) for k, g in enumerate(gs) if g is not None]
        if not terms:
            break
        y = terms[0]
        for t in terms[1:]:
            y = y + t
    return found


def ours(y, xs):
    return grad(y, xs, create_graph=True, allow_unused=True) if isinstance(y, Value) else [None] * len(xs)


def theirs_with(torch):
    def differentiate(y, xs):
        if not (isinstance(y, torch.Tensor) and y.requires_grad):  # a constant: no gradient
            return [None] * len(xs)
        return list(torch.autograd.grad(y, xs, create_graph=True, allow_unused=True))
    return differentiate


def numbers(found):
    return [[0.0 if g is None else float(g.item() if hasattr(g, "item") else g.data) for g in gs]
            for gs in found]


def same(a, b, rel=1e-10):
    """Derivative lists equal to rel (both rows and orders as far as either went; zero beyond)."""
    for k in range(max(len(a), len(b))):
        row_a = a[k] if k < len(a) else [0.0] * len(b[k])
        row_b = b[k] if k < len(b) else [0.0] * len(a[k])
        assert row_a == pytest.approx(row_b, rel=rel, abs=1e-12), f"order {k + 1}: {row_a} vs {row_b}"


@pytest.mark.parametrize("op", ops(having=lambda op: op.compared_with_torch), ids=ids)
def test_each_op_to_third_order_matches_torch(op):
    torch = pytest.importorskip("torch")
    from test_torch import TorchValue
    points = [x for x in POINTS if op.domain(x)]
    for x in points:
        for y in points[::3] if op.form == VV else [x]:
            for c in op.consts or [op.const]:
                a, b = Value(x), Value(y)
                ta, tb = TorchValue(x), TorchValue(y)
                got = derivatives(op(a, b, c), [a, b], ours)
                expected = derivatives(op(ta, tb, c).t, [ta.t, tb.t], theirs_with(torch))
                same(numbers(got), numbers(expected))


TORCH_PROGRAMS = programs(ops=TORCH_OPS, leaf=MODERATE, const=MODERATE, steps=(4, 14),
                          max_leaves=4, max_backwards=1)


@settings(max_examples=max(10, settings().max_examples // 3))
@given(TORCH_PROGRAMS)
def test_random_graphs_to_third_order_match_torch(prog):
    torch = pytest.importorskip("torch")
    from test_torch import TorchValue
    prog = dataclasses.replace(prog, backwards=0)  # grad() alone differentiates
    _, _, errors = run(Value, prog)
    skip = {s for s, _ in errors}
    nodes, leaves, _ = run(Value, prog, skip)
    tnodes, tleaves, _ = run(TorchValue, prog, skip)
    got = numbers(derivatives(nodes[-1], leaves, ours))
    expected = numbers(derivatives(tnodes[-1].t, [t.t for t in tleaves], theirs_with(torch)))
    if not all(math.isfinite(v) for row in got + expected for v in row):
        return  # overflowed: inf and nan follow each engine's own arithmetic from there
    scale = max([1.0] + [abs(v) for row in expected for v in row])
    for k, (row, trow) in enumerate(zip(got, expected)):
        # rounding grows with the graph's conditioning: relative to the largest derivative
        assert row == pytest.approx(trow, rel=1e-9, abs=1e-9 * scale), f"order {k + 1}"


def mlp_and_torch_twin(torch, sizes, activation):
    """A micrograd_c Sequential of Linears with `activation` between them, and torch's with the
    same weights (float64)."""
    layers, tlayers = [], []
    for k, (nin, nout) in enumerate(zip(sizes, sizes[1:])):
        lin = nn.Linear(nin, nout)
        t = torch.nn.Linear(nin, nout, dtype=torch.float64)
        with torch.no_grad():
            t.weight.copy_(torch.tensor([[w.data for w in n.w] for n in lin.neurons], dtype=torch.float64))
            t.bias.copy_(torch.tensor([n.b.data for n in lin.neurons], dtype=torch.float64))
        layers.append(lin)
        tlayers.append(t)
        if k < len(sizes) - 2:
            layers.append(getattr(nn, activation)())
            tlayers.append(getattr(torch.nn, activation)())
    return nn.Sequential(*layers), torch.nn.Sequential(*tlayers)


@pytest.mark.parametrize("activation", ["Tanh", "Sigmoid", "ReLU"])
@pytest.mark.parametrize("seed", range(3))
def test_hessian_vector_products_of_mlp_losses_match_torch(activation, seed):
    torch = pytest.importorskip("torch")
    random.seed(seed)
    model, tmodel = mlp_and_torch_twin(torch, [3, 4, 4, 2], activation)
    rng = random.Random(100 + seed)
    X = [[rng.uniform(-1, 1) for _ in range(3)] for _ in range(5)]
    Y = [[rng.uniform(-1, 1) for _ in range(2)] for _ in range(5)]
    params = model.parameters()
    v = [rng.uniform(-1, 1) for _ in params]

    loss = nn.mse_loss([o for x in X for o in model(x)], [t for y in Y for t in y])
    g = grad(loss, params, create_graph=True)
    gv = g[0] * v[0]
    for gi, vi in zip(g[1:], v[1:]):
        gv = gv + gi * vi
    hv = grad(gv, params, allow_unused=True)

    tparams = [p for layer in tmodel if isinstance(layer, torch.nn.Linear)
               for p in (layer.weight, layer.bias)]
    tloss = torch.nn.functional.mse_loss(tmodel(torch.tensor(X, dtype=torch.float64)),
                                         torch.tensor(Y, dtype=torch.float64))
    tg = torch.autograd.grad(tloss, tparams, create_graph=True)
    # our parameters, neuron by neuron (its weights, then its bias), in torch's tensors' order
    order = []
    for k in range(0, len(tparams), 2):
        nout, nin = tparams[k].shape
        for j in range(nout):
            order += [(k, (j, i)) for i in range(nin)] + [(k + 1, (j,))]
    tv = [torch.zeros_like(p) for p in tparams]
    for (k, index), vi in zip(order, v):
        tv[k][index] = vi
    thv = torch.autograd.grad(sum((a * b).sum() for a, b in zip(tg, tv)), tparams, allow_unused=True)
    expected = [0.0 if thv[k] is None else thv[k][index].item() for k, index in order]
    assert loss.data == pytest.approx(tloss.item(), rel=1e-12)
    assert [x.data for x in g] == pytest.approx([tg[k][index].item() for k, index in order],
                                                rel=1e-10, abs=1e-14)
    assert [0.0 if x is None else x for x in hv] == pytest.approx(expected, rel=1e-10, abs=1e-13)


# ---- what grad gives, and what it leaves alone ----

def test_first_order_floats_equal_backward_and_no_grad_changes():
    a, b = Value(1.5), Value(-0.5)
    f = (a * b).tanh() + (a.exp() * b).sigmoid() + a.log() + (a * b).relu() + b / a + b ** 3
    f.backward()
    expected = [a.grad, b.grad]
    a.grad, b.grad = 7, 8
    got = grad(f, [a, b])
    assert all(type(g) is float for g in got)
    assert got == pytest.approx(expected, rel=1e-15)
    assert (a.grad, b.grad, f.grad) == (7, 8, 1)


def test_grad_outputs_multiple_outputs_and_inner_inputs():
    x, y = Value(2.0), Value(3.0)
    u = x * y
    outs = [u + x, u * y]
    # d/dx (2*(u + x) + 0.5*(u*y)) = 2*(y + 1) + 0.5*y*y; d/dy = 2*x + 0.5*2*x*y
    gx, gy = grad(outs, [x, y], grad_outputs=[2.0, Value(0.5)])
    assert (gx, gy) == (2 * (3 + 1) + 0.5 * 9, 2 * 2 + 0.5 * 2 * 2 * 3)
    (gu,) = grad(outs, [u], grad_outputs=[1.0, 1.0])  # an inner node: d/du (u + x + u*y) = 1 + y
    assert gu == 4.0
    (same,) = grad(u, [u])
    assert same == 1.0
    with pytest.raises(ValueError, match="grad_outputs has 1 entries for 2 outputs"):
        grad(outs, [x], grad_outputs=[1.0])


def test_inputs_and_outputs_may_be_any_iterable_of_values():
    x, y = Value(1.0), Value(2.0)
    assert grad(x * y, (v for v in (x, y))) == [2.0, 1.0]  # torch's model.parameters() is a generator
    assert grad(iter([x * y]), [x]) == [2.0]
    assert grad(x * y, y) == [1.0]  # a single Value, as a single tensor in torch


def test_unused_inputs_raise_or_are_none():
    x, y, z = Value(1.0), Value(2.0), Value(3.0)
    f = x * y
    with pytest.raises(ValueError, match="input 1 .*allow_unused=True"):
        grad(f, [x, z])
    assert grad(f, [x, z, y], allow_unused=True) == [2.0, None, 1.0]
    assert grad(f, [z], create_graph=True, allow_unused=True) == [None]


def test_bad_arguments_are_clear_errors():
    x = Value(1.0)
    with pytest.raises(TypeError):
        grad(1.0, [x])
    with pytest.raises(TypeError):
        grad(x * 2, [1.0])
    with pytest.raises(ValueError):
        grad(x * 2, [])
    dead = Value(2.0)
    y = dead * x
    dead.__del__()
    with pytest.raises(RuntimeError):
        grad(y, [dead])


def test_derivatives_that_do_not_exist_are_inf_or_nan_not_errors():
    torch = pytest.importorskip("torch")
    for x, make in [(0.0, lambda v: v ** 0.5), (0.0, lambda v: (v ** 1.5) ** 0.5),
                    (0.0, lambda v: (v * v) ** 0.5), (-2.0, lambda v: (v * 0.0) ** 0.5)]:
        v = Value(x)
        t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        got = grad(make(v), [v], create_graph=True)[0].data
        expected = torch.autograd.grad(make(t), [t])[0].item()
        assert (got == expected) or (math.isnan(got) and math.isnan(expected)), (got, expected)


def test_higher_derivatives_of_a_polynomial_and_exp():
    x = Value(2.0)
    d = [x ** 4]
    for _ in range(5):
        d.append(grad(d[-1], [x], create_graph=True, allow_unused=True)[0] or Value(0.0))
    assert [v.data for v in d] == [16, 32, 48, 48, 24, 0]  # 4x^3, 12x^2, 24x, 24, 0
    e = x.exp()
    for _ in range(4):
        e = grad(e, [x], create_graph=True)[0]
    assert e.data == pytest.approx(math.exp(2.0), rel=1e-15)


def test_int_data_gives_int_gradients_as_backward_does():
    x = Value(3)
    (g,) = grad(x * x + x, [x], create_graph=True)
    assert g.data == 7 and type(g.data) is int


def test_fused_neurons_and_their_chains_give_the_same_gradients():
    random.seed(3)
    layer = nn.Layer(3, 2)
    x = [Value(0.5), Value(-1.0), Value(2.0)]
    out = layer(x)
    fused = grad(out[0] + out[1], x + layer.parameters(), create_graph=True, allow_unused=True)
    _ = out[0]._prev, out[1]._prev  # now micrograd's chains of * and +
    chained = grad(out[0] + out[1], x + layer.parameters(), create_graph=True, allow_unused=True)
    assert [None if g is None else g.data for g in fused] == [None if g is None else g.data for g in chained]


def test_memory_is_flat_when_gradient_graphs_are_dropped():
    random.seed(0)
    model = nn.MLP(2, [8, 1])
    params = model.parameters()
    base = live()
    for _ in range(200):
        loss = model([Value(0.3), Value(-0.2)]) ** 2
        g = grad(loss, params, create_graph=True)
        penalty = sum(gi * gi for gi in g)
        grad(penalty, params, allow_unused=True)
        del loss, g, penalty
    assert live() == base
    capacity = micrograd_c.memory_stats()["capacity_nodes"]
    for _ in range(200):
        loss = model([Value(0.3), Value(-0.2)]) ** 2
        g = grad(loss, params, create_graph=True)
        del loss, g
    assert micrograd_c.memory_stats()["capacity_nodes"] == capacity


# ---- custom ops (a Python _backward) ----

def test_custom_ops_first_order_through_their_closures():
    torch = pytest.importorskip("torch")
    for op in ops(having=lambda op: op.custom):
        for x in (0.3, -1.2):
            a, b = Value(x), Value(0.7)
            out = op(a, b, None) * a
            got = grad(out, [a, b], create_graph=True, allow_unused=True)
            out.backward()
            expected = [a.grad, b.grad if op.form == VV else 0]
            assert [0.0 if g is None else g.data for g in got] == pytest.approx(expected, rel=1e-12)
            assert micrograd_c.gradcheck(lambda u, v: op(u, v, None) * u, [x, 0.7])
    del torch


def test_custom_op_closures_run_alone_and_grads_are_put_back():
    a = Value(0.5)
    out = OPS["py_sin(a)"](a, None, None)
    a.grad, out.grad = 11.0, 12.0
    (g,) = grad(out * 3, [a])
    assert g == pytest.approx(3 * math.cos(0.5), rel=1e-15)
    assert (a.grad, out.grad) == (11.0, 12.0)


# ---- gradcheck and gradgradcheck ----

@pytest.mark.parametrize("op", ops(having=lambda op: op.derivative), ids=ids)
def test_gradcheck_passes_on_every_op(op):
    points = [x for x in (-1.3, -0.4, 0.6, 1.7) if op.domain(x)]
    c = op.const
    for x in points:
        if op.form == VV:
            assert gradcheck(lambda a, b: op(a, b, c), [x, 0.8])
        else:
            assert gradcheck(lambda a: op(a, None, c), [x])
        if not op.custom:  # (a closure's own arithmetic is not recorded: see below)
            assert gradgradcheck(lambda a: op(a, Value(0.8), c) if op.form == VV else op(a, None, c), [x])


def test_gradcheck_sees_that_detach_passes_no_gradient():
    with pytest.raises(GradcheckError):
        gradcheck(lambda a: a.detach() * a, [0.7])  # d/da is 2a; the gradient through it is a
    assert gradcheck(lambda a: a.detach() * 0 + a, [0.7])


def wrong_sin(a):
    """sin with the derivative's sign wrong: the kind of slip gradcheck is for."""
    out = Value(math.sin(a.data), (a,), "sin")

    def _backward():
        a.grad += -math.cos(a.data) * out.grad
    out._backward = _backward
    return out


def test_gradcheck_catches_a_wrong_custom_backward():
    with pytest.raises(GradcheckError, match=r"output 0 with respect to input 0 .*analytical .*numerical"):
        gradcheck(lambda a: wrong_sin(a) * 2, [0.4])
    assert gradcheck(lambda a: wrong_sin(a) * 2, [0.4], raise_exception=False) is False
    assert issubclass(GradcheckError, RuntimeError)


def test_gradcheck_names_the_input_and_output_that_differ():
    def f(a, b):
        return [a * b, wrong_sin(b) + a]
    with pytest.raises(GradcheckError, match="output 1 with respect to input 1"):
        gradcheck(f, [0.3, 0.9])


def test_gradgradcheck_sees_second_derivatives_a_closure_cannot_give():
    """A custom op's local derivative is taken as a constant beyond first order: gradgradcheck
    says so for sin (whose second derivative is -sin, not 0)."""
    sin = OPS["py_sin(a)"]
    assert gradcheck(lambda a: sin(a, None, None), [0.4])
    assert gradgradcheck(lambda a: sin(a, None, None), [0.4], raise_exception=False) is False
    assert gradgradcheck(lambda a, b: (a * b).tanh() * a.exp() + b ** 3, [0.4, -0.6])


def test_a_gradient_value_updates_data_as_in_torch():
    """`param.data -= lr * grad` with grad a Value (create_graph=True): data takes its number."""
    random.seed(1)
    model = nn.MLP(3, [2, 1])
    x = [Value(0.5), Value(-0.3), Value(0.8)]
    params = model.parameters()
    loss = (model(x) - 1.0) ** 2
    grads = grad(loss, params, create_graph=True)
    before = [p.data for p in params]
    for param, g in zip(params, grads):
        param.data -= 0.1 * g
    assert [p.data for p in params] == [b - 0.1 * g.data for b, g in zip(before, grads)]
    assert all(type(p.data) is float for p in params)
