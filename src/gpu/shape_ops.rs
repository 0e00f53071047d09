//! Shape ops on GPU tensors, under the CPU methods' names: `reshape`, `flatten`, `unsqueeze`,
//! `squeeze` (free: the buffer is shared), `transpose`, `permute` and `t` (a strided copy), `concat` (a copy).

use super::tensor::{GpuTensor, add_grad, gpu_tensor, split, take_grad, wants, with_tape};
use crate::autograd::{Gradients, Merge, NoTape, Tape};
use crate::device::{kernels, seq_kernels};
use crate::dtype::Float;
use crate::error::{Error, OrPanic, Result};
use crate::shape::{
    ConcatShape, Const, ConstShape, Dim, Flatten, FlattenAll, InsertAxis, PermuteShape, Shape,
    SqueezeShape, TransposeShape,
};

/// The same buffer under another shape of as many elements; the gradient passes back as is.
fn view<S: Shape, S2: Shape, E: Float, T: Tape<E>>(
    x: GpuTensor<S, T, E>,
    out: S2,
) -> GpuTensor<S2, T, E> {
    let (x, mut tape) = split(x);
    let result = gpu_tensor(out, x.data, NoTape);
    if wants(&tape, x.id) {
        let (x_id, out_id) = (x.id, result.id);
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                if let Some(gy) = take_grad(g, out_id) {
                    add_grad(g, x_id, gy);
                }
            }),
        );
    }
    with_tape(result, tape)
}

/// `x` with its axes reordered (output axis `k` is input axis `perm[k]`), as a copy.
pub(crate) fn permute_gpu<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: GpuTensor<S, T, E>,
    out: SO,
    perm: &[usize],
) -> GpuTensor<SO, T, E> {
    let (x, mut tape) = split(x);
    let dims = x.shape.dims().to_vec();
    let strides = kernels::strides(&dims);
    let read: Vec<usize> = perm.iter().map(|&p| strides[p]).collect();
    let out_dims = out.dims().to_vec();
    let y = kernels::strided_copy(&x.data, &read, &out_dims).expect("ranks are at most 6");
    let result = gpu_tensor(out, y, NoTape);
    if wants(&tape, x.id) {
        let (x_id, out_id) = (x.id, result.id);
        // Input axis perm[k] reads the gradient's axis k.
        let out_strides = kernels::strides(&out_dims);
        let mut back = vec![0; perm.len()];
        for (k, &p) in perm.iter().enumerate() {
            back[p] = out_strides[k];
        }
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = take_grad(g, out_id) else {
                    return;
                };
                let gx = kernels::strided_copy(&gy, &back, &dims).expect("checked in forward");
                add_grad(g, x_id, gx);
            }),
        );
    }
    with_tape(result, tape)
}

/// The shape ops GPU tensors have, under the CPU tensor's method names (see those); in
/// `use shaped::gpu::prelude::*`. `permute::<..>()` with the axes spelled out is a method of
/// GPU tensors of rank 2 to 6 too, as on the CPU. `E` is the element type, f32 or f64.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// let gpu = Wgpu::new()?;
/// let x = Tensor::<Rank2<2, 3>>::from_array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]).to_device(&gpu)?;
/// let y: GpuTensor<Rank2<3, 2>> = x.clone().reshape();
/// assert_eq!(y.to_cpu()?.to_vec(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
/// let t: GpuTensor<Rank2<3, 2>> = x.clone().transpose::<0, 1>();
/// assert_eq!(t.to_cpu()?.to_vec(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
/// let c = x.clone().concat::<0, _, _>(x);
/// assert_eq!(c.to_cpu()?.dims().as_slice(), &[4, 3]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
pub trait GpuShapeOps<S: Shape, T: Tape<E>, E: Float = f32>: Sized {
    /// The same elements under another static shape of as many elements (`torch.reshape`,
    /// checked when the code is built); the buffer is shared.
    fn reshape<S2: ConstShape>(self) -> GpuTensor<S2, T, E>
    where
        S: ConstShape;
    /// [`reshape`](Self::reshape) into a shape given at run time; panics when the element
    /// counts differ ([`try_reshape_dyn`](Self::try_reshape_dyn) returns an `Err`).
    #[track_caller]
    fn reshape_dyn<S2: Shape>(self, shape: S2) -> GpuTensor<S2, T, E> {
        self.try_reshape_dyn(shape).or_panic()
    }
    /// [`reshape_dyn`](Self::reshape_dyn) with an error naming both shapes.
    fn try_reshape_dyn<S2: Shape>(self, shape: S2) -> Result<GpuTensor<S2, T, E>>;
    /// Merges every dimension after the first into one (`torch.flatten(x, 1)`); free.
    fn flatten(self) -> GpuTensor<<S as Flatten>::Output, T, E>
    where
        S: Flatten;
    /// Merges every dimension into one (`torch.flatten(x)`); free.
    fn flatten_all(self) -> GpuTensor<<S as FlattenAll>::Output, T, E>
    where
        S: FlattenAll;
    /// Inserts an axis of size 1 before position `I` (`torch.unsqueeze`); free.
    fn unsqueeze<const I: usize>(self) -> GpuTensor<<S as InsertAxis<I>>::Output<Const<1>>, T, E>
    where
        S: InsertAxis<I>;
    /// Removes axis `I`, which must be `Const<1>` (`torch.squeeze(x, I)`); free.
    fn squeeze<const I: usize>(self) -> GpuTensor<<S as SqueezeShape<I>>::Output, T, E>
    where
        S: SqueezeShape<I>;
    /// Swaps axes `I` and `J` (`torch.transpose`), as a contiguous copy.
    fn transpose<const I: usize, const J: usize>(
        self,
    ) -> GpuTensor<<S as TransposeShape<I, J>>::Output, T, E>
    where
        S: TransposeShape<I, J>;
    /// Reorders the axes by an axis-order type such as [`Axes3<2, 0, 1>`](crate::shape::Axes3).
    fn permute_axes<Ax>(self) -> GpuTensor<<S as PermuteShape<Ax>>::Output, T, E>
    where
        S: PermuteShape<Ax>;
    /// Joins `self` and `rhs` along axis `I` (`torch.cat([self, rhs], I)`); the other axes
    /// must match (a compile error for static sizes, else a panic: see
    /// [`try_concat`](Self::try_concat)).
    #[track_caller]
    fn concat<const I: usize, SR: Shape, TR: Tape<E>>(
        self,
        rhs: GpuTensor<SR, TR, E>,
    ) -> GpuTensor<<S as ConcatShape<SR, I>>::Output, <T as Merge<E, TR>>::Output, E>
    where
        S: ConcatShape<SR, I>,
        T: Merge<E, TR>,
    {
        let () = <S as ConcatShape<SR, I>>::CHECK;
        self.try_concat::<I, SR, TR>(rhs).or_panic()
    }
    /// [`concat`](Self::concat) with an error naming both shapes when run-time dimensions
    /// off the axis differ.
    #[allow(clippy::type_complexity)]
    fn try_concat<const I: usize, SR: Shape, TR: Tape<E>>(
        self,
        rhs: GpuTensor<SR, TR, E>,
    ) -> Result<GpuTensor<<S as ConcatShape<SR, I>>::Output, <T as Merge<E, TR>>::Output, E>>
    where
        S: ConcatShape<SR, I>,
        T: Merge<E, TR>;
}

impl<S: Shape, E: Float, T: Tape<E>> GpuShapeOps<S, T, E> for GpuTensor<S, T, E> {
    fn reshape<S2: ConstShape>(self) -> GpuTensor<S2, T, E>
    where
        S: ConstShape,
    {
        const {
            assert!(
                S::NUMEL == S2::NUMEL,
                "reshape: the new shape must have as many elements as the old one"
            )
        };
        view(self, S2::default())
    }
    fn try_reshape_dyn<S2: Shape>(self, shape: S2) -> Result<GpuTensor<S2, T, E>> {
        let numel = shape.try_numel("reshape")?;
        if numel != self.shape.numel() {
            return Err(Error::shape(
                "reshape",
                format!(
                    "cannot reshape a tensor of shape {:?} ({} elements) into shape {:?} ({} elements)",
                    self.shape.dims().as_slice(),
                    self.shape.numel(),
                    shape.dims().as_slice(),
                    numel
                ),
            ));
        }
        Ok(view(self, shape))
    }
    fn flatten(self) -> GpuTensor<<S as Flatten>::Output, T, E>
    where
        S: Flatten,
    {
        let out = self.shape.flatten_shape();
        view(self, out)
    }
    fn flatten_all(self) -> GpuTensor<<S as FlattenAll>::Output, T, E>
    where
        S: FlattenAll,
    {
        let out = self.shape.flatten_all_shape();
        view(self, out)
    }
    fn unsqueeze<const I: usize>(self) -> GpuTensor<<S as InsertAxis<I>>::Output<Const<1>>, T, E>
    where
        S: InsertAxis<I>,
    {
        let out = self.shape.insert_axis(Const::<1>);
        view(self, out)
    }
    fn squeeze<const I: usize>(self) -> GpuTensor<<S as SqueezeShape<I>>::Output, T, E>
    where
        S: SqueezeShape<I>,
    {
        let out = self.shape.squeeze_shape();
        view(self, out)
    }
    fn transpose<const I: usize, const J: usize>(
        self,
    ) -> GpuTensor<<S as TransposeShape<I, J>>::Output, T, E>
    where
        S: TransposeShape<I, J>,
    {
        let out = self.shape.transpose_shape();
        let mut perm = [0, 1, 2, 3, 4, 5];
        perm.swap(I, J);
        let rank = self.shape.dims().rank();
        permute_gpu(self, out, &perm[..rank])
    }
    fn permute_axes<Ax>(self) -> GpuTensor<<S as PermuteShape<Ax>>::Output, T, E>
    where
        S: PermuteShape<Ax>,
    {
        let out = self.shape.permute_shape();
        permute_gpu(self, out, <S as PermuteShape<Ax>>::PERM)
    }
    fn try_concat<const I: usize, SR: Shape, TR: Tape<E>>(
        self,
        rhs: GpuTensor<SR, TR, E>,
    ) -> Result<GpuTensor<<S as ConcatShape<SR, I>>::Output, <T as Merge<E, TR>>::Output, E>>
    where
        S: ConcatShape<SR, I>,
        T: Merge<E, TR>,
    {
        let () = <S as ConcatShape<SR, I>>::CHECK;
        let out = self.shape.concat_shape(&rhs.shape)?;
        let (ad, bd) = (self.shape.dims().to_vec(), rhs.shape.dims().to_vec());
        let joined = ad[I].checked_add(bd[I]).map(|n| {
            let mut d = ad.clone();
            d[I] = n;
            d
        });
        let fits = joined.is_some_and(|d| {
            d.iter()
                .try_fold(1usize, |acc, &n| acc.checked_mul(n))
                .is_some()
        });
        if !fits {
            return Err(Error::shape(
                "concat",
                format!(
                    "concatenating shapes {ad:?} and {bd:?} along axis {I} gives a shape too large to exist"
                ),
            ));
        }
        let outer: usize = ad[..I].iter().product();
        let inner: usize = ad[I + 1..].iter().product();
        let (na, nb) = (ad[I], bd[I]);
        let (a, ta) = split(self);
        let (b, tb) = split(rhs);
        let mut tape = ta.merge(tb);
        let y = seq_kernels::concat(&a.data, &b.data, outer, (na, nb), inner);
        let result = gpu_tensor(out, y, NoTape);
        let (track_a, track_b) = (wants(&tape, a.id), wants(&tape, b.id));
        if track_a || track_b {
            let (a_id, b_id, out_id, total) = (a.id, b.id, result.id, na + nb);
            tape.record(
                out_id,
                Box::new(move |g: &mut Gradients<E>| {
                    let Some(gy) = take_grad(g, out_id) else {
                        return;
                    };
                    if track_a {
                        let ga = seq_kernels::narrow(&gy, outer, total, inner, (0, na));
                        add_grad(g, a_id, ga);
                    }
                    if track_b {
                        let gb = seq_kernels::narrow(&gy, outer, total, inner, (na, nb));
                        add_grad(g, b_id, gb);
                    }
                }),
            );
        }
        Ok(with_tape(result, tape))
    }
}

macro_rules! gpu_permute_method {
    ($Ax:ident [$($D:ident)*] [$($P:ident)*]) => {
        impl<$($D: Dim,)* E: Float, T: Tape<E>> GpuTensor<($($D,)*), T, E> {
            /// Reorders the axes (`torch.permute`) on the GPU: output axis `k` is input axis
            /// `P_k`, as the CPU tensor's `permute`. The result is a contiguous copy.
            ///
            /// ```no_run
            /// use shaped::prelude::*;
            /// use shaped::gpu::prelude::*;
            /// let x = Tensor::<Rank3<2, 3, 4>>::zeros().to_device(&Wgpu::new()?)?;
            /// let y: GpuTensor<Rank3<4, 2, 3>> = x.permute::<2, 0, 1>();
            /// # Ok::<(), shaped::error::Error>(())
            /// ```
            pub fn permute<$(const $P: usize),*>(
                self,
            ) -> GpuTensor<<($($D,)*) as PermuteShape<crate::shape::$Ax<$($P),*>>>::Output, T, E>
            where
                ($($D,)*): PermuteShape<crate::shape::$Ax<$($P),*>>,
            {
                GpuShapeOps::permute_axes::<crate::shape::$Ax<$($P),*>>(self)
            }
        }
    };
}

gpu_permute_method!(Axes2 [D0 D1] [P0 P1]);
gpu_permute_method!(Axes3 [D0 D1 D2] [P0 P1 P2]);
gpu_permute_method!(Axes4 [D0 D1 D2 D3] [P0 P1 P2 P3]);
gpu_permute_method!(Axes5 [D0 D1 D2 D3 D4] [P0 P1 P2 P3 P4]);
gpu_permute_method!(Axes6 [D0 D1 D2 D3 D4 D5] [P0 P1 P2 P3 P4 P5]);

impl<A: Dim, B: Dim, E: Float, T: Tape<E>> GpuTensor<(A, B), T, E> {
    /// The transpose of a matrix on the GPU (`x.t()`), a contiguous copy.
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// let x = Tensor::<Rank2<2, 3>>::from_array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// let y: GpuTensor<Rank2<3, 2>> = x.to_device(&Wgpu::new()?)?.t();
    /// assert_eq!(y.to_cpu()?.to_vec(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    pub fn t(self) -> GpuTensor<(B, A), T, E> {
        let out = (self.shape.1, self.shape.0);
        permute_gpu(self, out, &[1, 0])
    }
}
