//! Element loops of two inputs with PyTorch broadcasting, and their backward passes: the
//! index arithmetic of a broadcast (strides, rows, periods) and the loops that use it.

use super::elementwise::write_staged;
use super::parallel::{
    PARALLEL_ELEMS, collect_blocks, for_blocks, for_row_blocks, for_row_blocks_from,
};
use super::simd::wide;
use super::stream::stores_for;
use super::uninit::{copy_run, written};
use crate::dtype::Float;
use crate::shape::MAX_RANK;

/// Strides (in elements) for reading a contiguous tensor of `in_dims` as if it had
/// `out_dims`: dimensions are aligned from the right, and broadcast ones get stride 0.
pub(crate) fn broadcast_strides(in_dims: &[usize], out_dims: &[usize]) -> [usize; MAX_RANK] {
    let mut strides = [0; MAX_RANK];
    let offset = out_dims.len() - in_dims.len();
    let mut acc = 1;
    for i in (0..in_dims.len()).rev() {
        strides[offset + i] = if in_dims[i] == 1 && out_dims[offset + i] != 1 {
            0
        } else {
            acc
        };
        acc *= in_dims[i];
    }
    strides
}

/// Calls `f(out_index, a_offset, b_offset)` for every element of `out_dims` in row-major
/// order, with offsets computed from the strides of two inputs.
///
/// Always inlined: its callers run it inside [`wide`], whose vector width reaches only the
/// code inlined into it (a call out of it runs at the baseline width).
#[inline(always)]
pub(crate) fn for_each_broadcast2(
    out_dims: &[usize],
    sa: &[usize; MAX_RANK],
    sb: &[usize; MAX_RANK],
    mut f: impl FnMut(usize, usize, usize),
) {
    let rank = out_dims.len();
    let numel: usize = out_dims.iter().product();
    if numel == 0 {
        return;
    }
    if rank == 0 {
        f(0, 0, 0);
        return;
    }
    let last = out_dims[rank - 1];
    let (la, lb) = (sa[rank - 1], sb[rank - 1]);
    let mut idx = [0usize; MAX_RANK];
    let mut offsets = (0usize, 0usize);
    let mut out = 0;
    loop {
        let (oa, ob) = offsets;
        for j in 0..last {
            f(out + j, oa + j * la, ob + j * lb);
        }
        out += last;
        if !next_row(out_dims, sa, sb, &mut idx, &mut offsets) {
            return;
        }
    }
}

/// Advances the index over the leading dimensions of `out_dims` (all but the last) and the
/// two input offsets with it; false after the last row. Not generic, and not inlined: the
/// closures of [`for_each_broadcast2`] share this one copy (issue 15).
#[inline(never)]
fn next_row(
    out_dims: &[usize],
    sa: &[usize; MAX_RANK],
    sb: &[usize; MAX_RANK],
    idx: &mut [usize; MAX_RANK],
    (oa, ob): &mut (usize, usize),
) -> bool {
    let mut d = out_dims.len() - 1;
    loop {
        if d == 0 {
            return false;
        }
        d -= 1;
        idx[d] += 1;
        *oa += sa[d];
        *ob += sb[d];
        if idx[d] < out_dims[d] {
            return true;
        }
        *oa -= sa[d] * idx[d];
        *ob -= sb[d] * idx[d];
        idx[d] = 0;
    }
}

/// Calls `f(row, a_offset, b_offset)` for rows `first..first + rows` of `out_dims` (runs of
/// its last dimension, `rank >= 1`), with the offsets of the two inputs at each row's start:
/// a block of rows of a broadcast, for the loops below that run over a whole row at once.
#[inline(always)]
pub(crate) fn for_broadcast_rows(
    out_dims: &[usize],
    (sa, sb): (&[usize; MAX_RANK], &[usize; MAX_RANK]),
    (first, rows): (usize, usize),
    mut f: impl FnMut(usize, usize, usize),
) {
    let mut idx = [0usize; MAX_RANK];
    let mut offsets = (0usize, 0usize);
    let mut rest = first;
    for d in (0..out_dims.len() - 1).rev() {
        idx[d] = rest % out_dims[d];
        rest /= out_dims[d];
        offsets.0 += idx[d] * sa[d];
        offsets.1 += idx[d] * sb[d];
    }
    // The next row along the innermost axis of rows, here; a wrap, in `next_row` (a call
    // per row cost the heads permute (16, 128, 4, 64) -> (0, 2, 1, 3) a tenth of its time).
    let inner = out_dims.len().saturating_sub(2);
    for row in first..first + rows {
        f(row, offsets.0, offsets.1);
        if out_dims.len() >= 2 && idx[inner] + 1 < out_dims[inner] {
            idx[inner] += 1;
            offsets.0 += sa[inner];
            offsets.1 += sb[inner];
        } else if !next_row(out_dims, sa, sb, &mut idx, &mut offsets) {
            return;
        }
    }
}

/// Broadcast operands that repeat with a period shorter than this go through the general
/// index walk: the periodic loops below restart every period, and a bias of a few elements
/// (or a scalar) would make them run a few elements at a time.
const PERIOD_MIN: usize = 64;

/// The period with which a contiguous `in_dims` tensor repeats when broadcast to `out_dims`
/// (element `i` of the broadcast is `x[i % period]`): `Some` when `in_dims` is `out_dims`
/// with leading dimensions dropped or set to 1 (a bias row added to every sample, a table of
/// positions to every sequence of a batch) and the period is the whole output or at least
/// [`PERIOD_MIN`]; `None` for other broadcasts (over a middle or the last dimension).
pub(crate) fn repeat_period(in_dims: &[usize], out_dims: &[usize]) -> Option<usize> {
    let numel: usize = out_dims.iter().product();
    let first = in_dims
        .iter()
        .position(|&d| d != 1)
        .unwrap_or(in_dims.len());
    let kept = &in_dims[first..];
    let period: usize = kept.iter().product();
    (in_dims.len() <= out_dims.len()
        && out_dims.ends_with(kept)
        && numel > 0
        && (period == numel || period >= PERIOD_MIN))
        .then_some(period)
}

/// Runs `f(out_offset, len, a_offset, b_offset)` over consecutive runs covering
/// `offset..offset + n` of a broadcast whose operands repeat with periods `pa` and `pb`
/// (see [`repeat_period`]): in each run both operands are contiguous.
#[inline(always)]
fn for_periodic_runs(
    offset: usize,
    n: usize,
    (pa, pb): (usize, usize),
    mut f: impl FnMut(usize, usize, usize, usize),
) {
    let mut done = 0;
    while done < n {
        let i = offset + done;
        let (ia, ib) = (i % pa, i % pb);
        let len = (n - done).min(pa - ia).min(pb - ib);
        f(done, len, ia, ib);
        done += len;
    }
}

/// `out[i] = f(a[ia], b[ib])` over the broadcast shape.
pub(crate) fn binary_map<E: Float>(
    a: &[E],
    a_dims: &[usize],
    b: &[E],
    b_dims: &[usize],
    out_dims: &[usize],
    f: impl Fn(E, E) -> E + Sync,
) -> Vec<E> {
    if let (Some(pa), Some(pb)) = (
        repeat_period(a_dims, out_dims),
        repeat_period(b_dims, out_dims),
    ) {
        // Same shapes, or a row or table repeated over leading dimensions: runs of both
        // operands side by side, over the threads for long outputs, into new memory.
        let numel: usize = out_dims.iter().product();
        let stores = stores_for::<E>(numel);
        // SAFETY: the runs cover the block, and in each the inputs are sliced to exactly the
        // run's length (a short one panics), so the loop writes every slot.
        return unsafe {
            collect_blocks(
                numel,
                #[inline(always)]
                |off, block| {
                    if pa == numel && pb == numel {
                        // Same shapes: staged, in the order `write_staged` picks for where
                        // the three buffers lie.
                        let n = block.len();
                        return write_staged(
                            block,
                            [&a[off..][..n], &b[off..][..n]],
                            stores,
                            #[inline(always)]
                            |[x, y]| f(x, y),
                        );
                    }
                    for_periodic_runs(
                        off,
                        block.len(),
                        (pa, pb),
                        #[inline(always)]
                        |at, len, ia, ib| {
                            let (x, y) = (&a[ia..][..len], &b[ib..][..len]);
                            for ((slot, &x), &y) in block[at..][..len].iter_mut().zip(x).zip(y) {
                                slot.write(f(x, y));
                            }
                        },
                    )
                },
            )
        };
    }
    // Any other broadcast, row by row (a row is a run of the last dimension, along which
    // each input is either contiguous or one repeated value): `x - mean(x, -1, keepdim)`,
    // `(B, 1) + (1, D)`. An element-by-element index walk ran 0.8 ns per element.
    let numel: usize = out_dims.iter().product();
    let Some(&last) = out_dims.last().filter(|_| numel > 0) else {
        return binary_map_walk(a, a_dims, b, b_dims, out_dims, f);
    };
    let (sa, sb) = (
        broadcast_strides(a_dims, out_dims),
        broadcast_strides(b_dims, out_dims),
    );
    let rank = out_dims.len();
    let (la, lb) = (sa[rank - 1], sb[rank - 1]);
    // SAFETY: the row blocks cover `numel`; every row of a block is written whole (each
    // input run is sliced to exactly `last` values, which panics when short).
    unsafe {
        written(numel, |out| {
            for_row_blocks(
                out,
                last,
                #[inline(always)]
                |first, block| {
                    let rows = (first, block.len() / last);
                    for_broadcast_rows(
                        out_dims,
                        (&sa, &sb),
                        rows,
                        #[inline(always)]
                        |row, oa, ob| {
                            let dst = &mut block[(row - first) * last..][..last];
                            match (la, lb) {
                                (0, 0) => {
                                    let v = f(a[oa], b[ob]);
                                    dst.iter_mut().for_each(|slot| {
                                        slot.write(v);
                                    });
                                }
                                (0, _) => {
                                    let x = a[oa];
                                    for (slot, &y) in dst.iter_mut().zip(&b[ob..][..last]) {
                                        slot.write(f(x, y));
                                    }
                                }
                                (_, 0) => {
                                    let y = b[ob];
                                    for (slot, &x) in dst.iter_mut().zip(&a[oa..][..last]) {
                                        slot.write(f(x, y));
                                    }
                                }
                                _ => {
                                    let (x, y) = (&a[oa..][..last], &b[ob..][..last]);
                                    for ((slot, &x), &y) in dst.iter_mut().zip(x).zip(y) {
                                        slot.write(f(x, y));
                                    }
                                }
                            }
                        },
                    )
                },
            )
        })
    }
}

/// [`binary_map`] by an index walk (empty outputs).
fn binary_map_walk<E: Float>(
    a: &[E],
    a_dims: &[usize],
    b: &[E],
    b_dims: &[usize],
    out_dims: &[usize],
    f: impl Fn(E, E) -> E,
) -> Vec<E> {
    let numel: usize = out_dims.iter().product();
    let mut out = vec![E::ZERO; numel];
    let (sa, sb) = (
        broadcast_strides(a_dims, out_dims),
        broadcast_strides(b_dims, out_dims),
    );
    for_each_broadcast2(out_dims, &sa, &sb, |i, ia, ib| out[i] = f(a[ia], b[ib]));
    out
}

/// `a[i] = f(a[i], b[ib])` in place, when `a` already has the output shape.
pub(crate) fn binary_map_inplace<E: Float>(
    a: &mut [E],
    out_dims: &[usize],
    b: &[E],
    b_dims: &[usize],
    f: impl Fn(E, E) -> E + Sync,
) {
    if let Some(pb) = repeat_period(b_dims, out_dims) {
        let numel = a.len();
        for_blocks(
            a,
            #[inline(always)]
            |off, block| {
                for_periodic_runs(
                    off,
                    block.len(),
                    (numel, pb),
                    #[inline(always)]
                    |at, len, _, ib| {
                        let y = &b[ib..][..len];
                        for (x, &y) in block[at..][..len].iter_mut().zip(y) {
                            *x = f(*x, y);
                        }
                    },
                )
            },
        );
        return;
    }
    // Row by row, as in `binary_map`.
    let Some(&last) = out_dims.last().filter(|&&n| n > 0 && !a.is_empty()) else {
        return;
    };
    let sa = broadcast_strides(out_dims, out_dims);
    let sb = broadcast_strides(b_dims, out_dims);
    let lb = sb[out_dims.len() - 1];
    for_row_blocks(
        a,
        last,
        #[inline(always)]
        |first, block| {
            let rows = (first, block.len() / last);
            for_broadcast_rows(
                out_dims,
                (&sa, &sb),
                rows,
                #[inline(always)]
                |row, _, ob| {
                    let dst = &mut block[(row - first) * last..][..last];
                    if lb == 0 {
                        let y = b[ob];
                        dst.iter_mut().for_each(|x| *x = f(*x, y));
                    } else {
                        for (x, &y) in dst.iter_mut().zip(&b[ob..][..last]) {
                            *x = f(*x, y);
                        }
                    }
                },
            )
        },
    );
}

/// The gradient of one input of a broadcast binary op:
/// `grad[i_in] += gy[i] * d(a[ia], b[ib])`, summed over broadcast dimensions.
/// `which` selects the input (0: a, 1: b) whose gradient `grad` is. Without `gy`, for an
/// input of the output's shape only: in place, `grad` holding `gy` on entry and
/// `gy * d(a, b)` on return (the input's first gradient, written over the output's).
#[allow(clippy::too_many_arguments)]
pub(crate) fn binary_grad<E: Float>(
    grad: &mut [E],
    which: usize,
    gy: Option<&[E]>,
    a: &[E],
    a_dims: &[usize],
    b: &[E],
    b_dims: &[usize],
    out_dims: &[usize],
    d: impl Fn(E, E) -> E + Sync,
) {
    let own_dims = if which == 0 { a_dims } else { b_dims };
    assert!(
        gy.is_some() || own_dims == out_dims,
        "binary_grad: only an input of the output's shape takes its gradient in place"
    );
    if let (true, Some(pa), Some(pb)) = (
        own_dims == out_dims,
        repeat_period(a_dims, out_dims),
        repeat_period(b_dims, out_dims),
    ) {
        // This input has the output's shape (the other may repeat over leading dimensions):
        // element `i` of its gradient is element `i` of the output's, nothing to sum.
        for_blocks(
            grad,
            #[inline(always)]
            |off, block| {
                for_periodic_runs(
                    off,
                    block.len(),
                    (pa, pb),
                    #[inline(always)]
                    |at, len, ia, ib| {
                        let (x, y) = (&a[ia..][..len], &b[ib..][..len]);
                        let run = &mut block[at..][..len];
                        match gy {
                            Some(gy) => {
                                let gy = &gy[off + at..][..len];
                                for (((g, &x), &y), &gy) in run.iter_mut().zip(x).zip(y).zip(gy) {
                                    *g += gy * d(x, y);
                                }
                            }
                            None => {
                                for ((g, &x), &y) in run.iter_mut().zip(x).zip(y) {
                                    *g *= d(x, y);
                                }
                            }
                        }
                    },
                )
            },
        );
        return;
    }
    // Any other broadcast, row by row (a run of the last dimension): both inputs' values of
    // the row as contiguous runs (in place, or one value repeated), the row's gradient terms
    // in one vector loop, then added along the row or summed into one element when this
    // input repeats along it. An element-by-element index walk ran 0.8 ns per element.
    let numel: usize = out_dims.iter().product();
    let Some(&last) = out_dims.last().filter(|_| numel > 0) else {
        return;
    };
    let (sa, sb) = (
        broadcast_strides(a_dims, out_dims),
        broadcast_strides(b_dims, out_dims),
    );
    let rank = out_dims.len();
    let (la, lb) = (sa[rank - 1], sb[rank - 1]);
    let own_full = own_dims == out_dims;
    let own_rows = own_dims.len() == rank
        && own_dims[..rank - 1] == out_dims[..rank - 1]
        && own_dims[rank - 1] == 1;
    let rows_of = GradRows {
        which,
        gy,
        a,
        b,
        out_dims,
        strides: (&sa, &sb),
        last_strides: (la, lb),
        d: &d,
    };
    if own_full || own_rows {
        // An input of the output's shape takes each row's terms at that row, and one
        // repeated only along the last axis (`x * scale[:, None]`) takes each row's sum in
        // its own element: blocks of rows over the threads, blocks of `grad` (the second
        // was serial: the (4096, 1) gradient of a (4096, 1024) product, 6.8 ms with the
        // rest of its step on two threads, PyTorch 3.3).
        let per_row = if own_full { last } else { 1 };
        let parallel_elems = if own_full {
            PARALLEL_ELEMS
        } else {
            (PARALLEL_ELEMS / last).max(1)
        };
        for_row_blocks_from(
            grad,
            per_row,
            parallel_elems,
            #[inline(always)]
            |first, block| rows_of.add_into(block, (first, block.len() / per_row), first * per_row),
        );
        return;
    }
    // Any other broadcast sums rows into shared elements (a per-channel `(1, C, 1, 1)`
    // scale): a fixed number of blocks of rows, each summed into its own partial gradient
    // (blocks over the threads), then the partials added in order. The blocks depend on the
    // shapes alone, so the sums do not change with the thread count. One block, serial, ran
    // (32, 64, 56, 56) times (1, 64, 1, 1) at 1.1 ns per element on one thread.
    sum_rows_into(
        grad,
        numel,
        last,
        #[inline(always)]
        |acc, rows| rows_of.add_into(acc, rows, 0),
    );
}

/// The row loop of [`binary_grad`]'s general case, over one block of output rows.
struct GradRows<'a, E, D> {
    which: usize,
    gy: Option<&'a [E]>,
    a: &'a [E],
    b: &'a [E],
    out_dims: &'a [usize],
    strides: (&'a [usize; MAX_RANK], &'a [usize; MAX_RANK]),
    last_strides: (usize, usize),
    d: &'a D,
}

impl<E: Float, D: Fn(E, E) -> E> GradRows<'_, E, D> {
    /// Adds the terms of output rows `first..first + rows` into `acc`, which holds this
    /// input's gradient from element `base` on (or, without `gy`, writes them over the
    /// output's gradient that `acc` holds).
    #[inline(always)]
    fn add_into(&self, acc: &mut [E], (first, rows): (usize, usize), base: usize) {
        let (la, lb) = self.last_strides;
        let own = if self.which == 0 { la } else { lb };
        let last = self.out_dims[self.out_dims.len() - 1];
        let mut runs = vec![E::ZERO; 3 * last];
        let (ra, rest) = runs.split_at_mut(last);
        let (rb, terms) = rest.split_at_mut(last);
        for_broadcast_rows(
            self.out_dims,
            self.strides,
            (first, rows),
            #[inline(always)]
            |row, oa, ob| {
                let xa = run_of(ra, self.a, oa, la);
                let xb = run_of(rb, self.b, ob, lb);
                let at = if self.which == 0 { oa } else { ob };
                let gy_row = match self.gy {
                    Some(gy) => &gy[row * last..][..last],
                    // In place: this input has the output's shape, its row is `gy`'s.
                    None => &acc[at - base..][..last],
                };
                for (((t, &g), &x), &y) in terms.iter_mut().zip(gy_row).zip(xa).zip(xb) {
                    *t = g * (self.d)(x, y);
                }
                if self.gy.is_some() {
                    add_run(acc, at - base, own, terms);
                } else {
                    acc[at - base..][..last].copy_from_slice(terms);
                }
            },
        )
    }
}

/// How many partial gradients [`binary_grad`] and [`sum_to_shape`] sum a broadcast
/// input's gradient in, when its elements are shared by many output rows.
const PARTIAL_BLOCKS: usize = 16;

/// Runs `sum_rows(acc, (first, count))`, which adds output rows `first..first + count` (of
/// `numel / last`) into a gradient: over all rows into `acc` itself, serially, or, when the
/// output is long enough to split and the partial buffers small beside it, over
/// [`PARTIAL_BLOCKS`] fixed blocks of rows, each into its own zeroed partial gradient
/// (blocks over the threads), then the partials added into `acc` in order. The blocks
/// depend on the shapes alone, so the sums do not change with the thread count.
#[inline(always)]
fn sum_rows_into<E: Float>(
    acc: &mut [E],
    numel: usize,
    last: usize,
    sum_rows: impl Fn(&mut [E], (usize, usize)) + Sync,
) {
    let (rows, len) = (numel / last, acc.len());
    if numel < PARALLEL_ELEMS || len.saturating_mul(PARTIAL_BLOCKS) > numel / 8 || rows < 2 {
        for_row_blocks_from(
            acc,
            len,
            usize::MAX,
            #[inline(always)]
            |_, acc| sum_rows(acc, (0, rows)),
        );
        return;
    }
    let blocks = PARTIAL_BLOCKS.min(rows);
    let per = rows.div_ceil(blocks);
    let mut partials = vec![E::ZERO; blocks * len];
    for_row_blocks_from(
        &mut partials,
        len,
        1,
        #[inline(always)]
        |first, part| {
            for (k, p) in (first..).zip(part.chunks_exact_mut(len)) {
                let start = (k * per).min(rows);
                sum_rows(p, (start, per.min(rows - start)));
            }
        },
    );
    for part in partials.chunks_exact(len) {
        for (a, &p) in acc.iter_mut().zip(part) {
            *a += p;
        }
    }
}

/// The run of `x` from `at` (`stride` 1), or `x[at]` written into all of `run` (`stride`
/// 0), as long as `run`.
#[inline(always)]
fn run_of<'a, E: Float>(run: &'a mut [E], x: &'a [E], at: usize, stride: usize) -> &'a [E] {
    if stride == 0 {
        run.fill(x[at]);
        run
    } else {
        &x[at..][..run.len()]
    }
}

/// Adds `run` into `acc[at..]` (`stride` 1), or its sum into `acc[at]` (`stride` 0).
#[inline(always)]
fn add_run<E: Float>(acc: &mut [E], at: usize, stride: usize, run: &[E]) {
    if stride == 0 {
        acc[at] += super::softmax::row_dot(run, None);
    } else {
        for (a, &v) in acc[at..][..run.len()].iter_mut().zip(run) {
            *a += v;
        }
    }
}

/// Sums `g` (shaped `out_dims`) down to `in_dims` and adds it to `acc`: the backward of a
/// broadcast.
pub(crate) fn sum_to_shape<E: Float>(
    acc: &mut [E],
    in_dims: &[usize],
    g: &[E],
    out_dims: &[usize],
) {
    if in_dims == out_dims {
        wide(
            #[inline(always)]
            || {
                for (a, &v) in acc.iter_mut().zip(g) {
                    *a += v;
                }
            },
        );
        return;
    }
    // Row by row, as in `binary_grad`, and in partial sums over fixed blocks of rows as
    // there when many rows share the elements (a per-channel bias's gradient).
    let numel: usize = out_dims.iter().product();
    let Some(&last) = out_dims.last().filter(|_| numel > 0) else {
        return;
    };
    let si = broadcast_strides(in_dims, out_dims);
    let so = broadcast_strides(out_dims, out_dims);
    let stride = si[out_dims.len() - 1];
    sum_rows_into(
        acc,
        numel,
        last,
        #[inline(always)]
        |part, rows| {
            for_broadcast_rows(
                out_dims,
                (&si, &so),
                rows,
                #[inline(always)]
                |row, oi, _| add_run(part, oi, stride, &g[row * last..][..last]),
            )
        },
    );
}

/// Reads a contiguous `in_dims` tensor broadcast to `out_dims`.
pub(crate) fn broadcast_to<E: Float>(x: &[E], in_dims: &[usize], out_dims: &[usize]) -> Vec<E> {
    let numel: usize = out_dims.iter().product();
    if numel == 0 {
        return Vec::new();
    }
    if out_dims.is_empty() {
        // A scalar.
        return x[..1].to_vec();
    }
    read_rows(x, out_dims, &broadcast_strides(in_dims, out_dims))
}

/// A new tensor of `out_dims` (`numel > 0`) whose rows (runs of the last dimension) are read
/// from `x` at the offsets that `strides` give (in output order): a contiguous run when the
/// last stride is 1, one value repeated when it is 0, every `stride`-th value otherwise.
/// Blocks of rows over the threads.
pub(crate) fn read_rows<E: Float>(
    x: &[E],
    out_dims: &[usize],
    strides: &[usize; MAX_RANK],
) -> Vec<E> {
    let numel: usize = out_dims.iter().product();
    let last = out_dims[out_dims.len() - 1];
    let stride = strides[out_dims.len() - 1];
    // SAFETY: the row blocks cover `numel`, and every row of a block is written whole (the
    // source run is sliced to exactly the `last` values it yields, which panics when short).
    unsafe {
        written(numel, |out| {
            for_row_blocks(
                out,
                last,
                #[inline(always)]
                |first, block| {
                    let rows = (first, block.len() / last);
                    for_broadcast_rows(
                        out_dims,
                        (strides, strides),
                        rows,
                        #[inline(always)]
                        |row, at, _| {
                            let dst = &mut block[(row - first) * last..][..last];
                            if stride == 0 {
                                let v = x[at];
                                dst.iter_mut().for_each(|slot| {
                                    slot.write(v);
                                });
                            } else if stride == 1 {
                                copy_run(dst, &x[at..][..last]);
                            } else {
                                // A permutation that moves the last axis and cannot be
                                // merged into a batch of transposes.
                                let run = &x[at..][..(last - 1) * stride + 1];
                                for (slot, &v) in dst.iter_mut().zip(run.iter().step_by(stride)) {
                                    slot.write(v);
                                }
                            }
                        },
                    )
                },
            )
        })
    }
}

#[cfg(test)]
mod tests;
