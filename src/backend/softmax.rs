//! Softmax and log-softmax along one axis of a `[outer, n, inner]` block, forward and
//! backward.

use super::simd::wide;
use crate::dtype::Float;

/// Softmax along the middle of `[outer, n, inner]`, shifted by each row's maximum.
pub(crate) fn softmax_axis<E: Float>(x: &[E], outer: usize, n: usize, inner: usize) -> Vec<E> {
    wide(
        #[inline(always)]
        || {
            let mut y = vec![E::ZERO; x.len()];
            for o in 0..outer {
                for i in 0..inner {
                    let at = |k: usize| (o * n + k) * inner + i;
                    let mut m = E::NEG_INFINITY;
                    for k in 0..n {
                        m = m.max(x[at(k)]);
                    }
                    if !m.is_finite() {
                        m = E::ZERO;
                    }
                    let mut s = E::ZERO;
                    for k in 0..n {
                        let e = (x[at(k)] - m).exp();
                        y[at(k)] = e;
                        s += e;
                    }
                    let inv = E::ONE / s;
                    for k in 0..n {
                        y[at(k)] *= inv;
                    }
                }
            }
            y
        },
    )
}

/// `y = x - m - ln(sum_k exp(x - m))` along the middle axis, `m` being the row maximum.
pub(crate) fn log_softmax_axis<E: Float>(x: &[E], outer: usize, n: usize, inner: usize) -> Vec<E> {
    wide(
        #[inline(always)]
        || {
            let mut y = vec![E::ZERO; x.len()];
            for o in 0..outer {
                for i in 0..inner {
                    let at = |k: usize| (o * n + k) * inner + i;
                    // An infinite maximum is not replaced: x - m is then NaN somewhere and
                    // the whole row NaN, as in PyTorch (so is a row holding a NaN).
                    let mut m = E::NEG_INFINITY;
                    for k in 0..n {
                        m = m.max(x[at(k)]);
                    }
                    let mut s = E::ZERO;
                    for k in 0..n {
                        let shifted = x[at(k)] - m;
                        y[at(k)] = shifted;
                        s += shifted.exp();
                    }
                    let lse = s.ln();
                    for k in 0..n {
                        y[at(k)] -= lse;
                    }
                }
            }
            y
        },
    )
}

/// `gx += gy - exp(y) * sum_k(gy)` along the middle axis: the backward of
/// [`log_softmax_axis`] from its output `y`.
pub(crate) fn log_softmax_backward<E: Float>(
    gx: &mut [E],
    gy: &[E],
    y: &[E],
    outer: usize,
    n: usize,
    inner: usize,
) {
    wide(
        #[inline(always)]
        || {
            for o in 0..outer {
                for i in 0..inner {
                    let at = |k: usize| (o * n + k) * inner + i;
                    let mut total = E::ZERO;
                    for k in 0..n {
                        total += gy[at(k)];
                    }
                    for k in 0..n {
                        gx[at(k)] += gy[at(k)] - y[at(k)].exp() * total;
                    }
                }
            }
        },
    )
}

/// `gx += y * (gy - sum_k(gy * y))` along the middle axis.
pub(crate) fn softmax_backward<E: Float>(
    gx: &mut [E],
    gy: &[E],
    y: &[E],
    outer: usize,
    n: usize,
    inner: usize,
) {
    wide(
        #[inline(always)]
        || {
            for o in 0..outer {
                for i in 0..inner {
                    let at = |k: usize| (o * n + k) * inner + i;
                    let mut dot = E::ZERO;
                    for k in 0..n {
                        dot += gy[at(k)] * y[at(k)];
                    }
                    for k in 0..n {
                        gx[at(k)] += y[at(k)] * (gy[at(k)] - dot);
                    }
                }
            }
        },
    )
}

#[cfg(test)]
mod log_softmax_tests {
    use super::*;

    /// Large logits stay finite; rows with NaN or only infinities give NaN, as PyTorch's.
    #[test]
    fn log_softmax_edge_rows() {
        let inf = f32::INFINITY;
        // Checked against torch.log_softmax: every row but the first is all NaN.
        let x = [1000.0, 0.0, -inf, -inf, 1.0, f32::NAN, inf, 0.0];
        let y = log_softmax_axis(&x, 4, 2, 1);
        assert_eq!(&y[..2], &[0.0, -1000.0]);
        assert!(y[2..].iter().all(|v| v.is_nan()), "{y:?}");
        // The backward from a one-hot cotangent is one-hot minus softmax.
        let (x, gy) = ([0.0f64, 2f64.ln()], [1.0, 0.0]);
        let y = log_softmax_axis(&x, 1, 2, 1);
        let mut gx = [0.0; 2];
        log_softmax_backward(&mut gx, &gy, &y, 1, 2, 1);
        assert!((gx[0] - 2.0 / 3.0).abs() < 1e-15 && (gx[1] + 2.0 / 3.0).abs() < 1e-15);
    }
}
