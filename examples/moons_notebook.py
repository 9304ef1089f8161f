"""karpathy's micrograd demo notebook (demo.ipynb), as a script.

    python examples/moons_notebook.py              # on micrograd_c
    python examples/moons_notebook.py --micrograd  # on karpathy's micrograd (pip install micrograd)

The notebook's code, unchanged but for two things: `install_as_micrograd()`
points its imports at micrograd_c, and the data comes from
micrograd_c.data.make_moons, which draws the very points sklearn's make_moons
gives after np.random.seed(1337).
"""
import random
import sys
import time

import numpy as np

if "--micrograd" not in sys.argv:
    import micrograd_c
    micrograd_c.install_as_micrograd()
from micrograd.engine import Value
from micrograd.nn import MLP
from micrograd_c.data import make_moons

np.random.seed(1337)
random.seed(1337)

X, y = make_moons(n_samples=100, noise=0.1)
y = y*2 - 1  # make y be -1 or 1

model = MLP(2, [16, 16, 1])  # 2-layer neural network
print(model)
print("number of parameters", len(model.parameters()))


def loss(batch_size=None):

    # inline DataLoader :)
    if batch_size is None:
        Xb, yb = X, y
    else:
        ri = np.random.permutation(X.shape[0])[:batch_size]
        Xb, yb = X[ri], y[ri]
    inputs = [list(map(Value, xrow)) for xrow in Xb]

    # forward the model to get scores
    scores = list(map(model, inputs))

    # svm "max-margin" loss
    losses = [(1 + -yi*scorei).relu() for yi, scorei in zip(yb, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    # L2 regularization
    alpha = 1e-4
    reg_loss = alpha * sum((p*p for p in model.parameters()))
    total_loss = data_loss + reg_loss

    # also get accuracy
    accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(yb, scores)]
    return total_loss, sum(accuracy) / len(accuracy)


total_loss, acc = loss()
print(total_loss, acc)

start = time.perf_counter()
# optimization
for k in range(100):

    # forward
    total_loss, acc = loss()

    # backward
    model.zero_grad()
    total_loss.backward()

    # update (sgd)
    learning_rate = 1.0 - 0.9*k/100
    for p in model.parameters():
        p.data -= learning_rate * p.grad

    if k % 1 == 0:
        print(f"step {k} loss {total_loss.data}, accuracy {acc*100}%")
print(f"time {time.perf_counter() - start:.2f} s", file=sys.stderr)
