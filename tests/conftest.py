"""Hypothesis profiles: "ci" (the default: few examples, the same ones every run) and "long"
(many more, freshly drawn). Pick one with HYPOTHESIS_PROFILE=long. And the fixtures several
files use."""
import gc
import glob
import os
import sys

import pytest
from hypothesis import HealthCheck, settings


def _source_tree_without_extension():
    """The checkout's folder if its micrograd_c/ has no compiled _core (a non-editable install:
    the extension is in site-packages); else None."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    package = os.path.join(root, "micrograd_c")
    if os.path.isdir(package) and not glob.glob(os.path.join(package, "_core.*")):
        return root
    return None


# `python -m pytest` puts the working directory first on sys.path: in a checkout installed with
# `pip install .` (not -e), the source folder would shadow the installed package and every test
# would fail to import its compiled core. Test the installed package instead.
_root = _source_tree_without_extension()
if _root is not None:
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _root]

import micrograd_c  # noqa: E402

settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=3000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_collection_finish(session):
    """What collecting imported (torch, scikit-learn, matplotlib: hundreds of thousands of
    objects) is frozen out of the garbage collector's way (gc.freeze), so that a test making
    many reference cycles (custom ops' closures) collects as fast as it does alone: else every
    full collection walks them all (the fuzz test took 110 s after the imports, 31 s alone)."""
    gc.freeze()


@pytest.fixture(autouse=True)
def no_garbage_from_earlier_tests():
    """Tests count live nodes: the garbage of earlier tests (custom ops' closures are cycles, as
    in micrograd's) is freed before each, so the collector cannot free it mid-count."""
    from micrograd_c import engine
    from helpers import live_collected
    # (only where Values that can be in such cycles are alive: a collection takes tens of ms)
    if engine._kept or any(ref() is not None for ref in engine._parked.values()):
        live_collected()


@pytest.fixture
def node_limit():
    """micrograd_c.set_node_limit, always lifted again at the end of the test."""
    yield micrograd_c.set_node_limit
    micrograd_c.set_node_limit(0)
