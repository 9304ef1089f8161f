"""The reference nn: micrograd's nn unfused over the reference Value, plus micrograd_c.nn's extras.

Module, Neuron, Layer and MLP are micrograd's own code (a neuron is
b + w0*x0 + w1*x1 + ..., one Value op at a time); Linear, Sequential and the
activations do in plain Python what micrograd_c does, and fused_neuron is the
one node micrograd_c makes for a neuron, with the same arithmetic in the same
order. The
losses are micrograd_c.losses itself: they are nothing but Value ops, so run on
the reference Value they are the reference (PyTorch is their independent check).
"""
import random

from .engine import Value, _exact
from ..losses import binary_cross_entropy, cross_entropy, hinge_loss, mse_loss  # noqa: F401


def fused_neuron(x, w, b, relu):
    """micrograd_c's fused neuron, as the graph it shows (and computes, to the bit): micrograd's
    chain b + w0*x0 + w1*x1 + ..., then ReLU."""
    act = b
    for wi, xi in zip(w, x):
        act = act + wi * xi
    return act.relu() if relu else act


class Module:

    def zero_grad(self):
        for p in self.parameters():
            p.grad = 0

    def parameters(self):
        return []


class Neuron(Module):

    def __init__(self, nin, nonlin=True):
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0)
        self.nonlin = nonlin

    def __call__(self, x):
        x = list(x)
        if len(x) != len(self.w):  # as micrograd_c.nn (micrograd's zip would use the shorter)
            raise ValueError(f"expected {len(self.w)} inputs, got {len(x)}")
        act = sum((wi*xi for wi, xi in zip(self.w, x)), self.b)
        return act.relu() if self.nonlin else act

    def parameters(self):
        return self.w + [self.b]

    def __repr__(self):
        return f"{'ReLU' if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):

    def __init__(self, nin, nout, **kwargs):
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x):
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

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


class Linear(Layer):
    """Layer(nin, nout, nonlin=False) whose output is always a list."""

    def __init__(self, nin, nout):
        super().__init__(nin, nout, nonlin=False)

    def __call__(self, x):
        return [n(x) for n in self.neurons]

    def __repr__(self):
        nin = len(self.neurons[0].w) if self.neurons else 0
        return f"Linear({nin}, {len(self.neurons)})"


class Sequential(Module):

    def __init__(self, *layers):
        self.layers = list(layers)

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]


class ReLU(Module):

    def __call__(self, x):
        return [xi.relu() for xi in x] if isinstance(x, (list, tuple)) else x.relu()


class Tanh(Module):

    def __call__(self, x):
        return [xi.tanh() for xi in x] if isinstance(x, (list, tuple)) else x.tanh()


class Sigmoid(Module):

    def __call__(self, x):
        return [xi.sigmoid() for xi in x] if isinstance(x, (list, tuple)) else x.sigmoid()
