"""Loss functions, torch.nn.functional-style, built from Value ops.

They use only a Value's operators and methods, so the same functions serve
micrograd_c's Value and the reference Value (micrograd_c.reference.nn exports
them too), and give the same bits on both. Predictions are Values; targets and
labels are numbers (or Values). Each takes torch's keyword `reduction`: "mean"
(the default), "sum", or "none" for the per-element losses. The mean is
computed as micrograd's demo does: sum(terms) * (1.0 / n). micrograd_c.nn has
them as modules too (MSELoss, BCELoss, CrossEntropyLoss).
"""
from __future__ import annotations

import numbers
import operator

TYPE_CHECKING = False  # (typing is not imported at run time: it would add to the import time)
if TYPE_CHECKING:  # (annotations only: these functions serve the reference Value too)
    from collections.abc import Iterable, Sequence
    from typing import Any

    from .engine import Value


def _is_one(x: Any) -> bool:
    """Whether x is a single number or Value (of any engine), not a list of them."""
    return isinstance(x, numbers.Number) or hasattr(x, "grad")


def _items(x: Any, name: str) -> list:
    """x as a list: a list, tuple, 1-d numpy array or other iterable of Values and numbers; a
    single Value or number is a list of one."""
    if isinstance(x, (list, tuple)):
        return list(x)
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be Values or numbers, not {type(x).__name__}")
    if _is_one(x):
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


_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: Any) -> str:
    """reduction, if it is one of torch's ("mean", "sum", "none"); else ValueError."""
    if not (isinstance(reduction, str) and reduction in _REDUCTIONS):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', not {reduction!r}")
    return reduction


def _reduce(terms: Sequence, reduction: str, one: bool = False) -> Value | list[Value]:
    """The per-element losses, reduced: their mean (micrograd's sum(terms) * (1.0 / n), so that
    the default gives the bits it always gave), their sum, or, for "none", the losses themselves:
    a list, or the Value alone where the loss is of one Value (one=True; torch's loss of a 0-d
    tensor is 0-d)."""
    if _check_reduction(reduction) == "mean":
        return sum(terms) * (1.0 / len(terms))
    if reduction == "sum":
        return sum(terms)
    return terms[0] if one else terms


def mse_loss(pred: Any, target: Any, *, reduction: str = "mean") -> Value | list[Value]:
    """(pred - target)**2, reduced (the mean by default), as torch.nn.functional.mse_loss.

    pred: Values (a list, or one Value); target: numbers or Values, as many (a list, tuple,
    1-d numpy array, or one number)."""
    terms = [(p - t)**2 for p, t in _pairs(pred, target, ("predictions", "targets"))]
    return _reduce(terms, reduction, _is_one(pred))


def hinge_loss(scores: Any, labels: Any, *, reduction: str = "mean") -> Value | list[Value]:
    """micrograd's max-margin (SVM) loss: relu(1 - y*score), labels y = +1 or -1, reduced (the
    mean by default, micrograd's).

    scores: Values; labels: as many numbers (a list, 1-d numpy array...)."""
    terms = [(1 + -y*s).relu() for s, y in _pairs(scores, labels, ("scores", "labels"))]
    return _reduce(terms, reduction, _is_one(scores))


def binary_cross_entropy(probs: Any, targets: Any, *, reduction: str = "mean") -> Value | list[Value]:
    """-(t*log(p) + (1-t)*log(1-p)), reduced (the mean by default), as
    torch.nn.functional.binary_cross_entropy.

    Probabilities must be strictly between 0 and 1: log(0) raises ValueError
    here, where torch clamps the log at -100.
    """
    pairs = _pairs(probs, targets, ("probabilities", "targets"))
    terms = [-(t * p.log() + (1 - t) * (1 - p).log()) for p, t in pairs]
    return _reduce(terms, reduction, _is_one(probs))


def cross_entropy(logits: Any, target: Any, *, reduction: str = "mean") -> Value | list[Value]:
    """-log(softmax(logits)[target]), as torch.nn.functional.cross_entropy with class indices.

    One example: logits is a list of C logit Values and target a class index; the result is
    its loss, a Value, whatever the reduction (torch's unbatched loss is 0-d). A batch: logits
    is a list of N such lists and target N class indices (a list, tuple or 1-d integer numpy
    array); the N losses are reduced (the mean by default). The largest logit of each example
    is subtracted first (as a constant, so gradients are unchanged) so that exp never
    overflows.
    """
    rows = _items(logits, "logits")
    if not rows or _is_one(rows[0]):  # one example
        _check_reduction(reduction)
        return _cross_entropy_of_one(rows, target)
    terms = [_cross_entropy_of_one(_items(z, "logits"), t)
             for z, t in _pairs(rows, target, ("examples", "targets"))]
    return _reduce(terms, reduction)


def _cross_entropy_of_one(logits: list, target: Any) -> Value:
    target = operator.index(target)
    if not 0 <= target < len(logits):
        raise IndexError(f"target {target} is out of range for {len(logits)} classes")
    m = max(z.data for z in logits)
    shifted = [z - m for z in logits]
    return sum(z.exp() for z in shifted).log() - shifted[target]
