"""The moons demo: karpathy's demo notebook, as `python -m micrograd_c [moons]` runs it.

MLP(2, [16, 16, 1]) on 100 half-moon points, svm max-margin loss plus an L2
penalty, plain SGD with a learning rate that falls from 1.0 to 0.1 over the
steps. Benchmarks and tests import the step from here, so all of them train
what the demo trains.
"""
import os
import random

import numpy as np

from ._tasks import Clock, progress
from .data import make_moons

HELP = "micrograd's demo notebook: MLP(2, [16, 16, 1]) on two half-moons (the default task)"
SEED = 1337  # the notebook's
PLOTS = ("decision_boundary", "training_curves", "grad_histograms")  # what --plot-dir saves

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


# ---- the command: python -m micrograd_c [moons] ----

def add_arguments(p):
    p.add_argument("--steps", type=int, default=100,
                   help="training steps (default 100); the learning rate falls from 1.0 to 0.1 over them")
    p.add_argument("--engine", choices=["c", "reference"], default="c",
                   help="c: micrograd_c (default); reference: the pure-Python reference")
    p.add_argument("--plot", metavar="FILE.png", help="save the decision boundary to FILE.png")


def check_arguments(args, error):
    if args.steps < 0:
        error("--steps must be >= 0")
    if (args.plot or args.plot_dir) and args.steps == 0:
        error("nothing to plot with --steps 0")
    if args.plot and not os.path.isdir(os.path.dirname(os.path.abspath(args.plot))):
        error(f"--plot {args.plot}: no such directory {os.path.dirname(os.path.abspath(args.plot))}")


def run(args):
    """Train as the notebook does; print the result, save the pictures; return the numbers."""
    Value, MLP = engine(args.engine)
    print(f"micrograd_c demo: moons, MLP(2, [16, 16, 1]), {args.steps} steps, engine {args.engine}",
          flush=True)
    history, model, X, y, clock = [], None, None, None, Clock()
    with progress(args.steps, "step") as bar, clock:
        for model, X, y, rec in train(Value, MLP, args.steps, args.seed):
            history.append(rec)
            bar.set_postfix_str(f"loss {rec['loss']:.4f}, accuracy {rec['accuracy']:.0%}", refresh=False)
            bar.update()
    if history:
        print(f"final accuracy {history[-1]['accuracy'] * 100:.1f}%, loss {history[-1]['loss']:.6f}")
    print(f"time {clock.seconds:.2f} s")
    if args.plot or args.plot_dir:
        save_plots(args, model, X, y, history)
    return {"steps": args.steps, "engine": args.engine,
            "loss": history[-1]["loss"] if history else None,
            "accuracy": history[-1]["accuracy"] if history else None,
            "train_seconds": clock.seconds, "history": history}


def save_plots(args, model, X, y, history):
    from . import viz
    if args.plot:
        viz.plot_decision_boundary(model, X, y, path=args.plot)
        print(f"decision boundary: {args.plot}")
    if args.plot_dir:
        paths = {name: os.path.join(args.plot_dir, name + ".png") for name in PLOTS}
        viz.plot_decision_boundary(model, X, y, path=paths["decision_boundary"])
        viz.plot_training_curves(history, path=paths["training_curves"])
        viz.plot_grad_histograms(model, path=paths["grad_histograms"])
        for path in paths.values():
            print(f"saved {path}")
