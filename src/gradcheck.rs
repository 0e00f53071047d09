//! Finite-difference gradient checks, for the built-in ops and for your own layers.
//!
//! Each check runs the function once with autograd and compares every element of the
//! gradient with the central difference `(f(x + h e_i) - f(x - h e_i)) / 2h`, all in `f64`.
//! An element passes when `|analytic - numeric| <= atol + rtol * |numeric|`; a failure
//! reports the worst element.
//!
//! | inputs | scalar output | tensor output |
//! |--------|---------------|---------------|
//! | one    | [`gradcheck`] | [`gradcheck_vjp`] |
//! | two    | [`gradcheck2`] | [`gradcheck2_vjp`] |
//! | a model's parameters | | [`gradcheck_params`] |
//!
//! The `_vjp` variants reduce a tensor output `y` to the scalar `sum(y * gy)` with a fixed
//! pseudo-random cotangent `gy` (from [`GradcheckOptions::seed`]): unlike `sum(y)`, this
//! cannot hide a wrong gradient whose errors cancel out across outputs (softmax sums to
//! one, so `sum(softmax(x))` has zero gradient whatever the backward does).
//!
//! Pick inputs away from points where the function is not differentiable (relu and abs at
//! 0, clamp at its bounds, ties in max): there the two sides of the difference disagree.
//! `shaped::strategies` (feature `proptest`) has proptest strategies that do this. Such a
//! point deep inside a model (a hidden relu unit that happens to sit within `eps` of 0) is
//! rare but cannot be ruled out for random inputs: an element that disagrees is checked
//! again at smaller steps ([`GradcheckOptions::refinements`]) before it counts as failed.
//!
//! ```
//! use shaped::gradcheck::{gradcheck, gradcheck_vjp, GradcheckOptions};
//! use shaped::prelude::*;
//!
//! let x = Tensor::<Rank2<2, 3>, f64>::from_array([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7]]);
//! gradcheck(&x, |x| x.tanh().square().sum(), GradcheckOptions::default()).unwrap();
//! gradcheck_vjp(&x, |x| x.softmax::<1>(), GradcheckOptions::default()).unwrap();
//! ```

use crate::autograd::OwnedTape;
use crate::nn::{Params, TensorKind};
use crate::ops::binary::{MulKernel, binary_op};
use crate::shape::{Dims, Shape};
use crate::tensor::Tensor;
use core::fmt;

/// A traced `f64` tensor: what the checked function receives and returns.
pub type Traced<S> = Tensor<S, f64, OwnedTape<f64>>;

/// Step size and tolerances of a gradient check.
///
/// The defaults suit smooth functions of values around 1: with `eps = 1e-6` the central
/// difference is accurate to about `1e-9` in `f64`, far inside `atol + rtol * |g|`, while a
/// wrong derivative is off by much more.
///
/// ```
/// use shaped::gradcheck::GradcheckOptions;
/// let loose = GradcheckOptions { atol: 1e-4, rtol: 1e-3, ..Default::default() };
/// assert_eq!(loose.eps, 1e-6);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradcheckOptions {
    /// The finite-difference step `h`.
    pub eps: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Tolerance relative to the numeric gradient.
    pub rtol: f64,
    /// Seed of the cotangent used by the `_vjp` variants.
    pub seed: u64,
    /// How many times an element that disagrees is checked again, each time with a step ten
    /// times smaller (`eps / 10`, `eps / 100`, ...); it passes if one of them agrees. A point
    /// where the function is not differentiable (relu at 0) closer to the input than `eps`
    /// spoils the larger steps only, while a wrong derivative disagrees at every step. 0
    /// checks at `eps` alone.
    pub refinements: u32,
}

impl Default for GradcheckOptions {
    fn default() -> Self {
        GradcheckOptions {
            eps: 1e-6,
            atol: 1e-6,
            rtol: 1e-4,
            seed: 0x5EED,
            refinements: 2,
        }
    }
}

/// A gradient that disagrees with finite differences. The fields describe the worst
/// element: the one whose difference exceeds its tolerance by the largest factor.
///
/// ```
/// use shaped::gradcheck::{gradcheck, GradcheckOptions};
/// use shaped::ops::unary::UnaryKernel;
/// use shaped::prelude::*;
///
/// // x^2 with the derivative x instead of 2x.
/// #[derive(Clone, Copy)]
/// struct BadSquare;
/// impl UnaryKernel<f64> for BadSquare {
///     fn f(&self, x: f64) -> f64 { x * x }
///     fn df(&self, x: f64, _y: f64) -> f64 { x }
/// }
///
/// let x = Tensor::<Rank1<3>, f64>::from_array([1.0, -2.0, 0.5]);
/// let err = gradcheck(&x, |x| x.map_kernel(BadSquare).sum(), GradcheckOptions::default())
///     .unwrap_err();
/// assert_eq!((err.index.as_slice(), err.analytic), (&[1][..], -2.0));
/// assert!((err.numeric + 4.0).abs() < 1e-6);
/// assert_eq!(err.failed, 3);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct GradcheckError {
    /// Which input the element belongs to (0 for the first, 1 for the second; for
    /// [`gradcheck_params`], the parameter's position among those checked).
    pub input: usize,
    /// The parameter's name, for [`gradcheck_params`] (`None` for the other checks).
    pub parameter: Option<String>,
    /// The element's multi-index in that input.
    pub index: Vec<usize>,
    /// The gradient autograd computed.
    pub analytic: f64,
    /// The central-difference estimate.
    pub numeric: f64,
    /// The tolerance the difference had to stay within.
    pub tolerance: f64,
    /// How many elements failed, over all inputs.
    pub failed: usize,
    /// How many elements were checked, over all inputs.
    pub checked: usize,
}

impl fmt::Display for GradcheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let which = match &self.parameter {
            Some(name) => format!("parameter `{name}`"),
            None => format!("input {}", self.input),
        };
        write!(
            f,
            "gradient check failed on {} of {} elements; worst: {which} at {:?}: \
             analytic {:e}, numeric {:e} (difference {:e}, tolerance {:e})",
            self.failed,
            self.checked,
            self.index,
            self.analytic,
            self.numeric,
            (self.analytic - self.numeric).abs(),
            self.tolerance,
        )
    }
}

impl std::error::Error for GradcheckError {}

/// Checks the gradient of a scalar function of one tensor.
///
/// A missing gradient (the output does not depend on `x` through the tape) counts as
/// zero, so dropping the tape somewhere fails the check wherever `f` really depends on `x`.
///
/// ```
/// use shaped::gradcheck::{gradcheck, GradcheckOptions};
/// use shaped::prelude::*;
/// let x = Tensor::<Rank1<4>, f64>::from_array([0.1, 0.2, 0.3, 0.4]);
/// gradcheck(&x, |x| x.exp().ln().sin().mean(), GradcheckOptions::default()).unwrap();
/// ```
pub fn gradcheck<S, F>(
    x: &Tensor<S, f64>,
    f: F,
    opts: GradcheckOptions,
) -> Result<(), GradcheckError>
where
    S: Shape,
    F: Fn(Traced<S>) -> Traced<()>,
{
    let shape = *x.shape();
    let grads = f(x.clone().trace()).backward();
    let analytic = gradient_or_zeros(grads.get_slice(x), x.numel());
    let eval = |xs: &[Vec<f64>]| scalar(f(leaf(&xs[0], shape)));
    compare(&[x.to_vec()], &[x.dims()], &[analytic], &eval, &opts)
}

/// Checks the gradients of a scalar function of two tensors, with respect to both.
///
/// ```
/// use shaped::gradcheck::{gradcheck2, GradcheckOptions};
/// use shaped::prelude::*;
/// let a = Tensor::<Rank2<2, 3>, f64>::from_array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]);
/// let b = Tensor::<Rank1<3>, f64>::from_array([1.0, -1.0, 2.0]);
/// gradcheck2(&a, &b, |a, b| (a * b).tanh().sum(), GradcheckOptions::default()).unwrap();
/// ```
pub fn gradcheck2<S1, S2, F>(
    a: &Tensor<S1, f64>,
    b: &Tensor<S2, f64>,
    f: F,
    opts: GradcheckOptions,
) -> Result<(), GradcheckError>
where
    S1: Shape,
    S2: Shape,
    F: Fn(Traced<S1>, Traced<S2>) -> Traced<()>,
{
    let (sa, sb) = (*a.shape(), *b.shape());
    let grads = f(a.clone().trace(), b.clone().trace()).backward();
    let analytic = [
        gradient_or_zeros(grads.get_slice(a), a.numel()),
        gradient_or_zeros(grads.get_slice(b), b.numel()),
    ];
    let eval = |xs: &[Vec<f64>]| scalar(f(leaf(&xs[0], sa), leaf(&xs[1], sb)));
    compare(
        &[a.to_vec(), b.to_vec()],
        &[a.dims(), b.dims()],
        &analytic,
        &eval,
        &opts,
    )
}

/// Checks the vector-Jacobian product of a function with a tensor output, such as a
/// layer's forward pass, through `sum(f(x) * gy)` for a fixed random cotangent `gy`.
///
/// ```
/// use shaped::gradcheck::{gradcheck_vjp, GradcheckOptions};
/// use shaped::prelude::*;
/// let x = Tensor::<Rank2<2, 3>, f64>::from_array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]);
/// let w = Tensor::<Rank2<3, 2>, f64>::from_array([[1.0, 0.5], [-1.0, 2.0], [0.3, 0.0]]);
/// gradcheck_vjp(&x, |x| x.matmul(w.clone()).sigmoid(), GradcheckOptions::default()).unwrap();
/// ```
pub fn gradcheck_vjp<S, SO, F>(
    x: &Tensor<S, f64>,
    f: F,
    opts: GradcheckOptions,
) -> Result<(), GradcheckError>
where
    S: Shape,
    SO: Shape,
    F: Fn(Traced<S>) -> Traced<SO>,
{
    gradcheck(x, |x| project(f(x), opts.seed), opts)
}

/// [`gradcheck_vjp`] for functions of two tensors, e.g. a layer's input and weight.
///
/// ```
/// use shaped::gradcheck::{gradcheck2_vjp, GradcheckOptions};
/// use shaped::prelude::*;
/// let a = Tensor::<Rank3<2, 2, 3>, f64>::from_array([[[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]; 2]);
/// let b = Tensor::<Rank2<3, 4>, f64>::full(0.5);
/// gradcheck2_vjp(&a, &b, |a, b| a.matmul(b), GradcheckOptions::default()).unwrap();
/// ```
pub fn gradcheck2_vjp<S1, S2, SO, F>(
    a: &Tensor<S1, f64>,
    b: &Tensor<S2, f64>,
    f: F,
    opts: GradcheckOptions,
) -> Result<(), GradcheckError>
where
    S1: Shape,
    S2: Shape,
    SO: Shape,
    F: Fn(Traced<S1>, Traced<S2>) -> Traced<SO>,
{
    gradcheck2(a, b, |a, b| project(f(a, b), opts.seed), opts)
}

/// Checks the gradients of every parameter of a model: `f` runs the model (its input and
/// anything else fixed inside `f`), and the vector-Jacobian product `sum(f(model) * gy)`
/// is differentiated with respect to each trainable tensor the model's
/// [`visit`](Params::visit) reaches, against central differences of copies of the model
/// with one element moved. Buffers (running statistics) are left alone, and a tensor with
/// several names (shared weights) is checked once. A failure names the parameter.
///
/// A parameter the forward pass leaves off the tape has no gradient, counted as zero: the
/// check then fails wherever the output depends on it.
///
/// ```
/// use rand::SeedableRng;
/// use shaped::gradcheck::{gradcheck_params, GradcheckOptions};
/// use shaped::nn::{Linear, Module};
/// use shaped::prelude::*;
///
/// let layer = Linear::<3, 2, f64>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let x = Tensor::<Rank2<4, 3>, f64>::full(0.5);
/// gradcheck_params(&layer, |m| m.forward(x.clone().trace()).tanh(), GradcheckOptions::default())
///     .unwrap();
/// ```
pub fn gradcheck_params<M, SO, F>(
    model: &M,
    f: F,
    opts: GradcheckOptions,
) -> Result<(), GradcheckError>
where
    M: Params<f64> + Clone,
    SO: Shape,
    F: Fn(&M) -> Traced<SO>,
{
    // For each tensor in visiting order, the checked parameter it holds (a clone visits in
    // the same order, so the slots find their tensors in every copy).
    let mut slots: Vec<Option<usize>> = Vec::new();
    let (mut names, mut ids, mut values, mut dims) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    model.visit("", &mut |p| {
        let slot = match ids.iter().position(|&id| id == p.id) {
            Some(k) => Some(k),
            None if p.kind == TensorKind::Parameter => {
                names.push(p.name.to_string());
                ids.push(p.id);
                values.push(p.data.to_vec());
                dims.push(p.dims);
                Some(ids.len() - 1)
            }
            None => None,
        };
        slots.push(slot);
    });
    let grads = project(f(model), opts.seed).backward();
    let analytic: Vec<Vec<f64>> = ids
        .iter()
        .zip(&values)
        .map(|(&id, v)| gradient_or_zeros(grads.get_id(id), v.len()))
        .collect();
    let eval = |xs: &[Vec<f64>]| {
        let mut copy = model.clone();
        let mut visited = 0;
        copy.visit_mut("", &mut |p| {
            if let Some(Some(k)) = slots.get(visited) {
                p.data.copy_from_slice(&xs[*k]);
            }
            visited += 1;
        });
        scalar(project(f(&copy), opts.seed))
    };
    compare(&values, &dims, &analytic, &eval, &opts).map_err(|e| GradcheckError {
        parameter: names.get(e.input).cloned(),
        ..e
    })
}

/// `sum(y * gy)`, with `gy` the same for every call with the same seed and size.
fn project<SO: Shape>(y: Traced<SO>, seed: u64) -> Traced<()> {
    // Through a run-time shape, so that the product and the sum compile once rather than
    // once per output shape.
    let y = y.into_dyn();
    let shape = *y.shape();
    let gy = Tensor::from_parts(shape, cotangent(shape.numel(), seed));
    binary_op(y, gy, shape, MulKernel).sum()
}

/// Uniform values in `[-1, 1)` from SplitMix64: fixed by the seed, independent of any RNG
/// crate's version.
fn cotangent(n: usize, seed: u64) -> Vec<f64> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        })
        .collect()
}

fn leaf<S: Shape>(data: &[f64], shape: S) -> Traced<S> {
    Tensor::from_parts(shape, data.to_vec()).trace()
}

fn scalar(y: Traced<()>) -> f64 {
    y.as_slice()[0]
}

fn gradient_or_zeros(g: Option<&[f64]>, n: usize) -> Vec<f64> {
    g.map_or_else(|| vec![0.0; n], <[f64]>::to_vec)
}

/// Compares `analytic` with central differences of `eval` around `inputs`. `eval` is a
/// trait object so that this loop is compiled once, not once per checked function.
fn compare(
    inputs: &[Vec<f64>],
    dims: &[Dims],
    analytic: &[Vec<f64>],
    eval: &dyn Fn(&[Vec<f64>]) -> f64,
    opts: &GradcheckOptions,
) -> Result<(), GradcheckError> {
    let mut xs = inputs.to_vec();
    // The numeric derivative at step `h`, its tolerance and its distance from `a`.
    let central = |xs: &mut Vec<Vec<f64>>, k: usize, i: usize, h: f64, a: f64| {
        let x0 = xs[k][i];
        let (xp, xm) = (x0 + h, x0 - h);
        xs[k][i] = xp;
        let fp = eval(xs);
        xs[k][i] = xm;
        let fm = eval(xs);
        xs[k][i] = x0;
        // The rounded step, not 2 * h: x0 + h is not exact when |x0| is large.
        let numeric = (fp - fm) / (xp - xm);
        let tolerance = opts.atol + opts.rtol * numeric.abs();
        (numeric, tolerance, (a - numeric).abs())
    };
    let (mut failed, mut checked) = (0, 0);
    let mut worst: Option<(f64, GradcheckError)> = None;
    for k in 0..xs.len() {
        for (i, &a) in analytic[k].iter().enumerate() {
            let (numeric, tolerance, diff) = central(&mut xs, k, i, opts.eps, a);
            checked += 1;
            // Written so that NaN on either side fails.
            if diff <= tolerance {
                continue;
            }
            // A kink (relu at 0) closer to x than `eps` spoils the larger steps only.
            let agrees_at_a_smaller_step = (1..=opts.refinements).any(|r| {
                let (_, tol, d) = central(&mut xs, k, i, opts.eps / 10f64.powi(r as i32), a);
                d <= tol
            });
            if agrees_at_a_smaller_step {
                continue;
            }
            failed += 1;
            let excess = if diff.is_nan() {
                f64::INFINITY
            } else {
                diff / tolerance
            };
            if worst.as_ref().is_none_or(|(w, _)| excess > *w) {
                let index = unravel(i, &dims[k]);
                let err = GradcheckError {
                    input: k,
                    parameter: None,
                    index,
                    analytic: a,
                    numeric,
                    tolerance,
                    failed: 0,
                    checked: 0,
                };
                worst = Some((excess, err));
            }
        }
    }
    match worst {
        None => Ok(()),
        Some((_, err)) => Err(GradcheckError {
            failed,
            checked,
            ..err
        }),
    }
}

fn unravel(mut flat: usize, dims: &Dims) -> Vec<usize> {
    let mut index = vec![0; dims.rank()];
    for (slot, &d) in index.iter_mut().zip(dims.iter()).rev() {
        *slot = flat % d;
        flat /= d;
    }
    index
}
