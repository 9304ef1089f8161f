"""The C node store: nodes live exactly as long as a Value or a parent node holds them, graphs
of a million nodes build, differentiate and free, and a training-style loop runs in bounded
memory."""
import micrograd_c
from micrograd_c import Value, reference
from helpers import live


def stats():
    return micrograd_c.memory_stats()


def test_a_node_lives_while_a_value_or_a_parent_holds_it():
    base = live()
    a, b = Value(2.0), Value(3.0)
    c = a * b
    assert live() == base + 3
    del a, b  # c's node still holds both children
    assert live() == base + 3
    assert sorted(k.data for k in c._prev) == [2.0, 3.0]
    d = c + 1  # and a leaf for the 1, as micrograd makes
    del c
    assert live() == base + 5
    d.backward()
    (kid,) = [k for k in d._prev if k._op == "*"]
    assert kid.grad == 1
    del d  # kid still holds c's node, and c its children
    assert live() == base + 3
    del kid
    assert live() == base


def test_ten_thousand_graph_builds_leave_no_node_behind():
    base = live()
    w = [Value(0.1 * i) for i in range(5)]
    capacities = []
    for step in range(10_000):
        x = [Value(step % 7 - 3.0), Value(0.5)]
        h = sum((wi * xi).tanh() for wi, xi in zip(w, x * 3))
        loss = (h - 1.0) ** 2 + (w[0] / (1 + w[1].exp())).relu()
        loss.backward()
        for p in w:
            p.data -= 1e-3 * p.grad
            p.grad = 0.0
        if step % 1000 == 999:
            del x, h, loss
            s = stats()
            assert s["live_nodes"] == base + len(w)
            capacities.append(s["capacity_nodes"])
    assert capacities[1:] == capacities[:-1]  # the store stopped growing after the first thousand
    del w, p
    assert live() == base


def chain(V, n):
    """y = x + x + ... + x, n additions: a chain n deep that uses x n + 1 times."""
    x = V(0.5)
    y = x
    for _ in range(n):
        y = y + x
    return x, y


def grads_after_two_backwards(n):
    """x's grad after backward, twice, on chain(n): micrograd's accumulation re-adds every inner
    node's grad, so the k-th addition from the top passes k on the second pass (all exact)."""
    return (n + 1), (n + 1) + n + n * (n + 1) // 2


def test_chain_grads_formula_is_the_references():
    x, y = chain(reference.Value, 50)
    y.backward()
    first = x.grad
    y.backward()
    assert (first, x.grad) == grads_after_two_backwards(50)


def test_a_million_node_chain_builds_differentiates_and_frees():
    base = live()
    n = 1_000_000
    x, y = chain(Value, n)
    assert live() == base + n + 1
    assert y.data == (n + 1) * 0.5  # all partial sums are exact
    y.backward()
    first = x.grad
    y.backward()
    assert (first, x.grad) == grads_after_two_backwards(n)
    del y
    assert live() == base + 1
    del x
    assert live() == base


def test_stats_count_nodes_and_bytes():
    base = stats()
    vs = [Value(float(i)) for i in range(5000)]
    s = stats()
    assert s["live_nodes"] == base["live_nodes"] + 5000
    assert s["capacity_nodes"] >= s["live_nodes"] and s["bytes"] >= 24 * s["capacity_nodes"]
    del vs
    assert stats()["live_nodes"] == base["live_nodes"]
