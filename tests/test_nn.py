"""micrograd_c.nn: fused layers against the unfused graph and micrograd, the PyTorch-flavoured
modules against torch.nn, state_dict, and a micrograd-style training run against the reference."""
import random

import numpy as np
import pytest

from micrograd_c import Value, nn, optim, reference
from micrograd_c.moons import L2_WEIGHT, learning_rate
from helpers import bits


def grads_close(got, expected):
    """Equal to 1e-12 relative; a grad that cancelled to near zero is held to 1e-12 of the largest."""
    scale = max(map(abs, expected), default=0.0)
    return got == pytest.approx(expected, rel=1e-12, abs=1e-12 * scale)


@pytest.mark.parametrize("nin, nout", [(1, 1), (3, 1), (1, 4), (5, 7), (16, 16)])
@pytest.mark.parametrize("nonlin", [True, False])
@pytest.mark.parametrize("seed", range(3))
def test_fused_layer_matches_unfused_graph(nin, nout, nonlin, seed):
    random.seed(seed)
    layer = nn.Layer(nin, nout, nonlin=nonlin)
    x = [Value(random.uniform(-2, 2)) for _ in range(nin)]
    coef = [random.uniform(-1, 1) for _ in range(nout)]  # a loss that weighs each output differently
    out = layer(x)
    out = out if isinstance(out, list) else [out]
    sum(c * y for c, y in zip(coef, out)).backward()

    # the same numbers, as micrograd builds them: b + w0*x0 + ..., then relu, one Value op at a time
    ws = [[Value(w.data) for w in n.w] for n in layer.neurons]
    bs = [Value(n.b.data) for n in layer.neurons]
    xs = [Value(xi.data) for xi in x]
    acts = [sum((wi*xi for wi, xi in zip(w, xs)), b) for w, b in zip(ws, bs)]
    unfused = [a.relu() if nonlin else a for a in acts]
    sum(c * y for c, y in zip(coef, unfused)).backward()

    assert [y.data for y in out] == [y.data for y in unfused]
    assert grads_close([xi.grad for xi in x], [xi.grad for xi in xs])
    assert grads_close([p.grad for p in layer.parameters()],
                       [p.grad for w, b in zip(ws, bs) for p in w + [b]])


@pytest.mark.parametrize("seed", range(3))
def test_mlp_equals_micrographs_weight_for_weight(seed):
    micrograd_nn = pytest.importorskip("micrograd.nn")
    models = []
    for module in (micrograd_nn, nn, reference.nn):
        random.seed(seed)
        models.append(module.MLP(3, [4, 4, 1]))
    weights = [[p.data for p in m.parameters()] for m in models]
    assert weights[0] == weights[1] == weights[2]
    assert repr(models[0]) == repr(models[1]) == repr(models[2])

    # plain floats as inputs; data to the bit, grads to rounding (micrograd sums in set order)
    x = [random.uniform(-1, 1) for _ in range(3)]
    outs = [m(x) for m in models]
    for out in outs:
        out.backward()
    assert outs[0].data == outs[1].data == outs[2].data
    assert grads_close([p.grad for p in models[1].parameters()], [p.grad for p in models[0].parameters()])


def test_layer_of_one_neuron_returns_a_value_linear_always_a_list():
    x = [1.0, -2.0]
    assert isinstance(nn.Layer(2, 1)(x), Value)
    assert len(nn.Layer(2, 3)(x)) == 3
    assert isinstance(nn.Linear(2, 1)(x), list) and len(nn.Linear(2, 1)(x)) == 1
    assert isinstance(reference.nn.Linear(2, 1)(x), list)
    with pytest.raises(ValueError, match="expected 2 inputs, got 3"):
        nn.Linear(2, 4)([1.0, 2.0, 3.0])


def mlp_and_sequential(module, seed):
    """MLP(3, [8, 8, 2]) and the Sequential of Linears and ReLUs drawn from the same seed."""
    random.seed(seed)
    mlp = module.MLP(3, [8, 8, 2])
    random.seed(seed)
    seq = module.Sequential(module.Linear(3, 8), module.ReLU(), module.Linear(8, 8), module.ReLU(),
                            module.Linear(8, 2))
    return mlp, seq


def test_linear_is_drawn_like_a_linear_layer():
    random.seed(1)
    layer = nn.Layer(4, 3, nonlin=False)
    random.seed(1)
    linear = nn.Linear(4, 3)
    assert [p.data for p in linear.parameters()] == [p.data for p in layer.parameters()]
    assert repr(nn.Sequential(linear, nn.ReLU())) == "Sequential(Linear(4, 3), ReLU())"


@pytest.mark.parametrize("module", [nn, reference.nn], ids=["c", "reference"])
def test_sequential_of_linears_and_relus_is_the_mlp(module):
    """Same parameters, same outputs and same gradients, to the bit."""
    mlp, seq = mlp_and_sequential(module, 3)
    x = [0.5, -1.5, 2.0]
    results = []
    for model in (mlp, seq):
        out = model(x)
        (out[0] * out[1]).backward()
        results.append(([y.data for y in out], [p.data for p in model.parameters()],
                        [p.grad for p in model.parameters()]))
    assert results[0] == results[1]


def test_a_sequential_of_linears_is_chained_in_c_with_the_numbers_of_one_layer_at_a_time(monkeypatch):
    random.seed(5)
    seq = nn.Sequential(nn.Linear(3, 6), nn.Linear(6, 4), nn.Linear(4, 1))
    x = [0.25, -1.0, 3.0]
    by_hand = x
    for layer in seq.layers:
        by_hand = layer(by_hand)
    made = []
    real_made = nn._made
    monkeypatch.setattr(nn, "_made", lambda i: made.append(i) or real_made(i))
    out = seq(x)
    assert len(made) == 1  # a Value for the output only, none for a hidden layer's
    assert isinstance(out, list) and len(out) == 1  # a Linear's output is always a list
    assert bits(out[0].data) == bits(by_hand[0].data)
    out[0].backward()
    grads = [p.grad for p in seq.parameters()]
    seq.zero_grad()
    by_hand[0].backward()
    assert [bits(g) for g in grads] == [bits(p.grad) for p in seq.parameters()]


def test_a_layer_with_its_own_call_in_a_sequential_is_called():
    class Doubled(nn.Linear):
        def __call__(self, x):
            return [2 * y for y in super().__call__(x)]

    random.seed(2)
    seq = nn.Sequential(nn.Linear(2, 3), Doubled(3, 2))
    plain = nn.Sequential(*[nn.Linear(2, 3), nn.Linear(3, 2)])
    plain.load_state_dict(seq.state_dict())
    assert [y.data for y in seq([1.0, -1.0])] == [2 * y.data for y in plain([1.0, -1.0])]


def test_activations_apply_to_a_value_or_each_of_a_list():
    for name, method in [("ReLU", "relu"), ("Tanh", "tanh"), ("Sigmoid", "sigmoid")]:
        act, ref = getattr(nn, name)(), getattr(reference.nn, name)()
        xs = [-1.5, 0.0, 2.0]
        got = [y.data for y in act([Value(x) for x in xs])]
        assert got == [getattr(Value(x), method)().data for x in xs]
        assert got == [y.data for y in ref([reference.Value(x) for x in xs])]
        y = act(Value(0.7))
        assert isinstance(y, Value) and y.data == getattr(Value(0.7), method)().data
        assert y._op == {"relu": "ReLU"}.get(method, method)


def test_sequential_takes_only_modules():
    with pytest.raises(TypeError):
        nn.Sequential(nn.Linear(2, 2), lambda x: x)


# ---- PyTorch: the same network, its state loaded from torch.nn and back ----

def test_sequential_matches_torch_and_shares_its_state_dict_keys():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    tmodel = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 4),
                                 torch.nn.Tanh(), torch.nn.Linear(4, 1), torch.nn.Sigmoid()).double()
    model = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 4), nn.Tanh(),
                          nn.Linear(4, 1), nn.Sigmoid())
    model.load_state_dict({k: v.numpy() for k, v in tmodel.state_dict().items()})
    tmodel.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})  # strict

    x = [0.3, -1.2, 2.5]
    expected = tmodel(torch.tensor(x, dtype=torch.float64))
    torch.nn.functional.binary_cross_entropy(expected, torch.ones(1, dtype=torch.float64)).backward()
    out = model(x)
    nn.binary_cross_entropy(out, [1.0]).backward()
    assert [y.data for y in out] == pytest.approx(expected.tolist(), rel=1e-12)
    for layer, tlayer in [(model[0], tmodel[0]), (model[2], tmodel[2]), (model[4], tmodel[4])]:
        weight_grad = [[w.grad for w in n.w] for n in layer.neurons]
        bias_grad = [n.b.grad for n in layer.neurons]
        assert np.allclose(weight_grad, tlayer.weight.grad.numpy(), rtol=1e-12, atol=1e-15)
        assert np.allclose(bias_grad, tlayer.bias.grad.numpy(), rtol=1e-12, atol=1e-15)


# ---- state_dict, save, load ----

def test_state_dict_keys_shapes_and_round_trip(tmp_path):
    random.seed(0)
    a = nn.MLP(2, [3, 1])
    state = a.state_dict()
    assert list(state) == [f"layers.0.neurons.{j}.{t}" for j in range(3) for t in "wb"] + \
                          ["layers.1.neurons.0.w", "layers.1.neurons.0.b"]
    assert state["layers.0.neurons.2.w"].shape == (2,) and state["layers.1.neurons.0.b"].shape == ()
    assert state["layers.0.neurons.1.w"].tolist() == [w.data for w in a.layers[0].neurons[1].w]
    a(np.ones(2).tolist())  # the layer's cached id arrays are not state
    assert list(a.state_dict()) == list(state)

    b = nn.MLP(2, [3, 1])
    assert [p.data for p in b.parameters()] != [p.data for p in a.parameters()]
    b.load_state_dict(state)
    assert [p.data for p in b.parameters()] == [p.data for p in a.parameters()]

    state["layers.0.neurons.0.b"][()] = 5.0  # a copy: the model is unchanged
    assert a.layers[0].neurons[0].b.data == 0.0

    c = nn.MLP(2, [3, 1])
    a.save(tmp_path / "model.npz")
    c.load(tmp_path / "model.npz")
    assert [p.data for p in c.parameters()] == [p.data for p in a.parameters()]


@pytest.mark.parametrize("name", ["model", "model.npz", "run.v2", "model.NPZ"])
@pytest.mark.parametrize("as_path", [str, lambda p: p])
def test_save_and_load_round_trip_for_the_name_given(tmp_path, name, as_path):
    """save(name) writes what numpy.savez writes for it (".npz" added where it lacks it); load(name)
    reads it back from the same name."""
    random.seed(1)
    a, b = nn.MLP(3, [4, 2]), nn.MLP(3, [4, 2])
    a.save(as_path(tmp_path / name))
    written = sorted(p.name for p in tmp_path.iterdir())
    np.savez(tmp_path / "numpy_says", x=np.zeros(1))  # numpy's own rule, to compare with
    assert written == [name if name.endswith(".npz") else name + ".npz"]
    assert (tmp_path / "numpy_says.npz").exists()
    b.load(as_path(tmp_path / name))
    assert [p.data for p in b.parameters()] == [p.data for p in a.parameters()]


def test_save_and_load_through_open_files_and_a_missing_name(tmp_path):
    random.seed(2)
    a, b = nn.MLP(2, [3, 1]), nn.MLP(2, [3, 1])
    with open(tmp_path / "f.bin", "wb") as f:
        a.save(f)
    with open(tmp_path / "f.bin", "rb") as f:
        b.load(f)
    assert [p.data for p in b.parameters()] == [p.data for p in a.parameters()]
    with pytest.raises(FileNotFoundError):
        b.load(tmp_path / "nothing")


def test_load_of_the_wrong_shape_raises_value_error_naming_the_key_and_changes_nothing():
    random.seed(0)
    small, big = nn.MLP(2, [3, 1]), nn.MLP(2, [4, 1])
    before = [p.data for p in small.parameters()]
    state = big.state_dict()
    del state["layers.0.neurons.3.w"], state["layers.0.neurons.3.b"]  # now only shapes differ
    with pytest.raises(ValueError, match=r"layers\.1\.neurons\.0\.w: expected shape \(3,\), got \(4,\)"):
        small.load_state_dict(state)
    assert [p.data for p in small.parameters()] == before


def test_missing_and_unexpected_keys_raise_key_error_naming_them():
    model = nn.Sequential(nn.Linear(2, 2))
    state = model.state_dict()
    with pytest.raises(KeyError, match=r"missing keys \['0\.bias'\], unexpected keys \[\]"):
        model.load_state_dict({"0.weight": state["0.weight"]})
    with pytest.raises(KeyError, match=r"missing keys \[\], unexpected keys \['1\.weight'\]"):
        model.load_state_dict({**state, "1.weight": state["0.weight"]})


# ---- micrograd's demo, 20 steps: the C engine against the reference ----

def demo_data():
    """Two interleaved half circles with noise: micrograd's moons, small and deterministic."""
    rng = np.random.default_rng(0)
    t = np.linspace(0, np.pi, 4)  # few points: the reference engine is slow
    X = np.concatenate([np.c_[np.cos(t), np.sin(t)], np.c_[1 - np.cos(t), 0.5 - np.sin(t)]])
    X += rng.normal(scale=0.1, size=X.shape)
    y = np.r_[np.ones(4), -np.ones(4)]
    return X.tolist(), y.tolist()


def demo_training(module, optimizer, steps=20):
    """Each step's loss, and every parameter after each step."""
    X, y = demo_data()
    random.seed(1337)
    model = module.MLP(2, [16, 16, 1])
    opt = optimizer(model.parameters(), lr=1.0)
    history = []
    for k in range(steps):
        scores = [model(x) for x in X]
        reg_loss = L2_WEIGHT * sum(p*p for p in model.parameters())
        loss = module.hinge_loss(scores, y) + reg_loss
        opt.zero_grad()
        loss.backward()
        opt.lr = learning_rate(k)
        opt.step()
        history.append((loss.data, [p.data for p in model.parameters()]))
    return history


def test_micrograd_demo_training_matches_the_reference():
    got = demo_training(nn, optim.SGD)
    expected = demo_training(reference.nn, reference.optim.SGD)
    for k, ((loss, params), (ref_loss, ref_params)) in enumerate(zip(got, expected)):
        assert loss == pytest.approx(ref_loss, rel=1e-9), f"step {k}"
        assert params == pytest.approx(ref_params, rel=1e-9), f"step {k}"
    assert got[-1][0] < got[0][0] / 2  # it learned


# ---- degenerate sizes and micrograd's loose nonlin ----

def empty_cases(module):
    return {
        "Neuron(0)([])": lambda: module.Neuron(0)([]),
        "Neuron(0, nonlin=False)([])": lambda: module.Neuron(0, nonlin=False)([]),
        "Layer(0, 3)([])": lambda: module.Layer(0, 3)([]),
        "Layer(3, 0)([1, 2, 3])": lambda: module.Layer(3, 0)([1.0, 2.0, 3.0]),
        "MLP(0, [3, 1])([])": lambda: module.MLP(0, [3, 1])([]),
        "MLP(2, [0, 1])([1, 2])": lambda: module.MLP(2, [0, 1])([1.0, 2.0]),
        "MLP(2, [3, 0])([1, 2])": lambda: module.MLP(2, [3, 0])([1.0, 2.0]),
    }


def flat(out):
    return [out] if not isinstance(out, list) else out


@pytest.mark.parametrize("case", list(empty_cases(nn)))
def test_layers_with_no_inputs_or_no_neurons_do_what_micrograd_does(case):
    # micrograd: a neuron with no inputs gives its bias (relu'd where nonlinear); a layer of no
    # neurons, an empty list. Checked against micrograd where it is installed, else the reference.
    try:
        oracle = pytest.importorskip("micrograd.nn")
    except pytest.skip.Exception:
        oracle = reference.nn
    outs = {}
    for name, module in (("c", nn), ("reference", reference.nn), ("oracle", oracle)):
        random.seed(5)
        out = flat(empty_cases(module)[case]())
        for o in out:
            o.backward()
        outs[name] = [(o.data, o.grad) for o in out]
    assert outs["c"] == outs["reference"] == outs["oracle"]


@pytest.mark.parametrize("nonlin", [None, 0.5, [], [0], "", "relu", 2**40, 0, 1.0])
def test_nonlin_is_used_for_its_truth_as_in_micrograd(nonlin):
    x = [0.5, -1.5]
    outs = []
    for module in (nn, reference.nn):
        random.seed(3)
        neuron = module.Neuron(2, nonlin=nonlin)
        neuron.b.data = -5.0  # a negative sum: ReLU makes it 0
        layer = module.Layer(2, 2, nonlin=nonlin)
        outs.append([neuron(x).data] + [o.data for o in layer(x)])
    assert outs[0] == outs[1]
    assert (outs[0][0] == 0.0) == bool(nonlin)


def test_load_state_dict_refuses_what_is_not_real_numbers():
    model = nn.MLP(2, [2, 1])
    good = model.state_dict()
    for bad in (np.asarray(good["layers.0.neurons.0.w"]) + 1j, np.array(["1", "2"]),
                np.array([object(), object()])):
        state = dict(good, **{"layers.0.neurons.0.w": bad})
        with pytest.raises(TypeError, match="layers.0.neurons.0.w"):
            model.load_state_dict(state)
    assert all(np.array_equal(model.state_dict()[k], good[k]) for k in good)  # unchanged
    model.load_state_dict(dict(good, **{"layers.1.neurons.0.b": np.int64(3)}))  # integers are real
    assert model.layers[1].neurons[0].b.data == 3.0


@pytest.mark.parametrize("module", [nn, reference.nn], ids=["c", "reference"])
@pytest.mark.parametrize("n", [0, 1, 3])
def test_the_wrong_number_of_inputs_is_a_value_error_in_both_engines(module, n):
    for model in (module.Neuron(2), module.Layer(2, 3), module.MLP(2, [3, 1]), module.Linear(2, 4)):
        with pytest.raises(ValueError, match=f"expected 2 inputs, got {n}"):
            model([1.0] * n)


def test_a_fused_neurons_second_backward_adds_each_pass_alone_until_it_is_looked_at():
    """README: micrograd's second backward() adds its inner nodes' first-pass grads again; a fused
    neuron (no inner nodes) adds each pass's alone, as PyTorch does, until its chain is made."""
    mg = pytest.importorskip("micrograd.nn")
    grads = {}
    for name, module in (("ours", nn), ("micrograd", mg)):
        random.seed(0)
        neuron = module.Neuron(3, nonlin=False)
        x = [1.5, -2.0, 0.5]
        out = neuron([module.Value(v) if name == "micrograd" else Value(v) for v in x])
        out.backward()
        first = [p.grad for p in neuron.parameters()]
        out.backward()
        grads[name] = (first, [p.grad for p in neuron.parameters()])
    ours, theirs = grads["ours"], grads["micrograd"]
    assert ours[0] == pytest.approx(theirs[0], rel=1e-12)  # one pass: the same grads
    assert ours[1] == [2 * g for g in ours[0]]  # two: each pass's alone, twice over
    assert theirs[1] != pytest.approx([2 * g for g in theirs[0]])  # micrograd's: more
    random.seed(0)
    neuron = nn.Neuron(3, nonlin=False)
    out = neuron([Value(v) for v in x])
    out.backward()
    out._prev  # looked at: micrograd's chain from now on
    out.backward()
    assert [p.grad for p in neuron.parameters()] == pytest.approx(theirs[1], rel=1e-12)
