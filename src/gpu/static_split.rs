//! The typed splits and joins of GPU tensors: `split_static`, `chunk_static` (each piece's
//! size in its type) and `cat_tuple` of differently shaped tensors, as on the CPU
//! ([`Tensor::split_static`](crate::tensor::Tensor::split_static),
//! [`cat_tuple`](crate::ops::cat::cat_tuple)). Pieces are `narrow`s and joins `concat`s, so
//! their gradients are those ops'.

use super::shape_ops::GpuShapeOps;
use super::tensor::GpuTensor;
use crate::autograd::Tape;
use crate::device::Wgpu;
use crate::dtype::Float;
use crate::error::{OrPanic, Result};
use crate::ops::split::{check_chunks, check_split_total, chunk_len, split_total_fits};
use crate::shape::{ChunkDim, ConstDim, Dim, HasAxis, ReplaceAxis, Shape};

// `shaped::ops::cat::cat_tuple((a, b, c))` of GPU tensors: the CPU's tuple impls over the
// GPU's `try_concat`.
crate::ops::cat::cat_tuples!(Wgpu);

/// A tuple of two to six static dimensions: the piece sizes of a GPU
/// [`split_static`](GpuTensor::split_static) (the GPU's [`SplitParts`](crate::ops::split::SplitParts)).
///
/// [`Tensor::split_static`]: crate::tensor::Tensor::split_static
pub trait GpuSplitParts<S: ReplaceAxis<I>, E: Float, T: Tape<E>, const I: usize> {
    /// The pieces: one GPU tensor per size, axis `I` replaced by that size.
    type Output;
    /// The sum of the sizes.
    const TOTAL: usize;
    /// The sizes in order.
    fn sizes() -> Vec<usize>;
    /// Cuts `x`, whose axis `I` has size [`TOTAL`](Self::TOTAL) (checked by the caller).
    fn pieces(x: GpuTensor<S, T, E>) -> Result<Self::Output>;
}

macro_rules! gpu_split_parts {
    ($($D:ident),+) => {
        impl<S: ReplaceAxis<I>, E: Float, T: Tape<E>, const I: usize, $($D: ConstDim),+>
            GpuSplitParts<S, E, T, I> for ($($D,)+)
        {
            type Output = ($(GpuTensor<<S as ReplaceAxis<I>>::Output<$D>, T, E>,)+);
            const TOTAL: usize = 0 $(+ $D::SIZE)+;
            fn sizes() -> Vec<usize> {
                vec![$($D::SIZE),+]
            }
            #[allow(unused_assignments)] // the last piece's end is not needed
            fn pieces(x: GpuTensor<S, T, E>) -> Result<Self::Output> {
                let mut start = 0;
                Ok(($({
                    let out = x.shape.replace_axis($D::default());
                    let piece = x.clone().narrow_into(I, start, $D::SIZE, out)?;
                    start += $D::SIZE;
                    piece
                },)+))
            }
        }
    };
}
gpu_split_parts!(A, B);
gpu_split_parts!(A, B, C);
gpu_split_parts!(A, B, C, D);
gpu_split_parts!(A, B, C, D, F);
gpu_split_parts!(A, B, C, D, F, G);

/// The type of one piece of `chunk_static::<I, N>` of a GPU tensor of shape `S`.
pub type GpuChunk<S, T, E, const I: usize, const N: usize> =
    GpuTensor<<S as ReplaceAxis<I>>::Output<<<S as HasAxis<I>>::Dim as ChunkDim<N>>::Output>, T, E>;

impl<S: Shape, E: Float, T: Tape<E>> GpuTensor<S, T, E> {
    /// Cuts axis `I` into consecutive pieces of the static sizes `P` (a tuple of `Const`s),
    /// each piece's axis in its type, as the CPU's
    /// [`split_static`](crate::tensor::Tensor::split_static): sizes that do not add up to a
    /// static axis fail to build; for a run-time axis it panics (see
    /// [`try_split_static`](Self::try_split_static)). Gradients flow back into each range.
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// let gpu = Wgpu::new()?;
    /// let x = Tensor::<Rank2<2, 5>>::from_array([[0.0, 1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0, 9.0]])
    ///     .to_device(&gpu)?;
    /// let (a, b): (GpuTensor<Rank2<2, 2>>, GpuTensor<Rank2<2, 3>>) =
    ///     x.split_static::<1, (Const<2>, Const<3>)>();
    /// assert_eq!(a.to_cpu()?.to_vec(), vec![0.0, 1.0, 5.0, 6.0]);
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    #[track_caller]
    pub fn split_static<const I: usize, P: GpuSplitParts<S, E, T, I>>(self) -> P::Output
    where
        S: ReplaceAxis<I>,
    {
        const { check_split_total(P::TOTAL, <<S as HasAxis<I>>::Dim as Dim>::STATIC_SIZE, I) }
        self.try_split_static::<I, P>().or_panic()
    }

    /// [`split_static`](Self::split_static), with an error naming the sizes when a run-time
    /// axis does not have their total size.
    pub fn try_split_static<const I: usize, P: GpuSplitParts<S, E, T, I>>(self) -> Result<P::Output>
    where
        S: ReplaceAxis<I>,
    {
        split_total_fits(P::sizes(), self.shape.dims()[I], I)?;
        P::pieces(self)
    }

    /// Cuts axis `I` into `N` equal pieces, returned as an array, as the CPU's
    /// [`chunk_static`](crate::tensor::Tensor::chunk_static): a static axis becomes
    /// [`Quot<D, N>`](crate::shape::Quot), a `usize` axis stays `usize`; `N` that does not
    /// divide a static axis fails to build, a run-time one panics (see
    /// [`try_chunk_static`](Self::try_chunk_static)).
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// let x = Tensor::<Rank2<2, 6>>::ones().to_device(&Wgpu::new()?)?;
    /// let [a, _b, c] = x.chunk_static::<1, 3>();
    /// assert_eq!(a.to_cpu()?.dims().as_slice(), &[2, 2]);
    /// assert_eq!(c.to_cpu()?.to_vec(), vec![1.0; 4]);
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    #[track_caller]
    pub fn chunk_static<const I: usize, const N: usize>(self) -> [GpuChunk<S, T, E, I, N>; N]
    where
        S: ReplaceAxis<I>,
        <S as HasAxis<I>>::Dim: ChunkDim<N>,
    {
        const { check_chunks(N, <<S as HasAxis<I>>::Dim as Dim>::STATIC_SIZE, I) }
        self.try_chunk_static::<I, N>().or_panic()
    }

    /// [`chunk_static`](Self::chunk_static), with an error naming `N` and the shape when `N`
    /// is 0 or does not divide a run-time axis.
    pub fn try_chunk_static<const I: usize, const N: usize>(
        self,
    ) -> Result<[GpuChunk<S, T, E, I, N>; N]>
    where
        S: ReplaceAxis<I>,
        <S as HasAxis<I>>::Dim: ChunkDim<N>,
    {
        let len = chunk_len(N, &self.shape.dims(), I)?;
        let out = self.shape.replace_axis(self.shape.axis_dim().chunk());
        let mut pieces = Vec::with_capacity(N);
        for k in 0..N {
            pieces.push(self.clone().narrow_into(I, k * len, len, out)?);
        }
        Ok(pieces
            .try_into()
            .unwrap_or_else(|_| unreachable!("N pieces were made")))
    }
}
