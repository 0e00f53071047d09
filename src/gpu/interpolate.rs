//! `interpolate` (nearest, bilinear) and the `Upsample` layer on the GPU, along the CPU's
//! taps (PyTorch's source-index formulas, computed once per axis from the sizes): nearest is
//! one gather; bilinear is four gathers mixed with the taps' weights as the CPU mixes them
//! (`l0y * (l0x * x00 + l1x * x01) + l1y * (l0x * x10 + l1x * x11)`), so its backward is
//! theirs.

use super::gather::gather_op;
use super::nn::{GpuParamMut, GpuParams};
use super::ops::binary_op;
use super::tensor::{GpuTensor, ToCpu, ToDevice, gpu_tensor};
use crate::autograd::{NoTape, Tape};
use crate::device::Wgpu;
use crate::device::kernels::BinaryOp;
use crate::dtype::Float;
use crate::error::{OrPanic, Result};
use crate::nn::{InterpolateSize, Interpolation, Module, Upsample, resample_taps};
use crate::shape::Dim;

type Planes<B, C, OH, OW, T, E> = GpuTensor<(B, C, OH, OW), T, E>;

impl<B: Dim, C: Dim, H: Dim, W: Dim, E: Float, T: Tape<E>> GpuTensor<(B, C, H, W), T, E> {
    /// Resizes the spatial dimensions of `(B, C, H, W)` on the GPU, as the CPU tensor's
    /// [`interpolate`](crate::tensor::Tensor::interpolate) (`F.interpolate` with
    /// `mode="nearest"` or `"bilinear"`, `size` a `ScaleFactor` or an explicit `(OH, OW)`).
    /// Panics on an empty plane (see [`try_interpolate`](Self::try_interpolate)).
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// use shaped::ops::interpolate::Interpolation;
    /// let x = Tensor::<Rank4<1, 1, 2, 2>>::from_vec(vec![0.0, 1.0, 2.0, 3.0]).unwrap();
    /// let x = x.to_device(&Wgpu::new()?)?;
    /// let y = x.interpolate((Const::<3>, Const::<3>), Interpolation::Bilinear { align_corners: true });
    /// assert_eq!(y.to_cpu()?.to_vec(), vec![0.0, 0.5, 1.0, 1.0, 1.5, 2.0, 2.0, 2.5, 3.0]);
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    #[allow(clippy::type_complexity)]
    #[track_caller]
    pub fn interpolate<Z: InterpolateSize<H, W>>(
        self,
        size: Z,
        mode: Interpolation,
    ) -> Planes<B, C, Z::OutH, Z::OutW, T, E> {
        self.try_interpolate(size, mode).or_panic()
    }

    /// [`interpolate`](Self::interpolate), with an error when the input or the output has
    /// an empty spatial dimension.
    #[allow(clippy::type_complexity)]
    pub fn try_interpolate<Z: InterpolateSize<H, W>>(
        self,
        size: Z,
        mode: Interpolation,
    ) -> Result<Planes<B, C, Z::OutH, Z::OutW, T, E>> {
        let (b, c, h, w) = self.shape;
        let (oh, ow) = size.output_dims(h, w)?;
        let out = (b, c, oh, ow);
        let (ih, iw, ohs, ows) = (h.size(), w.size(), oh.size(), ow.size());
        let (ys, xs, linear) = resample_taps::<E>(mode, (ih, iw), (ohs, ows), size.scale())?;
        let planes = b.size() * c.size();
        // Output (p, oy, ox) reads input (p, rows[oy], cols[ox]).
        let gather = |x: GpuTensor<(B, C, H, W), T, E>, rows: &[usize], cols: &[usize]| {
            let mut map = Vec::with_capacity(planes * ohs * ows);
            for p in 0..planes {
                for &r in rows {
                    let base = (p * ih + r) * iw;
                    map.extend(cols.iter().map(|&col| base + col));
                }
            }
            gather_op("interpolate", x, out, map, E::ZERO)
        };
        let (r0, r1): (Vec<usize>, Vec<usize>) = ys.iter().map(|t| (t.i0, t.i1)).unzip();
        let (c0, c1): (Vec<usize>, Vec<usize>) = xs.iter().map(|t| (t.i0, t.i1)).unzip();
        if !linear {
            return gather(self, &r0, &c0);
        }
        let dev = self.data.device().clone();
        let weights = |w: Vec<E>, shape: (usize, usize, usize, usize)| {
            gpu_tensor(shape, dev.upload(&w), NoTape)
        };
        let col_shape = (1, 1, 1, ows);
        let row_shape = (1, 1, ohs, 1);
        let (wx0, wx1) = (
            weights(xs.iter().map(|t| t.l0).collect(), col_shape),
            weights(xs.iter().map(|t| t.l1).collect(), col_shape),
        );
        let (wy0, wy1) = (
            weights(ys.iter().map(|t| t.l0).collect(), row_shape),
            weights(ys.iter().map(|t| t.l1).collect(), row_shape),
        );
        let mul = |a: Planes<B, C, Z::OutH, Z::OutW, T, E>, w| binary_op(a, w, out, BinaryOp::Mul);
        let add = |a: Planes<B, C, Z::OutH, Z::OutW, T, E>, b| binary_op(a, b, out, BinaryOp::Add);
        let mix = |x: GpuTensor<(B, C, H, W), T, E>, rows: &[usize]| {
            let left = mul(gather(x.clone(), rows, &c0)?, wx0.clone())?;
            let right = mul(gather(x, rows, &c1)?, wx1.clone())?;
            add(left, right)
        };
        let top = mul(mix(self.clone(), &r0)?, wy0)?;
        let bottom = mul(mix(self, &r1)?, wy1)?;
        add(top, bottom)
    }
}

/// [`Upsample`] on GPU tensors `(B, C, H, W)`: [`interpolate`](GpuTensor::interpolate) with
/// the layer's size and mode; `to_device` copies the (parameterless) layer.
impl<Z, B: Dim, C: Dim, H: Dim, W: Dim, E: Float, T: Tape<E>> Module<GpuTensor<(B, C, H, W), T, E>>
    for Upsample<Z>
where
    Z: InterpolateSize<H, W> + Copy,
{
    type Output = Planes<B, C, Z::OutH, Z::OutW, T, E>;
    fn try_forward(&self, x: GpuTensor<(B, C, H, W), T, E>) -> Result<Self::Output> {
        x.try_interpolate(self.size, self.mode)
    }
}

impl<Z: Copy> ToDevice for Upsample<Z> {
    type Output = Upsample<Z>;
    fn to_device(&self, _: &Wgpu) -> Result<Self::Output> {
        Ok(*self)
    }
}

impl<Z: Copy> ToCpu for Upsample<Z> {
    type Output = Upsample<Z>;
    fn to_cpu(&self) -> Result<Self::Output> {
        Ok(*self)
    }
}

impl<Z> GpuParams for Upsample<Z> {
    fn visit_gpu(&mut self, _: &str, _: &mut dyn FnMut(GpuParamMut<'_>)) {}
}
