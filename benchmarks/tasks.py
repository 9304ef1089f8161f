"""python -m benchmarks.tasks [--quick] [--json FILE] [--tasks digits,cartpole,names]: the training
of the example tasks of `python -m micrograd_c TASK`, timed four ways, a line per task.

The tasks: digits; cartpole with its default algorithm, REINFORCE; names, its language model and
its male/female classifier (both, on one line). For each, the same training work done by:

- micrograd_c with compile: the task's default run as users run it, `python -m micrograd_c TASK
  --json F` in a subprocess. Its `train_seconds` (the task's clock: the training steps, not
  loading the data nor scoring) and, in brackets, the whole process's wall time. --quick runs it
  small (QUICK_FLAGS).
- micrograd_c eager: the same training step written without compile, as micrograd code is
  written: a Python loop over the minibatch's samples building one graph (the task's micrograd_c
  model, micrograd_c.nn.cross_entropy with class indices, the mean as sum(losses) * (1.0 / n);
  cartpole: each step's action chosen by the policy, then the advantage-weighted cross-entropy of
  the episode), then zero_grad(), backward() and the task's optimizer (micrograd_c.optim.Adam;
  names: with its cosine schedule). Timed over a few steps (TIMED) and scaled.
- micrograd 0.1.0: that eager code with karpathy's micrograd (micrograd.engine.Value,
  micrograd.nn's MLP and Layer; the garbage collector on, as users run it), given exp, log and
  tanh (benchmarks/impls.py's patches: 0.1.0 has none), benchmarks/mnist.py's cross-entropy (the
  largest logit taken off as a number), and Adam written here in plain Python (micrograd has no
  optimizer). names' embedding is its table's entries picked by index (what one-hot @ table
  computes, bias included). Timed over one step (cartpole: one episode), names' over 32 rows of
  its minibatches (micrograd takes ~0.25 s a row there; a whole minibatch of the language model
  would be a graph of ~9M nodes), and scaled.
- torch: the same models as a torch user writes them (nn.Linear layers, nn.Embedding for names'
  characters, batched float32 tensors, torch.optim.Adam and its CosineAnnealingLR), on one thread
  (torch.set_num_threads(1): on a shared 2-core machine torch's default threads wait on each
  other), for every step of the default run: not scaled.

Every implementation starts from the same weights (micrograd_c's, drawn as the task draws them,
copied into the others) and trains on minibatches of the same sizes drawn the same way (digits:
the very minibatches of the run). Before timing, each computes the loss of the first CHECK_ROWS
rows of its first minibatch and the sum of its parameters' |grad|; the lines under the table show
that they agree (the exit status is 1 if not, or if an implementation failed).

Scaling: each step is timed in two parts, its forward + backward (whose work grows with the rows:
images, characters, names; cartpole's env steps, each an action chosen by the policy and a row of
the loss) and its update (the optimizer's step, once a step). Over the steps timed, the first is
scaled by the default run's rows over the rows timed, the second by its steps over the steps timed;
the collection that frees the last timed step's graph (gc.collect(): micrograd's nodes are
reference cycles) is counted in the first. cartpole's eager and micrograd steps are episodes of the
run's mean length (a new episode begun wherever one ends: the same work), torch's have the run's
own lengths.

Each implementation of each task runs in a subprocess of its own (--worker; --quick: one for all
the tasks), so that one's imports (torch's hundreds of thousands of objects) do not slow another's
garbage collector. Times are wall times, as the tasks' clock is, on one core: compile's batches
split over the cores only from 8,192 rows, more than any of these tasks' minibatches. On a shared
machine they move from run to run (by up to 2x for the scaled ones, timed over a few seconds).
"""
import argparse
import collections
import gc
import importlib
import itertools
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TASKS = ("digits", "cartpole", "names")
IMPLS = ("eager", "micrograd", "torch")
PARTS = {"digits": ("digits",), "cartpole": ("cartpole",), "names": ("names-lm", "names-gender")}
QUICK_FLAGS = {"digits": ["--epochs", "1"], "cartpole": ["--episodes", "20"],
               "names": ["--steps", "20", "--batch-size", "256", "--gender-steps", "20"]}
# (steps timed, rows of each: None for the whole minibatch), the default run's then --quick's;
# torch runs every step.
TIMED = {
    "eager": {"digits": ((5, None), (2, None)), "cartpole": ((3, None), (1, None)),
              "names-lm": ((3, None), (1, None)), "names-gender": ((3, None), (1, None))},
    "micrograd": {"digits": ((1, None), (1, 4)), "cartpole": ((1, None), (1, 20)),
                  "names-lm": ((1, 32), (1, 4)), "names-gender": ((1, 32), (1, 4))},
}
CHECK_ROWS = 4
AGREE = 1e-4  # relative: torch computes in float32


# ---- what the implementations share ----

def mean(losses):
    """micrograd's mean: sum(losses) * (1.0 / n)."""
    return sum(losses) * (1.0 / len(losses))


def load_micrograd():
    """micrograd 0.1.0's nn module, its Value given exp, log and tanh (benchmarks/impls.py's)."""
    from micrograd import nn as mnn
    from micrograd.engine import Value

    from .impls import _micrograd_exp, _micrograd_log, _micrograd_tanh
    Value.exp, Value.log, Value.tanh = _micrograd_exp(Value), _micrograd_log(Value), _micrograd_tanh(Value)
    return mnn


def load_torch():
    import torch
    torch.set_num_threads(1)
    return torch


class PlainAdam:
    """Adam for micrograd, which has none: torch's (bias-corrected, no weight decay), a plain
    Python loop over the parameters; with cosine_steps, the learning rate annealed from lr to 0
    over that many steps, as CosineAnnealingLR does it (names')."""

    def __init__(self, params, lr, betas=(0.9, 0.999), eps=1e-8, cosine_steps=None):
        self.params, self.lr, self.betas, self.eps = list(params), lr, betas, eps
        self.base_lr, self.cosine_steps = lr, cosine_steps
        self.m, self.v, self.t = [0.0] * len(self.params), [0.0] * len(self.params), 0

    def zero_grad(self):
        for p in self.params:
            p.grad = 0

    def step(self):
        self.t += 1
        b1, b2 = self.betas
        c1, c2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        for i, p in enumerate(self.params):
            self.m[i] = m = b1 * self.m[i] + (1 - b1) * p.grad
            self.v[i] = v = b2 * self.v[i] + (1 - b2) * p.grad ** 2
            p.data -= self.lr * (m / c1) / (math.sqrt(v / c2) + self.eps)
        if self.cosine_steps:
            self.lr = self.base_lr * (1 + math.cos(math.pi * self.t / self.cosine_steps)) / 2


def copy_layer(dst, src):
    """A micrograd Layer's weights and biases set to a micrograd_c Layer's (or Linear's)."""
    for a, b in zip(dst.neurons, src.neurons, strict=True):
        for w, v in zip(a.w, b.w, strict=True):
            w.data = v.data
        a.b.data = b.b.data


def torch_linear(torch, src):
    """A torch.nn.Linear with a micrograd_c Layer's (or Linear's) weights."""
    layer = torch.nn.Linear(len(src.neurons[0].w), len(src.neurons))
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[w.data for w in n.w] for n in src.neurons], dtype=torch.float32))
        layer.bias.copy_(torch.tensor([n.b.data for n in src.neurons], dtype=torch.float32))
    return layer


def eager_steps(net, cross_entropy, opt, X, Y):
    """loss_of(rows): the mean cross-entropy of those rows of X (inputs) and Y (class indices),
    a Python loop over the samples building one graph, then zero_grad and backward."""
    def loss_of(rows):
        loss = mean([cross_entropy(net(x), t) for x, t in zip(X[rows].tolist(), Y[rows].tolist())])
        opt.zero_grad()
        loss.backward()
        return loss.data
    return loss_of


def torch_steps(torch, net, opt, X, Y):
    """loss_of(rows) for a torch model: the rows of X and Y as one batch."""
    def loss_of(rows):
        rows = torch.as_tensor(rows)
        loss = torch.nn.functional.cross_entropy(net(X[rows]), Y[rows])
        opt.zero_grad()
        loss.backward()
        return loss.item()
    return loss_of


def grad_total(opt):
    """The sum of the absolute grads of an optimizer's parameters (micrograd_c's, PlainAdam's or
    torch's), after a backward."""
    if hasattr(opt, "param_groups"):  # torch's
        return sum(float(p.grad.abs().sum()) for group in opt.param_groups for p in group["params"])
    return sum(abs(p.grad) for p in opt.params)


def timed_batches(batches, steps, rows):
    """The first `steps` minibatches, each cut to its first `rows` (None: all of them)."""
    return batches if steps is None else [b[:rows] for b in batches[:steps]]


# ---- the tasks' steps ----

# loss_of(rows): a step's forward and backward (returns the loss); update(): its optimizer's step
# (and scheduler's); batches: the rows of each step to time; steps, rows: the default run's; opt:
# the optimizer (its parameters' grads are checked)
Steps = collections.namedtuple("Steps", "loss_of update batches steps rows opt")


def digits_steps(impl, plan, steps, rows):
    """digits: MLP(64, [hidden, 10]), cross-entropy, Adam, the run's minibatches of its epochs."""
    from micrograd_c import digits, nn, optim

    X, _, Y, _ = digits.load_data()
    rng = np.random.default_rng(plan["seed"])  # (the run's: the same minibatches in the same order)
    batches = [b for _ in range(plan["epochs"]) for b in digits.minibatches(len(X), plan["batch_size"], rng)]
    random.seed(plan["seed"])
    model = nn.MLP(64, [plan["hidden"], digits.CLASSES])
    if impl == "eager":
        opt = optim.Adam(model.parameters(), lr=plan["lr"])
        loss_of = eager_steps(model, nn.cross_entropy, opt, X, Y)
    elif impl == "micrograd":
        mnn = load_micrograd()
        from .mnist import cross_entropy
        net = mnn.MLP(64, [plan["hidden"], digits.CLASSES])
        for a, b in zip(net.layers, model.layers, strict=True):
            copy_layer(a, b)
        opt = PlainAdam(net.parameters(), lr=plan["lr"])
        loss_of = eager_steps(net, cross_entropy, opt, X, Y)
    else:
        torch = load_torch()
        net = torch.nn.Sequential(torch_linear(torch, model.layers[0]), torch.nn.ReLU(),
                                  torch_linear(torch, model.layers[1]))
        opt = torch.optim.Adam(net.parameters(), lr=plan["lr"])
        loss_of = torch_steps(torch, net, opt, torch.as_tensor(X, dtype=torch.float32),
                              torch.as_tensor(Y))
    return Steps(loss_of, opt.step, timed_batches(batches, steps, rows), len(batches),
                 sum(map(len, batches)), opt)


def played(env, act, n):
    """(observations, actions, rewards) of n steps of the env, act choosing each action, a new
    episode begun wherever one ends (cartpole.play's episodes, one after another)."""
    from micrograd_c import cartpole
    episodes = (cartpole.play(env, act) for _ in itertools.count())
    steps = itertools.islice(itertools.chain.from_iterable(episodes), n)
    obs, actions, rewards, _, _ = map(np.array, zip(*steps))
    return obs, actions, rewards


def cartpole_steps(impl, plan, steps, rows):
    """cartpole, REINFORCE: policy MLP(4, [hidden, 2]), its output layer 0 to start with; a step
    is an episode: play it (an action a step from the policy's softmax), then Adam on the mean of
    advantage * cross-entropy(policy(obs), action)."""
    from micrograd_c import cartpole, nn, optim

    if plan["algo"] != "reinforce":
        raise ValueError(f"the benchmark times cartpole's REINFORCE, not {plan['algo']}")
    lengths = [int(r) for r in plan["returns"]]  # (an episode's return is its length)
    length = round(sum(lengths) / len(lengths))
    batches = [np.arange(n) for n in lengths] if steps is None else [np.arange(length)[:rows]] * steps
    env = cartpole.make_env(plan["seed"])
    rng = np.random.default_rng(plan["seed"])
    random.seed(plan["seed"])
    policy = nn.MLP(4, [plan["hidden"], 2])
    for p in policy.layers[-1].parameters():
        p.data = 0.0

    def advantages(rewards):
        return cartpole.advantages(cartpole.discounted_returns(rewards, plan["gamma"]))

    if impl in ("eager", "micrograd"):
        if impl == "eager":
            net, cross_entropy = policy, nn.cross_entropy
            opt = optim.Adam(policy.parameters(), lr=plan["lr"])
        else:
            mnn = load_micrograd()
            from .mnist import cross_entropy
            net = mnn.MLP(4, [plan["hidden"], 2])
            for a, b in zip(net.layers, policy.layers, strict=True):
                copy_layer(a, b)
            opt = PlainAdam(net.parameters(), lr=plan["lr"])

        def act(obs):
            p = cartpole.softmax(np.array([v.data for v in net(obs.tolist())]))
            return int(rng.random() < p[1])

        def loss_of(batch):
            obs, actions, rewards = played(env, act, len(batch))
            samples = zip(obs.tolist(), actions.tolist(), advantages(rewards).tolist())
            loss = mean([a * cross_entropy(net(o), t) for o, t, a in samples])
            opt.zero_grad()
            loss.backward()
            return loss.data
    else:
        torch = load_torch()
        F = torch.nn.functional
        net = torch.nn.Sequential(torch_linear(torch, policy.layers[0]), torch.nn.ReLU(),
                                  torch_linear(torch, policy.layers[1]))
        opt = torch.optim.Adam(net.parameters(), lr=plan["lr"])

        def act(obs):
            with torch.no_grad():
                p = torch.softmax(net(torch.as_tensor(obs, dtype=torch.float32)), 0)
            return int(rng.random() < p[1].item())

        def loss_of(batch):
            obs, actions, rewards = played(env, act, len(batch))
            adv = torch.as_tensor(advantages(rewards), dtype=torch.float32)
            losses = F.cross_entropy(net(torch.as_tensor(obs, dtype=torch.float32)),
                                     torch.as_tensor(actions), reduction="none")
            loss = (adv * losses).mean()
            opt.zero_grad()
            loss.backward()
            return loss.item()
    return Steps(loss_of, opt.step, batches, len(lengths), sum(lengths), opt)


def with_schedule(opt, schedule):
    """update(): the optimizer's step, then its learning-rate scheduler's."""
    def update():
        opt.step()
        schedule.step()
    return update


def names_lm_steps(impl, plan, steps, rows):
    """names' language model: the last `context` characters (embedded) -> tanh layer -> logits of
    the next; Adam with the cosine schedule, on minibatches of `batch_size` characters."""
    from micrograd_c import names, nn, optim

    s = plan["settings"]
    lists = names.load_lists()
    train, _ = names.split(lists["male"] + lists["female"], s["seed"])
    contexts, Y = names.contexts(train, s["context"])  # (n, context) character indices, (n,)
    rng = np.random.default_rng(s["seed"])
    batches = [rng.choice(len(Y), size=s["batch_size"])
               for _ in range(s["steps"] if steps is None else steps)]
    random.seed(s["seed"])
    model = names.char_mlp(s["context"], s["embed"], s["hidden"])
    table, hidden, out = model[0].table, model[1], model[3]
    if impl == "eager":
        opt = optim.Adam(model.parameters(), lr=s["lr"])
        loss_of = eager_steps(model, nn.cross_entropy, opt, names.one_hot(contexts), Y)
        update = with_schedule(opt, optim.lr_scheduler.CosineAnnealingLR(opt, T_max=s["steps"]))
    elif impl == "micrograd":
        mnn = load_micrograd()
        from .mnist import cross_entropy
        layers = [mnn.Layer(len(src.neurons[0].w), len(src.neurons), nonlin=False)
                  for src in (table, hidden, out)]
        for a, b in zip(layers, (table, hidden, out)):
            copy_layer(a, b)
        m_table, m_hidden, m_out = layers

        def net(context):  # each character's entries of the table (plus its bias), concatenated
            embedded = [n.w[c] + n.b for c in context for n in m_table.neurons]
            return m_out([h.tanh() for h in m_hidden(embedded)])
        opt = PlainAdam([p for layer in layers for p in layer.parameters()], lr=s["lr"],
                        cosine_steps=s["steps"])
        loss_of = eager_steps(net, cross_entropy, opt, contexts, Y)
        update = opt.step
    else:
        torch = load_torch()

        class CharMLP(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.embedding = torch.nn.Embedding(names.VOCAB, s["embed"])
                self.shift = torch.nn.Parameter(torch.tensor([n.b.data for n in table.neurons],
                                                             dtype=torch.float32))
                self.hidden, self.out = torch_linear(torch, hidden), torch_linear(torch, out)
                rows = [[w.data for w in n.w] for n in table.neurons]  # (embed, VOCAB)
                with torch.no_grad():
                    self.embedding.weight.copy_(torch.tensor(rows, dtype=torch.float32).T)

            def forward(self, context):
                embedded = (self.embedding(context) + self.shift).flatten(1)
                return self.out(torch.tanh(self.hidden(embedded)))
        net = CharMLP()
        opt = torch.optim.Adam(net.parameters(), lr=s["lr"])
        loss_of = torch_steps(torch, net, opt, torch.as_tensor(contexts), torch.as_tensor(Y))
        update = with_schedule(opt, torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=s["steps"]))
    return Steps(loss_of, update, timed_batches(batches, steps, rows), s["steps"],
                 s["steps"] * s["batch_size"], opt)


def names_gender_steps(impl, plan, steps, rows):
    """names' classifier: a name's last and first characters (one-hot) -> tanh layer -> male or
    female; Adam with the cosine schedule, on balanced minibatches."""
    from micrograd_c import names, nn, optim

    s = plan["settings"]
    (X, Y), _ = names.gender_data(names.load_lists(), s["seed"])
    p = 1 / (2 * np.bincount(Y)[Y])  # (as names.gender_classifier draws them)
    rng = np.random.default_rng(s["seed"])
    batches = [rng.choice(len(Y), size=names.GENDER_BATCH, p=p)
               for _ in range(s["gender_steps"] if steps is None else steps)]
    random.seed(s["seed"])
    model = nn.Sequential(*names.mlp([X.shape[1], names.GENDER_HIDDEN, 2]))
    hidden, out = model[0], model[2]
    if impl == "eager":
        opt = optim.Adam(model.parameters(), lr=names.GENDER_LR)
        loss_of = eager_steps(model, nn.cross_entropy, opt, X, Y)
        schedule = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=s["gender_steps"])
        update = with_schedule(opt, schedule)
    elif impl == "micrograd":
        mnn = load_micrograd()
        from .mnist import cross_entropy
        m_hidden, m_out = (mnn.Layer(len(src.neurons[0].w), len(src.neurons), nonlin=False)
                           for src in (hidden, out))
        copy_layer(m_hidden, hidden)
        copy_layer(m_out, out)

        def net(x):
            return m_out([h.tanh() for h in m_hidden(x)])
        opt = PlainAdam(m_hidden.parameters() + m_out.parameters(), lr=names.GENDER_LR,
                        cosine_steps=s["gender_steps"])
        loss_of = eager_steps(net, cross_entropy, opt, X, Y)
        update = opt.step
    else:
        torch = load_torch()
        net = torch.nn.Sequential(torch_linear(torch, hidden), torch.nn.Tanh(), torch_linear(torch, out))
        opt = torch.optim.Adam(net.parameters(), lr=names.GENDER_LR)
        loss_of = torch_steps(torch, net, opt, torch.as_tensor(X, dtype=torch.float32),
                              torch.as_tensor(Y))
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=s["gender_steps"])
        update = with_schedule(opt, schedule)
    return Steps(loss_of, update, timed_batches(batches, steps, rows), s["gender_steps"],
                 s["gender_steps"] * names.GENDER_BATCH, opt)


STEPS = {"digits": digits_steps, "cartpole": cartpole_steps, "names-lm": names_lm_steps,
         "names-gender": names_gender_steps}


# ---- measuring ----

def measure(task, impl, plan, quick=False):
    """impl's version of the task's training, in this process: per part, the seconds it would take
    for the default run (`plan`: what its --json said), and how they were found."""
    results = []
    for part in PARTS[task]:
        steps, rows = (None, None) if impl == "torch" else TIMED[impl][part][quick]
        run = STEPS[part](impl, plan, steps, rows)
        loss_of, update, batches = run.loss_of, run.update, run.batches
        check = [float(loss_of(batches[0][:CHECK_ROWS])), grad_total(run.opt)]  # (untimed; a warm-up)
        gc.collect()
        forward_backward = updating = 0.0
        losses = []
        for batch in batches:
            start = time.perf_counter()
            losses.append(float(loss_of(batch)))
            middle = time.perf_counter()
            update()
            updating += time.perf_counter() - middle
            forward_backward += middle - start
        start = time.perf_counter()
        gc.collect()  # (freeing the last step's graph)
        forward_backward += time.perf_counter() - start
        timed_rows = sum(map(len, batches))
        seconds = forward_backward * run.rows / timed_rows + updating * run.steps / len(batches)
        results.append({"part": part, "seconds": seconds, "timed_steps": len(batches),
                        "timed_rows": timed_rows, "steps": run.steps, "rows": run.rows,
                        "forward_backward_seconds": forward_backward, "update_seconds": updating,
                        "check": check, "losses": losses[:10]})
    return results


def how(part):
    """How a part's seconds were found: "all 1350 steps", or what they were scaled from."""
    unit = "episode" if part["part"] == "cartpole" else "step"
    k = part["timed_steps"]
    if k == part["steps"] and part["timed_rows"] == part["rows"]:
        return f"all {k:,} {unit}s"
    rows, full = part["timed_rows"] // k, round(part["rows"] / part["steps"])
    cut = f", {rows:,} of {full:,} rows" if unit == "step" and rows < full else (
        f" of {rows:,} steps" if unit == "episode" else "")
    return f"{k} {unit}{'s' if k > 1 else ''}{cut}"


def describe(task, plan):
    """The task's run, in a few words."""
    if task == "digits":
        per_epoch = -(-plan["train_images"] // plan["batch_size"])
        epochs = f"{plan['epochs']} epoch{'s' if plan['epochs'] > 1 else ''}"
        return f"digits: {epochs} × {per_epoch} minibatches of {plan['batch_size']}"
    if task == "cartpole":
        return (f"cartpole: REINFORCE, {plan['episodes']} episodes, "
                f"{int(sum(plan['returns'])):,} env steps")
    from micrograd_c import names
    s = plan["settings"]
    return (f"names: {s['steps']:,} steps × {s['batch_size']:,} chars + {s['gender_steps']:,} × "
            f"{names.GENDER_BATCH} names")


def compile_run(task, quick):
    """The task's run as users run it: `python -m micrograd_c TASK [flags] --json F`, its results
    (the plan of the other implementations' work) and the process's wall time."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, f"{task}.json")
        cmd = [sys.executable, "-m", "micrograd_c", task, *(QUICK_FLAGS[task] if quick else []),
               "--json", path]
        start = time.perf_counter()
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if p.returncode != 0:
            raise SystemExit(f"{' '.join(cmd[1:])} failed:\n{p.stderr[-2000:]}")
        with open(path) as f:
            results = json.load(f)
    results.pop("history", None)
    results.setdefault("seed", importlib.import_module(f"micrograd_c.{task}").SEED)  # (digits')
    command = "python -m micrograd_c " + " ".join([task, *(QUICK_FLAGS[task] if quick else [])])
    return {"command": command, "train_seconds": results["train_seconds"], "wall_seconds": wall,
            "plan": results}


def worker(impl, plans, quick):
    """measure() of each task of plans ({task: plan}) in a subprocess of its own: {task: its
    results, or {"error": ...}}."""
    cmd = [sys.executable, "-m", "benchmarks.tasks", "--worker", impl, json.dumps(plans)]
    if quick:
        cmd.append("--quick")
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if p.returncode != 0:
        tail = p.stderr.strip().splitlines()[-1:] or [f"exit status {p.returncode}"]
        return {task: {"error": tail[0]} for task in plans}
    found = json.loads(p.stdout.strip().splitlines()[-1])
    return {task: {"parts": parts} for task, parts in found.items()}


def seconds(x):
    return f"{x:,.0f} s" if x >= 100 else f"{x:.3g} s"


def ratio(x):
    return f"{x:,.0f}×" if x >= 100 else f"{x:.3g}×"


def difference(a, b):
    """|a - b| relative to the larger (absolute where both are below 1: cartpole's first loss is 0)."""
    return abs(a - b) / max(abs(a), abs(b), 1.0)


def checks(results):
    """(part, {impl: [loss, sum of |grad|]}, the largest difference from eager's) of each part."""
    found = []
    for task, r in results.items():
        for k, part in enumerate(PARTS[task]):
            values = {impl: r[impl]["parts"][k]["check"] for impl in IMPLS if "parts" in r[impl]}
            base = values.get("eager", next(iter(values.values()), None))
            worst = max((difference(a, b) for v in values.values() for a, b in zip(v, base)), default=0.0)
            found.append((part, values, worst))
    return found


# the table's columns: (heading, "<" left-aligned or ">" right-aligned)
COLUMNS = (("task: its default run", "<"), ("compile", ">"), ("(process)", "<"), ("eager", ">"),
           ("scaled from", "<"), ("micrograd", ">"), ("scaled from", "<"), ("torch", ">"), ("", "<"),
           ("eager/compile", ">"), ("micrograd/compile", ">"))


def table(results, quick=False):
    """The lines of the table, a line per task, then the checks the implementations agreed on."""
    rows = [[heading for heading, _ in COLUMNS]]
    if quick:
        rows[0][0] += " (--quick)"
    for task, r in results.items():
        compiled = r["compile"]["train_seconds"]
        row = [describe(task, r["compile"]["plan"]),
               seconds(compiled), f"({seconds(r['compile']['wall_seconds'])})"]
        total = {}
        for impl in IMPLS:
            if "error" in r[impl]:
                row += ["failed", r[impl]["error"][:60]]
                continue
            parts = r[impl]["parts"]
            total[impl] = sum(p["seconds"] for p in parts)
            row += [seconds(total[impl]), " + ".join(how(p) for p in parts)]
        rows.append(row + [ratio(total[impl] / compiled) if impl in total else "-"
                           for impl in ("eager", "micrograd")])
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(f"{cell:{align}{width}}" for cell, (_, align), width in zip(row, COLUMNS, widths))
             .rstrip() for row in rows]
    lines += ["", f"before training, the same weights in each: the loss of the first {CHECK_ROWS} rows "
              f"and the sum of |grad| (must agree to {AGREE:g}, torch being float32)"]
    for part, values, worst in checks(results):
        shown = ", ".join(f"{impl} {loss:.8f} {grads:.6g}" for impl, (loss, grads) in values.items())
        lines.append(f"  {part:13} {shown}: {'agree' if worst <= AGREE else 'DISAGREE'} "
                     f"(largest difference {worst:.1e})")
    return lines


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.tasks", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small runs (checks that it all runs)")
    p.add_argument("--json", metavar="FILE", help="write every number to FILE")
    p.add_argument("--tasks", default=",".join(TASKS), help=f"a part of {','.join(TASKS)}")
    p.add_argument("--worker", nargs=2, metavar=("IMPL", "PLANS"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        impl, plans = args.worker
        print(json.dumps({task: measure(task, impl, plan, args.quick)
                          for task, plan in json.loads(plans).items()}))
        return 0
    tasks = args.tasks.split(",")
    if not set(tasks) <= set(TASKS):
        p.error(f"--tasks: one or more of {','.join(TASKS)}")
    from .__main__ import machine
    info = machine()  # (its load average: the machine's before the run)
    start, results = time.perf_counter(), {}
    for task in tasks:
        print(f"{task}: micrograd_c with compile ...", file=sys.stderr, flush=True)
        results[task] = {"compile": compile_run(task, args.quick)}
    # each implementation in processes of its own, one a task (--quick: one for all the tasks)
    for group in ([tasks] if args.quick else [[task] for task in tasks]):
        for impl in IMPLS:
            print(f"{', '.join(group)}: {impl} ...", file=sys.stderr, flush=True)
            plans = {task: results[task]["compile"]["plan"] for task in group}
            for task, measured in worker(impl, plans, args.quick).items():
                results[task][impl] = measured
    print(f"the example tasks' training, {info['date']}, commit {info['commit'] or '?'}, "
          f"{info['cpu']}, {info['cores']} cores, load average before "
          f"{' '.join(f'{x:.2f}' for x in info['load_average'])}; "
          + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    print("seconds of training (compile: the run's train_seconds, the process's wall time in "
          "brackets; the others scaled as said, or all steps run)\n")
    print("\n".join(table(results, args.quick)))
    print(f"\n(this run: {time.perf_counter() - start:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "quick": args.quick,
                                               "results": results}, indent=1))
    failed = any("error" in r[impl] for r in results.values() for impl in IMPLS)
    return 1 if failed or any(worst > AGREE for *_, worst in checks(results)) else 0


if __name__ == "__main__":
    sys.exit(main())
