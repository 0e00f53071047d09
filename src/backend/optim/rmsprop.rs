//! The RMSprop update of one parameter.

use super::{OPTIMIZER_PARALLEL_ELEMS, decayed_grad};
use crate::backend::parallel::for_zipped_blocks_from;
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

/// The kernel of [`rmsprop_update`]: one loop per combination of the optional buffers, each
/// split over the threads like Adam's (a square root and a division per element) and free of
/// per-element branches so that it vectorises.
fn rmsprop_update_generic<E: Float>(
    k: &RmsPropStep<E>,
    p: &mut [E],
    g: &[E],
    sq: &mut [E],
    grad_avg: Option<&mut [E]>,
    buf: Option<&mut [E]>,
) {
    let RmsPropStep {
        lr,
        alpha,
        eps,
        weight_decay: wd,
        momentum: mom,
        maximize,
    } = *k;
    let one = E::ONE;
    match (grad_avg, buf) {
        (None, None) => for_zipped_blocks_from(
            [p, sq],
            OPTIMIZER_PARALLEL_ELEMS,
            #[inline(always)]
            |off, [p, sq]| {
                let n = p.len();
                // Equal lengths, seen by the compiler: no bounds checks, so the loop vectorises.
                let (g, sq) = (&g[off..][..n], &mut sq[..n]);
                for i in 0..n {
                    let gi = decayed_grad(g[i], p[i], maximize, wd);
                    sq[i] = alpha * sq[i] + (one - alpha) * gi * gi;
                    p[i] -= lr * gi / (sq[i].sqrt() + eps);
                }
            },
        ),
        (Some(ga), None) => for_zipped_blocks_from(
            [p, sq, ga],
            OPTIMIZER_PARALLEL_ELEMS,
            #[inline(always)]
            |off, [p, sq, ga]| {
                let n = p.len();
                let (g, sq, ga) = (&g[off..][..n], &mut sq[..n], &mut ga[..n]);
                for i in 0..n {
                    let gi = decayed_grad(g[i], p[i], maximize, wd);
                    sq[i] = alpha * sq[i] + (one - alpha) * gi * gi;
                    ga[i] = alpha * ga[i] + (one - alpha) * gi;
                    p[i] -= lr * gi / ((sq[i] - ga[i] * ga[i]).sqrt() + eps);
                }
            },
        ),
        (None, Some(buf)) => for_zipped_blocks_from(
            [p, sq, buf],
            OPTIMIZER_PARALLEL_ELEMS,
            #[inline(always)]
            |off, [p, sq, buf]| {
                let n = p.len();
                let (g, sq, buf) = (&g[off..][..n], &mut sq[..n], &mut buf[..n]);
                for i in 0..n {
                    let gi = decayed_grad(g[i], p[i], maximize, wd);
                    sq[i] = alpha * sq[i] + (one - alpha) * gi * gi;
                    buf[i] = mom * buf[i] + gi / (sq[i].sqrt() + eps);
                    p[i] -= lr * buf[i];
                }
            },
        ),
        (Some(ga), Some(buf)) => for_zipped_blocks_from(
            [p, sq, ga, buf],
            OPTIMIZER_PARALLEL_ELEMS,
            #[inline(always)]
            |off, [p, sq, ga, buf]| {
                let n = p.len();
                let (g, sq, ga, buf) = (&g[off..][..n], &mut sq[..n], &mut ga[..n], &mut buf[..n]);
                for i in 0..n {
                    let gi = decayed_grad(g[i], p[i], maximize, wd);
                    sq[i] = alpha * sq[i] + (one - alpha) * gi * gi;
                    ga[i] = alpha * ga[i] + (one - alpha) * gi;
                    buf[i] = mom * buf[i] + gi / ((sq[i] - ga[i] * ga[i]).sqrt() + eps);
                    p[i] -= lr * buf[i];
                }
            },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-element formulas of PyTorch's `torch.optim.RMSprop`, one element at a time.
    fn reference(
        k: &RmsPropStep<f64>,
        p: &mut [f64],
        g: &[f64],
        sq: &mut [f64],
        mut ga: Option<&mut [f64]>,
        mut buf: Option<&mut [f64]>,
    ) {
        for i in 0..p.len() {
            let mut gi = if k.maximize { -g[i] } else { g[i] };
            if k.weight_decay != 0.0 {
                gi += k.weight_decay * p[i];
            }
            sq[i] = k.alpha * sq[i] + (1.0 - k.alpha) * gi * gi;
            let avg = match ga.as_deref_mut() {
                Some(ga) => {
                    ga[i] = k.alpha * ga[i] + (1.0 - k.alpha) * gi;
                    (sq[i] - ga[i] * ga[i]).sqrt() + k.eps
                }
                None => sq[i].sqrt() + k.eps,
            };
            match buf.as_deref_mut() {
                Some(buf) => {
                    buf[i] = k.momentum * buf[i] + gi / avg;
                    p[i] -= k.lr * buf[i];
                }
                None => p[i] -= k.lr * gi / avg,
            }
        }
    }

    /// Every combination of centered / momentum / maximize / weight decay, at a length that
    /// is split over the threads, matches the reference bit for bit over three steps.
    #[test]
    fn every_variant_matches_the_reference() {
        let n = 3 * OPTIMIZER_PARALLEL_ELEMS + 5;
        let wave = |s: f64| -> Vec<f64> { (0..n).map(|i| (i as f64 * s).sin()).collect() };
        for (centered, momentum, maximize, wd) in [
            (false, false, false, 0.0),
            (true, false, true, 0.0),
            (false, true, false, 0.01),
            (true, true, true, 0.01),
        ] {
            let k = RmsPropStep {
                lr: 0.01,
                alpha: 0.99,
                eps: 1e-8,
                weight_decay: wd,
                momentum: if momentum { 0.9 } else { 0.0 },
                maximize,
            };
            let (mut p, mut sq) = (wave(0.37), vec![0.0; n]);
            let (mut ga, mut buf) = (vec![0.0; n], vec![0.0; n]);
            let (mut rp, mut rsq, mut rga, mut rbuf) =
                (p.clone(), sq.clone(), ga.clone(), buf.clone());
            for step in 0..3 {
                let g = wave(0.11 + step as f64);
                rmsprop_update_generic(
                    &k,
                    &mut p,
                    &g,
                    &mut sq,
                    centered.then_some(&mut ga[..]),
                    momentum.then_some(&mut buf[..]),
                );
                reference(
                    &k,
                    &mut rp,
                    &g,
                    &mut rsq,
                    centered.then_some(&mut rga[..]),
                    momentum.then_some(&mut rbuf[..]),
                );
            }
            assert_eq!(p, rp, "centered {centered}, momentum {momentum}");
            assert_eq!((sq, ga, buf), (rsq, rga, rbuf));
        }
    }
}
