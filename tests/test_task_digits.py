"""The digits task (python -m micrograd_c digits): its data, the loss it trains with, how it
scores the test images, that it learns, and its command."""
import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest

from micrograd_c import Value, digits
from micrograd_c.__main__ import main, parse_args
from micrograd_c.losses import cross_entropy
from micrograd_c.nn import MLP

TINY = ["--samples", "200", "--epochs", "2", "--batch-size", "16", "--hidden", "16"]


def run(*argv):
    """The task's results for these options, run in this process."""
    task, args = parse_args(["digits", *argv])
    return task.run(args)


def test_the_data_is_sklearns_digits_split_80_20_with_every_digit_in_both():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    X_train, X_test, y_train, y_test = digits.load_data(samples=500, seed=3)
    assert (len(X_train), len(X_test)) == (400, 100)
    assert X_train.shape[1] == 64 and 0 <= X_train.min() and X_train.max() <= 1
    assert set(y_train) == set(y_test) == set(range(10))
    # the first 500 of sklearn's images, each once, with its own label, scaled from 0..16
    original = sklearn_datasets.load_digits()
    rows = {tuple(x): t for x, t in zip(original.data[:500], original.target[:500])}
    split = np.concatenate([X_train, X_test]) * 16
    assert sorted(map(tuple, split)) == sorted(rows)
    assert [rows[tuple(x)] for x in split] == list(np.concatenate([y_train, y_test]))
    again = digits.load_data(samples=500, seed=3)
    assert all((a == b).all() for a, b in zip(again, (X_train, X_test, y_train, y_test)))
    # the task's split is one for every run (--seed picks the weights and the minibatches)
    fixed = digits.load_data()
    assert all((a == b).all() for a, b in zip(fixed, digits.load_data(seed=digits.SPLIT_SEED)))
    assert len(digits.load_data()[0]) + len(digits.load_data()[1]) == len(original.data)


def test_evaluate_is_micrograds_cross_entropy_and_the_argmax_accuracy():
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 30, (20, 10))  # large enough that exp overflows without the shift
    y = rng.integers(0, 10, 20)
    loss, accuracy = digits.evaluate(logits, y)
    eager = [cross_entropy([Value(float(z)) for z in row], int(t)).data for row, t in zip(logits, y)]
    assert loss == pytest.approx(sum(eager) / len(eager), rel=1e-12)
    assert accuracy == sum(int(np.argmax(row)) == t for row, t in zip(logits, y)) / 20


def test_a_minibatchs_loss_and_grads_are_the_eager_loops():
    random.seed(2)
    model = MLP(64, [8, 10])
    rng = np.random.default_rng(2)
    X, y = rng.random((6, 64)), rng.integers(0, 10, 6)
    loss = digits.compiled_loss(model).batch(X, np.eye(10)[y], reduce="mean")
    model.zero_grad()
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    model.zero_grad()
    eager = sum(cross_entropy(model(list(x)), int(t)) for x, t in zip(X, y)) * (1 / len(y))
    eager.backward()
    assert loss.data == pytest.approx(eager.data, rel=1e-12)
    assert grads == pytest.approx([p.grad for p in model.parameters()], rel=1e-9, abs=1e-15)


def test_minibatches_cover_every_training_image_once():
    batches = digits.minibatches(70, 32, np.random.default_rng(0))
    assert [len(b) for b in batches] == [32, 32, 6]
    assert sorted(np.concatenate(batches)) == list(range(70))


def test_it_learns_and_the_same_seed_gives_the_same_run(capsys):
    pytest.importorskip("sklearn")
    results = run(*TINY, "--samples", "300", "--epochs", "3")
    history = results["history"]
    assert [h["epoch"] for h in history] == [0, 1, 2, 3]  # before training, then after each epoch
    assert [h["step"] for h in history] == [0, 15, 30, 45]  # 240 training images, 16 a step
    assert (results["train_images"], results["test_images"]) == (240, 60)
    first, last = history[0], history[-1]
    assert last["loss"] < first["loss"] and last["accuracy"] > max(first["accuracy"], 0.5)  # chance: 0.1
    assert (results["loss"], results["accuracy"]) == (last["loss"], last["accuracy"])
    assert (results["test_loss"], results["test_accuracy"]) == (last["loss"], last["accuracy"])
    out = capsys.readouterr().out
    assert f"test accuracy {last['accuracy']:.1%} ({round(last['accuracy'] * 60)} of 60)" in out
    again = run(*TINY, "--samples", "300", "--epochs", "3")
    assert again["history"] == history
    assert run(*TINY, "--samples", "300", "--epochs", "3", "--seed", "1")["history"] != history


def test_the_command_saves_its_pictures_and_numbers(tmp_path, capsys):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    assert main(["digits", *TINY, "--plot-dir", str(tmp_path / "plots"),
                 "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and "time" in out
    for name in digits.PLOTS:
        path = tmp_path / "plots" / f"{name}.png"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"saved {path}" in out
    saved = json.loads((tmp_path / "r.json").read_text())
    here = run(*TINY)  # drawing the pictures changes nothing of the training
    assert saved["history"] == here["history"] and saved["accuracy"] == here["accuracy"]
    assert saved["train_seconds"] > 0 and saved["epochs"] == 2 and saved["batch_size"] == 16
    assert saved["test_accuracy"] == here["test_accuracy"]


def test_without_scikit_learn_it_says_which_extra_to_install():
    code = ("import sys; sys.modules['sklearn'] = None\n"  # as if it were not installed
            "from micrograd_c.__main__ import main; sys.exit(main(sys.argv[1:]))")
    out = subprocess.run([sys.executable, "-c", code, "digits", *TINY], capture_output=True,
                         text=True, timeout=120, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert out.returncode != 0
    assert "micrograd-c[digits]" in out.stderr and "scikit-learn" in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("flag, value, message", [
    ("--epochs", "0", "--epochs must be >= 1"), ("--batch-size", "0", "--batch-size must be >= 1"),
    ("--hidden", "0", "--hidden must be >= 1"), ("--lr", "0", "--lr must be > 0"),
    ("--lr", "nan", "--lr must be > 0"), ("--samples", "49", "--samples must be >= 50")])
def test_bad_arguments_are_refused_before_training(capsys, flag, value, message):
    with pytest.raises(SystemExit) as exit:
        main(["digits", flag, value])
    assert exit.value.code == 2 and message in capsys.readouterr().err
