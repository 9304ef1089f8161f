"""Bridges to PyTorch: models both ways, micrograd_c functions inside torch autograd, and
parameters as tensors.

    import torch
    from micrograd_c import nn
    from micrograd_c.torch import from_torch, to_torch, function, parameters_to_vector

    model = from_torch(torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(),
                                           torch.nn.Linear(4, 1)))   # a micrograd_c Sequential
    model([0.5, -1.0])                     # [Value(...)]: one sample, as micrograd_c models take it
    back = to_torch(nn.MLP(2, [16, 1]))    # a float64 torch.nn.Sequential: (..., 2) -> (..., 1)

    f = function(lambda x, y: (x * y).tanh() + y ** 2)   # a torch.autograd.Function
    x = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    y = torch.tensor(1.2, dtype=torch.float64, requires_grad=True)
    f(x, y).backward()                     # x.grad and y.grad, computed by micrograd_c's backward

    vec = parameters_to_vector(model.parameters())   # a 1-d float64 tensor of the data

torch is imported only when a function here needs it, so `import micrograd_c.torch` works (and
is quick) without it; the numpy forms of the parameter helpers need no torch at all. Install
PyTorch's CPU build with `pip install torch --index-url https://download.pytorch.org/whl/cpu`
(a plain `pip install torch` gets a CUDA build of several GB on Linux).
"""
from __future__ import annotations

import functools
import random
import sys

from . import nn
from .engine import Value

TYPE_CHECKING = False  # (typing is not imported at run time: it would add to the import time)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

    import numpy
    import torch

__all__ = ["from_torch", "to_torch", "function", "parameters_to_vector", "vector_to_parameters",
           "values_to_tensor", "tensor_to_values"]

_INSTALL = "pip install torch --index-url https://download.pytorch.org/whl/cpu"


def _torch():
    """The torch module, imported now (not by `import micrograd_c.torch`)."""
    try:
        import torch
    except ImportError as e:
        raise ImportError(f"micrograd_c.torch needs PyTorch; install its CPU build with "
                          f"`{_INSTALL}`", name="torch") from e
    return torch


def _at(where: str, name: str) -> str:
    """The path of a child module, in state_dict style ("layers.1", "0.2")."""
    return f"{where}.{name}" if where else name


def _place(where: str) -> str:
    return f" (at {where!r})" if where else ""


# ---- torch model -> micrograd_c model ----

def from_torch(module: torch.nn.Module) -> nn.Module:
    """A micrograd_c model computing what `module` computes, with its weights as float64.

    Converts torch.nn.Linear (to nn.Linear; one made with bias=False gets a bias of zeros),
    Sequential (to nn.Sequential, nested ones kept nested, so state_dict keys stay the same
    for index-named Sequentials), ReLU, Tanh and Sigmoid, and subclasses of these that keep
    their forward. Anything else raises TypeError naming it and where it is in the model.

    The result takes one sample, a list of nin numbers or Values, and returns a list of
    Values (an activation alone returns what it is given, mapped). Python's random state is
    left as it was (micrograd_c's layers draw their weights from it when made).
    """
    torch = _torch()
    state = random.getstate()
    try:
        return _from_torch(torch, module, "")
    finally:
        random.setstate(state)


def _plain(module: Any, cls: type) -> bool:
    """Whether module is a cls whose forward is cls's own (a subclass may compute otherwise)."""
    return isinstance(module, cls) and type(module).forward is cls.forward


def _from_torch(torch, module, where):
    tnn = torch.nn
    if _plain(module, tnn.Sequential):
        return nn.Sequential(*(_from_torch(torch, child, _at(where, name))
                               for name, child in module.named_children()))
    if _plain(module, tnn.Linear):
        return _linear_from_torch(torch, module)
    for name in ("ReLU", "Tanh", "Sigmoid"):
        if _plain(module, getattr(tnn, name)):
            return getattr(nn, name)()
    raise TypeError(f"from_torch cannot convert {type(module).__qualname__}{_place(where)}: it "
                    f"converts torch.nn.Linear, Sequential, ReLU, Tanh and Sigmoid (and their "
                    f"subclasses that do not override forward)")


def _linear_from_torch(torch, module):
    weight = module.weight.detach().to("cpu", torch.float64)
    bias = torch.zeros(module.out_features, dtype=torch.float64) if module.bias is None \
        else module.bias.detach().to("cpu", torch.float64)
    layer = nn.Linear(module.in_features, module.out_features)
    layer.load_state_dict({"weight": weight.numpy(), "bias": bias.numpy()})
    return layer


# ---- micrograd / micrograd_c model -> torch model ----

# The classes to_torch knows, by name, in the modules that define them: micrograd_c's nn, its
# pure-Python reference and karpathy's micrograd. Matching by module name finds karpathy's
# classes without importing micrograd (a model of its classes means it is imported already).
_FAMILIES = ("micrograd_c.nn", "micrograd_c.reference.nn", "micrograd.nn")
_KINDS = ("MLP", "Layer", "Neuron", "Linear", "Sequential", "ReLU", "Tanh", "Sigmoid")


def _kind(model: Any) -> str | None:
    """The name of the known class model is, if its class computes as that one does (does not
    override __call__ or forward); else None. The nearest known class in the MRO counts, so a
    micrograd_c Linear is a "Linear", not a "Layer"."""
    for cls in type(model).__mro__:
        if cls.__module__ in _FAMILIES and cls.__name__ in _KINDS:
            same = all(getattr(type(model), m, None) is getattr(cls, m, None)
                       for m in ("__call__", "forward"))
            return cls.__name__ if same else None
    return None


def to_torch(model: Any) -> torch.nn.Module:
    """A float64 torch.nn.Module with model's weights, computing model's outputs.

    model may be micrograd's (karpathy's) or micrograd_c's MLP, Layer or Neuron, or
    micrograd_c's Linear, Sequential, ReLU, Tanh or Sigmoid (also those of
    micrograd_c.reference.nn). The torch model maps a float64 tensor of shape (..., nin) to
    (..., nout):

    - an MLP becomes a Sequential of a Linear per layer, each followed by ReLU where its
      neurons have nonlin set (all but the last layer, as micrograd makes them);
    - a Layer becomes Sequential(Linear) or Sequential(Linear, ReLU), and a Neuron the same
      with Linear(nin, 1); where micrograd returns a single Value (a Layer of one neuron, a
      Neuron, an MLP ending in one) the torch model's last dimension is 1;
    - Linear, Sequential and the activations become their torch namesakes (a Sequential's
      modules keep their indices, so the state_dict keys are the same).

    A layer whose neurons differ in nonlin, or has no neurons, raises ValueError; any other
    object TypeError, naming it.
    """
    return _to_torch(_torch(), model, "")


def _to_torch(torch, model, where):
    kind = _kind(model)
    if kind == "Sequential":
        return torch.nn.Sequential(*(_to_torch(torch, m, _at(where, str(i)))
                                     for i, m in enumerate(model.layers)))
    if kind == "MLP":
        return torch.nn.Sequential(*(part for i, layer in enumerate(model.layers)
                                     for part in _layer_parts(torch, layer, _at(where, f"layers.{i}"))))
    if kind in ("Layer", "Neuron"):
        return torch.nn.Sequential(*_layer_parts(torch, model, where))
    if kind == "Linear":
        return _torch_linear(torch, model.neurons, where)
    if kind in ("ReLU", "Tanh", "Sigmoid"):
        return getattr(torch.nn, kind)()
    raise TypeError(f"to_torch cannot convert {type(model).__qualname__}{_place(where)}: it "
                    f"converts micrograd's MLP, Layer and Neuron and micrograd_c's Linear, "
                    f"Sequential, ReLU, Tanh and Sigmoid (not subclasses with their own __call__)")


def _layer_parts(torch, layer, where):
    """The torch modules a layer of an MLP becomes: Linear, and ReLU if its neurons have it (a
    Linear alone for a micrograd_c Linear; another module converted whole)."""
    kind = _kind(layer)
    if kind not in ("Layer", "Neuron"):
        return [_to_torch(torch, layer, where)]
    neurons = list(layer.neurons) if kind == "Layer" else [layer]
    parts = [_torch_linear(torch, neurons, where)]
    nonlin = {bool(n.nonlin) for n in neurons}  # (micrograd takes any truthy nonlin as ReLU)
    if len(nonlin) > 1:
        # micrograd applies each neuron's own flag, micrograd_c the first neuron's to all
        raise ValueError(f"to_torch: the neurons of a layer{_place(where)} differ in nonlin")
    if nonlin == {True}:
        parts.append(torch.nn.ReLU())
    return parts


def _torch_linear(torch, neurons, where):
    """A float64 torch.nn.Linear whose row j is neuron j's weights, and bias j its bias."""
    if not neurons:
        raise ValueError(f"to_torch: a layer with no neurons{_place(where)} has no torch equivalent")
    nin = len(neurons[0].w)
    if any(len(n.w) != nin for n in neurons):
        raise ValueError(f"to_torch: the neurons of a layer{_place(where)} differ in their number "
                         f"of weights")
    # skip_init: the weights are set next, so torch's random generator is not drawn from
    linear = torch.nn.utils.skip_init(torch.nn.Linear, nin, len(neurons), dtype=torch.float64)
    with torch.no_grad():
        linear.weight.copy_(torch.tensor([[float(w.data) for w in n.w] for n in neurons],
                                         dtype=torch.float64).reshape(len(neurons), nin))
        linear.bias.copy_(torch.tensor([float(n.b.data) for n in neurons], dtype=torch.float64))
    return linear


# ---- micrograd_c functions inside torch autograd ----

def function(fn: Callable[..., Any]) -> Callable[..., torch.Tensor]:
    """fn, a function of micrograd_c Values, as a function of torch tensors that torch
    autograd differentiates (through a torch.autograd.Function; passes gradcheck).

    Each argument of the result is a 0-d or 1-d floating tensor; fn gets a Value for each
    0-d tensor and a list of Values for each 1-d one (fresh leaves holding their numbers),
    and returns a Value (or number), or a list or tuple of them. The result is then a 0-d or
    a 1-d tensor, of the inputs' promoted dtype (float64 for float64 inputs) on the first
    input's device. Everything is computed in float64 by micrograd_c.

    Backward computes the vector-Jacobian product with micrograd_c's backward. The first
    backward pass uses the graph forward made; every later one (gradcheck, retain_graph)
    evaluates fn again on fresh Values, since micrograd's backward adds into grads already
    in the graph. So fn should be a pure function of its arguments. Values fn uses but did
    not get (a model's parameters) are constants to torch; each backward pass adds into
    their grads, as micrograd's backward does. Not twice differentiable.
    """
    torch = _torch()
    bridge = _bridge(torch)

    @functools.wraps(fn)
    def apply(*tensors: torch.Tensor) -> torch.Tensor:
        for k, t in enumerate(tensors):
            if not isinstance(t, torch.Tensor):
                raise TypeError(f"argument {k}: expected a torch.Tensor, not {type(t).__name__}")
            if t.dim() > 1:
                raise ValueError(f"argument {k}: expected a 0-d or 1-d tensor, got shape "
                                 f"{tuple(t.shape)}")
        return bridge.apply(fn, *tensors)

    return apply


def _evaluate(fn, numbers):
    """fn on fresh leaf Values holding numbers (a float or a list of floats per argument): the
    leaves as fn got them, fn's outputs as a list, and whether fn returned a single one."""
    leaves = [Value(x) if isinstance(x, float) else [Value(xi) for xi in x] for x in numbers]
    out = fn(*leaves)
    single = not isinstance(out, (list, tuple))
    return leaves, [out] if single else list(out), single


def _grads(leaves):
    return leaves.grad if isinstance(leaves, Value) else [v.grad for v in leaves]


_BRIDGE = None  # the torch.autograd.Function, made on first use (it needs torch)


def _bridge(torch):
    global _BRIDGE
    if _BRIDGE is None:
        _BRIDGE = _make_bridge(torch)
    return _BRIDGE


def _make_bridge(torch):
    from torch.autograd.function import once_differentiable

    class MicrogradFunction(torch.autograd.Function):
        """A micrograd_c function of scalars and vectors, evaluated and differentiated by
        micrograd_c (see micrograd_c.torch.function)."""

        @staticmethod
        def forward(ctx, fn, *tensors):
            numbers = [t.detach().to("cpu", torch.float64).tolist() for t in tensors]
            ctx.fn, ctx.numbers, ctx.graph = fn, numbers, _evaluate(fn, numbers)
            _, outs, single = ctx.graph
            ctx.inputs = [(t.dtype, t.device) for t in tensors]
            floats = [t.dtype for t in tensors if t.is_floating_point()]
            dtype = functools.reduce(torch.promote_types, floats) if floats else torch.float64
            data = [float(o.data if isinstance(o, Value) else o) for o in outs]
            return torch.tensor(data[0] if single else data, dtype=dtype,
                                device=tensors[0].device if tensors else "cpu")

        @staticmethod
        @once_differentiable
        def backward(ctx, grad_out):
            graph, ctx.graph = ctx.graph, None  # fresh grads only the first time: see function()
            leaves, outs, _ = graph if graph is not None else _evaluate(ctx.fn, ctx.numbers)
            weights = grad_out.detach().to("cpu", torch.float64).reshape(-1).tolist()
            # the product sum_k g_k * out_k has, as its gradient, the vector-Jacobian product;
            # outputs with g_k = 0 (as in gradcheck's one-hot rows) and numbers add nothing
            terms = [g * o for g, o in zip(weights, outs) if g != 0 and isinstance(o, Value)]
            if terms:
                sum(terms[1:], terms[0]).backward()
            return (None, *(torch.tensor(_grads(x), dtype=dtype, device=device) if need else None
                            for x, (dtype, device), need in
                            zip(leaves, ctx.inputs, ctx.needs_input_grad[1:])))

    return MicrogradFunction


# ---- Values and tensors ----

def _as_array(x: Any, name: str) -> numpy.ndarray:
    """x (a torch tensor, numpy array, number or nested list of numbers) as a float64 array."""
    import numpy as np
    torch = sys.modules.get("torch")  # (a tensor means torch is imported; else none is one)
    if torch is not None and isinstance(x, torch.Tensor):
        if x.is_complex():
            raise TypeError(f"{name}: expected real numbers, got a tensor of dtype {x.dtype}")
        x = x.detach().to("cpu", torch.float64).numpy()  # (numpy has no bfloat16: widen first)
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":  # complex would lose its imaginary part; str, object: no numbers
        raise TypeError(f"{name}: expected real numbers, got an array of dtype {a.dtype}")
    return a.astype(np.float64)


def _numbers(x, grad):
    """The data (or grads) of a Value, or of nested lists of Values, as floats, nested alike."""
    if isinstance(x, Value):
        return float(x.grad if grad else x.data)
    if isinstance(x, (list, tuple)):
        return [_numbers(v, grad) for v in x]
    raise TypeError(f"expected Values (or lists of them), not {type(x).__name__}")


def values_to_tensor(values: Value | Iterable[Any], *, grad: bool = False,
                     as_numpy: bool = False) -> torch.Tensor | numpy.ndarray:
    """The data (grad=True: the grads) of a Value, a list of Values or a list of equal-length
    lists of Values, as a float64 tensor of shape (), (n,) or (n, m); a numpy array with
    as_numpy=True (then torch is not needed). A copy: changing it changes no Value."""
    numbers = _numbers(values if isinstance(values, Value) else list(values), grad)
    if as_numpy:
        import numpy as np
        return np.array(numbers, dtype=np.float64)
    torch = _torch()
    return torch.tensor(numbers, dtype=torch.float64)


def tensor_to_values(x: Any) -> Value | list[Any]:
    """New leaf Values holding x's numbers, shaped as x: a Value for a 0-d tensor (or a
    number), a list of Values for a 1-d one, lists of lists for more dimensions. x may be a
    torch tensor, a numpy array or nested lists of real numbers."""
    numbers = _as_array(x, "tensor_to_values").tolist()

    def leaves(n):
        return Value(n) if isinstance(n, float) else [leaves(m) for m in n]
    return leaves(numbers)


def parameters_to_vector(parameters: Iterable[Value], *, grad: bool = False,
                         as_numpy: bool = False) -> torch.Tensor | numpy.ndarray:
    """The parameters' data (grad=True: their grads), in order, as a 1-d float64 tensor, as
    torch.nn.utils.parameters_to_vector gives a torch model's; a numpy array with
    as_numpy=True (then torch is not needed).

    The order is the one given: model.parameters() is micrograd's, neuron by neuron (each
    neuron's weights, then its bias), not torch's weight matrix then bias vector."""
    return values_to_tensor(list(parameters), grad=grad, as_numpy=as_numpy)


def vector_to_parameters(vec: Any, parameters: Iterable[Value], *, grad: bool = False) -> None:
    """Set the parameters' data (grad=True: their grads) from vec, in order, as
    torch.nn.utils.vector_to_parameters does for a torch model. vec is a 1-d torch tensor,
    numpy array or sequence of real numbers, one per parameter; another shape or length raises
    ValueError (before any parameter is set)."""
    params = list(parameters)
    numbers = _as_array(vec, "vector_to_parameters")
    if numbers.shape != (len(params),):
        raise ValueError(f"vector_to_parameters: expected a 1-d vector of {len(params)} numbers "
                         f"(one per parameter), got shape {numbers.shape}")
    for p, x in zip(params, numbers.tolist()):
        if grad:
            p.grad = x
        else:
            p.data = x
