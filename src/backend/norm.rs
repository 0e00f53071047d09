//! Normalisation kernels: BatchNorm's per-channel statistics over `[outer, c, inner]` and
//! LayerNorm's per-row statistics over `[rows, d]`, with their backward passes.
//!
//! Statistics take two passes (mean, then centred squares), so that a channel or row with a
//! large mean and a tiny variance keeps its variance: BatchNorm's channels accumulate in
//! `f64`; LayerNorm's rows (short, one per token) in their own type over 32 lanes, with the
//! corrected two-pass formula taking out the first mean's error ([`row_moments`]).
//! GroupNorm, whose groups are such rows, is in [`super::group_norm`].

use super::norm_short_runs as short;
use super::parallel::{PARALLEL_ELEMS, collect_blocks_from, for_row_blocks, row_parts};
use super::reduce::{add_halves, fold_lanes, sum_contiguous};
use super::simd::wide;
use super::threads;
use super::uninit::written;
use crate::dtype::Float;
use core::mem::MaybeUninit;

/// Lanes of [`lane_sum_f64`]: independent chains of f64 adds (one chain waited on the add
/// latency at every element: BatchNorm's statistics and gradient sums over (32, 64, 56, 56)
/// `f32` took several ms on one thread).
const F64_LANES: usize = 16;

/// `sum f(v)` over `run` in f64, in [`F64_LANES`] lanes added pairwise, then the tail in
/// order.
#[inline(always)]
fn lane_sum_f64<E: Float>(run: &[E], f: impl Fn(E) -> f64) -> f64 {
    let mut lanes = [0.0f64; F64_LANES];
    let chunks = run.chunks_exact(F64_LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for k in 0..F64_LANES {
            lanes[k] += f(c[k]);
        }
    }
    add_halves(&mut lanes);
    rest.iter().fold(lanes[0], |t, &v| t + f(v))
}

/// `f(run)` for each of the `outer * c` runs of `inner` of `[outer, c, inner]` (run `o * c +
/// ch`), in blocks of runs over the threads.
#[inline(always)]
pub(super) fn per_run<R: Copy + Send>(
    runs: usize,
    inner: usize,
    f: impl Fn(usize) -> R + Sync,
) -> Vec<R> {
    // SAFETY: every slot of every block is written once.
    unsafe {
        collect_blocks_from(
            runs,
            (PARALLEL_ELEMS / inner.max(1)).max(1),
            #[inline(always)]
            |offset, block| {
                for (i, slot) in block.iter_mut().enumerate() {
                    slot.write(f(offset + i));
                }
            },
        )
    }
}

/// Adds each channel's runs in order of `o` (so the total does not depend on how the runs
/// were split over the threads).
pub(super) fn channel_totals<R: Copy>(
    parts: &[R],
    c: usize,
    zero: R,
    add: impl Fn(R, R) -> R,
) -> Vec<R> {
    let mut totals = vec![zero; c];
    for row in parts.chunks_exact(c.max(1)) {
        for (t, &p) in totals.iter_mut().zip(row) {
            *t = add(*t, p);
        }
    }
    totals
}

/// Per-channel mean and biased variance of `x` seen as `[outer, c, inner]` (two passes, in
/// f64; runs over the threads).
pub(crate) fn channel_stats<E: Float>(
    x: &[E],
    outer: usize,
    c: usize,
    inner: usize,
) -> (Vec<E>, Vec<E>) {
    let m = (outer * inner) as f64;
    let mean: Vec<f64> = channel_sums(x, (outer, c, inner), None)
        .into_iter()
        .map(|s| s / m)
        .collect();
    let var = channel_sums(x, (outer, c, inner), Some(&mean));
    (
        mean.into_iter().map(E::from_f64).collect(),
        var.into_iter().map(|v| E::from_f64(v / m)).collect(),
    )
}

/// Per-channel sums over `[outer, c, inner]` in `f64`: of `x`, or, given `center`, of
/// `(x - center[ch])^2` (the two passes of [`channel_stats`], left unnormalised so that
/// several replicas can add theirs before dividing).
pub(crate) fn channel_sums<E: Float>(
    x: &[E],
    (outer, c, inner): (usize, usize, usize),
    center: Option<&[f64]>,
) -> Vec<f64> {
    if inner < short::SHORT_RUN {
        return short::channel_sums(x, (outer, c, inner), center);
    }
    let x = &x[..outer * c * inner];
    let sums = per_run(
        outer * c,
        inner,
        #[inline(always)]
        |r| {
            let run = &x[r * inner..][..inner];
            match center {
                None => lane_sum_f64(
                    run,
                    #[inline(always)]
                    |v| v.to_f64(),
                ),
                Some(mu) => {
                    let mu = mu[r % c];
                    lane_sum_f64(
                        run,
                        #[inline(always)]
                        |v| (v.to_f64() - mu).powi(2),
                    )
                }
            }
        },
    );
    channel_totals(&sums, c, 0.0, |a, b| a + b)
}

/// `1 / sqrt(var + eps)`, elementwise.
pub(crate) fn rstd<E: Float>(var: &[E], eps: f64) -> Vec<E> {
    var.iter()
        .map(|v| E::from_f64(1.0 / (v.to_f64() + eps).sqrt()))
        .collect()
}

/// `y = (x - mean[ch]) * rstd[ch] * w[ch] + b[ch]` over `[outer, c, inner]`; a missing
/// weight is 1 and a missing bias 0. Runs over the threads.
#[allow(clippy::too_many_arguments)]
pub(crate) fn channel_norm<E: Float>(
    x: &[E],
    outer: usize,
    c: usize,
    inner: usize,
    mean: &[E],
    rstd: &[E],
    w: Option<&[E]>,
    b: Option<&[E]>,
) -> Vec<E> {
    let len = outer * c * inner;
    if len == 0 {
        return Vec::new();
    }
    let x = &x[..len];
    // Folded into one multiply-add per element: y = x * scale + shift.
    let scale: Vec<E> = (0..c)
        .map(|ch| rstd[ch] * w.map_or(E::ONE, |w| w[ch]))
        .collect();
    let shift: Vec<E> = (0..c)
        .map(|ch| b.map_or(E::ZERO, |b| b[ch]) - mean[ch] * scale[ch])
        .collect();
    if inner < short::SHORT_MAP_RUN {
        return short::channel_affine(x, (outer, c, inner), &scale, &shift);
    }
    // SAFETY: every run of every block is written whole, from a source run of `inner`.
    unsafe {
        written(len, |y| {
            for_row_blocks(
                y,
                inner,
                #[inline(always)]
                |first, block| {
                    let runs = block.chunks_exact_mut(inner);
                    for (r, out) in (first..).zip(runs) {
                        let (s, t) = (scale[r % c], shift[r % c]);
                        for (slot, &v) in out.iter_mut().zip(&x[r * inner..][..inner]) {
                            slot.write(v * s + t);
                        }
                    }
                },
            )
        })
    }
}

/// Per-channel `sum(gy)` and `sum(gy * xhat)` with `xhat = (x - mean) * rstd`: the bias and
/// weight gradients, and the two reductions the input gradient needs. Each run is summed
/// in lanes (a single running sum per run waited on the add latency at every element),
/// runs over the threads, then added per channel in order.
pub(crate) fn channel_norm_sums<E: Float>(
    gy: &[E],
    x: &[E],
    outer: usize,
    c: usize,
    inner: usize,
    mean: &[E],
    rstd: &[E],
) -> (Vec<E>, Vec<E>) {
    if inner < short::SHORT_RUN {
        return short::channel_norm_sums(gy, x, (outer, c, inner), mean, rstd);
    }
    let len = outer * c * inner;
    let (gy, x) = (&gy[..len], &x[..len]);
    // LayerNorm's row sums with a weight of ones: `(sum gy, sum gy (x - mu) * rstd)`.
    let ones = vec![E::ONE; inner];
    let parts = per_run(
        outer * c,
        inner,
        #[inline(always)]
        |r| {
            let ch = r % c;
            let (gyr, xr) = (&gy[r * inner..][..inner], &x[r * inner..][..inner]);
            grad_sums(gyr, xr, &ones, mean[ch], rstd[ch])
        },
    );
    let totals = channel_totals(&parts, c, (E::ZERO, E::ZERO), |a, b| (a.0 + b.0, a.1 + b.1));
    totals.into_iter().unzip()
}

/// Adds the input gradient of [`channel_norm`] to `gx`. With batch statistics (`training`),
/// the mean and variance depend on `x`:
/// `gx = w rstd / M (M gy - sum(gy) - xhat sum(gy xhat))`, where `M` is the number of
/// values per channel the statistics were taken over (`outer * inner`, or the total over
/// all replicas of a synchronised BatchNorm, whose sums are then totals too);
/// with running statistics they are constants and `gx = w rstd gy`. Runs over the threads.
/// `gy: None` computes the gradient in place: `gx` holds `gy` on entry and the gradient on
/// return (the first gradient of `x`, written over the output's: no zero-filled buffer to
/// add into, read back and then hand on).
#[allow(clippy::too_many_arguments)]
pub(crate) fn channel_norm_backward_x<E: Float>(
    gx: &mut [E],
    gy: Option<&[E]>,
    x: &[E],
    (outer, c, inner): (usize, usize, usize),
    mean: &[E],
    rstd: &[E],
    w: Option<&[E]>,
    sums: Option<(&[E], &[E], usize)>,
) {
    let len = outer * c * inner;
    if len == 0 {
        return;
    }
    let (gy, x) = (gy.map(|gy| &gy[..len]), &x[..len]);
    let inv_m = E::ONE / E::from_usize(sums.map_or(1, |s| s.2));
    if inner < short::SHORT_MAP_RUN {
        let k: Vec<E> = (0..c)
            .map(|ch| rstd[ch] * w.map_or(E::ONE, |w| w[ch]))
            .collect();
        let centred = sums.map(|(sum_gy, sum_gy_xhat, _)| {
            let mean_g: Vec<E> = sum_gy[..c].iter().map(|&s| s * inv_m).collect();
            let slope: Vec<E> = (0..c)
                .map(|ch| rstd[ch] * sum_gy_xhat[ch] * inv_m)
                .collect();
            (mean_g, slope)
        });
        let centred = centred.as_ref().map(|(g, s)| (&g[..], &s[..]));
        short::channel_norm_backward_x(gx, gy, x, (outer, c, inner), mean, &k, centred);
        return;
    }
    for_row_blocks(
        &mut gx[..len],
        inner,
        #[inline(always)]
        |first, block| {
            for (r, gxr) in (first..).zip(block.chunks_exact_mut(inner)) {
                let ch = r % c;
                let (mu, rs) = (mean[ch], rstd[ch]);
                let k = rs * w.map_or(E::ONE, |w| w[ch]);
                let xr = &x[r * inner..][..inner];
                let gyr = gy.map(
                    #[inline(always)]
                    |gy| &gy[r * inner..][..inner],
                );
                match (sums, gyr) {
                    (Some((sum_gy, sum_gy_xhat, _)), Some(gyr)) => {
                        let (mg, mgx) = (sum_gy[ch] * inv_m, sum_gy_xhat[ch] * inv_m);
                        for ((acc, &g), &v) in gxr.iter_mut().zip(gyr).zip(xr) {
                            *acc += k * (g - mg - (v - mu) * rs * mgx);
                        }
                    }
                    (Some((sum_gy, sum_gy_xhat, _)), None) => {
                        let (mg, mgx) = (sum_gy[ch] * inv_m, sum_gy_xhat[ch] * inv_m);
                        for (g, &v) in gxr.iter_mut().zip(xr) {
                            *g = k * (*g - mg - (v - mu) * rs * mgx);
                        }
                    }
                    (None, Some(gyr)) => {
                        for (acc, &g) in gxr.iter_mut().zip(gyr) {
                            *acc += k * g;
                        }
                    }
                    (None, None) => {
                        for g in gxr.iter_mut() {
                            *g *= k;
                        }
                    }
                }
            }
        },
    );
}

/// A row's mean and biased variance, in the row's own type and 32 lanes (two vectors of
/// `f32`: independent chains of adds; the `f64` sums in one vector that this replaces
/// waited on the add latency at every step, LayerNorm over (2048, 256) f32 on one thread
/// 212 us). The variance by the corrected two-pass formula: `sum (v - m)^2 / n - s^2` with
/// `s = sum (v - m) / n` takes out what the first mean `m` got wrong, so a large mean over
/// a tiny spread keeps its variance; the mean returned is `m + s`.
#[inline(always)]
fn row_moments<E: Float>(row: &[E]) -> (E, E) {
    let n = E::from_usize(row.len().max(1));
    // The mean by a call to `sum_contiguous` (its own vector loop), not inlined here: inlined
    // next to the loops below, 64 accumulators were kept on the stack (LayerNorm over
    // (2048, 256) f32: 175 -> 345 us) and 32 were vectorised two lanes at a time.
    let first = sum_contiguous(row) / n;
    let (mut s1, mut s2) = ([E::ZERO; 32], [E::ZERO; 32]);
    let chunks = row.chunks_exact(32);
    let rest = chunks.remainder();
    for c in chunks {
        for k in 0..32 {
            let centred = c[k] - first;
            s1[k] += centred;
            s2[k] += centred * centred;
        }
    }
    let (mut t1, mut t2) = (fold_lanes(s1), fold_lanes(s2));
    for &v in rest {
        let centred = v - first;
        t1 += centred;
        t2 += centred * centred;
    }
    let shift = t1 / n;
    let var = t2 / n - shift * shift;
    (first + shift, var.max(E::ZERO))
}

/// `(sum g, sum g xhat)` over a row, `g = gy * w` and `xhat = (x - mu) rs`, in 32 lanes as
/// [`row_moments`] (all slices of the row's length).
#[inline(always)]
pub(super) fn grad_sums<E: Float>(gy: &[E], x: &[E], w: &[E], mu: E, rs: E) -> (E, E) {
    let (mut sg, mut sgx) = ([E::ZERO; 32], [E::ZERO; 32]);
    let lanes = gy
        .chunks_exact(32)
        .zip(x.chunks_exact(32))
        .zip(w.chunks_exact(32));
    for ((g32, x32), w32) in lanes {
        for k in 0..32 {
            let g = g32[k] * w32[k];
            sg[k] += g;
            sgx[k] += g * (x32[k] - mu);
        }
    }
    let (mut tg, mut tgx) = (fold_lanes(sg), fold_lanes(sgx));
    for j in gy.len() - gy.len() % 32..gy.len() {
        let g = gy[j] * w[j];
        tg += g;
        tgx += g * (x[j] - mu);
    }
    (tg, tgx * rs)
}

/// `w`, or `d` copies of `fill` when absent: a slice either way, so that the row loops
/// vectorise instead of testing the option per element.
pub(super) fn or_filled<E: Float>(w: Option<&[E]>, d: usize, fill: E) -> std::borrow::Cow<'_, [E]> {
    match w {
        Some(w) => std::borrow::Cow::Borrowed(&w[..d]),
        None => std::borrow::Cow::Owned(vec![fill; d]),
    }
}

/// The rows of a LayerNorm pass and their outputs: `y` (`d` per row), mean and
/// `1 / sqrt(var + eps)` (one per row), all written in full.
pub(super) type RowNormPiece<'a, E> = (
    &'a [E],
    &'a mut [MaybeUninit<E>],
    &'a mut [MaybeUninit<E>],
    &'a mut [MaybeUninit<E>],
);

/// LayerNorm forward over rows of length `d`: returns `y`, and each row's mean and
/// `1 / sqrt(var + eps)` (biased variance) for the backward pass. Not `centered`, RMSNorm:
/// the mean taken as 0 (returned as such) and the variance replaced by the mean square.
/// Long inputs are split into blocks of rows over the threads.
pub(crate) fn row_norm<E: Float>(
    x: &[E],
    d: usize,
    (w, b): (Option<&[E]>, Option<&[E]>),
    eps: f64,
    centered: bool,
) -> (Vec<E>, Vec<E>, Vec<E>) {
    let d = d.max(1);
    let (w, b) = (or_filled(w, d, E::ONE), or_filled(b, d, E::ZERO));
    normalized_rows(x, d, &|_, piece| {
        row_norm_block(piece, d, (&w, &b), eps, centered)
    })
}

/// Normalises rows of `d` of `x` by `block(first_row, piece)` over blocks of rows on the
/// threads: `block` writes the outputs, mean and `1 / sqrt(var + eps)` of every row of its
/// piece. Returns `y`, the means and the rstds.
pub(super) fn normalized_rows<E: Float>(
    x: &[E],
    d: usize,
    block: &(dyn Fn(usize, RowNormPiece<'_, E>) + Sync),
) -> (Vec<E>, Vec<E>, Vec<E>) {
    let rows = x.len() / d;
    let x = &x[..rows * d];
    let (mut y, mut means, mut rstds) = (
        Vec::with_capacity(rows * d),
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
    );
    {
        let per = rows.div_ceil(row_parts(x.len(), rows)).max(1);
        let pieces: Vec<(usize, RowNormPiece<'_, E>)> = x
            .chunks(per * d)
            .zip(y.spare_capacity_mut()[..rows * d].chunks_mut(per * d))
            .zip(means.spare_capacity_mut()[..rows].chunks_mut(per))
            .zip(rstds.spare_capacity_mut()[..rows].chunks_mut(per))
            .enumerate()
            .map(|(i, (((x, y), m), r))| (i * per, (x, y, m, r)))
            .collect();
        threads::run_pieces(pieces, &|(first, piece)| block(first, piece));
    }
    // SAFETY: the pieces cover all `rows` rows, and `block` wrote every row's `d` outputs,
    // mean and rstd (a panic in a piece is re-raised before this line).
    unsafe {
        y.set_len(rows * d);
        means.set_len(rows);
        rstds.set_len(rows);
    }
    (y, means, rstds)
}

/// [`row_norm`] over one block of rows.
#[inline(never)]
fn row_norm_block<E: Float>(
    (x, y, means, rstds): RowNormPiece<'_, E>,
    d: usize,
    (w, b): (&[E], &[E]),
    eps: f64,
    centered: bool,
) {
    wide(
        #[inline(always)]
        || {
            let rows = y.chunks_exact_mut(d).zip(means).zip(rstds);
            for (row, ((yr, mean), rstd)) in x.chunks_exact(d).zip(rows) {
                let (mu, r) = if centered {
                    row_stats(row, eps)
                } else {
                    (E::ZERO, row_rms_rstd(row, eps))
                };
                for (((out, &v), &wj), &bj) in yr.iter_mut().zip(row).zip(w).zip(b) {
                    out.write((v - mu) * r * wj + bj);
                }
                mean.write(mu);
                rstd.write(r);
            }
        },
    )
}

/// A row's mean and `1 / sqrt(var + eps)`.
#[inline(always)]
pub(super) fn row_stats<E: Float>(row: &[E], eps: f64) -> (E, E) {
    let (mu, var) = row_moments(row);
    (mu, E::from_f64(1.0 / (var.to_f64() + eps).sqrt()))
}

/// A row's `1 / sqrt(mean(x^2) + eps)` (RMSNorm), the squares summed in 32 lanes as
/// [`row_moments`] sums.
#[inline(always)]
fn row_rms_rstd<E: Float>(row: &[E], eps: f64) -> E {
    let mut lanes = [E::ZERO; 32];
    let chunks = row.chunks_exact(32);
    let rest = chunks.remainder();
    for c in chunks {
        for k in 0..32 {
            lanes[k] += c[k] * c[k];
        }
    }
    let mut total = fold_lanes(lanes);
    for &v in rest {
        total += v * v;
    }
    let mean_square = total.to_f64() / row.len().max(1) as f64;
    E::from_f64(1.0 / (mean_square + eps).sqrt())
}

/// Adds the LayerNorm input gradient to `gx`: per row, with `g = gy * w`,
/// `gx = rstd (g - mean(g) - xhat mean(g xhat))` (not `centered`, RMSNorm's: without the
/// `mean(g)` term, `mean` holding zeros); without `gy`, in place: `gx` holds `gy` on entry
/// and the gradient on return (an input with no gradient yet: no zero-filled buffer to add
/// into). Long inputs are split into blocks of rows over the threads.
pub(crate) fn row_norm_backward_x<E: Float>(
    gx: &mut [E],
    gy: Option<&[E]>,
    x: &[E],
    d: usize,
    (mean, rstd): (&[E], &[E]),
    w: Option<&[E]>,
    centered: bool,
) {
    if d == 0 {
        return;
    }
    let inv_d = E::ONE / E::from_usize(d);
    // The weight of `mean(g)`: 1 for LayerNorm, 0 for RMSNorm.
    let centering = if centered { inv_d } else { E::ZERO };
    let w = or_filled(w, d, E::ONE);
    let w = &w[..];
    for_row_blocks(
        gx,
        d,
        #[inline(always)]
        |first, block| {
            let rows = block.len() / d;
            let x = &x[first * d..][..rows * d];
            let gy = gy.map(
                #[inline(always)]
                |gy| &gy[first * d..][..rows * d],
            );
            for (r, (gxr, xr)) in block.chunks_exact_mut(d).zip(x.chunks_exact(d)).enumerate() {
                let (mu, rs) = (mean[first + r], rstd[first + r]);
                match gy.map(
                    #[inline(always)]
                    |gy| &gy[r * d..][..d],
                ) {
                    Some(gyr) => {
                        let (sg, sgx) = grad_sums(gyr, xr, w, mu, rs);
                        let (mg, mgx) = (sg * centering, sgx * inv_d);
                        for (((acc, &g), &v), &wj) in gxr.iter_mut().zip(gyr).zip(xr).zip(w) {
                            *acc += rs * (g * wj - mg - (v - mu) * rs * mgx);
                        }
                    }
                    None => {
                        let (sg, sgx) = grad_sums(gxr, xr, w, mu, rs);
                        let (mg, mgx) = (sg * centering, sgx * inv_d);
                        for ((g, &v), &wj) in gxr.iter_mut().zip(xr).zip(w) {
                            *g = rs * (*g * wj - mg - (v - mu) * rs * mgx);
                        }
                    }
                }
            }
        },
    );
}

/// LayerNorm parameter gradients: `gw[j] += sum_rows(gy * xhat)`, `gb[j] += sum_rows(gy)`.
pub(crate) fn row_norm_param_sums<E: Float>(
    gy: &[E],
    x: &[E],
    d: usize,
    mean: &[E],
    rstd: &[E],
) -> (Vec<E>, Vec<E>) {
    wide(
        #[inline(always)]
        || {
            let (mut gw, mut gb) = (vec![E::ZERO; d], vec![E::ZERO; d]);
            if d == 0 {
                return (gw, gb);
            }
            for (r, (gyr, xr)) in gy.chunks_exact(d).zip(x.chunks_exact(d)).enumerate() {
                let (mu, rs) = (mean[r], rstd[r]);
                for j in 0..d {
                    gw[j] += gyr[j] * (xr[j] - mu) * rs;
                    gb[j] += gyr[j];
                }
            }
            (gw, gb)
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// LayerNorm forward and input gradient computed naively in f64, row by row.
    fn naive(
        x: &[f64],
        gy: &[f64],
        d: usize,
        w: Option<&[f64]>,
        b: Option<&[f64]>,
    ) -> (Vec<f64>, Vec<f64>) {
        let (mut y, mut gx) = (Vec::new(), Vec::new());
        for (row, gyr) in x.chunks(d).zip(gy.chunks(d)) {
            let mu = row.iter().sum::<f64>() / d as f64;
            let var = row.iter().map(|v| (v - mu) * (v - mu)).sum::<f64>() / d as f64;
            let rs = 1.0 / (var + 1e-5).sqrt();
            let wj = |j: usize| w.map_or(1.0, |w| w[j]);
            let xhat: Vec<f64> = row.iter().map(|v| (v - mu) * rs).collect();
            y.extend((0..d).map(|j| xhat[j] * wj(j) + b.map_or(0.0, |b| b[j])));
            let g: Vec<f64> = (0..d).map(|j| gyr[j] * wj(j)).collect();
            let mg = g.iter().sum::<f64>() / d as f64;
            let mgx = (0..d).map(|j| g[j] * xhat[j]).sum::<f64>() / d as f64;
            gx.extend((0..d).map(|j| rs * (g[j] - mg - xhat[j] * mgx)));
        }
        (y, gx)
    }

    #[test]
    fn row_norm_matches_the_naive_formula_on_every_split() {
        // Rows shorter than, not a multiple of, and a multiple of the 32 lanes; 600 x 120
        // is long enough to be cut into blocks of rows over the threads.
        for (rows, d) in [
            (3, 1),
            (4, 5),
            (5, 13),
            (2, 32),
            (3, 71),
            (2, 96),
            (600, 120),
        ] {
            let x: Vec<f64> = (0..rows * d)
                .map(|i| ((i * 37 % 101) as f64) / 13.0 - 3.0)
                .collect();
            let gy: Vec<f64> = (0..rows * d)
                .map(|i| ((i * 53 % 97) as f64) / 31.0 - 1.5)
                .collect();
            let w: Vec<f64> = (0..d).map(|j| 0.5 + j as f64 / 7.0).collect();
            let b: Vec<f64> = (0..d).map(|j| j as f64 / 3.0 - 1.0).collect();
            for affine in [false, true] {
                let (w, b) = if affine {
                    (Some(&w[..]), Some(&b[..]))
                } else {
                    (None, None)
                };
                let (want_y, want_gx) = naive(&x, &gy, d, w, b);
                let (y, mean, rstd) = row_norm(&x, d, (w, b), 1e-5, true);
                let mut gx = vec![1.0; rows * d];
                row_norm_backward_x(&mut gx, Some(&gy), &x, d, (&mean, &rstd), w, true);
                let mut in_place = gy.clone();
                row_norm_backward_x(&mut in_place, None, &x, d, (&mean, &rstd), w, true);
                assert_eq!((y.len(), mean.len(), rstd.len()), (rows * d, rows, rows));
                for i in 0..rows * d {
                    assert!((y[i] - want_y[i]).abs() < 1e-12, "y[{i}] ({rows}x{d})");
                    // `gx` started at 1: the gradient is added.
                    let g = gx[i] - 1.0;
                    assert!((g - want_gx[i]).abs() < 1e-10, "gx[{i}] ({rows}x{d})");
                    let g = in_place[i];
                    assert!(
                        (g - want_gx[i]).abs() < 1e-10,
                        "in place, gx[{i}] ({rows}x{d})"
                    );
                }
            }
        }
    }

    /// A large mean over a small spread, in f32: the corrected two-pass variance keeps the
    /// spread (with the f32 mean's error left in, its square is 0.2% of this variance).
    #[test]
    fn f32_rows_keep_a_tiny_variance_under_a_large_mean() {
        let d = 300;
        // Rows whose mean falls at different places between two f32 values near 1e5.
        let x: Vec<f32> = (0..8 * d)
            .map(|i| 1e5 + (i / d) as f32 * 1e-3 + ((i * 37 % 101) as f32 - 50.0) * 3e-3)
            .collect();
        let (y, mean, rstd) = row_norm(&x, d, (None, None), 0.0, true);
        for (r, row) in x.chunks(d).enumerate() {
            let mu = row.iter().map(|&v| v as f64).sum::<f64>() / d as f64;
            let var = row.iter().map(|&v| (v as f64 - mu).powi(2)).sum::<f64>() / d as f64;
            // Within half an f32 ulp of 1e5 (7.8e-3): the closest f32.
            let half_ulp = 0.5 * 7.8125e-3 * 1.001;
            assert!(
                (mean[r] as f64 - mu).abs() <= half_ulp,
                "mean {} vs {mu}",
                mean[r]
            );
            let want = 1.0 / var.sqrt();
            assert!(
                ((rstd[r] as f64 - want) / want).abs() < 1e-4,
                "rstd {} vs {want}",
                rstd[r]
            );
            let ys = &y[r * d..][..d];
            let y_mean = ys.iter().map(|&v| v as f64).sum::<f64>() / d as f64;
            assert!(
                y_mean.abs() <= half_ulp * want + 1e-3,
                "normalised mean {y_mean}"
            );
        }
    }
}
