//! CPU time per training step of W2, W3, W4, W7 and W8 (workloads.rs), for A/B comparisons on a
//! machine that other jobs load: wall-clock figures there measure the scheduler, while the
//! CPU time the process's threads spent (from /proc) still measures the code.
//!
//! Run: `cargo bench --bench step_cpu -- [w2|w3|w4|w7f64|w7f32|w8] [steps]`; prints, per workload,
//! wall and CPU milliseconds per step (the best of the steps, and the median).

use std::hint::black_box;
use std::time::Instant;

mod workloads;

/// Nanoseconds on CPU of all this process's threads (sum of /proc/self/task/*/schedstat).
fn cpu_ns() -> u64 {
    let mut total = 0;
    if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
        for entry in dir.flatten() {
            let path = entry.path().join("schedstat");
            if let Ok(s) = std::fs::read_to_string(path) {
                total += s
                    .split_whitespace()
                    .next()
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    total
}

fn report(name: &str, steps: usize, mut step: impl FnMut()) {
    step();
    let (mut wall, mut cpu) = (Vec::new(), Vec::new());
    for _ in 0..steps {
        // The clocks are read outside the timed wall interval: reading /proc takes tens of
        // microseconds, a tenth of a W2 step.
        let c0 = cpu_ns();
        let w0 = Instant::now();
        step();
        let w = w0.elapsed();
        cpu.push((cpu_ns() - c0) as f64 / 1e6);
        wall.push(w.as_secs_f64() * 1e3);
    }
    let stats = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[0], v[v.len() / 2])
    };
    // The CPU clock of a running thread advances at scheduler ticks, so a single short
    // step reads a tick off; the mean over consecutive steps is exact.
    let mean = cpu.iter().sum::<f64>() / steps as f64;
    let ((wb, wm), (cb, cm)) = (stats(&mut wall), stats(&mut cpu));
    println!(
        "{name}: wall ms/step best {wb:.3} median {wm:.3}; cpu ms/step mean {mean:.3} best {cb:.3} median {cm:.3}"
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let which = args.first().map_or("all", String::as_str);
    let steps = args.get(1).and_then(|s| s.parse().ok());
    if which == "all" || which == "w2" {
        let mut step = workloads::mlp();
        report("W2", steps.unwrap_or(2000), || drop(black_box(step())));
    }
    if which == "all" || which == "w3" {
        let mut step = workloads::cnn();
        report("W3", steps.unwrap_or(1000), || drop(black_box(step())));
    }
    if which == "all" || which == "w4" {
        let mut step = workloads::lstm();
        report("W4", steps.unwrap_or(100), || drop(black_box(step())));
    }
    if which == "all" || which == "w7f64" {
        let mut step = workloads::time_seq::<f64>();
        report("W7 f64", steps.unwrap_or(5), || drop(black_box(step())));
    }
    if which == "all" || which == "w7f32" {
        let mut step = workloads::time_seq::<f32>();
        report("W7 f32", steps.unwrap_or(5), || drop(black_box(step())));
    }
    if which == "all" || which == "w8" {
        let mut step = workloads::transformer_lm();
        report("W8", steps.unwrap_or(10), || drop(black_box(step())));
    }
}
