"""The moons demo of micrograd (demo.ipynb): its data, its training step, and the same step in numpy."""
import random

import numpy as np

from micrograd_c.moons import L2_WEIGHT, learning_rate, train_step  # noqa: F401  (the demo's step)
from micrograd_c.data import make_moons


def moons(n_samples=100, seed=1337):
    """X (n, 2) float64 and y in {-1, 1}, as the demo makes them (y = y*2 - 1)."""
    try:
        X, y = make_moons(n_samples=n_samples, noise=0.1, random_state=seed)
    except TypeError:  # a --baseline build from before make_moons took scikit-learn's arguments
        X, y = make_moons(n_samples=n_samples, noise=0.1, seed=seed)
    return np.asarray(X, dtype=np.float64), np.where(np.asarray(y) > 0, 1, -1)


# ---- the same step on the whole batch at once: what the hardware can do ----

def numpy_mlp(nin, nouts):
    """[W, b] per layer, W[j] being neuron j's weights, drawn as micrograd's MLP(nin, nouts) draws them."""
    sizes = [nin] + nouts
    return [[np.array([[random.uniform(-1, 1) for _ in range(a)] for _ in range(b)]), np.zeros(b)]
            for a, b in zip(sizes, sizes[1:])]


def numpy_train_step(layers, X, y, k, alpha=L2_WEIGHT):
    """train_step for a numpy_mlp, the 100 samples as one matrix; returns (loss, accuracy)."""
    h, inputs = X, []
    for i, (W, b) in enumerate(layers):
        inputs.append(h)
        h = h @ W.T + b
        if i < len(layers) - 1:
            h = np.maximum(h, 0.0)
    scores = h[:, 0]
    margins = 1 + -y * scores
    data_loss = np.maximum(margins, 0.0).sum() * (1.0 / len(y))
    reg_loss = alpha * sum((W * W).sum() + (b * b).sum() for W, b in layers)
    accuracy = np.mean((y > 0) == (scores > 0))

    g = (-y * (margins > 0) * (1.0 / len(y)))[:, None]  # d loss / d scores
    grads = []
    for i in reversed(range(len(layers))):
        W, b = layers[i]
        grads.append((g.T @ inputs[i] + 2 * alpha * W, g.sum(0) + 2 * alpha * b))
        if i:
            g = (g @ W) * (inputs[i] > 0)  # through this layer, then the ReLU that made its input
    lr = learning_rate(k)
    for (W, b), (gW, gb) in zip(layers, reversed(grads)):
        W -= lr * gW
        b -= lr * gb
    return float(data_loss + reg_loss), float(accuracy)
