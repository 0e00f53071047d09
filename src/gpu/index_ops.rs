//! Picking along an axis on the GPU, under the CPU methods' names: `narrow`, `narrow_dyn`,
//! `slice_step`, `select`, `index_select`, `gather`, and `broadcast_to` / `broadcast_to_dyn`
//! (`expand`). The picks are one [`gather_op`] each (repeated indices add their gradients);
//! the broadcast is a strided copy whose gradient is summed back.

use super::gather::{for_each_index, gather_op, strides, take_map};
use super::tensor::{GpuTensor, add_grad, gpu_tensor, split, take_grad, wants, with_tape};
use crate::autograd::{Gradients, NoTape, Tape};
use crate::device::kernels;
use crate::dtype::Float;
use crate::error::{Error, OrPanic, Result};
use crate::shape::{Const, ConstShape, Dim, HasAxis, ReplaceAxis, SameRank, Shape};
use crate::tensor::Indices;

fn range_error(op: &'static str, dims: &[usize], axis: usize, what: String) -> Error {
    Error::shape(
        op,
        format!(
            "{what} is out of range for axis {axis} of size {} (shape {dims:?})",
            dims[axis]
        ),
    )
}

/// `x` broadcast to `out` (checked by the caller); the gradient is summed back.
pub(super) fn broadcast_op<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: GpuTensor<S, T, E>,
    out: SO,
) -> Result<GpuTensor<SO, T, E>> {
    let (x, mut tape) = split(x);
    let (xd, od) = (x.shape.dims().to_vec(), out.dims().to_vec());
    let y = kernels::strided_copy(&x.data, &kernels::broadcast_strides(&xd, &od), &od)?;
    let result = gpu_tensor(out, y, NoTape);
    if wants(&tape, x.id) {
        let (x_id, out_id) = (x.id, result.id);
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = take_grad(g, out_id) else {
                    return;
                };
                let gx = kernels::sum_to(&gy, &od, &xd).expect("checked in forward");
                add_grad(g, x_id, gx);
            }),
        );
    }
    Ok(with_tape(result, tape))
}

impl<S: Shape, E: Float, T: Tape<E>> GpuTensor<S, T, E> {
    fn take<SO: Shape>(
        self,
        op: &'static str,
        axis: usize,
        out: SO,
        idx: &[usize],
    ) -> Result<GpuTensor<SO, T, E>> {
        let map = take_map(&self.shape.dims(), axis, idx);
        gather_op(op, self, out, map, E::ZERO)
    }

    pub(super) fn narrow_into<SO: Shape>(
        self,
        axis: usize,
        start: usize,
        len: usize,
        out: SO,
    ) -> Result<GpuTensor<SO, T, E>> {
        let dims = self.shape.dims();
        if start.checked_add(len).is_none_or(|end| end > dims[axis]) {
            return Err(range_error(
                "narrow",
                &dims,
                axis,
                format!("the range {start}..{start}+{len}"),
            ));
        }
        let idx: Vec<usize> = (start..start + len).collect();
        self.take("narrow", axis, out, &idx)
    }

    /// `LEN` consecutive elements along axis `I` from `START` (`x.narrow(I, START, LEN)`) on
    /// the GPU, as the CPU tensor's [`narrow`](crate::tensor::Tensor::narrow): the length is
    /// in the type, a static axis too short fails to build, a run-time one panics (see
    /// [`try_narrow`](Self::try_narrow)).
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// let x = Tensor::<Rank2<2, 4>>::from_array([[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0]]);
    /// let y: GpuTensor<Rank2<2, 2>> = x.to_device(&Wgpu::new()?)?.narrow::<1, 1, 2>();
    /// assert_eq!(y.to_cpu()?.to_vec(), vec![1.0, 2.0, 5.0, 6.0]);
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    #[track_caller]
    pub fn narrow<const I: usize, const START: usize, const LEN: usize>(
        self,
    ) -> GpuTensor<<S as ReplaceAxis<I>>::Output<Const<LEN>>, T, E>
    where
        S: ReplaceAxis<I>,
    {
        self.try_narrow::<I, START, LEN>().or_panic()
    }

    /// [`narrow`](Self::narrow), with an error naming the shape where a run-time axis is
    /// shorter than `START + LEN`.
    pub fn try_narrow<const I: usize, const START: usize, const LEN: usize>(
        self,
    ) -> Result<GpuTensor<<S as ReplaceAxis<I>>::Output<Const<LEN>>, T, E>>
    where
        S: ReplaceAxis<I>,
    {
        const {
            assert!(
                match <<S as HasAxis<I>>::Dim as Dim>::STATIC_SIZE {
                    Some(n) => START + LEN <= n,
                    None => true,
                },
                "narrow: START + LEN is past the end of the axis"
            )
        };
        let out = self.shape.replace_axis(Const::<LEN>);
        self.narrow_into(I, START, LEN, out)
    }

    /// `len` consecutive elements along axis `I` from `start`, sized at run time; panics
    /// when they run past the end (see [`try_narrow_dyn`](Self::try_narrow_dyn)).
    #[track_caller]
    pub fn narrow_dyn<const I: usize>(
        self,
        start: usize,
        len: usize,
    ) -> GpuTensor<<S as ReplaceAxis<I>>::Output<usize>, T, E>
    where
        S: ReplaceAxis<I>,
    {
        self.try_narrow_dyn::<I>(start, len).or_panic()
    }

    /// [`narrow_dyn`](Self::narrow_dyn), with an error naming the shape when the range runs
    /// past the end of the axis.
    pub fn try_narrow_dyn<const I: usize>(
        self,
        start: usize,
        len: usize,
    ) -> Result<GpuTensor<<S as ReplaceAxis<I>>::Output<usize>, T, E>>
    where
        S: ReplaceAxis<I>,
    {
        let out = self.shape.replace_axis(len);
        self.narrow_into(I, start, len, out)
    }

    /// Every `step`-th element along axis `I` from `start` up to `end` (Python's
    /// `x[:, start:end:step]` for `I = 1`, `start` and `end` clamped to the axis size); panics
    /// if `step` is 0 (see [`try_slice_step`](Self::try_slice_step)).
    #[track_caller]
    pub fn slice_step<const I: usize>(
        self,
        start: usize,
        end: usize,
        step: usize,
    ) -> GpuTensor<<S as ReplaceAxis<I>>::Output<usize>, T, E>
    where
        S: ReplaceAxis<I>,
    {
        self.try_slice_step::<I>(start, end, step).or_panic()
    }

    /// [`slice_step`](Self::slice_step), with an error for a zero step.
    pub fn try_slice_step<const I: usize>(
        self,
        start: usize,
        end: usize,
        step: usize,
    ) -> Result<GpuTensor<<S as ReplaceAxis<I>>::Output<usize>, T, E>>
    where
        S: ReplaceAxis<I>,
    {
        if step == 0 {
            return Err(Error::value("slice step", "the step must be at least 1"));
        }
        let n = self.shape.dims()[I];
        let idx: Vec<usize> = (start.min(n)..end.min(n)).step_by(step).collect();
        let out = self.shape.replace_axis(idx.len());
        out.try_numel("slice_step")?;
        self.take("slice_step", I, out, &idx)
    }

    /// The slice at `index` of axis `I`, without that axis (`x.select(I, index)`); panics if
    /// `index` is out of range (see [`try_select`](Self::try_select)).
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// let x = Tensor::<Rank2<2, 3>>::from_array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// let col: GpuTensor<Rank1<2>> = x.to_device(&Wgpu::new()?)?.select::<1>(2);
    /// assert_eq!(col.to_cpu()?.to_vec(), vec![3.0, 6.0]);
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    #[track_caller]
    pub fn select<const I: usize>(self, index: usize) -> GpuTensor<<S as HasAxis<I>>::Reduced, T, E>
    where
        S: HasAxis<I>,
    {
        self.try_select::<I>(index).or_panic()
    }

    /// [`select`](Self::select), with an error naming the shape when `index` is out of range.
    pub fn try_select<const I: usize>(
        self,
        index: usize,
    ) -> Result<GpuTensor<<S as HasAxis<I>>::Reduced, T, E>>
    where
        S: HasAxis<I>,
    {
        let dims = self.shape.dims();
        if index >= dims[I] {
            return Err(range_error("select", &dims, I, format!("index {index}")));
        }
        let out = self.shape.reduced();
        self.take("select", I, out, &[index])
    }

    /// The elements at `indices` along axis `I` (`torch.index_select(x, I, indices)`; the
    /// indices are a CPU [`Indices`], uploaded with the call); repeated indices receive every
    /// gradient. Panics on an index out of range (see
    /// [`try_index_select`](Self::try_index_select)).
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// let x = Tensor::<Rank2<2, 3>>::from_array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// let idx = Indices::<Rank1<4>>::from_array([2, 0, 2, 1]);
    /// let y: GpuTensor<Rank2<2, 4>> = x.to_device(&Wgpu::new()?)?.index_select::<1, _>(&idx);
    /// assert_eq!(y.to_cpu()?.to_vec(), vec![3.0, 1.0, 3.0, 2.0, 6.0, 4.0, 6.0, 5.0]);
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    #[track_caller]
    pub fn index_select<const I: usize, N: Dim>(
        self,
        indices: &Indices<(N,)>,
    ) -> GpuTensor<<S as ReplaceAxis<I>>::Output<N>, T, E>
    where
        S: ReplaceAxis<I>,
    {
        self.try_index_select::<I, N>(indices).or_panic()
    }

    /// [`index_select`](Self::index_select), with an error naming the index, the axis and
    /// the shape when an index is out of range.
    pub fn try_index_select<const I: usize, N: Dim>(
        self,
        indices: &Indices<(N,)>,
    ) -> Result<GpuTensor<<S as ReplaceAxis<I>>::Output<N>, T, E>>
    where
        S: ReplaceAxis<I>,
    {
        let dims = self.shape.dims();
        if let Some(p) = indices.as_slice().iter().position(|&i| i >= dims[I]) {
            let what = format!("index {} at position {p}", indices.as_slice()[p]);
            return Err(range_error("index_select", &dims, I, what));
        }
        let out = self.shape.replace_axis(indices.shape().0);
        out.try_numel("index_select")?;
        self.take("index_select", I, out, indices.as_slice())
    }

    /// PyTorch's `torch.gather(x, I, indices)` on the GPU: the output has the shape of
    /// `indices` (a CPU [`Indices`], uploaded) and takes `x` at each index position with
    /// coordinate `I` replaced by the index there; gradients scatter back and add up. Panics
    /// on a bad index or size (see [`try_gather`](Self::try_gather)).
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// let x = Tensor::<Rank2<2, 3>>::from_array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// let idx = Indices::<Rank2<2, 2>>::from_array2([[2, 2], [0, 1]]);
    /// let y: GpuTensor<Rank2<2, 2>> = x.to_device(&Wgpu::new()?)?.gather::<1, _>(&idx);
    /// assert_eq!(y.to_cpu()?.to_vec(), vec![3.0, 3.0, 4.0, 5.0]);
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    #[track_caller]
    pub fn gather<const I: usize, SI: Shape>(self, indices: &Indices<SI>) -> GpuTensor<SI, T, E>
    where
        S: HasAxis<I> + SameRank<SI>,
    {
        self.try_gather::<I, SI>(indices).or_panic()
    }

    /// [`gather`](Self::gather), with an error naming the shapes or the index when an index
    /// is out of range or `indices` is larger than `x` off axis `I`.
    pub fn try_gather<const I: usize, SI: Shape>(
        self,
        indices: &Indices<SI>,
    ) -> Result<GpuTensor<SI, T, E>>
    where
        S: HasAxis<I> + SameRank<SI>,
    {
        let (xd, id) = (self.shape.dims(), indices.shape().dims());
        if let Some(k) = (0..xd.rank()).find(|&k| k != I && id[k] > xd[k]) {
            return Err(Error::shape(
                "gather",
                format!(
                    "indices of shape {:?} are larger than the input of shape {:?} at axis {k} (only axis {I} may differ)",
                    id.as_slice(),
                    xd.as_slice()
                ),
            ));
        }
        let values = indices.as_slice();
        if let Some(p) = values.iter().position(|&i| i >= xd[I]) {
            let what = format!("index {} at position {p}", values[p]);
            return Err(range_error("gather", &xd, I, what));
        }
        let st = strides(&xd);
        let mut map = Vec::with_capacity(values.len());
        let mut flat = 0;
        for_each_index(&id, |at| {
            let src: usize = at
                .iter()
                .enumerate()
                .map(|(k, &c)| if k == I { values[flat] } else { c } * st[k])
                .sum();
            map.push(src);
            flat += 1;
        });
        gather_op("gather", self, *indices.shape(), map, E::ZERO)
    }

    /// Broadcasts to a larger static shape (`expand` / `broadcast_to`; the sizes are checked
    /// when the code is built, as on the CPU); the gradient is summed back.
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// let x = Tensor::<Rank2<3, 1>>::from_array([[1.0], [2.0], [3.0]]);
    /// let y: GpuTensor<Rank3<2, 3, 4>> = x.to_device(&Wgpu::new()?)?.broadcast_to();
    /// assert_eq!(y.to_cpu()?.numel(), 24);
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    #[track_caller]
    pub fn broadcast_to<S2: ConstShape>(self) -> GpuTensor<S2, T, E>
    where
        S: ConstShape,
    {
        const {
            let (a, b) = (S::SIZES, S2::SIZES);
            assert!(
                S::RANK <= S2::RANK,
                "broadcast_to: the target has a lower rank"
            );
            let off = S2::RANK - S::RANK;
            let mut i = 0;
            while i < S::RANK {
                assert!(
                    a[i] == b[off + i] || a[i] == 1,
                    "broadcast_to: a dimension is neither 1 nor the target's"
                );
                i += 1;
            }
        }
        self.try_broadcast_to_dyn(S2::default()).or_panic()
    }

    /// Broadcasts to `shape`, given at run time; panics if the sizes do not broadcast (see
    /// [`try_broadcast_to_dyn`](Self::try_broadcast_to_dyn)).
    #[track_caller]
    pub fn broadcast_to_dyn<S2: Shape>(self, shape: S2) -> GpuTensor<S2, T, E> {
        self.try_broadcast_to_dyn(shape).or_panic()
    }

    /// [`broadcast_to_dyn`](Self::broadcast_to_dyn), with an error if the sizes do not
    /// broadcast.
    pub fn try_broadcast_to_dyn<S2: Shape>(self, shape: S2) -> Result<GpuTensor<S2, T, E>> {
        let (a, b) = (self.shape.dims(), shape.dims());
        let ok = a.rank() <= b.rank()
            && a.iter()
                .zip(&b[b.rank() - a.rank()..])
                .all(|(&x, &y)| x == y || x == 1);
        if !ok {
            return Err(Error::shape(
                "broadcast_to",
                format!(
                    "cannot broadcast shape {:?} to {:?}",
                    a.as_slice(),
                    b.as_slice()
                ),
            ));
        }
        shape.try_numel("broadcast_to")?;
        broadcast_op(self, shape)
    }
}
