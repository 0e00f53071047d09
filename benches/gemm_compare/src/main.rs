//! shaped vs the `gemm` crate (AVX-512 build, `x86-v4`) vs `matrixmultiply` on the same
//! products, in alternating rounds within one process (issue 15: W1 at 256/512/1024, W7's
//! 97x51x204), with the FMA peak of the same run for the share-of-peak column.
//!
//! Threads: shaped reads `SHAPED_NUM_THREADS` at start-up; the gemm crate gets the same count
//! (`Parallelism::None` for 1, `Rayon(t)` otherwise); matrixmultiply runs on one thread.
//! Run: `SHAPED_NUM_THREADS=2 cargo run --release` (optionally `-- ROUNDS`).

use rand::{RngExt, SeedableRng};
use shaped::prelude::*;
use std::hint::black_box;
use std::time::Instant;

trait Elem: shaped::dtype::Float + 'static {
    const NAME: &'static str;
    fn mm(m: usize, k: usize, n: usize, a: &[Self], b: &[Self], c: &mut [Self]);
    fn gemm_crate(m: usize, k: usize, n: usize, a: &[Self], b: &[Self], c: &mut [Self], t: usize);
}

fn par(t: usize) -> gemm::Parallelism {
    if t <= 1 { gemm::Parallelism::None } else { gemm::Parallelism::Rayon(t) }
}

macro_rules! elem {
    ($t:ty, $name:literal, $mm:path) => {
        impl Elem for $t {
            const NAME: &'static str = $name;
            fn mm(m: usize, k: usize, n: usize, a: &[Self], b: &[Self], c: &mut [Self]) {
                // SAFETY: row-major buffers of the stated sizes.
                unsafe {
                    $mm(m, k, n, 1.0, a.as_ptr(), k as isize, 1, b.as_ptr(), n as isize, 1,
                        0.0, c.as_mut_ptr(), n as isize, 1)
                }
            }
            fn gemm_crate(m: usize, k: usize, n: usize, a: &[Self], b: &[Self], c: &mut [Self], t: usize) {
                // SAFETY: row-major buffers of the stated sizes (gemm takes column, row strides).
                unsafe {
                    gemm::gemm(m, n, k, c.as_mut_ptr(), 1, n as isize, false, a.as_ptr(), 1,
                        k as isize, b.as_ptr(), 1, n as isize, 0.0, 1.0, false, false, false, par(t))
                }
            }
        }
    };
}
elem!(f32, "f32", matrixmultiply::sgemm);
elem!(f64, "f64", matrixmultiply::dgemm);

/// Seconds per call: the median over `samples` batches of calls lasting ~`batch_s` each.
fn time(mut f: impl FnMut(), batch_s: f64, samples: usize) -> f64 {
    f();
    let t0 = Instant::now();
    f();
    let once = t0.elapsed().as_secs_f64().max(1e-7);
    let reps = ((batch_s / once) as usize).max(1);
    let mut v: Vec<f64> = (0..samples)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                f();
            }
            t.elapsed().as_secs_f64() / reps as f64
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[samples / 2]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn compare<E: Elem>(m: usize, k: usize, n: usize, threads: usize, rounds: usize, peak: f64) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(15);
    let a: Vec<E> = (0..m * k).map(|_| E::from_f64(rng.random_range(-1.0..1.0))).collect();
    let b: Vec<E> = (0..k * n).map(|_| E::from_f64(rng.random_range(-1.0..1.0))).collect();
    let ta = Tensor::<(usize, usize), E>::from_vec_with_shape(a.clone(), (m, k)).unwrap();
    let tb = Tensor::<(usize, usize), E>::from_vec_with_shape(b.clone(), (k, n)).unwrap();
    let mut c = vec![E::ZERO; m * n];
    // Same numbers first (to the kernels' rounding).
    let ours = ta.clone().matmul(tb.clone());
    E::gemm_crate(m, k, n, &a, &b, &mut c, threads);
    let worst = ours.as_slice().iter().zip(&c).map(|(x, y)| (x.to_f64() - y.to_f64()).abs()).fold(0.0, f64::max);
    assert!(worst < 1e-3 * (k as f64).sqrt(), "{m}x{k}x{n}: results differ by {worst}");
    let flops = 2.0 * (m * k * n) as f64;
    let batch = (flops / 20e9).clamp(2e-3, 0.05);
    let (mut s, mut g, mut mm) = (vec![], vec![], vec![]);
    for r in 0..rounds {
        let mut run_shaped = || s.push(flops / time(|| { black_box(ta.clone().matmul(tb.clone())); }, batch, 5) / 1e9);
        let mut run_gemm = || g.push(flops / time(|| E::gemm_crate(m, k, n, &a, &b, black_box(&mut c), threads), batch, 5) / 1e9);
        if r % 2 == 0 { run_shaped(); run_gemm(); } else { run_gemm(); run_shaped(); }
        mm.push(flops / time(|| E::mm(m, k, n, &a, &b, black_box(&mut c)), batch, 3) / 1e9);
    }
    let (s, g, mm) = (median(s), median(g), median(mm));
    println!(
        "{:>3} {:>4}x{:>4}x{:>4} {threads}t | shaped {s:7.1} GFLOP/s ({:4.0}% of peak) | gemm crate {g:7.1} ({:4.0}%) | matrixmultiply 1t {mm:7.1} | shaped/gemm {:.2}",
        E::NAME, m, k, n, 100.0 * s / peak, 100.0 * g / peak, s / g
    );
}

/// The FMA peak on `threads` threads, GFLOP/s (f32; f64 is half of it), with
/// `shaped::__bench_fma_peak`-like code kept local: 12 independent zmm/ymm accumulators.
fn fma_peak(threads: usize) -> f64 {
    const ITERS: usize = 1 << 22;
    let one = |_: usize| fma_loop(ITERS);
    let run = || std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads).map(|t| s.spawn(move || one(t))).collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum::<f32>()
    });
    run();
    let v: Vec<f64> = (0..5).map(|_| {
        let t = Instant::now();
        black_box(run());
        (threads * ITERS * FLOPS_PER_ITER) as f64 / t.elapsed().as_secs_f64() / 1e9
    }).collect();
    median(v)
}

const FLOPS_PER_ITER: usize = 12 * 16 * 2;

#[inline(never)]
fn fma_loop(iters: usize) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: avx512f detected.
        return unsafe { fma512(iters) };
    }
    let mut acc = [[1.0f32; 16]; 12];
    for _ in 0..iters {
        for a in acc.iter_mut() { for x in a.iter_mut() { *x = x.mul_add(0.999_999, 1e-7); } }
    }
    acc.iter().flatten().sum()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn fma512(iters: usize) -> f32 {
    use std::arch::x86_64::*;
    let (m, c) = (_mm512_set1_ps(0.999_999), _mm512_set1_ps(1e-7));
    let mut acc = [_mm512_set1_ps(1.0); 12];
    for _ in 0..iters {
        for a in acc.iter_mut() { *a = _mm512_fmadd_ps(*a, m, c); }
    }
    acc.iter().map(|&a| _mm512_reduce_add_ps(a)).sum()
}

fn main() {
    let threads: usize = std::env::var("SHAPED_NUM_THREADS").ok().and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |t| t.get()));
    let rounds: usize = std::env::args().nth(1).and_then(|v| v.parse().ok()).unwrap_or(7);
    let only: Option<String> = std::env::args().nth(2);
    rayon::ThreadPoolBuilder::new().num_threads(threads).build_global().ok();
    let peak = fma_peak(threads);
    println!("FMA peak f32 on {threads} thread(s): {peak:.1} GFLOP/s (f64: {:.1}); {rounds} rounds, medians", peak / 2.0);
    let sizes = [(256, 256, 256), (512, 512, 512), (1024, 1024, 1024), (97, 51, 204), (97, 204, 51), (51, 97, 204)];
    for &(m, k, n) in &sizes {
        if only.as_deref().is_some_and(|o| o != format!("{m}")) { continue; }
        compare::<f32>(m, k, n, threads, rounds, peak);
        compare::<f64>(m, k, n, threads, rounds, peak / 2.0);
    }
}
