"""Toy data sets for the demo, in numpy (no scikit-learn needed)."""
from __future__ import annotations

import math
import numbers
import operator

import numpy as np


class InvalidParameterError(ValueError, TypeError):
    """An argument of the wrong type or out of range. Both a ValueError and a TypeError, as
    scikit-learn's own InvalidParameterError is, so code catching either catches it."""


def make_moons(n_samples: int | tuple[int, int] = 100, *, shuffle: bool = True,
               noise: float | None = None,
               random_state: int | np.random.RandomState | None = None,
               ) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles: sklearn.datasets.make_moons, in numpy alone.

    It takes the same arguments as scikit-learn's, and gives the same numbers for them:

    n_samples: how many points, split between the two moons (the outer one gets the smaller
        half), or a tuple (n_out, n_in) of each moon's count.
    shuffle: whether to shuffle the points; if not, the outer moon's come first.
    noise: the standard deviation of Gaussian noise added to every coordinate (None: none).
    random_state: what draws the random numbers: None for numpy's global RandomState (so
        after np.random.seed(1337) this gives the very points karpathy's demo notebook gets
        from sklearn), an int to seed a new RandomState with, or a RandomState.

    Returns X, the n points (float64, of shape (n, 2)), and y, each point's moon (0 for the
    outer one, 1 for the inner one; intp, of shape (n,)). Bad arguments raise a ValueError or
    TypeError, as scikit-learn's do.
    """
    n_out, n_in = _moon_sizes(n_samples)
    _check(isinstance(shuffle, (bool, np.bool_)), "shuffle", "a bool", shuffle)
    _check(noise is None or isinstance(noise, numbers.Real) and 0 <= noise < math.inf,
           "noise", "None or a finite real number >= 0", noise)
    rng = _random_state(random_state)

    t_out = np.linspace(0, np.pi, n_out)
    t_in = np.linspace(0, np.pi, n_in)
    X = np.vstack([np.append(np.cos(t_out), 1 - np.cos(t_in)),
                   np.append(np.sin(t_out), 1 - np.sin(t_in) - 0.5)]).T
    y = np.hstack([np.zeros(n_out, dtype=np.intp), np.ones(n_in, dtype=np.intp)])
    if shuffle:  # X and y in one order, drawn as sklearn.utils.shuffle draws it
        order = np.arange(n_out + n_in)
        rng.shuffle(order)
        X, y = X[order], y[order]
    if noise is not None:
        X += rng.normal(scale=noise, size=X.shape)
    return X, y


def _check(ok, name, expected, value):
    if not ok:
        raise InvalidParameterError(f"make_moons: {name} must be {expected}, not {value!r}")


def _moon_sizes(n_samples):
    """The number of points of the outer moon and of the inner one."""
    if isinstance(n_samples, numbers.Integral) and n_samples >= 1:
        n_out = n_samples // 2
        return n_out, n_samples - n_out
    _check(isinstance(n_samples, tuple), "n_samples", "an int >= 1 or a tuple (n_out, n_in)",
           n_samples)
    if len(n_samples) != 2:
        raise ValueError(f"make_moons: n_samples as a tuple must be (n_out, n_in), two counts, "
                         f"not {n_samples!r}")
    n_out, n_in = n_samples
    return _count(n_out), _count(n_in)


def _count(n):
    """One moon's count from an n_samples tuple: an int >= 0 (not a bool, as in sklearn)."""
    try:
        count = operator.index(n)
    except TypeError:
        count = None
    if count is None or isinstance(n, bool):
        raise TypeError(f"make_moons: the counts in n_samples must be ints, not {n!r}")
    if count < 0:
        raise ValueError(f"make_moons: the counts in n_samples must be >= 0, not {count}")
    return count


def _random_state(random_state):
    """The RandomState to draw from, picked as sklearn.utils.check_random_state picks it."""
    if random_state is None:
        return np.random.mtrand._rand  # numpy's global RandomState, which np.random.seed seeds
    if isinstance(random_state, np.random.RandomState):
        return random_state
    _check(isinstance(random_state, numbers.Integral) and 0 <= random_state < 2**32,
           "random_state", "None, an int in [0, 2**32) or a numpy.random.RandomState",
           random_state)
    return np.random.RandomState(random_state)
