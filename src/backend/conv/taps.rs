//! 1-D convolutions with unit stride as one product per kernel tap, the input read where it
//! lies: no unfolding.
//!
//! With stride 1, tap `j` of a 1-D kernel meets the input shifted by `j * dilation -
//! padding`: output `t` reads input `t + shift`, so the tap's contribution to a sample is
//! `W_j x[:, t0 + shift .. t1 + shift]` over the outputs `t0..t1` whose input lies inside
//! the sequence (the rest read padding, zero). The unfolding those products replace wrote
//! `c * k` rows of the sequence's length, which the product then copied a second time into
//! its packed panels: `Conv1d(64, 64, 3, padding 1)` over (16, 64, 1024) spent 11% of its
//! forward pass in the unfolding's copies.

use super::super::gemm::gemm;
use super::ConvGeom;
use crate::dtype::Float;

/// The fewest input channels (the depth of each tap's product) for which the taps pay: one
/// thread, ms, unfolded -> taps (forward, forward with backward): `Conv1d(64, 64, 3,
/// padding 1)` on (16, 64, 1024) 2.74-2.84 -> 2.53-2.56 (8.49-8.63 -> 7.58-7.77);
/// `Conv1d(128, 128, 3, padding 4, dilation 4)` on (8, 128, 2000) 9.03-9.65 -> 8.83-9.08
/// (29.8-30.9 -> 26.9-27.5); but `Conv1d(32, 64, 5, padding 2)` on (32, 32, 512) 2.05-2.07 ->
/// 2.11-2.18 (6.66-7.05 -> 6.68-6.86): five products 32 deep add into the output five
/// times where the unfolding's one product is 160 deep.
pub(super) const MIN_CHANNELS: usize = 64;

/// Whether `g` is a 1-D convolution with unit stride that [`add_forward`] computes: one
/// row (`h == kh == oh == 1`, no vertical padding), more than one tap, and at least
/// [`MIN_CHANNELS`] input channels.
pub(super) fn applies(g: &ConvGeom) -> bool {
    (g.h, g.kh, g.oh, g.ph, g.sw) == (1, 1, 1, 0, 1) && g.kw > 1 && g.ow > 0 && g.c >= MIN_CHANNELS
}

/// For tap `j`: the outputs `t0..t1` whose input `t + shift` lies inside the sequence, and
/// `t0 + shift`, where their input starts (`t0 == t1` when none does).
fn tap_range(g: &ConvGeom, j: usize) -> (usize, usize, usize) {
    let shift = (j * g.dw) as isize - g.pw as isize;
    let t0 = (-shift).clamp(0, g.ow as isize) as usize;
    let t1 = (g.w as isize - shift).clamp(t0 as isize, g.ow as isize) as usize;
    (t0, t1, (t0 as isize + shift).max(0) as usize)
}

/// The taps that meet the sequence, as `(j, t0, t1, s0)` ([`tap_range`]); a tap that reads
/// only padding contributes nothing and is skipped.
fn live_taps(g: &ConvGeom) -> impl Iterator<Item = (usize, usize, usize, usize)> + '_ {
    (0..g.kw).filter_map(move |j| {
        let (t0, t1, s0) = tap_range(g, j);
        (t0 < t1).then_some((j, t0, t1, s0))
    })
}

/// `y += conv1d(x, w)` for one sample (or group): `x` is `g.c x g.w`, `w` is `o x (g.c
/// g.kw)` (PyTorch's `(o, c, k)` layout), `y` is `o x g.ow` and holds the bias rows (or
/// zeros) on entry.
pub(super) fn add_forward<E: Float>(x: &[E], w: &[E], g: &ConvGeom, o: usize, y: &mut [E]) {
    let k = g.c * g.kw;
    for (j, t0, t1, s0) in live_taps(g) {
        // y[:, t0..t1] (o x n) += W_j (o x c, strides c kw and kw) x[:, s0..] (c x n)
        gemm(
            o,
            g.c,
            t1 - t0,
            E::ONE,
            &w[j..],
            (k as isize, g.kw as isize),
            &x[s0..],
            (g.w as isize, 1),
            E::ONE,
            &mut y[t0..],
            (g.ow as isize, 1),
        );
    }
}

/// The weight gradient of [`add_forward`] for one sample (or group), tap by tap:
/// `tmp[j] (o x c) += gy[:, t0..t1] x[:, s0..]^T`, the products' columns contiguous in
/// `tmp` (`g.kw` blocks of `o x c`), which [`add_tap_sums`] adds into the gradient in
/// PyTorch's `(o, c, k)` layout once per block of samples.
pub(super) fn add_weight_grad<E: Float>(gy: &[E], x: &[E], g: &ConvGeom, o: usize, tmp: &mut [E]) {
    for (j, t0, t1, s0) in live_taps(g) {
        let block = &mut tmp[j * o * g.c..][..o * g.c];
        // tmp_j (o x c) += gy[:, t0..t1] (o x n) x[:, s0..]^T (n x c)
        gemm(
            o,
            t1 - t0,
            g.c,
            E::ONE,
            &gy[t0..],
            (g.ow as isize, 1),
            &x[s0..],
            (1, g.w as isize),
            E::ONE,
            block,
            (g.c as isize, 1),
        );
    }
}

/// Adds the `g.kw` blocks of `o x c` that [`add_weight_grad`] summed in `tmp` into `gw`
/// (`o x (c kw)`).
pub(super) fn add_tap_sums<E: Float>(tmp: &[E], g: &ConvGeom, o: usize, gw: &mut [E]) {
    for (j, block) in tmp.chunks_exact(o * g.c).enumerate() {
        for (gw_row, t_row) in gw.chunks_exact_mut(g.c * g.kw).zip(block.chunks_exact(g.c)) {
            for (c, &t) in t_row.iter().enumerate() {
                gw_row[c * g.kw + j] += t;
            }
        }
    }
}

/// The input gradient of [`add_forward`] for one sample (or group), tap by tap:
/// `gx[:, s0..] (c x n) += W_j^T gy[:, t0..t1]`, with `W^T` given as `wt` (`(c kw) x o`,
/// row-major: `W_j^T`'s rows contiguous, `kw` rows apart).
pub(super) fn add_input_grad<E: Float>(gy: &[E], wt: &[E], g: &ConvGeom, o: usize, gx: &mut [E]) {
    for (j, t0, t1, s0) in live_taps(g) {
        // gx[:, s0..] (c x n) += W_j^T (c x o) gy[:, t0..t1] (o x n)
        gemm(
            g.c,
            o,
            t1 - t0,
            E::ONE,
            &wt[j * o..],
            ((g.kw * o) as isize, 1),
            &gy[t0..],
            (g.ow as isize, 1),
            E::ONE,
            &mut gx[s0..],
            (g.w as isize, 1),
        );
    }
}
