//! Differentiable operations. Each file is one family; each derivative rule is written once,
//! as a kernel (unary, binary) or a backward step next to its forward.

pub mod activation;
pub(crate) mod attention;
pub mod bilinear;
pub mod binary;
pub mod cat;
pub mod compare;
pub mod conv;
pub mod conv3d;
pub mod conv_grouped;
pub mod cumsum;
pub mod distance;
pub mod hook;
pub mod index;
pub mod interpolate;
pub mod linear;
pub(crate) mod lookup;
pub(crate) mod loss;
pub mod matmul;
pub(crate) mod norm;
pub(crate) mod optim;
pub mod pad;
pub mod pixel_shuffle;
pub mod pool;
pub mod pool3d;
pub mod reduce;
pub(crate) mod rnn;
pub(crate) mod rnn_cell;
pub mod shape_ops;
pub mod softmax;
pub mod sort;
pub mod split;
pub mod sync_norm;
pub mod unary;

/// A gradient slot from [`Gradients::contribute`](crate::autograd::Gradients) as the
/// backend's kernels take it: add into an existing gradient, or write a new one whole.
pub(crate) fn grad_target<E>(
    slot: crate::autograd::GradSlot<'_, E>,
) -> crate::backend::uninit::GradTarget<'_, E> {
    use crate::autograd::GradSlot;
    use crate::backend::uninit::GradTarget;
    match slot {
        GradSlot::Existing(g) => GradTarget::Add(g),
        GradSlot::New(g) => GradTarget::Write(g),
    }
}
