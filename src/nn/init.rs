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
