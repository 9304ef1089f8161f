"""Threads: 8 threads building graphs on shared parameters, running backward at once, and
releasing each other's Values, give exactly what the same work gives run one thread at a time.

Every number is a small integer, so a shared leaf's grad (a sum of many contributions) is exact
whatever order the threads add them in: any lost or doubled update shows as a wrong number.
"""
import queue
import random
import subprocess
import sys
import textwrap
import threading

import micrograd_c
from micrograd_c import Value, nn

THREADS, ROUNDS = 8, 1500


def make_params():
    params = [Value(float(v)) for v in (-3, -2, -1, 0, 1, 2, 3, 1)]
    layer = nn.Layer(4, 3)  # fused neurons whose weights every thread shares
    for i, p in enumerate(layer.parameters()):
        p.data = float(i % 5 - 2)
    return params, layer


def work(t, params, layer, handoff):
    """One thread's share: ROUNDS small graphs on the shared leaves, each backward'ed and handed off."""
    rng = random.Random(t)
    outs = []
    for i in range(ROUNDS):
        a, b, c = (rng.choice(params) for _ in range(3))
        k = float(rng.randint(-3, 3))
        y = (a * b - c * k + a ** 2).relu() + (-b) * 2.0 - (c + k)
        if i % 10 == 0:
            h = layer([a, b, c, y.relu() - y])
            y = y + h[0] - h[1] * h[2].relu()
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


def test_threads_give_exactly_the_sequential_results():
    base = micrograd_c.memory_stats()["live_nodes"]
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads as often as possible: more interleavings
    try:
        threaded = run_threaded()
    finally:
        sys.setswitchinterval(old)
    sequential = run_sequential()
    assert threaded[0] == sequential[0]  # each thread's outputs
    assert threaded[1] == sequential[1]  # the consumer's sum
    assert threaded[2] == sequential[2]  # every shared parameter's data and grad
    assert any(g != 0.0 for _, g in threaded[2])
    assert micrograd_c.memory_stats()["live_nodes"] == base  # everything released, from whichever thread


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
                           capture_output=True, text=True, timeout=120)
        assert (r.returncode, r.stdout, r.stderr) == (0, "main thread done True\n", ""), delay
