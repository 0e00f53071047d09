//! RAdam's update loop.

use super::OPTIMIZER_PARALLEL_ELEMS;
use crate::backend::parallel::for_zipped_blocks_from;
use crate::backend::precompiled::precompiled;
use crate::dtype::Float;

/// The scalars of one RAdam step.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RAdamStep<E> {
    pub(crate) lr: E,
    pub(crate) beta1: E,
    pub(crate) beta2: E,
    pub(crate) eps: E,
    /// `1 - beta1^t`.
    pub(crate) bias_correction1: E,
    /// `sqrt(1 - beta2^t)`.
    pub(crate) bias_correction2_sqrt: E,
    /// The variance rectification term, or `None` while `rho_t <= 5` (then the step is
    /// plain momentum).
    pub(crate) rect: Option<E>,
    /// L2 penalty added to the gradient (0 when decoupled).
    pub(crate) weight_decay: E,
    /// `1 - lr wd` for decoupled weight decay, else 1.
    pub(crate) decay: E,
    /// -1 to maximize, 1 to minimize.
    pub(crate) sign: E,
}

precompiled! {
    /// `m = lerp(m, g, 1 - b1); v = b2 v + (1 - b2) g^2;` then
    /// `p -= lr m / bc1 * rect * sqrt(bc2) / (sqrt(v) + eps)` when rectified, else
    /// `p -= lr m / bc1`.
    pub(crate) fn radam_update<E>(k: &RAdamStep<E>, p: &mut [E], g: &[E], exp_avg: &mut [E], exp_avg_sq: &mut [E]) = radam_update_generic;
}

/// The kernel of [`radam_update`].
fn radam_update_generic<E: Float>(
    k: &RAdamStep<E>,
    p: &mut [E],
    g: &[E],
    exp_avg: &mut [E],
    exp_avg_sq: &mut [E],
) {
    let s = *k;
    let one = E::ONE;
    let (rectify, rect) = (s.rect.is_some(), s.rect.unwrap_or(E::ZERO));
    for_zipped_blocks_from(
        [p, exp_avg, exp_avg_sq],
        OPTIMIZER_PARALLEL_ELEMS,
        #[inline(always)]
        |off, [p, m, v]| {
            let n = p.len();
            // Every buffer sliced to `n`: no bounds checks, so the loop vectorises.
            let (g, m, v) = (&g[off..][..n], &mut m[..n], &mut v[..n]);
            for i in 0..n {
                p[i] *= s.decay;
                let gi = s.sign * g[i] + s.weight_decay * p[i];
                m[i] += (one - s.beta1) * (gi - m[i]);
                v[i] = s.beta2 * v[i] + (one - s.beta2) * gi * gi;
                let corrected = m[i] / s.bias_correction1;
                // Both updates computed and one selected: a `match` on `s.rect` here kept
                // the loop scalar (the adaptive one is wasted only in the first few steps).
                let adaptive = s.bias_correction2_sqrt / (v[i].sqrt() + s.eps);
                let rectified = corrected * s.lr * adaptive * rect;
                p[i] -= if rectify { rectified } else { corrected * s.lr };
            }
        },
    );
}
