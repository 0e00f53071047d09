//! Elementwise functions of one tensor. Each is a [`UnaryKernel`]: its value and its
//! derivative, written once; [`unary_op`] turns any kernel into a traced op.

use crate::autograd::{Gradients, Tape, UniqueId};
use crate::backend::elementwise::{
    map, map_inplace, map_inplace_unmasked, mul_by_derivative, mul_by_derivative_of,
    scaled_derivative,
};
use crate::backend::vector_math::{
    VectorFn, vector_grad_mul, vector_grad_scaled, vector_map, vector_map_in_place, vector_powf,
    vector_powf_in_place,
};
use crate::dtype::Float;
use crate::shape::Shape;
use crate::tensor::Tensor;
use std::sync::Arc;

/// A function applied to every element, with its derivative.
pub trait UnaryKernel<E: Float>: Copy + Send + Sync + 'static {
    /// y = f(x).
    fn f(&self, x: E) -> E;
    /// dy/dx, given both x and y = f(x) (whichever is cheaper to use).
    fn df(&self, x: E, y: E) -> E;
    /// True when [`df`](Self::df) reads only `y`: the traced op may then overwrite `x`'s
    /// buffer with `y` (when nothing else holds it) and keep only `y` for the backward
    /// pass, saving a full-size buffer (ReLU, exp, tanh, sigmoid, sqrt).
    const DF_FROM_Y: bool = false;
}

/// Applies `k` to every element, recording the backward step when traced.
pub fn unary_op<S: Shape, E: Float, T: Tape<E>, K: UnaryKernel<E>>(
    x: Tensor<S, E, T>,
    k: K,
) -> Tensor<S, E, T> {
    let (x, tape) = x.split_tape();
    let (data, id, tape) = unary_untyped(x.data, x.id, tape, k);
    Tensor {
        shape: x.shape,
        data,
        id,
        tape,
    }
}

/// [`unary_op`] on a buffer: generic over the element, tape and kernel types but not the
/// shape, so that one op applied to tensors of many shapes is compiled once (issue 15).
/// Never inlined: programs link to this crate's instances for the common kernels at `f32`
/// (listed below) instead of compiling their own.
#[inline(never)]
fn unary_untyped<E: Float, T: Tape<E>, K: UnaryKernel<E>>(
    xdata: Arc<Vec<E>>,
    x_id: UniqueId,
    mut tape: T,
    k: K,
) -> (Arc<Vec<E>>, UniqueId, T) {
    if !(T::TRACING && tape.tracks(x_id)) {
        // Nothing will ask for x again: reuse its buffer when it is ours alone, else one pass
        // into new memory (a copy and then a pass over it took 88 us for 2 MiB of f32 on one
        // thread, PyTorch's 46).
        let data = match Arc::try_unwrap(xdata) {
            Ok(mut data) => {
                forward_in_place(k, &mut data);
                data
            }
            Err(shared) => forward(k, &shared),
        };
        return (Arc::new(data), UniqueId::new(), tape);
    }
    if K::DF_FROM_Y {
        match Arc::try_unwrap(xdata) {
            Ok(mut data) => {
                forward_in_place(k, &mut data);
                let y = Arc::new(data);
                let (yd, out_id) = (y.clone(), UniqueId::new());
                tape.record(
                    out_id,
                    Box::new(move |g: &mut Gradients<E>| {
                        if let Some((_, c)) = g.take_uniform(out_id) {
                            // Every element of y's gradient is c (a whole-tensor sum's
                            // gradient): x's is read off y alone, in y's own buffer when
                            // nothing else holds it.
                            let gx = match Arc::try_unwrap(yd) {
                                Ok(mut y) => {
                                    map_inplace(
                                        &mut y,
                                        #[inline(always)]
                                        move |yv| c * k.df(yv, yv),
                                    );
                                    y
                                }
                                Err(yd) => map(
                                    &yd,
                                    #[inline(always)]
                                    move |yv| c * k.df(yv, yv),
                                ),
                            };
                            g.add(x_id, gx);
                            return;
                        }
                        let Some(mut gy) = g.take(out_id) else { return };
                        mul_by_derivative_of(
                            &mut gy,
                            &yd,
                            #[inline(always)]
                            move |yv| k.df(yv, yv),
                        );
                        g.add(x_id, gy);
                    }),
                );
                return (y, out_id, tape);
            }
            Err(shared) => return traced_unary(shared, x_id, tape, k),
        }
    }
    traced_unary(xdata, x_id, tape, k)
}

/// `k.f` of every element of `x`, in new memory.
///
/// The element closures here and in the binary ops take the kernel by value (`move`): one
/// that borrowed it made the loop re-read a kernel's parameters from memory after each
/// staged chunk's compiler barrier, and LLVM then split `clamp`'s sixteen lanes into
/// 8 + 1 + 2 + 4 + 1 (512K f32 on one thread: 0.073 -> 0.046 ms, PyTorch 0.047; two
/// threads 0.045 -> 0.024-0.028, PyTorch 0.028).
fn forward<E: Float, K: UnaryKernel<E>>(k: K, x: &[E]) -> Vec<E> {
    if let Some(y) = vector_fn::<E, K>().and_then(|f| vector_map(f, x)) {
        return y;
    }
    if let Some(y) = pow_exponent(&k).and_then(|p| vector_powf(x, p)) {
        return y;
    }
    map(
        x,
        #[inline(always)]
        move |v| k.f(v),
    )
}

/// `k.f` of every element of `x`, in place.
fn forward_in_place<E: Float, K: UnaryKernel<E>>(k: K, x: &mut [E]) {
    if vector_fn::<E, K>().is_some_and(|f| vector_map_in_place(f, x))
        || pow_exponent(&k).is_some_and(|p| vector_powf_in_place(x, p))
    {
        return;
    }
    map_inplace_unmasked(
        x,
        #[inline(always)]
        move |v| k.f(v),
    );
}

/// The exponent of a constant power (`PowScalarKernel`), whose `f32` loop the backend has
/// by hand for AVX-512 and AVX2 ([`vector_powf`]; `f32::powf` is a library call per
/// element).
fn pow_exponent<E: Float, K: UnaryKernel<E>>(k: &K) -> Option<E> {
    (k as &dyn core::any::Any)
        .downcast_ref::<PowScalarKernel<E>>()
        .map(|k| k.0)
}

/// The backend's hand-vectorised loop for kernel `K`, where it has one (`f32` exp, tanh,
/// sigmoid, SiLU and GELU with AVX-512: multiply-adds and `vscalefps`, which the plain loop
/// cannot use; see [`crate::backend::vector_math`]). Decided by type, so it folds away.
fn vector_fn<E: Float, K: UnaryKernel<E>>() -> Option<VectorFn> {
    use core::any::TypeId;
    let k = TypeId::of::<K>();
    [
        (TypeId::of::<ExpKernel>(), VectorFn::Exp),
        (TypeId::of::<TanhKernel>(), VectorFn::Tanh),
        (TypeId::of::<SigmoidKernel>(), VectorFn::Sigmoid),
        (TypeId::of::<SiluKernel>(), VectorFn::Silu),
        (TypeId::of::<GeluErfKernel>(), VectorFn::Gelu),
        (TypeId::of::<SinKernel>(), VectorFn::Sin),
        (TypeId::of::<CosKernel>(), VectorFn::Cos),
    ]
    .into_iter()
    .find(|&(id, _)| id == k)
    .map(|(_, f)| f)
}

/// The traced op keeping both `x` and `y` for the backward pass.
fn traced_unary<E: Float, T: Tape<E>, K: UnaryKernel<E>>(
    xdata: Arc<Vec<E>>,
    x_id: UniqueId,
    mut tape: T,
    k: K,
) -> (Arc<Vec<E>>, UniqueId, T) {
    let y: Arc<Vec<E>> = Arc::new(forward(k, &xdata));
    let out_id = UniqueId::new();
    let (xd, yd) = (xdata, y.clone());
    tape.record(
        out_id,
        Box::new(move |g: &mut Gradients<E>| {
            // A constant power's derivative `p x^(p-1)` from the vector power, where it runs.
            let power_below =
                || pow_exponent(&k).and_then(|p| Some((p, vector_powf(&xd, p - E::ONE)?)));
            if let Some((_, c)) = g.take_uniform(out_id) {
                // A uniform output gradient (a whole-tensor sum's): no buffer of copies of c.
                if let Some((p, mut gx)) = power_below() {
                    map_inplace(
                        &mut gx,
                        #[inline(always)]
                        move |v| c * (p * v),
                    );
                    g.add(x_id, gx);
                    return;
                }
                let vector = vector_fn::<E, K>().and_then(|f| vector_grad_scaled(f, c, &xd));
                let gx = vector.unwrap_or_else(|| {
                    scaled_derivative(
                        c,
                        &xd,
                        &yd,
                        true,
                        #[inline(always)]
                        move |xv, yv| k.df(xv, yv),
                    )
                });
                g.add(x_id, gx);
                return;
            }
            // The output's gradient buffer becomes the input's: no allocation, no zero fill.
            let Some(mut gy) = g.take(out_id) else { return };
            if let Some((p, power)) = power_below() {
                mul_by_derivative(
                    &mut gy,
                    &power,
                    &power,
                    false,
                    #[inline(always)]
                    move |v, _| p * v,
                );
            } else if !vector_fn::<E, K>().is_some_and(|f| vector_grad_mul(f, &mut gy, &xd)) {
                mul_by_derivative(
                    &mut gy,
                    &xd,
                    &yd,
                    true,
                    #[inline(always)]
                    move |xv, yv| k.df(xv, yv),
                );
            }
            g.add(x_id, gy);
        }),
    );
    (y, out_id, tape)
}

// What a training step of a common model runs, at `f32` (see `backend::precompiled`):
// ReLU, and the negation and scalar products of the losses and their means. Each instance
// listed costs this crate's build about what it saves a program's (a loop compiled for three
// vector widths, forward and backward), and every program pays for them in its first
// build: others stay generic.
crate::instances::shared_instances!(
    unary_untyped::<f32, crate::autograd::NoTape, ReluKernel>,
    unary_untyped::<f32, crate::autograd::OwnedTape<f32>, ReluKernel>,
    unary_untyped::<f32, crate::autograd::OwnedTape<f32>, NegKernel>,
    unary_untyped::<f32, crate::autograd::OwnedTape<f32>, AddScalarKernel<f32>>,
    unary_untyped::<f32, crate::autograd::OwnedTape<f32>, MulScalarKernel<f32>>,
);

macro_rules! kernel {
    ($(#[$m:meta])* $name:ident, |$x:ident, $y:ident| $f:expr, $df:expr $(, $from_y:ident)?) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, Default)]
        pub struct $name;
        impl<E: Float> UnaryKernel<E> for $name {
            #[inline(always)]
            #[allow(unused_variables)]
            fn f(&self, $x: E) -> E { $f }
            #[inline(always)]
            #[allow(unused_variables)]
            fn df(&self, $x: E, $y: E) -> E { $df }
            const DF_FROM_Y: bool = kernel!(@flag $($from_y)?);
        }
    };
    (@flag from_y) => { true };
    (@flag) => { false };
}

kernel!(/// -x
    NegKernel, |x, y| -x, -E::ONE);
kernel!(/// |x|; derivative sign(x), 0 at 0 as in PyTorch
AbsKernel, |x, y| x.abs(), sign(x));

/// 1, -1 or 0 (at 0 and NaN): the derivative of `|x|` (PyTorch's `sign`). Two independent
/// selects, not an `else if` chain: the chain kept the staged backward loops scalar (5.5 ns
/// per f32 element for `abs`, 0.25 this way).
#[inline(always)]
pub(crate) fn sign<E: Float>(x: E) -> E {
    let positive = if x > E::ZERO { E::ONE } else { E::ZERO };
    let negative = if x < E::ZERO { E::ONE } else { E::ZERO };
    positive - negative
}
kernel!(/// e^x
    ExpKernel, |x, y| x.exp(), y, from_y);
kernel!(/// ln x
    LnKernel, |x, y| x.ln(), E::ONE / x);
kernel!(/// sqrt x
    SqrtKernel, |x, y| x.sqrt(), E::from_f64(0.5) / y, from_y);
kernel!(/// x^2
    SquareKernel, |x, y| x * x, E::from_f64(2.0) * x);
kernel!(/// x^3, as PyTorch's `pow(x, 3)`: two products
    CubeKernel, |x, y| x * x * x, E::from_f64(3.0) * x * x);
kernel!(/// sin x
    SinKernel, |x, y| x.sin(), x.cos());
kernel!(/// cos x
    CosKernel, |x, y| x.cos(), -x.sin());
kernel!(/// tanh x
    TanhKernel, |x, y| x.tanh(), E::ONE - y * y, from_y);
kernel!(/// 1 / (1 + e^-x), computed without overflow for large |x|
    SigmoidKernel, |x, y| sigmoid(x), y * (E::ONE - y), from_y);
kernel!(/// max(x, 0); derivative 0 at 0 as in PyTorch. NaN stays NaN and passes its gradient
/// through, as PyTorch's `threshold_backward` does (written as `x <= 0` so that NaN fails it).
    ReluKernel, |x, y| if x <= E::ZERO { E::ZERO } else { x }, if y <= E::ZERO { E::ZERO } else { E::ONE }, from_y);
kernel!(/// x * sigmoid(x)
    SiluKernel, |x, y| x * sigmoid(x), { let s = sigmoid(x); s * (E::ONE + x * (E::ONE - s)) });
kernel!(/// x * Phi(x) with the exact normal CDF (PyTorch's `approximate="none"`)
GeluErfKernel, |x, y| {
    if core::mem::size_of::<E>() == 4 {
        // The round trips between f32 and f64 fold away: this runs at f32 width.
        let xs = x.to_f64() as f32;
        return E::from_f64(f64::from(xs * normal_cdf_f32(xs)));
    }
    let xf = x.to_f64();
    E::from_f64(xf * crate::dtype::normal_cdf_f64(xf))
}, {
    if core::mem::size_of::<E>() == 4 {
        let xs = x.to_f64() as f32;
        // 1 / sqrt(2 pi)
        const INV_SQRT_2PI: f32 = 0.398_942_3;
        let (half_square, lo) = half_square_f32(xs.abs().min(16.0));
        let e = crate::dtype::exp_f32(-half_square);
        let pdf = INV_SQRT_2PI * e.mul_add(-lo, e);
        return E::from_f64(f64::from(xs.mul_add(pdf, normal_cdf_f32(xs))));
    }
    let xf = x.to_f64();
    let pdf = crate::dtype::exp_f64::<true>(-0.5 * xf * xf) / (2.0 * core::f64::consts::PI).sqrt();
    E::from_f64(crate::dtype::normal_cdf_f64(xf) + xf * pdf)
});
kernel!(/// GELU's tanh approximation (PyTorch's `approximate="tanh"`)
GeluTanhKernel, |x, y| {
    let inner = gelu_tanh_inner(x);
    E::from_f64(0.5) * x * (E::ONE + inner.tanh())
}, {
    let c = E::from_f64((2.0 / core::f64::consts::PI).sqrt());
    let t = gelu_tanh_inner(x).tanh();
    let dinner = c * (E::ONE + E::from_f64(3.0 * 0.044715) * x * x);
    E::from_f64(0.5) * (E::ONE + t) + E::from_f64(0.5) * x * (E::ONE - t * t) * dinner
});

#[inline(always)]
pub(crate) fn sigmoid<E: Float>(x: E) -> E {
    // `e = e^-|x|` never overflows: `1 / (1 + e)` for x >= 0, `e / (1 + e)` below. One exp
    // and one division with the numerator selected (the same values as two branches, which
    // kept the loops that call it conditionally scalar).
    let e = (-x.abs()).exp();
    let numerator = if x >= E::ZERO { E::ONE } else { e };
    numerator / (E::ONE + e)
}

/// `x^2 / 2` as `hi + lo` exactly (one product and its rounding error, by a fused
/// multiply-add), for the `f32` GELU: near the underflow end of `e^(-x^2/2)`, `x^2 / 2` is
/// ~90, and its own rounding (4e-6 there) would be the result's relative error.
#[inline(always)]
fn half_square_f32(x: f32) -> (f32, f32) {
    let hi = x * x;
    let lo = x.mul_add(x, -hi);
    (0.5 * hi, 0.5 * lo)
}

/// Phi(x), the standard normal CDF, in `f32` arithmetic for the `f32` GELU (`f64` takes
/// [`crate::dtype::normal_cdf_f64`], full precision in both tails, with loops). From
/// Numerical Recipes' Chebyshev fit of erfc, `erfc(z) = t e^(P(t) - z^2)` with
/// `t = 1 / (1 + z/2)` (relative error below 1.2e-7 over the whole range, tails included),
/// without a branch or a loop, so that it vectorises at f32 width.
///
/// Kept to about four f32 ulp everywhere (relative 4.8e-7, `f32_gelu_matches_the_f64_one`):
/// `t` to about one rounding, `z^2 = x^2 / 2` carried in two parts and `P - z^2`'s rounding
/// error recovered, so that the tails keep their relative precision down to the underflow.
/// PyTorch's f32 GELU is off by 3.5e-7 on [-1, 12], by 22% at -5 and entirely below -8.
/// Evaluated in f64 instead (as before), f32 GELU took 2.3 ns per element on one AVX-512
/// thread; in f32, 1.3 (PyTorch's: 0.5).
#[inline(always)]
fn normal_cdf_f32(x: f32) -> f32 {
    // Past 16, Phi is 1 or below f32's smallest subnormal (and e^(-x^2/2) is 0); the bound
    // keeps `x^2` finite (NaN still reaches the result through `x` itself).
    let xa = x.abs().min(16.0);
    let z = xa * core::f32::consts::FRAC_1_SQRT_2;
    // t = 1 / (1 + z/2) to about one rounding: the sum's rounding error (`d - 1` is exact,
    // and so is `half_z - (d - 1)`) and the division's put back by one Newton step (without
    // it: 4.6e-7 relative instead of 4.1e-7).
    let half_z = 0.5 * z;
    let d = 1.0 + half_z;
    let d_err = half_z - (d - 1.0);
    let t0 = 1.0 / d;
    let residual = t0.mul_add(-d, 1.0) - t0 * d_err;
    let t = t0.mul_add(residual, t0);
    const C: [f32; 10] = crate::dtype::ERFC_POLY_F32;
    let p = C[1..].iter().fold(C[0], |p, &c| p.mul_add(t, c));
    let (hi, lo) = half_square_f32(xa);
    // P - z^2 and its rounding error (fast two-sum: exact where |hi| >= |p|; elsewhere both
    // are below 1.3 and the error stays within a rounding of 1.3).
    let s = p - hi;
    let err = p - (s + hi);
    let scaled = 0.5 * t * crate::dtype::exp_f32(s);
    let lower = scaled.mul_add(err - lo, scaled);
    if x > 0.0 { 1.0 - lower } else { lower }
}

#[inline(always)]
fn gelu_tanh_inner<E: Float>(x: E) -> E {
    E::from_f64((2.0 / core::f64::consts::PI).sqrt()) * (x + E::from_f64(0.044715) * x * x * x)
}

/// `x` if `x > 0` else `slope * x`.
#[derive(Clone, Copy, Debug)]
pub struct LeakyReluKernel<E>(pub E);
impl<E: Float> UnaryKernel<E> for LeakyReluKernel<E> {
    // The slope is read before the comparison: read in one branch only, the load was not
    // speculated, and the loops stayed scalar with a branch per element (5.7 ns per f32
    // element on one AVX2 thread, ReLU 0.45).
    #[inline(always)]
    fn f(&self, x: E) -> E {
        let slope = self.0;
        if x > E::ZERO { x } else { slope * x }
    }
    #[inline(always)]
    fn df(&self, x: E, _: E) -> E {
        let slope = self.0;
        if x > E::ZERO { E::ONE } else { slope }
    }
}

/// `ln(1 + e^(beta x)) / beta`, and exactly `x` where `beta x > threshold` (PyTorch).
#[derive(Clone, Copy, Debug)]
pub struct SoftplusKernel<E> {
    /// Sharpness.
    pub beta: E,
    /// Above `beta * x > threshold` the function is linear.
    pub threshold: E,
}
impl<E: Float> UnaryKernel<E> for SoftplusKernel<E> {
    #[inline(always)]
    fn f(&self, x: E) -> E {
        let bx = self.beta * x;
        // log1p(exp(bx)) without overflow: max(bx, 0) + log1p(exp(-|bx|)), computed for every
        // element and then selected (as a branch the traced loop stayed scalar).
        let soft = (bx.max(E::ZERO) + (-bx.abs()).exp().ln_1p()) / self.beta;
        if bx > self.threshold { x } else { soft }
    }
    #[inline(always)]
    fn df(&self, x: E, _: E) -> E {
        let bx = self.beta * x;
        // Computed, then selected: called in one branch only, sigmoid kept the loop scalar.
        let s = sigmoid(bx);
        if bx > self.threshold { E::ONE } else { s }
    }
}

/// Clamps to `[min, max]`; the gradient is 1 inside, 0 outside (PyTorch passes it at the
/// bounds themselves).
#[derive(Clone, Copy, Debug)]
pub struct ClampKernel<E> {
    /// Lower bound.
    pub min: E,
    /// Upper bound.
    pub max: E,
}
impl<E: Float> UnaryKernel<E> for ClampKernel<E> {
    // Both bounds are read before the comparisons (as `LeakyReluKernel`'s slope), and the
    // two tests are two selects, PyTorch's `min(max(x, min), max)` (so `max` wins when
    // `min > max`, as there) with NaN kept: the chained `if`s stayed a scalar loop (9.3 ns
    // per f32 element on one AVX2 thread).
    #[inline(always)]
    fn f(&self, x: E) -> E {
        let (min, max) = (self.min, self.max);
        let low = if x < min { min } else { x };
        if low > max { max } else { low }
    }
    #[inline(always)]
    fn df(&self, x: E, _: E) -> E {
        // `&`, not `&&`: the short-circuit kept the backward loop scalar (7.6 ns per element).
        let (min, max) = (self.min, self.max);
        if (x >= min) & (x <= max) {
            E::ONE
        } else {
            E::ZERO
        }
    }
}

/// `max(x, min)` whose gradient passes through as if nothing were clamped (derivative 1
/// everywhere, a straight-through clamp). It is what PyTorch computes where it clamps a
/// value under `torch.no_grad()` and then uses it: the Gaussian NLL's variance floor
/// (`var.clone()` clamped in place) and the norm floor of `cosine_similarity`. NaN stays NaN.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ClampMinPassThroughKernel<E>(pub(crate) E);
impl<E: Float> UnaryKernel<E> for ClampMinPassThroughKernel<E> {
    #[inline(always)]
    fn f(&self, x: E) -> E {
        if x < self.0 { self.0 } else { x }
    }
    #[inline(always)]
    fn df(&self, _: E, _: E) -> E {
        E::ONE
    }
}

/// `x^p` for a constant exponent.
#[derive(Clone, Copy, Debug)]
pub struct PowScalarKernel<E>(pub E);
impl<E: Float> UnaryKernel<E> for PowScalarKernel<E> {
    #[inline(always)]
    fn f(&self, x: E) -> E {
        x.powf(self.0)
    }
    #[inline(always)]
    fn df(&self, x: E, _: E) -> E {
        if self.0 == E::ZERO {
            E::ZERO
        } else {
            self.0 * x.powf(self.0 - E::ONE)
        }
    }
}

/// `x + c`.
#[derive(Clone, Copy, Debug)]
pub struct AddScalarKernel<E>(pub E);
impl<E: Float> UnaryKernel<E> for AddScalarKernel<E> {
    #[inline(always)]
    fn f(&self, x: E) -> E {
        x + self.0
    }
    #[inline(always)]
    fn df(&self, _: E, _: E) -> E {
        E::ONE
    }
}

/// `x * c`.
#[derive(Clone, Copy, Debug)]
pub struct MulScalarKernel<E>(pub E);
impl<E: Float> UnaryKernel<E> for MulScalarKernel<E> {
    #[inline(always)]
    fn f(&self, x: E) -> E {
        x * self.0
    }
    #[inline(always)]
    fn df(&self, _: E, _: E) -> E {
        self.0
    }
}

/// `c / x`.
#[derive(Clone, Copy, Debug)]
pub struct ScalarDivKernel<E>(pub E);
impl<E: Float> UnaryKernel<E> for ScalarDivKernel<E> {
    #[inline(always)]
    fn f(&self, x: E) -> E {
        self.0 / x
    }
    #[inline(always)]
    fn df(&self, x: E, _: E) -> E {
        // -c / x^2 rather than -y^2 / c, which is 0 / 0 for c = 0.
        -self.0 / (x * x)
    }
}

#[allow(clippy::should_implement_trait)] // `neg` also exists as a method, like PyTorch's
impl<S: Shape, E: Float, T: Tape<E>> Tensor<S, E, T> {
    /// Applies any [`UnaryKernel`], e.g. one of your own.
    pub fn map_kernel<K: UnaryKernel<E>>(self, k: K) -> Self {
        unary_op(self, k)
    }
    /// `-x`.
    pub fn neg(self) -> Self {
        unary_op(self, NegKernel)
    }
    /// `|x|`.
    pub fn abs(self) -> Self {
        unary_op(self, AbsKernel)
    }
    /// `e^x`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// assert_eq!(Tensor::<Rank1<1>, f64>::from_array([0.0]).exp().to_vec(), vec![1.0]);
    /// ```
    pub fn exp(self) -> Self {
        unary_op(self, ExpKernel)
    }
    /// Natural logarithm (`torch.log`).
    pub fn ln(self) -> Self {
        unary_op(self, LnKernel)
    }
    /// Square root.
    pub fn sqrt(self) -> Self {
        unary_op(self, SqrtKernel)
    }
    /// `x * x`.
    pub fn square(self) -> Self {
        unary_op(self, SquareKernel)
    }
    /// Sine.
    pub fn sin(self) -> Self {
        unary_op(self, SinKernel)
    }
    /// Cosine.
    pub fn cos(self) -> Self {
        unary_op(self, CosKernel)
    }
    /// Hyperbolic tangent.
    pub fn tanh(self) -> Self {
        unary_op(self, TanhKernel)
    }
    /// Logistic sigmoid, stable for large |x|.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let y = Tensor::<Rank1<2>>::from_array([-100.0, 100.0]).sigmoid().to_vec();
    /// assert!(y[0] >= 0.0 && y[0] < 1e-40 && y[1] == 1.0);
    /// ```
    pub fn sigmoid(self) -> Self {
        unary_op(self, SigmoidKernel)
    }
    /// `max(x, 0)`.
    pub fn relu(self) -> Self {
        unary_op(self, ReluKernel)
    }
    /// `x` if positive, else `negative_slope * x` (PyTorch's default slope is 0.01).
    pub fn leaky_relu(self, negative_slope: E) -> Self {
        unary_op(self, LeakyReluKernel(negative_slope))
    }
    /// GELU with the exact normal CDF (`approximate="none"`).
    pub fn gelu(self) -> Self {
        unary_op(self, GeluErfKernel)
    }
    /// GELU with the tanh approximation (`approximate="tanh"`).
    pub fn gelu_tanh(self) -> Self {
        unary_op(self, GeluTanhKernel)
    }
    /// `x * sigmoid(x)` (SiLU, swish).
    pub fn silu(self) -> Self {
        unary_op(self, SiluKernel)
    }
    /// `ln(1 + e^(beta x)) / beta`, linear above `threshold` (PyTorch defaults: 1, 20).
    pub fn softplus(self, beta: E, threshold: E) -> Self {
        unary_op(self, SoftplusKernel { beta, threshold })
    }
    /// Clamps every element to `[min, max]`.
    pub fn clamp(self, min: E, max: E) -> Self {
        unary_op(self, ClampKernel { min, max })
    }
    /// `x^exponent` for a constant exponent.
    ///
    /// As PyTorch, the common exponents take their own loops: 2 squares, 3 cubes, 0.5 is the
    /// square root (so `-0` stays `-0` and `-inf` gives NaN, as in PyTorch) and -1 the
    /// reciprocal (`x.powf(2.0)` over 2 MiB of f32 took 2427 us as a general power on one
    /// thread, PyTorch's 48). Any other exponent of an `f32` tensor on a CPU with AVX-512 or
    /// AVX2 runs a vectorised power, correctly rounded but for 0.001 ulp (`2^(p log2 x)` in `f64`, its
    /// derivative `p x^(p-1)` too; 4M values: 6.9 ms on one thread, PyTorch 9.6, the standard
    /// library's `powf` 19); elsewhere the standard library's `powf` per element. Special
    /// values as C's `pow` (a negative base with a non-integer exponent gives NaN).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank1<3>>::from_array([-2.0, 0.5, 3.0]);
    /// assert_eq!(x.clone().powf(2.0).to_vec(), vec![4.0, 0.25, 9.0]);
    /// assert_eq!(x.powf(-1.0).to_vec(), vec![-0.5, 2.0, 1.0 / 3.0]);
    /// ```
    pub fn powf(self, exponent: E) -> Self {
        let p = exponent.to_f64();
        if p == 2.0 {
            unary_op(self, SquareKernel)
        } else if p == 3.0 {
            unary_op(self, CubeKernel)
        } else if p == 0.5 {
            unary_op(self, SqrtKernel)
        } else if p == -1.0 {
            unary_op(self, ScalarDivKernel(E::ONE))
        } else {
            unary_op(self, PowScalarKernel(exponent))
        }
    }
    /// `x + c`.
    pub fn add_scalar(self, c: E) -> Self {
        unary_op(self, AddScalarKernel(c))
    }
    /// `x - c`.
    pub fn sub_scalar(self, c: E) -> Self {
        unary_op(self, AddScalarKernel(-c))
    }
    /// `x * c`.
    pub fn mul_scalar(self, c: E) -> Self {
        unary_op(self, MulScalarKernel(c))
    }
    /// `x / c`.
    pub fn div_scalar(self, c: E) -> Self {
        unary_op(self, MulScalarKernel(E::ONE / c))
    }
    /// `c / x`.
    pub fn rdiv_scalar(self, c: E) -> Self {
        unary_op(self, ScalarDivKernel(c))
    }
}

#[cfg(test)]
mod tests {
    use super::{ClampKernel, GeluErfKernel, LeakyReluKernel, UnaryKernel};
    use crate::dtype::normal_cdf_f64;

    /// The f32 GELU (Numerical Recipes' erfc, in f32 arithmetic) against the full-precision
    /// f64 one: within 4 ulp of f32 (relative 4.8e-7; measured worst 4.1e-7 over 2.4 million
    /// points) over [-12, 12] and at the extremes, tails included; the derivative within
    /// 4.8e-7 of the size of its two terms (measured 3.0e-7).
    #[test]
    fn f32_gelu_matches_the_f64_one() {
        let mut worst = 0.0f64;
        let mut worst_grad = 0.0f64;
        let mut xs: Vec<f32> = (0..=240_000).map(|i| -12.0 + i as f32 * 1e-4).collect();
        xs.extend([1e-30, -1e-30, 1e-6, -1e-6, 30.0, -30.0, 1e4, -1e4]);
        for x in xs {
            let xd = x as f64;
            let want = xd * normal_cdf_f64(xd);
            assert_eq!(GeluErfKernel.f(xd), want);
            let got = GeluErfKernel.f(x) as f64;
            let rel = if want == got {
                0.0
            } else {
                (got - want).abs() / want.abs()
            };
            assert!(
                rel <= 4.8e-7 || (got - want).abs() < 1e-44,
                "gelu({x}): {got} vs {want}"
            );
            if want.abs() > 1e-37 {
                worst = worst.max(rel);
            }
            let pdf = (-0.5 * xd * xd).exp() / (2.0 * core::f64::consts::PI).sqrt();
            let dwant = normal_cdf_f64(xd) + xd * pdf;
            let dgot = GeluErfKernel.df(x, 0.0) as f64;
            // Relative to the terms' size: the derivative crosses zero near x = -0.75, where
            // Phi's own 1.2e-7 is all that is left.
            let scale = normal_cdf_f64(xd) + (xd * pdf).abs();
            // (Below f32's smallest subnormal the result is 0.)
            let drel = ((dgot - dwant).abs() - 1e-45).max(0.0) / scale.max(1e-300);
            assert!(drel <= 4.8e-7, "gelu'({x}): {dgot} vs {dwant}");
            worst_grad = worst_grad.max(drel);
        }
        assert!(GeluErfKernel.f(f32::NAN).is_nan());
        assert_eq!(GeluErfKernel.f(f32::INFINITY), f32::INFINITY);
        assert_eq!(GeluErfKernel.f(0.0f32), 0.0);
        assert_eq!(GeluErfKernel.f(1e30f32), 1e30);
        assert_eq!(GeluErfKernel.f(-1e30f32), 0.0);
        assert_eq!(GeluErfKernel.df(1e30f32, 0.0), 1.0);
        assert_eq!(GeluErfKernel.df(-1e30f32, 0.0), 0.0);
        assert!(GeluErfKernel.df(f32::NAN, 0.0).is_nan());
        eprintln!("f32 gelu: worst relative error {worst:.2e}, derivative {worst_grad:.2e}");
    }

    /// Clamp is PyTorch's `min(max(x, min), max)`: `max` wins when the bounds cross, NaN
    /// stays NaN, and the gradient is 1 on `[min, max]` (bounds included), 0 elsewhere.
    #[test]
    fn clamp_matches_pytorch_at_the_edges() {
        let k = ClampKernel {
            min: -1.0f32,
            max: 2.0,
        };
        assert_eq!(
            [-3.0, -1.0, 0.5, 2.0, 5.0].map(|x| k.f(x)),
            [-1.0, -1.0, 0.5, 2.0, 2.0]
        );
        assert_eq!(
            [-3.0, -1.0, 0.5, 2.0, 5.0].map(|x| k.df(x, 0.0)),
            [0.0, 1.0, 1.0, 1.0, 0.0]
        );
        assert!(k.f(f32::NAN).is_nan());
        let crossed = ClampKernel {
            min: 3.0f32,
            max: 1.0,
        };
        assert_eq!([0.0, 2.0, 5.0].map(|x| crossed.f(x)), [1.0, 1.0, 1.0]);
        let leaky = LeakyReluKernel(0.1f64);
        assert_eq!([-2.0, 0.0, 3.0].map(|x| leaky.f(x)), [-0.2, 0.0, 3.0]);
        assert_eq!([-2.0, 0.0, 3.0].map(|x| leaky.df(x, 0.0)), [0.1, 0.1, 1.0]);
    }
}
