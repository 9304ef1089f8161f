"""micrograd_c.viz: the graphs draw_dot draws, the files render writes, the plots, and the install hints."""
import importlib
import random
import re
import shutil
import struct
import sys
import xml.etree.ElementTree as ET

import pytest

import micrograd_c
from micrograd_c import Value, reference
from micrograd_c.nn import Layer, MLP, Neuron

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")


def viz_with(module):
    pytest.importorskip(module)
    return importlib.import_module("micrograd_c.viz")


def box(v):
    return "{ data %.4f | grad %.4f }" % (v.data, v.grad)


def parse(dot):
    """A draw_dot graph's node labels by name, its Value (record) nodes and its edges, in order."""
    label, values, edges = {}, [], []
    for line in dot.body:
        if m := re.fullmatch(r"\t(\w+) -> (\w+)\n", line):
            edges.append(m.groups())
        else:
            m = re.fullmatch(r'\t(\w+) \[label=("[^"]*"|\S+)( shape=record)?\]\n', line)
            label[m[1]] = m[2].strip('"')
            if m[3]:
                values.append(m[1])
    return label, values, edges


def drawn(dot):
    """The (from, to) edges of a draw_dot graph, each end named by its label; and its Value labels."""
    label, values, edges = parse(dot)
    return sorted((label[a], label[b]) for a, b in edges), sorted(label[v] for v in values)


def expected(steps):
    """What draw_dot should draw for steps [(result, op, operands)], from the Values we hold."""
    edges, values = [], set()
    for out, op, operands in steps:
        edges.append((op, box(out)))
        edges += [(box(v), op) for v in operands]
        values |= {out, *operands}
    return sorted(edges), sorted(box(v) for v in values)


def relu_example(V):
    x = V(3.0)
    a = x * 2
    b = a + 1
    y = b.relu()
    y.backward()
    two, one = (next(k for k in n._prev if k is not kid) for n, kid in ((a, x), (b, a)))
    return y, [(a, "*", [x, two]), (b, "+", [a, one]), (y, "ReLU", [b])]  # numbers are leaves


def reference_neuron():
    """micrograd's Neuron(2) on two inputs, written out in reference Values: act = sum(w*x, b).relu()."""
    V = reference.Value
    x, w, b = [V(1.5), V(-2.0)], [V(0.5), V(0.25)], V(3.0)
    p0, p1 = w[0] * x[0], w[1] * x[1]
    s0 = b + p0
    s1 = s0 + p1
    out = s1.relu()
    out.backward()
    return out, [(p0, "*", [w[0], x[0]]), (p1, "*", [w[1], x[1]]),
                 (s0, "+", [b, p0]), (s1, "+", [s0, p1]), (out, "ReLU", [s1])]


@pytest.mark.parametrize("V", [Value, reference.Value])
def test_relu_example_graph(V):
    viz = viz_with("graphviz")
    y, steps = relu_example(V)
    edges, values = drawn(viz.draw_dot(y))
    assert (edges, values) == expected(steps)
    assert (len(edges), len(values)) == (8, 6)


def test_c_and_reference_draw_the_same_source():
    viz = viz_with("graphviz")
    c, ref = (viz.draw_dot(relu_example(V)[0]).source for V in (Value, reference.Value))
    assert c == ref


@pytest.mark.parametrize("backward_first", [True, False])
def test_a_fused_neuron_is_drawn_as_micrograds_chain(backward_first):
    viz = viz_with("graphviz")
    random.seed(0)
    n = Neuron(2)
    x = [Value(1.5), Value(-2.0)]
    out = n(x)
    if backward_first:
        out.backward()  # the chain's grads come from the fused node's
    (s1,) = out._prev
    p1, s0 = (next(k for k in s1._prev if k._op == op) for op in "*+")
    p0 = next(k for k in s0._prev if k._op == "*")
    if not backward_first:
        out.backward()  # through the chain itself
    dot = viz.draw_dot(out)
    assert drawn(dot) == expected([(p0, "*", [n.w[0], x[0]]), (p1, "*", [n.w[1], x[1]]),
                                   (s0, "+", [n.b, p0]), (s1, "+", [s0, p1]),
                                   (out, "ReLU", [s1])])
    ref, _ = reference_neuron()  # micrograd's neuron in reference Values: the same picture
    assert len(parse(dot)[0]) == len(parse(viz.draw_dot(ref))[0])


def test_reference_neuron_graph():
    viz = viz_with("graphviz")
    out, steps = reference_neuron()
    edges, values = drawn(viz.draw_dot(out))
    assert (edges, values) == expected(steps)
    assert (len(edges), len(values)) == (14, 10)


def test_micrograd_values_are_drawn_through_prev():
    viz = viz_with("graphviz")
    nn = pytest.importorskip("micrograd.nn")
    engine = pytest.importorskip("micrograd.engine")
    n = nn.Neuron(2)
    out = n([engine.Value(1.5), engine.Value(-2.0)])
    out.backward()
    edges, values = drawn(viz.draw_dot(out))
    assert (len(edges), len(values)) == (14, 10)  # as the reference Neuron above
    assert sorted(op for op, _ in edges if not op.startswith("{")) == ["*", "*", "+", "+", "ReLU"]


@pytest.mark.parametrize("V", [Value, reference.Value])
def test_a_shared_value_is_drawn_once(V):
    viz = viz_with("graphviz")
    a = V(2.0)
    b = a * a
    c = b + b  # C: c's children come back as new Value objects, equal to b
    c.backward()
    edges, values = drawn(viz.draw_dot(c))
    assert (edges, values) == expected([(b, "*", [a, a]), (c, "+", [b, b])])
    assert len(values) == 3


def test_graphs_over_max_nodes_are_refused():
    viz = viz_with("graphviz")
    v = Value(1.0)
    for _ in range(500):
        v = v.relu()
    viz.draw_dot(v, max_nodes=501)
    with pytest.raises(ValueError, match=r"more than max_nodes=500 Values \(stopped counting at 501\)"):
        viz.draw_dot(v)
    with pytest.raises(ValueError, match="max_nodes=10 "):
        viz.draw_dot(v, max_nodes=10)


class Counted:
    """A micrograd-like Value that counts how many nodes had their children asked for."""
    asked = 0

    def __init__(self, kids=()):
        self.kids, self.data, self.grad, self._op = kids, 0.0, 0.0, "+" if kids else ""

    @property
    def _children(self):
        Counted.asked += 1
        return self.kids


def test_the_walk_stops_as_soon_as_the_graph_is_too_big():
    viz = viz_with("graphviz")
    v = Counted()
    for _ in range(20_000):
        v = Counted((v, Counted()))
    Counted.asked = 0
    with pytest.raises(ValueError, match="max_nodes=100 "):
        viz.draw_dot(v, max_nodes=100)
    assert Counted.asked <= 100


def png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@needs_dot
def test_render_writes_a_real_svg_and_png(tmp_path):
    viz = viz_with("graphviz")
    random.seed(0)
    n = Neuron(2)
    out = n([Value(1.0), Value(2.0)])
    out.backward()
    dot = viz.draw_dot(out)

    svg = ET.parse(viz.render(dot, str(tmp_path / "g.svg"))).getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    classes = [g.get("class") for g in svg.iter("{http://www.w3.org/2000/svg}g")]
    # micrograd's chain: 10 Values (5 leaves, 2 products, 2 sums, the ReLU) and 5 ops; an edge
    # into each op from each of its children (9) and one out of each op (5)
    assert (classes.count("node"), classes.count("edge")) == (15, 14)
    texts = " ".join(t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text"))
    assert "ReLU" in texts and f"data {out.data:.4f}" in texts

    png = (tmp_path / "g.png")
    viz.render(dot, str(png))
    width, height = png_size(png.read_bytes())
    assert 50 < width < 5000 and 50 < height < 5000
    assert width > height  # rankdir='LR': inputs on the left, the neuron's output on the right
    assert png_size(viz.draw_dot(out, format="png").pipe())  # format= is the graph's own format


def test_render_without_dot_says_how_to_install_it(tmp_path, monkeypatch):
    viz = viz_with("graphviz")
    dot = viz.draw_dot(Value(1.0) + 2)
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` here
    with pytest.raises(RuntimeError, match="apt-get install graphviz, brew install graphviz"):
        viz.render(dot, str(tmp_path / "g.svg"))
    assert not (tmp_path / "g.svg").exists()


def test_missing_packages_say_how_to_install_them(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.delitem(sys.modules, "micrograd_c.viz", raising=False)  # both put back afterwards
    monkeypatch.delattr(micrograd_c, "viz", raising=False)
    viz = importlib.import_module("micrograd_c.viz")  # imports without them
    hint = r"pip install 'micrograd-c\[viz\]'"
    with pytest.raises(ImportError, match=f"graphviz package: {hint}, and install Graphviz"):
        viz.draw_dot(Value(1.0))
    with pytest.raises(ImportError, match=f"matplotlib package: {hint}$"):
        viz.plot_training_curves([{"step": 0, "loss": 1.0}])


# ---- the plots ----

def saved_picture(path):
    """The PNG at path, read back: non-empty and not all one colour."""
    image = pytest.importorskip("matplotlib.image")
    assert png_size(path.read_bytes())
    pixels = image.imread(path)
    assert (pixels != pixels[0, 0]).any()
    return pixels


def trained_mlp():
    random.seed(1)
    model = MLP(2, [4, 4, 1])
    loss = sum((model([a, b]) - t) ** 2 for a, b, t in [(1.0, -1.0, 1.0), (-0.5, 2.0, -1.0)])
    loss.backward()
    return model


def test_grad_histograms_count_every_gradient_per_layer(tmp_path):
    viz = viz_with("matplotlib")
    model = trained_mlp()
    model.layers[0].neurons[0].w[0].grad = float("inf")  # exploding: counted in the title, not plotted
    fig = viz.plot_grad_histograms(model, tmp_path / "h.png")
    assert len(fig.axes) == 3
    for i, (ax, layer) in enumerate(zip(fig.axes, model.layers)):
        n = len(layer.parameters())
        assert sum(bar.get_height() for bar in ax.patches) == n - (i == 0)
        assert ax.get_title() == f"layer {i}: {n} grads" + (", 1 inf/nan" if i == 0 else "")
    saved_picture(tmp_path / "h.png")

    one = viz.plot_grad_histograms(Neuron(3))  # a single module: one histogram
    assert len(one.axes) == 1 and sum(bar.get_height() for bar in one.axes[0].patches) == 4


def test_weight_grad_heatmap_rows_are_neurons_and_columns_inputs(tmp_path):
    viz = viz_with("matplotlib")
    layer = Layer(3, 2)
    for i, n in enumerate(layer.neurons):
        for j, w in enumerate(n.w):
            w.grad = (i + 1) * (j - 1)
    fig = viz.plot_weight_grad_heatmap(layer, tmp_path / "w.png")
    image = fig.axes[0].images[0]
    assert image.get_array().tolist() == [[-1, 0, 1], [-2, 0, 2]]
    assert image.get_clim() == (-2, 2)  # symmetric: 0 is the middle of the colour map
    saved_picture(tmp_path / "w.png")


def test_training_curves(tmp_path):
    viz = viz_with("matplotlib")
    history = [{"step": s, "loss": 1 / (s + 1), "accuracy": s / 4} for s in range(5)]
    fig = viz.plot_training_curves(history, tmp_path / "t.png")
    loss, accuracy = (ax.lines[0] for ax in fig.axes)
    assert list(loss.get_xdata()) == [0, 1, 2, 3, 4]
    assert list(loss.get_ydata()) == [h["loss"] for h in history]
    assert list(accuracy.get_ydata()) == [h["accuracy"] for h in history]
    saved_picture(tmp_path / "t.png")
    assert len(viz.plot_training_curves([{"step": 0, "loss": 1.0}]).axes) == 1  # no accuracy, no panel


def test_decision_boundary_follows_the_model(tmp_path):
    viz = viz_with("matplotlib")
    X, y = [[-1.0, -1.0], [1.0, 1.0]], [-1, 1]

    def colours(w0):
        n = Neuron(2, nonlin=False)  # score = w0 * x0: the boundary is the line x0 = 0
        n.w[0].data, n.w[1].data = w0, 0.0
        path = tmp_path / f"d{w0}.png"
        fig = viz.plot_decision_boundary(n, X, y, path, h=0.5)
        pixels = saved_picture(path)
        # the colour at the top left (x0 < 0) and at the bottom right (x0 > 0), away from the points
        return [tuple(pixels[pixels.shape[0] - round(py), round(px)])
                for px, py in fig.axes[0].transAxes.transform([(0.1, 0.9), (0.9, 0.1)])]

    left, right = colours(1.0)
    assert left != right
    assert colours(-1.0) == [right, left]
