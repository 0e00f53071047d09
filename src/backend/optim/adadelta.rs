//! Adadelta's update loop.

use super::OPTIMIZER_PARALLEL_ELEMS;
use crate::backend::parallel::for_zipped_blocks_from;
use crate::backend::precompiled::precompiled;
use crate::dtype::Float;

/// The scalars of one Adadelta step.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AdadeltaStep<E> {
    pub(crate) lr: E,
    pub(crate) rho: E,
    pub(crate) eps: E,
    pub(crate) weight_decay: E,
    /// -1 to maximize, 1 to minimize.
    pub(crate) sign: E,
}

precompiled! {
    /// `v = rho v + (1 - rho) g^2; d = sqrt(u + eps) / sqrt(v + eps) g;
    /// u = rho u + (1 - rho) d^2; p -= lr d`.
    pub(crate) fn adadelta_update<E>(k: &AdadeltaStep<E>, p: &mut [E], g: &[E], square_avg: &mut [E], acc_delta: &mut [E]) = adadelta_update_generic;
}

/// The kernel of [`adadelta_update`].
fn adadelta_update_generic<E: Float>(
    k: &AdadeltaStep<E>,
    p: &mut [E],
    g: &[E],
    square_avg: &mut [E],
    acc_delta: &mut [E],
) {
    let s = *k;
    let one = E::ONE;
    for_zipped_blocks_from(
        [p, square_avg, acc_delta],
        OPTIMIZER_PARALLEL_ELEMS,
        #[inline(always)]
        |off, [p, v, u]| {
            let n = p.len();
            // Every buffer sliced to `n`: no bounds checks, so the loop vectorises.
            let (g, v, u) = (&g[off..][..n], &mut v[..n], &mut u[..n]);
            for i in 0..n {
                let gi = s.sign * g[i] + s.weight_decay * p[i];
                v[i] = s.rho * v[i] + (one - s.rho) * gi * gi;
                let delta = (u[i] + s.eps).sqrt() / (v[i] + s.eps).sqrt() * gi;
                u[i] = s.rho * u[i] + (one - s.rho) * delta * delta;
                p[i] -= s.lr * delta;
            }
        },
    );
}
