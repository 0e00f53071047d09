//! The SGD update of one parameter.

use crate::backend::precompiled::precompiled;
use crate::dtype::Float;

/// One SGD step's constants.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SgdStep<E> {
    /// Learning rate.
    pub lr: E,
    /// Momentum factor (0: plain SGD).
    pub momentum: E,
    /// Dampening of the momentum.
    pub dampening: E,
    /// L2 weight decay added to the gradient.
    pub weight_decay: E,
    /// Nesterov momentum.
    pub nesterov: bool,
    /// Ascend instead of descend.
    pub maximize: bool,
}

precompiled! {
    /// Updates `p` from the gradient `g` in place. With momentum, `buf` is the momentum buffer
    /// and `first` says it has never been written (PyTorch then starts it at the gradient,
    /// without dampening).
    pub(crate) fn sgd_update<E>(k: &SgdStep<E>, p: &mut [E], g: &[E], buf: Option<(&mut [E], bool)>) = sgd_update_generic;
}

/// The kernel of [`sgd_update`].
fn sgd_update_generic<E: Float>(
    k: &SgdStep<E>,
    p: &mut [E],
    g: &[E],
    buf: Option<(&mut [E], bool)>,
) {
    let SgdStep {
        lr,
        momentum: mom,
        dampening: damp,
        weight_decay: wd,
        nesterov,
        maximize,
    } = *k;
    let direction = |i: usize, p: &[E]| {
        let d = if maximize { -g[i] } else { g[i] };
        if wd != E::ZERO { d + wd * p[i] } else { d }
    };
    let Some((buf, first)) = buf else {
        for i in 0..p.len() {
            p[i] -= lr * direction(i, p);
        }
        return;
    };
    for i in 0..p.len() {
        let d = direction(i, p);
        buf[i] = if first {
            d
        } else {
            mom * buf[i] + (E::ONE - damp) * d
        };
        let step = if nesterov { d + mom * buf[i] } else { buf[i] };
        p[i] -= lr * step;
    }
}
