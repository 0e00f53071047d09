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
    forward: Forward<E>,
    backward: Backward<E>,
) -> Tensor<S, E, T> {
    let dims = x.shape.dims();
    let (outer, n, inner) = split_axis(&dims, axis);
    let (x, tape) = x.split_tape();
    let (data, id, tape) =
        along_axis_untyped(&x.data, x.id, tape, [outer, n, inner], forward, backward);
    Tensor {
        shape: x.shape,
        data,
        id,
        tape,
    }
}

/// The forward and backward functions of [`along_axis_op`].
type Forward<E> = fn(&[E], usize, usize, usize) -> Vec<E>;
type Backward<E> = fn(&mut [E], Option<&[E]>, &[E], usize, usize, usize);

/// [`along_axis_op`] without the shape type; never inlined, so that programs at `f32` link to
/// this crate's instances (see `backend::precompiled`).
#[inline(never)]
fn along_axis_untyped<E: Float, T: Tape<E>>(
    x: &[E],
    x_id: UniqueId,
    mut tape: T,
    [outer, n, inner]: [usize; 3],
    forward: Forward<E>,
    backward: Backward<E>,
) -> (Arc<Vec<E>>, UniqueId, T) {
    let y = Arc::new(forward(x, outer, n, inner));
    let out_id = UniqueId::new();
    if T::TRACING && tape.tracks(x_id) {
        let yd = y.clone();
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(mut gy) = g.take(out_id) else { return };
                if g.has(x_id) {
                    backward(g.entry(x_id, yd.len()), Some(&gy), &yd, outer, n, inner);
                } else {
                    // The first gradient of `x`: computed in the output's gradient buffer
                    // and handed on, instead of added into a zero-filled one (softmax over
                    // 4096 x 1024 times a weight, summed, backward, one thread: 8.3-9.9 ->
                    // 7.1-8.1 ms in four of five alternating rounds).
                    backward(&mut gy, None, &yd, outer, n, inner);
                    g.insert(x_id, gy);
                }
            }),
        );
    }
    (y, out_id, tape)
}

crate::instances::shared_instances!(
    along_axis_untyped::<f32, crate::autograd::NoTape>,
    along_axis_untyped::<f32, crate::autograd::OwnedTape<f32>>,
);

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
