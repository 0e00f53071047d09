//! GLU and PReLU on the GPU, composed from the GPU ops (so their backward steps are those
//! ops'): `glu` / `try_glu` on GPU tensors and the [`GLU`] layer, and [`GpuPReLU`] /
//! [`GpuChannelPReLU`], made by `to_device` of [`PReLU`] / [`ChannelPReLULayer`].

use super::compare::GpuCompare;
use super::nn::{GpuParamMut, GpuParams};
use super::ops::{GpuOps, binary_op};
use super::recurrent::retag;
use super::shape_ops::GpuShapeOps;
use super::static_split::GpuChunk;
use super::tensor::{GpuTensor, ToCpu, ToDevice};
use crate::autograd::{NoTape, Tape};
use crate::device::Wgpu;
use crate::device::kernels::BinaryOp;
use crate::dtype::Float;
use crate::error::{Error, OrPanic, Result};
use crate::nn::{ChannelPReLULayer, GLU, Module, PReLU};
use crate::shape::check::{DimCheck, PReluChannels};
use crate::shape::{
    ChunkDim, Const, Dim, DimEq, DynShape, HasAxis, ReplaceAxis, Shape, ShapeMismatch,
};

impl<S: Shape, E: Float, T: Tape<E>> GpuTensor<S, T, E> {
    /// The gated linear unit along axis `I` on the GPU, as the CPU's
    /// [`glu`](crate::tensor::Tensor::glu): `a * sigmoid(b)` for the first and second halves
    /// `a`, `b` of the axis. An odd static axis fails to build; an odd run-time one panics
    /// (see [`try_glu`](Self::try_glu)).
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// let x = Tensor::<Rank2<1, 4>>::from_array([[1.0, 2.0, 0.0, 0.0]]).to_device(&Wgpu::new()?)?;
    /// assert_eq!(x.glu::<1>().to_cpu()?.to_vec(), vec![0.5, 1.0]);
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    #[track_caller]
    pub fn glu<const I: usize>(self) -> GpuChunk<S, T, E, I, 2>
    where
        S: ReplaceAxis<I>,
        <S as HasAxis<I>>::Dim: ChunkDim<2>,
    {
        const { crate::ops::activation::check_glu_axis(<<S as HasAxis<I>>::Dim as Dim>::STATIC_SIZE, I) };
        self.try_glu::<I>().or_panic()
    }

    /// [`glu`](Self::glu), with an `Err` naming the axis and the shape when a run-time axis
    /// has an odd size.
    pub fn try_glu<const I: usize>(self) -> Result<GpuChunk<S, T, E, I, 2>>
    where
        S: ReplaceAxis<I>,
        <S as HasAxis<I>>::Dim: ChunkDim<2>,
    {
        let dims = self.shape.dims();
        let n = dims[I];
        if !n.is_multiple_of(2) {
            return Err(Error::shape(
                "glu",
                format!("axis {I} of shape {dims:?} has odd size {n}: GLU cuts it in halves"),
            ));
        }
        let [a, b] = self.try_chunk_static::<I, 2>()?;
        let shape = a.shape;
        binary_op(a, b.sigmoid(), shape, BinaryOp::Mul)
    }
}

impl<const I: usize, S, E: Float, T: Tape<E>> Module<GpuTensor<S, T, E>> for GLU<I>
where
    S: ReplaceAxis<I>,
    <S as HasAxis<I>>::Dim: ChunkDim<2>,
{
    type Output = GpuChunk<S, T, E, I, 2>;
    fn try_forward(&self, x: GpuTensor<S, T, E>) -> Result<Self::Output> {
        const { crate::ops::activation::check_glu_axis(<<S as HasAxis<I>>::Dim as Dim>::STATIC_SIZE, I) };
        x.try_glu::<I>()
    }
}
no_params_on_gpu!([const I: usize,] GLU<I>);

/// `x` where `x > 0`, else `slopes * x` (`slopes` broadcast to `x`'s shape), as
/// `x * (m + (1 - m) * slopes)` with the constant mask `m = (x > 0)`: the gradient is
/// PyTorch's, the slope at `x = 0` included, and NaN stays NaN.
fn prelu<S: Shape, SW: Shape, E: Float, T: Tape<E>>(
    x: GpuTensor<S, T, E>,
    slopes: GpuTensor<SW, T, E>,
) -> Result<GpuTensor<S, T, E>> {
    let shape = x.shape;
    let positive = x.gt_scalar(E::ZERO);
    let negative = positive.clone() * (-E::ONE) + E::ONE;
    let factor = binary_op(slopes, negative, shape, BinaryOp::Mul)?;
    let factor = binary_op(factor, positive, shape, BinaryOp::Add)?;
    binary_op(x, factor, shape, BinaryOp::Mul)
}

/// [`PReLU`] on the GPU, made by `prelu.to_device(&gpu)`: one learned slope, `(1,)`, for
/// every element.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::nn::{Module, PReLU};
/// let gpu = Wgpu::new()?;
/// let prelu = PReLU::<f32>::new().to_device(&gpu)?;
/// let x = Tensor::<Rank1<3>>::from_array([-4.0, 0.0, 2.0]).to_device(&gpu)?;
/// assert_eq!(prelu.forward(x).to_cpu()?.to_vec(), vec![-1.0, 0.0, 2.0]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct GpuPReLU<E: Float = f32> {
    /// The slope below 0, `(1,)`.
    pub weight: GpuTensor<(Const<1>,), NoTape, E>,
}

impl<E: Float> ToDevice for PReLU<E> {
    type Output = GpuPReLU<E>;
    fn to_device(&self, gpu: &Wgpu) -> Result<GpuPReLU<E>> {
        Ok(GpuPReLU {
            weight: self.weight.to_device(gpu)?,
        })
    }
}

impl<E: Float> ToCpu for GpuPReLU<E> {
    type Output = PReLU<E>;
    fn to_cpu(&self) -> Result<PReLU<E>> {
        let mut layer = PReLU::new();
        layer.weight = self.weight.to_cpu()?;
        Ok(layer)
    }
}

/// `visit_gpu` of a layer whose one parameter is `weight`.
fn visit_weight<E: Float>(
    w: &mut GpuTensor<impl Shape, NoTape, E>,
    prefix: &str,
    f: &mut dyn FnMut(GpuParamMut<'_, E>),
) {
    f(GpuParamMut {
        name: &format!("{prefix}weight"),
        id: w.id,
        data: &mut w.data,
    });
}

impl<E: Float> GpuParams<E> for GpuPReLU<E> {
    fn visit_gpu(&mut self, prefix: &str, f: &mut dyn FnMut(GpuParamMut<'_, E>)) {
        visit_weight(&mut self.weight, prefix, f);
    }
}

impl<S: Shape, E: Float, T: Tape<E>> Module<GpuTensor<S, T, E>> for GpuPReLU<E> {
    type Output = GpuTensor<S, T, E>;
    fn try_forward(&self, x: GpuTensor<S, T, E>) -> Result<Self::Output> {
        let slope = retag(self.weight.clone(), T::leaf(self.weight.id));
        prelu(x, slope.try_reshape_dyn(DynShape::default())?)
    }
}

/// [`ChannelPReLULayer`] (`ChannelPReLU<C>`, `ChannelPReLUDyn`) on the GPU, made by
/// `prelu.to_device(&gpu)`: one learned slope per channel (axis 1), `(C,)`.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::nn::{ChannelPReLU, Module};
/// let gpu = Wgpu::new()?;
/// let mut cpu = ChannelPReLU::<2>::new();
/// cpu.weight = Tensor::from_array([0.5, 0.1]);
/// let prelu = cpu.to_device(&gpu)?;
/// let x = Tensor::<Rank3<1, 2, 2>>::from_array([[[-2.0, 1.0], [-10.0, 3.0]]]);
/// assert_eq!(prelu.forward(x.to_device(&gpu)?).to_cpu()?.to_vec(), vec![-1.0, 1.0, -1.0, 3.0]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct GpuChannelPReLU<C: Dim, E: Float = f32> {
    /// The slopes below 0, `(C,)`.
    pub weight: GpuTensor<(C,), NoTape, E>,
}

impl<C: Dim, E: Float> ToDevice for ChannelPReLULayer<C, E> {
    type Output = GpuChannelPReLU<C, E>;
    fn to_device(&self, gpu: &Wgpu) -> Result<GpuChannelPReLU<C, E>> {
        Ok(GpuChannelPReLU {
            weight: self.weight.to_device(gpu)?,
        })
    }
}

impl<C: Dim, E: Float> ToCpu for GpuChannelPReLU<C, E> {
    type Output = ChannelPReLULayer<C, E>;
    fn to_cpu(&self) -> Result<ChannelPReLULayer<C, E>> {
        Ok(ChannelPReLULayer {
            weight: self.weight.to_cpu()?,
        })
    }
}

impl<C: Dim, E: Float> GpuParams<E> for GpuChannelPReLU<C, E> {
    fn visit_gpu(&mut self, prefix: &str, f: &mut dyn FnMut(GpuParamMut<'_, E>)) {
        visit_weight(&mut self.weight, prefix, f);
    }
}

impl<C: Dim, E: Float> GpuChannelPReLU<C, E> {
    /// The slopes shaped `(C, 1, ..)` to broadcast over the axes after the channels.
    fn forward_channels<S: Shape, T: Tape<E>>(
        &self,
        x: GpuTensor<S, T, E>,
    ) -> Result<GpuTensor<S, T, E>> {
        let dims = x.shape.dims();
        let c = self.weight.shape.0.size();
        if dims.rank() < 2 || dims[1] != c {
            return Err(Error::shape(
                "PReLU",
                format!(
                    "the input of shape {:?} has {} channels, but the layer has {c} \
                     (num_parameters)",
                    dims.as_slice(),
                    dims.get(1).copied().unwrap_or(0),
                ),
            ));
        }
        let mut slope_dims = [1usize; 5];
        slope_dims[0] = c;
        let slope_shape = DynShape::new(&slope_dims[..dims.rank() - 1]).ok_or_else(|| {
            Error::shape(
                "PReLU",
                format!("input of rank {} is not supported", dims.rank()),
            )
        })?;
        let slopes = retag(self.weight.clone(), T::leaf(self.weight.id));
        prelu(x, slopes.try_reshape_dyn(slope_shape)?)
    }
}

// One impl per accepted input rank, as on the CPU; the channel dimension must equal `C`
// (checked by type when both are static).
macro_rules! gpu_channel_prelu_module {
    ($($A:ident),*) => {
        impl<C: Dim, E: Float, T: Tape<E>, N: Dim, C2: DimEq<C>, $($A: Dim),*>
            Module<GpuTensor<(N, C2, $($A,)*), T, E>> for GpuChannelPReLU<C, E>
        {
            type Output = GpuTensor<(N, C2, $($A,)*), T, E>;
            const SHAPE_MISMATCH: ShapeMismatch = DimCheck::<C2, C, PReluChannels>::MISMATCH;
            fn try_forward(&self, x: GpuTensor<(N, C2, $($A,)*), T, E>) -> Result<Self::Output> {
                let () = <Self as Module<GpuTensor<(N, C2, $($A,)*), T, E>>>::SHAPE_CHECK;
                self.forward_channels(x)
            }
        }
    };
}
gpu_channel_prelu_module!();
gpu_channel_prelu_module!(L);
gpu_channel_prelu_module!(H, W);
gpu_channel_prelu_module!(D, H, W);
