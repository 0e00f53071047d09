//! Optimizer update kernels: one file per optimizer, each the loop that updates one
//! parameter's buffer and its state buffers in place (L-BFGS: the vector arithmetic over
//! the flattened parameters). The optimizers in `crate::optim` keep the hyperparameters,
//! the step count and the named state, and call these through `crate::ops::optim`.

pub(crate) mod adadelta;
pub(crate) mod adagrad;
pub(crate) mod adam;
pub(crate) mod adamax;
pub(crate) mod lbfgs;
pub(crate) mod nadam;
pub(crate) mod radam;
pub(crate) mod rmsprop;
pub(crate) mod sgd;

/// Updates of at least this many elements are split over the threads (the element loops'
/// threshold is 4x higher): an Adam-like update costs a square root and a division per
/// element, bound by the divide unit rather than by memory, so 16K elements are ~8 us of one
/// core against a ~1-2 us hand-off (W2's 256x128 weight, 32K elements, was updated on the
/// calling thread while the other one waited).
pub(crate) const OPTIMIZER_PARALLEL_ELEMS: usize = 1 << 14;

/// The gradient as SGD's and RMSprop's updates use it: negated to ascend, plus the L2 decay
/// (selected, not added as `0 * p`, so that an infinite parameter stays out of it). The tests
/// are the same for every element (selects in the vectorised loop).
#[inline(always)]
pub(super) fn decayed_grad<E: crate::dtype::Float>(g: E, p: E, maximize: bool, wd: E) -> E {
    let g = if maximize { -g } else { g };
    if wd != E::ZERO { g + wd * p } else { g }
}
