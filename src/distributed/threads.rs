//! [`ThreadGroup`]: ranks as threads of one process.

use super::{Buffer, Collective};
use std::sync::{Arc, Barrier, Mutex};

enum Slot {
    Empty,
    F32(Vec<f32>),
    F64(Vec<f64>),
}

struct Shared {
    barrier: Barrier,
    slots: Mutex<Vec<Slot>>,
}

/// A [`Collective`] whose ranks are threads of this process: data-parallel training on one
/// machine without MPI, and the way the crate tests its distributed code. Sums are taken in
/// rank order, so results are deterministic and bitwise equal on every rank.
///
/// Every rank must make the same calls in the same order; a rank that panics leaves the
/// others waiting, as an MPI rank that dies does. A clone is another handle on the same rank
/// (e.g. an `Arc` for a [`SyncBatchNorm`](crate::nn::SyncBatchNorm)).
///
/// ```
/// use shaped::distributed::{Collective, ThreadGroup};
/// let ranks = ThreadGroup::run(4, |g| (g.rank(), g.world_size()));
/// assert_eq!(ranks, vec![(0, 4), (1, 4), (2, 4), (3, 4)]);
/// ```
#[derive(Clone)]
pub struct ThreadGroup {
    rank: usize,
    size: usize,
    shared: Arc<Shared>,
}

impl ThreadGroup {
    /// Runs `f` on `world_size` threads, each with its rank's handle, and returns their
    /// results in rank order. Panics if `world_size` is 0 or a rank panics.
    ///
    /// ```
    /// use shaped::distributed::{Collective, ThreadGroup};
    /// assert_eq!(ThreadGroup::run(2, |g| g.rank() * 10), vec![0, 10]);
    /// ```
    pub fn run<R: Send>(world_size: usize, f: impl Fn(&ThreadGroup) -> R + Sync) -> Vec<R> {
        assert!(
            world_size > 0,
            "ThreadGroup::run: world_size must be at least 1"
        );
        let shared = Arc::new(Shared {
            barrier: Barrier::new(world_size),
            slots: Mutex::new((0..world_size).map(|_| Slot::Empty).collect()),
        });
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..world_size)
                .map(|rank| {
                    let group = ThreadGroup {
                        rank,
                        size: world_size,
                        shared: shared.clone(),
                    };
                    let f = &f;
                    scope.spawn(move || f(&group))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        })
    }

    fn deposit(&self, buf: &Buffer<'_>) {
        let slot = match buf {
            Buffer::F32(b) => Slot::F32(b.to_vec()),
            Buffer::F64(b) => Slot::F64(b.to_vec()),
        };
        self.slots()[self.rank] = slot;
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, Vec<Slot>> {
        // A poisoned lock means another rank panicked mid-copy; its data is still whole
        // values, and that rank's panic is what the caller will see.
        self.shared
            .slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn read_into(slot: &Slot, buf: &mut Buffer<'_>, op: &str, accumulate: bool) {
    fn copy<T: Copy + core::ops::Add<Output = T>>(dst: &mut [T], src: &[T], op: &str, acc: bool) {
        assert_eq!(
            dst.len(),
            src.len(),
            "ThreadGroup::{op}: ranks passed buffers of different lengths"
        );
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = if acc { *d + s } else { s };
        }
    }
    match (slot, buf) {
        (Slot::F32(src), Buffer::F32(dst)) => copy(dst, src, op, accumulate),
        (Slot::F64(src), Buffer::F64(dst)) => copy(dst, src, op, accumulate),
        _ => panic!("ThreadGroup::{op}: ranks passed buffers of different element types"),
    }
}

impl Collective for ThreadGroup {
    fn rank(&self) -> usize {
        self.rank
    }
    fn world_size(&self) -> usize {
        self.size
    }
    fn all_reduce_sum(&self, mut buf: Buffer<'_>) {
        if self.size == 1 {
            return;
        }
        self.deposit(&buf);
        self.shared.barrier.wait();
        {
            let slots = self.slots();
            read_into(&slots[0], &mut buf, "all_reduce_sum", false);
            for slot in &slots[1..] {
                read_into(slot, &mut buf, "all_reduce_sum", true);
            }
        }
        self.shared.barrier.wait();
    }
    fn broadcast(&self, mut buf: Buffer<'_>, root: usize) {
        assert!(
            root < self.size,
            "broadcast: root {root} is not a rank of {}",
            self.size
        );
        if self.size == 1 {
            return;
        }
        if self.rank == root {
            self.deposit(&buf);
        }
        self.shared.barrier.wait();
        if self.rank != root {
            read_into(&self.slots()[root], &mut buf, "broadcast", false);
        }
        self.shared.barrier.wait();
    }
}
