//! Packing the operands of the blocked product ([`super::blocked`]) into the panels its
//! micro-kernels read: `A` in panels of `MR` rows, `B` in panels of `NR` columns, each
//! step's values contiguous.

use super::Operand;
use super::blocked::Kernel;
use crate::dtype::Float;

/// Packs rows `..mc` and columns `..kc` of `a` into panels of `MR` rows: panel `r` holds,
/// for each `p`, the `MR` values `a[r*MR + i, p]` (zero past `mc`).
///
/// # Safety
/// `dst` is valid for `mc.next_multiple_of(MR) * kc` writes; the block is inside `a`'s
/// checked extent.
pub(super) unsafe fn pack_a<K: Kernel>(dst: *mut K::E, a: Operand<K::E>, mc: usize, kc: usize) {
    let mr = K::MR;
    if a.rs == 1 {
        // SAFETY: as this function's.
        return unsafe { pack_a_columns::<K>(dst, a, mc, kc) };
    }
    for panel in 0..mc.div_ceil(mr) {
        let rows = mr.min(mc - panel * mr);
        let src = a.at(panel * mr, 0);
        // SAFETY: panel `panel` of `dst`, `mr * kc` elements, inside the buffer.
        let out = unsafe { core::slice::from_raw_parts_mut(dst.add(panel * mr * kc), mr * kc) };
        if rows < mr {
            out.fill(K::E::ZERO);
        }
        if cfg!(target_arch = "x86_64") && src.cs == 1 && kc >= 8 {
            // Row-major rows: four (and a last two) at a time through registers, then the
            // last columns and an odd row one by one. The AVX2 kernels' panels have 6 rows:
            // with four-row groups only, they took the scalar path below, ~7% of a
            // transformer step on one thread.
            // SAFETY: the panel's `rows` rows hold `kc` values inside the checked extent; the
            // panel holds `mr * kc` values.
            let (done_rows, full) =
                unsafe { pairs_in_registers(out.as_mut_ptr(), mr, src.ptr, src.rs, kc, rows) };
            for i in 0..rows {
                let first = if i < done_rows { full } else { 0 };
                for p in first..kc {
                    // SAFETY: (panel*MR + i, p) is inside the checked extent.
                    out[p * mr + i] = unsafe { *src.ptr.add(i * src.rs + p) };
                }
            }
        } else {
            // Row-major `a`: transpose in strips of 8 steps, so that the writes stay within
            // a few cache lines while every row is read contiguously.
            for p0 in (0..kc).step_by(8) {
                let w = 8.min(kc - p0);
                for i in 0..rows {
                    for q in 0..w {
                        // SAFETY: (panel*MR + i, p0 + q) is inside the checked extent.
                        out[(p0 + q) * mr + i] =
                            unsafe { *src.ptr.add(i * src.rs + (p0 + q) * src.cs) };
                    }
                }
            }
        }
    }
}

/// [`pack_a`] for a column-major `a` (a transposed operand, as `dY^T` in a weight gradient):
/// column by column, each read once for all the block's panels. Panel by panel, every step
/// read `MR` values of a column and the next panel the next `MR`: with columns a multiple of
/// 1 KiB apart (`m` = 512 or 1024), the `kc` lines of a panel mapped to a few cache sets and
/// were evicted before the next panel came back to them (512 x 512 x 128 with `a`
/// transposed, one AVX2 core: 56 GFLOP/s against 75 row-major).
///
/// # Safety
/// As [`pack_a`], and `a.rs == 1`.
unsafe fn pack_a_columns<K: Kernel>(dst: *mut K::E, a: Operand<K::E>, mc: usize, kc: usize) {
    let mr = K::MR;
    let (full, rest) = (mc / mr, mc % mr);
    // SAFETY: the block's panels, `mc.next_multiple_of(MR) * kc` elements.
    let out = unsafe { core::slice::from_raw_parts_mut(dst, mc.next_multiple_of(mr) * kc) };
    let (whole, last) = out.split_at_mut(full * mr * kc);
    if rest > 0 {
        last.fill(K::E::ZERO);
    }
    for p in 0..kc {
        // SAFETY: column p, rows ..mc are inside the checked extent.
        let col = unsafe { core::slice::from_raw_parts(a.ptr.add(p * a.cs), mc) };
        for (panel, values) in col.chunks_exact(mr).enumerate() {
            // Of a length known when compiling (no call to memcpy per step).
            whole[(panel * kc + p) * mr..][..K::MR].copy_from_slice(&values[..K::MR]);
        }
        if rest > 0 {
            last[p * mr..][..rest].copy_from_slice(&col[full * mr..]);
        }
    }
}

/// Packs rows `..kc` and columns `..nc` of `b` into panels of `NR` columns: panel `j` holds,
/// for each `p`, the `NR` values `b[p, j*NR + jj]` (zero past `nc`).
///
/// # Safety
/// `dst` is valid for `nc.next_multiple_of(NR) * kc` writes; the block is inside `b`'s
/// checked extent.
pub(super) unsafe fn pack_b<K: Kernel>(dst: *mut K::E, b: Operand<K::E>, kc: usize, nc: usize) {
    let nr = K::NR;
    for panel in 0..nc.div_ceil(nr) {
        let cols = nr.min(nc - panel * nr);
        let src = b.at(0, panel * nr);
        // SAFETY: panel `panel` of `dst`, `nr * kc` elements, inside the buffer.
        let out = unsafe { core::slice::from_raw_parts_mut(dst.add(panel * nr * kc), nr * kc) };
        if src.cs == 1 {
            for (p, group) in out.chunks_exact_mut(nr).enumerate() {
                // SAFETY: row p, columns ..cols of the panel are inside the checked extent.
                let row = unsafe { core::slice::from_raw_parts(src.ptr.add(p * src.rs), cols) };
                if cols == nr {
                    // Of a length known when compiling, as in `pack_a_columns`: vector moves,
                    // no call to memcpy per row. (An indexed loop compiled to one scalar
                    // load and store per value: the two slices might overlap as far as
                    // LLVM could tell, so it kept every load after the previous store.)
                    group[..K::NR].copy_from_slice(&row[..K::NR]);
                } else {
                    group[..cols].copy_from_slice(row);
                    group[cols..].fill(K::E::ZERO);
                }
            }
        } else {
            // Column-major `b` (the transposed weight of `x W^T`): walk each source column
            // contiguously and scatter into the panel.
            if cols < nr {
                out.fill(K::E::ZERO);
            }
            // Contiguous columns: four (and a last two) at a time through registers (as
            // `pack_a`'s row-major rows); a scalar scatter here made `x W^T` slower packed
            // than by in-place dot products.
            let (done_cols, full) = if src.rs == 1 {
                // SAFETY: the panel's `cols` columns hold `kc` values inside the checked
                // extent; the panel holds `nr * kc` values.
                unsafe { pairs_in_registers(out.as_mut_ptr(), nr, src.ptr, src.cs, kc, cols) }
            } else {
                (0, 0)
            };
            for jj in 0..cols {
                let first = if jj < done_cols { full } else { 0 };
                for p in first..kc {
                    // SAFETY: (p, panel*NR + jj) is inside the checked extent.
                    out[p * nr + jj] = unsafe { *src.ptr.add(p * src.rs + jj * src.cs) };
                }
            }
        }
    }
}

/// The first `lines / 2 * 2` of `lines` contiguous source lines (`kc` values each, `stride`
/// apart) transposed into `out` (`width` values per step) through registers, on x86-64 and
/// for 8 or more steps: returns how many lines it wrote and how many steps of each (`(0, 0)`
/// elsewhere); the caller copies the rest. `pack_a`'s row-major rows and `pack_b`'s
/// column-major columns both go through it.
///
/// # Safety
/// The lines are inside their operand's checked extent, `out` holds `width * kc` values and
/// `lines <= width`; `E` is `f32` or `f64`; the blocked kernels only run on CPUs with AVX.
unsafe fn pairs_in_registers<E>(
    out: *mut E,
    width: usize,
    src: *const E,
    stride: usize,
    kc: usize,
    lines: usize,
) -> (usize, usize) {
    if !(cfg!(target_arch = "x86_64") && kc >= 8) {
        return (0, 0);
    }
    let done = lines / 2 * 2;
    // SAFETY: as this function's; `done` is even.
    #[cfg(target_arch = "x86_64")]
    let full = unsafe { super::transpose::rows_in_registers(out, width, src, stride, kc, done) };
    #[cfg(not(target_arch = "x86_64"))]
    let full = {
        let _ = (out, width, src, stride);
        0
    };
    (done, full)
}
