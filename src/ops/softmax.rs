//! softmax and log_softmax along an axis, stable for logits of any magnitude.
//!
//! softmax is a primitive with its own backward (`gx = y * (gy - sum(gy * y))`): computing it
//! as `exp(log_softmax)` would lose float32 precision for large logits. log_softmax is
//! composed from primitives around a detached shift by the maximum, which changes nothing
//! mathematically but keeps every `exp` in range.

use crate::autograd::{Gradients, Tape, UniqueId};
use crate::backend::reduce as kernels;
use crate::dtype::Float;
use crate::ops::binary::{Sub, binary_op};
use crate::ops::reduce::{keep, sum_axis_op};
use crate::shape::{DynShape, HasAxis, Shape};
use crate::tensor::Tensor;
use std::sync::Arc;

/// The per-row maximum along `axis` (0 where it is infinite), as a constant tensor with the
/// axis kept.
fn detached_shift<S: Shape, E: Float, T>(x: &Tensor<S, E, T>, axis: usize) -> Tensor<DynShape, E> {
    let dims = x.shape.dims();
    let (outer, n, inner) = kernels::split_axis(&dims, axis);
    let (m, _) = kernels::arg_extreme_axis(&x.data, outer, n, inner, |a, b| a > b);
    let m = m
        .into_iter()
        .map(|v| if v.is_finite() { v } else { E::ZERO })
        .collect();
    Tensor::from_parts(keep(&dims, axis), m)
}

/// `log_softmax` along `axis`, at run time.
pub(crate) fn log_softmax_op<S: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    axis: usize,
) -> Tensor<S, E, T> {
    let dims = x.shape.dims();
    let shape = x.shape;
    let shift = detached_shift(&x, axis);
    let shifted = binary_op(x, shift, shape, Sub);
    let lse = sum_axis_op(shifted.clone().exp(), axis, keep(&dims, axis)).ln();
    binary_op(shifted, lse, shape, Sub)
}

/// `softmax` along `axis`, at run time.
pub(crate) fn softmax_op<S: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    axis: usize,
) -> Tensor<S, E, T> {
    let dims = x.shape.dims();
    let (outer, n, inner) = kernels::split_axis(&dims, axis);
    let (x, mut tape) = x.split_tape();
    let y = Arc::new(kernels::softmax_axis(&x.data, outer, n, inner));
    let out_id = UniqueId::new();
    if T::TRACING && tape.tracks(x.id) {
        let (x_id, yd) = (x.id, y.clone());
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = g.take(out_id) else { return };
                let gx = g.entry(x_id, yd.len());
                kernels::softmax_backward(gx, &gy, &yd, outer, n, inner);
            }),
        );
    }
    Tensor {
        shape: x.shape,
        data: y,
        id: out_id,
        tape,
    }
}

impl<S: Shape, E: Float, T: Tape<E>> Tensor<S, E, T> {
    /// Softmax along axis `I` (`torch.softmax(x, dim=I)`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let p = Tensor::<Rank2<1, 2>>::from_array([[100.0, 100.0]]).softmax::<1>();
    /// assert_eq!(p.to_vec(), vec![0.5, 0.5]);
    /// ```
    pub fn softmax<const I: usize>(self) -> Self
    where
        S: HasAxis<I>,
    {
        softmax_op(self, I)
    }

    /// Log-softmax along axis `I` (`torch.log_softmax(x, dim=I)`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let p = Tensor::<Rank2<1, 2>>::from_array([[100.0, 100.0]]).log_softmax::<1>();
    /// assert!((p.to_vec()[0] + 2f32.ln()).abs() < 1e-6);
    /// ```
    pub fn log_softmax<const I: usize>(self) -> Self
    where
        S: HasAxis<I>,
    {
        log_softmax_op(self, I)
    }
}
