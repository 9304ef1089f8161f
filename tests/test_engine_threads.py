"""Python threads building and differentiating graphs at once, on one shared node store and
with shared parameter Values: each thread gets what it gets alone, and nothing leaks."""
import random
import sys
import threading

import pytest

import micrograd_c
from micrograd_c import Value

THREADS = 4
SHARED = [1.0, -2.0, 3.0, 0.5, 0.0]


def work(seed, shared, rounds=300):
    """Graphs with every op on this thread's own leaves, plus the shared parameters in terms
    whose partials are small integers: each shared grad is then a sum of small integers,
    exact in any order, so it does not depend on how the threads interleave."""
    rng = random.Random(seed)
    results = []
    for _ in range(rounds):
        x = [Value(rng.uniform(-2, 2)) for _ in range(3)]
        ks = [rng.randint(-3, 3) for _ in shared]
        own = ((x[0] * x[1]).tanh() + x[2].exp() / (1 + x[0] ** 2)).sigmoid() \
            - (x[1] ** 2 + 1).log() + x[2].relu() - 2.5 / (x[0] - 3)
        loss = own + sum(k * w + w * w + (-w).relu() for k, w in zip(ks, shared))
        loss.backward()
        results.append((loss.data, [xi.grad for xi in x]))
    return results


@pytest.fixture
def busy_switching():
    """Switch threads as often as Python allows, so that they interleave everywhere."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def test_threads_get_their_single_thread_results(busy_switching):
    base = micrograd_c.memory_stats()["live_nodes"]
    shared = [Value(w) for w in SHARED]
    alone = [work(seed, shared) for seed in range(THREADS)]
    alone_grads = [w.grad for w in shared]
    for w in shared:
        w.grad = 0.0

    results = [None] * THREADS
    start = threading.Barrier(THREADS)

    def run(i):
        start.wait()
        results[i] = work(i, shared)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == alone  # a thread that raised left its None here
    assert [w.grad for w in shared] == alone_grads
    assert alone_grads != [0.0] * len(SHARED)
    del shared, w
    assert micrograd_c.memory_stats()["live_nodes"] == base


def test_values_dropped_on_other_threads_are_freed(busy_switching):
    """Values made on one thread and dropped on others: their nodes are freed all the same."""
    base = micrograd_c.memory_stats()["live_nodes"]
    batches = [[Value(float(i)) * 2 for i in range(3000)] for _ in range(THREADS)]
    start = threading.Barrier(THREADS)

    def drop(i):
        start.wait()
        batch = batches[i]
        batches[i] = None
        while batch:
            batch.pop().backward()

    threads = [threading.Thread(target=drop, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert batches == [None] * THREADS
    assert micrograd_c.memory_stats()["live_nodes"] == base
