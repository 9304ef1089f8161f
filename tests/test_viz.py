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
from micrograd_c.nn import Layer, Linear, MLP, Neuron, ReLU, Sequential, Tanh

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")


def viz_with(module):
    pytest.importorskip(module)
    return importlib.import_module("micrograd_c.viz")


def box(v, label=""):
    """The record draw_dot draws for v: its label first if it has one."""
    return "{ " + (label + " | " if label else "") + "data %.4f | grad %.4f }" % (v.data, v.grad)


def attributes(line):
    """The attributes of a node's line of Graphviz source, as a dict."""
    m = re.fullmatch(r"\t(\w+) \[(.*)\]\n", line)
    return m[1], {k: v.strip('"') for k, v in re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)', m[2])}


def parse(dot):
    """A draw_dot graph's node labels by name, its Value (record) nodes and its edges, in order."""
    label, values, edges = {}, [], []
    for line in dot.body:
        if m := re.fullmatch(r"\t(\w+) -> (\w+)\n", line):
            edges.append(m.groups())
        else:
            name, attrs = attributes(line)
            label[name] = attrs["label"]
            if attrs.get("shape") == "record":
                values.append(name)
    return label, values, edges


def drawn(dot):
    """The (from, to) edges of a draw_dot graph, each end named by its label; and its Value labels."""
    label, values, edges = parse(dot)
    return sorted((label[a], label[b]) for a, b in edges), sorted(label[v] for v in values)


def expected(steps, labels=()):
    """What draw_dot should draw for steps [(result, op, operands)], from the Values we hold;
    labels: [(Value, its label)]."""
    label = dict(labels)
    edges, values = [], set()
    for out, op, operands in steps:
        edges.append((op, box(out, label.get(out, ""))))
        edges += [(box(v, label.get(v, "")), op) for v in operands]
        values |= {out, *operands}
    return sorted(edges), sorted(box(v, label.get(v, "")) for v in values)


def neuron_labels(x, w, b):
    """The labels draw_dot gives a neuron's leaves: x[i], w[i] and b."""
    return ([(xi, f"x[{i}]") for i, xi in enumerate(x)] + [(wi, f"w[{i}]") for i, wi in enumerate(w)]
            + [(b, "b")])


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
                 (s0, "+", [b, p0]), (s1, "+", [s0, p1]), (out, "ReLU", [s1])], (x, w, b)


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
                                   (out, "ReLU", [s1])], neuron_labels(x, n.w, n.b))
    ref, *_ = reference_neuron()  # micrograd's neuron in reference Values: the same picture
    assert len(parse(dot)[0]) == len(parse(viz.draw_dot(ref))[0])


def test_reference_neuron_graph():
    viz = viz_with("graphviz")
    out, steps, leaves = reference_neuron()
    edges, values = drawn(viz.draw_dot(out))
    assert (edges, values) == expected(steps, neuron_labels(*leaves))
    assert (len(edges), len(values)) == (14, 10)


def test_micrograd_values_are_drawn_through_prev():
    viz = viz_with("graphviz")
    nn = pytest.importorskip("micrograd.nn")
    engine = pytest.importorskip("micrograd.engine")
    random.seed(0)
    n = nn.Neuron(2)
    x = [engine.Value(1.5), engine.Value(-2.0)]
    out = n(x)
    out.backward()
    edges, values = drawn(viz.draw_dot(out))
    assert (len(edges), len(values)) == (14, 10)  # as the reference Neuron above
    assert sorted(op for op, _ in edges if not op.startswith("{")) == ["*", "*", "+", "+", "ReLU"]
    # micrograd keeps a node's children in a set; its closures tell the weight from the input
    assert {box(v, label) for v, label in neuron_labels(x, n.w, n.b)} <= set(values)
    assert sum(v.startswith("{ data") for v in values) == 5  # the products, sums and ReLU


def test_values_show_their_labels():
    viz = viz_with("graphviz")
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    e = a * b
    e.label = "e"
    c = e + 10.0  # the 10 is a leaf with no label
    c.backward()
    one = next(k for k in c._prev if k.label == "")
    assert drawn(viz.draw_dot(c)) == expected([(e, "*", [a, b]), (c, "+", [e, one])],
                                              [(a, "a"), (b, "b"), (e, "e")])
    # record syntax in a label is escaped, not taken as more fields
    odd = Value(1.0, label="{x|<y>}")
    dot = viz.draw_dot(odd)
    assert parse(dot)[0]["v0"] == r"{ \{x\|\<y\>\} | data 1.0000 | grad 0.0000 }"
    if shutil.which("dot"):  # and Graphviz draws it as it reads
        svg = dot.pipe(format="svg").decode()
        assert "&lt;y&gt;}</text>" in svg and ">{x|" in svg


@pytest.mark.parametrize("V", [Value, reference.Value, "micrograd"])
def test_only_a_neurons_chain_gets_neuron_labels(V):
    viz = viz_with("graphviz")
    if V == "micrograd":
        V = pytest.importorskip("micrograd.engine").Value
    x, c = V(3.0), V(1.0)
    # a + whose product comes first; a sum of leaves; one leaf as both the bias and the weight
    for y in [(x * 2 + 1).relu(), (x * 2) * (x + c), x + (x * 2)]:
        y.backward()
        assert all(v.startswith("{ data") for v in drawn(viz.draw_dot(y))[1])


def test_a_leafs_own_label_wins_over_its_role():
    viz = viz_with("graphviz")
    random.seed(0)
    n = Neuron(2)
    x = [Value(1.5, label="height"), Value(-2.0)]
    n.w[1].label = "slope"
    out = n(x)
    values = drawn(viz.draw_dot(out))[1]
    assert {box(x[0], "height"), box(n.w[1], "slope"), box(x[1], "x[1]"), box(n.w[0], "w[0]"),
            box(n.b, "b")} <= set(values)


@pytest.mark.parametrize("nn_module", ["micrograd_c.nn", "micrograd_c.reference.nn", "micrograd.nn"])
def test_every_parameter_and_input_of_an_mlp_is_labelled(nn_module):
    viz = viz_with("graphviz")
    nn = pytest.importorskip(nn_module)
    random.seed(0)
    model = nn.MLP(2, [3, 2, 1])
    for k, p in enumerate(model.parameters()):
        p.data = (k + 1) / 64  # all different, so that each box is one parameter's
    V = type(model.parameters()[0])
    x = [V(-1.25), V(-2.5)]
    out = model(x)
    out.backward()
    dot = viz.draw_dot(out)
    label, values, _ = parse(dot)
    want = [(xi, f"x[{i}]") for i, xi in enumerate(x)]
    for layer in model.layers:
        for n in layer.neurons:
            want += [(w, f"w[{i}]") for i, w in enumerate(n.w)] + [(n.b, "b")]
    boxes = [label[v] for v in values]
    assert sorted(box(v, role) for v, role in want) == sorted(b for b in boxes if not b.startswith("{ data"))
    # inputs and parameters are shaded apart, ops grey, other Values white (the default)
    fills = {attributes(line)[1]["label"]: attributes(line)[1].get("fillcolor")
             for line in dot.body if "->" not in line}
    assert {fills[box(v, role)] for v, role in want if role.startswith("x")} == {viz._INPUT_FILL}
    assert {fills[box(v, role)] for v, role in want if role[0] in "wb"} == {viz._PARAM_FILL}
    assert {fills[op] for op in ("*", "+", "ReLU")} == {viz._OP_FILL}


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
    texts = [t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert "ReLU" in texts and f"data {out.data:.4f}" in texts
    assert {"x[0]", "x[1]", "w[0]", "w[1]", "b"} <= set(texts)

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
    hint = r"pip install matplotlib graphviz \(the viz extra\)"
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


def drawn_texts(fig):
    """Lay fig out (no pixels), for the positions and texts of its tick labels."""
    fig.draw_without_rendering()
    return fig


def visible_ticks(axis):
    """The tick labels of an axis that are inside its view, in order."""
    lo, hi = sorted(axis.get_view_interval())
    return [t for t, x in zip(axis.get_ticklabels(), axis.get_ticklocs()) if lo <= x <= hi]


def assert_readable(axis, most=6):
    """A few tick labels (at most `most`), short, none running into the next."""
    ticks = visible_ticks(axis)
    assert 2 <= len(ticks) <= most
    texts = [re.sub(r"^\$\\mathdefault\{(.*)\}\$$", r"\1", t.get_text()) for t in ticks]  # (math text)
    assert all(len(t) <= 5 for t in texts), texts
    boxes = sorted((t.get_window_extent() for t in ticks), key=lambda b: b.x0)
    assert all(a.x1 < b.x0 for a, b in zip(boxes, boxes[1:]))


def test_grad_histograms_count_every_gradient_per_layer(tmp_path):
    viz = viz_with("matplotlib")
    model = trained_mlp()
    model.layers[0].neurons[0].w[0].grad = float("inf")  # exploding: counted in the title, not plotted
    fig = viz.plot_grad_histograms(model, tmp_path / "h.png")
    assert len(fig.axes) == 3
    shapes = ["Layer 2→4 ReLU", "Layer 4→4 ReLU", "Layer 4→1"]
    for i, (ax, layer) in enumerate(zip(fig.axes, model.layers)):
        n = len(layer.parameters())
        assert sum(bar.get_height() for bar in ax.patches) == n - (i == 0)
        assert ax.get_title() == f"layer {i}: {shapes[i]}\n{n} grads" + (", 1 inf/nan" if i == 0 else "")
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("gradient", "count")
    assert fig.get_suptitle() == "Gradients of MLP's parameters, by layer"
    saved_picture(tmp_path / "h.png")

    one = viz.plot_grad_histograms(Neuron(3))  # a single module: one histogram
    assert len(one.axes) == 1 and sum(bar.get_height() for bar in one.axes[0].patches) == 4
    assert one.axes[0].get_title() == "layer 0: Neuron 3→1 ReLU\n4 grads"
    assert one.get_suptitle() == "Gradients of Neuron's parameters"
    assert viz.plot_grad_histograms(model, title="mine").get_suptitle() == "mine"


def test_grad_histograms_skip_modules_without_parameters():
    viz = viz_with("matplotlib")
    random.seed(2)
    model = Sequential(Linear(4, 8), ReLU(), Linear(8, 3), Tanh(), Linear(3, 1))
    (model([0.5, -1.0, 2.0, 0.1])[0]).backward()
    fig = viz.plot_grad_histograms(model)
    # one panel per Linear, named by its index in the Sequential
    assert [ax.get_title() for ax in fig.axes] == [
        "layer 0: Linear 4→8\n40 grads", "layer 2: Linear 8→3\n27 grads",
        "layer 4: Linear 3→1\n4 grads"]
    assert [sum(bar.get_height() for bar in ax.patches) for ax in fig.axes] == [40, 27, 4]
    with pytest.raises(ValueError, match="ReLU has no parameters"):
        viz.plot_grad_histograms(ReLU())


def test_grad_histograms_many_layers_wrap_into_rows():
    viz = viz_with("matplotlib")
    model = MLP(2, [3, 3, 3, 3, 3, 1])
    fig = viz.plot_grad_histograms(model)
    assert len(fig.axes) == 6  # 4 in the first row, 2 in the second, no empty axes
    rows = sorted({round(ax.get_position().y0, 3) for ax in fig.axes})
    assert len(rows) == 2


@pytest.mark.parametrize("scale, centre", [(1e-5, 0.0), (3e-3, 0.0), (1.0, 0.0), (3e4, 0.0),  # about 0
                                           (1e-7, 3e-5), (1.0, 123456.0)])  # bunched away from it
def test_grad_histogram_ticks_are_few_short_and_apart(scale, centre):
    viz = viz_with("matplotlib")
    random.seed(4)
    layer = Layer(16, 16)
    for p in layer.parameters():
        p.grad = centre + scale * random.uniform(-1.234567, 1.234567)
    fig = drawn_texts(viz.plot_grad_histograms(layer))
    ax = fig.axes[0]
    assert_readable(ax.xaxis)
    # the power of ten or the offset, shown once, and clear of the axis label
    offset = ax.xaxis.get_offset_text()
    if offset.get_text():
        assert not offset.get_window_extent().overlaps(ax.xaxis.label.get_window_extent())


def test_weight_grad_heatmap_rows_are_neurons_and_columns_inputs(tmp_path):
    viz = viz_with("matplotlib")
    layer = Layer(3, 2)
    for i, n in enumerate(layer.neurons):
        for j, w in enumerate(n.w):
            w.grad = (i + 1) * (j - 1)
    fig = viz.plot_weight_grad_heatmap(layer, tmp_path / "w.png")
    ax, bar = fig.axes
    image = ax.images[0]
    assert image.get_array().tolist() == [[-1, 0, 1], [-2, 0, 2]]
    assert image.get_clim() == (-2, 2)  # symmetric: 0 is the middle of the colour map
    assert ax.get_title() == "Weight gradients of Layer 3→2 ReLU"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("input", "neuron")
    assert bar.get_ylabel() == "gradient ∂loss/∂w"  # the colorbar's
    saved_picture(tmp_path / "w.png")


@pytest.mark.parametrize("nout, nin", [(16, 16), (50, 784)])
def test_weight_grad_heatmap_ticks_are_whole_and_readable(nout, nin):
    viz = viz_with("matplotlib")
    random.seed(5)
    layer = Linear(nin, nout)
    for p in layer.parameters():
        p.grad = random.gauss(0, 1)
    layer.neurons[0].w[0].grad = float("nan")
    fig = drawn_texts(viz.plot_weight_grad_heatmap(layer, title=None))
    ax = fig.axes[0]
    assert ax.get_title() == f"Weight gradients of Linear {nin}→{nout}, 1 inf/nan"
    for axis in (ax.xaxis, ax.yaxis):
        assert all(float(x).is_integer() for x in axis.get_ticklocs())
    assert_readable(ax.xaxis, most=10)
    assert ax.get_aspect() == (1.0 if nin == nout else "auto")  # square cells, unless a sliver


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


def test_training_curves_are_titled_labelled_and_in_percent():
    viz = viz_with("matplotlib")
    history = [{"step": s, "loss": 1 / (s + 1), "accuracy": 0.5 + s / 10} for s in range(5)]
    fig = drawn_texts(viz.plot_training_curves(history))
    loss, accuracy = fig.axes
    assert fig.get_suptitle() == "Training"
    assert [(ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) for ax in fig.axes] == [
        ("loss (last 0.2)", "step", "loss"), ("accuracy (last 90%)", "step", "accuracy (%)")]
    assert all(ax.xaxis.get_gridlines()[0].get_visible() for ax in fig.axes)
    ticks = [t.get_text() for t in visible_ticks(accuracy.yaxis)]
    assert ticks and all(t.endswith("%") for t in ticks) and "100%" in ticks
    assert all(float(x).is_integer() for x in loss.xaxis.get_ticklocs())  # steps, not 0.5s
    assert viz.plot_training_curves([], title="nothing yet").get_suptitle() == "nothing yet"


class Scorer:
    """A model whose score is w0*x0 + w1*x1 (as a Neuron(2, nonlin=False)), counting its calls."""

    def __init__(self, w0, w1=0.0):
        self.neuron, self.calls = Neuron(2, nonlin=False), 0
        self.neuron.w[0].data, self.neuron.w[1].data = w0, w1

    def parameters(self):
        return self.neuron.parameters()

    def __call__(self, x):
        self.calls += 1
        return self.neuron(x)


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
    # each region is a tint of its class's colour: red (y = -1) where the score is <= 0
    assert left[0] > left[2] and right[2] > right[0]


def test_decision_boundary_is_titled_labelled_and_has_a_legend():
    viz = viz_with("matplotlib")
    colors = pytest.importorskip("matplotlib.colors")
    X, y = [[-1.0, 0.0], [-0.5, 1.0], [1.0, 0.0], [0.5, -1.0]], [0, 0, 1, 1]
    fig = viz.plot_decision_boundary(Scorer(1.0), X, y, h=0.5)
    ax = fig.axes[0]
    assert ax.get_title() == "Decision boundary of Scorer (accuracy 100% on its 4 points)"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x[0]", "x[1]")
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["y = 0", "y = 1"]
    # the points' colours are the regions' (the regions' paler: drawn with alpha)
    points = [colors.to_hex(c.get_facecolor()[0]) for c in ax.collections
              if c.get_label().startswith("y =")]
    regions = next(c for c in ax.collections if hasattr(c, "levels"))
    assert points == [colors.to_hex(regions.cmap(k)) for k in (0.0, 1.0)]
    wrong = viz.plot_decision_boundary(Scorer(-1.0), X, y, h=0.5)
    assert wrong.axes[0].get_title().endswith("(accuracy 0% on its 4 points)")


def test_decision_boundary_default_grid_is_fine_but_affordable():
    viz = viz_with("matplotlib")
    from micrograd_c.data import make_moons
    np = pytest.importorskip("numpy")
    np.random.seed(0)
    X, y = make_moons(n_samples=100, noise=0.1)  # the demo's
    model = Scorer(1.0, -1.0)
    viz.plot_decision_boundary(model, X, y * 2 - 1)
    grid = model.calls - len(X)  # (and one call per point, for the accuracy)
    assert 2000 <= grid <= 5000
    notebook = Scorer(1.0, -1.0)
    viz.plot_decision_boundary(notebook, X, y, h=0.25)  # h still chooses the step
    assert notebook.calls - len(X) < 400
