"""Backward finds a graph's order two ways (csrc/backward.c): one pass down the whole tape when
the graph is most of it, or a search from the root and a sort when it is a small part of many
live nodes. Both must give the reference's numbers to the bit."""
import pytest
from hypothesis import given

from micrograd_c import Value, memory_stats, reference

from graphs import check_same_as_reference, programs
from helpers import bits


def check_a_pass_resumed_after_passes_of_its_own():
    """A custom node whose backward runs other passes (which take the marks that tell the
    stopped pass which nodes it reaches) before the pass goes on to the nodes below it: a
    chain reached only through the custom node, another also from above, and a node the root
    does not reach (its child's grad stays micrograd's int 0). The reference's grads, to the
    bit."""
    out = []
    for V in (Value, reference.Value):
        a, b, c = V(0.5), V(-1.5), V(3)
        unreached = c * 0.5
        deep, low = a, b
        for _ in range(150):
            deep = (deep * b).tanh() + a
            low = (low * a).relu() + 0.5 * b
        mid = V(deep.data * 2, (deep,), "2x")

        def busy():
            for k in range(3):
                w = V(1.5 + k)
                (w * w).backward()
            deep.grad += 2 * mid.grad
        mid._backward = busy
        y = (mid * b + low).tanh() * mid + low
        y.backward()
        out.append([bits(v.grad) for v in (a, b, c, unreached, deep, low, mid, y)])
    assert out[0] == out[1]


@given(programs())
def test_graph_alone_on_the_tape(prog):
    # (first in this file: before the crowd exists) few live nodes besides the graph's, so
    # the graph is more than a sixteenth of the tape and backward takes the one-pass path
    assert memory_stats()["live_nodes"] < 100
    check_same_as_reference(prog)


def test_a_pass_stopped_on_the_tape_resumes_after_other_passes():
    assert memory_stats()["live_nodes"] < 100  # (the one-pass path: no crowd yet)
    check_a_pass_resumed_after_passes_of_its_own()


@pytest.fixture(scope="module")
def crowd():
    """Many live nodes that no test graph reaches: backward then takes the search-and-sort path."""
    x = Value(0.5)
    chain = [x]
    for _ in range(50_000):
        chain.append(chain[-1] * 0.999 + 0.001)
    return chain


@given(programs())
def test_small_graph_among_many_live_nodes(crowd, prog):
    assert memory_stats()["live_nodes"] > 100_000
    check_same_as_reference(prog)


def test_a_pass_stopped_in_a_crowd_resumes_after_other_passes(crowd):
    assert memory_stats()["live_nodes"] > 100_000  # (the search-and-sort path)
    check_a_pass_resumed_after_passes_of_its_own()


def test_crowd_gradients_unaffected_by_small_backwards(crowd):
    before = [crowd[i].grad for i in (0, 1000, -1)]
    a = Value(2.0)
    (a * a).backward()
    assert [crowd[i].grad for i in (0, 1000, -1)] == before
    assert a.grad == 4.0
