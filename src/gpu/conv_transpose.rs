//! Transposed convolution on the GPU ([`GpuConvTranspose2d`]): the adjoint of im2col
//! convolution. The forward pass is one product `x_rows (N*H*W, IN) x W (IN, OUT*K*K)` and the
//! column-to-image gather of [`GpuConv2d`](super::GpuConv2d)'s input gradient; the backward
//! pass is im2col of the output gradient and two products.

use super::tensor::{GpuTensor, add_grad, gpu_tensor, split, take_grad, wants, with_tape};
use crate::autograd::{Gradients, NoTape, Tape, UniqueId};
use crate::device::kernels::{self, BinaryOp, MatView, Window};
use crate::device::seq_kernels::{rows, transposed};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::nn::{ConvTranspose2d, Module};
use crate::shape::{Const, ConvTransposeOut, Dim, DimEq, Rank1, Rank4};

/// [`ConvTranspose2d`] on the GPU (square kernel `K`, stride `S`, padding `P`, output padding
/// `OP`, dilation `D`, element type `E`: the CPU layer's), made by `layer.to_device(&gpu)`; the weight `(IN, OUT, K, K)` as in
/// PyTorch. As a [`Module`] it maps `(B, IN, H, W)` to `(B, OUT, OH, OW)` with
/// `OH = (H-1)S - 2P + D(K-1) + OP + 1`.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::nn::{ConvTranspose2d, Module};
/// use shaped::rand::SeedableRng;
/// let gpu = Wgpu::new()?;
/// let up = ConvTranspose2d::<8, 4, 3, 2, 1, 1>::new(&mut shaped::rand::rngs::StdRng::seed_from_u64(0));
/// let up = up.to_device(&gpu)?;
/// let y = up.forward(Tensor::<Rank4<2, 8, 7, 7>>::ones().to_device(&gpu)?);
/// assert_eq!(y.to_cpu()?.dims().as_slice(), &[2, 4, 14, 14]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct GpuConvTranspose2d<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize = 1,
    const P: usize = 0,
    const OP: usize = 0,
    const D: usize = 1,
    E: Float = f32,
> {
    /// `(in_channels, out_channels, K, K)`.
    pub weight: GpuTensor<Rank4<IN, OUT, K, K>, NoTape, E>,
    /// `(out_channels,)`, or `None`.
    pub bias: Option<GpuTensor<Rank1<OUT>, NoTape, E>>,
}

weight_bias_on_gpu!(
    [
        const IN: usize, const OUT: usize, const K: usize, const S: usize,
        const P: usize, const OP: usize, const D: usize
    ]
    ConvTranspose2d<IN, OUT, K, S, P, OP, D> => GpuConvTranspose2d
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
    const OP: usize,
    const D: usize,
> Module<GpuTensor<(B, C, H, W), T, E>> for GpuConvTranspose2d<IN, OUT, K, S, P, OP, D, E>
{
    type Output = GpuTensor<
        (
            B,
            Const<OUT>,
            ConvTransposeOut<H, K, S, P, OP, D>,
            ConvTransposeOut<W, K, S, P, OP, D>,
        ),
        T,
        E,
    >;
    fn try_forward(&self, x: GpuTensor<(B, C, H, W), T, E>) -> Result<Self::Output> {
        let (b, c, h, w) = x.shape;
        if c.size() != IN {
            return Err(Error::shape(
                "ConvTranspose2d",
                format!("input has {} channels, the layer takes {IN}", c.size()),
            ));
        }
        let (oh, ow) = (
            ConvTransposeOut::<H, K, S, P, OP, D>::new(h)?,
            ConvTransposeOut::<W, K, S, P, OP, D>::new(w)?,
        );
        // The convolution this one is the adjoint of: from the output (oh, ow) back to (h, w).
        let g = Window {
            n: b.size(),
            c: OUT,
            h: oh.size(),
            w: ow.size(),
            k: K,
            stride: S,
            pad: P,
            dilation: D,
            oh: h.size(),
            ow: w.size(),
        };
        let (hw, okk) = (g.oh * g.ow, OUT * K * K);
        let n_rows = g.n * hw;
        let (x, tx) = split(x);
        let mut tape = tx.merge(T::leaf(self.weight.id));
        if let Some(bias) = &self.bias {
            tape = tape.merge(T::leaf(bias.id));
        }
        // (n, IN, hw) -> (n, hw, IN)
        let x_rows = kernels::strided_copy(&x.data, &[IN * hw, 1, hw], &[g.n, hw, IN])?;
        let wd = self.weight.data.clone();
        let cols = kernels::matmul(rows(&x_rows, IN), rows(&wd, okk), 1, n_rows, IN, okk)?;
        let mut y = kernels::col2im(&cols, &g);
        let ohw = g.h * g.w;
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
                    let dcols = kernels::im2col(&gy, &g);
                    if track_w {
                        // (IN, okk) = x_rows^T dcols
                        let gw = kernels::matmul(
                            transposed(&x_rows, IN),
                            rows(&dcols, okk),
                            1,
                            IN,
                            n_rows,
                            okk,
                        )
                        .expect("sizes checked in forward");
                        add_grad(grads, w_id, gw);
                    }
                    if track_x {
                        // (n_rows, IN) = dcols W^T, then (n, hw, IN) -> (n, IN, hw).
                        let dx_rows = kernels::matmul(
                            rows(&dcols, okk),
                            MatView {
                                data: &wd,
                                batch_stride: 0,
                                row_stride: 1,
                                col_stride: okk,
                            },
                            1,
                            n_rows,
                            okk,
                            IN,
                        )
                        .expect("sizes checked in forward");
                        let dx = kernels::strided_copy(&dx_rows, &[hw * IN, 1, IN], &[g.n, IN, hw])
                            .expect("rank 3");
                        add_grad(grads, x_id, dx);
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
