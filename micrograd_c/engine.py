"""micrograd's Value, with its node, its arithmetic and its backward pass in C.

A Value holds only the id of its node in the C store; the C store keeps the
graph (a node holds its children). So a Value the user drops dies at once, and
Python's garbage collector never has to walk a graph: that is where micrograd
spends most of its time. When a Value dies its id is queued, and one C call
releases a batch of them; nodes nothing holds any more are freed.
"""
import gc
import operator
import sys
import _thread
import _weakref

from ._core import ffi as _ffi, lib
from ._numbers import as_float

_mg_op = lib.mg_op
_mg_data, _mg_grad, _mg_ints = lib.mg_data, lib.mg_grad, lib.mg_ints
_mg_set_data, _mg_set_grad = lib.mg_set_data, lib.mg_set_grad
_DATA_INT, _GRAD_INT = lib.MG_DATA_INT, lib.MG_GRAD_INT


def _op_table():
    """The C op table: each op's kind by name, and the `_op` label of each kind's nodes."""
    kinds, labels = {}, {}
    desc = _ffi.new("mg_op_desc *")
    while lib.mg_describe_op(len(kinds), desc) == 0:
        kinds[_ffi.string(desc.name).decode()] = len(kinds)
        labels[len(labels)] = _ffi.string(desc.label).decode() if desc.label else None
    return kinds, labels


_KINDS, _LABELS = _op_table()
_LEAF, _ADD, _MUL, _POW = (_KINDS[n] for n in ("leaf", "add", "mul", "pow"))
_RELU, _TANH, _EXP, _LOG, _SIGMOID = (_KINDS[n] for n in ("relu", "tanh", "exp", "log", "sigmoid"))
_SUB, _RSUB, _DIV, _RDIV = (_KINDS[n] for n in ("sub", "rsub", "div", "rdiv"))
_FUSED = (_KINDS["neuron"], _KINDS["neuron_relu"])
_ERRORS = {
    lib.MG_ENOMEM: (MemoryError, "out of memory for autograd nodes (see memory_stats())"),
    lib.MG_EDOMAIN: (ValueError, "math domain error"),
    lib.MG_ERANGE: (OverflowError, "math range error"),
    lib.MG_EZERODIV: (ZeroDivisionError, "0.0 cannot be raised to a negative power"),
    lib.MG_EDIVZERO: (ZeroDivisionError, "division by zero"),
    lib.MG_ENODE: (RuntimeError, "micrograd_c: this Value no longer has a node: its __del__() was "
                                 "called, which releases it; the Value cannot be used after that"),
    lib.MG_EINVAL: (RuntimeError, "micrograd_c: a C call was given a bad argument (a bug in "
                                  "micrograd_c: please report it)"),
}


def _raise(code):
    exc, message = _ERRORS[code]
    raise exc(message)


def _fail(code):
    """Raise what a C call that makes nodes reported; running out of room releases first."""
    if code == lib.MG_ENOMEM:
        _make_room()
    _raise(code)


def _make_room():
    """Release the nodes of Values that are dead but not released yet: those queued, and those
    in reference cycles the collector has not freed yet."""
    _flush()
    gc.collect()
    _flush()


def _retry(code, call, *args):
    """call(*args) again after it failed with `code`, if room was what it lacked (see _make_room);
    its result, or the error raised."""
    if code == lib.MG_ENOMEM:
        _make_room()
        code = call(*args)
    if code < 0:
        _raise(code)
    return code


def _const(x):
    """_numbers.as_float(x), with fast paths: x as a float if it is a real number, else None."""
    if type(x) is float:
        return x
    if type(x) is int:  # zero_grad's `p.grad = 0`, `x + 1`: skip the slow checks
        return float(x)
    if isinstance(x, (float, int)):  # numpy.float64 and bool are float and int subclasses
        return float(x)
    return None if isinstance(x, Value) else as_float(x)


# micrograd keeps ints as ints; the C core does too, for those a double holds exactly
_ARG_INT = lib.MG_ARG_INT
_EXACT = 2**53


def _int_flag(x):
    """MG_ARG_INT if x is an int the C core can keep as one, else 0 (mg_op's flag; the ops
    skip this call for a float, the common case)."""
    return _ARG_INT if type(x) is int and -_EXACT <= x <= _EXACT else 0


def _number(x, what):
    c = _const(x)
    if c is None:
        raise TypeError(f"{what} must be a real number, not {type(x).__name__}")
    return c


def _made(i):
    """The Value for a node the C core just made and holds once for it (or the error it reported)."""
    if i < 0:
        _fail(i)
    v = _new(Value)
    v._i = i
    return v


class Value:
    """ stores a single scalar value and its gradient """
    # `_i` is the node's id. Any other attribute (`label`, the lecture's; whatever code written
    # for micrograd sets) goes in a __dict__, made only for a Value that gets one; and Values
    # can be weakly referenced, as micrograd's can.
    __slots__ = ("_i", "__dict__", "__weakref__")
    __array_ufunc__ = None  # numpy scalars then defer to our reflected operators
    label = ""  # the nn-zero-to-hero lecture's Value has one; '' until set

    def __init__(self, data, *, label=""):
        x = data if type(data) is float else _number(data, "Value data")
        if label != "":
            self.label = label
        # A new Value refers to nothing but its class; one that refers to more may already
        # have a node (micrograd code can call __init__ again on a live Value)
        if len(_referents(self)) > 1 and _has_node(self):
            # called again on a live Value: as in micrograd, it becomes a leaf holding x, in
            # place, so its parents and every cached id (a Layer's, an optimizer's) see it
            err = lib.mg_set_leaf(self._i, x, _int_flag(data))
            if err:
                _raise(err)
            return
        kind = _LEAF if type(data) is float else _LEAF | _int_flag(data)
        i = _mg_op(kind, -1, -1, x)
        if i < 0:
            i = _retry(i, _mg_op, kind, -1, -1, x)
        self._i = i

    def __del__(self):
        try:
            i = self._i
            self._i = -1  # released, in the same step as read: a second call queues -1, a no-op
            if _refs(self) > _DYING_REFS:
                # Something else still refers to this Value: the collector is freeing a cycle it
                # is in (and the cycle may bring it back), or __del__ was called by hand on a
                # Value in use (a model's parameter, say, whose id layers and optimizers keep).
                # Its node stays until the Value is freed (see _watch).
                self._i = i
                _watch(self, i)
                return
            if _watched:
                _watched.pop(id(self), None)  # dying after a call by hand: released here, once
            _dead.append(i)
            if len(_dead) >= _batch:
                _flush()
        except Exception:  # __init__ failed before a node was made, or Python is shutting down
            pass

    # ---- ops: each is one C call that makes the node (and a leaf for a number operand, as
    # micrograd does) and computes its data ----
    def __add__(self, other):
        if isinstance(other, Value):
            return _made(_mg_op(_ADD, self._i, other._i, 0.0))
        c = _const(other)
        if c is None:
            return NotImplemented
        kind = _ADD if type(other) is float else _ADD | _int_flag(other)
        return _made(_mg_op(kind, self._i, -1, c))

    def __mul__(self, other):
        if isinstance(other, Value):
            return _made(_mg_op(_MUL, self._i, other._i, 0.0))
        c = _const(other)
        if c is None:
            return NotImplemented
        kind = _MUL if type(other) is float else _MUL | _int_flag(other)
        return _made(_mg_op(kind, self._i, -1, c))

    def __pow__(self, other):
        c = _const(other)  # only int/float powers, as in micrograd; Value ** Value is a TypeError
        if c is None:
            return NotImplemented
        kind = _POW if type(other) is float else _POW | _int_flag(other)
        return _made(_mg_op(kind, self._i, -1, c))

    def __neg__(self):  # self * -1, as micrograd writes it
        return _made(_mg_op(_MUL | _ARG_INT, self._i, -1, -1.0))

    def relu(self):
        return _made(_mg_op(_RELU, self._i, -1, 0.0))

    def tanh(self):
        return _made(_mg_op(_TANH, self._i, -1, 0.0))

    def exp(self):
        return _made(_mg_op(_EXP, self._i, -1, 0.0))

    def log(self):
        return _made(_mg_op(_LOG, self._i, -1, 0.0))

    def sigmoid(self):
        return _made(_mg_op(_SIGMOID, self._i, -1, 0.0))

    # the rest are micrograd's own compositions, with the same nodes, so results
    # match it to the bit; one C call makes all of their nodes
    __radd__ = __add__
    __rmul__ = __mul__

    def __sub__(self, other):  # self + (-other)
        if isinstance(other, Value):
            return _made(_mg_op(_SUB, self._i, other._i, 0.0))
        c = _const(other)
        if c is None:
            return NotImplemented
        kind = _ADD if type(other) is float else _ADD | _int_flag(other)
        return _made(_mg_op(kind, self._i, -1, -c))

    def __rsub__(self, other):  # other + (-self)
        c = _const(other)
        if c is None:
            return NotImplemented
        kind = _RSUB if type(other) is float else _RSUB | _int_flag(other)
        return _made(_mg_op(kind, self._i, -1, c))

    def __truediv__(self, other):  # self * other**-1
        if isinstance(other, Value):
            return _made(_mg_op(_DIV, self._i, other._i, 0.0))
        c = _const(other)
        if c is None:
            return NotImplemented
        try:
            c = c**-1
        except ZeroDivisionError:
            raise ZeroDivisionError("division by zero") from None
        return _made(_mg_op(_MUL, self._i, -1, c))

    def __rtruediv__(self, other):  # other * self**-1
        try:
            c = _const(other)
        except OverflowError:  # an int too large for a float
            c = None
        if c is None:  # self**-1 comes first, as in micrograd: "a" / Value(0) is a ZeroDivisionError
            return self**-1 * other
        kind = _RDIV if type(other) is float else _RDIV | _int_flag(other)
        return _made(_mg_op(kind, self._i, -1, c))

    def backward(self):
        err = lib.mg_backward(self._i)
        if err:
            _raise(err)

    # ---- data and grad live in the C store ----
    # Each is a double there, and an int here where micrograd's would be (mg_ints says which).
    @property
    def data(self):
        x = _mg_data(self._i)
        if x.is_integer():
            return int(x) if _mg_ints(self._i) & _DATA_INT else x
        if x != x and not _has_node(self):  # nan: the data, or no node to read it from
            _raise(lib.MG_ENODE)
        return x

    @data.setter
    def data(self, x):
        if type(x) is float:
            err = _mg_set_data(self._i, x, 0)
        else:
            err = _mg_set_data(self._i, _number(x, "data"), _int_flag(x))
        if err:
            _raise(err)

    @property
    def grad(self):
        x = _mg_grad(self._i)
        if x.is_integer():
            return int(x) if _mg_ints(self._i) & _GRAD_INT else x
        if x != x and not _has_node(self):
            _raise(lib.MG_ENODE)
        return x

    @grad.setter
    def grad(self, x):
        if type(x) is float:
            err = _mg_set_grad(self._i, x, 0)
        else:
            err = _mg_set_grad(self._i, _number(x, "grad"), _int_flag(x))
        if err:
            _raise(err)

    # ---- what graph-drawing code written for micrograd reads ----
    @property
    def _prev(self):
        """The Values this one was made from: the very objects, while they are alive."""
        return set(self._children)

    @property
    def _children(self):
        """The child Values in order (a fused neuron's: inputs, weights, bias), as a tuple."""
        info = self._info()
        kids = _ffi.new("int32_t[]", info.nkids)
        n = lib.mg_hold_kids(self._i, kids, info.nkids)
        if n < 0:
            _raise(n)
        return _values_of(list(kids))

    def _info(self):
        """What the node is, as micrograd would have made it: a fused neuron (one C node for
        a whole neuron of a Layer) is turned into micrograd's chain of nodes when first asked."""
        info = _ffi.new("mg_info *")
        err = lib.mg_node_info(self._i, info)
        if not err and info.kind in _FUSED:
            err = lib.mg_expand(self._i)
            if err:
                err = _retry(err, lib.mg_expand, self._i)
            err = lib.mg_node_info(self._i, info)
        if err:
            _raise(err)
        return info

    @property
    def _op(self):
        info = self._info()
        if info.kind == _POW:  # micrograd's f'**{other}': '**2' for 2, '**2.0' for 2.0
            k = info.arg
            return f"{_LABELS[_POW]}{int(k) if info.arg_int else k}"
        return _LABELS[info.kind]

    # A Value is its node: two Value objects for one node (say, the original
    # and the one `_prev` gives) are equal and hash alike; others never are.
    def __eq__(self, other):
        return isinstance(other, Value) and other._i == self._i

    def __hash__(self):
        return hash(self._i)

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"

    # copy.copy, copy.deepcopy and pickle: a Value is its node, so copying one
    # means a new node; without this they would copy `_i`, and two Values would
    # release one node.
    def __reduce__(self):
        """A copy or unpickled Value is a new leaf with this one's data and grad.

        The graph it was computed from is not copied (micrograd cannot pickle a
        Value at all); a model's parameters are leaves, so a copied or pickled
        nn model has equal parameters and trains on. Attributes (a label, ...) are
        copied too."""
        return _leaf, (self.data, self.grad), (self.__dict__ or None)


def _leaf(data, grad):
    v = Value(data)
    v.grad = grad
    return v


_new = object.__new__
_refs = sys.getrefcount
_weakref = _weakref.ref  # the weakref module itself (imported by _values_of) takes ~0.6 ms to import
_referents = gc.get_referents


# ---- one Python object per node ----
# A node's Value is the only object for it while it lives: the children `_prev` gives are the
# very objects the node was made from, if they are alive (code written for micrograd keys nodes
# on id()). Nothing on the path that makes Values pays for this: the live Values are found when
# `_prev` is asked, among the objects the collector tracks. What was found stays good until a
# node is made (a Value for an existing node is only ever made here); then only the Values made
# since need finding, and they are in the youngest generations, unless the collector has moved
# them on since.
_by_node = None  # node id -> its live Value (a WeakValueDictionary, made when first asked)
_by_node_made = -1  # the store's count of nodes made when _by_node was last brought up to date
_by_node_collections = None  # the collector's count of collections, per generation, then


def _store_stats():
    stats = _ffi.new("mg_stats *")
    lib.mg_get_stats(stats)
    return stats


def _find_values():
    """Bring _by_node up to date: add the Values made since it last was."""
    global _by_node, _by_node_made, _by_node_collections
    made = _store_stats().made
    if made == _by_node_made:
        return
    collections = [g["collections"] for g in gc.get_stats()]
    if _by_node is None:
        import weakref
        _by_node = weakref.WeakValueDictionary()
        generations = [None]  # all of them
    else:
        # generation g's collection moves its survivors to generation g + 1: the new Values
        # are in the generations up to one past the oldest collected since
        moved = [g for g in range(len(collections)) if collections[g] != _by_node_collections[g]]
        youngest = max(moved, default=-1) + 2
        generations = [None] if youngest >= len(collections) else range(youngest)
    for g in generations:
        # (one generation's list at a time: a list made here would be in generation 0 itself)
        for o in gc.get_objects() if g is None else gc.get_objects(generation=g):
            # type(), not isinstance(): that would read some objects' __class__ properties
            # (torch has deprecated ones that warn)
            if issubclass(type(o), Value) and _has_node(o):
                _by_node[o._i] = o
    _by_node_made, _by_node_collections = made, collections


def _values_of(ids):
    """The Values of nodes ids, each held once more by the caller for a new Value: the live one
    where there is one (and the hold let go), else a new one."""
    _find_values()
    out, extra = [], []
    for i in ids:
        v = _by_node.get(i)
        if v is not None and v._i == i:
            extra.append(i)
        else:
            v = _by_node[i] = _made(i)
        out.append(v)
    if extra:
        lib.mg_release(extra, len(extra))
    return tuple(out)


def _has_node(v):
    """Whether v's node is still its own (not released, nor never made)."""
    try:
        return v._i >= 0
    except AttributeError:
        return False


# ---- freeing nodes ----
# A Value's __del__ queues its id; when a batch is full, one C call releases it. There is no
# lock, as anything may run in between and come back here: another thread, a signal handler,
# the garbage collector running other __del__ methods (which may call memory_stats()). Under
# the GIL a list's append, and a swap of two names, are each atomic, so none of it can release
# an id twice:
# - taking the batch is one assignment with nothing in between that can run Python code (the
#   new list is made first: making a list may start the collector);
# - each id is queued once: __del__ marks its Value released (a second call by hand queues
#   -1, which releases nothing), and a Value something else still refers to (a cycle the
#   collector is freeing may put it back in use) is released only when it is freed.
# A KeyboardInterrupt can still lose ids, never more than it interrupts: a batch it lands in
# between taking and releasing. (It can also strand a node anywhere a C call has made one and
# the Value for it is not made yet.)
_BATCH = 1024
_batch = _BATCH  # 1 under a node limit: see set_node_limit
_dead = []


def _flush():
    global _dead
    empty = []
    batch, _dead = _dead, empty
    if batch:
        lib.mg_release(batch, len(batch))


# Values whose __del__ ran while something else still referred to them, by id(): a weak
# reference to each, whose callback releases the node when the Value is freed. (Python runs an
# object's __del__ once, so a Value the collector brought back never queues its id itself.)
_watched = {}


def _watch(v, i):
    key = id(v)

    def freed(ref):
        if _watched.get(key) is ref:
            del _watched[key]
            _dead.append(i)

    if key not in _watched:
        _watched[key] = _weakref(v, freed)


class _Probe:
    def __del__(self):
        global _DYING_REFS
        _DYING_REFS = _refs(self)


# What _refs(self) counts in a __del__ run because the object's last reference went (the
# interpreter's own references; the count differs between versions): more means someone else
# refers to it. (The collector holds one more on an object it finalizes.)
_Probe()


def set_node_limit(n):
    """Cap the number of live nodes (0 or less = no cap); ops past it raise MemoryError.

    Under a cap, a dead Value's node is released at once, not in a batch, so that what counts
    against the cap is the nodes of live Values (and of reference cycles not collected yet)."""
    global _batch
    n = operator.index(n)  # an int, as range() takes: '3' and 2.5 are TypeErrors
    lib.mg_set_node_limit(n)
    _batch = 1 if n > 0 else _BATCH
    _flush()


def memory_stats():
    """The C node store's size: live_nodes, capacity_nodes, node_limit (0 = none), bytes."""
    _flush()
    s = _store_stats()
    return {"live_nodes": s.live_nodes, "capacity_nodes": s.capacity_nodes,
            "node_limit": s.node_limit, "bytes": s.bytes}


# ---- Ctrl-C while a Value is being freed ----
# Python checks for signals when a function starts, __del__ included, and an exception that
# leaves __del__ can only be printed ("Exception ignored
# in ..."): a KeyboardInterrupt raised there would be lost and the program would run on. So
# such a KeyboardInterrupt is delivered again, by simulating the signal from another thread,
# and only once this one has left the hook: it then lands in the program's own code.


def _deliver_interrupt(hook_done):
    hook_done.acquire()
    _thread.interrupt_main()


def _unraisable(unraisable):
    obj = unraisable.object
    if isinstance(unraisable.exc_value, KeyboardInterrupt) and obj is Value.__del__:
        _finish_interrupted(unraisable.exc_traceback)
        hook_done = _thread.allocate_lock()
        hook_done.acquire()
        try:
            _thread.start_new_thread(_deliver_interrupt, (hook_done,))
        except RuntimeError:  # no new threads (the interpreter is shutting down): print it
            pass
        else:
            # The last call here: until it returns, the other thread cannot deliver (and
            # Python checks for a signal before it lets another thread run).
            hook_done.release()
            return
    _previous_unraisablehook(unraisable)


def _finish_interrupted(tb):
    """Do what the interrupt stopped as it started: a Value's __del__."""
    if tb is None:
        return
    code, names = tb.tb_frame.f_code, tb.tb_frame.f_locals
    if code is Value.__del__.__code__ and "i" not in names and "self" in names:
        Value.__del__(names["self"])  # the traceback refers to it: it is watched (_watch)


_previous_unraisablehook = sys.unraisablehook
sys.unraisablehook = _unraisable
