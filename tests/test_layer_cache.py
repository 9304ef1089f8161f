"""What a layer keeps between calls (its parameters' ids, zero_grad's ids) and how it takes its
inputs: every change to the parameters is seen by the next call, and numbers given as inputs
give what micrograd gives."""
import random

import numpy as np
import pytest

from micrograd_c import Value, nn, optim, reference
from helpers import bits, live


def unfused(neuron, x):
    """micrograd's neuron, one Value op at a time, on the neuron's own parameters."""
    act = sum((wi * xi for wi, xi in zip(neuron.w, x)), neuron.b)
    return act.relu() if neuron.nonlin else act


def check_layer(layer, x):
    params = layer.parameters()
    assert [id(p) for p in params] == [id(p) for n in layer.neurons for p in n.w + [n.b]]
    params.clear()  # a new list each time: this one is the caller's
    out = layer(x)
    out = out if isinstance(out, list) else [out]
    assert [bits(y.data) for y in out] == [bits(unfused(n, x).data) for n in layer.neurons]


def changes():
    """Ways code changes a layer's parameters between two calls."""
    def new_weight(layer):
        layer.neurons[1].w[2] = Value(5.0)

    def new_bias(layer):
        layer.neurons[0].b = Value(-0.5)

    def plain_list_then_edited(layer):
        w = [Value(1.0), Value(2.0), Value(3.0)]
        layer.neurons[2].w = w  # a plain list: the layer looks at it on every call
        check_layer(layer, [Value(0.5), Value(-1.0), Value(2.0)])
        w[0] = Value(-7.0)

    def new_neuron(layer):
        layer.neurons[0] = nn.Neuron(3)

    def appended_neuron(layer):
        layer.neurons.append(nn.Neuron(3))

    def new_neurons(layer):
        layer.neurons = [nn.Neuron(3, nonlin=False) for _ in range(2)]

    def reversed_weights(layer):
        layer.neurons[1].w.reverse()

    def sorted_weights(layer):
        layer.neurons[1].w.sort(key=lambda v: v.data)

    def weights_swapped_between_neurons(layer):
        a, b = layer.neurons[0], layer.neurons[1]
        a.w, b.w = b.w, a.w

    def slice_assigned(layer):
        layer.neurons[2].w[:2] = [Value(0.25), Value(0.75)]

    def nonlin_changed(layer):
        for n in layer.neurons:
            n.nonlin = False

    return [new_weight, new_bias, plain_list_then_edited, new_neuron, appended_neuron,
            new_neurons, reversed_weights, sorted_weights, weights_swapped_between_neurons,
            slice_assigned, nonlin_changed]


@pytest.mark.parametrize("change", changes(), ids=lambda f: f.__name__)
def test_every_change_to_a_layers_parameters_is_seen_by_its_next_call(change):
    random.seed(0)
    layer = nn.Layer(3, 3)
    x = [Value(0.5), Value(-1.0), Value(2.0)]
    check_layer(layer, x)
    check_layer(layer, x)  # (from the cache)
    change(layer)
    check_layer(layer, x)
    check_layer(layer, x)


def test_a_neuron_and_an_mlp_see_changes_too():
    random.seed(1)
    neuron, model = nn.Neuron(2), nn.MLP(2, [3, 1])
    x = [Value(1.5), Value(-0.5)]
    for _ in range(2):
        assert bits(neuron(x).data) == bits(unfused(neuron, x).data)
        neuron.w[0] = Value(3.0)
    for _ in range(2):
        hidden = [unfused(n, x) for n in model.layers[0].neurons]
        assert bits(model(x).data) == bits(unfused(model.layers[1].neurons[0], hidden).data)
        model.layers[1].neurons[0].b = Value(10.0)
        model.layers[0].neurons[2].w[1] = Value(-4.0)


def test_an_mlps_parameters_follow_its_layers():
    random.seed(5)
    model = nn.MLP(2, [3, 1])
    first = model.parameters()
    model.layers.append(nn.Layer(1, 2))
    assert model.parameters() == first + model.layers[2].parameters()
    model.layers[0].neurons[0].w[0] = Value(9.0)
    assert model.parameters()[0].data == 9.0
    seq = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    params = seq.parameters()
    seq.layers[2].neurons[0].b = Value(4.0)
    assert seq.parameters() == params[:-1] + [seq.layers[2].neurons[0].b]


def test_a_changed_weight_count_is_a_value_error():
    layer = nn.Layer(2, 2)
    layer([1.0, 2.0])
    layer.neurons[0].w.append(Value(1.0))
    with pytest.raises(ValueError, match="same number of weights"):
        layer([1.0, 2.0])


def test_zero_grad_sets_the_int_0_on_every_parameter_as_it_is_now():
    random.seed(2)
    model = nn.MLP(3, [4, 2])
    for _ in range(3):
        loss = sum(model([1.0, -2.0, 0.5]))
        loss.backward()
        assert any(p.grad != 0 for p in model.parameters())
        model.zero_grad()
        assert all(type(p.grad) is int and p.grad == 0 for p in model.parameters())
        new = Value(1.0)
        new.grad = 5.0
        model.layers[0].neurons[1].w[0] = new  # a new parameter: the next zero_grad sees it


def test_zero_grad_of_a_module_whose_parameters_are_not_values():
    class Box:
        grad = 5

    class Odd(nn.Module):
        def __init__(self):
            self.items = [Box(), Box()]

        def parameters(self):
            return self.items

    m = Odd()
    m.zero_grad()
    assert [b.grad for b in m.items] == [0, 0]


def test_an_optimizers_zero_grad_sets_the_float_0():
    params = [Value(1.0), Value(2)]
    (params[0] * params[1]).backward()
    opt = optim.SGD(params, lr=0.1)
    opt.zero_grad()
    assert [bits(p.grad) for p in params] == [bits(0.0), bits(0.0)]
    ref = [reference.Value(1.0), reference.Value(2)]
    (ref[0] * ref[1]).backward()
    reference.optim.SGD(ref, lr=0.1).zero_grad()
    assert [bits(p.grad) for p in ref] == [bits(0.0), bits(0.0)]


INPUTS = {  # as each engine's Value class V would be given them
    "floats": lambda V: [0.5, -1.25, 3.0],
    "ints": lambda V: [1, -2, 3],
    "numpy floats": lambda V: list(np.array([0.5, -1.25, 3.0])),
    "a numpy array": lambda V: np.array([0.5, -1.25, 3.0]),
    "Values and numbers": lambda V: [V(0.5), -1.25, 3],
    "a tuple": lambda V: (0.5, -1.25, 3.0),
}


@pytest.mark.parametrize("name", INPUTS)
def test_numbers_as_inputs_give_what_the_reference_gives_and_leave_no_nodes(name):
    random.seed(3)
    ours = nn.MLP(3, [4, 1])
    random.seed(3)
    theirs = reference.nn.MLP(3, [4, 1])
    for p in ours.parameters():  # ints, so that int inputs keep ints through the net
        p.data = random.randint(-3, 3)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        q.data = p.data
    base = live()
    for model in (ours, ours.layers[0], ours.layers[0].neurons[0]):
        out = model(INPUTS[name](Value))
        del out
    assert live() == base
    a, b = ours(INPUTS[name](Value)), theirs(INPUTS[name](reference.Value))
    a.backward()
    b.backward()
    assert bits(a.data) == bits(b.data)
    assert [bits(p.grad) for p in ours.parameters()] == [bits(p.grad) for p in theirs.parameters()]


def test_a_generator_of_inputs():
    layer = nn.Layer(2, 1)
    assert layer(x for x in [1.0, 2.0]).data == layer([1.0, 2.0]).data


@pytest.mark.parametrize("room", range(0, 12))
def test_an_mlp_out_of_room_in_any_layer_makes_nothing(node_limit, room):
    # MLP(2, [4, 3, 2]) on float inputs makes 2 + 4 + 3 + 2 nodes in one C call: with room
    # for fewer, it is a MemoryError with no node left behind, at whichever layer it stops
    random.seed(4)
    model = nn.MLP(2, [4, 3, 2])
    base = live()
    node_limit(base + room)
    if room >= 11:
        out = model([0.5, -1.0])
        assert len(out) == 2 and live() == base + 11  # (the outputs hold the rest)
        del out
    else:
        with pytest.raises(MemoryError):
            model([0.5, -1.0])
    node_limit(0)
    assert live() == base
    random.seed(4)
    ref = reference.nn.MLP(2, [4, 3, 2])
    assert [bits(v.data) for v in model([0.5, -1.0])] == [bits(v.data) for v in ref([0.5, -1.0])]
