"""torch.optim's SGD and Adam for micrograd_c parameters; a step is one C call over all of them.

    opt = optim.Adam(model.parameters(), lr=1e-3)
    for ...:
        loss = ...
        opt.zero_grad()
        loss.backward()
        opt.step()

The update formulas are torch.optim's, in float64 (see csrc/micrograd.h). The
optimizer state is numpy arrays, one entry per parameter, with torch's names:
momentum_buffer (SGD), exp_avg and exp_avg_sq (Adam). Change the learning rate
between steps by setting `opt.lr`.
"""
import numpy as np

from ._core import ffi, lib
from .engine import Value, _raise


class Optimizer:

    def __init__(self, params):
        self._params = tuple(params)  # fixed: they hold the nodes that _ids names
        if not self._params:
            raise ValueError("optimizer got an empty parameter list")
        if not all(isinstance(p, Value) for p in self._params):
            raise TypeError("optimizer params must be micrograd_c Values")
        if len(set(self._params)) != len(self._params):  # a Value hashes as its node
            raise ValueError("optimizer got the same parameter more than once")
        self._ids = _ids(self._params)
        self.steps = 0

    @property
    def params(self):
        return self._params

    # copy, deepcopy and pickle: the C array of ids is remade from the (copied) parameters
    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k != "_ids"}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._ids = _ids(self._params)

    def _step_number(self):
        """How many steps were taken before this one (self.steps, which users may set)."""
        steps = self.steps
        if type(steps) is not int or steps < 0:
            raise ValueError(f"{type(self).__name__}.steps must be an int >= 0, not {steps!r}")
        return steps

    def zero_grad(self):
        """Every parameter's grad = 0.0, in one C call."""
        err = lib.mg_zero_grad(len(self._params), self._ids, 0)
        if err:
            _raise(err)

    def _state(self):
        """A zeroed float64 array with one entry per parameter."""
        return np.zeros(len(self._params))

    def _buffer(self, a):
        """A state array as C reads and writes it, checked, since C trusts its length."""
        if not (isinstance(a, np.ndarray) and a.dtype == np.float64 and a.shape == (len(self._params),)):
            raise ValueError("optimizer state must be a float64 array with one entry per parameter")
        return ffi.from_buffer("double[]", a, require_writable=True)


def _ids(params):
    return ffi.new("int32_t[]", [p._i for p in params])


def _check(ok, what, value):
    if not ok:
        raise ValueError(f"invalid {what}: {value}")


class SGD(Optimizer):
    """p -= lr * d, d = grad + weight_decay*p, through a momentum buffer if momentum != 0."""

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params)
        _check(lr >= 0.0, "learning rate", lr)
        _check(momentum >= 0.0, "momentum", momentum)
        _check(weight_decay >= 0.0, "weight_decay", weight_decay)
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self.momentum_buffer = self._state()

    def step(self):
        opt = ffi.new("mg_sgd *", {"lr": self.lr, "momentum": self.momentum,
                                   "weight_decay": self.weight_decay,
                                   "first": self._step_number() == 0})
        err = lib.mg_sgd_step(opt, len(self._params), self._ids, self._buffer(self.momentum_buffer))
        if err:
            _raise(err)
        self.steps += 1


class Adam(Optimizer):
    """Adam with bias correction (not AMSGrad); weight_decay adds weight_decay*p to the grad, as torch."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params)
        _check(lr >= 0.0, "learning rate", lr)
        _check(0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0, "betas", betas)
        _check(eps >= 0.0, "eps", eps)
        _check(weight_decay >= 0.0, "weight_decay", weight_decay)
        self.lr, self.betas, self.eps, self.weight_decay = lr, betas, eps, weight_decay
        self.exp_avg, self.exp_avg_sq = self._state(), self._state()

    def step(self):
        opt = ffi.new("mg_adam *", {"lr": self.lr, "beta1": self.betas[0], "beta2": self.betas[1],
                                    "eps": self.eps, "weight_decay": self.weight_decay,
                                    "step": self._step_number() + 1})
        err = lib.mg_adam_step(opt, len(self._params), self._ids, self._buffer(self.exp_avg),
                               self._buffer(self.exp_avg_sq))
        if err:
            _raise(err)
        self.steps += 1
