//! Adagrad's update loop.

use super::OPTIMIZER_PARALLEL_ELEMS;
use crate::backend::parallel::for_zipped_blocks_from;
use crate::backend::precompiled::precompiled;
use crate::dtype::Float;

/// The scalars of one Adagrad step.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AdagradStep<E> {
    /// The decayed rate `lr / (1 + (t - 1) lr_decay)`.
    pub(crate) clr: E,
    pub(crate) eps: E,
    pub(crate) weight_decay: E,
    /// -1 to maximize, 1 to minimize.
    pub(crate) sign: E,
}

precompiled! {
    /// `g = sign grad + wd p; sum += g^2; p -= clr g / (sqrt(sum) + eps)`.
    pub(crate) fn adagrad_update<E>(k: &AdagradStep<E>, p: &mut [E], g: &[E], sum: &mut [E]) = adagrad_update_generic;
}

/// The kernel of [`adagrad_update`].
fn adagrad_update_generic<E: Float>(k: &AdagradStep<E>, p: &mut [E], g: &[E], sum: &mut [E]) {
    let s = *k;
    for_zipped_blocks_from(
        [p, sum],
        OPTIMIZER_PARALLEL_ELEMS,
        #[inline(always)]
        |off, [p, sum]| {
            let n = p.len();
            // Every buffer sliced to `n`: no bounds checks, so the loop vectorises.
            let (g, sum) = (&g[off..][..n], &mut sum[..n]);
            for i in 0..n {
                let gi = s.sign * g[i] + s.weight_decay * p[i];
                sum[i] += gi * gi;
                p[i] -= s.clr * gi / (sum[i].sqrt() + s.eps);
            }
        },
    );
}
