//! Running sums along a type-level axis (`torch.cumsum`).

use crate::autograd::Tape;
use crate::backend::reduce::split_axis;
use crate::backend::scan;
use crate::dtype::Float;
use crate::ops::grad_target;
use crate::ops::shape_ops::moving_op;
use crate::shape::{HasAxis, Shape};
use crate::tensor::Tensor;

/// The running sum along `axis`; its backward is the running sum of the output gradient
/// taken from the other end.
pub(crate) fn cumsum_op<S: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    axis: usize,
) -> Tensor<S, E, T> {
    let (outer, n, inner) = split_axis(&x.shape.dims(), axis);
    let out = x.shape;
    let len = x.data.len();
    moving_op(
        x,
        out,
        |x| scan::cumsum_axis(x, outer, n, inner),
        move |g, x_id, gy| {
            // SAFETY: given new memory, the backward writes all of it.
            unsafe {
                g.contribute(x_id, len, |slot| {
                    scan::cumsum_axis_backward(grad_target(slot), &gy, outer, n, inner)
                })
            }
        },
    )
}

impl<S: Shape, E: Float, T: Tape<E>> Tensor<S, E, T> {
    /// The inclusive running sum along axis `I` (`torch.cumsum(x, dim=I)`): element `k` of
    /// each line is the sum of elements `0..=k`. The axis must exist (checked at compile
    /// time); the shape is kept.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank2<2, 3>>::from_array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// assert_eq!(x.clone().cumsum::<1>().to_vec(), vec![1.0, 3.0, 6.0, 4.0, 9.0, 15.0]);
    /// assert_eq!(x.cumsum::<0>().to_vec(), vec![1.0, 2.0, 3.0, 5.0, 7.0, 9.0]);
    /// ```
    pub fn cumsum<const I: usize>(self) -> Tensor<S, E, T>
    where
        S: HasAxis<I>,
    {
        cumsum_op(self, I)
    }
}
