"""torch.optim's SGD and Adam for micrograd_c parameters; a step is one C call over all of them.

The update formulas are torch.optim's, in float64 (see csrc/micrograd.h). The
optimizer state is numpy arrays, one entry per parameter, with torch's names:
momentum_buffer (SGD), exp_avg and exp_avg_sq (Adam). Change the learning rate
between steps by setting `opt.lr`, or with a scheduler (micrograd_c.optim.lr_scheduler).
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .._core import ffi, lib
from ..engine import Value, _raise

_FLOAT64 = np.dtype(np.float64)


class Optimizer:
    """What SGD and Adam share: the parameters (fixed when made), zero_grad, steps, state_dict.

    A subclass names its hyperparameters in `_hyper` (checked by `_check_hyper`) and its
    per-parameter state arrays in `_buffers`.
    """
    _hyper: tuple[str, ...] = ()
    _buffers: tuple[str, ...] = ()
    _c_type = None  # the C struct of a step's hyperparameters (one, its fields set at each step)

    def __init__(self, params: Iterable[Value]) -> None:
        self._params = tuple(params)  # fixed: they hold the nodes that _ids names
        if not self._params:
            raise ValueError("optimizer got an empty parameter list")
        if not all(isinstance(p, Value) for p in self._params):
            raise TypeError("optimizer params must be micrograd_c Values")
        if len(set(self._params)) != len(self._params):  # a Value hashes as its node
            raise ValueError("optimizer got the same parameter more than once")
        self._ids, self._c = _ids(self._params), _c_args(self._c_type)
        self.steps = 0
        for name in self._buffers:
            setattr(self, name, np.zeros(len(self._params)))

    @property
    def params(self) -> tuple[Value, ...]:
        """The parameters, in the order given."""
        return self._params

    # copy, deepcopy and pickle: the C arrays are made again (the ids from the copied parameters)
    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in ("_ids", "_c")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._ids, self._c = _ids(self._params), _c_args(self._c_type)

    def _step_number(self) -> int:
        """How many steps were taken before this one (self.steps, which users may set)."""
        steps = self.steps
        if type(steps) is not int or steps < 0:
            raise ValueError(f"{type(self).__name__}.steps must be an int >= 0, not {steps!r}")
        return steps

    def zero_grad(self) -> None:
        """Every parameter's grad = 0.0, in one C call."""
        err = lib.mg_zero_grad(len(self._params), self._ids, 0)
        if err:
            _raise(err)

    def _buffer(self, a: np.ndarray):
        """A state array as C reads and writes it, checked, since C trusts its length."""
        if not (isinstance(a, np.ndarray) and (a.dtype is _FLOAT64 or a.dtype == np.float64)
                and a.shape == (len(self._params),)):
            raise ValueError("optimizer state must be a float64 array with one entry per parameter")
        return ffi.from_buffer("double[]", a, require_writable=True)

    # ---- state_dict, in torch.optim's shape ----
    # {"state": {i: {"step": steps, buffer name: float, ...}}, "param_groups": [{hyperparameters,
    # "params": [0, 1, ...]}]}: one group holding every parameter, by its index in `params`; the
    # state is empty before the first step, as in torch. Values are copies, not views.

    def state_dict(self) -> dict:
        """The hyperparameters, the step count and the per-parameter state, in torch's layout."""
        group = {name: getattr(self, name) for name in self._hyper}
        group["params"] = list(range(len(self._params)))
        state = {}
        if self.steps:
            buffers = [(name, getattr(self, name).tolist()) for name in self._buffers]
            state = {i: {"step": self.steps, **{name: b[i] for name, b in buffers}}
                     for i in range(len(self._params))}
        return {"state": state, "param_groups": [group]}

    def load_state_dict(self, state_dict: dict) -> None:
        """Take the hyperparameters, step count and state of state_dict(), all or nothing.

        It must come from an optimizer of this kind over as many parameters: else ValueError.
        """
        kind, n = type(self).__name__, len(self._params)
        try:
            (group,), state = state_dict["param_groups"], state_dict["state"]
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"not a {kind} state_dict: expected 'state' and one of 'param_groups'")
        if list(group.get("params", ())) != list(range(n)):
            raise ValueError(f"the state_dict is for {len(group.get('params', ()))} parameters, "
                             f"this {kind} has {n}")
        keys = set(group) - {"params"}
        if keys != set(self._hyper):
            raise ValueError(f"not a {kind} state_dict: its hyperparameters are {sorted(keys)}, "
                             f"expected {sorted(self._hyper)}")
        hyper = {name: group[name] for name in self._hyper}
        self._check_hyper(**hyper)
        steps, buffers = 0, {name: np.zeros(n) for name in self._buffers}
        if state:
            if sorted(state) != list(range(n)):
                raise ValueError(f"the state_dict's state is for parameters {sorted(state)}, expected 0 to {n - 1}")
            steps = state[0].get("step")
            if type(steps) is not int or steps < 1:
                raise ValueError(f"the state_dict's step must be an int >= 1, not {steps!r}")
            for i in range(n):
                entry = state[i]
                if set(entry) != {"step", *self._buffers} or entry["step"] != steps:
                    raise ValueError(f"the state_dict's state of parameter {i} does not fit a {kind}: {entry!r}")
                for name in self._buffers:
                    buffers[name][i] = entry[name]
        for name, value in hyper.items():
            setattr(self, name, value)
        for name, value in buffers.items():
            setattr(self, name, value)
        self.steps = steps


def _ids(params):
    return ffi.new("int32_t[]", [p._i for p in params])


def _c_args(c_type):
    return ffi.new(c_type) if c_type else None


def _check(ok: bool, what: str, value) -> None:
    if not ok:
        raise ValueError(f"invalid {what}: {value}")


class SGD(Optimizer):
    """p -= lr * d, d = grad + weight_decay*p, through a momentum buffer if momentum != 0.

        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        for ...:
            loss = ...
            opt.zero_grad()
            loss.backward()
            opt.step()
    """
    _hyper = ("lr", "momentum", "weight_decay")
    _buffers = ("momentum_buffer",)
    _c_type = "mg_sgd *"

    def __init__(self, params: Iterable[Value], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params)
        self._check_hyper(lr, momentum, weight_decay)
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay

    @staticmethod
    def _check_hyper(lr: float, momentum: float, weight_decay: float) -> None:
        _check(lr >= 0.0, "learning rate", lr)
        _check(momentum >= 0.0, "momentum", momentum)
        _check(weight_decay >= 0.0, "weight_decay", weight_decay)

    def step(self) -> None:
        """One update of every parameter from its grad, in one C call."""
        opt = self._c
        opt.lr, opt.momentum, opt.weight_decay = self.lr, self.momentum, self.weight_decay
        opt.first = self._step_number() == 0
        err = lib.mg_sgd_step(opt, len(self._params), self._ids, self._buffer(self.momentum_buffer))
        if err:
            _raise(err)
        self.steps += 1


class Adam(Optimizer):
    """Adam with bias correction (not AMSGrad); weight_decay adds weight_decay*p to the grad, as torch."""
    _hyper = ("lr", "betas", "eps", "weight_decay")
    _buffers = ("exp_avg", "exp_avg_sq")
    _c_type = "mg_adam *"

    def __init__(self, params: Iterable[Value], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params)
        self._check_hyper(lr, betas, eps, weight_decay)
        self.lr, self.betas, self.eps, self.weight_decay = lr, tuple(betas), eps, weight_decay

    @staticmethod
    def _check_hyper(lr: float, betas: tuple[float, float], eps: float, weight_decay: float) -> None:
        _check(lr >= 0.0, "learning rate", lr)
        _check(len(betas) == 2 and 0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0, "betas", betas)
        _check(eps >= 0.0, "eps", eps)
        _check(weight_decay >= 0.0, "weight_decay", weight_decay)

    def step(self) -> None:
        """One update of every parameter from its grad, in one C call."""
        opt = self._c
        opt.lr, (opt.beta1, opt.beta2), opt.eps = self.lr, self.betas, self.eps
        opt.weight_decay, opt.step = self.weight_decay, self._step_number() + 1
        err = lib.mg_adam_step(opt, len(self._params), self._ids, self._buffer(self.exp_avg),
                               self._buffer(self.exp_avg_sq))
        if err:
            _raise(err)
        self.steps += 1
