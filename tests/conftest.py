"""Hypothesis profiles: "ci" (the default: few examples, the same ones every run) and "long"
(many more, freshly drawn). Pick one with HYPOTHESIS_PROFILE=long. And the fixtures several
files use."""
import os

import pytest
from hypothesis import HealthCheck, settings

import micrograd_c

settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=3000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


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
