//! Grouped and depthwise 2-D convolution (PyTorch's `F.conv2d(..., groups=G)`): the input and
//! output channels are split into `G` blocks and output block `i` sees only input block `i`.
//! The weight is `(out_channels, in_channels / G, KH, KW)`. It shares the traced convolution
//! and its backward with [`conv2d`](crate::tensor::Tensor::conv2d), one gemm per group.

use super::conv::{ConvArgs, Kind, check_bias, conv_op, conv_out, geom};
use crate::autograd::{Merge, Tape};
use crate::dtype::Float;
use crate::error::OrPanic;
use crate::error::{Error, Result};
use crate::shape::const_msg::ConstMsg;
use crate::shape::{Const, ConvOut, Dim};
use crate::tensor::Tensor;

/// The number of groups `G` of a grouped convolution, PyTorch's `groups=G`. `G` equal to the
/// input channels is a depthwise convolution.
///
/// ```
/// use shaped::ops::conv::ConvArgs;
/// use shaped::ops::conv_grouped::Groups;
/// use shaped::prelude::*;
/// let x = Tensor::<Rank4<1, 4, 5, 5>>::ones();
/// let w = Tensor::<Rank4<6, 2, 3, 3>>::ones(); // 4 channels in 2 groups of 2
/// let y = x.conv2d_grouped(w, None, ConvArgs::<1, 1>, Groups::<2>);
/// assert_eq!(y.dims().as_slice(), &[1, 6, 5, 5]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Groups<const G: usize>;

/// The build-time half of the channel rules, for the sizes the compiler knows.
const fn check_static_groups(c: Option<usize>, c2: Option<usize>, o: Option<usize>, g: usize) {
    if g == 0 {
        ConstMsg::new()
            .s("grouped convolution: groups must be at least 1")
            .fail();
    }
    if let Some(c) = c {
        if !c.is_multiple_of(g) {
            ConstMsg::new()
                .s("grouped convolution: groups ")
                .n(g)
                .s(" does not divide the ")
                .n(c)
                .s(" input channels")
                .fail();
        }
        if let Some(c2) = c2
            && c2 * g != c
        {
            ConstMsg::new()
                .s("grouped convolution: the input has ")
                .n(c)
                .s(" channels but the weight expects ")
                .n(c2)
                .s(" per group times ")
                .n(g)
                .s(" groups = ")
                .n(c2 * g)
                .fail();
        }
    }
    if let Some(o) = o
        && !o.is_multiple_of(g)
    {
        ConstMsg::new()
            .s("grouped convolution: groups ")
            .n(g)
            .s(" does not divide the ")
            .n(o)
            .s(" output channels")
            .fail();
    }
}

/// The run-time half of the same rules.
fn check_groups(c: usize, c2: usize, o: usize, g: usize) -> Result<()> {
    let fail = |msg: String| Err(Error::shape("conv2d_grouped", msg));
    if g == 0 {
        return fail("groups must be at least 1".into());
    }
    if !c.is_multiple_of(g) || !o.is_multiple_of(g) {
        return fail(format!(
            "groups {g} must divide the {c} input channels and the {o} output channels"
        ));
    }
    if c2 * g != c {
        return fail(format!(
            "the input has {c} channels but the weight expects {c2} per group times {g} groups = {}",
            c2 * g
        ));
    }
    Ok(())
}

macro_rules! conv2d_grouped_impl {
    ($([$B:ident $b:ident])? $shape:literal) => {
        impl<$($B: Dim,)? C: Dim, H: Dim, W: Dim, E: Float, T: Tape<E>> Tensor<($($B,)? C, H, W), E, T> {
            /// Grouped 2-D convolution of
            #[doc = $shape]
            /// PyTorch's `F.conv2d(x, weight, bias, stride=S, padding=P, dilation=D, groups=G)`.
            ///
            /// The weight is `(out_channels, in_channels / G, KH, KW)` and the bias
            /// `(out_channels,)`. `G` must divide both channel counts and the weight's
            /// dimension 1 times `G` must equal the input channels: a build error naming the
            /// numbers when the sizes are static, a panic otherwise (see
            /// [`try_conv2d_grouped`](Self::try_conv2d_grouped)). Gradients reach every traced
            /// argument.
            ///
            /// ```
            /// use shaped::ops::conv::ConvArgs;
            /// use shaped::ops::conv_grouped::Groups;
            /// use shaped::prelude::*;
            /// // Depthwise: one 3x3 filter per channel, each channel summed over its own window.
            /// let x = Tensor::<Rank4<1, 2, 3, 3>>::from_vec((0..18).map(|v| v as f32).collect()).unwrap();
            /// let w = Tensor::<Rank4<2, 1, 3, 3>>::ones();
            /// let y = x.conv2d_grouped(w, None, ConvArgs::<1>, Groups::<2>);
            /// assert_eq!(y.to_vec(), vec![36.0, 117.0]);
            /// ```
            #[allow(clippy::type_complexity)]
            #[track_caller]
            pub fn conv2d_grouped<O: Dim, C2: Dim, const KH: usize, const KW: usize, TW: Tape<E>, const S: usize, const P: usize, const D: usize, const G: usize>(
                self,
                weight: Tensor<(O, C2, Const<KH>, Const<KW>), E, TW>,
                bias: Option<Tensor<(O,), E, TW>>,
                args: ConvArgs<S, P, D>,
                groups: Groups<G>,
            ) -> Tensor<($($B,)? O, ConvOut<H, KH, S, P, D>, ConvOut<W, KW, S, P, D>), E, <T as Merge<E, TW>>::Output>
            where
                T: Merge<E, TW>,
            {
                self.try_conv2d_grouped(weight, bias, args, groups).or_panic()
            }

            /// [`conv2d_grouped`](Self::conv2d_grouped) with an error for run-time sizes that
            /// do not fit.
            ///
            /// ```
            /// use shaped::ops::conv::ConvArgs;
            /// use shaped::ops::conv_grouped::Groups;
            /// use shaped::prelude::*;
            /// let w = Tensor::<(usize, usize, Const<3>, Const<3>)>::zeros_with_shape((4, 2, Const, Const));
            /// let x = Tensor::<(usize, usize, usize, usize)>::zeros_with_shape((1, 6, 5, 5));
            /// let err = x.try_conv2d_grouped(w, None, ConvArgs::<1>, Groups::<2>).unwrap_err();
            /// assert!(err.to_string().contains("expects 2 per group times 2 groups = 4"));
            /// ```
            #[allow(clippy::type_complexity)]
            pub fn try_conv2d_grouped<O: Dim, C2: Dim, const KH: usize, const KW: usize, TW: Tape<E>, const S: usize, const P: usize, const D: usize, const G: usize>(
                self,
                weight: Tensor<(O, C2, Const<KH>, Const<KW>), E, TW>,
                bias: Option<Tensor<(O,), E, TW>>,
                _args: ConvArgs<S, P, D>,
                _groups: Groups<G>,
            ) -> Result<Tensor<($($B,)? O, ConvOut<H, KH, S, P, D>, ConvOut<W, KW, S, P, D>), E, <T as Merge<E, TW>>::Output>>
            where
                T: Merge<E, TW>,
            {
                const { check_static_groups(C::STATIC_SIZE, C2::STATIC_SIZE, O::STATIC_SIZE, G) };
                let ($($b,)? c, h, w) = self.shape;
                let n = 1 $(* $b.size())?;
                let o = weight.shape.0;
                let cg = weight.shape.1.size();
                check_groups(c.size(), cg, o.size(), G)?;
                check_bias("conv2d_grouped", o.size(), &bias)?;
                let (oh, ow) = (conv_out::<H, KH, S, P, D>(h)?, conv_out::<W, KW, S, P, D>(w)?);
                let g = geom(cg, h.size(), w.size(), KH, KW, (S, S), (P, P), (D, D), oh.size(), ow.size());
                let out = ($($b,)? o, oh, ow);
                Ok(conv_op(self, weight, bias, out, n, c.size(), o.size(), G, g, Kind::Conv))
            }
        }
    };
}

conv2d_grouped_impl!([B b] "a batch `(B, C, H, W)` into `(B, O, OH, OW)`,");
conv2d_grouped_impl!("one image `(C, H, W)` into `(O, OH, OW)`,");
