//! Differentiable operations. Each file is one family; each derivative rule is written once,
//! as a kernel (unary, binary) or a backward step next to its forward.

pub mod binary;
pub mod compare;
pub mod index;
pub mod linear;
pub mod matmul;
pub mod reduce;
pub mod shape_ops;
pub mod softmax;
pub mod unary;
