//! Gradient clipping (`torch.nn.utils.clip_grad_norm_`, `clip_grad_value_`).

use crate::autograd::Gradients;
use crate::dtype::Float;
use crate::nn::{Params, TensorKind};

/// The trainable tensors' ids, each once: a tensor visited under two names is clipped once,
/// as PyTorch's `parameters()` lists it once.
fn param_ids<E: Float, M: Params<E> + ?Sized>(model: &M) -> Vec<crate::autograd::UniqueId> {
    let mut ids = Vec::new();
    let mut seen = std::collections::HashSet::new();
    model.visit("", &mut |p| {
        if p.kind == TensorKind::Parameter && seen.insert(p.id) {
            ids.push(p.id)
        }
    });
    ids
}

/// Scales the gradients of `model`'s parameters so that their global L2 norm is at most
/// `max_norm`; returns the norm before clipping (like PyTorch, with its `1e-6` guard).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::Linear;
/// use shaped::optim::clip_grad_norm;
/// use rand::SeedableRng;
/// let model = Linear::<2, 1>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let loss = model.forward(Tensor::<Rank2<1, 2>>::full(100.0).trace()).sum();
/// let mut grads = loss.backward();
/// let norm = clip_grad_norm(&model, &mut grads, 1.0);
/// assert!(norm > 1.0);
/// assert!(clip_grad_norm(&model, &mut grads, 1.0) <= 1.0 + 1e-4);
/// ```
pub fn clip_grad_norm<E: Float, M: Params<E> + ?Sized>(
    model: &M,
    grads: &mut Gradients<E>,
    max_norm: f64,
) -> f64 {
    let ids = param_ids(model);
    let total: f64 = ids
        .iter()
        .filter_map(|&id| grads.get_id(id))
        .flat_map(|g| g.iter())
        .map(|v| v.to_f64() * v.to_f64())
        .sum::<f64>()
        .sqrt();
    let coef = max_norm / (total + 1e-6);
    if coef < 1.0 {
        let c = E::from_f64(coef);
        for id in ids {
            if let Some(g) = grads.get_id_mut(id) {
                g.iter_mut().for_each(|v| *v *= c);
            }
        }
    }
    total
}

/// Clamps every gradient element of `model`'s parameters to `[-clip, clip]`.
pub fn clip_grad_value<E: Float, M: Params<E> + ?Sized>(
    model: &M,
    grads: &mut Gradients<E>,
    clip: f64,
) {
    let c = E::from_f64(clip);
    for id in param_ids(model) {
        if let Some(g) = grads.get_id_mut(id) {
            g.iter_mut().for_each(|v| *v = v.max(-c).min(c));
        }
    }
}
