//! `pad`, `pad2` and `pad3` on the GPU (`torch.nn.functional.pad` of the last one, two or
//! three dimensions: constant, reflect, replicate), under the CPU methods' names: one
//! [`gather_op`] whose map sends every output element to the input element it copies (or to
//! the constant), so reflected and replicated elements add up their gradients.

use super::gather::{FILL, for_each_index, gather_op, strides};
use super::tensor::GpuTensor;
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::{Error, OrPanic, Result};
use crate::nn::PadMode;
use crate::shape::{PadLast, PadLast2, PadLast3, Shape};

/// The input position output position `j` of a line of `n` padded by `left` copies, or
/// `None` for the constant border (the CPU backend's rule).
fn source<E: Float>(mode: PadMode<E>, j: usize, left: usize, n: usize) -> Option<usize> {
    let p = j as isize - left as isize;
    let last = n as isize - 1;
    match mode {
        PadMode::Constant(_) => (0..n as isize).contains(&p).then_some(p as usize),
        PadMode::Reflect => Some(if p < 0 {
            -p
        } else if p > last {
            2 * last - p
        } else {
            p
        } as usize),
        PadMode::Replicate => Some(p.clamp(0, last) as usize),
    }
}

/// Pads the last `pads.len()` axes (PyTorch's order: last axis first) into `out`.
fn pad_last_op<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: GpuTensor<S, T, E>,
    pads: &[(usize, usize)],
    mode: PadMode<E>,
    out: SO,
) -> Result<GpuTensor<SO, T, E>> {
    let dims = x.shape.dims();
    let rank = dims.rank();
    let mut out_dims = dims.to_vec();
    let mut left = vec![0; rank];
    for (k, &(l, r)) in pads.iter().enumerate() {
        let axis = rank - 1 - k;
        let n = dims[axis];
        let fail = |why: String| {
            Err(Error::shape(
                "pad",
                format!("{why} (axis {axis} of shape {:?})", dims.as_slice()),
            ))
        };
        match mode {
            PadMode::Reflect if l >= n || r >= n => {
                return fail(format!(
                    "reflect padding ({l}, {r}) must be smaller than the size {n} of the padded dimension"
                ));
            }
            PadMode::Replicate if n == 0 => {
                return fail(
                    "replicate padding needs a non-empty dimension, but it has size 0".to_string(),
                );
            }
            _ => {}
        }
        let Some(padded) = n.checked_add(l).and_then(|d| d.checked_add(r)) else {
            return Err(Error::shape(
                "pad",
                format!("padding shape {:?} overflows its size", dims.as_slice()),
            ));
        };
        out_dims[axis] = padded;
        left[axis] = l;
    }
    out.try_numel("pad")?;
    let st = strides(&dims);
    let mut map = Vec::with_capacity(out.numel());
    for_each_index(&out_dims, |at| {
        let mut src = 0;
        for k in 0..rank {
            match source(mode, at[k], left[k], dims[k]) {
                Some(p) => src += p * st[k],
                None => {
                    map.push(FILL);
                    return;
                }
            }
        }
        map.push(src);
    });
    let fill = match mode {
        PadMode::Constant(v) => v,
        _ => E::ZERO,
    };
    gather_op("pad", x, out, map, fill)
}

impl<S: Shape, E: Float, T: Tape<E>> GpuTensor<S, T, E> {
    /// Pads the last dimension by `L` before and `R` after (`F.pad(x, (L, R), mode)`) on the
    /// GPU, as the CPU tensor's [`pad`](crate::tensor::Tensor::pad); the new size is in the
    /// type. Panics where the CPU's does (see [`try_pad`](Self::try_pad)).
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// use shaped::ops::pad::PadMode;
    /// let x = Tensor::<Rank1<3>>::from_array([1.0, 2.0, 3.0]).to_device(&Wgpu::new()?)?;
    /// let y = x.pad::<2, 1>(PadMode::Reflect);
    /// assert_eq!(y.to_cpu()?.to_vec(), vec![3.0, 2.0, 1.0, 2.0, 3.0, 2.0]);
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    #[track_caller]
    pub fn pad<const L: usize, const R: usize>(
        self,
        mode: PadMode<E>,
    ) -> GpuTensor<<S as PadLast<L, R>>::Output, T, E>
    where
        S: PadLast<L, R>,
    {
        self.try_pad::<L, R>(mode).or_panic()
    }

    /// [`pad`](Self::pad), with an error when reflect padding is not smaller than the
    /// dimension or replicate padding meets an empty one.
    pub fn try_pad<const L: usize, const R: usize>(
        self,
        mode: PadMode<E>,
    ) -> Result<GpuTensor<<S as PadLast<L, R>>::Output, T, E>>
    where
        S: PadLast<L, R>,
    {
        let out = self.shape.pad_last();
        pad_last_op(self, &[(L, R)], mode, out)
    }

    /// Pads the last two dimensions (`F.pad(x, (L, R, TOP, B), mode)`), as the CPU's
    /// [`pad2`](crate::tensor::Tensor::pad2).
    #[track_caller]
    pub fn pad2<const L: usize, const R: usize, const TOP: usize, const B: usize>(
        self,
        mode: PadMode<E>,
    ) -> GpuTensor<<S as PadLast2<L, R, TOP, B>>::Output, T, E>
    where
        S: PadLast2<L, R, TOP, B>,
    {
        self.try_pad2::<L, R, TOP, B>(mode).or_panic()
    }

    /// [`pad2`](Self::pad2), with an error where [`try_pad`](Self::try_pad) has one.
    pub fn try_pad2<const L: usize, const R: usize, const TOP: usize, const B: usize>(
        self,
        mode: PadMode<E>,
    ) -> Result<GpuTensor<<S as PadLast2<L, R, TOP, B>>::Output, T, E>>
    where
        S: PadLast2<L, R, TOP, B>,
    {
        let out = self.shape.pad_last2();
        pad_last_op(self, &[(L, R), (TOP, B)], mode, out)
    }

    /// Pads the last three dimensions (`F.pad(x, (L, R, TOP, B, F, K), mode)`), as the
    /// CPU's [`pad3`](crate::tensor::Tensor::pad3).
    #[allow(clippy::type_complexity)]
    #[track_caller]
    pub fn pad3<
        const L: usize,
        const R: usize,
        const TOP: usize,
        const B: usize,
        const F: usize,
        const K: usize,
    >(
        self,
        mode: PadMode<E>,
    ) -> GpuTensor<<S as PadLast3<L, R, TOP, B, F, K>>::Output, T, E>
    where
        S: PadLast3<L, R, TOP, B, F, K>,
    {
        self.try_pad3::<L, R, TOP, B, F, K>(mode).or_panic()
    }

    /// [`pad3`](Self::pad3), with an error where [`try_pad`](Self::try_pad) has one.
    #[allow(clippy::type_complexity)]
    pub fn try_pad3<
        const L: usize,
        const R: usize,
        const TOP: usize,
        const B: usize,
        const F: usize,
        const K: usize,
    >(
        self,
        mode: PadMode<E>,
    ) -> Result<GpuTensor<<S as PadLast3<L, R, TOP, B, F, K>>::Output, T, E>>
    where
        S: PadLast3<L, R, TOP, B, F, K>,
    {
        let out = self.shape.pad_last3();
        pad_last_op(self, &[(L, R), (TOP, B), (F, K)], mode, out)
    }
}
