"""The demo command (python -m micrograd_c). (Its data, make_moons: test_data.py.)"""
import json
import os
import re
import subprocess
import sys

import pytest

from micrograd_c import moons
from micrograd_c.moons import engine, learning_rate, train


def demo(*args, timeout=120):
    """python -m micrograd_c with args: the finished process (stdout, stderr as text)."""
    return subprocess.run([sys.executable, "-m", "micrograd_c", *args], capture_output=True,
                          text=True, timeout=timeout)


def test_demo_reaches_95_percent_in_100_steps():
    history = [rec for *_, rec in train(*engine("c"), steps=100, seed=1337)]
    assert len(history) == 100
    assert history[-1]["accuracy"] >= 0.95
    assert history[-1]["loss"] < history[0]["loss"]


def test_demo_same_losses_as_micrograd():
    """The notebook's loop on micrograd's own classes and on micrograd_c's, from the same seed."""
    engine_mod = pytest.importorskip("micrograd.engine")
    nn_mod = pytest.importorskip("micrograd.nn")
    ours = [rec for *_, rec in train(*engine("c"), steps=2, seed=1337)]
    theirs = [rec for *_, rec in train(engine_mod.Value, nn_mod.MLP, steps=2, seed=1337)]
    for a, b in zip(ours, theirs):
        assert a["accuracy"] == b["accuracy"]
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-12)


def test_demo_c_equals_reference():
    pytest.importorskip("micrograd_c.reference.nn")
    ours = [rec for *_, rec in train(*engine("c"), steps=3, seed=7)]
    ref = [rec for *_, rec in train(*engine("reference"), steps=3, seed=7)]
    for a, b in zip(ours, ref):
        assert a["accuracy"] == b["accuracy"]
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-12)


def test_demo_command_runs():
    out = demo("--steps", "3", "--seed", "1")
    assert out.returncode == 0, out.stderr
    assert "3/3" in out.stderr  # the progress bar, on stderr
    assert "final accuracy" in out.stdout and "time" in out.stdout


def test_help_lists_the_tasks():
    out = demo("--help", timeout=60)
    assert out.returncode == 0
    for task in ("moons", "digits", "names", "cartpole"):
        assert task in out.stdout


def test_demo_help_documents_options():
    out = demo("moons", "--help", timeout=60)
    assert out.returncode == 0
    for option in ("--steps", "--seed", "--engine", "--plot", "--plot-dir", "--json"):
        assert option in out.stdout


def test_the_demo_is_the_moons_task(tmp_path):
    """No task named is the moons task; --json has its numbers, the same from the same seed."""
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert demo("--steps", "3", "--json", str(a)).returncode == 0
    assert demo("moons", "--steps", "3", "--json", str(b)).returncode == 0
    ra, rb = json.loads(a.read_text()), json.loads(b.read_text())
    assert ra["loss"] == rb["loss"] and ra["accuracy"] == rb["accuracy"] and ra["steps"] == 3
    assert ra["loss"] == [rec for *_, rec in train(*engine("c"), steps=3, seed=1337)][-1]["loss"]


def test_demo_rejects_bad_arguments():
    out = demo("--engine", "gpu", timeout=60)
    assert out.returncode == 2 and "invalid choice" in out.stderr


# ---- the learning rate over any number of steps ----

@pytest.mark.parametrize("steps", [1, 2, 7, 100, 111, 200, 1000, 10_000])
def test_the_rate_falls_from_one_to_a_tenth_over_the_steps_and_stays_positive(steps):
    rates = [learning_rate(k, steps) for k in range(steps)]
    assert rates[0] == 1.0
    assert all(0.1 <= r <= 1.0 for r in rates)
    assert all(a > b for a, b in zip(rates, rates[1:]))  # falling all the way, never back up
    assert rates[-1] == pytest.approx(0.1, abs=0.9 / steps + 1e-12)  # one step short of 0.1


def test_for_100_steps_the_rate_is_the_notebooks():
    assert [learning_rate(k) for k in range(100)] == [1.0 - 0.9*k/100 for k in range(100)]


def test_training_uses_the_rate_of_its_own_length(monkeypatch):
    """train(steps=N) steps with learning_rate(k, N): the rate the model's update used is read
    back from the parameters' change (p.data -= lr * p.grad)."""
    seen = []

    def spy(k, steps=100):
        seen.append((k, steps))
        return learning_rate(k, steps)

    monkeypatch.setattr(moons, "learning_rate", spy)
    list(train(*engine("c"), steps=5, seed=3))
    assert seen == [(k, 5) for k in range(5)]


def test_200_steps_train_forwards():
    """With the notebook's 1.0 - 0.9*k/100, steps past 111 had a negative rate and went uphill."""
    history = [rec for *_, rec in train(*engine("c"), steps=200, seed=1337)]
    losses = [h["loss"] for h in history]
    assert history[-1]["accuracy"] >= 0.95
    assert losses[-1] <= min(losses[:100]) * 1.01  # the second hundred steps did not undo the first
    out = demo("--steps", "200")
    assert out.returncode == 0, out.stderr
    assert "200/200" in out.stderr and "final accuracy 100.0%" in out.stdout, out.stdout


# ---- pictures: a bad place for them is one line before training, not a traceback after ----

def test_a_plot_into_a_missing_folder_is_a_one_line_error():
    out = demo("--steps", "3", "--plot", os.path.join(os.sep, "nonexistent", "x.png"), timeout=60)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and "no such directory" in out.stderr
    assert "final accuracy" not in out.stdout  # found before training


def test_a_plot_dir_that_is_a_file_is_a_one_line_error(tmp_path):
    (tmp_path / "f").write_text("")
    out = demo("--steps", "3", "--plot-dir", str(tmp_path / "f"), timeout=60)
    assert out.returncode == 2 and "not a directory" in out.stderr and "Traceback" not in out.stderr


def test_a_plot_that_cannot_be_written_is_a_one_line_error(tmp_path):
    """Found only when saving (here: the name is a folder's), after training: still one line."""
    pytest.importorskip("matplotlib")
    (tmp_path / "x.png").mkdir()
    out = demo("--steps", "3", "--plot", str(tmp_path / "x.png"), timeout=60)
    assert out.returncode == 1 and "cannot save the plots" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def test_plot_dir_saves_its_three_pictures(tmp_path):
    pytest.importorskip("matplotlib")
    out = demo("--steps", "5", "--plot-dir", str(tmp_path / "plots"))
    assert out.returncode == 0, out.stderr
    for name in ("decision_boundary", "training_curves", "grad_histograms"):
        path = tmp_path / "plots" / f"{name}.png"
        assert path.stat().st_size > 10_000, name
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_the_progress_bar_redraws_without_stale_characters():
    """Every redraw of the bar, once carriage returns and newlines are taken apart, is one
    whole tqdm line ending in the loss and accuracy (the hand-drawn bar left 'accuracy 96%%')."""
    out = demo("--steps", "40")
    redraws = [r for r in re.split(r"[\r\n]", out.stderr) if "step/s" in r]
    with_postfix = [r for r in redraws if "loss" in r]
    assert len(with_postfix) >= 1 and "40/40" in with_postfix[-1]
    for r in with_postfix:  # (spaces after it: tqdm's way of clearing a longer line before)
        assert re.fullmatch(r" *\d+%\|.*\| \d+/40 \[.*, loss \d\.\d{4}, accuracy \d{1,3}%\]", r.rstrip()), r
