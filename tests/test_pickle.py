"""copy.copy, copy.deepcopy and pickle: a copy of a Value is a new leaf with the same data and grad."""
import copy
import pickle
import random

import pytest

from micrograd_c import Value, nn
from micrograd_c import reference
from helpers import live

COPIES = {
    "copy": copy.copy,
    "deepcopy": copy.deepcopy,
    "pickle": lambda v: pickle.loads(pickle.dumps(v)),
}


@pytest.mark.parametrize("how", COPIES)
@pytest.mark.parametrize("V", [Value, reference.Value], ids=["c", "reference"])
def test_copy_is_a_new_leaf_with_the_same_data_and_grad(V, how):
    x = V(1.5)
    y = (x * x).tanh() + x  # a non-leaf
    y.backward()
    for v in (x, y):
        before = (v.data, v.grad)
        c = COPIES[how](v)
        assert (c.data, c.grad) == before
        assert c._prev == set() and c._op == ""
        c.data, c.grad = 7.0, 8.0  # a new node: the original is untouched
        assert (v.data, v.grad) == before


@pytest.mark.parametrize("how", COPIES)
def test_copy_owns_its_node(how):
    """A copy that shared the original's node id would free it when dropped (it did, before __reduce__)."""
    base = live()
    x = Value(3.0)
    x.grad = -2.0
    c = COPIES[how](x)
    assert live() == base + 2
    del c
    assert live() == base + 1
    Value(99.0)  # would reuse x's slot if the copy had freed it
    assert (x.data, x.grad) == (3.0, -2.0)
    del x
    assert live() == base


def test_deepcopy_keeps_sharing_within_one_copy():
    x = Value(2.0)
    a, b = copy.deepcopy([x, x])
    assert a is b and a != x and a.data == 2.0


def test_pickled_mlp_loads_with_equal_parameters_and_trains_on():
    random.seed(1)
    model = nn.MLP(2, [4, 4, 1])
    xs = [[2.0, 3.0], [-1.0, 0.5], [0.5, -1.0], [1.0, 1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]

    def step(m):
        loss = sum(((m(x) - y) ** 2 for x, y in zip(xs, ys)), Value(0.0))
        m.zero_grad()
        loss.backward()
        for p in m.parameters():
            p.data -= 0.05 * p.grad
        return loss.data

    step(model)  # grads non-zero, so the copy has something to keep
    clone = pickle.loads(pickle.dumps(model))
    assert [(p.data, p.grad) for p in clone.parameters()] == \
           [(p.data, p.grad) for p in model.parameters()]
    assert not set(clone.parameters()) & set(model.parameters())  # its own nodes
    assert repr(clone) == repr(model)
    # the clone and the original train on identically, and independently
    losses = [(step(model), step(clone)) for _ in range(5)]
    assert all(a == b for a, b in losses)
    assert losses[-1][0] < losses[0][0]
    assert [p.data for p in clone.parameters()] == [p.data for p in model.parameters()]


def test_reference_value_copies_like_the_c_one():
    for how in COPIES.values():
        c, r = how(Value(0.25)), how(reference.Value(0.25))
        assert (c.data, c.grad) == (r.data, r.grad)
