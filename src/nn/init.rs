//! PyTorch's default initialisation rules (tests/golden/init_rules.json).

use crate::dtype::Float;
use crate::shape::Shape;
use crate::tensor::Tensor;
use rand::Rng;

/// `1/sqrt(fan_in)`: the bound of `kaiming_uniform_(a=sqrt(5))`, which PyTorch uses for the
/// weights of Linear and Conv layers, and of their biases.
pub fn linear_bound(fan_in: usize) -> f64 {
    if fan_in == 0 {
        0.0
    } else {
        1.0 / (fan_in as f64).sqrt()
    }
}

/// A tensor of `shape` drawn uniformly from `(-bound, bound)`.
pub fn uniform<S: Shape, E: Float, R: Rng + ?Sized>(
    shape: S,
    bound: f64,
    rng: &mut R,
) -> Tensor<S, E> {
    Tensor::uniform_with_shape(shape, E::from_f64(-bound), E::from_f64(bound), rng)
}

/// `xavier_uniform_`: uniform in `±sqrt(6 / (fan_in + fan_out))` (MultiheadAttention's
/// `in_proj_weight`).
pub fn xavier_bound(fan_in: usize, fan_out: usize) -> f64 {
    (6.0 / (fan_in + fan_out) as f64).sqrt()
}

/// Re-initialises every trainable parameter of `model` through the [`Params`] visitor:
/// `f(name, dims, values)` overwrites each one in place (buffers such as BatchNorm's running
/// statistics are left alone). Layers already start with PyTorch's default initialisation
/// from their constructors; this is for custom schemes, e.g. xavier weights and zero biases.
///
/// [`Params`]: crate::nn::Params
///
/// ```
/// use shaped::nn::{init, Linear, ReLU};
/// use shaped::prelude::*;
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let mut model = (Linear::<4, 8>::new(&mut rng), ReLU, Linear::<8, 2>::new(&mut rng));
/// init::init_params(&mut model, |name, dims, values: &mut [f32]| {
///     if name.ends_with("bias") {
///         values.fill(0.0);
///     } else {
///         let bound = init::xavier_bound(dims[1], dims[0]);
///         let t = init::uniform::<_, f32, _>((values.len(),), bound, &mut rng);
///         values.copy_from_slice(t.as_slice());
///     }
/// });
/// assert!(model.0.bias.as_ref().unwrap().as_slice().iter().all(|&b| b == 0.0));
/// ```
pub fn init_params<E: Float, M: crate::nn::Params<E> + ?Sized>(
    model: &mut M,
    mut f: impl FnMut(&str, &[usize], &mut [E]),
) {
    model.visit_mut("", &mut |p| {
        if p.kind == crate::nn::TensorKind::Parameter {
            f(p.name, p.dims.as_slice(), p.data)
        }
    });
}
