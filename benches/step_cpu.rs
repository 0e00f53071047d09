//! CPU time per training step of W2, W3, W4 and W7 (see train_step.rs), for A/B comparisons on a
//! machine that other jobs load: wall-clock figures there measure the scheduler, while the
//! CPU time the process's threads spent (from /proc) still measures the code.
//!
//! Run: `cargo bench --bench step_cpu -- [w2|w3|w4|w7f64|w7f32] [steps]`; prints, per workload,
//! wall and CPU milliseconds per step (the best of the steps, and the median).

use rand::{RngExt, SeedableRng};
use shaped::nn::loss::{cross_entropy, mse_loss};
use shaped::nn::{Conv2d, Flatten, LSTM, LSTMCell, Linear, MaxPool2d, Module, ReLU};
use shaped::optim::{Adam, Optimizer};
use shaped::prelude::*;
use std::hint::black_box;
use std::time::Instant;

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
        let (w0, c0) = (Instant::now(), cpu_ns());
        step();
        cpu.push((cpu_ns() - c0) as f64 / 1e6);
        wall.push(w0.elapsed().as_secs_f64() * 1e3);
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

fn labels<const N: usize>(classes: usize, rng: &mut rand::rngs::StdRng) -> Indices<Rank1<N>> {
    Indices::from_vec((0..N).map(|_| rng.random_range(0..classes)).collect()).expect("N labels")
}

fn w2(steps: usize) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let mut model = (
        Linear::<784, 256>::new(&mut rng),
        ReLU,
        Linear::<256, 128>::new(&mut rng),
        ReLU,
        Linear::<128, 10>::new(&mut rng),
    );
    let x = Tensor::<Rank2<64, 784>>::randn(&mut rng);
    let y = labels::<64>(10, &mut rng);
    let mut opt = Adam::new(1e-3);
    report("W2", steps, || {
        let grads = cross_entropy(model.forward_train(x.clone().trace_constant()), &y).backward();
        opt.step(&mut model, &grads);
        black_box(grads);
    });
}

fn w3(steps: usize) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let mut model = (
        Conv2d::<1, 16, 3>::new(&mut rng),
        ReLU,
        MaxPool2d::<2>,
        Conv2d::<16, 32, 3>::new(&mut rng),
        ReLU,
        MaxPool2d::<2>,
        Flatten,
        Linear::<800, 10>::new(&mut rng),
    );
    let x = Tensor::<Rank4<32, 1, 28, 28>>::randn(&mut rng);
    let y = labels::<32>(10, &mut rng);
    let mut opt = Adam::new(1e-3);
    report("W3", steps, || {
        let grads = cross_entropy(model.forward_train(x.clone().trace_constant()), &y).backward();
        opt.step(&mut model, &grads);
        black_box(grads);
    });
}

fn w4(steps: usize) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(2);
    let mut model = (
        LSTM::<64, 128>::new(&mut rng),
        Linear::<128, 64>::new(&mut rng),
    );
    let x = Tensor::<Rank3<16, 32, 64>>::randn(&mut rng);
    let y = labels::<{ 16 * 32 }>(64, &mut rng);
    let mut opt = Adam::new(1e-3);
    report("W4", steps, || {
        let (seq, _) = model.0.forward_train(x.clone().trace_constant());
        let logits = model
            .1
            .forward_train(seq)
            .reshape::<Rank2<{ 16 * 32 }, 64>>();
        let grads = cross_entropy(logits, &y).backward();
        opt.step(&mut model, &grads);
        black_box(grads);
    });
}

const B: usize = 97;
const S: usize = 999;
const H: usize = 51;

struct TimeSeq<E: Float> {
    lstm1: LSTMCell<1, H, E>,
    lstm2: LSTMCell<H, H, E>,
    linear: Linear<H, 1, E>,
}
shaped::params!(TimeSeq<E> { lstm1, lstm2, linear });

fn w7<E: Float>(name: &str, steps: usize) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut model = TimeSeq::<E> {
        lstm1: LSTMCell::new(&mut rng),
        lstm2: LSTMCell::new(&mut rng),
        linear: Linear::new(&mut rng),
    };
    let wave = |i: usize, t: usize| {
        let shift = (37 * i % 160) as f64 - 80.0;
        E::from_f64(((t as f64 + shift) / 20.0).sin())
    };
    let input: Vec<Tensor<(usize, Const<1>), E>> = (0..S)
        .map(|t| {
            Tensor::from_vec_with_shape((0..B).map(|i| wave(i, t)).collect(), (B, Const))
                .expect("a column")
        })
        .collect();
    let target = Tensor::from_vec_with_shape(
        (0..B)
            .flat_map(|i| (1..=S).map(move |t| wave(i, t)))
            .collect(),
        (B, S),
    )
    .expect("the target");
    let mut opt = Adam::new(0.01);
    report(name, steps, || {
        let mut outputs = Vec::with_capacity(S);
        let mut state = None;
        for x in &input {
            let x = x.clone().trace_constant();
            let (h1, c1, h2, c2) = match state.take() {
                None => {
                    let (h1, c1) = model.lstm1.forward(x);
                    let (h2, c2) = model.lstm2.forward(h1.clone());
                    (h1, c1, h2, c2)
                }
                Some((h1, c1, h2, c2)) => {
                    let (h1, c1) = model.lstm1.forward((x, (h1, c1)));
                    let (h2, c2) = model.lstm2.forward((h1.clone(), (h2, c2)));
                    (h1, c1, h2, c2)
                }
            };
            outputs.push(model.linear.forward(h2.clone()));
            state = Some((h1, c1, h2, c2));
        }
        let loss = mse_loss(Tensor::cat::<1, _>(outputs), target.clone());
        let grads = loss.backward();
        opt.step(&mut model, &grads);
        black_box(grads);
    });
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let which = args.first().map_or("all", String::as_str);
    let steps = args.get(1).and_then(|s| s.parse().ok());
    if which == "all" || which == "w2" {
        w2(steps.unwrap_or(2000));
    }
    if which == "all" || which == "w3" {
        w3(steps.unwrap_or(1000));
    }
    if which == "all" || which == "w4" {
        w4(steps.unwrap_or(100));
    }
    if which == "all" || which == "w7f64" {
        w7::<f64>("W7 f64", steps.unwrap_or(5));
    }
    if which == "all" || which == "w7f32" {
        w7::<f32>("W7 f32", steps.unwrap_or(5));
    }
}
