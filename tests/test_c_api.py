"""The C core's contract (csrc/micrograd.h), called directly: every call that takes an id says
MG_ENODE for one that is not a live node (the reads say nan), other bad arguments are MG_EINVAL,
and a call that fails changes nothing."""

import pytest

import micrograd_c
import micrograd_c.nn
from micrograd_c import Value
from micrograd_c._core import ffi, lib
from micrograd_c.engine import _KINDS


def dead_ids():
    """Ids that are not live nodes: negative, past the store, and a node just freed."""
    v = Value(1.0)
    freed = v._i
    del v
    micrograd_c.memory_stats()  # flushes the release queue
    return [-1, -7, 2**31 - 1, freed]


def test_the_op_table_is_described_kind_by_kind_up_to_the_first_unknown_kind():
    desc = ffi.new("mg_op_desc *")
    names = []
    while lib.mg_describe_op(len(names), desc) == 0:
        names.append(ffi.string(desc.name).decode())
        assert desc.arity in (-1, 0, 1, 2)
    assert lib.mg_describe_op(-1, desc) == lib.MG_EINVAL
    assert names == list(_KINDS) and len(set(names)) == len(names)


def test_an_unknown_kind_or_one_mg_op_cannot_make_is_einval():
    x = Value(2.0)
    for kind in (-1, len(_KINDS), 10**6, _KINDS["neuron"], _KINDS["neuron_relu"]):
        assert lib.mg_op(kind, x._i, -1, 0.0) == lib.MG_EINVAL


def test_every_call_that_takes_an_id_says_enode_for_a_dead_one():
    live = Value(3.0)
    before = micrograd_c.memory_stats()["live_nodes"]
    info, kids = ffi.new("mg_info *"), ffi.new("int32_t[]", 4)
    sgd = ffi.new("mg_sgd *", {"lr": 0.1})
    adam = ffi.new("mg_adam *", {"lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "step": 1})
    buf = ffi.new("double[]", 2)
    stop = ffi.new("mg_pass *")
    for i in dead_ids():
        for call in (lambda: lib.mg_set_leaf(i, 1.0, 0), lambda: lib.mg_backward(i, stop),
                     lambda: lib.mg_node_info(i, info), lambda: lib.mg_hold_kids(i, kids, 4),
                     lambda: lib.mg_custom(-1, [live._i, i], 2, 1.0, 0),
                     lambda: lib.mg_set_custom(i), lambda: lib.mg_node_backward(i),
                     lambda: lib.mg_holders(i), lambda: lib.mg_expand(i),
                     lambda: lib.mg_zero_grad(2, [live._i, i], 0),
                     lambda: lib.mg_sgd_step(sgd, 2, [live._i, i], buf),
                     lambda: lib.mg_adam_step(adam, 2, [live._i, i], buf, buf),
                     lambda: lib.mg_custom_reached(2, [live._i, i], kids, 4)):
            assert call() == lib.MG_ENODE
        good, bad = ffi.new("int32_t[]", [live._i]), ffi.new("int32_t[]", [i])
        for outs, seeds, inputs in ((bad, good, good), (good, bad, good), (good, good, bad)):
            spec = ffi.new("mg_grad_spec *", {"nout": 1, "outs": outs, "seeds": seeds, "nin": 1,
                                              "inputs": inputs})
            assert lib.mg_grad(spec, kids) == lib.MG_ENODE
        made = [(_KINDS["add"], i, live._i), (_KINDS["relu"], i, -1), (_KINDS["rdiv"], i, -1),
                (_KINDS["mul"], i, -1), (_KINDS["rsub"], i, -1)]
        if i >= 0:  # a negative second operand means there is none: x + arg
            made += [(_KINDS["add"], live._i, i), (_KINDS["div"], live._i, i), (_KINDS["sub"], live._i, i)]
        for kind, a, b in made:
            assert lib.mg_op(kind, a, b, 1.0) == lib.MG_ENODE
        if i >= 0:  # (a negative id asks for a new node)
            assert lib.mg_custom(i, [live._i], 1, 1.0, 0) == lib.MG_ENODE
        out = ffi.new("int32_t[]", 1)
        for x, w, b in (([i], [live._i], [live._i]), ([live._i], [i], [live._i]),
                        ([live._i], [live._i], [i])):
            w, b = ffi.new("int32_t[]", w), ffi.new("int32_t[]", b)
            one = ffi.new("mg_layer_spec *", {"nin": 1, "nout": 1, "w": w, "b": b, "relu": 1})
            assert lib.mg_layers(1, one, x, out) == lib.MG_ENODE
            good = ffi.new("int32_t[]", [live._i])
            two = ffi.new("mg_layer_spec[]", [{"nin": 1, "nout": 1, "w": good, "b": good},
                                              {"nin": 1, "nout": 1, "w": w, "b": b}])
            if x != [i]:  # (a later layer's)
                assert lib.mg_layers(2, two, [live._i], out) == lib.MG_ENODE
        lib.mg_release([i], 1)  # skipped, not an error
    # nothing changed: no node made, the live one as it was (the optimizers checked first)
    assert micrograd_c.memory_stats()["live_nodes"] == before
    assert (live.data, live.grad) == (3.0, 0.0)


def test_other_bad_arguments_are_einval_and_change_nothing():
    x = Value(1.5)
    before = micrograd_c.memory_stats()["live_nodes"]
    out = ffi.new("int32_t[]", 1)
    ids = ffi.new("int32_t[]", [x._i])
    for specs in ([{"nin": -1, "nout": 1}], [{"nin": 1, "nout": -1}],
                  [{"nin": 1, "nout": 1, "w": ids, "b": ids}, {"nin": 2, "nout": 1}]):  # 2 != 1
        assert lib.mg_layers(len(specs), ffi.new("mg_layer_spec[]", specs), ids, out) == lib.MG_EINVAL
    assert lib.mg_layers(0, ffi.NULL, ids, out) == lib.MG_EINVAL
    both = ffi.new("int32_t[]", [x._i, x._i])
    two = ffi.new("mg_layer_spec[]", [{"nin": 1, "nout": 2, "w": both, "b": both}])
    assert lib.mg_layers(1, two, ids, ffi.NULL) == lib.MG_EINVAL  # two outputs, nowhere to put them
    y = x * x
    kids = ffi.new("int32_t[]", 1)
    assert lib.mg_hold_kids(y._i, kids, 1) == lib.MG_EINVAL  # room for one of its two children
    sgd = ffi.new("mg_sgd *", {"lr": 0.1})
    adam = ffi.new("mg_adam *", {"lr": 0.1, "beta1": 0.9, "beta2": 0.999, "step": 0})
    buf = ffi.new("double[]", 1)
    assert lib.mg_sgd_step(sgd, -1, [x._i], buf) == lib.MG_EINVAL
    assert lib.mg_adam_step(adam, 1, [x._i], buf, buf) == lib.MG_EINVAL  # steps count from 1
    # a custom node's children: never a count below 0, and when made again in place, only nodes
    # older than it (the graph stays acyclic, the tape in order)
    assert lib.mg_custom(-1, [x._i], -1, 1.0, 0) == lib.MG_EINVAL
    assert lib.mg_custom(x._i, [y._i], 1, 1.0, 0) == lib.MG_EINVAL
    assert lib.mg_custom(y._i, [y._i], 1, 1.0, 0) == lib.MG_EINVAL
    assert (y.data, y._op, len(y._prev)) == (2.25, "*", 1)  # (x * x: one child, twice)
    # mg_grad: no count below 0, and a custom node reached but not described is refused
    one = ffi.new("int32_t[]", [y._i])
    for bad in ({"nout": -1}, {"nin": -1}, {"ncustom": -1}, {"ncustom_d": -1}):
        spec = ffi.new("mg_grad_spec *", {"nout": 1, "outs": one, "seeds": ids, "nin": 1,
                                          "inputs": ids, **bad})
        assert lib.mg_grad(spec, out) == lib.MG_EINVAL
    custom = Value(2.0, (x,), "f")
    custom._backward = lambda: None
    outs = ffi.new("int32_t[]", [custom._i])  # (kept: the struct only points at it)
    spec = ffi.new("mg_grad_spec *", {"nout": 1, "outs": outs, "seeds": ids, "nin": 1, "inputs": ids})
    assert lib.mg_grad(spec, out) == lib.MG_EINVAL
    listed = ffi.new("int32_t[]", [custom._i])
    at = ffi.new("int32_t[]", [5])
    spec.ncustom, spec.custom, spec.custom_at = 1, listed, at
    assert lib.mg_grad(spec, out) == lib.MG_EINVAL  # its derivatives past the end of custom_d
    assert lib.mg_custom_reached(-1, one, out, 1) == lib.MG_EINVAL
    del y, custom
    assert micrograd_c.memory_stats()["live_nodes"] == before
    assert x.data == 1.5


@pytest.mark.parametrize("divide", [lambda a, b: a / b, lambda a, b: 1.0 / b, lambda a, b: a / 0.0,
                                    lambda a, b: a / 0])
def test_division_by_zero_says_so(divide):
    with pytest.raises(ZeroDivisionError, match="division by zero"):
        divide(Value(1.0), Value(0.0))


def test_zero_to_a_negative_power_says_so():
    with pytest.raises(ZeroDivisionError, match="negative power"):
        Value(0.0) ** -1


def test_a_released_value_says_what_happened():
    v = Value(1.0)
    keep = v * 2  # the node lives on in its parent; only v lets go of it
    v.__del__()
    if v._i != lib.MG_NO_NODE:  # 3.10 sees the caller's reference and keeps the node (see test_release)
        pytest.skip("this Python keeps the node of a Value its caller still names")
    for use in (lambda: v.data, lambda: v.grad, lambda: v + 1, lambda: v.backward(), lambda: v._op):
        with pytest.raises(RuntimeError, match="no longer has a node"):
            use()
    assert keep.data == 2.0


def test_recordings_check_what_they_are_given():
    x = Value(2.0)
    made = ffi.new("mg_recording **")
    token = lib.mg_trace_begin()
    y = x * 3 + 1
    ids, outs = ffi.new("int32_t[]", [x._i]), ffi.new("int32_t[]", [y._i])
    assert lib.mg_trace_end(token, 1, ids, 1, outs, made) == 0
    rec = ffi.gc(made[0], lib.mg_recording_free)
    info = ffi.new("mg_recording_info *")
    lib.mg_recording_describe(rec, info)
    assert (info.steps, info.captured, info.inputs, info.outputs) == (2, 0, 1, 1)  # * 3, + 1
    out = ffi.new("int32_t[]", 1)
    z = Value(5.0)
    assert lib.mg_replay(rec, 1, ffi.new("int32_t[]", [z._i]), out) == 0
    assert micrograd_c.engine._made(out[0]).data == 16.0
    assert lib.mg_replay(rec, 2, ffi.new("int32_t[]", [z._i, z._i]), out) == lib.MG_EINVAL
    for i in dead_ids():
        assert lib.mg_replay(rec, 1, ffi.new("int32_t[]", [i]), out) == lib.MG_ENODE
        token = lib.mg_trace_begin()
        assert lib.mg_trace_end(token, 1, ffi.new("int32_t[]", [i]), 1, outs, made) == lib.MG_ENODE
    token = lib.mg_trace_begin()
    assert lib.mg_trace_end(token, -1, ids, 1, outs, made) == lib.MG_EINVAL
    token = lib.mg_trace_begin()
    assert lib.mg_trace_end(token, 0, ffi.NULL, 0, ffi.NULL, made) == 0  # closed, nothing kept
    # while a trace is open the tape stays as it is: a fused neuron is not shown as its chain
    neuron = micrograd_c.nn.Neuron(2)
    token = lib.mg_trace_begin()
    assert neuron([1.0, 2.0])._op == "neuron-ReLU"
    lib.mg_trace_end(token, 0, ffi.NULL, 0, ffi.NULL, made)
    assert neuron([1.0, 2.0])._op == "ReLU"  # every trace closed: it is again
