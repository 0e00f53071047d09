//! Convolutions (`conv2d`, `conv1d`, `conv_transpose2d`, `conv_transpose1d`), PyTorch's cross-correlation with
//! zero padding. Stride, padding and dilation are types ([`ConvArgs`],
//! [`ConvTransposeArgs`]) so that the output sizes are computed by the compiler as
//! [`ConvOut`] and [`ConvTransposeOut`] dimensions.

use crate::autograd::{Gradients, Merge, Tape, UniqueId};
use crate::backend::conv::{self as kernels};
// Layers name the geometry through ops (nn does not reach into the backend).
pub(crate) use crate::backend::conv::ConvGeom;
use crate::dtype::Float;
use crate::error::OrPanic;
use crate::error::{Error, Result};
use crate::shape::check::{ConvChannels, DimCheck};
use crate::shape::{Const, ConvOut, ConvTransposeOut, Dim, DimEq, Shape};
use crate::tensor::Tensor;
use std::sync::Arc;

/// Stride `S`, padding `P` and dilation `D` of a convolution, the same along every spatial
/// axis. `ConvArgs::<2, 1>` is stride 2, padding 1, dilation 1; `ConvArgs` alone is PyTorch's
/// default (1, 0, 1).
///
/// ```
/// use shaped::ops::conv::ConvArgs;
/// use shaped::prelude::*;
/// let x = Tensor::<Rank4<1, 1, 8, 8>>::ones();
/// let w = Tensor::<Rank4<2, 1, 3, 3>>::ones();
/// let y = x.conv2d(w, None, ConvArgs::<2, 1>);
/// assert_eq!(y.dims().as_slice(), &[1, 2, 4, 4]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ConvArgs<const S: usize = 1, const P: usize = 0, const D: usize = 1>;

/// Stride `S`, padding `P`, output padding `OP` and dilation `D` of a transposed
/// convolution; `ConvTransposeArgs` alone is PyTorch's default (1, 0, 0, 1).
///
/// ```
/// use shaped::ops::conv::ConvTransposeArgs;
/// use shaped::prelude::*;
/// let x = Tensor::<Rank4<1, 3, 5, 5>>::ones();
/// let w = Tensor::<Rank4<3, 2, 3, 3>>::ones();
/// let y = x.conv_transpose2d(w, None, ConvTransposeArgs::<2, 1, 1>);
/// assert_eq!(y.dims().as_slice(), &[1, 2, 10, 10]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ConvTransposeArgs<
    const S: usize = 1,
    const P: usize = 0,
    const OP: usize = 0,
    const D: usize = 1,
>;

#[derive(Clone, Copy)]
pub(crate) enum Kind {
    Conv,
    Transpose,
}

/// The traced convolution shared by every public 2-D and 1-D form: `n` samples, `ch`
/// channels on the input side of the weight (input channels of a convolution, of a
/// transposed one too), `o` output channels, geometry `g` as the backend defines it (for a
/// convolution with `groups` blocks, `g.c` counts the channels of one block).
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_op<SX, SW, SB, SO, E, TX, TW>(
    x: Tensor<SX, E, TX>,
    w: Tensor<SW, E, TW>,
    b: Option<Tensor<SB, E, TW>>,
    out: SO,
    n: usize,
    ch: usize,
    o: usize,
    groups: usize,
    g: ConvGeom,
    kind: Kind,
) -> Tensor<SO, E, <TX as Merge<E, TW>>::Output>
where
    SX: Shape,
    SW: Shape,
    SB: Shape,
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
        |x, w, bias| match kind {
            Kind::Conv => kernels::conv2d_grouped_forward(x, w, bias, n, o, groups, &g),
            Kind::Transpose => kernels::conv_transpose2d_forward(x, w, bias, n, ch, &g),
        },
        move |x, w, gy, gx, gw, gb| match kind {
            Kind::Conv => kernels::conv2d_grouped_backward(x, w, gy, n, o, groups, &g, gx, gw, gb),
            Kind::Transpose => kernels::conv_transpose2d_backward(x, w, gy, n, ch, &g, gx, gw, gb),
        },
    )
}

/// A traced op of an input, a weight and an optional bias (every convolution): `forward`
/// computes the output from the three buffers; `backward(x, w, gy, gx, gw, gb)` adds the
/// gradients of the traced ones into theirs (existing gradients, or zeros).
pub(super) fn traced_conv<SX, SW, SB, SO, E, TX, TW>(
    x: Tensor<SX, E, TX>,
    w: Tensor<SW, E, TW>,
    b: Option<Tensor<SB, E, TW>>,
    out: SO,
    forward: impl FnOnce(&[E], &[E], Option<&[E]>) -> Vec<E>,
    backward: impl FnOnce(&[E], &[E], &[E], Option<&mut [E]>, Option<&mut [E]>, Option<&mut [E]>)
    + Send
    + 'static,
) -> Tensor<SO, E, <TX as Merge<E, TW>>::Output>
where
    SX: Shape,
    SW: Shape,
    SB: Shape,
    SO: Shape,
    E: Float,
    TX: Merge<E, TW>,
    TW: Tape<E>,
{
    let (x, tx) = x.split_tape();
    let (w, mut tw) = w.split_tape();
    let b = b.map(|b| {
        let (b, tb) = b.split_tape();
        tw = core::mem::replace(&mut tw, TW::leaf(b.id)).merge(tb);
        b
    });
    let mut tape = tx.merge(tw);
    let y = forward(&x.data, &w.data, b.as_ref().map(|b| &b.data[..]));
    let out_id = UniqueId::new();
    let tracing = <TX as Merge<E, TW>>::Output::TRACING;
    let track_x = tracing && tape.tracks(x.id);
    let track_w = tracing && tape.tracks(w.id);
    let track_b = tracing && b.as_ref().is_some_and(|b| tape.tracks(b.id));
    if track_x || track_w || track_b {
        let (xd, wd, x_id, w_id) = (x.data, w.data, x.id, w.id);
        let b_id = b.as_ref().map(|b| (b.id, b.data.len()));
        tape.record(
            out_id,
            Box::new(move |grads: &mut Gradients<E>| {
                let Some(gy) = grads.take(out_id) else { return };
                // Each gradient buffer is taken out of the map so that all three can be
                // borrowed at once, then put back.
                let mut take = |on: bool, id: Option<(UniqueId, usize)>| match (on, id) {
                    (true, Some((id, len))) => {
                        Some((id, grads.take(id).unwrap_or_else(|| vec![E::ZERO; len])))
                    }
                    _ => None,
                };
                let mut gx = take(track_x, Some((x_id, xd.len())));
                let mut gw = take(track_w, Some((w_id, wd.len())));
                let mut gb = take(track_b, b_id);
                backward(
                    &xd,
                    &wd,
                    &gy,
                    gx.as_mut().map(|(_, v)| &mut v[..]),
                    gw.as_mut().map(|(_, v)| &mut v[..]),
                    gb.as_mut().map(|(_, v)| &mut v[..]),
                );
                for (id, v) in [gx, gw, gb].into_iter().flatten() {
                    grads.insert(id, v);
                }
            }),
        );
    }
    Tensor {
        shape: out,
        data: Arc::new(y),
        id: out_id,
        tape,
    }
}

pub(super) fn channel_error(op: &'static str, input: usize, weight: usize, what: &str) -> Error {
    Error::shape(
        op,
        format!("the input has {input} channels but the weight expects {weight} ({what})"),
    )
}

pub(super) fn check_bias<O: Dim, E: Float, T>(
    op: &'static str,
    o: usize,
    b: &Option<Tensor<(O,), E, T>>,
) -> Result<()> {
    match b {
        Some(b) if b.shape.0.size() != o => Err(Error::shape(
            op,
            format!(
                "the bias has {} elements but there are {o} output channels",
                b.shape.0.size()
            ),
        )),
        _ => Ok(()),
    }
}

// Plain functions rather than calls inside the macros below, so that a build error for a
// kernel that does not fit points here and not at a macro invocation.
pub(super) fn conv_out<X: Dim, const K: usize, const S: usize, const P: usize, const D: usize>(
    x: X,
) -> Result<ConvOut<X, K, S, P, D>> {
    ConvOut::new(x)
}

fn conv_transpose_out<
    X: Dim,
    const K: usize,
    const S: usize,
    const P: usize,
    const OP: usize,
    const D: usize,
>(
    x: X,
) -> Result<ConvTransposeOut<X, K, S, P, OP, D>> {
    ConvTransposeOut::new(x)
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn geom(
    c: usize,
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    s: (usize, usize),
    p: (usize, usize),
    d: (usize, usize),
    oh: usize,
    ow: usize,
) -> ConvGeom {
    ConvGeom {
        c,
        h,
        w,
        kh,
        kw,
        sh: s.0,
        sw: s.1,
        ph: p.0,
        pw: p.1,
        dh: d.0,
        dw: d.1,
        oh,
        ow,
    }
}

macro_rules! conv2d_impl {
    ($([$B:ident $b:ident])? $doc:literal) => {
        impl<$($B: Dim,)? C: Dim, H: Dim, W: Dim, E: Float, T: Tape<E>> Tensor<($($B,)? C, H, W), E, T> {
            #[doc = $doc]
            ///
            /// The weight is `(out_channels, in_channels, KH, KW)`, the bias `(out_channels,)`.
            /// The input's channels must equal the weight's (a compile error when both are
            /// static); a kernel larger than the padded input fails the build for static
            /// sizes. Gradients reach every traced argument.
            ///
            /// ```
            /// use shaped::ops::conv::ConvArgs;
            /// use shaped::prelude::*;
            /// let x = Tensor::<Rank4<2, 3, 8, 8>>::ones();
            /// let w = Tensor::<Rank4<4, 3, 3, 3>>::ones();
            /// let b = Tensor::<Rank1<4>>::zeros();
            /// let y = x.conv2d(w, Some(b), ConvArgs::<1, 1>); // (2, 4, 8, 8)
            /// assert_eq!(y.dims().as_slice(), &[2, 4, 8, 8]);
            /// assert_eq!(y.at(&[0, 0, 0, 0]).unwrap(), 12.0); // a corner sees 2x2 of 3 channels
            /// ```
            #[allow(clippy::type_complexity)]
            #[track_caller]
            pub fn conv2d<O: Dim, C2: Dim, const KH: usize, const KW: usize, TW: Tape<E>, const S: usize, const P: usize, const D: usize>(
                self,
                weight: Tensor<(O, C2, Const<KH>, Const<KW>), E, TW>,
                bias: Option<Tensor<(O,), E, TW>>,
                args: ConvArgs<S, P, D>,
            ) -> Tensor<($($B,)? O, ConvOut<H, KH, S, P, D>, ConvOut<W, KW, S, P, D>), E, <T as Merge<E, TW>>::Output>
            where
                C: DimEq<C2>,
                T: Merge<E, TW>,
            {
                let () = DimCheck::<C, C2, ConvChannels>::OK;
                self.try_conv2d(weight, bias, args).or_panic()
            }

            /// [`conv2d`](Self::conv2d) with an error for run-time sizes that do not fit.
            ///
            /// ```
            /// use shaped::ops::conv::ConvArgs;
            /// use shaped::prelude::*;
            /// let w = Tensor::<Rank4<2, 3, 3, 3>>::ones();
            /// let x = Tensor::<(usize, usize, usize, usize)>::zeros_with_shape((1, 4, 8, 8));
            /// assert!(x.try_conv2d(w.clone(), None, ConvArgs::<1>).is_err()); // 4 channels, not 3
            /// let small = Tensor::<(usize, Const<3>, usize, usize)>::zeros_with_shape((1, Const, 2, 8));
            /// assert!(small.try_conv2d(w, None, ConvArgs::<1>).is_err()); // 3x3 kernel, height 2
            /// ```
            #[allow(clippy::type_complexity)]
            pub fn try_conv2d<O: Dim, C2: Dim, const KH: usize, const KW: usize, TW: Tape<E>, const S: usize, const P: usize, const D: usize>(
                self,
                weight: Tensor<(O, C2, Const<KH>, Const<KW>), E, TW>,
                bias: Option<Tensor<(O,), E, TW>>,
                _args: ConvArgs<S, P, D>,
            ) -> Result<Tensor<($($B,)? O, ConvOut<H, KH, S, P, D>, ConvOut<W, KW, S, P, D>), E, <T as Merge<E, TW>>::Output>>
            where
                C: DimEq<C2>,
                T: Merge<E, TW>,
            {
                let () = DimCheck::<C, C2, ConvChannels>::OK;
                let ($($b,)? c, h, w) = self.shape;
                let n = 1 $(* $b.size())?;
                let o = weight.shape.0;
                c.sizes_equal(&weight.shape.1).map_err(|_| channel_error("conv2d", c.size(), weight.shape.1.size(), "dim 1 of the weight"))?;
                check_bias("conv2d", o.size(), &bias)?;
                let (oh, ow) = (conv_out::<H, KH, S, P, D>(h)?, conv_out::<W, KW, S, P, D>(w)?);
                let g = geom(c.size(), h.size(), w.size(), KH, KW, (S, S), (P, P), (D, D), oh.size(), ow.size());
                let out = ($($b,)? o, oh, ow);
                out.try_numel("conv2d")?;
                Ok(conv_op(self, weight, bias, out, n, c.size(), o.size(), 1, g, Kind::Conv))
            }

            /// Transposed convolution (PyTorch's `conv_transpose2d`, the gradient of `conv2d`
            /// with respect to its input): each input pixel scatters a weighted copy of the
            /// kernel into the output. The weight is `(in_channels, out_channels, KH, KW)`.
            ///
            /// ```
            /// use shaped::ops::conv::ConvTransposeArgs;
            /// use shaped::prelude::*;
            /// let x = Tensor::<Rank4<1, 1, 2, 2>>::ones();
            /// let w = Tensor::<Rank4<1, 1, 2, 2>>::ones();
            /// let y = x.conv_transpose2d(w, None, ConvTransposeArgs::<2>); // (1, 1, 4, 4)
            /// assert_eq!(y.to_vec(), vec![1.0; 16]);
            /// ```
            #[allow(clippy::type_complexity)]
            #[track_caller]
            pub fn conv_transpose2d<O: Dim, C2: Dim, const KH: usize, const KW: usize, TW: Tape<E>, const S: usize, const P: usize, const OP: usize, const D: usize>(
                self,
                weight: Tensor<(C2, O, Const<KH>, Const<KW>), E, TW>,
                bias: Option<Tensor<(O,), E, TW>>,
                args: ConvTransposeArgs<S, P, OP, D>,
            ) -> Tensor<($($B,)? O, ConvTransposeOut<H, KH, S, P, OP, D>, ConvTransposeOut<W, KW, S, P, OP, D>), E, <T as Merge<E, TW>>::Output>
            where
                C: DimEq<C2>,
                T: Merge<E, TW>,
            {
                let () = DimCheck::<C, C2, ConvChannels>::OK;
                self.try_conv_transpose2d(weight, bias, args).or_panic()
            }

            /// [`conv_transpose2d`](Self::conv_transpose2d) with an error for run-time sizes
            /// that do not fit.
            ///
            /// ```
            /// use shaped::ops::conv::ConvTransposeArgs;
            /// use shaped::prelude::*;
            /// let w = Tensor::<Rank4<3, 2, 3, 3>>::ones();
            /// let x = Tensor::<(usize, usize, usize, usize)>::zeros_with_shape((1, 3, 5, 5));
            /// let y = x.try_conv_transpose2d(w, None, ConvTransposeArgs::<2, 1>).unwrap();
            /// assert_eq!(y.dims().as_slice(), &[1, 2, 9, 9]);
            /// ```
            #[allow(clippy::type_complexity)]
            pub fn try_conv_transpose2d<O: Dim, C2: Dim, const KH: usize, const KW: usize, TW: Tape<E>, const S: usize, const P: usize, const OP: usize, const D: usize>(
                self,
                weight: Tensor<(C2, O, Const<KH>, Const<KW>), E, TW>,
                bias: Option<Tensor<(O,), E, TW>>,
                _args: ConvTransposeArgs<S, P, OP, D>,
            ) -> Result<Tensor<($($B,)? O, ConvTransposeOut<H, KH, S, P, OP, D>, ConvTransposeOut<W, KW, S, P, OP, D>), E, <T as Merge<E, TW>>::Output>>
            where
                C: DimEq<C2>,
                T: Merge<E, TW>,
            {
                let () = DimCheck::<C, C2, ConvChannels>::OK;
                let ($($b,)? c, h, w) = self.shape;
                let n = 1 $(* $b.size())?;
                let o = weight.shape.1;
                c.sizes_equal(&weight.shape.0).map_err(|_| channel_error("conv_transpose2d", c.size(), weight.shape.0.size(), "dim 0 of the weight"))?;
                check_bias("conv_transpose2d", o.size(), &bias)?;
                let (oh, ow) = (conv_transpose_out::<H, KH, S, P, OP, D>(h)?, conv_transpose_out::<W, KW, S, P, OP, D>(w)?);
                // The convolution this transposes maps the output grid back onto the input grid.
                let g = geom(o.size(), oh.size(), ow.size(), KH, KW, (S, S), (P, P), (D, D), h.size(), w.size());
                let out = ($($b,)? o, oh, ow);
                out.try_numel("conv_transpose2d")?;
                Ok(conv_op(self, weight, bias, out, n, c.size(), o.size(), 1, g, Kind::Transpose))
            }
        }
    };
}

conv2d_impl!([B b] "2-D convolution of a batch `(B, C, H, W)` into `(B, O, OH, OW)`, PyTorch's `F.conv2d` (groups = 1; see `conv2d_grouped`).");
conv2d_impl!(
    "2-D convolution of one image `(C, H, W)` into `(O, OH, OW)`, PyTorch's `F.conv2d` on unbatched input."
);

macro_rules! conv1d_impl {
    ($([$B:ident $b:ident])? $doc:literal) => {
        impl<$($B: Dim,)? C: Dim, L: Dim, E: Float, T: Tape<E>> Tensor<($($B,)? C, L), E, T> {
            #[doc = $doc]
            ///
            /// The weight is `(out_channels, in_channels, K)`, the bias `(out_channels,)`;
            /// the same rules as [`conv2d`](Tensor::conv2d) apply.
            ///
            /// ```
            /// use shaped::ops::conv::ConvArgs;
            /// use shaped::prelude::*;
            /// let x = Tensor::<Rank3<1, 1, 5>>::from_array([[[1.0, 2.0, 3.0, 4.0, 5.0]]]);
            /// let w = Tensor::<Rank3<1, 1, 2>>::from_array([[[1.0, -1.0]]]);
            /// let y = x.conv1d(w, None, ConvArgs::<1>); // x[i] - x[i + 1]
            /// assert_eq!(y.to_vec(), vec![-1.0; 4]);
            /// ```
            #[allow(clippy::type_complexity)]
            #[track_caller]
            pub fn conv1d<O: Dim, C2: Dim, const K: usize, TW: Tape<E>, const S: usize, const P: usize, const D: usize>(
                self,
                weight: Tensor<(O, C2, Const<K>), E, TW>,
                bias: Option<Tensor<(O,), E, TW>>,
                args: ConvArgs<S, P, D>,
            ) -> Tensor<($($B,)? O, ConvOut<L, K, S, P, D>), E, <T as Merge<E, TW>>::Output>
            where
                C: DimEq<C2>,
                T: Merge<E, TW>,
            {
                let () = DimCheck::<C, C2, ConvChannels>::OK;
                self.try_conv1d(weight, bias, args).or_panic()
            }

            /// [`conv1d`](Self::conv1d) with an error for run-time sizes that do not fit.
            ///
            /// ```
            /// use shaped::ops::conv::ConvArgs;
            /// use shaped::prelude::*;
            /// let w = Tensor::<Rank3<4, 2, 5>>::ones();
            /// let x = Tensor::<(usize, Const<2>, usize)>::zeros_with_shape((3, Const, 4));
            /// assert!(x.clone().try_conv1d(w.clone(), None, ConvArgs::<1>).is_err()); // kernel 5, length 4
            /// assert!(x.try_conv1d(w, None, ConvArgs::<1, 1>).is_ok()); // padded to 6
            /// ```
            #[allow(clippy::type_complexity)]
            pub fn try_conv1d<O: Dim, C2: Dim, const K: usize, TW: Tape<E>, const S: usize, const P: usize, const D: usize>(
                self,
                weight: Tensor<(O, C2, Const<K>), E, TW>,
                bias: Option<Tensor<(O,), E, TW>>,
                _args: ConvArgs<S, P, D>,
            ) -> Result<Tensor<($($B,)? O, ConvOut<L, K, S, P, D>), E, <T as Merge<E, TW>>::Output>>
            where
                C: DimEq<C2>,
                T: Merge<E, TW>,
            {
                let () = DimCheck::<C, C2, ConvChannels>::OK;
                let ($($b,)? c, l) = self.shape;
                let n = 1 $(* $b.size())?;
                let o = weight.shape.0;
                c.sizes_equal(&weight.shape.1).map_err(|_| channel_error("conv1d", c.size(), weight.shape.1.size(), "dim 1 of the weight"))?;
                check_bias("conv1d", o.size(), &bias)?;
                let ol = conv_out::<L, K, S, P, D>(l)?;
                // A 1-D convolution is a 2-D one over images of height 1.
                let g = geom(c.size(), 1, l.size(), 1, K, (1, S), (0, P), (1, D), 1, ol.size());
                let out = ($($b,)? o, ol);
                out.try_numel("conv1d")?;
                Ok(conv_op(self, weight, bias, out, n, c.size(), o.size(), 1, g, Kind::Conv))
            }

            /// Transposed 1-D convolution (PyTorch's `conv_transpose1d`, groups = 1, the gradient
            /// of [`conv1d`](Self::conv1d) with respect to its input): each input element
            /// scatters a weighted copy of the kernel into the output, a 2-D transposed
            /// convolution over images of height 1. The weight is
            /// `(in_channels, out_channels, K)`; the output length
            /// `(L-1)S - 2P + D(K-1) + OP + 1` is computed by the type ([`ConvTransposeOut`]).
            ///
            /// ```
            /// use shaped::ops::conv::ConvTransposeArgs;
            /// use shaped::prelude::*;
            /// let x = Tensor::<Rank2<1, 3>>::from_array([[1.0, 2.0, 3.0]]);
            /// let w = Tensor::<Rank3<1, 1, 2>>::from_array([[[1.0, 10.0]]]);
            /// let y = x.conv_transpose1d(w, None, ConvTransposeArgs::<2>); // stride 2: (1, 6)
            /// assert_eq!(y.to_vec(), vec![1.0, 10.0, 2.0, 20.0, 3.0, 30.0]);
            /// ```
            #[allow(clippy::type_complexity)]
            #[track_caller]
            pub fn conv_transpose1d<O: Dim, C2: Dim, const K: usize, TW: Tape<E>, const S: usize, const P: usize, const OP: usize, const D: usize>(
                self,
                weight: Tensor<(C2, O, Const<K>), E, TW>,
                bias: Option<Tensor<(O,), E, TW>>,
                args: ConvTransposeArgs<S, P, OP, D>,
            ) -> Tensor<($($B,)? O, ConvTransposeOut<L, K, S, P, OP, D>), E, <T as Merge<E, TW>>::Output>
            where
                C: DimEq<C2>,
                T: Merge<E, TW>,
            {
                let () = DimCheck::<C, C2, ConvChannels>::OK;
                self.try_conv_transpose1d(weight, bias, args).or_panic()
            }

            /// [`conv_transpose1d`](Self::conv_transpose1d) with an error for run-time sizes
            /// that do not fit.
            ///
            /// ```
            /// use shaped::ops::conv::ConvTransposeArgs;
            /// use shaped::prelude::*;
            /// let w = Tensor::<Rank3<3, 2, 3>>::ones();
            /// let x = Tensor::<(usize, usize, usize)>::zeros_with_shape((1, 3, 5));
            /// let y = x.clone().try_conv_transpose1d(w.clone(), None, ConvTransposeArgs::<2, 1>).unwrap();
            /// assert_eq!(y.dims().as_slice(), &[1, 2, 9]);
            /// let four = Tensor::<(usize, usize, usize)>::zeros_with_shape((1, 4, 5));
            /// assert!(four.try_conv_transpose1d(w, None, ConvTransposeArgs::<2, 1>).is_err());
            /// ```
            #[allow(clippy::type_complexity)]
            pub fn try_conv_transpose1d<O: Dim, C2: Dim, const K: usize, TW: Tape<E>, const S: usize, const P: usize, const OP: usize, const D: usize>(
                self,
                weight: Tensor<(C2, O, Const<K>), E, TW>,
                bias: Option<Tensor<(O,), E, TW>>,
                _args: ConvTransposeArgs<S, P, OP, D>,
            ) -> Result<Tensor<($($B,)? O, ConvTransposeOut<L, K, S, P, OP, D>), E, <T as Merge<E, TW>>::Output>>
            where
                C: DimEq<C2>,
                T: Merge<E, TW>,
            {
                let () = DimCheck::<C, C2, ConvChannels>::OK;
                let ($($b,)? c, l) = self.shape;
                let n = 1 $(* $b.size())?;
                let o = weight.shape.1;
                c.sizes_equal(&weight.shape.0).map_err(|_| channel_error("conv_transpose1d", c.size(), weight.shape.0.size(), "dim 0 of the weight"))?;
                check_bias("conv_transpose1d", o.size(), &bias)?;
                let ol = conv_transpose_out::<L, K, S, P, OP, D>(l)?;
                // The convolution this transposes maps the output line back onto the input
                // line, both of height 1.
                let g = geom(o.size(), 1, ol.size(), 1, K, (1, S), (0, P), (1, D), 1, l.size());
                let out = ($($b,)? o, ol);
                out.try_numel("conv_transpose1d")?;
                Ok(conv_op(self, weight, bias, out, n, c.size(), o.size(), 1, g, Kind::Transpose))
            }
        }
    };
}

conv1d_impl!([B b] "1-D convolution of a batch `(B, C, L)` into `(B, O, OL)`, PyTorch's `F.conv1d` (groups = 1).");
conv1d_impl!(
    "1-D convolution of one sequence `(C, L)` into `(O, OL)`, PyTorch's `F.conv1d` on unbatched input."
);
