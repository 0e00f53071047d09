//! Copies that move elements without arithmetic: permutations, picks along an axis
//! (slices, `index_select`), concatenation and `gather`. Each forward copy has a backward
//! that adds the output gradient back through the same index map, so repeated indices
//! accumulate as in PyTorch.

use super::broadcast::{for_broadcast_rows, read_rows};
use super::parallel::{collect_blocks, for_row_blocks, for_row_blocks_plain};
use super::simd::wide;
use super::uninit::{copy_run, written};
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

/// The permutation with its axes of size 1 dropped and every run of input axes that stays
/// together (in order) in the output merged into one: `(N, C, H, W) -> (N, H, W, C)` is
/// `(N, C, H*W) -> (N, H*W, C)`, a transpose per sample. Returns the merged input dims and
/// the merged permutation (`rank` of each).
fn merged(dims: &[usize], perm: &[usize]) -> ([usize; MAX_RANK], [usize; MAX_RANK], usize) {
    // Output order of the input axes that are not of size 1.
    let mut order = [0; MAX_RANK];
    let mut kept = 0;
    for &p in perm {
        if dims[p] != 1 {
            order[kept] = p;
            kept += 1;
        }
    }
    // Runs of consecutive input axes along the output: (first input axis, size).
    let mut runs = [(0usize, 1usize); MAX_RANK];
    let mut count = 0;
    for k in 0..kept {
        let a = order[k];
        if k > 0 && a == order[k - 1] + 1 {
            runs[count - 1].1 *= dims[a];
        } else {
            runs[count] = (a, dims[a]);
            count += 1;
        }
    }
    // Merged input axes are the runs sorted by their first input axis.
    let mut by_input: [usize; MAX_RANK] = core::array::from_fn(|i| i);
    by_input[..count].sort_unstable_by_key(|&r| runs[r].0);
    let (mut md, mut mp) = ([0; MAX_RANK], [0; MAX_RANK]);
    for (axis, &r) in by_input[..count].iter().enumerate() {
        md[axis] = runs[r].1;
        mp[r] = axis;
    }
    (md, mp, count)
}

/// `x` (shaped `dims`) with its axes reordered: output axis `k` is input axis `perm[k]`.
pub(crate) fn permute<E: Float>(x: &[E], dims: &[usize], perm: &[usize]) -> Vec<E> {
    let numel: usize = dims.iter().product();
    if numel == 0 {
        return Vec::new();
    }
    let x = &x[..numel];
    let (md, mp, rank) = merged(dims, perm);
    let (md, mp) = (&md[..rank], &mp[..rank]);
    if is_identity(mp) {
        return x.to_vec();
    }
    let (od, ps) = permuted(md, mp);
    if ps[rank - 1] == 1 {
        // The last axis stays last ((B, L, H, d) -> (B, H, L, d)): every output row is a
        // contiguous run of the input, copied whole, in blocks of rows over the threads.
        return read_rows(x, &od[..rank], &ps);
    }
    if is_identity(&mp[..rank - 2]) && mp[rank - 2] == rank - 1 {
        // The last two axes swapped (after merging, at most one batch axis in front): a
        // transpose per batch matrix, in tiles so that every cache line is read and written
        // whole once.
        let (r, c) = (md[rank - 2], md[rank - 1]);
        // SAFETY: the row blocks cover all `numel / r` output rows, and `transpose_rows`
        // writes every row it is given in full.
        return unsafe {
            written(numel, |out| {
                for_row_blocks(
                    out,
                    r,
                    #[inline(always)]
                    |first, block| transpose_rows(x, r, c, first, block),
                )
            })
        };
    }
    // Any other order: each output row gathers along one input axis.
    read_rows(x, &od[..rank], &ps)
}

/// Rows `first..` of the transposes of the `r x c` matrices of `x` (output row `b * c + j`
/// is column `j` of matrix `b`), into `block` (whole rows of `r`).
#[inline(always)]
fn transpose_rows<E: Float>(
    x: &[E],
    r: usize,
    c: usize,
    first: usize,
    block: &mut [MaybeUninit<E>],
) {
    let (mut row, mut rest) = (first, block);
    while !rest.is_empty() {
        let (b, j0) = (row / c, row % c);
        let take = (c - j0).min(rest.len() / r);
        let (head, tail) = rest.split_at_mut(take * r);
        transpose_columns(&x[b * r * c..][..r * c], r, c, j0, head);
        (row, rest) = (row + take, tail);
    }
}

/// Side of [`transpose_columns`]'s tiles: a tile's rows are read, and its columns written,
/// as whole 64-byte lines (f32).
const TILE: usize = 16;

/// Writes columns `j0..` of the `r x c` matrix `m` as rows of `r` into `dst`, in
/// [`TILE`]-square tiles, a strip of `TILE` source rows at a time (read as `TILE` sequential
/// streams, which the hardware prefetchers follow). Each tile's source lines are first
/// copied whole into a buffer: read down its columns in place, the tile touched `TILE` lines
/// a power-of-two stride apart at every step, which share one L1 set and evicted each other.
/// One thread, 2000 x 2000 `f32`: 4.4 ms (tiles in place, or in 64-square blocks) -> 2.4-2.9
/// (PyTorch 3.5); 2048 x 2048 5.8 -> 4.8-5.2 (PyTorch 4.0: the written lines, 8 KiB apart,
/// still crowd a few cache sets).
#[inline(always)]
fn transpose_columns<E: Float>(m: &[E], r: usize, c: usize, j0: usize, dst: &mut [MaybeUninit<E>]) {
    let cols = dst.len() / r;
    let mut buf = [[E::ZERO; TILE]; TILE];
    for it in (0..r).step_by(TILE) {
        let iw = (r - it).min(TILE);
        for jt in (0..cols).step_by(TILE) {
            let jw = (cols - jt).min(TILE);
            if jw == TILE && iw == TILE {
                for (i, line) in buf.iter_mut().enumerate() {
                    line.copy_from_slice(&m[(it + i) * c + j0 + jt..][..TILE]);
                }
                for j in 0..TILE {
                    let out = &mut dst[(jt + j) * r + it..][..TILE];
                    for (i, slot) in out.iter_mut().enumerate() {
                        slot.write(buf[i][j]);
                    }
                }
            } else {
                for j in 0..jw {
                    let out = &mut dst[(jt + j) * r + it..][..iw];
                    for (i, slot) in out.iter_mut().enumerate() {
                        slot.write(m[(it + i) * c + j0 + jt + j]);
                    }
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

/// The position of the first index in `idx` that is `>= n` (out of range for an axis of
/// `n`), if any: the range check of every `gather`, `index_select` and embedding lookup.
/// Whole blocks are compared without an early exit, inside [`wide`] (64-bit unsigned
/// compares need AVX-512; the baseline emulates them); the position is searched only on
/// failure. (A search over every index was 17-30% of gathering 16 of each row of
/// (4096, 1024).)
pub(crate) fn first_at_or_above(idx: &[usize], n: usize) -> Option<usize> {
    let bad = wide(
        #[inline(always)]
        || {
            idx.chunks(4096)
                .any(|block| block.iter().fold(false, |bad, &i| bad | (i >= n)))
        },
    );
    if bad {
        idx.iter().position(|&i| i >= n)
    } else {
        None
    }
}

/// The first index of `idx` when it is a run of consecutive indices (`narrow`, a slice with
/// step 1), which [`take_axis`] and its backward copy as whole runs of `idx.len() * inner`:
/// picked one `inner` row at a time, narrowing the last axis of (32, 64, 28, 28) to 24
/// copied single elements (2.5 ms on one thread, forward and backward 5.3).
fn range_start(idx: &[usize]) -> Option<usize> {
    let first = *idx.first()?;
    idx.iter()
        .enumerate()
        .all(|(k, &i)| i == first + k)
        .then_some(first)
}

/// Picks rows along the middle axis of `x` seen as `[outer, n, inner]`:
/// `out[o, k, :] = x[o, idx[k], :]`. Indices must be below `n` (checked by the caller).
/// Blocks of output rows over the threads (serial before: 2048 rows of 1024 out of
/// (4096, 1024) took 0.24 ms on two threads, PyTorch 0.15).
pub(crate) fn take_axis<E: Float>(
    x: &[E],
    outer: usize,
    n: usize,
    inner: usize,
    idx: &[usize],
) -> Vec<E> {
    let len = outer * idx.len() * inner;
    if len == 0 {
        return Vec::new();
    }
    if let Some(start) = range_start(idx) {
        return narrow_axis(x, outer, n, inner, start, idx.len());
    }
    let x = &x[..outer * n * inner];
    if inner == 1 {
        // Single elements along the last axis (`slice_step`, `index_select` of columns): a
        // gather per row, not a run copy per element (every other column of (4096, 1024):
        // 4.4 ms on one thread; PyTorch 0.67).
        // SAFETY: every output row is written whole, one value per index.
        return unsafe {
            written(len, |out| {
                for_row_blocks_plain(
                    out,
                    idx.len(),
                    #[inline(always)]
                    |first, block| {
                        for (o, dst) in (first..).zip(block.chunks_exact_mut(idx.len())) {
                            let row = &x[o * n..][..n];
                            for (slot, &k) in dst.iter_mut().zip(idx) {
                                slot.write(row[k]);
                            }
                        }
                    },
                )
            })
        };
    }
    // SAFETY: every output row of a block is copied whole from a source row sliced to
    // exactly `inner`.
    unsafe {
        written(len, |out| {
            for_row_blocks_plain(
                out,
                inner,
                #[inline(always)]
                |first, block| {
                    let (mut o, mut j) = (first / idx.len(), first % idx.len());
                    for dst in block.chunks_exact_mut(inner) {
                        let src = &x[(o * n + idx[j]) * inner..][..inner];
                        copy_run(dst, src);
                        j += 1;
                        if j == idx.len() {
                            (o, j) = (o + 1, 0);
                        }
                    }
                },
            )
        })
    }
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
    if let Some(start) = range_start(idx) {
        let run = len * inner;
        for o in 0..outer {
            add_into(
                &mut acc[(o * n + start) * inner..][..run],
                &g[o * run..][..run],
            );
        }
        return;
    }
    for o in 0..outer {
        for (j, &k) in idx.iter().enumerate() {
            let src = &g[(o * len + j) * inner..(o * len + j + 1) * inner];
            let at = (o * n + k) * inner;
            add_into(&mut acc[at..at + inner], src);
        }
    }
}

/// Joins `parts` along the middle axis: part `p` is `[outer, sizes[p], inner]`, the result
/// `[outer, sum(sizes), inner]`. Blocks of `outer` over the threads (serial before: joining
/// two (2048, 1024) `f32` along axis 1 took 0.75 ms on two threads, PyTorch 0.40).
pub(crate) fn concat_axis<E: Float>(
    parts: &[&[E]],
    outer: usize,
    sizes: &[usize],
    inner: usize,
) -> Vec<E> {
    let slab = sizes.iter().sum::<usize>() * inner;
    let len = outer * slab;
    if len == 0 {
        return Vec::new();
    }
    // SAFETY: each output slab is the parts' runs for that `o` back to back, `slab` elements
    // in all, each copied from a source sliced to exactly its length.
    unsafe {
        written(len, |out| {
            for_row_blocks_plain(
                out,
                slab,
                #[inline(always)]
                |first, block| {
                    for (o, dst) in (first..).zip(block.chunks_exact_mut(slab)) {
                        let mut at = 0;
                        for (part, &n) in parts.iter().zip(sizes) {
                            let run = &part[o * n * inner..][..n * inner];
                            copy_run(&mut dst[at..][..run.len()], run);
                            at += run.len();
                        }
                    }
                },
            )
        })
    }
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

/// Part `start..start + n` of `g` (`[outer, total, inner]`) along the middle axis, as a new
/// `[outer, n, inner]` buffer: [`concat_axis_backward`] for a part with no gradient yet,
/// written once instead of added into zeros; [`take_axis`] of consecutive indices. Blocks of
/// `outer` over the threads.
pub(crate) fn narrow_axis<E: Float>(
    g: &[E],
    outer: usize,
    total: usize,
    inner: usize,
    start: usize,
    n: usize,
) -> Vec<E> {
    let run = n * inner;
    let len = outer * run;
    if len == 0 {
        return Vec::new();
    }
    // SAFETY: every output run is copied whole from a source run sliced to exactly `run`.
    unsafe {
        written(len, |out| {
            for_row_blocks_plain(
                out,
                run,
                #[inline(always)]
                |first, block| {
                    for (o, dst) in (first..).zip(block.chunks_exact_mut(run)) {
                        copy_run(dst, &g[(o * total + start) * inner..][..run]);
                    }
                },
            )
        })
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
/// Rows of the index shape in blocks over the threads (element by element on one thread
/// before: 16 of each row of (4096, 1024) took 0.33 ms on one thread and on two; PyTorch
/// 0.10 / 0.04).
pub(crate) fn gather<E: Float>(
    x: &[E],
    x_dims: &[usize],
    axis: usize,
    idx: &[usize],
    idx_dims: &[usize],
) -> Vec<E> {
    let len: usize = idx_dims.iter().product();
    if len == 0 {
        return Vec::new();
    }
    let (s, step) = gather_strides(x_dims, axis);
    let rank = idx_dims.len();
    let (last, last_stride) = (idx_dims[rank - 1], s[rank - 1]);
    // SAFETY: the row blocks cover all `len / last` rows, and every row is written whole
    // (one value per slot; an index past `x` panics first).
    unsafe {
        written(len, |out| {
            for_row_blocks_plain(
                out,
                last,
                #[inline(always)]
                |first, block| {
                    let rows = (first, block.len() / last);
                    for_broadcast_rows(idx_dims, (&s, &s), rows, |row, base, _| {
                        let dst = &mut block[(row - first) * last..][..last];
                        let ids = &idx[row * last..][..last];
                        // Along the last axis each row picks from one line of `x` (0.16 ->
                        // 0.11 ms in the case above: no stride arithmetic per element).
                        if axis == rank - 1 {
                            let line = &x[base..][..x_dims[axis]];
                            for (slot, &k) in dst.iter_mut().zip(ids) {
                                slot.write(line[k]);
                            }
                            return;
                        }
                        for (j, (slot, &k)) in dst.iter_mut().zip(ids).enumerate() {
                            slot.write(x[base + j * last_stride + k * step]);
                        }
                    })
                },
            )
        })
    }
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
    let len: usize = idx_dims.iter().product();
    if len == 0 {
        return;
    }
    let (s, step) = gather_strides(x_dims, axis);
    let rank = idx_dims.len();
    let (last, last_stride) = (idx_dims[rank - 1], s[rank - 1]);
    for_broadcast_rows(idx_dims, (&s, &s), (0, len / last), |row, base, _| {
        let ids = &idx[row * last..][..last];
        let gs = &g[row * last..][..last];
        if axis == rank - 1 {
            let line = &mut acc[base..][..x_dims[axis]];
            for (&k, &v) in ids.iter().zip(gs) {
                line[k] += v;
            }
            return;
        }
        for (j, (&k, &v)) in ids.iter().zip(gs).enumerate() {
            acc[base + j * last_stride + k * step] += v;
        }
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
    use super::{
        concat_axis, concat_axis_backward, first_at_or_above, gather, gather_backward, narrow_axis,
        permute, permute_backward, repeated_rows, strides, take_axis, take_axis_backward,
    };

    /// A joined input's first gradient, copied out of the output's, equals its part added
    /// into zeros: parts at the start, middle and end of the axis, blocks over the threads.
    #[test]
    fn narrowed_parts_equal_parts_added() {
        let cases = [
            (3, 7, 2, 0, 3),
            (3, 7, 2, 3, 4),
            (1, 5, 1, 4, 1),
            (5, 9, 1, 2, 5),
            (4000, 60, 1, 10, 40),
            (30, 4, 3000, 1, 2),
            (2, 3, 4, 1, 0),
        ];
        for (outer, total, inner, start, n) in cases {
            let g: Vec<f64> = (0..outer * total * inner)
                .map(|i| i as f64 * 0.25)
                .collect();
            let mut added = vec![0.0; outer * n * inner];
            concat_axis_backward(&mut added, &g, outer, total, inner, start, n);
            let narrowed = narrow_axis(&g, outer, total, inner, start, n);
            assert_eq!(
                narrowed, added,
                "{outer} x {total} x {inner}, {start}..+{n}"
            );
        }
    }

    /// Every permutation of ranks 2 to 4 (the last axis kept, the last two swapped, runs of
    /// axes that merge into a batch of transposes, and the rest), with axes of size 1, tiles
    /// cut ragged and tensors long enough to be split over the threads, against an
    /// index-by-index copy; the backward adds the inverse permutation.
    #[test]
    fn permutations_match_index_by_index() {
        let shapes: [&[usize]; 9] = [
            &[3, 5],
            &[37, 18],
            &[4, 1, 33],
            &[2, 3, 20, 17],
            &[1, 4, 1, 6],
            &[600, 130],
            // Over the threads (rows cut inside a matrix), tiles whole and ragged.
            &[2, 48, 40, 20],
            &[1, 300, 1, 257],
            &[3, 1, 1],
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

    /// Parts joined along the middle axis, with blocks of `outer` over the threads, empty
    /// parts and a single slab, against a naive join.
    #[test]
    fn concatenations_match_naive() {
        for (outer, sizes, inner) in [
            (2048, &[3, 5][..], 16),
            (3, &[2, 0, 4], 5),
            (1, &[70_000, 3], 1),
            (900, &[1, 1, 1], 30),
            (0, &[2], 3),
        ] {
            let parts: Vec<Vec<f64>> = sizes
                .iter()
                .enumerate()
                .map(|(p, &n)| {
                    (0..outer * n * inner)
                        .map(|i| (p * 100_000 + i) as f64)
                        .collect()
                })
                .collect();
            let mut want = Vec::new();
            for o in 0..outer {
                for (part, &n) in parts.iter().zip(sizes) {
                    want.extend_from_slice(&part[o * n * inner..(o + 1) * n * inner]);
                }
            }
            let slices: Vec<&[f64]> = parts.iter().map(Vec::as_slice).collect();
            assert_eq!(
                concat_axis(&slices, outer, sizes, inner),
                want,
                "{outer} x {sizes:?} x {inner}"
            );
        }
    }

    /// Rows picked along the middle axis, repeated and out of order or a run of consecutive
    /// indices (a `narrow`), single elements along the last axis (`inner == 1`), split over
    /// the threads; and the backward of each, added into a gradient that holds a value.
    #[test]
    fn picked_rows_match_naive() {
        let cases = [
            (3, 50, 700, 40),
            (1, 9, 1, 70_000),
            (4, 5, 3, 0),
            (4000, 30, 1, 15),
            (700, 28, 3, 24),
        ];
        for (outer, n, inner, picks) in cases {
            let x: Vec<f64> = (0..outer * n * inner).map(|i| i as f64).collect();
            let scattered: Vec<usize> = (0..picks).map(|k| (k * 7) % n).collect();
            let run: Vec<usize> = (0..picks.min(n - 2)).map(|k| k + 2).collect();
            for idx in [scattered, run] {
                let mut want = Vec::new();
                for o in 0..outer {
                    for &k in &idx {
                        want.extend_from_slice(&x[(o * n + k) * inner..][..inner]);
                    }
                }
                assert_eq!(
                    take_axis(&x, outer, n, inner, &idx),
                    want,
                    "{outer} x {n} x {inner}, {} picks",
                    idx.len()
                );
                let g: Vec<f64> = (0..want.len()).map(|i| (i % 5) as f64).collect();
                let mut want_back = vec![0.5; x.len()];
                for o in 0..outer {
                    for (j, &k) in idx.iter().enumerate() {
                        for i in 0..inner {
                            want_back[(o * n + k) * inner + i] +=
                                g[(o * idx.len() + j) * inner + i];
                        }
                    }
                }
                let mut back = vec![0.5; x.len()];
                take_axis_backward(&mut back, &g, outer, n, inner, &idx);
                assert_eq!(back, want_back, "backward {outer} x {n} x {inner}");
            }
        }
    }

    /// `gather` along every axis of a rank-3 tensor with an index shape smaller off the
    /// axis, long enough to split over the threads, and its scatter-add backward.
    #[test]
    fn gathers_match_naive() {
        let x_dims = [40, 30, 60];
        let x: Vec<f64> = (0..x_dims.iter().product()).map(|i| i as f64).collect();
        for axis in 0..3 {
            let mut idx_dims = [39, 29, 57];
            idx_dims[axis] = 45;
            let len: usize = idx_dims.iter().product();
            let idx: Vec<usize> = (0..len).map(|i| (i * 7919) % x_dims[axis]).collect();
            let xs = strides(&x_dims);
            let is = strides(&idx_dims);
            let at = |i: usize| {
                let mut off = 0;
                for d in 0..3 {
                    let c = if d == axis {
                        idx[i]
                    } else {
                        (i / is[d]) % idx_dims[d]
                    };
                    off += c * xs[d];
                }
                off
            };
            let want: Vec<f64> = (0..len).map(|i| x[at(i)]).collect();
            assert_eq!(
                gather(&x, &x_dims, axis, &idx, &idx_dims),
                want,
                "axis {axis}"
            );
            let g: Vec<f64> = (0..len).map(|i| (i % 3) as f64).collect();
            let mut want_back = vec![1.0; x.len()];
            for i in 0..len {
                want_back[at(i)] += g[i];
            }
            let mut back = vec![1.0; x.len()];
            gather_backward(&mut back, &g, &x_dims, axis, &idx, &idx_dims);
            assert_eq!(back, want_back, "backward, axis {axis}");
        }
    }

    /// The first index at or above the bound, in any block of the check, or none.
    #[test]
    fn out_of_range_indices_are_found() {
        let idx: Vec<usize> = (0..10_000).map(|i| i % 17).collect();
        assert_eq!(first_at_or_above(&idx, 17), None);
        assert_eq!(first_at_or_above(&idx, 16), Some(16));
        assert_eq!(first_at_or_above(&[], 0), None);
        let mut late = idx.clone();
        late[9_999] = usize::MAX;
        assert_eq!(first_at_or_above(&late, 17), Some(9_999));
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
