//! `bilinear(x1, x2, weight, bias) = x1^T A x2 + b` (PyTorch's `F.bilinear`) as one
//! primitive: one matrix product forward (kernels in `backend::bilinear`), and the gradients
//! of both inputs, the weight and the bias.

use crate::autograd::{Gradients, Merge, Tape, UniqueId};
use crate::backend::bilinear::{
    BilinearDims, add_grad_weight, add_grad_x1, add_grad_x2, bilinear_forward, outer_rows,
    weight_rows,
};
use crate::backend::reduce::add_column_sums;
use crate::dtype::Float;
use crate::error::{Error, OrPanic, Result};
use crate::shape::{Dim, LastDim, Shape};
use crate::tensor::Tensor;
use std::sync::Arc;

/// The tape of [`bilinear`]'s output: the inputs' tapes merged with the parameters'.
///
/// ```
/// use shaped::autograd::{NoTape, OwnedTape};
/// use shaped::ops::bilinear::BilinearTape;
/// // A traced input makes the output traced.
/// let _: Option<BilinearTape<f32, OwnedTape<f32>, NoTape, NoTape>> = None::<OwnedTape<f32>>;
/// ```
pub type BilinearTape<E, T1, T2, TW> = <<T1 as Merge<E, T2>>::Output as Merge<E, TW>>::Output;

/// `y[.., o] = sum_ij x1[.., i] weight[o, i, j] x2[.., j] + bias[o]` (PyTorch's
/// `F.bilinear(x1, x2, weight, bias)`): `x1` is `(.., I1)`, `x2` `(.., I2)` with the same
/// leading dimensions, `weight` `(O, I1, I2)`, `bias` `(O,)`; the output is `(.., O)`.
/// Panics when the sizes do not fit ([`try_bilinear`] returns an `Err` instead).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::ops::bilinear::bilinear;
/// let x1 = Tensor::<Rank2<1, 2>>::from_array([[1.0, 2.0]]);
/// let x2 = Tensor::<Rank2<1, 3>>::from_array([[1.0, 0.0, -1.0]]);
/// let w = Tensor::<Rank3<1, 2, 3>>::ones();
/// let b = Tensor::<Rank1<1>>::from_array([0.5]);
/// // (1 + 2) * (1 + 0 - 1) + 0.5
/// assert_eq!(bilinear(x1, x2, w, Some(b)).to_vec(), vec![0.5]);
/// ```
#[track_caller]
#[allow(clippy::type_complexity)]
pub fn bilinear<S1, S2, I1, I2, O, E, T1, T2, TW>(
    x1: Tensor<S1, E, T1>,
    x2: Tensor<S2, E, T2>,
    weight: Tensor<(O, I1, I2), E, TW>,
    bias: Option<Tensor<(O,), E, TW>>,
) -> Tensor<S1::WithLast<O>, E, BilinearTape<E, T1, T2, TW>>
where
    S1: LastDim,
    S2: LastDim,
    I1: Dim,
    I2: Dim,
    O: Dim,
    E: Float,
    T1: Tape<E> + Merge<E, T2>,
    T2: Tape<E>,
    TW: Tape<E>,
    <T1 as Merge<E, T2>>::Output: Merge<E, TW>,
{
    try_bilinear(x1, x2, weight, bias).or_panic()
}

/// [`bilinear`], with an error naming the shapes when the feature sizes do not match the
/// weight's, the leading dimensions of `x1` and `x2` differ, or the bias does not have `O`
/// elements.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::ops::bilinear::try_bilinear;
/// let x1 = Tensor::<(usize, usize)>::zeros_with_shape((4, 2));
/// let x2 = Tensor::<(usize, usize)>::zeros_with_shape((3, 3));
/// let w = Tensor::<(usize, usize, usize)>::zeros_with_shape((5, 2, 3));
/// assert!(try_bilinear(x1, x2, w, None).is_err()); // 4 rows against 3
/// ```
#[allow(clippy::type_complexity)]
pub fn try_bilinear<S1, S2, I1, I2, O, E, T1, T2, TW>(
    x1: Tensor<S1, E, T1>,
    x2: Tensor<S2, E, T2>,
    weight: Tensor<(O, I1, I2), E, TW>,
    bias: Option<Tensor<(O,), E, TW>>,
) -> Result<Tensor<S1::WithLast<O>, E, BilinearTape<E, T1, T2, TW>>>
where
    S1: LastDim,
    S2: LastDim,
    I1: Dim,
    I2: Dim,
    O: Dim,
    E: Float,
    T1: Tape<E> + Merge<E, T2>,
    T2: Tape<E>,
    TW: Tape<E>,
    <T1 as Merge<E, T2>>::Output: Merge<E, TW>,
{
    let (d1, d2) = (x1.shape.dims(), x2.shape.dims());
    let (o, i1, i2) = weight.shape;
    let (o, i1, i2) = (o.size(), i1.size(), i2.size());
    let shapes = || {
        format!(
            "x1 {:?}, x2 {:?}, weight {:?}",
            d1.as_slice(),
            d2.as_slice(),
            [o, i1, i2]
        )
    };
    if x1.shape.last().size() != i1 || x2.shape.last().size() != i2 {
        return Err(Error::shape(
            "bilinear",
            format!(
                "the inputs' last dimensions must be the weight's (O, I1, I2) in1 and in2: {}",
                shapes()
            ),
        ));
    }
    let (r1, r2) = (d1.rank(), d2.rank());
    if d1.as_slice()[..r1.saturating_sub(1)] != d2.as_slice()[..r2.saturating_sub(1)] {
        return Err(Error::shape(
            "bilinear",
            format!(
                "x1 and x2 must have the same dimensions but the last: {}",
                shapes()
            ),
        ));
    }
    if let Some(b) = &bias
        && b.shape.0.size() != o
    {
        return Err(Error::shape(
            "bilinear",
            format!(
                "the bias has {} elements, the weight {o} outputs",
                b.shape.0.size()
            ),
        ));
    }
    let n = d1.as_slice()[..r1.saturating_sub(1)].iter().product();
    let out = x1.shape.with_last(weight.shape.0);
    out.try_numel("bilinear")?;
    let (x1, t1) = x1.split_tape();
    let (x2, t2) = x2.split_tape();
    let (w, mut tw) = weight.split_tape();
    let b = bias.map(|b| {
        let (b, tb) = b.split_tape();
        tw = core::mem::replace(&mut tw, TW::leaf(b.id)).merge(tb);
        (b.data, b.id)
    });
    let tape = t1.merge(t2).merge(tw);
    let d = BilinearDims { n, i1, i2, o };
    let (data, id, tape) = bilinear_untyped(
        (x1.data, x1.id),
        (x2.data, x2.id),
        (w.data, w.id),
        b,
        tape,
        d,
    );
    Ok(Tensor {
        shape: out,
        data,
        id,
        tape,
    })
}

/// A buffer and its id: a tensor without its shape type.
type Raw<E> = (Arc<Vec<E>>, UniqueId);

/// [`try_bilinear`] on buffers, generic over the element and tape types only.
fn bilinear_untyped<E: Float, T: Tape<E>>(
    (x1, x1_id): Raw<E>,
    (x2, x2_id): Raw<E>,
    (w, w_id): Raw<E>,
    b: Option<Raw<E>>,
    mut tape: T,
    d: BilinearDims,
) -> (Arc<Vec<E>>, UniqueId, T) {
    let wp = weight_rows(&w, d);
    let (y, u) = bilinear_forward(&x1, &x2, &wp, b.as_ref().map(|(b, _)| &b[..]), d);
    let out_id = UniqueId::new();
    let tracks = |id| T::TRACING && tape.tracks(id);
    let (t1, t2, tw) = (tracks(x1_id), tracks(x2_id), tracks(w_id));
    let b_id = b.as_ref().map(|(_, id)| *id).filter(|&id| tracks(id));
    if t1 || t2 || tw || b_id.is_some() {
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = g.take(out_id) else { return };
                if let Some(b_id) = b_id
                    && d.o > 0
                {
                    add_column_sums(g.entry(b_id, d.o), &gy);
                }
                if t2 {
                    add_grad_x2(g.entry(x2_id, d.n * d.i2), &gy, &u, d);
                }
                if t1 || tw {
                    let v = outer_rows(&gy, &x2, d);
                    if t1 {
                        add_grad_x1(g.entry(x1_id, d.n * d.i1), &v, &wp, d);
                    }
                    if tw {
                        add_grad_weight(g.entry(w_id, d.o * d.i1 * d.i2), &x1, &v, d);
                    }
                }
            }),
        );
    }
    (Arc::new(y), out_id, tape)
}
