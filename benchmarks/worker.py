"""One implementation x one workload, in a process of its own:
python -m benchmarks.worker IMPL WORKLOAD SIZE REPEATS MIN_TIME CLOCK  ->  one JSON line on stdout.

A process of its own so that the peak memory is this run's alone, and so that
no implementation runs in a heap another one has filled.
"""
import json
import math
import random
import sys
import time

from . import compiled, impls, mnist, moons

# cpu: this process's CPU time, so that other processes on a shared machine do not count
CLOCKS = {"cpu": time.process_time_ns, "wall": time.perf_counter_ns}
now = CLOCKS["cpu"]

# ---- workload 1 and 2: a graph of mixed scalar ops ----
ROUNDS, ROUND_OPS, LEAVES = 8, 12, 64


def _block(x, y):
    """ROUNDS rounds of ROUND_OPS ops; every value stays in about [-3, 3]."""
    for _ in range(ROUNDS):
        a = x * y
        b = 2.0 * a + 0.5
        c = 1.0 - b / 3.0
        d = c ** 2 - y
        e = d.relu()
        f = e / (1.0 + e)
        x, y = (f - c).tanh(), x
    return x


def build_graph(Value, n_ops):
    """About n_ops ops (+ * - / **2 relu tanh, constants on both sides) in one graph.
    Returns (root, leaves, ops). Blocks are summed pairwise so that the graph stays
    a few hundred nodes deep: micrograd's recursive backward stops near 1,000."""
    leaves = [Value(math.sin(i)) for i in range(LEAVES)]
    blocks = max(1, (n_ops + 1) // (ROUNDS * ROUND_OPS + 1))
    outs = [_block(leaves[i % LEAVES], leaves[(i + 1) % LEAVES]) for i in range(blocks)]
    while len(outs) > 1:
        pairs = [outs[i] + outs[i + 1] for i in range(0, len(outs) - 1, 2)]
        outs = pairs + outs[2 * len(pairs):]
    return outs[0], leaves, blocks * ROUNDS * ROUND_OPS + blocks - 1


def build(impl, n_ops, repeats, min_time):
    """Time from the first op to the graph freed again (del, then impl.release())."""
    before = impl.live_nodes()
    root, leaves, ops = build_graph(impl.Value, n_ops)  # untimed first run: counts, and the peak's memory
    result = {"units": ops, "nodes": impl.count_nodes(root, before), "check": [float(root.data)]}
    if hasattr(impl, "memory_stats"):
        result["memory_stats"] = impl.memory_stats()
    del root, leaves
    impl.release()
    impl.cleanup()
    times, release_times = [], []
    for _ in range(repeats):
        t = now()
        root, leaves, ops = build_graph(impl.Value, n_ops)
        t_built = now()
        del root, leaves
        impl.release()
        times.append(now() - t)
        release_times.append(now() - t_built)
        impl.cleanup()
    return dict(result, times=times, release_times=release_times)


def autorange(call, repeats, min_time, between=lambda: None):
    """The time of one call, `repeats` times: each the mean over enough calls to take min_time
    (as timeit.autorange finds them), so that a fast implementation is timed over about as long
    as a slow one, through the same ups and downs of a shared machine, not in one short moment.
    `between` runs after each repeat, untimed. Returns the times and the calls per repeat."""
    def timed(n):
        t = now()
        for _ in range(n):
            call()
        return now() - t

    n = 1
    while timed(n) < min_time * 1e9:
        n *= 2
    times = []
    for _ in range(repeats):
        times.append(timed(n) / n)
        between()
    return times, n


def backward(impl, n_ops, repeats, min_time):
    """backward() on one graph, repeated (grads add up, the work is the same)."""
    before = impl.live_nodes()
    root, leaves, ops = build_graph(impl.Value, n_ops)
    nodes = impl.count_nodes(root, before)
    impl.backward(root)  # then inner grads add up (in micrograd's engines, not in torch's)
    check = [float(root.data), sum(float(v.grad) for v in leaves)]
    times, n = autorange(lambda: impl.backward(root), repeats, min_time)
    return {"units": nodes, "nodes": nodes, "ops": ops, "check": check, "times": times,
            "calls_per_repeat": n}


# ---- workload 3 and 4: micrograd's MLP ----
def mlp(impl, _, repeats, min_time):
    """model(x) and backward() for MLP(2, [16, 16, 1]) on one sample."""
    random.seed(1337)
    model = impl.MLP(2, [16, 16, 1])
    xrow = [0.5, -1.5]

    def step():
        out = model(list(map(impl.Value, xrow)))
        out.backward()
        return out

    out = step()
    check = [float(out.data)] + [float(p.grad) for p in model.parameters()]
    times, n = autorange(step, repeats, min_time, between=impl.cleanup)
    return {"units": 1, "steps_per_repeat": n, "check": check, "times": times}


def moons_step(impl, n_samples, repeats, min_time):
    """Steps 0, 1, ... of the demo's training loop, each timed."""
    X, y = moons.moons(n_samples)
    random.seed(1337)
    model = impl.MLP(2, [16, 16, 1])
    times, check = [], []
    for k in range(repeats):
        t = now()
        loss, accuracy = impl.step(model, X, y, k)
        times.append(now() - t)
        impl.cleanup()
        check += [loss, round(accuracy, 6)]  # torch counts the accuracy in float32
    return {"units": 1, "samples": n_samples, "check": check, "times": times}


# ---- workloads 6 and 7: an MNIST-sized model, one image a step ----
def _mnist(impl, with_optimizer, repeats, min_time):
    """Steps of MLP(784, [50, 10]) training: the first three untimed (their losses are checked),
    then as many as autorange takes, on the next images."""
    data = mnist.images(64)
    random.seed(1337)
    model = impl.MLP(*mnist.SIZES)
    if with_optimizer and impl.SGD is not None:
        opt = impl.SGD(model.parameters(), mnist.LR)
        step = lambda image: mnist.optimizer_step(model, opt, image)  # noqa: E731
    else:  # micrograd has no optimizer: its own loop
        step = lambda image: mnist.loop_step(model, image)  # noqa: E731
    check = [step(data[k]) for k in range(3)]
    impl.cleanup()
    images = iter(data[3:] * 1000)
    times, n = autorange(lambda: step(next(images)), repeats, min_time, between=impl.cleanup)
    return {"units": 1, "steps_per_repeat": n, "check": check, "times": times,
            "optimizer": with_optimizer and impl.SGD is not None}


def mnist_loop(impl, _, repeats, min_time):
    return _mnist(impl, False, repeats, min_time)


def mnist_sgd(impl, _, repeats, min_time):
    return _mnist(impl, True, repeats, min_time)


# ---- workload 8: reading and writing data and grads ----
def access(impl, n, repeats, min_time):
    """`x = p.data; g = p.grad; p.data = x; p.grad = g` over n parameters: per access (4 a
    parameter), with float data and grads, as after a backward pass."""
    params = [impl.Value(0.5 + i) for i in range(n)]
    for i, p in enumerate(params):
        p.grad = 0.25 * i

    def touch():
        for p in params:
            x = p.data
            g = p.grad
            p.data = x
            p.grad = g

    times, calls = autorange(touch, repeats, min_time)
    check = [float(params[-1].data), float(params[-1].grad)]
    return {"units": 4 * n, "check": check, "times": times, "calls_per_repeat": calls}


# ---- workload 5: a chain deeper than any recursion ----
def chain(impl, n, repeats, min_time):
    """backward() over leaf.tanh().tanh()...: n nodes in every implementation, n deep."""
    leaf = impl.Value(1.0)
    x = leaf
    for _ in range(n - 1):
        x = x.tanh()
    result = {"units": n, "nodes": n}
    if hasattr(impl, "memory_stats"):
        result["memory_stats"] = impl.memory_stats()
    try:
        impl.backward(x)  # then inner grads add up (in micrograd's engines, not in torch's)
    except RecursionError as e:
        return dict(result, error=f"RecursionError: {e}")
    result["check"] = [float(x.data), float(leaf.grad)]
    times, n = autorange(lambda: impl.backward(x), repeats, min_time)
    return dict(result, times=times, calls_per_repeat=n)


# ---- workloads 9-12: micrograd_c.compile ----
def moons_compiled(impl, n_samples, repeats, min_time):
    """The moons step with compile (micrograd_c), beside numpy's and C's batched steps."""
    X, y = moons.moons(n_samples)
    random.seed(1337)
    model = impl.MLP(2, [16, 16, 1])
    if impl.compiled:
        run = compiled.moons_step(model)
        step = lambda k: run(X, y.astype(float), k)  # noqa: E731
    else:
        step = lambda k: impl.step(model, X, y, k)[0]  # noqa: E731
    check = [step(k) for k in range(3)]
    ks = iter(range(3, 10**9))
    times, n = autorange(lambda: step(next(ks) % 100), repeats, min_time, between=impl.cleanup)
    return {"units": 1, "samples": n_samples, "check": check, "times": times, "steps_per_repeat": n}


def mnist_batch(impl, batch, repeats, min_time):
    """MLP(784, [50, 10]) trained a minibatch a step: per image."""
    data = compiled.mnist_batches(batch, 16)
    step = compiled.mnist_step_torch() if impl.name == "torch" else compiled.mnist_step_micrograd_c()
    step(*data[0])
    batches = iter(data * 10**6)
    times, n = autorange(lambda: step(*next(batches)), repeats, min_time, between=impl.cleanup)
    return {"units": batch, "batch": batch, "times": times, "steps_per_repeat": n}


def record(impl, _, repeats, min_time):
    """A compiled function's first call (it runs fn eagerly and records it) against the eager
    call, for one MNIST image's loss (about 40,000 nodes)."""
    import micrograd_c

    fn, x, target = compiled.mnist_image_loss()
    eager = autorange(lambda: fn(x, target), repeats, min_time, between=impl.cleanup)[0]
    first = autorange(lambda: micrograd_c.compile(fn)(x, target), repeats, min_time,
                      between=impl.cleanup)[0]
    return {"units": 1, "times": first, "eager_times": eager}


def threads(impl, n, repeats, min_time):
    """A batch of n moons samples, forward and backward (reduce="sum"), on every core against
    one thread: elapsed time (a process's CPU time would count both threads)."""
    import micrograd_c

    global now
    now = CLOCKS["wall"]
    X, y = moons.moons(n)
    random.seed(1337)
    model = impl.MLP(2, [16, 16, 1])
    loss = micrograd_c.compile(lambda x, t: (1 + -t * model(x)).relu())
    yf = y.astype(float)
    run = lambda: loss.batch(X, yf, reduce="sum").backward()  # noqa: E731
    run()
    found = {1: [], 0: []}
    for _ in range(repeats):  # (taking turns: the machine's speed drifts, by up to 2x here)
        for count in (1, 0):
            micrograd_c.set_num_threads(count)
            found[count] += autorange(run, 1, min_time, between=impl.cleanup)[0]
    micrograd_c.set_num_threads(0)
    return {"units": 1, "samples": n, "times": found[0], "one_thread_times": found[1],
            "threads": micrograd_c.get_num_threads()}


WORKLOADS = {"build": build, "backward": backward, "mlp": mlp, "moons": moons_step, "chain": chain,
             "mnist": mnist_loop, "mnist-sgd": mnist_sgd, "access": access,
             "moons-compiled": moons_compiled, "mnist-batch": mnist_batch, "record": record,
             "threads": threads}


def _status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024


def main():
    global now
    name, workload, size, repeats, min_time, clock = sys.argv[1:]
    now = CLOCKS[clock]
    impl = impls.load(name)
    try:  # start the peak (VmHWM) afresh, so that imports do not count
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    rss = _status("VmRSS:")
    result = WORKLOADS[workload](impl, int(size), int(repeats), float(min_time))
    result["peak_rss_delta"] = _status("VmHWM:") - rss
    print(json.dumps(result))


if __name__ == "__main__":
    main()
