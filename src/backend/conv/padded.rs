//! Padded convolutions with unit stride and dilation in the wide layout: the batch is padded
//! once and convolved without padding.
//!
//! The wide unfolding ([`super::im2col_wide`]) copies one long run of the input per kernel
//! offset and channel; with padding, the row unfolding copied one short run per output row
//! instead (eleven floats at a time on a 14 x 14 plane), and those copies took as long as
//! the product. Padded, the input plane is one `(h + 2 ph) x (w + 2 pw)` plane whose
//! unpadded convolution has the same outputs, so the wide layout applies; its gradient is
//! the padded plane's gradient cropped.

use super::ConvGeom;
use crate::backend::parallel::for_row_blocks;
use crate::backend::uninit::{filled, written};
use crate::dtype::Float;

/// The most values of a padded sample's wide unfolding ([`ConvGeom::col_rows`] x
/// [`ConvGeom::wide_cols`]) taken this way: the wide layout unfolds a sample whole, where
/// the row unfolding works in blocks that stay in the L2 cache. One thread, forward with
/// backward: 3x3 convolutions of (8, 16, 56, 56) (468K values) 5.78 -> 4.98 ms, but of (4,
/// 8, 112, 112) (919K) 3.58 -> 4.16-4.54.
const MAX_UNFOLDED: usize = 1 << 19;

/// The fewest rows of the unfolding (input channels x kernel taps) taken this way: with
/// fewer the row unfolding is cheap beside the padding and widening around the product
/// (one 3x3 kernel over (32, 1, 28, 28): forward level, with backward 0.93 -> 0.99 ms on one
/// thread, 0.59 -> 0.63 on two; 5x5 kernels, 25 rows: 1.61 -> 1.15 and 1.37 -> 0.81).
const MIN_ROWS: usize = 16;

/// The geometry of the padded input, when `g` is a padded convolution with unit stride and
/// dilation over more than one output row (a 1-D convolution's row unfolding is already
/// one run per row: `Conv1d(32, 64, 5, padding 2)` over (32, 32, 512) was 5% slower padded)
/// within [`MIN_ROWS`] and [`MAX_UNFOLDED`].
pub(super) fn padded_wide(g: &ConvGeom) -> Option<ConvGeom> {
    let padded = ConvGeom {
        h: g.h + 2 * g.ph,
        w: g.w + 2 * g.pw,
        ph: 0,
        pw: 0,
        ..*g
    };
    let applies = (g.ph, g.pw) != (0, 0)
        && (g.sh, g.sw, g.dh, g.dw) == (1, 1, 1, 1)
        && g.oh > 1
        && g.ow > 0
        && g.col_rows() >= MIN_ROWS
        && g.col_rows() * padded.wide_cols() <= MAX_UNFOLDED;
    applies.then_some(padded)
}

/// `planes` planes of `x` (`g.h x g.w` each) padded with zeros by `(g.ph, g.pw)` on every
/// side. Each padded plane is zeroed and its rows copied in while it is in L1 (the general
/// [`crate::backend::pad`] kernel, which decides per element whether it reads the border,
/// took a tenth of a padded 16-channel convolution's forward pass).
pub(super) fn pad_planes<E: Float>(x: &[E], planes: usize, g: &ConvGeom) -> Vec<E> {
    new_padded_planes(Some(x), planes, g)
}

/// `planes` padded planes of zeros, for the padded input's gradient: zeroed over the threads
/// (`vec![0; n]` zeroed them all on the calling thread, 2.4 MB for a batch of 32 of (16, 32,
/// 32) while the other thread waited).
pub(super) fn zeroed_planes<E: Float>(planes: usize, g: &ConvGeom) -> Vec<E> {
    new_padded_planes(None, planes, g)
}

/// [`pad_planes`] of `x`, or of zeros without it: blocks of planes over the threads.
fn new_padded_planes<E: Float>(x: Option<&[E]>, planes: usize, g: &ConvGeom) -> Vec<E> {
    let (hw, wp) = (g.h * g.w, g.w + 2 * g.pw);
    let padded_plane = (g.h + 2 * g.ph) * wp;
    if padded_plane == 0 {
        return Vec::new();
    }
    // SAFETY: `for_row_blocks` hands out every plane of the buffer once, and `filled`
    // writes all of it before any rows are copied in.
    unsafe {
        written(planes * padded_plane, |out| {
            for_row_blocks(
                out,
                padded_plane,
                #[inline(always)]
                |first, block| {
                    for (plane, dst) in (first..).zip(block.chunks_exact_mut(padded_plane)) {
                        let dst = &mut filled(dst, E::ZERO)[g.ph * wp + g.pw..];
                        let Some(x) = x.filter(|_| g.w > 0) else {
                            continue;
                        };
                        let src = &x[plane * hw..][..hw];
                        for (r, row) in src.chunks_exact(g.w).enumerate() {
                            dst[r * wp..][..g.w].copy_from_slice(row);
                        }
                    }
                },
            )
        })
    }
}

/// `gx += crop(gx_padded)`: the gradient of each padded plane (`(g.h + 2 g.ph) x (g.w + 2
/// g.pw)`) without its border, added into the plane of `gx` (`g.h x g.w`) it was padded from.
pub(super) fn add_cropped<E: Float>(gx_padded: &[E], g: &ConvGeom, gx: &mut [E]) {
    let (hw, wp) = (g.h * g.w, g.w + 2 * g.pw);
    let padded_plane = (g.h + 2 * g.ph) * wp;
    if hw == 0 {
        return;
    }
    for_row_blocks(
        gx,
        hw,
        #[inline(always)]
        |first, block| {
            for (plane, dst) in (first..).zip(block.chunks_exact_mut(hw)) {
                let src = &gx_padded[plane * padded_plane + g.ph * wp + g.pw..];
                for (r, row) in dst.chunks_exact_mut(g.w).enumerate() {
                    for (d, &v) in row.iter_mut().zip(&src[r * wp..][..g.w]) {
                        *d += v;
                    }
                }
            }
        },
    );
}
