//! `linear(x, weight, bias) = x weight^T + bias` (PyTorch's `F.linear`) as one primitive:
//! the transposed weight is read through strides instead of being copied.

use crate::autograd::{Gradients, Tape, UniqueId};
use crate::backend::gemm::gemm;
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
    let m = x.numel().checked_div(i).unwrap_or(0);
    let (x, tx) = x.split_tape();
    let (w, tw) = w.split_tape();
    let mut tape = tx.merge(tw);
    let b = b.map(|b| {
        let (b, tb) = b.split_tape();
        tape = core::mem::replace(&mut tape, T::leaf(b.id)).merge(tb);
        b
    });
    let mut y = vec![E::ZERO; m * o];
    if let Some(b) = &b {
        for row in y.chunks_exact_mut(o) {
            row.copy_from_slice(&b.data);
        }
    }
    let beta = if b.is_some() { E::ONE } else { E::ZERO };
    // y (m x o) = x (m x i) * w^T (i x o); w^T is w read with swapped strides.
    gemm(
        m,
        i,
        o,
        E::ONE,
        &x.data,
        (i as isize, 1),
        &w.data,
        (1, i as isize),
        beta,
        &mut y,
        (o as isize, 1),
    );
    let out_id = UniqueId::new();
    let track_x = T::TRACING && tape.tracks(x.id);
    let track_w = T::TRACING && tape.tracks(w.id);
    let track_b = T::TRACING && b.as_ref().is_some_and(|b| tape.tracks(b.id));
    if track_x || track_w || track_b {
        let (xd, wdata, x_id, w_id) = (x.data, w.data, x.id, w.id);
        let b_id = b.as_ref().map(|b| b.id);
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
                    let gb = g.entry(b_id, o);
                    for row in gy.chunks_exact(o) {
                        for (acc, &v) in gb.iter_mut().zip(row) {
                            *acc += v;
                        }
                    }
                }
            }),
        );
    }
    Tensor {
        shape: out_shape,
        data: Arc::new(y),
        id: out_id,
        tape,
    }
}
