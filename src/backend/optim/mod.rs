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
