"""Hostile input: every bad operand is a clear Python exception (the one the reference raises), never a crash.

Decisions (the same in micrograd_c and the reference):
- a number is what `1.0 + x` takes as a real number: anything `numbers.Real` accepts (int, float,
  bool (True is 1.0, as float(True)), fractions.Fraction, numpy's integer and floating scalars),
  numpy.bool_, and 0-d numpy arrays of bool, integer or floating dtype; arrays with ndim >= 1, 0-d
  complex or object arrays, complex, str, None, Decimal are not, and give TypeError;
- an int too large for a double gives OverflowError, as float(10**400) does;
- nan and inf are numbers: they propagate as IEEE arithmetic says.
"""
import fractions
import decimal
import math

import numpy as np
import pytest

import micrograd_c
from micrograd_c import Value
from micrograd_c import reference
from helpers import live, same_in_both
from ops import CV, LEAF, VC, ops

ENGINES = [Value, reference.Value]

NOT_NUMBERS = [
    "2", None, 1j, np.complex128(1.0), np.array(2.0j), np.array([2.0]), np.ones((2, 2)),
    np.array(None, dtype=object), np.array("2"), decimal.Decimal("1.5"), [1.0], (1.0,), object(),
    Value, math.sqrt,
]
NUMBERS = [True, False, 3, -7, 2**52 + 1, 2**53, -2**53, 2**53 + 1, -2**53 - 1, 0.5, fractions.Fraction(1, 3), np.float64(1.25),
           np.float32(0.1), np.float16(-2.5), np.int64(-4), np.uint8(200), np.longdouble(0.75),
           np.bool_(True), np.bool_(False), np.array(2.5), np.array(-3), np.array(True),
           np.array(0.1, dtype=np.float32)]
SPECIALS = [math.nan, math.inf, -math.inf, -0.0, 0.0, 5e-324, 1.7976931348623157e308]


@pytest.mark.parametrize("bad", NOT_NUMBERS, ids=repr)
def test_a_non_number_is_a_type_error_everywhere(bad):
    base = live()
    for use in uses_of_a_number(bad).values():
        for V in ENGINES:
            with pytest.raises(TypeError):
                use(V)
    assert live() == base  # no node left behind by a failed op


def uses_of_a_number(x):
    """Every way to give a Value class V the number x, by name: each op that takes a number (a
    leaf's, a constant on either side), x ** a Value (no op: a TypeError for any x), data, grad."""
    uses = {op.name: lambda V, op=op: op(V(2.0), None, x) for op in ops(LEAF, VC, CV)}
    uses.update({"c**a": lambda V: x ** V(2.0), ".data = c": lambda V: setattr(V(1.0), "data", x),
                 ".grad = c": lambda V: setattr(V(1.0), "grad", x)})
    return uses


@pytest.mark.parametrize("x", NUMBERS, ids=repr)
def test_a_number_of_any_real_type_acts_as_its_float(x):
    f = float(x)
    for V in ENGINES:
        kept = int if type(x) is int and abs(x) <= 2**53 else float  # micrograd keeps ints
        assert V(x).data == f and type(V(x).data) is kept
        assert (V(1.5) + x).data == 1.5 + f
        assert (x * V(1.5)).data == f * 1.5
        base = -1.0 if f.is_integer() else 1.5  # -1.0 ** 2**52+1 is -1.0, not an overflow
        assert (V(base) ** x).data == base ** f
        v = V(0.0)
        v.data, v.grad = x, x
        assert (v.data, v.grad) == (f, f)
        assert type(v.data) is kept and type(v.grad) is kept


@pytest.mark.parametrize("op", ops(VC, CV), ids=lambda op: op.name)
@pytest.mark.parametrize("c", [0, 3, -7, 2**53, -2**53, 2**53 + 1, -2**53 - 1, 2**60])
def test_an_int_operand_stays_an_int_where_a_double_holds_it(op, c):
    # (each engine's constant leaf is an int up to 2**53 in size, a float past it; data,
    # grads and the constant's leaf compared as ints or float bits)
    for base in (2, 2.0, -1.5):
        def run(V):
            a = V(base)
            out = op(a, None, c)
            out.backward()
            kids = sorted((k for k in out._prev if k is not a), key=lambda k: k._op)  # (a set)
            return out.data, out.grad, a.grad, *(k.data for k in kids)
        same_in_both(run, op.name, base, c)


def test_bools_are_one_and_zero():
    for V in ENGINES:
        assert (V(True).data, V(False).data) == (1.0, 0.0)
        assert (V(2.0) * True).data == 2.0


@pytest.mark.parametrize("huge", [10**400, -(10**400), 2**1024])
def test_an_int_too_large_for_a_double_is_an_overflow_error(huge):
    for name, use in uses_of_a_number(huge).items():
        if name == "c**a":
            continue  # no such op: a TypeError, whatever the number
        for V in ENGINES:
            with pytest.raises(OverflowError):
                use(V)


def test_an_int_that_rounds_to_the_largest_double_is_fine():
    big = int(1.7976931348623157e308)
    for V in ENGINES:
        assert V(big).data == 1.7976931348623157e308


def test_exponent_types():
    for V in ENGINES:
        assert (V(2.0) ** np.float64(3.0)).data == 8.0
        assert (V(2.0) ** np.int32(-1)).data == 0.5
        assert (V(4.0) ** fractions.Fraction(1, 2)).data == 2.0
        for bad in ("2", 2j, V(2.0), np.array([2.0]), np.array(2j), None):
            with pytest.raises(TypeError):
                V(2.0) ** bad
        with pytest.raises(TypeError):
            pow(V(2.0), 2, 5)  # three-argument pow


@pytest.mark.parametrize("x", SPECIALS, ids=repr)
def test_ieee_specials_propagate_through_binary_ops_and_backward(x):
    # each op alone on the specials: test_engine_edges.py
    for k in SPECIALS + [2.0, -1.0, 0.5, 3.0, -2.0]:
        for y in SPECIALS + [2.0, -3.0]:
            same_in_both(lambda V: _grads(V, x, y, k))


def _grads(V, x, y, k):
    """(a*b + a - b/y) ** k and its gradients: every binary op on specials, then ** on the result."""
    a, b = V(x), V(y)
    out = (a * b + a - b / y) ** k
    out.backward()
    return out.data, a.grad, b.grad


def test_ieee_results_are_what_ieee_says():
    """Not only the same in both engines: the values IEEE arithmetic gives."""
    for V in ENGINES:
        assert math.isnan((V(math.inf) - math.inf).data)
        assert math.isnan((V(math.nan) * 0.0).data)
        assert (V(math.inf) * -2.0).data == -math.inf
        assert (V(1e308) + 1e308).data == math.inf  # + and * never raise: only ** and exp do
        assert math.isnan(V(math.nan).relu().data)
        assert V(-math.inf).sigmoid().data == 0.0 and V(math.inf).sigmoid().data == 1.0
        assert V(math.inf).exp().data == math.inf and V(-math.inf).exp().data == 0.0
        assert math.isnan(V(math.nan).log().data)
        assert V(math.inf).tanh().data == 1.0
        z = V(-0.0)
        assert math.copysign(1.0, (-z).data) == 1.0 and math.copysign(1.0, z.relu().data) == -1.0


def test_a_value_made_without_init_fails_cleanly():
    v = Value.__new__(Value)
    with pytest.raises(AttributeError):
        v.data
    del v  # its __del__ has no node to release: must not raise or crash


@pytest.mark.parametrize("bad, error", [("3", TypeError), (2.5, TypeError), (None, TypeError),
                                        (2**63, OverflowError)])
def test_set_node_limit_takes_only_a_count(bad, error):
    with pytest.raises(error):
        micrograd_c.set_node_limit(bad)
    assert micrograd_c.memory_stats()["node_limit"] == 0
