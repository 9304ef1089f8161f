"""The demo command (python -m micrograd_c) and the moons data it trains on."""
import random
import subprocess
import sys

import numpy as np
import pytest

from micrograd_c.moons import engine, train
from micrograd_c.data import make_moons


def test_make_moons_shape_labels_and_geometry():
    X, y = make_moons(n_samples=101, noise=0.0, seed=3)
    assert X.shape == (101, 2) and y.shape == (101,)
    assert sorted(np.bincount(y)) == [50, 51]
    # without noise the points lie on the two unit half circles
    upper = np.hypot(X[y == 0, 0], X[y == 0, 1])
    lower = np.hypot(X[y == 1, 0] - 1, X[y == 1, 1] - 0.5)
    assert np.allclose(upper, 1) and np.allclose(lower, 1)
    assert (X[y == 0, 1] >= -1e-12).all() and (X[y == 1, 1] <= 0.5 + 1e-12).all()


def test_make_moons_seed_and_global_state():
    a, _ = make_moons(seed=5)
    b, _ = make_moons(seed=5)
    c, _ = make_moons(seed=6)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    np.random.seed(1337)
    d, _ = make_moons()
    np.random.seed(1337)
    e, _ = make_moons()
    assert np.array_equal(d, e)


def test_make_moons_equals_sklearn():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    np.random.seed(1337)
    X1, y1 = sklearn_datasets.make_moons(n_samples=100, noise=0.1)
    np.random.seed(1337)
    X2, y2 = make_moons(n_samples=100, noise=0.1)
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)


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
    out = subprocess.run([sys.executable, "-m", "micrograd_c", "--steps", "3", "--seed", "1"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "step 3/3" in out.stdout
    assert "final accuracy" in out.stdout and "time" in out.stdout


def test_demo_help_documents_options():
    out = subprocess.run([sys.executable, "-m", "micrograd_c", "--help"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    for option in ("--steps", "--seed", "--engine", "--plot", "--plot-dir"):
        assert option in out.stdout


def test_demo_rejects_bad_arguments():
    out = subprocess.run([sys.executable, "-m", "micrograd_c", "--engine", "gpu"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "invalid choice" in out.stderr
