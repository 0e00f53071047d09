//! [`MaxPool3d`] and [`AvgPool3d`] on the GPU, on `(B, C, D, H, W)` and `(C, D, H, W)` tensors:
//! one kernel over each cubic window (PyTorch's floor mode), the backward pass a gather over
//! the windows that hold each input. Max pooling keeps each window's first maximum in
//! (depth, row, column) order, or its last NaN, exactly as the CPU path; average pooling
//! counts the padding (`count_include_pad=True`), as the CPU layer.

use super::tensor::{GpuTensor, add_grad, gpu_tensor, split, take_grad, wants, with_tape};
use crate::autograd::{Gradients, NoTape, Tape};
use crate::device::vol_kernels::{self, Vol};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::nn::{AvgPool3d, MaxPool3d, Module};
use crate::shape::{Dim, PoolOut, Shape, ShapeMismatch};

#[derive(Clone, Copy)]
enum Pool {
    Max,
    Avg,
}

/// Pools the `planes` volumes of `x` (`g`) into `out_shape` and records the backward step.
fn pool3d_op<SI: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: GpuTensor<SI, T, E>,
    out_shape: SO,
    g: Vol,
    kind: Pool,
) -> GpuTensor<SO, T, E> {
    let (x, mut tape) = split(x);
    let (y, idx) = match kind {
        Pool::Max => {
            let (y, idx) = vol_kernels::max_pool3d(&x.data, &g);
            (y, Some(idx))
        }
        Pool::Avg => (vol_kernels::avg_pool3d(&x.data, &g), None),
    };
    let out = gpu_tensor(out_shape, y, NoTape);
    if wants(&tape, x.id) {
        let (x_id, out_id) = (x.id, out.id);
        tape.record(
            out_id,
            Box::new(move |grads: &mut Gradients<E>| {
                let Some(gy) = take_grad(grads, out_id) else {
                    return;
                };
                let gx = match &idx {
                    Some(idx) => vol_kernels::max_pool3d_backward(idx, &gy, &g),
                    None => vol_kernels::avg_pool3d_backward(&gy, &g),
                };
                add_grad(grads, x_id, gx);
            }),
        );
    }
    with_tape(out, tape)
}

/// The geometry of `planes` volumes `d x h x w` pooled to `out`, after checking that the
/// max pooling's `u32` indices (flat over all planes) can address the input.
fn geom(
    op: &'static str,
    planes: usize,
    input: [usize; 3],
    (k, s, p): (usize, usize, usize),
    out: [usize; 3],
) -> Result<Vol> {
    let len = input
        .iter()
        .try_fold(planes, |acc, &n| acc.checked_mul(n))
        .filter(|&n| n < u32::MAX as usize);
    if len.is_none() {
        let [d, h, w] = input;
        return Err(Error::shape(
            op,
            format!(
                "{planes} planes of {d}x{h}x{w} have too many elements for the GPU pooling \
                 indices (fewer than 2^32 - 1)"
            ),
        ));
    }
    Ok(Vol {
        n: planes,
        c: 1,
        input,
        k,
        stride: s,
        pad: p,
        dilation: 1,
        out,
    })
}

macro_rules! gpu_pool3d {
    ($name:ident, $kind:expr, $op:literal, $([$B:ident $b:ident])?) => {
        impl<$($B: Dim,)? C: Dim, D: Dim, H: Dim, W: Dim, E: Float, T: Tape<E>, const K: usize, const S: usize, const P: usize>
            Module<GpuTensor<($($B,)? C, D, H, W), T, E>> for $name<K, S, P>
        {
            type Output = GpuTensor<($($B,)? C, PoolOut<D, K, S, P>, PoolOut<H, K, S, P>, PoolOut<W, K, S, P>), T, E>;
            const SHAPE_MISMATCH: ShapeMismatch = {
                let _ = <PoolOut<D, K, S, P> as Dim>::STATIC_SIZE;
                let _ = <PoolOut<H, K, S, P> as Dim>::STATIC_SIZE;
                let _ = <PoolOut<W, K, S, P> as Dim>::STATIC_SIZE;
                ShapeMismatch::NONE
            };
            fn try_forward(&self, x: GpuTensor<($($B,)? C, D, H, W), T, E>) -> Result<Self::Output> {
                let ($($b,)? c, d, h, w) = x.shape;
                let (od, oh, ow) = (
                    PoolOut::<D, K, S, P>::new(d)?,
                    PoolOut::<H, K, S, P>::new(h)?,
                    PoolOut::<W, K, S, P>::new(w)?,
                );
                let planes = 1 $(* $b.size())? * c.size();
                let g = geom(
                    $op,
                    planes,
                    [d.size(), h.size(), w.size()],
                    (K, S, P),
                    [od.size(), oh.size(), ow.size()],
                )?;
                Ok(pool3d_op(x, ($($b,)? c, od, oh, ow), g, $kind))
            }
        }
    };
}

gpu_pool3d!(MaxPool3d, Pool::Max, "max_pool3d", [B b]);
gpu_pool3d!(MaxPool3d, Pool::Max, "max_pool3d",);
gpu_pool3d!(AvgPool3d, Pool::Avg, "avg_pool3d", [B b]);
gpu_pool3d!(AvgPool3d, Pool::Avg, "avg_pool3d",);

no_params_on_gpu!([const K: usize, const S: usize, const P: usize,] MaxPool3d<K, S, P>);
no_params_on_gpu!([const K: usize, const S: usize, const P: usize,] AvgPool3d<K, S, P>);
