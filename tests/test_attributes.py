"""Attributes on a Value, as micrograd's Value (a plain Python object) and the nn-zero-to-hero
lecture's (which takes label=) allow: any attribute, weak references, and copies that keep them."""
import copy
import pickle
import weakref

import pytest

from micrograd_c import Value, reference

ENGINES = [Value, reference.Value]


def micrograd_value():
    return pytest.importorskip("micrograd.engine").Value


@pytest.mark.parametrize("V", ENGINES, ids=["c", "reference"])
def test_label_is_empty_until_given_or_set(V):
    a, b = V(2.0, label="a"), V(3.0)
    assert (a.label, b.label) == ("a", "")
    b.label = "b"
    c = a * b
    c.label = "c"
    assert (a.label, b.label, c.label) == ("a", "b", "c")
    assert "label" not in vars(V(1.0))  # a Value that gets no label keeps none of its own


@pytest.mark.parametrize("V", ENGINES, ids=["c", "reference"])
def test_any_attribute_sticks_to_its_value_as_on_micrograds(V):
    for W in (V, micrograd_value()):
        v = W(1.5)
        v.note, v.count = "x", 3
        w = v + 1.0
        assert (v.note, v.count) == ("x", 3)
        assert not hasattr(w, "note")
        with pytest.raises(AttributeError):
            W(0.0).missing


@pytest.mark.parametrize("V", ENGINES, ids=["c", "reference"])
def test_weak_references_live_as_long_as_the_value(V):
    v = V(4.0)
    r = weakref.ref(v)
    assert r() is v
    s = weakref.WeakSet([v])
    del v
    assert r() is None and len(s) == 0


@pytest.mark.parametrize("V", ENGINES, ids=["c", "reference"])
def test_copies_keep_attributes_but_are_new_leaves(V):
    v = V(2.5, label="v")
    v.grad = 1.25
    v.tag = ["t"]
    for w in (copy.copy(v), copy.deepcopy(v), pickle.loads(pickle.dumps(v))):
        assert (w.data, w.grad, w.label, w.tag) == (2.5, 1.25, "v", ["t"])
        assert w is not v and w._op == ""
    assert copy.deepcopy(v).tag is not v.tag


def test_a_value_with_attributes_frees_its_node():
    import gc
    import micrograd_c
    micrograd_c.memory_stats()  # (lets go of Values kept for parents earlier tests dropped,
    gc.collect()  # and frees those in cycles)
    base = micrograd_c.memory_stats()["live_nodes"]
    v = Value(1.0, label="gone")
    v.other = v  # a cycle through its own __dict__: only the collector frees it
    del v
    gc.collect()
    assert micrograd_c.memory_stats()["live_nodes"] == base


def test_the_constructor_takes_the_lectures_arguments_in_its_order():
    # Value(data, _children=(), _op='', label=''): by position as well as by name
    a = Value(1.0)
    v = Value(2.0, (a,), "op", "v")
    assert (v.data, v._op, v.label, v._prev) == (2.0, "op", "v", {a})
    assert any(k is a for k in v._prev)
    assert Value(2.0, label="x").label == "x"
