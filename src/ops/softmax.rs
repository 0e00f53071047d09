//! softmax and log_softmax along an axis, stable for logits of any magnitude.
//!
//! Both are primitives with their own backward. softmax (`gx = y * (gy - sum(gy * y))`):
//! computing it as `exp(log_softmax)` would lose float32 precision for large logits.
//! log_softmax (`gx = gy - exp(y) * sum(gy)`): shifting by the row maximum changes nothing
//! mathematically but keeps every `exp` in range.

use crate::autograd::{Gradients, Tape, UniqueId};
use crate::backend::reduce::split_axis;
use crate::backend::softmax as kernels;
use crate::dtype::Float;
use crate::shape::{HasAxis, Shape};
use crate::tensor::Tensor;
use std::sync::Arc;

/// `log_softmax` along `axis`, at run time: a primitive with its own backward
/// (`gx = gy - exp(y) * sum(gy)`), fused because the composition (shift, subtract, exp, sum,
/// log, subtract, and each one's backward) made cross-entropy a dozen passes over the logits.
pub(crate) fn log_softmax_op<S: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    axis: usize,
) -> Tensor<S, E, T> {
    along_axis_op(
        x,
        axis,
        kernels::log_softmax_axis,
        kernels::log_softmax_backward,
    )
}

/// `softmax` along `axis`, at run time.
pub(crate) fn softmax_op<S: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    axis: usize,
) -> Tensor<S, E, T> {
    along_axis_op(x, axis, kernels::softmax_axis, kernels::softmax_backward)
}

/// A per-row op along `axis` whose backward needs only its output: `forward(x, outer, n,
/// inner)` and `backward(gx, gy, y, outer, n, inner)` (adding into `gx`).
fn along_axis_op<S: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    axis: usize,
    forward: fn(&[E], usize, usize, usize) -> Vec<E>,
    backward: fn(&mut [E], &[E], &[E], usize, usize, usize),
) -> Tensor<S, E, T> {
    let dims = x.shape.dims();
    let (outer, n, inner) = split_axis(&dims, axis);
    let (x, mut tape) = x.split_tape();
    let y = Arc::new(forward(&x.data, outer, n, inner));
    let out_id = UniqueId::new();
    if T::TRACING && tape.tracks(x.id) {
        let (x_id, yd) = (x.id, y.clone());
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = g.take(out_id) else { return };
                let gx = g.entry(x_id, yd.len());
                backward(gx, &gy, &yd, outer, n, inner);
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
