//! Resampling of images, PyTorch's `F.interpolate` with `mode="nearest"` or
//! `mode="bilinear"` on `(N, C, H, W)` inputs. The output size is a type: an integer
//! [`ScaleFactor`] gives [`Scaled`] dimensions computed by the compiler, an explicit size is a
//! pair of dimensions (`Const` or `usize`).

use crate::autograd::{Gradients, Tape, UniqueId};
use crate::backend::interpolate::{self as kernels, Tap};
use crate::dtype::Float;
use crate::error::OrPanic;
use crate::error::{Error, Result};
use crate::shape::{Dim, Scaled};
use crate::tensor::Tensor;
use std::sync::Arc;

/// How [`interpolate`](crate::tensor::Tensor::interpolate) computes each output value
/// (PyTorch's `mode` and `align_corners`).
///
/// ```
/// use shaped::ops::interpolate::{Interpolation, ScaleFactor};
/// use shaped::prelude::*;
/// let x = Tensor::<Rank4<1, 1, 1, 2>>::from_vec(vec![0.0, 1.0]).unwrap();
/// let near = x.clone().interpolate(ScaleFactor::<2>, Interpolation::Nearest);
/// assert_eq!(near.to_vec(), vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0]);
/// let lin = x.interpolate(ScaleFactor::<2>, Interpolation::Bilinear { align_corners: false });
/// assert_eq!(&lin.to_vec()[..4], &[0.0, 0.25, 0.75, 1.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Interpolation {
    /// `mode="nearest"`: output `i` copies input `min(floor(i * in / out), in - 1)` (PyTorch's
    /// legacy nearest rule, not `nearest-exact`).
    Nearest,
    /// `mode="bilinear"`: a weighted mean of the 2x2 nearest inputs. With `align_corners`
    /// the corner pixels of input and output coincide; without (PyTorch's default) pixel
    /// centres are mapped by `src = (dst + 0.5) * in / out - 0.5`, clamped below at 0.
    Bilinear {
        /// PyTorch's `align_corners`.
        align_corners: bool,
    },
}

/// An integer scale factor `F` (PyTorch's `scale_factor=F`): each spatial size is
/// multiplied by `F`, as a [`Scaled`] dimension computed by the compiler.
///
/// ```
/// use shaped::ops::interpolate::{Interpolation, ScaleFactor};
/// use shaped::prelude::*;
/// let y = Tensor::<Rank4<2, 3, 4, 5>>::zeros().interpolate(ScaleFactor::<3>, Interpolation::Nearest);
/// assert_eq!(y.dims().as_slice(), &[2, 3, 12, 15]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ScaleFactor<const F: usize>;

/// An output size for [`interpolate`](crate::tensor::Tensor::interpolate) from an input of
/// `H x W`: a [`ScaleFactor`], or an explicit `(OH, OW)` pair of dimensions (`Const<N>` or
/// `usize`, PyTorch's `size=(oh, ow)`).
///
/// ```
/// use shaped::ops::interpolate::{InterpolateSize, ScaleFactor};
/// use shaped::shape::{Const, Dim};
/// let (oh, ow) = InterpolateSize::<usize, Const<4>>::output_dims(&ScaleFactor::<2>, 3, Const).unwrap();
/// assert_eq!((oh.size(), ow.size()), (6, 8));
/// let (oh, ow) = InterpolateSize::<usize, usize>::output_dims(&(5usize, 7usize), 3, 4).unwrap();
/// assert_eq!((oh, ow), (5, 7));
/// ```
pub trait InterpolateSize<H: Dim, W: Dim> {
    /// The output height.
    type OutH: Dim;
    /// The output width.
    type OutW: Dim;
    /// The output dimensions for an `h x w` input.
    fn output_dims(&self, h: H, w: W) -> Result<(Self::OutH, Self::OutW)>;
    /// The scale factor handed to the kernels, which PyTorch uses for the source index
    /// (`1 / factor`) instead of `input / output` when a factor was given.
    fn scale(&self) -> Option<f64>;
}

impl<H: Dim, W: Dim, const F: usize> InterpolateSize<H, W> for ScaleFactor<F> {
    type OutH = Scaled<H, F>;
    type OutW = Scaled<W, F>;
    fn output_dims(&self, h: H, w: W) -> Result<(Self::OutH, Self::OutW)> {
        Ok((Scaled::new(h), Scaled::new(w)))
    }
    fn scale(&self) -> Option<f64> {
        Some(F as f64)
    }
}

impl<H: Dim, W: Dim, OH: Dim, OW: Dim> InterpolateSize<H, W> for (OH, OW) {
    type OutH = OH;
    type OutW = OW;
    fn output_dims(&self, _h: H, _w: W) -> Result<(OH, OW)> {
        Ok(*self)
    }
    fn scale(&self) -> Option<f64> {
        None
    }
}

/// The traced resampling of `planes` planes from `h x w` onto the taps' grid.
fn interpolate_op<S, SO, E, T>(
    x: Tensor<S, E, T>,
    out: SO,
    (h, w): (usize, usize),
    ys: Vec<Tap<E>>,
    xs: Vec<Tap<E>>,
    linear: bool,
) -> Tensor<SO, E, T>
where
    S: crate::shape::Shape,
    SO: crate::shape::Shape,
    E: Float,
    T: Tape<E>,
{
    let (x, mut tape) = x.split_tape();
    let planes = x.data.len().checked_div(h * w).unwrap_or(0);
    let y = kernels::interpolate2d_forward(&x.data, planes, (h, w), &ys, &xs, linear);
    let out_id = UniqueId::new();
    if T::TRACING && tape.tracks(x.id) {
        let (x_id, len) = (x.id, x.data.len());
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = g.take(out_id) else { return };
                let gx = g.entry(x_id, len);
                kernels::interpolate2d_backward(&gy, (h, w), &ys, &xs, linear, gx);
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

/// The row and column taps of `mode` from `(ih, iw)` to `(oh, ow)` and whether they mix
/// two inputs (bilinear), or an error for an empty size; shared with the GPU backend,
/// which gathers along the same taps.
#[allow(clippy::type_complexity)]
pub(crate) fn resample_taps<E: Float>(
    mode: Interpolation,
    (ih, iw): (usize, usize),
    (oh, ow): (usize, usize),
    scale: Option<f64>,
) -> Result<(Vec<Tap<E>>, Vec<Tap<E>>, bool)> {
    if ih == 0 || iw == 0 || oh == 0 || ow == 0 {
        return Err(Error::shape(
            "interpolate",
            format!(
                "input and output sizes should be greater than 0, got input ({ih}, {iw}) and output ({oh}, {ow})"
            ),
        ));
    }
    Ok(match mode {
        Interpolation::Nearest => (
            kernels::nearest_taps(ih, oh, scale),
            kernels::nearest_taps(iw, ow, scale),
            false,
        ),
        Interpolation::Bilinear { align_corners } => (
            kernels::linear_taps(ih, oh, align_corners, scale),
            kernels::linear_taps(iw, ow, align_corners, scale),
            true,
        ),
    })
}

impl<B: Dim, C: Dim, H: Dim, W: Dim, E: Float, T: Tape<E>> Tensor<(B, C, H, W), E, T> {
    /// Resizes the spatial dimensions of `(B, C, H, W)`, PyTorch's
    /// `F.interpolate(x, size=.. | scale_factor=.., mode=.., align_corners=..)` for
    /// `mode="nearest"` and `"bilinear"`, value for value (PyTorch's source-index formulas).
    /// `size` is a [`ScaleFactor`] or an explicit `(OH, OW)`. Gradients reach `x`.
    /// Panics on an empty input or output plane (see
    /// [`try_interpolate`](Self::try_interpolate)).
    ///
    /// ```
    /// use shaped::ops::interpolate::{Interpolation, ScaleFactor};
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank4<1, 1, 2, 2>>::from_vec(vec![0.0, 1.0, 2.0, 3.0]).unwrap();
    /// let y = x.clone().interpolate((Const::<3>, Const::<3>), Interpolation::Bilinear { align_corners: true });
    /// assert_eq!(y.to_vec(), vec![0.0, 0.5, 1.0, 1.0, 1.5, 2.0, 2.0, 2.5, 3.0]);
    /// let up = x.interpolate(ScaleFactor::<2>, Interpolation::Nearest); // (1, 1, 4, 4)
    /// assert_eq!(&up.to_vec()[..4], &[0.0, 0.0, 1.0, 1.0]);
    /// ```
    #[allow(clippy::type_complexity)]
    #[track_caller]
    pub fn interpolate<Z: InterpolateSize<H, W>>(
        self,
        size: Z,
        mode: Interpolation,
    ) -> Tensor<(B, C, Z::OutH, Z::OutW), E, T> {
        self.try_interpolate(size, mode).or_panic()
    }

    /// [`interpolate`](Self::interpolate), with an error when the input or the output has
    /// an empty spatial dimension (PyTorch raises the same).
    ///
    /// ```
    /// use shaped::ops::interpolate::Interpolation;
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank4<1, 1, 2, 2>>::ones();
    /// assert!(x.clone().try_interpolate((0usize, 3usize), Interpolation::Nearest).is_err());
    /// assert_eq!(x.try_interpolate((3usize, 1usize), Interpolation::Nearest).unwrap().to_vec(), vec![1.0; 3]);
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn try_interpolate<Z: InterpolateSize<H, W>>(
        self,
        size: Z,
        mode: Interpolation,
    ) -> Result<Tensor<(B, C, Z::OutH, Z::OutW), E, T>> {
        let (b, c, h, w) = self.shape;
        let (oh, ow) = size.output_dims(h, w)?;
        let (ih, iw) = (h.size(), w.size());
        let (ys, xs, linear) = resample_taps(mode, (ih, iw), (oh.size(), ow.size()), size.scale())?;
        Ok(interpolate_op(
            self,
            (b, c, oh, ow),
            (ih, iw),
            ys,
            xs,
            linear,
        ))
    }
}
