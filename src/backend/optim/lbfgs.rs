//! The vector arithmetic of L-BFGS over the flattened parameters: dot products, scaled
//! additions, norms and the two-loop recursion. Scalars are returned in f64, which is what
//! the line search and the tolerance checks work in.

use crate::dtype::Float;

/// `sum(a * b)`, accumulated in f64.
pub(crate) fn dot<E: Float>(a: &[E], b: &[E]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| x.to_f64() * y.to_f64())
        .sum()
}

/// `max |a|` (0 for an empty slice; NaN if any element is NaN, like `abs().max()`).
pub(crate) fn abs_max<E: Float>(a: &[E]) -> f64 {
    let mut m = 0.0f64;
    for &x in a {
        let v = x.to_f64().abs();
        if v.is_nan() {
            return f64::NAN;
        }
        m = m.max(v);
    }
    m
}

/// `sum |a|`.
pub(crate) fn abs_sum<E: Float>(a: &[E]) -> f64 {
    a.iter().map(|&x| x.to_f64().abs()).sum()
}

/// `y += alpha x`.
pub(crate) fn axpy<E: Float>(y: &mut [E], alpha: f64, x: &[E]) {
    let a = E::from_f64(alpha);
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// `a - b`.
pub(crate) fn sub<E: Float>(a: &[E], b: &[E]) -> Vec<E> {
    a.iter().zip(b).map(|(&x, &y)| x - y).collect()
}

/// `alpha a`.
pub(crate) fn scaled<E: Float>(a: &[E], alpha: f64) -> Vec<E> {
    let s = E::from_f64(alpha);
    a.iter().map(|&x| x * s).collect()
}

/// The L-BFGS direction `-H g` by the two-loop recursion over the curvature pairs
/// (`dirs[i]` = gradient change y_i, `stps[i]` = step s_i, `ro[i]` = 1 / (y_i . s_i)),
/// oldest first, with `h_diag` scaling the initial inverse Hessian. `al` is scratch of at
/// least `dirs.len()` entries.
pub(crate) fn two_loop<E: Float>(
    flat_grad: &[E],
    dirs: &[Vec<E>],
    stps: &[Vec<E>],
    ro: &[f64],
    h_diag: f64,
    al: &mut [f64],
) -> Vec<E> {
    let mut q: Vec<E> = flat_grad.iter().map(|&g| -g).collect();
    for i in (0..dirs.len()).rev() {
        al[i] = dot(&stps[i], &q) * ro[i];
        axpy(&mut q, -al[i], &dirs[i]);
    }
    let mut r = scaled(&q, h_diag);
    for i in 0..dirs.len() {
        let be_i = dot(&dirs[i], &r) * ro[i];
        axpy(&mut r, al[i] - be_i, &stps[i]);
    }
    r
}
