"""The implementations measured, each behind the same few names.

An implementation gives: Value (make a leaf), MLP (micrograd's constructor),
SGD(params, lr) (None where there is no optimizer), step (one moons training
step), backward(root), release() (free a graph already dropped),
count_nodes(root, live_before), live_nodes() and cleanup() (between repeats,
not timed). load(name) imports only what that name needs,
so each subprocess measures one implementation alone.
"""
import gc
import math
import types

from micrograd_c.reference.nn import MLP as ReferenceMLP

from . import moons

NAMES = ["micrograd_c", "reference", "micrograd", "micrograd-nogc", "torch", "numpy", "c"]
LABELS = {
    "micrograd_c": "micrograd_c",
    "reference": "micrograd_c.reference",
    "micrograd": "micrograd 0.1.0, GC on",
    "micrograd-nogc": "micrograd 0.1.0, gc.disable()",
    "torch": "torch, 0-d float64",
    "numpy": "numpy, batched",
    "c": "hand-written C",
}
MODULE = {"micrograd": "micrograd", "micrograd-nogc": "micrograd", "torch": "torch", "numpy": "numpy",
          "c": "cffi"}
# The moons step alone: these are written for it, not built from Values.
MOONS_ONLY = ("numpy", "c")
# compile's workloads, and who runs them (the baseline: micrograd_c as another checkout has it)
COMPILED = {"moons-compiled": ("micrograd_c", "baseline", "numpy", "c"),
            "mnist-batch": ("micrograd_c", "baseline", "torch"),
            "record": ("micrograd_c", "baseline"), "threads": ("micrograd_c",)}


def _walk(root, kids):
    """Number of nodes reachable from root (each counted once), without recursion."""
    seen, stack = {id(root): root}, [root]  # keeps what it saw alive: torch makes wrappers on demand, ids get reused
    while stack:
        for k in kids(stack.pop()):
            if id(k) not in seen:
                seen[id(k)] = k
                stack.append(k)
    return len(seen)


def _python_impl(Value, MLP):
    """What micrograd-style pure-Python engines share: every node is a reference
    cycle (its _backward closure refers to it), so only the collector frees it."""
    return types.SimpleNamespace(
        Value=Value, MLP=MLP, SGD=None,
        step=lambda model, X, y, k: moons.train_step(model, Value, X, y, k),
        backward=lambda root: root.backward(),
        release=gc.collect,
        count_nodes=lambda root, live_before: _walk(root, lambda v: v._prev),
        live_nodes=lambda: 0,
        cleanup=lambda: None)


def _micrograd_tanh(Value):
    def tanh(self):  # micrograd 0.1.0 has none; this is its lecture version's, on math.tanh like the C engine
        t = math.tanh(self.data)
        out = Value(t, (self,), 'tanh')

        def _backward():
            self.grad += (1 - t**2) * out.grad
        out._backward = _backward
        return out
    return tanh


def _micrograd_exp(Value):
    def exp(self):  # micrograd 0.1.0 has none; the lecture's
        out = Value(math.exp(self.data), (self,), 'exp')

        def _backward():
            self.grad += out.data * out.grad
        out._backward = _backward
        return out
    return exp


def _micrograd_log(Value):
    def log(self):  # micrograd 0.1.0 has none; written as its other ops are
        out = Value(math.log(self.data), (self,), 'log')

        def _backward():
            self.grad += (1 / self.data) * out.grad
        out._backward = _backward
        return out
    return log


def load(name):
    impl = _load(name)
    impl.name = name
    impl.compiled = name == "micrograd_c"  # (compile's workloads: micrograd_c's own build)
    return impl


def _load(name):
    if name == "micrograd_c":
        import micrograd_c
        from micrograd_c.nn import MLP
        from micrograd_c.optim import SGD
        impl = _python_impl(micrograd_c.Value, MLP)
        impl.SGD = SGD
        impl.release = micrograd_c.memory_stats  # flushes the queue of dropped Values: their nodes are freed
        impl.live_nodes = lambda: micrograd_c.memory_stats()["live_nodes"]
        impl.count_nodes = lambda root, live_before: impl.live_nodes() - live_before
        impl.memory_stats = micrograd_c.memory_stats
        return impl
    if name == "reference":
        from micrograd_c.reference import Value
        from micrograd_c.reference.nn import MLP
        from micrograd_c.reference.optim import SGD
        impl = _python_impl(Value, MLP)
        impl.SGD = SGD
        return impl
    if name in ("micrograd", "micrograd-nogc"):
        from micrograd.engine import Value
        from micrograd.nn import MLP
        Value.tanh, Value.exp, Value.log = _micrograd_tanh(Value), _micrograd_exp(Value), _micrograd_log(Value)
        impl = _python_impl(Value, MLP)
        if name == "micrograd-nogc":
            gc.disable()
            impl.release = lambda: None  # with the collector off, a dropped graph is never freed
            impl.cleanup = gc.collect    # ... so free it between repeats, outside the timings
        return impl
    if name == "torch":
        import torch

        def Value(x):
            return torch.tensor(x, dtype=torch.float64, requires_grad=True)

        class MLP(ReferenceMLP):
            """micrograd's MLP (the reference's: unfused, micrograd's own code) with its
            parameters as 0-d tensors: the same draws, the same order of operations."""

            def __init__(self, nin, nouts):
                super().__init__(nin, nouts)
                for n in (n for layer in self.layers for n in layer.neurons):
                    n.w, n.b = [Value(w.data) for w in n.w], Value(n.b.data)

            def zero_grad(self):
                for p in self.parameters():
                    p.grad = None  # torch's way: a Python number cannot be a tensor's grad

        def count_nodes(root, live_before):  # autograd functions, one AccumulateGrad per leaf
            return _walk(root.grad_fn, lambda f: [g for g, _ in f.next_functions if g is not None])

        impl = _python_impl(Value, MLP)
        impl.SGD = lambda params, lr: torch.optim.SGD(params, lr=lr)
        impl.backward = lambda root: root.backward(retain_graph=True)  # so it can run again on the same graph
        impl.release = lambda: None  # reference counting frees torch's graph at once
        impl.count_nodes = count_nodes
        return impl
    if name == "numpy":
        return types.SimpleNamespace(MLP=moons.numpy_mlp, step=moons.numpy_train_step,
                                     cleanup=lambda: None)
    if name == "c":
        from . import moons_c
        return types.SimpleNamespace(MLP=moons.numpy_mlp, step=moons_c.c_train_step,
                                     cleanup=lambda: None)
    raise ValueError(f"unknown implementation {name!r}")
