"""torch.autograd's grad, gradcheck and gradgradcheck for micrograd_c Values.

    x = Value(2.0)
    y = x ** 3
    (dy,) = grad(y, [x], create_graph=True)   # 3 * x**2 = 12, a Value made of ops
    (d2y,) = grad(dy, [x])                    # 6 * x = 12.0, a float

grad() never touches a `.grad`: its gradients are new. With create_graph=True they
are Values computed by ordinary nodes (each op's graph-building backward, in the
C op table), so they can be differentiated again: second and third derivatives,
Hessian-vector products, gradient penalties. A custom op's `_backward` (a Python
closure) is run once, alone, to read its local derivatives: they are exact to
first order, and taken as constants beyond it.
"""
from __future__ import annotations

import random

from ._core import ffi as _ffi, lib
from .engine import Value, _made, _python_node, _raise, _retry, _value_of

TYPE_CHECKING = False  # (typing is not imported at run time: it would add to the import time)
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

__all__ = ["grad", "gradcheck", "gradgradcheck", "GradcheckError"]


def _values(x: Any, what: str) -> list[Value]:
    """x as a list of Values: a Value, or a list, tuple or other iterable of them (torch code
    passes model.parameters(), a generator in torch)."""
    if isinstance(x, Value):
        return [x]
    try:
        items = None if isinstance(x, (str, bytes)) else list(x)
    except TypeError:
        items = None
    if items is None or not all(isinstance(v, Value) for v in items):
        raise TypeError(f"{what} must be a micrograd_c Value or an iterable of them")
    return items


def _seeds(grad_outputs: Any, n: int) -> list[Value]:
    """One Value per output: what its gradient starts as (micrograd's root grad, the int 1,
    where none is given)."""
    if grad_outputs is None:
        return [Value(1) for _ in range(n)]
    given = [grad_outputs] if not isinstance(grad_outputs, (list, tuple)) else list(grad_outputs)
    if len(given) != n:
        raise ValueError(f"grad_outputs has {len(given)} entries for {n} outputs")
    return [Value(1) if g is None else g if isinstance(g, Value) else Value(g) for g in given]


def _custom_reached(outs: list[Value]) -> list[int]:
    """The ids of the custom nodes (Python `_backward`s) the outputs reach, sorted."""
    roots = _ffi.new("int32_t[]", [v._i for v in outs])
    found = _ffi.new("int32_t[]", 64)
    n = lib.mg_custom_reached(len(outs), roots, found, 64)
    if n > 64:
        found = _ffi.new("int32_t[]", n)
        n = lib.mg_custom_reached(len(outs), roots, found, n)
    if n < 0:
        _raise(n)
    return sorted(found[0:n])


def _local_derivatives(i: int) -> list[float]:
    """d(node i)/d(each child), from its closure run alone: with the node's grad 1 and its
    children's 0, the children's grads after it are the derivatives. Every grad is put back.
    A child listed twice gets the sum once (the closure adds both parts to one grad)."""
    v = _value_of(i)
    record = _python_node(i)
    kids = list(v._children) if v is not None else []
    if record is None or record.backward is None:  # micrograd's `lambda: None`: no gradient
        return [0.0] * len(kids)
    saved = [(u, u.grad) for u in [v] + kids]
    try:
        for u in kids:
            u.grad = 0.0
        v.grad = 1.0
        record.backward()
        seen, local = set(), []
        for u in kids:
            local.append(0.0 if u in seen else float(u.grad))
            seen.add(u)
        return local
    finally:
        for u, g in reversed(saved):  # (v first in the list, so its own grad is set last)
            u.grad = g


def grad(outputs: Value | Sequence[Value], inputs: Sequence[Value],
         grad_outputs: Any = None, create_graph: bool = False,
         allow_unused: bool = False) -> list[Any]:
    """The gradients of outputs with respect to inputs, as torch.autograd.grad.

    outputs: a Value or a list of Values; inputs: a list of Values (any Values of the
    graph, not only leaves). Returns one gradient per input: of sum_j g_j * outputs[j],
    with g_j from grad_outputs (a number or Value per output; None: 1). No `.grad` is
    changed. With create_graph=False each gradient is a float; with True, a Value made of
    ops, which can be differentiated again. An input the outputs do not depend on raises
    ValueError, unless allow_unused=True: then its gradient is None.
    """
    outs = _values(outputs, "outputs")
    ins = _values(inputs, "inputs")
    if not outs or not ins:
        raise ValueError("grad needs at least one output and one input")
    seeds = _seeds(grad_outputs, len(outs))
    custom = _custom_reached(outs)
    local = [_local_derivatives(i) for i in custom]
    at = [0]
    for d in local:
        at.append(at[-1] + len(d))
    keep = [_ffi.new("int32_t[]", [v._i for v in outs]), _ffi.new("int32_t[]", [v._i for v in seeds]),
            _ffi.new("int32_t[]", [v._i for v in ins]), _ffi.new("int32_t[]", custom),
            _ffi.new("int32_t[]", at), _ffi.new("double[]", [x for d in local for x in d])]
    spec = _ffi.new("mg_grad_spec *", {
        "nout": len(outs), "outs": keep[0], "seeds": keep[1], "nin": len(ins), "inputs": keep[2],
        "ncustom": len(custom), "ncustom_d": at[-1], "custom": keep[3], "custom_at": keep[4],
        "custom_d": keep[5]})
    out = _ffi.new("int32_t[]", len(ins))
    err = lib.mg_grad(spec, out)
    if err == lib.MG_EINVAL:  # (the custom nodes are all listed: see mg_grad)
        raise ValueError("grad: the outputs depend on a reduced batch (compile's batch with "
                         "reduce=), whose gradients only backward() computes")
    if err:
        _retry(err, lib.mg_grad, spec, out)
    grads = [_made(i) if i >= 0 else None for i in out]
    missing = [k for k, g in enumerate(grads) if g is None]
    if missing and not allow_unused:
        raise ValueError(f"the outputs do not depend on input {missing[0]} (of {len(ins)}): "
                         f"pass allow_unused=True to get None for it")
    if not create_graph:
        grads = [None if g is None else float(g.data) for g in grads]
    return grads


class GradcheckError(RuntimeError):
    """gradcheck found an analytic gradient that differs from the numerical one."""


def _outputs(fn: Callable, xs: list[Value]) -> list[Any]:
    out = fn(*xs)
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _jacobian_rows(fn: Callable, point: list[float]) -> list[list[float]]:
    """d output j / d input i at point, analytic: one grad() per output (0 where it does not
    depend on an input, or is not a Value at all)."""
    xs = [Value(x) for x in point]
    rows = []
    for y in _outputs(fn, xs):
        if not isinstance(y, Value):
            rows.append([0.0] * len(xs))
            continue
        rows.append([0.0 if g is None else g for g in grad(y, xs, allow_unused=True)])
    return rows


def _data(y: Any) -> float:
    return float(y.data if isinstance(y, Value) else y)


def _numerical_rows(fn: Callable, point: list[float], eps: float) -> list[list[float]]:
    """The same by central differences: (f(x + eps) - f(x - eps)) / (2 eps), input by input."""
    columns = []
    for i in range(len(point)):
        f = []
        for step in (eps, -eps):
            moved = list(point)
            moved[i] += step
            f.append([_data(y) for y in _outputs(fn, [Value(x) for x in moved])])
        columns.append([(a - b) / (2 * eps) for a, b in zip(*f)])
    return [list(row) for row in zip(*columns)] if columns else []


def _points(inputs: Any) -> list[float]:
    items = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    return [float(x.data if isinstance(x, Value) else x) for x in items]


def gradcheck(fn: Callable, inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Whether fn's analytic gradients match central differences, as torch.autograd.gradcheck.

    fn takes one Value per number of inputs and returns a Value or a list of Values. Each
    d output / d input computed by grad() (so by each op's backward, a custom op's Python
    `_backward` included) is compared with (f(x + eps) - f(x - eps)) / (2 eps): they must
    agree within atol + rtol * |numerical|. Returns True; on a mismatch raises
    GradcheckError naming the output, the input and both values (or returns False with
    raise_exception=False).
    """
    point = _points(inputs)
    analytic, numerical = _jacobian_rows(fn, point), _numerical_rows(fn, point, eps)
    for j, (a_row, n_row) in enumerate(zip(analytic, numerical)):
        for i, (a, n) in enumerate(zip(a_row, n_row)):
            if not abs(a - n) <= atol + rtol * abs(n):  # (a nan never passes)
                if raise_exception:
                    raise GradcheckError(
                        f"gradient of output {j} with respect to input {i} at {point}: "
                        f"analytical {a!r}, numerical {n!r} (atol {atol}, rtol {rtol})")
                return False
    return True


def gradgradcheck(fn: Callable, inputs: Any, grad_outputs: Any = None, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """gradcheck of fn's gradients: second derivatives, as torch.autograd.gradgradcheck.

    The function checked is x -> grad(fn(x), x, grad_outputs, create_graph=True), with
    grad_outputs fixed (None: numbers drawn once, between 0.5 and 1.5, one per output), so
    each of its derivatives is a row of fn's Hessian (weighted by grad_outputs).
    """
    point = _points(inputs)
    if grad_outputs is None:
        count = len(_outputs(fn, [Value(x) for x in point]))
        draw = random.Random(0)
        grad_outputs = [draw.uniform(0.5, 1.5) for _ in range(count)]

    def first_derivatives(*xs):
        ys = _outputs(fn, list(xs))
        pairs = [(y, g) for y, g in zip(ys, grad_outputs) if isinstance(y, Value)]
        if not pairs:
            return [0.0] * len(xs)
        gs = grad([y for y, _ in pairs], list(xs), [g for _, g in pairs], create_graph=True,
                  allow_unused=True)
        return [0.0 if g is None else g for g in gs]

    return gradcheck(first_derivatives, point, eps, atol, rtol, raise_exception)

