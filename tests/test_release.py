"""Freeing nodes under everything Python can do meanwhile: Ctrl-C, signal handlers, the garbage
collector running other __del__ methods, resurrection, __del__ or __init__ called by hand, fork,
and a node limit that dead but not yet released Values count against. (Threads releasing each
other's Values: test_threads.py.)

Each way a release can go wrong is tried here: a node released twice (a Value then reads or
writes another one's slot), a node never released (memory grows), a lock left held (the next
memory_stats() hangs). Whatever could hang runs in a subprocess with a time limit.
"""
import gc
import os
import subprocess
import sys
import tempfile
import textwrap

import pytest

import micrograd_c
from micrograd_c import Value, nn, optim, reference
from helpers import SAME_PACKAGE, live




def run_script(code, timeout=120):
    """Run code in a fresh interpreter; it must exit 0 within timeout (else: hung, or failed)."""
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "script.py")
        with open(script, "w") as f:
            f.write(textwrap.dedent(code))
        out = subprocess.run([sys.executable, script], capture_output=True, text=True,
                             timeout=timeout, env=SAME_PACKAGE)
    assert out.returncode == 0, out.stdout + out.stderr
    return out


# ---- a Value's __del__ and __init__ called by hand ----

def test_del_by_hand_releases_nothing_twice():
    base = live()
    a = Value(2.0)
    b = a * 3.0
    a.__del__()
    a.__del__()  # a second call, and the real one when `a` goes, release nothing more
    del a
    micrograd_c.memory_stats()  # releases what is queued
    others = [Value(100.0 + i) for i in range(3000)]  # would take a slot released too early
    b.backward()
    child = b._children[0]  # (the second: the leaf 3.0)
    assert (child.data, child.grad) == (2.0, 3.0)
    assert [v.data for v in others] == [100.0 + i for i in range(3000)]
    assert all(v.grad == 0.0 for v in others)
    del others, child, b
    assert live() == base


def test_a_value_whose_node_was_released_by_hand_raises_a_clear_error():
    # With nothing else referring to `a`, __del__() releases its node (Python 3.11 and newer
    # cannot tell this call from a's last reference going; 3.10 can, and keeps the node):
    # then every use raises, and none reads another node's slot.
    a = Value(2.0)
    a.__del__()
    others = [Value(-9.0) for _ in range(3000)]  # would take a slot released too early
    uses = [lambda: a.data, lambda: a.grad, lambda: (a + 1).data, lambda: (2 * a).data,
            lambda: a.backward(), lambda: setattr(a, "data", 2.0), lambda: setattr(a, "grad", 0.0),
            lambda: a._prev, lambda: a._op, lambda: (a ** 2).data, lambda: a.tanh().data]
    results = set()
    for use in uses:
        try:
            use()
            results.add("works")
        except RuntimeError as e:
            assert "__del__" in str(e)
            results.add("raises")
    assert len(results) == 1  # all work (the node was kept), or all raise
    if results == {"works"}:
        assert a.data == 2.0
    assert all(v.data == -9.0 and v.grad == 0.0 for v in others)


def test_del_by_hand_on_a_parameter_in_use_keeps_layers_and_optimizers_right():
    # A model's parameters are held by the model, and their ids by its layers' and by an
    # optimizer's cached arrays: a __del__() by hand must not free a node those still use.
    import random
    base = live()
    random.seed(0)
    model = nn.MLP(2, [3, 1])
    opt = optim.SGD(model.parameters(), lr=0.1)
    model([0.5, -0.5]).backward()
    w = model.layers[0].neurons[0].w[0]
    before = w.data
    w.__del__()
    others = [Value(-9.0) for _ in range(3000)]  # would take a slot released too early
    opt.zero_grad()
    model([0.5, -0.5]).backward()
    opt.step()
    assert w.data == before - 0.1 * w.grad and w.grad != 0.0
    assert all(v.data == -9.0 and v.grad == 0.0 for v in others)
    del others, opt, model, w
    assert live() <= base  # released once nothing refers to it (a Value of an earlier test may go too)


@pytest.mark.parametrize("V", [Value, reference.Value], ids=["c", "reference"])
def test_init_again_makes_a_live_value_a_leaf_in_place(V):
    a = V(1.5)
    b = a * 4.0
    c = a.tanh()
    a.__init__(3.0)  # as micrograd: a is a leaf holding 3.0; its parents still use it
    assert (a.data, a.grad, a._prev, a._op) == (3.0, 0.0, set(), "")
    assert b.data == 6.0  # made before: its data is not recomputed
    loss = b + c
    loss.backward()
    assert a.grad == 4.0 + (1.0 - c.data ** 2)  # both parents' backward reach the new leaf
    with pytest.raises(TypeError):
        a.__init__("7")
    assert a.data == 3.0


def test_init_again_leaks_no_node_and_layers_and_optimizers_see_it():
    base = live()
    v = Value(1.0)
    w = v * v  # v's node is a child of w's: it must stay as long as w
    for i in range(5000):
        v.__init__(float(i))
    assert live() == base + 2
    del v, w
    assert live() == base

    n = nn.Neuron(2, nonlin=False)
    n([1.0, 1.0])  # the layer's id arrays are cached now
    n.w[0].__init__(10.0)
    assert n([1.0, 1.0]).data == 10.0 + n.w[1].data
    opt = optim.SGD(n.parameters(), lr=1.0)
    n.w[1].__init__(-2.0)
    n.w[1].grad = 0.5
    opt.step()
    assert n.w[1].data == -2.5


# ---- the garbage collector ----

class Pooled:
    """An object that, when it is collected, puts itself back in a pool (resurrection)."""
    pool = []

    def __init__(self, value):
        self.value = value
        self.me = self  # a reference cycle: only the collector frees it

    def __del__(self):
        Pooled.pool.append(self)


def test_a_value_resurrected_by_a_cycle_keeps_its_node():
    base = live()
    p = Pooled(Value(5.0))
    del p
    gc.collect()  # finalizes Pooled and the Value it holds, then finds Pooled back in use
    (p,) = Pooled.pool
    others = [Value(-1.0) for _ in range(3000)]  # would take a slot released too early
    assert p.value.data == 5.0
    p.value.data = 7.0
    assert all(v.data == -1.0 for v in others)
    y = p.value * 2.0
    y.backward()
    assert (y.data, p.value.grad) == (14.0, 2.0)
    del others, y
    Pooled.pool.clear()
    p.me = None
    del p
    gc.collect()
    assert live() == base  # released once the Value is really freed


def test_values_in_collected_cycles_are_released():
    base = live()

    class Holder:
        pass

    for _ in range(2000):
        h = Holder()
        h.me, h.v, h.w = h, Value(1.0), Value(2.0) * 3.0
    del h
    gc.collect()
    assert live() == base


def test_gc_running_a_del_that_calls_memory_stats_while_releasing():
    # The collector may run inside the release code (it allocates), and the __del__ methods it
    # runs may call memory_stats(), which releases too. Set up so that it does: cycles waiting
    # to be collected, a batch one short of full, then the Value that fills it.
    run_script("""
        import gc
        import micrograd_c
        from micrograd_c import Value
        from micrograd_c.engine import _BATCH

        class Nosy:
            def __init__(self):
                self.me = self
                self.v = Value(1.0)
            def __del__(self):
                micrograd_c.memory_stats()

        keep = Value(3.0)
        base = micrograd_c.memory_stats()["live_nodes"]
        for round in range(20):
            micrograd_c.memory_stats()  # an empty queue
            gc.disable()
            for _ in range(50):
                Nosy()
            for _ in range(_BATCH - 1):
                Value(2.0)
            last = keep * 2.0
            gc.set_threshold(1)
            gc.enable()
            del last  # fills the batch: releasing it allocates, and the collector runs
            gc.set_threshold(700, 10, 10)
        gc.collect()
        assert keep.data == 3.0 and (keep * 2.0).data == 6.0
        assert micrograd_c.memory_stats()["live_nodes"] == base
    """, timeout=60)


def test_a_signal_handler_calling_memory_stats_while_a_big_batch_is_freed():
    if not hasattr(__import__("signal"), "setitimer"):
        pytest.skip("no setitimer on this platform")
    run_script("""
        import signal
        import micrograd_c
        from micrograd_c import Value

        calls = []
        def handler(signum, frame):
            calls.append(micrograd_c.memory_stats()["live_nodes"])
            micrograd_c.memory_stats()  # and nested, within the same handler
        signal.signal(signal.SIGALRM, handler)
        signal.setitimer(signal.ITIMER_REAL, 0.0005, 0.0005)
        base = micrograd_c.memory_stats()["live_nodes"]
        for _ in range(200):
            xs = [Value(float(i)) for i in range(5000)]
            y = sum(xs)
            del xs, y
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        assert calls, "the handler never ran"
        assert micrograd_c.memory_stats()["live_nodes"] == base
    """)


# ---- Ctrl-C ----

INTERRUPTED_LOOP = """
    import gc, random, signal, sys, time
    import micrograd_c
    from micrograd_c import Value, nn

    # Ctrl-C raises KeyboardInterrupt even where this process was started with SIGINT ignored
    # (a job a non-interactive shell runs in the background: Python then installs no handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sent, threshold = int(sys.argv[1]), int(sys.argv[2])
    gc.set_threshold(threshold)  # 1: the collector runs all the time, finalizing Values as it goes
    junk = []
    random.seed(0)
    model = nn.MLP(3, [8, 8, 1])
    caught = 0
    deadline = time.monotonic() + 60
    while caught < sent and time.monotonic() < deadline:
        try:
            if caught == 0:
                print("ready", flush=True)
            while time.monotonic() < deadline:
                x = [Value(random.uniform(-1, 1)) for _ in range(3)]
                loss = (model(x) - 0.5) ** 2
                for p in model.parameters():
                    p.grad = 0.0
                loss.backward()
                for p in model.parameters():
                    p.data -= 0.01 * p.grad
                for _ in range(20):  # mostly Values dying: where a signal is most often seen
                    x[0] * 2.0
                junk.append([junk])  # cycles that pile up, for the collector
                if len(junk) > 60:
                    junk = []
        except KeyboardInterrupt:
            caught += 1
            print("caught", caught, flush=True)
    del x, loss
    params = len(model.parameters())
    stats = micrograd_c.memory_stats()  # must not hang
    print("leaked", stats["live_nodes"] - params, flush=True)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")
@pytest.mark.parametrize("gc_threshold", [700, 1], ids=["training", "collecting"])
def test_every_ctrl_c_stops_the_loop_and_nothing_hangs_or_leaks(gc_threshold):
    import signal
    import time

    sent = 25
    p = subprocess.Popen([sys.executable, "-c", textwrap.dedent(INTERRUPTED_LOOP), str(sent),
                          str(gc_threshold)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=SAME_PACKAGE)
    try:
        assert p.stdout.readline().strip() == "ready"
        for k in range(sent):
            p.send_signal(signal.SIGINT)
            line = p.stdout.readline().strip()  # each one is caught before the next is sent
            assert line == f"caught {k + 1}", line + p.stderr.read()
            time.sleep(0.02)
        out, err = p.stdout.read(), p.stderr.read()  # not communicate(): it skips what readline buffered
        p.wait(timeout=60)
    finally:
        p.kill()
    assert p.returncode == 0, err
    assert "Exception ignored" not in err, err
    # A KeyboardInterrupt lands between two bytecodes, and can strand what the one before made
    # for the one after: the node of an op whose Value was not made yet, a layer's outputs, a
    # batch of ids being released. So each Ctrl-C may leave a few nodes behind, never more than
    # it interrupted (a lock left held, as once, left every node after it behind).
    assert "leaked" in out, out
    leaked = int(out.split("leaked")[1])
    assert 0 <= leaked <= micrograd_c.engine._BATCH + 16 * sent, out


# ---- fork ----

# A thread keeps calling busy() (setup made what it uses) while the main thread forks ten
# children, each of which must exit 0 (child() true) within a minute: none may hang on a lock
# held by a thread it does not have.
FORK_WHILE_BUSY = """
import os, threading, time, warnings
warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads running: that is the test
{setup}
stop = False
def spin():
    while not stop:
        busy()
t = threading.Thread(target=spin)
t.start()
time.sleep(0.1)
children = []
for _ in range(10):
    pid = os.fork()
    if pid == 0:
        os._exit(0 if child() else 1)
    children.append(pid)
deadline = time.monotonic() + 60
while children and time.monotonic() < deadline:
    for pid in list(children):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            children.remove(pid)
    time.sleep(0.01)
stop = True
t.join()
for pid in children:
    os.kill(pid, 9)
assert not children, f"{{len(children)}} of 10 children hung"
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")
def test_fork_while_another_thread_runs_backward():
    run_script(FORK_WHILE_BUSY.format(setup=textwrap.dedent("""
        import micrograd_c
        from micrograd_c import Value

        x = Value(0.5)
        y = x
        for _ in range(300000):
            y = y * 1.0000001 + 0.0

        def busy():
            y.backward()  # long C calls, each holding the store's lock

        def child():  # its first ops must not hang on a lock held by a thread it lacks
            z = Value(2.0) * 3.0
            z.backward()
            micrograd_c.memory_stats()
            return z.data == 6.0
    """)))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")
def test_fork_while_another_thread_runs_big_batches_on_the_pool():
    """A child forked while a batch runs on the pool's threads has none of them: its own big
    batches start a pool of their own and give the parent's bits."""
    run_script(FORK_WHILE_BUSY.format(setup=textwrap.dedent("""
        import numpy as np
        import micrograd_c
        from micrograd_c import nn

        model = nn.MLP(2, [8, 8, 1])
        loss = micrograd_c.compile(lambda x, y: (1 + -y * model(x)).relu())
        rng = np.random.default_rng(2)
        X, Y = rng.normal(size=(20_000, 2)), np.where(rng.normal(size=20_000) > 0, 1.0, -1.0)
        expected = loss.batch(X, Y).tobytes()

        def busy():
            loss.batch(X, Y, reduce="sum").backward()  # its backward: the pool, in the store's lock

        def child():
            return all(loss.batch(X, Y).tobytes() == expected for _ in range(3))
    """)))


# ---- the node limit ----

def test_dead_values_waiting_for_release_do_not_count_against_the_limit(node_limit):
    node_limit(live() + 100)
    for i in range(10_000):
        x = Value(float(i))
        y = x * 2.0 - 1.0
    assert y.data == 2.0 * 9999 - 1.0
    model = nn.MLP(2, [4, 1])
    node_limit(live() + 60)
    for i in range(2000):
        out = model([1.0, float(i)])
    assert out.data == model([1.0, 1999.0]).data


def test_the_limit_still_holds_for_live_values(node_limit):
    node_limit(live() + 50)
    keep = []
    with pytest.raises(MemoryError):
        for i in range(100):
            keep.append(Value(float(i)))
    assert len(keep) == 50
    node_limit(0)
    assert (keep[0] + 1).data == 1.0
