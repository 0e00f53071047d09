//! General matrix products `C = alpha A B + beta C` with arbitrary strides.
//!
//! On x86-64 both element types run our own blocked product ([`blocked`]: packing, cache
//! blocking, threads) over a register-block micro-kernel chosen at run time: AVX-512F
//! ([`avx512`]) where the CPU has it, else AVX2 + FMA ([`avx2`]). Everything else (other
//! CPUs such as ARM, column-strided `C`, negative strides) goes to `matrixmultiply`
//! ([`portable`]), which stays the portable path and is tested against the fast ones.
//!
//! `SHAPED_GEMM=avx512|avx2|portable` picks a path (one the CPU lacks falls back to the next
//! one down), to test or compare them on one machine; `SHAPED_PORTABLE_GEMM=1` is
//! `SHAPED_GEMM=portable`.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod blocked;
#[cfg(target_arch = "x86_64")]
mod dot;
mod pack;
mod portable;
mod small_rows;
#[cfg(test)]
mod tests;
mod transpose;

use crate::dtype::Float;
use crate::dtype::private::{Slice, SliceMut};
use core::mem::MaybeUninit;
use portable::{MmElement, fallback, fallback_to};

/// Strides of a matrix operand: element `(i, j)` is at `i * rows + j * cols`.
pub(crate) type Strides = (isize, isize);
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

/// [`gemm`] with `beta = 0` into `c`, a row-major `m x n` matrix that may be uninitialised
/// and is written in full: a new output or gradient needs no zero fill first (no path reads
/// `C` when `beta == 0`, and `k == 0` writes zeros; tests.rs checks both over NaN).
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_uninit<E: Float>(
    m: usize,
    k: usize,
    n: usize,
    alpha: E,
    a: &[E],
    a_strides: Strides,
    b: &[E],
    b_strides: Strides,
    c: &mut [MaybeUninit<E>],
) {
    assert_eq!(c.len(), m * n, "gemm_uninit: c holds the m x n product");
    super::init();
    let (out, c_strides) = (Out::uninit(c), (n as isize, 1));
    match (E::concrete(a), E::concrete(b)) {
        // SAFETY: `out` is valid for writes of its `m * n` elements and `beta == 0`. `a` is
        // `&[f32]`, so `E` is `f32` (`Float` is sealed to f32 and f64) and so is `c`.
        (Slice::F32(a), Slice::F32(b)) => unsafe {
            product_to(
                m,
                k,
                n,
                alpha.to_f64() as f32,
                a,
                a_strides,
                b,
                b_strides,
                0.0,
                out.cast(),
                c_strides,
            )
        },
        // SAFETY: as above, for f64.
        (Slice::F64(a), Slice::F64(b)) => unsafe {
            product_to(
                m,
                k,
                n,
                alpha.to_f64(),
                a,
                a_strides,
                b,
                b_strides,
                0.0,
                out.cast(),
                c_strides,
            )
        },
        _ => unreachable!("a, b and c share the element type E"),
    }
}

/// Where a product writes: `len` elements from `ptr`, borrowed for the call. Made from an
/// initialised slice ([`Out::of`]), or from uninitialised memory for `beta == 0`, which no
/// path reads ([`gemm_uninit`]).
#[derive(Clone, Copy)]
struct Out<E> {
    ptr: *mut E,
    len: usize,
}

impl<E> Out<E> {
    fn of(c: &mut [E]) -> Self {
        Out {
            ptr: c.as_mut_ptr(),
            len: c.len(),
        }
    }
    fn uninit(c: &mut [MaybeUninit<E>]) -> Self {
        Out {
            ptr: c.as_mut_ptr().cast(),
            len: c.len(),
        }
    }
    /// The same memory as another element type (of which the caller knows it holds).
    fn cast<T>(self) -> Out<T> {
        Out {
            ptr: self.ptr.cast(),
            len: self.len,
        }
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
    // SAFETY: `c` is an initialised slice of `c.len()` elements, borrowed for the call.
    unsafe {
        product_to(
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

/// `c = alpha a b + beta c` in double precision (the `f64` models and gradient checks).
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
    // SAFETY: `c` is an initialised slice of `c.len()` elements, borrowed for the call.
    unsafe {
        product_to(
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

/// [`sgemm`] or [`dgemm`] into `c` given as an [`Out`]: the fastest path for the strides.
///
/// # Safety
/// `c` is valid for writes of `c.len` elements, initialised unless `beta == 0`.
#[allow(clippy::too_many_arguments)]
unsafe fn product_to<E: PackElement>(
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
    // SAFETY: forwarded; `fast_isa` picks an instruction set this CPU has.
    unsafe {
        match fast_isa(a_strides, b_strides, c_strides) {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => fast_to::<E::Avx512>(
                m, k, n, alpha, a, a_strides, b, b_strides, beta, c, c_strides,
            ),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => fast_to::<E::Avx2>(
                m, k, n, alpha, a, a_strides, b, b_strides, beta, c, c_strides,
            ),
            _ => fallback_to(
                m, k, n, alpha, a, a_strides, b, b_strides, beta, c, c_strides,
            ),
        }
    }
}

/// The blocked product with micro-kernel `K` into an initialised `c` (see [`fast_to`]).
#[cfg(test)]
#[allow(clippy::too_many_arguments)]
fn fast<K: blocked::Kernel>(
    m: usize,
    k: usize,
    n: usize,
    alpha: K::E,
    a: &[K::E],
    a_strides: Strides,
    b: &[K::E],
    b_strides: Strides,
    beta: K::E,
    c: &mut [K::E],
    c_strides: Strides,
) {
    // SAFETY: `c` is an initialised slice, borrowed for the call.
    unsafe {
        fast_to::<K>(
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

/// The blocked product with micro-kernel `K`, after the extent checks it relies on.
///
/// # Safety
/// As [`product_to`]; the CPU has `K`'s instruction set (as [`fast_isa`] checks).
#[allow(clippy::too_many_arguments)]
unsafe fn fast_to<K: blocked::Kernel>(
    m: usize,
    k: usize,
    n: usize,
    alpha: K::E,
    a: &[K::E],
    a_strides: Strides,
    b: &[K::E],
    b_strides: Strides,
    beta: K::E,
    c: Out<K::E>,
    c_strides: Strides,
) {
    if m == 0 || n == 0 {
        return;
    }
    check_extent("a", a.len(), m, k, a_strides);
    check_extent("b", b.len(), k, n, b_strides);
    check_extent("c", c.len, m, n, c_strides);
    let a = Operand::new(a.as_ptr(), a_strides);
    let b = Operand::new(b.as_ptr(), b_strides);
    let c = SendPtr(c.ptr);
    // SAFETY: the caller runs this only with an instruction set this CPU has (so `K`'s),
    // and `fast_isa` only for non-negative strides with contiguous columns of `c`;
    // `check_extent` above asserted that every element the strides reach is inside `a`,
    // `b` and `c` (initialised unless `beta == 0`, which no kernel reads): the contract of
    // `blocked::product`.
    unsafe { blocked::product::<K>(m, k, n, alpha, a, b, beta, c, c_strides.0 as usize) };
}

/// A right operand `B` (`k x n`) packed once for many products (an LSTM's hidden weight,
/// multiplied at every step of a sequence): [`gemm_packed`] then reads its panels without
/// packing or reading `B` in place, whose rows, `n` values apart, fall into few cache sets
/// when `n` is a power of two (16 x 512 x 128 f32 on one thread: 13.3 -> 11.4 us).
pub(crate) struct PackedB<E> {
    k: usize,
    n: usize,
    isa: Isa,
    /// The packed panels (or, on the portable path, `B` row-major), from `start` on: the
    /// first 64-byte boundary of the buffer, so that vector loads do not straddle lines.
    data: Packed,
    start: usize,
    _element: core::marker::PhantomData<E>,
}

enum Packed {
    F32(Vec<f32>),
    F64(Vec<f64>),
}

impl<E: Float> PackedB<E> {
    /// Packs `b` (`k x n`, with `b_strides`) for the micro-kernels this process uses.
    pub(crate) fn new(k: usize, n: usize, b: &[E], b_strides: Strides) -> Self {
        Self::for_isa(fast_isa((0, 0), b_strides, (0, 1)), k, n, b, b_strides)
    }

    /// [`PackedB::new`] for the kernels of `isa` (which this CPU must have, and which must
    /// be `Portable` for negative strides).
    fn for_isa(isa: Isa, k: usize, n: usize, b: &[E], b_strides: Strides) -> Self {
        super::init();
        check_extent("b", b.len(), k, n, b_strides);
        let (data, start) = match E::concrete(b) {
            Slice::F32(b) => {
                let (v, start) = pack_for::<f32>(isa, k, n, b, b_strides);
                (Packed::F32(v), start)
            }
            Slice::F64(b) => {
                let (v, start) = pack_for::<f64>(isa, k, n, b, b_strides);
                (Packed::F64(v), start)
            }
        };
        PackedB {
            k,
            n,
            isa,
            data,
            start,
            _element: core::marker::PhantomData,
        }
    }
}

/// How many buffers of dropped [`PackedB`]s a thread keeps for the next ones.
const SPARE_PACKED_B: usize = 2;

thread_local! {
    /// Buffers of this thread's dropped [`PackedB`]s: an LSTM packs its hidden weight twice
    /// per training step, and a new zero-filled buffer each time cost about as much as the
    /// packing itself, on the thread that every other one then waits for.
    static SPARE_F32: core::cell::RefCell<Vec<Vec<f32>>> = const { core::cell::RefCell::new(Vec::new()) };
    static SPARE_F64: core::cell::RefCell<Vec<Vec<f64>>> = const { core::cell::RefCell::new(Vec::new()) };
}

type Spares<T> = std::thread::LocalKey<core::cell::RefCell<Vec<Vec<T>>>>;

/// The element types of the fast products (and of [`PackedB`]), with their kernels.
trait PackElement: MmElement + Float {
    #[cfg(target_arch = "x86_64")]
    type Avx512: blocked::Kernel<E = Self>;
    #[cfg(target_arch = "x86_64")]
    type Avx2: blocked::Kernel<E = Self>;
    /// This thread's spare [`PackedB`] buffers.
    fn spares() -> &'static Spares<Self>;
}
impl PackElement for f32 {
    #[cfg(target_arch = "x86_64")]
    type Avx512 = avx512::F32;
    #[cfg(target_arch = "x86_64")]
    type Avx2 = avx2::F32;
    fn spares() -> &'static Spares<Self> {
        &SPARE_F32
    }
}
impl PackElement for f64 {
    #[cfg(target_arch = "x86_64")]
    type Avx512 = avx512::F64;
    #[cfg(target_arch = "x86_64")]
    type Avx2 = avx2::F64;
    fn spares() -> &'static Spares<Self> {
        &SPARE_F64
    }
}

/// Keeps `buf` for the next [`PackedB`] of this thread, if there is room.
fn keep_spare<T: PackElement>(buf: Vec<T>) {
    // `try_with`: a `PackedB` dropped while the thread shuts down just frees its buffer.
    let _ = T::spares().try_with(|spares| {
        let mut spares = spares.borrow_mut();
        if spares.len() < SPARE_PACKED_B {
            spares.push(buf);
        }
    });
}

impl<E> Drop for PackedB<E> {
    fn drop(&mut self) {
        match &mut self.data {
            Packed::F32(v) => keep_spare(core::mem::take(v)),
            Packed::F64(v) => keep_spare(core::mem::take(v)),
        }
    }
}

/// `b` packed for `isa`'s kernel (or copied row-major for the portable path), and the
/// offset of its first 64-byte aligned element.
fn pack_for<T: PackElement>(
    isa: Isa,
    k: usize,
    n: usize,
    b: &[T],
    b_strides: Strides,
) -> (Vec<T>, usize) {
    /// A buffer of `len` elements from a 64-byte boundary on (old values where it is a
    /// spare: every caller writes all `len`).
    fn buffer<T: PackElement>(len: usize) -> (Vec<T>, usize) {
        let total = len + 64 / size_of::<T>();
        let mut v = T::spares()
            .with(|spares| {
                let mut spares = spares.borrow_mut();
                let fits = spares.iter().position(|v| v.capacity() >= total)?;
                Some(spares.swap_remove(fits))
            })
            .unwrap_or_default();
        v.truncate(total);
        v.resize(total, T::ZERO);
        let start = v.as_ptr().align_offset(64).min(64 / size_of::<T>());
        (v, start)
    }
    fn packed<K: blocked::Kernel<E: PackElement>>(
        k: usize,
        n: usize,
        b: &[K::E],
        s: Strides,
    ) -> (Vec<K::E>, usize) {
        let (mut v, start) = buffer::<K::E>(blocked::prepacked_len::<K>(k, n));
        // SAFETY: the buffer holds `prepacked_len` values from `start`; `b`'s extent was
        // checked by the caller.
        unsafe {
            blocked::prepack_b::<K>(v[start..].as_mut_ptr(), Operand::new(b.as_ptr(), s), k, n)
        };
        (v, start)
    }
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => packed::<T::Avx512>(k, n, b, b_strides),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => packed::<T::Avx2>(k, n, b, b_strides),
        _ => {
            let (mut v, start) = buffer::<T>(k * n);
            for (i, row) in v[start..].chunks_exact_mut(n.max(1)).take(k).enumerate() {
                for (j, out) in row.iter_mut().enumerate() {
                    *out = b[(i as isize * b_strides.0 + j as isize * b_strides.1) as usize];
                }
            }
            (v, start)
        }
    }
}

/// `c = alpha a b + beta c` with a pre-packed `b` ([`PackedB`]); `a` is `m x b.k`, `c`
/// `m x b.n`. `a` and `c` need non-negative strides and `c` contiguous columns (as every
/// caller's row-major buffers have).
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_packed<E: Float>(
    m: usize,
    alpha: E,
    a: &[E],
    a_strides: Strides,
    b: &PackedB<E>,
    beta: E,
    c: &mut [E],
    c_strides: Strides,
) {
    match (E::concrete(a), &b.data, E::concrete_mut(c)) {
        (Slice::F32(a), Packed::F32(data), SliceMut::F32(c)) => packed_product(
            m,
            alpha.to_f64() as f32,
            a,
            a_strides,
            b,
            &data[b.start..],
            beta.to_f64() as f32,
            c,
            c_strides,
        ),
        (Slice::F64(a), Packed::F64(data), SliceMut::F64(c)) => packed_product(
            m,
            alpha.to_f64(),
            a,
            a_strides,
            b,
            &data[b.start..],
            beta.to_f64(),
            c,
            c_strides,
        ),
        _ => unreachable!("a, b and c share the element type E"),
    }
}

#[allow(clippy::too_many_arguments)]
fn packed_product<T: PackElement, E>(
    m: usize,
    alpha: T,
    a: &[T],
    a_strides: Strides,
    b: &PackedB<E>,
    data: &[T],
    beta: T,
    c: &mut [T],
    c_strides: Strides,
) {
    let (k, n) = (b.k, b.n);
    if b.isa == Isa::Portable {
        return fallback(
            m,
            k,
            n,
            alpha,
            a,
            a_strides,
            data,
            (n as isize, 1),
            beta,
            c,
            c_strides,
        );
    }
    assert!(
        a_strides.0 >= 0 && a_strides.1 >= 0 && c_strides.0 >= 0 && c_strides.1 == 1,
        "gemm_packed: a ({a_strides:?}) and c ({c_strides:?}) need non-negative strides and contiguous columns of c"
    );
    if m == 0 || n == 0 {
        return;
    }
    check_extent("a", a.len(), m, k, a_strides);
    check_extent("c", c.len(), m, n, c_strides);
    fn run<K: blocked::Kernel>(
        m: usize,
        (k, n): (usize, usize),
        alpha: K::E,
        a: (&[K::E], Strides),
        data: &[K::E],
        beta: K::E,
        (c, c_strides): (&mut [K::E], Strides),
    ) {
        assert!(data.len() >= blocked::prepacked_len::<K>(k, n));
        let a = Operand::new(a.0.as_ptr(), a.1);
        let c = SendPtr(c.as_mut_ptr());
        // SAFETY: the kernel's instruction set is `b.isa`, which `fast_isa` chose for this
        // CPU; `a` and `c` passed `check_extent` and `fast_isa`'s stride conditions; `data`
        // holds `B` as `prepack_b` wrote it for this `k` and `n` with this kernel.
        unsafe {
            blocked::product_with::<K>(
                m,
                k,
                n,
                alpha,
                a,
                blocked::BSource::Packed(data.as_ptr()),
                beta,
                c,
                c_strides.0 as usize,
            )
        }
    }
    match b.isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => {
            run::<T::Avx512>(m, (k, n), alpha, (a, a_strides), data, beta, (c, c_strides))
        }
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => run::<T::Avx2>(m, (k, n), alpha, (a, a_strides), data, beta, (c, c_strides)),
        _ => unreachable!("the portable path returned above"),
    }
}

/// The instruction sets of the micro-kernels, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Isa {
    Avx512,
    Avx2,
    Portable,
}

/// The micro-kernels this process uses: the best the CPU has, or the one `SHAPED_GEMM`
/// asks for if the CPU has it (checked once).
pub(crate) fn isa() -> Isa {
    static ISA: std::sync::OnceLock<Isa> = std::sync::OnceLock::new();
    *ISA.get_or_init(|| {
        let asked = match std::env::var("SHAPED_GEMM").as_deref().map(str::trim) {
            Ok("avx2") => Isa::Avx2,
            Ok("portable") => Isa::Portable,
            _ if std::env::var("SHAPED_PORTABLE_GEMM").is_ok_and(|v| v != "0") => Isa::Portable,
            _ => Isa::Avx512,
        };
        #[cfg(target_arch = "x86_64")]
        let best = if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl")
        {
            Isa::Avx512
        } else if std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
        {
            Isa::Avx2
        } else {
            Isa::Portable
        };
        #[cfg(not(target_arch = "x86_64"))]
        let best = Isa::Portable;
        // `Isa` is ordered best first: take the lesser of the two.
        if (asked as u8) > (best as u8) {
            asked
        } else {
            best
        }
    })
}

/// The micro-kernels for these strides: [`isa`] when the blocked product takes them
/// (non-negative strides, contiguous columns of `c`), else `Portable`.
fn fast_isa(a: Strides, b: Strides, c: Strides) -> Isa {
    super::init();
    if c.1 == 1 && c.0 >= 0 && a.0 >= 0 && a.1 >= 0 && b.0 >= 0 && b.1 >= 0 {
        isa()
    } else {
        Isa::Portable
    }
}

/// Panics (instead of reading or writing out of bounds) unless every element
/// `i * rows_stride + j * cols_stride` (`i < rows`, `j < cols`) lies inside a buffer of `len`
/// elements. Every caller inside the crate sizes its buffers from checked shapes, so this is a
/// bug check; it is what the unchecked kernels below rely on, so it is computed in `i128`
/// (no wrapping, negative strides allowed).
fn check_extent(name: &str, len: usize, rows: usize, cols: usize, (rs, cs): Strides) {
    if rows == 0 || cols == 0 {
        return;
    }
    let reach = |count: usize, stride: isize| (count as i128 - 1) * stride as i128;
    let (r, c) = (reach(rows, rs), reach(cols, cs));
    let (low, high) = (r.min(0) + c.min(0), r.max(0) + c.max(0));
    assert!(
        low >= 0 && high < len as i128,
        "gemm: operand {name} ({rows} x {cols}, strides {rs}, {cs}) reaches elements {low}..={high}, has {len}"
    );
}

/// A read-only matrix operand with non-negative strides.
#[derive(Clone, Copy)]
pub(super) struct Operand<E> {
    ptr: *const E,
    rs: usize,
    cs: usize,
}

impl<E> Operand<E> {
    fn new(ptr: *const E, (rs, cs): Strides) -> Self {
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

// SAFETY: an operand is only read, while the `&[E]` it was made from is borrowed by the
// `sgemm`/`dgemm` call that runs every thread to completion.
unsafe impl<E: Sync> Send for Operand<E> {}
// SAFETY: as for `Send`: read-only.
unsafe impl<E: Sync> Sync for Operand<E> {}

/// A pointer into `C` (or a packing buffer) shared by the threads of one product.
#[derive(Clone, Copy)]
pub(super) struct SendPtr<E>(*mut E);
// SAFETY: every thread writes a disjoint block (the tiles and packing ranges that
// `blocked::product` hands out do not overlap), and the product waits for all of them
// before the buffer is used again.
unsafe impl<E: Send> Send for SendPtr<E> {}
// SAFETY: as for `Send`: shared use only ever writes disjoint blocks.
unsafe impl<E: Send> Sync for SendPtr<E> {}

impl<E> SendPtr<E> {
    /// The pointer (a method, so that closures capture the whole `Sync` wrapper).
    fn get(self) -> *mut E {
        self.0
    }
}
