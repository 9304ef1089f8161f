"""Toy data sets for the demo, in numpy (no scikit-learn needed)."""
import numpy as np


def make_moons(n_samples=100, noise=0.1, seed=None):
    """Two interleaving half circles, as sklearn.datasets.make_moons draws them.

    With seed=None the draws come from numpy's global RandomState, so after
    np.random.seed(1337) this gives the very points karpathy's demo notebook
    gets from sklearn. Returns X of shape (n_samples, 2) and y in {0, 1}.
    """
    rng = np.random.mtrand._rand if seed is None else np.random.RandomState(seed)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    t_out = np.linspace(0, np.pi, n_out)
    t_in = np.linspace(0, np.pi, n_in)
    X = np.vstack([np.append(np.cos(t_out), 1 - np.cos(t_in)),
                   np.append(np.sin(t_out), 1 - np.sin(t_in) - 0.5)]).T
    y = np.hstack([np.zeros(n_out, dtype=np.intp), np.ones(n_in, dtype=np.intp)])
    order = np.arange(n_samples)  # shuffled as sklearn.utils.shuffle does it
    rng.shuffle(order)
    X, y = X[order], y[order]
    X += rng.normal(scale=noise, size=X.shape)
    return X, y
