//! `torch.cat` and `torch.stack` of a list of GPU tensors ([`cat`], [`stack`]): the inputs'
//! elements joined into one buffer, then one gather into the output's layout; each input's
//! gradient is its part of the output's. Free functions rather than `GpuTensor::cat`, so
//! that the CPU's `Tensor::cat::<0, _>(..)` keeps naming one function when the `wgpu`
//! feature is on.

use super::gather::{around, gather_op, join_flat};
use super::tensor::GpuTensor;
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::{Error, OrPanic, Result};
use crate::shape::{Const, Dim, InsertAxis, ReplaceAxis, Shape};

/// A list of GPU tensors of one type: an array (its length is `Const<N>`), a `Vec` or a
/// slice (`usize`), owned or borrowed; what [`cat`] and [`stack`] take, as the CPU's
/// `TensorList` (`shaped::ops::cat`) is for CPU tensors.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a list of GPU tensors of one type",
    label = "expected an array, a `Vec` or a slice of GPU tensors"
)]
pub trait GpuTensorList {
    /// The tensors' shape.
    type Shape: Shape;
    /// The tensors' element type.
    type Elem: Float;
    /// The tensors' tape.
    type Tape: Tape<Self::Elem>;
    /// The number of tensors: `Const<N>` for arrays, `usize` for the others.
    type Len: Dim;
    /// The tensors, owned, and their number.
    #[allow(clippy::type_complexity)]
    fn into_tensors(
        self,
    ) -> (
        Vec<GpuTensor<Self::Shape, Self::Tape, Self::Elem>>,
        Self::Len,
    );
}

macro_rules! tensor_list {
    ([$($gen:tt)*] $list:ty, $len:ty, |$v:ident| $body:expr) => {
        impl<S: Shape, E: Float, T: Tape<E>, $($gen)*> GpuTensorList for $list {
            type Shape = S;
            type Elem = E;
            type Tape = T;
            type Len = $len;
            fn into_tensors(self) -> (Vec<GpuTensor<S, T, E>>, $len) {
                let $v = self;
                $body
            }
        }
    };
}

tensor_list!([const N: usize] [GpuTensor<S, T, E>; N], Const<N>, |v| (v.into(), Const));
tensor_list!([const N: usize] &[GpuTensor<S, T, E>; N], Const<N>, |v| (v.to_vec(), Const));
tensor_list!([] Vec<GpuTensor<S, T, E>>, usize, |v| {
    let n = v.len();
    (v, n)
});
tensor_list!([] &Vec<GpuTensor<S, T, E>>, usize, |v| (v.clone(), v.len()));
tensor_list!([] &[GpuTensor<S, T, E>], usize, |v| (v.to_vec(), v.len()));

/// The shape [`cat`] makes of a list: axis `I` becomes a `usize`.
pub type CatShape<L, const I: usize> =
    <<L as GpuTensorList>::Shape as ReplaceAxis<I>>::Output<usize>;
/// The shape [`stack`] makes of a list: a new axis `I` of the list's length.
pub type StackShape<L, const I: usize> =
    <<L as GpuTensorList>::Shape as InsertAxis<I>>::Output<<L as GpuTensorList>::Len>;

/// Every tensor has tensor 0's dims except along `free`; the error names the first that
/// does not, the axis and both sizes (the CPU's message).
fn check_same_dims<S: Shape, E: Float, T>(
    op: &'static str,
    tensors: &[GpuTensor<S, T, E>],
    free: Option<usize>,
) -> Result<()> {
    let Some(first) = tensors.first() else {
        return Err(Error::shape(
            op,
            "needs at least one tensor, but the list is empty",
        ));
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

/// Joins `tensors` (each `(outer, sizes[k], inner)`) along the middle axis into `out`.
fn join<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    op: &'static str,
    tensors: Vec<GpuTensor<S, T, E>>,
    sizes: &[usize],
    (outer, inner): (usize, usize),
    out: SO,
) -> Result<GpuTensor<SO, T, E>> {
    let total: usize = sizes.iter().sum();
    // Output row `o` is every input's row `o` in turn; input k starts at `starts[k]` in
    // the joined buffer.
    let mut starts = Vec::with_capacity(sizes.len());
    let mut at = 0;
    for &n in sizes {
        starts.push(at);
        at += outer * n * inner;
    }
    let mut map = Vec::with_capacity(outer * total * inner);
    for o in 0..outer {
        for (&n, &start) in sizes.iter().zip(&starts) {
            let base = start + o * n * inner;
            map.extend(base..base + n * inner);
        }
    }
    gather_op(op, join_flat(tensors), out, map, E::ZERO)
}

/// Joins a list of GPU tensors along axis `I` (`torch.cat(tensors, dim=I)`), as the CPU's
/// [`Tensor::cat`](crate::tensor::Tensor::cat): axis `I` becomes a `usize`, every other
/// axis must match. Panics on an empty list or a mismatch (see [`try_cat`]).
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// let gpu = Wgpu::new()?;
/// let parts: Vec<GpuTensor<(usize, Const<2>)>> = (1..=3)
///     .map(|n| Tensor::full_with_shape((n, Const), n as f32).to_device(&gpu))
///     .collect::<Result<_, _>>()?;
/// let y = shaped::gpu::cat::<0, _>(&parts);
/// assert_eq!(y.to_cpu()?.dims().as_slice(), &[6, 2]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[track_caller]
pub fn cat<const I: usize, L>(tensors: L) -> GpuTensor<CatShape<L, I>, L::Tape, L::Elem>
where
    L: GpuTensorList<Shape: ReplaceAxis<I>>,
{
    try_cat::<I, L>(tensors).or_panic()
}

/// [`cat`], with an error for an empty list, or naming the first tensor whose size off
/// axis `I` differs from tensor 0's.
pub fn try_cat<const I: usize, L>(tensors: L) -> Result<GpuTensor<CatShape<L, I>, L::Tape, L::Elem>>
where
    L: GpuTensorList<Shape: ReplaceAxis<I>>,
{
    let (tensors, _) = tensors.into_tensors();
    check_same_dims("cat", &tensors, Some(I))?;
    let sizes: Vec<usize> = tensors.iter().map(|t| t.shape.dims()[I]).collect();
    let d0 = tensors[0].shape.dims();
    let total = sizes.iter().try_fold(0usize, |acc, &n| acc.checked_add(n));
    let joined = total.and_then(|n| d0.with(I, n).checked_numel());
    let (Some(total), Some(_)) = (total, joined) else {
        return Err(Error::shape(
            "cat",
            format!(
                "joining {} tensors of shape like {:?} along axis {I} gives a shape too large to exist",
                tensors.len(),
                d0.as_slice()
            ),
        ));
    };
    let (outer, _, inner) = around(&d0, I);
    let out = tensors[0].shape.replace_axis(total);
    join("cat", tensors, &sizes, (outer, inner), out)
}

/// Stacks a list of GPU tensors of one shape along a new axis `I` (`torch.stack`), as the
/// CPU's [`Tensor::stack`](crate::tensor::Tensor::stack): the new axis is `Const<N>` for an
/// array of `N` tensors, `usize` for a `Vec` or slice. Panics if the shapes differ or the
/// list is empty (see [`try_stack`]).
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// let gpu = Wgpu::new()?;
/// let a = Tensor::<Rank1<2>>::from_array([1.0, 2.0]).to_device(&gpu)?;
/// let b = Tensor::<Rank1<2>>::from_array([3.0, 4.0]).to_device(&gpu)?;
/// let s: GpuTensor<Rank2<2, 2>> = shaped::gpu::stack::<1, _>([a, b]);
/// assert_eq!(s.to_cpu()?.to_vec(), vec![1.0, 3.0, 2.0, 4.0]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[track_caller]
pub fn stack<const I: usize, L>(tensors: L) -> GpuTensor<StackShape<L, I>, L::Tape, L::Elem>
where
    L: GpuTensorList<Shape: InsertAxis<I>>,
{
    try_stack::<I, L>(tensors).or_panic()
}

/// [`stack`], with an error for an empty list, or naming the first tensor whose shape
/// differs from tensor 0's.
pub fn try_stack<const I: usize, L>(
    tensors: L,
) -> Result<GpuTensor<StackShape<L, I>, L::Tape, L::Elem>>
where
    L: GpuTensorList<Shape: InsertAxis<I>>,
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
    let d0 = tensors[0].shape.dims();
    let outer: usize = d0[..I].iter().product();
    let inner: usize = d0[I..].iter().product();
    let sizes = vec![1; tensors.len()];
    join("stack", tensors, &sizes, (outer, inner), out)
}
