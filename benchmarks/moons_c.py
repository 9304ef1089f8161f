"""The hand-written C moons step (moons_step.c), built with cffi the first time it is used.

The limit line: the same step as the numpy one (benchmarks/moons.py), with no graph and no
Python per sample. Built into benchmarks/build/ (not kept in git); needs a C compiler, as a
checkout does anyway.
"""
import importlib
import os
import sys

import numpy as np

from . import moons

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(HERE, "build")
CDEF = """
typedef struct { double *W1, *b1, *W2, *b2, *W3, *b3; } Layers;
double moons_step(Layers *m, const double *X, const double *y, int n, double alpha, double lr,
                  double *accuracy);
"""


def _module():
    """The compiled module, built once into BUILD."""
    if BUILD not in sys.path:
        sys.path.insert(0, BUILD)
    try:
        return importlib.import_module("_moons_step")
    except ImportError:
        pass
    from cffi import FFI
    ffi = FFI()
    ffi.cdef(CDEF)
    with open(os.path.join(HERE, "moons_step.c")) as f:
        ffi.set_source("_moons_step", f.read(), extra_compile_args=["-O2", "-ffp-contract=off"]
                       if sys.platform != "win32" else ["/O2", "/fp:precise"])
    os.makedirs(BUILD, exist_ok=True)
    ffi.compile(tmpdir=BUILD)
    importlib.invalidate_caches()
    return importlib.import_module("_moons_step")


def c_train_step(layers, X, y, k):
    """numpy_train_step's step, by the C function: layers as numpy_mlp draws them."""
    lib, ffi = _module().lib, _module().ffi
    arrays = [a for W, b in layers for a in (W, b)]  # (float64, C order: numpy_mlp's)
    m = ffi.new("Layers *", {name: ffi.from_buffer("double[]", a) for name, a in
                             zip(("W1", "b1", "W2", "b2", "W3", "b3"), arrays)})
    Xc = np.ascontiguousarray(X, dtype=np.float64)
    yc = np.ascontiguousarray(y, dtype=np.float64)
    accuracy = ffi.new("double *")
    loss = lib.moons_step(m, ffi.from_buffer("double[]", Xc), ffi.from_buffer("double[]", yc),
                          len(yc), moons.L2_WEIGHT, moons.learning_rate(k), accuracy)
    return float(loss), float(accuracy[0])
