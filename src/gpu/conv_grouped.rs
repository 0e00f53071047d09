//! Grouped and depthwise convolution on the GPU ([`GpuGroupedConv2d`]): im2col of the whole
//! input, then one batched product with the groups as the batch (group `g` reads its own
//! column block of the im2col matrix and its own rows of the weight), so every group runs in
//! one dispatch; the backward pass uses the same batched views.

use super::conv::conv_window;
use super::tensor::{GpuTensor, add_grad, gpu_tensor, split, take_grad, wants, with_tape};
use crate::autograd::{Gradients, NoTape, Tape, UniqueId};
use crate::device::kernels::{self, BinaryOp, MatView};
use crate::dtype::Float;
use crate::error::Result;
use crate::nn::{GroupedConv2d, GroupedConvWeight, Module};
use crate::shape::{Const, ConvOut, Dim, DimEq, Rank1};

/// [`GroupedConv2d`] (and so [`DepthwiseConv2d`](crate::nn::DepthwiseConv2d)) on the GPU, made
/// by `conv.to_device(&gpu)`: `G` groups, square kernel `K`, stride `S`, padding `P`,
/// dilation `D`, element type `E` (the CPU layer's, f32 or f64); the weight
/// `(OUT, IN / G, K, K)` as on the CPU. As a [`Module`] it maps
/// `(B, IN, H, W)` to `(B, OUT, OH, OW)`.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::nn::{DepthwiseConv2d, Module};
/// use shaped::rand::SeedableRng;
/// let gpu = Wgpu::new()?;
/// let dw = DepthwiseConv2d::<3, 6, 3, 1, 1>::new(&mut shaped::rand::rngs::StdRng::seed_from_u64(0));
/// let dw = dw.to_device(&gpu)?;
/// let y = dw.forward(Tensor::<Rank4<2, 3, 5, 5>>::ones().to_device(&gpu)?);
/// assert_eq!(y.to_cpu()?.dims().as_slice(), &[2, 6, 5, 5]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct GpuGroupedConv2d<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const G: usize,
    const S: usize = 1,
    const P: usize = 0,
    const D: usize = 1,
    E: Float = f32,
> {
    /// `(out_channels, in_channels / groups, K, K)`.
    pub weight: GpuTensor<GroupedConvWeight<IN, OUT, K, G>, NoTape, E>,
    /// `(out_channels,)`, or `None`.
    pub bias: Option<GpuTensor<Rank1<OUT>, NoTape, E>>,
}

weight_bias_on_gpu!(
    [
        const IN: usize, const OUT: usize, const K: usize, const G: usize,
        const S: usize, const P: usize, const D: usize
    ]
    GroupedConv2d<IN, OUT, K, G, S, P, D> => GpuGroupedConv2d
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
    const G: usize,
    const S: usize,
    const P: usize,
    const D: usize,
> Module<GpuTensor<(B, C, H, W), T, E>> for GpuGroupedConv2d<IN, OUT, K, G, S, P, D, E>
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
        let (b, oh, ow, g) = conv_window::<_, _, _, _, K, S, P, D>("GroupedConv2d", IN, x.shape)?;
        // Per group: og output channels, gkk = (IN / G) * K * K columns.
        let (og, gkk, ckk) = (OUT / G, IN / G * K * K, IN * K * K);
        let (ohw, rows) = (g.oh * g.ow, g.n * g.oh * g.ow);
        let (x, tx) = split(x);
        let mut tape = tx.merge(T::leaf(self.weight.id));
        if let Some(bias) = &self.bias {
            tape = tape.merge(T::leaf(bias.id));
        }
        let cols = kernels::im2col(&x.data, &g);
        let wd = self.weight.data.clone();
        // (G, rows, og): group g's column block times its weight rows, transposed.
        let y_groups = kernels::matmul(
            MatView {
                data: &cols,
                batch_stride: gkk,
                row_stride: ckk,
                col_stride: 1,
            },
            MatView {
                data: &wd,
                batch_stride: og * gkk,
                row_stride: 1,
                col_stride: gkk,
            },
            G,
            rows,
            gkk,
            og,
        )?;
        // (G, n, ohw, og) -> (n, G, og, ohw) = (n, OUT, ohw)
        let mut y =
            kernels::strided_copy(&y_groups, &[ohw * og, rows * og, 1, og], &[g.n, G, og, ohw])?;
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
                    // (n, G, og, ohw) -> (G, n, ohw, og) = (G, rows, og)
                    let gy_groups = kernels::strided_copy(
                        &gy,
                        &[og * ohw, OUT * ohw, 1, ohw],
                        &[G, g.n, ohw, og],
                    )
                    .expect("rank 4");
                    if track_w {
                        // (G, og, gkk) = gy_g^T cols_g: the weight's own layout.
                        let gw = kernels::matmul(
                            MatView {
                                data: &gy_groups,
                                batch_stride: rows * og,
                                row_stride: 1,
                                col_stride: og,
                            },
                            MatView {
                                data: &cols,
                                batch_stride: gkk,
                                row_stride: ckk,
                                col_stride: 1,
                            },
                            G,
                            og,
                            rows,
                            gkk,
                        )
                        .expect("sizes checked in forward");
                        add_grad(grads, w_id, gw);
                    }
                    if track_x {
                        // (G, rows, gkk) = gy_g W_g, then back to (rows, G * gkk).
                        let dcols_groups = kernels::matmul(
                            MatView {
                                data: &gy_groups,
                                batch_stride: rows * og,
                                row_stride: og,
                                col_stride: 1,
                            },
                            MatView {
                                data: &wd,
                                batch_stride: og * gkk,
                                row_stride: gkk,
                                col_stride: 1,
                            },
                            G,
                            rows,
                            og,
                            gkk,
                        )
                        .expect("sizes checked in forward");
                        let dcols = kernels::strided_copy(
                            &dcols_groups,
                            &[gkk, rows * gkk, 1],
                            &[rows, G, gkk],
                        )
                        .expect("rank 3");
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
