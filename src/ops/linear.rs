//! `linear(x, weight, bias) = x weight^T + bias` (PyTorch's `F.linear`) as one primitive:
//! the transposed weight is read through strides instead of being copied.

use crate::autograd::{GradSlot, Gradients, Tape, UniqueId};
use crate::backend::gemm::{gemm, gemm_uninit};
use crate::backend::layout::repeated_rows;
use crate::backend::reduce::add_column_sums;
use crate::backend::uninit::written;
use crate::dtype::Float;
use crate::shape::Shape;
use crate::tensor::Tensor;
use std::sync::Arc;

/// `y = x w^T + b` for `x` of shape `(.., in)`, `w` of shape `(out, in)` and `b` of shape
/// `(out,)`; `out_shape` is `x`'s shape with the last dimension set to `out` (checked by the
/// caller). All three share one tape type: parameters are traced with
/// [`Tensor::traced_as`] when the input is.
pub fn linear_op<SX, SW, SB, SO, E, T>(
    x: Tensor<SX, E, T>,
    w: Tensor<SW, E, T>,
    b: Option<Tensor<SB, E, T>>,
    out_shape: SO,
) -> Tensor<SO, E, T>
where
    SX: Shape,
    SW: Shape,
    SB: Shape,
    SO: Shape,
    E: Float,
    T: Tape<E>,
{
    let wd = w.shape.dims();
    let (o, i) = (wd[0], wd[1]);
    let (x, tx) = x.split_tape();
    let (w, tw) = w.split_tape();
    let b = b.map(|b| {
        let (b, tb) = b.split_tape();
        ((b.data, b.id), tb)
    });
    let (data, id, tape) = linear_untyped((x.data, x.id), tx, (w.data, w.id), tw, b, o, i);
    Tensor {
        shape: out_shape,
        data,
        id,
        tape,
    }
}

/// A buffer and its id: a tensor without its shape type.
type Raw<E> = (Arc<Vec<E>>, UniqueId);

/// [`linear_op`] on buffers: generic over the element and tape types only, so that every
/// `Linear` layer of a model shares one compiled copy instead of one per shape (issue 15).
/// Never inlined: programs at `f32` link to this crate's instances (listed below) instead
/// of compiling their own.
#[inline(never)]
fn linear_untyped<E: Float, T: Tape<E>>(
    x: Raw<E>,
    tx: T,
    w: Raw<E>,
    tw: T,
    b: Option<(Raw<E>, T)>,
    o: usize,
    i: usize,
) -> (Arc<Vec<E>>, UniqueId, T) {
    let ((x_data, x_id), (w_data, w_id)) = (x, w);
    let m = x_data.len().checked_div(i).unwrap_or(0);
    let mut tape = tx.merge(tw);
    let b = b.map(|((b_data, b_id), tb)| {
        tape = core::mem::replace(&mut tape, T::leaf(b_id)).merge(tb);
        (b_data, b_id)
    });
    // y (m x o) = x (m x i) * w^T (i x o); w^T is w read with swapped strides. The bias
    // rows are the product's starting value; without a bias the product writes new memory
    // (no zero fill first either way).
    let (x_op, w_op) = ((i as isize, 1), (1, i as isize));
    let y = match &b {
        Some((b_data, _)) => {
            let mut y = repeated_rows(b_data, m);
            let out = (o as isize, 1);
            gemm(
                m,
                i,
                o,
                E::ONE,
                &x_data,
                x_op,
                &w_data,
                w_op,
                E::ONE,
                &mut y,
                out,
            );
            y
        }
        // SAFETY: `gemm_uninit` writes all `m * o` elements.
        None => unsafe {
            written(m * o, |y| {
                gemm_uninit(m, i, o, E::ONE, &x_data, x_op, &w_data, w_op, y)
            })
        },
    };
    let out_id = UniqueId::new();
    let track_x = T::TRACING && tape.tracks(x_id);
    let track_w = T::TRACING && tape.tracks(w_id);
    let track_b = T::TRACING && b.as_ref().is_some_and(|(_, id)| tape.tracks(*id));
    if track_x || track_w || track_b {
        let (xd, wdata) = (x_data, w_data);
        let b_id = b.as_ref().map(|(_, id)| *id);
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = g.take(out_id) else { return };
                if track_x {
                    // gx (m x i) += gy (m x o) * w (o x i)
                    let (gy, w) = ((&gy[..], (o as isize, 1)), (&wdata[..], (i as isize, 1)));
                    add_product(g, x_id, (m, o, i), gy, w);
                }
                if track_w {
                    // gw (o x i) += gy^T (o x m) * x (m x i)
                    let (gyt, x) = ((&gy[..], (1, o as isize)), (&xd[..], (i as isize, 1)));
                    add_product(g, w_id, (o, m, i), gyt, x);
                }
                if let (true, Some(b_id)) = (track_b, b_id) {
                    add_column_sums(g.entry(b_id, o), &gy);
                }
            }),
        );
    }
    (Arc::new(y), out_id, tape)
}

crate::instances::shared_instances!(
    linear_untyped::<f32, crate::autograd::NoTape>,
    linear_untyped::<f32, crate::autograd::OwnedTape<f32>>,
);

/// A matrix operand of [`add_product`]: the values and (row, column) strides.
type Operand<'a, E> = (&'a [E], (isize, isize));

/// Adds the product `a b` (`a` `m x k`, `b` `k x n`) to the gradient of `id` (`m x n`,
/// row-major): the first contribution is written straight into new memory (a product with
/// `beta = 0`), later ones are added to it.
pub(crate) fn add_product<E: Float>(
    g: &mut Gradients<E>,
    id: UniqueId,
    (m, k, n): (usize, usize, usize),
    (a, sa): Operand<'_, E>,
    (b, sb): Operand<'_, E>,
) {
    // SAFETY: `gemm_uninit` writes all `m * n` elements of a new gradient.
    unsafe {
        g.contribute(id, m * n, |slot| match slot {
            GradSlot::Existing(c) => {
                gemm(m, k, n, E::ONE, a, sa, b, sb, E::ONE, c, (n as isize, 1))
            }
            GradSlot::New(c) => gemm_uninit(m, k, n, E::ONE, a, sa, b, sb, c),
        })
    }
}
