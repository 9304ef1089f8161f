"""The workloads of micrograd_c.compile: the moons step and an MNIST-sized minibatch step as
compile runs them, torch's batched MNIST step beside it, and a recording's first call.

The compiled moons step is the demo's (hinge loss over the 100 points, mean, plus 1e-4 L2, SGD
at the demo's rate) with the data term one `batch` call and the L2 term a compiled function.
"""
import random

import numpy as np

from micrograd_c.moons import L2_WEIGHT, learning_rate

MNIST_SIZES, MNIST_LR = (784, [50, 10]), 0.01


def moons_step(model):
    """step(X, y, k) -> loss: the demo's step k, compiled."""
    import micrograd_c
    from micrograd_c import optim

    params = model.parameters()
    data_loss = micrograd_c.compile(lambda x, t: (1 + -t * model(x)).relu())
    reg_loss = micrograd_c.compile(lambda: L2_WEIGHT * sum(p * p for p in params))
    opt = optim.SGD(params, lr=1.0)

    def step(X, y, k):
        total = data_loss.batch(X, y, reduce="mean") + reg_loss()
        opt.zero_grad()
        total.backward()
        opt.lr = learning_rate(k)
        opt.step()
        return float(total.data)
    return step


def mnist_batches(batch, count, seed=0):
    """count minibatches (images (batch, 784) in [0, 1), labels (batch,) in 0-9) of random data."""
    rng = np.random.RandomState(seed)
    return [(rng.rand(batch, MNIST_SIZES[0]), rng.randint(10, size=batch)) for _ in range(count)]


def mnist_step_micrograd_c():
    """step(images, labels) -> loss: MLP(784, [50, 10]), mean cross-entropy of the minibatch in
    one compiled batch call, optim.SGD."""
    import micrograd_c
    from micrograd_c import nn, optim

    random.seed(1337)
    model = nn.MLP(*MNIST_SIZES)
    loss = micrograd_c.compile(lambda x, target: nn.cross_entropy(model(x), target))
    opt = optim.SGD(model.parameters(), lr=MNIST_LR)
    eye = np.eye(MNIST_SIZES[1][-1])

    def step(images, labels):
        total = loss.batch(images, eye[labels], reduce="mean")
        opt.zero_grad()
        total.backward()
        opt.step()
        return float(total.data)
    return step


def mnist_step_torch():
    """The same step as a torch user writes it: Linear layers on float32 tensors, on one thread
    (as micrograd_c's batch of 32 runs; on a shared 2-core machine torch's default threads wait
    on each other: 100x slower here under load)."""
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(1337)
    model = torch.nn.Sequential(torch.nn.Linear(784, 50), torch.nn.ReLU(), torch.nn.Linear(50, 10))
    opt = torch.optim.SGD(model.parameters(), lr=MNIST_LR)

    def step(images, labels):
        x, t = torch.as_tensor(images, dtype=torch.float32), torch.as_tensor(labels)
        total = torch.nn.functional.cross_entropy(model(x), t)
        opt.zero_grad()
        total.backward()
        opt.step()
        return total.item()
    return step


def mnist_image_loss():
    """(fn, x, target): one image's loss, as compile records it and as eager mode runs it."""
    from micrograd_c import nn

    random.seed(1337)
    model = nn.MLP(*MNIST_SIZES)
    (images, labels), = mnist_batches(1, 1)
    target = np.eye(MNIST_SIZES[1][-1])[labels[0]].tolist()
    return (lambda x, t: nn.cross_entropy(model(x), t)), images[0].tolist(), target
