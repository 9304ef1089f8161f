"""Loss functions, torch.nn.functional-style, built from Value ops.

They use only a Value's operators and methods, so the same functions serve
micrograd_c's Value and the reference Value (micrograd_c.reference.nn exports
them too), and give the same bits on both. Predictions are Values; targets and
labels are numbers (or Values). A batch loss is the mean over the batch,
computed as micrograd's demo does: sum(terms) * (1.0 / n).
"""
import operator


def _pairs(a, b):
    """Two equal-length lists; a single Value or number counts as a list of one."""
    a = list(a) if isinstance(a, (list, tuple)) else [a]
    b = list(b) if isinstance(b, (list, tuple)) else [b]
    if len(a) != len(b) or not a:
        raise ValueError(f"expected two non-empty lists of the same length, got {len(a)} and {len(b)}")
    return zip(a, b)


def _mean(terms):
    return sum(terms) * (1.0 / len(terms))


def mse_loss(pred, target):
    """mean((pred - target)**2), as torch.nn.functional.mse_loss."""
    return _mean([(p - t)**2 for p, t in _pairs(pred, target)])


def hinge_loss(scores, labels):
    """micrograd's max-margin (SVM) loss: mean of relu(1 - y*score), labels y = +1 or -1."""
    return _mean([(1 + -y*s).relu() for s, y in _pairs(scores, labels)])


def binary_cross_entropy(probs, targets):
    """mean(-(t*log(p) + (1-t)*log(1-p))), as torch.nn.functional.binary_cross_entropy.

    Probabilities must be strictly between 0 and 1: log(0) raises ValueError
    here, where torch clamps the log at -100.
    """
    return _mean([-(t * p.log() + (1 - t) * (1 - p).log()) for p, t in _pairs(probs, targets)])


def cross_entropy(logits, target):
    """-log(softmax(logits)[target]) for one example: a list of logit Values and a class index.

    As torch.nn.functional.cross_entropy on an unbatched input. The largest
    logit is subtracted first (as a constant, so gradients are unchanged) so
    that exp never overflows. For a batch, average the per-example losses.
    """
    logits, target = list(logits), operator.index(target)
    if not 0 <= target < len(logits):
        raise IndexError(f"target {target} is out of range for {len(logits)} classes")
    m = max(z.data for z in logits)
    shifted = [z - m for z in logits]
    return sum(z.exp() for z in shifted).log() - shifted[target]
