"""micrograd_c.compile: record what a function of Values computes once, replay it in C.

    @micrograd_c.compile
    def loss(x, y):                       # x: a list of numbers, y: a number
        return (model(x) - y) ** 2

    for x, y in data:
        l = loss(x, y)                    # the first call runs loss and records it; later
        l.backward()                      # calls make the recorded nodes again in one C call

On the first call for an argument structure (how many arguments; each a number, a Value, or a
list, tuple or numpy array of them, and their lengths), fn runs once, eagerly, on fresh input
Values (a number becomes a Value, a 1-d list or array a list of Values, a 2-d one a list of
lists), and the nodes it makes are recorded. Later calls with that structure make the same
nodes again from the new inputs, with no Python per node: each op of the recording in C, on
the *current* data of every Value fn used that was made before it (a model's parameters,
constants made outside). A Value argument is used as itself, as in eager mode. The result is
what fn returns (a Value, or a list of Values), new at every call; its data, and the grads its
backward() gives, are eager mode's to the bit. (A chain of products and sums, as
`sum(p * p for p in params)` makes, is one node of a replay, which turns into micrograd's nodes
where they are looked at: `_prev`, or a third backward pass through them.)

`compiled.batch(X, y, reduce=None | "mean" | "sum")` runs the recording for every sample (the
arrays' leading axis) in one C call: the outputs as an array, or their mean or sum as one Value
whose backward adds every sample's gradient into the captured Values.

A recording cannot follow Python's control flow: reading a traced Value's data or grad while
fn runs (to branch on it, print it, or use it as a number) raises TraceError, naming the line;
so does a custom op (a Python `_backward`) made inside fn. A change to a micrograd_c model's
lists or attributes (a parameter replaced, a layer appended) makes the next call record again.
"""
from __future__ import annotations

import functools
import gc
import sys
import threading

from . import engine
from ._core import ffi, lib
from .engine import Value, _const, _made, _made_all, _raise, _retry

TYPE_CHECKING = False  # (typing is not imported at run time: it would add to the import time)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["compile", "TraceError", "set_num_threads", "get_num_threads"]


class TraceError(RuntimeError):
    """A compiled function did what a recording cannot replay: it read a traced Value's data
    (Python branching on values), or made a custom op."""


def compile(fn: Callable[..., Any]) -> Compiled:
    """fn, recorded on its first call for each argument structure and replayed in C after (see
    the module's docstring). Usable as a decorator."""
    return Compiled(fn)


def set_num_threads(n: int) -> None:
    """How many threads a big batch (N >= 8192) may split over, as torch.set_num_threads; 0 (the
    default) is one a core. The results are the same however many run."""
    import operator
    n = operator.index(n)
    if n < 0:
        raise ValueError(f"the number of threads must be >= 0 (0: one a core), not {n}")
    lib.mg_set_threads(min(n, 2**31 - 1))


def get_num_threads() -> int:
    """The most threads a batch uses now (set_num_threads's number, or the cores)."""
    return lib.mg_get_threads()


# ---- arguments: their structure (what a recording is for) and their numbers and Values ----

def _flatten(x: Any, items: list) -> Any:
    """Append x's numbers and Values to items; return x's structure (hashable): "f" a float,
    ("floats", n) a list of n floats, "n" another number, "V" a Value, else a tuple of them."""
    if type(x) is float:  # (the common cases first: a float, a list of floats)
        items.append(x)
        return "f"
    if type(x) is list and list(map(type, x)).count(float) == len(x):  # (all floats: no loop here)
        items.extend(x)
        return ("floats", len(x))
    if isinstance(x, Value):
        items.append(x)
        return "V"
    if hasattr(x, "ndim") and hasattr(x, "tolist"):  # a numpy array (or a tensor)
        if getattr(x, "dtype", None) is not None and getattr(x.dtype, "kind", "f") not in "biuf":
            raise TypeError(f"compiled function arguments must be numbers, not an array of {x.dtype}")
        if x.ndim > 2:
            raise TypeError(f"compiled function arguments have at most 2 dimensions, not {x.ndim}")
        return _flatten(x.tolist(), items)
    if isinstance(x, (list, tuple)):
        return (type(x).__name__,) + tuple(_flatten(v, items) for v in x)
    if _const(x) is None:  # (what Value takes: int, float, bool, Fraction, numpy scalars)
        raise TypeError(f"compiled function arguments must be numbers, Values, or lists or arrays "
                        f"of them, not {type(x).__name__}")
    items.append(x)
    return "n"


def _rebuild(structure: Any, values: list, at: list) -> Any:
    """The argument structure with values (Values, in order) in place of its numbers and
    Values; tuples and lists of Values become lists, as fn gets them eagerly."""
    if isinstance(structure, str):
        at[0] += 1
        return values[at[0] - 1]
    if structure[0] == "floats":
        at[0] += structure[1]
        return values[at[0] - structure[1]:at[0]]
    return [_rebuild(s, values, at) for s in structure[1:]]


def _outputs(out: Any) -> tuple[list[Value], Any]:
    """fn's result as a flat list of Values and its shape (None: one Value; n: a list of n)."""
    if isinstance(out, Value):
        return [out], None
    if isinstance(out, (list, tuple)) and all(isinstance(v, Value) for v in out):
        return list(out), len(out)
    raise TraceError(f"a compiled function must return a Value or a list of Values, not "
                     f"{type(out).__name__}")


def _only_floats(structure: tuple) -> bool:
    """Whether the arguments of this structure are floats only (in lists and tuples, nested)."""
    return all(s == "f" or (type(s) is tuple and (s[0] == "floats" or _only_floats(s[1:])))
               for s in structure)


def _leaves(items: list, floats: bool) -> tuple[list[Value], Any]:
    """A Value for each number of items (made in one C call where all are floats: the usual
    case, a sample's numbers), and each Value as itself; and their node ids (a C array)."""
    if floats:
        ids = ffi.new("int32_t[]", len(items))
        err = lib.mg_leaves(len(items), items, ids)
        if err:
            _retry(err, lib.mg_leaves, len(items), items, ids)
        return _made_all(ids), ids  # (each holds its node: made held once, for it)
    leaves = [x if isinstance(x, Value) else Value(x) for x in items]
    return leaves, ffi.new("int32_t[]", [v._i for v in leaves])


# ---- the guard: no reading a traced Value's number while fn is recorded ----

_guard = threading.local()  # .active: the thread records (engine's data and grad check it)


def _caller() -> str:
    """Where in the user's code the read happened: the first frame outside micrograd_c."""
    here = __name__.rsplit(".", 1)[0]
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith(here):
        frame = frame.f_back
    return "?" if frame is None else f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _guarded(prop: property, name: str) -> property:
    def read(v):
        if getattr(_guard, "active", False):
            raise TraceError(f"a compiled function read a Value's .{name} at {_caller()}: a "
                             f"recording replays ops, not Python that depends on their values")
        return prop.fget(v)
    return property(read, prop.fset, None, prop.__doc__)


class _Tracing:
    """While fn is recorded on this thread: Value's data and grad raise TraceError here.

    And while any recording is made, the cyclic garbage collector does not run on its own: a
    recording makes a Value for each input number (an MNIST image's 794) that dies with it, and
    a collection those allocations set off in the middle walks them all for nothing (a seventh
    of such a first call). Garbage made meanwhile is collected after."""
    _count = 0
    _lock = threading.Lock()
    _saved = None
    _collecting = False  # whether the collector was enabled when the first recording began

    def __enter__(self):
        with _Tracing._lock:
            if _Tracing._count == 0:
                _Tracing._saved = (Value.data, Value.grad)
                Value.data = _guarded(Value.data, "data")
                Value.grad = _guarded(Value.grad, "grad")
                _Tracing._collecting = gc.isenabled()
                gc.disable()
            _Tracing._count += 1
        _guard.active = True
        return self

    def __exit__(self, *exc):
        _guard.active = False
        with _Tracing._lock:
            _Tracing._count -= 1
            if _Tracing._count == 0:
                Value.data, Value.grad = _Tracing._saved
                if _Tracing._collecting:
                    gc.enable()


def _rows(c: Any, np: Any):
    """A float64 array of samples as C reads it, a sample a row: the array itself where it
    already is that (no copy), else a C-ordered copy."""
    try:
        return ffi.from_buffer("double[]", c)
    except ValueError:  # (not C-contiguous: a column of a matrix, a transposed one)
        return ffi.from_buffer("double[]", np.ascontiguousarray(c))


_FLOAT64 = None  # numpy's float64 in this machine's byte order (numpy is imported when needed)


def _samples_of(a: Any, np: Any):
    """An argument of batch() as a float64 array of samples (N,) or (N, k) (np: numpy)."""
    global _FLOAT64
    if _FLOAT64 is None:
        _FLOAT64 = np.dtype(np.float64)
    if type(a) is np.ndarray and a.dtype is _FLOAT64 and 0 < a.ndim < 3:
        return a  # (the usual case, as it is)
    arr = np.asarray(a)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"batch takes arrays of numbers, not of {arr.dtype}")
    if arr.ndim not in (1, 2):
        raise TypeError(f"batch takes arrays of shape (N,) or (N, k), not {arr.shape}")
    return arr if arr.dtype == np.float64 else arr.astype(np.float64)  # (a copy only if needed)


# ---- recordings ----

def _version():
    """The count of changes to models' lists and attributes (nn's: 0 while nn is not imported,
    when there are no models), read without an import at each call."""
    nn = sys.modules.get("micrograd_c.nn")
    return nn._version if nn is not None else 0


class _Recording:
    __slots__ = ("rec", "steps", "shape", "version", "floats")

    def __init__(self, rec, steps, shape, version, floats):
        self.rec, self.steps, self.shape, self.version = rec, steps, shape, version
        self.floats = floats  # whether its arguments are floats only (_only_floats)


class Compiled:
    """A compiled function: call it as fn (see micrograd_c.compile)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        if not callable(fn):
            raise TypeError(f"compile takes a function, not {type(fn).__name__}")
        self.fn = fn
        self._recordings = {}
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any) -> Any:
        """fn(*args), replayed from its recording for this argument structure (recorded now,
        on the first call, or after a model changed)."""
        items = []
        structure = tuple(_flatten(a, items) for a in args)
        recording = self._recordings.get(structure)
        if recording is None or recording.version != _version():
            return self._record(structure, items)
        return self._replay(recording, items)

    def _record(self, structure, items):
        version = _version()
        made = ffi.new("mg_recording **")
        with _Tracing():
            leaves, ids = _leaves(items, _only_floats(structure))
            nin, token = len(leaves), lib.mg_trace_begin()
            try:
                at = [0]
                args = [_rebuild(s, leaves, at) for s in structure]
                out = self.fn(*args)
                del args
                outs, shape = _outputs(out)
                out_ids = ffi.new("int32_t[]", [v._i for v in outs])
                # The nodes of Values fn let go of are freed first (they are no steps then, and
                # an earlier result's graph leaves its room to the recording).
                engine._flush()
            except BaseException:
                lib.mg_trace_end(token, 0, ffi.NULL, 0, ffi.NULL, made)
                raise
            err = lib.mg_trace_end(token, nin, ids, len(outs), out_ids, made)
            # The input Values go once the recording has their nodes (that of an input fn did
            # not use has no other holder), before the collector is back: its next collection
            # would walk them all (an MNIST image's 794: a tenth of the first call).
            del leaves
        if err == lib.MG_EINVAL:
            raise TraceError("a compiled function made a custom op (a Value with a Python "
                             "_backward) or a reduced batch: a recording cannot replay them")
        if err:
            _raise(err)
        rec = ffi.gc(made[0], lib.mg_recording_free)
        info = ffi.new("mg_recording_info *")
        lib.mg_recording_describe(rec, info)
        self._recordings[structure] = _Recording(rec, info.steps, shape, version,
                                                 _only_floats(structure))
        return out  # the first call's result is eager mode's own

    def _replay(self, recording, items):
        # Dead Values' nodes are released a batch of ids at a time (engine._dead); a result
        # dropped here holds a whole recording's nodes, so the batch is let go sooner.
        if len(engine._dead) * max(recording.steps, 1) >= engine._BATCH:
            engine._flush()
        n, out = len(items), ffi.new("int32_t[]", 1 if recording.shape is None else recording.shape)
        if not n:  # (a function of no arguments: an L2 term over a model's parameters)
            ids, leaves = ffi.NULL, ()
        elif recording.floats:  # (the usual case) the leaves in one call, ...
            ids = ffi.new("int32_t[]", n)
            err = lib.mg_leaves(n, items, ids)
            if err:
                _retry(err, lib.mg_leaves, n, items, ids)
            leaves = None
        else:  # ... else a Value each (an int stays an int), and Value arguments as themselves
            leaves = [x if isinstance(x, Value) else Value(x) for x in items]
            ids = ffi.new("int32_t[]", [v._i for v in leaves])
        try:
            err = lib.mg_replay(recording.rec, n, ids, out)
            if err:
                _retry(err, lib.mg_replay, recording.rec, n, ids, out)
        finally:
            if leaves is None:  # held by the new nodes now (or freed, if it failed)
                lib.mg_release(ids, n)
        return _made(out[0]) if recording.shape is None else _made_all(out)

    def batch(self, *arrays: Any, reduce: str | None = None) -> Any:
        """fn on every sample of a batch, in one C call: each array's leading axis is the sample.

        arrays: one per argument of fn, of shape (N,) (a number a sample) or (N, k) (a list of
        k numbers a sample), N the same for all. The recording for one sample's structure is
        used (made now from the first sample, if there is none). reduce=None: a float64 array
        of fn's outputs, (N,) or (N, k). reduce="sum" or "mean": one Value, the sum (or mean,
        as sum * (1.0 / N)) of fn's output over the samples, that combines with other Values;
        its backward adds into the captured Values' grads each sample's gradient (scaled for
        "mean"), summed in sample order: a Python loop of eager calls gives the same to
        rounding. Each sample's numbers are eager mode's to the bit.
        """
        import numpy as np

        if reduce not in (None, "mean", "sum"):
            raise ValueError(f"reduce must be None, 'mean' or 'sum', not {reduce!r}")
        columns, structure, widths, n = [], [], [], None
        for a in arrays:  # (one loop: this is per call, and a training step is a few calls)
            c = _samples_of(a, np)
            shape = c.shape
            columns.append(c)
            n = shape[0] if n is None else n if shape[0] == n else -1
            # (a sample's structure, as _flatten gives it for the first sample's floats)
            structure.append("f" if len(shape) == 1 else ("floats", shape[1]))
            widths.append(1 if len(shape) == 1 else shape[1])
        if not n or n < 0:
            raise ValueError(f"batch needs arrays with the same number (>= 1) of samples, got "
                             f"{[c.shape[0] for c in columns]}")
        structure = tuple(structure)
        recording = self._recordings.get(structure)
        if recording is None or recording.version != _version():
            items = []
            for c in columns:
                _flatten(c[0].tolist(), items)
            self._record(structure, items)
            recording = self._recordings[structure]
        if reduce and recording.shape is not None:
            raise ValueError("reduce needs a function that returns one Value")
        args = [_rows(c, np) for c in columns]
        if reduce:  # (a node that keeps the batch's lanes for its backward: see mg_batch_reduce)
            # The dead Values' releases first: a training loop's loss of two steps back holds
            # that step's batch, its lanes megabytes for a big one; queued, it would wait for
            # a thousand more dead Values.
            engine._flush()
            mean = reduce == "mean"
            made = lib.mg_batch_reduce(recording.rec, n, len(args), args, widths, mean)
            if made < 0:
                made = _retry(made, lib.mg_batch_reduce, recording.rec, n, len(args), args, widths, mean)
            return _made(made)
        out = np.empty((n, 1 if recording.shape is None else recording.shape))
        err = lib.mg_batch_forward(recording.rec, n, len(args), args, widths,
                                   ffi.from_buffer("double[]", out, require_writable=True))
        if err:
            _raise(err)
        return out[:, 0] if recording.shape is None else out

    def recordings(self) -> list[dict[str, int]]:
        """What each recording holds: its steps (nodes made again at each call), captured nodes
        (made before it: parameters, constants), inputs and outputs."""
        info = ffi.new("mg_recording_info *")
        found = []
        for r in self._recordings.values():
            lib.mg_recording_describe(r.rec, info)
            found.append({"steps": info.steps, "captured": info.captured,
                          "inputs": info.inputs, "outputs": info.outputs})
        return found
