"""The ops the tests try: one entry an op, and the one list every op-parametrized test reads.

A new op needs one line here (and test_registry.py fails until the C op table's every name has
one). An entry says:
- name: how the tests call it, written as the op is ("a-c": a Value minus a number);
- c_op: the C op it makes its node(s) with (a name in micrograd_c.engine._KINDS);
- form: what it takes: LEAF (a number c: a new Value), UNARY (a Value a), VV (Values a and b),
  VC (a Value a, then a number c) or CV (a number c, then a Value a);
- write: the op, written with what its form takes (the Value class V, for a LEAF); it works
  with any Value class: micrograd_c's, the reference, micrograd's, test_torch.py's adapter;
- micrograd: karpathy's micrograd 0.1.0 has it (then it is compared with micrograd too);
- method: the method's name, for an op written a.name() (see `method`);
- torch: for an op written as a method, the torch function it is compared with (its name in
  torch, or the function; None: it is not); ops written with operators are compared through the adapter's operators;
- consts: the constants it is tried with, where not any number will do (None: any number);
  micrograd_consts: those the comparisons with micrograd use;
- domain: where it is defined and smooth, for comparisons one op at a time;
- raises: where it raises, {exception: inputs}; an input is x (the Value's data) or (x, y), y
  being the second Value's data or the number; the reference raises the same there;
- math: the function of Python's math module whose results and errors on floats it gives;
- derivative: its gradient is its data's derivative (False for detach: it passes none, by
  design; finite differences of it are not checked);
- custom: a custom op, micrograd's way (a Value made with _children and _op, and its own
  `_backward`): the node is made in C, its backward runs in Python.
"""
import math
from dataclasses import dataclass, field

import numpy as np

LEAF, UNARY, VV, VC, CV = "leaf", "unary", "value-value", "value-constant", "constant-value"

ZEROS = (0, 0.0, -0.0, np.float64(0.0), np.int64(0))
EXPONENTS = (0, 1, 2, 3, -1, -2, 0.5, -0.5, 1 / 3, 1.5, 2.5, -1.5, 3.0)


def everywhere(x):
    return True


def positive(x):
    return x > 0


@dataclass(frozen=True, eq=False)
class Op:
    name: str
    c_op: str
    form: str
    write: object
    micrograd: bool = False
    method: str = None
    torch: str = None
    consts: tuple = None
    micrograd_consts: tuple = None
    domain: object = everywhere
    raises: dict = field(default_factory=dict)
    math: object = None
    custom: bool = False
    derivative: bool = True

    def __call__(self, a, b, c):
        """The op on Value a, Value b and number c, each where its form takes one (a LEAF makes
        a Value of a's class)."""
        if self.form == LEAF:
            return self.write(type(a), c)
        if self.form == UNARY:
            return self.write(a)
        if self.form == VV:
            return self.write(a, b)
        return self.write(a, c) if self.form == VC else self.write(c, a)

    def on(self, V, x, y=None):
        """The op on V(x) and V(y), or on V(x) and the number y (a LEAF: V(x)); and those Values."""
        a = V(x)
        b = V(y) if self.form == VV else None
        return self(a, b, x if self.form == LEAF else y), a, b

    @property
    def const(self):
        """A constant it takes, where any one will do."""
        return 2 if self.consts is None or 2 in self.consts else self.consts[0]

    def consts_for(self, oracle=None):
        """The constants it is tried with against oracle ("micrograd", or None: the reference)."""
        return (self.micrograd_consts if oracle == "micrograd" else None) or self.consts

    @property
    def compared_with_torch(self):
        return not self.custom and (self.method is None or self.torch is not None)

    def raising(self):
        """[(x, y, exception)]: where it raises (y None where it takes only x)."""
        return [(*(i if isinstance(i, tuple) else (i, None)), error)
                for error, inputs in self.raises.items() for i in inputs]


def py_sin(a):
    """sin as a custom op, written the micrograd way: the Value class's own constructor with
    _children and _op, and a `_backward` closure that refers to its own result."""
    out = type(a)(math.sin(a.data), (a,), 'sin')

    def _backward():
        a.grad += math.cos(a.data) * out.grad
    out._backward = _backward
    return out


def py_ab_b(a, b):
    """a*b + b as one custom node of two children (its closure takes out through a default)."""
    out = type(a)(a.data * b.data + b.data, (a, b), 'ab+b')

    def _backward(out=out):
        a.grad += b.data * out.grad
        b.grad += (a.data + 1) * out.grad
    out._backward = _backward
    return out


def method(name, **entry):
    """A unary op written a.name(), with the C op of that name."""
    return Op(name, name, UNARY, lambda a: getattr(a, name)(), method=name, **entry)


REGISTRY = [
    Op("V(c)", "leaf", LEAF, lambda V, c: V(c), micrograd=True),
    Op("a+b", "add", VV, lambda a, b: a + b, micrograd=True),
    Op("a-b", "sub", VV, lambda a, b: a - b, micrograd=True),
    Op("a*b", "mul", VV, lambda a, b: a * b, micrograd=True),
    Op("a/b", "div", VV, lambda a, b: a / b, micrograd=True,
       raises={ZeroDivisionError: [(x, z) for x in (1.0, 0.0) for z in ZEROS]}),
    Op("a+c", "add", VC, lambda a, c: a + c, micrograd=True),
    Op("c+a", "add", CV, lambda c, a: c + a, micrograd=True),
    Op("a-c", "add", VC, lambda a, c: a - c, micrograd=True),
    Op("c-a", "rsub", CV, lambda c, a: c - a, micrograd=True),
    Op("a*c", "mul", VC, lambda a, c: a * c, micrograd=True),
    Op("c*a", "mul", CV, lambda c, a: c * a, micrograd=True),
    Op("a/c", "mul", VC, lambda a, c: a / c, micrograd=True, raises={ZeroDivisionError: [(1.0, z) for z in ZEROS]}),
    Op("c/a", "rdiv", CV, lambda c, a: c / a, micrograd=True,
       raises={ZeroDivisionError: [(z, c) for z in ZEROS for c in (1, 1.0)]}),
    # micrograd: no exponent whose derivative it cannot take (its backward raises for 0.0 ** -0.5,
    # and overflows where ours gives inf)
    Op("a**k", "pow", VC, lambda a, k: a ** k, micrograd=True, consts=EXPONENTS, domain=positive,
       micrograd_consts=(1, 2, 3, -1, 1.5, 2.5),
       raises={ValueError: [(-8.0, 1 / 3)], ZeroDivisionError: [(0.0, -1), (-0.0, -0.5), (0.0, -2)],
               OverflowError: [(10.0, 400), (-10.0, 401)]}),
    Op("-a", "mul", UNARY, lambda a: -a, micrograd=True),  # a * -1, as micrograd writes it
    method("relu", micrograd=True, torch="relu"),
    method("tanh", torch="tanh", math=math.tanh),
    method("exp", torch="exp", math=math.exp, raises={OverflowError: (1000.0, 710.0)}),
    method("log", torch="log", math=math.log, domain=positive,
           raises={ValueError: (0.0, -0.0, -1.0, -math.inf)}),
    method("sigmoid", torch="sigmoid"),
    # (torch's detach, made a leaf that keeps its own grad: ours gets its grad, its input none)
    method("detach", torch=lambda t: t.detach().requires_grad_(), derivative=False),
    # custom ops: a node and its backward written in Python, run between C nodes (torch has
    # nothing to say about a closure: their own formulas are checked against micrograd's)
    Op("py_sin(a)", "custom", UNARY, py_sin, micrograd=True, custom=True, math=math.sin,
       raises={ValueError: (math.inf, -math.inf)}),
    Op("py_ab+b(a,b)", "custom", VV, py_ab_b, micrograd=True, custom=True),
]
OPS = {op.name: op for op in REGISTRY}
assert len(OPS) == len(REGISTRY), "two entries of one name"
METHODS = {op.method: op for op in REGISTRY if op.method}

# The C ops no Value op makes: nn's fused neurons (one node a neuron), compile's fused sums of
# products and its reduced batches. The test that checks each against micrograd's unfused nodes
# (an eager loop's, for a batch): (module, test, the parameter that picks this one).
FUSED = {"neuron": ("test_nn", "test_fused_layer_matches_unfused_graph", ("nonlin", False)),
         "neuron_relu": ("test_nn", "test_fused_layer_matches_unfused_graph", ("nonlin", True)),
         "chain": ("test_compile", "test_sums_of_products_replay_as_eager_mode_through_repeated_passes",
                   ("form", "sum() of products")),
         "batch_sum": ("test_compile", "test_batch_reduced_gives_the_eager_loops_value_and_gradients",
                       ("reduce", "sum")),
         "batch_mean": ("test_compile", "test_batch_reduced_gives_the_eager_loops_value_and_gradients",
                        ("reduce", "mean"))}


def ops(*forms, having=None):
    """The entries of these forms (all but LEAF if none are named) for which having(op) holds."""
    forms = forms or (UNARY, VV, VC, CV)
    return [op for op in REGISTRY if op.form in forms and (having is None or having(op))]


def ids(op):
    return op.name
