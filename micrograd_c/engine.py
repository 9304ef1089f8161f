"""micrograd's Value, with its node, its arithmetic and its backward pass in C.

A Value holds only the id of its node in the C store; the C store keeps the
graph (a node holds its children). So a Value the user drops dies at once, and
Python's garbage collector never has to walk a graph: that is where micrograd
spends most of its time. When a Value dies its id is queued, and one C call
releases a batch of them; nodes nothing holds any more are freed.
"""
import numbers
import threading

from ._core import ffi as _ffi, lib

_op = lib.mg_op
_LEAF, _ADD, _MUL, _POW, _NEG = lib.MG_LEAF, lib.MG_ADD, lib.MG_MUL, lib.MG_POW, lib.MG_NEG
_RELU, _TANH, _EXP, _LOG, _SIGMOID = lib.MG_RELU, lib.MG_TANH, lib.MG_EXP, lib.MG_LOG, lib.MG_SIGMOID
_SUB, _RSUB, _DIV, _RDIV = lib.MG_SUB, lib.MG_RSUB, lib.MG_DIV, lib.MG_RDIV
_ERRORS = {
    lib.MG_ENOMEM: (MemoryError, "out of memory for autograd nodes (see memory_stats())"),
    lib.MG_EDOMAIN: (ValueError, "math domain error"),
    lib.MG_ERANGE: (OverflowError, "math range error"),
    lib.MG_EZERODIV: (ZeroDivisionError, "0.0 cannot be raised to a negative power"),
    lib.MG_EINVAL: (RuntimeError, "micrograd_c: invalid node id (please report this bug)"),
}
_LABELS = {lib.MG_LEAF: "", lib.MG_ADD: "+", lib.MG_MUL: "*", lib.MG_NEG: "neg",
           lib.MG_RELU: "ReLU", lib.MG_TANH: "tanh", lib.MG_EXP: "exp", lib.MG_LOG: "log",
           lib.MG_SIGMOID: "sigmoid", lib.MG_NEURON: "neuron", lib.MG_NEURON_RELU: "neuron-ReLU"}


def _fail(code):
    exc, message = _ERRORS[code]
    if code == lib.MG_ENOMEM:
        _flush(True)  # nodes of Values already dead count until their batch is released
    raise exc(message)


def _const(x):
    """x as a float if it is a real number (int, float, bool, numpy scalar), else None."""
    if type(x) is float:
        return x
    if type(x) is int:  # zero_grad's `p.grad = 0`, `x + 1`: skip the slow ABC check below
        return float(x)
    if isinstance(x, numbers.Real) and not isinstance(x, Value):
        return float(x)  # an int too large for a double raises OverflowError, as in Python
    return None


def _number(x, what):
    c = _const(x)
    if c is None:
        raise TypeError(f"{what} must be a real number, not {type(x).__name__}")
    return c


def _made(i):
    """The Value for a node the C core just made (or the error it reported)."""
    if i < 0:
        _fail(i)
    v = _new(Value)
    v._i = i
    return v


class Value:
    """ stores a single scalar value and its gradient """
    __slots__ = ("_i",)
    __array_ufunc__ = None  # numpy scalars then defer to our reflected operators

    def __init__(self, data):
        i = _op(_LEAF, -1, -1, _number(data, "Value data"))
        if i < 0:
            _fail(i)
        self._i = i

    def __del__(self):
        try:
            _dead.append(self._i)
            if len(_dead) >= _BATCH:
                _flush(False)
        except Exception:  # __init__ failed before a node was made, or the interpreter is exiting
            pass

    # ---- ops: each is one C call that makes the node and computes its data ----
    def __add__(self, other):
        if isinstance(other, Value):
            return _made(_op(_ADD, self._i, other._i, 0.0))
        c = _const(other)
        return NotImplemented if c is None else _made(_op(_ADD, self._i, -1, c))

    def __mul__(self, other):
        if isinstance(other, Value):
            return _made(_op(_MUL, self._i, other._i, 0.0))
        c = _const(other)
        return NotImplemented if c is None else _made(_op(_MUL, self._i, -1, c))

    def __pow__(self, other):
        c = _const(other)  # only int/float powers, as in micrograd; Value ** Value is a TypeError
        return NotImplemented if c is None else _made(_op(_POW, self._i, -1, c))

    def __neg__(self):
        return _made(_op(_NEG, self._i, -1, 0.0))

    def relu(self):
        return _made(_op(_RELU, self._i, -1, 0.0))

    def tanh(self):
        return _made(_op(_TANH, self._i, -1, 0.0))

    def exp(self):
        return _made(_op(_EXP, self._i, -1, 0.0))

    def log(self):
        return _made(_op(_LOG, self._i, -1, 0.0))

    def sigmoid(self):
        return _made(_op(_SIGMOID, self._i, -1, 0.0))

    # the rest are micrograd's own compositions, with the same nodes, so results
    # match it to the bit; with two nodes, one C call makes both
    __radd__ = __add__
    __rmul__ = __mul__

    def __sub__(self, other):  # self + (-other)
        if isinstance(other, Value):
            return _made(_op(_SUB, self._i, other._i, 0.0))
        c = _const(other)
        return NotImplemented if c is None else _made(_op(_ADD, self._i, -1, -c))

    def __rsub__(self, other):  # other + (-self)
        c = _const(other)
        return NotImplemented if c is None else _made(_op(_RSUB, self._i, -1, c))

    def __truediv__(self, other):  # self * other**-1
        if isinstance(other, Value):
            return _made(_op(_DIV, self._i, other._i, 0.0))
        c = _const(other)
        return NotImplemented if c is None else _made(_op(_MUL, self._i, -1, c**-1))

    def __rtruediv__(self, other):  # other * self**-1
        try:
            c = _const(other)
        except OverflowError:  # an int too large for a float
            c = None
        if c is None:  # self**-1 comes first, as in micrograd: "a" / Value(0) is a ZeroDivisionError
            return self**-1 * other
        return _made(_op(_RDIV, self._i, -1, c))

    def backward(self):
        err = lib.mg_backward(self._i)
        if err:
            _fail(err)

    # ---- data and grad live in the C store ----
    @property
    def data(self):
        return lib.mg_data(self._i)

    @data.setter
    def data(self, x):
        lib.mg_set_data(self._i, _number(x, "data"))

    @property
    def grad(self):
        return lib.mg_grad(self._i)

    @grad.setter
    def grad(self, x):
        lib.mg_set_grad(self._i, _number(x, "grad"))

    # ---- what graph-drawing code written for micrograd reads ----
    @property
    def _prev(self):
        """The Values this one was made from (equal to, and hashing as, the originals)."""
        return set(self._children())

    def _children(self):
        """The child Values in order (a fused neuron's: inputs, weights, bias)."""
        info = _ffi.new("mg_info *")
        lib.mg_node_info(self._i, info)
        kids = _ffi.new("int32_t[]", info.nkids)
        lib.mg_kids(self._i, kids, info.nkids)
        return [_made(k) for k in kids]

    @property
    def _op(self):
        info = _ffi.new("mg_info *")
        lib.mg_node_info(self._i, info)
        if info.op == lib.MG_POW:
            k = info.arg
            return f"**{int(k) if k.is_integer() else k}"
        return _LABELS[info.op]

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
        nn model has equal parameters and trains on."""
        return _leaf, (self.data, self.grad)


def _leaf(data, grad):
    v = Value(data)
    v.grad = grad
    return v


_new = object.__new__

# ---- freeing nodes: __del__ queues ids, one C call frees a batch ----
_BATCH = 1024
_dead = []
_flush_lock = threading.Lock()


def _flush(wait):
    if not _flush_lock.acquire(blocking=wait):
        return  # another thread is flushing; the next __del__ will try again
    try:
        n = len(_dead)  # other threads only append, so the first n are ours to take
        if n:
            batch = _dead[:n]
            del _dead[:n]
            lib.mg_release(batch, n)
    finally:
        _flush_lock.release()


def memory_stats():
    """The C node store's size: live_nodes, capacity_nodes, node_limit (0 = none), bytes."""
    _flush(True)
    s = _ffi.new("mg_stats *")
    lib.mg_get_stats(s)
    return {"live_nodes": s.live_nodes, "capacity_nodes": s.capacity_nodes,
            "node_limit": s.node_limit, "bytes": s.bytes}

