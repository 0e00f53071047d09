//! Softmax and log-softmax along one axis of a `[outer, n, inner]` block, forward and
//! backward.

use super::parallel::{EXP_PARALLEL_ELEMS, for_row_blocks_from};
use super::simd::wide;
use super::uninit::{assume_init_mut, written};
use crate::backend::precompiled::precompiled;
use crate::dtype::Float;
use core::mem::MaybeUninit;

/// Maximum of a row with eight independent accumulators (vectorises; `max` ignores NaN in
/// any order, as the sequential loop does).
#[inline(always)]
pub(super) fn row_max<E: Float>(r: &[E]) -> E {
    let mut acc = [E::NEG_INFINITY; 8];
    let chunks = r.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a = a.max(x);
        }
    }
    let mut m = E::NEG_INFINITY;
    for a in acc.into_iter().chain(tail.iter().copied()) {
        m = m.max(a);
    }
    m
}

/// `sum_k a_k b_k` (or `sum_k a_k` with `b = None`) with eight accumulators.
#[inline(always)]
pub(super) fn row_dot<E: Float>(a: &[E], b: Option<&[E]>) -> E {
    let mut acc = [E::ZERO; 8];
    let ca = a.chunks_exact(8);
    let tail = ca.remainder();
    match b {
        Some(b) => {
            let b = &b[..a.len()];
            for (c, d) in ca.zip(b.chunks_exact(8)) {
                for k in 0..8 {
                    acc[k] += c[k] * d[k];
                }
            }
            let tb = &b[a.len() - tail.len()..];
            let mut s = acc.iter().fold(E::ZERO, |s, &v| s + v);
            for (&x, &y) in tail.iter().zip(tb) {
                s += x * y;
            }
            s
        }
        None => {
            for c in ca {
                for k in 0..8 {
                    acc[k] += c[k];
                }
            }
            acc.iter().chain(tail).fold(E::ZERO, |s, &v| s + v)
        }
    }
}

/// Softmax of contiguous rows of `n` (the last axis): `y` holds as many rows as `x` from
/// row `row`.
#[inline(always)]
fn softmax_rows<E: Float>(x: &[E], n: usize, row: usize, y: &mut [MaybeUninit<E>]) {
    let x = &x[row * n..][..y.len()];
    for (xr, yr) in x.chunks_exact(n).zip(y.chunks_exact_mut(n)) {
        let mut m = row_max(xr);
        if !m.is_finite() {
            m = E::ZERO;
        }
        for (v, &xv) in yr.iter_mut().zip(xr) {
            v.write((xv - m).exp());
        }
        // SAFETY: the loop above wrote every element of the row (`xr` is as long as `yr`).
        let yr = unsafe { assume_init_mut(yr) };
        let inv = E::ONE / row_dot(yr, None);
        yr.iter_mut().for_each(|v| *v *= inv);
    }
}

/// Log-softmax of contiguous rows, as [`softmax_rows`].
#[inline(always)]
fn log_softmax_rows<E: Float>(x: &[E], n: usize, row: usize, y: &mut [MaybeUninit<E>]) {
    let x = &x[row * n..][..y.len()];
    for (xr, yr) in x.chunks_exact(n).zip(y.chunks_exact_mut(n)) {
        let m = row_max(xr);
        for (v, &xv) in yr.iter_mut().zip(xr) {
            v.write(xv - m);
        }
        // SAFETY: the loop above wrote every element of the row (`xr` is as long as `yr`).
        let yr = unsafe { assume_init_mut(yr) };
        let mut acc = [E::ZERO; 8];
        let chunks = yr.chunks_exact(8);
        let tail = chunks.remainder();
        for c in chunks {
            for k in 0..8 {
                acc[k] += c[k].exp();
            }
        }
        let s = acc.iter().fold(E::ZERO, |s, &v| s + v)
            + tail.iter().fold(E::ZERO, |s, &v| s + v.exp());
        let lse = s.ln();
        yr.iter_mut().for_each(|v| *v -= lse);
    }
}

precompiled! {
    /// Softmax along the middle of `[outer, n, inner]`, shifted by each row's maximum.
    pub(crate) fn softmax_axis<E>(x: &[E], outer: usize, n: usize, inner: usize) -> Vec<E> = softmax_axis_generic;
}

/// The kernel of [`softmax_axis`].
fn softmax_axis_generic<E: Float>(x: &[E], outer: usize, n: usize, inner: usize) -> Vec<E> {
    if inner == 1 && n > 0 {
        // SAFETY: `x` holds `outer` whole rows; the row blocks cover them all, and
        // `softmax_rows` writes every element of its block (or panics).
        return unsafe {
            written(x.len(), |y| {
                for_row_blocks_from(
                    y,
                    n,
                    EXP_PARALLEL_ELEMS,
                    #[inline(always)]
                    |row, block| softmax_rows(x, n, row, block),
                )
            })
        };
    }
    wide(
        #[inline(always)]
        || {
            let mut y = vec![E::ZERO; x.len()];
            for o in 0..outer {
                for i in 0..inner {
                    let at = |k: usize| (o * n + k) * inner + i;
                    let mut m = E::NEG_INFINITY;
                    for k in 0..n {
                        m = m.max(x[at(k)]);
                    }
                    if !m.is_finite() {
                        m = E::ZERO;
                    }
                    let mut s = E::ZERO;
                    for k in 0..n {
                        let e = (x[at(k)] - m).exp();
                        y[at(k)] = e;
                        s += e;
                    }
                    let inv = E::ONE / s;
                    for k in 0..n {
                        y[at(k)] *= inv;
                    }
                }
            }
            y
        },
    )
}

precompiled! {
    /// `y = x - m - ln(sum_k exp(x - m))` along the middle axis, `m` being the row maximum.
    pub(crate) fn log_softmax_axis<E>(x: &[E], outer: usize, n: usize, inner: usize) -> Vec<E> = log_softmax_axis_generic;
}

/// The kernel of [`log_softmax_axis`].
fn log_softmax_axis_generic<E: Float>(x: &[E], outer: usize, n: usize, inner: usize) -> Vec<E> {
    if inner == 1 && n > 0 {
        // SAFETY: `x` holds `outer` whole rows; the row blocks cover them all, and
        // `log_softmax_rows` writes every element of its block (or panics).
        return unsafe {
            written(x.len(), |y| {
                for_row_blocks_from(
                    y,
                    n,
                    EXP_PARALLEL_ELEMS,
                    #[inline(always)]
                    |row, block| log_softmax_rows(x, n, row, block),
                )
            })
        };
    }
    wide(
        #[inline(always)]
        || {
            let mut y = vec![E::ZERO; x.len()];
            for o in 0..outer {
                for i in 0..inner {
                    let at = |k: usize| (o * n + k) * inner + i;
                    // An infinite maximum is not replaced: x - m is then NaN somewhere and
                    // the whole row NaN, as in PyTorch (so is a row holding a NaN).
                    let mut m = E::NEG_INFINITY;
                    for k in 0..n {
                        m = m.max(x[at(k)]);
                    }
                    let mut s = E::ZERO;
                    for k in 0..n {
                        let shifted = x[at(k)] - m;
                        y[at(k)] = shifted;
                        s += shifted.exp();
                    }
                    let lse = s.ln();
                    for k in 0..n {
                        y[at(k)] -= lse;
                    }
                }
            }
            y
        },
    )
}

precompiled! {
    /// `gx += gy - exp(y) * sum_k(gy)` along the middle axis: the backward of
    /// [`log_softmax_axis`] from its output `y`.
    pub(crate) fn log_softmax_backward<E>(gx: &mut [E], gy: &[E], y: &[E], outer: usize, n: usize, inner: usize) = log_softmax_backward_generic;
}

/// The kernel of [`log_softmax_backward`].
fn log_softmax_backward_generic<E: Float>(
    gx: &mut [E],
    gy: &[E],
    y: &[E],
    outer: usize,
    n: usize,
    inner: usize,
) {
    if inner == 1 && n > 0 {
        for_row_blocks_from(
            gx,
            n,
            EXP_PARALLEL_ELEMS,
            #[inline(always)]
            |row, block| {
                let (gy, y) = (&gy[row * n..][..block.len()], &y[row * n..][..block.len()]);
                for ((g, gyr), yr) in block
                    .chunks_exact_mut(n)
                    .zip(gy.chunks_exact(n))
                    .zip(y.chunks_exact(n))
                {
                    let total = row_dot(gyr, None);
                    for ((a, &b), &c) in g.iter_mut().zip(gyr).zip(yr) {
                        *a += b - c.exp() * total;
                    }
                }
            },
        );
        return;
    }
    wide(
        #[inline(always)]
        || {
            for o in 0..outer {
                for i in 0..inner {
                    let at = |k: usize| (o * n + k) * inner + i;
                    let mut total = E::ZERO;
                    for k in 0..n {
                        total += gy[at(k)];
                    }
                    for k in 0..n {
                        gx[at(k)] += gy[at(k)] - y[at(k)].exp() * total;
                    }
                }
            }
        },
    )
}

precompiled! {
    /// `gx += y * (gy - sum_k(gy * y))` along the middle axis.
    pub(crate) fn softmax_backward<E>(gx: &mut [E], gy: &[E], y: &[E], outer: usize, n: usize, inner: usize) = softmax_backward_generic;
}

/// The kernel of [`softmax_backward`].
fn softmax_backward_generic<E: Float>(
    gx: &mut [E],
    gy: &[E],
    y: &[E],
    outer: usize,
    n: usize,
    inner: usize,
) {
    if inner == 1 && n > 0 {
        for_row_blocks_from(
            gx,
            n,
            EXP_PARALLEL_ELEMS,
            #[inline(always)]
            |row, block| {
                let (gy, y) = (&gy[row * n..][..block.len()], &y[row * n..][..block.len()]);
                for ((g, gyr), yr) in block
                    .chunks_exact_mut(n)
                    .zip(gy.chunks_exact(n))
                    .zip(y.chunks_exact(n))
                {
                    let dot = row_dot(gyr, Some(yr));
                    for ((a, &b), &c) in g.iter_mut().zip(gyr).zip(yr) {
                        *a += c * (b - dot);
                    }
                }
            },
        );
        return;
    }
    wide(
        #[inline(always)]
        || {
            for o in 0..outer {
                for i in 0..inner {
                    let at = |k: usize| (o * n + k) * inner + i;
                    let mut dot = E::ZERO;
                    for k in 0..n {
                        dot += gy[at(k)] * y[at(k)];
                    }
                    for k in 0..n {
                        gx[at(k)] += y[at(k)] * (gy[at(k)] - dot);
                    }
                }
            }
        },
    )
}

#[cfg(test)]
mod log_softmax_tests {
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
        log_softmax_backward(&mut gx, &gy, &y, 1, 2, 1);
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
            a.iter().zip(b).all(|(p, q)| {
                (p.is_nan() && q.is_nan()) || (p - q).abs() <= 1e-12 * (1.0 + q.abs())
            })
        };
        for log in [false, true] {
            let (fwd, bwd): (
                fn(&[f64], usize, usize, usize) -> Vec<f64>,
                fn(&mut [f64], &[f64], &[f64], usize, usize, usize),
            ) = if log {
                (log_softmax_axis, log_softmax_backward)
            } else {
                (softmax_axis, softmax_backward)
            };
            let y = fwd(&x, rows, n, 1);
            let yt = fwd(&t(&x), 1, n, rows);
            assert!(close(&t(&y), &yt), "forward, log = {log}");
            let mut gx = vec![0.5; rows * n];
            bwd(&mut gx, &gy, &y, rows, n, 1);
            let mut gxt = vec![0.5; rows * n];
            bwd(&mut gxt, &t(&gy), &yt, 1, n, rows);
            assert!(close(&t(&gx), &gxt), "backward, log = {log}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
