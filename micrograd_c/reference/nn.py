"""The reference nn: micrograd's nn unfused over the reference Value, plus micrograd_c.nn's extras.

Module, Neuron, Layer and MLP are micrograd's own code (a neuron is
b + w0*x0 + w1*x1 + ..., one Value op at a time); Linear, Sequential, the
activations and the optimizers do in plain Python what micrograd_c does with
fused nodes and C loops, with the same arithmetic in the same order. The
losses are micrograd_c.losses itself: they are nothing but Value ops, so run on
the reference Value they are the reference (PyTorch is their independent check).
"""
import math
import random

from .engine import Value
from ..losses import binary_cross_entropy, cross_entropy, hinge_loss, mse_loss  # noqa: F401


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


# ---- optimizers: torch.optim's formulas, one parameter at a time ----

class SGD:

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        self.params = list(params)
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self.momentum_buffer = [0.0] * len(self.params)
        self.steps = 0

    def zero_grad(self):
        for p in self.params:
            p.grad = 0.0

    def step(self):
        for i, p in enumerate(self.params):
            d = p.grad
            if self.weight_decay != 0:
                d = d + self.weight_decay * p.data
            if self.momentum != 0:
                if self.steps == 0:
                    self.momentum_buffer[i] = d
                else:
                    self.momentum_buffer[i] = self.momentum * self.momentum_buffer[i] + d
                d = self.momentum_buffer[i]
            p.data = p.data - self.lr * d
        self.steps += 1


class Adam:

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        self.params = list(params)
        self.lr, self.betas, self.eps, self.weight_decay = lr, betas, eps, weight_decay
        self.exp_avg = [0.0] * len(self.params)
        self.exp_avg_sq = [0.0] * len(self.params)
        self.steps = 0

    def zero_grad(self):
        for p in self.params:
            p.grad = 0.0

    def step(self):
        self.steps += 1
        beta1, beta2 = self.betas
        step_size = self.lr / (1 - beta1 ** self.steps)
        correction2_sqrt = math.sqrt(1 - beta2 ** self.steps)
        for i, p in enumerate(self.params):
            g = p.grad
            if self.weight_decay != 0:
                g = g + self.weight_decay * p.data
            m = self.exp_avg[i] = beta1 * self.exp_avg[i] + (1 - beta1) * g
            v = self.exp_avg_sq[i] = beta2 * self.exp_avg_sq[i] + (1 - beta2) * g * g
            p.data = p.data - step_size * (m / (math.sqrt(v) / correction2_sqrt + self.eps))
