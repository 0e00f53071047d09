//! [`MpiGroup`]: one rank per MPI process (cargo feature `mpi`).

use super::{Buffer, Collective};
use crate::error::{Error, Result};
use mpi::collective::SystemOperation;
use mpi::environment::Threading;
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::traits::{CommunicatorCollectives, Root};

/// The MPI world as a [`Collective`]: start the program with `mpirun -np N`, call
/// [`MpiGroup::init`] once at the start, and every process gets its rank. MPI is finalised
/// when the group is dropped.
///
/// ```no_run
/// use shaped::distributed::{Collective, MpiGroup};
/// let group = MpiGroup::init()?;
/// println!("rank {} of {}", group.rank(), group.world_size());
/// # Ok::<(), shaped::error::Error>(())
/// ```
pub struct MpiGroup {
    world: SimpleCommunicator,
    // Held during every MPI call: MPI is initialised for serialised use from several
    // threads, so calls must never overlap.
    calls: std::sync::Mutex<()>,
    // Dropped last: finalises MPI after the communicator is gone.
    _universe: mpi::environment::Universe,
}

impl MpiGroup {
    /// Initialises MPI (thread level `MPI_THREAD_SERIALIZED`, so the group can be shared
    /// with a [`SyncBatchNorm`](crate::nn::SyncBatchNorm) and used from any thread) and joins
    /// its world; an error if MPI was already initialised in this process or offers no
    /// serialised thread support.
    pub fn init() -> Result<Self> {
        let (universe, level) =
            mpi::initialize_with_threading(Threading::Serialized).ok_or_else(|| {
                Error::value(
                    "MpiGroup::init",
                    "MPI is already initialised in this process",
                )
            })?;
        if level < Threading::Serialized {
            return Err(Error::value(
                "MpiGroup::init",
                format!("the MPI library offers thread level {level:?}, Serialized is needed"),
            ));
        }
        Ok(MpiGroup {
            world: universe.world(),
            calls: std::sync::Mutex::new(()),
            _universe: universe,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        // The guard protects no data, so a panic while it was held leaves nothing broken.
        self.calls.lock().unwrap_or_else(|p| p.into_inner())
    }
}

// SAFETY: the communicator is a handle that is never mutated after `init`; MPI was
// initialised with MPI_THREAD_SERIALIZED (checked in `init`), which allows calls from any
// thread as long as they do not overlap, and every call below holds `calls`.
unsafe impl Send for MpiGroup {}
// SAFETY: as for `Send`: shared use goes through `&self` methods that each hold `calls`.
unsafe impl Sync for MpiGroup {}

impl Collective for MpiGroup {
    fn rank(&self) -> usize {
        self.world.rank() as usize
    }
    fn world_size(&self) -> usize {
        self.world.size() as usize
    }
    fn all_reduce_sum(&self, buf: Buffer<'_>) {
        let _serialised = self.lock();
        // The bindings have no in-place all-reduce; one copy of a bucket costs far less than
        // sending it.
        match buf {
            Buffer::F32(b) => {
                let send = b.to_vec();
                self.world
                    .all_reduce_into(&send[..], b, SystemOperation::sum());
            }
            Buffer::F64(b) => {
                let send = b.to_vec();
                self.world
                    .all_reduce_into(&send[..], b, SystemOperation::sum());
            }
        }
    }
    fn broadcast(&self, buf: Buffer<'_>, root: usize) {
        let _serialised = self.lock();
        let root = self.world.process_at_rank(root as i32);
        match buf {
            Buffer::F32(b) => root.broadcast_into(b),
            Buffer::F64(b) => root.broadcast_into(b),
        }
    }
    fn barrier(&self) {
        let _serialised = self.lock();
        self.world.barrier();
    }
}

// A group shared with a SyncBatchNorm must be Send + Sync; keep it so.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<MpiGroup>();
};
