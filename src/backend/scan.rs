//! Running sums along an axis (`cumsum`) and their adjoint, the running sum taken from the
//! other end.

use crate::dtype::Float;

/// Inclusive running sum along the middle axis of `x` seen as `[outer, n, inner]`.
pub(crate) fn cumsum_axis<E: Float>(x: &[E], outer: usize, n: usize, inner: usize) -> Vec<E> {
    let mut out = x.to_vec();
    for o in 0..outer {
        let block = &mut out[o * n * inner..(o + 1) * n * inner];
        for k in 1..n {
            let (done, rest) = block.split_at_mut(k * inner);
            let prev = &done[(k - 1) * inner..];
            for (v, &p) in rest[..inner].iter_mut().zip(prev) {
                *v += p;
            }
        }
    }
    out
}

/// The backward of [`cumsum_axis`]: `acc[o, k, i] += sum(g[o, k.., i])`, a running sum
/// from the end of the axis.
pub(crate) fn cumsum_axis_backward<E: Float>(
    acc: &mut [E],
    g: &[E],
    outer: usize,
    n: usize,
    inner: usize,
) {
    let mut running = vec![E::ZERO; inner];
    for o in 0..outer {
        running.iter_mut().for_each(|r| *r = E::ZERO);
        for k in (0..n).rev() {
            let at = (o * n + k) * inner;
            for ((a, r), &v) in acc[at..at + inner]
                .iter_mut()
                .zip(running.iter_mut())
                .zip(&g[at..at + inner])
            {
                *r += v;
                *a += *r;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cumsum_and_its_adjoint() {
        // [2, 3, 2]: running sums along the middle axis.
        let x: Vec<f64> = (1..=12).map(f64::from).collect();
        let y = cumsum_axis(&x, 2, 3, 2);
        assert_eq!(y, vec![1., 2., 4., 6., 9., 12., 7., 8., 16., 18., 27., 30.]);
        // <cumsum(x), g> == <x, cumsum_backward(g)> for any g.
        let g: Vec<f64> = (0..12).map(|i| (i as f64 * 0.7).sin()).collect();
        let mut gx = vec![0.0; 12];
        cumsum_axis_backward(&mut gx, &g, 2, 3, 2);
        let lhs: f64 = y.iter().zip(&g).map(|(a, b)| a * b).sum();
        let rhs: f64 = x.iter().zip(&gx).map(|(a, b)| a * b).sum();
        assert!((lhs - rhs).abs() < 1e-9);
    }
}
