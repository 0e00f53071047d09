//! Softmax and log-softmax along one axis of a `[outer, n, inner]` block, forward and
//! backward, and their normaliser `logsumexp`.

use super::parallel::{EXP_PARALLEL_ELEMS, for_row_blocks_from};
use super::uninit::{GradElement, GradTarget, assume_init_mut, written};
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
    // Halving the accumulators (vector shuffles) rather than a scalar `max` over all
    // sixteen, which for rows of a few dozen cost as much as the row itself (softmax of
    // (65536, 32) `f32`, one thread: 2.47 -> 1.61 ms, PyTorch 1.89; two threads 1.25-1.70 ->
    // 0.81, PyTorch 0.94).
    let mut width = ROW_LANES / 2;
    while width > 0 {
        for i in 0..width {
            let other = acc[i + width];
            acc[i] = if other > acc[i] { other } else { acc[i] };
        }
        width /= 2;
    }
    let mut m = acc[0];
    for &x in tail {
        m = m.max(x);
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

/// `gx (+)= gy * e^(x - lse)` along the middle axis of `[outer, n, inner]` (`gy` and `lse`
/// hold one value per `(outer, inner)`): the backward of [`logsumexp_axis`] from its output,
/// added into an existing gradient or written whole into a new one. Blocks of planes over
/// the threads.
pub(crate) fn logsumexp_backward<E: Float>(
    gx: GradTarget<'_, E>,
    gy: &[E],
    x: &[E],
    lse: &[E],
    layout: (usize, usize, usize),
) {
    match gx {
        GradTarget::Add(gx) => put_logsumexp_grad(gx, gy, x, lse, layout),
        GradTarget::Write(gx) => put_logsumexp_grad(gx, gy, x, lse, layout),
    }
}

/// [`logsumexp_backward`] for either kind of gradient element.
fn put_logsumexp_grad<E: Float, O: GradElement<E>>(
    gx: &mut [O],
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
                        acc.put(g[0] * (v - l[0]).exp());
                    }
                    continue;
                }
                for (gk, xk) in gp.chunks_exact_mut(inner).zip(xp.chunks_exact(inner)) {
                    for (((acc, &v), &g), &l) in gk.iter_mut().zip(xk).zip(g).zip(l) {
                        acc.put(g * (v - l).exp());
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
mod tests;
