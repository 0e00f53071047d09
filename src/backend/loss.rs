//! Loops of the loss ops with a constant input: loss weights with ignored targets masked out,
//! and BCE on logits with `pos_weight`.
//! Losses are small next to the layers that feed them, so these run on one thread.

use crate::dtype::Float;

/// `f(a[i], b[i], c[i])` for every element.
pub(crate) fn map3<E: Float>(a: &[E], b: &[E], c: &[E], f: impl Fn(E, E, E) -> E) -> Vec<E> {
    a.iter()
        .zip(b)
        .zip(c)
        .map(|((&a, &b), &c)| f(a, b, c))
        .collect()
}

/// `g[i] * d(a[i], b[i], c[i])` for every element: the gradient of one input.
pub(crate) fn derivative_product3<E: Float>(
    g: &[E],
    a: &[E],
    b: &[E],
    c: &[E],
    d: impl Fn(E, E, E) -> E,
) -> Vec<E> {
    g.iter()
        .zip(a.iter().zip(b).zip(c))
        .map(|(&g, ((&a, &b), &c))| g * d(a, b, c))
        .collect()
}

/// `a[i] * w[i]`, or 0 where `keep[i]` is false.
pub(crate) fn masked_mul<E: Float>(a: &[E], w: &[E], keep: Option<&[bool]>) -> Vec<E> {
    match keep {
        None => a.iter().zip(w).map(|(&a, &w)| a * w).collect(),
        Some(keep) => a
            .iter()
            .zip(w)
            .zip(keep)
            .map(|((&a, &w), &k)| if k { a * w } else { E::ZERO })
            .collect(),
    }
}
