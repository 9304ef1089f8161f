"""Pictures of a graph and of its gradients (needs the extra: pip install 'micrograd-c[viz]').

    from micrograd_c.viz import draw_dot, render, plot_grad_histograms
    dot = draw_dot(loss)            # a graphviz.Digraph: one box per Value (data | grad), one per op
    render(dot, "graph.svg")        # or .png, .pdf: needs Graphviz's `dot` program
    plot_grad_histograms(model, "grads.png")

Works on micrograd_c Values, reference Values and karpathy's micrograd Values.
graphviz and matplotlib are imported only when a function needs them, so this
module imports without them. The plots are drawn on a matplotlib Figure made
directly (no pyplot), so they never touch pyplot's state or need a display.
"""
import importlib
import math
import os

__all__ = ["draw_dot", "render", "plot_grad_histograms", "plot_weight_grad_heatmap",
           "plot_training_curves", "plot_decision_boundary"]

_PIP = "pip install 'micrograd-c[viz]'"
_DOT = "install Graphviz (apt-get install graphviz, brew install graphviz, or https://graphviz.org/download/)"


def _need(module):
    try:
        return importlib.import_module(module)
    except ImportError as e:
        package = module.split(".")[0]
        hint = f"{_PIP}, and {_DOT}" if package == "graphviz" else _PIP
        raise ImportError(f"micrograd_c.viz needs the {package} package: {hint}", name=package) from e


def _kids(v):
    """v's children, in order where the Value keeps them (micrograd_c, reference), else micrograd's set."""
    kids = getattr(v, "_children", None)
    return v._prev if kids is None else kids


def _trace(root, max_nodes):
    """root's Values, each once (root first), and one (child, parent) edge per operand."""
    # Keyed by the Value itself (a micrograd_c Value is one object per node; so it works for any
    # Value class that hashes its objects apart).
    seen, edges, todo = {root: None}, [], [root]  # seen: a dict as a set that keeps its order
    while todo:
        v = todo.pop()
        for child in _kids(v):
            edges.append((child, v))
            if child not in seen:
                if max_nodes is not None and len(seen) >= max_nodes:
                    raise ValueError(
                        f"the graph has more than max_nodes={max_nodes} Values (stopped counting at "
                        f"{len(seen) + 1}); pass a larger max_nodes (or None) to draw it anyway, "
                        f"but Graphviz gets slow and the picture unreadable past a few hundred")
                seen[child] = None
                todo.append(child)
    return list(seen), edges


def draw_dot(root, format="svg", rankdir="LR", max_nodes=500):
    """The graph that computed root, as a graphviz.Digraph (karpathy's trace_graph drawing).

    One record box per Value, "{ data | grad }", and one node per operation,
    labelled by the Value's _op, with edges child -> op -> result: micrograd's
    graph (a number operand, the 2 in x * 2, is a leaf; an nn neuron is its chain
    of * and + nodes). format and rankdir ('LR' or 'TB') are Graphviz's. Graphs of more than
    max_nodes Values (None: no limit) raise ValueError, found without walking
    the rest of the graph. Draw with render(dot, path).
    """
    graphviz = _need("graphviz")
    values, edges = _trace(root, max_nodes)
    dot = graphviz.Digraph(format=format, graph_attr={"rankdir": rankdir})
    name = {}
    for k, v in enumerate(values):
        name[v] = uid = f"v{k}"
        dot.node(uid, label="{ data %.4f | grad %.4f }" % (v.data, v.grad), shape="record")
        if v._op:
            dot.node(uid + "op", label=v._op)
            dot.edge(uid + "op", uid)
    for child, v in edges:
        dot.edge(name[child], name[v] + "op")
    return dot


def render(dot, path):
    """Write dot's picture to path, in the format its suffix names (.svg, .png, .pdf...); returns path."""
    graphviz = _need("graphviz")
    fmt = os.path.splitext(path)[1][1:].lower() or dot.format
    try:
        picture = dot.pipe(format=fmt)
    except graphviz.ExecutableNotFound as e:
        raise RuntimeError(f"drawing a graph needs Graphviz's `dot` program on PATH: {_DOT}") from e
    with open(path, "wb") as f:
        f.write(picture)
    return path


def _figure(**kwargs):
    return _need("matplotlib.figure").Figure(layout="constrained", **kwargs)


def _done(fig, path):
    if path is not None:
        fig.savefig(path)
    return fig


def plot_grad_histograms(model, path=None, bins=20):
    """A histogram of the gradients of each layer of model (model.layers, or model itself)."""
    layers = getattr(model, "layers", [model])
    fig = _figure(figsize=(3 * len(layers), 2.5))
    for i, (ax, layer) in enumerate(zip(fig.subplots(1, len(layers), squeeze=False)[0], layers)):
        grads = [p.grad for p in layer.parameters()]
        finite = [g for g in grads if math.isfinite(g)]  # exploding grads are worth seeing, not a crash
        ax.hist(finite, bins=bins)
        lost = len(grads) - len(finite)
        ax.set_title(f"layer {i}: {len(grads)} grads" + (f", {lost} inf/nan" if lost else ""))
        ax.set_xlabel("grad")
    return _done(fig, path)


def plot_weight_grad_heatmap(layer, path=None):
    """The gradient of each weight of a Layer: one row per neuron, one column per input."""
    grads = [[w.grad for w in n.w] for n in layer.neurons]
    # colour scale symmetric about 0, so 0 is white and the sign is the hue
    m = max((abs(g) for row in grads for g in row if math.isfinite(g)), default=0.0) or 1.0
    fig = _figure()
    ax = fig.subplots()
    image = ax.imshow(grads, cmap="RdBu_r", vmin=-m, vmax=m, aspect="auto")
    fig.colorbar(image, ax=ax, label="grad")
    MaxNLocator = _need("matplotlib.ticker").MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # input and neuron numbers, not 0.25
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("input")
    ax.set_ylabel("neuron")
    return _done(fig, path)


def plot_training_curves(history, path=None):
    """Loss (and accuracy, if every record has it) against step; history: [{'step', 'loss', 'accuracy'}]."""
    steps = [h["step"] for h in history]
    curves = ["loss"] + (["accuracy"] if all("accuracy" in h for h in history) else [])
    fig = _figure(figsize=(4 * len(curves), 3))
    for ax, key in zip(fig.subplots(1, len(curves), squeeze=False)[0], curves):
        ax.plot(steps, [h[key] for h in history])
        ax.set_xlabel("step")
        ax.set_ylabel(key)
    return _done(fig, path)


def plot_decision_boundary(model, X, y, path=None, h=0.25):
    """Where model(x) > 0 over a grid covering the points X (n x 2), with the points coloured by y.

    As in karpathy's demo notebook; each grid point is scored as
    model([Value(x0), Value(x1)]).data, with the Value class of model's parameters.
    """
    import numpy as np  # a dependency of micrograd_c itself

    X, y = np.asarray(X, dtype=float), np.asarray(y)
    Value = type(model.parameters()[0])
    xx, yy = np.meshgrid(np.arange(X[:, 0].min() - 1, X[:, 0].max() + 1, h),
                         np.arange(X[:, 1].min() - 1, X[:, 1].max() + 1, h))
    above = [model(list(map(Value, row))).data > 0 for row in np.c_[xx.ravel(), yy.ravel()]]
    fig = _figure()
    ax = fig.subplots()
    # explicit levels: one region or two, the same colours whichever side is empty
    ax.contourf(xx, yy, np.reshape(above, xx.shape), levels=[-0.5, 0.5, 1.5], cmap="Spectral", alpha=0.8)
    ax.scatter(X[:, 0], X[:, 1], c=y, s=40, cmap="Spectral")
    ax.set_xlim(xx.min(), xx.max())
    ax.set_ylim(yy.min(), yy.max())
    return _done(fig, path)
