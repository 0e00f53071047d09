//! Tapes: the record of backward operations that travels with a traced tensor.

use super::gradients::{Gradients, IdSet};
use crate::dtype::Float;
use std::sync::atomic::{AtomicU64, Ordering};

/// Identifies a tensor's value for autograd. Clones share it; every op result gets a fresh
/// one. Ids only grow, so sorting operations by their output id gives a valid order for the
/// backward pass.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct UniqueId(u64);

impl UniqueId {
    /// A new id, larger than every id handed out before.
    pub fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        UniqueId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl Default for UniqueId {
    fn default() -> Self {
        Self::new()
    }
}

/// One backward step: reads the gradient of an op's output and adds to its inputs'.
pub type BackwardOp<E> = Box<dyn FnOnce(&mut Gradients<E>) + Send>;

/// What a tensor carries for autograd: [`NoTape`] (nothing, the default) or [`OwnedTape`].
pub trait Tape<E: Float>:
    Send + 'static + Sized + Merge<E, Self, Output = Self> + Merge<E, NoTape, Output = Self>
{
    /// Whether ops should record backward steps at all.
    const TRACING: bool;
    /// Whether gradients should flow to the tensor with this id.
    fn tracks(&self, id: UniqueId) -> bool;
    /// Records the backward step of the op whose output is `out`.
    fn record(&mut self, out: UniqueId, op: BackwardOp<E>);
    /// The tape a clone of the tensor `id` carries: empty, but still tracking `id`.
    fn for_clone(&self, id: UniqueId) -> Self;
    /// A fresh tape for a leaf (a parameter) that should be tracked when this kind of tape
    /// is in use: layers trace their parameters this way when their input is traced.
    fn leaf(id: UniqueId) -> Self;
}

/// Two tapes that meet in a binary op. Untraced tensors may stand on either side.
pub trait Merge<E: Float, Rhs> {
    /// The merged tape.
    type Output: Tape<E>;
    /// Joins both records.
    fn merge(self, rhs: Rhs) -> Self::Output;
}

/// The tape of an untraced tensor: zero-sized, records nothing, costs nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoTape;

impl<E: Float> Tape<E> for NoTape {
    const TRACING: bool = false;
    #[inline(always)]
    fn tracks(&self, _: UniqueId) -> bool {
        false
    }
    #[inline(always)]
    fn record(&mut self, _: UniqueId, _: BackwardOp<E>) {}
    #[inline(always)]
    fn for_clone(&self, _: UniqueId) -> Self {
        NoTape
    }
    #[inline(always)]
    fn leaf(_: UniqueId) -> Self {
        NoTape
    }
}

/// The tape of a traced tensor: the backward steps of every op that led to it, and the ids
/// that want gradients. It moves from op to op with the tensor.
pub struct OwnedTape<E: Float> {
    pub(crate) ops: Vec<(UniqueId, BackwardOp<E>)>,
    pub(crate) tracked: IdSet,
}

impl<E: Float> OwnedTape<E> {
    /// A tape that tracks the tensor `id` and holds no operations yet.
    pub fn tracking(id: UniqueId) -> Self {
        let mut tracked = IdSet::default();
        tracked.insert(id);
        OwnedTape { ops: Vec::new(), tracked }
    }
    /// The number of recorded backward steps.
    pub fn len(&self) -> usize {
        self.ops.len()
    }
    /// True when nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
    fn absorb(mut self, mut other: Self) -> Self {
        // Extending the larger record by the smaller keeps long chains (RNNs) linear; the
        // order is restored once, by id, in `backward`.
        if self.ops.len() < other.ops.len() {
            core::mem::swap(&mut self.ops, &mut other.ops);
        }
        self.ops.append(&mut other.ops);
        if self.tracked.len() < other.tracked.len() {
            core::mem::swap(&mut self.tracked, &mut other.tracked);
        }
        self.tracked.extend(other.tracked);
        self
    }
}

impl<E: Float> core::fmt::Debug for OwnedTape<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "OwnedTape({} ops)", self.ops.len())
    }
}

impl<E: Float> Tape<E> for OwnedTape<E> {
    const TRACING: bool = true;
    #[inline]
    fn tracks(&self, id: UniqueId) -> bool {
        self.tracked.contains(&id)
    }
    #[inline]
    fn record(&mut self, out: UniqueId, op: BackwardOp<E>) {
        self.tracked.insert(out);
        self.ops.push((out, op));
    }
    fn for_clone(&self, id: UniqueId) -> Self {
        OwnedTape::tracking(id)
    }
    fn leaf(id: UniqueId) -> Self {
        OwnedTape::tracking(id)
    }
}

impl<E: Float> Merge<E, NoTape> for NoTape {
    type Output = NoTape;
    #[inline(always)]
    fn merge(self, _: NoTape) -> NoTape {
        NoTape
    }
}
impl<E: Float> Merge<E, OwnedTape<E>> for NoTape {
    type Output = OwnedTape<E>;
    #[inline(always)]
    fn merge(self, rhs: OwnedTape<E>) -> OwnedTape<E> {
        rhs
    }
}
impl<E: Float> Merge<E, NoTape> for OwnedTape<E> {
    type Output = OwnedTape<E>;
    #[inline(always)]
    fn merge(self, _: NoTape) -> OwnedTape<E> {
        self
    }
}
impl<E: Float> Merge<E, OwnedTape<E>> for OwnedTape<E> {
    type Output = OwnedTape<E>;
    fn merge(self, rhs: OwnedTape<E>) -> OwnedTape<E> {
        self.absorb(rhs)
    }
}

/// Tapes that `backward()` can run: only [`OwnedTape`].
#[diagnostic::on_unimplemented(
    message = "backward() needs a traced tensor, but this one carries `{Self}`",
    label = "this tensor was computed without a tape",
    note = "call `.trace()` on the parameters or inputs you want gradients for before the forward pass"
)]
pub trait BackwardTape<E: Float>: Tape<E> {
    /// The tape's record.
    fn into_owned(self) -> OwnedTape<E>;
}
impl<E: Float> BackwardTape<E> for OwnedTape<E> {
    fn into_owned(self) -> OwnedTape<E> {
        self
    }
}
