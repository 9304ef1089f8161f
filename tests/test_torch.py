"""micrograd_c.Value against PyTorch's float64 autograd, an independent implementation of
every op and its derivative: random graphs, root-to-leaf values and leaf gradients within
1e-12 relative (or within what the graph's own conditioning lets rounding do).
Skipped when torch is not installed."""
import math

import pytest
from hypothesis import given

from micrograd_c import Value, reference
from graphs import MODERATE, TORCH_OPS, close, programs, run, spread
from ops import METHODS, VV, ids, ops

torch = pytest.importorskip("torch")


class TorchValue:
    """Just enough of the Value API, on a 0-d float64 tensor, for graphs.run and the registry's
    ops: `-` and `/` composed as micrograd composes them, a method op (a.tanh()) the torch
    function the registry names for it."""

    def __init__(self, data, t=None):
        if t is None:
            t = torch.tensor(float(data), dtype=torch.float64, requires_grad=True)
        else:
            t.retain_grad()  # so that inner nodes' grads can be compared too
        self.t = t

    def _of(self, other):
        return other.t if isinstance(other, TorchValue) else other

    def __add__(self, other):
        return TorchValue(None, self.t + self._of(other))

    def __mul__(self, other):
        return TorchValue(None, self.t * self._of(other))

    def __pow__(self, k):
        return TorchValue(None, self.t ** k)

    def __neg__(self):
        return TorchValue(None, -self.t)

    __radd__, __rmul__ = __add__, __mul__

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return -self + other

    def __truediv__(self, other):
        return self * other**-1

    def __rtruediv__(self, other):
        return self**-1 * other

    def __getattr__(self, name):
        op = METHODS.get(name)
        if op is None or op.torch is None:
            raise AttributeError(name)
        function = op.torch if callable(op.torch) else getattr(torch, op.torch)
        return lambda: TorchValue(None, function(self.t))

    def backward(self):
        self.t.backward()

    @property
    def data(self):
        return self.t.item()

    @property
    def grad(self):
        return 0.0 if self.t.grad is None else self.t.grad.item()


# Finite inputs (torch gives inf or nan where the reference raises; those steps are left
# out), one backward (a second one in torch does not re-add inner grads as micrograd does).
TORCH_PROGRAMS = programs(ops=TORCH_OPS, leaf=MODERATE, const=MODERATE, steps=(10, 30), max_backwards=1)


@given(TORCH_PROGRAMS)
def test_random_graphs_match_torch(prog):
    _, _, ref_errors = run(reference.Value, prog)
    skip = {s for s, _ in ref_errors}
    ours, _, _ = run(Value, prog, skip)
    theirs, _, errors = run(TorchValue, prog, skip)
    assert errors == []
    data_spread, grad_spread = spread(prog, skip)
    for n, t, s in zip(ours, theirs, data_spread):
        assert close(n.data, t.data, s), (n.data, t.data, s)
    if not all(math.isfinite(t.grad) for t in theirs):
        return  # backward overflowed: then 0 * inf is nan for micrograd's relu and pow, 0 in torch
    for n, t, s in zip(ours, theirs, grad_spread):
        assert close(n.grad, t.grad, s), (n.grad, t.grad, s)


POINTS = (-2.9, -1.3, -0.7, -0.1, 0.1, 0.7, 1.3, 2.9)


@pytest.mark.parametrize("op", ops(having=lambda op: op.compared_with_torch), ids=ids)
def test_each_op_and_its_derivative_match_torch(op):
    # an op at a time, at points of its domain, where it is well conditioned: 1e-12 relative, no allowance
    points = [x for x in POINTS if op.domain(x)]
    for x in points:
        for y in points if op.form == VV else [x]:
            for c in op.consts or [op.const]:
                a, b, t, u = Value(x), Value(y), TorchValue(x), TorchValue(y)
                out, theirs = op(a, b, c), op(t, u, c)
                out.backward()
                theirs.backward()
                assert out.data == pytest.approx(theirs.data, rel=1e-12, abs=0), (x, y, c)
                assert a.grad == pytest.approx(t.grad, rel=1e-12, abs=0), (x, y, c)
                assert b.grad == pytest.approx(u.grad, rel=1e-12, abs=0), (x, y, c)
