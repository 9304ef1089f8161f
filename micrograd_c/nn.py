"""micrograd's nn (Module, Neuron, Layer, MLP), with a model's layers computed by one C call.

Parameters are drawn exactly as micrograd draws them (random.uniform(-1, 1)
per weight, in order; bias 0), so after random.seed(s) a model equals
micrograd's, weight for weight. A neuron's output is one fused node whose
children are its inputs, weights and bias; its data is bit-identical to
micrograd's b + w0*x0 + w1*x1 + ... and its gradients agree to rounding.

Beyond micrograd, PyTorch-flavoured pieces: Linear, Sequential, the
activations ReLU, Tanh and Sigmoid, the losses of micrograd_c.losses (as
functions, and as the modules MSELoss, BCELoss and CrossEntropyLoss), and on
every Module torch's ways: a subclass may define forward instead of __call__,
and parameters() finds the parameters of its attributes without being
overridden; named_parameters(), children(), modules(), and state_dict /
load_state_dict / save / load. Optimizers are in micrograd_c.optim.
"""
from __future__ import annotations

import itertools
import os
import random

TYPE_CHECKING = False  # (typing is not imported at run time: it would add to the import time)
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence
    from typing import Any

from ._core import ffi, lib
from .engine import Value, _made, _made_all, _retry
from .losses import _check_reduction, binary_cross_entropy, cross_entropy, hinge_loss, mse_loss  # noqa: F401


# ---- what a layer's forward and zero_grad keep between calls ----
# A Layer keeps its parameters' ids in C arrays, made again only when its parameters change. Its
# neurons' weight lists and its list of neurons are _Params lists, and every change to one, or
# to a Module's attribute, counts in _version: a layer whose cache is as new as _version knows
# its parameters are the ones it cached without looking. (Lists that are not _Params, which code
# may assign, are compared with the cached ones on every call instead.) A change counts once it
# is made, with a number no change had before (from one counter: threads cannot lose a count), so
# a cache checked against lists as they were before a change is never as new as it.
_counts = itertools.count(1)
_version = 0


def _changed():
    global _version
    _version = next(_counts)


class _Params(list):
    """A list that counts its changes in _version (a neuron's weights, a layer's neurons)."""
    __slots__ = ()


def _counted(name):
    method = getattr(list, name)

    def change(self, *args, **kwargs):
        result = method(self, *args, **kwargs)
        _changed()
        return result

    change.__name__ = name
    return change


for _name in ("__setitem__", "__delitem__", "__iadd__", "__imul__", "append", "extend",
              "insert", "pop", "remove", "clear", "sort", "reverse"):
    setattr(_Params, _name, _counted(_name))
_CACHES = ("_cache", "_cache_specs", "_cache_params", "_cache_walked", "_zero_grad_ids")  # not pickled


def _current(owner, name):
    """What owner keeps under name, if no change has been counted since it was kept; else None."""
    kept = owner.__dict__.get(name)
    return kept[1] if kept is not None and kept[0] == _version else None


def _keep(owner, name, value, counted):
    """Keep value under name, as new as the count if what it was made from is counted (else it
    is never current: its maker compares instead)."""
    object.__setattr__(owner, name, (_version if counted else None, value))


class Module:
    """The base of every model and layer, as micrograd's: zero_grad() and parameters(); and
    torch's ways: forward, named_parameters(), children(), modules(), state_dict(),
    load_state_dict(), save() and load().

    A model written for torch runs as written: its class defines forward (calling the model
    runs it) and sets its layers as attributes, which parameters() finds. One written for
    micrograd defines __call__ and parameters(), and they are what count.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass that defines forward is called through it, even where the class it
        extends has a __call__ of its own (Linear, Sequential, micrograd's classes): it gets
        Module's __call__ back. Its forward may still use what it extends, as
        super().forward(x)."""
        super().__init_subclass__(**kwargs)
        if "forward" in vars(cls) and "__call__" not in vars(cls) and cls.__call__ is not Module.__call__:
            cls.__call__ = Module.__call__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """self.forward(*args, **kwargs), for a module written torch's way (one whose class
        defines forward); TypeError for one that defines neither __call__ nor forward."""
        if type(self).forward is Module.forward:
            raise TypeError(_undefined(self))
        return self.forward(*args, **kwargs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """What calling the module computes, by torch's name: model.forward(x) is model(x) for
        a module with a __call__ of its own (micrograd's way, and every module of this nn).
        A subclass written torch's way defines forward instead."""
        # The nearest __call__ other than Module's, which calls forward (see __init_subclass__)
        for cls in type(self).__mro__:
            call = vars(cls).get("__call__")
            if call is not None and call is not Module.__call__:
                return call(self, *args, **kwargs)
        raise TypeError(_undefined(self))

    def zero_grad(self) -> None:
        """Every parameter's grad = 0: one C call over their ids, kept while parameters() is
        the same list of Values."""
        params = self.parameters()
        cache = self.__dict__.get("_zero_grad_ids")
        if cache is None or cache[0] != params:
            if not all(isinstance(p, Value) for p in params):  # parameters of other kinds
                for p in params:
                    p.grad = 0
                return
            cache = (list(params), ffi.new("int32_t[]", [p._i for p in params]))
            object.__setattr__(self, "_zero_grad_ids", cache)
        err = lib.mg_zero_grad(len(params), cache[1], 1)
        if err:
            _retry(err, lib.mg_zero_grad, len(params), cache[1], 1)

    def parameters(self) -> list[Value]:
        """The module's parameter Values, as a new list.

        Unless a subclass overrides it (as micrograd's Neuron, Layer and MLP do): every Value
        its attributes hold, in the order they were first set, through Modules, lists, tuples
        and the values of dicts; a sub-Module's are its own parameters() (its override, if it
        has one). Each Value and each sub-Module counts once. Attributes whose names start
        with "_" are skipped: keep what is not a parameter (a forward pass's outputs, say)
        under such a name. A Module with no Values has none, as micrograd's.
        """
        # Kept while nothing counted has changed; "counted" (see _keep) where every container
        # on the way counts its changes, so that MLPs and Sequentials holding this module can
        # keep theirs too (_counted_parameters). (Not in _cache_params: a Layer's, say, called
        # as Module.parameters(layer) or through super(), would be taken for its _gathered.)
        current = _current(self, "_cache_walked")
        if current is not None:
            return list(current)
        params = []
        counted = _walk_parameters(self, params, set(), {id(self)})
        _keep(self, "_cache_walked", list(params), counted)
        return params

    def named_parameters(self) -> Iterator[tuple[str, Value]]:
        """(name, Value) for each Value of parameters(), in its order.

        A name is the state_dict key of the tensor that holds the Value, then the Value's
        index in it: "fc1.weight.1.0" is a Linear fc1's weight[1][0] (neuron 1's weight 0),
        "fc1.bias.1" its bias[1], "layers.0.neurons.2.w.1" and "layers.0.neurons.2.b" an
        MLP's, "0.weight.1.0" a Sequential's; state_dict()[key][1, 0] is its data. A Value
        in several places has the first name; one that no attribute reaches (a parameters()
        override may return Values kept elsewhere) is named by its index in parameters().
        """
        names = {}
        for key, t in _tensors("", self):
            for name, v in _entries(key, t):
                names.setdefault(v, name)  # (a Value is its node: a dict key by node)
        for i, p in enumerate(self.parameters()):
            yield names.get(p, str(i)), p

    def children(self) -> Iterator[Module]:
        """The modules this one holds directly, each once, in attribute order (inside lists,
        tuples and dicts too), as torch's children(): a Sequential's modules, an MLP's layers,
        a Layer's neurons. A Linear has none: its neurons are its weight and bias, as a torch
        Linear's parameters are."""
        found, memo, yielded = [], set(), set()
        for _, x in self._named_children():
            _holdings(x, found, memo)
        for m in found:
            if isinstance(m, Module) and id(m) not in yielded:
                yielded.add(id(m))
                yield m

    def modules(self) -> Iterator[Module]:
        """This module, then every module under it, each once, depth first (a module before
        its children, children in attribute order), as torch's modules()."""
        return _preorder(self, set())

    # torch's training switch: no module here computes differently in training (no dropout,
    # no batch norm), so it only records the mode, for code written for torch that sets it.
    training = True

    def train(self, mode: bool = True) -> Module:
        """Set `training` to mode on this module and every module under it; returns self."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))  # (not a change the caches count)
        return self

    def eval(self) -> Module:
        """train(False)."""
        return self.train(False)

    def __setattr__(self, name: str, value: Any) -> None:
        """Set an attribute, and count the change (it may be a layer's neurons, or a neuron's
        weights: kept ids are made again)."""
        object.__setattr__(self, name, value)
        _changed()

    def __delattr__(self, name: str) -> None:
        """Delete an attribute, and count the change, as __setattr__."""
        object.__delattr__(self, name)
        _changed()

    def __getstate__(self) -> dict:
        """For copy and pickle: the attributes, less the kept C arrays (not picklable, and
        cheap to remake)."""
        return {k: v for k, v in self.__dict__.items() if k not in _CACHES}

    # ---- saving and loading, with torch's naming ----
    # A key is the attribute path to a parameter tensor: "layers.0.neurons.3.w" is
    # model.layers[0].neurons[3].w; a Sequential's modules are named by index and
    # a Linear's tensors "weight" and "bias", as in torch ("0.weight"); a dict's
    # items by their keys. A tensor is a Value (shape ()), a list of Values (n,) or
    # a list of equal-length lists of Values (n, m). Attributes named with a
    # leading underscore are not saved.

    def _named_children(self):
        return [(name, x) for name, x in vars(self).items() if not name.startswith("_")]

    def state_dict(self) -> dict[str, Any]:
        """{key: numpy float64 array}: a copy of every parameter tensor's data."""
        np = _numpy()
        return {key: np.array(_data(t), dtype=np.float64) for key, t in _tensors("", self)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Set every parameter from state, all or nothing.

        Missing or unexpected keys raise KeyError, a wrong shape ValueError, naming the keys.
        """
        own = dict(_tensors("", self))
        missing, unexpected = sorted(own.keys() - state.keys()), sorted(state.keys() - own.keys())
        if missing or unexpected:
            raise KeyError(f"state_dict does not fit this {type(self).__name__}: "
                           f"missing keys {missing}, unexpected keys {unexpected}")
        arrays = {key: _real_array(key, state[key]) for key in own}
        for key, t in own.items():
            if arrays[key].shape != _shape(t):
                raise ValueError(f"{key}: expected shape {_shape(t)}, got {arrays[key].shape}")
        for key, t in own.items():
            _assign(t, arrays[key].tolist())

    def save(self, path: str | os.PathLike | Any) -> None:
        """Write state_dict() to a numpy .npz file: path, with ".npz" added if it lacks it (as
        numpy.savez does), or an open binary file."""
        _numpy().savez(path, **self.state_dict())

    def load(self, path: str | os.PathLike | Any) -> None:
        """Read parameters written by save(), from the name given to save() (path, or path +
        ".npz" where numpy added it) or an open binary file."""
        if isinstance(path, (str, os.PathLike)) and not os.path.exists(path):
            with_suffix = os.fspath(path) + ".npz"
            if not os.fspath(path).endswith(".npz") and os.path.exists(with_suffix):
                path = with_suffix
        with _numpy().load(path) as f:
            self.load_state_dict({key: f[key] for key in f.files})


def _undefined(module):
    return f"{type(module).__name__} defines neither __call__ nor forward"


def _holdings(x, found, memo):
    """Append to found the Values and Modules x holds: x itself, or what the items of a list
    or tuple, or the values of a dict, hold, in order (each container once: memo has the ids
    of those seen). Returns whether only counted changes can change them: a plain list's or
    a dict's changes are not counted."""
    if isinstance(x, (Value, Module)):
        found.append(x)
        return True
    if isinstance(x, dict):
        items, counted = x.values(), False
    elif isinstance(x, (list, tuple)):
        items, counted = x, isinstance(x, tuple) or type(x) is _Params
    else:
        return True  # a number, a string, a function...: no parameters in it
    if id(x) in memo:
        return counted
    memo.add(id(x))
    for item in items:
        counted = _holdings(item, found, memo) and counted
    return counted


def _walk_parameters(module, params, seen, memo):
    """Append to params module's parameters, as Module.parameters finds them, but those in seen
    (Values, by node: each is added to it). Returns whether only counted changes can change
    them. memo: the ids of the modules and containers walked already (each is walked once, so
    a cycle ends)."""
    found, counted = [], True
    held = module._named_children()  # (held while memo has their ids: they may be made here)
    for _, x in held:
        counted = _holdings(x, found, memo) and counted
    for x in found:
        if isinstance(x, Value):
            values = (x,)
        elif id(x) in memo:  # a sub-Module met before
            continue
        else:
            memo.add(id(x))
            if type(x).parameters is Module.parameters:  # walked here, with the same memo
                counted = _walk_parameters(x, params, seen, memo) and counted
                continue
            values = x.parameters()
            counted = counted and _counted_parameters(x)
        for v in values:
            key = v if isinstance(v, Value) else id(v)  # (an override may return other kinds)
            if key not in seen:
                seen.add(key)
                params.append(v)
    return counted


def _preorder(module, memo):
    if id(module) in memo:
        return
    memo.add(id(module))
    yield module
    for child in module.children():
        yield from _preorder(child, memo)


def _entries(key, t):
    """(name, Value) for each Value of the tensor t under key: "key.i.j" for t[i][j]."""
    if isinstance(t, Value):
        yield key, t
    else:
        for i, x in enumerate(t):
            yield from _entries(f"{key}.{i}", x)


def _numpy():
    """numpy, imported where saving and loading need it: not by `import micrograd_c.nn`, so that
    a small script starts as fast as it does on micrograd."""
    import numpy
    return numpy


def _real_array(key, x):
    """x as a float64 array, if it holds real numbers (bool, integer or floating)."""
    np = _numpy()
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":  # complex would lose its imaginary part; str, object: not numbers
        raise TypeError(f"{key}: expected real numbers, got an array of dtype {a.dtype}")
    return a.astype(np.float64)


def _is_row(x):
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(isinstance(v, Value) for v in x)


def _is_matrix(x):
    return _is_row(x[0]) and all(_is_row(r) and len(r) == len(x[0]) for r in x)


def _tensors(key, x, path=()):
    """(key, tensor) for each parameter tensor reachable from x (path: the modules it is in)."""
    if isinstance(x, Module):
        if any(x is m for m in path):  # a cycle (x holds a module that holds x): named already
            return
        for name, child in x._named_children():
            yield from _tensors(f"{key}.{name}" if key else name, child, path + (x,))
    elif isinstance(x, Value) or _is_row(x) or (isinstance(x, (list, tuple)) and x and _is_matrix(x)):
        yield key, x
    elif isinstance(x, (list, tuple)):
        for i, item in enumerate(x):
            yield from _tensors(f"{key}.{i}", item, path)
    elif isinstance(x, dict):
        for name, item in x.items():
            yield from _tensors(f"{key}.{name}", item, path)


def _data(t):
    return t.data if isinstance(t, Value) else [_data(x) for x in t]


def _shape(t):
    return () if isinstance(t, Value) else (len(t),) + _shape(t[0])


def _assign(t, a):
    if isinstance(t, Value):
        t.data = a
    else:
        for ti, ai in zip(t, a):
            _assign(ti, ai)


def _param_ids(module, neurons):
    """C arrays of the neurons' weight ids (neuron by neuron) and bias ids, kept in
    module._cache while the parameters are the same."""
    current = _current(module, "_cache")
    if current is not None:  # nothing changed since it was made
        return current[1]
    cache = module.__dict__.get("_cache")
    params = ([n.w for n in neurons], [n.b for n in neurons])
    counted = all(type(w) is _Params for w in params[0]) and (
        type(neurons) is _Params or neurons == [module])
    if cache is None or cache[1][0] != params:
        nin = len(neurons[0].w)
        if any(len(n.w) != nin for n in neurons):
            raise ValueError("all neurons of a layer must have the same number of weights")
        ids = (ffi.new("int32_t[]", [w._i for n in neurons for w in n.w]),
               ffi.new("int32_t[]", [n.b._i for n in neurons]))
        params = ([list(w) for w in params[0]], params[1])  # (held: they hold the nodes)
    else:
        params, ids = cache[1]
    _keep(module, "_cache", (params, ids), counted)
    return ids


def _samples(x):
    """The samples of x, if x is a batch: a list of lists (or tuples, or 1-d arrays), or an
    array or tensor of 2 dimensions (one row a sample, as torch's layers take them); else None:
    x is one sample (a list of Values or numbers, or a 1-d array)."""
    if type(x) in (list, tuple):
        first = x[0] if x else None
        if first is None or isinstance(first, (Value, float, int)):  # (one sample: most calls)
            return None
        return x if type(first) in (list, tuple) or getattr(first, "ndim", 0) == 1 else None
    return list(x) if getattr(x, "ndim", None) == 2 else None


def _inputs(x):
    """The inputs' node ids (a list, or a C array), and what holds them: None for the caller's
    own Values; else the leaves made here (micrograd takes numbers too: all floats as leaves made
    in one C call, else a Value each), let go of once the layers' nodes hold them."""
    if type(x) not in (list, tuple):  # an array, a tensor (whose items would be 0-d tensors)
        x = x.tolist() if type(x).__module__.startswith("torch") else list(x)
    try:
        return [xi._i for xi in x], None  # (cffi converts the list for the call)
    except AttributeError:  # not all Values
        pass
    if all(isinstance(xi, float) for xi in x):
        ids = ffi.new("int32_t[]", len(x))
        err = lib.mg_leaves(len(x), x, ids)
        if err:
            _retry(err, lib.mg_leaves, len(x), x, ids)
        return ids, ids
    values = [xi if isinstance(xi, Value) else Value(xi) for xi in x]
    return [v._i for v in values], values


def _gathered(owner, parts):
    """[p for part in parts for p in part.parameters()], as a new list each time (as micrograd's
    is), from owner's _cache_params while nothing has changed: parts is a _Params of modules whose
    parameters() are this module's own, counted in turn."""
    current = _current(owner, "_cache_params")
    if current is not None:
        return list(current)
    params = [p for part in parts for p in part.parameters()]
    counted = type(parts) is _Params and all(_counted_parameters(part) for part in parts)
    _keep(owner, "_cache_params", list(params), counted)
    return params


def _counted_parameters(module):
    """Whether module.parameters() changes only with what _version counts (asked just after a
    call of it: those that keep their result know, from whether it is current)."""
    own = getattr(type(module), "parameters", None)
    if own is Neuron.parameters:
        return type(module.w) is _Params
    if own is Module.parameters:
        return _current(module, "_cache_walked") is not None
    if own in (Layer.parameters, MLP.parameters, Sequential.parameters):
        return _current(module, "_cache_params") is not None
    return False  # an override of its own: it may give anything


def _specs(owner, layers):
    """The mg_layer_spec of each of layers (Layers, or a Neuron alone) as a C array, the id
    arrays it points into, the first layer's nin and the last one's nout; kept in owner's
    _cache_specs while nothing has changed."""
    current = _current(owner, "_cache_specs")
    if current is not None:
        return current
    specs, ids = ffi.new("mg_layer_spec[]", len(layers)), []
    counted = type(layers) is _Params or layers == [owner]
    for k, layer in enumerate(layers):
        neurons = [layer] if isinstance(layer, Neuron) else layer.neurons
        w_ids, b_ids = _param_ids(layer, neurons)
        counted = counted and _current(layer, "_cache") is not None
        nin = len(neurons[0].w)
        if k and nin != specs[k - 1].nout:
            raise ValueError(f"expected {nin} inputs, got {specs[k - 1].nout}")
        spec = specs[k]
        spec.nin, spec.nout, spec.w, spec.b = nin, len(neurons), w_ids, b_ids
        spec.relu = 1 if neurons[0].nonlin else 0  # as in micrograd, any truthy nonlin means ReLU
        ids.append((w_ids, b_ids))
    made = (specs, ids, specs[0].nin, specs[len(layers) - 1].nout)
    _keep(owner, "_cache_specs", made, counted)
    return made


def _run_layers(owner, layers, x):
    """The last layer's outputs for inputs x, a list of Values, all layers made by one C call."""
    specs, _, nin, nout = made = _specs(owner, layers)  # (made: holds the arrays specs points into)
    x_ids, holder = _inputs(x)
    try:
        if len(x_ids) != nin:
            raise ValueError(f"expected {nin} inputs, got {len(x_ids)}")
        out = ffi.new("int32_t[]", nout) if nout > 1 else ffi.NULL  # (one: mg_layers returns it)
        first = lib.mg_layers(len(layers), specs, x_ids, out)
        if first < 0:
            first = _retry(first, lib.mg_layers, len(layers), specs, x_ids, out)
    finally:
        if holder is x_ids:  # leaves made here: the layers' nodes hold them now (or none does)
            lib.mg_release(x_ids, len(x_ids))
    del made
    return [_made(first)] if nout == 1 else _made_all(out)


class Neuron(Module):
    """micrograd's neuron: relu(w . x + b) (or w . x + b with nonlin=False), nin weights drawn
    with random.uniform(-1, 1), bias 0. Its output is one fused C node."""

    def __init__(self, nin: int, nonlin: bool = True) -> None:
        self.w = _Params(Value(random.uniform(-1, 1)) for _ in range(nin))
        self.b = Value(0)
        self.nonlin = nonlin

    def __call__(self, x: Sequence[Value | float]) -> Value:
        """The neuron's output for the inputs x (Values or numbers, nin of them); for a batch
        (a list of such lists, a 2-d array), the list of each sample's."""
        rows = _samples(x)
        if rows is not None:
            return [self(row) for row in rows]
        return _run_layers(self, [self], x)[0]

    def parameters(self) -> list[Value]:
        """The weights, then the bias (micrograd's order)."""
        return self.w + [self.b]

    def __repr__(self) -> str:
        """ReLUNeuron(nin) or LinearNeuron(nin), as micrograd's."""
        return f"{'ReLU' if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):
    """micrograd's layer: nout Neurons of nin inputs each (kwargs, such as nonlin, go to each),
    computed by one C call."""

    def __init__(self, nin: int, nout: int, **kwargs: Any) -> None:
        self.neurons = _Params(Neuron(nin, **kwargs) for _ in range(nout))

    def __call__(self, x: Sequence[Value | float]) -> Value | list[Value]:
        """The neurons' outputs for the inputs x: a list, or a single Value for one neuron (as
        micrograd's); for a batch (a list of such lists, a 2-d array), the list of each sample's."""
        rows = _samples(x)
        if rows is not None:
            return [self(row) for row in rows]
        if not self.neurons:
            return []
        out = _run_layers(self, [self], x)
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        """Every neuron's parameters, neuron by neuron, as a new list."""
        return _gathered(self, self.neurons)

    def __repr__(self) -> str:
        """Layer of [ReLUNeuron(2), ...], as micrograd's."""
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


def _apply_layers(owner, layers, x):
    """x through each layer in turn, as micrograd's MLP does it (a batch: each sample)."""
    if type(x) is not list or not x or not isinstance(x[0], Value):  # (not one sample of Values)
        rows = _samples(x)
        if rows is not None:
            return [_apply_layers(owner, layers, row) for row in rows]
    # (specs kept for these layers: they were chained last time, and nothing has changed since)
    if _current(owner, "_cache_specs") is None and (
            not layers or not all(type(layer) in _CHAINED and layer.neurons for layer in layers)):
        for layer in layers:  # some layer has its own __call__: use it
            x = layer(x)
        return x
    # Chain the layers in C: a hidden layer's outputs are held by the next
    # layer's nodes, so no Python Value is made (and dropped) for them.
    out = _run_layers(owner, layers, x)
    return out[0] if len(out) == 1 and type(layers[-1]) is Layer else out  # as their __call__s do


class MLP(Module):
    """micrograd's multi-layer perceptron: Layers of sizes nouts after nin inputs, ReLU on all
    but the last; the whole model is one C call a sample."""

    def __init__(self, nin: int, nouts: list[int]) -> None:
        sz = [nin] + nouts
        self.layers = _Params(Layer(sz[i], sz[i+1], nonlin=i != len(nouts)-1) for i in range(len(nouts)))

    def __call__(self, x: Sequence[Value | float]) -> Value | list[Value]:
        """The model's outputs for the inputs x (the last layer's, as its __call__ gives them)."""
        return _apply_layers(self, self.layers, x)

    def parameters(self) -> list[Value]:
        """Every layer's parameters, layer by layer, as a new list."""
        return _gathered(self, self.layers)

    def __repr__(self) -> str:
        """MLP of [Layer of [...], ...], as micrograd's."""
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"


# ---- PyTorch-flavoured modules ----

class Linear(Layer):
    """weight @ x + bias with no activation, always a list of nout Values.

    Drawn as micrograd draws a layer, not as torch does: after the same
    random.seed, Linear(nin, nout) has the weights of Layer(nin, nout,
    nonlin=False). Its state_dict has torch's keys and shapes, "weight"
    (nout, nin) and "bias" (nout,), so a torch.nn.Linear's state loads into it.
    """

    def __init__(self, nin: int, nout: int) -> None:
        super().__init__(nin, nout, nonlin=False)

    def __call__(self, x: Sequence[Value | float]) -> list[Value]:
        """weight @ x + bias: a list of nout Values, even for one; for a batch (a list of
        samples, a 2-d array or tensor), a list of such lists, as torch's (N, nin) -> (N, nout)."""
        rows = _samples(x)
        if rows is not None:
            return [self(row) for row in rows]
        out = super().__call__(x)
        return out if isinstance(out, list) else [out]  # Layer unwraps a single output

    def _named_children(self):
        return [("weight", [n.w for n in self.neurons]), ("bias", [n.b for n in self.neurons])]

    def __repr__(self) -> str:
        """Linear(nin, nout), as torch's."""
        nin = len(self.neurons[0].w) if self.neurons else 0
        return f"Linear({nin}, {len(self.neurons)})"


# The layers _apply_layers chains in C: their __call__ is Layer's (a Linear's only keeps a
# single output in a list).
_CHAINED = (Layer, Linear)


class Sequential(Module):
    """Modules applied in turn; state_dict keys start with the module's index, as in torch."""

    def __init__(self, *layers: Module) -> None:
        _only_modules(layers)
        self.layers = _Params(layers)

    def __call__(self, x: Any) -> Any:
        """x through each module in turn (Linears in a row as one C call)."""
        return _apply_layers(self, self.layers, x)

    def __getitem__(self, i: int) -> Module:
        """The i-th module."""
        return self.layers[i]

    def __len__(self) -> int:
        """How many modules."""
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        """The modules, in order."""
        return iter(self.layers)

    def append(self, module: Module) -> Sequential:
        """Add module at the end; returns the Sequential, as torch's append. (The next call and
        parameters() see it: self.layers counts its changes.)"""
        _only_modules([module])
        self.layers.append(module)
        return self

    def _named_children(self):
        return [(str(i), layer) for i, layer in enumerate(self.layers)]

    def parameters(self) -> list[Value]:
        """Every module's parameters, in order, as a new list."""
        return _gathered(self, self.layers)

    def __repr__(self) -> str:
        """Sequential(Linear(2, 16), ReLU(), ...), as torch's."""
        return f"Sequential({', '.join(str(layer) for layer in self.layers)})"


def _only_modules(layers):
    if not all(isinstance(layer, Module) for layer in layers):
        raise TypeError("Sequential takes Modules")


class _Activation(Module):
    """Applies the Value method named `fn` to a Value, or to each Value of a list."""

    def __call__(self, x: Value | Iterable[Value]) -> Value | list[Value]:
        """The activation of a Value, or of each Value of a list (or of a batch's lists)."""
        if isinstance(x, (list, tuple)):
            return [self(xi) if isinstance(xi, (list, tuple)) else getattr(xi, self.fn)() for xi in x]
        return getattr(x, self.fn)()

    def __repr__(self) -> str:
        """ReLU(), Tanh(), Sigmoid(), as torch's."""
        return f"{type(self).__name__}()"


class ReLU(_Activation):
    """max(0, x), each Value's relu(), as torch.nn.ReLU."""
    fn = "relu"


class Tanh(_Activation):
    """tanh(x), each Value's tanh(), as torch.nn.Tanh."""
    fn = "tanh"


class Sigmoid(_Activation):
    """1 / (1 + exp(-x)), each Value's sigmoid(), as torch.nn.Sigmoid."""
    fn = "sigmoid"


# ---- losses as modules, as torch.nn has them ----

class _Loss(Module):
    """A loss function of micrograd_c.losses (its _loss) as a module: made with a reduction,
    called with (input, target)."""

    def __init__(self, *, reduction: str = "mean") -> None:
        """reduction: "mean" (the default), "sum", or "none" for the losses unreduced; any
        other is a ValueError, here rather than at the first call. (Keyword only: torch's
        first positional parameters mean other things.)"""
        self.reduction = _check_reduction(reduction)

    def __call__(self, input: Any, target: Any) -> Value | list[Value]:
        """The loss of input against target, reduced as self.reduction says."""
        return self._loss(input, target, reduction=self.reduction)

    def __repr__(self) -> str:
        """MSELoss(), BCELoss(), CrossEntropyLoss(), as torch's."""
        return f"{type(self).__name__}()"


class MSELoss(_Loss):
    """(input - target)**2 per element, reduced, as torch.nn.MSELoss.

    input: a Value or a list of Values (a Linear's output); target: as many numbers or Values
    (a list, tuple, 1-d numpy array, or one number). With reduction "none", a list of the
    losses (a Value alone for a Value input). See micrograd_c.losses.mse_loss."""
    _loss = staticmethod(mse_loss)


class BCELoss(_Loss):
    """-(t*log(p) + (1-t)*log(1-p)) per element, reduced, as torch.nn.BCELoss.

    input: probabilities strictly between 0 and 1 (a Sigmoid's outputs), as MSELoss takes
    them; target: as many numbers, 0 or 1. See micrograd_c.losses.binary_cross_entropy."""
    _loss = staticmethod(binary_cross_entropy)


class CrossEntropyLoss(_Loss):
    """-log(softmax(logits)[target]), as torch.nn.CrossEntropyLoss with class indices.

    One example: input is a list of C logit Values and target a class index; its loss is a
    Value, whatever the reduction. A batch: input is a list of N such lists and target N
    class indices (a list, or a 1-d integer numpy array); the N losses are reduced. See
    micrograd_c.losses.cross_entropy."""
    _loss = staticmethod(cross_entropy)
