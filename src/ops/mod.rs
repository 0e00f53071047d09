//! Differentiable operations. Each file is one family; each derivative rule is written once,
//! as a kernel (unary, binary) or a backward step next to its forward.

pub mod binary;
pub mod compare;
pub mod conv;
pub mod conv_grouped;
pub mod index;
pub mod interpolate;
pub mod linear;
pub(crate) mod lookup;
pub mod matmul;
pub(crate) mod norm;
pub mod pool;
pub mod reduce;
pub(crate) mod rnn;
pub mod shape_ops;
pub mod softmax;
pub mod unary;
