//! Unfolding convolution inputs (im2col) and folding them back (col2im), in the layouts the
//! convolution kernels in [`super::conv`] multiply with gemm.

use super::simd::wide;
use crate::dtype::Float;
use core::mem::MaybeUninit;

/// One sample's convolution geometry: `c` input planes of `h x w`, a `kh x kw` kernel with
/// stride, padding and dilation, and the `oh x ow` output grid (the caller computes it, so
/// that a transposed convolution can pass the exact size its output padding asks for).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConvGeom {
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub kh: usize,
    pub kw: usize,
    pub sh: usize,
    pub sw: usize,
    pub ph: usize,
    pub pw: usize,
    pub dh: usize,
    pub dw: usize,
    pub oh: usize,
    pub ow: usize,
}

impl ConvGeom {
    /// Rows of the unfolded input: one per (channel, kernel row, kernel column).
    pub fn col_rows(&self) -> usize {
        self.c * self.kh * self.kw
    }
    /// Columns of the unfolded input: one per output position.
    pub fn col_cols(&self) -> usize {
        self.oh * self.ow
    }
    /// A 1x1 kernel with unit stride and no padding unfolds to the input itself.
    pub(super) fn is_pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.sh == 1 && self.sw == 1 && self.ph == 0 && self.pw == 0
    }
    /// Unit stride and dilation, no padding, kernel larger than 1x1: the case unfolded in
    /// "wide rows" (see [`im2col_wide`]).
    pub(super) fn unfolds_wide(&self) -> bool {
        !self.is_pointwise()
            && (self.sh, self.sw, self.ph, self.pw, self.dh, self.dw) == (1, 1, 0, 0, 1, 1)
            && self.oh > 0
            && self.ow > 0
    }
    /// Columns of the wide unfolding: every output row padded to the input width.
    pub(super) fn wide_cols(&self) -> usize {
        self.oh * self.w
    }
}

/// [`im2col`] for [`ConvGeom::unfolds_wide`] geometries, with each output row widened to the
/// input width `w`: row `(c, i, j)` of `cols` (`oh * w` long) is then one contiguous run of
/// the input plane, from `(i, j)` on, so the unfolding is `c * kh * kw` long copies instead
/// of `oh` short ones each. Entries in the `w - ow` extra columns of every row hold
/// neighbouring inputs (or zeros past the plane); products over them are dropped by
/// [`narrow_rows`], and their gradients are zero, so [`col2im_wide`] may add them back.
pub(super) fn im2col_wide<E: Float>(x: &[E], g: &ConvGeom, cols: &mut [E]) {
    let (hw, len) = (g.h * g.w, g.wide_cols());
    wide(
        #[inline(always)]
        || {
            for c in 0..g.c {
                let plane = &x[c * hw..][..hw];
                for i in 0..g.kh {
                    for j in 0..g.kw {
                        let row = &mut cols[((c * g.kh + i) * g.kw + j) * len..][..len];
                        let start = i * g.w + j;
                        let n = len.min(hw - start);
                        copy_row(&mut row[..n], &plane[start..start + n]);
                        row[n..].fill(E::ZERO);
                    }
                }
            }
        },
    )
}

/// The adjoint of [`im2col_wide`]: adds each wide row back onto its run of the input
/// (`x += fold(cols)`); requires zero gradients in the extra columns.
pub(super) fn col2im_wide<E: Float>(cols: &[E], g: &ConvGeom, x: &mut [E]) {
    let (hw, len) = (g.h * g.w, g.wide_cols());
    wide(
        #[inline(always)]
        || {
            for c in 0..g.c {
                let plane = &mut x[c * hw..][..hw];
                for i in 0..g.kh {
                    for j in 0..g.kw {
                        let row = &cols[((c * g.kh + i) * g.kw + j) * len..][..len];
                        let start = i * g.w + j;
                        let n = len.min(hw - start);
                        let dst = &mut plane[start..start + n];
                        dst.iter_mut().zip(&row[..n]).for_each(|(d, &v)| *d += v);
                    }
                }
            }
        },
    )
}

/// Copies the `oh x ow` outputs out of `oh x w` wide rows of each of `planes` planes, plus
/// `bias[plane]` when given (the product then need not start from the bias rows), writing
/// every element of `out`'s first `planes` planes (which may be uninitialised).
pub(super) fn narrow_rows<E: Float>(
    wide_rows: &[E],
    g: &ConvGeom,
    planes: usize,
    bias: Option<&[E]>,
    out: &mut [MaybeUninit<E>],
) {
    let (len, p) = (g.wide_cols(), g.col_cols());
    let planes_of = || wide_rows.chunks_exact(len).take(planes).enumerate();
    wide(
        #[inline(always)]
        || match bias {
            Some(bias) => {
                for ((plane, src), dst) in planes_of().zip(out.chunks_exact_mut(p)) {
                    for (s, d) in src.chunks_exact(g.w).zip(dst.chunks_exact_mut(g.ow)) {
                        copy_row_with(d, &s[..g.ow], bias[plane]);
                    }
                }
            }
            None => {
                // SAFETY: `MaybeUninit<E>` has `E`'s layout, and initialised values are
                // valid `MaybeUninit`s; the slice is only read.
                let wide_rows: &[MaybeUninit<E>] =
                    unsafe { &*(wide_rows as *const [E] as *const [MaybeUninit<E>]) };
                for (src, dst) in wide_rows
                    .chunks_exact(len)
                    .zip(out.chunks_exact_mut(p))
                    .take(planes)
                {
                    for (s, d) in src.chunks_exact(g.w).zip(dst.chunks_exact_mut(g.ow)) {
                        copy_row(d, &s[..g.ow]);
                    }
                }
            }
        },
    )
}

/// The inverse layout of [`narrow_rows`]: `oh x ow` planes into `oh x w` rows. Only the
/// first `ow` columns of each row are written: the extra columns of `out` must be zero
/// already (a buffer zeroed once and only ever written here).
pub(super) fn widen_rows<E: Float>(narrow: &[E], g: &ConvGeom, planes: usize, out: &mut [E]) {
    let (len, p) = (g.wide_cols(), g.col_cols());
    wide(
        #[inline(always)]
        || {
            for (src, dst) in narrow
                .chunks_exact(p)
                .zip(out.chunks_exact_mut(len))
                .take(planes)
            {
                for (s, d) in src.chunks_exact(g.ow).zip(dst.chunks_exact_mut(g.w)) {
                    copy_row(&mut d[..g.ow], s);
                }
            }
        },
    )
}

/// [`copy_row`] adding `add` to every value, into a possibly uninitialised row.
#[inline(always)]
fn copy_row_with<E: Float>(dst: &mut [MaybeUninit<E>], src: &[E], add: E) {
    const CHUNK: usize = 8;
    let n = dst.len();
    assert_eq!(n, src.len(), "copy_row_with lengths");
    if n < CHUNK {
        for (d, &s) in dst.iter_mut().zip(src) {
            d.write(s + add);
        }
        return;
    }
    // Eight sums into a local array, then stored: written straight into the row through
    // `MaybeUninit::write` the adds were left scalar in some builds of the crate (8 `vaddss`
    // per chunk: W3's forward narrowing, 1t step 1.97 -> 2.10 ms after an unrelated change).
    let put = |d: &mut [MaybeUninit<E>], s: &[E]| {
        let s: &[E; CHUNK] = s.try_into().expect("a chunk of 8");
        let sums: [E; CHUNK] = core::array::from_fn(|j| s[j] + add);
        super::elementwise::opaque_to_memory();
        for (d, v) in d.iter_mut().zip(sums) {
            d.write(v);
        }
    };
    let mut k = 0;
    while k + CHUNK < n {
        put(&mut dst[k..k + CHUNK], &src[k..k + CHUNK]);
        k += CHUNK;
    }
    put(&mut dst[n - CHUNK..], &src[n - CHUNK..]);
}

/// `dst.copy_from_slice(src)` for the short rows of a CNN's planes (5 to 30 values, or the
/// few hundred of a wide unfolding's row), in fixed moves of 8 values (the last one
/// overlapping the one before) instead of a call into the C library's `memcpy` per row,
/// which cost more than the copy itself.
#[inline(always)]
pub(super) fn copy_row<E: Copy>(dst: &mut [E], src: &[E]) {
    const CHUNK: usize = 8;
    let n = dst.len();
    assert_eq!(n, src.len(), "copy_row lengths");
    if n < CHUNK {
        for (d, s) in dst.iter_mut().zip(src) {
            *d = *s;
        }
        return;
    }
    let mut k = 0;
    while k + CHUNK < n {
        dst[k..k + CHUNK].copy_from_slice(&src[k..k + CHUNK]);
        k += CHUNK;
    }
    dst[n - CHUNK..].copy_from_slice(&src[n - CHUNK..]);
}

/// The outputs `o` in `0..out` whose input index `o*stride + offset` falls in `0..len`.
#[inline]
pub(super) fn valid_range(out: usize, stride: usize, offset: isize, len: usize) -> (usize, usize) {
    let s = stride as isize;
    let lo = if offset >= 0 {
        0
    } else {
        (-offset + s - 1) / s
    };
    let end = len as isize - offset;
    let hi = if end <= 0 { 0 } else { (end + s - 1) / s };
    let lo = (lo as usize).min(out);
    (lo, (hi as usize).clamp(lo, out))
}

/// Unfolds one sample `x` (`c x h x w`) into `cols` (`col_rows x col_cols`), writing zeros
/// where the kernel reads padding, so `cols` needs no clearing beforehand.
pub(crate) fn im2col<E: Float>(x: &[E], g: &ConvGeom, cols: &mut [E]) {
    im2col_rows(x, g, 0..g.oh, cols);
}

/// The output rows `rows` of [`im2col`]'s unfolding, as a `col_rows x (rows.len() * ow)`
/// matrix in `cols`: a block of output positions whose unfolding stays in cache for the
/// product that reads it.
pub(super) fn im2col_rows<E: Float>(
    x: &[E],
    g: &ConvGeom,
    rows: core::ops::Range<usize>,
    cols: &mut [E],
) {
    wide(
        #[inline(always)]
        || {
            let (r0, r1) = (rows.start, rows.end);
            let width = (r1 - r0) * g.ow;
            for c in 0..g.c {
                let plane = &x[c * g.h * g.w..][..g.h * g.w];
                for i in 0..g.kh {
                    let off_y = (i * g.dh) as isize - g.ph as isize;
                    let (y0, y1) = valid_range(g.oh, g.sh, off_y, g.h);
                    let (y0, y1) = (y0.clamp(r0, r1), y1.clamp(r0, r1));
                    for j in 0..g.kw {
                        let off_x = (j * g.dw) as isize - g.pw as isize;
                        let (x0, x1) = valid_range(g.ow, g.sw, off_x, g.w);
                        let row = &mut cols[((c * g.kh + i) * g.kw + j) * width..][..width];
                        row[..(y0 - r0) * g.ow].fill(E::ZERO);
                        row[(y1.max(y0) - r0) * g.ow..].fill(E::ZERO);
                        for oy in y0..y1 {
                            let iy = (oy * g.sh) as isize + off_y;
                            let src = &plane[iy as usize * g.w..][..g.w];
                            let dst = &mut row[(oy - r0) * g.ow..][..g.ow];
                            dst[..x0].fill(E::ZERO);
                            dst[x1.max(x0)..].fill(E::ZERO);
                            if x1 > x0 {
                                let start = ((x0 * g.sw) as isize + off_x) as usize;
                                gather_strided(&mut dst[x0..x1], &src[start..], g.sw);
                            }
                        }
                    }
                }
            }
        },
    )
}

/// `dst[k] = src[k * stride]`, without `step_by`, which the compiler turns into a loop with
/// a bounds check per element.
#[inline(always)]
pub(super) fn gather_strided<E: Float>(dst: &mut [E], src: &[E], stride: usize) {
    let n = dst.len();
    if n == 0 {
        return;
    }
    match stride {
        1 => dst.copy_from_slice(&src[..n]),
        // The common pooling and downsampling stride, through pairs so the loop vectorises
        // (`src[2 k]` kept a bounds check per element and stayed scalar: 20% of a stride-2
        // convolution's forward pass).
        2 => {
            let src = &src[..2 * n - 1];
            let pairs = src.chunks_exact(2);
            let whole = pairs.len();
            for (d, pair) in dst[..whole].iter_mut().zip(pairs) {
                *d = pair[0];
            }
            for (k, d) in dst.iter_mut().enumerate().skip(whole) {
                *d = src[2 * k];
            }
        }
        _ => {
            for (d, c) in dst.iter_mut().zip(src.chunks(stride)) {
                *d = c[0];
            }
        }
    }
}

/// The adjoint of [`im2col`]: adds every column entry back onto the input element it was
/// read from (`x += fold(cols)`); padding entries are dropped.
pub(crate) fn col2im<E: Float>(cols: &[E], g: &ConvGeom, x: &mut [E]) {
    col2im_rows(cols, g, 0..g.oh, x);
}

/// The adjoint of [`im2col_rows`]: adds the unfolding of output rows `rows` (a `col_rows x
/// (rows.len() * ow)` matrix) back onto the input elements it was read from.
pub(super) fn col2im_rows<E: Float>(
    cols: &[E],
    g: &ConvGeom,
    rows: core::ops::Range<usize>,
    x: &mut [E],
) {
    wide(
        #[inline(always)]
        || {
            let (r0, r1) = (rows.start, rows.end);
            let width = (r1 - r0) * g.ow;
            for c in 0..g.c {
                let plane = &mut x[c * g.h * g.w..][..g.h * g.w];
                for i in 0..g.kh {
                    let off_y = (i * g.dh) as isize - g.ph as isize;
                    let (y0, y1) = valid_range(g.oh, g.sh, off_y, g.h);
                    let (y0, y1) = (y0.clamp(r0, r1), y1.clamp(r0, r1));
                    let tap_row = |j: usize| &cols[((c * g.kh + i) * g.kw + j) * width..][..width];
                    let mut j = 0;
                    while j < g.kw {
                        // Stride 2: taps `j` and `j + 1` land on alternate columns, so the
                        // pair is added as one contiguous run of interleaved values (each
                        // tap alone is a stride-2 scatter that stays scalar: a transposed
                        // 4x4 stride-2 convolution spent as long here as in its product).
                        if g.sw == 2 && g.dw == 1 && j + 1 < g.kw {
                            let rows = [tap_row(j), tap_row(j + 1)];
                            add_tap_pair(plane, rows, g, j, (y0, y1), r0, off_y);
                            j += 2;
                            continue;
                        }
                        let off_x = (j * g.dw) as isize - g.pw as isize;
                        let (x0, x1) = valid_range(g.ow, g.sw, off_x, g.w);
                        if x1 > x0 {
                            for oy in y0..y1 {
                                let iy = ((oy * g.sh) as isize + off_y) as usize;
                                let dst = &mut plane[iy * g.w..][..g.w];
                                let src = &tap_row(j)[(oy - r0) * g.ow..][..g.ow];
                                add_tap(dst, src, g.sw, off_x, (x0, x1));
                            }
                        }
                        j += 1;
                    }
                }
            }
        },
    )
}

/// `dst[ox * stride + off] += src[ox]` for `ox` in `x0..x1` (one tap's row of [`col2im`]).
#[inline(always)]
fn add_tap<E: Float>(
    dst: &mut [E],
    src: &[E],
    stride: usize,
    off: isize,
    (x0, x1): (usize, usize),
) {
    if x1 <= x0 {
        return;
    }
    let start = ((x0 * stride) as isize + off) as usize;
    let src = &src[x0..x1];
    if stride == 1 {
        for (d, s) in dst[start..start + src.len()].iter_mut().zip(src) {
            *d += *s;
        }
    } else {
        for (s, d) in src.iter().zip(dst[start..].iter_mut().step_by(stride)) {
            *d += *s;
        }
    }
}

/// Taps `j` and `j + 1` of a stride-2 [`col2im_rows`] row of taps (`rows`, output rows
/// from `r0` on): where both are in range, tap `j`'s output `ox` lands on column `2 ox +
/// off` and tap `j + 1`'s next to it, so the two rows are added interleaved into one
/// contiguous run; the ends, where only one tap is in range, one by one.
#[inline(always)]
fn add_tap_pair<E: Float>(
    plane: &mut [E],
    rows: [&[E]; 2],
    g: &ConvGeom,
    j: usize,
    (y0, y1): (usize, usize),
    r0: usize,
    off_y: isize,
) {
    let off = j as isize - g.pw as isize;
    let ranges = [
        valid_range(g.ow, 2, off, g.w),
        valid_range(g.ow, 2, off + 1, g.w),
    ];
    let lo = ranges[0].0.max(ranges[1].0);
    let hi = ranges[0].1.min(ranges[1].1).max(lo);
    for oy in y0..y1 {
        let iy = ((oy * g.sh) as isize + off_y) as usize;
        let dst = &mut plane[iy * g.w..][..g.w];
        let [a, b] = rows.map(|r| &r[(oy - r0) * g.ow..][..g.ow]);
        for (t, src) in [a, b].into_iter().enumerate() {
            let (x0, x1) = ranges[t];
            let off_t = off + t as isize;
            // The parts of this tap's range outside the shared run.
            add_tap(dst, src, 2, off_t, (x0, x1.min(lo)));
            add_tap(dst, src, 2, off_t, (x0.max(hi), x1));
        }
        if hi > lo {
            let start = ((2 * lo) as isize + off) as usize;
            let run = &mut dst[start..][..2 * (hi - lo)];
            for (pair, (&va, &vb)) in run
                .chunks_exact_mut(2)
                .zip(a[lo..hi].iter().zip(&b[lo..hi]))
            {
                pair[0] += va;
                pair[1] += vb;
            }
        }
    }
}
