//! NAdam's update loop.

use super::OPTIMIZER_PARALLEL_ELEMS;
use crate::backend::parallel::for_zipped_blocks_from;
use crate::backend::precompiled::precompiled;
use crate::dtype::Float;

/// The scalars of one NAdam step.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NAdamStep<E> {
    pub(crate) beta1: E,
    pub(crate) beta2: E,
    pub(crate) eps: E,
    /// `1 - beta2^t`.
    pub(crate) bias_correction2: E,
    /// `lr (1 - mu_t) / (1 - prod mu_1..t)`: the weight of the gradient.
    pub(crate) grad_weight: E,
    /// `lr mu_{t+1} / (1 - prod mu_1..t+1)`: the weight of the first moment.
    pub(crate) avg_weight: E,
    /// L2 penalty added to the gradient (0 when decoupled).
    pub(crate) weight_decay: E,
    /// `1 - lr wd` for decoupled weight decay, else 1.
    pub(crate) decay: E,
    /// -1 to maximize, 1 to minimize.
    pub(crate) sign: E,
}

precompiled! {
    /// `m = lerp(m, g, 1 - b1); v = b2 v + (1 - b2) g^2; denom = sqrt(v / bc2) + eps;
    /// p -= grad_weight g / denom + avg_weight m / denom`.
    pub(crate) fn nadam_update<E>(k: &NAdamStep<E>, p: &mut [E], g: &[E], exp_avg: &mut [E], exp_avg_sq: &mut [E]) = nadam_update_generic;
}

/// The kernel of [`nadam_update`].
fn nadam_update_generic<E: Float>(
    k: &NAdamStep<E>,
    p: &mut [E],
    g: &[E],
    exp_avg: &mut [E],
    exp_avg_sq: &mut [E],
) {
    let s = *k;
    let one = E::ONE;
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
                let denom = (v[i] / s.bias_correction2).sqrt() + s.eps;
                p[i] -= s.grad_weight * gi / denom;
                p[i] -= s.avg_weight * m[i] / denom;
            }
        },
    );
}
