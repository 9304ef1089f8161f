"""The moons demo: karpathy's demo notebook, as `python -m micrograd_c` runs it.

MLP(2, [16, 16, 1]) on 100 half-moon points, svm max-margin loss plus an L2
penalty, plain SGD with a learning rate that falls linearly. Benchmarks and
tests import the step from here, so all of them train what the demo trains.
"""
import random

import numpy as np

from .data import make_moons

L2_WEIGHT = 1e-4  # the notebook's alpha


def learning_rate(k: int, steps: int = 100) -> float:
    """The notebook's schedule at step k: 1.0 falling to 0.1 over `steps` steps (the notebook's
    1.0 - 0.9*k/100 for its 100 steps; stretched to a longer run, so it never goes negative)."""
    return 1.0 - 0.9 * k / steps


def engine(name):
    """(Value, MLP) of an engine: "c" (micrograd_c) or "reference" (the pure-Python oracle)."""
    if name == "reference":
        from .reference import Value
        from .reference.nn import MLP
    else:
        from .engine import Value
        from .nn import MLP
    return Value, MLP


def loss(model, Value, X, y):
    """The notebook's loss(): svm max-margin + L2, and the accuracy; y in {-1, 1}."""
    inputs = [list(map(Value, xrow)) for xrow in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = L2_WEIGHT * sum((p * p for p in model.parameters()))
    accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(y, scores)]
    return data_loss + reg_loss, sum(accuracy) / len(accuracy)


def train_step(model, Value, X, y, k, steps=100):
    """Step k (of `steps`) of the notebook's optimization loop; returns (loss, accuracy)."""
    total_loss, acc = loss(model, Value, X, y)
    model.zero_grad()
    total_loss.backward()
    lr = learning_rate(k, steps)
    for p in model.parameters():
        p.data -= lr * p.grad
    return float(total_loss.data), float(acc)


def train(Value, MLP, steps, seed):
    """Yield (model, X, y, record) after each step; record has step, loss and accuracy."""
    np.random.seed(seed)
    random.seed(seed)
    X, y = make_moons(n_samples=100, noise=0.1)
    y = y * 2 - 1  # labels -1 and 1
    model = MLP(2, [16, 16, 1])
    for k in range(steps):
        total_loss, acc = train_step(model, Value, X, y, k, steps)
        yield model, X, y, {"step": k, "loss": total_loss, "accuracy": acc}
