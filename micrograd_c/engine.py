"""micrograd's Value, with its node, its arithmetic and its backward pass in C.

A Value holds only the id of its node in the C store; the C store keeps the
graph (a node holds its children). So a Value the user drops dies at once, and
Python's garbage collector never has to walk a graph: that is where micrograd
spends most of its time. When a Value dies its id is queued, and one C call
releases a batch of them; nodes nothing holds any more are freed.
"""
from __future__ import annotations

import gc
import operator
import sys
from time import sleep as _sleep
import _thread
import _weakref

from ._core import ffi as _ffi, lib
from ._numbers import as_float

TYPE_CHECKING = False  # (typing is not imported at run time: it would add to the import time)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

_mg_op, _mg_leaf, _mg_custom = lib.mg_op, lib.mg_leaf, lib.mg_custom
_NO_NODE = lib.MG_NO_NODE  # a released Value's `_i`: no node's id, and past every view's end
_NO_KIDS = ()  # (the empty tuple: Value's default _children, the only one there is)


def _views():
    """Views of the C store's data and grad arrays, and of their int flags, as they are now
    (mg_get_views): the arrays never move, so a view stays valid; the store may grow past it."""
    v = _ffi.new("mg_views *")
    lib.mg_get_views(v)
    n = v.capacity
    return tuple(memoryview(_ffi.buffer(at, size * n)).cast(fmt) for at, size, fmt in
                 ((v.data, 8, "d"), (v.data_int, 1, "B"), (v.grad, 8, "d"), (v.grad_int, 1, "B")))


# Node i's data is _datas[i], an int if _data_ints[i]; its grad _grads[i], an int if _grad_ints[i]
_datas, _data_ints, _grads, _grad_ints = _views()


def _see_node(i):
    """Take the views again, after an index past their end; raise if i is still not in them."""
    global _datas, _data_ints, _grads, _grad_ints
    _datas, _data_ints, _grads, _grad_ints = _views()
    if not 0 <= i < len(_grads):
        _raise(lib.MG_ENODE)


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
_RELU, _TANH, _EXP, _LOG, _SIGMOID, _DETACH = (_KINDS[n] for n in ("relu", "tanh", "exp", "log",
                                                                  "sigmoid", "detach"))
_SUB, _RSUB, _DIV, _RDIV = (_KINDS[n] for n in ("sub", "rsub", "div", "rdiv"))
_FUSED = (_KINDS["neuron"], _KINDS["neuron_relu"], _KINDS["chain"])
_CUSTOM = _KINDS["custom"]
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
    if _kept:
        _unkeep()
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
# (each bound made once: `-2**53` in a test would make a new int at every call)
_EXACT_MIN, _EXACT_MAX = -2**53, 2**53
_EXACT_FLOAT_MIN, _EXACT_FLOAT_MAX = -2.0**53, 2.0**53  # (a float compares faster with a float)


def _int_flag(x):
    """MG_ARG_INT if x is an int the C core can keep as one, else 0 (mg_op's flag; the ops
    skip this call for a float, the common case)."""
    return _ARG_INT if type(x) is int and _EXACT_MIN <= x <= _EXACT_MAX else 0


def _operand(x):
    """An op's number operand as its constant: an int a double holds exactly as it is (the op
    then keeps it an int, as micrograd does), any other real number as a float, None for what
    is not one (the ops skip this call for a float, the most common operand)."""
    if type(x) is int and _EXACT_MIN <= x <= _EXACT_MAX:
        return x  # (cffi makes it the double, as float(x) would)
    return _const(x)


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


def _made_all(ids):
    """_made of each of ids (a C array of nodes just made), in a list: one loop, no call each
    (a compiled function's first call makes an MNIST image's 794 inputs so)."""
    made, new = [], _new
    for i in ids:
        if i < 0:
            _fail(i)
        v = new(Value)
        v._i = i
        made.append(v)
    return made


class Value:
    """Stores a single scalar value and its gradient, as micrograd's Value does.

    Arithmetic on Values (and numbers) makes new Values that remember what they were
    computed from; `backward()` then fills in the gradient of each of them. The node a
    Value stands for lives in micrograd_c's C store, where `data` and `grad` are kept.
    """
    # `_i` is the node's id. Any other attribute (`label`, the lecture's; whatever code written
    # for micrograd sets) goes in a __dict__, made only for a Value that gets one; and Values
    # can be weakly referenced, as micrograd's can.
    __slots__ = ("_i", "__dict__", "__weakref__")
    __array_ufunc__ = None  # numpy scalars then defer to our reflected operators

    def __init__(self, data: float, _children: Iterable[Value] = (), _op: str = "",
                 label: str = "") -> None:
        """A leaf Value holding `data`, a real number (int, float, bool, numpy scalar, ...).

        An int stays an int, as in micrograd (while a double holds it exactly). `_children`
        and `_op` are micrograd's way to make a custom op: the Values this one is computed
        from and the op's name, with its `_backward` set next. `label` is a name for the
        Value (the nn-zero-to-hero lecture's). TypeError if `data` is not a real number.
        """
        if isinstance(data, float) and _children is _NO_KIDS and _op == "" and label == "" \
                and type(self) is Value and len(_referents(self)) == 1:  # a new leaf of a float
            i = _mg_leaf(data)
            self._i = i if i >= 0 else _retry(i, _mg_leaf, data)
            return
        # (a numpy float is a float: the inputs of many a training loop)
        x = data if type(data) is float else float(data) if isinstance(data, float) else \
            _number(data, "Value data")
        kids = _children if type(_children) is tuple else tuple(_children)
        # A new Value refers to nothing but its class; one that refers to more may already
        # have a node (micrograd code can call __init__ again on a live Value)
        again = len(_referents(self)) > 1 and _has_node(self)
        if kids or _op != "":  # micrograd's own ops make their nodes this way; custom ops too
            _python_node_init(self, x, data, kids, _op, again)
        elif again:
            # called again on a live Value: as in micrograd, it becomes a leaf holding x, in
            # place, so its parents and every cached id (a Layer's, an optimizer's) see it
            self.__dict__.pop(_RECORD, None)
            err = lib.mg_set_leaf(self._i, x, _int_flag(data))
            if err:
                _raise(err)
        else:
            kind = _LEAF | _int_flag(data) if type(data) is int else _LEAF
            i = _mg_op(kind, -1, -1, x)
            if i < 0:
                i = _retry(i, _mg_op, kind, -1, -1, x)
            self._i = i
            if type(self) is not Value:  # a subclass's Value: its class is more than its node
                _park(self)
        if label != "":
            self.label = label

    def __del__(self) -> None:
        """Release this Value's node (queued, then freed in a batch); the Value is unusable
        after that. Python calls it when the Value is dropped."""
        try:
            i = self._i
            self._i = _NO_NODE  # released, in the same step as read: a second call queues no node
            if _parked and i in _parked and _keep(self, i):
                return
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

    @property
    def label(self) -> str:
        """The nn-zero-to-hero lecture's label: '' until set."""
        return self.__dict__.get("label", "")

    @label.setter
    def label(self, text: str) -> None:
        self.__dict__["label"] = text
        if _has_node(self):
            _park(self)  # a child keeps its label while a parent lives, as in micrograd

    # ---- ops: each is one C call that makes the node (and a leaf for a number operand, as
    # micrograd does) and computes its data ----
    def __add__(self, other: Value | float) -> Value:
        """self + other (and other + self): a new Value. A number operand becomes a leaf
        Value, as in micrograd."""
        if isinstance(other, Value):
            return _made(_mg_op(_ADD, self._i, other._i, 0.0))
        c = other if type(other) is float else _operand(other)
        if c is None:
            return NotImplemented
        kind = _ADD | _ARG_INT if type(c) is int else _ADD
        return _made(_mg_op(kind, self._i, -1, c))

    def __mul__(self, other: Value | float) -> Value:
        """self * other (and other * self): a new Value."""
        if isinstance(other, Value):
            return _made(_mg_op(_MUL, self._i, other._i, 0.0))
        c = other if type(other) is float else _operand(other)
        if c is None:
            return NotImplemented
        kind = _MUL | _ARG_INT if type(c) is int else _MUL
        return _made(_mg_op(kind, self._i, -1, c))

    def __pow__(self, other: float) -> Value:
        """self ** other, for an int or float power: a new Value (a Value power is a
        TypeError, as in micrograd)."""
        # only int/float powers, as in micrograd; Value ** Value is a TypeError
        c = other if type(other) is float else _operand(other)
        if c is None:
            return NotImplemented
        kind = _POW | _ARG_INT if type(c) is int else _POW
        return _made(_mg_op(kind, self._i, -1, c))

    def __neg__(self) -> Value:
        """-self, computed as self * -1 (micrograd's way)."""
        return _made(_mg_op(_MUL | _ARG_INT, self._i, -1, -1.0))

    def relu(self) -> Value:
        """max(0, self): a new Value, whose gradient is 1 where data > 0, else 0."""
        return _made(_mg_op(_RELU, self._i, -1, 0.0))

    def tanh(self) -> Value:
        """tanh(self): a new Value."""
        return _made(_mg_op(_TANH, self._i, -1, 0.0))

    def exp(self) -> Value:
        """e ** self: a new Value. OverflowError if the result is too large for a float."""
        return _made(_mg_op(_EXP, self._i, -1, 0.0))

    def log(self) -> Value:
        """The natural logarithm of self: a new Value. ValueError if data <= 0."""
        return _made(_mg_op(_LOG, self._i, -1, 0.0))

    def sigmoid(self) -> Value:
        """1 / (1 + e ** -self): a new Value (computed without overflow for any data)."""
        return _made(_mg_op(_SIGMOID, self._i, -1, 0.0))

    def detach(self) -> Value:
        """A new Value with self's data through which no gradient flows back to self (torch's
        detach). It keeps self as its child, so a compiled function replays it."""
        return _made(_mg_op(_DETACH, self._i, -1, 0.0))

    # the rest are micrograd's own compositions, with the same nodes, so results
    # match it to the bit; one C call makes all of their nodes
    __radd__ = __add__
    __rmul__ = __mul__

    def __sub__(self, other: Value | float) -> Value:
        """self - other, computed as self + (-other) (micrograd's way)."""
        if isinstance(other, Value):
            return _made(_mg_op(_SUB, self._i, other._i, 0.0))
        c = other if type(other) is float else _operand(other)
        if c is None:
            return NotImplemented
        kind = _ADD | _ARG_INT if type(c) is int else _ADD
        return _made(_mg_op(kind, self._i, -1, -c))

    def __rsub__(self, other: float) -> Value:
        """other - self, computed as other + (-self)."""
        c = other if type(other) is float else _operand(other)
        if c is None:
            return NotImplemented
        kind = _RSUB | _ARG_INT if type(c) is int else _RSUB
        return _made(_mg_op(kind, self._i, -1, c))

    def __truediv__(self, other: Value | float) -> Value:
        """self / other, computed as self * other**-1. ZeroDivisionError for other == 0."""
        if isinstance(other, Value):
            return _made(_mg_op(_DIV, self._i, other._i, 0.0))
        c = other if type(other) is float else _operand(other)
        if c is None:
            return NotImplemented
        try:
            c = c**-1
        except ZeroDivisionError:
            raise ZeroDivisionError("division by zero") from None
        return _made(_mg_op(_MUL, self._i, -1, c))

    def __rtruediv__(self, other: float) -> Value:
        """other / self, computed as other * self**-1."""
        try:
            c = other if type(other) is float else _operand(other)
        except OverflowError:  # an int too large for a float
            c = None
        if c is None:  # self**-1 comes first, as in micrograd: "a" / Value(0) is a ZeroDivisionError
            return self**-1 * other
        kind = _RDIV | _ARG_INT if type(c) is int else _RDIV
        return _made(_mg_op(kind, self._i, -1, c))

    def backward(self) -> None:
        """Backpropagate from this Value: set its grad to 1, then add d(self)/d(v) into
        v.grad for every Value v it was computed from.

        Grads add up, as in micrograd and PyTorch: zero them before each backward pass
        (Module.zero_grad(), or `p.grad = 0`). Each Value is visited after all the Values
        made from it; a custom op's `_backward` runs in its place. Never raises for inf or
        nan: they propagate.
        """
        stop = _ffi.new("mg_pass *")
        done = lib.mg_backward(self._i, stop)
        if done:  # stopped at a node whose backward is Python's (or an error)
            _backward_through_python(stop, done)

    @property
    def _backward(self) -> Callable[[], None]:
        """The node's own step of backward (micrograd's closure): its grad, times its local
        derivative, added into its children's grads. A custom op's is the function code gave it."""
        if self._info().kind == _CUSTOM:
            record = _python_node(self._i)
            if record is not None and record.backward is not None:
                return record.backward
            return _no_backward
        return self._own_backward

    @_backward.setter
    def _backward(self, fn: Callable[[], object]) -> None:
        # a custom op, micrograd's way: `out = Value(data, (x,), 'op'); out._backward = closure`
        # (or a closure given to a node an op made: backward() then calls it in its place)
        i = self._i
        record = _python_node(i) if self._info().kind == _CUSTOM else None
        if record is not None:
            record.backward = fn
            return
        op = self._op  # what it shows stays the op's
        err = lib.mg_set_custom(i)
        if err:
            _retry(err, lib.mg_set_custom, i)
        _register(self, op, fn)

    def _own_backward(self):
        err = lib.mg_node_backward(self._i)
        if err:
            _retry(err, lib.mg_node_backward, self._i)

    # ---- data and grad live in the C store ----
    # Each is a double there, and an int here where micrograd's would be (a flag says which).
    # They are read and written in views of the store's arrays, without a C call (see _views).
    @property
    def data(self) -> float:
        """The Value's number: an int where micrograd's would be one, else a float. Settable
        (an optimizer's `p.data -= lr * p.grad`); TypeError for what is not a real number."""
        i = self._i
        try:
            x = _datas[i]
        except IndexError:  # a node newer than the views (or none)
            _see_node(i)
            x = _datas[i]
        if x.is_integer() and _data_ints[i]:
            return int(x)
        return x

    @data.setter
    def data(self, x: float) -> None:
        i = self._i
        if type(x) is float:  # (most writes: an optimizer's step)
            flag = 0
        elif type(x) is int and _EXACT_MIN <= x <= _EXACT_MAX:  # zero_grad's `p.grad = 0`
            flag = 1  # (the view makes it a float, as float(x) would)
        else:
            if isinstance(x, Value):  # `p.data -= lr * g`, g a gradient Value (micrograd_c.grad)
                x = x.data
            flag = 1 if _int_flag(x) else 0
            x = _number(x, "data")
        try:
            _datas[i] = x
            _data_ints[i] = flag
        except IndexError:
            _see_node(i)
            _datas[i] = x
            _data_ints[i] = flag

    @property
    def grad(self) -> float:
        """d(root)/d(self), added in by root.backward(); 0 until then. Settable (`p.grad = 0`
        zeroes it); an int where micrograd's would be one, else a float."""
        i = self._i
        try:
            g = _grads[i]
        except IndexError:
            _see_node(i)
            g = _grads[i]
        if g.is_integer() and _grad_ints[i] and _EXACT_FLOAT_MIN <= g <= _EXACT_FLOAT_MAX:
            return int(g)
        return g

    @grad.setter
    def grad(self, x: float) -> None:
        i = self._i
        if type(x) is float:  # (most writes: an optimizer's step)
            flag = 0
        elif type(x) is int and _EXACT_MIN <= x <= _EXACT_MAX:  # zero_grad's `p.grad = 0`
            flag = 1  # (the view makes it a float, as float(x) would)
        else:
            flag = 1 if _int_flag(x) else 0
            x = _number(x, "grad")
        try:
            _grads[i] = x
            _grad_ints[i] = flag
        except IndexError:
            _see_node(i)
            _grads[i] = x
            _grad_ints[i] = flag

    # ---- what graph-drawing code written for micrograd reads ----
    @property
    def _prev(self) -> set[Value]:
        """The Values this one was made from, as a set (micrograd's; graph-drawing code reads
        it): the very objects, while they are alive."""
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
    def _op(self) -> str:
        """The name of the op that made this Value, as micrograd's: '+', '*', '**2', 'ReLU',
        'tanh', ...; '' for a leaf; a custom op's own."""
        info = self._info()
        if info.kind == _CUSTOM:
            record = _python_node(self._i)
            return record.op if record is not None else ""
        if info.kind == _POW:  # micrograd's f'**{other}': '**2' for 2, '**2.0' for 2.0
            k = info.arg
            return f"{_LABELS[_POW]}{int(k) if info.arg_int else k}"
        return _LABELS[info.kind]

    # A Value is its node: two Value objects for one node (say, the original
    # and the one `_prev` gives) are equal and hash alike; others never are.
    def __eq__(self, other: object) -> bool:
        """Whether other is a Value for the same node (a Value `_prev` gives equals the one
        the node was made from)."""
        return isinstance(other, Value) and other._i == self._i

    def __hash__(self) -> int:
        """The node's hash: Values can be set members and dict keys, as in micrograd."""
        return hash(self._i)

    def __repr__(self) -> str:
        """Value(data=..., grad=...), as micrograd shows a Value."""
        return f"Value(data={self.data}, grad={self.grad})"

    # copy.copy, copy.deepcopy and pickle: a Value is its node, so copying one
    # means a new node; without this they would copy `_i`, and two Values would
    # release one node.
    def __reduce__(self) -> tuple[object, ...]:
        """A copy or unpickled Value is a new leaf with this one's data and grad.

        The graph it was computed from is not copied (micrograd cannot pickle a
        Value at all); a model's parameters are leaves, so a copied or pickled
        nn model has equal parameters and trains on. Attributes (a label, ...) are
        copied too."""
        state = {k: v for k, v in self.__dict__.items() if k != _RECORD} if self.__dict__ else None
        return _leaf, (self.data, self.grad), (state or None)

    def __setstate__(self, state: dict[str, object]) -> None:
        """Set the attributes a copied or unpickled Value carries (see __reduce__)."""
        for name, x in state.items():
            setattr(self, name, x)


def _leaf(data, grad):
    v = Value(data)
    v.grad = grad
    return v


_new = object.__new__
_refs = sys.getrefcount
_weakref = _weakref.ref  # (the weakref module itself takes ~0.6 ms to import)
_referents = gc.get_referents


# ---- one Python object per node ----
# A node's Value is the only object for it while it lives: the children `_prev` gives are the
# very objects the node was made from, if they are alive (code written for micrograd keys nodes
# on id()). Nothing on the path that makes Values pays for this: the live Values are found when
# `_prev` is asked, among the objects the collector tracks. What was found stays good until a
# node is made (a Value for an existing node is only ever made here); then only the Values made
# since need finding, and they are in the youngest generations, unless the collector has moved
# them on since.
_by_node = {}  # node id -> a weak reference to its Value (dead ones stay until a look at all)
_by_node_made = -1  # the store's count of nodes made when _by_node was last brought up to date
_by_node_collections = None  # the collector's count of collections, per generation, then


def _store_stats():
    stats = _ffi.new("mg_stats *")
    lib.mg_get_stats(stats)
    return stats


def _collections():
    return [g["collections"] for g in gc.get_stats()]


def _find_values():
    """Bring _by_node up to date: add the Values made since it last was."""
    made = _store_stats().made
    if made == _by_node_made:
        return
    # The search's own allocations (a generation's list, the references) would set off
    # collections, which move the Values of the generations not listed yet into older ones:
    # the collector waits meanwhile, and a collection that runs anyway (another thread's
    # gc.collect()) has the search done again, as far as it moved them.
    enabled = gc.isenabled()
    gc.disable()
    try:
        _search(made)
    finally:
        if enabled:
            gc.enable()


def _search(made):
    """_find_values's search, the collector waiting (made: the store's count of nodes made)."""
    global _by_node, _by_node_made, _by_node_collections
    collections = _collections()
    while True:
        if _by_node_collections is None:
            generations = [None]  # all of them
        else:
            # generation g's collection moves its survivors to generation g + 1: the new Values
            # are in the generations up to one past the oldest collected since
            moved = [g for g in range(len(collections)) if collections[g] != _by_node_collections[g]]
            youngest = max(moved, default=-1) + 2
            generations = [None] if youngest >= len(collections) else range(youngest)
        # a look at every object finds every live Value: the references of dead ones go then
        found = {} if generations == [None] else _by_node
        for g in generations:
            # (one generation's list at a time: a list made here would be in generation 0 itself)
            for o in gc.get_objects() if g is None else gc.get_objects(generation=g):
                # type(), not isinstance(): that would read some objects' __class__ properties
                # (torch has deprecated ones that warn)
                if issubclass(type(o), Value):
                    i = getattr(o, "_i", _NO_NODE)
                    if i != _NO_NODE:
                        ref = _by_node.get(i)
                        found[i] = ref if ref is not None and ref() is o else _weakref(o)
        now = _collections()
        if now == collections:
            break
        collections = now
    _by_node, _by_node_made, _by_node_collections = found, made, collections


def _values_of(ids):
    """The Values of nodes ids, each held once more by the caller for a new Value: the live one
    where there is one (and the hold let go), else a new one."""
    _find_values()
    out, extra = [], []
    for i in ids:
        ref = _by_node.get(i)
        v = ref() if ref is not None else None
        if v is None and _kept:  # (kept alive after the collector found it dead)
            v = _value_of(i)
        if v is not None and v._i == i:
            extra.append(i)
        else:
            v = _made(i)
            _by_node[i] = _weakref(v)
        out.append(v)
    if extra:
        lib.mg_release(extra, len(extra))
    return tuple(out)


def _has_node(v):
    """Whether v's node is still its own (not released, nor never made)."""
    try:
        return v._i != _NO_NODE
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
#   no node, which releases nothing), and a Value something else still refers to (a cycle the
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


def _local_refs():
    o = object()
    return _refs(o)


# What _refs(v) counts for an object only a local variable refers to.
_LOCAL_REFS = _local_refs()


def set_node_limit(n: int) -> None:
    """Cap the number of live nodes (0 or less = no cap); ops past it raise MemoryError.

    Under a cap, a dead Value's node is released at once, not in a batch, so that what counts
    against the cap is the nodes of live Values (and of reference cycles not collected yet)."""
    global _batch
    n = operator.index(n)  # an int, as range() takes: '3' and 2.5 are TypeErrors
    lib.mg_set_node_limit(n)
    _batch = 1 if n > 0 else _BATCH
    _flush()


def memory_stats() -> dict[str, int]:
    """The C node store's size, as a dict: live_nodes, capacity_nodes, node_limit (0 = none)
    and bytes. The nodes of dropped Values waiting in a batch are released first."""
    if _kept:
        _unkeep()
    _flush()
    s = _store_stats()
    return {"live_nodes": s.live_nodes, "capacity_nodes": s.capacity_nodes,
            "node_limit": s.node_limit, "bytes": s.bytes}


# ---- Values that carry more than their node ----
# micrograd's Value is its node: a child lives as long as a parent does, with its label, its
# class and its closure. Here a Value stands for a node and dies when code drops it; `_prev`
# makes a new one when asked, which would be a plain Value. So a Value that carries something of
# its own -- a label, a subclass's class and attributes, a custom op -- is listed in _parked
# (node id -> a weak reference to it), and if it dies while parent nodes hold its node, it is kept
# alive, in _kept, until none does (_unkeep). (Python runs __del__ once: a kept Value's node is
# released by _watch.) Other attributes code sets on a plain Value live as long as the Value.
#
# A custom op (micrograd's `Value(data, _children, _op)` and `v._backward = closure`) is a custom
# node in the C store, and a _PythonNode in its Value's __dict__. The C pass stops at such a node
# and hands it back (mg_backward): backward() runs its closure and resumes. The closure nearly
# always refers to its own Value (`out.grad`): that cycle is the collector's to free, as in
# micrograd.


class _PythonNode:
    __slots__ = ("op", "backward")

    def __init__(self, op, backward):
        self.op = op  # what `_op` shows
        self.backward = backward  # the closure, or None: micrograd's `lambda: None`


_RECORD = "_mg_node"  # the key of a custom node's _PythonNode in its Value's __dict__
_parked = {}  # node id -> a weak reference to its Value, which carries more than the node
_kept = {}  # node id -> its Value, which died while parents held the node
_prune_at = 1024  # _parked's size at which dead references are next dropped from it
_unkeep_at = 64  # _kept's size at which _unkeep next runs
_let_go_to_collector = False  # _unkeep let go of Values only the collector can free


def _no_backward():
    pass


def _park(v):
    """List v as a Value that carries more than its node."""
    global _prune_at
    _parked[v._i] = _weakref(v)
    if len(_parked) > _prune_at:
        for i, ref in _parked.copy().items():  # (a copy: the collector's __del__ calls change it)
            # dead, and its node gone: a Value the collector (maybe on another thread) has
            # cleared the references of, and whose __del__ has not run yet, still holds its node
            if ref() is None and lib.mg_holders(i) < 0:
                gone = _parked.pop(i, None)
                if gone is not None and gone is not ref:  # another thread listed a Value since
                    _parked.setdefault(i, gone)
        _prune_at = max(1024, 2 * len(_parked))


def _keep(v, i):
    """In v's __del__: keep v alive, if parents hold its node i and v carries more than it."""
    if type(v) is Value and not v.__dict__:  # listed for an earlier node with this id
        return False
    if lib.mg_holders(i) <= 1:  # (or more, for now, if a dead Value's release is queued)
        _parked[i] = _weakref(v)  # (a new one: if the collector is freeing v, v's are gone)
        return False
    v._i = i
    _kept[i] = v  # (then out of _parked: another thread may be looking it up)
    _parked.pop(i, None)
    _watch(v, i)
    return True


def _unkeep():
    """Let go of kept Values whose node no parent holds any more: each may have been the last
    parent of another's node, so again until none is let go."""
    global _unkeep_at, _let_go_to_collector
    _let_go_to_collector = False
    let_go = True
    while let_go:
        _flush()  # (the releases of Values let go, and of those the collector freed)
        let_go = False
        for i in list(_kept):
            let_go |= _let_go(i)
    _unkeep_at = max(64, 2 * len(_kept))


def _let_go(i):
    """Let go of node i's kept Value if no parent holds the node any more; whether it did."""
    global _let_go_to_collector
    if lib.mg_holders(i) != 1:
        return False
    v = _kept.get(i)
    if v is None:  # (none, or another thread let go of it)
        return False
    if _refs(v) - _own_refs(v) == _LOCAL_REFS + 1:  # (+1: _kept's)
        # nothing but its own closure refers to it: garbage, whose cycle would wait for the
        # collector's next run (and its child's node, for the one after)
        _kept.pop(i, None)
        v.__dict__.pop(_RECORD, None)
    else:  # (if it is garbage, the collector's next run frees it: then look again)
        _parked[i] = _weakref(v)  # (first: another thread may be looking it up)
        _kept.pop(i, None)
        _let_go_to_collector = True
    del v
    return True


def _own_refs(v):
    """How many references to v its custom op's closure holds (its cells and defaults)."""
    record = v.__dict__.get(_RECORD)
    fn = record.backward if record is not None else None
    cells = getattr(fn, "__closure__", None) or ()
    defaults = getattr(fn, "__defaults__", None) or ()
    own = sum(1 for d in defaults if d is v)
    for c in cells:
        try:
            own += c.cell_contents is v
        except ValueError:  # an empty cell
            pass
    return own


def _collected(phase, info):
    global _collecting
    _collecting = _thread.get_ident() if phase == "start" else None
    if phase == "stop" and (len(_kept) > _unkeep_at or _let_go_to_collector):
        _unkeep()


_collecting = None  # the thread the collector runs on, while it does


gc.callbacks.append(_collected)


def _value_of(i):
    """The live Value of node i listed here (parked or kept), or None."""
    v = _kept.get(i)
    if v is None:
        ref = _parked.get(i)
        v = ref() if ref is not None else None
    return v if v is not None and v._i == i else None


def _python_node(i):
    """Custom node i's _PythonNode, or None."""
    v = _value_of(i)
    while v is None and _collecting not in (None, _thread.get_ident()):
        # The collector, on another thread, may be about to keep v: it has cleared the weak
        # references to v, and v's __del__ (_keep) has not run yet.
        _sleep(0)  # (lets that thread run)
        v = _value_of(i)
    return v.__dict__.get(_RECORD) if v is not None else None


def _register(v, op, backward):
    """v's node is a custom node."""
    v.__dict__[_RECORD] = _PythonNode(op, backward)
    _park(v)


def _python_node_init(v, x, data, kids, op, again):
    """micrograd's Value(data, _children, _op) for v: a custom node holding x (data as given)."""
    for k in kids:
        if not isinstance(k, Value):
            raise TypeError(f"a Value's _children must be Values, not {type(k).__name__}")
    ids = [k._i for k in kids]
    i = v._i if again else -1
    made = _mg_custom(i, ids, len(ids), x, _int_flag(data))
    if made == lib.MG_EINVAL:
        raise ValueError("micrograd_c: a Value given its children again (its __init__ called "
                         "again) can only take Values made before it (and the leaf of a number "
                         "operand none)")
    if made < 0:
        made = _retry(made, _mg_custom, i, ids, len(ids), x, _int_flag(data))
    v._i = made
    _register(v, op, None)


def _backward_through_python(stop, done):
    """The rest of a pass that stopped at a custom node: run each such node's closure, in its
    place in the order, until the pass is over."""
    try:
        while done == 1:
            record = _python_node(stop.node)
            if record is None:
                raise RuntimeError("micrograd_c: a custom op's _backward was lost (its Value was "
                                   "freed while the node was in use)")
            if record.backward is not None:
                record.backward()
            done = lib.mg_backward_resume(stop)
        if done < 0:
            _raise(done)
    finally:
        lib.mg_backward_end(stop)


# ---- Ctrl-C while a Value is being freed ----
# Python checks for signals when a function starts, __del__ included (and the collector's
# callbacks: _collected), and an exception that leaves __del__ can only be printed ("Exception
# ignored in ..."): a KeyboardInterrupt raised there would be lost and the program would run on. So
# such a KeyboardInterrupt is delivered again, by simulating the signal from another thread,
# and only once this one has left the hook: it then lands in the program's own code.


def _deliver_interrupt(hook_done):
    hook_done.acquire()
    _thread.interrupt_main()


def _unraisable(unraisable):
    obj = unraisable.object
    if isinstance(unraisable.exc_value, KeyboardInterrupt) and obj in (Value.__del__, _collected):
        if obj is Value.__del__:
            _finish_interrupted(unraisable.exc_traceback)  # (_collected's work waits for its next run)
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
