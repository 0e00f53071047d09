//! Max and average pooling kernels against window-by-window definitions.

use super::*;

fn pseudo(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

/// Window-by-window max pooling with PyTorch's rules, for comparison.
fn naive_max_pool(x: &[f32], planes: usize, g: &PoolGeom) -> (Vec<f32>, Vec<u32>) {
    let (mut y, mut idx) = (Vec::new(), Vec::new());
    for p in 0..planes {
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let y0 = (oy * g.sh).saturating_sub(g.ph);
                let x0 = (ox * g.sw).saturating_sub(g.pw);
                let (mut best, mut at) = (f32::NEG_INFINITY, y0 * g.w + x0);
                for iy in y0..(oy * g.sh + g.kh).saturating_sub(g.ph).min(g.h) {
                    for ix in x0..(ox * g.sw + g.kw).saturating_sub(g.pw).min(g.w) {
                        let v = x[p * g.h * g.w + iy * g.w + ix];
                        if v > best || v.is_nan() {
                            best = v;
                            at = iy * g.w + ix;
                        }
                    }
                }
                y.push(best);
                idx.push(at as u32);
            }
        }
    }
    (y, idx)
}

#[test]
fn max_pool_matches_window_by_window_with_nan_and_infinities() {
    let mut x: Vec<f32> = pseudo(3 * 7 * 6, 9).into_iter().map(|v| v as f32).collect();
    x[3] = f32::NAN;
    x[4] = f32::NAN;
    x[20] = f32::INFINITY;
    for v in &mut x[42..84] {
        *v = f32::NEG_INFINITY; // a whole plane of -inf
    }
    x[100] = 5.0;
    x[101] = 5.0; // a tie: the first one wins
    for (k, s, p) in [(2, 2, 0), (3, 2, 1), (3, 1, 1), (2, 1, 1), (3, 3, 0)] {
        let oh = (7 + 2 * p - k) / s + 1;
        let ow = (6 + 2 * p - k) / s + 1;
        let g = PoolGeom::square((7, 6), (k, s, p), (oh, ow));
        let (y, idx) = max_pool2d_forward(&x, 3, &g);
        let (want_y, want_idx) = naive_max_pool(&x, 3, &g);
        for (a, b) in y.iter().zip(&want_y) {
            assert!(
                a == b || (a.is_nan() && b.is_nan()),
                "{k} {s} {p}: {a} vs {b}"
            );
        }
        assert_eq!(idx, want_idx, "{k} {s} {p}");
        let y64 = max_pool2d_forward(&x.iter().map(|&v| v as f64).collect::<Vec<_>>(), 3, &g);
        assert_eq!(y64.1, want_idx, "f64 {k} {s} {p}");
    }
}

/// The 1-D loops (each window and stride of the one-pass table, and others through the
/// per-offset passes: strides 1, 2 and wider; padding up to half the window, rows short
/// and long) against window by window, with NaN, infinities, ties and a plane of -inf.
#[test]
fn max_pool_lines_match_window_by_window() {
    for (k, s) in [
        (2, 2),
        (2, 1),
        (3, 1),
        (3, 2),
        (3, 3),
        (4, 4),
        (5, 1),
        (5, 2),
        (4, 3),
        (4, 1),
        (4, 2),
        (5, 5),
        (6, 4),
        (7, 1),
        (8, 8),
        (9, 1),
        (9, 2),
        (16, 5),
        (3, 5),
        (2, 7),
    ] {
        for p in 0..=k / 2 {
            for w in [k, k + 1, 2 * k + 3, 37, 64] {
                let planes = 4;
                let mut x: Vec<f32> = pseudo(planes * w, (k * 100 + s * 10 + w) as u64)
                    .into_iter()
                    .map(|v| v as f32)
                    .collect();
                x[w / 2] = f32::NAN;
                x[w + 1] = 7.0;
                x[w + w / 2] = 7.0; // a tie
                x[2 * w] = f32::INFINITY;
                for v in &mut x[3 * w..] {
                    *v = f32::NEG_INFINITY;
                }
                let ow = (w + 2 * p - k) / s + 1;
                let g = PoolGeom::line(w, (k, s, p), ow);
                let (y, idx) = max_pool2d_forward(&x, planes, &g);
                let (want_y, want_idx) = naive_max_pool(&x, planes, &g);
                // The untraced path (no positions) gives the same maxima.
                let values = max_pool2d_values(&x, planes, &g);
                assert_eq!(values.len(), want_y.len());
                for ((a, v), b) in y.iter().zip(&values).zip(&want_y) {
                    assert!(a == b || (a.is_nan() && b.is_nan()), "{k} {s} {p} {w}");
                    assert!(v == b || (v.is_nan() && b.is_nan()), "{k} {s} {p} {w}");
                }
                assert_eq!(idx, want_idx, "{k} {s} {p} {w}");
            }
        }
    }
}

#[test]
fn max_pool_split_over_threads_matches_window_by_window() {
    // Large enough to be split by planes over the pool; odd sizes leave a ragged edge.
    let (planes, h, w) = (37, 41, 39);
    let mut x: Vec<f32> = pseudo(planes * h * w, 4)
        .into_iter()
        .map(|v| v as f32)
        .collect();
    x[1000] = f32::NAN;
    for (k, s, p) in [(2, 2, 0), (3, 2, 1)] {
        let (oh, ow) = ((h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1);
        let g = PoolGeom::square((h, w), (k, s, p), (oh, ow));
        let (y, idx) = max_pool2d_forward(&x, planes, &g);
        let (want_y, want_idx) = naive_max_pool(&x, planes, &g);
        assert!(
            y.iter()
                .zip(&want_y)
                .all(|(a, b)| a == b || (a.is_nan() && b.is_nan()))
        );
        assert_eq!(idx, want_idx, "{k} {s} {p}");
    }
    // The same planes as rows of one 1-D pooling each (`planes * h` rows of `w`), split
    // over the threads too, with positions and without.
    for (k, s, p) in [(5, 5, 0), (3, 2, 1), (4, 1, 2)] {
        let ow = (w + 2 * p - k) / s + 1;
        let g = PoolGeom::line(w, (k, s, p), ow);
        let (y, idx) = max_pool2d_forward(&x, planes * h, &g);
        let values = max_pool2d_values(&x, planes * h, &g);
        let (want_y, want_idx) = naive_max_pool(&x, planes * h, &g);
        let same = |a: &f32, b: &f32| a == b || (a.is_nan() && b.is_nan());
        assert!(y.iter().zip(&want_y).all(|(a, b)| same(a, b)));
        assert!(
            values.len() == want_y.len() && values.iter().zip(&want_y).all(|(a, b)| same(a, b))
        );
        assert_eq!(idx, want_idx, "{k} {s} {p}");
    }
}

#[test]
fn avg_pool_matches_window_by_window_and_its_adjoint() {
    // Split by planes over the threads (37 planes of 41 x 39), a ragged edge, the 2x2
    // window's own loop and the general one with padding; in f64, against the window
    // sums in row-major order, and the backward against the forward (<y, gy> = <x, gx>).
    let (planes, h, w) = (37, 41, 39);
    let x = pseudo(planes * h * w, 5);
    for (k, s, p) in [(2, 2, 0), (3, 2, 1), (2, 1, 0), (3, 3, 0)] {
        let (oh, ow) = ((h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1);
        let g = PoolGeom::square((h, w), (k, s, p), (oh, ow));
        let y = avg_pool2d_forward(&x, planes, &g);
        assert_eq!(y.len(), planes * oh * ow);
        for (i, &got) in y.iter().enumerate() {
            let (pl, oy, ox) = (i / (oh * ow), i / ow % oh, i % ow);
            let mut sum = 0.0;
            for ky in 0..k {
                for kx in 0..k {
                    let (iy, ix) = (
                        (oy * s + ky) as isize - p as isize,
                        (ox * s + kx) as isize - p as isize,
                    );
                    if (0..h as isize).contains(&iy) && (0..w as isize).contains(&ix) {
                        sum += x[pl * h * w + iy as usize * w + ix as usize];
                    }
                }
            }
            let want = sum / (k * k) as f64;
            assert!(
                (got - want).abs() < 1e-12,
                "({k}, {s}, {p}) y[{i}]: {got} vs {want}"
            );
        }
        let gy = pseudo(y.len(), 6);
        let mut gx = vec![0.0; x.len()];
        avg_pool2d_backward(&mut gx, &gy, &g);
        let lhs: f64 = y.iter().zip(&gy).map(|(a, b)| a * b).sum();
        let rhs: f64 = x.iter().zip(&gx).map(|(a, b)| a * b).sum();
        assert!(
            (lhs - rhs).abs() < 1e-9 * (1.0 + lhs.abs()),
            "({k}, {s}, {p}) adjoint: {lhs} vs {rhs}"
        );
    }
}

#[test]
fn max_pool_2x2_rows_of_every_width_with_ties_and_nan() {
    // Values from a small set, so that windows tie often; NaN and infinities scattered.
    // Widths from 2 to 40 take rows shorter than, equal to and longer than one vector.
    for w in 2..=40 {
        let (planes, h) = (3, 5);
        let mut x: Vec<f32> = pseudo(planes * h * w, w as u64)
            .into_iter()
            .map(|v| (v * 3.0).round() as f32)
            .collect();
        for (i, v) in x.iter_mut().enumerate() {
            match i % 23 {
                5 => *v = f32::NAN,
                11 => *v = f32::INFINITY,
                17 => *v = f32::NEG_INFINITY,
                _ => {}
            }
        }
        let g = PoolGeom::square((h, w), (2, 2, 0), (h / 2, w / 2));
        let (y, idx) = max_pool2d_forward(&x, planes, &g);
        let (want_y, want_idx) = naive_max_pool(&x, planes, &g);
        assert!(
            y.iter()
                .zip(&want_y)
                .all(|(a, b)| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())),
            "width {w}"
        );
        assert_eq!(idx, want_idx, "width {w}");
        // The backward pass into a fresh buffer equals accumulating into zeros.
        let gy: Vec<f32> = pseudo(y.len(), 3).into_iter().map(|v| v as f32).collect();
        let fresh = max_pool2d_backward_new(&gy, &idx, planes, h * w, g.oh * g.ow);
        let mut acc = vec![0.0f32; planes * h * w];
        max_pool2d_backward(&mut acc, &gy, &idx, h * w, g.oh * g.ow);
        assert_eq!(fresh, acc, "width {w}");
    }
}

#[test]
fn max_pool_backward_split_over_threads_matches_serial_scatter() {
    let (planes, hw, ohw) = (40, 40 * 40, 20 * 20);
    let gy: Vec<f64> = pseudo(planes * ohw, 8);
    let idx: Vec<u32> = (0..planes * ohw)
        .map(|i| ((i * 7919) % hw) as u32)
        .collect();
    let serial = |start: f64| {
        let mut want = vec![start; planes * hw];
        for p in 0..planes {
            for k in 0..ohw {
                want[p * hw + idx[p * ohw + k] as usize] += gy[p * ohw + k];
            }
        }
        want
    };
    let mut got = vec![1.0; planes * hw];
    max_pool2d_backward(&mut got, &gy, &idx, hw, ohw);
    assert_eq!(got, serial(1.0));
    let fresh = max_pool2d_backward_new(&gy, &idx, planes, hw, ohw);
    assert_eq!(fresh, serial(0.0));
}
