//! [`DistributedSampler`]: each rank's share of an epoch, as PyTorch's
//! `torch.utils.data.DistributedSampler` cuts it.

use crate::error::{Error, Result};

/// Which examples one rank of a data-parallel run sees: the epoch's order (shuffled by the
/// loader with a seed common to all ranks) is padded by repeating its start until every rank
/// gets the same number of examples (or, with [`drop_last`](DistributedSampler::drop_last),
/// cut to a multiple of the world size), and rank `r` takes positions `r, r + w, r + 2w, ...`.
/// The ranks' shares are disjoint and cover the data set (up to that padding), and change
/// every epoch with the loader's shuffle. Attach it with
/// [`DataLoader::distributed`](crate::data::DataLoader::distributed).
///
/// ```
/// use shaped::data::DistributedSampler;
/// let order: Vec<usize> = (0..10).collect();
/// let r0 = DistributedSampler::new(0, 3).unwrap().shard(&order);
/// let r1 = DistributedSampler::new(1, 3).unwrap().shard(&order);
/// let r2 = DistributedSampler::new(2, 3).unwrap().shard(&order);
/// assert_eq!((r0, r1, r2), (vec![0, 3, 6, 9], vec![1, 4, 7, 0], vec![2, 5, 8, 1])); // padded with 0, 1
/// let cut = DistributedSampler::new(2, 3).unwrap().drop_last(true).shard(&order);
/// assert_eq!(cut, vec![2, 5, 8]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DistributedSampler {
    rank: usize,
    world_size: usize,
    drop_last: bool,
}

impl DistributedSampler {
    /// Rank `rank` of `world_size`; an error unless `rank < world_size`.
    ///
    /// ```
    /// use shaped::data::DistributedSampler;
    /// assert!(DistributedSampler::new(1, 2).is_ok());
    /// assert!(DistributedSampler::new(2, 2).is_err());
    /// ```
    pub fn new(rank: usize, world_size: usize) -> Result<Self> {
        if rank >= world_size {
            return Err(Error::value(
                "DistributedSampler",
                format!("rank {rank} is not below the world size {world_size}"),
            ));
        }
        Ok(DistributedSampler {
            rank,
            world_size,
            drop_last: false,
        })
    }
    /// Cut the tail so that every rank gets `floor(n / world_size)` examples instead of
    /// padding to `ceil(n / world_size)` (PyTorch's `drop_last` of the sampler).
    ///
    /// ```
    /// use shaped::data::DistributedSampler;
    /// assert_eq!(DistributedSampler::new(0, 4).unwrap().drop_last(true).num_samples(10), 2);
    /// ```
    pub fn drop_last(mut self, on: bool) -> Self {
        self.drop_last = on;
        self
    }
    /// This sampler's rank.
    ///
    /// ```
    /// assert_eq!(shaped::data::DistributedSampler::new(1, 2).unwrap().rank(), 1);
    /// ```
    pub fn rank(&self) -> usize {
        self.rank
    }
    /// The number of ranks.
    ///
    /// ```
    /// assert_eq!(shaped::data::DistributedSampler::new(1, 2).unwrap().world_size(), 2);
    /// ```
    pub fn world_size(&self) -> usize {
        self.world_size
    }
    /// Examples each rank gets per epoch from a data set of `n`.
    ///
    /// ```
    /// use shaped::data::DistributedSampler;
    /// assert_eq!(DistributedSampler::new(0, 4).unwrap().num_samples(10), 3);
    /// ```
    pub fn num_samples(&self, n: usize) -> usize {
        if self.drop_last {
            n / self.world_size
        } else {
            n.div_ceil(self.world_size)
        }
    }
    /// This rank's share of an epoch's order.
    ///
    /// ```
    /// use shaped::data::DistributedSampler;
    /// assert_eq!(DistributedSampler::new(1, 2).unwrap().shard(&[5, 6, 7]), vec![6, 5]);
    /// ```
    pub fn shard(&self, order: &[usize]) -> Vec<usize> {
        if order.is_empty() {
            return Vec::new();
        }
        let total = self.num_samples(order.len()) * self.world_size;
        order
            .iter()
            .cycle()
            .take(total)
            .skip(self.rank)
            .step_by(self.world_size)
            .copied()
            .collect()
    }
}
