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
    return isinstance(x, numbers.Number) or hasattr(x, "backward")  # (not .grad: compile guards it)


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


def _flat(x: Any, name: str) -> tuple[list, tuple[int, ...]]:
    """x's elements and its shape: (n,) for one Value or number, a flat list, a 1-d array; (n, m)
    for a list of n lists of m (a model's outputs for a batch of n) or a 2-d array or tensor."""
    if hasattr(x, "tolist") and hasattr(x, "ndim"):  # a numpy array or torch tensor, as lists
        if x.ndim > 2:
            raise ValueError(f"{name} must have 1 or 2 dimensions, got shape {tuple(x.shape)}")
        x = x.tolist()
    items = _items(x, name)
    rows = [isinstance(i, (list, tuple)) for i in items]
    if not any(rows):
        return items, (len(items),)
    widths = {len(i) for i in items if isinstance(i, (list, tuple))}
    if not all(rows) or len(widths) != 1:
        raise ValueError(f"{name} must be a flat list or a list of equal-length lists")
    return [v for i in items for v in i], (len(items), widths.pop())


def _elementwise(a: Any, b: Any, names: tuple[str, str]) -> tuple[list[tuple], tuple[int, ...]]:
    """The pairs of an elementwise loss and its shape (a's). Shapes must be the same, but a
    column (n, 1) and a flat list of n pair row by row (where torch would broadcast them to
    (n, n), with a warning)."""
    (a, shape), (b, other) = _flat(a, names[0]), _flat(b, names[1])
    if len(shape) == len(other) == 1 or not a:
        return list(_pairs(a, b, names)), shape
    column = {shape, other} == {(len(a),), (len(a), 1)}
    if shape != other and not column:
        raise ValueError(f"expected {names[0]} and {names[1]} of the same shape, got {shape} and {other}")
    return list(zip(a, b)), shape


def _shaped(terms: list, shape: tuple[int, ...]) -> list:
    """The per-element losses in the predictions' shape (reduction "none")."""
    if len(shape) == 1:
        return terms
    return [terms[i * shape[1]:(i + 1) * shape[1]] for i in range(shape[0])]


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


def _reduce(terms: Sequence, reduction: str, one: bool = False,
            shape: tuple[int, ...] | None = None) -> Value | list[Value]:
    """The per-element losses, reduced: their mean (micrograd's sum(terms) * (1.0 / n), so that
    the default gives the bits it always gave), their sum, or, for "none", the losses themselves:
    in the predictions' shape (a list, or lists for a batch's), or the Value alone where the
    loss is of one Value (one=True; torch's loss of a 0-d tensor is 0-d)."""
    if _check_reduction(reduction) == "mean":
        return sum(terms) * (1.0 / len(terms))
    if reduction == "sum":
        return sum(terms)
    return terms[0] if one else _shaped(terms, shape) if shape else terms


def mse_loss(pred: Any, target: Any, *, reduction: str = "mean") -> Value | list[Value]:
    """(pred - target)**2, reduced (the mean by default), as torch.nn.functional.mse_loss.

    pred: Values (a list, or one Value); target: numbers or Values, as many (a list, tuple,
    1-d numpy array, or one number)."""
    pairs, shape = _elementwise(pred, target, ("predictions", "targets"))
    terms = [(p - t)**2 for p, t in pairs]
    return _reduce(terms, reduction, _is_one(pred), shape)


def hinge_loss(scores: Any, labels: Any, *, reduction: str = "mean") -> Value | list[Value]:
    """micrograd's max-margin (SVM) loss: relu(1 - y*score), labels y = +1 or -1, reduced (the
    mean by default, micrograd's).

    scores: Values; labels: as many numbers (a list, 1-d numpy array...)."""
    pairs, shape = _elementwise(scores, labels, ("scores", "labels"))
    terms = [(1 + -y*s).relu() for s, y in pairs]
    return _reduce(terms, reduction, _is_one(scores), shape)


def binary_cross_entropy(probs: Any, targets: Any, *, reduction: str = "mean") -> Value | list[Value]:
    """-(t*log(p) + (1-t)*log(1-p)), reduced (the mean by default), as
    torch.nn.functional.binary_cross_entropy.

    Probabilities must be strictly between 0 and 1: log(0) raises ValueError
    here, where torch clamps the log at -100.
    """
    pairs, shape = _elementwise(probs, targets, ("probabilities", "targets"))
    terms = [-(t * p.log() + (1 - t) * (1 - p).log()) for p, t in pairs]
    return _reduce(terms, reduction, _is_one(probs), shape)


def cross_entropy(logits: Any, target: Any, *, reduction: str = "mean") -> Value | list[Value]:
    """-log(softmax(logits)[target]), as torch.nn.functional.cross_entropy.

    One example: logits is a list of C logit Values; target is a class index, or C class
    probabilities (numbers or Values: a one-hot row, say), for -sum(p_i * log(softmax_i)) as
    torch's probability targets. The result is its loss, a Value, whatever the reduction
    (torch's unbatched loss is 0-d). A batch: logits is a list of N such lists and target N
    class indices (a list, tuple or 1-d integer numpy array) or N rows of probabilities (a
    2-d array); the N losses are reduced (the mean by default).

    The largest logit of each example is subtracted first so that exp never overflows. That
    maximum is made with Value ops (relu picks the larger of two) and detached: the gradient
    treats it as the constant it is, and a compiled function replays it, so cross_entropy
    works inside micrograd_c.compile (with probability targets: an index cannot be a Value).
    """
    rows = _items(logits, "logits")
    if hasattr(target, "ndim") and hasattr(target, "tolist"):  # a numpy array (2-d: rows)
        target = target.tolist()
    if not rows or _is_one(rows[0]):  # one example
        _check_reduction(reduction)
        return _cross_entropy_of_one(rows, target)
    terms = [_cross_entropy_of_one(_items(z, "logits"), t)
             for z, t in _pairs(rows, target, ("examples", "targets"))]
    return _reduce(terms, reduction)


def _largest(values: list) -> Value:
    """The largest of values, made with Value ops (each step m + relu(z - m) is max(m, z), to
    rounding) and detached."""
    m = values[0]
    for z in values[1:]:
        m = m + (z - m).relu()
    return m.detach()


def _cross_entropy_of_one(logits: list, target: Any) -> Value:
    if not logits:
        raise ValueError("cross_entropy needs at least one logit")
    probs = None
    if _is_one(target):  # a class index
        try:
            target = operator.index(target)
        except TypeError:
            hint = (" (inside a compiled function, give it as probabilities: a one-hot row)"
                    if hasattr(target, "backward") else "")
            raise TypeError(f"a cross_entropy target is a class index (an int) or a list of class "
                            f"probabilities, not {type(target).__name__}{hint}") from None
        if not 0 <= target < len(logits):
            raise IndexError(f"target {target} is out of range for {len(logits)} classes")
    else:
        probs = _items(target, "target probabilities")
        if len(probs) != len(logits):
            raise ValueError(f"expected {len(logits)} target probabilities (one per class), "
                             f"got {len(probs)}")
    m = _largest(logits)
    shifted = [z - m for z in logits]
    lse = sum(z.exp() for z in shifted).log()
    if probs is None:
        return lse - shifted[target]
    return -sum(p * (z - lse) for p, z in zip(probs, shifted))
