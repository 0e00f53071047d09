//! The SGD update of one parameter.

use super::decayed_grad;
use crate::backend::parallel::for_zipped_blocks;
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

/// The kernel of [`sgd_update`]: blocks over the threads from [`PARALLEL_ELEMS`] elements
/// on, each a loop over zipped slices (no bounds checks) whose options are loop-invariant
/// selects, so that it vectorises (indexed, with the options as branches, SGD with momentum
/// over a 1M-parameter layer took 950 us on one thread, Adam 846, PyTorch's SGD 294).
///
/// [`PARALLEL_ELEMS`]: crate::backend::parallel::PARALLEL_ELEMS
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
    let Some((buf, first)) = buf else {
        for_zipped_blocks(
            [p],
            #[inline(always)]
            move |off, [p]| {
                let g = &g[off..][..p.len()];
                for (pi, &gi) in p.iter_mut().zip(g) {
                    *pi -= lr * decayed_grad(gi, *pi, maximize, wd);
                }
            },
        );
        return;
    };
    for_zipped_blocks(
        [p, buf],
        // `move`: the constants copied in, not read through references on every element
        // (which kept this loop scalar).
        #[inline(always)]
        move |off, [p, buf]| {
            let g = &g[off..][..p.len()];
            for ((pi, &gi), bi) in p.iter_mut().zip(g).zip(buf.iter_mut()) {
                let d = decayed_grad(gi, *pi, maximize, wd);
                *bi = if first {
                    d
                } else {
                    mom * *bi + (E::ONE - damp) * d
                };
                let step = if nesterov { d + mom * *bi } else { *bi };
                *pi -= lr * step;
            }
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every option against PyTorch's formulas written out per element, over a parameter long
    /// enough to be split into blocks over the threads, for three steps (the first starts the
    /// momentum buffer), with an infinite parameter that weight decay 0 must leave alone.
    #[test]
    fn blocks_match_the_formula_per_element() {
        let n = 200_003;
        for bits in 0..32u32 {
            let k = SgdStep {
                lr: 0.1f32,
                momentum: if bits & 1 != 0 { 0.9 } else { 0.0 },
                dampening: if bits & 2 != 0 { 0.25 } else { 0.0 },
                weight_decay: if bits & 4 != 0 { 0.01 } else { 0.0 },
                nesterov: bits & 8 != 0,
                maximize: bits & 16 != 0,
            };
            let g: Vec<f32> = (0..n)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
                .collect();
            let mut p: Vec<f32> = (0..n)
                .map(|i| ((i * 53 % 97) as f32 - 48.0) / 10.0)
                .collect();
            p[7] = f32::INFINITY;
            let (mut want_p, mut want_buf) = (p.clone(), vec![0.0f32; n]);
            let mut buf = vec![0.0f32; n];
            for step in 0..3 {
                let first = step == 0;
                let momentum = k.momentum != 0.0;
                sgd_update(&k, &mut p, &g, momentum.then_some((&mut buf[..], first)));
                for i in 0..n {
                    let mut d = if k.maximize { -g[i] } else { g[i] };
                    if k.weight_decay != 0.0 {
                        d += k.weight_decay * want_p[i];
                    }
                    if momentum {
                        want_buf[i] = if first {
                            d
                        } else {
                            k.momentum * want_buf[i] + (1.0 - k.dampening) * d
                        };
                        d = if k.nesterov {
                            d + k.momentum * want_buf[i]
                        } else {
                            want_buf[i]
                        };
                    }
                    want_p[i] -= k.lr * d;
                }
                let same =
                    |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
                assert!(
                    same(&p, &want_p),
                    "options {bits:05b}, step {step}: parameters"
                );
                assert!(
                    same(&buf, &want_buf) || !momentum,
                    "options {bits:05b}: buffer"
                );
            }
        }
    }
}
