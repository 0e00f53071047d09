//! The kernels against the portable product and naive references.

use super::*;
use rand::{RngExt, SeedableRng};

mod reference;
use reference::*;
pub(super) use reference::{Layout, check_every_path, check_every_path_at};

/// Extents whose offsets wrap a `usize` are refused on both paths (issue 14: a wrapped
/// check let a (3, 0) x (0, n) product write far past its buffer).
#[test]
fn wrapping_extents_are_refused() {
    let n = 6148914691236517211usize;
    let mut c = vec![0.0f32; 17];
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        sgemm(
            3,
            0,
            n,
            1.0,
            &[],
            (0, 1),
            &[],
            (n as isize, 1),
            0.0,
            &mut c,
            (n as isize, 1),
        )
    }));
    assert!(r.is_err());
    let mut c = vec![0.0f64; 17];
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        dgemm(
            3,
            0,
            n,
            1.0,
            &[],
            (0, 1),
            &[],
            (n as isize, 1),
            0.0,
            &mut c,
            (n as isize, 1),
        )
    }));
    assert!(r.is_err());
    check_extent("a", 6, 2, 3, (3, 1));
    check_extent("a", 6, 2, 3, (1, 2));
    let r = std::panic::catch_unwind(|| check_extent("a", 6, 2, 3, (-3, 1)));
    assert!(r.is_err());
}

/// Every layout the crate uses (row/column-major operands), ragged sizes around the
/// block sizes, both betas and threaded sizes, against the portable product.
#[test]
fn fast_product_matches_portable() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let sizes = [
        (1, 1, 1),
        (3, 5, 7),
        (8, 256, 32),
        (9, 257, 33),
        (16, 128, 512),
        (64, 784, 256),
        (130, 300, 70),
        (14, 70, 100),
        (43, 33, 50),
        (33, 40, 2100),
        (200, 600, 300),
    ];
    for &(m, k, n) in &sizes {
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            for beta in [0.0f32, 1.0, 0.5] {
                let a: Vec<f32> = (0..m * k).map(|_| rng.random_range(-1.0..1.0)).collect();
                let b: Vec<f32> = (0..k * n).map(|_| rng.random_range(-1.0..1.0)).collect();
                let c0: Vec<f32> = (0..m * n).map(|_| rng.random_range(-1.0..1.0)).collect();
                let sa = if ta { (1, m as isize) } else { (k as isize, 1) };
                let sb = if tb { (1, k as isize) } else { (n as isize, 1) };
                let sc = (n as isize, 1);
                let (mut fast, mut slow) = (c0.clone(), c0.clone());
                sgemm(m, k, n, 0.75, &a, sa, &b, sb, beta, &mut fast, sc);
                fallback(m, k, n, 0.75, &a, sa, &b, sb, beta, &mut slow, sc);
                for (i, (x, y)) in fast.iter().zip(&slow).enumerate() {
                    assert!(
                        (x - y).abs() <= 1e-4 * (1.0 + y.abs()) * (k as f32).sqrt(),
                        "{m}x{k}x{n} ta={ta} tb={tb} beta={beta}: c[{i}] = {x}, expected {y}"
                    );
                }
            }
        }
    }
}

#[test]
fn beta_zero_ignores_nan_in_c_and_k_zero_scales() {
    let a = [1.0f32; 6];
    let b = [1.0f32; 6];
    let mut c = [f32::NAN; 4];
    sgemm(2, 3, 2, 1.0, &a, (3, 1), &b, (2, 1), 0.0, &mut c, (2, 1));
    assert_eq!(c, [3.0; 4]);
    sgemm(2, 0, 2, 1.0, &[], (0, 1), &[], (2, 1), 0.5, &mut c, (2, 1));
    assert_eq!(c, [1.5; 4]);
}

#[test]
fn strided_c_rows_leave_gaps_untouched() {
    let a = [1.0f32, 2.0, 3.0, 4.0];
    let b = [1.0f32, 0.0, 0.0, 1.0];
    let mut c = [9.0f32; 6];
    sgemm(2, 2, 2, 1.0, &a, (2, 1), &b, (2, 1), 0.0, &mut c, (3, 1));
    assert_eq!(c, [1.0, 2.0, 9.0, 3.0, 4.0, 9.0]);
}

#[test]
fn every_f32_kernel_matches_naive_on_odd_sizes() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(15);
    for (name, product) in f32_paths() {
        for &size in &odd_sizes() {
            for layout in layouts() {
                for beta in [0.0, 1.0] {
                    check_product(name, product, size, layout, 1.0, beta, 1e-6, &mut rng);
                }
            }
        }
    }
}

#[test]
fn every_f64_kernel_matches_naive_on_odd_sizes() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(16);
    for (name, product) in f64_paths() {
        for &size in &odd_sizes() {
            for layout in layouts() {
                for beta in [0.0, 1.0] {
                    check_product(name, product, size, layout, 1.0, beta, 1e-14, &mut rng);
                }
            }
        }
    }
}

/// Sizes that cross the cache blocks (KC up to 384, MC up to 144, chunks of packed `B`
/// over 4M elements), pack ragged panels, run on the
/// threads (above 2 MFLOP), take the in-place paths (small `B`, `x W^T`), and W7's LSTM
/// products; alpha and beta other than 0 and 1.
#[test]
fn every_kernel_matches_naive_across_blocks_and_threads() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(17);
    let sizes = [
        (97, 51, 204),
        (97, 204, 51),
        (130, 400, 70),
        (200, 600, 300),
        (16, 128, 4200),
        (300, 1030, 40),
        (64, 784, 256),
        (3, 1100, 4100),
        // Packed `A` and `B` with ragged panels: last row panels of 1 row (37) and 5 (41)
        // at MR 6 and 12, odd last column panels, `k` not a multiple of 8.
        (37, 300, 301),
        (41, 45, 263),
        // Transposed `A` with its columns 1 KiB apart (`m` + the layouts' pad of 5 = 256
        // `f32`, 128 `f64`): packed column by column (`pack_a_columns`), ragged last panels,
        // narrow and wide `B`, two depth blocks.
        (251, 600, 70),
        (123, 300, 300),
        // Few rows against many columns: on two or more threads the threads split the
        // columns, each packing its own panels of `B` as it first reads them (ragged last
        // row and column panels, one and three `KC` blocks).
        (20, 300, 1000),
        (40, 900, 777),
    ];
    let layouts = [
        Layout {
            ta: false,
            tb: false,
            pad: 0,
        },
        Layout {
            ta: false,
            tb: true,
            pad: 0,
        },
        Layout {
            ta: true,
            tb: false,
            pad: 5,
        },
        Layout {
            ta: true,
            tb: true,
            pad: 1,
        },
    ];
    for &size in &sizes {
        for &layout in &layouts {
            for (name, product) in f32_paths() {
                check_product(name, product, size, layout, 0.75, 0.5, 1e-6, &mut rng);
            }
            for (name, product) in f64_paths() {
                check_product(name, product, size, layout, -1.5, 1.0, 1e-14, &mut rng);
            }
        }
    }
}

/// On one thread, a wide row-major `B` is packed by the first row panel's micro-kernel
/// calls as they read it (`Kernel::tile_pack_b`), not in a pass of its own: sizes under
/// the threading threshold (so one tile on any machine) whose `KC x n` block of `B` is too
/// large to read in place, with ragged last column panels, one to three `KC` blocks and
/// fewer rows than a micro-panel.
#[test]
fn fused_b_packing_matches_naive() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(19);
    let sizes = [
        (5, 200, 1000),
        (7, 130, 1100),
        (1, 700, 1000),
        (2, 1000, 520),
    ];
    for &(m, k, n) in &sizes {
        assert!(2 * m * k * n < blocked::PARALLEL_FLOPS);
        for (ta, pad) in [(false, 0), (true, 3)] {
            let layout = Layout { ta, tb: false, pad };
            for beta in [0.0, 1.0] {
                check_every_path((m, k, n), layout, beta, &mut rng);
            }
        }
    }
}

/// `k == 0` and `alpha == 0` only scale `C` (zeros for `beta == 0`, even over NaN).
#[test]
fn every_kernel_scales_c_when_nothing_is_summed() {
    for (name, product) in f64_paths() {
        let mut c = [f64::NAN; 6];
        product(2, 0, 3, 1.0, &[], (0, 1), &[], (3, 1), 0.0, &mut c, (3, 1));
        assert_eq!(c, [0.0; 6], "{name}");
        let mut c = [2.0; 6];
        product(
            2,
            2,
            3,
            0.0,
            &[1.0; 4],
            (2, 1),
            &[1.0; 6],
            (3, 1),
            0.5,
            &mut c,
            (3, 1),
        );
        assert_eq!(c, [1.0; 6], "{name}");
    }
}

/// The portable product splits `C` over the threads by rows or by columns, whichever keeps
/// the blocks apart: column-major and reversed `C` (as strided views give it), above the
/// threading threshold, against a naive sum.
#[test]
fn portable_product_splits_c_in_any_layout() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(18);
    let (m, k, n) = (150, 70, 130);
    let a: Vec<f64> = (0..m * k).map(|_| rng.random_range(-1.0..1.0)).collect();
    let b: Vec<f64> = (0..k * n).map(|_| rng.random_range(-1.0..1.0)).collect();
    // Strides of C in a buffer of (m + 2) * (n + 2).
    let layouts: [(isize, isize); 2] = [((n + 2) as isize, 1), (1, (m + 2) as isize)];
    for sc in layouts {
        let mut c = vec![f64::NAN; (m + 2) * (n + 2)];
        let c0 = c.clone();
        fallback(
            m,
            k,
            n,
            1.0,
            &a,
            (k as isize, 1),
            &b,
            (1, k as isize),
            0.0,
            &mut c,
            sc,
        );
        let mut written = vec![false; c.len()];
        for i in 0..m {
            for j in 0..n {
                let want: f64 = (0..k).map(|p| a[i * k + p] * b[j * k + p]).sum();
                let idx = (i as isize * sc.0 + j as isize * sc.1) as usize;
                written[idx] = true;
                assert!((c[idx] - want).abs() < 1e-12, "{sc:?}: c[{i},{j}]");
            }
        }
        for (idx, w) in written.iter().enumerate() {
            assert!(
                *w || c[idx].is_nan() == c0[idx].is_nan(),
                "{sc:?}: {idx} touched"
            );
        }
    }
}

/// Products with a pre-packed `B` (several depth blocks, ragged panels, threaded sizes,
/// both layouts of `B`, `beta = 0` over NaN) against the portable product, for every
/// instruction set this CPU has.
#[test]
fn packed_b_products_match_portable() {
    let mut isas = vec![Isa::Portable];
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl")
        {
            isas.push(Isa::Avx512);
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            isas.push(Isa::Avx2);
        }
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let sizes = [
        (0, 5, 7),
        (1, 1, 1),
        (3, 5, 7),
        (16, 128, 512),
        (8, 512, 128),
        (13, 1100, 51),
        (200, 600, 300),
    ];
    for isa in isas {
        for &(m, k, n) in &sizes {
            for tb in [false, true] {
                for beta in [0.0f64, 1.0] {
                    let a: Vec<f64> = (0..m * k).map(|_| rng.random_range(-1.0..1.0)).collect();
                    let b: Vec<f64> = (0..k * n).map(|_| rng.random_range(-1.0..1.0)).collect();
                    let c0: Vec<f64> = (0..m * n)
                        .map(|i| {
                            if beta == 0.0 && i % 3 == 0 {
                                f64::NAN
                            } else {
                                0.5
                            }
                        })
                        .collect();
                    let sa = (k as isize + 3, 1);
                    let a_padded: Vec<f64> = (0..m * (k + 3))
                        .map(|i| {
                            if i % (k + 3) < k {
                                a[i / (k + 3) * k + i % (k + 3)]
                            } else {
                                f64::NAN
                            }
                        })
                        .collect();
                    let sb = if tb { (1, k as isize) } else { (n as isize, 1) };
                    let sc = (n as isize, 1);
                    let mut want = c0.clone();
                    fallback(
                        m,
                        k,
                        n,
                        0.75,
                        &a,
                        (k as isize, 1),
                        &b,
                        sb,
                        beta,
                        &mut want,
                        sc,
                    );
                    let b32: Vec<f32> = b.iter().map(|&v| v as f32).collect();
                    let a32: Vec<f32> = a_padded.iter().map(|&v| v as f32).collect();
                    let mut got32: Vec<f32> = c0.iter().map(|&v| v as f32).collect();
                    let packed32 = PackedB::for_isa(isa, k, n, &b32, sb);
                    gemm_packed(m, 0.75, &a32, sa, &packed32, beta as f32, &mut got32, sc);
                    let mut got64 = c0.clone();
                    let packed64 = PackedB::for_isa(isa, k, n, &b, sb);
                    gemm_packed(m, 0.75, &a_padded, sa, &packed64, beta, &mut got64, sc);
                    for i in 0..m * n {
                        let tol = 1e-4 * (1.0 + want[i].abs()) * (k as f64).sqrt();
                        assert!(
                            (got32[i] as f64 - want[i]).abs() <= tol
                                && (got64[i] - want[i]).abs() <= 1e-9 * tol,
                            "{isa:?} {m}x{k}x{n} tb={tb} beta={beta}: c[{i}] = {} / {}, expected {}",
                            got32[i],
                            got64[i],
                            want[i]
                        );
                    }
                }
            }
        }
    }
}

/// A [`PackedB`] made in a spare buffer (here full of NaN, as if left by another matrix)
/// writes every element its products read: they match the portable product.
#[test]
fn packed_b_in_a_spare_buffer_is_written_in_full() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(12);
    for &(m, k, n) in &[(8, 512, 128), (3, 37, 51), (5, 600, 33)] {
        for tb in [false, true] {
            SPARE_F32.with(|s| *s.borrow_mut() = vec![vec![f32::NAN; 1 << 18]]);
            let a: Vec<f32> = (0..m * k).map(|_| rng.random_range(-1.0..1.0)).collect();
            let b: Vec<f32> = (0..k * n).map(|_| rng.random_range(-1.0..1.0)).collect();
            let sb = if tb { (1, k as isize) } else { (n as isize, 1) };
            let packed = PackedB::new(k, n, &b, sb);
            let (mut got, mut want) = (vec![0.0f32; m * n], vec![0.0f32; m * n]);
            let (sa, sc) = ((k as isize, 1), (n as isize, 1));
            gemm_packed(m, 1.0, &a, sa, &packed, 0.0, &mut got, sc);
            fallback(m, k, n, 1.0, &a, sa, &b, sb, 0.0, &mut want, sc);
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (g - w).abs() <= 1e-4 * (k as f32).sqrt(),
                    "{m}x{k}x{n} tb={tb}: c[{i}] {g} vs {w}"
                );
            }
        }
    }
}

/// Row panels cover a block's rows once, in order, each at most `MR` high; a short tail
/// after a full panel is split into halves only with `A` in place and a kernel that asks.
#[cfg(target_arch = "x86_64")]
#[test]
fn row_panels_cover_every_row_once() {
    use blocked::{Kernel, row_panels};
    fn check<K: Kernel>(in_place: bool) {
        for mc in 1..200 {
            let panels: Vec<_> = row_panels::<K>(mc, in_place).collect();
            let mut next = 0;
            for &(ir, mr) in &panels {
                assert_eq!(ir, next, "mc {mc}: {panels:?}");
                assert!(mr >= 1 && mr <= K::MR, "mc {mc}: {panels:?}");
                next += mr;
            }
            assert_eq!(next, mc, "mc {mc}: {panels:?}");
            let short = panels.iter().filter(|p| p.1 <= K::SHORT_TAIL).count();
            assert!(
                !in_place || mc <= K::MR || short == 0,
                "mc {mc}: {panels:?}"
            );
        }
    }
    check::<avx2::F32>(true);
    check::<avx2::F64>(false);
    check::<avx512::F32>(true);
    let panels: Vec<_> = row_panels::<avx2::F32>(32, true).collect();
    assert_eq!(panels, [(0, 6), (6, 6), (12, 6), (18, 6), (24, 4), (28, 4)]);
    assert_eq!(row_panels::<avx2::F32>(32, false).last(), Some((30, 2)));
    assert_eq!(
        row_panels::<avx2::F32>(13, true).collect::<Vec<_>>(),
        [(0, 6), (6, 4), (10, 3)]
    );
}

/// `gemm_uninit` writes the whole `m x n` product over memory holding NaN (as it may hold
/// anything) and gives what `gemm` with `beta = 0` gives, for both element types, both
/// layouts of each operand, `k = 0`, sizes that split over threads and a transposed product.
#[test]
fn gemm_uninit_writes_every_element_and_reads_none() {
    fn check<E: Float + core::fmt::Debug>() {
        for (m, k, n) in [
            (0, 3, 4),
            (3, 0, 5),
            (1, 1, 1),
            (7, 13, 5),
            (64, 70, 33),
            (130, 300, 190),
            // Taken transposed (`C^T = B^T A^T`, then written back) with `A` column-major.
            (40, 600, 9),
        ] {
            let value = |i: usize| E::from_f64(((i * 37 % 101) as f64) / 17.0 - 2.5);
            let a: Vec<E> = (0..m * k).map(value).collect();
            let b: Vec<E> = (0..k * n).map(|i| value(i + 7)).collect();
            // Row-major, the same buffers read as transposes (column-major), and a
            // column-major `A` with a row-major `B`.
            let layouts = [
                ((k as isize, 1), (n as isize, 1)),
                ((1, m as isize), (1, k as isize)),
                ((1, m as isize), (n as isize, 1)),
            ];
            for (sa, sb) in layouts {
                let mut want = vec![E::ZERO; m * n];
                gemm(
                    m,
                    k,
                    n,
                    E::from_f64(0.5),
                    &a,
                    sa,
                    &b,
                    sb,
                    E::ZERO,
                    &mut want,
                    (n as isize, 1),
                );
                let mut c = vec![core::mem::MaybeUninit::new(E::from_f64(f64::NAN)); m * n];
                gemm_uninit(m, k, n, E::from_f64(0.5), &a, sa, &b, sb, &mut c);
                // SAFETY: every slot held a value before the call (NaN) and after it.
                let got: Vec<E> = c.iter().map(|v| unsafe { v.assume_init() }).collect();
                assert_eq!(got, want, "{m} x {k} x {n}, strides {sa:?} {sb:?}");
            }
        }
    }
    check::<f32>();
    check::<f64>();
}

/// `B` packed in more parts than it has panels on two threads (5 panels of 16 columns in 4
/// parts of 2: the last part empty) with `n` not a multiple of the panel width: the empty
/// part's column count underflowed, and the packing wrote past its buffer (a Linear<600, 70>
/// forward, `x W^T`, over 251 rows). Every thread count the pool can take covers it where
/// the machine has two cores or more.
#[test]
fn empty_packing_parts_pack_nothing() {
    let (m, k, n) = (251, 600, 70);
    let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 - 3.0).collect();
    let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 - 2.0).collect();
    let (sa, sb, sc) = ((k as isize, 1), (1, k as isize), (n as isize, 1));
    let mut fast = vec![0.0f32; m * n];
    let mut slow = vec![0.0f32; m * n];
    sgemm(m, k, n, 1.0, &a, sa, &b, sb, 0.0, &mut fast, sc);
    fallback(m, k, n, 1.0, &a, sa, &b, sb, 0.0, &mut slow, sc);
    assert_eq!(fast, slow);
}

/// Products that `blocked::product` computes transposed (`C^T = B^T A^T`, then `C` written
/// back: a column-major `A`, a row-major `B` of at most 128 columns, four times as many rows,
/// a depth of 512 or more, under the threading threshold so that the pool's size does not matter), with ragged
/// sizes, padded rows, a `k` over two depth blocks, and the betas that write, add and scale.
#[test]
fn transposed_products_match_naive() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(19);
    let sizes = [
        (100, 600, 10),
        (61, 513, 15),
        (130, 520, 15),
        (37, 700, 3),
        (4, 512, 1),
    ];
    for &(m, k, n) in &sizes {
        assert!(2 * m * k * n < blocked::PARALLEL_FLOPS && m >= 4 * n && k >= 512);
        for pad in [0, 3] {
            let layout = Layout {
                ta: true,
                tb: false,
                pad,
            };
            for beta in [0.0, 1.0, 0.5] {
                check_every_path((m, k, n), layout, beta, &mut rng);
            }
        }
    }
}

/// The tiles of a product cover every row (or column) once, in order, in whole units, with
/// sizes at most one unit apart (the last one may be ragged).
#[test]
fn split_covers_evenly() {
    for len in [0, 1, 5, 6, 7, 64, 97, 100, 512, 1023] {
        for unit in [1, 6, 16] {
            for parts in [1, 2, 3, 8, 16, 200] {
                let ranges: Vec<_> = (0..parts)
                    .map(|t| blocked::split(len, unit, parts, t))
                    .collect();
                assert_eq!(ranges[0].0, 0);
                assert_eq!(ranges[parts - 1].1, len);
                for w in ranges.windows(2) {
                    assert_eq!(w[0].1, w[1].0, "{len} {unit} {parts}: {ranges:?}");
                }
                let units: Vec<usize> = ranges.iter().map(|r| (r.1 - r.0).div_ceil(unit)).collect();
                // `parts >= 1`: `units` is never empty.
                let (lo, hi) = (units.iter().min().unwrap(), units.iter().max().unwrap());
                assert!(hi - lo <= 1, "{len} {unit} {parts}: {ranges:?}");
                assert!(
                    ranges
                        .iter()
                        .all(|r| (r.0 % unit == 0 || r.0 == len) && r.0 <= r.1)
                );
            }
        }
    }
}

/// Row-major `A` packed (more than `DIRECT_A_MAX_N` columns of `B`) with a short last row
/// panel: the panels are packed one by one and the short tail merged with the panel before it
/// (8 rows as 4 + 4 on AVX2), with `B` packed apart or by the first panel's calls (one
/// thread, small products), for betas that a panel computed twice would get wrong.
#[test]
fn packed_a_with_merged_short_tails_matches_naive() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(23);
    for m in [7, 8, 13, 14, 20, 32] {
        for (k, n) in [(5, 300), (70, 260), (130, 1100)] {
            for (ta, pad) in [(false, 0), (false, 3), (true, 0)] {
                let layout = Layout { ta, tb: false, pad };
                for beta in [0.0, 1.0, 0.5] {
                    check_every_path((m, k, n), layout, beta, &mut rng);
                }
            }
        }
    }
}

/// The dot products take few rows at any depth from `DOT_MIN_K` on, and many rows (up to
/// the kernel's limit) only when deep.
#[cfg(target_arch = "x86_64")]
#[test]
fn dot_products_take_few_rows_or_deep_sums() {
    use super::dot::dot_pays;
    assert!(dot_pays(16, 64, 64));
    assert!(!dot_pays(16, 31, 64));
    assert!(!dot_pays(64, 64, 64));
    assert!(dot_pays(64, 784, 64));
    assert!(!dot_pays(65, 784, 64));
}

/// `x W^T` (the in-place dot products) with its operands at every element offset within
/// their buffers gives one result, bit for bit, on every path: the dot products' aligned
/// loads keep each lane's sum as the unaligned loop has it.
#[test]
fn dot_products_do_not_depend_on_alignment() {
    fn check<E: Float>(paths: Vec<(&'static str, Product<E>)>, rng: &mut rand::rngs::StdRng) {
        for (m, k, n) in [(7, 300, 9), (6, 256, 4), (13, 784, 5), (64, 263, 7)] {
            let (a, sa) = operand::<E>(m, k, false, 0, rng);
            let (b, sb) = operand::<E>(k, n, true, 0, rng);
            for &(name, product) in &paths {
                let mut first: Option<Vec<u64>> = None;
                for offset in 0..16 {
                    let shifted = |v: &[E]| [vec![E::ZERO; offset], v.to_vec()].concat();
                    let (a_buf, b_buf) = (shifted(&a), shifted(&b));
                    let mut c = vec![E::ZERO; m * n];
                    let (a, b) = (&a_buf[offset..], &b_buf[offset..]);
                    product(
                        m,
                        k,
                        n,
                        E::ONE,
                        a,
                        sa,
                        b,
                        sb,
                        E::ZERO,
                        &mut c,
                        (n as isize, 1),
                    );
                    let bits: Vec<u64> = c.iter().map(|v| v.to_f64().to_bits()).collect();
                    match &first {
                        None => first = Some(bits),
                        Some(want) => assert!(
                            &bits == want,
                            "{name} {m}x{k}x{n}: offset {offset} changes the result"
                        ),
                    }
                }
            }
        }
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(20);
    check(f32_paths(), &mut rng);
    check(f64_paths(), &mut rng);
}
