//! One training step (forward, backward, Adam update) of the workloads in issues 3, 4, 7 and
//! 15 (defined in workloads.rs: W2 `mlp`, W3 `cnn`, W4 `lstm`, W7 `time_seq_f64` /
//! `time_seq_f32`, W8 `transformer_lm`), reported as steps/s (criterion "elements" = steps).
//! Run: `cargo bench --bench train_step`.

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use shaped::prelude::*;
use std::hint::black_box;

mod workloads;

/// Benchmarks `step` (one forward, backward and optimizer step, returning the gradients so
/// that nothing is optimised away) in the `train_step` group, one step per iteration.
fn train_steps<E: Float>(c: &mut Criterion, name: &str, mut step: workloads::Step<E>) {
    let mut g = c.benchmark_group("train_step");
    g.throughput(Throughput::Elements(1));
    if name.starts_with("time_seq") || name.starts_with("transformer") {
        // A tenth of a second to a second per step: criterion's minimum of 10 samples, each
        // of the same number of steps.
        g.sample_size(10).sampling_mode(SamplingMode::Flat);
    }
    g.bench_function(name, |b| b.iter(|| black_box(step())));
    g.finish();
}

fn mlp(c: &mut Criterion) {
    train_steps(c, "mlp_784_256_128_10_b64", workloads::mlp());
}

fn cnn(c: &mut Criterion) {
    train_steps(c, "cnn_b32", workloads::cnn());
}

fn lstm(c: &mut Criterion) {
    train_steps(c, "lstm_s32_b16_i64_h128", workloads::lstm());
}

fn time_seq_f64(c: &mut Criterion) {
    train_steps(c, "time_seq_f64", workloads::time_seq::<f64>());
}

fn time_seq_f32(c: &mut Criterion) {
    train_steps(c, "time_seq_f32", workloads::time_seq::<f32>());
}

fn transformer_lm(c: &mut Criterion) {
    train_steps(
        c,
        "transformer_lm_b16_s128_d256",
        workloads::transformer_lm(),
    );
}

criterion_group!(
    benches,
    mlp,
    cnn,
    lstm,
    time_seq_f64,
    time_seq_f32,
    transformer_lm
);
criterion_main!(benches);
