"""Every op at the edges of the doubles (0, -0.0, ±1, 1e300, 5e-324, the largest double, nan, ±inf)
and with numpy scalars: micrograd_c gives the reference's data and grads to the bit, or raises its
exception; and the special cases Python's float arithmetic decides. (Where ops raise:
test_engine_errors.py.)"""
import math

import numpy as np
import pytest

from micrograd_c import Value, reference
from graphs import EDGES
from helpers import bits, same_in_both
from ops import CV, LEAF, UNARY, VC, VV, ids, ops

RV = reference.Value
EXTRA = [2.0, 0.5, -2.5, 1e-300, 1e308, 1.7976931348623157e308, 709.0, 710.0, -745.5, 20.0,
         -40.0]  # near where ops saturate


def edge_case(op, x, y):
    """op on Values (or a Value and the constant y) made from x and y, then backward: a function
    of the Value class giving the result's _op and the data and grad of the result and of both."""
    def f(V):
        a, b = V(x), V(y)
        out = op(a, b, y)
        label = out._op
        out.backward()
        return label, out.data, out.grad, a.data, a.grad, b.grad
    return f


@pytest.mark.parametrize("op", ops(VV, VC, CV), ids=ids)
def test_binary_ops_at_the_edges_match_the_reference(op):
    ys = EDGES + EXTRA + list(op.consts or [])
    for x in EDGES + EXTRA:
        for y in ys:
            same_in_both(edge_case(op, x, y), op.name, x, y)


@pytest.mark.parametrize("op", ops(LEAF, UNARY), ids=ids)
def test_unary_ops_at_the_edges_match_the_reference(op):
    for x in EDGES + EXTRA:
        same_in_both(edge_case(op, x, x), op.name, x)


def test_relu_passes_minus_zero_and_nan_through_as_micrograd_does():
    mg = pytest.importorskip("micrograd.engine")
    for x in (-0.0, math.nan, 0.0, -1.0, 2.0):
        ours, theirs = Value(x), mg.Value(x)
        r, t = ours.relu(), theirs.relu()
        r.backward()
        t.backward()
        assert bits(r.data) == bits(t.data)  # the int 0 for a negative number, as micrograd's
        assert [bits(g) for g in (r.grad, ours.grad)] == [bits(t.grad), bits(theirs.grad)]
    assert bits(Value(-0.0).relu().data) == bits(-0.0)


@pytest.mark.parametrize("x, k", [(0.0, 0), (0.0, 0.0), (math.nan, 0), (1.0, math.nan), (-0.0, 3),
                                  (math.inf, -1), (-math.inf, 3), (-2.0, math.inf), (0.5, -math.inf),
                                  (-1.0, 1e300), (2.0, -1075.0)])
def test_pow_special_values_are_pythons(x, k):
    assert bits((Value(x) ** k).data) == bits(float(x) ** float(k))


NUMPY_SCALARS = [np.float64(2.5), np.float32(0.1), np.int64(3), np.int64(-2), np.float64(-0.0)]


@pytest.mark.parametrize("s", NUMPY_SCALARS, ids=repr)
def test_numpy_scalars_on_either_side_act_as_their_float(s):
    x = float(s)
    for op in ops(VC, CV):
        with_numpy = same_in_both(edge_case(op, 1.5, s), op.name, s)
        assert with_numpy == same_in_both(edge_case(op, 1.5, x), op.name, x)
    v = Value(s)
    assert type(v.data) is float and bits(v.data) == bits(x)


def test_numpy_scalars_results_are_values_not_arrays():
    a = Value(2.0)
    for s in NUMPY_SCALARS[:4]:
        for op in ops(VC, CV):
            assert type(op(a, None, s)) is Value
