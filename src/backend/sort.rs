//! Orders along an axis: the permutation that sorts each line (`sort`, `topk`). Values are
//! then read through [`gather`](super::layout::gather), whose backward scatters gradients
//! back through the same indices.

use crate::dtype::Float;
use core::cmp::Ordering;

/// PyTorch's order for sorting floats: NaN above every number (last when ascending, first
/// when descending), and otherwise the usual order.
fn nan_last<E: Float>(a: E, b: E) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// For each line along the middle axis of `x` seen as `[outer, n, inner]`, the positions of
/// its first `k` elements in sorted order (ascending, or descending when `descending`),
/// laid out as `[outer, k, inner]`. The sort is stable: equal elements keep their order.
pub(crate) fn argsort_axis<E: Float>(
    x: &[E],
    outer: usize,
    n: usize,
    inner: usize,
    k: usize,
    descending: bool,
) -> Vec<usize> {
    debug_assert!(k <= n);
    let mut out = vec![0; outer * k * inner];
    let mut line: Vec<usize> = Vec::with_capacity(n);
    for o in 0..outer {
        for i in 0..inner {
            let at = |p: usize| x[(o * n + p) * inner + i];
            line.clear();
            line.extend(0..n);
            let cmp = |&a: &usize, &b: &usize| {
                if descending {
                    nan_last(at(b), at(a))
                } else {
                    nan_last(at(a), at(b))
                }
            };
            if k < n {
                // Only the first k are wanted: partition first, then sort those; ties are
                // broken by position so the result equals a stable full sort.
                let by_pos = |a: &usize, b: &usize| cmp(a, b).then(a.cmp(b));
                if k > 0 {
                    line.select_nth_unstable_by(k - 1, by_pos);
                }
                line.truncate(k);
                line.sort_unstable_by(by_pos);
            } else {
                line.sort_by(cmp);
            }
            for (j, &p) in line.iter().enumerate() {
                out[(o * k + j) * inner + i] = p;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_sort_and_partial_sort_agree() {
        let x = [3.0f32, 1.0, 3.0, f32::NAN, -2.0, 1.0];
        assert_eq!(argsort_axis(&x, 1, 6, 1, 6, false), vec![4, 1, 5, 0, 2, 3]);
        assert_eq!(argsort_axis(&x, 1, 6, 1, 6, true), vec![3, 0, 2, 1, 5, 4]);
        for k in 0..=6 {
            let full = argsort_axis(&x, 1, 6, 1, 6, true);
            assert_eq!(argsort_axis(&x, 1, 6, 1, k, true), full[..k].to_vec());
            let full = argsort_axis(&x, 1, 6, 1, 6, false);
            assert_eq!(argsort_axis(&x, 1, 6, 1, k, false), full[..k].to_vec());
        }
        // Along a middle axis: [1, 3, 2], columns sorted separately.
        let y = [5.0f64, 0.0, 1.0, 2.0, 3.0, 1.0];
        assert_eq!(argsort_axis(&y, 1, 3, 2, 3, false), vec![1, 0, 2, 2, 0, 1]);
    }
}
