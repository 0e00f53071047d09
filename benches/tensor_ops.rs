//! Tensor-core benchmarks (issue 2): f32 matmul at 64, 256 and 1024 (reported as
//! elements/s = FLOP/s, counting 2 n^3 per product) and relu(a + b) over 4M elements
//! (reported as bytes/s of the minimum traffic: read a and b, write the output).
//!
//! `fma_peak/{f32,f64}_{1t,2t}` measure the machine's FMA peak in the same run (issue 15:
//! the share of the peak that the products reach): a register-resident loop of independent
//! fused multiply-adds, AVX-512 or AVX2 + FMA as the CPU has (else `mul_add`). One
//! iteration does [`FMA_F32_FLOPS_PER_ITER`] (or [`FMA_F64_FLOPS_PER_ITER`]) flops over all
//! its threads together, so GFLOP/s = flops per iteration / median ns per iteration
//! (criterion also prints it as `elem/s`).
//!
//! Run: `cargo bench --bench tensor_ops` (`-- matmul`, `-- fma_peak`, `-- relu_add`).

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

/// Trips of the FMA loop per iteration, over all threads (split evenly).
const FMA_TRIPS: u64 = 1 << 20;
/// Independent accumulators: four FMAs in flight on each of two pipes covers Zen 4's
/// 4-cycle latency (and Intel's) with room to spare.
const ACCS: usize = 12;
/// Flops of one `fma_peak/f32_*` iteration: `FMA_TRIPS` trips x 12 accumulators x 16 f32
/// lanes x 2 (multiply and add) = 402,653,184. GFLOP/s = this / median ns.
pub const FMA_F32_FLOPS_PER_ITER: u64 = FMA_TRIPS * ACCS as u64 * 16 * 2;
/// Flops of one `fma_peak/f64_*` iteration: 12 accumulators x 8 f64 lanes x 2 per trip.
pub const FMA_F64_FLOPS_PER_ITER: u64 = FMA_TRIPS * ACCS as u64 * 8 * 2;

mod fma {
    //! The FMA loops: `trips` times, each of `ACCS` accumulators of 64 bytes (16 f32 or 8
    //! f64) becomes `acc * m + c` (bounded: it converges to `c / (1 - m)`).
    use super::ACCS;
    use std::hint::black_box;

    pub fn f32_loop(trips: u64) -> f32 {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: AVX-512F was detected.
                return unsafe { x86::f32_avx512(trips) };
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                // SAFETY: AVX2 and FMA were detected.
                return unsafe { x86::f32_avx2(trips) };
            }
        }
        let (m, c) = (black_box(0.999_999f32), black_box(1e-7f32));
        let mut acc = [[1.0f32; 16]; ACCS];
        for _ in 0..trips {
            for v in acc.iter_mut().flatten() {
                *v = v.mul_add(m, c);
            }
        }
        acc.iter().flatten().sum()
    }

    pub fn f64_loop(trips: u64) -> f64 {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: AVX-512F was detected.
                return unsafe { x86::f64_avx512(trips) };
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                // SAFETY: AVX2 and FMA were detected.
                return unsafe { x86::f64_avx2(trips) };
            }
        }
        let (m, c) = (black_box(0.999_999f64), black_box(1e-7f64));
        let mut acc = [[1.0f64; 8]; ACCS];
        for _ in 0..trips {
            for v in acc.iter_mut().flatten() {
                *v = v.mul_add(m, c);
            }
        }
        acc.iter().flatten().sum()
    }

    #[cfg(target_arch = "x86_64")]
    mod x86 {
        use super::ACCS;
        use std::arch::x86_64::*;
        use std::hint::black_box;

        /// One zmm FMA per accumulator per trip.
        #[target_feature(enable = "avx512f")]
        pub fn f32_avx512(trips: u64) -> f32 {
            let (m, c) = (_mm512_set1_ps(black_box(0.999_999)), _mm512_set1_ps(1e-7));
            let mut acc = [_mm512_set1_ps(1.0); ACCS];
            for _ in 0..trips {
                for a in acc.iter_mut() {
                    *a = _mm512_fmadd_ps(*a, m, c);
                }
            }
            acc.iter().map(|&a| _mm512_reduce_add_ps(a)).sum()
        }

        #[target_feature(enable = "avx512f")]
        pub fn f64_avx512(trips: u64) -> f64 {
            let (m, c) = (_mm512_set1_pd(black_box(0.999_999)), _mm512_set1_pd(1e-7));
            let mut acc = [_mm512_set1_pd(1.0); ACCS];
            for _ in 0..trips {
                for a in acc.iter_mut() {
                    *a = _mm512_fmadd_pd(*a, m, c);
                }
            }
            acc.iter().map(|&a| _mm512_reduce_add_pd(a)).sum()
        }

        /// AVX2: half the width, twice the trips.
        #[target_feature(enable = "avx2,fma")]
        pub fn f32_avx2(trips: u64) -> f32 {
            let (m, c) = (_mm256_set1_ps(black_box(0.999_999)), _mm256_set1_ps(1e-7));
            // ACCS ymm accumulators (of the 16 registers; 2 x ACCS would spill), twice the
            // trips: the same flops as one zmm loop.
            let mut acc = [_mm256_set1_ps(1.0); ACCS];
            for _ in 0..2 * trips {
                for a in acc.iter_mut() {
                    *a = _mm256_fmadd_ps(*a, m, c);
                }
            }
            let mut out = [0.0f32; 8];
            for a in acc.iter() {
                let mut lanes = [0.0f32; 8];
                // SAFETY: `lanes` holds 8 f32.
                unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), *a) };
                out.iter_mut().zip(lanes).for_each(|(o, l)| *o += l);
            }
            out.iter().sum()
        }

        #[target_feature(enable = "avx2,fma")]
        pub fn f64_avx2(trips: u64) -> f64 {
            let (m, c) = (_mm256_set1_pd(black_box(0.999_999)), _mm256_set1_pd(1e-7));
            // ACCS ymm accumulators (of the 16 registers; 2 x ACCS would spill), twice the
            // trips: the same flops as one zmm loop.
            let mut acc = [_mm256_set1_pd(1.0); ACCS];
            for _ in 0..2 * trips {
                for a in acc.iter_mut() {
                    *a = _mm256_fmadd_pd(*a, m, c);
                }
            }
            let mut out = [0.0f64; 4];
            for a in acc.iter() {
                let mut lanes = [0.0f64; 4];
                // SAFETY: `lanes` holds 4 f64.
                unsafe { _mm256_storeu_pd(lanes.as_mut_ptr(), *a) };
                out.iter_mut().zip(lanes).for_each(|(o, l)| *o += l);
            }
            out.iter().sum()
        }
    }
}

/// Runs `work(FMA_TRIPS / threads)` on `threads` threads per iteration: the caller and
/// persistent helpers started once (a barrier per iteration, not a thread spawn, so the
/// start-up stays well under 1% of the ~2-4 ms iteration).
fn fma_bench<R: Send + 'static>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    threads: usize,
    work: fn(u64) -> R,
) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Barrier};
    let trips = FMA_TRIPS / threads as u64;
    let start = Arc::new(Barrier::new(threads));
    let end = Arc::new(Barrier::new(threads));
    let stop = Arc::new(AtomicBool::new(false));
    let helpers: Vec<_> = (1..threads)
        .map(|_| {
            let (start, end, stop) = (start.clone(), end.clone(), stop.clone());
            std::thread::spawn(move || {
                loop {
                    start.wait();
                    if stop.load(Ordering::Acquire) {
                        return;
                    }
                    black_box(work(trips));
                    end.wait();
                }
            })
        })
        .collect();
    g.bench_function(name, |bench| {
        bench.iter(|| {
            start.wait();
            black_box(work(trips));
            end.wait();
        })
    });
    stop.store(true, Ordering::Release);
    start.wait();
    helpers.into_iter().for_each(|h| h.join().unwrap());
}

fn fma_peak(c: &mut Criterion) {
    let mut g = c.benchmark_group("fma_peak");
    g.throughput(Throughput::Elements(FMA_F32_FLOPS_PER_ITER));
    fma_bench(&mut g, "f32_1t", 1, fma::f32_loop);
    fma_bench(&mut g, "f32_2t", 2, fma::f32_loop);
    g.throughput(Throughput::Elements(FMA_F64_FLOPS_PER_ITER));
    fma_bench(&mut g, "f64_1t", 1, fma::f64_loop);
    fma_bench(&mut g, "f64_2t", 2, fma::f64_loop);
    g.finish();
}

criterion_group!(
    benches,
    fma_peak,
    matmul::<64>,
    matmul::<256>,
    matmul::<1024>,
    relu_add
);
criterion_main!(benches);
