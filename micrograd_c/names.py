"""The names task: `python -m micrograd_c names` learns from the US census' lists of first
names (shipped in the `names` package: pip install 'micrograd-c[text]').

1. A character-level language model, an MLP as in Bengio et al. 2003 and karpathy's makemore
   (part 2): the last --context characters of a name, each looked up in a table of --embed
   numbers, through a tanh layer of --hidden units to logits for the next character ('.'
   starts and ends a name). Adam on minibatches, each minibatch one C call
   (micrograd_c.compile's batch). Its score: the mean negative log-likelihood per character
   (dev_loss) on names it never saw, beside a bigram model's counted from the same names;
   then it makes up 20 names.
2. A classifier: a first name -> the list it is on, male or female (names on both are left
   out), from its last and first few characters; an MLP trained on balanced minibatches (4
   in 5 names are female), scored by balanced accuracy on held-out names.
"""
import math
import os

import numpy as np

from . import nn, optim
from ._tasks import Clock, need, progress, seed_all
from .compile import compile
from .losses import cross_entropy

HELP = "character-level MLP language model and a male/female classifier on census first names"
SEED = 0
PLOTS = ("training_curves", "grad_flow", "grad_scatter", "grad_norms", "embedding",
         "gender_confusion")  # what --plot-dir saves, as NAME.png

CHARS = ".abcdefghijklmnopqrstuvwxyz"  # '.' (index 0) is a name's start and end
VOCAB = len(CHARS)
LISTS = {"male": "dist.male.first", "female": "dist.female.first"}  # the package's files


# ---- the data: the lists, the split, a word's characters ----

def load_lists():
    """{"male": [...], "female": [...]}: the census' first names, lower case, most common first.
    (Each line of a list is "NAME frequency cumulative-frequency rank".)"""
    names = need("names", "text", "the names task")
    folder = os.path.dirname(names.__file__)
    lists = {}
    for label, file in LISTS.items():
        with open(os.path.join(folder, file)) as f:
            lists[label] = [line.split()[0].lower() for line in f if line.strip()]
    return lists


def split(words, seed, held_out=0.1):
    """(train, held-out): the distinct words shuffled by seed and cut, so no word is on both
    sides; held_out is the held-out side's share."""
    words = sorted(set(words))  # (sorted: the same shuffle for the same seed)
    order = np.random.default_rng(seed).permutation(len(words))
    cut = round(len(words) * held_out)
    return [words[i] for i in order[cut:]], [words[i] for i in order[:cut]]


def encode(word):
    """The word's character indices between a start and an end ('.': 0): "ab" -> [0, 1, 2, 0]."""
    return [0] + [CHARS.index(c) for c in word] + [0]


def one_hot(indices):
    """Rows of character indices (n, k) as rows of k one-hot blocks (n, k * VOCAB)."""
    return np.eye(VOCAB)[indices].reshape(len(indices), -1)


# ---- the baseline: a bigram model, counted ----

def bigram_counts(words):
    """counts[a, b]: how often character b follows a in the words (with their start and end)."""
    counts = np.zeros((VOCAB, VOCAB))
    for word in words:
        ix = encode(word)
        np.add.at(counts, (ix[:-1], ix[1:]), 1)
    return counts


def bigram_loss(train, dev, smoothing=1.0):
    """The mean negative log-likelihood per character on dev of P(next | this) counted on
    train, with `smoothing` added to every count (add-one: no pair is impossible)."""
    counts = bigram_counts(train) + smoothing
    log_p = np.log(counts / counts.sum(axis=1, keepdims=True))
    return float(-(bigram_counts(dev) * log_p).sum() / bigram_counts(dev).sum())


# ---- the language model ----

def contexts(words, context):
    """(X, Y): for each character of each word (its end too), the `context` characters before
    it (the start's '.'s where there are fewer), and it, as indices: X (n, context), Y (n,)."""
    X, Y = [], []
    for word in words:
        window = [0] * context
        for ix in encode(word)[1:]:
            X.append(window)
            Y.append(ix)
            window = window[1:] + [ix]
    return np.array(X), np.array(Y)


class Embedding(nn.Module):
    """Each character of a context looked up in one table of vectors, the vectors concatenated
    (torch.nn.Embedding, then a flatten).

    A compiled function cannot index by a Value, so the characters come one-hot and the lookup
    is a product: one-hot row @ table. That is a Linear(VOCAB, dim), one fused C node an output;
    its bias, added to every row, shifts the whole table, as the rows could themselves (it is
    harmless, and keeps the lookup one fused node).
    """

    def __init__(self, dim):
        self.table = nn.Linear(VOCAB, dim)

    def forward(self, x):
        """x: the context's one-hot blocks, one after another -> their vectors, in that order."""
        return [e for k in range(0, len(x), VOCAB) for e in self.table(x[k:k + VOCAB])]


def mlp(layers):
    """Linears between the sizes in layers, tanh between them. micrograd draws weights from
    uniform(-1, 1): a unit of n inputs then swings by ~sqrt(n / 3), deep in tanh's flat tails.
    Scaled by 1 / sqrt(n), as torch's Linear draws them, the units start where tanh bends; the
    last layer by a further 0.1, so the first predictions are near uniform and the first loss
    near log(classes) (makemore part 3). The biases are 0 to start with."""
    modules = []
    for k, (n, m) in enumerate(zip(layers, layers[1:])):
        linear = nn.Linear(n, m)
        scale = (0.1 if k == len(layers) - 2 else 1.0) / math.sqrt(n)
        for p in linear.parameters():
            p.data *= scale
        modules += [linear, nn.Tanh()]
    return modules[:-1]  # (no tanh after the logits)


def char_mlp(context, embed, hidden):
    """The language model: context characters -> logits for the next character."""
    return nn.Sequential(Embedding(embed), *mlp([context * embed, hidden, VOCAB]))


# ---- training and scoring, for both models ----

def fit(model, X, Y, steps, batch_size, lr, rng, p=None):
    """Adam on cross-entropy, for each of `steps` minibatches of batch_size rows of X (inputs)
    and Y (one-hot targets) drawn with probabilities p (uniform by default), the learning rate
    annealed from lr to 0 on a cosine; yields each step's minibatch loss."""
    loss = compile(lambda x, y: cross_entropy(model(x), y))  # recorded once, replayed in C
    opt = optim.Adam(model.parameters(), lr=lr)
    schedule = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    for _ in range(steps):
        rows = rng.choice(len(X), size=batch_size, p=p)
        opt.zero_grad()
        batch_loss = loss.batch(X[rows], Y[rows], reduce="mean")  # every row in one C call
        batch_loss.backward()
        opt.step()
        schedule.step()
        yield batch_loss.data


def logits(model, X):
    """The model's logits for each row of X, as an array (n, classes): one C call."""
    return compile(lambda x: model(x)).batch(X)


def log_softmax(z):
    """log(softmax(z)) of each row of z, the largest subtracted first (exp cannot overflow)."""
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def mean_nll(model, X, Y):
    """The mean negative log-likelihood of the classes Y (indices) under the model's logits."""
    return float(-log_softmax(logits(model, X))[np.arange(len(Y)), Y].mean())


def sample(model, context, count, rng, longest=20):
    """count names made up by the model: from a context of '.'s, each next character drawn from
    softmax(logits), until it draws '.' (or the name has `longest` characters). The first
    character is drawn from the letters alone: a name has one at least."""
    forward = compile(lambda x: model(x))  # (on one context: a replay, cheaper than a batch of 1)
    words = []
    for _ in range(count):
        window, word = [0] * context, ""
        while len(word) < longest:
            z = np.array([[v.data for v in forward(one_hot(np.array([window]))[0])]])
            p = np.exp(log_softmax(z)[0])
            if not word:  # (no end before the first letter)
                p[0] = 0.0
                p = p / p.sum()
            ix = int(rng.choice(VOCAB, p=p))
            if ix == 0:
                break
            word += CHARS[ix]
            window = window[1:] + [ix]
        words.append(word)
    return words


# ---- the classifier: male or female ----

LAST, FIRST = 6, 2  # a name's features: its last and first characters (the ending says most)
GENDER_HIDDEN, GENDER_BATCH, GENDER_LR = 16, 128, 0.01  # the classifier's MLP and its training


def name_features(words):
    """Each word's last LAST and first FIRST characters ('.' where it is shorter), one-hot
    (n, (LAST + FIRST) * VOCAB): a name's ending says most (Anna, Maria; John, Robert)."""
    ends = [("." * LAST + w)[-LAST:] + (w + "." * FIRST)[:FIRST] for w in words]
    return one_hot(np.array([[CHARS.index(c) for c in chars] for chars in ends]))


def gender_data(lists, seed, held_out=0.2):
    """((X, y) to train on, (X, y) held out): the names on one list only, y = 0 male, 1 female."""
    male, female = set(lists["male"]), set(lists["female"])
    label = {**{w: 0 for w in male - female}, **{w: 1 for w in female - male}}
    return [(name_features(words), np.array([label[w] for w in words]))
            for words in split(label, seed, held_out)]


def balanced_accuracy(y, predicted):
    """The mean of the classes' recalls: each class counts the same, however many it has."""
    return float(np.mean([np.mean(predicted[y == c] == c) for c in np.unique(y)]))


def gender_classifier(X, y, steps, rng):
    """(an MLP, its training): fit's steps on (X, y), each yielding its loss, to run. The
    minibatches are balanced: each name is drawn with probability 1 / (2 * its class's size),
    so half of a minibatch is male, on average, though 4 in 5 names are female: both recalls
    count the same in the loss."""
    classifier = nn.Sequential(*mlp([X.shape[1], GENDER_HIDDEN, 2]))
    p = 1 / (2 * np.bincount(y)[y])
    return classifier, fit(classifier, X, np.eye(2)[y], steps, GENDER_BATCH, GENDER_LR, rng, p)


# ---- the command: python -m micrograd_c names ----

def add_arguments(p):
    p.add_argument("--steps", type=int, default=600,
                   help="language model: Adam steps (default 600)")
    p.add_argument("--batch-size", type=int, default=1024,
                   help="language model: characters a minibatch (default 1024)")
    p.add_argument("--lr", type=float, default=0.03,
                   help="language model: Adam's learning rate, annealed to 0 on a cosine "
                        "(default 0.03)")
    p.add_argument("--context", type=int, default=4, help="characters the model sees (default 4)")
    p.add_argument("--embed", type=int, default=10,
                   help="numbers in a character's vector (default 10)")
    p.add_argument("--hidden", type=int, default=64, help="units of the tanh layer (default 64)")
    p.add_argument("--gender-steps", type=int, default=300,
                   help=f"classifier: Adam steps, on balanced minibatches of {GENDER_BATCH} "
                        f"(default 300)")


def check_arguments(args, error):
    for flag in ("steps", "batch_size", "context", "embed", "hidden", "gender_steps"):
        if getattr(args, flag) < 1:
            error(f"--{flag.replace('_', '-')} must be >= 1")
    if not args.lr > 0:
        error("--lr must be > 0")


def run(args):
    """Train both models; print their scores and the made-up names; save the pictures; return
    the numbers."""
    from .viz import grad_norms  # (no matplotlib needed for the numbers)
    seed_all(args.seed)  # the weights (micrograd draws them from Python's random)
    rng = np.random.default_rng(args.seed)  # the minibatches and the samples
    lists = load_lists()
    train, dev = split(lists["male"] + lists["female"], args.seed)
    print(f"micrograd_c names: {len(train)} first names to learn from, {len(dev)} held out; "
          f"MLP: context {args.context}, embed {args.embed}, hidden {args.hidden}", flush=True)

    (X, Y), (X_dev, Y_dev) = (contexts(words, args.context) for words in (train, dev))
    X, X_dev = one_hot(X), one_hot(X_dev)
    model = char_mlp(args.context, args.embed, args.hidden)
    history, norms, clock = [], [], Clock()
    with progress(args.steps, "step", "language model") as bar, clock:
        steps = fit(model, X, np.eye(VOCAB)[Y], args.steps, args.batch_size, args.lr, rng)
        for step, loss in enumerate(steps):
            history.append({"step": step, "loss": loss})
            if args.plot_dir and (step % 10 == 0 or step == args.steps - 1):
                norms.append({"step": step, "grad_norms": grad_norms(model)})
            bar.set_postfix_str(f"loss {loss:.4f}", refresh=False)
            bar.update()
    dev_loss, train_loss = mean_nll(model, X_dev, Y_dev), mean_nll(model, X, Y)
    bigram = bigram_loss(train, dev)
    samples = sample(model, args.context, 20, rng)
    print(f"dev loss {dev_loss:.4f} per character; bigram {bigram:.4f} "
          f"(ratio {dev_loss / bigram:.3f}); train loss {train_loss:.4f}")
    print("made up:", " ".join(samples))

    (G, g), (G_test, g_test) = gender_data(lists, args.seed)
    classifier, steps = gender_classifier(G, g, args.gender_steps, rng)
    with progress(args.gender_steps, "step", "male/female") as bar, clock:
        for loss in steps:
            bar.set_postfix_str(f"loss {loss:.4f}", refresh=False)
            bar.update()
    predicted = logits(classifier, G_test).argmax(axis=1)
    recall = {c: float(np.mean(predicted[g_test == k] == k)) for k, c in enumerate(LISTS)}
    accuracy = balanced_accuracy(g_test, predicted)
    print(f"male/female: balanced accuracy {accuracy:.1%} on {len(g_test)} held-out names "
          f"(recall: male {recall['male']:.1%}, female {recall['female']:.1%})")
    print(f"time {clock.seconds:.1f} s")

    if args.plot_dir:
        save_plots(args.plot_dir, model, history, norms, g_test, predicted)
    settings = ("steps", "batch_size", "lr", "context", "embed", "hidden", "gender_steps", "seed")
    return {"dev_loss": dev_loss, "bigram_dev_loss": bigram, "train_loss": train_loss,
            "samples": samples, "gender_balanced_accuracy": accuracy, "gender_recall": recall,
            "train_seconds": clock.seconds, "names": {"train": len(train), "dev": len(dev)},
            "settings": {k: getattr(args, k) for k in settings}, "history": history}


def save_plots(folder, model, history, norms, y, predicted):
    from . import viz
    paths = {name: os.path.join(folder, name + ".png") for name in PLOTS}
    viz.plot_training_curves(history, path=paths["training_curves"],
                             title="Character MLP: minibatch loss")
    viz.plot_grad_flow(model, path=paths["grad_flow"])
    viz.plot_grad_scatter(model, path=paths["grad_scatter"])
    viz.plot_grad_norms(norms, path=paths["grad_norms"])
    plot_embedding(model[0], paths["embedding"])
    labels = list(LISTS)
    viz.plot_confusion_matrix([labels[k] for k in y], [labels[k] for k in predicted],
                              path=paths["gender_confusion"], labels=labels,
                              title="Male or female: held-out names")
    for path in paths.values():
        print(f"saved {path}")


def plot_embedding(embedding, path):
    """Each character at its vector, projected on the table's two main directions (PCA): the
    characters the model uses alike sit together (the vowels, say)."""
    figure = need("matplotlib.figure", "viz", "the names task's pictures")
    table = np.array([[w.data for w in n.w] for n in embedding.table.neurons]).T  # (VOCAB, dim)
    centred = table - table.mean(axis=0)
    xy = centred @ np.linalg.svd(centred, full_matrices=False)[2][:2].T
    fig = figure.Figure(figsize=(5, 5))
    ax = fig.subplots()
    ax.scatter(xy[:, 0], xy[:, 1], s=160, color="#c6dbef")
    for c, (x, y) in zip(CHARS, xy):
        ax.text(x, y, c, ha="center", va="center", color="#08306b")
    ax.set_title("Character vectors, on their two main directions")
    ax.set_xlabel("first direction")
    ax.set_ylabel("second direction")
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=110, bbox_inches="tight")
