"""Python threads at once on one shared node store: building graphs of every op, sharing
parameter Values and fused layers, running backward, and releasing each other's Values. Each
thread gets exactly what the same work gets run one thread at a time, nothing leaks, and the
interpreter exits cleanly with threads still running.

A shared parameter's grad is a sum of many contributions, each a small integer: exact whatever
order the threads add them in, so any lost or doubled update shows as a wrong number.
"""
import queue
import random
import subprocess
import sys
import textwrap
import threading

import pytest

import micrograd_c
from micrograd_c import Value, nn
from graphs import ALL_OPS, Program, run
from helpers import SAME_PACKAGE, bits, live, live_collected
from ops import OPS

THREADS, ROUNDS = 8, 1500


@pytest.fixture
def busy_switching():
    """Switch threads as often as Python allows, so that they interleave everywhere."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def make_params():
    params = [Value(float(v)) for v in (-3, -2, -1, 0, 1, 2, 3, 1)]
    layer = nn.Layer(4, 3)  # fused neurons whose weights every thread shares
    for i, p in enumerate(layer.parameters()):
        p.data = float(i % 5 - 2)
    return params, layer


def every_op(rng):
    """A Program of every op of the registry, in random order, on three leaves of its own: any
    float may come of it, and some steps raise."""
    names = rng.sample(ALL_OPS, len(ALL_OPS))
    return Program([rng.uniform(-2, 2) for _ in range(3)],
                   [(name, rng.choice([-1, rng.randrange(100)]), rng.randrange(100),
                     rng.choice(OPS[name].consts) if OPS[name].consts else rng.uniform(-2, 2))
                    for name in names], 1)


def work(t, params, layer, handoff):
    """One thread's share: ROUNDS small graphs on the shared leaves, each backward'ed and handed
    off; one in ten a graph of every op on leaves of its own, too."""
    rng = random.Random(t)
    outs = []
    for i in range(ROUNDS):
        a, b, c = (rng.choice(params) for _ in range(3))
        k = float(rng.randint(-3, 3))
        y = (a * b - c * k + a ** 2).relu() + (-b) * 2.0 - (c + k)
        if i % 10 == 0:
            h = layer([a, b, c, y.relu() - y])
            y = y + h[0] - h[1] * h[2].relu()
        if i % 10 == 5:
            nodes, _, errors = run(Value, every_op(rng))
            outs.append(([bits(n.data) for n in nodes], [bits(n.grad) for n in nodes], errors))
            ks = [rng.randint(-3, 3) for _ in params]
            y = y + sum(kw * w + w * w + (-w).relu() for kw, w in zip(ks, params))
        y.backward()
        outs.append(y.data)
        handoff.put((i, y))  # released by the consumer, on another thread
    handoff.put(None)
    return outs


def consume(handoff, producers):
    """Take Values made on other threads: read them, backward some again, drop them."""
    total, done, n = 0.0, 0, 0
    while done < producers:
        item = handoff.get()
        if item is None:
            done += 1
            continue
        i, y = item
        total += y.data
        if i % 7 == 0:
            y.backward()  # a second backward of a graph made on another thread
        n += 1
        if n % 100 == 0:
            micrograd_c.memory_stats()  # flushes the release queue from this thread too
        del item, y
    return total


def state(params, layer):
    return [(p.data, p.grad) for p in params + layer.parameters()]


def run_sequential():
    params, layer = make_params()
    handoff = queue.Queue()
    outs = [work(t, params, layer, handoff) for t in range(THREADS)]
    return outs, consume(handoff, THREADS), state(params, layer)


def run_threaded():
    params, layer = make_params()
    handoff = queue.Queue()
    outs, totals, errors = [None] * THREADS, [], []
    start = threading.Barrier(THREADS + 1)

    def producer(t):
        try:
            start.wait()
            outs[t] = work(t, params, layer, handoff)
        except BaseException as e:  # reported below: a thread's exception would not fail the test
            errors.append(e)
            handoff.put(None)

    def consumer():
        start.wait()
        totals.append(consume(handoff, THREADS))

    threads = [threading.Thread(target=producer, args=(t,)) for t in range(THREADS)]
    threads.append(threading.Thread(target=consumer))
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    return outs, totals[0], state(params, layer)


def test_threads_give_exactly_the_sequential_results(busy_switching):
    base = live_collected()
    threaded = run_threaded()
    sequential = run_sequential()
    assert threaded[0] == sequential[0]  # each thread's outputs
    assert threaded[1] == sequential[1]  # the consumer's sum
    assert threaded[2] == sequential[2]  # every shared parameter's data and grad
    assert any(g != 0.0 for _, g in threaded[2])
    assert live_collected() == base  # everything released, from whichever thread (custom ops'
    # closures make cycles, as in micrograd: the collector frees those)


def test_values_dropped_on_other_threads_are_freed(busy_switching):
    """Values made on one thread and dropped on others: their nodes are freed all the same."""
    base = live_collected()
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
    assert live() == base


def test_threads_dropping_values_while_others_flush():
    base = live()
    errors = []

    def churn(seed):
        try:
            for i in range(3000):
                xs = [Value(float(seed + i + k)) for k in range(5)]
                y = sum(xs) * 2.0
                assert y.data == 2.0 * sum(float(seed + i + k) for k in range(5))
                if i % 500 == 0:
                    micrograd_c.memory_stats()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=churn, args=(1000 * k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert live() == base


EXIT_WITH_THREADS_RUNNING = textwrap.dedent("""
    import sys, threading, time
    import micrograd_c
    from micrograd_c import Value, nn

    keep = [Value(float(i)) for i in range(100)]
    layer = nn.Layer(3, 4)
    started = threading.Barrier(5)

    def chains():  # long backward passes: exit may come in the middle of one
        started.wait()
        while True:
            y = keep[0]
            for i in range(2000):
                y = y * 1.0 + keep[i % 100]
            y.backward()

    def churn():  # Values made and dropped all the time: exit may come mid-release
        started.wait()
        while True:
            vals = [layer([k, k, k])[0] + k for k in keep]
            del vals

    for f in (chains, churn, chains, churn):
        threading.Thread(target=f, daemon=True).start()
    started.wait()
    time.sleep(float(sys.argv[1]))
    print("main thread done", micrograd_c.memory_stats()["live_nodes"] > 0)
""")


def test_interpreter_exit_with_live_values_and_running_threads():
    for delay in ("0", "0.01", "0.05", "0.2"):
        r = subprocess.run([sys.executable, "-c", EXIT_WITH_THREADS_RUNNING, delay],
                           capture_output=True, text=True, timeout=120, env=SAME_PACKAGE)
        assert (r.returncode, r.stdout, r.stderr) == (0, "main thread done True\n", ""), delay


def test_data_and_grads_read_and_written_while_another_thread_grows_the_store(busy_switching):
    # Python reads and writes data and grads in place, in views of the store's arrays; a
    # thread making nodes meanwhile grows the store under them: what each reads is what it
    # wrote, and the new nodes are right too.
    mine = [Value(float(i)) for i in range(100)]
    stop, built = threading.Event(), []

    def grow():
        x, chains = Value(0.5), []
        while not stop.is_set() and len(chains) < 40:
            y = x
            for _ in range(5000):
                y = y + 1.0
            chains.append(y)
        built.append([c.data for c in chains])

    t = threading.Thread(target=grow)
    t.start()
    rounds = 0
    while t.is_alive() or rounds < 10:
        for i, v in enumerate(mine):
            v.data, v.grad = i + rounds + 0.25, -i * rounds
            assert (v.data, v.grad) == (i + rounds + 0.25, -i * rounds)
            assert type(v.grad) is int
        rounds += 1
    t.join()
    stop.set()
    assert built[0] == [5000.5] * 40 and rounds > 10
