"""torch.optim.lr_scheduler's StepLR, CosineAnnealingLR and LambdaLR.

A scheduler sets its optimizer's `lr` at each `step()`, from the rate the optimizer had
when the scheduler was made (`base_lrs`, a list of one as in torch: these optimizers have
one parameter group). Each rate is the closed form in torch's documentation, computed at
the step's epoch, so it does not drift over a long run. Call `sched.step()` after
`opt.step()`, as in torch. Works with any optimizer that has an `lr` attribute.
"""
from __future__ import annotations

import math

TYPE_CHECKING = False  # (typing is not imported at run time: it would add to the import time)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class LRScheduler:
    """What the schedulers share: the epoch count, base_lrs, step(), get_last_lr(), state_dict()."""

    def __init__(self, optimizer: Any, last_epoch: int = -1) -> None:
        if type(last_epoch) is not int or last_epoch < -1:
            raise ValueError(f"last_epoch must be an int >= -1, not {last_epoch!r}")
        if last_epoch == -1:
            optimizer.initial_lr = optimizer.lr  # as torch keeps it in the param group
        elif not hasattr(optimizer, "initial_lr"):
            raise KeyError("resuming with last_epoch >= 0 needs the optimizer's initial_lr, "
                           "set by the scheduler it was made with")
        self.optimizer = optimizer
        self.base_lrs = [optimizer.initial_lr]
        self.last_epoch = last_epoch
        self.step()  # epoch 0 (or the one after last_epoch), as torch does on construction

    def get_lr(self) -> list[float]:
        """The learning rate at epoch self.last_epoch, as a list of one."""
        return [self._lr(base_lr, self.last_epoch) for base_lr in self.base_lrs]

    def _lr(self, base_lr: float, epoch: int) -> float:
        raise NotImplementedError

    def get_last_lr(self) -> list[float]:
        """The learning rate the last step() set, as a list of one (torch's one per param group)."""
        return list(self._last_lr)

    def step(self) -> None:
        """Go on one epoch and set the optimizer's lr for it."""
        self.last_epoch += 1
        (self.optimizer.lr,) = self._last_lr = self.get_lr()

    def state_dict(self) -> dict:
        """Everything but the optimizer (and a LambdaLR's function, as in torch)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambda")}

    def load_state_dict(self, state_dict: dict) -> None:
        """Take the epoch and settings of state_dict(); the optimizer's lr is left as it is."""
        self.__dict__.update(state_dict)


class StepLR(LRScheduler):
    """lr = base_lr * gamma ** (epoch // step_size): decays by gamma every step_size epochs."""

    def __init__(self, optimizer: Any, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        if type(step_size) is not int or step_size < 1:
            raise ValueError(f"step_size must be an int >= 1, not {step_size!r}")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def _lr(self, base_lr: float, epoch: int) -> float:
        return base_lr * self.gamma ** (epoch // self.step_size)


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2.

    From base_lr down to eta_min over T_max epochs, then back up again (the cosine's period
    is 2 * T_max), as torch's.
    """

    def __init__(self, optimizer: Any, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        if type(T_max) is not int or T_max < 1:
            raise ValueError(f"T_max must be an int >= 1, not {T_max!r}")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def _lr(self, base_lr: float, epoch: int) -> float:
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2


class LambdaLR(LRScheduler):
    """lr = base_lr * lr_lambda(epoch), lr_lambda a function of the epoch (an int from 0)."""

    def __init__(self, optimizer: Any, lr_lambda: Callable[[int], float], last_epoch: int = -1) -> None:
        if not callable(lr_lambda):
            raise TypeError(f"lr_lambda must be a function of the epoch, not {lr_lambda!r}")
        self.lr_lambda = lr_lambda
        super().__init__(optimizer, last_epoch)

    def _lr(self, base_lr: float, epoch: int) -> float:
        return base_lr * self.lr_lambda(epoch)
