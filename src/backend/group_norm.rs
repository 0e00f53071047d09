//! GroupNorm's kernels: each (sample, group)'s values are one contiguous LayerNorm row (its
//! statistics by [`super::norm`]'s row moments), mapped per channel by the channel's weight
//! and bias; the backward takes per-channel sums of each group and its input gradient in one
//! visit of the group.

use super::norm::{
    RowNormPiece, channel_totals, grad_sums, normalized_rows, or_filled, per_run, row_stats,
};
use super::parallel::row_parts;
use super::simd::wide;
use super::threads;
use super::uninit::{GradElement, GradTarget};
use crate::dtype::Float;
use core::mem::MaybeUninit;

/// The layout of a GroupNorm input: `n` samples of `c` channels of `inner` values, the
/// channels in `groups` contiguous groups.
#[derive(Clone, Copy)]
pub(crate) struct GroupLayout {
    pub(crate) n: usize,
    pub(crate) c: usize,
    pub(crate) inner: usize,
    pub(crate) groups: usize,
}

impl GroupLayout {
    /// Channels per group.
    fn per_group(self) -> usize {
        self.c / self.groups.max(1)
    }
    /// The (sample, group) statistic that run `r` (sample `r / c`, channel `r % c`) uses.
    fn group_of_run(self, r: usize) -> usize {
        (r / self.c) * self.groups + (r % self.c) / self.per_group().max(1)
    }
}

/// GroupNorm forward: each (sample, group)'s values, contiguous, are one LayerNorm row
/// (`norm::row_moments`), then each of its channels' runs is mapped by the group's statistics
/// and the channel's weight and bias while the row is still in cache. Returns `y`, and the
/// mean and `1 / sqrt(var + eps)` of each of the `n * groups` groups. Blocks of groups over
/// the threads.
///
/// Fused rather than composed from LayerNorm rows and BatchNorm's affine step (as it was):
/// the composition wrote and re-read a normalised copy; statistics of all groups, then the
/// map, read the input from memory twice. (32, 64, 56, 56) in 8 groups, `f32`, one thread:
/// 4.5 ms composed, 3.0 in two passes, 2.5 in one (PyTorch 2.5).
pub(crate) fn group_norm<E: Float>(
    x: &[E],
    layout: GroupLayout,
    w: Option<&[E]>,
    b: Option<&[E]>,
    eps: f64,
) -> (Vec<E>, Vec<E>, Vec<E>) {
    let GroupLayout { n, c, inner, .. } = layout;
    let row = (layout.per_group() * inner).max(1);
    let (w, b) = (or_filled(w, c, E::ONE), or_filled(b, c, E::ZERO));
    normalized_rows(&x[..n * c * inner], row, &|first, piece| {
        group_norm_block(first, piece, layout, &w, &b, eps)
    })
}

/// [`group_norm`] over one block of groups, the first of which is group `first`.
#[inline(never)]
fn group_norm_block<E: Float>(
    first: usize,
    (x, y, means, rstds): RowNormPiece<'_, E>,
    layout: GroupLayout,
    w: &[E],
    b: &[E],
    eps: f64,
) {
    let (inner, per_group) = (layout.inner.max(1), layout.per_group());
    let row = (per_group * inner).max(1);
    wide(
        #[inline(always)]
        || {
            let rows = y.chunks_exact_mut(row).zip(means).zip(rstds);
            for (g, (xr, ((yr, mean), rstd))) in (first..).zip(x.chunks_exact(row).zip(rows)) {
                let (mu, r) = row_stats(xr, eps);
                let first_channel = g % layout.groups.max(1) * per_group;
                let runs = yr.chunks_exact_mut(inner).zip(xr.chunks_exact(inner));
                for (ch, (out, run)) in (first_channel..).zip(runs) {
                    let (scale, shift) = (r * w[ch], b[ch]);
                    for (slot, &v) in out.iter_mut().zip(run) {
                        slot.write((v - mu) * scale + shift);
                    }
                }
                mean.write(mu);
                rstd.write(r);
            }
        },
    )
}

/// GroupNorm backward from the forward's `mean` and `rstd` (one per group): puts the input
/// gradient into `gx` when given, and returns the weight and bias gradients `(gw, gb)`.
///
/// With `g = gy w[ch]` and `xhat = (x - mean) rstd`, the input gradient of a group is
/// LayerNorm's, `rstd (g - mean(g) - xhat mean(g xhat))`; both means come from each run's
/// `sum gy` and `sum gy xhat` (also the parameter gradients, summed over the samples), so
/// the gradient of a run is `a gy + b (x - mean) + c`. A group's sums and its gradient are
/// taken one after the other, while its `gy` and `x` are in cache.
pub(crate) fn group_norm_backward<E: Float>(
    gx: Option<GradTarget<'_, E>>,
    gy: &[E],
    x: &[E],
    layout: GroupLayout,
    (mean, rstd): (&[E], &[E]),
    w: Option<&[E]>,
) -> (Vec<E>, Vec<E>) {
    let GroupLayout { n, c, inner, .. } = layout;
    let len = n * c * inner;
    if len == 0 {
        return (vec![E::ZERO; c], vec![E::ZERO; c]);
    }
    let (gy, x) = (&gy[..len], &x[..len]);
    let ones = vec![E::ONE; inner];
    let w = or_filled(w, c, E::ONE);
    let grads = GroupGrads {
        gy,
        x,
        layout,
        mean,
        rstd,
        w: &w,
        ones: &ones,
    };
    let sums = match gx {
        None => per_run(
            n * c,
            inner,
            #[inline(always)]
            |r| {
                let g = layout.group_of_run(r);
                let (gyr, xr) = (&gy[r * inner..][..inner], &x[r * inner..][..inner]);
                grad_sums(gyr, xr, &ones, mean[g], rstd[g])
            },
        ),
        Some(GradTarget::Add(gx)) => grads.put_input_grad(&mut gx[..len]),
        Some(GradTarget::Write(gx)) => grads.put_input_grad(&mut gx[..len]),
    };
    let totals = channel_totals(&sums, c, (E::ZERO, E::ZERO), |a, b| (a.0 + b.0, a.1 + b.1));
    let (gb, gw) = totals.into_iter().unzip();
    (gw, gb)
}

/// What [`group_norm_backward`]'s input gradient reads.
struct GroupGrads<'a, E> {
    gy: &'a [E],
    x: &'a [E],
    layout: GroupLayout,
    mean: &'a [E],
    rstd: &'a [E],
    w: &'a [E],
    ones: &'a [E],
}

impl<E: Float> GroupGrads<'_, E> {
    /// Puts the input gradient into `gx` (all of it), blocks of groups over the threads;
    /// returns each run's `(sum gy, sum gy xhat)`, in run order.
    fn put_input_grad<O: GradElement<E>>(&self, gx: &mut [O]) -> Vec<(E, E)> {
        let GroupLayout { n, c, groups, .. } = self.layout;
        let (per_group, row) = (self.layout.per_group(), self.group_len());
        let mut sums = Vec::with_capacity(n * c);
        {
            let total = n * groups;
            let per = total.div_ceil(row_parts(gx.len(), total)).max(1);
            let pieces: Vec<(usize, &mut [O], &mut [MaybeUninit<(E, E)>])> = gx
                .chunks_mut(per * row)
                .zip(sums.spare_capacity_mut()[..n * c].chunks_mut(per * per_group))
                .enumerate()
                .map(|(i, (g, s))| (i * per, g, s))
                .collect();
            threads::run_pieces(pieces, &|(first, gx, sums)| self.block(first, gx, sums));
        }
        // SAFETY: the pieces cover all `n * groups` groups, and `block` wrote the sums of
        // each of their runs (a panic in a piece is re-raised before this line).
        unsafe { sums.set_len(n * c) };
        sums
    }

    /// Elements per group.
    fn group_len(&self) -> usize {
        (self.layout.per_group() * self.layout.inner).max(1)
    }

    /// [`put_input_grad`](Self::put_input_grad) over the groups from `first` on, whose
    /// gradients `gx` and run sums `sums` are.
    #[inline(never)]
    fn block<O: GradElement<E>>(
        &self,
        first: usize,
        gx: &mut [O],
        sums: &mut [MaybeUninit<(E, E)>],
    ) {
        let (inner, per_group) = (self.layout.inner, self.layout.per_group());
        let row = self.group_len();
        let inv_m = E::ONE / E::from_usize(row);
        wide(
            #[inline(always)]
            || {
                let groups = gx
                    .chunks_exact_mut(row)
                    .zip(sums.chunks_exact_mut(per_group));
                for (g, (gxg, run_sums)) in (first..).zip(groups) {
                    let (mu, rs) = (self.mean[g], self.rstd[g]);
                    let (gyg, xg) = (&self.gy[g * row..][..row], &self.x[g * row..][..row]);
                    let w = &self.w[g % self.layout.groups * per_group..][..per_group];
                    let (mut sg, mut sgx) = (E::ZERO, E::ZERO);
                    let runs = gyg.chunks_exact(inner).zip(xg.chunks_exact(inner));
                    for ((slot, (gyr, xr)), &wj) in run_sums.iter_mut().zip(runs).zip(w) {
                        let s = grad_sums(gyr, xr, self.ones, mu, rs);
                        slot.write(s);
                        sg += wj * s.0;
                        sgx += wj * s.1;
                    }
                    let (b, c) = (-rs * rs * sgx * inv_m, -rs * sg * inv_m);
                    let runs = gxg.chunks_exact_mut(inner).zip(gyg.chunks_exact(inner));
                    for ((out, gyr), (xr, &wj)) in runs.zip(xg.chunks_exact(inner).zip(w)) {
                        let a = rs * wj;
                        for ((o, &gv), &xv) in out.iter_mut().zip(gyr).zip(xr) {
                            o.put(a * gv + b * (xv - mu) + c);
                        }
                    }
                }
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GroupNorm forward, input and parameter gradients computed naively in f64: `(y, gx,
    /// gw, gb)`.
    fn naive_group(
        x: &[f64],
        gy: &[f64],
        (n, c, inner, groups): (usize, usize, usize, usize),
        w: &[f64],
        b: &[f64],
    ) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
        let (mut y, mut gx) = (vec![0.0; x.len()], vec![0.0; x.len()]);
        let (mut gw, mut gb) = (vec![0.0; c], vec![0.0; c]);
        let per = c / groups;
        let m = (per * inner) as f64;
        for s in 0..n {
            for k in 0..groups {
                let idx = |j: usize, i: usize| (s * c + k * per + j) * inner + i;
                let all = || (0..per).flat_map(move |j| (0..inner).map(move |i| (j, i)));
                let mu = all().map(|(j, i)| x[idx(j, i)]).sum::<f64>() / m;
                let var = all().map(|(j, i)| (x[idx(j, i)] - mu).powi(2)).sum::<f64>() / m;
                let rs = 1.0 / (var + 1e-5).sqrt();
                let xhat = |j, i| (x[idx(j, i)] - mu) * rs;
                let g = |j: usize, i| gy[idx(j, i)] * w[k * per + j];
                let mg = all().map(|(j, i)| g(j, i)).sum::<f64>() / m;
                let mgx = all().map(|(j, i)| g(j, i) * xhat(j, i)).sum::<f64>() / m;
                for (j, i) in all() {
                    let ch = k * per + j;
                    y[idx(j, i)] = xhat(j, i) * w[ch] + b[ch];
                    gx[idx(j, i)] = rs * (g(j, i) - mg - xhat(j, i) * mgx);
                    gw[ch] += gy[idx(j, i)] * xhat(j, i);
                    gb[ch] += gy[idx(j, i)];
                }
            }
        }
        (y, gx, gw, gb)
    }

    #[test]
    fn group_norm_matches_the_naive_formula_on_every_split() {
        // One group, one channel per group, runs shorter and longer than the 32 lanes, and
        // (16, 8, 40 x 40) long enough to be cut into blocks of groups over the threads.
        for (n, c, inner, groups) in [
            (1, 1, 1, 1),
            (2, 6, 5, 1),
            (3, 6, 7, 6),
            (2, 6, 33, 3),
            (1, 4, 70, 2),
            (16, 8, 1600, 4),
        ] {
            let len = n * c * inner;
            let x: Vec<f64> = (0..len)
                .map(|i| ((i * 37 % 101) as f64) / 13.0 - 3.0)
                .collect();
            let gy: Vec<f64> = (0..len)
                .map(|i| ((i * 53 % 97) as f64) / 31.0 - 1.5)
                .collect();
            let w: Vec<f64> = (0..c).map(|j| 0.5 + j as f64 / 7.0).collect();
            let b: Vec<f64> = (0..c).map(|j| j as f64 / 3.0 - 1.0).collect();
            let layout = GroupLayout {
                n,
                c,
                inner,
                groups,
            };
            let (want_y, want_gx, want_gw, want_gb) =
                naive_group(&x, &gy, (n, c, inner, groups), &w, &b);
            let (y, mean, rstd) = group_norm(&x, layout, Some(&w), Some(&b), 1e-5);
            assert_eq!((mean.len(), rstd.len()), (n * groups, n * groups));
            let close = |got: &[f64], want: &[f64], what: &str| {
                assert_eq!(got.len(), want.len(), "{what}");
                for (i, (g, w)) in got.iter().zip(want).enumerate() {
                    assert!(
                        (g - w).abs() < 1e-9 * (1.0 + w.abs()),
                        "{what}[{i}] {g} vs {w} ({n}, {c}, {inner}, {groups})"
                    );
                }
            };
            close(&y, &want_y, "y");
            let stats = (&mean[..], &rstd[..]);
            // Added to an existing gradient (of ones), written into new memory, or none.
            let mut added = vec![1.0; len];
            let (gw, gb) = group_norm_backward(
                Some(GradTarget::Add(&mut added)),
                &gy,
                &x,
                layout,
                stats,
                Some(&w),
            );
            let added: Vec<f64> = added.iter().map(|g| g - 1.0).collect();
            close(&added, &want_gx, "gx added");
            close(&gw, &want_gw, "gw");
            close(&gb, &want_gb, "gb");
            let mut fresh = Vec::with_capacity(len);
            let (gw, _) = group_norm_backward(
                Some(GradTarget::Write(&mut fresh.spare_capacity_mut()[..len])),
                &gy,
                &x,
                layout,
                stats,
                Some(&w),
            );
            // SAFETY: `group_norm_backward` wrote all `len` elements.
            unsafe { fresh.set_len(len) };
            close(&fresh, &want_gx, "gx written");
            close(&gw, &want_gw, "gw (written)");
            let (gw, gb) = group_norm_backward(None, &gy, &x, layout, stats, Some(&w));
            close(&gw, &want_gw, "gw (no input gradient)");
            close(&gb, &want_gb, "gb (no input gradient)");
        }
    }
}
