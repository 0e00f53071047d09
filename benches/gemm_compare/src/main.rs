//! shaped vs the `gemm` crate (AVX-512 build, `x86-v4`) vs `matrixmultiply` on the same
//! products, in alternating rounds within one process (issue 15: W1 at 256/512/1024, W7's
//! 97x51x204), with the FMA peak of the same run for the share-of-peak column.
//!
//! Threads: shaped reads `SHAPED_NUM_THREADS` at start-up; the gemm crate gets the same count
//! (`Parallelism::None` for 1, `Rayon(t)` otherwise); matrixmultiply runs on one thread.
//! Run: `SHAPED_NUM_THREADS=2 cargo run --release` (optionally `-- ROUNDS [M | M,K,N]`).
//! Times are the fastest of 5 batches per round (thread CPU time on one thread, wall time
//! on two), medians over rounds; the ratio is the median of the per-round ratios.

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
    if t <= 1 {
        gemm::Parallelism::None
    } else {
        gemm::Parallelism::Rayon(t)
    }
}

macro_rules! elem {
    ($t:ty, $name:literal, $mm:path) => {
        impl Elem for $t {
            const NAME: &'static str = $name;
            fn mm(m: usize, k: usize, n: usize, a: &[Self], b: &[Self], c: &mut [Self]) {
                // SAFETY: row-major buffers of the stated sizes.
                unsafe {
                    $mm(
                        m,
                        k,
                        n,
                        1.0,
                        a.as_ptr(),
                        k as isize,
                        1,
                        b.as_ptr(),
                        n as isize,
                        1,
                        0.0,
                        c.as_mut_ptr(),
                        n as isize,
                        1,
                    )
                }
            }
            fn gemm_crate(
                m: usize,
                k: usize,
                n: usize,
                a: &[Self],
                b: &[Self],
                c: &mut [Self],
                t: usize,
            ) {
                // SAFETY: row-major buffers of the stated sizes (gemm takes column, row strides).
                unsafe {
                    gemm::gemm(
                        m,
                        n,
                        k,
                        c.as_mut_ptr(),
                        1,
                        n as isize,
                        false,
                        a.as_ptr(),
                        1,
                        k as isize,
                        b.as_ptr(),
                        1,
                        n as isize,
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        par(t),
                    )
                }
            }
        }
    };
}
elem!(f32, "f32", matrixmultiply::sgemm);
elem!(f64, "f64", matrixmultiply::dgemm);

/// The calling thread's CPU time in seconds (Linux): on one thread this leaves out the time
/// the machine's other processes hold the core.
fn thread_cpu_s() -> f64 {
    #[repr(C)]
    struct Timespec {
        sec: i64,
        nsec: i64,
    }
    unsafe extern "C" {
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec { sec: 0, nsec: 0 };
    // SAFETY: `ts` is a valid timespec to write.
    unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.sec as f64 + ts.nsec as f64 * 1e-9
}

/// Seconds: thread CPU time with one thread (`SHAPED_NUM_THREADS=1`), wall time otherwise.
fn now() -> f64 {
    static WALL: std::sync::OnceLock<(bool, Instant)> = std::sync::OnceLock::new();
    let (wall, t0) = *WALL.get_or_init(|| {
        (
            std::env::var("SHAPED_NUM_THREADS").map_or(true, |t| t.trim() != "1"),
            Instant::now(),
        )
    });
    if wall {
        t0.elapsed().as_secs_f64()
    } else {
        thread_cpu_s()
    }
}

/// Seconds per call: the fastest of `samples` batches of calls lasting ~`batch_s` each (the
/// least disturbed by other processes on a loaded machine).
fn time(mut f: impl FnMut(), batch_s: f64, samples: usize) -> f64 {
    f();
    let t0 = now();
    f();
    let once = (now() - t0).max(1e-7);
    let reps = ((batch_s / once) as usize).max(1);
    let mut v: Vec<f64> = (0..samples)
        .map(|_| {
            let t = now();
            for _ in 0..reps {
                f();
            }
            (now() - t) / reps as f64
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[0]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn compare<E: Elem>(m: usize, k: usize, n: usize, threads: usize, rounds: usize, peak: f64) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(15);
    let a: Vec<E> = (0..m * k)
        .map(|_| E::from_f64(rng.random_range(-1.0..1.0)))
        .collect();
    let b: Vec<E> = (0..k * n)
        .map(|_| E::from_f64(rng.random_range(-1.0..1.0)))
        .collect();
    let ta = Tensor::<(usize, usize), E>::from_vec_with_shape(a.clone(), (m, k)).unwrap();
    let tb = Tensor::<(usize, usize), E>::from_vec_with_shape(b.clone(), (k, n)).unwrap();
    let mut c = vec![E::ZERO; m * n];
    // Same numbers first (to the kernels' rounding).
    let ours = ta.clone().matmul(tb.clone());
    E::gemm_crate(m, k, n, &a, &b, &mut c, threads);
    let worst = ours
        .as_slice()
        .iter()
        .zip(&c)
        .map(|(x, y)| (x.to_f64() - y.to_f64()).abs())
        .fold(0.0, f64::max);
    assert!(
        worst < 1e-3 * (k as f64).sqrt(),
        "{m}x{k}x{n}: results differ by {worst}"
    );
    let flops = 2.0 * (m * k * n) as f64;
    let batch = (flops / 20e9).clamp(2e-3, 0.05);
    let (mut s, mut g, mut mm, mut ratios) = (vec![], vec![], vec![], vec![]);
    for r in 0..rounds {
        let mut run_shaped = || {
            s.push(
                flops
                    / time(
                        || {
                            black_box(ta.clone().matmul(tb.clone()));
                        },
                        batch,
                        5,
                    )
                    / 1e9,
            )
        };
        let mut run_gemm = || {
            g.push(
                flops
                    / time(
                        || E::gemm_crate(m, k, n, &a, &b, black_box(&mut c), threads),
                        batch,
                        5,
                    )
                    / 1e9,
            )
        };
        if r % 2 == 0 {
            run_shaped();
            run_gemm();
        } else {
            run_gemm();
            run_shaped();
        }
        mm.push(flops / time(|| E::mm(m, k, n, &a, &b, black_box(&mut c)), batch, 3) / 1e9);
        ratios.push(s[r] / g[r]);
    }
    let ratio = median(ratios);
    let (s, g, mm) = (median(s), median(g), median(mm));
    println!(
        "{:>3} {:>4}x{:>4}x{:>4} {threads}t | shaped {s:7.1} GFLOP/s ({:4.0}% of peak) | gemm crate {g:7.1} ({:4.0}%) | matrixmultiply 1t {mm:7.1} | shaped/gemm {ratio:.2} (median of rounds)",
        E::NAME,
        m,
        k,
        n,
        100.0 * s / peak,
        100.0 * g / peak
    );
}

/// The FMA peak on `threads` threads, GFLOP/s (the best of 7 runs) (f32; f64 is half of it), with
/// `shaped::__bench_fma_peak`-like code kept local: 12 independent zmm/ymm accumulators.
fn fma_peak(threads: usize) -> f64 {
    const ITERS: usize = 1 << 22;
    let one = |_: usize| fma_loop(ITERS);
    let run = || {
        std::thread::scope(|s| {
            let hs: Vec<_> = (0..threads).map(|t| s.spawn(move || one(t))).collect();
            hs.into_iter().map(|h| h.join().unwrap()).sum::<f32>()
        })
    };
    run();
    (0..7)
        .map(|_| {
            let t = now();
            black_box(if threads == 1 { one(0) } else { run() });
            (threads * ITERS * FLOPS_PER_ITER) as f64 / (now() - t) / 1e9
        })
        .fold(0.0, f64::max)
}

const FLOPS_PER_ITER: usize = 12 * 16 * 2;

#[inline(never)]
fn fma_loop(iters: usize) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: avx512f detected.
        return unsafe { fma512(iters) };
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: avx2 and fma detected.
        return unsafe { fma256(iters) };
    }
    let mut acc = [[1.0f32; 16]; 12];
    for _ in 0..iters {
        for a in acc.iter_mut() {
            for x in a.iter_mut() {
                *x = x.mul_add(0.999_999, 1e-7);
            }
        }
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
        for a in acc.iter_mut() {
            *a = _mm512_fmadd_ps(*a, m, c);
        }
    }
    acc.iter().map(|&a| _mm512_reduce_add_ps(a)).sum()
}

/// Half the width of [`fma512`], twice the trips (12 ymm accumulators fit the 16 registers).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn fma256(iters: usize) -> f32 {
    use std::arch::x86_64::*;
    let (m, c) = (_mm256_set1_ps(0.999_999), _mm256_set1_ps(1e-7));
    let mut acc = [_mm256_set1_ps(1.0); 12];
    for _ in 0..2 * iters {
        for a in acc.iter_mut() {
            *a = _mm256_fmadd_ps(*a, m, c);
        }
    }
    let mut lanes = [0.0f32; 8];
    let mut sum = 0.0;
    for a in acc {
        // SAFETY: `lanes` holds 8 f32.
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), a) };
        sum += lanes.iter().sum::<f32>();
    }
    sum
}

fn main() {
    // SAFETY: nothing else runs yet. matrixmultiply (if its `threading` feature is on)
    // would otherwise pick its own thread count.
    unsafe { std::env::set_var("MATMUL_NUM_THREADS", "1") };
    let threads: usize = std::env::var("SHAPED_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |t| t.get()));
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let only: Option<String> = std::env::args().nth(2);
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .ok();
    let peak = fma_peak(threads);
    println!(
        "FMA peak f32 on {threads} thread(s): {peak:.1} GFLOP/s (f64: {:.1}); {rounds} rounds, medians",
        peak / 2.0
    );
    let mut sizes = vec![
        (256, 256, 256),
        (512, 512, 512),
        (1024, 1024, 1024),
        (97, 51, 204),
        (97, 204, 51),
        (51, 97, 204),
    ];
    // A second argument `m,k,n` times that size alone; a single number, the listed sizes with that m.
    if let Some(v) = only.as_deref().filter(|o| o.contains(',')) {
        let d: Vec<usize> = v.split(',').map(|x| x.parse().unwrap()).collect();
        sizes = vec![(d[0], d[1], d[2])];
    }
    for &(m, k, n) in &sizes {
        if only
            .as_deref()
            .is_some_and(|o| !o.contains(',') && o != format!("{m}"))
        {
            continue;
        }
        compare::<f32>(m, k, n, threads, rounds, peak);
        compare::<f64>(m, k, n, threads, rounds, peak / 2.0);
    }
}
