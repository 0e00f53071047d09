//! Tests of softmax, log-softmax and logsumexp, forward and backward, against their
//! definitions.

use super::*;

/// Large logits stay finite; rows with NaN or only infinities give NaN, as PyTorch's.
#[test]
fn log_softmax_edge_rows() {
    let inf = f32::INFINITY;
    // Checked against torch.log_softmax: every row but the first is all NaN.
    let x = [1000.0, 0.0, -inf, -inf, 1.0, f32::NAN, inf, 0.0];
    let y = log_softmax_axis(&x, 4, 2, 1);
    assert_eq!(&y[..2], &[0.0, -1000.0]);
    assert!(y[2..].iter().all(|v| v.is_nan()), "{y:?}");
    // The backward from a one-hot cotangent is one-hot minus softmax.
    let (x, gy) = ([0.0f64, 2f64.ln()], [1.0, 0.0]);
    let y = log_softmax_axis(&x, 1, 2, 1);
    let mut gx = [0.0; 2];
    log_softmax_backward(&mut gx, Some(&gy), &y, 1, 2, 1);
    assert!((gx[0] - 2.0 / 3.0).abs() < 1e-15 && (gx[1] + 2.0 / 3.0).abs() < 1e-15);
}

/// The last-axis path (contiguous rows, split over threads above `parallel::PARALLEL_ELEMS`)
/// agrees with the strided path, read through a transpose, forward and backward.
#[test]
fn last_axis_rows_match_the_strided_path() {
    let (rows, n) = (300, 257);
    let val = |i: usize| ((i * 7919 % 1013) as f64 - 500.0) / 37.0;
    let mut x: Vec<f64> = (0..rows * n).map(val).collect();
    x[5 * n..6 * n].fill(f64::NEG_INFINITY);
    let gy: Vec<f64> = (0..rows * n).map(|i| val(i + 3) / 10.0).collect();
    let t = |v: &[f64]| -> Vec<f64> {
        (0..rows * n)
            .map(|i| v[(i % rows) * n + i / rows])
            .collect()
    };
    let close = |a: &[f64], b: &[f64]| {
        a.iter()
            .zip(b)
            .all(|(p, q)| (p.is_nan() && q.is_nan()) || (p - q).abs() <= 1e-12 * (1.0 + q.abs()))
    };
    for log in [false, true] {
        let (fwd, bwd): (
            fn(&[f64], usize, usize, usize) -> Vec<f64>,
            fn(&mut [f64], Option<&[f64]>, &[f64], usize, usize, usize),
        ) = if log {
            (log_softmax_axis, log_softmax_backward)
        } else {
            (softmax_axis, softmax_backward)
        };
        let y = fwd(&x, rows, n, 1);
        let yt = fwd(&t(&x), 1, n, rows);
        assert!(close(&t(&y), &yt), "forward, log = {log}");
        let mut gx = vec![0.5; rows * n];
        bwd(&mut gx, Some(&gy), &y, rows, n, 1);
        let mut gxt = vec![0.5; rows * n];
        bwd(&mut gxt, Some(&t(&gy)), &yt, 1, n, rows);
        assert!(close(&t(&gx), &gxt), "backward, log = {log}");
        // In place (the gradient written over `gy`), both paths: what was added to 0.5.
        let (mut gi, mut git) = (gy.clone(), t(&gy));
        bwd(&mut gi, None, &y, rows, n, 1);
        bwd(&mut git, None, &yt, 1, n, rows);
        let plus_half = |v: &[f64]| v.iter().map(|g| g + 0.5).collect::<Vec<_>>();
        assert!(close(&plus_half(&gi), &gx), "in place, log = {log}");
        assert!(
            close(&plus_half(&git), &gxt),
            "in place, strided, log = {log}"
        );
    }
}

/// `logsumexp` along the last and a middle axis, and its backward, against the
/// definition in f64, below and above the split over the threads, in both types; rows
/// of `-inf`, with a `+inf` or a NaN, and an empty axis.
#[test]
fn logsumexp_matches_the_definition() {
    fn check<E: Float>(tol: f64) {
        for (outer, n, inner) in [
            (1, 1, 1),
            (3, 5, 1),
            (2, 33, 1),
            (4096, 40, 1),
            (2, 3, 5),
            (3, 17, 40),
            (16, 20, 256),
        ] {
            let len = outer * n * inner;
            let x: Vec<E> = (0..len)
                .map(|i| E::from_f64(((i * 37 % 101) as f64) / 7.0 - 6.0))
                .collect();
            let gy: Vec<E> = (0..outer * inner)
                .map(|i| E::from_f64(((i * 53 % 97) as f64) / 31.0 - 1.5))
                .collect();
            let lse = logsumexp_axis(&x, outer, n, inner);
            let mut gx = vec![E::ONE; len];
            logsumexp_backward(GradTarget::Add(&mut gx), &gy, &x, &lse, (outer, n, inner));
            // Written into new memory: the same values without the one added to.
            let mut fresh: Vec<E> = Vec::with_capacity(len);
            let slots = &mut fresh.spare_capacity_mut()[..len];
            logsumexp_backward(GradTarget::Write(slots), &gy, &x, &lse, (outer, n, inner));
            // SAFETY: the backward wrote every element.
            unsafe { fresh.set_len(len) };
            for (f, a) in fresh.iter().zip(&gx) {
                assert_eq!(
                    *f + E::ONE,
                    *a,
                    "written against added ({outer}, {n}, {inner})"
                );
            }
            for o in 0..outer {
                for i in 0..inner {
                    let at = |k: usize| x[(o * n + k) * inner + i].to_f64();
                    let want = (0..n).map(|k| at(k).exp()).sum::<f64>().ln();
                    let got = lse[o * inner + i].to_f64();
                    assert!(
                        (got - want).abs() < tol * (1.0 + want.abs()),
                        "lse ({outer}, {n}, {inner}) [{o}, {i}]: {got} vs {want}"
                    );
                    for k in 0..n {
                        let want = gy[o * inner + i].to_f64() * (at(k) - want).exp();
                        let got = gx[(o * n + k) * inner + i].to_f64() - 1.0;
                        assert!(
                            (got - want).abs() < tol * (1.0 + want.abs()),
                            "gx ({outer}, {n}, {inner})"
                        );
                    }
                }
            }
        }
    }
    check::<f32>(2e-6);
    check::<f64>(1e-12);
    let inf = f32::INFINITY;
    let x = [-inf, -inf, 1.0, inf, 2.0, f32::NAN, 1.0, 2.0];
    let rows = logsumexp_axis(&x, 4, 2, 1);
    assert_eq!(rows[..2], [-inf, inf]);
    assert!(rows[2].is_nan() && (rows[3] - (2.0f32 + (-1.0f32).exp().ln_1p())).abs() < 1e-6);
    let cols = logsumexp_axis(&x, 1, 4, 2);
    // Columns (-inf, 1, 2, 1) and (-inf, inf, NaN, 2).
    let want = (2.0 * 1.0f64.exp() + 2.0f64.exp()).ln() as f32;
    assert!(
        (cols[0] - want).abs() < 1e-6 && cols[1].is_nan(),
        "{cols:?}"
    );
    let cols = logsumexp_axis(&[-inf, 1.0, inf, -inf], 1, 2, 2);
    assert_eq!(cols, [inf, 1.0]);
    assert_eq!(logsumexp_axis::<f32>(&[], 3, 0, 2), vec![-inf; 6]);
}

/// Softmax and log-softmax along the middle of `[outer, n, inner]`, and their backward
/// passes, against the definitions column by column, for shapes below and above the
/// split over the threads; NaN and infinite columns as in PyTorch.
#[test]
fn middle_axes_match_the_definitions() {
    for (outer, n, inner) in [
        (1, 1, 1),
        (2, 3, 5),
        (3, 17, 40),
        (16, 20, 256),
        (1, 130, 300),
    ] {
        let len = outer * n * inner;
        let mut x: Vec<f64> = (0..len).map(|i| (i as f64 * 0.37).sin() * 6.0).collect();
        if len > 10 {
            x[inner + 1] = f64::NAN;
            x[2] = f64::INFINITY;
        }
        let gy: Vec<f64> = (0..len).map(|i| (i as f64 * 0.11).cos()).collect();
        let at = |o: usize, k: usize, i: usize| (o * n + k) * inner + i;
        let (mut sm, mut lsm) = (vec![0.0; len], vec![0.0; len]);
        for o in 0..outer {
            for i in 0..inner {
                let col: Vec<f64> = (0..n).map(|k| x[at(o, k, i)]).collect();
                let m = col.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
                let ms = if m.is_finite() { m } else { 0.0 };
                let s: f64 = col.iter().map(|v| (v - ms).exp()).sum();
                let lse = col.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
                for k in 0..n {
                    sm[at(o, k, i)] = (col[k] - ms).exp() / s;
                    lsm[at(o, k, i)] = col[k] - m - lse;
                }
            }
        }
        let same = |got: &[f64], want: &[f64], what: &str| {
            for (j, (g, w)) in got.iter().zip(want).enumerate() {
                let ok = (g.is_nan() && w.is_nan()) || (g - w).abs() <= 1e-12 * (1.0 + w.abs());
                assert!(ok, "{what} {outer}x{n}x{inner} at {j}: {g} vs {w}");
            }
        };
        let y = softmax_axis(&x, outer, n, inner);
        same(&y, &sm, "softmax");
        let ly = log_softmax_axis(&x, outer, n, inner);
        same(&ly, &lsm, "log_softmax");
        let (mut gs, mut gl) = (vec![0.5; len], vec![0.5; len]);
        softmax_backward(&mut gs, Some(&gy), &y, outer, n, inner);
        log_softmax_backward(&mut gl, Some(&gy), &ly, outer, n, inner);
        // In place: the gradient alone, written over `gy`.
        let (mut gs_in, mut gl_in) = (gy.clone(), gy.clone());
        softmax_backward(&mut gs_in, None, &y, outer, n, inner);
        log_softmax_backward(&mut gl_in, None, &ly, outer, n, inner);
        let (mut want_gs, mut want_gl) = (vec![0.5; len], vec![0.5; len]);
        for o in 0..outer {
            for i in 0..inner {
                let dot: f64 = (0..n).map(|k| gy[at(o, k, i)] * y[at(o, k, i)]).sum();
                let total: f64 = (0..n).map(|k| gy[at(o, k, i)]).sum();
                for k in 0..n {
                    let j = at(o, k, i);
                    want_gs[j] += y[j] * (gy[j] - dot);
                    want_gl[j] += gy[j] - ly[j].exp() * total;
                }
            }
        }
        same(&gs, &want_gs, "softmax backward");
        same(&gl, &want_gl, "log_softmax backward");
        let minus_half = |v: &[f64]| v.iter().map(|w| w - 0.5).collect::<Vec<_>>();
        same(&gs_in, &minus_half(&want_gs), "softmax backward in place");
        same(
            &gl_in,
            &minus_half(&want_gl),
            "log_softmax backward in place",
        );
    }
}

/// Rows written in place of a zeroed buffer (in blocks over the threads from
/// `EXP_PARALLEL_ELEMS` elements on) hold what the strided path over the same values
/// gives: the last axis against a middle one.
#[test]
fn contiguous_rows_match_the_strided_path() {
    for (rows, n) in [(1, 5), (7, 33), (300, 100)] {
        let x: Vec<f64> = (0..rows * n)
            .map(|i| (i as f64 * 0.37).sin() * 4.0)
            .collect();
        // The same rows as columns: `[1, n, rows]`, reduced along the middle axis.
        let xt: Vec<f64> = (0..n * rows)
            .map(|i| x[(i % rows) * n + i / rows])
            .collect();
        for (fast, strided) in [
            (softmax_axis(&x, rows, n, 1), softmax_axis(&xt, 1, n, rows)),
            (
                log_softmax_axis(&x, rows, n, 1),
                log_softmax_axis(&xt, 1, n, rows),
            ),
        ] {
            for (i, v) in fast.iter().enumerate() {
                let w = strided[(i % n) * rows + i / n];
                assert!(
                    (v - w).abs() <= 1e-12 * (1.0 + w.abs()),
                    "{rows} x {n}, {i}"
                );
            }
        }
    }
}
