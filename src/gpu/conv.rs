//! Convolution, max pooling and `Flatten` on the GPU: enough for the digits CNN.
//! Conv2d is im2col + the tiled matmul; its input gradient gathers the column gradients back
//! (col2im), and max pooling's gradient gathers through the stored argmax indices.

use super::tensor::{GpuTensor, add_grad, gpu_tensor, split, take_grad, wants, with_tape};
use crate::autograd::{Gradients, NoTape, Tape, UniqueId};
use crate::device::kernels::{self, BinaryOp, MatView, Window};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::nn::{Conv2d, Flatten, MaxPool2d, Module};
use crate::shape::{Const, ConvOut, Dim, DimEq, PoolOut, Rank1, Rank4, Shape};

/// [`Conv2d`] on the GPU (square kernel `K`, stride `S`, padding `P`, dilation `D`), made by
/// `conv.to_device(&gpu)`, of the CPU layer's element type `E` (f32 or f64).
#[derive(Clone, Debug)]
pub struct GpuConv2d<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize = 1,
    const P: usize = 0,
    const D: usize = 1,
    E: Float = f32,
> {
    /// `(out_channels, in_channels, K, K)`.
    pub weight: GpuTensor<Rank4<OUT, IN, K, K>, NoTape, E>,
    /// `(out_channels,)`, or `None`.
    pub bias: Option<GpuTensor<Rank1<OUT>, NoTape, E>>,
}

weight_bias_on_gpu!(
    [
        const IN: usize, const OUT: usize, const K: usize,
        const S: usize, const P: usize, const D: usize
    ]
    Conv2d<IN, OUT, K, S, P, D> => GpuConv2d
);

impl<
    B: Dim,
    C: Dim + DimEq<Const<IN>>,
    H: Dim,
    W: Dim,
    E: Float,
    T: Tape<E>,
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const D: usize,
> Module<GpuTensor<(B, C, H, W), T, E>> for GpuConv2d<IN, OUT, K, S, P, D, E>
{
    type Output = GpuTensor<
        (
            B,
            Const<OUT>,
            ConvOut<H, K, S, P, D>,
            ConvOut<W, K, S, P, D>,
        ),
        T,
        E,
    >;
    fn try_forward(&self, x: GpuTensor<(B, C, H, W), T, E>) -> Result<Self::Output> {
        let (b, oh, ow, g) = conv_window::<_, _, _, _, K, S, P, D>("Conv2d", IN, x.shape)?;
        let (rows, ckk, ohw) = (g.n * g.oh * g.ow, IN * K * K, g.oh * g.ow);
        let (x, tx) = split(x);
        let mut tape = tx.merge(T::leaf(self.weight.id));
        if let Some(bias) = &self.bias {
            tape = tape.merge(T::leaf(bias.id));
        }
        let cols = kernels::im2col(&x.data, &g);
        let wd = self.weight.data.clone();
        // (rows, OUT) = cols (rows, ckk) x W^T, W (OUT, ckk) read transposed.
        let y_rows = kernels::matmul(
            MatView {
                data: &cols,
                batch_stride: 0,
                row_stride: ckk,
                col_stride: 1,
            },
            MatView {
                data: &wd,
                batch_stride: 0,
                row_stride: 1,
                col_stride: ckk,
            },
            1,
            rows,
            ckk,
            OUT,
        )?;
        // (n, ohw, OUT) -> (n, OUT, ohw)
        let mut y = kernels::strided_copy(&y_rows, &[ohw * OUT, 1, OUT], &[g.n, OUT, ohw])?;
        if let Some(bias) = &self.bias {
            y = kernels::binary(
                BinaryOp::Add,
                &y,
                &[g.n, OUT, ohw],
                &bias.data,
                &[OUT, 1],
                &[g.n, OUT, ohw],
            )?;
        }
        let out = gpu_tensor((b, Const::<OUT>, oh, ow), y, NoTape);
        let w_id = self.weight.id;
        let b_id: Option<UniqueId> = self.bias.as_ref().map(|b| b.id);
        let (track_x, track_w) = (wants(&tape, x.id), wants(&tape, w_id));
        let track_b = b_id.is_some_and(|id| wants(&tape, id));
        if track_x || track_w || track_b {
            let (x_id, out_id) = (x.id, out.id);
            tape.record(
                out_id,
                Box::new(move |grads: &mut Gradients<E>| {
                    let Some(gy) = take_grad(grads, out_id) else {
                        return;
                    };
                    let gy_rows =
                        kernels::strided_copy(&gy, &[OUT * ohw, 1, ohw], &[g.n, ohw, OUT])
                            .expect("rank 3");
                    if track_w {
                        let gw = kernels::matmul(
                            MatView {
                                data: &gy_rows,
                                batch_stride: 0,
                                row_stride: 1,
                                col_stride: OUT,
                            },
                            MatView {
                                data: &cols,
                                batch_stride: 0,
                                row_stride: ckk,
                                col_stride: 1,
                            },
                            1,
                            OUT,
                            rows,
                            ckk,
                        )
                        .expect("sizes checked in forward");
                        add_grad(grads, w_id, gw);
                    }
                    if track_x {
                        let dcols = kernels::matmul(
                            MatView {
                                data: &gy_rows,
                                batch_stride: 0,
                                row_stride: OUT,
                                col_stride: 1,
                            },
                            MatView {
                                data: &wd,
                                batch_stride: 0,
                                row_stride: ckk,
                                col_stride: 1,
                            },
                            1,
                            rows,
                            OUT,
                            ckk,
                        )
                        .expect("sizes checked in forward");
                        add_grad(grads, x_id, kernels::col2im(&dcols, &g));
                    }
                    if let (true, Some(b_id)) = (track_b, b_id) {
                        let gb = kernels::sum_to(&gy, &[g.n, OUT, ohw], &[OUT, 1]).expect("rank 3");
                        add_grad(grads, b_id, gb);
                    }
                }),
            );
        }
        Ok(with_tape(out, tape))
    }
}

impl<
    B: Dim,
    C: Dim,
    H: Dim,
    W: Dim,
    E: Float,
    T: Tape<E>,
    const K: usize,
    const S: usize,
    const P: usize,
> Module<GpuTensor<(B, C, H, W), T, E>> for MaxPool2d<K, S, P>
{
    type Output = GpuTensor<(B, C, PoolOut<H, K, S, P>, PoolOut<W, K, S, P>), T, E>;
    fn try_forward(&self, x: GpuTensor<(B, C, H, W), T, E>) -> Result<Self::Output> {
        let (b, c, h, w) = x.shape;
        let (oh, ow) = (
            PoolOut::<H, K, S, P>::new(h)?,
            PoolOut::<W, K, S, P>::new(w)?,
        );
        let g = Window {
            line: false,
            n: b.size(),
            c: c.size(),
            h: h.size(),
            w: w.size(),
            k: K,
            stride: S,
            pad: P,
            dilation: 1,
            oh: oh.size(),
            ow: ow.size(),
        };
        let (x, mut tape) = split(x);
        let (y, idx) = kernels::max_pool(&x.data, &g);
        let out = gpu_tensor((b, c, oh, ow), y, NoTape);
        if wants(&tape, x.id) {
            let (x_id, out_id) = (x.id, out.id);
            tape.record(
                out_id,
                Box::new(move |grads: &mut Gradients<E>| {
                    let Some(gy) = take_grad(grads, out_id) else {
                        return;
                    };
                    add_grad(
                        grads,
                        x_id,
                        kernels::max_pool_backward(&idx, &gy, &g, false),
                    );
                }),
            );
        }
        Ok(with_tape(out, tape))
    }
}

impl<S: Shape + crate::shape::Flatten, E: Float, T: Tape<E>> Module<GpuTensor<S, T, E>>
    for Flatten
{
    type Output = GpuTensor<<S as crate::shape::Flatten>::Output, T, E>;
    fn try_forward(&self, x: GpuTensor<S, T, E>) -> Result<Self::Output> {
        // Row-major data is already flat: a new shape over the same buffer.
        let out_shape = x.shape.flatten_shape();
        let (x, mut tape) = split(x);
        let out = gpu_tensor(out_shape, x.data, NoTape);
        if wants(&tape, x.id) {
            let (x_id, out_id) = (x.id, out.id);
            tape.record(
                out_id,
                Box::new(move |grads: &mut Gradients<E>| {
                    let Some(gy) = take_grad(grads, out_id) else {
                        return;
                    };
                    add_grad(grads, x_id, gy);
                }),
            );
        }
        Ok(with_tape(out, tape))
    }
}

no_params_on_gpu!([const K: usize, const S: usize, const P: usize,] MaxPool2d<K, S, P>);
no_params_on_gpu!([] Flatten);

/// A `K`x`K` convolution's input channel check (an `Err` naming `layer`), output sizes and
/// im2col window, shared by the plain and the grouped convolution.
#[allow(clippy::type_complexity)]
pub(super) fn conv_window<
    B: Dim,
    C: Dim,
    H: Dim,
    W: Dim,
    const K: usize,
    const S: usize,
    const P: usize,
    const D: usize,
>(
    layer: &'static str,
    in_channels: usize,
    (b, c, h, w): (B, C, H, W),
) -> Result<(B, ConvOut<H, K, S, P, D>, ConvOut<W, K, S, P, D>, Window)> {
    if c.size() != in_channels {
        return Err(Error::shape(
            layer,
            format!(
                "input has {} channels, the layer takes {in_channels}",
                c.size()
            ),
        ));
    }
    let (oh, ow) = (
        ConvOut::<H, K, S, P, D>::new(h)?,
        ConvOut::<W, K, S, P, D>::new(w)?,
    );
    let window = Window {
        line: false,
        n: b.size(),
        c: in_channels,
        h: h.size(),
        w: w.size(),
        k: K,
        stride: S,
        pad: P,
        dilation: D,
        oh: oh.size(),
        ow: ow.size(),
    };
    Ok((b, oh, ow, window))
}
