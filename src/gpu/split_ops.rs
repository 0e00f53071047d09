//! `split` and `chunk` of a GPU tensor into a `Vec` of pieces along an axis, under the CPU
//! methods' names: each piece a `narrow_dyn` of the input, so the input's gradient is the
//! pieces' gradients put back in place.

use super::tensor::GpuTensor;
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::{OrPanic, Result};
use crate::nn::{SplitSizes, chunk_sizes};
use crate::shape::{ReplaceAxis, Shape};

impl<S: Shape, E: Float, T: Tape<E>> GpuTensor<S, T, E> {
    fn pieces<const I: usize>(
        self,
        sizes: &[usize],
    ) -> Result<Vec<GpuTensor<<S as ReplaceAxis<I>>::Output<usize>, T, E>>>
    where
        S: ReplaceAxis<I>,
    {
        let mut start = 0;
        sizes
            .iter()
            .map(|&len| {
                let piece = self.clone().try_narrow_dyn::<I>(start, len);
                start += len;
                piece
            })
            .collect()
    }

    /// Splits along axis `I` into pieces of `sizes` (`torch.split(x, sizes, dim=I)`): a
    /// `usize` gives pieces of that size (the last holds the rest), a list gives each
    /// piece's size (they must add up to the axis). Panics where the CPU's does (see
    /// [`try_split`](Self::try_split)).
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// let x = Tensor::<Rank1<5>>::arange(0.0, 1.0).to_device(&Wgpu::new()?)?;
    /// let parts = x.split::<0>(2);
    /// assert_eq!(parts[2].to_cpu()?.to_vec(), vec![4.0]);
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    #[track_caller]
    pub fn split<const I: usize>(
        self,
        sizes: impl Into<SplitSizes>,
    ) -> Vec<GpuTensor<<S as ReplaceAxis<I>>::Output<usize>, T, E>>
    where
        S: ReplaceAxis<I>,
    {
        self.try_split::<I>(sizes).or_panic()
    }

    /// [`split`](Self::split), with an error for a zero piece size on a non-empty axis or
    /// sizes that do not add up to the axis.
    pub fn try_split<const I: usize>(
        self,
        sizes: impl Into<SplitSizes>,
    ) -> Result<Vec<GpuTensor<<S as ReplaceAxis<I>>::Output<usize>, T, E>>>
    where
        S: ReplaceAxis<I>,
    {
        let sizes = sizes.into().sizes(self.shape.dims()[I])?;
        self.pieces::<I>(&sizes)
    }

    /// `chunks` pieces along axis `I` (`torch.chunk`): pieces of `ceil(n / chunks)`, the last
    /// holding the rest, so there may be fewer. Panics for `chunks = 0` (see
    /// [`try_chunk`](Self::try_chunk)).
    #[track_caller]
    pub fn chunk<const I: usize>(
        self,
        chunks: usize,
    ) -> Vec<GpuTensor<<S as ReplaceAxis<I>>::Output<usize>, T, E>>
    where
        S: ReplaceAxis<I>,
    {
        self.try_chunk::<I>(chunks).or_panic()
    }

    /// [`chunk`](Self::chunk), with an error for `chunks = 0`.
    pub fn try_chunk<const I: usize>(
        self,
        chunks: usize,
    ) -> Result<Vec<GpuTensor<<S as ReplaceAxis<I>>::Output<usize>, T, E>>>
    where
        S: ReplaceAxis<I>,
    {
        let sizes = chunk_sizes(self.shape.dims()[I], chunks)?;
        self.pieces::<I>(&sizes)
    }
}
