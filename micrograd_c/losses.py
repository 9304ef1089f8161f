"""Loss functions, torch.nn.functional-style, built from Value ops.

They use only a Value's operators and methods, so the same functions serve
micrograd_c's Value and the reference Value (micrograd_c.reference.nn exports
them too), and give the same bits on both. Predictions are Values; targets and
labels are numbers (or Values). A batch loss is the mean over the batch,
computed as micrograd's demo does: sum(terms) * (1.0 / n).
"""
from __future__ import annotations

import numbers
import operator

TYPE_CHECKING = False  # (typing is not imported at run time: it would add to the import time)
if TYPE_CHECKING:  # (annotations only: these functions serve the reference Value too)
    from collections.abc import Iterable, Sequence
    from typing import Any

    from .engine import Value


def _items(x: Any, name: str) -> list:
    """x as a list: a list, tuple, 1-d numpy array or other iterable of Values and numbers; a
    single Value or number is a list of one."""
    if isinstance(x, (list, tuple)):
        return list(x)
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be Values or numbers, not {type(x).__name__}")
    if isinstance(x, numbers.Number) or hasattr(x, "grad"):  # a number, a Value of any engine
        return [x]
    ndim = getattr(x, "ndim", None)  # a numpy array, without importing numpy here
    if ndim is not None:
        if ndim > 1:
            raise ValueError(f"{name} must be a flat list or a 1-d array, got an array of shape {x.shape}")
        return [x.item()] if ndim == 0 else x.tolist()
    try:
        return list(x)
    except TypeError:
        raise TypeError(f"{name} must be a Value, a number, or a list or 1-d array of them, "
                        f"not {type(x).__name__}") from None


def _pairs(a: Any, b: Any, names: tuple[str, str]) -> Iterable[tuple]:
    """Two equal-length, non-empty lists, zipped (see _items for what each may be)."""
    a, b = _items(a, names[0]), _items(b, names[1])
    if len(a) != len(b) or not a:
        raise ValueError(f"expected {names[0]} and {names[1]} as non-empty lists of the same length, "
                         f"got {len(a)} {names[0]} and {len(b)} {names[1]}")
    return zip(a, b)


def _mean(terms: Sequence) -> Value:
    return sum(terms) * (1.0 / len(terms))


def mse_loss(pred: Any, target: Any) -> Value:
    """mean((pred - target)**2), as torch.nn.functional.mse_loss: a Value.

    pred: Values (a list, or one Value); target: numbers or Values, as many (a list, tuple,
    1-d numpy array, or one number)."""
    return _mean([(p - t)**2 for p, t in _pairs(pred, target, ("predictions", "targets"))])


def hinge_loss(scores: Any, labels: Any) -> Value:
    """micrograd's max-margin (SVM) loss: mean of relu(1 - y*score), labels y = +1 or -1: a Value.

    scores: Values; labels: as many numbers (a list, 1-d numpy array...)."""
    return _mean([(1 + -y*s).relu() for s, y in _pairs(scores, labels, ("scores", "labels"))])


def binary_cross_entropy(probs: Any, targets: Any) -> Value:
    """mean(-(t*log(p) + (1-t)*log(1-p))), as torch.nn.functional.binary_cross_entropy.

    Probabilities must be strictly between 0 and 1: log(0) raises ValueError
    here, where torch clamps the log at -100.
    """
    pairs = _pairs(probs, targets, ("probabilities", "targets"))
    return _mean([-(t * p.log() + (1 - t) * (1 - p).log()) for p, t in pairs])


def cross_entropy(logits: Iterable, target: int) -> Value:
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
