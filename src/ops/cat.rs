//! Joining lists of tensors: `Tensor::cat` of any number of tensors along an existing axis,
//! `Tensor::stack` (in `shape_ops`) along a new one, and [`cat_tuple`] for a fixed number
//! of tensors whose shapes differ in their types.
//!
//! A list is an array, a `Vec` or a slice of tensors of one type ([`TensorList`]); its
//! length is `Const<N>` for an array and `usize` otherwise.

use crate::autograd::{Gradients, Tape, UniqueId};
use crate::backend::layout;
use crate::dtype::Float;
use crate::error::OrPanic;
use crate::error::{Error, Result};
use crate::shape::{Const, Dim, ReplaceAxis, Shape};
use crate::tensor::Tensor;
use std::sync::Arc;

/// A list of tensors of one type, as `cat` and `stack` take it: `[t; N]`, `&[t; N]`
/// (length `Const<N>`), `Vec<t>`, `&Vec<t>` or `&[t]` (length `usize`). Borrowed lists are
/// cloned, which shares the buffers and keeps traced tensors traced.
///
/// ```
/// use shaped::ops::cat::TensorList;
/// use shaped::prelude::*;
/// let v = vec![Tensor::<Rank1<2>>::ones(); 3];
/// let (tensors, len) = TensorList::into_tensors(&v);
/// assert_eq!((tensors.len(), len), (3, 3usize));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a list of tensors of one type",
    label = "expected an array, a `Vec` or a slice of tensors",
    note = "every tensor in the list must have the same type; convert differing axes to `usize` (`try_realize`), or use `cat_tuple` for a few tensors of different static shapes"
)]
pub trait TensorList<S: Shape, E: Float, T: Tape<E>> {
    /// The number of tensors: `Const<N>` for arrays, `usize` for the others.
    type Len: Dim;
    /// The tensors, owned, and their number.
    fn into_tensors(self) -> (Vec<Tensor<S, E, T>>, Self::Len);
}

impl<S: Shape, E: Float, T: Tape<E>, const N: usize> TensorList<S, E, T> for [Tensor<S, E, T>; N] {
    type Len = Const<N>;
    fn into_tensors(self) -> (Vec<Tensor<S, E, T>>, Const<N>) {
        (self.into(), Const)
    }
}
impl<S: Shape, E: Float, T: Tape<E>, const N: usize> TensorList<S, E, T> for &[Tensor<S, E, T>; N] {
    type Len = Const<N>;
    fn into_tensors(self) -> (Vec<Tensor<S, E, T>>, Const<N>) {
        (self.to_vec(), Const)
    }
}
impl<S: Shape, E: Float, T: Tape<E>> TensorList<S, E, T> for Vec<Tensor<S, E, T>> {
    type Len = usize;
    fn into_tensors(self) -> (Vec<Tensor<S, E, T>>, usize) {
        let n = self.len();
        (self, n)
    }
}
impl<S: Shape, E: Float, T: Tape<E>> TensorList<S, E, T> for &Vec<Tensor<S, E, T>> {
    type Len = usize;
    fn into_tensors(self) -> (Vec<Tensor<S, E, T>>, usize) {
        (self.clone(), self.len())
    }
}
impl<S: Shape, E: Float, T: Tape<E>> TensorList<S, E, T> for &[Tensor<S, E, T>] {
    type Len = usize;
    fn into_tensors(self) -> (Vec<Tensor<S, E, T>>, usize) {
        (self.to_vec(), self.len())
    }
}

/// The error for an empty list.
pub(crate) fn empty_list_error(op: &'static str) -> Error {
    Error::shape(op, "needs at least one tensor, but the list is empty")
}

/// Checks that every tensor has the dims of tensor 0, except along `free` (if any); the
/// error names the first offending tensor, the axis and both sizes.
pub(crate) fn check_same_dims<S: Shape, E: Float, T: Tape<E>>(
    op: &'static str,
    tensors: &[Tensor<S, E, T>],
    free: Option<usize>,
) -> Result<()> {
    let Some(first) = tensors.first() else {
        return Err(empty_list_error(op));
    };
    let d0 = first.shape.dims();
    for (k, t) in tensors.iter().enumerate().skip(1) {
        let dk = t.shape.dims();
        if let Some(a) = (0..d0.rank()).find(|&a| Some(a) != free && d0[a] != dk[a]) {
            let rule = match free {
                Some(f) => format!("only axis {f} may differ"),
                None => "every tensor needs the same shape".to_string(),
            };
            return Err(Error::shape(
                op,
                format!(
                    "tensor {k} has shape {:?} but tensor 0 has shape {:?}: axis {a} differs ({} vs {}); {rule}",
                    dk.as_slice(),
                    d0.as_slice(),
                    dk[a],
                    d0[a]
                ),
            ));
        }
    }
    Ok(())
}

/// Joins `tensors` (dims checked by the caller) along `axis` into `out`, merging their tapes;
/// each input's gradient is its slice of the output's.
pub(crate) fn cat_op<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    tensors: Vec<Tensor<S, E, T>>,
    axis: usize,
    out: SO,
) -> Tensor<SO, E, T> {
    let dims = out.dims();
    let outer: usize = dims[..axis].iter().product();
    let inner: usize = dims[axis + 1..].iter().product();
    let total = dims[axis];
    let sizes: Vec<usize> = tensors.iter().map(|t| t.shape.dims()[axis]).collect();
    let mut parts = Vec::with_capacity(tensors.len());
    let mut tape: Option<T> = None;
    for t in tensors {
        let (t, tp) = t.split_tape();
        tape = Some(match tape {
            None => tp,
            Some(acc) => acc.merge(tp),
        });
        parts.push(t);
    }
    let mut tape = tape.expect("cat_op: the caller checks that the list is not empty");
    let slices: Vec<&[E]> = parts.iter().map(|t| t.data.as_slice()).collect();
    let y = layout::concat_axis(&slices, outer, &sizes, inner);
    debug_assert_eq!(y.len(), out.numel());
    let out_id = UniqueId::new();
    let mut tracked = Vec::new();
    if T::TRACING {
        let mut start = 0;
        for (t, &n) in parts.iter().zip(&sizes) {
            if tape.tracks(t.id) {
                tracked.push((t.id, start, n));
            }
            start += n;
        }
    }
    if !tracked.is_empty() {
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = g.take(out_id) else { return };
                for (id, start, n) in tracked {
                    part_grad(g, id, &gy, (outer, total, inner), start, n);
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

/// Hands input `id` of a join its part of the output's gradient `gy` (`[outer, total,
/// inner]`): `start..start + n` along the joined axis, added into the input's gradient when
/// it has one, else copied out as its first (one pass, no zero-filled buffer to add into).
pub(crate) fn part_grad<E: Float>(
    g: &mut Gradients<E>,
    id: UniqueId,
    gy: &[E],
    (outer, total, inner): (usize, usize, usize),
    start: usize,
    n: usize,
) {
    if g.has(id) {
        let gx = g.entry(id, outer * n * inner);
        layout::concat_axis_backward(gx, gy, outer, total, inner, start, n);
    } else {
        g.insert(id, layout::narrow_axis(gy, outer, total, inner, start, n));
    }
}

impl<S: Shape, E: Float, T: Tape<E>> Tensor<S, E, T> {
    /// Joins a list of tensors along axis `I` (`torch.cat(tensors, dim=I)`); the list's
    /// length and the tensors' sizes along `I` may be known only at run time, so axis `I`
    /// becomes a `usize`. Every other axis must match. Each input's gradient is its slice of
    /// the output's. Panics on an empty list or a mismatch (see [`try_cat`](Self::try_cat)).
    /// Write the list type as `_`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let parts: Vec<Tensor<(usize, Const<2>)>> = (1..=3)
    ///     .map(|n| Tensor::full_with_shape((n, Const), n as f32))
    ///     .collect();
    /// let y = Tensor::cat::<0, _>(&parts);
    /// assert_eq!(y.dims().as_slice(), &[6, 2]);
    /// assert_eq!(y.to_vec(), vec![1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0]);
    /// ```
    #[track_caller]
    pub fn cat<const I: usize, L: TensorList<S, E, T>>(
        tensors: L,
    ) -> Tensor<<S as ReplaceAxis<I>>::Output<usize>, E, T>
    where
        S: ReplaceAxis<I>,
    {
        Self::try_cat::<I, L>(tensors).or_panic()
    }

    /// [`cat`](Self::cat), with an error for an empty list, or naming the first tensor whose
    /// size off axis `I` differs from tensor 0's, with both sizes.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let a = Tensor::<(usize, usize)>::zeros_with_shape((2, 3));
    /// let b = Tensor::<(usize, usize)>::zeros_with_shape((2, 4));
    /// let err = Tensor::try_cat::<0, _>(vec![a, b]).unwrap_err().to_string();
    /// assert!(err.contains("tensor 1") && err.contains("(4 vs 3)"));
    /// let empty: Vec<Tensor<(usize, usize)>> = Vec::new();
    /// assert!(Tensor::try_cat::<0, _>(empty).is_err());
    /// ```
    pub fn try_cat<const I: usize, L: TensorList<S, E, T>>(
        tensors: L,
    ) -> Result<Tensor<<S as ReplaceAxis<I>>::Output<usize>, E, T>>
    where
        S: ReplaceAxis<I>,
    {
        let (tensors, _) = tensors.into_tensors();
        check_same_dims("cat", &tensors, Some(I))?;
        // Checked (issue 14): the joined axis, and the shape it makes, must exist.
        let total = tensors
            .iter()
            .try_fold(0usize, |acc, t| acc.checked_add(t.shape.dims()[I]));
        let joined = total.and_then(|n| tensors[0].shape.dims().with(I, n).checked_numel());
        let (Some(total), Some(_)) = (total, joined) else {
            return Err(crate::error::Error::shape(
                "cat",
                format!(
                    "joining {} tensors of shape like {:?} along axis {I} gives a shape too large to exist",
                    tensors.len(),
                    tensors[0].shape.dims().as_slice()
                ),
            ));
        };
        let out = tensors[0].shape.replace_axis(total);
        Ok(cat_op(tensors, I, out))
    }
}

/// A tuple of two to six tensors that join along axis `I`, each shape in its own type:
/// the natural `torch.cat` for a fixed number of tensors. See [`cat_tuple`].
///
/// ```
/// use shaped::ops::cat::CatTuple;
/// use shaped::prelude::*;
/// let t = (Tensor::<Rank1<1>>::ones(), Tensor::<Rank1<2>>::zeros());
/// assert_eq!(CatTuple::<0>::try_cat_tuple(t).unwrap().to_vec(), vec![1.0, 0.0, 0.0]);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tuple of two to six tensors that concatenate along axis {I}",
    note = "each pair of neighbours must follow `concat`'s rule: same rank, equal dimensions off axis {I}"
)]
pub trait CatTuple<const I: usize> {
    /// The joined tensor: axis `I` is the [`Sum`](crate::shape::Sum) of the parts' axes.
    type Output;
    /// Joins the tensors, with an error naming the shapes when run-time dimensions off
    /// axis `I` differ.
    fn try_cat_tuple(self) -> Result<Self::Output>;
}

/// `CatTuple` for the tuples of two to six tensors of device `$D` (the CPU here, the GPU in
/// `crate::gpu`): each step is that device's `try_concat`, which must be in scope.
macro_rules! cat_tuple_impl {
    ($D:ty; $S0:ident $T0:ident $t0:ident; $([$P:ident $PT:ident + $S:ident $T:ident $t:ident = $Acc:ident $TA:ident]),+; $Out:ident $TOut:ident) => {
        impl<E: $crate::dtype::Float, const I: usize, $S0: $crate::shape::Shape, $T0: $crate::autograd::Tape<E>, $($S: $crate::shape::Shape, $T: $crate::autograd::Tape<E>, $Acc: $crate::shape::Shape, $TA: $crate::autograd::Tape<E>,)+>
            $crate::ops::cat::CatTuple<I> for ($crate::tensor::Tensor<$S0, E, $T0, $D>, $($crate::tensor::Tensor<$S, E, $T, $D>,)+)
        where
            $($P: $crate::shape::ConcatShape<$S, I, Output = $Acc>, $PT: $crate::autograd::Merge<E, $T, Output = $TA>,)+
        {
            type Output = $crate::tensor::Tensor<$Out, E, $TOut, $D>;
            fn try_cat_tuple(self) -> $crate::error::Result<Self::Output> {
                let ($t0, $($t,)+) = self;
                let acc = $t0;
                $(let acc: $crate::tensor::Tensor<$Acc, E, $TA, $D> = acc.try_concat::<I, _, _>($t)?;)+
                Ok(acc)
            }
        }
    };
}

pub(crate) use cat_tuple_impl;

/// The tuples of two to six tensors of device `$D`, through `cat_tuple_impl`.
macro_rules! cat_tuples {
    ($D:ty) => {
        $crate::ops::cat::cat_tuple_impl!($D; S0 T0 t0; [S0 T0 + S1 T1 t1 = O1 U1]; O1 U1);
        $crate::ops::cat::cat_tuple_impl!($D; S0 T0 t0; [S0 T0 + S1 T1 t1 = O1 U1], [O1 U1 + S2 T2 t2 = O2 U2]; O2 U2);
        $crate::ops::cat::cat_tuple_impl!($D; S0 T0 t0; [S0 T0 + S1 T1 t1 = O1 U1], [O1 U1 + S2 T2 t2 = O2 U2],
            [O2 U2 + S3 T3 t3 = O3 U3]; O3 U3);
        $crate::ops::cat::cat_tuple_impl!($D; S0 T0 t0; [S0 T0 + S1 T1 t1 = O1 U1], [O1 U1 + S2 T2 t2 = O2 U2],
            [O2 U2 + S3 T3 t3 = O3 U3], [O3 U3 + S4 T4 t4 = O4 U4]; O4 U4);
        $crate::ops::cat::cat_tuple_impl!($D; S0 T0 t0; [S0 T0 + S1 T1 t1 = O1 U1], [O1 U1 + S2 T2 t2 = O2 U2],
            [O2 U2 + S3 T3 t3 = O3 U3], [O3 U3 + S4 T4 t4 = O4 U4], [O4 U4 + S5 T5 t5 = O5 U5]; O5 U5);
    };
}
#[cfg_attr(not(feature = "wgpu"), allow(unused_imports))] // the GPU's tuples use it too
pub(crate) use cat_tuples;

cat_tuples!(crate::tensor::Cpu);

/// Joins a tuple of two to six tensors along axis `I` (`torch.cat((a, b, c), dim=I)`),
/// each with its own static shape: axis `I` becomes the [`Sum`](crate::shape::Sum) of the
/// parts (`realize` turns it into a `Const`), and a mismatch of static dimensions off the
/// axis is a compile error, as for [`concat`](Tensor::concat). Panics when run-time
/// dimensions differ (see [`try_cat_tuple`]).
///
/// ```
/// use shaped::ops::cat::cat_tuple;
/// use shaped::prelude::*;
/// let a = Tensor::<Rank2<1, 2>>::from_array([[1.0, 2.0]]);
/// let b = Tensor::<Rank2<2, 2>>::from_array([[3.0, 4.0], [5.0, 6.0]]);
/// let c = Tensor::<Rank2<1, 2>>::from_array([[7.0, 8.0]]);
/// let y: Tensor<Rank2<4, 2>> = cat_tuple::<0, _>((a, b, c)).realize();
/// assert_eq!(y.to_vec(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
/// ```
#[track_caller]
pub fn cat_tuple<const I: usize, L: CatTuple<I>>(tensors: L) -> L::Output {
    tensors.try_cat_tuple().or_panic()
}

/// [`cat_tuple`], with an error naming the shapes when run-time dimensions off axis `I`
/// differ.
///
/// ```
/// use shaped::ops::cat::try_cat_tuple;
/// use shaped::prelude::*;
/// let a = Tensor::<(usize, usize)>::zeros_with_shape((1, 2));
/// let b = Tensor::<(usize, usize)>::zeros_with_shape((1, 3));
/// assert!(try_cat_tuple::<0, _>((a.clone(), a, b)).is_err());
/// ```
pub fn try_cat_tuple<const I: usize, L: CatTuple<I>>(tensors: L) -> Result<L::Output> {
    tensors.try_cat_tuple()
}
