//! Shape ops that keep every element: `reshape`, `flatten`, `unsqueeze` and `squeeze` (free:
//! the output shares the input's buffer), `transpose` and `permute` (a copy, since buffers
//! are always contiguous), `concat` and `stack`.
//!
//! Ops whose axis is a const generic and that also take a tensor or array of another type
//! (`concat`, `stack`) need the remaining generic arguments spelled `_` in a turbofish:
//! stable Rust cannot infer some of a function's generic arguments while the caller gives
//! others, e.g. `a.concat::<1, _, _>(b)`.

use crate::autograd::{Gradients, Merge, Tape, UniqueId};
use crate::backend::layout;
use crate::backend::reduce::split_axis;
use crate::dtype::Float;
use crate::error::OrPanic;
use crate::error::{Error, Result};
use crate::ops::cat::{TensorList, check_same_dims, part_grad};
use crate::shape::{
    ConcatShape, Const, ConstShape, Dim, Dims, Flatten, FlattenAll, HasAxis, InsertAxis,
    PermuteShape, Shape, SplitAxis, SqueezeShape, TransposeShape,
};
use crate::tensor::Tensor;
use std::sync::Arc;

/// The same elements under another shape with as many elements: the output shares the
/// buffer (a fresh id, so autograd keeps the two apart) and the gradient passes back as is.
pub(crate) fn view_op<S: Shape, S2: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    out: S2,
) -> Tensor<S2, E, T> {
    debug_assert_eq!(x.numel(), out.numel(), "view_op: element counts differ");
    let (x, mut tape) = x.split_tape();
    let out_id = UniqueId::new();
    if T::TRACING && tape.tracks(x.id) {
        let x_id = x.id;
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = g.take(out_id) else { return };
                // Same layout on both sides: the output's gradient moves over without a copy
                // when x has none yet.
                g.add(x_id, gy);
            }),
        );
    }
    Tensor {
        shape: out,
        data: x.data,
        id: out_id,
        tape,
    }
}

/// An op that copies elements of one input through an index map: `forward` builds the
/// output from the input's buffer, `backward(gx, gy)` adds the output gradient back.
pub(crate) fn layout_op<S, SO, E, T, F, B>(
    x: Tensor<S, E, T>,
    out: SO,
    forward: F,
    backward: B,
) -> Tensor<SO, E, T>
where
    S: Shape,
    SO: Shape,
    E: Float,
    T: Tape<E>,
    F: FnOnce(&[E]) -> Vec<E>,
    B: FnOnce(&mut [E], &[E]) + Send + 'static,
{
    let n = x.data.len();
    moving_op(x, out, forward, move |g, x_id, gy| {
        backward(g.entry(x_id, n), &gy)
    })
}

/// [`layout_op`] whose backward hands `x` its gradient itself: `backward(g, x_id, gy)`.
pub(crate) fn moving_op<S, SO, E, T, F, B>(
    x: Tensor<S, E, T>,
    out: SO,
    forward: F,
    backward: B,
) -> Tensor<SO, E, T>
where
    S: Shape,
    SO: Shape,
    E: Float,
    T: Tape<E>,
    F: FnOnce(&[E]) -> Vec<E>,
    B: FnOnce(&mut Gradients<E>, UniqueId, Vec<E>) + Send + 'static,
{
    let (x, mut tape) = x.split_tape();
    let y = forward(&x.data);
    debug_assert_eq!(y.len(), out.numel(), "layout_op: output of the wrong size");
    let out_id = UniqueId::new();
    if T::TRACING && tape.tracks(x.id) {
        let x_id = x.id;
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = g.take(out_id) else { return };
                backward(g, x_id, gy);
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

/// `x` with its axes reordered by `perm` (output axis `k` is input axis `perm[k]`). Every
/// element moves once, so the backward pass moves the output's gradient back into a new
/// buffer and hands it on as the input's, without the zero fill and the accumulating pass
/// of [`layout_op`] (the heads permute `(0, 2, 1, 3)` of (16, 128, 4, 64) f32, times a
/// weight, summed, backward, one thread: 367-406 -> 283-289 us; PyTorch 420-457).
pub(crate) fn permute_op<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    out: SO,
    perm: &[usize],
) -> Tensor<SO, E, T> {
    let dims = x.shape.dims();
    let perm = Dims::new(perm).expect("a permutation has at most MAX_RANK axes");
    moving_op(
        x,
        out,
        |x| layout::permute(x, &dims, &perm),
        move |g, x_id, gy| g.add(x_id, layout::permute_backward(&gy, &dims, &perm)),
    )
}

/// The build-time check of `unflatten`: a static axis must have `a * b` elements.
pub(crate) const fn check_unflatten(size: Option<usize>, axis: usize, a: usize, b: usize) {
    if let Some(n) = size {
        let ok = match a.checked_mul(b) {
            Some(p) => p == n,
            None => false,
        };
        if !ok {
            crate::shape::const_msg::ConstMsg::new()
                .s("unflatten: axis ")
                .n(axis)
                .s(" has size ")
                .n(n)
                .s(", which cannot be split into (")
                .n(a)
                .s(", ")
                .n(b)
                .s(")")
                .fail();
        }
    }
}

impl<S: Shape, E: Float, T: Tape<E>> Tensor<S, E, T> {
    /// The same elements in row-major order under another static shape (`torch.reshape`).
    /// The element counts must match, which is checked when the code is built; the buffer is
    /// shared, not copied.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank2<2, 3>>::from_array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// let y: Tensor<Rank2<3, 2>> = x.reshape();
    /// assert_eq!(y.to_vec(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    /// ```
    pub fn reshape<S2: ConstShape>(self) -> Tensor<S2, E, T>
    where
        S: ConstShape,
    {
        const {
            assert!(
                S::NUMEL == S2::NUMEL,
                "reshape: the new shape must have as many elements as the old one"
            )
        };
        view_op(self, S2::default())
    }

    /// [`reshape`](Self::reshape) into a shape given at run time (it may have run-time
    /// dimensions); panics when the element counts differ
    /// ([`try_reshape_dyn`](Self::try_reshape_dyn) returns an `Err` instead).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<(usize, usize)>::zeros_with_shape((2, 6));
    /// let y = x.reshape_dyn((3usize, Const::<4>));
    /// assert_eq!(y.dims().as_slice(), &[3, 4]);
    /// ```
    #[track_caller]
    pub fn reshape_dyn<S2: Shape>(self, shape: S2) -> Tensor<S2, E, T> {
        self.try_reshape_dyn(shape).or_panic()
    }

    /// [`reshape_dyn`](Self::reshape_dyn), with an error naming both shapes when the element
    /// counts differ.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<(usize, usize)>::zeros_with_shape((2, 6));
    /// let y = x.clone().try_reshape_dyn((3usize, Const::<4>)).unwrap();
    /// assert_eq!(y.dims().as_slice(), &[3, 4]);
    /// assert!(x.try_reshape_dyn((5usize,)).is_err());
    /// ```
    pub fn try_reshape_dyn<S2: Shape>(self, shape: S2) -> Result<Tensor<S2, E, T>> {
        let numel = shape.try_numel("reshape")?;
        if numel != self.numel() {
            return Err(Error::shape(
                "reshape",
                format!(
                    "cannot reshape a tensor of shape {:?} ({} elements) into shape {:?} ({} elements)",
                    self.shape.dims().as_slice(),
                    self.numel(),
                    shape.dims().as_slice(),
                    numel
                ),
            ));
        }
        Ok(view_op(self, shape))
    }

    /// Merges every dimension after the first into one (`torch.flatten(x, 1)`), e.g.
    /// `(B, C, H, W)` into `(B, Prod<C, Prod<H, W>>)`. Free: the buffer is shared.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank4<2, 3, 4, 5>>::zeros();
    /// let y = x.flatten();
    /// assert_eq!(y.dims().as_slice(), &[2, 60]);
    /// let z: Tensor<Rank2<2, 60>> = y.realize(); // the product is a static 60
    /// ```
    pub fn flatten(self) -> Tensor<<S as Flatten>::Output, E, T>
    where
        S: Flatten,
    {
        let out = self.shape.flatten_shape();
        view_op(self, out)
    }

    /// Merges every dimension into one (`torch.flatten(x)`); a scalar becomes one element.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank3<2, 3, 4>>::zeros();
    /// assert_eq!(x.flatten_all().dims().as_slice(), &[24]);
    /// ```
    pub fn flatten_all(self) -> Tensor<<S as FlattenAll>::Output, E, T>
    where
        S: FlattenAll,
    {
        let out = self.shape.flatten_all_shape();
        view_op(self, out)
    }

    /// Splits axis `I` into the two axes `(A, B)` (`x.unflatten(I, (A, B))`), the inverse of
    /// [`flatten`](Self::flatten). Free: the buffer is shared. A static axis whose size is not
    /// `A * B` does not compile (the message names the axis and the sizes); a run-time axis
    /// of the wrong size panics (see [`try_unflatten`](Self::try_unflatten)).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank2<2, 10>>::zeros();
    /// let y: Tensor<Rank3<2, 2, 5>> = x.unflatten::<1, 2, 5>();
    /// ```
    #[track_caller]
    pub fn unflatten<const I: usize, const A: usize, const B: usize>(
        self,
    ) -> Tensor<<S as SplitAxis<I>>::Output<Const<A>, Const<B>>, E, T>
    where
        S: SplitAxis<I>,
    {
        const { check_unflatten(<<S as HasAxis<I>>::Dim as Dim>::STATIC_SIZE, I, A, B) };
        self.try_unflatten::<I, A, B>().or_panic()
    }

    /// [`unflatten`](Self::unflatten), with an error naming the shape and the sizes when a
    /// run-time axis `I` does not have `A * B` elements.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<(usize, usize)>::zeros_with_shape((2, 10));
    /// assert_eq!(x.clone().try_unflatten::<1, 5, 2>().unwrap().dims().as_slice(), &[2, 5, 2]);
    /// assert!(x.try_unflatten::<1, 3, 3>().is_err());
    /// ```
    pub fn try_unflatten<const I: usize, const A: usize, const B: usize>(
        self,
    ) -> Result<Tensor<<S as SplitAxis<I>>::Output<Const<A>, Const<B>>, E, T>>
    where
        S: SplitAxis<I>,
    {
        self.try_unflatten_dyn::<I, _, _>(Const::<A>, Const::<B>)
    }

    /// Splits axis `I` into two axes of the sizes given at run time, `(a, b)`
    /// (`x.unflatten(I, (a, b))`); panics when the axis does not have `a * b` elements
    /// ([`try_unflatten_dyn`](Self::try_unflatten_dyn) returns an `Err` instead). Either size
    /// may be a `Const`. Free: the buffer is shared.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<(usize, usize)>::zeros_with_shape((3, 12));
    /// let y = x.unflatten_dyn::<1, _, _>(4usize, 3usize);
    /// assert_eq!(y.dims().as_slice(), &[3, 4, 3]);
    /// ```
    #[track_caller]
    pub fn unflatten_dyn<const I: usize, A: Dim, B: Dim>(
        self,
        a: A,
        b: B,
    ) -> Tensor<<S as SplitAxis<I>>::Output<A, B>, E, T>
    where
        S: SplitAxis<I>,
    {
        self.try_unflatten_dyn::<I, A, B>(a, b).or_panic()
    }

    /// [`unflatten_dyn`](Self::unflatten_dyn), with an error naming the shape and the sizes
    /// when axis `I` does not have `a * b` elements.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<(usize, usize)>::zeros_with_shape((3, 12));
    /// assert!(x.clone().try_unflatten_dyn::<1, _, _>(2usize, 6usize).is_ok());
    /// assert!(x.try_unflatten_dyn::<1, _, _>(5usize, 2usize).is_err());
    /// ```
    pub fn try_unflatten_dyn<const I: usize, A: Dim, B: Dim>(
        self,
        a: A,
        b: B,
    ) -> Result<Tensor<<S as SplitAxis<I>>::Output<A, B>, E, T>>
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
        Ok(view_op(self, out))
    }

    /// Inserts an axis of size 1 before position `I` (`torch.unsqueeze`). Free.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank2<2, 3>>::zeros();
    /// let y: Tensor<Rank3<2, 1, 3>> = x.unsqueeze::<1>();
    /// ```
    pub fn unsqueeze<const I: usize>(self) -> Tensor<<S as InsertAxis<I>>::Output<Const<1>>, E, T>
    where
        S: InsertAxis<I>,
    {
        let out = self.shape.insert_axis(Const::<1>);
        view_op(self, out)
    }

    /// Removes axis `I`, which must be `Const<1>` (`torch.squeeze(x, I)`); any other
    /// dimension there is a compile error. Free.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank3<2, 1, 3>>::zeros();
    /// let y: Tensor<Rank2<2, 3>> = x.squeeze::<1>();
    /// ```
    pub fn squeeze<const I: usize>(self) -> Tensor<<S as SqueezeShape<I>>::Output, E, T>
    where
        S: SqueezeShape<I>,
    {
        let out = self.shape.squeeze_shape();
        view_op(self, out)
    }

    /// Removes axis `I` when its run-time size is 1, with an error naming the shape otherwise.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<(usize, Const<3>)>::zeros_with_shape((1, Const));
    /// let y: Tensor<(Const<3>,)> = x.try_squeeze::<0>().unwrap();
    /// ```
    pub fn try_squeeze<const I: usize>(self) -> Result<Tensor<<S as HasAxis<I>>::Reduced, E, T>>
    where
        S: HasAxis<I>,
    {
        let n = self.shape.axis_dim().size();
        if n != 1 {
            return Err(Error::shape(
                "squeeze",
                format!(
                    "axis {I} of shape {:?} has size {n}, not 1",
                    self.shape.dims().as_slice()
                ),
            ));
        }
        let out = self.shape.reduced();
        Ok(view_op(self, out))
    }

    /// Swaps axes `I` and `J` (`torch.transpose`). The result is a contiguous copy.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank3<1, 2, 3>>::from_array([[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]]);
    /// let y: Tensor<Rank3<1, 3, 2>> = x.transpose::<1, 2>();
    /// assert_eq!(y.to_vec(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    /// ```
    pub fn transpose<const I: usize, const J: usize>(
        self,
    ) -> Tensor<<S as TransposeShape<I, J>>::Output, E, T>
    where
        S: TransposeShape<I, J>,
    {
        let out = self.shape.transpose_shape();
        let mut perm = [0, 1, 2, 3, 4, 5];
        perm.swap(I, J);
        let rank = self.shape.dims().rank();
        permute_op(self, out, &perm[..rank])
    }

    /// Reorders the axes by an axis-order type such as [`Axes3<2, 0, 1>`](crate::shape::Axes3),
    /// for code generic over the shape. With a concrete rank, [`permute`](Self::permute) reads
    /// better.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::shape::Axes3;
    /// let x = Tensor::<Rank3<2, 3, 4>>::zeros();
    /// let y: Tensor<Rank3<4, 2, 3>> = x.permute_axes::<Axes3<2, 0, 1>>();
    /// ```
    pub fn permute_axes<Ax>(self) -> Tensor<<S as PermuteShape<Ax>>::Output, E, T>
    where
        S: PermuteShape<Ax>,
    {
        let out = self.shape.permute_shape();
        permute_op(self, out, <S as PermuteShape<Ax>>::PERM)
    }

    /// Joins `self` and `rhs` along axis `I` (`torch.cat([self, rhs], I)`). Every other axis
    /// must match: a compile error naming the two dimensions when both are static, a panic
    /// otherwise (see [`try_concat`](Self::try_concat)). Axis `I` becomes their
    /// [`Sum`](crate::shape::Sum).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let a = Tensor::<Rank2<2, 2>>::from_array([[1.0, 2.0], [3.0, 4.0]]);
    /// let b = Tensor::<Rank2<2, 1>>::from_array([[5.0], [6.0]]);
    /// let c = a.concat::<1, _, _>(b);
    /// assert_eq!(c.dims().as_slice(), &[2, 3]);
    /// assert_eq!(c.to_vec(), vec![1.0, 2.0, 5.0, 3.0, 4.0, 6.0]);
    /// let c: Tensor<Rank2<2, 3>> = c.realize(); // Sum<Const<2>, Const<1>> is a static 3
    /// ```
    #[track_caller]
    pub fn concat<const I: usize, SR: Shape, TR: Tape<E>>(
        self,
        rhs: Tensor<SR, E, TR>,
    ) -> Tensor<<S as ConcatShape<SR, I>>::Output, E, <T as Merge<E, TR>>::Output>
    where
        S: ConcatShape<SR, I>,
        T: Merge<E, TR>,
    {
        let () = <S as ConcatShape<SR, I>>::CHECK;
        self.try_concat::<I, SR, TR>(rhs).or_panic()
    }

    /// [`concat`](Self::concat) with an error naming both shapes when run-time dimensions
    /// off the axis differ.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let a = Tensor::<(usize, usize)>::zeros_with_shape((2, 3));
    /// let b = Tensor::<(usize, usize)>::zeros_with_shape((4, 5));
    /// assert!(a.try_concat::<0, _, _>(b).is_err());
    /// ```
    #[allow(clippy::type_complexity)] // spelled out so that the docs show the output shape
    pub fn try_concat<const I: usize, SR: Shape, TR: Tape<E>>(
        self,
        rhs: Tensor<SR, E, TR>,
    ) -> Result<Tensor<<S as ConcatShape<SR, I>>::Output, E, <T as Merge<E, TR>>::Output>>
    where
        S: ConcatShape<SR, I>,
        T: Merge<E, TR>,
    {
        let () = <S as ConcatShape<SR, I>>::CHECK;
        let out = self.shape.concat_shape(&rhs.shape)?;
        let (ad, bd) = (self.shape.dims(), rhs.shape.dims());
        // The joined axis can be too long even when both inputs exist (empty tensors).
        let joined = ad[I].checked_add(bd[I]).map(|n| ad.with(I, n));
        if joined.and_then(|d| d.checked_numel()).is_none() {
            return Err(Error::shape(
                "concat",
                format!(
                    "concatenating shapes {:?} and {:?} along axis {I} gives a shape too large to exist",
                    ad.as_slice(),
                    bd.as_slice()
                ),
            ));
        }
        let (outer, na, inner) = split_axis(&ad, I);
        let nb = bd[I];
        let (a, ta) = self.split_tape();
        let (b, tb) = rhs.split_tape();
        let mut tape = ta.merge(tb);
        let y = layout::concat_axis(&[&a.data, &b.data], outer, &[na, nb], inner);
        let out_id = UniqueId::new();
        let track_a = <T as Merge<E, TR>>::Output::TRACING && tape.tracks(a.id);
        let track_b = <T as Merge<E, TR>>::Output::TRACING && tape.tracks(b.id);
        if track_a || track_b {
            let (a_id, b_id, total) = (a.id, b.id, na + nb);
            tape.record(
                out_id,
                Box::new(move |g: &mut Gradients<E>| {
                    let Some(gy) = g.take(out_id) else { return };
                    if track_a {
                        part_grad(g, a_id, &gy, (outer, total, inner), 0, na);
                    }
                    if track_b {
                        part_grad(g, b_id, &gy, (outer, total, inner), na, nb);
                    }
                }),
            );
        }
        Ok(Tensor {
            shape: out,
            data: Arc::new(y),
            id: out_id,
            tape,
        })
    }

    /// Stacks a list of tensors of one shape along a new axis `I` (`torch.stack`), merging
    /// their tapes. The new axis is `Const<N>` for an array of `N` tensors and `usize` for a
    /// `Vec` or slice (see [`TensorList`]). Panics if run-time
    /// dimensions differ or the list is empty (see [`try_stack`](Self::try_stack)); an empty
    /// array fails to build. Write the list type as `_`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let a = Tensor::<Rank1<2>>::from_array([1.0, 2.0]);
    /// let b = Tensor::<Rank1<2>>::from_array([3.0, 4.0]);
    /// let s: Tensor<Rank2<2, 2>> = Tensor::stack::<1, _>([a.clone(), b.clone()]);
    /// assert_eq!(s.to_vec(), vec![1.0, 3.0, 2.0, 4.0]);
    /// let v: Tensor<(usize, Const<2>)> = Tensor::stack::<0, _>(&vec![a, b]);
    /// assert_eq!(v.to_vec(), vec![1.0, 2.0, 3.0, 4.0]);
    /// ```
    #[track_caller]
    pub fn stack<const I: usize, L: TensorList<S, E, T>>(
        tensors: L,
    ) -> Tensor<<S as InsertAxis<I>>::Output<L::Len>, E, T>
    where
        S: InsertAxis<I>,
    {
        Self::try_stack::<I, L>(tensors).or_panic()
    }

    /// [`stack`](Self::stack) with an error for an empty list, or naming the first tensor
    /// whose shape differs from tensor 0's, with both sizes.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let a = Tensor::<(usize,)>::zeros_with_shape((2,));
    /// let b = Tensor::<(usize,)>::zeros_with_shape((3,));
    /// assert!(Tensor::try_stack::<0, _>([a, b]).is_err());
    /// ```
    pub fn try_stack<const I: usize, L: TensorList<S, E, T>>(
        tensors: L,
    ) -> Result<Tensor<<S as InsertAxis<I>>::Output<L::Len>, E, T>>
    where
        S: InsertAxis<I>,
    {
        const {
            assert!(
                !matches!(<L::Len as Dim>::STATIC_SIZE, Some(0)),
                "stack: needs at least one tensor"
            )
        };
        let (tensors, len) = tensors.into_tensors();
        check_same_dims("stack", &tensors, None)?;
        let out = tensors[0].shape.insert_axis(len);
        out.try_numel("stack")?;
        Ok(stack_op(tensors, I, out))
    }
}

macro_rules! permute_method {
    ($Ax:ident [$($D:ident)*] [$($P:ident)*] $example:literal) => {
        impl<$($D: Dim,)* E: Float, T: Tape<E>> Tensor<($($D,)*), E, T> {
            /// Reorders the axes (`torch.permute`): output axis `k` is input axis `P_k`. Each
            /// axis must appear once; an axis out of range is a compile error naming the
            /// shape, and a repeated axis fails the build. The result is a contiguous copy.
            ///
            /// ```
            /// use shaped::prelude::*;
            #[doc = $example]
            /// ```
            pub fn permute<$(const $P: usize),*>(
                self,
            ) -> Tensor<<($($D,)*) as PermuteShape<crate::shape::$Ax<$($P),*>>>::Output, E, T>
            where
                ($($D,)*): PermuteShape<crate::shape::$Ax<$($P),*>>,
            {
                self.permute_axes::<crate::shape::$Ax<$($P),*>>()
            }
        }
    };
}

permute_method!(Axes2 [D0 D1] [P0 P1]
    "let y: Tensor<Rank2<3, 2>> = Tensor::<Rank2<2, 3>>::zeros().permute::<1, 0>();");
permute_method!(Axes3 [D0 D1 D2] [P0 P1 P2]
    "let y: Tensor<Rank3<4, 2, 3>> = Tensor::<Rank3<2, 3, 4>>::zeros().permute::<2, 0, 1>();");
permute_method!(Axes4 [D0 D1 D2 D3] [P0 P1 P2 P3]
    "let nhwc: Tensor<Rank4<2, 4, 5, 3>> = Tensor::<Rank4<2, 3, 4, 5>>::zeros().permute::<0, 2, 3, 1>();");
permute_method!(Axes5 [D0 D1 D2 D3 D4] [P0 P1 P2 P3 P4]
    "let y: Tensor<Rank5<5, 1, 2, 3, 4>> = Tensor::<Rank5<1, 2, 3, 4, 5>>::zeros().permute::<4, 0, 1, 2, 3>();");
permute_method!(Axes6 [D0 D1 D2 D3 D4 D5] [P0 P1 P2 P3 P4 P5]
    "let y: Tensor<Rank6<6, 5, 4, 3, 2, 1>> =\n    Tensor::<Rank6<1, 2, 3, 4, 5, 6>>::zeros().permute::<5, 4, 3, 2, 1, 0>();");

impl<A: Dim, B: Dim, E: Float, T: Tape<E>> Tensor<(A, B), E, T> {
    /// The transpose of a matrix (`x.t()`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank2<2, 3>>::from_array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// let y: Tensor<Rank2<3, 2>> = x.t();
    /// assert_eq!(y.to_vec(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    /// ```
    pub fn t(self) -> Tensor<(B, A), E, T> {
        self.transpose::<0, 1>()
    }
}

/// Stacks a run-time number of same-shaped tensors along a new `axis` into `out` (whose dims
/// the caller has checked), merging their tapes: stacking is concatenation along a new axis
/// of size 1 in each input. Shared by `stack` and the recurrent layers' per-step outputs.
pub(crate) fn stack_op<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    tensors: Vec<Tensor<S, E, T>>,
    axis: usize,
    out: SO,
) -> Tensor<SO, E, T> {
    let n = tensors.len();
    let dims = out.dims();
    let outer: usize = dims[..axis].iter().product();
    let inner: usize = dims[axis + 1..].iter().product();
    let mut parts = Vec::with_capacity(n);
    let mut tape: Option<T> = None;
    for t in tensors {
        let (t, tp) = t.split_tape();
        tape = Some(match tape {
            None => tp,
            Some(acc) => acc.merge(tp),
        });
        parts.push(t);
    }
    let mut tape = tape.expect("stack needs at least one tensor");
    let slices: Vec<&[E]> = parts.iter().map(|t| t.data.as_slice()).collect();
    let y = layout::concat_axis(&slices, outer, &vec![1; n], inner);
    let out_id = UniqueId::new();
    let tracked: Vec<(usize, UniqueId)> = if T::TRACING {
        parts
            .iter()
            .enumerate()
            .filter(|(_, t)| tape.tracks(t.id))
            .map(|(k, t)| (k, t.id))
            .collect()
    } else {
        Vec::new()
    };
    if !tracked.is_empty() {
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = g.take(out_id) else { return };
                for (k, id) in tracked {
                    part_grad(g, id, &gy, (outer, n, inner), k, 1);
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
