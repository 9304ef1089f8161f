"""The op registry (tests/ops.py) and the C op table say the same: every C op has an entry (or, a
fused neuron, the test that checks it), and every entry makes its node(s) with the C op it names."""
import importlib

import pytest

from micrograd_c import Value, engine
from ops import FUSED, REGISTRY, ids


def test_every_c_op_is_in_the_registry():
    covered = {op.c_op for op in REGISTRY} | set(FUSED)
    missing = set(engine._KINDS) - covered
    assert not missing, f"C ops no entry of tests/ops.py tries: {sorted(missing)}"


@pytest.mark.parametrize("op", REGISTRY, ids=ids)
def test_every_registry_op_names_a_real_c_op(op, monkeypatch):
    assert op.c_op in engine._KINDS
    a, b = Value(2.0), Value(3.0)
    calls = []
    make = engine._mg_op

    def spy(kind, *args):
        calls.append(kind & ~engine._ARG_INT)  # (the flag that says a constant is an int)
        return make(kind, *args)
    monkeypatch.setattr(engine, "_mg_op", spy)
    make_custom = engine._mg_custom
    monkeypatch.setattr(engine, "_mg_custom", lambda *args: calls.append(engine._KINDS["custom"])
                        or make_custom(*args))
    op(a, b, op.const)
    assert calls == [engine._KINDS[op.c_op]]  # one C call, of that op


@pytest.mark.parametrize("c_op", sorted(FUSED))
def test_each_fused_neuron_is_checked_by_the_test_the_registry_names(c_op):
    module, name, (param, value) = FUSED[c_op]
    assert c_op in engine._KINDS
    test = getattr(importlib.import_module(module), name)
    values = [mark.args[1] for mark in test.pytestmark if mark.name == "parametrize" and mark.args[0] == param]
    assert values and value in values[0]
