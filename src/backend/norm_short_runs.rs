//! BatchNorm's kernels when each channel's runs are short (`inner` below [`SHORT_RUN`]):
//! `[outer, c, inner]` seen as `outer` rows of `width = c * inner` columns.
//!
//! [`super::norm`]'s loops take one run of `inner` values at a time, with its channel's
//! scale or statistics; for `BatchNorm1d` on `(N, C)` the runs are single values, and every
//! element paid a call, a channel lookup and a lane reduction (`(4096, 1024)` `f32` on one
//! thread: forward 12.7 ms, PyTorch 2.2). Here the per-channel values are spread over the
//! columns once, and every loop runs along whole rows.
//!
//! Sums split the columns over the threads, and each column adds its rows in order, so a
//! total does not depend on the number of threads (as [`super::norm::channel_totals`]).

use super::parallel::{PARALLEL_ELEMS, collect_blocks_from, for_row_blocks};
use super::uninit::written;
use crate::dtype::Float;

/// Sums over runs shorter than this take the column kernels. Measured on 4M `f32` values
/// of `(N, 256, L)` (one thread, ms forward / forward + backward, per run -> columns): L = 1
/// 13.0 / 50.9 -> 1.2 / 5.2, L = 8 1.9 / 10.4 -> 1.2 / 5.8, L = 32 1.2 / 6.8 -> 1.2 / 5.7,
/// L = 49 1.2 / 7.7 -> 1.2 / 5.8; level from 64 on.
pub(crate) const SHORT_RUN: usize = 64;

/// Maps (the normalisation itself and the input gradient) over runs shorter than this take
/// the column kernels: from 16 on a run's own loop is as fast, and reads one stream where
/// the columns read the spread per-channel values as well.
pub(crate) const SHORT_MAP_RUN: usize = 16;

/// Columns summed together: two `f64` accumulators of this length stay in L1 while the
/// rows stream past.
const COLUMN_CHUNK: usize = 512;

/// Sums over the rows of `[outer, width]`, one pair per column, in `f64`:
/// `add_row(acc0, acc1, rows, first_column)` adds one row's stretch of columns (the same
/// stretch of each source in `rows`) to the two accumulators.
fn column_sums<E: Float, const K: usize>(
    sources: [&[E]; K],
    (outer, width): (usize, usize),
    add_row: impl Fn(&mut [f64], &mut [f64], [&[E]; K], usize) + Sync,
) -> Vec<(f64, f64)> {
    let sources = sources.map(|s| &s[..outer * width]);
    // SAFETY: every column of every block is written once, below.
    unsafe {
        collect_blocks_from(
            width,
            (PARALLEL_ELEMS / outer.max(1)).max(1),
            #[inline(always)]
            |offset, block| {
                let (mut acc0, mut acc1) = ([0.0f64; COLUMN_CHUNK], [0.0f64; COLUMN_CHUNK]);
                for (chunk_index, out) in block.chunks_mut(COLUMN_CHUNK).enumerate() {
                    let first = offset + chunk_index * COLUMN_CHUNK;
                    let len = out.len();
                    let (a0, a1) = (&mut acc0[..len], &mut acc1[..len]);
                    a0.fill(0.0);
                    a1.fill(0.0);
                    for o in 0..outer {
                        let rows = sources.map(|s| &s[o * width + first..][..len]);
                        add_row(a0, a1, rows, first);
                    }
                    for ((slot, &s0), &s1) in out.iter_mut().zip(&*a0).zip(&*a1) {
                        slot.write((s0, s1));
                    }
                }
            },
        )
    }
}

/// Adds each channel's `inner` columns, in order.
fn per_channel(columns: impl Iterator<Item = f64>, c: usize, inner: usize) -> Vec<f64> {
    let mut totals = vec![0.0; c];
    for (j, v) in columns.enumerate() {
        totals[j / inner] += v;
    }
    totals
}

/// `values[ch]` for every column (`inner` copies each).
fn spread<T: Copy>(values: impl Iterator<Item = T>, inner: usize) -> Vec<T> {
    values
        .flat_map(|v| core::iter::repeat_n(v, inner))
        .collect()
}

/// [`super::norm::channel_sums`] over short runs: per channel, the sum of `x`, or of
/// `(x - center[ch])^2`.
pub(crate) fn channel_sums<E: Float>(
    x: &[E],
    (outer, c, inner): (usize, usize, usize),
    center: Option<&[f64]>,
) -> Vec<f64> {
    let width = c * inner;
    let sums = match center {
        None => column_sums(
            [x],
            (outer, width),
            #[inline(always)]
            |acc, _, [row], _| {
                for (a, &v) in acc.iter_mut().zip(row) {
                    *a += v.to_f64();
                }
            },
        ),
        Some(center) => {
            let center = spread(center[..c].iter().copied(), inner);
            column_sums(
                [x],
                (outer, width),
                #[inline(always)]
                |acc, _, [row], first| {
                    let mu = &center[first..][..acc.len()];
                    for ((a, &v), &m) in acc.iter_mut().zip(row).zip(mu) {
                        let d = v.to_f64() - m;
                        *a += d * d;
                    }
                },
            )
        }
    };
    per_channel(sums.into_iter().map(|s| s.0), c, inner)
}

/// `y = x * scale[ch] + shift[ch]`, rows of `c * inner` over the threads.
pub(crate) fn channel_affine<E: Float>(
    x: &[E],
    (outer, c, inner): (usize, usize, usize),
    scale: &[E],
    shift: &[E],
) -> Vec<E> {
    let width = c * inner;
    let len = outer * width;
    let x = &x[..len];
    let scale = spread(scale[..c].iter().copied(), inner);
    let shift = spread(shift[..c].iter().copied(), inner);
    // SAFETY: every row of every block is written whole, zipped with three slices of its
    // length.
    unsafe {
        written(len, |y| {
            for_row_blocks(
                y,
                width,
                #[inline(always)]
                |first, block| {
                    let rows = block.chunks_exact_mut(width);
                    for (r, out) in (first..).zip(rows) {
                        let xr = &x[r * width..][..width];
                        for (((slot, &v), &s), &t) in out.iter_mut().zip(xr).zip(&scale).zip(&shift)
                        {
                            slot.write(v * s + t);
                        }
                    }
                },
            )
        })
    }
}

/// [`super::norm::channel_norm_sums`] over short runs: per channel `sum(gy)` and
/// `sum(gy * (x - mean) * rstd)`.
pub(crate) fn channel_norm_sums<E: Float>(
    gy: &[E],
    x: &[E],
    (outer, c, inner): (usize, usize, usize),
    mean: &[E],
    rstd: &[E],
) -> (Vec<E>, Vec<E>) {
    let width = c * inner;
    let mean = spread(mean[..c].iter().map(|m| m.to_f64()), inner);
    let sums = column_sums(
        [gy, x],
        (outer, width),
        #[inline(always)]
        |acc_g, acc_gx, [gr, xr], first| {
            let mu = &mean[first..][..acc_g.len()];
            let lanes = acc_g.iter_mut().zip(acc_gx.iter_mut()).zip(gr).zip(xr);
            for ((((sg, sgx), &g), &v), &m) in lanes.zip(mu) {
                let g = g.to_f64();
                *sg += g;
                *sgx += g * (v.to_f64() - m);
            }
        },
    );
    let sum_g = per_channel(sums.iter().map(|s| s.0), c, inner);
    let sum_gx = per_channel(sums.iter().map(|s| s.1), c, inner);
    let sum_g = sum_g.into_iter().map(E::from_f64).collect();
    let sum_gxhat = sum_gx
        .into_iter()
        .zip(&rstd[..c])
        .map(|(s, r)| E::from_f64(s * r.to_f64()))
        .collect();
    (sum_g, sum_gxhat)
}

/// [`super::norm::channel_norm_backward_x`] over short runs, with `k[ch] = w rstd` and,
/// for batch statistics, `(mean(gy), mean(gy xhat) rstd)` per channel; `gy: None` in
/// place, as there.
pub(crate) fn channel_norm_backward_x<E: Float>(
    gx: &mut [E],
    gy: Option<&[E]>,
    x: &[E],
    (outer, c, inner): (usize, usize, usize),
    mean: &[E],
    k: &[E],
    centred: Option<(&[E], &[E])>,
) {
    let width = c * inner;
    let len = outer * width;
    let (gy, x) = (gy.map(|gy| &gy[..len]), &x[..len]);
    let k = spread(k[..c].iter().copied(), inner);
    match centred {
        Some((mean_g, slope)) => {
            let mu = spread(mean[..c].iter().copied(), inner);
            let mean_g = spread(mean_g[..c].iter().copied(), inner);
            let slope = spread(slope[..c].iter().copied(), inner);
            for_row_blocks(
                &mut gx[..len],
                width,
                #[inline(always)]
                |first, block| {
                    for (r, gxr) in (first..).zip(block.chunks_exact_mut(width)) {
                        let xr = &x[r * width..][..width];
                        let per_column = k.iter().zip(&mu).zip(&mean_g).zip(&slope);
                        match gy {
                            Some(gy) => {
                                let gyr = &gy[r * width..][..width];
                                let lanes = gxr.iter_mut().zip(gyr).zip(xr).zip(per_column);
                                for (((acc, &g), &v), (((&kj, &m), &mg), &s)) in lanes {
                                    *acc += kj * (g - mg - (v - m) * s);
                                }
                            }
                            None => {
                                let lanes = gxr.iter_mut().zip(xr).zip(per_column);
                                for ((g, &v), (((&kj, &m), &mg), &s)) in lanes {
                                    *g = kj * (*g - mg - (v - m) * s);
                                }
                            }
                        }
                    }
                },
            );
        }
        None => for_row_blocks(
            &mut gx[..len],
            width,
            #[inline(always)]
            |first, block| {
                for (r, gxr) in (first..).zip(block.chunks_exact_mut(width)) {
                    match gy {
                        Some(gy) => {
                            let gyr = &gy[r * width..][..width];
                            for ((acc, &g), &kj) in gxr.iter_mut().zip(gyr).zip(&k) {
                                *acc += kj * g;
                            }
                        }
                        None => {
                            for (g, &kj) in gxr.iter_mut().zip(&k) {
                                *g *= kj;
                            }
                        }
                    }
                }
            },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::norm::{
        channel_norm, channel_norm_backward_x, channel_norm_sums, channel_stats, rstd,
    };

    /// Deterministic values with a per-channel offset, so that a wrong channel shows.
    fn values(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        (0..n)
            .map(|i| {
                s = s
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                ((s >> 40) as f64 / (1u64 << 24) as f64 - 0.5) * 4.0 + (i % 7) as f64 * 0.25
            })
            .collect()
    }

    fn close(a: f64, b: f64, what: &str) {
        assert!(
            (a - b).abs() <= 1e-9 * (1.0 + b.abs()),
            "{what}: {a} vs {b}"
        );
    }

    /// Every kernel against the formulas in plain f64, on both sides of the run thresholds
    /// and on inputs long enough to be split over the threads.
    #[test]
    fn channel_kernels_match_the_formulas_for_short_and_long_runs() {
        let layouts = [
            (5, 3, 1),
            (300, 70, 4),
            (3, 4, 15),
            (2, 3, 16),
            (40, 33, 63),
            (3, 2, 64),
            (1, 1, 1),
            (7, 5, 0),
        ];
        for (outer, c, inner) in layouts {
            let len = outer * c * inner;
            let x = values(len, 1);
            let gy = values(len, 2);
            let w: Vec<f64> = (0..c).map(|ch| 0.5 + ch as f64 * 0.1).collect();
            let b: Vec<f64> = (0..c).map(|ch| ch as f64 * -0.2).collect();
            let ch_of = |i: usize| (i / inner.max(1)) % c;
            let m = (outer * inner) as f64;
            let mut mean = vec![0.0; c];
            for (i, &v) in x.iter().enumerate() {
                mean[ch_of(i)] += v / m;
            }
            let mut var = vec![0.0; c];
            for (i, &v) in x.iter().enumerate() {
                var[ch_of(i)] += (v - mean[ch_of(i)]).powi(2) / m;
            }
            let (got_mean, got_var) = channel_stats(&x, outer, c, inner);
            if len == 0 {
                continue;
            }
            for ch in 0..c {
                close(got_mean[ch], mean[ch], "mean");
                close(got_var[ch], var[ch], "var");
            }
            let rs = rstd(&var, 1e-5);
            let y = channel_norm(&x, outer, c, inner, &mean, &rs, Some(&w), Some(&b));
            for (i, &v) in x.iter().enumerate() {
                let ch = ch_of(i);
                close(y[i], (v - mean[ch]) * rs[ch] * w[ch] + b[ch], "y");
            }
            let (sum_g, sum_gxhat) = channel_norm_sums(&gy, &x, outer, c, inner, &mean, &rs);
            let (mut want_g, mut want_gx) = (vec![0.0; c], vec![0.0; c]);
            for i in 0..len {
                let ch = ch_of(i);
                want_g[ch] += gy[i];
                want_gx[ch] += gy[i] * (x[i] - mean[ch]) * rs[ch];
            }
            for ch in 0..c {
                close(sum_g[ch], want_g[ch], "sum gy");
                close(sum_gxhat[ch], want_gx[ch], "sum gy xhat");
            }
            for batch in [false, true] {
                let mut gx = vec![1.0; len];
                let sums = batch.then_some((&sum_g[..], &sum_gxhat[..], outer * inner));
                let layout = (outer, c, inner);
                channel_norm_backward_x(&mut gx, Some(&gy), &x, layout, &mean, &rs, Some(&w), sums);
                // In place: `gx` starts as `gy` and ends as the gradient alone.
                let mut in_place = gy.clone();
                channel_norm_backward_x(
                    &mut in_place,
                    None,
                    &x,
                    layout,
                    &mean,
                    &rs,
                    Some(&w),
                    sums,
                );
                for i in 0..len {
                    let ch = ch_of(i);
                    let k = w[ch] * rs[ch];
                    let want = if batch {
                        let xhat = (x[i] - mean[ch]) * rs[ch];
                        k * (gy[i] - want_g[ch] / m - xhat * want_gx[ch] / m)
                    } else {
                        k * gy[i]
                    };
                    close(gx[i], 1.0 + want, "gx");
                    close(in_place[i], want, "gx in place");
                }
            }
        }
    }
}
