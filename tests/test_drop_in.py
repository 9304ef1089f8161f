"""Drop-in: a script written for karpathy's micrograd, run unchanged after
`micrograd_c.install_as_micrograd()`, uses micrograd_c and prints micrograd's numbers.
Both run in fresh interpreters, so nothing here leaks into the other."""
import os
import subprocess
import sys
import textwrap

import pytest

import micrograd_c

# micrograd's demo, shortened: an MLP trained with a hinge loss and L2 regularization.
SCRIPT = textwrap.dedent("""
    import random
    from micrograd.engine import Value
    from micrograd.nn import MLP

    random.seed(1337)
    X = [[random.uniform(-2, 2), random.uniform(-2, 2)] for _ in range(20)]
    y = [1 if a * b > 0 else -1 for a, b in X]
    model = MLP(2, [8, 8, 1])
    print(type(model.parameters()[0]).__module__, Value.__module__)

    for k in range(5):
        inputs = [list(map(Value, xrow)) for xrow in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = 1e-4 * sum((p * p for p in model.parameters()))
        loss = data_loss + reg_loss
        accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(y, scores)]
        model.zero_grad()
        loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        print(k, repr(loss.data), sum(accuracy) / len(accuracy))
    print(*[repr(p.data) for p in model.parameters()[::13]])
    print(*[repr(float(p.grad)) for p in model.parameters()[::13]])
""")

INSTALL = "import micrograd_c; micrograd_c.install_as_micrograd(); "


def run(tmp_path, prelude):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    code = prelude + f"import runpy; runpy.run_path({str(script)!r}, run_name='__main__')"
    here = os.path.dirname(os.path.dirname(os.path.abspath(micrograd_c.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([here, os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    return [line.split() for line in done.stdout.splitlines()]


def test_a_micrograd_script_runs_on_micrograd_c_with_micrograds_numbers(tmp_path):
    pytest.importorskip("micrograd.engine")
    theirs = run(tmp_path, "")
    ours = run(tmp_path, INSTALL)
    assert theirs[0] == ["micrograd.engine", "micrograd.engine"]
    assert ours[0] == ["micrograd_c.engine", "micrograd_c.engine"]
    assert len(ours) == len(theirs) == 1 + 5 + 2
    for line_ours, line_theirs in zip(ours[1:], theirs[1:]):
        assert [float(x) for x in line_ours] == pytest.approx([float(x) for x in line_theirs], rel=1e-12)
    assert float(theirs[1][1]) != float(theirs[-3][1])  # it trained: the loss moved


def test_a_micrograd_script_does_not_import_numpy(tmp_path):
    """numpy takes ~100-200 ms to import, a hundred times micrograd's own import: a small script
    must not pay it. Only what uses numpy (state_dict, save/load, optim, viz, data) imports it."""
    probe = ("import sys; from micrograd.engine import Value; from micrograd.nn import MLP; "
             "m = MLP(2, [3, 1]); y = m([Value(1.0), Value(2.0)]); y.backward(); m.zero_grad(); "
             "print('numpy' in sys.modules)")
    here = os.path.dirname(os.path.dirname(os.path.abspath(micrograd_c.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([here, os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", INSTALL + probe], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False"]
    with_state = probe.replace("print(", "m.state_dict(); print(")
    done = subprocess.run([sys.executable, "-c", INSTALL + with_state], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=60)
    assert done.stdout.split() == ["True"], done.stderr  # the check can tell
