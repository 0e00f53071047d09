//! Padding along one axis: constant, reflect and replicate, as `torch.nn.functional.pad`.
//! Padding several axes is this applied once per axis (every mode is separable).

use super::parallel::for_row_blocks_plain;
use super::uninit::{copy_run, filled, written};
use crate::dtype::Float;
use crate::shape::MAX_RANK;

/// How the new border elements are filled.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum PadFill<E> {
    /// A fixed value.
    Constant(E),
    /// The mirror image without repeating the edge: `[a b c]` padded by 2 is `c b [a b c] b a`.
    Reflect,
    /// The edge element repeated.
    Replicate,
}

/// The input position an output position `j` of a line of `n` padded by `left` copies, or
/// `None` for a constant border. Reflect needs `left, right < n` (checked by the caller).
#[inline(always)]
fn source<E>(fill: PadFill<E>, j: usize, left: usize, n: usize) -> Option<usize> {
    let p = j as isize - left as isize;
    let last = n as isize - 1;
    match fill {
        PadFill::Constant(_) => (0..n as isize).contains(&p).then_some(p as usize),
        PadFill::Reflect => {
            let r = if p < 0 {
                -p
            } else if p > last {
                2 * last - p
            } else {
                p
            };
            Some(r as usize)
        }
        PadFill::Replicate => Some(p.clamp(0, last) as usize),
    }
}

/// The input position along leading axis `d` of `dims` (padded by `pads`, PyTorch's order)
/// that output position `i` copies, or `None` for a constant border.
#[inline(always)]
fn source_along<E>(
    fill: PadFill<E>,
    dims: &[usize],
    pads: &[(usize, usize)],
    d: usize,
    i: usize,
) -> Option<usize> {
    match pads.get(dims.len() - 1 - d) {
        Some(&(l, _)) => source(fill, i, l, dims[d]),
        None => Some(i),
    }
}

/// `x` seen as `[outer, n, inner]` padded along the middle axis to
/// `[outer, left + n + right, inner]`: a run of `inner` copied whole per output position,
/// and along the last axis (`inner == 1`) each row's middle as one run (padding H and W of
/// (32, 64, 56, 56) by 1 took 22 ms on one thread with a call per element; PyTorch 2.3).
/// Blocks of `outer` over the threads.
pub(crate) fn pad_axis<E: Float>(
    x: &[E],
    outer: usize,
    n: usize,
    inner: usize,
    left: usize,
    right: usize,
    fill: PadFill<E>,
) -> Vec<E> {
    let m = left + n + right;
    let (slab_in, slab_out) = (n * inner, m * inner);
    let len = outer * slab_out;
    if len == 0 {
        return Vec::new();
    }
    let x = &x[..outer * slab_in];
    let value = match fill {
        PadFill::Constant(v) => v,
        _ => E::ZERO,
    };
    let border = |j: usize, src: &[E]| source(fill, j, left, n).map_or(value, |p| src[p]);
    // SAFETY: every slab of a block is written whole: for a row, its borders position by
    // position and its middle as one run of `n`; otherwise one run of `inner` (copied from a
    // source sliced to exactly `inner`, or filled) per output position.
    unsafe {
        written(len, |out| {
            for_row_blocks_plain(
                out,
                slab_out,
                #[inline(always)]
                |first, block| {
                    for (o, dst) in (first..).zip(block.chunks_exact_mut(slab_out)) {
                        let src = &x[o * slab_in..][..slab_in];
                        if inner == 1 {
                            let (head, rest) = dst.split_at_mut(left);
                            let (middle, tail) = rest.split_at_mut(n);
                            for (j, slot) in head.iter_mut().enumerate() {
                                slot.write(border(j, src));
                            }
                            copy_run(middle, src);
                            for (j, slot) in (left + n..).zip(tail) {
                                slot.write(border(j, src));
                            }
                            continue;
                        }
                        for (j, run) in dst.chunks_exact_mut(inner).enumerate() {
                            match source(fill, j, left, n) {
                                Some(p) => copy_run(run, &src[p * inner..][..inner]),
                                None => {
                                    run.iter_mut().for_each(|slot| {
                                        slot.write(value);
                                    });
                                }
                            }
                        }
                    }
                },
            )
        })
    }
}

/// The index over the leading axes of `dims` (all but the last) of row `row`.
fn row_index(row: usize, dims: &[usize]) -> [usize; MAX_RANK] {
    let mut idx = [0; MAX_RANK];
    let mut rest = row;
    for d in (0..dims.len().saturating_sub(1)).rev() {
        idx[d] = rest % dims[d];
        rest /= dims[d];
    }
    idx
}

/// The shape of `dims` with its last `pads.len()` axes padded (PyTorch's order, `pads[0]`
/// the last axis), and that shape's row-major strides.
fn padded_shape(dims: &[usize], pads: &[(usize, usize)]) -> ([usize; MAX_RANK], [usize; MAX_RANK]) {
    let rank = dims.len();
    let mut out_dims = [0; MAX_RANK];
    out_dims[..rank].copy_from_slice(dims);
    for (k, &(left, right)) in pads.iter().enumerate() {
        out_dims[rank - 1 - k] += left + right;
    }
    let mut out_strides = [0; MAX_RANK];
    let mut step = 1;
    for d in (0..rank).rev() {
        out_strides[d] = step;
        step *= out_dims[d];
    }
    (out_dims, out_strides)
}

/// `x` (shaped `dims`) with its last `pads.len()` axes padded at once, PyTorch's order
/// (`pads[0]` the last axis): each output row is a source row padded in place, or all
/// border. The same values as [`pad_axis`] axis by axis, in one pass instead of one per
/// axis. Blocks of rows over the threads.
pub(crate) fn pad_last_axes<E: Float>(
    x: &[E],
    dims: &[usize],
    pads: &[(usize, usize)],
    fill: PadFill<E>,
) -> Vec<E> {
    let rank = dims.len();
    let (out_dims, _) = padded_shape(dims, pads);
    let out_dims = &out_dims[..rank];
    let len: usize = out_dims.iter().product();
    if len == 0 {
        return Vec::new();
    }
    let x = &x[..dims.iter().product::<usize>()];
    let (n, m, (left, _)) = (dims[rank - 1], out_dims[rank - 1], pads[0]);
    let value = match fill {
        PadFill::Constant(v) => v,
        _ => E::ZERO,
    };
    // The input's own row-major strides (no padding).
    let (_, in_strides) = padded_shape(dims, &[]);
    let along = |d: usize, i: usize| source_along(fill, dims, pads, d, i);
    // The source along the row axis of each output position on it, looked up once: a call
    // per row (the closure above was not inlined) was a quarter of padding (32, 64, 28, 28)
    // by 1 on all four sides.
    let rows_axis = rank.saturating_sub(2);
    // (A rank-1 tensor is one row, read from 0 below: no table.)
    let row_sources: Vec<Option<usize>> = match rank {
        1 => Vec::new(),
        _ => (0..out_dims[rows_axis])
            .map(|i| along(rows_axis, i))
            .collect(),
    };
    // SAFETY: every row of a block is written whole: filled, or its borders position by
    // position and its middle as one run of `n` from a source sliced to exactly `n`.
    unsafe {
        written(len, |out| {
            for_row_blocks_plain(
                out,
                m,
                #[inline(always)]
                |first, block| {
                    let mut idx = row_index(first, &out_dims[..rank]);
                    // Where the source row starts, or `None` for a row that is all border:
                    // the axes before the row axis (`rows_axis`) are looked up when the row
                    // axis wraps, not for every row (a lookup per row of 30 was 40% of
                    // padding (32, 64, 28, 28) by 1 on all four sides).
                    let lead = |idx: &[usize; MAX_RANK]| {
                        (0..rows_axis)
                            .try_fold(0, |at, d| along(d, idx[d]).map(|p| at + p * in_strides[d]))
                    };
                    let mut base = lead(&idx);
                    for dst in block.chunks_exact_mut(m) {
                        let at = match rank {
                            1 => Some(0),
                            _ => base.and_then(|b| row_sources[idx[rows_axis]].map(|p| b + p * n)),
                        };
                        match (at, fill) {
                            (None, _) => {
                                filled(dst, value);
                            }
                            (Some(at), PadFill::Constant(v)) => {
                                let (head, rest) = dst.split_at_mut(left);
                                let (middle, tail) = rest.split_at_mut(n);
                                filled(head, v);
                                copy_run(middle, &x[at..][..n]);
                                filled(tail, v);
                            }
                            (Some(at), _) => {
                                let src = &x[at..][..n];
                                let (head, rest) = dst.split_at_mut(left);
                                let (middle, tail) = rest.split_at_mut(n);
                                let border =
                                    |j: usize| source(fill, j, left, n).map_or(value, |p| src[p]);
                                for (j, slot) in head.iter_mut().enumerate() {
                                    slot.write(border(j));
                                }
                                copy_run(middle, src);
                                for (j, slot) in (left + n..).zip(tail) {
                                    slot.write(border(j));
                                }
                            }
                        }
                        for d in (0..rank - 1).rev() {
                            idx[d] += 1;
                            if idx[d] < out_dims[d] {
                                break;
                            }
                            idx[d] = 0;
                        }
                        if rank >= 2 && idx[rows_axis] == 0 {
                            base = lead(&idx);
                        }
                    }
                },
            )
        })
    }
}

/// The backward of [`pad_last_axes`]: adds to each input row (of `acc`, shaped `dims`)
/// the gradient of every output row that copied it, each through the last axis's
/// single-axis rule. Blocks of input rows over the threads: each row is summed by one
/// thread, in the same order whatever the split.
pub(crate) fn pad_last_axes_backward<E: Float>(
    acc: &mut [E],
    g: &[E],
    dims: &[usize],
    pads: &[(usize, usize)],
    fill: PadFill<E>,
) {
    let rank = dims.len();
    let len: usize = dims.iter().product();
    if len == 0 {
        return;
    }
    let (out_dims, out_strides) = padded_shape(dims, pads);
    let (n, m, (left, right)) = (dims[rank - 1], out_dims[rank - 1], pads[0]);
    let g = &g[..out_dims[..rank].iter().product()];
    // For each leading axis, the output positions that copy each input position: itself
    // shifted, and for a padded axis the border positions that reflect or replicate it.
    let copies: Vec<Vec<Vec<usize>>> = (0..rank - 1)
        .map(|d| {
            let mut of = vec![Vec::new(); dims[d]];
            match pads.get(rank - 1 - d) {
                Some(&(l, r)) => {
                    for j in 0..l + dims[d] + r {
                        if let Some(p) = source(fill, j, l, dims[d]) {
                            of[p].push(j);
                        }
                    }
                }
                None => of.iter_mut().enumerate().for_each(|(p, js)| js.push(p)),
            }
            of
        })
        .collect();
    for_row_blocks_plain(
        &mut acc[..len],
        n,
        #[inline(always)]
        |first, block| {
            let mut idx = row_index(first, &dims[..rank]);
            for dst in block.chunks_exact_mut(n) {
                // Every combination of the copies along the leading axes is one output row.
                let lists: [&[usize]; MAX_RANK] = core::array::from_fn(|d| {
                    if d + 1 < rank {
                        &copies[d][idx[d]][..]
                    } else {
                        &[0][..]
                    }
                });
                let mut pick = [0; MAX_RANK];
                'rows: loop {
                    let at: usize = (0..rank - 1)
                        .map(|d| lists[d][pick[d]] * out_strides[d])
                        .sum();
                    let src = &g[at..][..m];
                    for (a, &v) in dst.iter_mut().zip(&src[left..][..n]) {
                        *a += v;
                    }
                    for j in (0..left).chain(left + n..left + n + right) {
                        if let Some(p) = source(fill, j, left, n) {
                            dst[p] += src[j];
                        }
                    }
                    for d in (0..rank - 1).rev() {
                        pick[d] += 1;
                        if pick[d] < lists[d].len() {
                            continue 'rows;
                        }
                        pick[d] = 0;
                    }
                    break;
                }
                for d in (0..rank - 1).rev() {
                    idx[d] += 1;
                    if idx[d] < dims[d] {
                        break;
                    }
                    idx[d] = 0;
                }
            }
        },
    )
}

/// The backward of [`pad_last_axes`] (or [`pad_axis`] on the last axis) with a constant
/// fill, into a new buffer: every input element was copied to exactly one output element,
/// so its gradient is that one's, and the input's gradient is `g` cropped (written once:
/// no zero-filled buffer to accumulate into, and no per-row search for the rows that
/// copied it).
pub(crate) fn pad_last_axes_crop<E: Float>(
    g: &[E],
    dims: &[usize],
    pads: &[(usize, usize)],
) -> Vec<E> {
    let rank = dims.len();
    let len: usize = dims.iter().product();
    if len == 0 {
        return Vec::new();
    }
    let (out_dims, out_strides) = padded_shape(dims, pads);
    let g = &g[..out_dims[..rank].iter().product()];
    let lead = |d: usize| pads.get(rank - 1 - d).map_or(0, |p| p.0);
    let n = dims[rank - 1];
    // SAFETY: every row of every block is written whole from a run of `g` sliced to
    // exactly `n` values.
    unsafe {
        written(len, |out| {
            for_row_blocks_plain(
                out,
                n,
                #[inline(always)]
                |first, block| {
                    // The input row's index over the leading axes, and where in `g` the
                    // output row that copied it starts.
                    let mut idx = row_index(first, &dims[..rank]);
                    let mut at = lead(rank - 1)
                        + (0..rank - 1)
                            .map(|d| (idx[d] + lead(d)) * out_strides[d])
                            .sum::<usize>();
                    for dst in block.chunks_exact_mut(n) {
                        copy_run(dst, &g[at..][..n]);
                        for d in (0..rank - 1).rev() {
                            idx[d] += 1;
                            at += out_strides[d];
                            if idx[d] < dims[d] {
                                break;
                            }
                            at -= dims[d] * out_strides[d];
                            idx[d] = 0;
                        }
                    }
                },
            )
        })
    }
}

/// The backward of [`pad_axis`]: each output gradient goes to the input element it
/// copied, so reflected and replicated elements accumulate several. Blocks of `outer`
/// over the threads.
#[allow(clippy::too_many_arguments)]
pub(crate) fn pad_axis_backward<E: Float>(
    acc: &mut [E],
    g: &[E],
    outer: usize,
    n: usize,
    inner: usize,
    left: usize,
    right: usize,
    fill: PadFill<E>,
) {
    let m = left + n + right;
    let (slab_in, slab_out) = (n * inner, m * inner);
    if outer * slab_in == 0 {
        return;
    }
    let g = &g[..outer * slab_out];
    for_row_blocks_plain(
        &mut acc[..outer * slab_in],
        slab_in,
        #[inline(always)]
        |first, block| {
            for (o, dst) in (first..).zip(block.chunks_exact_mut(slab_in)) {
                let src = &g[o * slab_out..][..slab_out];
                if inner == 1 {
                    for (a, &v) in dst.iter_mut().zip(&src[left..][..n]) {
                        *a += v;
                    }
                    for j in (0..left).chain(left + n..m) {
                        if let Some(p) = source(fill, j, left, n) {
                            dst[p] += src[j];
                        }
                    }
                    continue;
                }
                for (j, run) in src.chunks_exact(inner).enumerate() {
                    if let Some(p) = source(fill, j, left, n) {
                        for (a, &v) in dst[p * inner..][..inner].iter_mut().zip(run) {
                            *a += v;
                        }
                    }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_on_one_line() {
        let x = [1.0f32, 2.0, 3.0];
        let pad = |f| pad_axis(&x, 1, 3, 1, 2, 2, f);
        assert_eq!(
            pad(PadFill::Constant(0.5)),
            vec![0.5, 0.5, 1., 2., 3., 0.5, 0.5]
        );
        assert_eq!(pad(PadFill::Reflect), vec![3., 2., 1., 2., 3., 2., 1.]);
        assert_eq!(pad(PadFill::Replicate), vec![1., 1., 1., 2., 3., 3., 3.]);
        let mut g = [0.0f32; 3];
        pad_axis_backward(&mut g, &[1.0; 7], 1, 3, 1, 2, 2, PadFill::Replicate);
        assert_eq!(g, [3.0, 1.0, 3.0]);
        let mut g = [0.0f32; 3];
        pad_axis_backward(&mut g, &[1.0; 7], 1, 3, 1, 2, 2, PadFill::Reflect);
        assert_eq!(g, [2.0, 3.0, 2.0]);
    }

    /// Padding the last two or three axes in one pass gives what padding them one at a
    /// time gives, in every mode, with rows split over the threads; so does its backward.
    #[test]
    fn padding_several_axes_at_once_matches_axis_by_axis() {
        let cases: [(&[usize], &[(usize, usize)]); 5] = [
            (&[40, 30, 56], &[(1, 1), (1, 1)]),
            (&[4, 3, 5], &[(1, 2), (2, 1), (1, 3)]),
            (&[3, 4, 5, 6], &[(2, 0), (0, 3), (1, 2)]),
            (&[2, 7, 9], &[(3, 4), (2, 2)]),
            (&[6, 5], &[(0, 0), (4, 1)]),
        ];
        for (dims, pads) in cases {
            let x: Vec<f64> = (0..dims.iter().product()).map(|i| i as f64).collect();
            for fill in [
                PadFill::Constant(-2.0),
                PadFill::Reflect,
                PadFill::Replicate,
            ] {
                let rank = dims.len();
                let reflect_fits = pads
                    .iter()
                    .enumerate()
                    .all(|(k, &(l, r))| l < dims[rank - 1 - k] && r < dims[rank - 1 - k]);
                if fill == PadFill::Reflect && !reflect_fits {
                    continue;
                }
                let (mut want, mut cur) = (x.clone(), dims.to_vec());
                for (k, &(l, r)) in pads.iter().enumerate() {
                    let axis = rank - 1 - k;
                    let outer = cur[..axis].iter().product();
                    let inner = cur[axis + 1..].iter().product();
                    want = pad_axis(&want, outer, cur[axis], inner, l, r, fill);
                    cur[axis] += l + r;
                }
                assert_eq!(
                    pad_last_axes(&x, dims, pads, fill),
                    want,
                    "{dims:?} by {pads:?}, {fill:?}"
                );
                // Backward: integer gradients, so any order of the additions is exact.
                let g: Vec<f64> = (0..want.len()).map(|i| (i % 7) as f64).collect();
                let mut g_axis = g.clone();
                for (k, &(l, r)) in pads.iter().enumerate().rev() {
                    let axis = rank - 1 - k;
                    cur[axis] -= l + r;
                    let outer = cur[..axis].iter().product();
                    let inner = cur[axis + 1..].iter().product();
                    let mut back = vec![0.0; cur.iter().product()];
                    pad_axis_backward(&mut back, &g_axis, outer, cur[axis], inner, l, r, fill);
                    g_axis = back;
                }
                let mut back = vec![0.5; x.len()];
                pad_last_axes_backward(&mut back, &g, dims, pads, fill);
                let want_back: Vec<f64> = g_axis.iter().map(|v| v + 0.5).collect();
                assert_eq!(back, want_back, "backward {dims:?} by {pads:?}, {fill:?}");
            }
        }
    }

    /// Every mode along the last and a middle axis, with blocks of `outer` over the threads,
    /// against a position-by-position copy and its adjoint.
    #[test]
    fn padding_matches_naive_on_every_axis() {
        let modes = [
            PadFill::Constant(-1.5),
            PadFill::Reflect,
            PadFill::Replicate,
        ];
        for (outer, n, inner, left, right) in [
            (2000, 56, 1, 1, 1),
            (3, 9, 1, 4, 0),
            (64, 40, 30, 2, 3),
            (2, 5, 7, 0, 4),
            (5, 1, 3, 0, 0),
        ] {
            let m = left + n + right;
            let x: Vec<f64> = (0..outer * n * inner).map(|i| i as f64 * 0.5).collect();
            let g: Vec<f64> = (0..outer * m * inner).map(|i| (i % 13) as f64).collect();
            for fill in modes {
                if fill == PadFill::Reflect && (left >= n || right >= n) {
                    continue;
                }
                let mut want = Vec::new();
                let mut want_back = vec![0.25; x.len()];
                for o in 0..outer {
                    for j in 0..m {
                        for i in 0..inner {
                            match source(fill, j, left, n) {
                                Some(p) => {
                                    want.push(x[(o * n + p) * inner + i]);
                                    want_back[(o * n + p) * inner + i] +=
                                        g[(o * m + j) * inner + i];
                                }
                                None => want.push(-1.5),
                            }
                        }
                    }
                }
                let what = format!("[{outer}, {n}, {inner}] by ({left}, {right}), {fill:?}");
                assert_eq!(
                    pad_axis(&x, outer, n, inner, left, right, fill),
                    want,
                    "{what}"
                );
                let mut back = vec![0.25; x.len()];
                pad_axis_backward(&mut back, &g, outer, n, inner, left, right, fill);
                // Integers (times 0.25 and 0.5): exact in any order.
                assert_eq!(back, want_back, "backward {what}");
            }
        }
    }
}
