"""One command for the issue-7 comparison: runs shaped's criterion benches for the five
workloads, runs the same workloads in PyTorch when torch is installed, and prints the ratio
table (with the targets). PyTorch runs before and after shaped's benches and keeps its
better figure for each workload.

Run: python3 benches/compare.py [--quick]
"""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRIT = os.path.join(ROOT, "target", "criterion")
# workload -> (criterion group/bench, how to turn its median time (ns) into the value, unit, target)
WORKLOADS = {
    "W1": ("matmul/1024x1024", lambda ns: 2 * 1024**3 / ns, "GFLOP/s", 420.0),
    "W2": ("train_step/mlp_784_256_128_10_b64", lambda ns: 1e9 / ns, "steps/s", 3000.0),
    "W3": ("train_step/cnn_b32", lambda ns: 1e9 / ns, "steps/s", 600.0),
    "W4": ("train_step/lstm_s32_b16_i64_h128", lambda ns: 1e9 / ns, "steps/s", 1000.0),
    "W5": ("relu_add_4M/forward", lambda ns: 3 * 4 * (4 << 20) / ns, "GB/s", None),
}


def median_ns(name):
    with open(os.path.join(CRIT, name, "new", "estimates.json")) as f:
        return json.load(f)["median"]["point_estimate"]


def run_torch():
    """One run of benches/pytorch/bench.py, or None when torch is not installed."""
    try:
        out = subprocess.run([sys.executable, os.path.join(ROOT, "benches", "pytorch", "bench.py")], capture_output=True, text=True, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (subprocess.CalledProcessError, FileNotFoundError, json.JSONDecodeError) as e:
        print(f"(PyTorch not run: {e})", file=sys.stderr)
        return None


def main():
    quick = ["--warm-up-time", "1", "--measurement-time", "3"] if "--quick" in sys.argv else []
    # Shared VMs drift by tens of percent over minutes, so PyTorch runs both before and after
    # shaped's benches and keeps its better figure per workload: a drift can only favour it.
    torch_runs = [run_torch()]
    for bench in ("tensor_ops", "train_step"):
        subprocess.run(["cargo", "bench", "--bench", bench, "--", "--noplot", *quick], cwd=ROOT, check=True)
    ours = {w: conv(median_ns(n)) for w, (n, conv, _, _) in WORKLOADS.items()}
    plain = 3 * 4 * (4 << 20) / median_ns("relu_add_4M/plain_loop_forward")
    if torch_runs[0] is not None:
        torch_runs.append(run_torch())
    runs = [r for r in torch_runs if r]
    torch = {w: max(r[w] for r in runs) for w in runs[0]} if runs else None
    if torch:
        print("PyTorch runs (before, after): " + json.dumps(torch_runs))
    print(f"| workload | unit | shaped | PyTorch | shaped / PyTorch | target | shaped / target |")
    print(f"|---|---|---|---|---|---|---|")
    for w, (_, _, unit, target) in WORKLOADS.items():
        t = torch.get(w) if torch else None
        if w == "W5":
            target, unit = 0.8 * plain, unit + " (target: 80% of a plain loop)"
        cells = [w, unit, f"{ours[w]:.1f}", f"{t:.1f}" if t else "-", f"{ours[w] / t:.2f}" if t else "-",
                 f"{target:.1f}" if target else "-", f"{ours[w] / target:.2f}" if target else "-"]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
