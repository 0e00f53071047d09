//! Optimizer update loops: one file per optimizer, each a plain function over a parameter's
//! values, its gradient and its state buffers.

pub(crate) mod adadelta;
pub(crate) mod adagrad;
pub(crate) mod adamax;
pub(crate) mod lbfgs;
pub(crate) mod nadam;
pub(crate) mod radam;
