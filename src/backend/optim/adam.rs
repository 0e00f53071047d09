//! The Adam / AdamW update of one parameter.

use super::OPTIMIZER_PARALLEL_ELEMS;
use crate::backend::parallel::for_zipped_blocks_from;
use crate::backend::precompiled::precompiled;
use crate::dtype::Float;

/// One Adam step's constants, the same for every parameter.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AdamStep<E> {
    /// `lr / (1 - beta1^t)`.
    pub step_size: E,
    /// Decay rate of the first moment.
    pub beta1: E,
    /// Decay rate of the second moment.
    pub beta2: E,
    /// Added to the denominator.
    pub eps: E,
    /// `sqrt(1 - beta2^t)`.
    pub bc2_sqrt: E,
    /// L2 weight decay added to the gradient (0 when the decay is decoupled).
    pub l2: E,
    /// Decoupled weight decay (AdamW): `p *= decay` before the update.
    pub decoupled: bool,
    /// `1 - lr * weight_decay`.
    pub decay: E,
    /// `-1` to ascend, `1` to descend.
    pub sign: E,
}

precompiled! {
    /// Updates `p` and its moments `m`, `v` (and the running maximum `vmax` of `v` for amsgrad)
    /// from the gradient `g`, in place.
    pub(crate) fn adam_update<E>(k: &AdamStep<E>, p: &mut [E], g: &[E], m: &mut [E], v: &mut [E], vmax: Option<&mut [E]>) = adam_update_generic;
}

/// The kernel of [`adam_update`].
fn adam_update_generic<E: Float>(
    k: &AdamStep<E>,
    p: &mut [E],
    g: &[E],
    m: &mut [E],
    v: &mut [E],
    vmax: Option<&mut [E]>,
) {
    let AdamStep {
        step_size,
        beta1: e_b1,
        beta2: e_b2,
        eps,
        bc2_sqrt,
        l2,
        decoupled,
        decay,
        sign,
    } = *k;
    let one = E::ONE;
    // A multiply instead of a division by `bc2_sqrt` (within an ulp of PyTorch's quotient):
    // the loop is bound by the shared divide/square-root unit, and this leaves it one square
    // root and one division per element instead of two divisions (W2's step: Adam was a
    // quarter of the CPU time on AVX2).
    let inv_bc2_sqrt = one / bc2_sqrt;
    // Branch-free loops so that the compiler vectorises them: multiplying by +-1 and adding
    // 0 * p leave the values exactly as the branching formulas would.
    if let Some(vmax) = vmax {
        for_zipped_blocks_from(
            [p, m, v, vmax],
            OPTIMIZER_PARALLEL_ELEMS,
            #[inline(always)]
            |off, [p, m, v, vmax]| {
                let n = p.len();
                // Every buffer sliced to `n`: no bounds checks, so the loop vectorises.
                let (g, m, v, vmax) = (&g[off..][..n], &mut m[..n], &mut v[..n], &mut vmax[..n]);
                for i in 0..n {
                    p[i] *= if decoupled { decay } else { one };
                    let gi = sign * g[i] + l2 * p[i];
                    m[i] = e_b1 * m[i] + (one - e_b1) * gi;
                    v[i] = e_b2 * v[i] + (one - e_b2) * gi * gi;
                    vmax[i] = vmax[i].max(v[i]);
                    p[i] -= step_size * m[i] / (vmax[i].sqrt() * inv_bc2_sqrt + eps);
                }
            },
        );
    } else {
        for_zipped_blocks_from(
            [p, m, v],
            OPTIMIZER_PARALLEL_ELEMS,
            #[inline(always)]
            |off, [p, m, v]| {
                let g = &g[off..][..p.len()];
                if decoupled {
                    p.iter_mut().for_each(|v| *v *= decay);
                }
                for ((pi, &gi), (mi, vi)) in p.iter_mut().zip(g).zip(m.iter_mut().zip(v.iter_mut()))
                {
                    let gi = sign * gi + l2 * *pi;
                    *mi = e_b1 * *mi + (one - e_b1) * gi;
                    *vi = e_b2 * *vi + (one - e_b2) * gi * gi;
                    *pi -= step_size * *mi / (vi.sqrt() * inv_bc2_sqrt + eps);
                }
            },
        );
    }
}
