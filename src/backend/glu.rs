//! GLU (`F.glu`): `a * sigmoid(b)` for the two halves `a`, `b` of one axis, forward and
//! backward in one pass each. Composed from primitives it is two copies (the halves), a
//! sigmoid and a product forward, and twice that backward, each a pass over memory with a
//! temporary of its own.
//!
//! The input is seen as `outer` blocks of `2 * half` elements (`a` then `b`, each `half`
//! long: the halved axis times the axes after it); the output as `outer` blocks of `half`.

use super::parallel::collect_blocks;
use super::uninit::assume_init_mut;
use super::vector_math::scalar::sigmoid_free as sigmoid;
use super::vector_math::{VectorFn, apply_into};
use crate::dtype::Float;
use core::mem::MaybeUninit;

/// `sigmoid(b)` into `dst` (the hand-vectorised `f32` loop where it runs), returned
/// initialised.
#[inline(always)]
fn sigmoid_into<'a, E: Float>(b: &[E], dst: &'a mut [MaybeUninit<E>]) -> &'a mut [E] {
    if !apply_into(VectorFn::Sigmoid, b, dst) {
        for (d, &v) in dst.iter_mut().zip(b) {
            d.write(sigmoid(v));
        }
    }
    // SAFETY: `apply_into` wrote every element, or the loop did (`dst` and `b` have one
    // length: `apply_into` asserts it, and the callers slice both to it).
    unsafe { assume_init_mut(dst) }
}

/// Splits the run `offset..offset + len` of a buffer of `period`-long blocks at the block
/// boundaries: `f(block, position in the block, start in the run, length)` for each piece.
#[inline(always)]
fn pieces(offset: usize, len: usize, period: usize, mut f: impl FnMut(usize, usize, usize, usize)) {
    let mut done = 0;
    while done < len {
        let at = offset + done;
        let (block, pos) = (at / period, at % period);
        let n = (period - pos).min(len - done);
        f(block, pos, done, n);
        done += n;
    }
}

/// `y = a * sigmoid(b)` for every block of `x` (`outer` blocks of `2 * half`).
pub(crate) fn glu_forward<E: Float>(x: &[E], outer: usize, half: usize) -> Vec<E> {
    assert_eq!(
        x.len(),
        outer * 2 * half,
        "glu: input of {outer} x 2 x {half}"
    );
    if half == 0 {
        return Vec::new();
    }
    // SAFETY: `pieces` covers the whole block, and each piece is written whole.
    unsafe {
        collect_blocks(
            outer * half,
            #[inline(always)]
            |offset, block| {
                pieces(
                    offset,
                    block.len(),
                    half,
                    #[inline(always)]
                    |o, j, start, n| {
                        let (a, b) = x[o * 2 * half..][..2 * half].split_at(half);
                        let (a, b) = (&a[j..][..n], &b[j..][..n]);
                        let y = sigmoid_into(b, &mut block[start..][..n]);
                        for (y, &a) in y.iter_mut().zip(a) {
                            *y *= a;
                        }
                    },
                )
            },
        )
    }
}

/// The gradient of [`glu_forward`]'s input: `gy * s` for `a` and `gy * a * s * (1 - s)` for
/// `b`, `s = sigmoid(b)`, in the input's layout.
pub(crate) fn glu_backward<E: Float>(x: &[E], gy: &[E], outer: usize, half: usize) -> Vec<E> {
    assert_eq!(
        x.len(),
        outer * 2 * half,
        "glu: input of {outer} x 2 x {half}"
    );
    assert_eq!(
        gy.len(),
        outer * half,
        "glu: output gradient of {outer} x {half}"
    );
    if half == 0 {
        return Vec::new();
    }
    // SAFETY: `pieces` covers the whole block, and each piece is written whole.
    unsafe {
        collect_blocks(
            x.len(),
            #[inline(always)]
            |offset, block| {
                pieces(
                    offset,
                    block.len(),
                    2 * half,
                    #[inline(always)]
                    |o, at, start, n| {
                        let (a, b) = x[o * 2 * half..][..2 * half].split_at(half);
                        let g = &gy[o * half..][..half];
                        let dst = &mut block[start..][..n];
                        // A piece may straddle the middle of its block: the part over `a`,
                        // then the part over `b`.
                        let in_a = half.saturating_sub(at).min(n);
                        let (da, db) = dst.split_at_mut(in_a);
                        if in_a > 0 {
                            let s = sigmoid_into(&b[at..][..in_a], da);
                            for (s, &g) in s.iter_mut().zip(&g[at..][..in_a]) {
                                *s *= g;
                            }
                        }
                        if !db.is_empty() {
                            let j = at + in_a - half;
                            let m = db.len();
                            let s = sigmoid_into(&b[j..][..m], db);
                            for ((s, &g), &a) in s.iter_mut().zip(&g[j..][..m]).zip(&a[j..][..m]) {
                                *s = g * a * *s * (E::ONE - *s);
                            }
                        }
                    },
                )
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The output and input gradient by the formula, each with the size of its terms (the
    /// scale of its rounding error: `1 - s` cancels where `s` is near 1, in both precisions
    /// and in PyTorch's kernel alike).
    #[allow(clippy::type_complexity)]
    fn plain(
        x: &[f64],
        gy: &[f64],
        outer: usize,
        half: usize,
    ) -> (Vec<(f64, f64)>, Vec<(f64, f64)>) {
        let s = |v: f64| 1.0 / (1.0 + (-v).exp());
        let mut y = Vec::new();
        let mut gx = vec![(0.0, 0.0); x.len()];
        for o in 0..outer {
            for j in 0..half {
                let (a, b) = (x[o * 2 * half + j], x[o * 2 * half + half + j]);
                let g = gy[o * half + j];
                y.push((a * s(b), 1.0 + a.abs()));
                gx[o * 2 * half + j] = (g * s(b), 1.0 + g.abs());
                gx[o * 2 * half + half + j] = (g * a * s(b) * (1.0 - s(b)), 1.0 + (g * a).abs());
            }
        }
        (y, gx)
    }

    fn close<E: Float>(got: &[E], want: &[(f64, f64)], tol: f64) -> bool {
        got.len() == want.len()
            && got
                .iter()
                .zip(want)
                .all(|(g, (w, scale))| (g.to_f64() - w).abs() <= tol * scale)
    }

    /// Against the formula, for blocks long and short, split over the threads or not, in
    /// both precisions.
    #[test]
    fn glu_matches_the_formula() {
        for (outer, half) in [(1, 1), (3, 5), (7, 33), (2, 40_000), (40_000, 3)] {
            let x: Vec<f64> = (0..outer * 2 * half)
                .map(|i| ((i * 7919) % 1013) as f64 / 97.0 - 5.0)
                .collect();
            let gy: Vec<f64> = (0..outer * half)
                .map(|i| (i % 211) as f64 * 0.1 - 10.0)
                .collect();
            let (want_y, want_gx) = plain(&x, &gy, outer, half);
            assert!(close(&glu_forward(&x, outer, half), &want_y, 1e-15));
            assert!(close(&glu_backward(&x, &gy, outer, half), &want_gx, 1e-15));
            let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            let gy32: Vec<f32> = gy.iter().map(|&v| v as f32).collect();
            let (want_y, want_gx) = plain(
                &x32.iter().map(|&v| v as f64).collect::<Vec<_>>(),
                &gy32.iter().map(|&v| v as f64).collect::<Vec<_>>(),
                outer,
                half,
            );
            assert!(close(&glu_forward(&x32, outer, half), &want_y, 1e-6));
            assert!(close(
                &glu_backward(&x32, &gy32, outer, half),
                &want_gx,
                1e-6
            ));
        }
    }
}
