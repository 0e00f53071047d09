//! Tensor-core benchmarks (issue 2): f32 matmul at 64, 256 and 1024 (reported as
//! elements/s = FLOP/s, counting 2 n^3 per product) and relu(a + b) over 4M elements
//! (reported as bytes/s of the minimum traffic: read a and b, write the output).
//!
//! Run: `cargo bench --bench tensor_ops`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::SeedableRng;
use shaped::prelude::*;
use std::hint::black_box;

fn matmul<const N: usize>(c: &mut Criterion) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let a = Tensor::<Rank2<N, N>>::randn(&mut rng);
    let b = Tensor::<Rank2<N, N>>::randn(&mut rng);
    let mut g = c.benchmark_group("matmul");
    g.throughput(Throughput::Elements(2 * (N as u64).pow(3)));
    g.bench_function(format!("{N}x{N}"), |bench| {
        bench.iter(|| black_box(a.clone().matmul(b.clone())))
    });
    g.finish();
}

fn relu_add(c: &mut Criterion) {
    const N: usize = 4 << 20;
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let a = Tensor::<Rank1<N>>::randn(&mut rng);
    let b = Tensor::<Rank1<N>>::randn(&mut rng);
    let mut g = c.benchmark_group("relu_add_4M");
    g.sample_size(20);
    g.throughput(Throughput::Bytes(3 * 4 * N as u64));
    g.bench_function("forward", |bench| {
        bench.iter(|| black_box((a.clone() + b.clone()).relu()))
    });
    g.bench_function("forward_backward", |bench| {
        bench.iter(|| {
            let y = (a.clone().trace() + b.clone().trace()).relu().sum();
            black_box(y.backward())
        })
    });
    // The same work as one plain loop, for the ratio issue 7 asks for.
    g.bench_function("plain_loop_forward", |bench| {
        bench.iter(|| {
            let out: Vec<f32> = a
                .as_slice()
                .iter()
                .zip(b.as_slice())
                .map(|(x, y)| (x + y).max(0.0))
                .collect();
            black_box(out)
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    matmul::<64>,
    matmul::<256>,
    matmul::<1024>,
    relu_add
);
criterion_main!(benches);
