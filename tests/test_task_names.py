"""The names task (python -m micrograd_c names): its data, the bigram baseline, the model's
pieces, the classifier's score, and the command at a tiny size."""
import collections
import json
import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from micrograd_c import Value, names as task
from micrograd_c.__main__ import parse_args

TINY = ["--steps", "20", "--batch-size", "64", "--embed", "4", "--hidden", "8",
        "--gender-steps", "20"]


def command(*argv, code=None):
    """python -m micrograd_c with argv (or python -c code): the finished process."""
    start = ["-c", code] if code else ["-m", "micrograd_c"]
    return subprocess.run([sys.executable, *start, *argv], capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(scope="module")
def lists():
    pytest.importorskip("names")
    return task.load_lists()


def test_the_lists_are_the_packages_files_in_lower_case(lists):
    folder = os.path.dirname(pytest.importorskip("names").__file__)
    for label, file in (("male", "dist.male.first"), ("female", "dist.female.first")):
        with open(os.path.join(folder, file)) as f:
            first_words = [line.split()[0] for line in f if line.strip()]
        assert lists[label] == [w.lower() for w in first_words]
        assert all(re.fullmatch("[a-z]+", w) for w in lists[label])


def test_the_split_is_seeded_and_no_name_is_on_both_sides(lists):
    words = lists["male"] + lists["female"]
    train, dev = task.split(words, seed=4)
    assert not set(train) & set(dev)
    assert sorted(train + dev) == sorted(set(words))  # every distinct name, once
    assert len(dev) == round(len(set(words)) / 10)
    assert task.split(words, seed=4) == (train, dev)
    assert task.split(words, seed=5) != (train, dev)


def test_the_bigram_baseline_is_add_one_counts(lists):
    train, dev = task.split(lists["male"] + lists["female"], seed=0)
    counts = collections.Counter(pair for w in train for pair in zip("." + w, w + "."))
    row = collections.Counter()
    for (a, _), n in counts.items():
        row[a] += n
    pairs = [pair for w in dev for pair in zip("." + w, w + ".")]
    expected = -sum(math.log((counts[a, b] + 1) / (row[a] + 27)) for a, b in pairs) / len(pairs)
    assert task.bigram_loss(train, dev) == pytest.approx(expected, rel=1e-12)
    assert task.bigram_loss(train, dev) < math.log(27)  # better than a uniform guess


def test_contexts_are_the_characters_before_each_one():
    X, Y = task.contexts(["ab", "c"], context=2)
    # "ab": '..' -> a, '.a' -> b, 'ab' -> end; "c": '..' -> c, '.c' -> end
    assert X.tolist() == [[0, 0], [0, 1], [1, 2], [0, 0], [0, 3]]
    assert Y.tolist() == [1, 2, 0, 3, 0]


def test_the_embedding_of_a_one_hot_context_is_its_characters_rows():
    embedding = task.Embedding(3)
    x = task.one_hot(np.array([[2, 26]]))[0]
    assert x.shape == (2 * 27,) and x.sum() == 2
    out = [v.data for v in embedding(list(map(Value, x)))]
    # a Linear's neuron j holds column j of the table: weight w[c] for character c, and its bias
    rows = [[n.w[c].data + n.b.data for n in embedding.table.neurons] for c in (2, 26)]
    assert out == pytest.approx(rows[0] + rows[1], rel=1e-12)


def test_the_classifier_leaves_out_names_on_both_lists(lists):
    (X, y), (X_test, y_test) = task.gender_data(lists, seed=1)
    male, female = set(lists["male"]), set(lists["female"])
    assert len(y) + len(y_test) == len(male ^ female)
    assert (y == 0).sum() + (y_test == 0).sum() == len(male - female)
    assert len(X) == len(y) and len(X_test) == len(y_test)


def test_a_names_features_are_its_last_and_first_characters():
    features = task.name_features(["anna", "al"]).reshape(2, -1, 27)
    decoded = ["".join(task.CHARS[i] for i in f.argmax(axis=1)) for f in features]
    assert decoded == [("." * task.LAST + w)[-task.LAST:] + (w + "." * task.FIRST)[:task.FIRST]
                       for w in ("anna", "al")]
    assert (features.sum(axis=2) == 1).all()  # one-hot blocks


def test_balanced_accuracy_is_sklearns():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    y, predicted = rng.integers(0, 2, 50), rng.integers(0, 2, 50)
    y[:40] = 1  # imbalanced
    assert task.balanced_accuracy(y, predicted) == pytest.approx(
        metrics.balanced_accuracy_score(y, predicted), rel=1e-12)


def test_it_learns_and_the_same_seed_gives_the_same_run(lists, tmp_path):
    pytest.importorskip("matplotlib")  # (for its pictures)
    path, plots = tmp_path / "names.json", tmp_path / "plots"
    out = command("names", *TINY, "--seed", "3", "--json", str(path), "--plot-dir", str(plots))
    assert out.returncode == 0, out.stderr
    assert "dev loss" in out.stdout and "balanced accuracy" in out.stdout
    results = json.loads(path.read_text())
    assert {"dev_loss", "bigram_dev_loss", "gender_balanced_accuracy", "samples",
            "train_seconds"} <= results.keys()
    losses = [h["loss"] for h in results["history"]]
    assert len(losses) == 20 and np.mean(losses[-5:]) < losses[0]
    assert results["dev_loss"] < math.log(27)  # better than a uniform guess already
    assert len(results["samples"]) == 20
    assert all(re.fullmatch("[a-z]+", s) for s in results["samples"])  # (one letter at least)
    assert 0 <= results["gender_balanced_accuracy"] <= 1
    for name in task.PLOTS:
        assert (plots / f"{name}.png").stat().st_size > 0
    # the same seed, in this process (no plots): the same numbers
    task_module, args = parse_args(["names", *TINY, "--seed", "3"])
    again = task_module.run(args)
    for key in ("dev_loss", "bigram_dev_loss", "gender_balanced_accuracy", "samples", "history"):
        assert again[key] == results[key]


def test_bad_settings_are_refused_before_training():
    out = command("names", "--context", "0")
    assert out.returncode == 2 and "--context must be >= 1" in out.stderr


def test_without_the_names_package_a_one_line_message_names_the_extra():
    code = ("import sys; sys.modules['names'] = None; from micrograd_c.__main__ import main; "
            "sys.exit(main(['names', '--steps', '1']))")
    out = command(code=code)
    assert out.returncode != 0
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "micrograd-c[text]" in out.stderr
