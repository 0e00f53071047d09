//! One training step (forward, backward, Adam update) of the workloads in issues 3, 4 and 7,
//! reported as steps/s (criterion "elements" = steps):
//!
//! * W2 `mlp`: 784-256-128-10 ReLU MLP, batch 64, cross-entropy, Adam;
//! * W3 `cnn`: Conv2d(1,16,3) ReLU MaxPool2 Conv2d(16,32,3) ReLU MaxPool2 Flatten
//!   Linear(800,10) on 28x28, batch 32, cross-entropy, Adam;
//! * W4 `lstm`: LSTM(64, 128) over 32 steps, batch 16, Linear(128, 64) at every step,
//!   cross-entropy over the 64 classes, Adam.
//!
//! Initialisation is PyTorch's default from fixed seeds. The input is traced with
//! `trace_constant` (no gradient of its own, like a PyTorch input with
//! `requires_grad=False`), so the step does the same work as PyTorch's.
//! Run: `cargo bench --bench train_step`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::{RngExt, SeedableRng};
use shaped::nn::loss::cross_entropy;
use shaped::nn::{Conv2d, Flatten, LSTM, Linear, MaxPool2d, Module, ReLU};
use shaped::optim::{Adam, Optimizer};
use shaped::prelude::*;
use std::hint::black_box;

fn labels<const N: usize>(classes: usize, rng: &mut rand::rngs::StdRng) -> Indices<Rank1<N>> {
    Indices::from_vec((0..N).map(|_| rng.random_range(0..classes)).collect()).expect("N labels")
}

/// Benchmarks `step` (one forward, backward and optimizer step, returning the gradients so
/// that nothing is optimised away) in the `train_step` group, one step per iteration.
fn train_steps(c: &mut Criterion, name: &str, mut step: impl FnMut() -> Gradients<f32>) {
    let mut g = c.benchmark_group("train_step");
    g.throughput(Throughput::Elements(1));
    g.bench_function(name, |b| b.iter(|| black_box(step())));
    g.finish();
}

fn mlp(c: &mut Criterion) {
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
    train_steps(c, "mlp_784_256_128_10_b64", || {
        let loss = cross_entropy(model.forward_train(x.clone().trace_constant()), &y);
        let grads = loss.backward();
        opt.step(&mut model, &grads);
        grads
    });
}

fn cnn(c: &mut Criterion) {
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
    train_steps(c, "cnn_b32", || {
        let loss = cross_entropy(model.forward_train(x.clone().trace_constant()), &y);
        let grads = loss.backward();
        opt.step(&mut model, &grads);
        grads
    });
}

fn lstm(c: &mut Criterion) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(2);
    let mut model = (
        LSTM::<64, 128>::new(&mut rng),
        Linear::<128, 64>::new(&mut rng),
    );
    let x = Tensor::<Rank3<16, 32, 64>>::randn(&mut rng);
    let y = labels::<{ 16 * 32 }>(64, &mut rng);
    let mut opt = Adam::new(1e-3);
    train_steps(c, "lstm_s32_b16_i64_h128", || {
        let (seq, _) = model.0.forward_train(x.clone().trace_constant());
        let logits = model
            .1
            .forward_train(seq)
            .reshape::<Rank2<{ 16 * 32 }, 64>>();
        let loss = cross_entropy(logits, &y);
        let grads = loss.backward();
        opt.step(&mut model, &grads);
        grads
    });
}

criterion_group!(benches, mlp, cnn, lstm);
criterion_main!(benches);
