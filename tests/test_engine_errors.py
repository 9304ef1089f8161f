"""Bad operations raise the exception the reference raises (the issue's list), and leave
nothing behind: after any error the engine computes on, and every node it made for the
failed expression is freed once the Values are dropped."""
import math

import pytest

import micrograd_c
from micrograd_c import Value, reference

RV = reference.Value

# (what, expression on Value class V, the exception)
ERRORS = [
    ("0 ** -1", lambda V: V(0.0) ** -1, ZeroDivisionError),
    ("(-8) ** (1/3)", lambda V: V(-8.0) ** (1 / 3), ValueError),
    ("10.0 ** 400", lambda V: V(10.0) ** 400, OverflowError),
    ("exp(1000)", lambda V: V(1000.0).exp(), OverflowError),
    ("log(0)", lambda V: V(0.0).log(), ValueError),
    ("log(-1)", lambda V: V(-1.0).log(), ValueError),
    ("x / Value(0)", lambda V: V(1.0) / V(0.0), ZeroDivisionError),
    ("x / 0", lambda V: V(1.0) / 0, ZeroDivisionError),
    ("1 / Value(0)", lambda V: 1 / V(0.0), ZeroDivisionError),
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


def live():
    return micrograd_c.memory_stats()["live_nodes"]


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


def test_a_failed_op_leaves_its_operands_as_they_were():
    a = Value(-3.0)
    b = a * 2
    b.backward()
    with pytest.raises(ValueError):
        b.log()
    with pytest.raises(TypeError):
        b ** b
    assert (a.data, a.grad, b.data, b.grad) == (-3.0, 2.0, -6.0, 1.0)
    assert len(b._prev) == 1 and a in b._prev
