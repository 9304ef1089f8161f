"""A long training run in bounded memory: node store and process size stop growing after warm-up."""
import math
import os
import random
import sys

import micrograd_c
from micrograd_c import Value, nn
from micrograd_c.moons import L2_WEIGHT, learning_rate

STEPS, WARM_UP = 2000, 200


def moons(n, rng):
    """n points of two interleaved half circles (sklearn's make_moons, noise 0.1), labels -1/+1."""
    X, y = [], []
    for i in range(n):
        t = math.pi * rng.random()
        if i % 2:
            X.append([math.cos(t) + rng.gauss(0, 0.1), math.sin(t) + rng.gauss(0, 0.1)])
            y.append(-1.0)
        else:
            X.append([1 - math.cos(t) + rng.gauss(0, 0.1), 0.5 - math.sin(t) + rng.gauss(0, 0.1)])
            y.append(1.0)
    return X, y


def rss_bytes():
    """Resident set size now (Linux), else the peak so far (which can only stop growing too), else
    None (Windows: no POSIX `resource` module, which is imported here, not at the top, so that
    the module is collected there)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        pass
    try:
        import resource
    except ImportError:
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)


def test_two_thousand_training_steps_run_in_bounded_memory():
    random.seed(1337)
    X, y = moons(20, random.Random(0))
    model = nn.MLP(2, [16, 16, 1])
    params = model.parameters()
    inputs = [[Value(a), Value(b)] for a, b in X]
    base_live = micrograd_c.memory_stats()["live_nodes"]

    def step(k):
        scores = [model(x) for x in inputs]
        losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]  # svm "max-margin" loss
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = L2_WEIGHT * sum(p * p for p in params)
        total = data_loss + reg_loss
        model.zero_grad()
        total.backward()
        lr = learning_rate(k, STEPS)
        for p in params:
            p.data -= lr * p.grad
        accuracy = sum((yi > 0) == (si.data > 0) for yi, si in zip(y, scores)) / len(y)
        return total.data, accuracy

    figures = {}
    for k in range(STEPS):
        loss, accuracy = step(k)
        if k == 0:
            first_loss = loss
        assert micrograd_c.memory_stats()["live_nodes"] == base_live  # every step's graph freed
        if k in (WARM_UP, STEPS - 1):
            figures[k] = (micrograd_c.memory_stats()["capacity_nodes"], rss_bytes())
    (cap_warm, rss_warm), (cap_end, rss_end) = figures[WARM_UP], figures[STEPS - 1]
    mib = (lambda b: "unknown" if b is None else f"{b / 2**20:.1f} MiB")
    report = (f"after {WARM_UP} steps: capacity_nodes={cap_warm} rss={mib(rss_warm)}; "
              f"after {STEPS}: capacity_nodes={cap_end} rss={mib(rss_end)}; "
              f"loss {first_loss:.4f} -> {loss:.4f}, accuracy {accuracy:.0%}")
    print(report)
    assert cap_end == cap_warm, report
    if rss_end is not None and "libasan" not in os.environ.get("LD_PRELOAD", ""):  # ASan: quarantine
        assert rss_end - rss_warm < 2**20, report  # < 1 MiB: each step builds ~1,300 nodes, ~2.6M in all
    assert loss < first_loss / 2, report  # and it was really training
