"""micrograd_c.data.make_moons: scikit-learn's make_moons, argument for argument, number for
number."""
import itertools

import numpy as np
import pytest

from micrograd_c.data import make_moons


def test_make_moons_shape_labels_and_geometry():
    X, y = make_moons(n_samples=101, noise=0.0, random_state=3)
    assert X.shape == (101, 2) and y.shape == (101,)
    assert sorted(np.bincount(y)) == [50, 51]
    # without noise the points lie on the two unit half circles
    upper = np.hypot(X[y == 0, 0], X[y == 0, 1])
    lower = np.hypot(X[y == 1, 0] - 1, X[y == 1, 1] - 0.5)
    assert np.allclose(upper, 1) and np.allclose(lower, 1)
    assert (X[y == 0, 1] >= -1e-12).all() and (X[y == 1, 1] <= 0.5 + 1e-12).all()


def test_make_moons_random_state_and_global_state():
    a, _ = make_moons(noise=0.1, random_state=5)
    b, _ = make_moons(noise=0.1, random_state=5)
    c, _ = make_moons(noise=0.1, random_state=6)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    np.random.seed(1337)
    d, _ = make_moons(noise=0.1)
    np.random.seed(1337)
    e, _ = make_moons(noise=0.1)
    assert np.array_equal(d, e)


def test_make_moons_tuple_sizes_and_no_shuffle():
    X, y = make_moons((3, 5), shuffle=False)
    assert y.tolist() == [0, 0, 0, 1, 1, 1, 1, 1]
    assert np.allclose(X[:3], [[1, 0], [0, 1], [-1, 0]])  # the outer moon, t from 0 to pi
    X, y = make_moons((0, 0))
    assert X.shape == (0, 2) and y.shape == (0,)


def test_make_moons_keyword_only_and_no_seed():
    with pytest.raises(TypeError):
        make_moons(100, True)
    with pytest.raises(TypeError):
        make_moons(seed=1)  # the old keyword: now random_state, as in scikit-learn


# ---- against scikit-learn ----

SIZES = [1, 2, 3, 4, 7, 100, 101, np.int64(9),
         (0, 0), (0, 3), (3, 0), (1, 1), (2, 5), (50, 50), (np.int32(4), 3)]
NOISES = [None, 0, 0.0, 0.3, np.float32(0.2)]
STATES = ["global", 0, 42, np.int64(7), 2**32 - 1, "instance"]


def _random_state(kind):
    """The random_state argument for `kind`, made fresh (a RandomState is used up by a call);
    "global" is None after np.random.seed."""
    if kind == "global":
        np.random.seed(1337)
        return None
    if kind == "instance":
        return np.random.RandomState(1234)
    return kind


@pytest.mark.parametrize("n_samples, shuffle, noise, state",
                         list(itertools.product(SIZES, [True, False], NOISES, STATES)))
def test_make_moons_equals_sklearn(n_samples, shuffle, noise, state):
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    kwargs = dict(shuffle=shuffle, noise=noise)
    X1, y1 = sklearn_datasets.make_moons(n_samples, random_state=_random_state(state), **kwargs)
    after1 = np.random.get_state()[1].copy()
    X2, y2 = make_moons(n_samples, random_state=_random_state(state), **kwargs)
    after2 = np.random.get_state()[1]
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)
    assert X1.dtype == X2.dtype and y1.dtype == y2.dtype
    assert X1.shape == X2.shape and y1.shape == y2.shape
    assert np.array_equal(after1, after2)  # as much drawn from the global state


def test_make_moons_defaults_equal_sklearn():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    np.random.seed(1337)
    X1, y1 = sklearn_datasets.make_moons()
    np.random.seed(1337)
    X2, y2 = make_moons()
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)
    np.random.seed(1337)  # the demo notebook's data
    X1, y1 = sklearn_datasets.make_moons(n_samples=100, noise=0.1)
    np.random.seed(1337)
    X2, y2 = make_moons(n_samples=100, noise=0.1)
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)


def test_make_moons_random_state_instance_is_drawn_from():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    theirs, ours = np.random.RandomState(3), np.random.RandomState(3)
    for _ in range(3):  # each call goes on from where the last one left the instance
        X1, y1 = sklearn_datasets.make_moons(10, noise=0.1, random_state=theirs)
        X2, y2 = make_moons(10, noise=0.1, random_state=ours)
        assert np.array_equal(X1, X2) and np.array_equal(y1, y2)


BAD = [
    dict(n_samples=0), dict(n_samples=-1), dict(n_samples=2.5), dict(n_samples="3"),
    dict(n_samples=[3, 4]), dict(n_samples=None), dict(n_samples=np.bool_(True)),
    dict(n_samples=(1, 2, 3)), dict(n_samples=(3,)), dict(n_samples=()),
    dict(n_samples=(2.5, 1)), dict(n_samples=("a", 2)), dict(n_samples=(True, 2)),
    dict(n_samples=(-1, 2)), dict(n_samples=(2, None)),
    dict(shuffle="yes"), dict(shuffle=1), dict(shuffle=None),
    dict(noise=-1), dict(noise=-0.1), dict(noise="a"), dict(noise=float("nan")),
    dict(noise=float("inf")), dict(noise=1j), dict(noise=[0.1]),
    dict(random_state="x"), dict(random_state=1.5), dict(random_state=-1), dict(random_state=2**32),
    dict(random_state=np.random.default_rng(0)), dict(random_state=np.random),
]


@pytest.mark.parametrize("kwargs", BAD, ids=repr)
def test_make_moons_rejects_what_sklearn_rejects(kwargs):
    """The same exception types (a ValueError, a TypeError, or one that is both) as sklearn's."""
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    with pytest.raises(Exception) as theirs:
        sklearn_datasets.make_moons(**kwargs)
    with pytest.raises(Exception) as ours:
        make_moons(**kwargs)
    for kind in (ValueError, TypeError):
        assert isinstance(ours.value, kind) == isinstance(theirs.value, kind), \
            (ours.value, theirs.value)
    name = next(iter(kwargs))
    assert name in str(ours.value)  # the message says which argument


def test_make_moons_takes_what_sklearn_takes():
    """Edge cases sklearn accepts: bool and numpy numbers where it takes ints, floats and bools."""
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    for kwargs in [dict(n_samples=True), dict(shuffle=np.bool_(False)),
                   dict(noise=True), dict(noise=1), dict(random_state=True),
                   dict(random_state=np.uint32(5))]:
        X1, y1 = sklearn_datasets.make_moons(**{"random_state": 0, **kwargs})
        X2, y2 = make_moons(**{"random_state": 0, **kwargs})
        assert np.array_equal(X1, X2) and np.array_equal(y1, y2), kwargs
