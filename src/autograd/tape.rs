//! Tapes: the record of backward operations that travels with a traced tensor.

use super::gradients::{Gradients, IdSet};
use crate::dtype::Float;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

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
    /// A tape that tracks nothing: for a constant made inside a traced computation (a
    /// recurrent layer's zero initial state), which takes no gradient, so no op computes
    /// one for it. The default tracks a fresh id that no tensor has.
    fn untracked() -> Self {
        Self::leaf(UniqueId::new())
    }
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
    #[inline(always)]
    fn untracked() -> Self {
        NoTape
    }
}

/// One recorded op: its backward step (taken when run) and the nodes of its inputs.
pub(crate) struct Node<E: Float> {
    pub(crate) id: UniqueId,
    pub(crate) op: Mutex<Option<BackwardOp<E>>>,
    pub(crate) parents: Vec<Arc<Node<E>>>,
}

impl<E: Float> Drop for Node<E> {
    // Dropping a long chain (an RNN over many steps) recursively would overflow the stack;
    // unlink parents iteratively instead.
    fn drop(&mut self) {
        let mut stack = core::mem::take(&mut self.parents);
        while let Some(n) = stack.pop() {
            if let Ok(mut node) = Arc::try_unwrap(n) {
                stack.append(&mut node.parents);
            }
        }
    }
}

/// The tape of a traced tensor: a handle on the graph of ops that led to it, moved from op to
/// op with the tensor.
///
/// Each op adds one node pointing at the nodes of its inputs, so a clone of a traced tensor
/// keeps the whole history (an `Arc` clone, not a copy) and any traced tensor can be
/// backpropagated alone — `h_n` of an RNN as well as its outputs `y`. `backward` visits each
/// node once, newest first.
pub struct OwnedTape<E: Float> {
    /// The newest nodes this tensor depends on (one after an op; several after a merge).
    pub(crate) heads: Vec<Arc<Node<E>>>,
    /// The ids of the traced tensors whose tapes were merged into this one: exactly the
    /// inputs of the op about to be recorded that want gradients.
    pub(crate) owners: Vec<UniqueId>,
}

impl<E: Float> OwnedTape<E> {
    /// A tape for the traced leaf `id`, with no history.
    pub fn tracking(id: UniqueId) -> Self {
        OwnedTape {
            heads: Vec::new(),
            owners: vec![id],
        }
    }
    /// A tape that records ops but tracks no tensor yet (see [`Tensor::trace_constant`]).
    ///
    /// ```
    /// use shaped::autograd::OwnedTape;
    /// let tape = OwnedTape::<f32>::untracked();
    /// assert!(tape.is_empty());
    /// ```
    ///
    /// [`Tensor::trace_constant`]: crate::tensor::Tensor::trace_constant
    pub fn untracked() -> Self {
        OwnedTape {
            heads: Vec::new(),
            owners: Vec::new(),
        }
    }
    /// The number of ops this tape can reach (walks the graph).
    pub fn len(&self) -> usize {
        self.nodes().len()
    }
    /// True when no op is recorded.
    pub fn is_empty(&self) -> bool {
        self.heads.is_empty()
    }
    /// Runs the backward step of every node reachable from the heads, consumers before
    /// producers, on `grads` (which holds the loss's gradient), and leaves every gradient
    /// in `grads` as a buffer: the backward pass of CPU and GPU tensors alike.
    pub(crate) fn backpropagate(self, grads: &mut Gradients<E>) {
        for node in self.nodes() {
            // A poisoned lock means another backward panicked mid-step; its op is unusable.
            let op = node.op.lock().ok().and_then(|mut op| op.take());
            match op {
                Some(op) => op(grads),
                None => panic!(
                    "backward() reached an op whose backward step already ran: this graph was \
                     backpropagated before (trace the inputs again for a second backward pass)"
                ),
            }
        }
        grads.expand_all();
    }
    /// Every node reachable from the heads, each once, newest first.
    pub(crate) fn nodes(&self) -> Vec<Arc<Node<E>>> {
        let mut seen = IdSet::default();
        let mut stack: Vec<Arc<Node<E>>> = self.heads.clone();
        let mut out = Vec::new();
        while let Some(n) = stack.pop() {
            if seen.insert(n.id) {
                stack.extend(n.parents.iter().cloned());
                out.push(n);
            }
        }
        // Ids grow with creation, so descending ids visit every consumer before its producer.
        out.sort_unstable_by_key(|n| core::cmp::Reverse(n.id));
        out
    }
}

impl<E: Float> core::fmt::Debug for OwnedTape<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "OwnedTape({} heads)", self.heads.len())
    }
}

impl<E: Float> Tape<E> for OwnedTape<E> {
    const TRACING: bool = true;
    #[inline]
    fn tracks(&self, id: UniqueId) -> bool {
        self.owners.contains(&id)
    }
    fn record(&mut self, out: UniqueId, op: BackwardOp<E>) {
        let parents = core::mem::take(&mut self.heads);
        self.heads.push(Arc::new(Node {
            id: out,
            op: Mutex::new(Some(op)),
            parents,
        }));
        self.owners.clear();
        self.owners.push(out);
    }
    fn for_clone(&self, id: UniqueId) -> Self {
        OwnedTape {
            heads: self.heads.clone(),
            owners: vec![id],
        }
    }
    fn leaf(id: UniqueId) -> Self {
        OwnedTape::tracking(id)
    }
    fn untracked() -> Self {
        OwnedTape {
            heads: Vec::new(),
            owners: Vec::new(),
        }
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
    fn merge(mut self, mut rhs: OwnedTape<E>) -> OwnedTape<E> {
        for h in rhs.heads.drain(..) {
            if !self.heads.iter().any(|x| Arc::ptr_eq(x, &h)) {
                self.heads.push(h);
            }
        }
        self.owners.append(&mut rhs.owners);
        self
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
