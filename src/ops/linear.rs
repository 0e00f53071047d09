//! `linear(x, weight, bias) = x weight^T + bias` (PyTorch's `F.linear`) as one primitive:
//! the transposed weight is read through strides instead of being copied.

use crate::autograd::{Gradients, Tape, UniqueId};
use crate::backend::gemm::gemm;
use crate::backend::reduce::add_column_sums;
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
    // The bias rows are the product's starting value (no zero fill first).
    let mut y = match &b {
        Some((b_data, _)) => {
            let mut y = Vec::with_capacity(m * o);
            for _ in 0..m {
                y.extend_from_slice(b_data);
            }
            y
        }
        None => vec![E::ZERO; m * o],
    };
    let beta = if b.is_some() { E::ONE } else { E::ZERO };
    // y (m x o) = x (m x i) * w^T (i x o); w^T is w read with swapped strides.
    gemm(
        m,
        i,
        o,
        E::ONE,
        &x_data,
        (i as isize, 1),
        &w_data,
        (1, i as isize),
        beta,
        &mut y,
        (o as isize, 1),
    );
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
                    let gx = g.entry(x_id, m * i);
                    gemm(
                        m,
                        o,
                        i,
                        E::ONE,
                        &gy,
                        (o as isize, 1),
                        &wdata,
                        (i as isize, 1),
                        E::ONE,
                        gx,
                        (i as isize, 1),
                    );
                }
                if track_w {
                    // gw (o x i) += gy^T (o x m) * x (m x i)
                    let gw = g.entry(w_id, o * i);
                    gemm(
                        o,
                        m,
                        i,
                        E::ONE,
                        &gy,
                        (1, o as isize),
                        &xd,
                        (i as isize, 1),
                        E::ONE,
                        gw,
                        (i as isize, 1),
                    );
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
