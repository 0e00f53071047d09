//! One primitive behind the GPU's picking and copying shape ops (`narrow`, `select`,
//! `index_select`, `gather`, `slice_step`, `pad`, `cat` and `stack` of lists): the output
//! element `i` is input element `src[i]` (or a fill value), one `gather_rows` launch with
//! rows of one element. Its backward adds each output gradient to the element it came
//! from, one thread per input element over the positions that read it (the embedding's
//! scatter kernel), so an element read twice gets both gradients and nothing races.
//!
//! The index map is computed on the CPU from the shapes (never from tensor values) and
//! uploaded with the call, as the embedding's indices are.

use super::tensor::{GpuTensor, add_grad, gpu_tensor, split, take_grad, wants, with_tape};
use crate::autograd::{Gradients, NoTape, Tape};
use crate::device::{kernels, seq_kernels};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::shape::Shape;

/// A map entry that reads the fill value instead of an input element.
pub(super) const FILL: usize = usize::MAX;

/// The row-major strides of `dims`.
pub(super) fn strides(dims: &[usize]) -> Vec<usize> {
    let mut s = vec![1; dims.len()];
    for k in (0..dims.len().saturating_sub(1)).rev() {
        s[k] = s[k + 1] * dims[k + 1];
    }
    s
}

/// Calls `f` with every multi-index of `dims` in row-major order.
pub(super) fn for_each_index(dims: &[usize], mut f: impl FnMut(&[usize])) {
    if dims.contains(&0) {
        return;
    }
    let mut idx = vec![0; dims.len()];
    loop {
        f(&idx);
        let mut k = dims.len();
        loop {
            if k == 0 {
                return;
            }
            k -= 1;
            idx[k] += 1;
            if idx[k] < dims[k] {
                break;
            }
            idx[k] = 0;
        }
    }
}

/// `(outer, n, inner)`: the sizes before, at and after `axis`.
pub(super) fn around(dims: &[usize], axis: usize) -> (usize, usize, usize) {
    (
        dims[..axis].iter().product(),
        dims[axis],
        dims[axis + 1..].iter().product(),
    )
}

/// The map of picking positions `idx` along `axis` of `dims`.
pub(super) fn take_map(dims: &[usize], axis: usize, idx: &[usize]) -> Vec<usize> {
    let (outer, n, inner) = around(dims, axis);
    let mut map = Vec::with_capacity(outer * idx.len() * inner);
    for o in 0..outer {
        for &j in idx {
            let base = (o * n + j) * inner;
            map.extend(base..base + inner);
        }
    }
    map
}

fn to_u32(op: &'static str, v: impl Iterator<Item = usize>) -> Result<Vec<u32>> {
    v.map(|i| {
        u32::try_from(i).map_err(|_| {
            Error::shape(
                op,
                format!("{i} elements are past what one GPU index reaches (u32)"),
            )
        })
    })
    .collect()
}

/// `out` with element `i` = `x`'s element `map[i]`, or `fill` where `map[i] == FILL`.
pub(super) fn gather_op<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    op: &'static str,
    x: GpuTensor<S, T, E>,
    out: SO,
    map: Vec<usize>,
    fill: E,
) -> Result<GpuTensor<SO, T, E>> {
    debug_assert_eq!(map.len(), out.numel());
    let n = x.shape.numel();
    let (x, mut tape) = split(x);
    let dev = x.data.device().clone();
    let filled = map.contains(&FILL);
    // The fill value sits after the input's elements, so one launch reads both.
    let source = if filled {
        let ext = dev.alloc_as::<E>(n + 1);
        seq_kernels::copy_into(&x.data, 0, &ext, 0, n);
        seq_kernels::copy_into(&dev.upload(&[fill]), 0, &ext, n, 1);
        ext
    } else {
        x.data.clone()
    };
    let reads = to_u32(op, map.iter().map(|&i| if i == FILL { n } else { i }))?;
    let y = if reads.is_empty() {
        dev.alloc_as::<E>(0)
    } else {
        kernels::gather_rows(&source, 1, &dev.upload_u32(&reads))
    };
    let result = gpu_tensor(out, y, NoTape);
    if wants(&tape, x.id) {
        // The positions that read each input element, grouped by element (CSR).
        let mut offsets = vec![0usize; n + 1];
        for &i in map.iter().filter(|&&i| i != FILL) {
            offsets[i + 1] += 1;
        }
        for k in 0..n {
            offsets[k + 1] += offsets[k];
        }
        let mut next = offsets.clone();
        let mut positions = vec![0usize; offsets[n]];
        for (p, &i) in map.iter().enumerate().filter(|(_, i)| **i != FILL) {
            positions[next[i]] = p;
            next[i] += 1;
        }
        let offsets = dev.upload_u32(&to_u32(op, offsets.into_iter())?);
        let positions = dev.upload_u32(&to_u32(op, positions.into_iter())?);
        let (x_id, out_id) = (x.id, result.id);
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = take_grad(g, out_id) else {
                    return;
                };
                let gx = if n == 0 {
                    gy.device().alloc_as::<E>(0)
                } else {
                    kernels::gather_rows_backward(&gy, n, 1, (&offsets, &positions), None)
                };
                add_grad(g, x_id, gx);
            }),
        );
    }
    Ok(with_tape(result, tape))
}

/// The elements of every tensor of `parts`, one after another, as one flat tensor (the
/// first step of `cat` and `stack`); each part's gradient is its range of the output's.
pub(super) fn join_flat<S: Shape, E: Float, T: Tape<E>>(
    parts: Vec<GpuTensor<S, T, E>>,
) -> GpuTensor<(usize,), T, E> {
    let total: usize = parts.iter().map(|p| p.shape.numel()).sum();
    let mut tape: Option<T> = None;
    let mut pieces = Vec::with_capacity(parts.len());
    for p in parts {
        let (p, t) = split(p);
        tape = Some(match tape {
            Some(acc) => acc.merge(t),
            None => t,
        });
        pieces.push(p);
    }
    let mut tape = tape.expect("checked non-empty by the caller");
    let dev = pieces[0].data.device().clone();
    let y = dev.alloc_as::<E>(total);
    let mut at = 0;
    let mut ranges = Vec::with_capacity(pieces.len());
    for p in &pieces {
        let len = p.shape.numel();
        seq_kernels::copy_into(&p.data, 0, &y, at, len);
        ranges.push((p.id, at, len));
        at += len;
    }
    let result = gpu_tensor((total,), y, NoTape);
    ranges.retain(|&(id, _, _)| wants(&tape, id));
    if !ranges.is_empty() {
        let out_id = result.id;
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = take_grad(g, out_id) else {
                    return;
                };
                for &(id, at, len) in &ranges {
                    add_grad(g, id, seq_kernels::copy_range(&gy, at, len));
                }
            }),
        );
    }
    with_tape(result, tape)
}
