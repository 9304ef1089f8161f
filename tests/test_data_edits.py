"""Backward reads each node's data as it is when backward runs, as micrograd's closures do:
edits between forward and backward (the data setter, an optimizer step) count. csrc keeps
x ** (k - 1) from forward for the backward of x ** k; these tests make sure it is never used
once data has been edited, compaction of the tape included. Compared to the bit with the
reference, which simply recomputes."""
import pytest
from hypothesis import given, strategies as st

from micrograd_c import Value, optim
from helpers import same_in_both

finite = st.floats(min_value=0.1, max_value=10.0)  # away from 0: the powers stay finite


def same_numbers_in_both(scenario):
    """scenario(V) runs on the C engine and on the reference, and gives the same numbers, to the bit."""
    assert same_in_both(scenario)[0] == "ok"


def graph(V, a, b):
    """Divisions and powers (x ** k nodes) over two leaves."""
    x, y = V(a), V(b)
    out = x / y + y ** 3 + (x * y) ** -0.5 + 1.0 / (x + y) + x ** 2
    return x, y, out


def edit_then_backward(edit, a=2.0, b=3.0):
    """graph(), then edit(V, x, y, out), then out.backward(): the same on both engines."""
    def scenario(V):
        x, y, out = graph(V, a, b)
        edit(V, x, y, out)
        out.backward()
        return x.grad, y.grad, out.data
    same_numbers_in_both(scenario)


@given(finite, finite, finite)
def test_an_edit_between_forward_and_backward_counts(a, b, new_b):
    def edit(V, x, y, out):
        y.data = new_b  # micrograd reads the new data in backward: so must we
    edit_then_backward(edit, a, b)


def test_an_optimizer_step_between_forward_and_backward_counts():
    def edit(V, x, y, out):
        out.backward()
        if V is Value:
            optim.SGD([x, y], lr=0.1).step()  # one C call changes x's and y's data...
        else:
            for p in (x, y):  # ...as torch's SGD formula does in Python
                p.data = p.data - 0.1 * p.grad
        # the graph of `out` is the old one: its next backward reads the new data
    edit_then_backward(edit)


def test_graphs_made_after_an_edit_use_the_new_data():
    def scenario(V):  # the usual training loop: forward, backward, update, forward again
        x, y, out = graph(V, 2.0, 3.0)
        out.backward()
        y.data = 0.5
        out2 = x / y + y ** 3
        out2.backward()
        return x.grad, y.grad, out2.data
    same_numbers_in_both(scenario)


def test_an_edit_is_remembered_across_tape_compaction():
    # Compaction renumbers tape positions; a node made before the edit must still be seen
    # as made before it, or backward would use a power of the old data.
    def edit(V, x, y, out):
        y.data = 7.0
        for _ in range(5):  # many dead nodes, then a backward: the tape is compacted
            junk = [x * float(i) for i in range(20_000)]
            del junk
            (x + 1.0).backward()
        x.grad = y.grad = 0.0
    edit_then_backward(edit)


@pytest.mark.parametrize("k", [-1, -2, 0.5, 3, 2, 0])
def test_every_exponent_after_an_edit(k):
    def scenario(V):
        x = V(1.5)
        out = x ** k
        x.data = 4.0
        out.backward()
        return x.grad, out.data
    same_numbers_in_both(scenario)
