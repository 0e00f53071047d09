//! Optimizer update rules, the one door from `crate::optim` to the backend: an optimizer
//! computes its step's constants and hands each parameter's buffers to these kernels
//! (loops in `src/backend/optim/`, one file per optimizer).

pub(crate) use crate::backend::optim::adadelta::{AdadeltaStep, adadelta_update};
pub(crate) use crate::backend::optim::adagrad::{AdagradStep, adagrad_update};
pub(crate) use crate::backend::optim::adam::{AdamStep, adam_update};
pub(crate) use crate::backend::optim::adamax::{AdamaxStep, adamax_update};
pub(crate) use crate::backend::optim::lbfgs;
pub(crate) use crate::backend::optim::nadam::{NAdamStep, nadam_update};
pub(crate) use crate::backend::optim::radam::{RAdamStep, radam_update};
pub(crate) use crate::backend::optim::rmsprop::{RmsPropStep, rmsprop_update};
pub(crate) use crate::backend::optim::sgd::{SgdStep, sgd_update};
