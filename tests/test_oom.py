"""Out of memory: MemoryError from the op that needed a node, existing nodes intact, and recovery.

Two ways to run out: the node cap (micrograd_c.set_node_limit) and a real malloc failure (an
address-space limit in a subprocess, so that growing the node store fails).
"""
import gc
import os
import subprocess
import sys
import textwrap

import pytest

import micrograd_c
from micrograd_c import Value, nn
from micrograd_c import reference
from helpers import live
from ops import REGISTRY, ids


def state(values):
    return [(v.data, v.grad) for v in values]


def graph(V):
    a, b = V(2.0), V(-3.0)
    c = a * b + a
    c.backward()
    e = c.tanh() * a
    return a, b, c, e


def test_the_op_past_the_cap_raises_and_changes_nothing(node_limit):
    gc.collect()  # (garbage an earlier test left, freed now, would free nodes under the cap)
    a, b, c, e = graph(Value)
    before = state([a, b, c, e])
    node_limit(live())
    for op in REGISTRY:
        with pytest.raises(MemoryError):
            op(e, b, op.const)
        assert state([a, b, c, e]) == before, op.name
        assert live() == micrograd_c.memory_stats()["node_limit"]
    # backward makes no node: it works at the cap, and gives what the reference gives
    e.backward()
    ra, rb, rc, re = graph(reference.Value)
    re.backward()
    assert state([a, b, c, e]) == state([ra, rb, rc, re])


def nodes_made(out, operands):
    """How many nodes out's graph has besides the operands' (on the reference: its Values are nodes)."""
    seen, todo = set(map(id, operands)), [out]
    made = 0
    while todo:
        v = todo.pop()
        if id(v) not in seen:
            seen.add(id(v))
            made += 1
            todo.extend(v._children)
    return made


@pytest.mark.parametrize("op", REGISTRY, ids=ids)
def test_an_op_with_room_for_one_node_fewer_than_it_makes_makes_none(node_limit, op):
    # micrograd makes two nodes for some (a - b is a + (-b), a / b is a * b**-1): one C call
    # makes both, and when the second does not fit, the first is freed again
    r = reference.Value
    ra, rb = r(2.0), r(-4.0)
    expected = op(ra, rb, op.const)
    n = nodes_made(expected, [ra, rb])
    a, b = Value(2.0), Value(-4.0)
    node_limit(live() + n - 1)
    with pytest.raises(MemoryError):
        op(a, b, op.const)
    assert live() == micrograd_c.memory_stats()["node_limit"] - (n - 1)
    node_limit(live() + n)
    out = op(a, b, op.const)
    assert out.data == expected.data and live() == micrograd_c.memory_stats()["node_limit"]


def test_a_layer_past_the_cap_makes_none_of_its_neurons(node_limit):
    layer = nn.Layer(3, 4)
    x = [Value(1.0), Value(-2.0), Value(0.5)]
    before = state(layer.parameters() + x)
    node_limit(live() + 3)  # room for 3 of the 4 neurons: all or nothing
    with pytest.raises(MemoryError):
        layer(x)
    assert live() == micrograd_c.memory_stats()["node_limit"] - 3
    assert state(layer.parameters() + x) == before
    node_limit(live() + 4)
    assert len(layer(x)) == 4


def test_the_engine_works_again_after_dropping_references(node_limit):
    base = live()
    node_limit(base + 1000)
    x = Value(1.0)
    chain = [x]
    with pytest.raises(MemoryError):
        while True:
            chain.append(chain[-1] + x)  # one node an op (a number would make a leaf too)
    assert live() == base + 1000
    assert chain[-1].data == len(chain)
    chain[-1].backward()
    assert x.grad == len(chain)  # 1 as the chain's first node, and 1 from each add
    del chain
    assert live() == base + 1
    y = (x + 2.0) * x  # room again
    assert y.data == 3.0
    node_limit(0)
    many = [x * float(i) for i in range(3000)]  # past the old cap
    # x; y, its x + 2 and the leaf 2; 3000 products and their leaves
    assert live() == base + 6004 and many[-1].data == 2999.0
    del many, y
    assert live() == base + 1


def test_a_cap_below_the_live_count_blocks_only_new_nodes(node_limit):
    a = Value(3.0)
    b = a * a
    node_limit(1)
    with pytest.raises(MemoryError):
        b + a
    b.backward()
    a.data = 4.0
    assert (a.data, a.grad, b.data) == (4.0, 6.0, 9.0)
    node_limit(-5)  # negative means no cap, like 0
    assert micrograd_c.memory_stats()["node_limit"] == 0
    assert (b + a).data == 13.0


MALLOC_FAILS = textwrap.dedent("""
    import os, resource
    import micrograd_c
    from micrograd_c import Value

    # Leave Python ~48 MiB more than it has mapped now: the node store (~60 bytes a node,
    # doubling) runs out long before Python does.
    with open("/proc/self/statm") as f:
        mapped = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    resource.setrlimit(resource.RLIMIT_AS, (mapped + (48 << 20), resource.RLIM_INFINITY))

    first, one = Value(1.0), Value(1.0)
    x, n = first, 0
    try:
        while True:
            x = x + one  # a chain: each node holds the one before, Python holds three Values
            n += 1
    except MemoryError as e:
        print("MemoryError:", e)
    stats = micrograd_c.memory_stats()
    print("nodes", n, stats)
    assert stats["live_nodes"] == n + 2 and n > 100_000
    assert x.data == 1.0 + n and first.data == 1.0
    x.backward()  # needs no allocation: scratch space grows with the store
    assert first.grad == 1.0
    del x
    assert micrograd_c.memory_stats()["live_nodes"] == 2
    x = first
    for _ in range(n):  # as long a chain again, in the freed slots
        x = x + one
    assert x.data == 1.0 + n
    assert micrograd_c.memory_stats()["capacity_nodes"] == stats["capacity_nodes"]
    print("recovered")
""")


@pytest.mark.skipif("libasan" in os.environ.get("LD_PRELOAD", ""),
                    reason="AddressSanitizer reserves terabytes of address space: RLIMIT_AS cannot work")
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and RLIMIT_AS")
def test_a_real_malloc_failure_is_a_memory_error_and_the_engine_recovers():
    r = subprocess.run([sys.executable, "-c", MALLOC_FAILS], capture_output=True, text=True, timeout=300)
    print(r.stdout, r.stderr)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "MemoryError: out of memory for autograd nodes" in r.stdout
    assert r.stdout.rstrip().endswith("recovered")
