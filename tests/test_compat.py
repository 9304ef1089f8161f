"""Compatibility with code written for micrograd and for the nn-zero-to-hero "micrograd" lecture.

Each program in tests/compat/ runs twice, each time in a fresh interpreter: once on its oracle,
once on micrograd_c after `micrograd_c.install_as_micrograd()`. A program imports
`from micrograd.engine import Value` (and maybe `micrograd.nn`), and prints one JSON document of
what it saw; the two documents must agree: floats to 1e-12 (relative or absolute: micrograd's
backward visits a set, so the order its grads are summed in, and their last bits, vary), every
other thing exactly. A program that records a number's type does so as its type's name, a
string, so that is compared exactly too.

A program's first line names its oracle:
    # oracle: micrograd   karpathy's micrograd 0.1.0, as installed (the test extra)
    # oracle: lecture     tests/compat/lecture_value.py, the lecture's Value (a `label=`, tanh,
                          exp: what micrograd 0.1.0 lacks). It stands in for micrograd the way
                          micrograd_c does: the run starts with
                          `import lecture_value; lecture_value.install_as_micrograd()`, which puts
                          it in sys.modules as `micrograd` and `micrograd.engine` (tests/compat is
                          on the run's PYTHONPATH).
Under its document's "not_compared" key a program may record things only one side has.

The last test builds random expressions on micrograd 0.1.0 and on micrograd_c in this process
and compares the graphs an id()-keyed walk of `_prev` finds, node by node.
"""
import json
import math
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

import micrograd_c
from helpers import SAME_PACKAGE

COMPAT = Path(__file__).resolve().parent / "compat"
PROGRAMS = sorted(p for p in COMPAT.glob("*.py") if p.name != "lecture_value.py")
PRELUDES = {
    "micrograd": "",
    "lecture": "import lecture_value; lecture_value.install_as_micrograd(); ",
    "micrograd_c": "import micrograd_c; micrograd_c.install_as_micrograd(); ",
}
MODULES = {"micrograd": "micrograd.engine", "lecture": "lecture_value", "micrograd_c": "micrograd_c.engine"}
TOLERANCE = 1e-12


def oracle_of(program):
    first = program.read_text().splitlines()[0]
    found = re.fullmatch(r"# oracle: (micrograd|lecture)", first.strip())
    assert found, f"{program.name}: the first line must be '# oracle: micrograd' or '# oracle: lecture'"
    return found.group(1)


def run(program, on, cwd):
    """The JSON document program prints when run on `on` (a key of PRELUDES) in a fresh interpreter."""
    env = dict(SAME_PACKAGE)
    env["PYTHONPATH"] = os.pathsep.join([str(COMPAT), env["PYTHONPATH"]])
    code = PRELUDES[on] + f"import runpy; runpy.run_path({str(program)!r}, run_name='__main__')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=300)
    assert done.returncode == 0, f"{program.name} failed on {on}:\n{done.stderr}"
    lines = done.stdout.strip().splitlines()
    assert lines, f"{program.name} printed nothing on {on}:\n{done.stderr}"
    doc = json.loads(lines[-1])
    assert doc["impl"] == MODULES[on], f"{program.name} ran on {doc['impl']}, not {on}"
    return doc


def is_number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def close(x, y):
    return math.isclose(x, y, rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def differences(theirs, ours, where="$"):
    """Where ours differs from theirs, one line each."""
    if is_number(theirs) and is_number(ours):
        same = theirs == ours if isinstance(theirs, int) and isinstance(ours, int) else close(theirs, ours)
        return [] if same else [f"{where}: {theirs!r} != {ours!r}"]
    if type(theirs) is not type(ours):
        return [f"{where}: {theirs!r} != {ours!r}"]
    if isinstance(theirs, dict):
        if theirs.keys() != ours.keys():
            return [f"{where}: keys {sorted(theirs)} != {sorted(ours)}"]
        return [d for k in theirs for d in differences(theirs[k], ours[k], f"{where}[{k!r}]")]
    if isinstance(theirs, list):
        if len(theirs) != len(ours):
            return [f"{where}: {len(theirs)} items != {len(ours)}: {theirs!r} != {ours!r}"]
        return [d for i, (t, o) in enumerate(zip(theirs, ours)) for d in differences(t, o, f"{where}[{i}]")]
    return [] if theirs == ours else [f"{where}: {theirs!r} != {ours!r}"]


def test_the_comparison_can_tell():
    assert differences({"a": [1.0, "x", True, 3]}, {"a": [1.0 + 1e-15, "x", True, 3]}) == []
    assert differences(2, 2.0) == []  # a number's type is compared where a program records it
    for theirs, ours in [(1.0, 1.0 + 1e-9), (3, 4), ("int", "float"), (True, 1), (0, False),
                         ([1], [1, 2]), ({"a": 1}, {"b": 1}), (None, 0), ([[0.5]], [[0.25]])]:
        assert differences(theirs, ours), (theirs, ours)


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.stem)
def test_a_micrograd_program_sees_on_micrograd_c_what_it_sees_on_its_oracle(program, tmp_path):
    oracle = oracle_of(program)
    if oracle == "micrograd":
        pytest.importorskip("micrograd.engine")
    theirs = run(program, oracle, tmp_path)
    ours = run(program, "micrograd_c", tmp_path)
    theirs.pop("not_compared", None)
    ours.pop("not_compared", None)
    found = differences(theirs["observed"], ours["observed"])
    assert not found, (f"{program.name}: {len(found)} differences ({oracle} != micrograd_c):\n"
                       + "\n".join(found[:40]))


# ---- random expressions, in this process ----

def trace(root):
    """root's graph as an id()-keyed walk over _prev finds it: {id: Value} (holding every Value, so
    no id is reused meanwhile) and the set of (id(child), id(parent)) edges."""
    nodes, edges, todo = {}, set(), [root]
    while todo:
        v = todo.pop()
        if id(v) in nodes:
            continue
        nodes[id(v)] = v
        for child in v._prev:
            edges.add((id(child), id(v)))
            todo.append(child)
    return nodes, edges


POWERS = [2, 3, -1, -2, 0.5, 1.5, 2.0, -1.0]
SAFE = 1e-3  # no division by, negative power of, fractional power of or relu at anything closer to 0


def apply(step, pool, V):
    """One step of a recipe on the Values of pool (V: the Value class)."""
    op, i, operand = step
    x = pool[i]
    y = pool[operand[1]] if operand[0] == "v" else operand[1]
    return {
        "+": lambda: x + y, "r+": lambda: y + x, "-": lambda: x - y, "r-": lambda: y - x,
        "*": lambda: x * y, "r*": lambda: y * x, "/": lambda: x / y, "r/": lambda: y / x,
        "**": lambda: x ** y, "neg": lambda: -x, "relu": lambda: x.relu(),
    }[op]()


def recipe(seed, V):
    """A random expression (its leaves' data and its steps), each step fine on V (micrograd):
    no division by anything near 0, no fractional power of a negative number, nothing large."""
    rng = random.Random(seed)
    leaves = [rng.choice([round(rng.uniform(-3, 3), 3), rng.randint(-3, 3), rng.uniform(-2, 2)])
              for _ in range(rng.randint(1, 4))]
    pool = [V(x) for x in leaves]
    steps, wanted = [], rng.randint(3, 9)
    for _ in range(1000):  # (tries: a step that does not fit is drawn again)
        if len(steps) == wanted:
            break
        op = rng.choice(["+", "r+", "-", "r-", "*", "r*", "/", "r/", "**", "neg", "relu"])
        i = len(pool) - 1 if rng.random() < 0.6 else rng.randrange(len(pool))
        if op == "**":
            operand = ("n", rng.choice(POWERS))
        elif op in ("neg", "relu"):
            operand = ("n", None)
        elif rng.random() < 0.5:
            operand = ("v", rng.randrange(len(pool)))
        else:
            operand = ("n", rng.choice([2, -1, 3, 0.5, round(rng.uniform(-4, 4), 2), rng.uniform(-1, 1)]))
        x = pool[i].data
        y = pool[operand[1]].data if operand[0] == "v" else operand[1]
        if (op == "/" and abs(y) < SAFE) or (op == "r/" and abs(x) < SAFE) or (op == "relu" and abs(x) < SAFE):
            continue
        if op == "**" and (abs(x) < SAFE or (float(y) != int(y) and x < 0)):
            continue
        out = apply((op, i, operand), pool, V)
        if abs(out.data) > 50:
            continue
        steps.append((op, i, operand))
        pool.append(out)
    return leaves, steps


def build(leaves, steps, V):
    pool = [V(x) for x in leaves]
    for step in steps:
        pool.append(apply(step, pool, V))
    return pool


def match(theirs, ours):
    """Pair each of their nodes with one of ours of the same _op, data and grad (to TOLERANCE):
    the nodes of theirs that found none."""
    left = [(v._op, v.data, v.grad) for v in ours]
    unmatched = []
    for v in sorted(theirs, key=lambda v: (v._op, v.data, v.grad)):
        for k, (op, data, grad) in enumerate(left):
            if op == v._op and close(data, v.data) and close(grad, v.grad):
                del left[k]
                break
        else:
            unmatched.append((v._op, v.data, v.grad))
    return unmatched


def micrograd_value():
    mg = pytest.importorskip("micrograd.engine")
    assert mg.__name__ == "micrograd.engine", "micrograd was replaced by micrograd_c in this process"
    return mg.Value


@pytest.mark.parametrize("seed", range(30))
def test_a_random_expression_has_micrograds_graph(seed):
    MgValue = micrograd_value()
    leaves, steps = recipe(seed, MgValue)
    theirs = build(leaves, steps, MgValue)
    ours = build(leaves, steps, micrograd_c.Value)
    root_theirs, root_ours = theirs[-1], ours[-1]
    why = f"leaves {leaves}, steps {steps}"
    assert close(root_ours.data, root_theirs.data), why
    root_theirs.backward()
    root_ours.backward()
    nodes_theirs, edges_theirs = trace(root_theirs)
    nodes_ours, edges_ours = trace(root_ours)
    assert all(c in nodes_ours and p in nodes_ours for c, p in edges_ours), why
    assert (len(nodes_ours), len(edges_ours)) == (len(nodes_theirs), len(edges_theirs)), why
    assert sorted(v._op for v in nodes_ours.values()) == sorted(v._op for v in nodes_theirs.values()), why
    assert match(nodes_theirs.values(), nodes_ours.values()) == [], why
