//! Gradient clipping of GPU models: the GPU's [`clip_grad_norm`](crate::optim::clip_grad_norm)
//! and [`clip_grad_value`](crate::optim::clip_grad_value). Everything stays on the GPU: the
//! norm is returned as a GPU scalar and the scale is applied without reading it back, as
//! PyTorch's `clip_grad_norm_` does on CUDA.

use super::activations::GpuActivations;
use super::nn::GpuParams;
use super::ops::GpuOps;
use super::tensor::{GpuTensor, add_grad, gpu_tensor};
use crate::autograd::{Gradients, NoTape, UniqueId};
use crate::device::Wgpu;
use crate::dtype::Float;
use std::collections::HashSet;

/// The parameters' gradients that exist, each tensor once (a tensor visited under two names
/// is clipped once), as flat GPU tensors with their ids.
fn param_grads<E: Float, M: GpuParams<E> + ?Sized>(
    model: &mut M,
    grads: &Gradients<E>,
) -> Vec<(UniqueId, GpuTensor<(usize,), NoTape, E>)> {
    let mut ids = Vec::new();
    let mut seen = HashSet::new();
    model.visit_gpu("", &mut |p| {
        if seen.insert(p.id) {
            ids.push(p.id);
        }
    });
    ids.into_iter()
        .filter_map(|id| {
            let g = grads.get_gpu_storage(id)?;
            Some((id, gpu_tensor((g.len(),), g, NoTape)))
        })
        .collect()
}

/// Scales the gradients of `model`'s parameters so that their global L2 norm is at most
/// `max_norm` (`torch.nn.utils.clip_grad_norm_`, with its `1e-6` guard) and returns the norm
/// before clipping as a GPU scalar; nothing is read back. `None` when no parameter has a
/// gradient.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::nn::Linear;
/// use shaped::rand::SeedableRng;
/// let gpu = Wgpu::new()?;
/// let cpu = Linear::<2, 1>::new(&mut shaped::rand::rngs::StdRng::seed_from_u64(0));
/// let mut model = cpu.to_device(&gpu)?;
/// let x = Tensor::<Rank2<1, 2>>::full(100.0).to_device(&gpu)?;
/// let mut grads = model.forward(x.trace_constant()).sum().backward();
/// let norm = shaped::gpu::clip_grad_norm(&mut model, &mut grads, 1.0).unwrap();
/// assert!(norm.to_cpu()?.to_vec()[0] > 1.0);
/// # Ok::<(), shaped::error::Error>(())
/// ```
pub fn clip_grad_norm<E: Float, M: GpuParams<E> + ?Sized>(
    model: &mut M,
    grads: &mut Gradients<E>,
    max_norm: f64,
) -> Option<GpuTensor<(), NoTape, E>> {
    let params = param_grads(model, grads);
    let total = params
        .iter()
        .map(|(_, g)| g.clone().square().sum())
        .reduce(|a, b| a + b)?;
    let norm = total.sqrt();
    let gpu: Wgpu = norm.data.device().clone();
    let limit = gpu_tensor((), gpu.upload(&[E::from_f64(max_norm)]), NoTape);
    // min(max_norm / (norm + 1e-6), 1): always applied, as PyTorch does (a factor of 1
    // leaves the gradients unchanged), so no value has to come back to decide.
    let coef = (limit / (norm.clone() + E::from_f64(1e-6))).clamp(E::NEG_INFINITY, E::ONE);
    for (id, g) in params {
        let scaled = g * coef.clone();
        grads.take_device(id);
        add_grad(grads, id, scaled.data);
    }
    Some(norm)
}

/// Clamps every gradient element of `model`'s parameters to `[-clip, clip]`
/// (`torch.nn.utils.clip_grad_value_`), on the GPU.
pub fn clip_grad_value<E: Float, M: GpuParams<E> + ?Sized>(
    model: &mut M,
    grads: &mut Gradients<E>,
    clip: f64,
) {
    let c = E::from_f64(clip);
    for (id, g) in param_grads(model, grads) {
        let clamped = g.clamp(-c, c);
        grads.take_device(id);
        add_grad(grads, id, clamped.data);
    }
}
