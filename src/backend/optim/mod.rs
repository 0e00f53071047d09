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
