"""Bad operations raise the exception the reference raises, and leave nothing behind: after any
error the engine computes on, and every node it made for the failed expression is freed once the
Values are dropped. The math errors (log(x <= 0), exp and ** overflowing, 0 ** -1, a negative
number ** a fraction, division by zero) are each op's `raises` in the registry (tests/ops.py):
here for every op; and they are those of Python's math module where it has the op."""
import math

import pytest

from micrograd_c import Value, reference
from graphs import EDGES
from helpers import bits, live, same_in_both
from ops import REGISTRY, UNARY, ids, ops

RV = reference.Value

# Every op where it raises: the op, its inputs, the exception
RAISING = [pytest.param(op, x, y, error, id=f"{op.name} x={x!r} y={y!r}")
           for op in REGISTRY for x, y, error in op.raising()]
# ...as (what, expression on Value class V, the exception)
MATH_ERRORS = [(p.id, lambda V, op=op, x=x, y=y: op.on(V, x, y)[0], error) for p in RAISING
               for op, x, y, error in [p.values]]

# And the rest: operands that are not numbers, numbers too large for a float, errors deep inside
# a bigger expression.
ERRORS = MATH_ERRORS + [
    ("Value ** Value", lambda V: V(2.0) ** V(3.0), TypeError),
    ("2 ** Value", lambda V: 2 ** V(3.0), TypeError),
    ("Value + 'a'", lambda V: V(1.0) + "a", TypeError),
    ("'a' + Value", lambda V: "a" + V(1.0), TypeError),
    ("Value * None", lambda V: V(1.0) * None, TypeError),
    ("Value - [1]", lambda V: V(1.0) - [1.0], TypeError),
    ("Value / 'a'", lambda V: V(1.0) / "a", TypeError),
    ("'a' / Value", lambda V: "a" / V(2.0), TypeError),
    ("'a' / Value(0)", lambda V: "a" / V(0.0), ZeroDivisionError),  # micrograd's self**-1 comes first
    ("10**400 / Value(0)", lambda V: 10**400 / V(0.0), ZeroDivisionError),
    ("10**400 / Value", lambda V: 10**400 / V(2.0), OverflowError),
    ("'a' - Value", lambda V: "a" - V(2.0), TypeError),
    ("Value ** 'a'", lambda V: V(1.0) ** "a", TypeError),
    ("Value(object())", lambda V: V(object()), TypeError),
    ("Value('1.0')", lambda V: V("1.0"), TypeError),
    ("Value(10**400)", lambda V: V(10**400), OverflowError),
    ("Value + 10**400", lambda V: V(1.0) + 10**400, OverflowError),
    ("Value ** 10**400", lambda V: V(1.0) ** 10**400, OverflowError),
    # errors deep inside a bigger expression: the nodes made before it must be freed too
    ("log of a sum", lambda V: ((V(2.0) * V(3.0) - 6.0) * V(4.0)).log(), ValueError),
    ("exp of a product", lambda V: (V(30.0) * V(30.0) + V(1.0).tanh()).exp(), OverflowError),
    ("divide by a difference", lambda V: V(1.0).sigmoid() / (V(2.0) - 2.0), ZeroDivisionError),
]


@pytest.mark.parametrize("make, error", [(m, e) for _, m, e in ERRORS], ids=[w for w, _, _ in ERRORS])
def test_the_error_is_the_references_and_nothing_leaks(make, error):
    with pytest.raises(error):
        make(RV)
    base = live()
    with pytest.raises(error):
        make(Value)
    assert live() == base
    # ...and the engine computes on, to the bit of the reference
    results = []
    for V in (Value, RV):
        a, b = V(1.5), V(-0.25)
        c = (a * b + a.tanh() - b.exp() / a).relu() + (a ** 2).log() * b.sigmoid()
        c.backward()
        results.append((c.data, a.grad, b.grad))
    assert results[0] == results[1] and not math.isnan(sum(results[0]))
    del a, b, c
    assert live() == base


def test_many_errors_in_a_row_leak_nothing():
    base = live()
    x = Value(2.0)
    for _ in range(200):
        for _, make, error in ERRORS:
            try:
                make(Value)
            except error:
                pass
        try:
            (x - 2.0).log()
        except ValueError:
            pass
    assert x.data == 2.0 and live() == base + 1
    del x
    assert live() == base


@pytest.mark.parametrize("op, x, y, error", RAISING)
def test_a_failed_op_leaves_its_operands_as_they_were(op, x, y, error):
    for V in (Value, RV):
        y_data = float(x if y is None else y)
        a, b = V(x), V(y_data)
        a.grad, b.grad = 3.0, -1.5
        with pytest.raises(error):
            op(a, b, y)
        assert (a.data, a.grad, b.data, b.grad) == (float(x), 3.0, y_data, -1.5)
        assert a._prev == set() and a._op == ""


def test_a_failed_op_leaves_an_inner_node_as_it_was():
    a = Value(-3.0)
    b = a * 2
    b.backward()
    with pytest.raises(ValueError):
        b.log()
    with pytest.raises(TypeError):
        b ** b
    assert (a.data, a.grad, b.data, b.grad) == (-3.0, 2.0, -6.0, 1.0)
    assert len(b._prev) == 2 and a in b._prev  # and the leaf 2


@pytest.mark.parametrize("op", ops(UNARY, having=lambda op: op.math), ids=ids)
def test_an_op_with_a_math_twin_gives_its_results_and_its_errors(op):
    """exp, log... give what math.exp, math.log... give, or raise the exception they raise: at the
    edges of the doubles and where the registry says the op raises."""
    for x in EDGES + [x for x, _, _ in op.raising()]:
        ours = same_in_both(lambda V: (op(V(x), None, None).data,), op.name, x)
        try:
            theirs = "ok", (bits(op.math(x)),)
        except Exception as e:
            theirs = "raises", type(e)
        assert ours == theirs, (op.name, x)
