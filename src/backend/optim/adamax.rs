//! Adamax's update loop.

use super::OPTIMIZER_PARALLEL_ELEMS;
use crate::backend::parallel::for_zipped_blocks_from;
use crate::backend::precompiled::precompiled;
use crate::dtype::Float;

/// The scalars of one Adamax step.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AdamaxStep<E> {
    /// `lr / (1 - beta1^t)`.
    pub(crate) clr: E,
    pub(crate) beta1: E,
    pub(crate) beta2: E,
    pub(crate) eps: E,
    pub(crate) weight_decay: E,
    /// -1 to maximize, 1 to minimize.
    pub(crate) sign: E,
}

precompiled! {
    /// `m = lerp(m, g, 1 - b1); u = max(b2 u, |g| + eps); p -= clr m / u`.
    pub(crate) fn adamax_update<E>(k: &AdamaxStep<E>, p: &mut [E], g: &[E], exp_avg: &mut [E], exp_inf: &mut [E]) = adamax_update_generic;
}

/// The kernel of [`adamax_update`].
fn adamax_update_generic<E: Float>(
    k: &AdamaxStep<E>,
    p: &mut [E],
    g: &[E],
    exp_avg: &mut [E],
    exp_inf: &mut [E],
) {
    let s = *k;
    let one = E::ONE;
    for_zipped_blocks_from(
        [p, exp_avg, exp_inf],
        OPTIMIZER_PARALLEL_ELEMS,
        #[inline(always)]
        |off, [p, m, u]| {
            let n = p.len();
            // Every buffer sliced to `n`: no bounds checks, so the loop vectorises.
            let (g, m, u) = (&g[off..][..n], &mut m[..n], &mut u[..n]);
            for i in 0..n {
                let gi = s.sign * g[i] + s.weight_decay * p[i];
                m[i] += (one - s.beta1) * (gi - m[i]);
                u[i] = (s.beta2 * u[i]).max(gi.abs() + s.eps);
                p[i] -= s.clr * m[i] / u[i];
            }
        },
    );
}
