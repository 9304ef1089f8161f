"""python -m benchmarks [--quick] [--repeats N] [--processes N] [--json FILE] [--clock cpu|wall]
                       [--workloads 1,2] [--impls a,b] [--baseline DIR]

Runs every workload on every implementation installed, each pair in
subprocesses of its own, and prints a table of medians, each against
micrograd_c's, then the project's speed and memory targets. Exits 1 if a run
failed or an implementation disagreed with micrograd_c's numbers.
"""
import argparse
import datetime
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from .impls import COMPILED, LABELS, MODULE, MOONS_ONLY, NAMES

ROOT = Path(__file__).resolve().parent.parent

# number, worker name, title, unit, the size (full, --quick), and the implementations it is for
WORKLOADS = [
    (1, "build", "build a graph of {units:,} mixed ops, then free it", "ns/op", (200_000, 10_000)),
    (2, "backward", "backward() over that graph, per node of each one's own graph", "ns/node", (200_000, 10_000)),
    (3, "mlp", "MLP(2, [16, 16, 1]) forward + backward, one sample", "µs/step", (0, 0)),
    (4, "moons", "one training step of micrograd's moons demo, {samples} samples", "ms/step", (100, 20)),
    (5, "chain", "backward() over a chain of {units:,} nodes", "ns/node", (1_000_000, 20_000)),
    (6, "mnist", "MLP(784, [50, 10]) trained an image a step, micrograd's loop", "ms/step", (0, 0)),
    (7, "mnist-sgd", "MLP(784, [50, 10]) trained an image a step, optim.SGD (micrograd: its loop)",
     "ms/step", (0, 0)),
    (8, "access", "read and write .data and .grad, {units:,} accesses", "ns/access", (10_000, 2_000)),
    (9, "moons-compiled", "the moons step with compile: batch(X, y, reduce='mean') + compiled L2 + SGD, "
     "{samples} samples", "ms/step", (100, 100)),
    (10, "mnist-batch", "MLP(784, [50, 10]) trained a minibatch of {units} a step (compile's batch; "
     "torch: batched float32 tensors), per image", "µs/image", (32, 32)),
    (11, "record", "compile's first call (run and record) of one MNIST image's loss", "ms/call", (0, 0)),
    (12, "threads", "compile's batch of {samples:,} moons samples, forward + backward, every core "
     "(wall time)", "ms/step", (20_000, 10_000)),
]
SCALE = {"ns/op": 1, "ns/node": 1, "ns/access": 1, "µs/step": 1e3, "µs/image": 1e3, "ms/step": 1e6,
         "ms/call": 1e6}
EXPECTED_ERRORS = {("chain", "micrograd"), ("chain", "micrograd-nogc")}  # its backward is recursive
TOLERANCE = 1e-9  # micrograd's set order moves the last bits; the rest agree far closer


def commit_of(tree):
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=tree,
                          capture_output=True, text=True).stdout.strip()


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    versions = {}
    for dist in ("micrograd-c", "micrograd", "torch", "numpy", "cffi"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    commit = commit_of(ROOT)
    return {"date": datetime.datetime.now().astimezone().isoformat(timespec="minutes"),
            "cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "os": platform.platform(), "load_average": os.getloadavg(), "commit": commit,
            "versions": versions}


def available(name):
    return importlib.util.find_spec(MODULE.get(name, "micrograd_c")) is not None


# The baseline's worker: this tree's (so both measure the same workloads), importing the
# baseline tree's micrograd_c (put first on sys.path once this tree's benchmarks package is in).
BASELINE_WORKER = ("import sys, runpy, benchmarks; sys.path.insert(0, sys.argv.pop(1)); "
                   "runpy.run_module('benchmarks.worker', run_name='__main__', alter_sys=True)")


# One thread for numpy's BLAS and for OpenMP (torch's) in every worker: under the cpu clock a
# process's time is all its threads', and a BLAS pool's idle threads spin for milliseconds after
# a call (numpy's OpenBLAS: 1.4 ms micrograd_c moons steps measured as 5.4 ms one step in three).
# With the cpu clock a second thread can only add time, so no implementation is slowed by this.
WORKER_ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")


def run(impl, workload, size, repeats, min_time, clock, baseline=None):
    """One subprocess; its JSON result, or {"error": ...} if it died.

    The baseline is micrograd_c as another checkout has it, built in place: this tree's
    worker runs with that tree's package, so its code and its build are the ones measured."""
    args = [str(size), str(repeats), str(min_time), clock]
    if impl == "baseline":
        cmd = [sys.executable, "-c", BASELINE_WORKER, str(Path(baseline).resolve()), "micrograd_c", workload]
    else:
        cmd = [sys.executable, "-m", "benchmarks.worker", impl, workload]
    p = subprocess.run(cmd + args, cwd=ROOT, capture_output=True, text=True, env=WORKER_ENV)
    if p.returncode != 0:
        tail = p.stderr.strip().splitlines()[-1:] or [f"exit status {p.returncode}"]
        return {"error": tail[0]}
    return json.loads(p.stdout)


def merge(runs):
    """One result from the same workload in several processes: all their times, the largest peak."""
    failed = [r for r in runs if "error" in r]
    if failed:
        return failed[0]
    merged = dict(runs[0], processes=len(runs))
    for key in ("times", "release_times"):
        if key in merged:
            merged[key] = [t for r in runs for t in r[key]]
    merged["peak_rss_delta"] = max(r["peak_rss_delta"] for r in runs)
    return merged


def difference(a, b):
    """The largest relative difference between two lists of checked numbers (inf if they do not pair up)."""
    if len(a) != len(b):
        return math.inf
    return max((abs(x - y) / max(abs(x), abs(y), TOLERANCE) for x, y in zip(a, b)), default=0.0)


def per_unit(r, unit):
    """Median time per unit of work, in the workload's unit."""
    return statistics.median(r["times"]) / r["units"] / SCALE[unit]


def fmt_ratio(x):
    return f"{x:,.0f}×" if x >= 100 else f"{x:.3g}×"


def mib(n):
    return f"{n / 2**20:,.1f} MiB"


def table(results, info, args):
    out = [f"micrograd_c benchmarks, {info['date']}, commit {info['commit'] or '?'}",
           f"machine: {info['cpu']}, {info['cores']} cores, Python {info['python']}, {info['os']}",
           f"load average at start: {' '.join(f'{x:.2f}' for x in info['load_average'])}; "
           + ", ".join(f"{k} {v}" for k, v in info["versions"].items()),
           f"medians of {args.repeats} repeats in each of {args.processes} processes"
           f"{' (--quick)' if args.quick else ''}, {args.clock} time; "
           "'vs C' = time / micrograd_c's time; peak = peak RSS over the process's RSS before the workload",
           ""]
    for number, name, title, unit, _ in WORKLOADS:
        rows = [(impl, r) for (w, impl), r in results.items() if w == name]
        if not rows:
            continue
        base = results.get((name, "micrograd_c"), {})
        shown = next((r for _, r in rows if "units" in r), {})
        out.append(f"{number}. {title.format(units=shown.get('units', 0), samples=shown.get('samples', '?'))}")
        out.append(f"   {'implementation':32} {'median':>15} {'vs C':>8} {'nodes':>11} {'peak':>12}  note")
        for impl, r in rows:
            note = r.get("error", "")
            if "times" in r:
                t = per_unit(r, unit)
                ratio = fmt_ratio(t / per_unit(base, unit)) if "times" in base else "-"
                median = f"{t:,.3g} {unit}" if t < 100 else f"{t:,.0f} {unit}"
            else:
                median, ratio = "-", "-"
            if name == "build" and impl == "micrograd-nogc":
                note = "never freed: the collector is off"
            elif name == "build" and "release_times" in r:
                note = f"{statistics.median(r['release_times']) / statistics.median(r['times']):.0%} of it freeing"
            if name == "mnist-batch" and impl == "torch":
                note = "torch.nn.Linear layers, batched float32 tensors, one thread"
            if "eager_times" in r:
                note = f"{statistics.median(r['times']) / statistics.median(r['eager_times']):.2f}× the eager call"
            if "one_thread_times" in r:
                note = (f"{r['threads']} threads: {statistics.median(r['one_thread_times']) / statistics.median(r['times']):.2f}×"
                        f" one thread's speed")
            if "difference" in r:
                note = f"DISAGREES with micrograd_c: relative difference {r['difference']:.2g}"
            nodes = f"{r['nodes']:,}" if "nodes" in r else ""
            peak = mib(r["peak_rss_delta"]) if "peak_rss_delta" in r else ""
            out.append(f"   {LABELS[impl]:32} {median:>15} {ratio:>8} {nodes:>11} {peak:>12}  {note}")
        out.append("")
    return out


def targets(results):
    """The project's targets: (what, value, met)."""
    def speedup(workload, other, unit):
        a, c = results.get((workload, other), {}), results.get((workload, "micrograd_c"), {})
        if "times" in a and "times" in c:
            return per_unit(a, unit) / per_unit(c, unit)

    found = []  # the targets: against micrograd as users run it, and building also with gc.disable()
    for what, workload, other, unit, goal in [
            ("backward, per node, vs micrograd (GC on)", "backward", "micrograd", "ns/node", 150),
            ("graph building, per op, vs micrograd (GC on)", "build", "micrograd", "ns/op", 5),
            ("graph building, per op, vs micrograd (gc.disable())", "build", "micrograd-nogc", "ns/op", 1.5),
            ("moons training step vs micrograd (GC on)", "moons", "micrograd", "ms/step", 100)]:
        s = speedup(workload, other, unit)
        if s is not None:
            found.append((f"{what}: ≥ {goal}× faster", fmt_ratio(s), s >= goal))
    # the drop-in speed targets: against micrograd with the collector off and numpy by hand, and
    # against the build before them (--baseline)
    for what, workload, other, unit, goal in [
            ("moons training step vs micrograd (gc.disable())", "moons", "micrograd-nogc", "ms/step", 56),
            ("moons training step vs numpy batched by hand (at most 25× slower)", "moons", "numpy",
             "ms/step", 1 / 25),
            ("moons training step vs the baseline build", "moons", "baseline", "ms/step", 1.4),
            ("MNIST-sized MLP, micrograd's loop, vs the baseline build", "mnist", "baseline", "ms/step", 3),
            ("MNIST-sized MLP, optim.SGD, vs the baseline build", "mnist-sgd", "baseline", "ms/step", 7),
            (".data/.grad reads and writes vs the baseline build", "access", "baseline", "ns/access", 2),
            ("building ops vs the baseline build (no slower)", "build", "baseline", "ns/op", 1),
            ("backward over workload 1's graph vs the baseline build (no slower)", "backward", "baseline",
             "ns/node", 1),
            ("backward over the chain vs the baseline build (no slower)", "chain", "baseline", "ns/node", 1)]:
        s = speedup(workload, other, unit)
        if s is not None:
            found.append((f"{what}: ≥ {fmt_ratio(goal)} faster", fmt_ratio(s), s >= goal))
    # compile's targets, in this run
    for what, workload, other, unit, goal in [
            ("moons step with compile vs the hand-written C step (at most 2.5× slower)", "moons-compiled",
             "c", "ms/step", 1 / 2.5),
            ("moons step with compile vs numpy batched by hand", "moons-compiled", "numpy", "ms/step", 2),
            ("MNIST-sized MLP, minibatch 32 with compile, vs torch's batched tensors (images/s ≥ 0.3×)",
             "mnist-batch", "torch", "µs/image", 0.3)]:
        s = speedup(workload, other, unit)
        if s is not None:
            found.append((f"{what}: ≥ {fmt_ratio(goal)} faster", fmt_ratio(s), s >= goal))
    mnist_batch, mnist_micrograd = results.get(("mnist-batch", "micrograd_c"), {}), results.get(("mnist", "micrograd"), {})
    if "times" in mnist_batch and "times" in mnist_micrograd:
        s = per_unit(mnist_micrograd, "µs/image") / per_unit(mnist_batch, "µs/image")
        found.append(("MNIST-sized MLP, minibatch 32 with compile, vs micrograd an image a step: for the record",
                      fmt_ratio(s), True))
    r = results.get(("record", "micrograd_c"), {})
    if "times" in r:
        s = statistics.median(r["times"]) / statistics.median(r["eager_times"])
        found.append(("compile's first call: at most 3× the eager call", f"{s:.2f}×", s <= 3))
    r = results.get(("threads", "micrograd_c"), {})
    if "times" in r:
        s = statistics.median(r["one_thread_times"]) / statistics.median(r["times"])
        found.append((f"a batch of {r['samples']:,} on {r['threads']} threads vs one: ≥ 1.7× faster",
                      f"{s:.2f}×", s >= 1.7))
    for workload, impl in (("mnist", "micrograd"), ("mnist-sgd", "micrograd")):
        s = speedup(workload, impl, "ms/step")
        if s is not None:
            found.append((f"{workload} vs micrograd (GC on, exp and log added): for the record",
                          fmt_ratio(s), True))
    moons = results.get(("moons", "micrograd_c"), {})
    if "times" in moons:
        demo = 100 * per_unit(moons, "ms/step") / 1000
        found.append(("the 100-step moons demo (100 × the median step): < 1 s", f"{demo:.2f} s", demo < 1))
    for number, workload in ((1, "build"), (5, "chain")):
        m = results.get((workload, "micrograd_c"), {}).get("memory_stats")
        if m:
            per_slot, per_live = m["bytes"] / m["capacity_nodes"], m["bytes"] / m["live_nodes"]
            found.append((f"C store bytes per node slot (bytes / capacity_nodes), workload {number}: ≤ 64",
                          f"{per_slot:.1f}", per_slot <= 64))
            found.append((f"C store bytes per live node at workload {number}'s peak "
                          f"({m['live_nodes']:,} live, {m['capacity_nodes']:,} slots): ≤ 64",
                          f"{per_live:.1f}", per_live <= 64))
    return found


def main():
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[2])
    ap.add_argument("--quick", action="store_true", help="small sizes, for CI (well under a minute)")
    ap.add_argument("--repeats", type=int, help="repeats per process (default 3)")
    ap.add_argument("--processes", type=int,
                    help="processes per implementation and workload, taking turns with the other "
                         "implementations' (default 3, --quick 1): a process's speed depends on where "
                         "its memory landed, micrograd's by up to 2x")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    ap.add_argument("--clock", choices=["cpu", "wall"], default="cpu",
                    help="cpu (default): the process's CPU time, which other processes on a shared machine "
                         "do not inflate; wall: elapsed time")
    ap.add_argument("--workloads", help="comma-separated numbers, e.g. 1,2 (default: all)")
    ap.add_argument("--impls", help=f"comma-separated, of: {', '.join(NAMES)} (default: all installed)")
    ap.add_argument("--baseline", metavar="DIR",
                    help="also measure micrograd_c as the checkout DIR has it, built in place "
                         "(python setup.py build_ext --inplace there): old and new build in one run")
    args = ap.parse_args()
    args.repeats = args.repeats or 3
    args.processes = args.processes or (1 if args.quick else 3)
    chosen = {int(w) for w in args.workloads.split(",")} if args.workloads else None
    impls = [n for n in NAMES if (not args.impls or n in args.impls.split(",")) and available(n)]
    if args.baseline:
        LABELS["baseline"] = f"micrograd_c at {commit_of(args.baseline) or args.baseline}"
        impls.insert(impls.index("micrograd_c") + 1 if "micrograd_c" in impls else 0, "baseline")

    info = machine()
    results, failed = {}, False
    # (a baseline from before compile has none of its workloads to run)
    baseline_compiles = bool(args.baseline) and (Path(args.baseline) / "micrograd_c" / "compile.py").exists()

    def runs_it(workload, impl):
        if workload in COMPILED:
            return impl in COMPILED[workload] and (impl != "baseline" or baseline_compiles)
        if impl in MOONS_ONLY:  # (numpy, C: the moons step only)
            return workload == "moons"
        return not (impl == "torch" and workload == "access")  # (a tensor's grad is no number)

    plan = [(w, impl) for w in WORKLOADS if chosen is None or w[0] in chosen
            for impl in impls if runs_it(w[1], impl)]
    if args.quick:  # importing torch costs seconds per subprocess: --quick checks it on the moons step only
        plan = [(w, impl) for w, impl in plan if impl != "torch" or w[1] == "moons"]
    # The implementations take turns, process by process, so that each is measured across the
    # same stretch of the machine's ups and downs; every other round in the reverse order, so
    # that none is always the first (or the one right after another) in a round.
    turns = [(w, p, impl) for w in WORKLOADS if chosen is None or w[0] in chosen
             for p in range(args.processes)
             for (w2, impl) in (plan if p % 2 == 0 else plan[::-1]) if w2 == w]
    runs = {}
    for i, ((number, name, _, _, sizes), p, impl) in enumerate(turns, 1):
        print(f"[{i}/{len(turns)}] workload {number} ({name}), {LABELS[impl]}, process {p + 1}/{args.processes} ...",
              file=sys.stderr, flush=True)
        t = time.monotonic()
        r = run(impl, name, sizes[1] if args.quick else sizes[0], args.repeats, 0.02 if args.quick else 0.2,
                args.clock, args.baseline)
        print(f"      {time.monotonic() - t:.1f} s{', ' + r['error'] if 'error' in r else ''}",
              file=sys.stderr, flush=True)
        runs.setdefault((name, impl), []).append(r)
    for (name, impl), rs in runs.items():
        results[(name, impl)] = r = merge(rs)
        if "error" in r and (name, impl) not in EXPECTED_ERRORS:
            failed = True

    for (name, impl), r in results.items():
        base = results.get((name, "micrograd_c"), {})
        if "check" in r and "check" in base and difference(r["check"], base["check"]) > TOLERANCE:
            r["difference"] = difference(r["check"], base["check"])
            failed = True

    print("\n".join(table(results, info, args)))
    found = targets(results)
    if found:
        print("targets (micrograd_c's; met or not, as measured in this run"
              + ("; --quick sizes are too small to judge them" if args.quick else "") + "):")
        for what, value, met in found:
            print(f"   {what:78} {value:>8}  {'met' if met else 'NOT MET'}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "machine": info, "quick": args.quick, "repeats": args.repeats, "processes": args.processes,
            "clock": args.clock,
            "results": [dict(r, workload=name, implementation=impl) for (name, impl), r in results.items()],
            "targets": [{"target": w, "value": v, "met": m} for w, v, m in found]}, indent=1))
    if failed:
        print("\nFAILED: a run errored or disagreed with micrograd_c (see the notes above)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
