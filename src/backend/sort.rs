//! Orders along an axis: the permutation that sorts each line (`sort`, `topk`). Values are
//! then read through [`gather`](super::layout::gather), whose backward scatters gradients
//! back through the same indices.

use super::parallel::for_row_blocks_plain_from;
use crate::dtype::Float;

/// An integer whose order is PyTorch's order of the floats: NaN above every number (all NaNs
/// equal), `-0.0` equal to `0.0`, the rest as usual; reversed when `descending`. Sorting
/// integer keys with each element's position as a tie-break is a stable sort of the floats,
/// without a comparison closure that reads the tensor at every step (a (4096, 1024) `f32`
/// sort along the last axis: 282 ms on one thread, PyTorch 203).
#[inline(always)]
fn order_key<E: Float>(v: E, descending: bool) -> u64 {
    let v = v.to_f64();
    // `+ 0.0` turns -0.0 into 0.0; negative floats order backwards as integers, so their
    // bits are all flipped and the others' sign bit set. Without branches: on a sign that
    // varies at random a branch here mispredicted half the time (`topk` of 8 along rows of
    // (4096, 1024) `f32`, one thread: 34 -> 16 ms, and a full sort 80 -> 62).
    let bits = (v + 0.0).to_bits();
    let negative = ((bits as i64) >> 63) as u64;
    let key = bits ^ (negative | 1 << 63);
    let key = if v.is_nan() { u64::MAX } else { key };
    key ^ (descending as u64).wrapping_neg()
}

/// Low bits of an `f32`'s [`order_key`] that are always equal (the 29 mantissa bits an `f64`
/// has beyond an `f32`'s): an `f32` line of up to `2^29` elements packs key and position
/// into one `u64`.
const F32_SPARE_BITS: u32 = 29;

/// Input elements from which [`argsort_axis`] splits its lines over the threads: building
/// and selecting keys costs a few nanoseconds an element, so a hand-off (about 1 us) pays
/// from a few thousand on. Counted on the output (`k` per line) the split never came for
/// `topk`: 8 of each row of (4096, 1024) `f32` ran on one thread (38 ms; PyTorch 5.4 on two).
const SORT_PARALLEL_ELEMS: usize = 1 << 14;

/// For each line along the middle axis of `x` seen as `[outer, n, inner]`, the positions of
/// its first `k` elements in sorted order (ascending, or descending when `descending`),
/// laid out as `[outer, k, inner]`. The sort is stable: equal elements keep their order.
/// Blocks of lines over the threads.
pub(crate) fn argsort_axis<E: Float>(
    x: &[E],
    outer: usize,
    n: usize,
    inner: usize,
    k: usize,
    descending: bool,
) -> Vec<usize> {
    debug_assert!(k <= n);
    if outer * k * inner == 0 {
        return Vec::new();
    }
    let x = &x[..outer * n * inner];
    if inner == 1 {
        return first_k_of_lines(x, outer, n, 1, k, descending);
    }
    // Lines along an inner axis: each line's `k` positions side by side (lines over the
    // threads, a single `outer` block included: `topk` along axis 0 of a matrix ran on one
    // thread), then moved to `[outer, k, inner]`.
    let by_line = first_k_of_lines(x, outer, n, inner, k, descending);
    let mut out = vec![0; outer * k * inner];
    for (dst, src) in out
        .chunks_exact_mut(k * inner)
        .zip(by_line.chunks_exact(inner * k))
    {
        for (i, line) in src.chunks_exact(k).enumerate() {
            for (j, &p) in line.iter().enumerate() {
                dst[j * inner + i] = p;
            }
        }
    }
    out
}

/// The first `k` positions in sorted order of each of the `outer * inner` lines of
/// [`argsort_axis`], line after line (`[outer, inner, k]`).
fn first_k_of_lines<E: Float>(
    x: &[E],
    outer: usize,
    n: usize,
    inner: usize,
    k: usize,
    descending: bool,
) -> Vec<usize> {
    let mut out = vec![0; outer * inner * k];
    let packed = size_of::<E>() == 4 && n <= 1 << F32_SPARE_BITS;
    // The split threshold in output elements, for `SORT_PARALLEL_ELEMS` input elements.
    let parallel_out = (SORT_PARALLEL_ELEMS * k / n).max(1);
    for_row_blocks_plain_from(
        &mut out,
        k,
        parallel_out,
        #[inline(always)]
        |first, block| {
            let (mut keys, mut pairs) = (Vec::new(), Vec::new());
            for (l, order) in (first..).zip(block.chunks_exact_mut(k)) {
                let (o, i) = (l / inner, l % inner);
                let line = &x[o * n * inner + i..];
                let value = |p: usize| line[p * inner];
                if packed {
                    let mask = (1u64 << F32_SPARE_BITS) - 1;
                    let line = Line {
                        n,
                        descending,
                        value,
                        item: |p, v| {
                            (order_key(v, descending) >> F32_SPARE_BITS) << F32_SPARE_BITS
                                | p as u64
                        },
                        position: |key: u64| (key & mask) as usize,
                    };
                    first_k_sorted(&mut keys, &line, k);
                    for (slot, key) in order.iter_mut().zip(&keys) {
                        *slot = (key & mask) as usize;
                    }
                } else {
                    let line = Line {
                        n,
                        descending,
                        value,
                        item: |p, v| (order_key(v, descending), p),
                        position: |(_, p): (u64, usize)| p,
                    };
                    first_k_sorted(&mut pairs, &line, k);
                    for (slot, &(_, p)) in order.iter_mut().zip(&pairs) {
                        *slot = p;
                    }
                }
            }
        },
    );
    out
}

/// One line to order: its `n` values (`value(p)`), each one's sort item (`item(p, v)`:
/// the order key with the position, all distinct) and an item's position.
struct Line<V, I, P> {
    n: usize,
    descending: bool,
    value: V,
    item: I,
    position: P,
}

/// [`first_k_sorted`] scans for the `k` smallest while `k` is at most this fraction of the
/// line (`n / k`); beyond, a selection over all the keys costs less.
const SCAN_RATIO: usize = 32;

/// Leaves the `k` smallest items of `line`, in order, in `best` (cleared first).
///
/// For a small `k` (`topk`'s usual case: the best few of a vocabulary) one pass keeps the
/// `k` best so far in a max-heap: an item enters only if it beats the `k`-th, which for
/// values in no particular order happens about `k ln(n / k)` times, and a value that does
/// not beat the `k`-th's is skipped after one float comparison, without a key. (8 of each
/// row of (4096, 1024) `f32`, one thread: 16 ms building and selecting every key -> 7-8;
/// PyTorch 11. 50 of each row of (16, 32000): 4.4 -> 0.3 ms, PyTorch 0.87.) Input in the
/// worst order (every item entering) falls back after `n / 16 + 8 k` entries to the
/// selection below (`select_nth_unstable`, linear, then a sort of the `k`).
#[inline(always)]
fn first_k_sorted<E: Float, T: Ord + Copy>(
    best: &mut Vec<T>,
    line: &Line<impl Fn(usize) -> E, impl Fn(usize, E) -> T, impl Fn(T) -> usize>,
    k: usize,
) {
    let Line {
        n,
        descending,
        ref value,
        ref item,
        ref position,
    } = *line;
    best.clear();
    if k == 0 {
        return;
    }
    if k * SCAN_RATIO <= n {
        let mut heap = std::collections::BinaryHeap::from(core::mem::take(best));
        heap.extend((0..k).map(|p| item(p, value(p))));
        let (mut entries, budget) = (0, n / 16 + 8 * k);
        let kth = |heap: &std::collections::BinaryHeap<T>| heap.peek().copied();
        // Whether `v` may beat the `k`-th so far (value `t`): strictly better in the float
        // order, or NaN (first when descending). Equal values never enter (a later
        // position sorts after), so `!(v < t)` is a safe superset.
        if let Some(mut worst) = kth(&heap) {
            let mut t = value(position(worst));
            for q in k..n {
                let v = value(q);
                if if descending { v < t } else { v > t } {
                    continue;
                }
                let it = item(q, v);
                if it < worst {
                    if let Some(mut top) = heap.peek_mut() {
                        *top = it;
                    }
                    if let Some(w) = kth(&heap) {
                        (worst, t) = (w, value(position(w)));
                    }
                    entries += 1;
                    if entries > budget {
                        break;
                    }
                }
            }
        }
        *best = heap.into_sorted_vec();
        if entries <= budget {
            return;
        }
        best.clear();
    }
    best.extend((0..n).map(|p| item(p, value(p))));
    if k < best.len() {
        best.select_nth_unstable(k - 1);
    }
    best.truncate(k);
    best.sort_unstable();
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

    /// A stable sort by PyTorch's float order through a comparison closure: the oracle.
    fn oracle<E: Float>(line: &[E], k: usize, descending: bool) -> Vec<usize> {
        use core::cmp::Ordering;
        let nan_last = |a: E, b: E| match (a.is_nan(), b.is_nan()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
        };
        let mut order: Vec<usize> = (0..line.len()).collect();
        order.sort_by(|&a, &b| {
            if descending {
                nan_last(line[b], line[a])
            } else {
                nan_last(line[a], line[b])
            }
        });
        order.truncate(k);
        order
    }

    fn check<E: Float>() {
        check_specials::<E>();
        check_scans::<E>();
    }

    /// Lines long enough for the scan of a small `k` (`first_k_sorted`), in the orders that
    /// make every value enter (ascending and descending: the fallback to the selection),
    /// none after the first `k`, or a few at random; along the last axis and along an
    /// inner one, with a single outer block (the lines split over the threads).
    fn check_scans<E: Float>() {
        for (outer, n, inner) in [(40, 1000, 1), (1, 700, 6), (3, 333, 2)] {
            let len = outer * n * inner;
            let patterns: [Box<dyn Fn(usize) -> f64>; 4] = [
                Box::new(|i| i as f64),
                Box::new(move |i| (len - i) as f64),
                Box::new(|i| ((i * 7919) % 1009) as f64 - 500.0),
                Box::new(|i| ((i * 2_654_435_761) % 65_521) as f64 * 1e-3),
            ];
            for pattern in &patterns {
                let x: Vec<E> = (0..len).map(|i| E::from_f64(pattern(i))).collect();
                for k in [1, 5, n / 32, n / 32 + 1] {
                    for descending in [false, true] {
                        let got = argsort_axis(&x, outer, n, inner, k, descending);
                        for o in 0..outer {
                            for i in 0..inner {
                                let line: Vec<E> =
                                    (0..n).map(|p| x[(o * n + p) * inner + i]).collect();
                                let got: Vec<usize> =
                                    (0..k).map(|j| got[(o * k + j) * inner + i]).collect();
                                assert_eq!(
                                    got,
                                    oracle(&line, k, descending),
                                    "[{outer}, {n}, {inner}] k {k} desc {descending}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    fn check_specials<E: Float>() {
        let special = [
            f64::NAN,
            -0.0,
            0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e-40,
            -1e-40,
        ];
        for (outer, n, inner) in [(300, 257, 1), (3, 40, 7), (2, 1, 3), (5, 600, 1)] {
            let x: Vec<E> = (0..outer * n * inner)
                .map(|i| match i % 11 {
                    0..=6 => E::from_f64(special[(i / 11) % special.len()]),
                    _ => E::from_f64(((i * 7919) % 23) as f64 * 0.25 - 2.0),
                })
                .collect();
            for k in [n, n / 2, 1, 0] {
                for descending in [false, true] {
                    let got = argsort_axis(&x, outer, n, inner, k, descending);
                    for o in 0..outer {
                        for i in 0..inner {
                            let line: Vec<E> = (0..n).map(|p| x[(o * n + p) * inner + i]).collect();
                            let want = oracle(&line, k, descending);
                            let got: Vec<usize> =
                                (0..k).map(|j| got[(o * k + j) * inner + i]).collect();
                            assert_eq!(
                                got, want,
                                "[{outer}, {n}, {inner}] k {k} desc {descending}"
                            );
                        }
                    }
                }
            }
        }
    }

    /// Both element types (an `f32` line packs key and position into one integer), NaN,
    /// signed zeros, infinities and subnormals, many ties, partial sorts, lines along a
    /// middle axis and blocks over the threads, against a comparison sort.
    #[test]
    fn integer_keys_sort_as_the_float_order() {
        check::<f32>();
        check::<f64>();
    }
}
