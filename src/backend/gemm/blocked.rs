//! The blocked product shared by every micro-kernel (BLIS's loop nest).
//!
//! For each block of `KC` rows of `B` (and columns of `A`): `B`'s block is packed once into
//! panels of `NR` columns, shared by all threads (or read in place when its rows are
//! contiguous and it is small enough to stay in cache, which saves the packing pass that
//! dominates the small products of a training step; or, for few rows of `A` against many
//! columns, packed by each thread for its own columns as it first reads them); then `C` is
//! cut into tiles (whole micro-panels) that the threads claim one at a time. A tile packs
//! its rows of `A` in blocks of `MC` rows (`MC x KC` stays in L2) and runs the `MR x NR`
//! micro-kernel over them. There are a few tiles per thread, not one: on a machine where another process
//! takes a core for a while, the other threads take over the remaining tiles instead of
//! waiting.

use super::pack::{pack_a, pack_b};
use super::small_rows;
use super::{Operand, SendPtr};
use crate::backend::threads;
use crate::dtype::Float;
use core::cell::RefCell;

/// A micro-kernel: one instruction set and element type.
pub(super) trait Kernel: Copy + Send + Sync + 'static {
    type E: Float;
    /// Rows of `C` per call.
    const MR: usize;
    /// Columns of `C` per call.
    const NR: usize;
    /// Depth of one packed block.
    const KC: usize;
    /// Rows of one packed block of `A` (a multiple of `MR`).
    const MC: usize;
    /// Columns of `B` that one panel of `A` meets before the next (a multiple of `NR`;
    /// `KC x NC` stays in L2).
    const NC: usize;
    /// Whether [`Kernel::tile`] also reads `A` in place ([`APanel::Rows`], [`APanel::Cols`]).
    const DIRECT_A: bool = false;
    /// A last row panel of at most this many rows after a full one is run as two panels of
    /// `(MR + rows) / 2` (with `A` in place; packed panels are `MR` rows): for a kernel whose
    /// smallest block has too few accumulators to cover the FMA latency (see [`row_panels`]).
    const SHORT_TAIL: usize = 0;

    /// `C[..mr, ..nr] = alpha * A_panel B_panel + beta * C[..mr, ..nr]` over `k` steps
    /// (`beta == 0` never reads `C`, so it may hold garbage such as NaN, as BLAS allows).
    ///
    /// * `a`, read as `panel` says: a packed panel, or (only where [`Kernel::DIRECT_A`])
    ///   `A` in place by rows or by columns;
    /// * `b`: row `p` of the panel starts at `b + p * b_stride`; only its first `nr` values
    ///   are read;
    /// * `c`: row `i` starts at `c + i * rsc`, columns are contiguous.
    ///
    /// # Safety
    /// The CPU has the kernel's instruction set, and every pointer above is valid for the
    /// ranges described.
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile(
        k: usize,
        a: *const Self::E,
        panel: APanel,
        b: *const Self::E,
        b_stride: usize,
        c: *mut Self::E,
        rsc: usize,
        mr: usize,
        nr: usize,
        alpha: Self::E,
        beta: Self::E,
    );

    /// Whether [`Kernel::tile_pack_b`] is implemented.
    const FUSED_B: bool = false;

    /// [`Kernel::tile`] with a packed `A`, reading `B` in place (row `p` at
    /// `b + p * b_stride`, `nr` contiguous values) and also writing its packed panel: row
    /// `p` to `b_out + p * NR`, zero past `nr`.
    ///
    /// # Safety
    /// As [`Kernel::tile`], and `b_out` valid for `k * NR` writes; only called when
    /// [`Kernel::FUSED_B`].
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile_pack_b(
        _k: usize,
        _a: *const Self::E,
        _b: *const Self::E,
        _b_stride: usize,
        _b_out: *mut Self::E,
        _c: *mut Self::E,
        _rsc: usize,
        _mr: usize,
        _nr: usize,
        _alpha: Self::E,
        _beta: Self::E,
    ) {
        unreachable!("tile_pack_b without FUSED_B")
    }

    /// Whether [`Kernel::dot_block`] takes this product (`A`'s rows and `B`'s columns
    /// contiguous, read in place).
    fn dot_applies(_m: usize, _k: usize, _a: Operand<Self::E>, _b: Operand<Self::E>) -> bool {
        false
    }

    /// Rows `..m`, columns `..n` of the product by in-place dot products.
    ///
    /// # Safety
    /// As [`Kernel::tile`]; only called when [`Kernel::dot_applies`].
    #[allow(clippy::too_many_arguments)]
    unsafe fn dot_block(
        _m: usize,
        _k: usize,
        _n: usize,
        _alpha: Self::E,
        _a: Operand<Self::E>,
        _b: Operand<Self::E>,
        _beta: Self::E,
        _c: SendPtr<Self::E>,
        _rsc: usize,
    ) {
        unreachable!("dot_block without dot_applies")
    }
}

/// How a micro-kernel reads its rows of `A` (starting at its `a` pointer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum APanel {
    /// A packed panel: `MR` values per step (rows past `mr` are zero).
    Packed,
    /// In place, row-major: row `i < mr` at `a + i * lda`, its steps contiguous.
    Rows(usize),
    /// In place, column-major (a transposed operand such as `dg^T` of a weight gradient):
    /// step `p` of row `i < mr` at `a + i + p * lda`, the rows of a step contiguous, as in a
    /// packed panel but `lda` apart.
    Cols(usize),
}

/// Below this many flops a product runs on the calling thread: handing part of it to a
/// worker costs a few microseconds, which only pays off from about 1 MFLOP.
pub(super) const PARALLEL_FLOPS: usize = 1 << 21;
/// `B` (rows contiguous) is read in place instead of packed when one `KC` block has at most
/// this many elements: it then stays in L2 while every row panel of `A` passes over it.
const DIRECT_B_ELEMS: usize = 1 << 17;
/// The most elements of packed `B` held at once (16 MiB of `f32`).
const PACKED_B_ELEMS: usize = 1 << 22;
/// Packing `B` is split over threads from this many elements on.
const PARALLEL_PACK_ELEMS: usize = 1 << 15;
/// Tiles of `C` per thread (see the module docs).
const TILES_PER_THREAD: usize = 4;
/// Tiles of columns per thread where the threads split `B` by columns: each tile packs
/// its rows of `A` again, so fewer than [`TILES_PER_THREAD`].
const COLUMN_TILES_PER_THREAD: usize = 2;
/// `A` with contiguous rows is read in place, not packed, when `B` has at most this many
/// columns: packing costs about as much per element of `A` as the product does per
/// `NR` columns, so on narrow products (an LSTM's `dh = dgates W`, n = H) it was as slow
/// as the product itself, while on wide ones it pays back its cost.
const DIRECT_A_MAX_N: usize = 256;

/// How the micro-kernel reads `a` (see [`DIRECT_A_MAX_N`]): in place when its rows are
/// contiguous, with a row stride that is not a multiple of 1 KiB (at which a panel's rows
/// would all fall in the same L1 cache set), or when its columns are; else packed.
fn a_panel<K: Kernel>(a: Operand<K::E>, n: usize) -> APanel {
    if !K::DIRECT_A || n > DIRECT_A_MAX_N {
        APanel::Packed
    } else if a.cs == 1 && a.rs > 0 && !(a.rs * size_of::<K::E>()).is_multiple_of(1024) {
        APanel::Rows(a.rs)
    } else if a.rs == 1 && a.cs > 0 && !(a.cs * size_of::<K::E>()).is_multiple_of(1024) {
        // A step's rows are one contiguous run here, so a stride at a multiple of 1 KiB
        // costs L2 reads, not the set conflicts of a panel's rows.
        APanel::Cols(a.cs)
    } else {
        APanel::Packed
    }
}

thread_local! {
    /// This thread's packed row blocks of `A`.
    static PACK_A: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
    /// The packed `B` of the products this thread starts (read by every thread).
    static PACK_B: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
    /// `C^T` of this thread's [`product_transposed`] calls.
    static TRANSPOSED_C: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}

/// A 64-byte aligned buffer of at least `len` elements inside `buf` (zmm loads that do not
/// straddle cache lines). The storage is `f64` so that one thread-local serves both types.
fn aligned<E: Float>(buf: &mut Vec<f64>, len: usize) -> *mut E {
    let words = (len * size_of::<E>()).div_ceil(8) + 8;
    if buf.len() < words {
        *buf = vec![0.0; words];
    }
    let offset = buf.as_ptr().align_offset(64).min(7);
    buf[offset..].as_mut_ptr().cast()
}

/// `c = alpha a b + beta c` (see [`Kernel::tile`] for `beta == 0`).
///
/// # Safety
/// The CPU has `K`'s instruction set; strides are non-negative, `C`'s columns contiguous,
/// and every element the strides reach is inside the operands' buffers.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn product<K: Kernel>(
    m: usize,
    k: usize,
    n: usize,
    alpha: K::E,
    a: Operand<K::E>,
    b: Operand<K::E>,
    beta: K::E,
    c: SendPtr<K::E>,
    rsc: usize,
) {
    if transposed_pays(m, k, n, a, b) {
        // SAFETY: forwarded.
        return unsafe { product_transposed::<K>(m, k, n, alpha, a, b, beta, c, rsc) };
    }
    // SAFETY: forwarded.
    unsafe { product_with::<K>(m, k, n, alpha, a, BSource::Matrix(b), beta, c, rsc) }
}

/// Whether [`product`] computes `C^T = B^T A^T` instead: on one thread, for a column-major
/// `A` (a transposed operand: `dY^T` of a weight gradient) against a row-major `B` of at
/// most 128 columns, with at least four times as many rows of `C` and a depth of 512 or
/// more. Such a product packs all of `A` into row panels for a few column panels of `B`;
/// transposed, `A^T` is the row-major right operand, packed in whole lines, and `C` is
/// transposed back in one pass (~0.7 ns per element, which only a deep product repays).
/// One AVX2 thread, alternating in one run (us, as it is -> transposed): an LSTM's `dW_ih`
/// 512 x 512 x 64 511 -> 427 (f64 939 -> 854), `dW_hh` 512 x 512 x 128 893 -> 864, 1024 x
/// 512 x 32 626 -> 498; but 512 x 256 x 128 411 -> 429, 512 x 128 x 128 200 -> 242, W7's
/// 204 x 97 x 51 (f64) 51 -> 64, W8's 768 x 2048 x 256 not faster. On two threads the
/// transposed product scaled worse (`dW_ih` 260 us as it is, 473 transposed).
fn transposed_pays<E>(m: usize, k: usize, n: usize, a: Operand<E>, b: Operand<E>) -> bool {
    let one_thread = threads::threads() == 1 || (2 * m * k).saturating_mul(n) < PARALLEL_FLOPS;
    one_thread && a.rs == 1 && a.cs != 1 && b.cs == 1 && n <= 128 && m >= 4 * n && k >= 512
}

/// [`product`] as `C^T = B^T A^T` into a scratch buffer, then `c = alpha C + beta c`
/// transposed back (see [`transposed_pays`]).
///
/// # Safety
/// As [`product`].
#[allow(clippy::too_many_arguments)]
unsafe fn product_transposed<K: Kernel>(
    m: usize,
    k: usize,
    n: usize,
    alpha: K::E,
    a: Operand<K::E>,
    b: Operand<K::E>,
    beta: K::E,
    c: SendPtr<K::E>,
    rsc: usize,
) {
    let swap = |o: Operand<K::E>| Operand {
        ptr: o.ptr,
        rs: o.cs,
        cs: o.rs,
    };
    TRANSPOSED_C.with(|buf| {
        let mut buf = buf.borrow_mut();
        let scratch = aligned::<K::E>(&mut buf, n * m);
        // SAFETY: `B^T` (`n x k`) and `A^T` (`k x m`) reach the elements `B` and `A` do,
        // inside their checked extents; the scratch holds `n x m` values, row-major.
        unsafe {
            product_with::<K>(
                n,
                k,
                m,
                alpha,
                swap(b),
                BSource::Matrix(swap(a)),
                K::E::ZERO,
                SendPtr(scratch),
                m,
            )
        };
        // SAFETY: the product above wrote all `n x m` values.
        let ct = unsafe { core::slice::from_raw_parts(scratch.cast_const(), n * m) };
        // In squares of 16: the reads down a column of `C^T` stay within 16 lines.
        for i0 in (0..m).step_by(16) {
            for j0 in (0..n).step_by(16) {
                let cols = n.min(j0 + 16) - j0;
                for i in i0..m.min(i0 + 16) {
                    let column = ct[j0 * m + i..].iter().step_by(m);
                    // Through a pointer, not a slice: with `beta == 0`, `c` may be
                    // uninitialised (`gemm_uninit`), and is then only written.
                    let row = c.get().wrapping_add(i * rsc + j0);
                    // SAFETY (both loops): element (i, j0 + j) of `c` is inside its checked
                    // extent; it is read only when `beta != 0`, when `c` is initialised.
                    if beta == K::E::ZERO {
                        for (j, &v) in column.take(cols).enumerate() {
                            unsafe { row.add(j).write(v) };
                        }
                    } else {
                        for (j, &v) in column.take(cols).enumerate() {
                            unsafe { row.add(j).write(v + beta * row.add(j).read()) };
                        }
                    }
                }
            }
        }
    });
}

/// Where a product reads `B` from.
#[derive(Clone, Copy)]
pub(super) enum BSource<E> {
    /// The matrix itself (packed, or read in place, as the product decides).
    Matrix(Operand<E>),
    /// Already in [`prepack_b`]'s layout, at this pointer.
    Packed(*const E),
}

// SAFETY: read-only, like `Operand`; the caller keeps the packed buffer alive for the call.
unsafe impl<E: Sync> Send for BSource<E> {}
// SAFETY: as for `Send`.
unsafe impl<E: Sync> Sync for BSource<E> {}

/// The depth of the blocks of a pre-packed `B` ([`prepack_b`]): at most 512, in equal
/// parts. Deeper than a product's `KC`: the products that reuse a packed `B` have few rows
/// (an LSTM step's batch), so one block means one pass over `C` (16 x 512 x 128 f32 on one
/// thread: 13.3 us with `B` in place, 11.4 us pre-packed in one block, 12.3 in two).
fn prepack_depth(k: usize) -> usize {
    const MAX: usize = 512;
    let k = k.max(1);
    k.div_ceil(k.div_ceil(MAX)).next_multiple_of(8).min(MAX)
}

/// Elements of a pre-packed `k x n` matrix.
pub(super) fn prepacked_len<K: Kernel>(k: usize, n: usize) -> usize {
    n.next_multiple_of(K::NR) * k
}

/// Packs all of `b` (`k x n`) into `dst` in the layout the product reads: blocks of
/// [`prepack_depth`] rows, block `pc` at `pc * n_pad`, each as [`pack_b`] writes it.
///
/// # Safety
/// `dst` is valid for [`prepacked_len`] writes; `b`'s `k x n` elements are inside its
/// checked extent.
pub(super) unsafe fn prepack_b<K: Kernel>(dst: *mut K::E, b: Operand<K::E>, k: usize, n: usize) {
    // Split over the threads by panels: the caller (an LSTM's sequence, before its
    // per-step products) has nothing else to run meanwhile.
    let parts = if k * n >= PARALLEL_PACK_ELEMS {
        threads::threads()
    } else {
        1
    };
    // SAFETY: forwarded; `prepacked_len` is `n_pad * k`.
    unsafe { pack_b_blocks::<K>(dst, b, k, n, prepack_depth(k), parts) };
}

/// Packs `b` (`k x n`) into `dst` in blocks of `depth` rows, block `pc` at `pc * n_pad`
/// (`n_pad` = `n` rounded up to `NR`) and its panel `j` `j * NR * kc` further, the panels
/// split over (at most) `parts` tasks of the thread pool.
///
/// # Safety
/// `dst` is valid for `n_pad * k` writes; `b`'s `k x n` elements are inside its checked
/// extent.
unsafe fn pack_b_blocks<K: Kernel>(
    dst: *mut K::E,
    b: Operand<K::E>,
    k: usize,
    n: usize,
    depth: usize,
    parts: usize,
) {
    let (panels, n_pad) = (n.div_ceil(K::NR), n.next_multiple_of(K::NR));
    let parts = parts.min(panels).max(1);
    let dst = SendPtr(dst);
    threads::run(parts, &|t| {
        let (p0, p1) = split(panels, 1, parts, t);
        // The last parts may be empty (5 panels in 4 parts of 2): nothing to pack, and
        // `p1 * NR` past a ragged `n` would underflow below.
        if p0 >= p1 {
            return;
        }
        for pc in (0..k).step_by(depth.max(1)) {
            let kc = depth.min(k - pc);
            // SAFETY: panels p0..p1 of block `pc` (`NR * kc` values each, from
            // `pc * n_pad`) lie inside `dst` and are written by this task alone; their
            // source rows and columns are inside `b`'s extent.
            unsafe {
                pack_b::<K>(
                    dst.get().add(pc * n_pad + p0 * K::NR * kc),
                    b.at(pc, p0 * K::NR),
                    kc,
                    (p1 * K::NR).min(n) - p0 * K::NR,
                )
            };
        }
    });
}

/// [`product`] with `B` from `b_src`.
///
/// # Safety
/// As [`product`]; a [`BSource::Packed`] pointer holds [`prepacked_len`]`(k, n)` values
/// written by [`prepack_b`] for this `k` and `n`.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn product_with<K: Kernel>(
    m: usize,
    k: usize,
    n: usize,
    alpha: K::E,
    a: Operand<K::E>,
    b_src: BSource<K::E>,
    beta: K::E,
    c: SendPtr<K::E>,
    rsc: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 || alpha == K::E::ZERO {
        // SAFETY: rows of `c` inside the checked extent.
        unsafe { scale_c(m, n, beta, c.get(), rsc) };
        return;
    }
    let threads = if (2 * m * k).saturating_mul(n) >= PARALLEL_FLOPS {
        threads::threads()
    } else {
        1
    };
    let (b, prepacked) = match b_src {
        BSource::Matrix(b) => (b, None),
        // Never dereferenced as an operand: every read goes through the packed panels.
        BSource::Packed(ptr) => (Operand::new(ptr, (0, 0)), Some(ptr)),
    };
    if prepacked.is_none() && small_rows::applies(m, n, b) {
        // SAFETY: forwarded.
        return unsafe { small_rows::product(m, k, n, alpha, a, b, beta, c, rsc, threads) };
    }
    if prepacked.is_none() && K::dot_applies(m, k, a, b) {
        let (rows, cols) = grid(m, n, threads, 16, 64);
        let task = |t: usize| {
            let (r0, r1) = split(m, 16, rows, t / cols);
            let (c0, c1) = split(n, 64, cols, t % cols);
            if r0 < r1 && c0 < c1 {
                // SAFETY: a sub-block of the product; tiles are disjoint.
                unsafe {
                    K::dot_block(
                        r1 - r0,
                        k,
                        c1 - c0,
                        alpha,
                        a.at(r0, 0),
                        b.at(0, c0),
                        beta,
                        SendPtr(c.get().add(r0 * rsc + c0)),
                        rsc,
                    )
                }
            }
        };
        threads::run(rows * cols, &task);
        return;
    }
    let (mc_max, nc_max) = (K::MC, K::NC);
    // `k` in blocks of at most `KC`, of even depth: 512 as 384 + 128 spent a third of the
    // products on the thin block, whose C traffic is that of a full one (512^3 f32 on one
    // thread, 256 + 256: 221 -> 224 GFLOP/s).
    let kc_max = match prepacked {
        Some(_) => prepack_depth(k),
        None => k.div_ceil(k.div_ceil(K::KC)).next_multiple_of(8).min(K::KC),
    };
    let a_read = a_panel::<K>(a, n);
    // In place only when its rows are not a multiple of 1 KiB apart: at such strides a
    // panel's rows fall into a few L1 sets and every step misses (256^3 and 512^3 f32 on
    // one AVX2 core ran at 64-73% of the peak in place, packed at 80-87%).
    // A product of one row panel reads each value of `B` once whatever its size or stride:
    // packing it first only adds a copy (4 x 1024 x 4096 f32 on one thread: 20.5 -> 44.8
    // GFLOP/s in place).
    let direct_b = prepacked.is_none()
        && b.cs == 1
        && (m <= K::MR
            || (kc_max.min(k) * n <= DIRECT_B_ELEMS
                && !(b.rs * size_of::<K::E>()).is_multiple_of(1024)));
    // All of `B` is packed up front (in parallel), then one parallel run computes every
    // tile: two hand-offs to the workers per product, not two per block. Wider `B` is
    // taken in chunks of columns whose packed copy stays under `PACKED_B_ELEMS`.
    let chunk = if direct_b || prepacked.is_some() {
        n
    } else {
        (PACKED_B_ELEMS / k / K::NR).max(1) * K::NR
    };
    // Few rows of `A` against many columns of `B`: the threads split the columns, each
    // packing its own panels of `B` as its first row panel reads them (below), instead of
    // a packing pass of all of `B` before the product.
    let by_columns = threads > 1
        && K::FUSED_B
        && prepacked.is_none()
        && !direct_b
        && a_read == APanel::Packed
        && b.cs == 1
        && m * COLUMN_TILES_PER_THREAD * threads <= chunk.min(n);
    let (rows, cols) = if by_columns {
        let tiles = COLUMN_TILES_PER_THREAD * threads;
        (1, tiles.min(chunk.min(n).div_ceil(K::NR)))
    } else {
        grid(m, chunk.min(n), threads, K::MR, K::NR)
    };
    // With one row of tiles (one thread, or threads splitting the columns), `B` is not
    // packed in a pass of its own: each tile's first row panel of `A` reads its columns in
    // place and writes their packed copy as it goes (see `Kernel::tile_pack_b`), so the
    // source's cache misses overlap the arithmetic instead of stalling a copy loop (1024^3
    // f32 on one thread: 204 -> 211 GFLOP/s; by columns on two threads, alternating with
    // the row tiles and a packing pass: 64 x 256 x 784 220 -> 410 GFLOP/s, 128 x 576 x
    // 784 248 -> 364, 64 x 576 x 3136 180 -> 352, 256^3 to 2048^3 level).
    let fuse = K::FUSED_B
        && prepacked.is_none()
        && rows == 1
        && !direct_b
        && a_read == APanel::Packed
        && b.cs == 1;
    PACK_B.with(|pack_b_buf| {
        let mut pack_b_buf = pack_b_buf.borrow_mut();
        let bpack = if direct_b {
            SendPtr(core::ptr::null_mut())
        } else if let Some(ptr) = prepacked {
            // Only read: the packed panels are shared by all tiles.
            SendPtr(ptr.cast_mut())
        } else {
            let len = chunk.min(n).next_multiple_of(K::NR) * k;
            SendPtr(aligned::<K::E>(&mut pack_b_buf, len))
        };
        for j0 in (0..n).step_by(chunk) {
            let nc = chunk.min(n - j0);
            // Block `pc` (rows pc..pc + kc) of the packed chunk starts at `pc * n_pad`, and
            // its panel `j` (columns j*NR..) `j * NR * kc` further.
            let n_pad = nc.next_multiple_of(K::NR);
            if !direct_b && !fuse && prepacked.is_none() {
                let parts = if k * nc >= PARALLEL_PACK_ELEMS {
                    2 * threads
                } else {
                    1
                };
                // SAFETY: the buffer holds `n_pad * k` values; columns `j0..j0 + nc` of `b`
                // are inside its checked extent.
                unsafe { pack_b_blocks::<K>(bpack.get(), b.at(0, j0), k, nc, kc_max, parts) };
            }
            let task = |t: usize| {
                let (r0, r1) = split(m, K::MR, rows, t / cols);
                let (c0, c1) = split(nc, K::NR, cols, t % cols);
                if r0 >= r1 || c0 >= c1 {
                    return;
                }
                for pc in (0..k).step_by(kc_max) {
                    let kc = kc_max.min(k - pc);
                    let beta = if pc == 0 { beta } else { K::E::ONE };
                    let b_panels = if direct_b {
                        (b.at(pc, j0 + c0).ptr, b.rs, 0)
                    } else {
                        // SAFETY: column c0 (a multiple of NR) starts panel c0 / NR of
                        // block pc, inside the buffer.
                        let start = unsafe { bpack.get().add(pc * n_pad + c0 * kc) };
                        (start.cast_const(), K::NR, 1)
                    };
                    // SAFETY: the tile's rows and columns are inside the product; tiles
                    // are disjoint, so no two threads write the same element of C.
                    unsafe {
                        tile_rows::<K>(
                            r1 - r0,
                            kc,
                            c1 - c0,
                            (mc_max, nc_max),
                            a_read,
                            alpha,
                            a.at(r0, pc),
                            b_panels,
                            fuse.then(|| b.at(pc, j0 + c0)),
                            beta,
                            c.get().add(r0 * rsc + j0 + c0),
                            rsc,
                        )
                    }
                }
            };
            threads::run(rows * cols, &task);
        }
    });
}

/// Rows `..m`, columns `..n` of one `kc` step of the product: packs `A` in blocks of
/// `mc_max` rows and runs the micro-kernel over every (row panel, column panel) pair,
/// columns in blocks of `nc_max`.
/// `b_panels` is `(start, row stride, packed)`: packed panels are `NR * kc` apart.
/// `fuse_src`: `B` in place (rows contiguous), when its panels at `b_panels` are still to
/// be written: the first row panel packs them as it reads them ([`Kernel::tile_pack_b`]).
/// `a_read`: how the kernel reads `A` (see [`a_panel`]); only [`APanel::Packed`] packs.
///
/// # Safety
/// As [`product`], for this sub-block; with `fuse_src`, `b_panels` is packed and its
/// buffer holds `n.next_multiple_of(NR) * kc` values.
#[allow(clippy::too_many_arguments)]
unsafe fn tile_rows<K: Kernel>(
    m: usize,
    kc: usize,
    n: usize,
    (mc_max, nc_max): (usize, usize),
    a_read: APanel,
    alpha: K::E,
    a: Operand<K::E>,
    (b, b_stride, packed): (*const K::E, usize, usize),
    fuse_src: Option<Operand<K::E>>,
    beta: K::E,
    c: *mut K::E,
    rsc: usize,
) {
    PACK_A.with(|buf| {
        let mut buf = buf.borrow_mut();
        let direct_a = a_read != APanel::Packed;
        // Row-major `A` is packed panel by panel, so its panels can follow `row_panels`'
        // merged tail as in place (an LSTM's `h W_hh^T` on 8 rows per thread: 6 + 2 rows
        // took 13.6 us, 4 + 4 take 11.3); a transposed `A` is packed column by column for
        // the whole block ([`pack_a`]), in panels of `MR` rows.
        let merged = direct_a || a.rs != 1;
        let apack = if direct_a {
            core::ptr::null_mut()
        } else {
            aligned::<K::E>(&mut buf, mc_max.min(m).next_multiple_of(K::MR) * kc)
        };
        for ic in (0..m).step_by(mc_max) {
            let mc = mc_max.min(m - ic);
            if !direct_a && merged {
                for (slot, (ir, mr)) in row_panels::<K>(mc, true).enumerate() {
                    // SAFETY: the buffer holds one `MR x kc` slot per panel (as many as
                    // `mc` rows rounded up to MR make); the panel's rows are inside `a`'s
                    // checked extent.
                    unsafe { pack_a::<K>(apack.add(slot * K::MR * kc), a.at(ic + ir, 0), mr, kc) };
                }
            } else if !direct_a {
                // SAFETY: the buffer holds `mc` rows rounded up to MR, by `kc`; rows ic..
                // of `a` are inside its checked extent.
                unsafe { pack_a::<K>(apack, a.at(ic, 0), mc, kc) };
            }
            let call = |slot: usize, ir: usize, mr: usize, jr: usize| {
                let bp = if packed == 1 {
                    b.wrapping_add(jr * kc)
                } else {
                    b.wrapping_add(jr)
                };
                let ap = if direct_a {
                    a.at(ic + ir, 0).ptr
                } else {
                    apack.wrapping_add(slot * K::MR * kc).cast_const()
                };
                // SAFETY: the panels and the C block are inside their buffers (see
                // `product`); the kernel's instruction set is the caller's contract.
                unsafe {
                    K::tile(
                        kc,
                        ap,
                        a_read,
                        bp,
                        b_stride,
                        c.add((ic + ir) * rsc + jr),
                        rsc,
                        mr,
                        K::NR.min(n - jr),
                        alpha,
                        beta,
                    )
                }
            };
            // Row panel 0 of row block 0 with `fuse_src`: also packs column panel `jr`.
            let call_packing_b = |src: Operand<K::E>, mr: usize, jr: usize| {
                // SAFETY: `src` covers the `kc x n` block in place, and the packed panel at
                // `b + jr * kc` (`NR * kc` values of the buffer) is written here, by this
                // thread alone, before any other call reads it: row panel 0 of row block
                // 0 is the first to meet every column panel. `A` is packed (`fuse_src` is
                // only given then), panel 0 at `apack`.
                unsafe {
                    K::tile_pack_b(
                        kc,
                        apack.cast_const(),
                        src.at(0, jr).ptr,
                        src.rs,
                        b.wrapping_add(jr * kc).cast_mut(),
                        c.add(ic * rsc + jr),
                        rsc,
                        mr,
                        K::NR.min(n - jr),
                        alpha,
                        beta,
                    )
                }
            };
            // The `MR x kc` panel of `A` stays in L1 while the `kc x nc_max` block of `B`
            // (in L2) passes under it.
            for jc in (0..n).step_by(nc_max) {
                for (slot, (ir, mr)) in row_panels::<K>(mc, merged).enumerate() {
                    let columns = (jc..n.min(jc + nc_max)).step_by(K::NR);
                    match fuse_src {
                        Some(src) if ic == 0 && ir == 0 => {
                            columns.for_each(|jr| call_packing_b(src, mr, jr))
                        }
                        _ => columns.for_each(|jr| call(slot, ir, mr, jr)),
                    }
                }
            }
        }
    });
}

/// The row panels `(first row, rows)` of a block of `mc` rows: `K::MR` at a time, except
/// that with `merge` (`A` in place, or packed panel by panel) a last panel of at most
/// [`Kernel::SHORT_TAIL`] rows is merged with the full one before it and split in two halves.
/// On AVX2 (6-row panels) a 2-row block has four accumulators, half of what keeps both FMA
/// units busy through their latency: 32 rows as 6 x 5 + 2 cost the time of 34 at full rate,
/// as 6 x 4 + 4 + 4 the time of 32.
pub(super) fn row_panels<K: Kernel>(
    mc: usize,
    merge: bool,
) -> impl Iterator<Item = (usize, usize)> {
    let tail = mc % K::MR;
    let merge = merge && mc > K::MR && tail != 0 && tail <= K::SHORT_TAIL;
    let regular_end = if merge { mc - K::MR - tail } else { mc };
    let regular = (0..regular_end)
        .step_by(K::MR)
        .map(move |ir| (ir, K::MR.min(regular_end - ir)));
    let rest = mc - regular_end;
    let half = rest.div_ceil(2);
    let halves = merge.then_some([(regular_end, half), (regular_end + half, rest - half)]);
    regular.chain(halves.into_iter().flatten())
}

/// How many row and column tiles to cut `m x n` into for `threads` threads, in whole
/// `mr x nr` micro-panels: about [`TILES_PER_THREAD`] per thread, by rows first (every
/// row tile reads all of the packed `B`, every column tile packs its rows of `A` again).
fn grid(m: usize, n: usize, threads: usize, mr: usize, nr: usize) -> (usize, usize) {
    if threads <= 1 {
        return (1, 1);
    }
    let target = TILES_PER_THREAD * threads;
    let rows = m.div_ceil(mr).min(target);
    let cols = (target / rows).clamp(1, n.div_ceil(nr));
    (rows, cols)
}

/// Range `t` of `parts` consecutive ranges covering `0..len` in whole units, as even as
/// whole units allow (the first `units % parts` ranges hold one unit more; the last unit
/// may be ragged; with more parts than units, the last ones are empty). Equal chunks
/// rounded up left the last tiles short or empty: 64 rows in 6-row panels over 8 tiles
/// made five tiles of 12 rows and one of 4, so one of two threads ran 36 rows, the other 28.
pub(super) fn split(len: usize, unit: usize, parts: usize, t: usize) -> (usize, usize) {
    let units = len.div_ceil(unit);
    let (base, extra) = (units / parts, units % parts);
    let first = t * base + t.min(extra);
    let count = base + usize::from(t < extra);
    ((first * unit).min(len), ((first + count) * unit).min(len))
}

/// `c = beta c` (`beta == 0` writes zeros without reading, so NaN in `c` does not survive).
///
/// # Safety
/// Rows `0..m` of `c` (row stride `rsc`, `n` contiguous elements each) must be valid for
/// writes.
pub(super) unsafe fn scale_c<E: Float>(m: usize, n: usize, beta: E, c: *mut E, rsc: usize) {
    for i in 0..m {
        // SAFETY: row `i` of `c` is inside the checked extent.
        let row = unsafe { core::slice::from_raw_parts_mut(c.add(i * rsc), n) };
        if beta == E::ZERO {
            row.fill(E::ZERO);
        } else {
            row.iter_mut().for_each(|v| *v *= beta);
        }
    }
}
