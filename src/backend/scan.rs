//! Running sums along an axis (`cumsum`) and their adjoint, the running sum taken from the
//! other end. Both accumulate in f64 whatever the element type, as PyTorch's CPU kernel does
//! (its `acc_type` of `float` is `double`): a long running sum in f32 drifts by many ulps.

use super::parallel::for_row_blocks_plain;
use super::uninit::{GradElement, GradTarget, written};
use crate::dtype::Float;
use core::mem::MaybeUninit;

/// Rows of a last-axis scan interleaved in one loop: each row's running sum is a chain of
/// dependent additions, so one row at a time is bound by the add latency (4096 x 1024 `f32`
/// on one thread: 14.6 ms one row at a time with the old generic loop, PyTorch 3.9).
const ROWS: usize = 8;

/// Steps of the backward's interleaved rows kept in a buffer, then added to each row as one
/// run: added in place step by step, rows a multiple of 4 KiB apart made every load wait on
/// the other rows' stores to the same low address bits (14 ms over 4096 x 1024 `f32` on one
/// thread; PyTorch's whole backward 9).
const CHUNK: usize = 64;

/// Inclusive running sum along the middle axis of `x` seen as `[outer, n, inner]`.
pub(crate) fn cumsum_axis<E: Float>(x: &[E], outer: usize, n: usize, inner: usize) -> Vec<E> {
    let slab = n * inner;
    let len = outer * slab;
    if len == 0 {
        return Vec::new();
    }
    let x = &x[..len];
    // SAFETY: every slab of a block is written in full by `scan_slabs`.
    unsafe {
        written(len, |out| {
            for_row_blocks_plain(
                out,
                slab,
                #[inline(always)]
                |first, block| scan_slabs(&x[first * slab..][..block.len()], n, inner, block),
            )
        })
    }
}

/// [`cumsum_axis`] over whole `[n, inner]` slabs (`src` and `dst` of one length).
#[inline(always)]
fn scan_slabs<E: Float>(src: &[E], n: usize, inner: usize, dst: &mut [MaybeUninit<E>]) {
    if inner == 1 {
        let mut xs = src.chunks_exact(ROWS * n);
        let mut ys = dst.chunks_exact_mut(ROWS * n);
        for (x, y) in (&mut xs).zip(&mut ys) {
            // Written in place: only stores go to the rows here (the backward's buffer
            // made this 15% slower).
            let mut acc = [0.0f64; ROWS];
            for k in 0..n {
                for (r, a) in acc.iter_mut().enumerate() {
                    *a += x[r * n + k].to_f64();
                    y[r * n + k].write(E::from_f64(*a));
                }
            }
        }
        let rows = xs.remainder().chunks_exact(n);
        for (x, y) in rows.zip(ys.into_remainder().chunks_exact_mut(n)) {
            let mut acc = 0.0f64;
            for (slot, &v) in y.iter_mut().zip(x) {
                acc += v.to_f64();
                slot.write(E::from_f64(acc));
            }
        }
        return;
    }
    let mut running = vec![0.0f64; inner];
    for (x, y) in src
        .chunks_exact(n * inner)
        .zip(dst.chunks_exact_mut(n * inner))
    {
        running.fill(0.0);
        for (xs, ys) in x.chunks_exact(inner).zip(y.chunks_exact_mut(inner)) {
            for ((r, &v), slot) in running.iter_mut().zip(xs).zip(ys) {
                *r += v.to_f64();
                slot.write(E::from_f64(*r));
            }
        }
    }
}

/// The backward of [`cumsum_axis`]: `acc[o, k, i] (+)= sum(g[o, k.., i])`, a running sum
/// from the end of the axis, added into an existing gradient or written whole into a new one.
pub(crate) fn cumsum_axis_backward<E: Float>(
    acc: GradTarget<'_, E>,
    g: &[E],
    outer: usize,
    n: usize,
    inner: usize,
) {
    match acc {
        GradTarget::Add(acc) => put_cumsum_grad(acc, g, outer, n, inner),
        GradTarget::Write(acc) => put_cumsum_grad(acc, g, outer, n, inner),
    }
}

/// [`cumsum_axis_backward`] for either kind of gradient element.
fn put_cumsum_grad<E: Float, O: GradElement<E>>(
    acc: &mut [O],
    g: &[E],
    outer: usize,
    n: usize,
    inner: usize,
) {
    let slab = n * inner;
    let len = outer * slab;
    if len == 0 {
        return;
    }
    let g = &g[..len];
    for_row_blocks_plain(
        &mut acc[..len],
        slab,
        #[inline(always)]
        |first, block| scan_back_slabs(&g[first * slab..][..block.len()], n, inner, block),
    )
}

/// [`cumsum_axis_backward`] over whole `[n, inner]` slabs.
#[inline(always)]
fn scan_back_slabs<E: Float, O: GradElement<E>>(src: &[E], n: usize, inner: usize, dst: &mut [O]) {
    if inner == 1 {
        let mut gs = src.chunks_exact(ROWS * n);
        let mut ys = dst.chunks_exact_mut(ROWS * n);
        let mut buf = [[E::ZERO; CHUNK]; ROWS];
        for (g, y) in (&mut gs).zip(&mut ys) {
            let mut acc = [0.0f64; ROWS];
            let mut end = n;
            while end > 0 {
                let start = end.saturating_sub(CHUNK);
                for k in (0..end - start).rev() {
                    for (r, (a, b)) in acc.iter_mut().zip(buf.iter_mut()).enumerate() {
                        *a += g[r * n + start + k].to_f64();
                        b[k] = E::from_f64(*a);
                    }
                }
                for (r, b) in buf.iter().enumerate() {
                    for (slot, &v) in y[r * n + start..end + r * n].iter_mut().zip(b) {
                        slot.put(v);
                    }
                }
                end = start;
            }
        }
        let rows = gs.remainder().chunks_exact(n);
        for (g, y) in rows.zip(ys.into_remainder().chunks_exact_mut(n)) {
            let mut acc = 0.0f64;
            for (slot, &v) in y.iter_mut().zip(g).rev() {
                acc += v.to_f64();
                slot.put(E::from_f64(acc));
            }
        }
        return;
    }
    let mut running = vec![0.0f64; inner];
    for (g, y) in src
        .chunks_exact(n * inner)
        .zip(dst.chunks_exact_mut(n * inner))
    {
        running.fill(0.0);
        for (gs, ys) in g.chunks_exact(inner).zip(y.chunks_exact_mut(inner)).rev() {
            for ((r, &v), slot) in running.iter_mut().zip(gs).zip(ys) {
                *r += v.to_f64();
                slot.put(E::from_f64(*r));
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
        cumsum_axis_backward(GradTarget::Add(&mut gx), &g, 2, 3, 2);
        let lhs: f64 = y.iter().zip(&g).map(|(a, b)| a * b).sum();
        let rhs: f64 = x.iter().zip(&gx).map(|(a, b)| a * b).sum();
        assert!((lhs - rhs).abs() < 1e-9);
    }

    /// Rows in groups of eight and the rows left over, slabs split over the threads, both
    /// axis positions, against a sequential f64 running sum (f32 rounds each f64 total once,
    /// as PyTorch does).
    #[test]
    fn running_sums_match_a_sequential_f64_sum() {
        for (outer, n, inner) in [
            (1000, 70, 1),
            (16, 130, 1),
            (13, 5, 1),
            (3, 300, 90),
            (1, 1, 5),
            (0, 4, 4),
        ] {
            let x: Vec<f32> = (0..outer * n * inner)
                .map(|i| ((i * 7919) % 1000) as f32 / 7.0 - 70.0)
                .collect();
            let g: Vec<f32> = x.iter().map(|v| v * 0.5 + 1.0).collect();
            let (mut want, mut want_back) = (vec![0f32; x.len()], vec![1f32; x.len()]);
            for o in 0..outer {
                for i in 0..inner {
                    let (mut up, mut down) = (0f64, 0f64);
                    for k in 0..n {
                        let at = (o * n + k) * inner + i;
                        up += f64::from(x[at]);
                        want[at] = up as f32;
                        let back = (o * n + n - 1 - k) * inner + i;
                        down += f64::from(g[back]);
                        want_back[back] += down as f32;
                    }
                }
            }
            assert_eq!(
                cumsum_axis(&x, outer, n, inner),
                want,
                "[{outer}, {n}, {inner}]"
            );
            let mut acc = vec![1f32; x.len()];
            cumsum_axis_backward(GradTarget::Add(&mut acc), &g, outer, n, inner);
            assert_eq!(acc, want_back, "backward [{outer}, {n}, {inner}]");
            // Written into new memory: the same sums without the one added to.
            let mut fresh: Vec<f32> = Vec::with_capacity(x.len());
            let slots = &mut fresh.spare_capacity_mut()[..x.len()];
            cumsum_axis_backward(GradTarget::Write(slots), &g, outer, n, inner);
            // SAFETY: the backward wrote every element.
            unsafe { fresh.set_len(x.len()) };
            let written: Vec<f32> = fresh.iter().map(|v| v + 1.0).collect();
            assert_eq!(
                written, want_back,
                "written backward [{outer}, {n}, {inner}]"
            );
        }
    }
}
