//! Softmax and log-softmax along one axis of a `[outer, n, inner]` block, forward and
//! backward, and their normaliser `logsumexp`.

use super::parallel::{EXP_PARALLEL_ELEMS, for_row_blocks_from};
use super::uninit::{assume_init_mut, written};
use super::vector_math::{add_log_softmax_grad, exp_shifted_sum, log_softmax_grad_in_place};
use crate::backend::precompiled::precompiled;
use crate::dtype::Float;
use core::mem::MaybeUninit;

/// Lanes of the row loops below: one vector of `f32` at AVX-512 (eight, half a vector, ran
/// the exponentials of log-softmax at half width: (2048, 512) f32 on one thread 840 us,
/// PyTorch's 608), while rows of a few dozen (attention over short key ranges) still run
/// mostly in whole chunks.
const ROW_LANES: usize = 16;

/// Maximum of a row with [`ROW_LANES`] independent accumulators (vectorises; `max` ignores
/// NaN in any order, as the sequential loop does).
#[inline(always)]
pub(super) fn row_max<E: Float>(r: &[E]) -> E {
    let mut acc = [E::NEG_INFINITY; ROW_LANES];
    let chunks = r.chunks_exact(ROW_LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            // The accumulators are never NaN, so this skips a NaN `x` as `max` does, in one
            // vector max (`max` itself also tests both sides for NaN at every step).
            *a = if x > *a { x } else { *a };
        }
    }
    let mut m = E::NEG_INFINITY;
    for a in acc.into_iter().chain(tail.iter().copied()) {
        m = m.max(a);
    }
    m
}

/// `sum_k a_k b_k` (or `sum_k a_k` with `b = None`) with [`ROW_LANES`] accumulators.
#[inline(always)]
pub(super) fn row_dot<E: Float>(a: &[E], b: Option<&[E]>) -> E {
    let mut acc = [E::ZERO; ROW_LANES];
    let ca = a.chunks_exact(ROW_LANES);
    let tail = ca.remainder();
    match b {
        Some(b) => {
            let b = &b[..a.len()];
            for (c, d) in ca.zip(b.chunks_exact(ROW_LANES)) {
                for k in 0..ROW_LANES {
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
                for k in 0..ROW_LANES {
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
        // The exponentials and their sum in one pass where the backend has a vector `exp`.
        let sum = exp_shifted_sum(xr, m, Some(&mut *yr));
        if sum.is_none() {
            for (v, &xv) in yr.iter_mut().zip(xr) {
                v.write((xv - m).exp());
            }
        }
        // SAFETY: every element of the row was written above (`xr` is as long as `yr`).
        let yr = unsafe { assume_init_mut(yr) };
        let inv = E::ONE / sum.unwrap_or_else(|| row_dot(yr, None));
        yr.iter_mut().for_each(|v| *v *= inv);
    }
}

/// Log-softmax of contiguous rows, as [`softmax_rows`].
#[inline(always)]
fn log_softmax_rows<E: Float>(x: &[E], n: usize, row: usize, y: &mut [MaybeUninit<E>]) {
    let x = &x[row * n..][..y.len()];
    for (xr, yr) in x.chunks_exact(n).zip(y.chunks_exact_mut(n)) {
        let m = row_max(xr);
        if let Some(s) = exp_shifted_sum(xr, m, None) {
            let lse = s.ln();
            for (v, &xv) in yr.iter_mut().zip(xr) {
                v.write((xv - m) - lse);
            }
            continue;
        }
        for (v, &xv) in yr.iter_mut().zip(xr) {
            v.write(xv - m);
        }
        // SAFETY: the loop above wrote every element of the row (`xr` is as long as `yr`).
        let yr = unsafe { assume_init_mut(yr) };
        let mut acc = [E::ZERO; ROW_LANES];
        let chunks = yr.chunks_exact(ROW_LANES);
        let tail = chunks.remainder();
        for c in chunks {
            for k in 0..ROW_LANES {
                acc[k] += c[k].exp_sum_term();
            }
        }
        let s = acc.iter().fold(E::ZERO, |s, &v| s + v)
            + tail.iter().fold(E::ZERO, |s, &v| s + v.exp_sum_term());
        let lse = s.ln();
        yr.iter_mut().for_each(|v| *v -= lse);
    }
}

/// `m + ln sum_k e^(x_k - m)` along the middle axis of `[outer, n, inner]` (`outer * inner`
/// values), `m` the maximum along the axis, or 0 where that is infinite (all `-inf` gives
/// `-inf`, a `+inf` gives `+inf`); `-inf` for an empty axis. Blocks of planes over the
/// threads.
///
/// One read of `x` per plane; composed (the maximum, `x - m`, its `exp`, their sum, `ln`,
/// `+ m`) it wrote and re-read two full-size copies: (4096, 1024) f32 along the rows, one
/// thread, 4.7 ms against PyTorch's 3.2.
pub(crate) fn logsumexp_axis<E: Float>(x: &[E], outer: usize, n: usize, inner: usize) -> Vec<E> {
    let len = outer * inner;
    if n == 0 || len == 0 {
        return vec![E::NEG_INFINITY; len];
    }
    let x = &x[..outer * n * inner];
    // SAFETY: every output of every block of planes is written.
    unsafe {
        written(len, |y| {
            for_row_blocks_from(
                y,
                inner,
                (EXP_PARALLEL_ELEMS / n).max(1),
                #[inline(always)]
                |first, block| {
                    if inner == 1 {
                        for (slot, row) in block.iter_mut().zip(x[first * n..].chunks_exact(n)) {
                            slot.write(row_logsumexp(row));
                        }
                        return;
                    }
                    let (mut m, mut sum) = (vec![E::ZERO; inner], vec![E::ZERO; inner]);
                    let planes = block.chunks_exact_mut(inner);
                    for (plane, out) in x[first * n * inner..].chunks_exact(n * inner).zip(planes) {
                        m.fill(E::NEG_INFINITY);
                        for xk in plane.chunks_exact(inner) {
                            for (m, &v) in m.iter_mut().zip(xk) {
                                *m = if v > *m { v } else { *m };
                            }
                        }
                        m.iter_mut()
                            .filter(|m| !m.is_finite())
                            .for_each(|m| *m = E::ZERO);
                        sum.fill(E::ZERO);
                        for xk in plane.chunks_exact(inner) {
                            for ((s, &m), &v) in sum.iter_mut().zip(&m).zip(xk) {
                                *s += (v - m).exp();
                            }
                        }
                        for ((slot, &m), &s) in out.iter_mut().zip(&m).zip(&sum) {
                            slot.write(m + s.ln());
                        }
                    }
                },
            )
        })
    }
}

/// [`logsumexp_axis`] of one contiguous row.
#[inline(always)]
fn row_logsumexp<E: Float>(row: &[E]) -> E {
    let m = row_max(row);
    if !m.is_finite() {
        // No term is e^0 = 1 here, so not `exp_sum_term`; shifting by 0 is exact.
        return row.iter().fold(E::ZERO, |s, &v| s + v.exp()).ln();
    }
    if let Some(s) = exp_shifted_sum(row, m, None) {
        return m + s.ln();
    }
    let mut acc = [E::ZERO; ROW_LANES];
    let chunks = row.chunks_exact(ROW_LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for k in 0..ROW_LANES {
            acc[k] += (c[k] - m).exp_sum_term();
        }
    }
    let s = acc.iter().fold(E::ZERO, |s, &v| s + v)
        + tail
            .iter()
            .fold(E::ZERO, |s, &v| s + (v - m).exp_sum_term());
    m + s.ln()
}

/// `gx += gy * e^(x - lse)` along the middle axis of `[outer, n, inner]` (`gy` and `lse` hold
/// one value per `(outer, inner)`): the backward of [`logsumexp_axis`] from its output.
/// Blocks of planes over the threads.
pub(crate) fn logsumexp_backward<E: Float>(
    gx: &mut [E],
    gy: &[E],
    x: &[E],
    lse: &[E],
    (outer, n, inner): (usize, usize, usize),
) {
    let len = outer * n * inner;
    if len == 0 {
        return;
    }
    let x = &x[..len];
    for_row_blocks_from(
        &mut gx[..len],
        n * inner,
        EXP_PARALLEL_ELEMS,
        #[inline(always)]
        |first, block| {
            for (p, gp) in (first..).zip(block.chunks_exact_mut(n * inner)) {
                let (g, l) = (&gy[p * inner..][..inner], &lse[p * inner..][..inner]);
                let xp = &x[p * n * inner..][..n * inner];
                if inner == 1 {
                    // One run along the row (runs of one element do not vectorise).
                    for (acc, &v) in gp.iter_mut().zip(xp) {
                        *acc += g[0] * (v - l[0]).exp();
                    }
                    continue;
                }
                for (gk, xk) in gp.chunks_exact_mut(inner).zip(xp.chunks_exact(inner)) {
                    for (((acc, &v), &g), &l) in gk.iter_mut().zip(xk).zip(g).zip(l) {
                        *acc += g * (v - l).exp();
                    }
                }
            }
        },
    );
}

/// New `[outer, n, inner]` values computed along the middle axis plane by plane (`[n, inner]`,
/// blocks of planes over the threads): each step `k` of a plane is a contiguous run of
/// `inner` values, so the loops run along it with one running value per column (column by
/// column, every step strode `inner` elements: 9x slower). `plane_fn(xp, yp, max, sum)` gets
/// an input plane, its output plane, every column's maximum and a zeroed value per column.
///
/// # Safety
/// `plane_fn` writes every element of the output plane it is given (or panics).
#[inline(always)]
unsafe fn by_planes<E: Float>(
    x: &[E],
    (outer, n, inner): (usize, usize, usize),
    plane_fn: impl Fn(&[E], &mut [MaybeUninit<E>], &mut [E], &mut [E]) + Sync,
) -> Vec<E> {
    let plane = n * inner;
    if plane == 0 {
        return vec![E::ZERO; x.len()];
    }
    let x = &x[..outer * plane];
    // SAFETY: the blocks of planes cover `x.len()` (whole planes), and the caller's
    // `plane_fn` writes every element of each.
    unsafe {
        written(x.len(), |y| {
            for_row_blocks_from(
                y,
                plane,
                EXP_PARALLEL_ELEMS,
                #[inline(always)]
                |first, block| {
                    let mut m = vec![E::NEG_INFINITY; inner];
                    let mut sum = vec![E::ZERO; inner];
                    let xs = &x[first * plane..][..block.len()];
                    for (xp, yp) in xs.chunks_exact(plane).zip(block.chunks_exact_mut(plane)) {
                        m.fill(E::NEG_INFINITY);
                        sum.fill(E::ZERO);
                        for xk in xp.chunks_exact(inner) {
                            m.iter_mut().zip(xk).for_each(|(m, &v)| *m = m.max(v));
                        }
                        plane_fn(xp, yp, &mut m, &mut sum);
                    }
                },
            )
        })
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
    // SAFETY: the exp loop writes every element of the plane.
    unsafe {
        by_planes(
            x,
            (outer, n, inner),
            #[inline(always)]
            |xp, yp, m, sum| {
                m.iter_mut()
                    .filter(|m| !m.is_finite())
                    .for_each(|m| *m = E::ZERO);
                for (xk, yk) in xp.chunks_exact(inner).zip(yp.chunks_exact_mut(inner)) {
                    for (((slot, &v), &m), s) in yk.iter_mut().zip(xk).zip(&*m).zip(&mut *sum) {
                        let e = (v - m).exp();
                        slot.write(e);
                        *s += e;
                    }
                }
                // SAFETY: the loop above wrote every element of the plane.
                let yp = assume_init_mut(yp);
                sum.iter_mut().for_each(|s| *s = E::ONE / *s);
                for yk in yp.chunks_exact_mut(inner) {
                    yk.iter_mut().zip(&*sum).for_each(|(v, &inv)| *v *= inv);
                }
            },
        )
    }
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
    // An infinite maximum is not replaced: x - m is then NaN somewhere and the whole column
    // NaN, as in PyTorch (so is a column holding a NaN).
    // SAFETY: the shift loop writes every element of the plane.
    unsafe {
        by_planes(
            x,
            (outer, n, inner),
            #[inline(always)]
            |xp, yp, m, sum| {
                for (xk, yk) in xp.chunks_exact(inner).zip(yp.chunks_exact_mut(inner)) {
                    for (((slot, &v), &m), s) in yk.iter_mut().zip(xk).zip(&*m).zip(&mut *sum) {
                        let shifted = v - m;
                        slot.write(shifted);
                        *s += shifted.exp_sum_term();
                    }
                }
                // SAFETY: the loop above wrote every element of the plane.
                let yp = assume_init_mut(yp);
                sum.iter_mut().for_each(|s| *s = s.ln());
                for yk in yp.chunks_exact_mut(inner) {
                    yk.iter_mut().zip(&*sum).for_each(|(v, &lse)| *v -= lse);
                }
            },
        )
    }
}

precompiled! {
    /// `gx += gy - exp(y) * sum_k(gy)` along the middle axis: the backward of
    /// [`log_softmax_axis`] from its output `y`. Without `gy`, in place: `gx` holds `gy` on
    /// entry and the gradient on return (no zero-filled buffer to add into, when the input
    /// has no gradient yet).
    pub(crate) fn log_softmax_backward<E>(gx: &mut [E], gy: Option<&[E]>, y: &[E], outer: usize, n: usize, inner: usize) = log_softmax_backward_generic;
}

/// The kernel of [`log_softmax_backward`].
fn log_softmax_backward_generic<E: Float>(
    gx: &mut [E],
    gy: Option<&[E]>,
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
                let y = &y[row * n..][..block.len()];
                let gy = gy.map(|gy| &gy[row * n..][..block.len()]);
                for (r, (g, yr)) in block.chunks_exact_mut(n).zip(y.chunks_exact(n)).enumerate() {
                    match gy.map(|gy| &gy[r * n..][..n]) {
                        Some(gyr) => {
                            let total = row_dot(gyr, None);
                            if add_log_softmax_grad(g, gyr, yr, total) {
                                continue;
                            }
                            for ((a, &b), &c) in g.iter_mut().zip(gyr).zip(yr) {
                                *a += b - c.exp() * total;
                            }
                        }
                        None => {
                            let total = row_dot(g, None);
                            if log_softmax_grad_in_place(g, yr, total) {
                                continue;
                            }
                            for (a, &c) in g.iter_mut().zip(yr) {
                                *a -= c.exp() * total;
                            }
                        }
                    }
                }
            },
        );
        return;
    }
    // Plane by plane along a middle axis, as the forward.
    backward_by_planes(
        gx,
        (gy, y),
        (outer, n, inner),
        #[inline(always)]
        |b, _| b,
        #[inline(always)]
        |b, c, total| b - c.exp() * total,
    );
}

precompiled! {
    /// `gx += y * (gy - sum_k(gy * y))` along the middle axis; without `gy`, in place (as
    /// [`log_softmax_backward`]).
    pub(crate) fn softmax_backward<E>(gx: &mut [E], gy: Option<&[E]>, y: &[E], outer: usize, n: usize, inner: usize) = softmax_backward_generic;
}

/// The kernel of [`softmax_backward`].
fn softmax_backward_generic<E: Float>(
    gx: &mut [E],
    gy: Option<&[E]>,
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
                let y = &y[row * n..][..block.len()];
                let gy = gy.map(|gy| &gy[row * n..][..block.len()]);
                for (r, (g, yr)) in block.chunks_exact_mut(n).zip(y.chunks_exact(n)).enumerate() {
                    match gy.map(|gy| &gy[r * n..][..n]) {
                        Some(gyr) => {
                            let dot = row_dot(gyr, Some(yr));
                            for ((a, &b), &c) in g.iter_mut().zip(gyr).zip(yr) {
                                *a += c * (b - dot);
                            }
                        }
                        None => {
                            let dot = row_dot(g, Some(yr));
                            for (a, &c) in g.iter_mut().zip(yr) {
                                *a = c * (*a - dot);
                            }
                        }
                    }
                }
            },
        );
        return;
    }
    // Plane by plane along a middle axis, as the forward.
    backward_by_planes(
        gx,
        (gy, y),
        (outer, n, inner),
        #[inline(always)]
        |b, c| b * c,
        #[inline(always)]
        |b, c, dot| c * (b - dot),
    );
}

/// The backward of softmax and log-softmax along a middle axis, plane by plane (`[n, inner]`,
/// blocks of planes over the threads, as [`by_planes`]): per column, `s = sum_k
/// term(gy, y)` over the plane's contiguous runs, then `gx += grad(gy, y, s)` for every
/// element, or without `gy`, `gx = grad(gx, y, s)` (in place, `gx` holding `gy`).
#[inline(always)]
fn backward_by_planes<E: Float>(
    gx: &mut [E],
    (gy, y): (Option<&[E]>, &[E]),
    (outer, n, inner): (usize, usize, usize),
    term: impl Fn(E, E) -> E + Sync,
    grad: impl Fn(E, E, E) -> E + Sync,
) {
    let plane = n * inner;
    if plane == 0 {
        return;
    }
    let gx = &mut gx[..outer * plane];
    for_row_blocks_from(
        gx,
        plane,
        EXP_PARALLEL_ELEMS,
        #[inline(always)]
        |first, block| {
            let mut sums = vec![E::ZERO; inner];
            let y = &y[first * plane..][..block.len()];
            let gy = gy.map(|gy| &gy[first * plane..][..block.len()]);
            for (p, (gp, yp)) in block
                .chunks_exact_mut(plane)
                .zip(y.chunks_exact(plane))
                .enumerate()
            {
                let gyp = gy.map(|gy| &gy[p * plane..][..plane]);
                sums.fill(E::ZERO);
                for (gyk, yk) in gyp
                    .unwrap_or(gp)
                    .chunks_exact(inner)
                    .zip(yp.chunks_exact(inner))
                {
                    for ((s, &b), &c) in sums.iter_mut().zip(gyk).zip(yk) {
                        *s += term(b, c);
                    }
                }
                match gyp {
                    Some(gyp) => {
                        for ((gk, gyk), yk) in gp
                            .chunks_exact_mut(inner)
                            .zip(gyp.chunks_exact(inner))
                            .zip(yp.chunks_exact(inner))
                        {
                            for (((a, &b), &c), &s) in gk.iter_mut().zip(gyk).zip(yk).zip(&sums) {
                                *a += grad(b, c, s);
                            }
                        }
                    }
                    None => {
                        for (gk, yk) in gp.chunks_exact_mut(inner).zip(yp.chunks_exact(inner)) {
                            for ((a, &c), &s) in gk.iter_mut().zip(yk).zip(&sums) {
                                *a = grad(*a, c, s);
                            }
                        }
                    }
                }
            }
        },
    );
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
            a.iter().zip(b).all(|(p, q)| {
                (p.is_nan() && q.is_nan()) || (p - q).abs() <= 1e-12 * (1.0 + q.abs())
            })
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
                logsumexp_backward(&mut gx, &gy, &x, &lse, (outer, n, inner));
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
}
