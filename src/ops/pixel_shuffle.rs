//! `pixel_shuffle` and `pixel_unshuffle` (PyTorch's `F.pixel_shuffle`, `F.pixel_unshuffle`):
//! channels traded for resolution, `(C * r^2, H, W)` <-> `(C, H * r, W * r)`, each a
//! permutation of the elements (one copy, by row interleaves in `backend::shuffle`; the
//! backward pass is the inverse permutation).
//!
//! Dimensions: the upscaled axes are [`Scaled`] (a static size stays static); the divided
//! ones are what [`ChunkDim`] makes of them ([`Quot`](crate::shape::Quot) for a static size,
//! `usize` for a run-time one). A static size that does not divide fails the build, naming
//! it; a run-time one is an `Err` from the `try_` form.

use super::shape_ops::moving_op;
use crate::autograd::Tape;
use crate::backend::shuffle;
use crate::dtype::Float;
use crate::error::{Error, OrPanic, Result};
use crate::shape::const_msg::ConstMsg;
use crate::shape::{ChunkDim, Dim, Scaled};
use crate::tensor::Tensor;

/// `C / R^2` channels of a shuffle: `C` cut into `R` chunks twice.
pub type ShuffledChannels<C, const R: usize> = <<C as ChunkDim<R>>::Output as ChunkDim<R>>::Output;

/// The build-time check of `pixel_shuffle`: `R >= 1` and `R^2` divides static channels.
pub(crate) const fn check_shuffle(r: usize, channels: Option<usize>) {
    if r == 0 {
        ConstMsg::new()
            .s("pixel_shuffle: the upscale factor must be at least 1")
            .fail();
    }
    if let Some(c) = channels
        && c % (r * r) != 0
    {
        ConstMsg::new()
            .s("pixel_shuffle: ")
            .n(c)
            .s(" channels are not divisible by the upscale factor squared, ")
            .n(r)
            .s("^2 = ")
            .n(r * r)
            .fail();
    }
}

/// The build-time check of `pixel_unshuffle`: `R >= 1` and `R` divides static `H` and `W`.
pub(crate) const fn check_unshuffle(r: usize, h: Option<usize>, w: Option<usize>) {
    if r == 0 {
        ConstMsg::new()
            .s("pixel_unshuffle: the downscale factor must be at least 1")
            .fail();
    }
    let axes = [("height ", h), ("width ", w)];
    let mut k = 0;
    while k < 2 {
        if let (what, Some(n)) = axes[k]
            && n % r != 0
        {
            ConstMsg::new()
                .s("pixel_unshuffle: the ")
                .s(what)
                .n(n)
                .s(" is not divisible by the downscale factor ")
                .n(r)
                .fail();
        }
        k += 1;
    }
}

macro_rules! pixel_shuffle_impl {
    ($([$B:ident $b:ident])? $shape:literal $example:literal) => {
        impl<$($B: Dim,)? C: Dim, H: Dim, W: Dim, E: Float, T: Tape<E>> Tensor<($($B,)? C, H, W), E, T> {
            #[doc = concat!("Rearranges ", $shape, " with `C = C' * R^2` into `(.., C', H * R, W * R)`")]
            /// (`F.pixel_shuffle(x, R)`, the sub-pixel convolution's upsampling): output
            /// element `(c, h * R + i, w * R + j)` is input element `(c * R^2 + i * R + j, h, w)`.
            ///
            /// ```
            /// use shaped::prelude::*;
            #[doc = $example]
            /// let y = x.pixel_shuffle::<2>();
            /// assert_eq!(y.dims().as_slice().iter().rev().take(3).copied().collect::<Vec<_>>(), vec![4, 4, 1]);
            /// assert_eq!(&y.to_vec()[..4], &[0.0, 4.0, 1.0, 5.0]);
            /// ```
            #[track_caller]
            #[allow(clippy::type_complexity)]
            pub fn pixel_shuffle<const R: usize>(
                self,
            ) -> Tensor<($($B,)? ShuffledChannels<C, R>, Scaled<H, R>, Scaled<W, R>), E, T>
            where
                C: ChunkDim<R>,
                <C as ChunkDim<R>>::Output: ChunkDim<R>,
            {
                const { check_shuffle(R, C::STATIC_SIZE) };
                self.try_pixel_shuffle::<R>().or_panic()
            }

            /// [`pixel_shuffle`](Self::pixel_shuffle), with an error naming the sizes when
            /// `R^2` does not divide a run-time channel count.
            ///
            /// ```
            /// use shaped::prelude::*;
            /// let x = Tensor::<(usize, usize, usize)>::zeros_with_shape((6, 2, 2));
            /// assert!(x.try_pixel_shuffle::<2>().is_err()); // 6 channels, 2^2 = 4
            /// ```
            #[allow(clippy::type_complexity)]
            pub fn try_pixel_shuffle<const R: usize>(
                self,
            ) -> Result<Tensor<($($B,)? ShuffledChannels<C, R>, Scaled<H, R>, Scaled<W, R>), E, T>>
            where
                C: ChunkDim<R>,
                <C as ChunkDim<R>>::Output: ChunkDim<R>,
            {
                const { check_shuffle(R, C::STATIC_SIZE) };
                let ($($b,)? c, h, w) = self.shape;
                if c.size() % (R * R) != 0 {
                    return Err(Error::shape(
                        "pixel_shuffle",
                        format!(
                            "{} channels are not divisible by the upscale factor squared, {R}^2 = {}",
                            c.size(),
                            R * R
                        ),
                    ));
                }
                let planes = 1 $(* $b.size())? * (c.size() / (R * R));
                let out = ($($b,)? c.chunk().chunk(), Scaled::new(h), Scaled::new(w));
                // (planes, i, j, h, w) -> (planes, h, i, w, j)
                let hw = (h.size(), w.size());
                Ok(moving_op(
                    self,
                    out,
                    |x| shuffle::pixel_shuffle::<E, R>(x, planes, hw),
                    move |g, x_id, gy| g.add(x_id, shuffle::pixel_unshuffle::<E, R>(&gy, planes, hw)),
                ))
            }

            #[doc = concat!("The inverse of `pixel_shuffle`: ", $shape, " with `H`, `W` multiples of `R`")]
            /// into `(.., C * R^2, H / R, W / R)` (`F.pixel_unshuffle(x, R)`).
            ///
            /// ```
            /// use shaped::prelude::*;
            #[doc = $example]
            /// let y = x.clone().pixel_shuffle::<2>().pixel_unshuffle::<2>();
            /// assert_eq!(y.to_vec(), x.to_vec());
            /// ```
            #[track_caller]
            #[allow(clippy::type_complexity)]
            pub fn pixel_unshuffle<const R: usize>(
                self,
            ) -> Tensor<($($B,)? Scaled<Scaled<C, R>, R>, <H as ChunkDim<R>>::Output, <W as ChunkDim<R>>::Output), E, T>
            where
                H: ChunkDim<R>,
                W: ChunkDim<R>,
            {
                const { check_unshuffle(R, H::STATIC_SIZE, W::STATIC_SIZE) };
                self.try_pixel_unshuffle::<R>().or_panic()
            }

            /// [`pixel_unshuffle`](Self::pixel_unshuffle), with an error naming the sizes
            /// when `R` does not divide a run-time height or width.
            ///
            /// ```
            /// use shaped::prelude::*;
            /// let x = Tensor::<(usize, usize, usize)>::zeros_with_shape((1, 4, 5));
            /// assert!(x.try_pixel_unshuffle::<2>().is_err()); // width 5
            /// ```
            #[allow(clippy::type_complexity)]
            pub fn try_pixel_unshuffle<const R: usize>(
                self,
            ) -> Result<Tensor<($($B,)? Scaled<Scaled<C, R>, R>, <H as ChunkDim<R>>::Output, <W as ChunkDim<R>>::Output), E, T>>
            where
                H: ChunkDim<R>,
                W: ChunkDim<R>,
            {
                const { check_unshuffle(R, H::STATIC_SIZE, W::STATIC_SIZE) };
                let ($($b,)? c, h, w) = self.shape;
                if h.size() % R != 0 || w.size() % R != 0 {
                    return Err(Error::shape(
                        "pixel_unshuffle",
                        format!(
                            "height {} and width {} must both be divisible by the downscale factor {R}",
                            h.size(),
                            w.size()
                        ),
                    ));
                }
                let planes = 1 $(* $b.size())? * c.size();
                let out = ($($b,)? Scaled::new(Scaled::new(c)), h.chunk(), w.chunk());
                // (planes, h, i, w, j) -> (planes, i, j, h, w)
                let hw = (h.size() / R, w.size() / R);
                Ok(moving_op(
                    self,
                    out,
                    |x| shuffle::pixel_unshuffle::<E, R>(x, planes, hw),
                    move |g, x_id, gy| g.add(x_id, shuffle::pixel_shuffle::<E, R>(&gy, planes, hw)),
                ))
            }
        }
    };
}

pixel_shuffle_impl!([B b] "a batch `(B, C, H, W)`"
    "let x = Tensor::<Rank4<1, 4, 2, 2>>::from_vec((0..16).map(|v| v as f32).collect()).unwrap();");
pixel_shuffle_impl!("one image `(C, H, W)`"
    "let x = Tensor::<Rank3<4, 2, 2>>::from_vec((0..16).map(|v| v as f32).collect()).unwrap();");
