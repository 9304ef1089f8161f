"""An MNIST-sized model trained one image at a time: MLP(784, [50, 10]), softmax cross-entropy.

Random images of MNIST's shape (784 pixels in [0, 1), labels 0-9), so the benchmark needs no
download. The step is written as micrograd code is: the loss from Value ops, then either
micrograd's own loop (`zero_grad`, `backward`, `p.data -= lr * p.grad`) or an optimizer's
`zero_grad()` and `step()`.
"""
import numpy as np

LR = 0.01
SIZES = (784, [50, 10])


def images(n, seed=0):
    """n (pixels as a list of floats, label) pairs."""
    rng = np.random.RandomState(seed)
    return [(rng.rand(SIZES[0]).tolist(), int(rng.randint(10))) for _ in range(n)]


def cross_entropy(logits, label):
    """-log(softmax(logits)[label]), with the largest logit taken off first (as a number)."""
    top = max(z.data for z in logits)
    shifted = [z - top for z in logits]
    return sum(s.exp() for s in shifted).log() - shifted[label]


def loop_step(model, image):
    """One step with micrograd's loop; returns the loss."""
    x, label = image
    loss = cross_entropy(model(x), label)
    model.zero_grad()
    loss.backward()
    for p in model.parameters():
        p.data -= LR * p.grad
    return float(loss.data)


def optimizer_step(model, opt, image):
    """One step with an optimizer (torch.optim's SGD or micrograd_c.optim's); returns the loss."""
    x, label = image
    loss = cross_entropy(model(x), label)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return float(loss.data)
