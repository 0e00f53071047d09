//! The transforms' arithmetic: `G`, `B^T`, `A^T` along one axis, the chain rule's `A` and
//! `G^T`, and the kernels' transform to `U` and their gradient back from `dU`.

use super::tiles::{map_rows, rows_mut};
use super::{M, POS, T};
use crate::dtype::Float;

/// `G g` along one axis: three kernel taps to four.
#[inline(always)]
pub(super) fn filter_1d<E: Float>(g: [E; 3]) -> [E; T] {
    let half = E::from_f64(0.5);
    let ends = g[0] + g[2];
    [g[0], half * (ends + g[1]), half * (ends - g[1]), g[2]]
}

/// `B^T d` along one axis: four inputs to four.
#[inline(always)]
pub(super) fn input_1d<E: Float>(d: [E; T]) -> [E; T] {
    [d[0] - d[2], d[1] + d[2], d[2] - d[1], d[1] - d[3]]
}

/// `A^T m` along one axis: four values to two outputs.
#[inline(always)]
pub(super) fn output_1d<E: Float>(m: [E; T]) -> [E; M] {
    [m[0] + m[1] + m[2], m[1] - m[2] - m[3]]
}

/// The transformed kernels `U`, `[position][out][in]`: of `w` (`o x (c 3 3)`) for the
/// forward pass, or, with `for_input_grad`, of the flipped kernels with the channel axes
/// swapped (`c x (o 3 3)`), whose convolution with `gy` is the input gradient.
///
/// The taps are first laid out tap by tap (`[9][out][in]`), so that both one-axis
/// transforms run along rows of all kernel pairs (one kernel at a time, in f64, took 43%
/// of a (8, 256, 14, 14) forward pass).
pub(super) fn transform_kernels<E: Float>(
    w: &[E],
    o: usize,
    c: usize,
    for_input_grad: bool,
) -> Vec<E> {
    let pairs = o * c;
    let taps = if for_input_grad {
        crate::backend::layout::permute(w, &[o, c, 9], &[2, 1, 0])
    } else {
        crate::backend::layout::permute(w, &[o, c, 9], &[2, 0, 1])
    };
    // Tap (r, s) of the kernel to transform; the flipped kernel's is (2 - r, 2 - s).
    let tap = |r: usize, s: usize| {
        let k = if for_input_grad {
            8 - (r * 3 + s)
        } else {
            r * 3 + s
        };
        &taps[k * pairs..][..pairs]
    };
    // Along each kernel row r: rows[r][j] = (G g_r)[j].
    let mut rows = vec![E::ZERO; 3 * T * pairs];
    for r in 0..3 {
        let (a, b, d) = (tap(r, 0), tap(r, 1), tap(r, 2));
        let dst = rows_mut::<E, T>(&mut rows[r * T * pairs..], pairs);
        map_rows([a, b, d, a], dst, pairs, |v| filter_1d([v[0], v[1], v[2]]));
    }
    // Down each column j: U[(j, i)] = (G rows[..][j])[i].
    let mut u = vec![E::ZERO; POS * pairs];
    for j in 0..T {
        let col = |r: usize| &rows[(r * T + j) * pairs..][..pairs];
        let (a, b, d) = (col(0), col(1), col(2));
        let dst = rows_mut::<E, T>(&mut u[j * T * pairs..], pairs);
        map_rows([a, b, d, a], dst, pairs, |v| filter_1d([v[0], v[1], v[2]]));
    }
    u
}

/// `A g` along one axis: two output gradients of a tile to its four positions.
#[inline(always)]
pub(super) fn grad_1d<E: Float>(g0: E, g1: E) -> [E; T] {
    [g0, g0 + g1, g0 - g1, -g1]
}

/// `G^T d` along one axis: four position gradients to three kernel taps.
#[inline(always)]
pub(super) fn kernel_grad_1d<E: Float>(d: [E; T]) -> [E; T] {
    let half = E::from_f64(0.5);
    let (sum, diff) = (half * (d[1] + d[2]), half * (d[1] - d[2]));
    [d[0] + sum, diff, sum + d[3], E::ZERO]
}

/// Adds `G^T dU G` (`dU` as `[position][out][in]`) to `gw` (`o x (c 3 3)`): along each
/// axis over rows of all kernel pairs, then the taps back into the kernels' layout.
pub(super) fn add_kernel_grads<E: Float>(du: &[E], o: usize, c: usize, gw: &mut [E]) {
    let pairs = o * c;
    // rows[j][r] = sum_i G[i][r] dU[(j, i)]; taps[r][s] = sum_j G[j][s] rows[j][r].
    let mut rows = vec![E::ZERO; T * T * pairs];
    for j in 0..T {
        let src: [&[E]; T] = core::array::from_fn(|i| &du[(j * T + i) * pairs..][..pairs]);
        let dst = rows_mut::<E, T>(&mut rows[j * T * pairs..], pairs);
        map_rows(src, dst, pairs, kernel_grad_1d);
    }
    let mut taps = vec![E::ZERO; 3 * T * pairs];
    for r in 0..3 {
        let src: [&[E]; T] = core::array::from_fn(|j| &rows[(j * T + r) * pairs..][..pairs]);
        let dst = rows_mut::<E, T>(&mut taps[r * T * pairs..], pairs);
        map_rows(src, dst, pairs, kernel_grad_1d);
    }
    // taps[r][s][pair] (s < 3 of the 4 rows written) -> gw[pair][r][s].
    for pair in 0..pairs {
        let k = &mut gw[pair * 9..][..9];
        for r in 0..3 {
            for s in 0..3 {
                k[r * 3 + s] += taps[(r * T + s) * pairs + pair];
            }
        }
    }
}
