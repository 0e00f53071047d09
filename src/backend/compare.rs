//! Comparisons (as 0/1 values) and elementwise selection with PyTorch broadcasting.

use super::broadcast::{broadcast_to, sum_to_shape};
use super::parallel::{collect_blocks, for_zipped_blocks};
use super::simd::wide;
use crate::dtype::Float;
use core::mem::{size_of, transmute_copy};

fn flag<E: Float>(b: bool) -> E {
    if b { E::ONE } else { E::ZERO }
}

/// `out[i] = 1` where `f(a[ia], b[ib])` holds over the broadcast shape, else `0`.
pub(crate) fn compare<E: Float>(
    a: &[E],
    a_dims: &[usize],
    b: &[E],
    b_dims: &[usize],
    out_dims: &[usize],
    f: impl Fn(E, E) -> bool + Sync,
) -> Vec<E> {
    wide(
        #[inline(always)]
        || super::broadcast::binary_map(a, a_dims, b, b_dims, out_dims, |x, y| flag(f(x, y))),
    )
}

/// `out[i] = 1` where `f(x[i])` holds, else `0`.
pub(crate) fn compare_scalar<E: Float>(x: &[E], f: impl Fn(E) -> bool) -> Vec<E> {
    wide(
        #[inline(always)]
        || x.iter().map(|&v| flag(f(v))).collect(),
    )
}

/// Whether each element of the broadcast shape takes its value from the first operand:
/// the condition (shaped `cond_dims`) is nonzero there. NaN counts as true, as in PyTorch's
/// conversion to bool. A broadcast condition is first read out row by row
/// ([`broadcast_to`]); the test is one vector loop.
pub(crate) fn mask<E: Float>(cond: &[E], cond_dims: &[usize], out_dims: &[usize]) -> Vec<bool> {
    let numel: usize = out_dims.iter().product();
    let spread;
    let cond = if cond.len() == numel {
        cond
    } else {
        spread = broadcast_to(cond, cond_dims, out_dims);
        &spread[..]
    };
    wide(
        #[inline(always)]
        || cond.iter().map(|&c| c != E::ZERO).collect(),
    )
}

/// One operand of [`select`] as the loops read it: the whole output's worth of values, or
/// one value for every element (a scalar, as `masked_fill`'s).
#[derive(Clone, Copy)]
enum Operand<'a, E> {
    Full(&'a [E]),
    Value(E),
}

/// `x` as an [`Operand`] of an output of `numel` elements: itself when it has the output's
/// size, its value when it is one element, else its broadcast into `spread`.
fn operand<'a, E: Float>(
    x: &'a [E],
    dims: &[usize],
    out_dims: &[usize],
    numel: usize,
    spread: &'a mut Vec<E>,
) -> Operand<'a, E> {
    if x.len() == numel {
        Operand::Full(&x[..numel])
    } else if x.len() == 1 {
        Operand::Value(x[0])
    } else {
        *spread = broadcast_to(x, dims, out_dims);
        Operand::Full(&spread[..])
    }
}

/// `if take_a { a } else { b }` on the bits: written as a select of two loaded values, the
/// loop was compiled into a select of the two addresses and a gather from them (`where` over
/// 2 MiB of f32: 267 us on one thread, 80 with one side a scalar).
#[inline(always)]
fn blend<E: Float>(take_a: bool, a: E, b: E) -> E {
    if size_of::<E>() == 4 {
        let m = 0u32.wrapping_sub(u32::from(take_a));
        // SAFETY: `E` is 4 bytes wide, `f32` (`Float` is sealed: `f32` and `f64`), and any
        // bits are a valid `u32`; the blended bits are those of `a` or `b`.
        unsafe {
            let (x, y): (u32, u32) = (transmute_copy(&a), transmute_copy(&b));
            transmute_copy(&((x & m) | (y & !m)))
        }
    } else if size_of::<E>() == 8 {
        let m = 0u64.wrapping_sub(u64::from(take_a));
        // SAFETY: as above, for the 8-byte `f64`.
        unsafe {
            let (x, y): (u64, u64) = (transmute_copy(&a), transmute_copy(&b));
            transmute_copy(&((x & m) | (y & !m)))
        }
    } else if take_a {
        a
    } else {
        b
    }
}

/// `out[i] = mask[i] ? a[ia] : b[ib]` over the broadcast shape: one select loop per block
/// over the threads (each element through the broadcast index walk took 990 us for 2 MiB of
/// f32 on one thread, PyTorch's 300).
pub(crate) fn select<E: Float>(
    mask: &[bool],
    a: &[E],
    a_dims: &[usize],
    b: &[E],
    b_dims: &[usize],
    out_dims: &[usize],
) -> Vec<E> {
    let n = mask.len();
    let (mut spread_a, mut spread_b) = (Vec::new(), Vec::new());
    let a = operand(a, a_dims, out_dims, n, &mut spread_a);
    let b = operand(b, b_dims, out_dims, n, &mut spread_b);
    // SAFETY: every arm writes each slot of its block once: the mask and the full operands
    // are sliced to exactly the block's length (a short one panics before anything is read).
    unsafe {
        collect_blocks(
            n,
            #[inline(always)]
            |off, block| {
                let len = block.len();
                let m = &mask[off..][..len];
                match (a, b) {
                    (Operand::Full(a), Operand::Full(b)) => {
                        let (a, b) = (&a[off..][..len], &b[off..][..len]);
                        for (((o, &mi), &ai), &bi) in block.iter_mut().zip(m).zip(a).zip(b) {
                            o.write(blend(mi, ai, bi));
                        }
                    }
                    (Operand::Full(a), Operand::Value(bv)) => {
                        for ((o, &mi), &ai) in block.iter_mut().zip(m).zip(&a[off..][..len]) {
                            o.write(if mi { ai } else { bv });
                        }
                    }
                    (Operand::Value(av), Operand::Full(b)) => {
                        for ((o, &mi), &bi) in block.iter_mut().zip(m).zip(&b[off..][..len]) {
                            o.write(if mi { av } else { bi });
                        }
                    }
                    (Operand::Value(av), Operand::Value(bv)) => {
                        for (o, &mi) in block.iter_mut().zip(m) {
                            o.write(if mi { av } else { bv });
                        }
                    }
                }
            },
        )
    }
}

/// The backward of [`select`] for one operand: adds `g[i]` into `acc[i_in]` wherever that
/// operand was chosen (`mask[i] == pick`), summed over broadcast dimensions (the masked
/// gradient, then [`sum_to_shape`]).
pub(crate) fn select_backward<E: Float>(
    acc: &mut [E],
    acc_dims: &[usize],
    g: &[E],
    mask: &[bool],
    pick: bool,
    out_dims: &[usize],
) {
    let n = mask.len();
    if acc.len() == n {
        for_zipped_blocks(
            [&mut acc[..n]],
            #[inline(always)]
            |off, [acc]| {
                let len = acc.len();
                let (g, m) = (&g[off..][..len], &mask[off..][..len]);
                for ((a, &gi), &mi) in acc.iter_mut().zip(g).zip(m) {
                    *a += if mi == pick { gi } else { E::ZERO };
                }
            },
        );
        return;
    }
    sum_to_shape(acc, acc_dims, &masked_grad(g, mask, pick), out_dims);
}

/// `g` where `mask` is `pick`, zero elsewhere, as a new buffer: the gradient of a
/// [`select`] input of the output's shape that has none yet (written once, instead of
/// [`select_backward`] adding into zeros), or the one to be summed to a broadcast input's.
pub(crate) fn masked_grad<E: Float>(g: &[E], mask: &[bool], pick: bool) -> Vec<E> {
    // SAFETY: each slot of the block is written once (inputs sliced to the block's length).
    unsafe {
        collect_blocks(
            mask.len(),
            #[inline(always)]
            |off, block| {
                let len = block.len();
                let (g, m) = (&g[off..][..len], &mask[off..][..len]);
                for ((o, &gi), &mi) in block.iter_mut().zip(g).zip(m) {
                    o.write(if mi == pick { gi } else { E::ZERO });
                }
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::broadcast::{broadcast_strides, for_each_broadcast2};

    fn numel(dims: &[usize]) -> usize {
        dims.iter().product()
    }

    /// `where` and both its gradients against the element-by-element broadcast walk: same
    /// shapes, a scalar on either side, a condition or an operand broadcast over leading,
    /// middle and last dimensions, and an output long enough to be split over the threads.
    #[test]
    fn select_matches_the_index_walk() {
        let cases: [(&[usize], &[usize], &[usize]); 8] = [
            (&[4, 6], &[4, 6], &[4, 6]),
            (&[4, 6], &[4, 6], &[]),
            (&[4, 6], &[1], &[4, 6]),
            (&[6], &[3, 4, 6], &[3, 4, 6]),
            (&[3, 1, 6], &[3, 4, 6], &[4, 1]),
            (&[1, 4, 1], &[2, 4, 5], &[5]),
            (&[300, 1], &[300, 257], &[]),
            (&[257], &[300, 257], &[300, 257]),
        ];
        for (cd, ad, bd) in cases {
            let mut od = vec![1usize; cd.len().max(ad.len()).max(bd.len())];
            for dims in [cd, ad, bd] {
                for (o, &d) in od.iter_mut().rev().zip(dims.iter().rev()) {
                    *o = (*o).max(d);
                }
            }
            let n = numel(&od);
            let cond: Vec<f32> = (0..numel(cd).max(1))
                .map(|i| {
                    if i % 3 == 0 {
                        0.0
                    } else if i % 7 == 0 {
                        f32::NAN
                    } else {
                        2.0
                    }
                })
                .collect();
            let a: Vec<f32> = (0..numel(ad).max(1)).map(|i| i as f32).collect();
            let b: Vec<f32> = (0..numel(bd).max(1)).map(|i| -(i as f32) - 0.5).collect();
            let g: Vec<f32> = (0..n).map(|i| (i % 13) as f32 - 6.0).collect();
            let m = mask(&cond, cd, &od);
            let y = select(&m, &a, ad, &b, bd, &od);
            let (sc, sa, sb) = (
                broadcast_strides(cd, &od),
                broadcast_strides(ad, &od),
                broadcast_strides(bd, &od),
            );
            let mut want_m = vec![false; n];
            for_each_broadcast2(&od, &sc, &sc, |i, ic, _| want_m[i] = cond[ic] != 0.0);
            assert_eq!(m, want_m, "{cd:?} {ad:?} {bd:?}: mask");
            let mut want_y = vec![0.0; n];
            let (mut want_ga, mut want_gb) = (vec![0.5; a.len()], vec![0.5; b.len()]);
            for_each_broadcast2(&od, &sa, &sb, |i, ia, ib| {
                want_y[i] = if want_m[i] { a[ia] } else { b[ib] };
                if want_m[i] {
                    want_ga[ia] += g[i];
                } else {
                    want_gb[ib] += g[i];
                }
            });
            assert_eq!(y, want_y, "{cd:?} {ad:?} {bd:?}: values");
            let wide64 = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<f64>>();
            let y64 = select(&m, &wide64(&a), ad, &wide64(&b), bd, &od);
            assert_eq!(y64, wide64(&want_y), "{cd:?} {ad:?} {bd:?}: f64 values");
            let (mut ga, mut gb) = (vec![0.5; a.len()], vec![0.5; b.len()]);
            select_backward(&mut ga, ad, &g, &m, true, &od);
            select_backward(&mut gb, bd, &g, &m, false, &od);
            assert_eq!(ga, want_ga, "{cd:?} {ad:?} {bd:?}: first gradient");
            assert_eq!(gb, want_gb, "{cd:?} {ad:?} {bd:?}: second gradient");
        }
    }

    /// Empty outputs (a zero-length dimension, with operands broadcast or scalar) give empty
    /// results and add nothing.
    #[test]
    fn empty_outputs_select_nothing() {
        let od = [3usize, 0];
        let m = mask(&[1.0f32], &[], &od);
        assert!(m.is_empty());
        assert!(select(&m, &[2.0f32], &[], &[], &[1, 0], &od).is_empty());
        let mut acc = vec![1.0f32];
        select_backward(&mut acc, &[], &[], &m, true, &od);
        assert_eq!(acc, [1.0]);
    }
}
