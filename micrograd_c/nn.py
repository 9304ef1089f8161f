"""micrograd's nn (Module, Neuron, Layer, MLP), with each layer's neurons computed by one C call.

Parameters are drawn exactly as micrograd draws them (random.uniform(-1, 1)
per weight, in order; bias 0), so after random.seed(s) a model equals
micrograd's, weight for weight. A neuron's output is one fused node whose
children are its inputs, weights and bias; its data is bit-identical to
micrograd's b + w0*x0 + w1*x1 + ... and its gradients agree to rounding.
"""
import random

from ._core import ffi, lib
from .engine import Value, _fail, _made


class Module:

    def zero_grad(self):
        for p in self.parameters():
            p.grad = 0

    def parameters(self):
        return []


def _param_ids(neurons):
    """C arrays of the neurons' weight ids (neuron by neuron) and bias ids."""
    nin = len(neurons[0].w)
    if any(len(n.w) != nin for n in neurons):
        raise ValueError("all neurons of a layer must have the same number of weights")
    return (ffi.new("int32_t[]", [w._i for n in neurons for w in n.w]),
            ffi.new("int32_t[]", [n.b._i for n in neurons]))


def _fused_layer(x, neurons, nonlin, w_ids, b_ids):
    """[act(n.b + sum(wi*xi)) for n in neurons], one C call for all of them."""
    x = [xi if isinstance(xi, Value) else Value(xi) for xi in x]  # micrograd takes plain numbers too
    if len(x) != len(neurons[0].w):
        raise ValueError(f"expected {len(neurons[0].w)} inputs, got {len(x)}")
    out = ffi.new("int32_t[]", len(neurons))
    err = lib.mg_layer(len(x), [xi._i for xi in x], len(neurons), w_ids, b_ids, nonlin, out)
    if err:
        _fail(err)
    return [_made(i) for i in out]


class Neuron(Module):

    def __init__(self, nin, nonlin=True):
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0)
        self.nonlin = nonlin

    def __call__(self, x):
        return _fused_layer(x, [self], self.nonlin, *_param_ids([self]))[0]

    def parameters(self):
        return self.w + [self.b]

    def __repr__(self):
        return f"{'ReLU' if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):
    _seen = None  # the parameters that _ids made its arrays from

    def __init__(self, nin, nout, **kwargs):
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x):
        if not self.neurons:
            return []
        out = _fused_layer(x, self.neurons, self.neurons[0].nonlin, *self._ids())
        return out[0] if len(out) == 1 else out

    def _ids(self):
        # Reuse the id arrays while every parameter is the object they were made
        # from: comparing lists checks identity first, far cheaper than rebuilding.
        ws, bs = [n.w for n in self.neurons], [n.b for n in self.neurons]
        if self._seen is None or self._seen != (ws, bs):
            self._seen = ([list(w) for w in ws], bs)
            self._cached_ids = _param_ids(self.neurons)
        return self._cached_ids

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self):
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):

    def __init__(self, nin, nouts):
        sz = [nin] + nouts
        self.layers = [Layer(sz[i], sz[i+1], nonlin=i != len(nouts)-1) for i in range(len(nouts))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self):
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
