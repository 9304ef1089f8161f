"""Backward finds a graph's order two ways (csrc/backward.c): one pass down the whole tape when
the graph is most of it, or a search from the root and a sort when it is a small part of many
live nodes. Both must give the reference's numbers to the bit."""
import pytest
from hypothesis import given

from micrograd_c import Value, memory_stats

from graphs import check_same_as_reference, programs


@given(programs())
def test_graph_alone_on_the_tape(prog):
    # (first in this file: before the crowd exists) few live nodes besides the graph's, so
    # the graph is more than a sixteenth of the tape and backward takes the one-pass path
    assert memory_stats()["live_nodes"] < 100
    check_same_as_reference(prog)


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


def test_crowd_gradients_unaffected_by_small_backwards(crowd):
    before = [crowd[i].grad for i in (0, 1000, -1)]
    a = Value(2.0)
    (a * a).backward()
    assert [crowd[i].grad for i in (0, 1000, -1)] == before
    assert a.grad == 4.0
