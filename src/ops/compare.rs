//! Comparisons and elementwise selection.
//!
//! Comparisons are not differentiable: they borrow their operands (a traced operand keeps
//! its tape and history) and return an untraced tensor of 0s and 1s in the element type,
//! with PyTorch broadcasting. [`where_`] selects between two tensors by such a mask and is
//! differentiable in both of them.

use crate::autograd::{Gradients, Merge, Tape, UniqueId};
use crate::backend::compare as kernels;
use crate::dtype::Float;
use crate::error::OrPanic;
use crate::error::Result;
use crate::shape::check::{BroadcastCheck, OpName};
use crate::shape::{BroadcastShapes, Dims, Shape};
use crate::tensor::Tensor;
use std::sync::Arc;

macro_rules! comparisons {
    ($($(#[$m:meta])* $name:ident $try_name:ident $scalar:ident $marker:ident $op:tt;)*) => {
        $(
            /// Names the comparison in build-time shape errors.
            struct $marker;
            impl OpName for $marker {
                const NAME: &'static str = stringify!($name);
            }
        )*
        impl<S: Shape, E: Float, T> Tensor<S, E, T> {
            $(
                $(#[$m])*
                ///
                /// Shapes broadcast as in PyTorch; static shapes that do not broadcast are a
                /// compile error. Panics if run-time dimensions do not broadcast (see the
                #[doc = concat!("`", stringify!($try_name), "` variant).")]
                #[track_caller]
                pub fn $name<SR: Shape, TR>(
                    &self,
                    rhs: &Tensor<SR, E, TR>,
                ) -> Tensor<<S as BroadcastShapes<SR>>::Output, E>
                where
                    S: BroadcastShapes<SR>,
                {
                    let () = BroadcastCheck::<S, SR, $marker>::OK;
                    self.$try_name(rhs).or_panic()
                }

                #[doc = concat!("[`", stringify!($name), "`](Self::", stringify!($name), "), with an error for run-time dimensions that do not broadcast.")]
                pub fn $try_name<SR: Shape, TR>(
                    &self,
                    rhs: &Tensor<SR, E, TR>,
                ) -> Result<Tensor<<S as BroadcastShapes<SR>>::Output, E>>
                where
                    S: BroadcastShapes<SR>,
                {
                    let () = BroadcastCheck::<S, SR, $marker>::OK;
                    let out = crate::shape::broadcast_for(stringify!($name), &self.shape, &rhs.shape)?;
                    let (ad, bd, od) = super::binary::merge_axes(self.shape.dims(), rhs.shape.dims(), out.dims());
                    let y = kernels::compare(&self.data, &ad, &rhs.data, &bd, &od, |a, b| a $op b);
                    Ok(Tensor::from_parts(out, y))
                }

                #[doc = concat!("1 where `x ", stringify!($op), " value`, else 0.")]
                pub fn $scalar(&self, value: E) -> Tensor<S, E> {
                    Tensor::from_parts(self.shape, kernels::compare_scalar(&self.data, |a| a $op value))
                }
            )*
        }
    };
}

comparisons! {
    /// 1 where `self == rhs`, else 0 (`torch.eq`, as a float mask).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let a = Tensor::<Rank1<3>>::from_array([1.0, 2.0, 3.0]);
    /// let b = Tensor::<Rank1<3>>::from_array([1.0, 0.0, 3.0]);
    /// assert_eq!(a.eq(&b).to_vec(), vec![1.0, 0.0, 1.0]);
    /// assert_eq!(a.eq_scalar(2.0).to_vec(), vec![0.0, 1.0, 0.0]);
    /// ```
    eq try_eq eq_scalar EqOp ==;
    /// 1 where `self != rhs`, else 0 (`torch.ne`); NaN differs from everything.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let a = Tensor::<Rank1<2>>::from_array([1.0, f32::NAN]);
    /// assert_eq!(a.ne(&a).to_vec(), vec![0.0, 1.0]);
    /// ```
    ne try_ne ne_scalar NeOp !=;
    /// 1 where `self < rhs`, else 0 (`torch.lt`), broadcasting.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let a = Tensor::<Rank2<2, 1>>::from_array([[1.0], [3.0]]);
    /// let b = Tensor::<Rank1<2>>::from_array([2.0, 4.0]);
    /// assert_eq!(a.lt(&b).to_vec(), vec![1.0, 1.0, 0.0, 1.0]);
    /// ```
    lt try_lt lt_scalar LtOp <;
    /// 1 where `self <= rhs`, else 0 (`torch.le`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let a = Tensor::<Rank1<3>>::from_array([1.0, 2.0, 3.0]);
    /// assert_eq!(a.le_scalar(2.0).to_vec(), vec![1.0, 1.0, 0.0]);
    /// ```
    le try_le le_scalar LeOp <=;
    /// 1 where `self > rhs`, else 0 (`torch.gt`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let a = Tensor::<Rank1<3>>::from_array([1.0, 2.0, 3.0]);
    /// assert_eq!(a.gt_scalar(2.0).to_vec(), vec![0.0, 0.0, 1.0]);
    /// ```
    gt try_gt gt_scalar GtOp >;
    /// 1 where `self >= rhs`, else 0 (`torch.ge`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let a = Tensor::<Rank1<3>>::from_array([1.0, 2.0, 3.0]);
    /// let b = Tensor::<Rank1<3>>::full(2.0);
    /// assert_eq!(a.ge(&b).to_vec(), vec![0.0, 1.0, 1.0]);
    /// ```
    ge try_ge ge_scalar GeOp >=;
}

/// Names `where` in build-time shape errors.
struct WhereOp;
impl OpName for WhereOp {
    const NAME: &'static str = "where";
}

/// The shape of `where_(cond, a, b)`: all three broadcast together.
pub type WhereShape<SC, SA, SB> =
    <<SC as BroadcastShapes<SA>>::Output as BroadcastShapes<SB>>::Output;

/// `a` where `cond` is nonzero, else `b` (`torch.where(cond, a, b)`), with all three
/// broadcast together. The gradient reaches `a` where it was chosen and `b` elsewhere;
/// `cond` is only read. Panics if run-time dimensions do not broadcast (see
/// [`Tensor::try_where_cond`]).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::ops::compare::where_;
/// let x = Tensor::<Rank1<4>>::from_array([-2.0, -1.0, 1.0, 2.0]);
/// let y = where_(&x.gt_scalar(0.0), x.clone(), Tensor::<Rank0>::zeros()); // relu
/// assert_eq!(y.to_vec(), vec![0.0, 0.0, 1.0, 2.0]);
/// ```
pub fn where_<SC, SA, SB, E, TC, TA, TB>(
    cond: &Tensor<SC, E, TC>,
    a: Tensor<SA, E, TA>,
    b: Tensor<SB, E, TB>,
) -> Tensor<WhereShape<SC, SA, SB>, E, <TA as Merge<E, TB>>::Output>
where
    SC: BroadcastShapes<SA>,
    <SC as BroadcastShapes<SA>>::Output: BroadcastShapes<SB>,
    SA: Shape,
    SB: Shape,
    E: Float,
    TA: Tape<E> + Merge<E, TB>,
    TB: Tape<E>,
{
    let () = BroadcastCheck::<SC, SA, WhereOp>::OK;
    let () = BroadcastCheck::<<SC as BroadcastShapes<SA>>::Output, SB, WhereOp>::OK;
    Tensor::where_cond(cond, a, b)
}

impl<SC: Shape, E: Float, TC> Tensor<SC, E, TC> {
    /// `a` where `cond` is nonzero, else `b`; the same as [`where_`].
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let a = Tensor::<Rank1<3>, f64>::from_array([1.0, 2.0, 3.0]);
    /// let b = Tensor::<Rank1<3>, f64>::from_array([10.0, 20.0, 30.0]);
    /// let cond = Tensor::<Rank1<3>, f64>::from_array([1.0, 0.0, 1.0]);
    /// let y = Tensor::where_cond(&cond, a.clone().trace(), b.clone());
    /// assert_eq!(y.to_vec(), vec![1.0, 20.0, 3.0]);
    /// let grads = y.sum().backward();
    /// assert_eq!(grads.get(&a).unwrap().to_vec(), vec![1.0, 0.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn where_cond<SA, SB, TA, TB>(
        cond: &Self,
        a: Tensor<SA, E, TA>,
        b: Tensor<SB, E, TB>,
    ) -> Tensor<WhereShape<SC, SA, SB>, E, <TA as Merge<E, TB>>::Output>
    where
        SC: BroadcastShapes<SA>,
        <SC as BroadcastShapes<SA>>::Output: BroadcastShapes<SB>,
        SA: Shape,
        SB: Shape,
        TA: Tape<E> + Merge<E, TB>,
        TB: Tape<E>,
    {
        let () = BroadcastCheck::<SC, SA, WhereOp>::OK;
        let () = BroadcastCheck::<<SC as BroadcastShapes<SA>>::Output, SB, WhereOp>::OK;
        Self::try_where_cond(cond, a, b).or_panic()
    }

    /// [`where_cond`](Self::where_cond), with an error for run-time dimensions that do not
    /// broadcast.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let cond = Tensor::<(usize,)>::zeros_with_shape((3,));
    /// let a = Tensor::<(usize,)>::zeros_with_shape((4,));
    /// assert!(Tensor::try_where_cond(&cond, a, Tensor::<Rank0>::zeros()).is_err());
    /// ```
    #[allow(clippy::type_complexity)] // spelled out so that the docs show the output shape
    pub fn try_where_cond<SA, SB, TA, TB>(
        cond: &Self,
        a: Tensor<SA, E, TA>,
        b: Tensor<SB, E, TB>,
    ) -> Result<Tensor<WhereShape<SC, SA, SB>, E, <TA as Merge<E, TB>>::Output>>
    where
        SC: BroadcastShapes<SA>,
        <SC as BroadcastShapes<SA>>::Output: BroadcastShapes<SB>,
        SA: Shape,
        SB: Shape,
        TA: Tape<E> + Merge<E, TB>,
        TB: Tape<E>,
    {
        let () = BroadcastCheck::<SC, SA, WhereOp>::OK;
        let () = BroadcastCheck::<<SC as BroadcastShapes<SA>>::Output, SB, WhereOp>::OK;
        let out = crate::shape::broadcast_for("where", &cond.shape, &a.shape)?;
        let out = crate::shape::broadcast_for("where", &out, &b.shape)?;
        let dims = [cond.shape.dims(), a.shape.dims(), b.shape.dims()];
        let ([cd, ad, bd], od) = super::binary::merge_operand_axes(dims, out.dims());
        let (a, ta) = a.split_tape();
        let (b, tb) = b.split_tape();
        let mut tape = ta.merge(tb);
        let mask = kernels::mask(&cond.data, &cd, &od);
        let y = kernels::select(&mask, &a.data, &ad, &b.data, &bd, &od);
        let out_id = UniqueId::new();
        let track_a = <TA as Merge<E, TB>>::Output::TRACING && tape.tracks(a.id);
        let track_b = <TA as Merge<E, TB>>::Output::TRACING && tape.tracks(b.id);
        if track_a || track_b {
            let (a_id, b_id, na, nb) = (a.id, b.id, a.data.len(), b.data.len());
            tape.record(
                out_id,
                Box::new(move |g: &mut Gradients<E>| {
                    let Some(gy) = g.take(out_id) else { return };
                    // An input of the output's shape with no gradient yet takes its masked
                    // part written once; otherwise it is added (and summed, if broadcast).
                    let mut side = |id, len, dims: &Dims, pick| {
                        if len == mask.len() && !g.has(id) {
                            g.insert(id, kernels::masked_grad(&gy, &mask, pick));
                        } else {
                            let acc = g.entry(id, len);
                            kernels::select_backward(acc, dims, &gy, &mask, pick, &od);
                        }
                    };
                    if track_a {
                        side(a_id, na, &ad, true);
                    }
                    if track_b {
                        side(b_id, nb, &bd, false);
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
}
