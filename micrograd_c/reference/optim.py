"""The reference optimizers: torch.optim's SGD and Adam formulas, one parameter at a time, in the
order micrograd_c.optim's C loop (csrc/optim.c) computes them, so the two agree to the bit."""
import math


class Optimizer:

    def __init__(self, params):
        self.params = list(params)
        self.steps = 0

    def zero_grad(self):
        for p in self.params:
            p.grad = 0.0


class SGD(Optimizer):

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params)
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self.momentum_buffer = [0.0] * len(self.params)

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


class Adam(Optimizer):

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params)
        self.lr, self.betas, self.eps, self.weight_decay = lr, betas, eps, weight_decay
        self.exp_avg = [0.0] * len(self.params)
        self.exp_avg_sq = [0.0] * len(self.params)

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
