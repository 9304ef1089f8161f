"""The digits task: handwritten digits, the 1,797 8x8 images scikit-learn ships, classified
by a micrograd MLP, as `python -m micrograd_c digits` runs it (needs the digits extra:
pip install 'micrograd-c[digits]').

MLP(64, [32, 10]) on the 64 pixels scaled to [0, 1], a fixed, stratified 80/20 split into
training and test images (the same for every --seed, which picks the weights and the order of
the minibatches), cross-entropy loss, Adam on shuffled minibatches of 32 for 30 epochs. A
minibatch's forward is one C call and its backward another: the loss of one image is
recorded once (micrograd_c.compile), then replayed for every image of the batch, and its
backward adds their gradients into the model's parameters. Before training and after each
epoch the test images are scored the same way (their logits in one call) for the test loss
and accuracy. Pictures: the training curves, the confusion matrix of the test images, the
misclassified test images, and the gradient pictures every task draws (viz's plot_grad_scatter, plot_grad_flow and
plot_grad_norms).
"""
import os

import numpy as np

from . import viz
from ._tasks import Clock, need, progress, seed_all
from .compile import compile
from .losses import cross_entropy
from .nn import MLP
from .optim import Adam

HELP = "sklearn's 8x8 handwritten digits: MLP(64, [32, 10]), cross-entropy, Adam on minibatches"
SEED = 0
CLASSES = 10
SPLIT_SEED = 0  # the split's: one test set for every run, so that runs compare
PLOTS = ("training_curves", "confusion_matrix", "misclassified", "grad_scatter", "grad_flow",
         "grad_norms")


def load_data(samples=None, seed=SPLIT_SEED):
    """(X_train, X_test, y_train, y_test): the digits' pixels scaled to [0, 1] (rows of 64) and
    their labels 0-9, split 80/20 with each digit in both parts as often as in the whole (the
    split seed picks which); samples: only the first that many images (None: all 1,797)."""
    need("sklearn", "digits", "the digits task")
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X, y = digits.data[:samples] / 16.0, digits.target[:samples]  # (pixels are 0..16)
    return train_test_split(X, y, test_size=0.2, random_state=seed, stratify=y)


def evaluate(logits, y):
    """(mean cross-entropy, accuracy) of the logits (N, 10) of images labelled y, in numpy."""
    shifted = logits - logits.max(axis=1, keepdims=True)  # (so that exp cannot overflow)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(len(y)), y].mean()
    return float(loss), float((logits.argmax(axis=1) == y).mean())


def compiled_loss(model):
    """model's cross-entropy on one image, compiled: .batch(X, targets, reduce="mean") is the
    mean loss of a minibatch as one Value, its forward and its backward one C call each. The
    targets are one-hot rows (class probabilities): numbers, which a recording takes as inputs."""
    return compile(lambda x, target: cross_entropy(model(x), target))


def minibatches(n, batch_size, rng):
    """The indices 0..n-1 shuffled, cut into minibatches of batch_size (the last may be smaller)."""
    order = rng.permutation(n)
    return [order[k:k + batch_size] for k in range(0, n, batch_size)]


# ---- the command: python -m micrograd_c digits ----

def add_arguments(p):
    p.add_argument("--epochs", type=int, default=30, help="passes over the training images (default 30)")
    p.add_argument("--batch-size", type=int, default=32, help="images a step (default 32)")
    p.add_argument("--lr", type=float, default=1e-2, help="Adam's learning rate (default 0.01)")
    p.add_argument("--hidden", type=int, default=32, help="neurons of the hidden layer (default 32)")
    p.add_argument("--samples", type=int, default=None, metavar="N",
                   help="use only the first N of the 1,797 images (default all; at least 50)")


def check_arguments(args, error):
    for flag, value in (("--epochs", args.epochs), ("--batch-size", args.batch_size),
                        ("--hidden", args.hidden)):
        if value < 1:
            error(f"{flag} must be >= 1")
    if not args.lr > 0:
        error("--lr must be > 0")
    # (a test part of 20% with every digit in it needs 10 images; the training part, 40)
    if args.samples is not None and args.samples < 50:
        error("--samples must be >= 50")


def run(args):
    """Train; print the test accuracy, save the pictures; return the numbers."""
    X_train, X_test, y_train, y_test = load_data(args.samples)
    seed_all(args.seed)  # (the MLP's weights come from Python's generator)
    rng = np.random.default_rng(args.seed)
    model = MLP(64, [args.hidden, CLASSES])
    optimizer = Adam(model.parameters(), lr=args.lr)
    minibatch_loss = compiled_loss(model)
    predict = compile(lambda x: model(x))  # .batch(X): the logits of every image, (N, 10)
    targets = np.eye(CLASSES)[y_train]
    grad_history = []  # each step's grad norms, by layer, for the gradient pictures
    print(f"micrograd_c digits: {len(X_train)} training and {len(X_test)} test images, "
          f"MLP(64, [{args.hidden}, {CLASSES}]), {args.epochs} epochs of minibatches of "
          f"{args.batch_size}, Adam lr {args.lr}", flush=True)
    logits = predict.batch(X_test)
    test_loss, accuracy = evaluate(logits, y_test)
    history = [{"epoch": 0, "step": 0, "train_loss": None, "loss": test_loss, "accuracy": accuracy}]
    steps_per_epoch = -(-len(X_train) // args.batch_size)
    clock, step = Clock(), 0
    with progress(args.epochs * steps_per_epoch, "step") as bar:
        for epoch in range(1, args.epochs + 1):
            losses = []
            for batch in minibatches(len(X_train), args.batch_size, rng):
                with clock:
                    loss = minibatch_loss.batch(X_train[batch], targets[batch], reduce="mean")
                    optimizer.zero_grad()
                    loss.backward()
                if args.plot_dir:  # (reading every grad costs about a tenth of a step)
                    grad_history.append({"step": step, "grad_norms": viz.grad_norms(model)})
                with clock:
                    optimizer.step()
                step += 1
                losses.append(loss.data)
                bar.set_postfix_str(f"epoch {epoch}, loss {loss.data:.4f}", refresh=False)
                bar.update()
            logits = predict.batch(X_test)
            test_loss, accuracy = evaluate(logits, y_test)
            history.append({"epoch": epoch, "step": step, "train_loss": float(np.mean(losses)),
                            "loss": test_loss, "accuracy": accuracy})
            bar.set_postfix_str(f"epoch {epoch}, test accuracy {accuracy:.1%}", refresh=False)
    predicted = logits.argmax(axis=1)
    right = int((predicted == y_test).sum())
    print(f"test accuracy {accuracy:.1%} ({right} of {len(y_test)}), test loss {test_loss:.4f}, "
          f"training loss {history[-1]['train_loss']:.4f}")
    print(f"time {clock.seconds:.2f} s")
    if args.plot_dir:
        save_plots(args.plot_dir, model, history, grad_history, X_test, y_test, predicted)
    return {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
            "hidden": args.hidden, "train_images": len(X_train), "test_images": len(X_test),
            "test_loss": test_loss, "test_accuracy": accuracy, "loss": test_loss, "accuracy": accuracy,
            "train_loss": history[-1]["train_loss"],
            "train_seconds": clock.seconds, "history": history}


def save_plots(directory, model, history, grad_history, X_test, y_test, predicted):
    paths = {name: os.path.join(directory, name + ".png") for name in PLOTS}
    viz.plot_training_curves(history, paths["training_curves"],
                             title="digits: test loss and accuracy after each epoch")
    viz.plot_confusion_matrix(y_test, predicted, paths["confusion_matrix"], labels=range(CLASSES))
    plot_misclassified(X_test, y_test, predicted, paths["misclassified"])
    viz.plot_grad_scatter(model, paths["grad_scatter"], title="MLP's gradients, last step")
    viz.plot_grad_flow(model, paths["grad_flow"], title="MLP's gradient flow, last step")
    viz.plot_grad_norms(grad_history, paths["grad_norms"], title="MLP's gradient norms, each step")
    for path in paths.values():
        print(f"saved {path}")


def plot_misclassified(X, y, predicted, path, most=24):
    """The test images the model got wrong (up to `most`), each titled with its label and the
    model's guess."""
    wrong = np.flatnonzero(predicted != y)[:most]
    ncols = 8
    nrows = max(1, -(-len(wrong) // ncols))
    fig = viz._figure(figsize=(1.3 * ncols, 1.5 * nrows + 0.5))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes:
        ax.set_axis_off()
    for ax, k in zip(axes, wrong):
        ax.imshow(X[k].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(f"{y[k]} read as {predicted[k]}", fontsize=9, color="#c44e52")
    total = int((predicted != y).sum())
    shown = f", the first {len(wrong)}" if total > len(wrong) else ""
    fig.suptitle(f"digits: the {total} misclassified test images{shown} (label read as guess)"
                 if total else "digits: no test image misclassified")
    return viz._done(fig, path)
