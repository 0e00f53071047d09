//! The products against a naive `f64` reference: every path this CPU can run, on any
//! size, layout and alignment of the operands.

use super::super::*;
use rand::RngExt;

/// One product routine: `(m, k, n, alpha, a, a_strides, b, b_strides, beta, c, c_strides)`.
pub(super) type Product<E> =
    fn(usize, usize, usize, E, &[E], Strides, &[E], Strides, E, &mut [E], Strides);

/// Every `f32` path this CPU can run, whatever `SHAPED_GEMM` says.
pub(super) fn f32_paths() -> Vec<(&'static str, Product<f32>)> {
    #[allow(unused_mut)]
    let mut paths: Vec<(&'static str, Product<f32>)> = vec![("portable", fallback::<f32>)];
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl")
        {
            paths.push(("avx512", fast::<avx512::F32>));
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            paths.push(("avx2", fast::<avx2::F32>));
        }
    }
    paths
}

/// Every `f64` path this CPU can run.
pub(super) fn f64_paths() -> Vec<(&'static str, Product<f64>)> {
    #[allow(unused_mut)]
    let mut paths: Vec<(&'static str, Product<f64>)> = vec![("portable", fallback::<f64>)];
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl")
        {
            paths.push(("avx512", fast::<avx512::F64>));
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            paths.push(("avx2", fast::<avx2::F64>));
        }
    }
    paths
}

/// One layout of a product: operands transposed or not, rows padded or not.
#[derive(Clone, Copy, Debug)]
pub(in crate::backend::gemm) struct Layout {
    pub(in crate::backend::gemm) ta: bool,
    pub(in crate::backend::gemm) tb: bool,
    pub(in crate::backend::gemm) pad: usize,
}

/// `(buffer, strides)` of an `r x c` operand stored row-major (or column-major when
/// `transposed`) with `pad` unused elements after each stored row, filled from `rng`.
pub(super) fn operand<E: Float>(
    r: usize,
    c: usize,
    transposed: bool,
    pad: usize,
    rng: &mut rand::rngs::StdRng,
) -> (Vec<E>, Strides) {
    let (outer, inner) = if transposed { (c, r) } else { (r, c) };
    let ld = inner + pad;
    let buf = (0..outer * ld)
        .map(|_| E::from_f64(rng.random_range(-1.0..1.0)))
        .collect();
    let strides = if transposed {
        (1, ld as isize)
    } else {
        (ld as isize, 1)
    };
    (buf, strides)
}

/// Runs `product` on one size and layout and checks every element of `C` against a naive
/// `f64` sum (within rounding bounded by the sum of `|a| |b|`), and that the padding
/// between rows of `C` is untouched. `beta == 0` starts from NaN (never read).
#[allow(clippy::too_many_arguments)]
pub(super) fn check_product<E: Float>(
    name: &str,
    product: Product<E>,
    size: (usize, usize, usize),
    layout: Layout,
    alpha: f64,
    beta: f64,
    eps: f64,
    rng: &mut rand::rngs::StdRng,
) {
    check_product_at(name, product, size, layout, 0, alpha, beta, eps, rng);
}

/// [`check_product`] with `A` and `B` starting `offset` elements into their buffers (at
/// other alignments than the allocator's).
#[allow(clippy::too_many_arguments)]
fn check_product_at<E: Float>(
    name: &str,
    product: Product<E>,
    (m, k, n): (usize, usize, usize),
    layout: Layout,
    offset: usize,
    alpha: f64,
    beta: f64,
    eps: f64,
    rng: &mut rand::rngs::StdRng,
) {
    let shifted = |(buf, strides): (Vec<E>, Strides)| {
        let mut out = vec![E::ZERO; offset];
        out.extend(buf);
        (out, strides)
    };
    let (a_buf, sa) = shifted(operand::<E>(m, k, layout.ta, layout.pad, rng));
    let (b_buf, sb) = shifted(operand::<E>(k, n, layout.tb, layout.pad, rng));
    let (a, b) = (&a_buf[offset..], &b_buf[offset..]);
    let (mut c, sc) = operand::<E>(m, n, false, layout.pad, rng);
    let at = |buf: &[E], (rs, cs): Strides, i: usize, j: usize| {
        buf[i * rs as usize + j * cs as usize].to_f64()
    };
    if beta == 0.0 {
        for i in 0..m {
            for j in 0..n {
                c[i * sc.0 as usize + j] = E::from_f64(f64::NAN);
            }
        }
    }
    let c0 = c.clone();
    product(
        m,
        k,
        n,
        E::from_f64(alpha),
        a,
        sa,
        b,
        sb,
        E::from_f64(beta),
        &mut c,
        sc,
    );
    for i in 0..m {
        for j in 0..n {
            let (mut want, mut scale) = (0.0, 0.0);
            for p in 0..k {
                let t = at(a, sa, i, p) * at(b, sb, p, j);
                want += t;
                scale += t.abs();
            }
            let old = if beta == 0.0 { 0.0 } else { at(&c0, sc, i, j) };
            let want = alpha * want + beta * old;
            let got = at(&c, sc, i, j);
            let tol = eps * (k as f64 + 2.0) * (scale + old.abs() + 1.0);
            assert!(
                (got - want).abs() <= tol,
                "{name} {m}x{k}x{n} {layout:?} alpha={alpha} beta={beta}: c[{i},{j}] = {got}, expected {want}"
            );
        }
        for j in n..sc.0 as usize {
            let idx = i * sc.0 as usize + j;
            assert!(
                c[idx].to_f64() == c0[idx].to_f64(),
                "{name} {m}x{k}x{n} {layout:?}: padding of C row {i} overwritten"
            );
        }
    }
}

/// [`check_product`] on every `f32` path (alpha 0.75) and every `f64` path (alpha -1.5).
pub(in crate::backend::gemm) fn check_every_path(
    size: (usize, usize, usize),
    layout: Layout,
    beta: f64,
    rng: &mut rand::rngs::StdRng,
) {
    check_every_path_at(size, layout, 0, beta, rng);
}

/// [`check_every_path`] with `A` and `B` starting `offset` elements into their buffers.
pub(in crate::backend::gemm) fn check_every_path_at(
    size: (usize, usize, usize),
    layout: Layout,
    offset: usize,
    beta: f64,
    rng: &mut rand::rngs::StdRng,
) {
    for (name, product) in f32_paths() {
        check_product_at(name, product, size, layout, offset, 0.75, beta, 1e-6, rng);
    }
    for (name, product) in f64_paths() {
        check_product_at(name, product, size, layout, offset, -1.5, beta, 1e-14, rng);
    }
}

/// Sizes 1..=37 along each dimension (ragged micro-panels of every kernel: MR is 6, 8 or
/// 12, NR 8 to 32), every transpose, padded rows, beta 0 and 1.
pub(super) fn odd_sizes() -> Vec<(usize, usize, usize)> {
    let mut sizes = Vec::new();
    for s in 1..=37 {
        sizes.extend([(s, 13, 38 - s), (37, s, 5), (3, 29, s), (s, s, s)]);
    }
    sizes
}

pub(super) fn layouts() -> impl Iterator<Item = Layout> {
    [false, true].into_iter().flat_map(|ta| {
        [false, true]
            .into_iter()
            .flat_map(move |tb| [0, 3].map(|pad| Layout { ta, tb, pad }))
    })
}
