"""Pictures of a graph and of its gradients (needs the viz extra: pip install matplotlib graphviz).

    from micrograd_c.viz import *
    dot = draw_dot(loss)            # a graphviz.Digraph: one box per Value (label | data | grad), one per op
    render(dot, "graph.svg")        # or .png, .pdf: needs Graphviz's `dot` program
    plot_grad_histograms(model, "grads.png")

    plot_grad_flow(model, "flow.png")          # each layer's mean and largest |grad|
    plot_grad_scatter(model, "scatter.png")    # weight grads against bias grads, by layer
    history.append({"step": k, "grad_norms": grad_norms(model)})  # after each backward
    plot_grad_norms(history, "norms.png")      # each layer's grad norm, step after step

Works on micrograd_c Values, reference Values and karpathy's micrograd Values.
graphviz and matplotlib are imported only when a function needs them, so this
module imports without them. The plots are drawn on a matplotlib Figure made
directly (no pyplot), so they never touch pyplot's state or need a display.
"""
import importlib
import math
import os

__all__ = ["draw_dot", "render", "plot_grad_histograms", "plot_weight_grad_heatmap",
           "plot_training_curves", "plot_decision_boundary", "grad_stats", "grad_norms",
           "plot_grad_flow", "plot_grad_scatter", "plot_grad_norms", "plot_confusion_matrix"]

_PIP = "pip install matplotlib graphviz (the viz extra)"
_DOT = "install Graphviz (apt-get install graphviz, brew install graphviz, or https://graphviz.org/download/)"

# Fill colours: of draw_dot's boxes by role, and of the two classes of plot_decision_boundary
_OP_FILL, _PARAM_FILL, _INPUT_FILL = "#e8e8e8", "#fde0c5", "#d6e6f5"
_CLASS_COLOURS = ["#d7301f", "#2b6cb0", "#2ca25f", "#756bb1"]  # red, blue; then more if y has more


def _need(module):
    try:
        return importlib.import_module(module)
    except ImportError as e:
        package = module.split(".")[0]
        hint = f"{_PIP}, and {_DOT}" if package == "graphviz" else _PIP
        raise ImportError(f"micrograd_c.viz needs the {package} package: {hint}", name=package) from e


# ---- draw_dot ----

def _kids(v):
    """v's children, and whether they are in the order the op took them: in order where the
    Value keeps them (micrograd_c, reference), else micrograd's set."""
    kids = getattr(v, "_children", None)
    return (tuple(v._prev), False) if kids is None else (tuple(kids), True)


def _trace(root, max_nodes):
    """root's Values, each once (root first); one (child, parent) edge per operand; and each
    Value's (children, whether they are in the op's order)."""
    # Keyed by the Value itself (a micrograd_c Value is one object per node; so it works for any
    # Value class that hashes its objects apart).
    seen, edges, todo = {root: None}, [], [root]  # seen: a dict as a set that keeps its order
    kids = {}
    while todo:
        v = todo.pop()
        kids[v] = _kids(v)
        for child in kids[v][0]:
            edges.append((child, v))
            if child not in seen:
                if max_nodes is not None and len(seen) >= max_nodes:
                    raise ValueError(
                        f"the graph has more than max_nodes={max_nodes} Values (stopped counting at "
                        f"{len(seen) + 1}); pass a larger max_nodes (or None) to draw it anyway, "
                        f"but Graphviz gets slow and the picture unreadable past a few hundred")
                seen[child] = None
                todo.append(child)
    return list(seen), edges, kids


def _closure_operands(v):
    """(self, other) of the op that made v, from the closure micrograd gives it as `_backward`;
    None if it has none. (micrograd keeps a Value's children in a set, which loses their order.)"""
    fn = getattr(v, "_backward", None)
    code = getattr(fn, "__code__", None)
    cells = dict(zip(code.co_freevars, fn.__closure__ or ())) if code is not None else {}
    try:
        return cells["self"].cell_contents, cells["other"].cell_contents
    except (KeyError, ValueError):  # no such names; or a cell not filled in
        return None


def _neuron_roles(values, kids):
    """{leaf: 'b' | 'w[i]' | 'x[i]'} for the leaves of the neurons in the graph; kids as _trace's.

    An nn neuron (micrograd's, the reference's, and micrograd_c's fused one, which shows itself
    as this chain) is micrograd's sum(w*x, b): the chain ((b + w0*x0) + w1*x1) + ..., its ReLU
    aside. So a '+' whose operands are, in this order, a leaf or such a chain, then a '*' of a
    leaf weight and an input, is the chain's step i, i counted from the bottom. Only Values
    whose operands' order is known are matched (so the + of `x*2 + 1`, whose product comes
    first, is not). (A `c + a*b` of three leaves is exactly what a Neuron(1) makes: it is
    labelled as one.)
    """
    def leaf(v):
        return not kids[v][0]

    def operands(v):  # in the op's order, or None
        children, ordered = kids[v]
        return children if ordered else _closure_operands(v)

    def step(s):  # (what s adds to, w, x) if s can be a step of a chain, else None
        pair = operands(s) if s._op == "+" else None
        if pair is None or len(pair) != 2 or pair[1]._op != "*":
            return None
        product = operands(pair[1])
        if product is None or len(product) != 2 or not leaf(product[0]):
            return None
        below, w, x = pair[0], *product
        # a neuron's bias, weight and input are three Values (so x + x*2 is none)
        return (below, w, x) if len({below, w, x}) == 3 else None

    length = {}  # Value -> how many steps the chain below it has (0: a leaf), or None: no chain
    roles = {}
    for top in values:
        path, v = [], top
        while v not in length:  # walk down to a Value seen before, then number the steps going up
            if leaf(v):
                length[v] = 0
            elif (parts := step(v)) is None:
                length[v] = None
            else:
                path.append((v, parts))
                v = parts[0]
        n = length[v]
        for s, (below, w, x) in reversed(path):
            length[s] = n = None if n is None else n + 1
            if n is not None:
                if n == 1:
                    roles.setdefault(below, "b")
                roles.setdefault(w, f"w[{n - 1}]")
                if leaf(x):  # an input (in a hidden layer, x is a neuron's output: its own box)
                    roles.setdefault(x, f"x[{n - 1}]")
    return roles


def _record(*fields):
    """A Graphviz record label, "{ a | b }", with the characters records give a meaning escaped."""
    escape = str.maketrans({c: "\\" + c for c in "{}|<>\\"})
    return "{ " + " | ".join(f.translate(escape) for f in fields) + " }"


def draw_dot(root, format="svg", rankdir="LR", max_nodes=500):
    """The graph that computed root, as a graphviz.Digraph (karpathy's trace_graph drawing).

    One record box per Value, "{ label | data | grad }" ("{ data | grad }" for a Value
    without a label), and one node per operation, labelled by the Value's _op, with edges
    child -> op -> result: micrograd's graph (a number operand, the 2 in x * 2, is a leaf; an
    nn neuron is its chain of * and + nodes, whose unlabelled input, weight and bias leaves
    are labelled x[i], w[i] and b, and shaded blue for inputs and orange for parameters).
    format and rankdir ('LR' or 'TB') are Graphviz's. Graphs of more than max_nodes Values
    (None: no limit) raise ValueError, found without walking the rest of the graph. Draw
    with render(dot, path).
    """
    graphviz = _need("graphviz")
    values, edges, kids = _trace(root, max_nodes)
    roles = _neuron_roles(values, kids)
    font = {"fontname": "Helvetica", "fontsize": "11"}
    dot = graphviz.Digraph(format=format, graph_attr={"rankdir": rankdir, **font},
                           node_attr={**font, "style": "filled", "fillcolor": "white"},
                           edge_attr={"color": "#555555", "arrowsize": "0.7"})
    name = {}
    for k, v in enumerate(values):
        name[v] = uid = f"v{k}"
        label = getattr(v, "label", "") or roles.get(v, "")  # micrograd's Values have no label
        fields = ([label] if label else []) + ["data %.4f" % v.data, "grad %.4f" % v.grad]
        role = roles.get(v, "")
        fill = {"x": _INPUT_FILL, "w": _PARAM_FILL, "b": _PARAM_FILL}.get(role[:1])
        dot.node(uid, label=_record(*fields), shape="record", **({"fillcolor": fill} if fill else {}))
        if v._op:
            dot.node(uid + "op", label=v._op, fillcolor=_OP_FILL)
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


# ---- the plots ----

def _figure(**kwargs):
    # 150 dpi: sharp enough for slides; set on the Figure (not at savefig) so that its pixel
    # transforms are the saved PNG's
    return _need("matplotlib.figure").Figure(layout="constrained", dpi=150, **kwargs)


def _done(fig, path):
    if path is not None:
        fig.savefig(path)
    return fig


def _style(ax, title, xlabel, ylabel, grid=False, xlabel_loc="center"):
    """The title and axis labels every panel has; light grid lines behind the data if grid."""
    ax.set_title(title)
    ax.set_xlabel(xlabel, loc=xlabel_loc)
    ax.set_ylabel(ylabel)
    if grid:
        ax.grid(True, color="#dddddd", linewidth=0.8)
        ax.set_axisbelow(True)


def _not_finite(count):
    """What a title says of count inf/nan grads (exploding grads are worth seeing, not a crash)."""
    return f", {count} inf/nan" if count else ""


def _describe(module):
    """A module's name and shape: 'Linear 16→16', 'Layer 2→16 ReLU', 'Neuron 3→1'."""
    neurons = getattr(module, "neurons", None)
    if neurons is None and hasattr(module, "w"):
        neurons = [module]  # a Neuron alone
    text = type(module).__name__
    if neurons:
        text += f" {len(neurons[0].w)}→{len(neurons)}"
        if getattr(neurons[0], "nonlin", False):
            text += " ReLU"
    return text


def _layers(model):
    """(index, layer) of each layer of model (model.layers, or model itself) that has parameters."""
    layers = [(i, layer) for i, layer in enumerate(getattr(model, "layers", [model]))
              if layer.parameters()]
    if not layers:
        raise ValueError(f"{type(model).__name__} has no parameters: there are no gradients to plot")
    return layers


def plot_grad_histograms(model, path=None, bins=20, title=None):
    """A histogram of the gradients of each layer of model (model.layers, or model itself).

    One panel per layer that has parameters (a Sequential's activations have none: no panel),
    titled with the layer's index in model.layers, its shape and its count of grads; inf and
    nan grads are counted there, not plotted. Up to 4 panels a row.
    """
    ticker = _need("matplotlib.ticker")
    layers = _layers(model)
    ncols = min(len(layers), 4)
    nrows = -(-len(layers) // ncols)
    fig = _figure(figsize=(3.2 * ncols, 2.8 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[len(layers):]:
        ax.remove()  # the last row's empty places
    for ax, (i, layer) in zip(axes, layers):
        grads = [p.grad for p in layer.parameters()]
        finite = [g for g in grads if math.isfinite(g)]
        ax.hist(finite, bins=bins, color="#4c72b0", edgecolor="white", linewidth=0.5)
        if finite and min(finite) <= 0 <= max(finite):  # (else it would squeeze the bars to a side)
            ax.axvline(0, color="#888888", linewidth=0.8, linestyle="--")
        counts = f"{len(grads)} grads{_not_finite(len(grads) - len(finite))}"
        # (the x label on the left, out of the way of the power or offset at the right)
        _style(ax, f"layer {i}: {_describe(layer)}\n{counts}", "gradient", "count", grid=True,
               xlabel_loc="left")
        # Few x ticks, and small or large grads as "2 ... ×10⁻⁵" (the power, or an offset
        # shared by grads bunched far from 0, once at the axis' end), not as long decimals
        # that run into each other
        ax.xaxis.set_major_locator(ticker.MaxNLocator(nbins=4))
        ax.yaxis.set_major_locator(ticker.MaxNLocator(nbins=5, integer=True))
        formatter = ticker.ScalarFormatter(useMathText=True)
        formatter.set_powerlimits((-2, 3))
        ax.xaxis.set_major_formatter(formatter)
    by_layer = ", by layer" if hasattr(model, "layers") else ""
    fig.suptitle(title or f"Gradients of {type(model).__name__}'s parameters{by_layer}")
    return _done(fig, path)


def plot_weight_grad_heatmap(layer, path=None, title=None):
    """The gradient of each weight of a Layer: one row per neuron, one column per input."""
    ticker = _need("matplotlib.ticker")
    grads = [[w.grad for w in n.w] for n in layer.neurons]
    finite = [abs(g) for row in grads for g in row if math.isfinite(g)]
    # colour scale symmetric about 0, so 0 is white and the sign is the hue
    m = max(finite, default=0.0) or 1.0
    rows, cols = len(grads), len(grads[0]) if grads else 0
    # square cells unless that makes a sliver (a 50 x 784 layer): then cells fill the figure
    aspect = "equal" if max(rows, cols) <= 3 * max(min(rows, cols), 1) else "auto"
    fig = _figure(figsize=(6.4, 4.8) if aspect == "equal" else (8, 4.5))
    ax = fig.subplots()
    image = ax.imshow(grads, cmap="RdBu_r", vmin=-m, vmax=m, aspect=aspect)
    fig.colorbar(image, ax=ax, label="gradient ∂loss/∂w", shrink=0.9)
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))  # input and neuron numbers, not 0.25
    ax.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    lost = rows * cols - len(finite)
    _style(ax, title or f"Weight gradients of {_describe(layer)}{_not_finite(lost)}",
           "input", "neuron")
    return _done(fig, path)


def plot_training_curves(history, path=None, title=None):
    """Loss (and accuracy, if every record has it) against step; history: [{'step', 'loss', 'accuracy'}].

    accuracy is a fraction (0.97), shown as a percent.
    """
    ticker = _need("matplotlib.ticker")
    steps = [h["step"] for h in history]
    curves = ["loss"] + (["accuracy"] if all("accuracy" in h for h in history) else [])
    fig = _figure(figsize=(4.5 * len(curves), 3.4))
    for ax, key, colour in zip(fig.subplots(1, len(curves), squeeze=False)[0], curves,
                               ["#c44e52", "#4c72b0"]):
        ys = [h[key] for h in history]
        percent = key == "accuracy"
        ax.plot(steps, ys, color=colour, linewidth=1.8, marker="o" if len(ys) <= 20 else None,
                markersize=3)  # (a short run's points, each a step, are worth seeing)
        ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))  # steps are whole numbers
        if percent:
            ax.yaxis.set_major_formatter(ticker.PercentFormatter(xmax=1))
            ax.set_ylim(min([0.5, *ys]) - 0.02, 1.02)  # from 50%, a coin's, unless it did worse
        last = "" if not ys else f" (last {ys[-1]:.0%})" if percent else f" (last {ys[-1]:.4g})"
        _style(ax, key + last, "step", "accuracy (%)" if percent else key, grid=True)
    fig.suptitle(title or "Training")
    return _done(fig, path)


def _score(model, Value, point):
    """model's score for a point: model([Value(x0), Value(x1)]).data (a one-output list's first)."""
    out = model(list(map(Value, point)))
    return (out[0] if isinstance(out, list) else out).data


def plot_decision_boundary(model, X, y, path=None, h=None, title=None):
    """Where model(x) > 0 over a grid covering the points X (n x 2), with the points coloured by y.

    As in karpathy's demo notebook; each grid point is scored as
    model([Value(x0), Value(x1)]).data, with the Value class of model's parameters. A score
    > 0 is a vote for y's larger class, else for its smaller one; each class's region has
    its points' colour. h is the grid's step; None picks 60 steps along the longer side
    (the moons: 60 x 42, ~2,500 points, each one model call; the notebook's h=0.25 is 20 x 14,
    whose region edges are visibly jagged).
    """
    import numpy as np  # a dependency of micrograd_c itself

    ListedColormap = _need("matplotlib.colors").ListedColormap
    X, y = np.asarray(X, dtype=float), np.asarray(y)
    classes = list(np.unique(y))
    colours = [_CLASS_COLOURS[k % len(_CLASS_COLOURS)] for k in range(len(classes))]
    Value = type(model.parameters()[0])
    (x0, x1), (y0, y1) = ((X[:, k].min() - 1, X[:, k].max() + 1) for k in (0, 1))
    if h is None:
        h = max(x1 - x0, y1 - y0) / 60
    xx, yy = np.meshgrid(np.arange(x0, x1, h), np.arange(y0, y1, h))
    scores = np.reshape([_score(model, Value, p) for p in np.c_[xx.ravel(), yy.ravel()]], xx.shape)

    fig = _figure(figsize=(7, 5))
    ax = fig.subplots()
    # The region's edge where the score crosses 0, interpolated between grid points (scores
    # clipped, so that inf is drawn too); explicit levels, so the colours stay whichever side
    # is empty: <= 0 the first class's colour, > 0 the last's.
    regions = ListedColormap([colours[0], colours[-1]])
    ax.contourf(xx, yy, np.clip(scores, -1, 1), levels=[-1.5, 0, 1.5], cmap=regions, alpha=0.25)
    if scores.min() <= 0 < scores.max():
        ax.contour(xx, yy, scores, levels=[0], colors="#333333", linewidths=1)
    for c, colour in zip(classes, colours):
        points = X[y == c]
        ax.scatter(points[:, 0], points[:, 1], s=30, color=colour, edgecolors="white",
                   linewidths=0.6, label=f"y = {c}")
    ax.set_xlim(xx.min(), xx.max())
    ax.set_ylim(yy.min(), yy.max())
    ax.legend(title="class", loc="upper right", framealpha=0.9)
    if title is None:
        title = f"Decision boundary of {type(model).__name__}"
        if len(classes) == 2:
            right = [(_score(model, Value, p) > 0) == (c == classes[1]) for p, c in zip(X, y)]
            title += f" (accuracy {np.mean(right):.0%} on its {len(X)} points)"
    _style(ax, title, "x[0]", "x[1]")
    return _done(fig, path)


# ---- gradients, layer by layer: as they are now, and over training ----

def grad_stats(model):
    """The size of each layer's gradients: a dict a layer (model.layers, or model itself; those
    with parameters), in order, for plot_grad_flow, and, recorded step after step, plot_grad_norms:

        {"layer": "layer 0: Linear 4→32", "count": 160 (its parameters),
         "norm": the L2 norm of its grads, "mean": their mean |grad|, "max": their largest |grad|,
         "nonfinite": how many grads are inf or nan (left out of norm, mean and max)}

    The layer is named as plot_grad_histograms titles it. Reads each grad once (~0.5 µs each).
    """
    stats = []
    for i, layer in _layers(model):
        grads = [p.grad for p in layer.parameters()]
        finite = [abs(g) for g in grads if math.isfinite(g)]
        stats.append({"layer": f"layer {i}: {_describe(layer)}", "count": len(grads),
                      "norm": math.sqrt(math.fsum(g * g for g in finite)),
                      "mean": math.fsum(finite) / len(finite) if finite else math.nan,
                      "max": max(finite, default=math.nan), "nonfinite": len(grads) - len(finite)})
    return stats


def grad_norms(model):
    """{layer: the norm of its grads}, from grad_stats: a record of what plot_grad_norms draws."""
    return {s["layer"]: s["norm"] for s in grad_stats(model)}


def _layer_ticks(ax, names):
    """The layers' names under their places 0, 1, ... on the x axis, one per line of text."""
    ax.set_xticks(range(len(names)), [name.replace(": ", "\n") for name in names])
    ax.set_xlim(-0.6, len(names) - 0.4)


def plot_grad_flow(model, path=None, title=None):
    """How much gradient reaches each layer of model: bars of its mean |grad| in front of its
    largest, a layer a place, on a log scale (a layer far below the others learns slowly: its
    grads vanish on the way back; far above, they explode). inf and nan grads are counted in
    the title, not plotted."""
    stats = grad_stats(model)
    fig = _figure(figsize=(max(4.8, 1.4 * len(stats) + 1.6), 3.8))
    ax = fig.subplots()
    places = range(len(stats))
    ax.bar(places, [s["max"] for s in stats], width=0.6, color="#9ecae1", label="largest |grad|")
    ax.bar(places, [s["mean"] for s in stats], width=0.6, color="#08519c", label="mean |grad|")
    ax.set_yscale("log")
    # whole decades from below the shortest bar to above the tallest: the axis' labels are
    # powers of ten, not the cramped "4×10⁻²" of a range inside one decade
    sizes = [x for s in stats for x in (s["mean"], s["max"]) if x > 0]  # (nan > 0 is False)
    if sizes:
        low, high = math.floor(math.log10(min(sizes))), math.ceil(math.log10(max(sizes)))
        ax.set_ylim(10.0 ** low, 10.0 ** max(high, low + 1))
    _layer_ticks(ax, [s["layer"] for s in stats])
    lost = sum(s["nonfinite"] for s in stats)
    _style(ax, title or f"Gradient flow, by layer{_not_finite(lost)}", "", "|gradient|", grid=True)
    ax.legend(fontsize="small", framealpha=0.9)
    return _done(fig, path)


def plot_grad_scatter(model, path=None, title=None):
    """Each weight's gradient (x) against its neuron's bias gradient (y), a panel a layer of
    neurons (model.layers, or model itself). For one sample ∂L/∂w_ij = x_j · ∂L/∂b_i, so each
    input makes a line through 0; for a batch, a cloud along them. Points on the y axis are
    weights of inputs that were 0; at the origin, neurons that passed no gradient (a dead
    ReLU). inf and nan grads are counted in a panel's title, not plotted."""
    ticker = _need("matplotlib.ticker")
    layers = [(i, layer) for i, layer in _layers(model)
              if getattr(layer, "neurons", None) or hasattr(layer, "w")]
    if not layers:
        raise ValueError(f"{type(model).__name__} has no layers of neurons (weights and a bias)")
    ncols = min(len(layers), 4)
    nrows = -(-len(layers) // ncols)
    fig = _figure(figsize=(3.4 * ncols, 3.2 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[len(layers):]:
        ax.remove()
    for ax, (i, layer) in zip(axes, layers):
        neurons = getattr(layer, "neurons", None) or [layer]
        pairs = [(w.grad, n.b.grad) for n in neurons for w in n.w]
        shown = [(x, y) for x, y in pairs if math.isfinite(x) and math.isfinite(y)]
        ax.axhline(0, color="#888888", linewidth=0.8)
        ax.axvline(0, color="#888888", linewidth=0.8)
        if shown:
            ax.scatter(*zip(*shown), s=7, alpha=0.5, color="#4c72b0", linewidths=0)
        _style(ax, f"layer {i}: {_describe(layer)}\n{len(pairs)} weights{_not_finite(len(pairs) - len(shown))}",
               "weight gradient ∂L/∂w", "bias gradient ∂L/∂b", grid=True, xlabel_loc="left")
        for axis in (ax.xaxis, ax.yaxis):  # (small grads as "2 ... ×10⁻⁵", as the histograms)
            axis.set_major_locator(ticker.MaxNLocator(nbins=4))
            formatter = ticker.ScalarFormatter(useMathText=True)
            formatter.set_powerlimits((-2, 3))
            axis.set_major_formatter(formatter)
    fig.suptitle(title or "Weight gradients against their neuron's bias gradient")
    return _done(fig, path)


def plot_grad_norms(history, path=None, title=None):
    """Each layer's gradient norm against step, a line a layer, on a log scale; history:
    [{"step": k, "grad_norms": grad_norms(model)}], recorded after each backward. (A line that
    falls away from the others: grads that vanish; that climbs: grads that explode.) inf and
    nan norms are counted in the title, not plotted."""
    ticker = _need("matplotlib.ticker")
    steps = [h["step"] for h in history]
    fig = _figure(figsize=(6.4, 3.8))
    ax = fig.subplots()
    lost = 0
    for name in history[0]["grad_norms"] if history else ():
        norms = [h["grad_norms"][name] for h in history]
        lost += sum(not math.isfinite(n) for n in norms)
        ax.plot(steps, norms, linewidth=1.4, label=name, marker="o" if len(norms) <= 20 else None,
                markersize=3)  # (a short run's points, each a step, are worth seeing)
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))  # steps are whole numbers
    _style(ax, title or f"Gradient norm, by layer{_not_finite(lost)}", "step", "‖gradient‖",
           grid=True)
    if ax.lines:
        ax.legend(fontsize="small", framealpha=0.9)
    return _done(fig, path)


# ---- classification ----

def plot_confusion_matrix(y_true, y_pred, path=None, labels=None, title=None):
    """How often each class (a row) was predicted as each class (a column), with the count in
    each cell; the right answers are the diagonal. labels: the classes, in the order shown
    (default: those in y_true and y_pred, sorted)."""
    import numpy as np  # a dependency of micrograd_c itself

    y_true, y_pred = np.asarray(y_true).tolist(), np.asarray(y_pred).tolist()
    if not y_true or len(y_true) != len(y_pred):
        raise ValueError(f"y_true and y_pred must be one label a sample, and not empty: they "
                         f"have {len(y_true)} and {len(y_pred)}")
    classes = list(labels) if labels is not None else sorted(set(y_true) | set(y_pred))
    row = {c: k for k, c in enumerate(classes)}
    counts = np.zeros((len(classes), len(classes)), dtype=int)
    for t, p in zip(y_true, y_pred):
        if t not in row or p not in row:
            raise ValueError(f"{t if t not in row else p!r} is not one of the labels {classes}")
        counts[row[t], row[p]] += 1
    fig = _figure(figsize=(5.6, 4.8))
    ax = fig.subplots()
    image = ax.imshow(counts, cmap="Blues", vmin=0)
    fig.colorbar(image, ax=ax, label="count", shrink=0.9)
    for (i, j), n in np.ndenumerate(counts):
        if n:  # (an empty cell stays blank: the few mistakes stand out)
            ax.text(j, i, str(n), ha="center", va="center", fontsize=8,
                    color="white" if n > counts.max() / 2 else "black")  # legible on dark blue
    names = [str(c) for c in classes]
    ax.set_xticks(range(len(classes)), names)
    ax.set_yticks(range(len(classes)), names)
    if title is None:
        right = np.trace(counts)
        title = f"Confusion matrix: {right} of {len(y_true)} right ({right / len(y_true):.1%})"
    _style(ax, title, "predicted", "true")
    return _done(fig, path)
