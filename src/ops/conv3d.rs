//! 3-D convolution (`conv3d`), PyTorch's cross-correlation with zero padding over the last
//! three axes of `(B, C, D, H, W)` or `(C, D, H, W)` tensors. Stride, padding and dilation are
//! a [`ConvArgs`] type, the same along the three axes, so that the output sizes are computed
//! by the compiler as [`ConvOut`] dimensions.

use super::conv::{ConvArgs, channel_error, check_bias, conv_out, traced_conv};
use crate::autograd::{Merge, Tape};
use crate::backend::conv3d::{self as kernels, Conv3dGeom};
use crate::dtype::Float;
use crate::error::OrPanic;
use crate::error::Result;
use crate::shape::check::{ConvChannels, DimCheck};
use crate::shape::{Const, ConvOut, Dim, DimEq, Shape};
use crate::tensor::Tensor;

/// The traced 3-D convolution of `n` samples into `o` output channels, for both the batched
/// and the unbatched form.
fn conv3d_op<SX, SW, SO, E, TX, TW>(
    x: Tensor<SX, E, TX>,
    w: Tensor<SW, E, TW>,
    b: Option<Tensor<(impl Dim,), E, TW>>,
    out: SO,
    (n, o): (usize, usize),
    g: Conv3dGeom,
) -> Tensor<SO, E, <TX as Merge<E, TW>>::Output>
where
    SX: Shape,
    SW: Shape,
    SO: Shape,
    E: Float,
    TX: Merge<E, TW>,
    TW: Tape<E>,
{
    traced_conv(
        x,
        w,
        b,
        out,
        |x, w, bias| kernels::conv3d_forward(x, w, bias, n, o, &g),
        move |x, w, gy, gx, gw, gb| kernels::conv3d_backward(x, w, gy, n, o, &g, gx, gw, gb),
    )
}

macro_rules! conv3d_impl {
    ($([$B:ident $b:ident])? $doc:literal) => {
        impl<$($B: Dim,)? C: Dim, D: Dim, H: Dim, W: Dim, E: Float, T: Tape<E>> Tensor<($($B,)? C, D, H, W), E, T> {
            #[doc = $doc]
            ///
            /// The weight is `(out_channels, in_channels, KD, KH, KW)`, the bias
            /// `(out_channels,)`; stride, padding and dilation are the same along the three
            /// axes. The input's channels must equal the weight's (a compile error when both
            /// are static); a kernel larger than the padded input fails the build for static
            /// sizes. Gradients reach every traced argument.
            ///
            /// ```
            /// use shaped::ops::conv::ConvArgs;
            /// use shaped::prelude::*;
            /// let x = Tensor::<Rank5<2, 3, 4, 8, 8>>::ones();
            /// let w = Tensor::<Rank5<4, 3, 3, 3, 3>>::ones();
            /// let b = Tensor::<Rank1<4>>::zeros();
            /// let y = x.conv3d(w, Some(b), ConvArgs::<1, 1>); // (2, 4, 4, 8, 8)
            /// assert_eq!(y.dims().as_slice(), &[2, 4, 4, 8, 8]);
            /// assert_eq!(y.at(&[0, 0, 0, 0, 0]).unwrap(), 24.0); // a corner sees 2x2x2 of 3 channels
            /// ```
            #[allow(clippy::type_complexity)]
            #[track_caller]
            pub fn conv3d<O: Dim, C2: Dim, const KD: usize, const KH: usize, const KW: usize, TW: Tape<E>, const S: usize, const P: usize, const DIL: usize>(
                self,
                weight: Tensor<(O, C2, Const<KD>, Const<KH>, Const<KW>), E, TW>,
                bias: Option<Tensor<(O,), E, TW>>,
                args: ConvArgs<S, P, DIL>,
            ) -> Tensor<($($B,)? O, ConvOut<D, KD, S, P, DIL>, ConvOut<H, KH, S, P, DIL>, ConvOut<W, KW, S, P, DIL>), E, <T as Merge<E, TW>>::Output>
            where
                C: DimEq<C2>,
                T: Merge<E, TW>,
            {
                let () = DimCheck::<C, C2, ConvChannels>::OK;
                self.try_conv3d(weight, bias, args).or_panic()
            }

            /// [`conv3d`](Self::conv3d) with an error for run-time sizes that do not fit.
            ///
            /// ```
            /// use shaped::ops::conv::ConvArgs;
            /// use shaped::prelude::*;
            /// let w = Tensor::<Rank5<2, 3, 3, 3, 3>>::ones();
            /// let x = Tensor::<(usize, usize, usize, usize, usize)>::zeros_with_shape((1, 4, 5, 5, 5));
            /// assert!(x.try_conv3d(w.clone(), None, ConvArgs::<1>).is_err()); // 4 channels, not 3
            /// let thin = Tensor::<(usize, Const<3>, usize, usize, usize)>::zeros_with_shape((1, Const, 2, 5, 5));
            /// assert!(thin.try_conv3d(w, None, ConvArgs::<1>).is_err()); // 3x3x3 kernel, depth 2
            /// ```
            #[allow(clippy::type_complexity)]
            pub fn try_conv3d<O: Dim, C2: Dim, const KD: usize, const KH: usize, const KW: usize, TW: Tape<E>, const S: usize, const P: usize, const DIL: usize>(
                self,
                weight: Tensor<(O, C2, Const<KD>, Const<KH>, Const<KW>), E, TW>,
                bias: Option<Tensor<(O,), E, TW>>,
                _args: ConvArgs<S, P, DIL>,
            ) -> Result<Tensor<($($B,)? O, ConvOut<D, KD, S, P, DIL>, ConvOut<H, KH, S, P, DIL>, ConvOut<W, KW, S, P, DIL>), E, <T as Merge<E, TW>>::Output>>
            where
                C: DimEq<C2>,
                T: Merge<E, TW>,
            {
                let () = DimCheck::<C, C2, ConvChannels>::OK;
                let ($($b,)? c, d, h, w) = self.shape;
                let n = 1 $(* $b.size())?;
                let o = weight.shape.0;
                c.sizes_equal(&weight.shape.1).map_err(|_| channel_error("conv3d", c.size(), weight.shape.1.size(), "dim 1 of the weight"))?;
                check_bias("conv3d", o.size(), &bias)?;
                let od = conv_out::<D, KD, S, P, DIL>(d)?;
                let (oh, ow) = (conv_out::<H, KH, S, P, DIL>(h)?, conv_out::<W, KW, S, P, DIL>(w)?);
                let g = Conv3dGeom {
                    c: c.size(),
                    input: [d.size(), h.size(), w.size()],
                    kernel: [KD, KH, KW],
                    stride: [S; 3],
                    padding: [P; 3],
                    dilation: [DIL; 3],
                    out: [od.size(), oh.size(), ow.size()],
                };
                let out = ($($b,)? o, od, oh, ow);
                out.try_numel("conv3d")?;
                Ok(conv3d_op(self, weight, bias, out, (n, o.size()), g))
            }
        }
    };
}

conv3d_impl!([B b] "3-D convolution of a batch `(B, C, D, H, W)` into `(B, O, OD, OH, OW)`, PyTorch's `F.conv3d` (groups = 1).");
conv3d_impl!(
    "3-D convolution of one volume `(C, D, H, W)` into `(O, OD, OH, OW)`, PyTorch's `F.conv3d` on unbatched input."
);
