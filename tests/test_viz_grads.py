"""micrograd_c.viz's gradient pictures, which every task draws (grad_stats and grad_norms, the
numbers; plot_grad_flow, plot_grad_scatter and plot_grad_norms), and the confusion matrix."""
import collections
import importlib
import math
import random
import sys

import numpy as np
import pytest

import micrograd_c
from micrograd_c import Value
from micrograd_c.nn import MLP, Linear, Neuron, ReLU, Sequential


def viz_with_matplotlib():
    pytest.importorskip("matplotlib")
    return importlib.import_module("micrograd_c.viz")


def trained(model, x=(0.5, -1.0, 2.0)):
    """model, with the grads of the loss sum(model(x)^2)."""
    out = model(list(x))
    sum(o * o for o in (out if isinstance(out, list) else [out])).backward()
    return model


def test_grad_stats_are_each_layers_norm_mean_and_largest_grad():
    from micrograd_c.viz import grad_norms, grad_stats  # (they need no matplotlib)
    random.seed(3)
    model = trained(MLP(3, [4, 4, 2]))
    model.layers[1].neurons[0].w[2].grad = math.inf  # exploding: counted, and left out
    stats = grad_stats(model)
    assert [s["layer"] for s in stats] == [  # as plot_grad_histograms titles them
        "layer 0: Layer 3→4 ReLU", "layer 1: Layer 4→4 ReLU", "layer 2: Layer 4→2"]
    for s, layer in zip(stats, model.layers):
        grads = np.array([p.grad for p in layer.parameters()])
        finite = np.abs(grads[np.isfinite(grads)])
        assert s["count"] == len(grads) and s["nonfinite"] == len(grads) - len(finite)
        assert s["norm"] == pytest.approx(np.linalg.norm(finite), rel=1e-12)
        assert s["mean"] == pytest.approx(finite.mean(), rel=1e-12)
        assert s["max"] == finite.max()
    assert [s["nonfinite"] for s in stats] == [0, 1, 0]
    assert grad_norms(model) == {s["layer"]: s["norm"] for s in stats}


def test_grad_stats_skip_modules_without_parameters():
    from micrograd_c.viz import grad_stats
    random.seed(4)
    model = trained(Sequential(Linear(3, 5), ReLU(), Linear(5, 1)))
    assert [s["layer"] for s in grad_stats(model)] == ["layer 0: Linear 3→5", "layer 2: Linear 5→1"]
    assert [s["layer"] for s in grad_stats(Neuron(3))] == ["layer 0: Neuron 3→1 ReLU"]  # alone
    nothing = grad_stats(Linear(2, 1))  # no backward yet: all 0
    assert (nothing[0]["norm"], nothing[0]["mean"], nothing[0]["max"]) == (0, 0, 0)
    with pytest.raises(ValueError, match="ReLU has no parameters"):
        grad_stats(ReLU())


def test_grad_flow_bars_are_each_layers_mean_in_front_of_its_largest(tmp_path):
    viz = viz_with_matplotlib()
    random.seed(5)
    model = trained(MLP(3, [4, 4, 1]))
    model.layers[0].neurons[0].b.grad = math.nan
    stats = viz.grad_stats(model)
    fig = viz.plot_grad_flow(model, tmp_path / "f.png")
    (ax,) = fig.axes
    largest, mean = ax.containers  # drawn in this order: the mean's bars in front
    assert [bar.get_height() for bar in largest] == [s["max"] for s in stats]
    assert [bar.get_height() for bar in mean] == [s["mean"] for s in stats]
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "layer 0\nLayer 3→4 ReLU", "layer 1\nLayer 4→4 ReLU", "layer 2\nLayer 4→1"]
    assert ax.get_yscale() == "log" and ax.get_title() == "Gradient flow, by layer, 1 inf/nan"
    low, high = ax.get_ylim()  # whole decades around every bar
    assert math.log10(low).is_integer() and math.log10(high).is_integer()
    assert low <= min(s["mean"] for s in stats) and max(s["max"] for s in stats) <= high
    assert (tmp_path / "f.png").stat().st_size > 0
    assert viz.plot_grad_flow(model, title="mine").axes[0].get_title() == "mine"


def test_grad_scatter_has_a_dot_for_every_weight_at_its_and_its_biases_gradient(tmp_path):
    viz = viz_with_matplotlib()
    random.seed(6)
    model = trained(MLP(3, [4, 2]))
    model.layers[1].neurons[0].w[1].grad = -math.inf
    fig = viz.plot_grad_scatter(model, tmp_path / "s.png")
    assert len(fig.axes) == 2
    for ax, layer in zip(fig.axes, model.layers):
        expected = [(w.grad, n.b.grad) for n in layer.neurons for w in n.w]
        finite = [p for p in expected if all(math.isfinite(g) for g in p)]
        (dots,) = ax.collections
        assert sorted(map(tuple, dots.get_offsets().tolist())) == sorted(finite)
        lost = len(expected) - len(finite)
        assert ax.get_title() == (f"layer {model.layers.index(layer)}: {viz._describe(layer)}\n"
                                  f"{len(expected)} weights" + (f", {lost} inf/nan" if lost else ""))
        assert ax.get_xlabel() == "weight gradient ∂L/∂w" and ax.get_ylabel() == "bias gradient ∂L/∂b"
    assert fig.axes[1].get_title().endswith("1 inf/nan")
    assert (tmp_path / "s.png").stat().st_size > 0


def test_grad_scatter_of_one_sample_puts_each_input_on_a_line_through_zero():
    """One sample: dL/dw_ij = x_j * dL/db_i, so every point of input j lies on y = x / x_j."""
    viz = viz_with_matplotlib()
    random.seed(2)
    model = MLP(3, [5, 1])
    x = [0.5, -2.0, 1.5]
    model(list(map(Value, x))).backward()
    (ax,) = viz.plot_grad_scatter(model.layers[0]).axes
    points = ax.collections[0].get_offsets().tolist()
    for k, (gw, gb) in enumerate(points):
        assert gw == pytest.approx(x[k % 3] * gb, rel=1e-12, abs=1e-300)


def test_grad_norms_draw_a_line_per_layer_against_step(tmp_path):
    viz = viz_with_matplotlib()
    random.seed(7)
    model = MLP(3, [4, 1])
    history = []
    for k in range(5):
        model.zero_grad()
        trained(model, (0.5 * k, -1.0, 2.0))
        history.append({"step": k, "grad_norms": viz.grad_norms(model)})
        for p in model.parameters():
            p.data -= 0.05 * p.grad
    fig = viz.plot_grad_norms(history, tmp_path / "n.png")
    (ax,) = fig.axes
    names = ["layer 0: Layer 3→4 ReLU", "layer 1: Layer 4→1"]
    assert [line.get_label() for line in ax.lines] == names
    for line, name in zip(ax.lines, names):
        assert list(line.get_xdata()) == list(range(5))
        assert list(line.get_ydata()) == [h["grad_norms"][name] for h in history]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == names
    assert (ax.get_yscale(), ax.get_xlabel(), ax.get_title()) == ("log", "step", "Gradient norm, by layer")
    assert all(float(x).is_integer() for x in ax.xaxis.get_ticklocs())  # steps, not 0.5s
    assert (tmp_path / "n.png").stat().st_size > 0


def test_grad_norms_count_what_a_log_scale_cannot_show():
    viz = viz_with_matplotlib()
    history = [{"step": k, "grad_norms": {"layer 0: Linear 2→1": g}}
               for k, g in enumerate([1.0, math.inf, math.nan, 0.5])]
    fig = viz.plot_grad_norms(history)
    assert fig.axes[0].get_title() == "Gradient norm, by layer, 2 inf/nan"
    fig.draw_without_rendering()  # (drawable: the inf and nan are left out, not an error)
    empty = viz.plot_grad_norms([], title="nothing yet")  # before the first record
    assert not empty.axes[0].lines and empty.axes[0].get_title() == "nothing yet"


def test_confusion_matrix_counts_each_pair(tmp_path):
    viz = viz_with_matplotlib()
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 4, 50)
    y_pred = np.where(rng.random(50) < 0.7, y_true, rng.integers(0, 4, 50))
    fig = viz.plot_confusion_matrix(y_true, y_pred, tmp_path / "c.png")
    ax = fig.axes[0]
    pairs = collections.Counter(zip(y_true.tolist(), y_pred.tolist()))
    counts = ax.images[0].get_array()
    assert counts.tolist() == [[pairs[t, p] for p in range(4)] for t in range(4)]
    texts = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts}
    assert texts == {pair: str(n) for pair, n in pairs.items()}  # a count in each non-empty cell
    right = sum(y_true == y_pred)
    assert ax.get_title() == f"Confusion matrix: {right} of 50 right ({right / 50:.1%})"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted", "true")
    assert (tmp_path / "c.png").stat().st_size > 0


def test_confusion_matrix_shows_the_labels_given_in_their_order():
    viz = viz_with_matplotlib()
    fig = viz.plot_confusion_matrix(["b", "a"], ["b", "b"], labels=["c", "b", "a"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["c", "b", "a"]
    assert ax.images[0].get_array().tolist() == [[0, 0, 0], [0, 1, 0], [0, 1, 0]]
    with pytest.raises(ValueError, match="'d' is not one of the labels"):
        viz.plot_confusion_matrix(["a"], ["d"], labels=["a", "b"])
    for y_true, y_pred in (([], []), ([1, 2], [1])):
        with pytest.raises(ValueError, match="one label a sample, and not empty"):
            viz.plot_confusion_matrix(y_true, y_pred)


def test_the_new_plots_say_how_to_install_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setitem(sys.modules, "matplotlib.ticker", None)
    monkeypatch.delitem(sys.modules, "micrograd_c.viz", raising=False)  # put back afterwards
    monkeypatch.delattr(micrograd_c, "viz", raising=False)
    viz = importlib.import_module("micrograd_c.viz")
    model = trained(Linear(3, 1))
    assert viz.grad_norms(model)  # the numbers need no matplotlib; the pictures do
    hint = r"matplotlib package: pip install matplotlib graphviz \(the viz extra\)$"
    for draw in (viz.plot_grad_flow, viz.plot_grad_scatter, lambda m: viz.plot_grad_norms([]),
                 lambda m: viz.plot_confusion_matrix([0], [0])):
        with pytest.raises(ImportError, match=hint):
            draw(model)
