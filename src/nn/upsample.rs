//! Upsampling as a layer, PyTorch's `nn.Upsample`.

use super::module::Module;
use super::params::{ParamMut, ParamView, Params};
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::Result;
use crate::ops::interpolate::{InterpolateSize, Interpolation};
use crate::shape::Dim;
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
