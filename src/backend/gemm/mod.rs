//! General matrix products `C = alpha A B + beta C` with arbitrary strides.
//!
//! `f32` on x86-64 CPUs with AVX-512F runs our own blocked product: `A` is packed into
//! panels of [`MR`] rows, `B` into panels of [`NR`] columns (or read in place when its rows
//! are contiguous and it is small enough to stay in cache, which saves the packing pass
//! that dominates the small products of a training step), and an `MR x NR` register-block
//! micro-kernel does the multiply-adds. Large products are split over the threads of
//! [`super::threads`]. Everything else (`f64`, other CPUs, column-strided `C`) goes to
//! `matrixmultiply`, which stays the portable path and is tested against the fast one.

#[cfg(target_arch = "x86_64")]
mod avx512;

use super::threads;
use crate::dtype::Float;
use crate::dtype::private::{Slice, SliceMut};

/// Rows of `C` per micro-kernel call.
const MR: usize = 8;
/// Columns of `C` per micro-kernel call (two 16-lane registers).
const NR: usize = 32;
/// Depth of one packed block: an `NR`-column panel of `B` (`KC * NR * 4` bytes) stays in L1.
const KC: usize = 512;
/// Rows of one packed block of `A` (`MC * KC * 4` bytes, kept in L2).
const MC: usize = 128;
/// Columns of `B` packed at once.
const NC: usize = 2048;
/// Below this many flops a product runs on the calling thread: handing half of it to a
/// worker costs a few microseconds, which only pays off from about 1 MFLOP.
const PARALLEL_FLOPS: usize = 1 << 21;
/// `B` (rows contiguous) is read in place instead of packed when it has at most this many
/// elements per `KC` block: it then stays in L2 while every row panel of `A` passes over it.
const DIRECT_B_ELEMS: usize = 1 << 17;

/// Products whose summed dimension is at least this long, with `A`'s rows and `B`'s
/// columns contiguous, run as in-place dot products (see [`dot_products`]); shorter sums
/// would spend more on the final reduction than they save on packing.
const DOT_MIN_K: usize = 32;

/// Strides of a matrix operand: element `(i, j)` is at `i * rows + j * cols`.
type Strides = (isize, isize);

/// `c = alpha a b + beta c` on strided matrices for either element type, `a` being `m x k`,
/// `b` `k x n`, `c` `m x n` (row stride, column stride per matrix): [`sgemm`] or [`dgemm`].
/// The one entry point through which every other kernel and op multiplies matrices.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm<E: Float>(
    m: usize,
    k: usize,
    n: usize,
    alpha: E,
    a: &[E],
    a_strides: Strides,
    b: &[E],
    b_strides: Strides,
    beta: E,
    c: &mut [E],
    c_strides: Strides,
) {
    super::init();
    // `alpha` and `beta` are of type E, so the round trip through f64 is exact.
    match (E::concrete(a), E::concrete(b), E::concrete_mut(c)) {
        (Slice::F32(a), Slice::F32(b), SliceMut::F32(c)) => sgemm(
            m,
            k,
            n,
            alpha.to_f64() as f32,
            a,
            a_strides,
            b,
            b_strides,
            beta.to_f64() as f32,
            c,
            c_strides,
        ),
        (Slice::F64(a), Slice::F64(b), SliceMut::F64(c)) => dgemm(
            m,
            k,
            n,
            alpha.to_f64(),
            a,
            a_strides,
            b,
            b_strides,
            beta.to_f64(),
            c,
            c_strides,
        ),
        _ => unreachable!("a, b and c share the element type E"),
    }
}

/// `c = alpha a b + beta c` in single precision, `a` being `m x k`, `b` `k x n`, `c` `m x n`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn sgemm(
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: &[f32],
    a_strides: Strides,
    b: &[f32],
    b_strides: Strides,
    beta: f32,
    c: &mut [f32],
    c_strides: Strides,
) {
    if m == 0 || n == 0 {
        return;
    }
    if fast_path_applies(a_strides, b_strides, c_strides) {
        check_extent("a", a.len(), m, k, a_strides);
        check_extent("b", b.len(), k, n, b_strides);
        check_extent("c", c.len(), m, n, c_strides);
        let a = Operand::new(a.as_ptr(), a_strides);
        let b = Operand::new(b.as_ptr(), b_strides);
        let c = SendPtr(c.as_mut_ptr());
        // SAFETY: `fast_path_applies` checked for AVX-512F; the extents were checked above.
        unsafe { blocked(m, k, n, alpha, a, b, beta, c, c_strides.0 as usize) };
    } else {
        fallback(
            m, k, n, alpha, a, a_strides, b, b_strides, beta, c, c_strides,
        );
    }
}

/// `c = alpha a b + beta c` in double precision (used by gradient checks): `matrixmultiply`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn dgemm(
    m: usize,
    k: usize,
    n: usize,
    alpha: f64,
    a: &[f64],
    a_strides: Strides,
    b: &[f64],
    b_strides: Strides,
    beta: f64,
    c: &mut [f64],
    c_strides: Strides,
) {
    fallback(
        m, k, n, alpha, a, a_strides, b, b_strides, beta, c, c_strides,
    );
}

/// Whether this CPU has the AVX-512 micro-kernels (checked once; `SHAPED_PORTABLE_GEMM=1`
/// turns it off, to test or compare the portable path).
pub(crate) fn has_fast_kernel() -> bool {
    static FAST: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *FAST.get_or_init(|| {
        let portable = std::env::var("SHAPED_PORTABLE_GEMM").is_ok_and(|v| v != "0");
        #[cfg(target_arch = "x86_64")]
        let fast = std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl");
        #[cfg(not(target_arch = "x86_64"))]
        let fast = false;
        fast && !portable
    })
}

fn fast_path_applies(a: Strides, b: Strides, c: Strides) -> bool {
    has_fast_kernel() && c.1 == 1 && c.0 >= 0 && a.0 >= 0 && a.1 >= 0 && b.0 >= 0 && b.1 >= 0
}

/// Panics (instead of reading out of bounds) when a caller's buffer is too short: every
/// caller inside the crate sizes its buffers from checked shapes, so this is a bug check.
fn check_extent(name: &str, len: usize, rows: usize, cols: usize, (rs, cs): Strides) {
    if rows == 0 || cols == 0 {
        return;
    }
    let last = (rows - 1) * rs as usize + (cols - 1) * cs as usize;
    assert!(
        last < len,
        "gemm: operand {name} ({rows} x {cols}, strides {rs}, {cs}) needs {} elements, has {len}",
        last + 1
    );
}

#[derive(Clone, Copy)]
struct Operand {
    ptr: *const f32,
    rs: usize,
    cs: usize,
}

impl Operand {
    fn new(ptr: *const f32, (rs, cs): Strides) -> Self {
        Operand {
            ptr,
            rs: rs as usize,
            cs: cs as usize,
        }
    }
    /// The operand from element `(i, j)` on.
    fn at(self, i: usize, j: usize) -> Self {
        Operand {
            ptr: self.ptr.wrapping_add(i * self.rs + j * self.cs),
            ..self
        }
    }
}

#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: every thread writes a disjoint block of `C`; `A` and `B` are only read.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

impl SendPtr {
    /// The pointer (a method, so that closures capture the whole `Sync` wrapper).
    fn get(self) -> *mut f32 {
        self.0
    }
}
unsafe impl Send for Operand {}
unsafe impl Sync for Operand {}

/// Splits `C` into blocks for the pool's threads and runs [`serial`] on each.
///
/// # Safety
/// AVX-512F must be available and the operands valid for their extents.
#[allow(clippy::too_many_arguments)]
unsafe fn blocked(
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: Operand,
    b: Operand,
    beta: f32,
    c: SendPtr,
    rsc: usize,
) {
    let flops = 2 * m * k * n;
    let threads = if flops >= PARALLEL_FLOPS {
        threads::threads()
    } else {
        1
    };
    // Split the longer side in whole micro-panels, so no thread gets a ragged block.
    let (parts, split_n) = if threads > 1 && n >= 2 * NR && n / NR >= m / MR {
        (threads.min(n / NR), true)
    } else if threads > 1 && m >= 2 * MR {
        (threads.min(m / MR), false)
    } else {
        (1, true)
    };
    let (len, unit) = if split_n { (n, NR) } else { (m, MR) };
    let chunk = len.div_ceil(unit).div_ceil(parts) * unit;
    let task = |t: usize| {
        let start = (t * chunk).min(len);
        let end = (start + chunk).min(len);
        if start == end {
            return;
        }
        // SAFETY: blocks are disjoint and inside the checked extents.
        unsafe {
            if split_n {
                let cp = SendPtr(c.get().add(start));
                serial(m, k, end - start, alpha, a, b.at(0, start), beta, cp, rsc);
            } else {
                let cp = SendPtr(c.get().add(start * rsc));
                serial(end - start, k, n, alpha, a.at(start, 0), b, beta, cp, rsc);
            }
        }
    };
    threads::run(parts, &task);
}

/// Packing buffers, one pair per thread, reused across calls.
struct Scratch {
    a: Vec<f32>,
    b: Vec<f32>,
}

thread_local! {
    static SCRATCH: core::cell::RefCell<Scratch> =
        const { core::cell::RefCell::new(Scratch { a: Vec::new(), b: Vec::new() }) };
}

/// A 64-byte aligned slice of at least `len` elements inside `buf` (zmm loads that do not
/// straddle cache lines).
fn aligned(buf: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buf.len() < len + 16 {
        *buf = vec![0.0; len + 16];
    }
    let offset = buf.as_ptr().align_offset(64).min(15);
    &mut buf[offset..offset + len]
}

/// The single-threaded blocked product (see the module docs).
///
/// # Safety
/// As [`blocked`].
#[allow(clippy::too_many_arguments)]
unsafe fn serial(
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: Operand,
    b: Operand,
    beta: f32,
    c: SendPtr,
    rsc: usize,
) {
    if k == 0 || alpha == 0.0 {
        // SAFETY: rows of `c` inside the checked extent.
        unsafe { scale_c(m, n, beta, c.0, rsc) };
        return;
    }
    if a.cs == 1 && b.rs == 1 && k >= DOT_MIN_K && (m <= 64 || k >= 128) {
        // SAFETY: as this function's.
        unsafe { dot_products(m, k, n, alpha, a, b, beta, c, rsc) };
        return;
    }
    SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        let Scratch { a: abuf, b: bbuf } = &mut *s;
        let direct_b = b.cs == 1 && KC.min(k) * n <= DIRECT_B_ELEMS;
        let nc_max = if direct_b { n } else { NC.min(n) };
        let apack = aligned(abuf, MC.min(m).next_multiple_of(MR) * KC.min(k));
        let bpack = if direct_b {
            &mut [][..]
        } else {
            aligned(bbuf, nc_max.next_multiple_of(NR) * KC.min(k))
        };
        for jc in (0..n).step_by(nc_max) {
            let nc = nc_max.min(n - jc);
            for pc in (0..k).step_by(KC) {
                let kc = KC.min(k - pc);
                let beta = if pc == 0 { beta } else { 1.0 };
                if !direct_b {
                    pack_b(bpack, b.at(pc, jc), kc, nc);
                }
                for ic in (0..m).step_by(MC) {
                    let mc = MC.min(m - ic);
                    pack_a(apack, a.at(ic, pc), mc, kc);
                    for jr in (0..nc).step_by(NR) {
                        let nr = NR.min(nc - jr);
                        let (bp, b_stride) = if direct_b {
                            (b.at(pc, jc + jr).ptr, b.rs)
                        } else {
                            (bpack[jr * kc..].as_ptr(), NR)
                        };
                        for ir in (0..mc).step_by(MR) {
                            let mr = MR.min(mc - ir);
                            // SAFETY: panels and the C block are inside their buffers.
                            #[cfg(target_arch = "x86_64")]
                            unsafe {
                                avx512::kernel(
                                    kc,
                                    apack[ir * kc..].as_ptr(),
                                    bp,
                                    b_stride,
                                    c.0.add((ic + ir) * rsc + jc + jr),
                                    rsc,
                                    mr,
                                    nr,
                                    alpha,
                                    beta,
                                )
                            };
                            #[cfg(not(target_arch = "x86_64"))]
                            unreachable!("no fast kernel on this architecture");
                        }
                    }
                }
            }
        }
    });
}

/// `C = alpha A B + beta C` when `A`'s rows and `B`'s columns are both contiguous (the
/// `x W^T` of a linear layer, or a convolution's weight gradient): every entry is a dot
/// product of two contiguous vectors, computed in place by [`avx512::dot_kernel`] without
/// packing either operand. Columns are taken in blocks of `DOT_BLOCK` rows of `B^T`, which
/// stay in L2 while every row block of `A` passes over them.
///
/// # Safety
/// As [`blocked`].
#[allow(clippy::too_many_arguments)]
unsafe fn dot_products(
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: Operand,
    b: Operand,
    beta: f32,
    c: SendPtr,
    rsc: usize,
) {
    use avx512::DOT;
    const DOT_BLOCK: usize = 64;
    for j0 in (0..n).step_by(DOT_BLOCK) {
        let j_end = (j0 + DOT_BLOCK).min(n);
        for i in (0..m).step_by(DOT) {
            for j in (j0..j_end).step_by(DOT) {
                // SAFETY: rows i.., columns j.. are inside the checked extents.
                #[cfg(target_arch = "x86_64")]
                unsafe {
                    avx512::dot_kernel(
                        k,
                        a.at(i, 0).ptr,
                        a.rs,
                        b.at(0, j).ptr,
                        b.cs,
                        c.get().add(i * rsc + j),
                        rsc,
                        DOT.min(m - i),
                        DOT.min(j_end - j),
                        alpha,
                        beta,
                    )
                };
                #[cfg(not(target_arch = "x86_64"))]
                unreachable!("no fast kernel on this architecture");
            }
        }
    }
}

/// `c = beta c` (`beta == 0` writes zeros without reading, so NaN in `c` does not survive).
unsafe fn scale_c(m: usize, n: usize, beta: f32, c: *mut f32, rsc: usize) {
    for i in 0..m {
        // SAFETY: row `i` of `c` is inside the checked extent.
        let row = unsafe { core::slice::from_raw_parts_mut(c.add(i * rsc), n) };
        if beta == 0.0 {
            row.fill(0.0);
        } else {
            row.iter_mut().for_each(|v| *v *= beta);
        }
    }
}

/// Packs rows `..mc` and columns `..kc` of `a` into panels of `MR` rows: panel `r` holds,
/// for each `p`, the `MR` values `a[r*MR + i, p]` (zero past `mc`).
fn pack_a(dst: &mut [f32], a: Operand, mc: usize, kc: usize) {
    for (panel, out) in dst
        .chunks_exact_mut(MR * kc)
        .take(mc.div_ceil(MR))
        .enumerate()
    {
        let rows = MR.min(mc - panel * MR);
        let src = a.at(panel * MR, 0);
        for (p, group) in out.chunks_exact_mut(MR).enumerate() {
            for (i, v) in group.iter_mut().enumerate() {
                // SAFETY: (panel*MR + i, p) is inside the operand's checked extent.
                *v = if i < rows {
                    unsafe { *src.ptr.add(i * src.rs + p * src.cs) }
                } else {
                    0.0
                };
            }
        }
    }
}

/// Packs rows `..kc` and columns `..nc` of `b` into panels of `NR` columns: panel `j` holds,
/// for each `p`, the `NR` values `b[p, j*NR + jj]` (zero past `nc`).
fn pack_b(dst: &mut [f32], b: Operand, kc: usize, nc: usize) {
    for (panel, out) in dst
        .chunks_exact_mut(NR * kc)
        .take(nc.div_ceil(NR))
        .enumerate()
    {
        let cols = NR.min(nc - panel * NR);
        let src = b.at(0, panel * NR);
        if src.cs == 1 {
            for (p, group) in out.chunks_exact_mut(NR).enumerate() {
                // SAFETY: row p, columns ..cols of the panel are inside the checked extent.
                let row = unsafe { core::slice::from_raw_parts(src.ptr.add(p * src.rs), cols) };
                group[..cols].copy_from_slice(row);
                group[cols..].fill(0.0);
            }
        } else {
            // Column-major `b` (the transposed weight of `x W^T`): walk each source column
            // contiguously and scatter into the panel.
            if cols < NR {
                out.fill(0.0);
            }
            for jj in 0..cols {
                for p in 0..kc {
                    // SAFETY: (p, panel*NR + jj) is inside the checked extent.
                    out[p * NR + jj] = unsafe { *src.ptr.add(p * src.rs + jj * src.cs) };
                }
            }
        }
    }
}

/// `matrixmultiply`, with small products kept on one thread.
#[allow(clippy::too_many_arguments)]
fn fallback<E: MmElement>(
    m: usize,
    k: usize,
    n: usize,
    alpha: E,
    a: &[E],
    a_strides: Strides,
    b: &[E],
    b_strides: Strides,
    beta: E,
    c: &mut [E],
    c_strides: Strides,
) {
    if m == 0 || n == 0 {
        return;
    }
    // matrixmultiply starts threads once m*k + k*n reaches 2^15, which costs more than it
    // saves on small products (a 16x128 by 128x512 LSTM step: 13.4 ms per training step
    // threaded vs 10.4 single). Below SMALL_GEMM_FLOPS, split the columns so that every call
    // stays under its threshold and runs on one thread.
    const SMALL_GEMM_FLOPS: usize = 1 << 22;
    let (cs_b, cs_c) = (b_strides.1, c_strides.1);
    if 2 * m * k * n < SMALL_GEMM_FLOPS && m * k < (1 << 14) && cs_b >= 0 && cs_c >= 0 {
        let block = ((1usize << 15) - 1 - m * k) / k.max(1);
        if block >= 16 && block < n {
            let mut j0 = 0;
            while j0 < n {
                let nn = block.min(n - j0);
                fallback(
                    m,
                    k,
                    nn,
                    alpha,
                    a,
                    a_strides,
                    &b[j0 * cs_b as usize..],
                    b_strides,
                    beta,
                    &mut c[j0 * cs_c as usize..],
                    c_strides,
                );
                j0 += nn;
            }
            return;
        }
    }
    // SAFETY: callers pass buffers that hold every element the strides reach.
    unsafe {
        E::raw_gemm(
            m,
            k,
            n,
            alpha,
            a.as_ptr(),
            a_strides,
            b.as_ptr(),
            b_strides,
            beta,
            c.as_mut_ptr(),
            c_strides,
        )
    }
}

/// The element types `matrixmultiply` multiplies.
trait MmElement: Copy {
    #[allow(clippy::too_many_arguments)]
    unsafe fn raw_gemm(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: *const Self,
        a_strides: Strides,
        b: *const Self,
        b_strides: Strides,
        beta: Self,
        c: *mut Self,
        c_strides: Strides,
    );
}

macro_rules! mm_element {
    ($t:ty, $f:path) => {
        impl MmElement for $t {
            unsafe fn raw_gemm(
                m: usize,
                k: usize,
                n: usize,
                alpha: Self,
                a: *const Self,
                (rsa, csa): Strides,
                b: *const Self,
                (rsb, csb): Strides,
                beta: Self,
                c: *mut Self,
                (rsc, csc): Strides,
            ) {
                // SAFETY: forwarded from the caller.
                unsafe { $f(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc) }
            }
        }
    };
}
mm_element!(f32, matrixmultiply::sgemm);
mm_element!(f64, matrixmultiply::dgemm);

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    /// Every layout the crate uses (row/column-major operands), ragged sizes around the
    /// block sizes, both betas and threaded sizes, against the portable product.
    #[test]
    fn fast_product_matches_portable() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let sizes = [
            (1, 1, 1),
            (3, 5, 7),
            (8, 256, 32),
            (9, 257, 33),
            (16, 128, 512),
            (64, 784, 256),
            (130, 300, 70),
            (33, 40, 2100),
            (200, 600, 300),
        ];
        for &(m, k, n) in &sizes {
            for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                for beta in [0.0f32, 1.0, 0.5] {
                    let a: Vec<f32> = (0..m * k).map(|_| rng.random_range(-1.0..1.0)).collect();
                    let b: Vec<f32> = (0..k * n).map(|_| rng.random_range(-1.0..1.0)).collect();
                    let c0: Vec<f32> = (0..m * n).map(|_| rng.random_range(-1.0..1.0)).collect();
                    let sa = if ta { (1, m as isize) } else { (k as isize, 1) };
                    let sb = if tb { (1, k as isize) } else { (n as isize, 1) };
                    let sc = (n as isize, 1);
                    let (mut fast, mut slow) = (c0.clone(), c0.clone());
                    sgemm(m, k, n, 0.75, &a, sa, &b, sb, beta, &mut fast, sc);
                    fallback(m, k, n, 0.75, &a, sa, &b, sb, beta, &mut slow, sc);
                    for (i, (x, y)) in fast.iter().zip(&slow).enumerate() {
                        assert!(
                            (x - y).abs() <= 1e-4 * (1.0 + y.abs()) * (k as f32).sqrt(),
                            "{m}x{k}x{n} ta={ta} tb={tb} beta={beta}: c[{i}] = {x}, expected {y}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn beta_zero_ignores_nan_in_c_and_k_zero_scales() {
        let a = [1.0f32; 6];
        let b = [1.0f32; 6];
        let mut c = [f32::NAN; 4];
        sgemm(2, 3, 2, 1.0, &a, (3, 1), &b, (2, 1), 0.0, &mut c, (2, 1));
        assert_eq!(c, [3.0; 4]);
        sgemm(2, 0, 2, 1.0, &[], (0, 1), &[], (2, 1), 0.5, &mut c, (2, 1));
        assert_eq!(c, [1.5; 4]);
    }

    #[test]
    fn strided_c_rows_leave_gaps_untouched() {
        let a = [1.0f32, 2.0, 3.0, 4.0];
        let b = [1.0f32, 0.0, 0.0, 1.0];
        let mut c = [9.0f32; 6];
        sgemm(2, 2, 2, 1.0, &a, (2, 1), &b, (2, 1), 0.0, &mut c, (3, 1));
        assert_eq!(c, [1.0, 2.0, 9.0, 3.0, 4.0, 9.0]);
    }
}
