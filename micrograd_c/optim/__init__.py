"""torch.optim for micrograd_c parameters: the optimizers SGD and Adam, and learning-rate schedulers.

    opt = optim.Adam(model.parameters(), lr=1e-3)
    sched = optim.lr_scheduler.StepLR(opt, step_size=30, gamma=0.1)
    for epoch in range(...):
        loss = ...
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
"""
from . import lr_scheduler
from .optimizer import SGD, Adam, Optimizer

__all__ = ["Optimizer", "SGD", "Adam", "lr_scheduler"]
