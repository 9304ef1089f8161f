"""torch-style modules: a Module subclass with forward and layers as attributes (parameters()
found without an override), named_parameters / children / modules, Sequential.append, and the
loss modules, against torch.nn where torch has the same thing."""
import random

import numpy as np
import pytest

from micrograd_c import Value, nn, optim
from helpers import bits


class Net(nn.Module):
    """A torch tutorial's network, as written for torch.nn."""

    def __init__(self):
        self.fc1 = nn.Linear(3, 4)
        self.fc2 = nn.Linear(4, 1)

    def forward(self, x):
        return self.fc2(nn.ReLU()(self.fc1(x)))


def ids(values):
    return [id(v) for v in values]


def to_torch_linear(torch, layer):
    """A float64 torch.nn.Linear with layer's weights: weight[j][i] = neurons[j].w[i]."""
    t = torch.nn.Linear(len(layer.neurons[0].w), len(layer.neurons)).double()
    with torch.no_grad():
        t.weight.copy_(torch.tensor([[w.data for w in n.w] for n in layer.neurons], dtype=torch.float64))
        t.bias.copy_(torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64))
    return t


def linear_grads(layer):
    return [[w.grad for w in n.w] for n in layer.neurons], [n.b.grad for n in layer.neurons]


# ---- parameters() without an override ----

def test_a_net_with_forward_and_linear_attributes_trains_without_overriding_parameters():
    random.seed(0)
    net = Net()
    assert "parameters" not in vars(Net)
    assert ids(net.parameters()) == ids(net.fc1.parameters() + net.fc2.parameters())
    X = [[random.uniform(-1, 1) for _ in range(3)] for _ in range(8)]
    y = [sum(x) for x in X]
    opt = optim.SGD(net.parameters(), lr=0.05)
    losses = []
    for _ in range(30):
        loss = nn.MSELoss()([net(x)[0] for x in X], y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.data)
    assert losses[-1] < losses[0] / 4


class Block(nn.Module):
    def __init__(self, nin, nout):
        self.linear = nn.Linear(nin, nout)
        self.scale = Value(2.0)
        self.name = "block"  # not a parameter
        self.size = nout

    def forward(self, x):
        return [self.scale * y for y in self.linear(x)]


class Deep(nn.Module):
    def __init__(self):
        self.first = Value(0.5)
        self.blocks = [Block(2, 3), Block(3, 3)]
        self.pair = (Value(1.0), nn.Neuron(3))
        self.extra = {"a": Value(3.0), "b": [Value(4.0)]}
        self.mlp = nn.MLP(3, [2, 1])
        self._scratch = [Value(9.0)]  # a leading underscore: not a parameter


def deep_by_hand(m):
    return ([m.first]
            + [p for b in m.blocks for p in b.linear.parameters() + [b.scale]]
            + [m.pair[0]] + m.pair[1].parameters()
            + [m.extra["a"], m.extra["b"][0]]
            + m.mlp.parameters())


def test_parameters_of_nested_custom_modules_are_every_value_in_attribute_order():
    random.seed(1)
    m = Deep()
    assert ids(m.parameters()) == ids(deep_by_hand(m))
    assert ids(m.parameters()) == ids(deep_by_hand(m))  # (kept: the same again)
    got = m.parameters()
    got.clear()  # a new list each time
    assert len(m.parameters()) == len(deep_by_hand(m))
    assert nn.Module().parameters() == [] and nn.ReLU().parameters() == []


def test_shared_modules_and_values_count_once_and_cycles_end():
    class Shared(nn.Module):
        def __init__(self, lin, v):
            self.a = lin
            self.v = v
            self.again = [lin, v, (lin,)]
            self.b = lin
            self.w = v

    random.seed(2)
    lin, v = nn.Linear(2, 2), Value(1.0)
    m = Shared(lin, v)
    assert ids(m.parameters()) == ids(lin.parameters() + [v])
    assert [id(c) for c in m.children()] == [id(lin)]
    outer = Shared(m, v)  # m, and lin through it, once
    assert ids(outer.parameters()) == ids(lin.parameters() + [v])
    lin.parent = m  # a cycle: Linear's own parameters() does not look at it
    m.parent = outer
    assert ids(outer.parameters()) == ids(lin.parameters() + [v])
    assert [id(x) for x in outer.modules()] == [id(outer), id(m), id(lin)]
    assert len(dict(outer.named_parameters())) == len(lin.parameters()) + 1


# ---- the caches see every change ----

class Custom(nn.Module):
    """Parameters held every way the default parameters() looks."""

    def __init__(self):
        self.w = Value(1.0)
        self.items = [Value(2.0)]  # a plain list: its changes are not counted
        self.table = {"k": Value(3.0)}  # nor a dict's
        self.inner = nn.Linear(1, 1)

    def forward(self, x):
        x = x if isinstance(x, list) else [x]  # (in an MLP, after a layer of one neuron)
        terms = [self.w * x[0]] + [v * x[0] for v in self.items] + list(getattr(self, "table", {}).values())
        return [sum(terms, self.inner(x)[0])]


def changes():
    def new_attribute_value(c):
        c.w = Value(5.0)

    def appended_to_a_plain_list(c):
        c.items.append(Value(6.0))

    def list_item_replaced(c):
        c.items[0] = Value(7.0)

    def dict_item_added(c):
        c.table["j"] = Value(8.0)

    def new_inner_weight(c):
        c.inner.neurons[0].w[0] = Value(9.0)

    def new_inner_module(c):
        c.inner = nn.Linear(1, 1)

    def attribute_deleted(c):
        del c.table

    return [new_attribute_value, appended_to_a_plain_list, list_item_replaced, dict_item_added,
            new_inner_weight, new_inner_module, attribute_deleted]


def custom_by_hand(c):
    return [c.w] + c.items + list(getattr(c, "table", {}).values()) + c.inner.parameters()


class Holder(nn.Module):
    def __init__(self, c):
        self.pre = nn.Linear(1, 1)
        self.c = c

    def forward(self, x):
        return self.c(self.pre(x))


def holding(owner, c):
    """A model holding the custom module c, and its parameters by hand."""
    if owner == "alone":
        return c, lambda: custom_by_hand(c)
    if owner == "in a Sequential":
        model = nn.Sequential(nn.Linear(1, 1), nn.Tanh(), c)
        return model, lambda: model[0].parameters() + custom_by_hand(c)
    if owner == "in an MLP":
        model = nn.MLP(1, [1])
        model.layers.append(c)
        return model, lambda: model.layers[0].parameters() + custom_by_hand(c)
    model = Holder(c)
    return model, lambda: model.pre.parameters() + custom_by_hand(c)


@pytest.mark.parametrize("owner", ["alone", "in a Sequential", "in an MLP", "in a custom module"])
@pytest.mark.parametrize("change", changes(), ids=lambda f: f.__name__)
def test_every_change_to_a_custom_modules_parameters_is_seen_by_the_modules_holding_it(owner, change):
    random.seed(4)
    c = Custom()
    model, by_hand = holding(owner, c)
    for _ in range(2):  # the second from what is kept
        assert ids(model.parameters()) == ids(by_hand())
        model([0.5])
    change(c)
    for _ in range(2):
        params = model.parameters()
        assert ids(params) == ids(by_hand())
        assert ids(c.parameters()) == ids(custom_by_hand(c))
        for p in params:
            p.grad = 1.5
        model.zero_grad()
        assert all(p.grad == 0 for p in params)
        model([0.5])


def test_calls_through_a_custom_module_in_a_sequential_see_its_changes():
    random.seed(5)
    c = Custom()
    seq = nn.Sequential(nn.Linear(1, 1), c)
    x = [0.5]
    before = seq(x)[0].data
    assert seq(x)[0].data == before
    c.items.append(Value(10.0))
    h = seq[0](x)[0].data
    assert seq(x)[0].data == pytest.approx(before + 10.0 * h)


# ---- named_parameters, children, modules ----

def key_and_index(state, name):
    """The state_dict key a parameter's name starts with, and the index after it."""
    key = max((k for k in state if name == k or name.startswith(k + ".")), key=len)
    rest = name[len(key) + 1:]
    return key, tuple(int(i) for i in rest.split(".")) if rest else ()


def models():
    random.seed(6)
    return {"Neuron": nn.Neuron(3), "Layer": nn.Layer(3, 2), "MLP": nn.MLP(3, [4, 2]),
            "Linear": nn.Linear(3, 2), "Sequential": nn.Sequential(nn.Linear(3, 2), nn.ReLU(),
                                                                   nn.Linear(2, 1)),
            "Net": Net(), "Deep": Deep()}


@pytest.mark.parametrize("name", list(models()))
def test_named_parameters_are_the_parameters_in_order_named_by_their_state_dict_keys(name):
    model = models()[name]
    named = list(model.named_parameters())
    assert ids(v for _, v in named) == ids(model.parameters())
    assert len({n for n, _ in named}) == len(named)
    state = model.state_dict()
    for n, v in named:
        key, index = key_and_index(state, n)
        assert state[key][index] == v.data


def test_named_parameters_read_as_attribute_paths():
    m = models()
    assert [n for n, _ in m["Neuron"].named_parameters()] == ["w.0", "w.1", "w.2", "b"]
    assert [n for n, _ in m["Linear"].named_parameters()] == [
        "weight.0.0", "weight.0.1", "weight.0.2", "bias.0", "weight.1.0", "weight.1.1",
        "weight.1.2", "bias.1"]
    assert [n for n, _ in m["MLP"].named_parameters()][:5] == [
        "layers.0.neurons.0.w.0", "layers.0.neurons.0.w.1", "layers.0.neurons.0.w.2",
        "layers.0.neurons.0.b", "layers.0.neurons.1.w.0"]
    assert [n for n, _ in m["Sequential"].named_parameters()][-3:] == [
        "2.weight.0.0", "2.weight.0.1", "2.bias.0"]
    names = dict(m["Deep"].named_parameters())
    assert names["first"] is m["Deep"].first
    assert names["blocks.1.scale"] is m["Deep"].blocks[1].scale
    assert names["extra.b.0"] is m["Deep"].extra["b"][0]
    assert names["pair.1.b"] is m["Deep"].pair[1].b


def test_a_parameter_no_attribute_reaches_is_named_by_its_index():
    class Hidden(nn.Module):
        def __init__(self):
            self.v = Value(1.0)
            self._w = Value(2.0)

        def parameters(self):
            return [self.v, self._w]

    h = Hidden()
    assert [(n, v is p) for (n, v), p in zip(h.named_parameters(), h.parameters())] == [
        ("v", True), ("1", True)]


def test_children_and_modules():
    m = models()
    seq = m["Sequential"]
    assert [id(c) for c in seq.children()] == [id(x) for x in seq.layers]
    assert [id(c) for c in seq.modules()] == [id(seq)] + [id(x) for x in seq.layers]
    mlp = m["MLP"]
    assert [id(c) for c in mlp.children()] == [id(x) for x in mlp.layers]
    assert [id(c) for c in mlp.modules()] == [id(mlp)] + [
        id(x) for layer in mlp.layers for x in [layer] + list(layer.neurons)]
    assert list(m["Linear"].children()) == [] and list(m["Neuron"].children()) == []
    deep = m["Deep"]
    assert [id(c) for c in deep.children()] == [id(x) for x in deep.blocks + [deep.pair[1], deep.mlp]]
    assert [type(x).__name__ for x in deep.modules()] == [
        "Deep", "Block", "Linear", "Block", "Linear", "Neuron", "MLP", "Layer", "Neuron", "Neuron",
        "Layer", "Neuron"]
    it = seq.children()
    assert next(it) is seq[0]  # iterators, as torch's


def torch_pair(torch, kind):
    """The same model in torch and in micrograd_c, with the same weights."""
    random.seed(7)
    if kind == "Sequential":
        ours = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1), nn.Sigmoid())
        theirs = torch.nn.Sequential(to_torch_linear(torch, ours[0]), torch.nn.ReLU(),
                                     to_torch_linear(torch, ours[2]), torch.nn.Sigmoid())
        return ours, theirs
    ours = Net()

    class TorchNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = to_torch_linear(torch, ours.fc1)
            self.fc2 = to_torch_linear(torch, ours.fc2)

        def forward(self, x):
            return self.fc2(torch.relu(self.fc1(x)))

    return ours, TorchNet()


@pytest.mark.parametrize("kind", ["Sequential", "Net"])
def test_module_structure_and_parameter_counts_match_torch(kind):
    torch = pytest.importorskip("torch")
    ours, theirs = torch_pair(torch, kind)
    assert [type(m).__name__ for m in ours.children()] == [type(m).__name__ for m in theirs.children()]
    modules = list(ours.modules())
    tmodules = list(theirs.modules())
    assert [type(m).__name__ for m in modules[1:]] == [type(m).__name__ for m in tmodules[1:]]
    assert [len(m.parameters()) for m in modules] == [
        sum(p.numel() for p in m.parameters()) for m in tmodules]
    # each torch tensor's name is the start of the names of its numbers
    counts = {}
    state = ours.state_dict()
    for name, _ in ours.named_parameters():
        key = key_and_index(state, name)[0]
        counts[key] = counts.get(key, 0) + 1
    assert counts == {name: p.numel() for name, p in theirs.named_parameters()}
    assert list(state) == list(theirs.state_dict())


# ---- __call__ and forward ----

def test_call_runs_forward_and_forward_is_the_call_of_every_built_in_module():
    random.seed(8)
    x = [0.5, -1.0, 2.0]
    net = Net()
    assert [y.data for y in net(x)] == [y.data for y in net.forward(x)]
    for model in (nn.Neuron(3), nn.Layer(3, 2), nn.MLP(3, [2, 1]), nn.Linear(3, 2),
                  nn.Sequential(nn.Linear(3, 2), nn.Tanh())):
        out, fwd = model(x), model.forward(x)
        out, fwd = (out, fwd) if isinstance(out, list) else ([out], [fwd])
        assert [bits(y.data) for y in out] == [bits(y.data) for y in fwd]
    assert nn.ReLU().forward(Value(-1.0)).data == 0
    assert nn.MSELoss().forward(Value(3.0), 1.0).data == 4.0


def test_a_module_with_neither_call_nor_forward_is_a_type_error():
    class Empty(nn.Module):
        pass

    for m in (nn.Module(), Empty()):
        with pytest.raises(TypeError, match=f"{type(m).__name__} defines neither __call__ nor forward"):
            m([1.0])
        with pytest.raises(TypeError, match="neither __call__ nor forward"):
            m.forward([1.0])


def test_a_subclass_of_a_built_in_that_defines_forward_is_called_through_it():
    class Doubled(nn.Linear):  # torch's way
        def forward(self, x):
            return [2 * y for y in super().forward(x)]

    class Tripled(nn.Linear):  # micrograd's way
        def __call__(self, x):
            return [3 * y for y in super().__call__(x)]

    class Quadrupled(Tripled):  # torch's way on top of it
        def forward(self, x):
            return [y * (4 / 3) for y in super().forward(x)]

    random.seed(9)
    plain = nn.Linear(2, 1)
    x = [1.0, -0.5]
    y = plain(x)[0].data
    for cls, factor in ((Doubled, 2), (Tripled, 3), (Quadrupled, 4)):
        m = cls(2, 1)
        m.load_state_dict(plain.state_dict())
        assert m(x)[0].data == pytest.approx(factor * y)
        assert m.forward(x)[0].data == pytest.approx(factor * y)
        assert nn.Sequential(m)(x)[0].data == pytest.approx(factor * y)


# ---- Sequential.append ----

def test_append_after_a_call_is_seen_by_the_chained_layers():
    random.seed(10)
    seq = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    x = [0.25, -1.0, 3.0]
    for _ in range(2):  # chained in C, then from what is kept
        assert len(seq(x)) == 2
    params = seq.parameters()
    last = nn.Linear(2, 1)
    assert seq.append(last) is seq
    out = seq(x)
    by_hand = last(seq[1](seq[0](x)))
    assert len(out) == 1 and bits(out[0].data) == bits(by_hand[0].data)
    assert ids(seq.parameters()) == ids(params + last.parameters())
    assert [id(m) for m in seq] == [id(m) for m in seq.layers] and len(seq) == 3
    seq.append(nn.Sigmoid())
    assert seq(x)[0].data == pytest.approx(by_hand[0].sigmoid().data, rel=1e-15)
    with pytest.raises(TypeError, match="Sequential takes Modules"):
        seq.append(lambda v: v)
    assert len(seq) == 4


# ---- losses as modules, against torch.nn ----

LOSSES = {  # our module, torch's, what the input is, what the target is
    "MSELoss": (nn.MSELoss, "MSELoss", "pred", "target"),
    "BCELoss": (nn.BCELoss, "BCELoss", "probs", "binary"),
    "CrossEntropyLoss": (nn.CrossEntropyLoss, "CrossEntropyLoss", "logits", "classes"),
    "CrossEntropyLoss, one example": (nn.CrossEntropyLoss, "CrossEntropyLoss", "row", "index"),
}


def loss_inputs(seed):
    rng = np.random.default_rng(seed)
    n, c = int(rng.integers(1, 6)), int(rng.integers(2, 5))
    return {
        "pred": (3 * rng.normal(size=n)).tolist(),
        "target": rng.normal(size=n).tolist(),
        "probs": rng.uniform(0.01, 0.99, size=n).tolist(),
        "binary": rng.integers(0, 2, size=n).astype(float).tolist(),
        "logits": (3 * rng.normal(size=(n, c))).tolist(),
        "classes": rng.integers(0, c, size=n),  # a numpy array of ints, as make_moons gives
        "row": (3 * rng.normal(size=c)).tolist(),
        "index": int(rng.integers(0, c)),
        "weights": rng.normal(size=n).tolist(),  # to weigh the losses of reduction "none"
    }


def as_values(x):
    return Value(x) if isinstance(x, float) else [as_values(v) for v in x]


def flat(x):
    return [x] if isinstance(x, Value) else [v for item in x for v in flat(item)]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("case", list(LOSSES))
@pytest.mark.parametrize("seed", range(4))
def test_loss_modules_match_torch(case, reduction, seed):
    torch = pytest.importorskip("torch")
    ours, theirs, key, target_key = LOSSES[case]
    d = loss_inputs(seed)
    target = d[target_key]
    x = torch.tensor(d[key], dtype=torch.float64, requires_grad=True)
    t = torch.as_tensor(target) if "Cross" in case else torch.tensor(target, dtype=torch.float64)
    expected = getattr(torch.nn, theirs)(reduction=reduction)(x, t)
    inputs = as_values(d[key])
    loss = ours(reduction=reduction)(inputs, target)
    if reduction == "none" and expected.dim() == 1:
        assert isinstance(loss, list) and len(loss) == len(expected)
        w = d["weights"][:len(loss)]
        sum(wi * li for wi, li in zip(w, loss)).backward()
        (torch.tensor(w, dtype=torch.float64) * expected).sum().backward()
        got = [li.data for li in loss]
    else:
        assert isinstance(loss, Value)
        loss.backward()
        expected.backward()
        got = loss.data
    assert got == pytest.approx(expected.tolist(), rel=1e-12, abs=1e-15)
    assert [v.grad for v in flat(inputs)] == pytest.approx(x.grad.reshape(-1).tolist(),
                                                           rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("seed", range(3))
def test_the_mean_is_the_functions_to_the_bit(seed):
    d = loss_inputs(seed)
    for module, function, key, target_key in [
            (nn.MSELoss, nn.mse_loss, "pred", "target"),
            (nn.BCELoss, nn.binary_cross_entropy, "probs", "binary"),
            (nn.CrossEntropyLoss, nn.cross_entropy, "row", "index")]:
        values = as_values(d[key])
        assert bits(module()(values, d[target_key]).data) == bits(function(values, d[target_key]).data)
    # a batch's mean is micrograd's sum(terms) * (1.0 / n) of the examples' losses
    rows = as_values(d["logits"])
    each = [nn.cross_entropy(r, k) for r, k in zip(rows, d["classes"])]
    batch = nn.CrossEntropyLoss()(rows, d["classes"])
    assert bits(batch.data) == bits((sum(each) * (1.0 / len(each))).data)
    assert bits(nn.CrossEntropyLoss()(rows, d["classes"].tolist()).data) == bits(batch.data)


def test_reduction_none_follows_the_inputs_shape():
    assert isinstance(nn.MSELoss(reduction="none")(Value(3.0), 1.0), Value)
    out = nn.MSELoss(reduction="none")([Value(3.0)], [1.0])
    assert isinstance(out, list) and out[0].data == 4.0
    one = nn.CrossEntropyLoss(reduction="none")([Value(1.0), Value(2.0)], 1)
    assert isinstance(one, Value)  # an unbatched loss is one number, as torch's is 0-d
    assert nn.hinge_loss([Value(0.5), Value(-2.0)], [1, 1], reduction="sum").data == 3.5


@pytest.mark.parametrize("cls", [nn.MSELoss, nn.BCELoss, nn.CrossEntropyLoss])
def test_loss_modules_are_modules_and_refuse_a_bad_reduction_when_made(cls):
    loss = cls()
    assert isinstance(loss, nn.Module) and loss.parameters() == [] and loss.state_dict() == {}
    assert repr(loss) == f"{cls.__name__}()" and loss.reduction == "mean"
    for bad in ("avg", "Mean", None, 1):
        with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none'"):
            cls(reduction=bad)
    with pytest.raises(TypeError):
        cls("sum")  # keyword only: torch's first positional parameters are others
    with pytest.raises(ValueError, match="reduction"):
        nn.mse_loss([Value(1.0)], [0.0], reduction="avg")


def test_cross_entropy_batches_that_do_not_fit_raise():
    rows = [[Value(1.0), Value(2.0)], [Value(0.0), Value(1.0)]]
    with pytest.raises(ValueError, match="got 2 examples and 1 targets"):
        nn.CrossEntropyLoss()(rows, [0])
    with pytest.raises(IndexError):
        nn.CrossEntropyLoss()(rows, [0, 2])
    with pytest.raises(TypeError):
        nn.CrossEntropyLoss()(rows, [0.0, 1.0])


# ---- the article's snippets, as written for torch.nn ----

def test_the_articles_snippet_runs_and_its_gradients_are_torchs():
    torch = pytest.importorskip("torch")
    random.seed(11)
    x, y = [0.5, -1.2, 2.0], [1.0]

    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1), nn.Sigmoid())
    loss = nn.MSELoss()(model(x), y)
    loss.backward()

    tmodel = torch.nn.Sequential(to_torch_linear(torch, model[0]), torch.nn.ReLU(),
                                 to_torch_linear(torch, model[2]), torch.nn.Sigmoid())
    tloss = torch.nn.MSELoss()(tmodel(torch.tensor(x, dtype=torch.float64)),
                               torch.tensor(y, dtype=torch.float64))
    tloss.backward()
    assert loss.data == pytest.approx(tloss.item(), rel=1e-12)
    for i in (0, 2):
        weight_grad, bias_grad = linear_grads(model[i])
        assert np.allclose(weight_grad, tmodel[i].weight.grad.numpy(), rtol=1e-12, atol=1e-15)
        assert np.allclose(bias_grad, tmodel[i].bias.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kind", ["Sequential", "Net"])
def test_the_articles_training_loop_follows_torchs(kind):
    torch = pytest.importorskip("torch")
    ours, theirs = torch_pair(torch, kind)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 3))
    y = (X.sum(axis=1) > 0).astype(float)
    criterion, tcriterion = nn.MSELoss(), torch.nn.MSELoss()
    optimizer = optim.SGD(ours.parameters(), lr=0.5, momentum=0.9)
    toptimizer = torch.optim.SGD(theirs.parameters(), lr=0.5, momentum=0.9)
    for _ in range(5):
        loss = criterion([ours(x.tolist())[0] for x in X], y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        tloss = tcriterion(theirs(torch.from_numpy(X)).reshape(-1), torch.from_numpy(y))
        toptimizer.zero_grad()
        tloss.backward()
        toptimizer.step()
        assert loss.data == pytest.approx(tloss.item(), rel=1e-10)
    for key, value in ours.state_dict().items():
        assert np.allclose(value, theirs.state_dict()[key].numpy(), rtol=1e-10, atol=1e-14)


# ---- micrograd's own order is unchanged ----

@pytest.mark.parametrize("seed", range(3))
def test_micrograds_mlp_parameters_order_is_unchanged(seed):
    micrograd_nn = pytest.importorskip("micrograd.nn")
    random.seed(seed)
    theirs = micrograd_nn.MLP(3, [4, 4, 1])
    random.seed(seed)
    ours = nn.MLP(3, [4, 4, 1])
    assert [p.data for p in ours.parameters()] == [p.data for p in theirs.parameters()]
    assert [p.data for _, p in ours.named_parameters()] == [p.data for p in theirs.parameters()]
    for model in (ours, ours.layers[0], ours.layers[0].neurons[0]):
        walked = nn.Module.parameters(model)  # what the default finds: the same, in order
        assert ids(walked) == ids(model.parameters()) == ids(nn.Module.parameters(model))


def test_a_micrograd_style_override_inside_a_torch_style_module_is_asked_every_time():
    class Params(nn.Module):  # micrograd's way: its own parameters(), from a plain list
        def __init__(self):
            self.params = [Value(1.0)]

        def __call__(self, x):
            return [sum(self.params, x[0])]

        def parameters(self):
            return list(self.params)

    p = Params()
    net, seq = Holder(p), nn.Sequential(nn.Linear(1, 1), p)
    for model, first in ((net, net.pre), (seq, seq[0])):
        model.parameters()
        model.parameters()
        p.params.append(Value(2.0))
        assert ids(model.parameters()) == ids(first.parameters() + p.params)


def test_modules_of_counted_parts_keep_their_parameters():
    """Sequentials with activations and torch-style nets of Linears keep parameters() between
    calls (the walk knows nothing uncounted can change them), not only compute them right."""
    random.seed(12)
    for model in (nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)), Net(), Holder(nn.MLP(1, [2]))):
        model.parameters()
        assert nn._current(model, "_cache_params" if isinstance(model, nn.Sequential)
                           else "_cache_walked") is not None
    plain = Holder([Value(1.0)])  # a plain list: looked at every time
    plain.parameters()
    assert nn._current(plain, "_cache_walked") is None


def test_an_override_that_extends_the_default_through_super():
    class Extra(nn.Linear):
        def parameters(self):  # the default walk sees weight and bias: all weights, then biases
            return nn.Module.parameters(self)

    random.seed(13)
    m = Extra(2, 2)
    w, b = [[w for w in n.w] for n in m.neurons], [n.b for n in m.neurons]
    for _ in range(2):
        assert ids(m.parameters()) == ids(w[0] + w[1] + b)
        assert ids(nn.Linear.parameters(m)) == ids(w[0] + [b[0]] + w[1] + [b[1]])  # its own cache


# ---- batches: what torch's layers take, a sample a row ----

def batch_and_rows(rng, n, nin):
    return [[rng.uniform(-1, 1) for _ in range(nin)] for _ in range(n)]


@pytest.mark.parametrize("make", [lambda: nn.Linear(3, 2), lambda: nn.Layer(3, 2), lambda: nn.Layer(3, 1),
                                  lambda: nn.Neuron(3), lambda: nn.MLP(3, [4, 1]),
                                  lambda: nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1), nn.Sigmoid())])
def test_a_batch_gives_each_samples_outputs(make):
    import numpy as np
    random.seed(4)
    model = make()
    X = batch_and_rows(random.Random(0), 5, 3)
    one_by_one = [model(x) for x in X]

    def data(out):
        return [data(o) for o in out] if isinstance(out, list) else out.data
    for batch in (X, [tuple(x) for x in X], np.array(X), [np.array(x) for x in X]):
        assert data(model(batch)) == data(one_by_one)
    torch = pytest.importorskip("torch")
    assert data(model(torch.tensor(X, dtype=torch.float64))) == data(one_by_one)
    assert data(model(torch.tensor(X[0], dtype=torch.float64))) == data(one_by_one[0])


def test_batch_losses_match_torch_and_pair_a_column_with_a_flat_list():
    torch = pytest.importorskip("torch")
    random.seed(5)
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1), nn.Sigmoid())
    X = batch_and_rows(random.Random(1), 6, 3)
    Y = [[float(i % 2)] for i in range(6)]
    out = model(X)  # 6 lists of one Value: shape (6, 1)
    tout = torch.tensor([[o[0].data] for o in out], dtype=torch.float64)
    for ours, theirs in ((nn.MSELoss(), torch.nn.MSELoss()), (nn.BCELoss(), torch.nn.BCELoss())):
        expected = theirs(tout, torch.tensor(Y, dtype=torch.float64)).item()
        assert ours(out, Y).data == pytest.approx(expected, rel=1e-12)
        assert ours(out, [y[0] for y in Y]).data == ours(out, Y).data  # (torch would broadcast)
    none = nn.MSELoss(reduction="none")(out, Y)
    assert [len(row) for row in none] == [1] * 6  # the predictions' shape
    with pytest.raises(ValueError, match="same shape"):
        nn.MSELoss()(model(X), [[1.0, 2.0]] * 6)


def test_train_and_eval_set_the_mode_everywhere_and_change_nothing_else():
    random.seed(6)
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    x = [0.4, -0.2]
    before = model(x)[0].data
    assert model.training and model.eval() is model
    assert not any(m.training for m in model.modules())
    assert model(x)[0].data == before and list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert all(m.training for m in model.train().modules())
