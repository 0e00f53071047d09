//! The RMSprop update of one parameter.

use crate::backend::precompiled::precompiled;
use crate::dtype::Float;

/// One RMSprop step's constants.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RmsPropStep<E> {
    /// Learning rate.
    pub lr: E,
    /// Smoothing constant of the running averages.
    pub alpha: E,
    /// Added to the denominator, after the square root.
    pub eps: E,
    /// L2 weight decay added to the gradient.
    pub weight_decay: E,
    /// Momentum factor (0: none).
    pub momentum: E,
    /// Ascend instead of descend.
    pub maximize: bool,
}

precompiled! {
    /// Updates `p` and the running average of squared gradients `sq` from the gradient `g`, in
    /// place; `grad_avg` (centered RMSprop) and `buf` (momentum) are updated when given.
    pub(crate) fn rmsprop_update<E>(k: &RmsPropStep<E>, p: &mut [E], g: &[E], sq: &mut [E], grad_avg: Option<&mut [E]>, buf: Option<&mut [E]>) = rmsprop_update_generic;
}

/// The kernel of [`rmsprop_update`].
fn rmsprop_update_generic<E: Float>(
    k: &RmsPropStep<E>,
    p: &mut [E],
    g: &[E],
    sq: &mut [E],
    mut grad_avg: Option<&mut [E]>,
    mut buf: Option<&mut [E]>,
) {
    let RmsPropStep {
        lr,
        alpha,
        eps,
        weight_decay: wd,
        momentum: mom,
        maximize,
    } = *k;
    for i in 0..p.len() {
        let mut gi = if maximize { -g[i] } else { g[i] };
        if wd != E::ZERO {
            gi += wd * p[i];
        }
        sq[i] = alpha * sq[i] + (E::ONE - alpha) * gi * gi;
        let avg = if let Some(ga) = grad_avg.as_deref_mut() {
            ga[i] = alpha * ga[i] + (E::ONE - alpha) * gi;
            (sq[i] - ga[i] * ga[i]).sqrt() + eps
        } else {
            sq[i].sqrt() + eps
        };
        if let Some(buf) = buf.as_deref_mut() {
            buf[i] = mom * buf[i] + gi / avg;
            p[i] -= lr * buf[i];
        } else {
            p[i] -= lr * gi / avg;
        }
    }
}
