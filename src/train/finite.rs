//! The Trainer's check that training has not gone non-finite (issue 14).
//!
//! A NaN or infinity in a gradient spreads into every parameter it updates, and a NaN batch
//! poisons BatchNorm's running statistics for good (PyTorch behaves the same way), while
//! the loss can still look fine. After every backward pass the [`Trainer`](super::Trainer)
//! checks the model's buffers and the gradients before stepping, and the parameters after
//! the step, and stops at the first value that is not finite.

use crate::autograd::Gradients;
use crate::dtype::Float;
use crate::error::Error;
use crate::nn::{Params, TensorKind};

/// The index and value of the first element that is not finite, if any. The sum of
/// `v * 0` is 0 for finite values and NaN otherwise, a loop that vectorises; the search
/// only runs when it fails.
fn first_bad<E: Float>(data: &[E]) -> Option<(usize, E)> {
    let probe = data.iter().fold(E::ZERO, |acc, &v| acc + v * E::ZERO);
    if probe == E::ZERO {
        return None;
    }
    data.iter()
        .position(|v| !v.is_finite())
        .map(|i| (i, data[i]))
}

fn describe<E: Float>(i: usize, v: E) -> String {
    format!("{v} at element {i}")
}

/// Where the check is made, for the error message: `"epoch 3, step 120"`.
pub struct At {
    pub(crate) epoch: usize,
    pub(crate) step: u64,
}

fn error(at: &At, message: String) -> Error {
    Error::value(
        format!("training (epoch {}, step {})", at.epoch, at.step),
        message,
    )
}

/// Before a step: the first buffer (BatchNorm running statistics, updated by the forward
/// pass; when `buffers`), then the first gradient of a trainable parameter, that is not
/// finite. Buffers come first: a poisoned buffer is the cause when both are bad.
pub(crate) fn check_before_step<E: Float, M: Params<E> + ?Sized>(
    model: &M,
    grads: &Gradients<E>,
    buffers: bool,
    at: &At,
) -> Result<(), Error> {
    let mut bad = None;
    model.visit("", &mut |p| {
        if buffers
            && bad.is_none()
            && p.kind != TensorKind::Parameter
            && let Some((i, v)) = first_bad(p.data)
        {
            bad = Some(format!(
                "buffer `{}` is not finite ({}) after the forward pass: a batch with NaN or \
                 infinite values poisons BatchNorm's running statistics for good, as in PyTorch",
                p.name,
                describe(i, v)
            ));
        }
    });
    model.visit("", &mut |p| {
        if bad.is_none()
            && p.kind == TensorKind::Parameter
            && let Some(g) = grads.get_id(p.id)
            && let Some((i, v)) = first_bad(g)
        {
            bad = Some(format!(
                "the gradient of parameter `{}` is not finite ({}); the step was not taken",
                p.name,
                describe(i, v)
            ));
        }
    });
    bad.map_or(Ok(()), |m| Err(error(at, m)))
}

/// After a step: the first parameter that is not finite (an overflow in the update).
pub(crate) fn check_after_step<E: Float, M: Params<E> + ?Sized>(
    model: &M,
    at: &At,
) -> Result<(), Error> {
    let mut bad = None;
    model.visit("", &mut |p| {
        if bad.is_none()
            && p.kind == TensorKind::Parameter
            && let Some((i, v)) = first_bad(p.data)
        {
            bad = Some(format!(
                "parameter `{}` is not finite ({}) after the optimizer step",
                p.name,
                describe(i, v)
            ));
        }
    });
    bad.map_or(Ok(()), |m| Err(error(at, m)))
}

#[cfg(test)]
mod tests {
    use super::first_bad;

    #[test]
    fn finds_the_first_non_finite_element() {
        assert_eq!(first_bad(&[1.0f32, -2.0, 0.0]), None);
        assert_eq!(first_bad::<f32>(&[]), None);
        assert_eq!(
            first_bad(&[1.0f32, f32::INFINITY, f32::NAN]),
            Some((1, f32::INFINITY))
        );
        let (i, v) = first_bad(&[0.5f64, 2.0, f64::NAN]).unwrap();
        assert!(i == 2 && v.is_nan());
        assert_eq!(first_bad(&[f64::MAX, f64::MAX]), None);
    }
}
