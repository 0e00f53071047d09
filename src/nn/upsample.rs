//! Upsampling as layers: PyTorch's `nn.Upsample`, `nn.PixelShuffle` and `nn.PixelUnshuffle`.

use super::module::Module;
use super::params::{ParamMut, ParamView, Params};
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::Result;
use crate::ops::interpolate::{InterpolateSize, Interpolation};
use crate::ops::pixel_shuffle::ShuffledChannels;
use crate::shape::{ChunkDim, Dim, Scaled};
use crate::tensor::Tensor;

/// PyTorch's `nn.Upsample(size | scale_factor, mode, align_corners)` for `(B, C, H, W)`
/// inputs: [`Tensor::interpolate`] with a fixed output size and mode. `Z` is the size: a
/// [`ScaleFactor<F>`](crate::ops::interpolate::ScaleFactor) (output dims computed by the
/// compiler) or an explicit `(OH, OW)`. No parameters.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Module, Upsample};
/// use shaped::ops::interpolate::ScaleFactor;
/// let up = Upsample::nearest(ScaleFactor::<2>);
/// let y = up.forward(Tensor::<Rank4<1, 3, 7, 7>>::zeros());
/// let _: &Tensor<(Const<1>, Const<3>, _, _)> = &y;
/// assert_eq!(y.dims().as_slice(), &[1, 3, 14, 14]);
/// let to = Upsample::bilinear((Const::<5>, Const::<9>), false);
/// assert_eq!(to.forward(Tensor::<Rank4<1, 1, 2, 3>>::ones()).dims().as_slice(), &[1, 1, 5, 9]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Upsample<Z> {
    /// The output size: a scale factor or an explicit `(OH, OW)`.
    pub size: Z,
    /// Nearest or bilinear (with `align_corners`).
    pub mode: Interpolation,
}

impl<Z> Upsample<Z> {
    /// `nn.Upsample(size, mode)`.
    ///
    /// ```
    /// use shaped::nn::Upsample;
    /// use shaped::ops::interpolate::{Interpolation, ScaleFactor};
    /// let up = Upsample::new(ScaleFactor::<4>, Interpolation::Bilinear { align_corners: true });
    /// assert_eq!(up.mode, Interpolation::Bilinear { align_corners: true });
    /// ```
    pub fn new(size: Z, mode: Interpolation) -> Self {
        Upsample { size, mode }
    }

    /// `nn.Upsample(size, mode="nearest")`.
    ///
    /// ```
    /// use shaped::nn::Upsample;
    /// use shaped::ops::interpolate::{Interpolation, ScaleFactor};
    /// assert_eq!(Upsample::nearest(ScaleFactor::<2>).mode, Interpolation::Nearest);
    /// ```
    pub fn nearest(size: Z) -> Self {
        Self::new(size, Interpolation::Nearest)
    }

    /// `nn.Upsample(size, mode="bilinear", align_corners=align_corners)`.
    ///
    /// ```
    /// use shaped::nn::Upsample;
    /// use shaped::ops::interpolate::{Interpolation, ScaleFactor};
    /// let up = Upsample::bilinear(ScaleFactor::<2>, false);
    /// assert_eq!(up.mode, Interpolation::Bilinear { align_corners: false });
    /// ```
    pub fn bilinear(size: Z, align_corners: bool) -> Self {
        Self::new(size, Interpolation::Bilinear { align_corners })
    }
}

impl<Z, B: Dim, C: Dim, H: Dim, W: Dim, E: Float, T: Tape<E>> Module<Tensor<(B, C, H, W), E, T>>
    for Upsample<Z>
where
    Z: InterpolateSize<H, W> + Copy,
{
    type Output = Tensor<(B, C, Z::OutH, Z::OutW), E, T>;
    fn try_forward(&self, x: Tensor<(B, C, H, W), E, T>) -> Result<Self::Output> {
        x.try_interpolate(self.size, self.mode)
    }
}

impl<Z, E: Float> Params<E> for Upsample<Z> {
    fn visit(&self, _: &str, _: &mut dyn FnMut(ParamView<'_, E>)) {}
    fn visit_mut(&mut self, _: &str, _: &mut dyn FnMut(ParamMut<'_, E>)) {}
}

/// PyTorch's `nn.PixelShuffle(upscale_factor=R)` for `(B, C * R^2, H, W)` and
/// `(C * R^2, H, W)` inputs: [`Tensor::pixel_shuffle`], the upsampling of a sub-pixel
/// convolution. No parameters.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Conv2d, Module, PixelShuffle};
/// use rand::SeedableRng;
/// // ESPCN's last step: a convolution to 3 * 2^2 channels, shuffled to twice the resolution.
/// let head = (Conv2d::<8, 12, 3, 1, 1>::new(&mut rand::rngs::StdRng::seed_from_u64(0)), PixelShuffle::<2>);
/// let y = head.forward(Tensor::<Rank4<1, 8, 5, 5>>::zeros());
/// assert_eq!(y.dims().as_slice(), &[1, 3, 10, 10]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PixelShuffle<const R: usize>;

/// PyTorch's `nn.PixelUnshuffle(downscale_factor=R)`: [`Tensor::pixel_unshuffle`], the
/// inverse of [`PixelShuffle`]. No parameters.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Module, PixelUnshuffle};
/// let y = PixelUnshuffle::<2>.forward(Tensor::<Rank4<1, 3, 8, 6>>::zeros());
/// assert_eq!(y.dims().as_slice(), &[1, 12, 4, 3]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PixelUnshuffle<const R: usize>;

macro_rules! shuffle_layers {
    ($($B:ident)?) => {
        impl<const R: usize, $($B: Dim,)? C: Dim, H: Dim, W: Dim, E: Float, T: Tape<E>>
            Module<Tensor<($($B,)? C, H, W), E, T>> for PixelShuffle<R>
        where
            C: ChunkDim<R>,
            <C as ChunkDim<R>>::Output: ChunkDim<R>,
        {
            type Output = Tensor<($($B,)? ShuffledChannels<C, R>, Scaled<H, R>, Scaled<W, R>), E, T>;
            fn try_forward(&self, x: Tensor<($($B,)? C, H, W), E, T>) -> Result<Self::Output> {
                x.try_pixel_shuffle::<R>()
            }
        }

        impl<const R: usize, $($B: Dim,)? C: Dim, H: Dim, W: Dim, E: Float, T: Tape<E>>
            Module<Tensor<($($B,)? C, H, W), E, T>> for PixelUnshuffle<R>
        where
            H: ChunkDim<R>,
            W: ChunkDim<R>,
        {
            type Output = Tensor<
                ($($B,)? Scaled<Scaled<C, R>, R>, <H as ChunkDim<R>>::Output, <W as ChunkDim<R>>::Output),
                E,
                T,
            >;
            fn try_forward(&self, x: Tensor<($($B,)? C, H, W), E, T>) -> Result<Self::Output> {
                x.try_pixel_unshuffle::<R>()
            }
        }
    };
}
shuffle_layers!(B);
shuffle_layers!();

impl<const R: usize, E: Float> Params<E> for PixelShuffle<R> {
    fn visit(&self, _: &str, _: &mut dyn FnMut(ParamView<'_, E>)) {}
    fn visit_mut(&mut self, _: &str, _: &mut dyn FnMut(ParamMut<'_, E>)) {}
    fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
        f(
            super::module_name(prefix),
            format!("PixelShuffle(upscale_factor={R})"),
        )
    }
}

impl<const R: usize, E: Float> Params<E> for PixelUnshuffle<R> {
    fn visit(&self, _: &str, _: &mut dyn FnMut(ParamView<'_, E>)) {}
    fn visit_mut(&mut self, _: &str, _: &mut dyn FnMut(ParamMut<'_, E>)) {}
    fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
        f(
            super::module_name(prefix),
            format!("PixelUnshuffle(downscale_factor={R})"),
        )
    }
}
