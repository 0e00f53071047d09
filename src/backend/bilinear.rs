//! Bilinear forms (`nn.Bilinear`): `y[n, o] = sum_ij x1[n, i] w[o, i, j] x2[n, j] + b[o]`
//! for `n` rows, `w` of shape `(O, I1, I2)`. The weight is read as `wp`, its first two axes
//! swapped (`(I1, O * I2)`, a copy of the small weight), so that `u = x1 wp` (`(N, O * I2)`)
//! is one matrix product and `y` is `u`'s rows of `I2` dotted with `x2`'s rows.

use super::gemm::gemm;
use crate::dtype::Float;

/// The sizes of a bilinear form: rows `n`, input features `i1` and `i2`, outputs `o`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BilinearDims {
    pub(crate) n: usize,
    pub(crate) i1: usize,
    pub(crate) i2: usize,
    pub(crate) o: usize,
}

/// `wp[i, o * I2 + j] = w[o, i, j]`: the weight `(O, I1, I2)` as `(I1, O * I2)`.
pub(crate) fn weight_rows<E: Float>(w: &[E], d: BilinearDims) -> Vec<E> {
    let mut wp = vec![E::ZERO; d.o * d.i1 * d.i2];
    for o in 0..d.o {
        for i in 0..d.i1 {
            let src = &w[(o * d.i1 + i) * d.i2..][..d.i2];
            wp[(i * d.o + o) * d.i2..][..d.i2].copy_from_slice(src);
        }
    }
    wp
}

/// `c (m x n) += a (m x k) b (k x n)`, all row-major and contiguous; nothing for empty sizes.
fn add_product<E: Float>(
    (m, k, n): (usize, usize, usize),
    a: (&[E], (isize, isize)),
    b: (&[E], (isize, isize)),
    c: &mut [E],
    c_row: usize,
) {
    if m == 0 || k == 0 || n == 0 {
        return;
    }
    gemm(
        m,
        k,
        n,
        E::ONE,
        a.0,
        a.1,
        b.0,
        b.1,
        E::ONE,
        c,
        (c_row as isize, 1),
    );
}

/// The forward pass: returns `y` (`(N, O)`) and `u = x1 wp` (`(N, O * I2)`), which the
/// gradient of `x2` needs.
pub(crate) fn bilinear_forward<E: Float>(
    x1: &[E],
    x2: &[E],
    wp: &[E],
    bias: Option<&[E]>,
    d: BilinearDims,
) -> (Vec<E>, Vec<E>) {
    let width = d.o * d.i2;
    let mut u = vec![E::ZERO; d.n * width];
    add_product(
        (d.n, d.i1, width),
        (x1, (d.i1 as isize, 1)),
        (wp, (width as isize, 1)),
        &mut u,
        width,
    );
    let mut y = vec![E::ZERO; d.n * d.o];
    // Indexed rather than zipped chunks: with `I2 = 0` there are no rows of `u` or `x2` to
    // zip, and every output is its bias.
    for (r, yr) in y.chunks_exact_mut(d.o.max(1)).enumerate() {
        let x2r = &x2[r * d.i2..][..d.i2];
        for (k, yv) in yr.iter_mut().enumerate() {
            let row = &u[r * width + k * d.i2..][..d.i2];
            let dot = row.iter().zip(x2r).fold(E::ZERO, |s, (&a, &b)| s + a * b);
            *yv = dot + bias.map_or(E::ZERO, |b| b[k]);
        }
    }
    (y, u)
}

/// `gx2[n, j] += sum_o gy[n, o] u[n, o, j]`.
pub(crate) fn add_grad_x2<E: Float>(gx2: &mut [E], gy: &[E], u: &[E], d: BilinearDims) {
    if d.i2 == 0 || d.o == 0 {
        return;
    }
    let width = d.o * d.i2;
    for ((gr, gyr), ur) in gx2
        .chunks_exact_mut(d.i2)
        .zip(gy.chunks_exact(d.o))
        .zip(u.chunks_exact(width))
    {
        for (k, &g) in gyr.iter().enumerate() {
            for (a, &v) in gr.iter_mut().zip(&ur[k * d.i2..][..d.i2]) {
                *a += g * v;
            }
        }
    }
}

/// `v[n, o * I2 + j] = gy[n, o] x2[n, j]`, the outer products both other gradients need.
pub(crate) fn outer_rows<E: Float>(gy: &[E], x2: &[E], d: BilinearDims) -> Vec<E> {
    let width = d.o * d.i2;
    let mut v = vec![E::ZERO; d.n * width];
    if width == 0 {
        return v;
    }
    for ((vr, gyr), x2r) in v
        .chunks_exact_mut(width)
        .zip(gy.chunks_exact(d.o))
        .zip(x2.chunks_exact(d.i2))
    {
        for (k, &g) in gyr.iter().enumerate() {
            for (a, &x) in vr[k * d.i2..][..d.i2].iter_mut().zip(x2r) {
                *a = g * x;
            }
        }
    }
    v
}

/// `gx1 (N x I1) += v (N x O*I2) wp^T`.
pub(crate) fn add_grad_x1<E: Float>(gx1: &mut [E], v: &[E], wp: &[E], d: BilinearDims) {
    let width = d.o * d.i2;
    add_product(
        (d.n, width, d.i1),
        (v, (width as isize, 1)),
        (wp, (1, width as isize)),
        gx1,
        d.i1,
    );
}

/// `gw[o] (I1 x I2) += x1^T (I1 x N) v[:, o, :] (N x I2)` for each output `o`.
pub(crate) fn add_grad_weight<E: Float>(gw: &mut [E], x1: &[E], v: &[E], d: BilinearDims) {
    if d.n == 0 {
        return;
    }
    let width = d.o * d.i2;
    for o in 0..d.o {
        add_product(
            (d.i1, d.n, d.i2),
            (x1, (1, d.i1 as isize)),
            (&v[o * d.i2..], (width as isize, 1)),
            &mut gw[o * d.i1 * d.i2..],
            d.i2,
        );
    }
}
