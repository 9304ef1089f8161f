"""Helpers the test files share."""
import gc
import math
import os
import struct
import warnings

import micrograd_c
from micrograd_c import Value, reference


# Subprocesses import the micrograd_c this process tests (a script's own folder comes first on
# sys.path, not the working directory). Under scripts/sanitize.sh they run with ASan and UBSan
# but without LeakSanitizer, whose stop-the-world check at exit crashed now and then in these
# processes ("Tracer caught signal 11", in LSan itself); this process checks for leaks.
SAME_PACKAGE = dict(os.environ, PYTHONPATH=os.pathsep.join(
    [os.path.dirname(os.path.dirname(micrograd_c.__file__))] + os.environ.get("PYTHONPATH", "").split(os.pathsep)))
if "ASAN_OPTIONS" in SAME_PACKAGE:
    SAME_PACKAGE["ASAN_OPTIONS"] += ":detect_leaks=0"


def bits(x):
    """A number to the bit (so 0.0 and -0.0 differ, and the int 0 and 0.0 do: micrograd keeps
    ints as ints), except that every nan is the same nan."""
    if type(x) is int:
        return x
    assert type(x) is float, type(x)
    return "nan" if math.isnan(x) else struct.pack("<d", x)


def live():
    """How many nodes the C store holds."""
    return micrograd_c.memory_stats()["live_nodes"]


def live_collected(expected=None):
    """How many nodes the C store holds once the collector has freed what is garbage only to it:
    a custom op's closure refers to its own Value, a cycle (as in micrograd). (memory_stats()
    first lets go of such Values kept for parents that are gone: see engine._kept.) Given the
    count expected, the youngest objects are collected first, and all only if that falls short:
    after a collection of all, the next `_prev` looks at every object (see engine._find_values)."""
    micrograd_c.memory_stats()
    if expected is not None:
        gc.collect(0)
        if live() == expected:
            return expected
    count = None
    while count != live():  # (a kept Value freed may free another's last parent)
        count = live()
        gc.collect()
    return count


def outcome(f, V):
    """What f(V) gives: ("ok", its results, each float as its bits, each str as it is) or
    ("raises", the exception's type)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy's own warnings for e.g. np.float64(0) ** -1
            out = f(V)
    except Exception as e:
        return "raises", type(e)
    return "ok", tuple(x if isinstance(x, str) else bits(x) for x in out)


def same_in_both(f, *why):
    """f on the C engine and on the reference gives the same outcome (see `outcome`): returned."""
    c, r = outcome(f, Value), outcome(f, reference.Value)
    assert c == r, why
    return c
