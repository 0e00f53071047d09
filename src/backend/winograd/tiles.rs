//! The loops over a band's tiles: rows split into phases, the transforms along and down
//! them (one pass along the whole band each), and the outputs stored back.

use super::transforms::{grad_1d, input_1d, output_1d};
use super::{M, POS, Plan, Store, T};
use crate::dtype::Float;

/// `V` for the band, per input channel. Column `2 t + b` of the four input rows `2 ty + a`
/// of band row `r` goes to `phases[b][a][r * np + t]` (zeros outside the plane), so that
/// tile `(r, t)`'s four values along a row are phases at `r * np + t` and one further, and
/// each transform is one pass along the whole band (`np = tiles_x + 1` per tile row: a
/// spare tile each, whose values are never stored).
#[inline(always)]
pub(super) fn input_band<E: Float>(
    xs: &[E],
    plan: &Plan,
    rows: core::ops::Range<usize>,
    phases: &mut [E],
    along: &mut [E],
    v: &mut [E],
) {
    let (np, cols) = (plan.phase_len(), plan.band_cols(rows.len()));
    let phased = plan.phased_len(rows.len());
    let (h, w) = (plan.h, plan.w);
    let (in_len, plane_len) = (plan.c * h * w, h * w);
    for ch in 0..plan.c {
        for (r, tile_row) in rows.clone().enumerate() {
            let (sample, ty) = (tile_row / plan.tiles_y, tile_row % plan.tiles_y);
            let plane = &xs[sample * in_len + ch * plane_len..][..plane_len];
            for a in 0..T {
                let y = (M * ty + a).checked_sub(plan.ph).filter(|&y| y < h);
                let row = y.map_or(&[][..], |y| &plane[y * w..][..w]);
                let at = a * phased + r * np;
                split_phases(row, plan.pw, &mut phases[at..], T * phased, np);
            }
        }
        // Along each row `a`: the four column values of tile `(r, t)` are
        // `phases[0..2][a][r np + t]` and `phases[0..2][a][r np + t + 1]`.
        for a in 0..T {
            let p: [&[E]; M] = core::array::from_fn(|b| &phases[(b * T + a) * phased..]);
            let src = [p[0], p[1], &p[0][1..], &p[1][1..]];
            let dst = rows_mut::<E, T>(&mut along[a * phased..], T * phased);
            map_rows(src, dst, cols, input_1d);
        }
        // Down the columns: `along[j][a]` for the four rows `a`; `V`'s positions are
        // `j * 4 + i`.
        let vc = &mut v[ch * POS * cols..][..POS * cols];
        for j in 0..T {
            let src: [&[E]; T] = core::array::from_fn(|a| &along[(j * T + a) * phased..]);
            map_rows(
                src,
                rows_mut::<E, T>(&mut vc[j * T * cols..], cols),
                cols,
                input_1d,
            );
        }
    }
}

/// `Z = A gy A^T` for every output channel and tile of the band, laid out as `V`
/// (`[out][position j * 4 + i][r * np + t]`); outputs past the plane's edge (and the spare
/// tile of each row) count as zeros.
#[inline(always)]
pub(super) fn grad_band<E: Float>(
    gys: &[E],
    plan: &Plan,
    rows: core::ops::Range<usize>,
    scratch: &mut [E],
    z: &mut [E],
) {
    let (np, cols) = (plan.phase_len(), plan.band_cols(rows.len()));
    let phased = plan.phased_len(rows.len());
    let (oh, ow) = (plan.oh, plan.ow);
    let out_len = plan.o * oh * ow;
    // phases[l][k][r np + t] = gy(2 ty + k, 2 t + l); along[j][k] its transform along rows.
    let (phases, rest) = scratch.split_at_mut(M * M * phased);
    let along = &mut rest[..T * M * phased];
    for oc in 0..plan.o {
        for (r, tile_row) in rows.clone().enumerate() {
            let (sample, ty) = (tile_row / plan.tiles_y, tile_row % plan.tiles_y);
            let plane = &gys[sample * out_len + oc * oh * ow..][..oh * ow];
            for k in 0..M {
                let y = Some(M * ty + k).filter(|&y| y < oh);
                let row = y.map_or(&[][..], |y| &plane[y * ow..][..ow]);
                split_phases(row, 0, &mut phases[k * phased + r * np..], M * phased, np);
            }
        }
        for k in 0..M {
            let (g0, g1) = (&phases[k * phased..], &phases[(M + k) * phased..]);
            let dst = rows_mut::<E, T>(&mut along[k * phased..], M * phased);
            map_rows([g0, g1, g0, g1], dst, cols, |v| grad_1d(v[0], v[1]));
        }
        let zo = &mut z[oc * POS * cols..][..POS * cols];
        for j in 0..T {
            let (g0, g1) = (&along[(j * M) * phased..], &along[(j * M + 1) * phased..]);
            let dst = rows_mut::<E, T>(&mut zo[j * T * cols..], cols);
            map_rows([g0, g1, g0, g1], dst, cols, |v| grad_1d(v[0], v[1]));
        }
    }
}

/// The band's outputs from `M` (positions `j * 4 + i`, columns `r * np + t`), per output
/// channel: `A^T` down the columns (into `stage`, `[j][k]`), then along the rows with the
/// bias (into `ready`, `[k][l]`), then phase `l` of output row `2 ty + k` of band row `r`
/// stored at columns `2 t + l`; positions past the plane's edge are dropped.
#[inline(always)]
pub(super) fn output_band<E: Float, S: Store<E>>(
    m: &[E],
    bias: Option<&[E]>,
    plan: &Plan,
    rows: core::ops::Range<usize>,
    scratch: &mut [E],
    ys: &mut [S],
) {
    let (tx, np, cols) = (plan.tiles_x, plan.phase_len(), plan.band_cols(rows.len()));
    let (oh, ow) = (plan.oh, plan.ow);
    let out_len = plan.o * oh * ow;
    let (stage, ready) = scratch.split_at_mut(T * M * cols);
    let ready = &mut ready[..M * M * cols];
    for oc in 0..plan.o {
        let mo = &m[oc * POS * cols..][..POS * cols];
        let b = bias.map_or(E::ZERO, |b| b[oc]);
        for j in 0..T {
            let src: [&[E]; T] = core::array::from_fn(|i| &mo[(j * T + i) * cols..][..cols]);
            map_rows(
                src,
                rows_mut::<E, M>(&mut stage[j * M * cols..], cols),
                cols,
                output_1d,
            );
        }
        for k in 0..M {
            let src: [&[E]; T] = core::array::from_fn(|j| &stage[(j * M + k) * cols..][..cols]);
            let dst = rows_mut::<E, M>(&mut ready[k * M * cols..], cols);
            map_rows(src, dst, cols, |m| output_1d(m).map(|v| v + b));
        }
        for (r, tile_row) in rows.clone().enumerate() {
            let (sample, ty) = (tile_row / plan.tiles_y, tile_row % plan.tiles_y);
            let plane = &mut ys[sample * out_len + oc * oh * ow..][..oh * ow];
            let top = ty * M;
            for k in 0..M.min(oh - top) {
                let out_row = &mut plane[(top + k) * ow..][..ow];
                let p: [&[E]; M] =
                    core::array::from_fn(|l| &ready[(k * M + l) * cols + r * np..][..tx]);
                let (p0, p1) = (p[0], p[1]);
                let whole = ow / M;
                for (t, c) in out_row.chunks_exact_mut(M).enumerate().take(whole) {
                    c[0].store(p0[t]);
                    c[1].store(p1[t]);
                }
                for (l, slot) in out_row[whole * M..].iter_mut().enumerate() {
                    slot.store(p[l][whole]);
                }
            }
        }
    }
}

/// `dst[k][q] = f(src[0][q], .., src[3][q])[k]` for `q < len`.
#[inline(always)]
pub(super) fn map_rows<E: Float, const K: usize>(
    src: [&[E]; T],
    dst: [&mut [E]; K],
    len: usize,
    f: impl Fn([E; T]) -> [E; K],
) {
    let mut dst = dst.into_iter();
    let mut next = || dst.next().unwrap_or_default();
    let (d0, d1) = (next(), next());
    let widen = |v| {
        let e = f(v);
        core::array::from_fn(|k| e[k.min(K - 1)])
    };
    if K == T {
        map_to_4(len, src, d0, d1, next(), next(), widen);
    } else {
        map_to_2(len, src, d0, d1, widen);
    }
}

/// [`map_rows`] into two rows. The rows are separate arguments so that the compiler knows
/// they do not overlap each other or the sources (through an array of slices it could not
/// tell, and the loop stayed scalar).
#[inline(always)]
pub(super) fn map_to_2<E: Float>(
    len: usize,
    src: [&[E]; T],
    d0: &mut [E],
    d1: &mut [E],
    f: impl Fn([E; T]) -> [E; T],
) {
    let [s0, s1, s2, s3] = src.map(|s| &s[..len]);
    let (d0, d1) = (&mut d0[..len], &mut d1[..len]);
    for q in 0..len {
        let e = f([s0[q], s1[q], s2[q], s3[q]]);
        d0[q] = e[0];
        d1[q] = e[1];
    }
}

/// [`map_rows`] into four rows (see [`map_to_2`]).
#[inline(always)]
pub(super) fn map_to_4<E: Float>(
    len: usize,
    src: [&[E]; T],
    d0: &mut [E],
    d1: &mut [E],
    d2: &mut [E],
    d3: &mut [E],
    f: impl Fn([E; T]) -> [E; T],
) {
    let [s0, s1, s2, s3] = src.map(|s| &s[..len]);
    let (d0, d1) = (&mut d0[..len], &mut d1[..len]);
    let (d2, d3) = (&mut d2[..len], &mut d3[..len]);
    for q in 0..len {
        let e = f([s0[q], s1[q], s2[q], s3[q]]);
        d0[q] = e[0];
        d1[q] = e[1];
        d2[q] = e[2];
        d3[q] = e[3];
    }
}

/// The first `K` runs of `len` of `s`, each mutable (the last may be cut short by the
/// end of `s`: the callers slice what they use).
#[inline(always)]
pub(super) fn rows_mut<E, const K: usize>(mut s: &mut [E], len: usize) -> [&mut [E]; K] {
    core::array::from_fn(|_| {
        let rest = core::mem::take(&mut s);
        let (head, tail) = rest.split_at_mut(len.min(rest.len()));
        s = tail;
        head
    })
}

/// The padded row `row` (left padding `pw`, zeros past either end) as two phases of `np`,
/// `stride` apart in `dst`: `dst[b * stride + t] = padded[2 t + b]`.
#[inline(always)]
pub(super) fn split_phases<E: Float>(
    row: &[E],
    pw: usize,
    dst: &mut [E],
    stride: usize,
    np: usize,
) {
    let (d0, rest) = dst.split_at_mut(stride);
    split_into(row, pw, &mut d0[..np], &mut rest[..np]);
}

/// [`split_phases`] into two separate phases of the same length.
#[inline(always)]
pub(super) fn split_into<E: Float>(row: &[E], pw: usize, d0: &mut [E], d1: &mut [E]) {
    let np = d0.len();
    let d1 = &mut d1[..np];
    d0.fill(E::ZERO);
    d1.fill(E::ZERO);
    // Padded index `q = col + pw` goes to phase `q % 2`, slot `q / 2` (when inside).
    let mut place = |col: usize, v: E| {
        let q = col + pw;
        if q < M * np {
            let slot = if q.is_multiple_of(M) {
                &mut d0[q / M]
            } else {
                &mut d1[q / M]
            };
            *slot = v;
        }
    };
    // A value before the first even padded index alone, then pairs (one per phase), then
    // the rest one by one.
    let head = (pw % M).min(row.len());
    for (col, &v) in row[..head].iter().enumerate() {
        place(col, v);
    }
    let first = (head + pw) / M;
    let pairs = ((row.len() - head) / M).min(np.saturating_sub(first));
    let tail = head + pairs * M;
    for (col, &v) in row.iter().enumerate().skip(tail) {
        place(col, v);
    }
    let body = &row[head..tail];
    let (e0, e1) = (&mut d0[first..][..pairs], &mut d1[first..][..pairs]);
    for (t, c) in body.chunks_exact(M).enumerate() {
        e0[t] = c[0];
        e1[t] = c[1];
    }
}
