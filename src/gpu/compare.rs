//! Comparisons and `where` on GPU tensors: the GPU's [`crate::ops::compare`]. Comparisons
//! borrow their operands and return an untraced mask of 0s and 1s in the element type;
//! [`where_`] selects by such a mask and is differentiable in both branches.

use super::tensor::{GpuTensor, add_grad, gpu_tensor, split, take_grad, wants, with_tape};
use crate::autograd::{Gradients, Merge, NoTape, Tape};
use crate::device::compare_kernels::{self as kernels, CompareOp};
use crate::device::kernels::sum_to;
use crate::dtype::Float;
use crate::error::{OrPanic, Result};
use crate::ops::compare::WhereShape;
use crate::shape::check::{BroadcastCheck, OpName};
use crate::shape::{BroadcastShapes, Shape};

macro_rules! gpu_comparisons {
    ($($(#[$m:meta])* $name:ident $try_name:ident $scalar:ident $marker:ident $op:ident;)*) => {
        $(
            /// Names the comparison in build-time shape errors.
            pub struct $marker;
            impl OpName for $marker {
                const NAME: &'static str = stringify!($name);
            }
        )*

        /// Comparisons of GPU tensors, under the CPU tensor's method names (`torch.eq`, `lt`,
        /// ...): 1 where the comparison holds, else 0, broadcasting as in PyTorch; NaN
        /// compares unequal to everything. Static shapes that do not broadcast do not compile.
        ///
        /// ```no_run
        /// use shaped::prelude::*;
        /// use shaped::gpu::prelude::*;
        /// let gpu = Wgpu::new()?;
        /// let a = Tensor::<Rank2<2, 1>>::from_array([[1.0], [3.0]]).to_device(&gpu)?;
        /// let b = Tensor::<Rank1<2>>::from_array([2.0, 4.0]).to_device(&gpu)?;
        /// assert_eq!(a.lt(&b).to_cpu()?.to_vec(), vec![1.0, 1.0, 0.0, 1.0]);
        /// assert_eq!(b.ge_scalar(3.0).to_cpu()?.to_vec(), vec![0.0, 1.0]);
        /// # Ok::<(), shaped::error::Error>(())
        /// ```
        pub trait GpuCompare<S: Shape, E: Float = f32> {
            $(
                $(#[$m])*
                #[track_caller]
                fn $name<SR: Shape, TR>(
                    &self,
                    rhs: &GpuTensor<SR, TR, E>,
                ) -> GpuTensor<<S as BroadcastShapes<SR>>::Output, NoTape, E>
                where
                    S: BroadcastShapes<SR>,
                {
                    let () = BroadcastCheck::<S, SR, $marker>::OK;
                    self.$try_name(rhs).or_panic()
                }
                #[doc = concat!("[`", stringify!($name), "`](Self::", stringify!($name), ") with an `Err` for run-time dimensions that do not broadcast.")]
                fn $try_name<SR: Shape, TR>(
                    &self,
                    rhs: &GpuTensor<SR, TR, E>,
                ) -> Result<GpuTensor<<S as BroadcastShapes<SR>>::Output, NoTape, E>>
                where
                    S: BroadcastShapes<SR>;
                #[doc = concat!("[`", stringify!($name), "`](Self::", stringify!($name), ") against a scalar.")]
                fn $scalar(&self, value: E) -> GpuTensor<S, NoTape, E>;
            )*
        }

        impl<S: Shape, E: Float, T> GpuCompare<S, E> for GpuTensor<S, T, E> {
            $(
                fn $try_name<SR: Shape, TR>(
                    &self,
                    rhs: &GpuTensor<SR, TR, E>,
                ) -> Result<GpuTensor<<S as BroadcastShapes<SR>>::Output, NoTape, E>>
                where
                    S: BroadcastShapes<SR>,
                {
                    let out = crate::shape::broadcast_for(stringify!($name), &self.shape, &rhs.shape)?;
                    let y = kernels::compare(
                        CompareOp::$op,
                        &self.data,
                        &self.shape.dims(),
                        &rhs.data,
                        &rhs.shape.dims(),
                        &out.dims(),
                    )?;
                    Ok(gpu_tensor(out, y, NoTape))
                }
                fn $scalar(&self, value: E) -> GpuTensor<S, NoTape, E> {
                    gpu_tensor(self.shape, kernels::compare_scalar(CompareOp::$op, &self.data, value), NoTape)
                }
            )*
        }
    };
}

gpu_comparisons! {
    /// 1 where `self == rhs`, else 0 (`torch.eq`).
    eq try_eq eq_scalar GpuEqOp Eq;
    /// 1 where `self != rhs`, else 0 (`torch.ne`); NaN differs from everything.
    ne try_ne ne_scalar GpuNeOp Ne;
    /// 1 where `self < rhs`, else 0 (`torch.lt`).
    lt try_lt lt_scalar GpuLtOp Lt;
    /// 1 where `self <= rhs`, else 0 (`torch.le`).
    le try_le le_scalar GpuLeOp Le;
    /// 1 where `self > rhs`, else 0 (`torch.gt`).
    gt try_gt gt_scalar GpuGtOp Gt;
    /// 1 where `self >= rhs`, else 0 (`torch.ge`).
    ge try_ge ge_scalar GpuGeOp Ge;
}

/// Names `where` in build-time shape errors.
pub struct GpuWhereOp;
impl OpName for GpuWhereOp {
    const NAME: &'static str = "where";
}

/// `a` where `cond` is nonzero, else `b` (`torch.where(cond, a, b)`), all three broadcast
/// together, on the GPU: the GPU's [`where_`](crate::ops::compare::where_). The gradient
/// reaches `a` where it was chosen and `b` elsewhere; `cond` is only read. Static shapes that
/// do not broadcast do not compile; run-time ones panic (see [`try_where_`]).
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// let gpu = Wgpu::new()?;
/// let x = Tensor::<Rank1<4>>::from_array([-2.0, -1.0, 1.0, 2.0]).to_device(&gpu)?;
/// let zero = Tensor::<Rank0>::zeros().to_device(&gpu)?;
/// let y = shaped::gpu::where_(&x.gt_scalar(0.0), x.clone(), zero); // relu
/// assert_eq!(y.to_cpu()?.to_vec(), vec![0.0, 0.0, 1.0, 2.0]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[track_caller]
pub fn where_<SC, SA, SB, E, TC, TA, TB>(
    cond: &GpuTensor<SC, TC, E>,
    a: GpuTensor<SA, TA, E>,
    b: GpuTensor<SB, TB, E>,
) -> GpuTensor<WhereShape<SC, SA, SB>, <TA as Merge<E, TB>>::Output, E>
where
    SC: BroadcastShapes<SA>,
    <SC as BroadcastShapes<SA>>::Output: BroadcastShapes<SB>,
    SA: Shape,
    SB: Shape,
    E: Float,
    TA: Tape<E> + Merge<E, TB>,
    TB: Tape<E>,
{
    let () = BroadcastCheck::<SC, SA, GpuWhereOp>::OK;
    let () = BroadcastCheck::<<SC as BroadcastShapes<SA>>::Output, SB, GpuWhereOp>::OK;
    try_where_(cond, a, b).or_panic()
}

/// [`where_`] with an `Err` for run-time dimensions that do not broadcast.
#[allow(clippy::type_complexity)] // spelled out so that the docs show the output shape
pub fn try_where_<SC, SA, SB, E, TC, TA, TB>(
    cond: &GpuTensor<SC, TC, E>,
    a: GpuTensor<SA, TA, E>,
    b: GpuTensor<SB, TB, E>,
) -> Result<GpuTensor<WhereShape<SC, SA, SB>, <TA as Merge<E, TB>>::Output, E>>
where
    SC: BroadcastShapes<SA>,
    <SC as BroadcastShapes<SA>>::Output: BroadcastShapes<SB>,
    SA: Shape,
    SB: Shape,
    E: Float,
    TA: Tape<E> + Merge<E, TB>,
    TB: Tape<E>,
{
    let () = BroadcastCheck::<SC, SA, GpuWhereOp>::OK;
    let () = BroadcastCheck::<<SC as BroadcastShapes<SA>>::Output, SB, GpuWhereOp>::OK;
    let out = crate::shape::broadcast_for("where", &cond.shape, &a.shape)?;
    let out = crate::shape::broadcast_for("where", &out, &b.shape)?;
    let (cd, od) = (cond.shape.dims().to_vec(), out.dims().to_vec());
    let (ad, bd) = (a.shape.dims().to_vec(), b.shape.dims().to_vec());
    let (a, ta) = split(a);
    let (b, tb) = split(b);
    let mut tape = ta.merge(tb);
    let y = kernels::where_((&cond.data, &cd), (&a.data, &ad), (&b.data, &bd), &od)?;
    let result = gpu_tensor(out, y, NoTape);
    let (track_a, track_b) = (wants(&tape, a.id), wants(&tape, b.id));
    if track_a || track_b {
        let (out_id, a_id, b_id, c) = (result.id, a.id, b.id, cond.data.clone());
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = take_grad(g, out_id) else {
                    return;
                };
                // The output gradient where each side was chosen, zero elsewhere, summed back
                // over that side's broadcast dimensions.
                let zero = gy.device.upload(&[E::ZERO]);
                let pick = |chosen: bool| {
                    let (x, y) = if chosen { (&gy, &zero) } else { (&zero, &gy) };
                    let (xd, yd): (&[usize], &[usize]) =
                        if chosen { (&od, &[]) } else { (&[], &od) };
                    kernels::where_((&c, &cd), (x, xd), (y, yd), &od)
                        .expect("ranks checked in forward")
                };
                if track_a {
                    let ga = sum_to(&pick(true), &od, &ad).expect("ranks checked in forward");
                    add_grad(g, a_id, ga);
                }
                if track_b {
                    let gb = sum_to(&pick(false), &od, &bd).expect("ranks checked in forward");
                    add_grad(g, b_id, gb);
                }
            }),
        );
    }
    Ok(with_tape(result, tape))
}
