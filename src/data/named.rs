//! Batches whose batch dimension carries a name: `Tensor<(Dyn<Batch>, ..)>` rather than
//! `Tensor<(usize, ..)>`, opted into with [`Batches::named`].

use super::dataset::BatchDataset;
use super::loader::Batches;
use crate::dtype::Float;
use crate::error::Result;
use crate::shape::{Dim, DimTag, Dyn, Shape};
use crate::tensor::{Indices, Tensor};
use core::marker::PhantomData;

/// A shape whose first dimension is a run-time batch size (`usize`), and the same shape with
/// that dimension named `Tag`.
///
/// ```
/// use shaped::data::NameLeading;
/// use shaped::prelude::*;
/// use shaped::shape::Batch;
/// let s: (Dyn<Batch>, Const<4>) = NameLeading::<Batch>::name_leading((10usize, Const::<4>));
/// assert_eq!(s.dims().as_slice(), &[10, 4]);
/// ```
pub trait NameLeading<Tag: DimTag>: Shape {
    /// The shape with its first dimension named.
    type Named: Shape;
    /// Renames the first dimension.
    fn name_leading(self) -> Self::Named;
}

macro_rules! name_leading {
    ($($A:ident $i:tt),*) => {
        impl<Tag: DimTag, $($A: Dim),*> NameLeading<Tag> for (usize, $($A,)*) {
            type Named = (Dyn<Tag>, $($A,)*);
            #[inline(always)]
            fn name_leading(self) -> Self::Named {
                (Dyn::new(self.0), $(self.$i,)*)
            }
        }
    };
}
name_leading!();
name_leading!(A1 1);
name_leading!(A1 1, A2 2);
name_leading!(A1 1, A2 2, A3 3);
name_leading!(A1 1, A2 2, A3 3, A4 4);
name_leading!(A1 1, A2 2, A3 3, A4 4, A5 5);

/// A batch (a tensor, indices, or a tuple of them) whose batch dimension can be named `Tag`.
///
/// ```
/// use shaped::data::NameBatch;
/// use shaped::prelude::*;
/// use shaped::shape::Batch;
/// let x = Tensor::<(usize, Const<2>)>::zeros_with_shape((3, Const));
/// let y = Indices::<(usize,)>::from_vec_with_shape(vec![0, 1, 0], (3,)).unwrap();
/// let (x, y): (Tensor<(Dyn<Batch>, Const<2>)>, Indices<(Dyn<Batch>,)>) = (x, y).name_batch();
/// assert_eq!(x.dims().as_slice(), &[3, 2]);
/// ```
pub trait NameBatch<Tag: DimTag> {
    /// The batch with its batch dimension named.
    type Named;
    /// Renames the batch dimension (no data moves).
    fn name_batch(self) -> Self::Named;
}

impl<Tag: DimTag, S: NameLeading<Tag>, E: Float> NameBatch<Tag> for Tensor<S, E> {
    type Named = Tensor<S::Named, E>;
    fn name_batch(self) -> Self::Named {
        let shape = self.shape.name_leading();
        Tensor {
            shape,
            data: self.data,
            id: self.id,
            tape: self.tape,
        }
    }
}

impl<Tag: DimTag, S: NameLeading<Tag>> NameBatch<Tag> for Indices<S> {
    type Named = Indices<S::Named>;
    fn name_batch(self) -> Self::Named {
        Indices {
            shape: self.shape.name_leading(),
            data: self.data,
        }
    }
}

impl<Tag: DimTag, A: NameBatch<Tag>, B: NameBatch<Tag>> NameBatch<Tag> for (A, B) {
    type Named = (A::Named, B::Named);
    fn name_batch(self) -> Self::Named {
        (self.0.name_batch(), self.1.name_batch())
    }
}

impl<Tag: DimTag, A: NameBatch<Tag>, B: NameBatch<Tag>, C: NameBatch<Tag>> NameBatch<Tag>
    for (A, B, C)
{
    type Named = (A::Named, B::Named, C::Named);
    fn name_batch(self) -> Self::Named {
        (
            self.0.name_batch(),
            self.1.name_batch(),
            self.2.name_batch(),
        )
    }
}

impl<'a, D: BatchDataset + ?Sized> Batches<'a, D> {
    /// These batches with their batch dimension named `Tag` (usually
    /// [`Batch`](crate::shape::Batch)): `Tensor<(Dyn<Batch>, ..)>` and
    /// `Indices<(Dyn<Batch>,)>` where the plain iterator gives `usize`. The names then flow
    /// through layers and losses, and mixing the batch axis with another named axis is a
    /// compile error. An opt-in, so code written for `usize` batches keeps building.
    ///
    /// ```
    /// use shaped::data::DataLoader;
    /// use shaped::prelude::*;
    /// use shaped::shape::Batch;
    /// let iris = shaped::data::iris().unwrap();
    /// let mut loader = DataLoader::new(&iris, 64).unwrap();
    /// for batch in loader.iter().named::<Batch>() {
    ///     let (x, y): (Tensor<(Dyn<Batch>, Const<4>)>, Indices<(Dyn<Batch>,)>) = batch.unwrap();
    ///     assert_eq!(x.dims()[0], y.numel());
    /// }
    /// ```
    pub fn named<Tag: DimTag>(self) -> NamedBatches<'a, D, Tag>
    where
        D::Batch: NameBatch<Tag>,
    {
        NamedBatches {
            inner: self,
            tag: PhantomData,
        }
    }
}

/// [`Batches`] with the batch dimension named `Tag`; see [`Batches::named`].
///
/// ```
/// use shaped::data::DataLoader;
/// use shaped::shape::Batch;
/// let iris = shaped::data::iris().unwrap();
/// let mut loader = DataLoader::new(&iris, 100).unwrap().drop_last(true);
/// let batches = loader.iter().named::<Batch>();
/// assert_eq!(batches.len(), 1);
/// ```
#[derive(Debug)]
pub struct NamedBatches<'a, D: ?Sized, Tag> {
    inner: Batches<'a, D>,
    tag: PhantomData<Tag>,
}

impl<D: BatchDataset + ?Sized, Tag: DimTag> Iterator for NamedBatches<'_, D, Tag>
where
    D::Batch: NameBatch<Tag>,
{
    type Item = Result<<D::Batch as NameBatch<Tag>>::Named>;
    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|b| b.map(NameBatch::name_batch))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
    fn nth(&mut self, n: usize) -> Option<Self::Item> {
        self.inner.nth(n).map(|b| b.map(NameBatch::name_batch))
    }
}

impl<D: BatchDataset + ?Sized, Tag: DimTag> ExactSizeIterator for NamedBatches<'_, D, Tag> where
    D::Batch: NameBatch<Tag>
{
}
