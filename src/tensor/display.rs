//! Printing tensors like PyTorch.

use super::Tensor;
use crate::dtype::Float;
use crate::shape::Shape;
use core::fmt;

impl<S: Shape, E: Float, T> fmt::Display for Tensor<S, E, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tensor({:?})", self.as_slice())
    }
}

impl<S: Shape, E: Float, T> fmt::Debug for Tensor<S, E, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}, shape={:?}, dtype={}", self.dims().as_slice(), E::DTYPE)
    }
}
