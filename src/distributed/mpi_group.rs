//! [`MpiGroup`]: one rank per MPI process (cargo feature `mpi`).

use super::{Buffer, Collective};
use crate::error::{Error, Result};
use mpi::collective::SystemOperation;
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
    // Dropped last: finalises MPI after the communicator is gone.
    _universe: mpi::environment::Universe,
}

impl MpiGroup {
    /// Initialises MPI and joins its world; an error if MPI was already initialised in this
    /// process.
    pub fn init() -> Result<Self> {
        let universe = mpi::initialize().ok_or_else(|| {
            Error::value(
                "MpiGroup::init",
                "MPI is already initialised in this process",
            )
        })?;
        Ok(MpiGroup {
            world: universe.world(),
            _universe: universe,
        })
    }
}

impl Collective for MpiGroup {
    fn rank(&self) -> usize {
        self.world.rank() as usize
    }
    fn world_size(&self) -> usize {
        self.world.size() as usize
    }
    fn all_reduce_sum(&self, buf: Buffer<'_>) {
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
        let root = self.world.process_at_rank(root as i32);
        match buf {
            Buffer::F32(b) => root.broadcast_into(b),
            Buffer::F64(b) => root.broadcast_into(b),
        }
    }
    fn barrier(&self) {
        self.world.barrier();
    }
}
