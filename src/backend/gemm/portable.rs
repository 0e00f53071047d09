//! The portable product: `matrixmultiply` (its own kernels for SSE2, AVX2, NEON), for CPUs
//! without the fast kernels, column-strided or negatively strided `C`, and
//! `SHAPED_GEMM=portable`; split over the crate's threads.

use super::{Out, Strides, blocked, check_extent};
use crate::backend::threads;

/// `matrixmultiply` on one thread per block of rows (or columns) of `c`, spread over the
/// crate's threads from [`blocked::PARALLEL_FLOPS`] on. matrixmultiply is built without its
/// `threading` feature: that pulled thread-tree, crossbeam and num_cpus into every build
/// (issue 15), ignored `SHAPED_NUM_THREADS`, and started threads on products too small to
/// gain from them.
#[allow(clippy::too_many_arguments)]
pub(super) fn fallback<E: MmElement>(
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
    // SAFETY: `c` is an initialised slice, borrowed for the call.
    unsafe {
        fallback_to(
            m,
            k,
            n,
            alpha,
            a,
            a_strides,
            b,
            b_strides,
            beta,
            Out::of(c),
            c_strides,
        )
    }
}

/// [`fallback`] into `c` given as an [`Out`]: `matrixmultiply` does not read `C` when
/// `beta == 0` ("C does not need to be initialized", its documentation says).
///
/// # Safety
/// As [`super::product_to`].
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn fallback_to<E: MmElement>(
    m: usize,
    k: usize,
    n: usize,
    alpha: E,
    a: &[E],
    a_strides: Strides,
    b: &[E],
    b_strides: Strides,
    beta: E,
    c: Out<E>,
    c_strides: Strides,
) {
    if m == 0 || n == 0 {
        return;
    }
    check_extent("a", a.len(), m, k, a_strides);
    check_extent("b", b.len(), k, n, b_strides);
    check_extent("c", c.len, m, n, c_strides);
    let flops = (2 * m * k).saturating_mul(n);
    let threads = if flops >= blocked::PARALLEL_FLOPS {
        threads::threads()
    } else {
        1
    };
    // Blocks of `c` that share no element: rows when a row's span (`(n - 1) |cs|`) is below
    // the row stride, columns when a column's is below the column stride.
    let (rs, cs) = (c_strides.0.unsigned_abs(), c_strides.1.unsigned_abs());
    let rows_apart = m > 1 && rs as u128 > (n as u128 - 1) * cs as u128;
    let cols_apart = n > 1 && cs as u128 > (m as u128 - 1) * rs as u128;
    // Whole multiples of matrixmultiply's largest register block (16) per thread.
    let blocks = |len: usize| threads.min(len / 16);
    let (by_rows, parts) = if rows_apart && blocks(m) > 1 {
        (true, blocks(m))
    } else if cols_apart && blocks(n) > 1 {
        (false, blocks(n))
    } else {
        (true, 1)
    };
    let len = if by_rows { m } else { n };
    let chunk = len.div_ceil(parts).next_multiple_of(16).min(len);
    let ptrs = SharedOperands(a.as_ptr(), b.as_ptr(), c.ptr);
    let task = |t: usize| {
        let start = t * chunk;
        if start >= len {
            return;
        }
        let count = chunk.min(len - start);
        let (a, b, c) = ptrs.get();
        let at = |stride: isize| start as isize * stride;
        // SAFETY: `check_extent` above asserted that every element the strides reach lies
        // inside `a`, `b` and `c`; a block starts inside them and reaches a subset of those
        // elements. The blocks of `c` share no element (`rows_apart`/`cols_apart`), so no
        // two threads write the same one.
        unsafe {
            if by_rows {
                E::raw_gemm(
                    count,
                    k,
                    n,
                    alpha,
                    a.wrapping_offset(at(a_strides.0)),
                    a_strides,
                    b,
                    b_strides,
                    beta,
                    c.wrapping_offset(at(c_strides.0)),
                    c_strides,
                )
            } else {
                E::raw_gemm(
                    m,
                    k,
                    count,
                    alpha,
                    a,
                    a_strides,
                    b.wrapping_offset(at(b_strides.1)),
                    b_strides,
                    beta,
                    c.wrapping_offset(at(c_strides.1)),
                    c_strides,
                )
            }
        }
    };
    if parts > 1 {
        threads::run(parts, &task);
    } else {
        task(0);
    }
}

/// The operands of one [`fallback`] product, shared by its threads.
#[derive(Clone, Copy)]
struct SharedOperands<E>(*const E, *const E, *mut E);
// SAFETY: `a` and `b` are only read and every thread writes a disjoint block of `c`, while
// the slices they were made from are borrowed by the `fallback` call, which waits for all
// threads.
unsafe impl<E: Send + Sync> Sync for SharedOperands<E> {}

impl<E> SharedOperands<E> {
    /// The pointers (a method, so that closures capture the whole `Sync` wrapper).
    fn get(self) -> (*const E, *const E, *mut E) {
        (self.0, self.1, self.2)
    }
}

/// The element types `matrixmultiply` multiplies.
pub(super) trait MmElement: Copy + Send + Sync {
    /// # Safety
    /// `matrixmultiply`'s contract: every element the strides reach is inside its buffer.
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
