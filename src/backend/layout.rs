//! Copies that move elements without arithmetic: permutations, picks along an axis
//! (slices, `index_select`), concatenation and `gather`. Each forward copy has a backward
//! that adds the output gradient back through the same index map, so repeated indices
//! accumulate as in PyTorch.

use super::broadcast::{for_each_broadcast2, read_rows};
use super::parallel::{collect_blocks, for_row_blocks};
use super::uninit::written;
use crate::dtype::Float;
use crate::shape::MAX_RANK;
use core::mem::MaybeUninit;

/// Row-major strides of a contiguous tensor of `dims`.
fn strides(dims: &[usize]) -> [usize; MAX_RANK] {
    let mut s = [0; MAX_RANK];
    let mut acc = 1;
    for i in (0..dims.len()).rev() {
        s[i] = acc;
        acc *= dims[i];
    }
    s
}

/// The permuted dims, and the input strides read in output order: walking the output in
/// row-major order with these strides visits the input element each output element copies.
fn permuted(dims: &[usize], perm: &[usize]) -> ([usize; MAX_RANK], [usize; MAX_RANK]) {
    let s = strides(dims);
    let (mut od, mut ps) = ([0; MAX_RANK], [0; MAX_RANK]);
    for (k, &p) in perm.iter().enumerate() {
        od[k] = dims[p];
        ps[k] = s[p];
    }
    (od, ps)
}

fn is_identity(perm: &[usize]) -> bool {
    perm.iter().enumerate().all(|(k, &p)| k == p)
}

/// `x` (shaped `dims`) with its axes reordered: output axis `k` is input axis `perm[k]`.
pub(crate) fn permute<E: Float>(x: &[E], dims: &[usize], perm: &[usize]) -> Vec<E> {
    if is_identity(perm) {
        return x.to_vec();
    }
    let rank = perm.len();
    let (od, ps) = permuted(dims, perm);
    let od = &od[..rank];
    let numel: usize = od.iter().product();
    if numel == 0 {
        return Vec::new();
    }
    let x = &x[..numel];
    if ps[rank - 1] == 1 {
        // The last axis stays last ((B, L, H, d) -> (B, H, L, d)): every output row is a
        // contiguous run of the input, copied whole, in blocks of rows over the threads.
        return read_rows(x, od, &ps);
    }
    if rank >= 2 && is_identity(&perm[..rank - 2]) && perm[rank - 2] == rank - 1 {
        // The last two axes swapped: a transpose per batch matrix, in tiles so that both the
        // reads and the writes stay within a few cache lines.
        let (r, c) = (dims[rank - 2], dims[rank - 1]);
        // SAFETY: the blocks of whole matrices cover `numel`, and the tiles cover every
        // element of each matrix.
        return unsafe {
            written(numel, |out| {
                for_row_blocks(
                    out,
                    r * c,
                    #[inline(always)]
                    |first, block| {
                        let src = &x[first * r * c..][..block.len()];
                        for (m, dst) in src.chunks_exact(r * c).zip(block.chunks_exact_mut(r * c)) {
                            transpose_tiles(m, r, c, dst);
                        }
                    },
                )
            })
        };
    }
    let mut out = Vec::with_capacity(x.len());
    for_each_broadcast2(od, &ps, &ps, |_, ix, _| out.push(x[ix]));
    out
}

/// Writes the transpose of the `r x c` matrix `m` into `dst` (`c x r`) in 16 x 16 tiles.
#[inline(always)]
fn transpose_tiles<E: Float>(m: &[E], r: usize, c: usize, dst: &mut [MaybeUninit<E>]) {
    const TILE: usize = 16;
    for r0 in (0..r).step_by(TILE) {
        let r1 = (r0 + TILE).min(r);
        for c0 in (0..c).step_by(TILE) {
            for j in c0..(c0 + TILE).min(c) {
                let row = &mut dst[j * r + r0..][..r1 - r0];
                for (i, slot) in row.iter_mut().enumerate() {
                    slot.write(m[(r0 + i) * c + j]);
                }
            }
        }
    }
}

/// The backward of [`permute`]: `g` (shaped like the permuted output) moved back to the
/// input's layout (`dims`) by the inverse permutation, as a new buffer.
pub(crate) fn permute_backward<E: Float>(g: &[E], dims: &[usize], perm: &[usize]) -> Vec<E> {
    let (od, _) = permuted(dims, perm);
    let mut inverse = [0; MAX_RANK];
    for (k, &p) in perm.iter().enumerate() {
        inverse[p] = k;
    }
    permute(g, &od[..perm.len()], &inverse[..perm.len()])
}

fn add_into<E: Float>(acc: &mut [E], g: &[E]) {
    for (a, &v) in acc.iter_mut().zip(g) {
        *a += v;
    }
}

/// Picks rows along the middle axis of `x` seen as `[outer, n, inner]`:
/// `out[o, k, :] = x[o, idx[k], :]`. Indices must be below `n` (checked by the caller).
pub(crate) fn take_axis<E: Float>(
    x: &[E],
    outer: usize,
    n: usize,
    inner: usize,
    idx: &[usize],
) -> Vec<E> {
    let mut out = Vec::with_capacity(outer * idx.len() * inner);
    for o in 0..outer {
        for &k in idx {
            let at = (o * n + k) * inner;
            out.extend_from_slice(&x[at..at + inner]);
        }
    }
    out
}

/// The backward of [`take_axis`]: `acc[o, idx[k], :] += g[o, k, :]`.
pub(crate) fn take_axis_backward<E: Float>(
    acc: &mut [E],
    g: &[E],
    outer: usize,
    n: usize,
    inner: usize,
    idx: &[usize],
) {
    let len = idx.len();
    for o in 0..outer {
        for (j, &k) in idx.iter().enumerate() {
            let src = &g[(o * len + j) * inner..(o * len + j + 1) * inner];
            let at = (o * n + k) * inner;
            add_into(&mut acc[at..at + inner], src);
        }
    }
}

/// Joins `parts` along the middle axis: part `p` is `[outer, sizes[p], inner]`, the result
/// `[outer, sum(sizes), inner]`.
pub(crate) fn concat_axis<E: Float>(
    parts: &[&[E]],
    outer: usize,
    sizes: &[usize],
    inner: usize,
) -> Vec<E> {
    let total: usize = sizes.iter().sum();
    let mut out = Vec::with_capacity(outer * total * inner);
    for o in 0..outer {
        for (part, &n) in parts.iter().zip(sizes) {
            out.extend_from_slice(&part[o * n * inner..(o + 1) * n * inner]);
        }
    }
    out
}

/// The backward of [`concat_axis`] for one part: adds `g[o, start..start + n, :]` (of a
/// `[outer, total, inner]` gradient) into `acc` (shaped `[outer, n, inner]`).
pub(crate) fn concat_axis_backward<E: Float>(
    acc: &mut [E],
    g: &[E],
    outer: usize,
    total: usize,
    inner: usize,
    start: usize,
    n: usize,
) {
    for o in 0..outer {
        let src = &g[(o * total + start) * inner..(o * total + start + n) * inner];
        add_into(&mut acc[o * n * inner..(o + 1) * n * inner], src);
    }
}

/// The strides of `x_dims` with the gather axis zeroed, walked over the index shape: they
/// give the offset of every output element before its index along `axis` is added.
fn gather_strides(x_dims: &[usize], axis: usize) -> ([usize; MAX_RANK], usize) {
    let mut s = strides(x_dims);
    let step = s[axis];
    s[axis] = 0;
    (s, step)
}

/// PyTorch's `gather`: `out[p] = x[p with coordinate axis replaced by idx[p]]`, the output
/// shaped `idx_dims` (same rank as `x_dims`, no larger off the axis; checked by the caller).
pub(crate) fn gather<E: Float>(
    x: &[E],
    x_dims: &[usize],
    axis: usize,
    idx: &[usize],
    idx_dims: &[usize],
) -> Vec<E> {
    let (s, step) = gather_strides(x_dims, axis);
    let mut out = Vec::with_capacity(idx.len());
    for_each_broadcast2(idx_dims, &s, &s, |i, base, _| {
        out.push(x[base + idx[i] * step])
    });
    out
}

/// The backward of [`gather`] (a scatter-add): `acc[p with idx[p] on axis] += g[p]`.
pub(crate) fn gather_backward<E: Float>(
    acc: &mut [E],
    g: &[E],
    x_dims: &[usize],
    axis: usize,
    idx: &[usize],
    idx_dims: &[usize],
) {
    let (s, step) = gather_strides(x_dims, axis);
    for_each_broadcast2(idx_dims, &s, &s, |i, base, _| {
        acc[base + idx[i] * step] += g[i]
    });
}

/// `m` copies of `row`, one after the other (a linear layer's bias rows, the product's
/// starting value): over the threads when long. W4's input projection (512 rows of 512) copied
/// them serially, 1 MiB while the other thread waited: 2% of the step on two threads.
pub(crate) fn repeated_rows<E: Float>(row: &[E], m: usize) -> Vec<E> {
    let n = row.len();
    if n == 0 {
        return Vec::new();
    }
    // SAFETY: every block is written in full: from its offset's column on, runs of `row`,
    // each exactly as long as the part of the block it fills.
    unsafe {
        collect_blocks(m * n, |offset, block| {
            let (mut col, mut rest) = (offset % n, block);
            while !rest.is_empty() {
                let take = (n - col).min(rest.len());
                let (head, tail) = rest.split_at_mut(take);
                for (out, &v) in head.iter_mut().zip(&row[col..col + take]) {
                    out.write(v);
                }
                (col, rest) = (0, tail);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{permute, permute_backward, repeated_rows, strides};

    /// Every permutation of ranks 2 to 4 (the last axis kept, the last two swapped, and the
    /// rest), with axes of size 1 and tiles cut ragged, against an index-by-index copy; the
    /// backward adds the inverse permutation.
    #[test]
    fn permutations_match_index_by_index() {
        let shapes: [&[usize]; 6] = [
            &[3, 5],
            &[37, 18],
            &[4, 1, 33],
            &[2, 3, 20, 17],
            &[1, 4, 1, 6],
            &[600, 130],
        ];
        for dims in shapes {
            let rank = dims.len();
            let n: usize = dims.iter().product();
            let x: Vec<f64> = (0..n).map(|i| i as f64 * 0.25 - 3.0).collect();
            let s = strides(dims);
            let mut perms: Vec<Vec<usize>> = vec![(0..rank).collect()];
            // All permutations by Heap's algorithm.
            let mut p: Vec<usize> = (0..rank).collect();
            let mut c = vec![0; rank];
            let mut i = 0;
            while i < rank {
                if c[i] < i {
                    if i % 2 == 0 {
                        p.swap(0, i)
                    } else {
                        p.swap(c[i], i)
                    }
                    perms.push(p.clone());
                    c[i] += 1;
                    i = 0;
                } else {
                    c[i] = 0;
                    i += 1;
                }
            }
            for perm in perms {
                let od: Vec<usize> = perm.iter().map(|&a| dims[a]).collect();
                let mut want = Vec::with_capacity(n);
                let mut idx = vec![0; rank];
                for _ in 0..n {
                    want.push(x[(0..rank).map(|k| idx[k] * s[perm[k]]).sum::<usize>()]);
                    for k in (0..rank).rev() {
                        idx[k] += 1;
                        if idx[k] < od[k] {
                            break;
                        }
                        idx[k] = 0;
                    }
                }
                let got = permute(&x, dims, &perm);
                assert_eq!(got, want, "{dims:?} by {perm:?}");
                assert_eq!(
                    permute_backward(&want, dims, &perm),
                    x,
                    "backward of {dims:?} by {perm:?}"
                );
            }
        }
    }

    /// Long enough to be cut into blocks over the threads at offsets inside a row.
    #[test]
    fn repeated_rows_match_naive() {
        for (n, m) in [(7, 20_001), (512, 512), (3, 1), (1, 70_000), (5, 0), (0, 9)] {
            let row: Vec<f32> = (0..n).map(|j| j as f32 * 0.5 - 1.0).collect();
            let want: Vec<f32> = (0..m).flat_map(|_| row.iter().copied()).collect();
            assert_eq!(repeated_rows(&row, m), want, "{m} rows of {n}");
        }
    }
}
