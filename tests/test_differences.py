"""README's "How it differs from micrograd", the items no other file tests: each difference,
shown. (Errors: test_engine_errors.py; a second backward through fused neurons: test_nn.py;
a re-initialized Value's children: test_custom_ops.py; copies: test_pickle.py; __del__ by hand:
test_release.py; the node limit: test_oom.py.)"""
import gc
import subprocess
import sys

from micrograd_c import Value, nn
from helpers import SAME_PACKAGE


def test_results_are_the_same_on_every_run():
    code = ("import micrograd_c, random\n"
            "from micrograd_c import Value\n"
            "random.seed(1)\n"
            "xs = [Value(random.uniform(-1, 1)) for _ in range(50)]\n"
            "y = sum((a * b).tanh() + a ** 2 for a in xs for b in xs[:10])\n"
            "y.backward()\n"
            "print([x.grad.hex() for x in xs])\n")
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env=SAME_PACKAGE, check=True).stdout for _ in range(3)}
    assert len(runs) == 1


def test_ints_stay_ints_while_a_double_holds_them():
    big = Value(2**52)
    assert type((big + (big - 1)).data) is int  # 2**53 - 1
    assert type((big + big).data) is float  # 2**53: a float, where micrograd's int grows on
    assert (big * 4).data == 2.0**54 and type((big * 4).data) is float
    assert type(Value(True).data) is float


def test_neurons_stay_one_node_while_a_pass_is_inside_a_custom_backward():
    layer = nn.Layer(2, 1)
    h = layer([Value(1.0), Value(2.0)])  # (one neuron: micrograd gives the Value itself)
    seen = []

    def look():
        seen.append((h._op, len(h._prev)))  # the neuron, not looked at before
        x.grad += out.grad
    x = h * 1.0
    out = Value(x.data, (x,), "id")
    out._backward = look
    out.backward()
    assert seen == [("neuron-ReLU", 5)]  # x0, x1, w0, w1, b
    assert (h._op, len(h._prev)) == ("ReLU", 1)  # after the pass: micrograd's chain
    assert sorted(p.grad for p in layer.parameters()) == sorted(
        [h.grad * 1.0, h.grad * 2.0, h.grad] if h.data > 0 else [0, 0, 0])


def test_a_plain_values_own_attributes_live_as_long_as_it_does():
    def build():
        a, b = Value(1.0, label="a"), Value(2.0)
        b.note = "mine"
        return a * b

    y = build()
    gc.collect()
    kids = sorted(y._prev, key=lambda k: k.data)
    assert kids[0].label == "a"  # a label lives as long as a parent does
    assert not hasattr(kids[1], "note")  # another attribute, as long as its Value object


def test_a_subclass_lives_as_long_as_a_parent_does():
    class Ext(Value):
        pass

    e = Ext(3.0)
    y = e * 2
    del e
    gc.collect()
    assert sorted(type(k).__name__ for k in y._prev) == ["Ext", "Value"]


def test_parameter_lists_are_lists_that_count_their_changes():
    model = nn.MLP(2, [3, 1])
    for lst in (model.layers, model.layers[0].neurons, model.layers[0].neurons[0].w):
        assert isinstance(lst, list) and type(lst) is not list
    neuron = model.layers[0].neurons[0]
    neuron.w = [Value(1.0), Value(2.0)]  # a plain list in its place works, as in micrograd
    neuron.w[1] = Value(-3.0)
    assert model.layers[0]([1.0, 1.0])[0].data == max(0.0, 1.0 - 3.0)
