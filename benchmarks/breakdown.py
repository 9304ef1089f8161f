"""Where the time of one micrograd_c op goes: python -m benchmarks.breakdown [--repeats N] [--clock cpu|wall]

Each part is timed alone (timeit, GC on as users run it, median of the
repeats, minus the cost of timeit's empty loop), then added up to check
against the whole op. Then what reading and writing .data and .grad cost,
beside the least a property costs, and micrograd's moons training step,
phase by phase.
"""
import argparse
import gc
import random
import statistics
import sys
import time
import timeit

import micrograd_c
from micrograd_c import Value
from micrograd_c import engine
from micrograd_c._core import lib
from micrograd_c.nn import MLP

from . import impls, moons

CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


class Bare:
    """A Value without __del__: what creating the object alone costs."""
    __slots__ = ("_i",)


_queue = []


class Queued:
    """A Value whose __del__ queues its id as Value's does, but never calls C."""
    __slots__ = ("_i", "__weakref__")

    def __del__(self):
        try:
            i = self._i
        except AttributeError:
            return
        self._i = -1
        if sys.getrefcount(self) > engine._DYING_REFS:
            return
        _queue.append(i)
        if len(_queue) >= engine._BATCH:
            _queue.clear()


def f(x):
    return x


class Floors:
    """What reading and writing a number behind a property costs at the least: the property
    call alone, and the call with one view index (what Value.data does, less its checks)."""
    __slots__ = ("_i",)

    @property
    def slot(self):
        return self._i

    @property
    def view(self):
        return _datas[self._i]

    @view.setter
    def view(self, x):
        _datas[self._i] = x


_datas = None  # engine's view of the store's data (taken when access_breakdown runs)


def ns(stmt, number, args, gc_on=True, **names):
    """Median ns per run of stmt, minus timeit's empty loop."""
    def median(s):
        setup = "gc.enable()" if gc_on else "gc.disable()"
        t = timeit.Timer(s, setup=setup, timer=CLOCKS[args.clock], globals=dict(names, gc=gc))
        return statistics.median(t.repeat(args.repeats, number)) / number * 1e9
    return median(stmt) - median("pass")


def c_calls(n, args):
    """ns per mg_op making a node, and per node of mg_release freeing them in batches of 1024."""
    x, y = Value(0.5), Value(-1.5)
    op, MUL, xi, yi = lib.mg_op, engine._MUL, x._i, y._i
    make, release = [], []
    for _ in range(args.repeats):
        ids = [0] * n
        now = CLOCKS[args.clock]
        t0 = now()
        for k in range(n):
            ids[k] = 0  # the loop alone
        t1 = now()
        for k in range(n):
            ids[k] = op(MUL, xi, yi, 0.0)
        t2 = now()
        for k in range(0, n, 1024):
            lib.mg_release(ids[k:k + 1024], len(ids[k:k + 1024]))
        t3 = now()
        make.append((t2 - t1) - (t1 - t0))
        release.append(t3 - t2)
    return statistics.median(make) / n * 1e9, statistics.median(release) / n * 1e9


def op_breakdown(args):
    N = 200_000
    x, y = Value(0.5), Value(-1.5)
    xi, yi = x._i, y._i
    env = dict(x=x, y=y, xi=xi, yi=yi, lib=lib, op=lib.mg_op, MUL=engine._MUL, made=engine._made,
               new=object.__new__, Bare=Bare, Queued=Queued, Value=Value, operand=engine._operand, f=f)
    whole = ns("x * y", N, args, **env)
    no_dispatch = ns("made(op(MUL, xi, yi, 0.0))", N, args, **env)
    make, release = c_calls(N, args)
    obj = ns("o = new(Bare); o._i = 1; del o", N, args, **env)
    queued = ns("o = new(Queued); o._i = 1; del o", N, args, **env) - obj
    parts = [
        ("Python dispatch: operator -> Value.__mul__ -> isinstance -> _made call "
         "(x * y minus made(op(...)))", whole - no_dispatch),
        ("C call: lib.mg_op making the node (cffi, GIL release, store lock, op)", make),
        ("Value object: object.__new__(Value) + ._i (a Bare class, no __del__)", obj),
        ("__del__: a Python __del__ that queues the id (Value's, minus the C call)", queued),
        ("mg_release, per node, in batches of 1024 (list -> int32_t[], refcounts, free)", release),
    ]
    rows = [("x * y, end to end: made, then dropped (Value * Value)", whole)]
    rows += [("  " + what, t) for what, t in parts]
    rows += [("  sum of the parts", sum(t for _, t in parts)),
             ("x * 2.0, end to end (and a leaf node for the 2.0)", ns("x * 2.0", N, args, **env)),
             ("  of which isinstance(2.0, Value)", ns("isinstance(2.0, Value)", N, args, **env)),
             ("x * 2, end to end (an int constant: the leaf keeps it an int)", ns("x * 2", N, args, **env)),
             ("  of which _operand(2)", ns("operand(2)", N, args, **env)),
             ("for scale: a trivial C call, lib.mg_holders(i)", ns("lib.mg_holders(xi)", N, args, **env)),
             ("for scale: a Python function call, f(x)", ns("f(x)", N, args, **env))]
    for name in ("reference", "micrograd"):
        try:
            other = impls.load(name)
        except ImportError:
            continue
        a, b = other.Value(0.5), other.Value(-1.5)
        for gc_on in (True, False):
            label = f"{impls.LABELS[name].split(',')[0]}, {'GC on' if gc_on else 'gc.disable()'}"
            rows.append((f"for scale: {label}, x * y", ns("a * b", N // 10, args, gc_on, a=a, b=b)))
    return rows


def access_breakdown(args):
    """ns per read and write of .data and .grad (float numbers, as after a backward pass),
    beside the least a property can cost."""
    global _datas
    N = 500_000
    x = Value(0.5)
    x.grad = 0.25
    _datas = engine._datas  # (x's node is in it: made before)
    o = Floors()
    o._i = x._i
    env = dict(x=x, o=o)
    return [("x.data, a read (a property: the view's number, and its int flag if it is whole)",
             ns("x.data", N, args, **env)),
            ("x.data = 0.5, a write (a property: the type checked, the number and its int flag "
             "stored)", ns("x.data = 0.5", N, args, **env)),
            ("x.grad, a read", ns("x.grad", N, args, **env)),
            ("x.grad = 0.25, a write", ns("x.grad = 0.25", N, args, **env)),
            ("x.grad = 0, a write of an int (zero_grad's)", ns("x.grad = 0; x.grad = 0.25", N, args, **env)
             - ns("x.grad = 0.25", N, args, **env)),
            ("for scale: an attribute in a slot, o._i", ns("o._i", N, args, **env)),
            ("for scale: a property returning that slot", ns("o.slot", N, args, **env)),
            ("for scale: a property reading the view at the slot's index", ns("o.view", N, args, **env)),
            ("for scale: a property storing into the view there", ns("o.view = 0.5", N, args, **env))]


def moons_phases(args, n_samples=100):
    """moons.train_step's phases on micrograd_c, each timed (ms): where the drop-in step goes."""
    X, y = moons.moons(n_samples)
    random.seed(1337)
    model = MLP(2, [16, 16, 1])
    now = CLOCKS[args.clock]
    phases = {}

    def timed(name, fn):
        t = now()
        r = fn()
        phases.setdefault(name, []).append((now() - t) * 1e3)
        return r

    for k in range(args.repeats):
        inputs = timed("inputs: [list(map(Value, xrow)) for xrow in X]",
                       lambda: [list(map(Value, xrow)) for xrow in X])
        scores = timed("forward: list(map(model, inputs))", lambda: list(map(model, inputs)))
        losses = timed("svm losses: (1 + -yi*scorei).relu()",
                       lambda: [(1 + -yi*scorei).relu() for yi, scorei in zip(y, scores)])
        data_loss = timed("data_loss: sum(losses) * (1.0 / len(losses))",
                          lambda: sum(losses) * (1.0 / len(losses)))
        reg_loss = timed("reg_loss: alpha * sum(p*p for p in parameters)",
                         lambda: moons.L2_WEIGHT * sum((p*p for p in model.parameters())))
        total_loss = timed("total_loss = data_loss + reg_loss", lambda: data_loss + reg_loss)
        timed("accuracy", lambda: sum([(yi > 0) == (s.data > 0) for yi, s in zip(y, scores)]) / len(y))
        timed("model.zero_grad()", model.zero_grad)
        timed("total_loss.backward()", total_loss.backward)

        def update():
            for p in model.parameters():
                p.data -= moons.learning_rate(k) * p.grad
        timed("update: p.data -= learning_rate * p.grad", update)

        t = now()
        del inputs, scores, losses, data_loss, reg_loss, total_loss
        micrograd_c.memory_stats()  # flush the queue: the graph's nodes are freed
        phases.setdefault("freeing the step's graph", []).append((now() - t) * 1e3)
    return [(name, statistics.median(ts)) for name, ts in phases.items()]


def main():
    ap = argparse.ArgumentParser(prog="python -m benchmarks.breakdown")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--clock", choices=list(CLOCKS), default="cpu")
    args = ap.parse_args()
    print(f"median of {args.repeats} repeats, {args.clock} time, GC on\n")
    rows = op_breakdown(args)
    whole = rows[0][1]
    print(f"{'one op of micrograd_c':92} {'ns':>8} {'share':>6}")
    for what, t in rows:
        print(f"{what:92} {t:8.0f} {t / whole:6.0%}")
    print(f"\n{'.data and .grad of micrograd_c':92} {'ns':>8}")
    for what, t in access_breakdown(args):
        print(f"{what:92} {t:8.0f}")
    phases = moons_phases(args)
    total = sum(t for _, t in phases)
    print(f"\n{'one moons training step of micrograd_c (100 samples), by phase':92} {'ms':>8} {'share':>6}")
    for what, t in phases + [("total", total)]:
        print(f"{what:92} {t:8.3f} {t / total:6.0%}")


if __name__ == "__main__":
    main()
