//! Where a trainer's batches come from, epoch after epoch.

use crate::data::{BatchDataset, Batches, DataLoader};
use crate::error::Result;
use rand::RngExt;
use rand::rngs::StdRng;

/// Something that yields the batches of an epoch, any number of times: a
/// [`DataLoader`], a `Vec` (or slice) of ready-made batches, a [`shuffled`] `Vec`, or a
/// closure through [`from_fn`]. The batch type is the user's: whatever the step closure
/// takes.
///
/// `epoch` counts from 0; `rng` is the trainer's generator (seeded by
/// [`Trainer::seed`](super::Trainer::seed)) for sources that shuffle or augment.
///
/// ```
/// use shaped::train::BatchSource;
/// use rand::SeedableRng;
/// let mut batches = vec![1, 2, 3]; // any batch type
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let seen: Vec<i32> = batches.batches(0, &mut rng).map(|b| b.unwrap()).collect();
/// assert_eq!(seen, [1, 2, 3]);
/// assert_eq!(batches.batches_per_epoch(), Some(3));
/// ```
pub trait BatchSource {
    /// One batch.
    type Batch;
    /// The batches of one epoch.
    type Iter<'s>: Iterator<Item = Result<Self::Batch>>
    where
        Self: 's;
    /// The batches of epoch `epoch` (counted from 0).
    fn batches(&mut self, epoch: usize, rng: &mut StdRng) -> Self::Iter<'_>;
    /// How many batches an epoch has, when known (for the progress bar).
    fn batches_per_epoch(&self) -> Option<usize> {
        None
    }
}

/// A loader's epoch `e` is [`DataLoader::iter_epoch`]`(e)`: its order depends on the
/// loader's own shuffle seed and the epoch, not on the trainer's generator. The loader's
/// epoch counter is left after the last epoch run.
impl<'a, D: BatchDataset + ?Sized> BatchSource for DataLoader<'a, D> {
    type Batch = D::Batch;
    type Iter<'s>
        = Batches<'a, D>
    where
        Self: 's;
    fn batches(&mut self, epoch: usize, _: &mut StdRng) -> Batches<'a, D> {
        self.set_epoch(epoch as u64 + 1);
        self.iter_epoch(epoch as u64)
    }
    fn batches_per_epoch(&self) -> Option<usize> {
        Some(self.len())
    }
}

impl<S: BatchSource + ?Sized> BatchSource for &mut S {
    type Batch = S::Batch;
    type Iter<'s>
        = S::Iter<'s>
    where
        Self: 's;
    fn batches(&mut self, epoch: usize, rng: &mut StdRng) -> S::Iter<'_> {
        (**self).batches(epoch, rng)
    }
    fn batches_per_epoch(&self) -> Option<usize> {
        (**self).batches_per_epoch()
    }
}

type ClonedOk<'s, B> = core::iter::Map<core::slice::Iter<'s, B>, fn(&B) -> Result<B>>;

fn cloned_ok<B: Clone>(b: &B) -> Result<B> {
    Ok(b.clone())
}

/// The same batches, in the same order, every epoch (tensors clone cheaply: their buffers
/// are shared).
impl<B: Clone> BatchSource for Vec<B> {
    type Batch = B;
    type Iter<'s>
        = ClonedOk<'s, B>
    where
        Self: 's;
    fn batches(&mut self, _: usize, _: &mut StdRng) -> ClonedOk<'_, B> {
        self.iter().map(cloned_ok as fn(&B) -> Result<B>)
    }
    fn batches_per_epoch(&self) -> Option<usize> {
        Some(self.len())
    }
}

/// The same batches, in the same order, every epoch.
impl<'a, B: Clone> BatchSource for &'a [B] {
    type Batch = B;
    type Iter<'s>
        = ClonedOk<'a, B>
    where
        Self: 's;
    fn batches(&mut self, _: usize, _: &mut StdRng) -> ClonedOk<'a, B> {
        self.iter().map(cloned_ok as fn(&B) -> Result<B>)
    }
    fn batches_per_epoch(&self) -> Option<usize> {
        Some(self.len())
    }
}

/// Ready-made batches visited in a new order every epoch, drawn from the trainer's seeded
/// generator. Made by [`shuffled`].
#[derive(Clone, Debug)]
pub struct Shuffled<B> {
    batches: Vec<B>,
    order: Vec<usize>,
}

/// Ready-made batches in an order that the trainer's seed decides, new every epoch.
///
/// ```
/// use shaped::train::{BatchSource, shuffled};
/// use rand::SeedableRng;
/// let mut src = shuffled((0..10).collect::<Vec<_>>());
/// let mut rng = rand::rngs::StdRng::seed_from_u64(1);
/// let mut epoch0: Vec<i32> = src.batches(0, &mut rng).map(|b| b.unwrap()).collect();
/// assert_ne!(epoch0, (0..10).collect::<Vec<_>>());
/// epoch0.sort();
/// assert_eq!(epoch0, (0..10).collect::<Vec<_>>());
/// ```
pub fn shuffled<B: Clone>(batches: Vec<B>) -> Shuffled<B> {
    Shuffled {
        order: (0..batches.len()).collect(),
        batches,
    }
}

/// The batches of one epoch of a [`Shuffled`] source.
#[derive(Debug)]
pub struct ShuffledIter<'s, B> {
    batches: &'s [B],
    order: core::slice::Iter<'s, usize>,
}

impl<B: Clone> Iterator for ShuffledIter<'_, B> {
    type Item = Result<B>;
    fn next(&mut self) -> Option<Result<B>> {
        self.order.next().map(|&i| Ok(self.batches[i].clone()))
    }
}

impl<B: Clone> BatchSource for Shuffled<B> {
    type Batch = B;
    type Iter<'s>
        = ShuffledIter<'s, B>
    where
        Self: 's;
    fn batches(&mut self, _: usize, rng: &mut StdRng) -> ShuffledIter<'_, B> {
        // Fisher-Yates from the identity, so an epoch's order depends on the generator alone.
        for (i, o) in self.order.iter_mut().enumerate() {
            *o = i;
        }
        for i in (1..self.order.len()).rev() {
            let j = rng.random_range(0..=i);
            self.order.swap(i, j);
        }
        ShuffledIter {
            batches: &self.batches,
            order: self.order.iter(),
        }
    }
    fn batches_per_epoch(&self) -> Option<usize> {
        Some(self.batches.len())
    }
}

/// A source made by [`from_fn`].
#[derive(Clone, Debug)]
pub struct FromFn<F> {
    f: F,
    len: Option<usize>,
}

/// A source from a closure that returns the batches of an epoch, given the epoch (from 0)
/// and the trainer's generator: for data made or augmented on the fly, or any other
/// iterator. [`with_len`](FromFn::with_len) tells the progress bar how many batches to
/// expect.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::train::{BatchSource, from_fn};
/// use rand::SeedableRng;
/// // Fresh noisy batches every epoch, from the trainer's generator.
/// let mut src = from_fn(|_epoch, rng| (0..4).map(|_| Tensor::<Rank1<2>>::randn(rng)).collect::<Vec<_>>())
///     .with_len(4);
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// assert_eq!(src.batches(0, &mut rng).count(), 4);
/// assert_eq!(src.batches_per_epoch(), Some(4));
/// ```
pub fn from_fn<F, I>(f: F) -> FromFn<F>
where
    F: FnMut(usize, &mut StdRng) -> I,
    I: IntoIterator,
{
    FromFn { f, len: None }
}

impl<F> FromFn<F> {
    /// Declares how many batches each epoch has.
    pub fn with_len(mut self, batches: usize) -> Self {
        self.len = Some(batches);
        self
    }
}

impl<F, I> BatchSource for FromFn<F>
where
    F: FnMut(usize, &mut StdRng) -> I,
    I: IntoIterator,
{
    type Batch = I::Item;
    type Iter<'s>
        = core::iter::Map<I::IntoIter, fn(I::Item) -> Result<I::Item>>
    where
        Self: 's;
    fn batches(&mut self, epoch: usize, rng: &mut StdRng) -> Self::Iter<'_> {
        (self.f)(epoch, rng)
            .into_iter()
            .map(Ok as fn(I::Item) -> Result<I::Item>)
    }
    fn batches_per_epoch(&self) -> Option<usize> {
        self.len
    }
}
