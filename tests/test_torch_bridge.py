"""micrograd_c.torch: models converted both ways compute the same outputs and gradients as the
originals (to 1e-12 relative) on random architectures, micrograd_c functions pass
torch.autograd.gradcheck inside torch autograd, and the parameter helpers round trip.
Skipped when torch is not installed (except the checks that the module needs no torch)."""
import collections
import inspect
import random
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import micrograd_c.torch as bridge
from micrograd_c import Value, nn, reference
from helpers import SAME_PACKAGE


def run_python(code):
    """Run code in a fresh interpreter importing the micrograd_c under test; its stdout."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=SAME_PACKAGE, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_import_does_not_import_torch():
    out = run_python("""
        import sys
        import micrograd_c.torch
        print('torch' in sys.modules)
    """)
    assert out.split() == ["False"]


def test_without_torch_a_clear_import_error_and_numpy_helpers_work():
    out = run_python("""
        import sys
        sys.modules['torch'] = None  # import torch now raises ImportError, as if not installed
        from micrograd_c import Value
        import micrograd_c.torch as bridge
        try:
            bridge.from_torch(None)
        except ImportError as e:
            print(e)
        params = [Value(1.0), Value(2.0)]
        bridge.vector_to_parameters([3.0, 4.0], params)
        print(bridge.parameters_to_vector(params, as_numpy=True).tolist())
    """)
    lines = out.splitlines()
    assert "pip install torch --index-url https://download.pytorch.org/whl/cpu" in lines[0]
    assert lines[1] == "[3.0, 4.0]"


def test_public_api_documented_and_annotated():
    assert "from_torch" in bridge.__doc__
    for name in bridge.__all__:
        fn = getattr(bridge, name)
        assert inspect.getdoc(fn), name
        sig = inspect.signature(fn)
        assert sig.return_annotation is not sig.empty, name
        assert all(p.annotation is not p.empty for p in sig.parameters.values()), name


torch = pytest.importorskip("torch")
F64 = torch.float64


def test_module_docstring_example_runs():
    example = bridge.__doc__.split("\n\n")[1]  # the indented block after the first line
    exec(textwrap.dedent(example), {})


# ---- comparing ----

def assert_close(actual, expected):
    """Equal to 1e-12 relative (absolute, for numbers much smaller than the largest)."""
    actual = np.asarray(torch.as_tensor(actual, dtype=F64).detach(), dtype=np.float64)
    expected = np.asarray(torch.as_tensor(expected, dtype=F64).detach(), dtype=np.float64)
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12 * scale)


def neuron_groups(model):
    """The neurons of each layer of a micrograd or micrograd_c model, in order."""
    if hasattr(model, "neurons"):
        return [list(model.neurons)]
    if hasattr(model, "w"):
        return [[model]]
    return [group for layer in getattr(model, "layers", []) for group in neuron_groups(layer)]


def assert_same_parameters(model, torch_model, grad=False):
    """model's layers, neuron by neuron, hold what torch_model's Linears do (or their grads)."""
    linears = [m for m in torch_model.modules() if isinstance(m, torch.nn.Linear)]
    groups = neuron_groups(model)
    assert len(groups) == len(linears)
    for neurons, linear in zip(groups, linears):
        of = (lambda p: p.grad) if grad else (lambda p: p.data)
        assert_close([[of(w) for w in n.w] for n in neurons],
                     linear.weight.grad if grad else linear.weight)
        assert_close([of(n.b) for n in neurons], linear.bias.grad if grad else linear.bias)


def assert_same_function(model, torch_model, nin, seed, samples=5):
    """The same outputs, input gradients and parameter gradients, on random inputs, of the
    loss sum(c * output) with random weights c."""
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(samples, nin, generator=gen, dtype=F64, requires_grad=True)
    out = torch_model(X)
    C = torch.randn(out.shape, generator=gen, dtype=F64)
    (out * C).sum().backward()

    params = model.parameters()
    make = type(params[0]) if params else Value  # inputs of the model's own engine
    xs = [[make(x) for x in row] for row in X.tolist()]
    outs = [model(row) for row in xs]
    outs = [o if isinstance(o, list) else [o] for o in outs]  # micrograd's single Value
    loss = sum(c * o for row_c, row_o in zip(C.tolist(), outs) for c, o in zip(row_c, row_o))
    loss.backward()

    assert_close([[o.data for o in row] for row in outs], out)
    assert_close([[x.grad for x in row] for row in xs], X.grad)
    assert_same_parameters(model, torch_model, grad=True)


# ---- random architectures ----

ACTIVATIONS = [None, "ReLU", "Tanh", "Sigmoid"]
SEEDS = range(8)


def random_torch_model(seed, bias=True):
    """A float64 torch Sequential of 1 to 4 Linears of random widths, each maybe followed by an
    activation, some nested in an inner Sequential; its number of inputs."""
    rng = random.Random(seed)
    torch.manual_seed(seed)
    widths = [rng.randint(1, 6) for _ in range(rng.randint(2, 5))]
    modules = []
    for nin, nout in zip(widths, widths[1:]):
        block = [torch.nn.Linear(nin, nout, bias=bias)]
        act = rng.choice(ACTIVATIONS)
        if act:
            block.append(getattr(torch.nn, act)())
        modules += [torch.nn.Sequential(*block)] if rng.random() < 0.3 else block
    return torch.nn.Sequential(*modules).double(), widths[0]


def random_micrograd_c_model(seed):
    """A micrograd_c Sequential of Linears, Layers (with or without ReLU), activations and maybe
    an inner MLP and a final Neuron; its number of inputs."""
    rng = random.Random(seed)
    random.seed(seed)
    widths = [rng.randint(1, 6) for _ in range(rng.randint(2, 5))]
    modules = []
    for nin, nout in zip(widths, widths[1:]):
        kind = rng.choice(["Linear", "Layer", "MLP"])
        # (a Layer or MLP of one output gives a Value, not a list, which no layer after takes)
        width = nout if kind == "Linear" else max(nout, 2)
        if kind == "Linear":
            modules.append(nn.Linear(nin, nout))
        elif kind == "Layer":
            modules.append(nn.Layer(nin, width, nonlin=rng.random() < 0.5))
        else:
            modules.append(nn.MLP(nin, [rng.randint(1, 4), width]))
        if width != nout:
            modules.append(nn.Linear(width, nout))
        act = rng.choice(ACTIVATIONS)
        if act:
            modules.append(getattr(nn, act)())
    if rng.random() < 0.5:
        modules.append(nn.Neuron(widths[-1], nonlin=rng.random() < 0.5))
    return nn.Sequential(*modules), widths[0]


# ---- from_torch ----

@pytest.mark.parametrize("seed", SEEDS)
def test_from_torch_computes_the_same_function(seed):
    torch_model, nin = random_torch_model(seed)
    model = bridge.from_torch(torch_model)
    assert_same_parameters(model, torch_model)
    assert_same_function(model, torch_model, nin, seed)


@pytest.mark.parametrize("seed", SEEDS)
def test_from_torch_then_to_torch_keeps_the_state(seed):
    torch_model, _ = random_torch_model(seed)
    model = bridge.from_torch(torch_model)
    state, back = torch_model.state_dict(), bridge.to_torch(model).state_dict()
    assert list(back) == list(state) == list(model.state_dict())  # the same keys, in order
    for key in state:
        assert back[key].dtype == F64 and torch.equal(back[key], state[key]), key


def test_from_torch_widens_float32_weights_exactly():
    torch.manual_seed(0)
    torch_model = torch.nn.Linear(3, 2)  # float32
    model = bridge.from_torch(torch_model)
    assert isinstance(model, nn.Linear)
    assert torch.equal(bridge.to_torch(model).weight, torch_model.weight.double())


def test_from_torch_without_bias_gets_a_bias_of_zeros():
    torch_model, nin = random_torch_model(3, bias=False)
    model = bridge.from_torch(torch_model)
    assert all(n.b.data == 0 for group in neuron_groups(model) for n in group)
    x = torch.randn(nin, dtype=F64)
    assert_close([o.data for o in model(x.tolist())], torch_model(x))


def test_from_torch_named_sequential_and_activation_alone():
    torch.manual_seed(1)
    named = torch.nn.Sequential(collections.OrderedDict(
        [("fc", torch.nn.Linear(2, 3)), ("act", torch.nn.Tanh())])).double()
    model = bridge.from_torch(named)
    assert repr(model) == "Sequential(Linear(2, 3), Tanh())"
    assert_same_function(model, named, 2, seed=1)
    assert isinstance(bridge.from_torch(torch.nn.ReLU(inplace=True)), nn.ReLU)


def test_from_torch_leaves_pythons_random_state_alone():
    random.seed(5)
    expected = random.random()
    random.seed(5)
    bridge.from_torch(torch.nn.Linear(4, 3))
    assert random.random() == expected


class OwnForward(torch.nn.Linear):
    def forward(self, x):
        return 2 * super().forward(x)


class SameForward(torch.nn.Linear):
    pass


@pytest.mark.parametrize("module, name, where", [
    (torch.nn.Conv1d(1, 1, 1), "Conv1d", ""),
    (torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout()), "Dropout", "'1'"),
    (torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Sequential(torch.nn.ReLU(), torch.nn.GELU())),
     "GELU", "'1.1'"),
    (OwnForward(2, 2), "OwnForward", ""),
    (torch.zeros(2), "Tensor", ""),
])
def test_from_torch_rejects_what_it_cannot_convert(module, name, where):
    with pytest.raises(TypeError, match=name) as info:
        bridge.from_torch(module)
    assert where in str(info.value)


def test_from_torch_takes_subclasses_that_keep_forward():
    assert isinstance(bridge.from_torch(SameForward(2, 2)), nn.Linear)


# ---- to_torch ----

@pytest.mark.parametrize("seed", SEEDS)
def test_to_torch_of_random_micrograd_c_models(seed):
    model, nin = random_micrograd_c_model(seed)
    torch_model = bridge.to_torch(model)
    assert all(p.dtype == F64 for p in torch_model.parameters())
    assert_same_parameters(model, torch_model)
    assert_same_function(model, torch_model, nin, seed)


@pytest.mark.parametrize("seed", SEEDS)
def test_to_torch_then_from_torch_keeps_the_state(seed):
    random.seed(seed)
    rng = random.Random(seed)
    widths = [rng.randint(1, 6) for _ in range(rng.randint(2, 5))]
    model = nn.Sequential(*[m for nin, nout in zip(widths, widths[1:])
                            for m in (nn.Linear(nin, nout), nn.Tanh())])
    torch_model = bridge.to_torch(model)
    state = model.state_dict()
    assert list(torch_model.state_dict()) == list(state)
    back = bridge.from_torch(torch_model).state_dict()
    assert list(back) == list(state)
    for key in state:
        np.testing.assert_array_equal(back[key], state[key])
        np.testing.assert_array_equal(torch_model.state_dict()[key].numpy(), state[key])


def karpathy_nn():
    """karpathy's micrograd.nn (skip if missing, or if micrograd_c was installed in its place)."""
    mg = pytest.importorskip("micrograd.nn")
    if mg.__name__ != "micrograd.nn":
        pytest.skip("micrograd is micrograd_c in this process (install_as_micrograd)")
    return mg


@pytest.mark.parametrize("family", ["micrograd_c", "reference", "micrograd"])
@pytest.mark.parametrize("seed", SEEDS[:4])
def test_to_torch_of_random_mlps(family, seed):
    family_nn = {"micrograd_c": nn, "reference": reference.nn}.get(family) or karpathy_nn()
    rng = random.Random(seed)
    random.seed(seed)
    nin = rng.randint(1, 5)
    hidden = [rng.randint(2, 6) for _ in range(rng.randint(0, 3))]  # (micrograd's take no width 1)
    model = family_nn.MLP(nin, hidden + [rng.randint(1, 3)])
    torch_model = bridge.to_torch(model)
    relus = [isinstance(m, torch.nn.ReLU) for m in torch_model]
    assert relus == [False, True] * (len(model.layers) - 1) + [False]  # ReLU after all but the last
    assert_same_function(model, torch_model, nin, seed)


@pytest.mark.parametrize("nonlin", [True, False])
@pytest.mark.parametrize("nout", [1, 3])
def test_to_torch_of_a_layer_and_a_neuron(nonlin, nout):
    random.seed(nout)
    for model in (nn.Layer(4, nout, nonlin=nonlin), nn.Neuron(4, nonlin=nonlin)):
        torch_model = bridge.to_torch(model)
        assert isinstance(torch_model, torch.nn.Sequential)
        assert [type(m).__name__ for m in torch_model] == ["Linear"] + ["ReLU"] * nonlin
        assert_same_function(model, torch_model, 4, seed=nout)


def test_to_torch_of_modules_one_to_one():
    random.seed(0)
    assert isinstance(bridge.to_torch(nn.Linear(2, 3)), torch.nn.Linear)
    for name in ("ReLU", "Tanh", "Sigmoid"):
        assert type(bridge.to_torch(getattr(nn, name)())) is getattr(torch.nn, name)


def test_to_torch_leaves_torchs_random_state_alone():
    random.seed(0)
    model = nn.MLP(3, [8, 1])
    state = torch.get_rng_state()
    bridge.to_torch(model)
    assert torch.equal(torch.get_rng_state(), state)


class OwnCall(nn.Linear):
    def __call__(self, x):
        return [2 * o for o in super().__call__(x)]


def test_to_torch_rejects_what_it_cannot_convert():
    random.seed(0)
    with pytest.raises(TypeError, match=r"OwnCall \(at '1'\)"):
        bridge.to_torch(nn.Sequential(nn.Linear(2, 2), OwnCall(2, 2)))
    with pytest.raises(TypeError, match="Module"):
        bridge.to_torch(nn.Module())
    with pytest.raises(TypeError, match="Linear"):
        bridge.to_torch(torch.nn.Linear(2, 2))  # already torch's
    mixed = nn.Layer(2, 2)
    mixed.neurons[1].nonlin = False
    with pytest.raises(ValueError, match="nonlin"):
        bridge.to_torch(mixed)
    with pytest.raises(ValueError, match="no neurons"):
        bridge.to_torch(nn.Layer(2, 0))


# ---- function ----

def poly(x, y):
    return x**3 * y - 2 * x * y**2 + 1.5 / y - (x - y) / 4


def transcendental(v):
    return [v[0].tanh() * v[1].exp(), v[2].log() + v[0].sigmoid(), (v[1] - 0.5).relu() * v[2],
            (0.2 - v[0]).relu()]


def mixed(a, v, w):
    return [sum((a * vi * wi for vi, wi in zip(v, w)), 0.0), (a * v[0]).sigmoid() / w[1]]


def scalar(v):
    return sum((vi.tanh() ** 2 for vi in v), 0.0)


def t(*xs):
    return torch.tensor(xs[0] if len(xs) == 1 else list(xs), dtype=F64, requires_grad=True)


# inputs away from the kinks of relu
CASES = {
    "polynomial": (poly, lambda: (t(0.7), t(-1.3))),
    "transcendental": (transcendental, lambda: (t(0.4, 0.9, 2.5),)),
    "mixed inputs": (mixed, lambda: (t(1.1), t(0.3, -0.8, 2.0), t(-0.5, 1.7, 0.6))),
    "vector to scalar": (scalar, lambda: (t(0.1, -0.6, 1.4, 2.2),)),
}


def in_torch(fn):
    """fn on tensors, its list of outputs stacked (torch's own autograd: the oracle)."""
    def run(*tensors):
        out = fn(*tensors)
        return torch.stack(out) if isinstance(out, list) else out
    return run


@pytest.mark.parametrize("case", CASES)
def test_function_passes_gradcheck(case):
    fn, inputs = CASES[case]
    assert torch.autograd.gradcheck(bridge.function(fn), inputs())


@pytest.mark.parametrize("case", CASES)
def test_function_matches_torchs_own_gradients(case):
    fn, inputs = CASES[case]
    ours, theirs = inputs(), inputs()
    out, expected = bridge.function(fn)(*ours), in_torch(fn)(*theirs)
    assert out.dtype == F64 and out.shape == expected.shape
    assert_close(out, expected)
    weights = torch.linspace(-1.0, 2.0, out.numel(), dtype=F64).reshape(out.shape)
    (out * weights).sum().backward()
    (expected * weights).sum().backward()
    for a, b in zip(ours, theirs):
        assert_close(a.grad, b.grad)
    jac = torch.autograd.functional.jacobian(bridge.function(fn), inputs())
    expected_jac = torch.autograd.functional.jacobian(in_torch(fn), inputs())
    for a, b in zip(jac if isinstance(jac, tuple) else (jac,),
                    expected_jac if isinstance(expected_jac, tuple) else (expected_jac,)):
        assert_close(a, b)


def test_function_backward_again_evaluates_again():
    x = t(0.3, 1.2, 2.5)
    y = bridge.function(transcendental)(x)
    y.sum().backward(retain_graph=True)  # the forward's graph
    once = x.grad.clone()
    y.sum().backward()  # a fresh one: the first pass's grads are not added again
    assert_close(x.grad, 2 * once)


def test_function_outputs_that_are_inputs_or_numbers():
    f = bridge.function(lambda v: [v[0], 3.0, v[1] * v[0], 2])
    x = t(0.5, -2.0)
    out = f(x)
    assert out.tolist() == [0.5, 3.0, -1.0, 2.0]
    assert torch.autograd.gradcheck(f, (x,))
    assert bridge.function(lambda a: 1.0)(t(0.5)).shape == ()


def test_function_of_a_micrograd_c_model_is_a_torch_layer():
    random.seed(2)
    model = nn.MLP(3, [5, 5, 2])
    f = bridge.function(lambda x: model(x))
    x, same = t(0.2, -0.7, 1.1), t(0.2, -0.7, 1.1)
    (f(x) * torch.tensor([1.0, -2.0], dtype=F64)).sum().backward()
    torch_out = bridge.to_torch(model)(same)
    (torch_out * torch.tensor([1.0, -2.0], dtype=F64)).sum().backward()
    assert_close(x.grad, same.grad)
    assert torch.autograd.gradcheck(f, (t(0.2, -0.7, 1.1),))


def test_function_keeps_float32_and_checks_its_arguments():
    f = bridge.function(lambda x, y: x * y)
    x = torch.tensor(2.0, requires_grad=True)
    out = f(x, torch.tensor(3.0))
    assert out.dtype == torch.float32 and out.item() == 6.0
    out.backward()
    assert x.grad.dtype == torch.float32 and x.grad.item() == 3.0
    with pytest.raises(ValueError, match="0-d or 1-d"):
        f(torch.zeros(2, 2, dtype=F64), t(1.0))
    with pytest.raises(TypeError, match="float"):
        f(1.0, t(1.0))
    assert f.__name__ == "<lambda>"


# ---- Values and tensors ----

def test_parameters_to_vector_and_back():
    random.seed(0)
    model = nn.MLP(3, [4, 2])
    params = model.parameters()
    vec = bridge.parameters_to_vector(params)
    assert vec.dtype == F64 and vec.shape == (len(params),)
    assert vec.tolist() == [float(p.data) for p in params]
    np.testing.assert_array_equal(bridge.parameters_to_vector(params, as_numpy=True), vec.numpy())

    bridge.vector_to_parameters(vec * 2 + 1, params)
    assert [p.data for p in params] == (vec * 2 + 1).tolist()
    bridge.vector_to_parameters(np.arange(len(params)), model.parameters())  # numpy, ints
    assert [p.data for p in model.parameters()] == list(range(len(params)))
    bridge.vector_to_parameters(vec, iter(params))  # any iterable of Values

    loss = sum(model([0.5, -1.0, 2.0]))
    loss.backward()
    grads = bridge.parameters_to_vector(params, grad=True)
    assert grads.tolist() == [p.grad for p in params]
    bridge.vector_to_parameters(torch.zeros(len(params)), params, grad=True)
    assert all(p.grad == 0 for p in params)


def test_vector_to_parameters_rejects_a_wrong_vector():
    params = [Value(1.0), Value(2.0), Value(3.0)]
    for vec in (torch.zeros(2), [1.0, 2.0, 3.0, 4.0], torch.zeros(3, 1), 5.0):
        with pytest.raises(ValueError, match="3 numbers"):
            bridge.vector_to_parameters(vec, params)
    for vec in (np.ones(3, dtype=complex), torch.ones(3, dtype=torch.complex128)):
        with pytest.raises(TypeError, match="complex"):
            bridge.vector_to_parameters(vec, params)
    assert [p.data for p in params] == [1.0, 2.0, 3.0]  # nothing set


def test_parameters_to_vector_keeps_a_tensors_grad_off():
    vec = bridge.parameters_to_vector([Value(1.0)])
    assert not vec.requires_grad
    bridge.vector_to_parameters(torch.ones(1, requires_grad=True), [Value(0.0)])  # detached


@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_tensor_to_values_and_back(shape):
    x = torch.randn(shape, dtype=F64)
    values = bridge.tensor_to_values(x)
    assert isinstance(values, Value) == (shape == ())
    assert torch.equal(bridge.values_to_tensor(values), x)
    np.testing.assert_array_equal(bridge.values_to_tensor(values, as_numpy=True), x.numpy())
    assert torch.equal(bridge.values_to_tensor(bridge.tensor_to_values(x.numpy())), x)
    assert bridge.values_to_tensor(bridge.tensor_to_values(x), grad=True).abs().sum() == 0


def test_values_to_tensor_rejects_what_is_not_values():
    with pytest.raises(TypeError, match="str"):
        bridge.values_to_tensor(["a"])
    with pytest.raises(TypeError, match="real numbers"):
        bridge.tensor_to_values("a")
