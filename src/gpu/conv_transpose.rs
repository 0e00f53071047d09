//! Transposed convolution on the GPU ([`GpuConvTranspose2d`], and [`GpuConvTranspose1d`] on
//! planes of one row with a `1 x K` kernel): the adjoint of im2col convolution. The forward pass is one product `x_rows (N*H*W, IN) x W (IN, OUT*K*K)` and the
//! column-to-image gather of [`GpuConv2d`](super::GpuConv2d)'s input gradient; the backward
//! pass is im2col of the output gradient and two products.

use super::tensor::{GpuTensor, add_grad, gpu_tensor, split, take_grad, wants, with_tape};
use crate::autograd::{Gradients, NoTape, Tape, UniqueId};
use crate::device::kernels::{self, BinaryOp, MatView, Window};
use crate::device::seq_kernels::{rows, transposed};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::nn::{ConvTranspose1d, ConvTranspose2d, Module};
use crate::shape::{Const, ConvTransposeOut, Dim, DimEq, Rank1, Rank3, Rank4, Shape};

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
            line: false,
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
        conv_transpose_op(
            x,
            (b, Const::<OUT>, oh, ow),
            (&self.weight, self.bias.as_ref()),
            g,
            IN,
        )
    }
}

/// [`ConvTranspose1d`] on the GPU (kernel `K`, stride `S`, padding `P`, output padding `OP`,
/// dilation `D`, element type `E`: the CPU layer's), made by `layer.to_device(&gpu)`; the
/// weight `(IN, OUT, K)` as in PyTorch. As a [`Module`] it maps `(B, IN, L)` or `(IN, L)` to
/// `(B, OUT, OL)` or `(OUT, OL)` with `OL = (L-1)S - 2P + D(K-1) + OP + 1`: the 2-D layer's
/// kernels on planes of one row.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::nn::{ConvTranspose1d, Module};
/// use shaped::rand::SeedableRng;
/// let gpu = Wgpu::new()?;
/// let up = ConvTranspose1d::<8, 4, 3, 2, 1, 1>::new(&mut shaped::rand::rngs::StdRng::seed_from_u64(0));
/// let up = up.to_device(&gpu)?;
/// let y = up.forward(Tensor::<Rank3<2, 8, 50>>::ones().to_device(&gpu)?);
/// assert_eq!(y.to_cpu()?.dims().as_slice(), &[2, 4, 100]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct GpuConvTranspose1d<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize = 1,
    const P: usize = 0,
    const OP: usize = 0,
    const D: usize = 1,
    E: Float = f32,
> {
    /// `(in_channels, out_channels, K)`.
    pub weight: GpuTensor<Rank3<IN, OUT, K>, NoTape, E>,
    /// `(out_channels,)`, or `None`.
    pub bias: Option<GpuTensor<Rank1<OUT>, NoTape, E>>,
}

weight_bias_on_gpu!(
    [
        const IN: usize, const OUT: usize, const K: usize, const S: usize,
        const P: usize, const OP: usize, const D: usize
    ]
    ConvTranspose1d<IN, OUT, K, S, P, OP, D> => GpuConvTranspose1d
);

macro_rules! gpu_conv_transpose1d {
    ($([$B:ident $b:ident])?) => {
        impl<
            $($B: Dim,)?
            C: Dim + DimEq<Const<IN>>,
            L: Dim,
            E: Float,
            T: Tape<E>,
            const IN: usize,
            const OUT: usize,
            const K: usize,
            const S: usize,
            const P: usize,
            const OP: usize,
            const D: usize,
        > Module<GpuTensor<($($B,)? C, L), T, E>> for GpuConvTranspose1d<IN, OUT, K, S, P, OP, D, E>
        {
            type Output = GpuTensor<($($B,)? Const<OUT>, ConvTransposeOut<L, K, S, P, OP, D>), T, E>;
            fn try_forward(&self, x: GpuTensor<($($B,)? C, L), T, E>) -> Result<Self::Output> {
                let ($($b,)? c, l) = x.shape;
                if c.size() != IN {
                    return Err(Error::shape(
                        "ConvTranspose1d",
                        format!("input has {} channels, the layer takes {IN}", c.size()),
                    ));
                }
                let ol = ConvTransposeOut::<L, K, S, P, OP, D>::new(l)?;
                let g = Window {
                    line: true,
                    n: 1 $(* $b.size())?,
                    c: OUT,
                    h: 1,
                    w: ol.size(),
                    k: K,
                    stride: S,
                    pad: P,
                    dilation: D,
                    oh: 1,
                    ow: l.size(),
                };
                conv_transpose_op(
                    x,
                    ($($b,)? Const::<OUT>, ol),
                    (&self.weight, self.bias.as_ref()),
                    g,
                    IN,
                )
            }
        }
    };
}
gpu_conv_transpose1d!([B b]);
gpu_conv_transpose1d!();

/// The transposed convolution of `x` (`in_c` channels) by `weight` `(in_c, g.c * taps)` and
/// `bias` `(g.c,)` into `out_shape`: `g` is the convolution it is the adjoint of, from the
/// output (`g.h x g.w`) back to the input (`g.oh x g.ow`). One product, then col2im; the
/// backward pass is im2col of the output gradient and two products.
fn conv_transpose_op<SI: Shape, SO: Shape, SW: Shape, SB: Shape, E: Float, T: Tape<E>>(
    x: GpuTensor<SI, T, E>,
    out_shape: SO,
    (weight, bias): (&GpuTensor<SW, NoTape, E>, Option<&GpuTensor<SB, NoTape, E>>),
    g: Window,
    in_c: usize,
) -> Result<GpuTensor<SO, T, E>> {
    let (hw, out_c, okk) = (g.oh * g.ow, g.c, g.c * g.taps());
    let n_rows = g.n * hw;
    let (x, tx) = split(x);
    let mut tape = tx.merge(T::leaf(weight.id));
    if let Some(bias) = bias {
        tape = tape.merge(T::leaf(bias.id));
    }
    // (n, in_c, hw) -> (n, hw, in_c)
    let x_rows = kernels::strided_copy(&x.data, &[in_c * hw, 1, hw], &[g.n, hw, in_c])?;
    let wd = weight.data.clone();
    let cols = kernels::matmul(rows(&x_rows, in_c), rows(&wd, okk), 1, n_rows, in_c, okk)?;
    let mut y = kernels::col2im(&cols, &g);
    let ohw = g.h * g.w;
    if let Some(bias) = bias {
        y = kernels::binary(
            BinaryOp::Add,
            &y,
            &[g.n, out_c, ohw],
            &bias.data,
            &[out_c, 1],
            &[g.n, out_c, ohw],
        )?;
    }
    let out = gpu_tensor(out_shape, y, NoTape);
    let w_id = weight.id;
    let b_id: Option<UniqueId> = bias.map(|b| b.id);
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
                    // (in_c, okk) = x_rows^T dcols
                    let gw = kernels::matmul(
                        transposed(&x_rows, in_c),
                        rows(&dcols, okk),
                        1,
                        in_c,
                        n_rows,
                        okk,
                    )
                    .expect("sizes checked in forward");
                    add_grad(grads, w_id, gw);
                }
                if track_x {
                    // (n_rows, in_c) = dcols W^T, then (n, hw, in_c) -> (n, in_c, hw).
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
                        in_c,
                    )
                    .expect("sizes checked in forward");
                    let dx =
                        kernels::strided_copy(&dx_rows, &[hw * in_c, 1, in_c], &[g.n, in_c, hw])
                            .expect("rank 3");
                    add_grad(grads, x_id, dx);
                }
                if let (true, Some(b_id)) = (track_b, b_id) {
                    let gb = kernels::sum_to(&gy, &[g.n, out_c, ohw], &[out_c, 1]).expect("rank 3");
                    add_grad(grads, b_id, gb);
                }
            }),
        );
    }
    Ok(with_tape(out, tape))
}
