//! `pixel_shuffle` / `pixel_unshuffle` ([`PixelShuffle`], [`PixelUnshuffle`]) and
//! `unflatten` ([`Unflatten`], [`UnflattenDyn`]) on GPU tensors, with the CPU's types,
//! checks and errors. A shuffle is a view of the input as five axes, one permuting copy
//! (`permute_gpu`, whose backward pass is the inverse permutation) and a view of the result;
//! `unflatten` is a view (the buffer is shared).

use super::shape_ops::{GpuShapeOps, permute_gpu};
use super::tensor::GpuTensor;
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::{Error, OrPanic, Result};
use crate::nn::{Module, PixelShuffle, PixelUnshuffle, Unflatten, UnflattenDyn};
use crate::ops::pixel_shuffle::ShuffledChannels;
use crate::shape::{ChunkDim, Const, Dim, DynShape, HasAxis, Scaled, Shape, SplitAxis};

/// `x` viewed as `from` (five axes), permuted by `perm` into `to`, viewed as `out`.
fn shuffle<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: GpuTensor<S, T, E>,
    (from, to): ([usize; 5], [usize; 5]),
    perm: [usize; 5],
    out: SO,
) -> Result<GpuTensor<SO, T, E>> {
    let five = |dims: &[usize]| {
        DynShape::new(dims).ok_or_else(|| Error::shape("pixel_shuffle", "rank above 6"))
    };
    let x = x.try_reshape_dyn(five(&from)?)?;
    permute_gpu(x, five(&to)?, &perm).try_reshape_dyn(out)
}

macro_rules! gpu_pixel_shuffle {
    ($([$B:ident $b:ident])? $shape:literal) => {
        impl<$($B: Dim,)? C: Dim, H: Dim, W: Dim, E: Float, T: Tape<E>> GpuTensor<($($B,)? C, H, W), T, E> {
            #[doc = concat!("[`pixel_shuffle`](crate::tensor::Tensor::pixel_shuffle) of ", $shape, " on the GPU:")]
            /// `(.., C * R^2, H, W)` into `(.., C, H * R, W * R)`. Channels that `R^2` does not
            /// divide fail the build when static, and panic when not (see
            /// [`try_pixel_shuffle`](Self::try_pixel_shuffle)).
            ///
            /// ```no_run
            /// use shaped::prelude::*;
            /// use shaped::gpu::prelude::*;
            /// let x = Tensor::<Rank3<4, 1, 1>>::from_vec(vec![0.0, 1.0, 2.0, 3.0]).unwrap();
            /// let y = x.to_device(&Wgpu::new()?)?.pixel_shuffle::<2>().to_cpu()?;
            /// assert_eq!(y.dims().as_slice(), &[1, 2, 2]);
            /// assert_eq!(y.to_vec(), vec![0.0, 1.0, 2.0, 3.0]);
            /// # Ok::<(), shaped::error::Error>(())
            /// ```
            #[track_caller]
            #[allow(clippy::type_complexity)]
            pub fn pixel_shuffle<const R: usize>(
                self,
            ) -> GpuTensor<($($B,)? ShuffledChannels<C, R>, Scaled<H, R>, Scaled<W, R>), T, E>
            where
                C: ChunkDim<R>,
                <C as ChunkDim<R>>::Output: ChunkDim<R>,
            {
                const { crate::ops::pixel_shuffle::check_shuffle(R, C::STATIC_SIZE) };
                self.try_pixel_shuffle::<R>().or_panic()
            }

            /// [`pixel_shuffle`](Self::pixel_shuffle), with an `Err` naming the sizes when
            /// `R^2` does not divide a run-time channel count.
            ///
            /// ```no_run
            /// use shaped::prelude::*;
            /// use shaped::gpu::prelude::*;
            /// let x = Tensor::<(usize, usize, usize)>::zeros_with_shape((6, 2, 2));
            /// assert!(x.to_device(&Wgpu::new()?)?.try_pixel_shuffle::<2>().is_err());
            /// # Ok::<(), shaped::error::Error>(())
            /// ```
            #[allow(clippy::type_complexity)]
            pub fn try_pixel_shuffle<const R: usize>(
                self,
            ) -> Result<GpuTensor<($($B,)? ShuffledChannels<C, R>, Scaled<H, R>, Scaled<W, R>), T, E>>
            where
                C: ChunkDim<R>,
                <C as ChunkDim<R>>::Output: ChunkDim<R>,
            {
                const { crate::ops::pixel_shuffle::check_shuffle(R, C::STATIC_SIZE) };
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
                let (h, w) = (h.size(), w.size());
                // (planes, i, j, h, w) -> (planes, h, i, w, j)
                shuffle(self, ([planes, R, R, h, w], [planes, h, R, w, R]), [0, 3, 1, 4, 2], out)
            }

            #[doc = concat!("[`pixel_unshuffle`](crate::tensor::Tensor::pixel_unshuffle) of ", $shape, " on the GPU:")]
            /// `(.., C, H, W)` into `(.., C * R^2, H / R, W / R)`, the inverse of
            /// [`pixel_shuffle`](Self::pixel_shuffle). A height or width that `R` does not
            /// divide fails the build when static, and panics when not (see
            /// [`try_pixel_unshuffle`](Self::try_pixel_unshuffle)).
            ///
            /// ```no_run
            /// use shaped::prelude::*;
            /// use shaped::gpu::prelude::*;
            /// let x = Tensor::<Rank3<1, 2, 2>>::from_vec(vec![0.0, 1.0, 2.0, 3.0]).unwrap();
            /// let y = x.to_device(&Wgpu::new()?)?.pixel_unshuffle::<2>().to_cpu()?;
            /// assert_eq!(y.dims().as_slice(), &[4, 1, 1]);
            /// # Ok::<(), shaped::error::Error>(())
            /// ```
            #[track_caller]
            #[allow(clippy::type_complexity)]
            pub fn pixel_unshuffle<const R: usize>(
                self,
            ) -> GpuTensor<($($B,)? Scaled<Scaled<C, R>, R>, <H as ChunkDim<R>>::Output, <W as ChunkDim<R>>::Output), T, E>
            where
                H: ChunkDim<R>,
                W: ChunkDim<R>,
            {
                const { crate::ops::pixel_shuffle::check_unshuffle(R, H::STATIC_SIZE, W::STATIC_SIZE) };
                self.try_pixel_unshuffle::<R>().or_panic()
            }

            /// [`pixel_unshuffle`](Self::pixel_unshuffle), with an `Err` naming the sizes
            /// when `R` does not divide a run-time height or width.
            ///
            /// ```no_run
            /// use shaped::prelude::*;
            /// use shaped::gpu::prelude::*;
            /// let x = Tensor::<(usize, usize, usize)>::zeros_with_shape((1, 4, 5));
            /// assert!(x.to_device(&Wgpu::new()?)?.try_pixel_unshuffle::<2>().is_err());
            /// # Ok::<(), shaped::error::Error>(())
            /// ```
            #[allow(clippy::type_complexity)]
            pub fn try_pixel_unshuffle<const R: usize>(
                self,
            ) -> Result<GpuTensor<($($B,)? Scaled<Scaled<C, R>, R>, <H as ChunkDim<R>>::Output, <W as ChunkDim<R>>::Output), T, E>>
            where
                H: ChunkDim<R>,
                W: ChunkDim<R>,
            {
                const { crate::ops::pixel_shuffle::check_unshuffle(R, H::STATIC_SIZE, W::STATIC_SIZE) };
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
                let (h, w) = (h.size() / R, w.size() / R);
                // (planes, h, i, w, j) -> (planes, i, j, h, w)
                shuffle(self, ([planes, h, R, w, R], [planes, R, R, h, w]), [0, 2, 4, 1, 3], out)
            }
        }

        impl<const R: usize, $($B: Dim,)? C: Dim, H: Dim, W: Dim, E: Float, T: Tape<E>>
            Module<GpuTensor<($($B,)? C, H, W), T, E>> for PixelShuffle<R>
        where
            C: ChunkDim<R>,
            <C as ChunkDim<R>>::Output: ChunkDim<R>,
        {
            type Output = GpuTensor<($($B,)? ShuffledChannels<C, R>, Scaled<H, R>, Scaled<W, R>), T, E>;
            fn try_forward(&self, x: GpuTensor<($($B,)? C, H, W), T, E>) -> Result<Self::Output> {
                x.try_pixel_shuffle::<R>()
            }
        }

        impl<const R: usize, $($B: Dim,)? C: Dim, H: Dim, W: Dim, E: Float, T: Tape<E>>
            Module<GpuTensor<($($B,)? C, H, W), T, E>> for PixelUnshuffle<R>
        where
            H: ChunkDim<R>,
            W: ChunkDim<R>,
        {
            type Output = GpuTensor<
                ($($B,)? Scaled<Scaled<C, R>, R>, <H as ChunkDim<R>>::Output, <W as ChunkDim<R>>::Output),
                T,
                E,
            >;
            fn try_forward(&self, x: GpuTensor<($($B,)? C, H, W), T, E>) -> Result<Self::Output> {
                x.try_pixel_unshuffle::<R>()
            }
        }
    };
}

gpu_pixel_shuffle!([B b] "a batch `(B, C, H, W)`");
gpu_pixel_shuffle!("one image `(C, H, W)`");

no_params_on_gpu!([const R: usize,] PixelShuffle<R>);
no_params_on_gpu!([const R: usize,] PixelUnshuffle<R>);

impl<S: Shape, E: Float, T: Tape<E>> GpuTensor<S, T, E> {
    /// Splits axis `I` into `(A, B)` on the GPU, as the CPU's
    /// [`unflatten`](crate::tensor::Tensor::unflatten) (`x.unflatten(I, (A, B))`): a static
    /// axis that is not `A * B` fails the build, a run-time one panics (see
    /// [`try_unflatten`](Self::try_unflatten)). Free: the buffer is shared.
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// let x = Tensor::<Rank2<2, 6>>::zeros().to_device(&Wgpu::new()?)?;
    /// let y: GpuTensor<Rank3<2, 2, 3>> = x.unflatten::<1, 2, 3>();
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    #[track_caller]
    pub fn unflatten<const I: usize, const A: usize, const B: usize>(
        self,
    ) -> GpuTensor<<S as SplitAxis<I>>::Output<Const<A>, Const<B>>, T, E>
    where
        S: SplitAxis<I>,
    {
        const {
            crate::ops::shape_ops::check_unflatten(
                <<S as HasAxis<I>>::Dim as Dim>::STATIC_SIZE,
                I,
                A,
                B,
            )
        };
        self.try_unflatten::<I, A, B>().or_panic()
    }

    /// [`unflatten`](Self::unflatten), with an `Err` naming the sizes when a run-time axis
    /// does not have `A * B` elements.
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// let x = Tensor::<(usize, usize)>::zeros_with_shape((2, 5)).to_device(&Wgpu::new()?)?;
    /// assert!(x.try_unflatten::<1, 2, 3>().is_err());
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    pub fn try_unflatten<const I: usize, const A: usize, const B: usize>(
        self,
    ) -> Result<GpuTensor<<S as SplitAxis<I>>::Output<Const<A>, Const<B>>, T, E>>
    where
        S: SplitAxis<I>,
    {
        self.try_unflatten_dyn::<I, _, _>(Const::<A>, Const::<B>)
    }

    /// Splits axis `I` into two axes of the sizes given at run time (`a`, `b`; either may
    /// be a `Const`), as the CPU's [`unflatten_dyn`](crate::tensor::Tensor::unflatten_dyn);
    /// panics when the axis does not have `a * b` elements (see
    /// [`try_unflatten_dyn`](Self::try_unflatten_dyn)).
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// let x = Tensor::<(usize, usize)>::zeros_with_shape((3, 12)).to_device(&Wgpu::new()?)?;
    /// let y = x.unflatten_dyn::<1, _, _>(4usize, 3usize);
    /// assert_eq!(y.to_cpu()?.dims().as_slice(), &[3, 4, 3]);
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    #[track_caller]
    pub fn unflatten_dyn<const I: usize, A: Dim, B: Dim>(
        self,
        a: A,
        b: B,
    ) -> GpuTensor<<S as SplitAxis<I>>::Output<A, B>, T, E>
    where
        S: SplitAxis<I>,
    {
        self.try_unflatten_dyn::<I, A, B>(a, b).or_panic()
    }

    /// [`unflatten_dyn`](Self::unflatten_dyn), with an `Err` naming the sizes when the axis
    /// does not have `a * b` elements.
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// let x = Tensor::<(usize, usize)>::zeros_with_shape((3, 12)).to_device(&Wgpu::new()?)?;
    /// assert!(x.try_unflatten_dyn::<1, _, _>(5usize, 2usize).is_err());
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    pub fn try_unflatten_dyn<const I: usize, A: Dim, B: Dim>(
        self,
        a: A,
        b: B,
    ) -> Result<GpuTensor<<S as SplitAxis<I>>::Output<A, B>, T, E>>
    where
        S: SplitAxis<I>,
    {
        let n = self.shape.axis_dim().size();
        let (sa, sb) = (a.size(), b.size());
        if sa.checked_mul(sb) != Some(n) {
            return Err(Error::shape(
                "unflatten",
                format!(
                    "axis {I} of shape {:?} has size {n}, which cannot be split into ({sa}, {sb})",
                    self.shape.dims().as_slice()
                ),
            ));
        }
        let out = self.shape.split_axis(a, b);
        self.try_reshape_dyn(out)
    }
}

impl<S: SplitAxis<DIM>, E: Float, T: Tape<E>, const DIM: usize, const A: usize, const B: usize>
    Module<GpuTensor<S, T, E>> for Unflatten<DIM, A, B>
{
    type Output = GpuTensor<<S as SplitAxis<DIM>>::Output<Const<A>, Const<B>>, T, E>;
    fn try_forward(&self, x: GpuTensor<S, T, E>) -> Result<Self::Output> {
        const {
            crate::ops::shape_ops::check_unflatten(
                <<S as HasAxis<DIM>>::Dim as Dim>::STATIC_SIZE,
                DIM,
                A,
                B,
            )
        };
        x.try_unflatten::<DIM, A, B>()
    }
}

impl<S: SplitAxis<DIM>, E: Float, T: Tape<E>, const DIM: usize> Module<GpuTensor<S, T, E>>
    for UnflattenDyn<DIM>
{
    type Output = GpuTensor<<S as SplitAxis<DIM>>::Output<usize, usize>, T, E>;
    fn try_forward(&self, x: GpuTensor<S, T, E>) -> Result<Self::Output> {
        x.try_unflatten_dyn::<DIM, usize, usize>(self.sizes.0, self.sizes.1)
    }
}

no_params_on_gpu!([const DIM: usize, const A: usize, const B: usize,] Unflatten<DIM, A, B>);
no_params_on_gpu!([const DIM: usize,] UnflattenDyn<DIM>);
