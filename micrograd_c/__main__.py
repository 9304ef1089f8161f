"""python -m micrograd_c [TASK] [options]: train one of micrograd_c's example tasks (the
moons demo if no task is named).

Every task takes --seed, --plot-dir DIR (its pictures) and --json PATH (its numbers); see
`python -m micrograd_c TASK --help`. The progress bar goes to stderr, the results to stdout.
"""
import argparse
import importlib
import json
import os
import sys

from ._tasks import MissingExtra

TASKS = ("moons", "digits", "names", "cartpole")  # each is the module micrograd_c.<task>


def parser():
    top = argparse.ArgumentParser(prog="python -m micrograd_c", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    tasks = top.add_subparsers(dest="task", metavar="TASK")
    for name in TASKS:
        task = importlib.import_module(f"micrograd_c.{name}")
        p = tasks.add_parser(name, help=task.HELP, description=task.__doc__,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
        task.add_arguments(p)
        p.add_argument("--seed", type=int, default=task.SEED,
                       help=f"seed for the data split, the weights and the sampling (default {task.SEED})")
        p.add_argument("--plot-dir", metavar="DIR", help="save the task's pictures in DIR")
        p.add_argument("--json", metavar="PATH", help="write the task's results to PATH as a JSON object")
    return top


def parse_args(argv):
    argv = list(argv)
    if not argv or argv[0] not in TASKS + ("-h", "--help"):
        argv.insert(0, "moons")  # `python -m micrograd_c --steps 200` is the moons demo, as it was
    top = parser()
    args = top.parse_args(argv)
    # Found out now, not after training: where the results go, and what draws the pictures.
    for flag, path in (("--plot-dir", args.plot_dir), ("--json", args.json and os.path.dirname(
            os.path.abspath(args.json)))):
        if flag == "--plot-dir" and path and os.path.exists(path) and not os.path.isdir(path):
            top.error(f"--plot-dir {path}: not a directory")
        if flag == "--json" and path and not os.path.isdir(path):
            top.error(f"--json {args.json}: no such directory {path}")
    task = importlib.import_module(f"micrograd_c.{args.task}")
    if hasattr(task, "check_arguments"):
        task.check_arguments(args, top.error)
    if args.plot_dir or getattr(args, "plot", None):
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            top.error("--plot and --plot-dir need matplotlib: pip install 'micrograd-c[viz]'")
    return task, args


def main(argv=None):
    task, args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.plot_dir:
        os.makedirs(args.plot_dir, exist_ok=True)
    try:
        results = task.run(args)
    except MissingExtra as e:  # one line naming the extra, not a traceback
        sys.exit(f"python -m micrograd_c {args.task}: {e}")
    except OSError as e:  # a picture that cannot be written (a full disk, no permission)
        sys.exit(f"cannot save the plots: {e}")
    if args.json:
        try:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=2)
                f.write("\n")
        except OSError as e:
            sys.exit(f"cannot write {args.json}: {e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
