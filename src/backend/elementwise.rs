//! Elementwise kernels with PyTorch broadcasting.

use super::parallel::{collect_blocks, for_blocks};
use super::simd::wide;
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

/// `out[i] = f(a[ia], b[ib])` over the broadcast shape.
pub(crate) fn binary_map<E: Float>(
    a: &[E],
    a_dims: &[usize],
    b: &[E],
    b_dims: &[usize],
    out_dims: &[usize],
    f: impl Fn(E, E) -> E + Sync,
) -> Vec<E> {
    if a_dims == out_dims && b_dims == out_dims {
        // SAFETY: both inputs are sliced to exactly the block's length (a short one
        // panics), so the loop writes every slot.
        return unsafe {
            collect_blocks(
                a.len(),
                #[inline(always)]
                |off, block| {
                    let (a, b) = (&a[off..][..block.len()], &b[off..][..block.len()]);
                    for ((slot, &x), &y) in block.iter_mut().zip(a).zip(b) {
                        slot.write(f(x, y));
                    }
                },
            )
        };
    }
    wide(
        #[inline(always)]
        || {
            let numel: usize = out_dims.iter().product();
            let mut out = vec![E::ZERO; numel];
            let (sa, sb) = (
                broadcast_strides(a_dims, out_dims),
                broadcast_strides(b_dims, out_dims),
            );
            for_each_broadcast2(
                out_dims,
                &sa,
                &sb,
                #[inline(always)]
                |i, ia, ib| out[i] = f(a[ia], b[ib]),
            );
            out
        },
    )
}

/// `a[i] = f(a[i], b[ib])` in place, when `a` already has the output shape.
pub(crate) fn binary_map_inplace<E: Float>(
    a: &mut [E],
    out_dims: &[usize],
    b: &[E],
    b_dims: &[usize],
    f: impl Fn(E, E) -> E + Sync,
) {
    if b_dims == out_dims {
        for_blocks(
            a,
            #[inline(always)]
            |off, block| {
                let b = &b[off..][..block.len()];
                for (x, &y) in block.iter_mut().zip(b) {
                    *x = f(*x, y);
                }
            },
        );
        return;
    }
    wide(
        #[inline(always)]
        || {
            let sa = broadcast_strides(out_dims, out_dims);
            let sb = broadcast_strides(b_dims, out_dims);
            for_each_broadcast2(
                out_dims,
                &sa,
                &sb,
                #[inline(always)]
                |i, _, ib| a[i] = f(a[i], b[ib]),
            );
        },
    )
}

/// The gradient of one input of a broadcast binary op:
/// `grad[i_in] += gy[i] * d(a[ia], b[ib])`, summed over broadcast dimensions.
/// `which` selects the input (0: a, 1: b) whose gradient `grad` is.
#[allow(clippy::too_many_arguments)]
pub(crate) fn binary_grad<E: Float>(
    grad: &mut [E],
    which: usize,
    gy: &[E],
    a: &[E],
    a_dims: &[usize],
    b: &[E],
    b_dims: &[usize],
    out_dims: &[usize],
    d: impl Fn(E, E) -> E,
) {
    wide(
        #[inline(always)]
        || {
            if a_dims == out_dims && b_dims == out_dims {
                for i in 0..gy.len() {
                    grad[i] += gy[i] * d(a[i], b[i]);
                }
                return;
            }
            let (sa, sb) = (
                broadcast_strides(a_dims, out_dims),
                broadcast_strides(b_dims, out_dims),
            );
            if which == 0 {
                for_each_broadcast2(
                    out_dims,
                    &sa,
                    &sb,
                    #[inline(always)]
                    |i, ia, ib| grad[ia] += gy[i] * d(a[ia], b[ib]),
                );
            } else {
                for_each_broadcast2(
                    out_dims,
                    &sa,
                    &sb,
                    #[inline(always)]
                    |i, ia, ib| grad[ib] += gy[i] * d(a[ia], b[ib]),
                );
            }
        },
    )
}

/// Sums `g` (shaped `out_dims`) down to `in_dims` and adds it to `acc`: the backward of a
/// broadcast.
pub(crate) fn sum_to_shape<E: Float>(
    acc: &mut [E],
    in_dims: &[usize],
    g: &[E],
    out_dims: &[usize],
) {
    wide(
        #[inline(always)]
        || {
            if in_dims == out_dims {
                for (a, &v) in acc.iter_mut().zip(g) {
                    *a += v;
                }
                return;
            }
            let si = broadcast_strides(in_dims, out_dims);
            let so = broadcast_strides(out_dims, out_dims);
            for_each_broadcast2(out_dims, &si, &so, |i, ia, _| acc[ia] += g[i]);
        },
    )
}

/// Reads a contiguous `in_dims` tensor broadcast to `out_dims`.
pub(crate) fn broadcast_to<E: Float>(x: &[E], in_dims: &[usize], out_dims: &[usize]) -> Vec<E> {
    wide(
        #[inline(always)]
        || {
            let numel: usize = out_dims.iter().product();
            let mut out = Vec::with_capacity(numel);
            let si = broadcast_strides(in_dims, out_dims);
            for_each_broadcast2(out_dims, &si, &si, |_, ia, _| out.push(x[ia]));
            out
        },
    )
}

/// A new vector of `n` copies of `value`, written in parallel for long vectors (the
/// gradient of a full sum: one pass instead of a zero fill and an accumulation).
pub(crate) fn filled<E: Float>(n: usize, value: E) -> Vec<E> {
    // SAFETY: the loop writes every slot of its block.
    unsafe {
        collect_blocks(
            n,
            #[inline(always)]
            |_, block| {
                for slot in block.iter_mut() {
                    slot.write(value);
                }
            },
        )
    }
}

/// `x[i] = f(x[i])` in place (split over threads for long slices).
#[inline]
pub(crate) fn map_inplace<E: Float>(x: &mut [E], f: impl Fn(E) -> E + Sync) {
    for_blocks(
        x,
        #[inline(always)]
        |_, block| block.iter_mut().for_each(|v| *v = f(*v)),
    );
}

/// [`map_inplace`] for an `f` that returns its input on some values (relu, clamp, leaky
/// relu on positives): sixteen elements at a time through a buffer the compiler cannot see
/// into, stored back whole. Written element by element, LLVM drops the stores of values
/// just loaded and stores the other lanes with masked stores, which are slow on AMD without
/// AVX-512: W5's relu pass ran at half of memory speed on a Zen 4 with AVX2 (relu(a + b)
/// forward, 4M f32, one thread: 5.2-5.6 -> 2.7 ms). Not for every `f`: the buffer's round
/// trip through the stack costs a little where no store was masked.
#[inline]
pub(crate) fn map_inplace_unmasked<E: Float>(x: &mut [E], f: impl Fn(E) -> E + Sync) {
    for_blocks(
        x,
        #[inline(always)]
        |_, block| {
            let mut chunks = block.chunks_exact_mut(16);
            for chunk in &mut chunks {
                let mut out = [E::ZERO; 16];
                for (o, &v) in out.iter_mut().zip(chunk.iter()) {
                    *o = f(v);
                }
                chunk.copy_from_slice(core::hint::black_box(&out));
            }
            chunks.into_remainder().iter_mut().for_each(|v| *v = f(*v));
        },
    );
}

/// `f(x[i])` for every element, as a new vector (split over threads for long slices).
#[inline]
pub(crate) fn map<E: Float>(x: &[E], f: impl Fn(E) -> E + Sync) -> Vec<E> {
    // SAFETY: the input is sliced to exactly the block's length, so every slot is written.
    unsafe {
        collect_blocks(
            x.len(),
            #[inline(always)]
            |off, block| {
                let x = &x[off..][..block.len()];
                // Sixteen results at a time through a local array: written straight into
                // the slots, the loop stayed scalar for bodies with selects and integer steps
                // (softplus' exp and log1p: 29 ns per f32 element traced, 3.5 in place).
                let mut slots = block.chunks_exact_mut(16);
                let mut values = x.chunks_exact(16);
                for (slots, values) in (&mut slots).zip(&mut values) {
                    let mut out = [E::ZERO; 16];
                    for (o, &v) in out.iter_mut().zip(values) {
                        *o = f(v);
                    }
                    for (slot, &o) in slots.iter_mut().zip(&out) {
                        slot.write(o);
                    }
                }
                for (slot, &v) in slots.into_remainder().iter_mut().zip(values.remainder()) {
                    slot.write(f(v));
                }
            },
        )
    }
}

/// `g[i] *= d(a[i], b[i])` in place: the backward of an elementwise op without
/// broadcasting, turning the output's gradient buffer into an input's.
#[inline]
pub(crate) fn mul_by_derivative<E: Float>(
    g: &mut [E],
    a: &[E],
    b: &[E],
    d: impl Fn(E, E) -> E + Sync,
) {
    for_blocks(
        g,
        #[inline(always)]
        |off, block| {
            for (gv, (&x, &y)) in block.iter_mut().zip(a[off..].iter().zip(&b[off..])) {
                *gv *= d(x, y);
            }
        },
    );
}

/// `g[i] *= d(y[i])` in place: [`mul_by_derivative`] for a derivative read from the output
/// `y` alone.
#[inline]
pub(crate) fn mul_by_derivative_of<E: Float>(g: &mut [E], y: &[E], d: impl Fn(E) -> E + Sync) {
    for_blocks(
        g,
        #[inline(always)]
        |off, block| {
            for (gv, &yv) in block.iter_mut().zip(&y[off..]) {
                *gv *= d(yv);
            }
        },
    );
}

/// `c * d(a[i], b[i])` for every element, as a new vector: the input gradient of an
/// element-wise op whose output gradient is `c` everywhere (a whole-tensor sum's).
#[inline]
pub(crate) fn scaled_derivative<E: Float>(
    c: E,
    a: &[E],
    b: &[E],
    d: impl Fn(E, E) -> E + Sync,
) -> Vec<E> {
    // SAFETY: the inputs are sliced to exactly the block's length (a short one panics), so
    // the loop writes every slot.
    unsafe {
        collect_blocks(
            a.len(),
            #[inline(always)]
            |off, block| {
                let n = block.len();
                let (a, b) = (&a[off..][..n], &b[off..][..n]);
                for (slot, (&x, &y)) in block.iter_mut().zip(a.iter().zip(b)) {
                    slot.write(c * d(x, y));
                }
            },
        )
    }
}

/// `g[i] * d(a[i], b[i])` for every element, as a new vector (the gradient of an input
/// when the output's gradient buffer is still needed).
#[inline]
pub(crate) fn derivative_product<E: Float>(
    g: &[E],
    a: &[E],
    b: &[E],
    d: impl Fn(E, E) -> E + Sync,
) -> Vec<E> {
    // SAFETY: the inputs are sliced to exactly the block's length (a short one panics, as
    // when a gradient of the wrong length reaches here), so the loop writes every slot.
    unsafe {
        collect_blocks(
            g.len(),
            #[inline(always)]
            |off, block| {
                let n = block.len();
                let (g, a, b) = (&g[off..][..n], &a[off..][..n], &b[off..][..n]);
                for (slot, (&gv, (&x, &y))) in block.iter_mut().zip(g.iter().zip(a.iter().zip(b))) {
                    slot.write(gv * d(x, y));
                }
            },
        )
    }
}
