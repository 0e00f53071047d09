//! Normalisation kernels: BatchNorm's per-channel statistics over `[outer, c, inner]` and
//! LayerNorm's per-row statistics over `[rows, d]`, with their backward passes.
//!
//! Statistics are accumulated in `f64` and in two passes (mean, then centred squares): a
//! channel with a large mean and a tiny variance would otherwise lose the variance to
//! float32 cancellation.

use super::simd::wide;
use crate::dtype::Float;

/// Per-channel mean and biased variance of `x` seen as `[outer, c, inner]`.
pub(crate) fn channel_stats<E: Float>(
    x: &[E],
    outer: usize,
    c: usize,
    inner: usize,
) -> (Vec<E>, Vec<E>) {
    wide(
        #[inline(always)]
        || {
            let m = (outer * inner) as f64;
            let mut mean = vec![0.0f64; c];
            for o in 0..outer {
                for (ch, acc) in mean.iter_mut().enumerate() {
                    let at = (o * c + ch) * inner;
                    *acc += x[at..at + inner].iter().map(|v| v.to_f64()).sum::<f64>();
                }
            }
            for v in &mut mean {
                *v /= m;
            }
            let mut var = vec![0.0f64; c];
            for o in 0..outer {
                for (ch, acc) in var.iter_mut().enumerate() {
                    let at = (o * c + ch) * inner;
                    let mu = mean[ch];
                    *acc += x[at..at + inner]
                        .iter()
                        .map(|v| (v.to_f64() - mu).powi(2))
                        .sum::<f64>();
                }
            }
            for v in &mut var {
                *v /= m;
            }
            (
                mean.into_iter().map(E::from_f64).collect(),
                var.into_iter().map(E::from_f64).collect(),
            )
        },
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
    wide(
        #[inline(always)]
        || {
            let mut sums = vec![0.0f64; c];
            for o in 0..outer {
                for (ch, acc) in sums.iter_mut().enumerate() {
                    let at = (o * c + ch) * inner;
                    let row = &x[at..at + inner];
                    *acc += match center {
                        None => row.iter().map(|v| v.to_f64()).sum::<f64>(),
                        Some(mu) => row.iter().map(|v| (v.to_f64() - mu[ch]).powi(2)).sum(),
                    };
                }
            }
            sums
        },
    )
}

/// `1 / sqrt(var + eps)`, elementwise.
pub(crate) fn rstd<E: Float>(var: &[E], eps: f64) -> Vec<E> {
    wide(
        #[inline(always)]
        || {
            var.iter()
                .map(|v| E::from_f64(1.0 / (v.to_f64() + eps).sqrt()))
                .collect()
        },
    )
}

/// `y = (x - mean[ch]) * rstd[ch] * w[ch] + b[ch]` over `[outer, c, inner]`; a missing
/// weight is 1 and a missing bias 0.
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
    wide(
        #[inline(always)]
        || {
            // Folded into one multiply-add per element: y = x * scale + shift.
            let scale: Vec<E> = (0..c)
                .map(|ch| rstd[ch] * w.map_or(E::ONE, |w| w[ch]))
                .collect();
            let shift: Vec<E> = (0..c)
                .map(|ch| b.map_or(E::ZERO, |b| b[ch]) - mean[ch] * scale[ch])
                .collect();
            let mut y = Vec::with_capacity(x.len());
            for o in 0..outer {
                for ch in 0..c {
                    let at = (o * c + ch) * inner;
                    let (s, t) = (scale[ch], shift[ch]);
                    y.extend(x[at..at + inner].iter().map(|&v| v * s + t));
                }
            }
            y
        },
    )
}

/// Per-channel `sum(gy)` and `sum(gy * xhat)` with `xhat = (x - mean) * rstd`: the bias and
/// weight gradients, and the two reductions the input gradient needs.
#[allow(clippy::too_many_arguments)]
pub(crate) fn channel_norm_sums<E: Float>(
    gy: &[E],
    x: &[E],
    outer: usize,
    c: usize,
    inner: usize,
    mean: &[E],
    rstd: &[E],
) -> (Vec<E>, Vec<E>) {
    wide(
        #[inline(always)]
        || {
            let mut sum_gy = vec![E::ZERO; c];
            let mut sum_gy_xhat = vec![E::ZERO; c];
            for o in 0..outer {
                for ch in 0..c {
                    let at = (o * c + ch) * inner;
                    let (mu, r) = (mean[ch], rstd[ch]);
                    let (mut s, mut sx) = (E::ZERO, E::ZERO);
                    for (&g, &v) in gy[at..at + inner].iter().zip(&x[at..at + inner]) {
                        s += g;
                        sx += g * (v - mu) * r;
                    }
                    sum_gy[ch] += s;
                    sum_gy_xhat[ch] += sx;
                }
            }
            (sum_gy, sum_gy_xhat)
        },
    )
}

/// Adds the input gradient of [`channel_norm`] to `gx`. With batch statistics (`training`),
/// the mean and variance depend on `x`:
/// `gx = w rstd / M (M gy - sum(gy) - xhat sum(gy xhat))`, where `M` is the number of
/// values per channel the statistics were taken over (`outer * inner`, or the total over
/// all replicas of a synchronised BatchNorm, whose sums are then totals too);
/// with running statistics they are constants and `gx = w rstd gy`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn channel_norm_backward_x<E: Float>(
    gx: &mut [E],
    gy: &[E],
    x: &[E],
    (outer, c, inner): (usize, usize, usize),
    mean: &[E],
    rstd: &[E],
    w: Option<&[E]>,
    sums: Option<(&[E], &[E], usize)>,
) {
    wide(
        #[inline(always)]
        || {
            let inv_m = E::ONE / E::from_usize(sums.map_or(1, |s| s.2));
            for o in 0..outer {
                for ch in 0..c {
                    let at = (o * c + ch) * inner;
                    let (mu, r) = (mean[ch], rstd[ch]);
                    let k = r * w.map_or(E::ONE, |w| w[ch]);
                    let (gyr, xr, gxr) = (
                        &gy[at..at + inner],
                        &x[at..at + inner],
                        &mut gx[at..at + inner],
                    );
                    match sums {
                        Some((sum_gy, sum_gy_xhat, _)) => {
                            let (mg, mgx) = (sum_gy[ch] * inv_m, sum_gy_xhat[ch] * inv_m);
                            for ((acc, &g), &v) in gxr.iter_mut().zip(gyr).zip(xr) {
                                *acc += k * (g - mg - (v - mu) * r * mgx);
                            }
                        }
                        None => {
                            for (acc, &g) in gxr.iter_mut().zip(gyr) {
                                *acc += k * g;
                            }
                        }
                    }
                }
            }
        },
    )
}

/// LayerNorm forward over rows of length `d`: returns `y`, and each row's mean and
/// `1 / sqrt(var + eps)` (biased variance) for the backward pass.
pub(crate) fn row_norm<E: Float>(
    x: &[E],
    d: usize,
    w: Option<&[E]>,
    b: Option<&[E]>,
    eps: f64,
) -> (Vec<E>, Vec<E>, Vec<E>) {
    wide(
        #[inline(always)]
        || {
            let rows = x.len().checked_div(d).unwrap_or(0);
            let (mut means, mut rstds) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
            let mut y = Vec::with_capacity(x.len());
            for row in x.chunks_exact(d.max(1)).take(rows) {
                let mu = row.iter().map(|v| v.to_f64()).sum::<f64>() / d as f64;
                let var = row.iter().map(|v| (v.to_f64() - mu).powi(2)).sum::<f64>() / d as f64;
                let (mu, r) = (E::from_f64(mu), E::from_f64(1.0 / (var + eps).sqrt()));
                y.extend(row.iter().enumerate().map(|(j, &v)| {
                    (v - mu) * r * w.map_or(E::ONE, |w| w[j]) + b.map_or(E::ZERO, |b| b[j])
                }));
                means.push(mu);
                rstds.push(r);
            }
            (y, means, rstds)
        },
    )
}

/// Adds the LayerNorm input gradient to `gx`: per row, with `g = gy * w`,
/// `gx = rstd (g - mean(g) - xhat mean(g xhat))`.
pub(crate) fn row_norm_backward_x<E: Float>(
    gx: &mut [E],
    gy: &[E],
    x: &[E],
    d: usize,
    mean: &[E],
    rstd: &[E],
    w: Option<&[E]>,
) {
    wide(
        #[inline(always)]
        || {
            if d == 0 {
                return;
            }
            let inv_d = E::ONE / E::from_usize(d);
            let wj = |j: usize| w.map_or(E::ONE, |w| w[j]);
            for (r, ((gxr, gyr), xr)) in gx
                .chunks_exact_mut(d)
                .zip(gy.chunks_exact(d))
                .zip(x.chunks_exact(d))
                .enumerate()
            {
                let (mu, rs) = (mean[r], rstd[r]);
                let (mut mg, mut mgx) = (E::ZERO, E::ZERO);
                for (j, (&g, &v)) in gyr.iter().zip(xr).enumerate() {
                    let g = g * wj(j);
                    mg += g;
                    mgx += g * (v - mu) * rs;
                }
                mg *= inv_d;
                mgx *= inv_d;
                for (j, ((acc, &g), &v)) in gxr.iter_mut().zip(gyr).zip(xr).enumerate() {
                    *acc += rs * (g * wj(j) - mg - (v - mu) * rs * mgx);
                }
            }
        },
    )
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
