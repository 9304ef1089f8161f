"""Every op at the edges of the doubles (0, -0.0, ±1, 1e300, 5e-324, nan, ±inf) and with numpy
scalars: micrograd_c gives the reference's data and grads to the bit, or raises its exception;
and the special cases Python's float arithmetic and `math` module decide."""
import math

import numpy as np
import pytest

from micrograd_c import Value, reference
from graphs import EDGES, EXPONENTS, OPS, bits

RV = reference.Value
UNARY = ["-a", "relu", "tanh", "exp", "log", "sigmoid"]
EXTRA = [2.0, 0.5, -2.5, 1e-300, 1e308, 709.0, 710.0, -745.5, 20.0, -40.0]  # near where ops saturate


def outcome(V, op, x, y):
    """op on Values (or a Value and the constant y) made from x and y, then backward: the bits
    of the result's data and of every grad, and its _op; or the type of the exception."""
    try:
        a, b = V(x), V(y)
        out = OPS[op](a, b, y)
        label = out._op
        out.backward()
        return label, bits(out.data), bits(a.grad), bits(b.grad)
    except Exception as e:
        return type(e)


@pytest.mark.parametrize("op", [op for op in OPS if op not in UNARY])
def test_binary_ops_at_the_edges_match_the_reference(op):
    ys = EDGES + EXTRA + (EXPONENTS if op == "a**k" else [])
    for x in EDGES + EXTRA:
        for y in ys:
            assert outcome(Value, op, x, y) == outcome(RV, op, x, y), (op, x, y)


@pytest.mark.parametrize("op", UNARY)
def test_unary_ops_at_the_edges_match_the_reference(op):
    for x in EDGES + EXTRA:
        assert outcome(Value, op, x, 0.0) == outcome(RV, op, x, 0.0), (op, x)


def test_relu_passes_minus_zero_and_nan_through_as_micrograd_does():
    mg = pytest.importorskip("micrograd.engine")
    for x in (-0.0, math.nan, 0.0, -1.0, 2.0):
        ours, theirs = Value(x), mg.Value(x)
        r, t = ours.relu(), theirs.relu()
        r.backward()
        t.backward()
        assert bits(r.data) == bits(float(t.data))
        assert (r.grad, ours.grad) == (float(t.grad), float(theirs.grad))
    assert bits(Value(-0.0).relu().data) == bits(-0.0)


@pytest.mark.parametrize("x, k", [(0.0, 0), (0.0, 0.0), (math.nan, 0), (1.0, math.nan), (-0.0, 3),
                                  (math.inf, -1), (-math.inf, 3), (-2.0, math.inf), (0.5, -math.inf),
                                  (-1.0, 1e300), (2.0, -1075.0)])
def test_pow_special_values_are_pythons(x, k):
    assert bits((Value(x) ** k).data) == bits(float(x) ** float(k))


@pytest.mark.parametrize("x, k, error", [(-8.0, 1 / 3, ValueError), (0.0, -1, ZeroDivisionError),
                                         (-0.0, -0.5, ZeroDivisionError), (10.0, 400, OverflowError),
                                         (-10.0, 401, OverflowError)])
def test_pow_errors(x, k, error):
    for V in (Value, RV):
        with pytest.raises(error):
            V(x) ** k


def test_exp_and_log_errors_are_maths():
    for V in (Value, RV):
        for x, error in ((1000.0, OverflowError), (0.0, ValueError), (-0.0, ValueError), (-1.0, ValueError),
                         (-math.inf, ValueError)):
            with pytest.raises(error):
                (V(x).exp() if error is OverflowError else V(x).log())
            with pytest.raises(error):
                (math.exp(x) if error is OverflowError else math.log(x))
    assert Value(math.inf).exp().data == math.exp(math.inf)
    assert Value(-math.inf).exp().data == math.exp(-math.inf)
    assert Value(math.inf).log().data == math.log(math.inf)


def test_division_by_zero_value_or_constant():
    for V in (Value, RV):
        for z in (0, 0.0, -0.0, np.float64(0.0), np.int64(0)):
            for divide in (lambda: V(1.0) / z, lambda: V(1.0) / V(z), lambda: 1 / V(z),
                           lambda: V(0.0) / V(z)):
                with pytest.raises(ZeroDivisionError):
                    divide()


NUMPY_SCALARS = [np.float64(2.5), np.float32(0.1), np.int64(3), np.int64(-2), np.float64(-0.0)]


@pytest.mark.parametrize("s", NUMPY_SCALARS, ids=repr)
def test_numpy_scalars_on_either_side_act_as_their_float(s):
    x = float(s)
    for op in ("a+c", "c+a", "a-c", "c-a", "a*c", "c*a", "a/c", "c/a", "a**k"):
        with_numpy = outcome(Value, op, 1.5, s)
        assert with_numpy == outcome(Value, op, 1.5, x) == outcome(RV, op, 1.5, s), (op, s)
    v = Value(s)
    assert type(v.data) is float and bits(v.data) == bits(x)


def test_numpy_scalars_results_are_values_not_arrays():
    a = Value(2.0)
    for s in NUMPY_SCALARS[:4]:
        for r in (s + a, a + s, s * a, a * s, s - a, a - s, s / a, a / s, a ** s):
            assert type(r) is Value
