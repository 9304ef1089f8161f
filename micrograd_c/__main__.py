"""python -m micrograd_c: train micrograd's moons demo and show how it goes.

The training loop is karpathy's demo notebook (see micrograd_c.moons): MLP(2,
[16, 16, 1]) on 100 half-moon points, svm max-margin loss + 1e-4 L2, SGD with
a decaying rate.
"""
import argparse
import sys
import time

from .moons import engine, train


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m micrograd_c", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=100, help="training steps (default 100)")
    p.add_argument("--seed", type=int, default=1337,
                   help="seed for the data and the weights (default 1337, the notebook's)")
    p.add_argument("--engine", choices=["c", "reference"], default="c",
                   help="c: micrograd_c (default); reference: the pure-Python reference")
    p.add_argument("--plot", metavar="FILE.png", help="save the decision boundary to FILE.png")
    p.add_argument("--plot-dir", metavar="DIR",
                   help="save the decision boundary, training curves and gradient histograms in DIR")
    args = p.parse_args(argv)
    if args.steps < 0:
        p.error("--steps must be >= 0")
    return args


def progress(k, steps, rec, out):
    width = 30
    done = width * (k + 1) // max(steps, 1)
    line = (f"[{'#' * done}{'.' * (width - done)}] step {k + 1}/{steps}"
            f"  loss {rec['loss']:.4f}  accuracy {rec['accuracy'] * 100:.0f}%")
    if out.isatty():
        out.write("\r" + line)
        if k + 1 == steps:
            out.write("\n")
    elif (k + 1) % 10 == 0 or k + 1 == steps:
        out.write(line + "\n")
    out.flush()


def main(argv=None):
    args = parse_args(argv)
    Value, MLP = engine(args.engine)
    print(f"micrograd_c demo: moons, MLP(2, [16, 16, 1]), {args.steps} steps, engine {args.engine}")
    history, model, X, y = [], None, None, None
    start = time.perf_counter()
    for model, X, y, rec in train(Value, MLP, args.steps, args.seed):
        history.append(rec)
        progress(rec["step"], args.steps, rec, sys.stdout)
    elapsed = time.perf_counter() - start
    if history:
        print(f"final accuracy {history[-1]['accuracy'] * 100:.1f}%, loss {history[-1]['loss']:.6f}")
    print(f"time {elapsed:.2f} s")
    if args.plot or args.plot_dir:
        save_plots(args, model, X, y, history)
    return 0


def save_plots(args, model, X, y, history):
    import os
    from . import viz
    if model is None:
        sys.exit("nothing to plot: --steps 0")
    try:
        if args.plot:
            viz.plot_decision_boundary(model, X, y, path=args.plot)
            print(f"decision boundary: {args.plot}")
        if args.plot_dir:
            os.makedirs(args.plot_dir, exist_ok=True)
            paths = {name: os.path.join(args.plot_dir, name + ".png")
                     for name in ("decision_boundary", "training_curves", "grad_histograms")}
            viz.plot_decision_boundary(model, X, y, path=paths["decision_boundary"])
            viz.plot_training_curves(history, path=paths["training_curves"])
            viz.plot_grad_histograms(model, path=paths["grad_histograms"])
            for path in paths.values():
                print(f"saved {path}")
    except ImportError as e:
        sys.exit(str(e))


if __name__ == "__main__":
    sys.exit(main())
