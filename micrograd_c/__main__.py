"""python -m micrograd_c: train micrograd's moons demo and show how it goes.

The training loop is karpathy's demo notebook (see micrograd_c.moons): MLP(2,
[16, 16, 1]) on 100 half-moon points, svm max-margin loss + 1e-4 L2, SGD with
a rate falling from 1.0 to 0.1 over the steps. The progress bar (tqdm) goes to
stderr, the results to stdout.
"""
import argparse
import os
import sys
import time

from .moons import engine, train

PLOTS = ("decision_boundary", "training_curves", "grad_histograms")  # what --plot-dir saves


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m micrograd_c", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=100,
                   help="training steps (default 100); the learning rate falls from 1.0 to 0.1 over them")
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
    if (args.plot or args.plot_dir) and args.steps == 0:
        p.error("nothing to plot with --steps 0")
    # Found out now, not after training: where the pictures go, and what draws them.
    if args.plot and not os.path.isdir(os.path.dirname(os.path.abspath(args.plot))):
        p.error(f"--plot {args.plot}: no such directory {os.path.dirname(os.path.abspath(args.plot))}")
    if args.plot_dir and os.path.exists(args.plot_dir) and not os.path.isdir(args.plot_dir):
        p.error(f"--plot-dir {args.plot_dir}: not a directory")
    if args.plot or args.plot_dir:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            p.error("--plot and --plot-dir need matplotlib: pip install matplotlib (the viz extra)")
    return args


def main(argv=None):
    from tqdm import tqdm

    args = parse_args(argv)
    Value, MLP = engine(args.engine)
    print(f"micrograd_c demo: moons, MLP(2, [16, 16, 1]), {args.steps} steps, engine {args.engine}",
          flush=True)
    history, model, X, y = [], None, None, None
    start = time.perf_counter()
    with tqdm(total=args.steps, unit="step", file=sys.stderr, dynamic_ncols=True) as bar:
        for model, X, y, rec in train(Value, MLP, args.steps, args.seed):
            history.append(rec)
            bar.set_postfix_str(f"loss {rec['loss']:.4f}, accuracy {rec['accuracy']:.0%}", refresh=False)
            bar.update()
    elapsed = time.perf_counter() - start
    if history:
        print(f"final accuracy {history[-1]['accuracy'] * 100:.1f}%, loss {history[-1]['loss']:.6f}")
    print(f"time {elapsed:.2f} s")
    if args.plot or args.plot_dir:
        try:
            save_plots(args, model, X, y, history)
        except OSError as e:  # a full disk, no permission: one line, not a traceback
            sys.exit(f"cannot save the plots: {e}")
    return 0


def save_plots(args, model, X, y, history):
    from . import viz
    if args.plot:
        viz.plot_decision_boundary(model, X, y, path=args.plot)
        print(f"decision boundary: {args.plot}")
    if args.plot_dir:
        os.makedirs(args.plot_dir, exist_ok=True)
        paths = {name: os.path.join(args.plot_dir, name + ".png") for name in PLOTS}
        viz.plot_decision_boundary(model, X, y, path=paths["decision_boundary"])
        viz.plot_training_curves(history, path=paths["training_curves"])
        viz.plot_grad_histograms(model, path=paths["grad_histograms"])
        for path in paths.values():
            print(f"saved {path}")


if __name__ == "__main__":
    sys.exit(main())
