//! [`Conv3d`] on the GPU, on `(B, C, D, H, W)` and `(C, D, H, W)` tensors: vol2col + the tiled
//! matmul, as Conv2d is im2col + matmul; the input gradient gathers the column gradients back
//! (col2vol).

use super::tensor::{GpuTensor, add_grad, gpu_tensor, split, take_grad, wants, with_tape};
use crate::autograd::{Gradients, NoTape, Tape, UniqueId};
use crate::device::kernels::{self, BinaryOp, MatView};
use crate::device::vol_kernels::{self, Vol};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::nn::{Conv3d, Module};
use crate::shape::{Const, ConvOut, Dim, DimEq, Rank1, Rank5, Shape};

/// [`Conv3d`] on the GPU (cubic kernel `K`, stride `S`, padding `P`, dilation `D`), made by
/// `conv.to_device(&gpu)`, of the CPU layer's element type `E` (f32 or f64). It takes
/// `(B, C, D, H, W)` and unbatched `(C, D, H, W)` GPU tensors.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::nn::{Conv3d, Module};
/// use shaped::rand::{SeedableRng, rngs::StdRng};
/// let gpu = Wgpu::new()?;
/// let conv = Conv3d::<2, 4, 3, 1, 1>::new(&mut StdRng::seed_from_u64(0)).to_device(&gpu)?;
/// let x = Tensor::<Rank5<1, 2, 4, 6, 6>>::ones().to_device(&gpu)?;
/// let y = conv.forward(x);
/// assert_eq!(y.to_cpu()?.dims().as_slice(), &[1, 4, 4, 6, 6]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct GpuConv3d<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize = 1,
    const P: usize = 0,
    const D: usize = 1,
    E: Float = f32,
> {
    /// `(out_channels, in_channels, K, K, K)`.
    pub weight: GpuTensor<Rank5<OUT, IN, K, K, K>, NoTape, E>,
    /// `(out_channels,)`, or `None`.
    pub bias: Option<GpuTensor<Rank1<OUT>, NoTape, E>>,
}

weight_bias_on_gpu!(
    [
        const IN: usize, const OUT: usize, const K: usize,
        const S: usize, const P: usize, const D: usize
    ]
    Conv3d<IN, OUT, K, S, P, D> => GpuConv3d
);

impl<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const D: usize,
    E: Float,
> GpuConv3d<IN, OUT, K, S, P, D, E>
{
    /// The convolution of `n` images of `IN` channels (`g`), shaped `out_shape`, with its
    /// backward step.
    fn conv<SI: Shape, SO: Shape, T: Tape<E>>(
        &self,
        x: GpuTensor<SI, T, E>,
        out_shape: SO,
        g: Vol,
    ) -> Result<GpuTensor<SO, T, E>> {
        let ovol = g.out_volume();
        let (rows, ckkk) = (g.n * ovol, IN * K * K * K);
        let (x, tx) = split(x);
        let mut tape = tx.merge(T::leaf(self.weight.id));
        if let Some(bias) = &self.bias {
            tape = tape.merge(T::leaf(bias.id));
        }
        let cols = vol_kernels::vol2col(&x.data, &g);
        let wd = self.weight.data.clone();
        // (rows, OUT) = cols (rows, ckkk) x W^T, W (OUT, ckkk) read transposed.
        let y_rows = kernels::matmul(
            MatView {
                data: &cols,
                batch_stride: 0,
                row_stride: ckkk,
                col_stride: 1,
            },
            MatView {
                data: &wd,
                batch_stride: 0,
                row_stride: 1,
                col_stride: ckkk,
            },
            1,
            rows,
            ckkk,
            OUT,
        )?;
        // (n, ovol, OUT) -> (n, OUT, ovol)
        let mut y = kernels::strided_copy(&y_rows, &[ovol * OUT, 1, OUT], &[g.n, OUT, ovol])?;
        if let Some(bias) = &self.bias {
            y = kernels::binary(
                BinaryOp::Add,
                &y,
                &[g.n, OUT, ovol],
                &bias.data,
                &[OUT, 1],
                &[g.n, OUT, ovol],
            )?;
        }
        let out = gpu_tensor(out_shape, y, NoTape);
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
                        kernels::strided_copy(&gy, &[OUT * ovol, 1, ovol], &[g.n, ovol, OUT])
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
                                row_stride: ckkk,
                                col_stride: 1,
                            },
                            1,
                            OUT,
                            rows,
                            ckkk,
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
                                row_stride: ckkk,
                                col_stride: 1,
                            },
                            1,
                            rows,
                            OUT,
                            ckkk,
                        )
                        .expect("sizes checked in forward");
                        add_grad(grads, x_id, vol_kernels::col2vol(&dcols, &g));
                    }
                    if let (true, Some(b_id)) = (track_b, b_id) {
                        let gb =
                            kernels::sum_to(&gy, &[g.n, OUT, ovol], &[OUT, 1]).expect("rank 3");
                        add_grad(grads, b_id, gb);
                    }
                }),
            );
        }
        Ok(with_tape(out, tape))
    }
}

/// The channel check (an `Err` naming `Conv3d`), the output sizes and the vol2col geometry.
#[allow(clippy::type_complexity)]
fn conv3d_window<
    C: Dim,
    ID: Dim,
    H: Dim,
    W: Dim,
    const K: usize,
    const S: usize,
    const P: usize,
    const D: usize,
>(
    n: usize,
    in_channels: usize,
    (c, d, h, w): (C, ID, H, W),
) -> Result<(
    ConvOut<ID, K, S, P, D>,
    ConvOut<H, K, S, P, D>,
    ConvOut<W, K, S, P, D>,
    Vol,
)> {
    if c.size() != in_channels {
        return Err(Error::shape(
            "Conv3d",
            format!(
                "input has {} channels, the layer takes {in_channels}",
                c.size()
            ),
        ));
    }
    let (od, oh, ow) = (
        ConvOut::<ID, K, S, P, D>::new(d)?,
        ConvOut::<H, K, S, P, D>::new(h)?,
        ConvOut::<W, K, S, P, D>::new(w)?,
    );
    let vol = Vol {
        n,
        c: in_channels,
        input: [d.size(), h.size(), w.size()],
        k: K,
        stride: S,
        pad: P,
        dilation: D,
        out: [od.size(), oh.size(), ow.size()],
    };
    // The kernels index the columns (and the input) with `u32`.
    let cols = [n, vol.out_volume(), in_channels, K * K * K]
        .iter()
        .try_fold(1usize, |acc, &m| acc.checked_mul(m))
        .filter(|&len| len < u32::MAX as usize && vol.in_len() < u32::MAX as usize);
    if cols.is_none() {
        return Err(Error::shape(
            "Conv3d",
            format!(
                "{n} inputs of {in_channels}x{}x{}x{} need too many vol2col entries for the \
                 GPU kernels' u32 indices (fewer than 2^32 - 1)",
                vol.input[0], vol.input[1], vol.input[2]
            ),
        ));
    }
    Ok((od, oh, ow, vol))
}

impl<
    B: Dim,
    C: Dim + DimEq<Const<IN>>,
    ID: Dim,
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
> Module<GpuTensor<(B, C, ID, H, W), T, E>> for GpuConv3d<IN, OUT, K, S, P, D, E>
{
    type Output = GpuTensor<
        (
            B,
            Const<OUT>,
            ConvOut<ID, K, S, P, D>,
            ConvOut<H, K, S, P, D>,
            ConvOut<W, K, S, P, D>,
        ),
        T,
        E,
    >;
    fn try_forward(&self, x: GpuTensor<(B, C, ID, H, W), T, E>) -> Result<Self::Output> {
        let (b, c, d, h, w) = x.shape;
        let (od, oh, ow, g) = conv3d_window::<_, _, _, _, K, S, P, D>(b.size(), IN, (c, d, h, w))?;
        self.conv(x, (b, Const::<OUT>, od, oh, ow), g)
    }
}

impl<
    C: Dim + DimEq<Const<IN>>,
    ID: Dim,
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
> Module<GpuTensor<(C, ID, H, W), T, E>> for GpuConv3d<IN, OUT, K, S, P, D, E>
{
    type Output = GpuTensor<
        (
            Const<OUT>,
            ConvOut<ID, K, S, P, D>,
            ConvOut<H, K, S, P, D>,
            ConvOut<W, K, S, P, D>,
        ),
        T,
        E,
    >;
    fn try_forward(&self, x: GpuTensor<(C, ID, H, W), T, E>) -> Result<Self::Output> {
        let (od, oh, ow, g) = conv3d_window::<_, _, _, _, K, S, P, D>(1, IN, x.shape)?;
        self.conv(x, (Const::<OUT>, od, oh, ow), g)
    }
}
