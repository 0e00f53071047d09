//! Reductions along one axis, seen as a `[outer, n, inner]` block.

use super::simd::wide;
use crate::dtype::Float;

/// Splits `dims` around `axis` into (outer, n, inner) element counts.
pub(crate) fn split_axis(dims: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = dims[..axis].iter().product();
    let inner = dims[axis + 1..].iter().product();
    (outer, dims[axis], inner)
}

/// Sum along the middle of `[outer, n, inner]`.
pub(crate) fn sum_axis<E: Float>(x: &[E], outer: usize, n: usize, inner: usize) -> Vec<E> {
    wide(
        #[inline(always)]
        || {
            if inner == 1 && n > 0 {
                // Reducing the last axis: one contiguous row per output, summed in 8 independent
                // lanes so the loop vectorises (a single running sum is a serial dependency).
                return x
                    .chunks_exact(n.max(1))
                    .take(outer)
                    .map(sum_contiguous)
                    .collect();
            }
            let mut out = vec![E::ZERO; outer * inner];
            for o in 0..outer {
                let dst = &mut out[o * inner..(o + 1) * inner];
                for k in 0..n {
                    let src = &x[(o * n + k) * inner..(o * n + k + 1) * inner];
                    for (d, &s) in dst.iter_mut().zip(src) {
                        *d += s;
                    }
                }
            }
            out
        },
    )
}

/// Adds `g` (shaped `[outer, inner]`) to every `k` of `acc` (shaped `[outer, n, inner]`) times `scale`.
pub(crate) fn spread_axis<E: Float>(
    acc: &mut [E],
    g: &[E],
    outer: usize,
    n: usize,
    inner: usize,
    scale: E,
) {
    wide(
        #[inline(always)]
        || {
            if inner == 1 && n > 0 {
                for (row, &gv) in acc.chunks_exact_mut(n).zip(g) {
                    let v = gv * scale;
                    row.iter_mut().for_each(|a| *a += v);
                }
                return;
            }
            for o in 0..outer {
                let src = &g[o * inner..(o + 1) * inner];
                for k in 0..n {
                    let dst = &mut acc[(o * n + k) * inner..(o * n + k + 1) * inner];
                    for (d, &s) in dst.iter_mut().zip(src) {
                        *d += s * scale;
                    }
                }
            }
        },
    )
}

/// The extreme value along the axis and its first index; `better(a, b)` is true when `a`
/// should replace `b`. NaN propagates, as in PyTorch.
pub(crate) fn arg_extreme_axis<E: Float>(
    x: &[E],
    outer: usize,
    n: usize,
    inner: usize,
    better: impl Fn(E, E) -> bool,
) -> (Vec<E>, Vec<usize>) {
    wide(
        #[inline(always)]
        || {
            let mut vals = Vec::with_capacity(outer * inner);
            let mut idxs = Vec::with_capacity(outer * inner);
            for o in 0..outer {
                for i in 0..inner {
                    let base = o * n * inner + i;
                    let mut best = x[base];
                    let mut bi = 0;
                    for k in 1..n {
                        let v = x[base + k * inner];
                        if !best.is_nan() && (v.is_nan() || better(v, best)) {
                            best = v;
                            bi = k;
                        }
                    }
                    vals.push(best);
                    idxs.push(bi);
                }
            }
            (vals, idxs)
        },
    )
}

/// Sum of a contiguous slice in eight lanes.
pub(crate) fn sum_contiguous<E: Float>(x: &[E]) -> E {
    wide(
        #[inline(always)]
        || {
            let mut lanes = [E::ZERO; 8];
            let chunks = x.chunks_exact(8);
            let rest = chunks.remainder();
            for c in chunks {
                for (l, &v) in lanes.iter_mut().zip(c) {
                    *l += v;
                }
            }
            let mut total = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
                + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
            for &v in rest {
                total += v;
            }
            total
        },
    )
}
