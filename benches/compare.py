"""One command for the issue-15 comparison: runs shaped's criterion benches (tensor_ops,
train_step) and the same workloads in PyTorch (benches/pytorch/bench.py, when torch is
installed), and prints W1-W8 side by side with the ratios, the targets of issue 15 and, for
W1, W2, W4 and W7, the share of the measured FMA peak.

Run: python3 benches/compare.py [--quick] [--threads N] [--no-single-thread] [--skip-shaped]
                                [--omp-passive] [--peak GFLOPS] [--python PATH] [--only W4,W7]
                                [--rounds N]

* `--threads N` (default: the machine's CPU count) sets SHAPED_NUM_THREADS for shaped and
  torch.set_num_threads for PyTorch.
* W3 and W4 have targets per thread count, so they also run on 1 thread
  (SHAPED_NUM_THREADS=1 into criterion baseline `t1`, torch.set_num_threads(1)) unless
  `--no-single-thread`.
* PyTorch runs before and after shaped's benches and keeps its better figure per workload:
  the machine drifts (and other jobs load it), and a drift can then only favour PyTorch.
* `--only W4,W7` runs and prints only these workloads (a name selects every row it starts:
  `W7` is `W7 f64` and `W7 f32`, `W5` both W5 rows): criterion gets a filter of their
  benches (plus `fma_peak` for the share of peak), PyTorch `--only` with their keys.
* `--rounds N` repeats the whole comparison (PyTorch, shaped, PyTorch) N times, prints each
  round's tables and then the median of every figure and of every ratio over the rounds: on
  these VMs one round's ratios move by 10-40% from run to run (W5 fwd+bwd, W2 on 2 threads,
  W4 on 1), and a median of alternating rounds is the figure to compare with a target.
* `--skip-shaped` reads the criterion results already in target/criterion.
* `--omp-passive` runs PyTorch with OMP_WAIT_POLICY=passive: on a machine loaded by other
  jobs, PyTorch's spinning OpenMP workers get descheduled and its small ops (W7's cell steps)
  slow down by 10-30x; on a quiet machine leave PyTorch's default.

Flop counts per step (multiply-adds x 2, the products only; element-wise work not counted):

* W1 (N = 1024): 2 N^3 per product.
* W2 (batch B = 64, layers (i, o) = (784, 256), (256, 128), (128, 10)): forward 2B sum(i o),
  weight gradients 2B sum(i o), input gradients of layers 2 and 3 2B (256*128 + 128*10) (the
  input itself is untraced): 64.5 MFLOP. Issue 15 counted 6B sum(i o) = 90.1 MFLOP (also the
  first layer's input gradient, which neither library computes); its target "75% of the FMA
  peak" (~1900 steps/s at 227 GFLOP/s) is kept in that count.
* W4 (B = 16, S = 32, I = 64, H = 128, V = 64, N = B S rows): forward 2N (4H (I + H) + H V),
  backward 2N (4H I + 4H H + 4H H + 2 H V) (dW_ih, dW_hh, dh; the head's dW and dx): 294 MFLOP.
* W7 (N = 97 * 999 rows, H = 51; cell 1 has I = 1, cell 2 I = H): forward
  2N (4H (1 + H) + 4H * 2H + H), backward 2N (4H (1 + 2H) + 4H * 4H + 2H): 18.3 GFLOP.

The FMA peak comes from the criterion benches `fma_peak/{f32,f64}_{1t,2t}`
(benches/tensor_ops.rs, run in the same `cargo bench`): GFLOP/s = flops per iteration (over
all its threads: FMA_F32_FLOPS_PER_ITER, FMA_F64_FLOPS_PER_ITER, as the bench defines them) /
median ns. W7_f64's share is of the f64 peak (half the f32 one without it). Without the bench
the peak is "n/a" (or pass `--peak GFLOPS`, the f32 figure, measured elsewhere).
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRIT = os.path.join(ROOT, "target", "criterion")

# Flops of one iteration of the `fma_peak/*` benches over all its threads (benches/tensor_ops.rs:
# FMA_TRIPS (2^20) trips x 12 accumulators x lanes (16 f32, 8 f64) x 2).
FMA_F32_FLOPS_PER_ITER = (1 << 20) * 12 * 16 * 2
FMA_F64_FLOPS_PER_ITER = (1 << 20) * 12 * 8 * 2

W2_LAYERS = [(784, 256), (256, 128), (128, 10)]
W2_FLOPS = 2 * 64 * (2 * sum(i * o for i, o in W2_LAYERS) + sum(i * o for i, o in W2_LAYERS[1:]))
W2_FLOPS_ISSUE = 6 * 64 * sum(i * o for i, o in W2_LAYERS)
_n, _i, _h, _v = 16 * 32, 64, 128, 64
W4_FLOPS = 2 * _n * (4 * _h * (_i + _h) + _h * _v) + 2 * _n * (4 * _h * _i + 8 * _h * _h + 2 * _h * _v)
_n, _h = 97 * 999, 51
W7_FLOPS = 2 * _n * (4 * _h * (1 + _h) + 8 * _h * _h + _h) + 2 * _n * (4 * _h * (1 + 2 * _h) + 16 * _h * _h + 2 * _h)

# workload -> (criterion bench, value from median ns, unit, higher is better, PyTorch key,
#              flops per step or None)
WORKLOADS = {
    "W1": ("matmul/1024x1024", lambda ns: 2 * 1024**3 / ns, "GFLOP/s", True, "W1", 2 * 1024**3),
    "W2": ("train_step/mlp_784_256_128_10_b64", lambda ns: 1e9 / ns, "steps/s", True, "W2", W2_FLOPS),
    "W3": ("train_step/cnn_b32", lambda ns: 1e9 / ns, "steps/s", True, "W3", None),
    "W4": ("train_step/lstm_s32_b16_i64_h128", lambda ns: 1e9 / ns, "steps/s", True, "W4", W4_FLOPS),
    "W5 fwd": ("relu_add_4M/forward", lambda ns: 3 * 4 * (4 << 20) / ns, "GB/s", True, "W5", None),
    "W5 fwd+bwd": ("relu_add_4M/forward_backward", lambda ns: ns / 1e6, "ms", False, "W5_bwd", None),
    "W7 f64": ("train_step/time_seq_f64", lambda ns: ns / 1e9, "s/step", False, "W7_f64", W7_FLOPS),
    "W7 f32": ("train_step/time_seq_f32", lambda ns: ns / 1e9, "s/step", False, "W7_f32", W7_FLOPS),
    "W8": ("train_step/transformer_lm_b16_s128_d256", lambda ns: 1e9 / ns, "steps/s", True, "W8", None),
}
# Issue 15's targets: minimum ratio shaped / PyTorch (speed), or minimum share of the FMA peak.
RATIO_TARGETS = {"W3": 3.0, "W4": 2.0, "W5 fwd+bwd": 1.3, "W7 f64": 3.0, "W7 f32": 3.0, "W8": 1.5}
PEAK_TARGETS = {"W1": {1: 0.90, 2: 0.85}}


def median_ns(name, baseline="new"):
    path = os.path.join(CRIT, name, baseline, "estimates.json")
    try:
        with open(path) as f:
            return json.load(f)["median"]["point_estimate"]
    except FileNotFoundError:
        return None


def fma_peak(threads, override, dtype="f32"):
    """Measured FMA peak in GFLOP/s on `threads` threads for `dtype`, or None."""
    if override:
        return override if dtype == "f32" else override / 2
    ns = median_ns(f"fma_peak/{dtype}_{threads}t")
    if ns is None:
        return None
    return (FMA_F32_FLOPS_PER_ITER if dtype == "f32" else FMA_F64_FLOPS_PER_ITER) / ns


TORCH_ENV = dict(os.environ)
# The Python that has torch: --python, else /work/torchenv's if present, else this one.
TORCH_PYTHON = [sys.executable]


def run_torch(threads, only=""):
    """One run of benches/pytorch/bench.py, or None when torch is not installed."""
    cmd = [TORCH_PYTHON[0], os.path.join(ROOT, "benches", "pytorch", "bench.py"), "--threads", str(threads)]
    if only:
        cmd += ["--only", only]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=TORCH_ENV)
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (subprocess.CalledProcessError, FileNotFoundError, json.JSONDecodeError, IndexError) as e:
        print(f"(PyTorch not run: {e})", file=sys.stderr)
        return None


def best(runs, higher):
    """PyTorch's best figure per workload over `runs`."""
    runs = [r for r in runs if r]
    if not runs:
        return {}
    pick = max if higher else min
    return {k: pick(r[k] for r in runs if k in r) for k in runs[0]}


def speed_ratio(ours, theirs, higher):
    if ours is None or theirs is None:
        return None
    return ours / theirs if higher else theirs / ours


def fmt(v, digits=2):
    return "-" if v is None else f"{v:.{digits}f}"


def selected(only):
    """The workloads of WORKLOADS that `--only` names (all of them when empty)."""
    names = [w.strip() for w in only.split(",") if w.strip()]
    if not names:
        return list(WORKLOADS)
    picked = [w for w in WORKLOADS if any(w == n or w.startswith(n + " ") for n in names)]
    unknown = [n for n in names if not any(w == n or w.startswith(n + " ") for w in WORKLOADS)]
    if unknown:
        sys.exit(f"--only: unknown workload(s) {', '.join(unknown)}; known: {', '.join(WORKLOADS)}")
    return picked


def bench_filter(names):
    """A criterion filter (a regex) matching exactly these benches."""
    return "^(" + "|".join(names) + ")$"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-single-thread", action="store_true")
    parser.add_argument("--skip-shaped", action="store_true")
    parser.add_argument("--peak", type=float, default=None, help="FMA peak GFLOP/s (f32) at --threads")
    parser.add_argument("--omp-passive", action="store_true",
                        help="OMP_WAIT_POLICY=passive for PyTorch (on a loaded machine its spinning "
                             "OpenMP threads are descheduled and small ops slow down up to 30x)")
    parser.add_argument("--python", default=None, help="the Python interpreter that has torch")
    parser.add_argument("--only", default="", help="comma-separated workloads, e.g. W4,W7 (default: all)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="repeat the whole comparison N times and also print the median of every "
                             "figure and ratio over the rounds")
    args = parser.parse_args()
    chosen = selected(args.only)
    torch_only = ",".join(dict.fromkeys(WORKLOADS[w][4] for w in chosen)) if args.only else ""
    single_ws = [w for w in ("W3", "W4") if w in chosen]
    venv = "/work/torchenv/bin/python"
    TORCH_PYTHON[0] = args.python or (venv if os.path.exists(venv) else sys.executable)
    if args.omp_passive:
        TORCH_ENV["OMP_WAIT_POLICY"] = "passive"
    threads = args.threads
    quick = ["--warm-up-time", "1", "--measurement-time", "3"] if args.quick else []
    single = not args.no_single_thread and threads != 1 and bool(single_ws)
    env = dict(os.environ, SHAPED_NUM_THREADS=str(threads))
    env1 = dict(os.environ, SHAPED_NUM_THREADS="1")

    rounds = []
    for r in range(args.rounds):
        if args.rounds > 1:
            print(f"\n## Round {r + 1} of {args.rounds}", flush=True)
        rounds.append(one_round(args, chosen, torch_only, single_ws, single, quick, env, env1))
    if args.rounds > 1:
        print_median(rounds, chosen, single_ws if single else [], threads)


def one_round(args, chosen, torch_only, single_ws, single, quick, env, env1):
    """PyTorch, shaped's benches, PyTorch again; prints the tables of this round and returns
    its rows: {"n": {workload: row}, "1": {workload: row}} (a row is the dict of `row`)."""
    threads = args.threads
    torch1_only = ",".join(single_ws)
    torch_runs = [run_torch(threads, torch_only)]
    torch1_runs = [run_torch(1, torch1_only)] if single else []
    if not args.skip_shaped:
        # The 1-thread runs first: criterion writes every run to `new` as well as to the named
        # baseline, so the runs at --threads must come last.
        if single:
            subprocess.run(["cargo", "bench", "--bench", "train_step", "--", "--noplot", *quick, "--save-baseline", "t1",
                            bench_filter(WORKLOADS[w][0] for w in single_ws)], cwd=ROOT, env=env1, check=True)
        for bench in ("tensor_ops", "train_step"):
            names = [WORKLOADS[w][0] for w in chosen]
            if args.only:
                ours = [n for n in names if not n.startswith("train_step/")] if bench == "tensor_ops" else \
                    [n for n in names if n.startswith("train_step/")]
                if bench == "tensor_ops":
                    # The FMA peak, for the share-of-peak column.
                    ours += [f"fma_peak/{t}_{n}t" for t in ("f32", "f64") for n in (1, 2)]
                filt = [bench_filter(ours)]
            else:
                filt = []
            subprocess.run(["cargo", "bench", "--bench", bench, "--", "--noplot", *quick, *filt], cwd=ROOT, env=env,
                           check=True)
    if torch_runs[0] is not None:
        torch_runs.append(run_torch(threads, torch_only))
        if single:
            torch1_runs.append(run_torch(1, torch1_only))

    peak = fma_peak(threads, args.peak)
    peak64 = fma_peak(threads, args.peak, "f64") or (peak / 2 if peak else None)
    print("PyTorch runs (before, after): " + json.dumps(torch_runs))
    if torch1_runs:
        print("PyTorch 1-thread runs (before, after): " + json.dumps(torch1_runs))
    print(f"\n{threads} thread(s); FMA peak: " + (f"f32 {peak:.1f}, f64 {peak64:.1f} GFLOP/s" if peak else "n/a (no fma_peak bench)"))
    rows = {"n": {}, "1": {}}
    for w, (name, conv, unit, higher, key, flops) in WORKLOADS.items():
        if w not in chosen:
            continue
        ns = median_ns(name)
        ours = conv(ns) if ns is not None else None
        theirs = best(torch_runs, higher).get(key)
        ratio = speed_ratio(ours, theirs, higher)
        share = None
        if flops and peak and ns:
            p = peak64 if "f64" in w else peak
            share = flops / ns / p  # flops/ns = GFLOP/s
        row = {"ours": ours, "theirs": theirs, "ratio": ratio, "share": share, "peak": peak, "plain_ns": None}
        if w == "W5 fwd":
            row["plain_ns"] = median_ns("relu_add_4M/plain_loop_forward")
        rows["n"][w] = row
    if single:
        t1 = best(torch1_runs, True)
        for w in single_ws:
            name, conv, unit, higher, key, _ = WORKLOADS[w]
            ns = median_ns(name, "t1")
            ours = conv(ns) if ns is not None else None
            rows["1"][w] = {"ours": ours, "theirs": t1.get(key), "ratio": speed_ratio(ours, t1.get(key), higher)}
    print_tables(rows, chosen, single_ws if single else [], threads)
    return rows


def target_of(w, row, threads):
    """(target text, met: True/False/None) of workload `w` for one row of figures."""
    ratio, share, ours, peak = row["ratio"], row["share"], row["ours"], row["peak"]
    target, met = "-", None
    if w in RATIO_TARGETS:
        target = f">= {RATIO_TARGETS[w]}x PyTorch"
        met = ratio is not None and ratio >= RATIO_TARGETS[w]
    elif w in PEAK_TARGETS:
        t = PEAK_TARGETS[w].get(threads, min(PEAK_TARGETS[w].values()))
        target = f">= {t:.0%} of peak"
        met = share >= t if share is not None else None
    elif w == "W2":
        target = ">= 75% of peak (issue's 6B*params count)"
        if peak and ours:
            need = 0.75 * peak * 1e9 / W2_FLOPS_ISSUE
            target += f" = {need:.0f} steps/s"
            met = ours >= need
    elif w == "W5 fwd":
        plain_ns = row["plain_ns"]
        if plain_ns and ours:
            plain = 3 * 4 * (4 << 20) / plain_ns
            target = f"within 10% of a plain loop ({plain:.1f} GB/s)"
            met = ours >= plain / 1.1
    return target, met


def print_tables(rows, chosen, single_ws, threads):
    print("| workload | unit | shaped | PyTorch | speed ratio | share of FMA peak | target | met |")
    print("|---|---|---|---|---|---|---|---|")
    for w in chosen:
        if w not in rows["n"]:
            continue
        row = rows["n"][w]
        unit, flops = WORKLOADS[w][2], WORKLOADS[w][5]
        target, met = target_of(w, row, threads)
        digits = 3 if unit == "s/step" else 1
        share = row["share"]
        cells = [w, unit, fmt(row["ours"], digits), fmt(row["theirs"], digits), fmt(row["ratio"]),
                 f"{share:.0%}" if share is not None else ("n/a" if flops else "-"), target,
                 "-" if met is None else ("yes" if met else "no")]
        print("| " + " | ".join(cells) + " |")
    if single_ws:
        print("\n1 thread (SHAPED_NUM_THREADS=1, torch.set_num_threads(1)):")
        print("| workload | unit | shaped | PyTorch | speed ratio | target | met |")
        print("|---|---|---|---|---|---|---|")
        for w in single_ws:
            row, unit = rows["1"][w], WORKLOADS[w][2]
            ratio = row["ratio"]
            met = "-" if ratio is None else ("yes" if ratio >= RATIO_TARGETS[w] else "no")
            print(f"| {w} | {unit} | {fmt(row['ours'], 1)} | {fmt(row['theirs'], 1)} | {fmt(ratio)} | "
                  f">= {RATIO_TARGETS[w]}x PyTorch | {met} |")


def median(values):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def print_median(rounds, chosen, single_ws, threads):
    """Every figure as the median over the rounds (each round alternates PyTorch and shaped,
    so a drift of the machine moves both sides of a round's ratio alike)."""
    merged = {"n": {}, "1": {}}
    for part in ("n", "1"):
        for w in rounds[0][part]:
            merged[part][w] = {k: median(r[part][w].get(k) for r in rounds) for k in rounds[0][part][w]}
    print(f"\n## Median over {len(rounds)} rounds (each figure and each ratio its own median)")
    print("Speed ratios per round: " + "; ".join(
        f"{w}: " + ", ".join(fmt(r["n"][w]["ratio"]) for r in rounds) for w in chosen if w in rounds[0]["n"]))
    print(f"\n{threads} thread(s); FMA peak (median): f32 {fmt(merged['n'][chosen[0]]['peak'], 1)} GFLOP/s")
    print_tables(merged, chosen, single_ws, threads)

if __name__ == "__main__":
    main()
