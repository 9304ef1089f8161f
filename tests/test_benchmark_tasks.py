"""benchmarks/tasks.py, `python -m benchmarks.tasks --quick`: the example tasks' training timed
four ways. The run prints a line per task, with positive numbers, and the four implementations
start from the same loss and gradients. No timing is asserted: the numbers are a benchmark's."""
import importlib.util
import json
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NEEDED = ("torch", "micrograd", "sklearn", "gymnasium", "names", "tqdm")
MISSING = [m for m in NEEDED if importlib.util.find_spec(m) is None]
if not os.path.isdir(os.path.join(ROOT, "benchmarks")):  # (the tests of an installed wheel)
    MISSING.append("a checkout's benchmarks/")
pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"the task benchmarks need {', '.join(MISSING)}")
TASKS = ("digits", "cartpole", "names")
IMPLS = ("eager", "micrograd", "torch")


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """(the finished process, its --json document) of python -m benchmarks.tasks --quick."""
    path = tmp_path_factory.mktemp("tasks") / "tasks.json"
    done = subprocess.run([sys.executable, "-m", "benchmarks.tasks", "--quick", "--json", str(path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    return done, json.loads(path.read_text())


def test_the_table_has_a_line_per_task_with_every_column(quick):
    done, _ = quick
    lines = done.stdout.splitlines()
    head = next(k for k, line in enumerate(lines) if line.startswith("task: its default run"))
    for heading in ("compile", "eager", "micrograd", "torch", "eager/compile", "micrograd/compile"):
        assert heading in lines[head]
    rows = lines[head + 1:head + 1 + len(TASKS)]
    assert [row.split(":")[0] for row in rows] == list(TASKS)
    for row in rows:
        # compile, its process, eager, micrograd and torch: seconds; then the two ratios
        times = [float(x.replace(",", "")) for x in re.findall(r"([\d.,]+) s\b", row)]
        assert len(times) == 5 and all(t > 0 for t in times), row
        assert len(re.findall(r"[\d.,]+×", row)) == 2, row
        assert re.search(r"\ball [\d,]+ (steps|episodes)\b", row), row  # (torch: every step)
    assert "DISAGREE" not in done.stdout and "failed" not in done.stdout


def test_every_number_is_positive_and_the_scaled_ones_say_from_what(quick):
    _, found = quick
    assert found["quick"] is True and set(found["results"]) == set(TASKS)
    for task, result in found["results"].items():
        compiled = result["compile"]
        assert compiled["train_seconds"] > 0 and compiled["wall_seconds"] > compiled["train_seconds"]
        assert compiled["command"].startswith(f"python -m micrograd_c {task}")
        for impl in IMPLS:
            parts = result[impl]["parts"]
            assert len(parts) == (2 if task == "names" else 1)
            for part in parts:
                assert part["seconds"] > 0 and part["forward_backward_seconds"] > 0
                assert 1 <= part["timed_steps"] <= part["steps"]
                assert 1 <= part["timed_rows"] <= part["rows"]
                assert all(loss == loss for loss in part["losses"])  # (no NaN)
                if impl == "torch":  # every step of the run, not scaled
                    assert (part["timed_steps"], part["timed_rows"]) == (part["steps"], part["rows"])
                    assert part["seconds"] == pytest.approx(
                        part["forward_backward_seconds"] + part["update_seconds"])
                else:
                    assert part["timed_steps"] < part["steps"]  # scaled, from a few steps
                    assert part["seconds"] > part["forward_backward_seconds"]


def test_the_implementations_start_from_the_same_loss_and_gradients(quick):
    _, found = quick
    for task, result in found["results"].items():
        for k, _ in enumerate(result["eager"]["parts"]):
            loss, grads = result["eager"]["parts"][k]["check"]
            assert grads > 0
            for impl in ("micrograd", "torch"):
                other = result[impl]["parts"][k]["check"]
                assert other[0] == pytest.approx(loss, rel=1e-4, abs=1e-4), (task, impl)
                assert other[1] == pytest.approx(grads, rel=1e-4), (task, impl)
                if impl == "micrograd":  # float64, the same operations
                    assert other == pytest.approx([loss, grads], rel=1e-9, abs=1e-12)
