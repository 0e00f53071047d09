//! The layer kernels (`layer_shaders`) as plain functions on device buffers: the other
//! activations, the elementwise losses, average pooling, the normalisations and the RMSprop,
//! Adagrad and Adam-amsgrad updates. Only `crate::gpu` calls these. Every kernel is generic
//! over the element type `E` (f32 or f64); float settings are passed as `f64` (or `E` where the
//! f32 build computes them in f32) and reach the shader through [`Params`], which rounds them
//! to f32 for an f32 kernel exactly as the former `x as f32` did.

use super::GpuStorage;
use super::dtype::Params;
use super::kernels::Window;
use super::layer_shaders as shaders;
use super::pipelines::{Kernel, grid_1d, launch_as};
use crate::dtype::Float;

kernel!(K_UNARY_EXT, shaders::UNARY_EXT);
kernel!(K_UNARY_EXT_BACKWARD, shaders::UNARY_EXT_BACKWARD);
kernel!(K_PAIR, shaders::PAIR);
kernel!(K_PAIR_BACKWARD, shaders::PAIR_BACKWARD);
kernel!(K_AVG_POOL, shaders::AVG_POOL);
kernel!(K_AVG_POOL_BACKWARD, shaders::AVG_POOL_BACKWARD);
kernel!(K_GROUP_STATS, shaders::GROUP_STATS);
kernel!(K_NORM_APPLY, shaders::NORM_APPLY);
kernel!(K_GROUP_SUMS, shaders::GROUP_SUMS);
kernel!(K_NORM_BACKWARD_X, shaders::NORM_BACKWARD_X);
kernel!(K_BN_RUNNING, shaders::BN_RUNNING);
kernel!(K_RMSPROP, shaders::RMSPROP);
kernel!(K_ADAGRAD, shaders::ADAGRAD);
kernel!(K_ADAM_EXT, shaders::ADAM_EXT);

/// Op codes of UNARY_EXT / UNARY_EXT_BACKWARD, with the constants `a`, `b`, `c` they read.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum UnaryExt {
    Abs,
    Sqrt,
    Sin,
    Cos,
    /// The negative slope.
    LeakyRelu(f64),
    GeluErf,
    GeluTanh,
    Silu,
    /// `beta`, `threshold`.
    Softplus(f64, f64),
    /// `min`, `max`.
    Clamp(f64, f64),
    /// The exponent.
    Pow(f64),
    /// The ELU family (ELU, SELU, CELU): `alpha * scale`, `scale`, the factor inside the
    /// exponential.
    Elu(f64, f64, f64),
    /// `min`, `max` (ReLU6: 0, 6); no gradient at the bounds.
    Hardtanh(f64, f64),
    Hardsigmoid,
    Hardswish,
    Mish,
    Softsign,
    LogSigmoid,
    Tanhshrink,
    /// `lambda`.
    Hardshrink(f64),
    /// `lambda`.
    Softshrink(f64),
    /// `threshold`, `value`.
    Threshold(f64, f64),
}

impl UnaryExt {
    fn params(self, n: usize) -> Params {
        let (op, a, b) = match self {
            UnaryExt::Abs => (0, 0.0, 0.0),
            UnaryExt::Sqrt => (1, 0.0, 0.0),
            UnaryExt::Sin => (2, 0.0, 0.0),
            UnaryExt::Cos => (3, 0.0, 0.0),
            UnaryExt::LeakyRelu(s) => (4, s, 0.0),
            UnaryExt::GeluErf => (5, 0.0, 0.0),
            UnaryExt::GeluTanh => (6, 0.0, 0.0),
            UnaryExt::Silu => (7, 0.0, 0.0),
            UnaryExt::Softplus(beta, threshold) => (8, beta, threshold),
            UnaryExt::Clamp(lo, hi) => (9, lo, hi),
            UnaryExt::Pow(e) => (10, e, 0.0),
            UnaryExt::Elu(negative_coef, scale, input_scale) => {
                return Params::new()
                    .u(n)
                    .u(11)
                    .f(negative_coef)
                    .f(scale)
                    .f(input_scale);
            }
            UnaryExt::Hardtanh(lo, hi) => (12, lo, hi),
            UnaryExt::Hardsigmoid => (13, 0.0, 0.0),
            UnaryExt::Hardswish => (14, 0.0, 0.0),
            UnaryExt::Mish => (15, 0.0, 0.0),
            UnaryExt::Softsign => (16, 0.0, 0.0),
            UnaryExt::LogSigmoid => (17, 0.0, 0.0),
            UnaryExt::Tanhshrink => (18, 0.0, 0.0),
            UnaryExt::Hardshrink(lambda) => (19, lambda, 0.0),
            UnaryExt::Softshrink(lambda) => (20, lambda, 0.0),
            UnaryExt::Threshold(threshold, value) => (21, threshold, value),
        };
        Params::new().u(n).u(op).f(a).f(b).f(0.0)
    }
}

/// `f(x)` elementwise.
pub(crate) fn unary_ext<E: Float>(op: UnaryExt, x: &GpuStorage<E>) -> GpuStorage<E> {
    let out = x.device.alloc_as::<E>(x.len);
    launch_as::<E>(
        &x.device,
        K_UNARY_EXT,
        &op.params(x.len),
        &[&x.buf, &out.buf],
        grid_1d(x.len),
    );
    out
}

/// The input gradient of [`unary_ext`] from `x`, `y = f(x)` and the output gradient `g`.
pub(crate) fn unary_ext_backward<E: Float>(
    op: UnaryExt,
    x: &GpuStorage<E>,
    y: &GpuStorage<E>,
    g: &GpuStorage<E>,
) -> GpuStorage<E> {
    let out = x.device.alloc_as::<E>(x.len);
    launch_as::<E>(
        &x.device,
        K_UNARY_EXT_BACKWARD,
        &op.params(x.len),
        &[&x.buf, &y.buf, &g.buf, &out.buf],
        grid_1d(x.len),
    );
    out
}

/// Elementwise loss terms of a prediction and a target of one shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PairOp {
    /// BCE on probabilities, logarithms clamped at -100.
    Bce = 0,
    /// BCE on logits.
    BceWithLogits = 1,
}

/// The loss term of every element.
pub(crate) fn pair<E: Float>(op: PairOp, a: &GpuStorage<E>, b: &GpuStorage<E>) -> GpuStorage<E> {
    let out = a.device.alloc_as::<E>(a.len);
    launch_as::<E>(
        &a.device,
        K_PAIR,
        &Params::new().u(a.len).u(op as usize),
        &[&a.buf, &b.buf, &out.buf],
        grid_1d(a.len),
    );
    out
}

/// The gradient of [`pair`] with respect to the prediction (or the target when
/// `to_target`), for the output gradient `g`.
pub(crate) fn pair_backward<E: Float>(
    op: PairOp,
    a: &GpuStorage<E>,
    b: &GpuStorage<E>,
    g: &GpuStorage<E>,
    to_target: bool,
) -> GpuStorage<E> {
    let out = a.device.alloc_as::<E>(a.len);
    launch_as::<E>(
        &a.device,
        K_PAIR_BACKWARD,
        &Params::new()
            .u(a.len)
            .u(op as usize)
            .u(usize::from(to_target)),
        &[&a.buf, &b.buf, &g.buf, &out.buf],
        grid_1d(a.len),
    );
    out
}

/// Which average pooling: a `K`-window (stride, padding, `count_include_pad=True`),
/// PyTorch's adaptive windows, or a `K`-window along the last axis only (1-D pooling of
/// one-row planes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AvgMode {
    Window = 0,
    Adaptive = 1,
    Line = 2,
}

fn avg_params(count: usize, mode: AvgMode, g: &Window) -> Params {
    Params::new()
        .u(count)
        .u(mode as usize)
        .u(g.h)
        .u(g.w)
        .u(g.k)
        .u(g.stride)
        .u(g.pad)
        .u(g.oh)
        .u(g.ow)
}

/// Average pooling of the `n * c` planes of `x`.
pub(crate) fn avg_pool<E: Float>(x: &GpuStorage<E>, g: &Window, mode: AvgMode) -> GpuStorage<E> {
    let count = g.n * g.c * g.oh * g.ow;
    let y = x.device.alloc_as::<E>(count);
    launch_as::<E>(
        &x.device,
        K_AVG_POOL,
        &avg_params(count, mode, g),
        &[&x.buf, &y.buf],
        grid_1d(count),
    );
    y
}

/// The input gradient of [`avg_pool`] from the output gradient.
pub(crate) fn avg_pool_backward<E: Float>(
    gy: &GpuStorage<E>,
    g: &Window,
    mode: AvgMode,
) -> GpuStorage<E> {
    let count = g.n * g.c * g.h * g.w;
    let dx = gy.device.alloc_as::<E>(count);
    launch_as::<E>(
        &gy.device,
        K_AVG_POOL_BACKWARD,
        &avg_params(count, mode, g),
        &[&gy.buf, &dx.buf],
        grid_1d(count),
    );
    dx
}

/// Grid of `n` workgroups (one per group), folded into two axes.
fn grid_groups(n: usize) -> (u32, u32, u32) {
    let n = n.max(1) as u64;
    if n <= 65_535 {
        (n as u32, 1, 1)
    } else {
        (65_535, n.div_ceil(65_535) as u32, 1)
    }
}

/// `groups` groups of `m` elements: element `j` of group `g` is at
/// `(j / inner) * groups * inner + g * inner + j % inner`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Groups {
    pub(crate) groups: usize,
    pub(crate) m: usize,
    pub(crate) inner: usize,
}

/// How an element's flat index `i` finds its statistics, `(i / sdiv) % smod`, and its
/// parameters, `(i / pdiv) % pmod`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NormIndex {
    pub(crate) sdiv: usize,
    pub(crate) smod: usize,
    pub(crate) pdiv: usize,
    pub(crate) pmod: usize,
}

impl NormIndex {
    fn push(&self, p: Params) -> Params {
        p.u(self.sdiv).u(self.smod).u(self.pdiv).u(self.pmod)
    }
}

/// The mean and biased variance of every group.
pub(crate) fn group_stats<E: Float>(
    x: &GpuStorage<E>,
    g: Groups,
) -> (GpuStorage<E>, GpuStorage<E>) {
    let dev = &x.device;
    let (mean, var) = (dev.alloc_as::<E>(g.groups), dev.alloc_as::<E>(g.groups));
    launch_as::<E>(
        dev,
        K_GROUP_STATS,
        &Params::new().u(g.groups).u(g.m).u(g.inner),
        &[&x.buf, &mean.buf, &var.buf],
        grid_groups(g.groups),
    );
    (mean, var)
}

/// `(x - mean) / sqrt(var + eps) * w + b`, indexed by `ix`.
pub(crate) fn norm_apply<E: Float>(
    x: &GpuStorage<E>,
    (mean, var): (&GpuStorage<E>, &GpuStorage<E>),
    w: Option<&GpuStorage<E>>,
    b: Option<&GpuStorage<E>>,
    ix: NormIndex,
    eps: f64,
) -> GpuStorage<E> {
    let dev = &x.device;
    let y = dev.alloc_as::<E>(x.len);
    let p = ix
        .push(Params::new().u(x.len))
        .u(usize::from(w.is_some()))
        .u(usize::from(b.is_some()))
        .f(eps);
    // An absent parameter binds the mean buffer, which the kernel then never reads.
    let (wb, bb) = (w.unwrap_or(mean), b.unwrap_or(mean));
    launch_as::<E>(
        dev,
        K_NORM_APPLY,
        &p,
        &[&x.buf, &mean.buf, &var.buf, &wb.buf, &bb.buf, &y.buf],
        grid_1d(x.len),
    );
    y
}

/// Per group, `[sum a; sum a * xhat]` with `a = gy * w` (or `gy`), as one `2 * groups` buffer.
pub(crate) fn group_sums<E: Float>(
    gy: &GpuStorage<E>,
    x: &GpuStorage<E>,
    (mean, var): (&GpuStorage<E>, &GpuStorage<E>),
    w: Option<&GpuStorage<E>>,
    g: Groups,
    ix: NormIndex,
    eps: f64,
) -> GpuStorage<E> {
    let dev = &x.device;
    let out = dev.alloc_as::<E>(2 * g.groups);
    let p = ix
        .push(Params::new().u(g.groups).u(g.m).u(g.inner))
        .u(usize::from(w.is_some()))
        .f(eps);
    let wb = w.unwrap_or(mean);
    launch_as::<E>(
        dev,
        K_GROUP_SUMS,
        &p,
        &[&gy.buf, &x.buf, &mean.buf, &var.buf, &wb.buf, &out.buf],
        grid_groups(g.groups),
    );
    out
}

/// Where a normalisation's weight acts in its input gradient (see `NORM_BACKWARD_X`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WeightAt {
    /// Varies inside a statistics group (LayerNorm, GroupNorm).
    Inside,
    /// Constant over a statistics group (BatchNorm).
    Outside,
}

/// The input gradient of a normalisation; `sums` are the [`group_sums`] of each statistics
/// group with `c1 = 1 / group size` (an `E`: the f32 build takes the f32 quotient), or `None`
/// for constant statistics (BatchNorm in evaluation).
#[allow(clippy::too_many_arguments)]
pub(crate) fn norm_backward_x<E: Float>(
    gy: &GpuStorage<E>,
    x: &GpuStorage<E>,
    (mean, var): (&GpuStorage<E>, &GpuStorage<E>),
    w: Option<(&GpuStorage<E>, WeightAt)>,
    sums: Option<(&GpuStorage<E>, E)>,
    ix: NormIndex,
    eps: f64,
) -> GpuStorage<E> {
    let dev = &x.device;
    let gx = dev.alloc_as::<E>(x.len);
    let at = w.map(|w| w.1);
    let c1 = sums.map_or(E::ZERO, |s| s.1);
    let p = ix
        .push(Params::new().u(x.len))
        .u(usize::from(at == Some(WeightAt::Inside)))
        .u(usize::from(at == Some(WeightAt::Outside)))
        .f(c1)
        .f(eps);
    let wb = w.map_or(mean, |w| w.0);
    let sb = sums.map_or(mean, |s| s.0);
    launch_as::<E>(
        dev,
        K_NORM_BACKWARD_X,
        &p,
        &[
            &gy.buf, &x.buf, &mean.buf, &var.buf, &wb.buf, &sb.buf, &gx.buf,
        ],
        grid_1d(x.len),
    );
    gx
}

/// New running statistics `(1 - m) running + m batch` (the variance times `unbias`).
pub(crate) fn bn_running<E: Float>(
    running: (&GpuStorage<E>, &GpuStorage<E>),
    batch: (&GpuStorage<E>, &GpuStorage<E>),
    momentum: f64,
    unbias: f64,
) -> (GpuStorage<E>, GpuStorage<E>) {
    let dev = &running.0.device;
    let c = running.0.len;
    let (rm, rv) = (dev.alloc_as::<E>(c), dev.alloc_as::<E>(c));
    launch_as::<E>(
        dev,
        K_BN_RUNNING,
        &Params::new().u(c).f(momentum).f(unbias),
        &[
            &running.0.buf,
            &running.1.buf,
            &batch.0.buf,
            &batch.1.buf,
            &rm.buf,
            &rv.buf,
        ],
        grid_1d(c),
    );
    (rm, rv)
}

/// Settings of one RMSprop step (f64, as the optimizer's: an f64 kernel gets them in full,
/// an f32 kernel rounded to f32).
pub(crate) struct RmsPropStep {
    pub(crate) lr: f64,
    pub(crate) alpha: f64,
    pub(crate) eps: f64,
    pub(crate) weight_decay: f64,
    pub(crate) momentum: f64,
    pub(crate) centered: bool,
    /// -1 maximizes.
    pub(crate) sign: f64,
}

/// One RMSprop step on `w` in place; `state` is `[square_avg, grad_avg, momentum_buffer]`.
pub(crate) fn rmsprop<E: Float>(
    w: &GpuStorage<E>,
    g: &GpuStorage<E>,
    state: &[GpuStorage<E>],
    s: &RmsPropStep,
) {
    let p = Params::new()
        .u(w.len)
        .f(s.lr)
        .f(s.alpha)
        .f(s.eps)
        .f(s.weight_decay)
        .f(s.momentum)
        .u(usize::from(s.centered))
        .f(s.sign);
    launch_as::<E>(
        &w.device,
        K_RMSPROP,
        &p,
        &[&w.buf, &g.buf, &state[0].buf, &state[1].buf, &state[2].buf],
        grid_1d(w.len),
    );
}

/// One Adagrad step on `w` in place with the decayed rate `clr`; `sum` is the accumulator.
/// The settings are `(clr, eps, weight_decay, sign)`.
pub(crate) fn adagrad<E: Float>(
    w: &GpuStorage<E>,
    g: &GpuStorage<E>,
    sum: &GpuStorage<E>,
    (clr, eps, weight_decay, sign): (f64, f64, f64, f64),
) {
    let p = Params::new().u(w.len).f(clr).f(eps).f(weight_decay).f(sign);
    launch_as::<E>(
        &w.device,
        K_ADAGRAD,
        &p,
        &[&w.buf, &g.buf, &sum.buf],
        grid_1d(w.len),
    );
}

/// One Adam step with amsgrad and/or maximize; `state` is `[exp_avg, exp_avg_sq,
/// max_exp_avg_sq]` (the last unused without amsgrad but bound); `sign` -1 maximizes.
pub(crate) fn adam_ext<E: Float>(
    w: &GpuStorage<E>,
    g: &GpuStorage<E>,
    state: &[GpuStorage<E>],
    s: &super::kernels::AdamStep,
    amsgrad: bool,
    sign: f64,
) {
    let p = Params::new()
        .u(w.len)
        .f(s.lr)
        .f(s.beta1)
        .f(s.beta2)
        .f(s.eps)
        .f(s.weight_decay)
        .f(s.bias_correction1)
        .f(s.bias_correction2_sqrt)
        .u(usize::from(s.decoupled))
        .u(usize::from(amsgrad))
        .f(sign);
    launch_as::<E>(
        &w.device,
        K_ADAM_EXT,
        &p,
        &[&w.buf, &g.buf, &state[0].buf, &state[1].buf, &state[2].buf],
        grid_1d(w.len),
    );
}

/// The two halves of a `2 * n` buffer (the [`group_sums`] pair) as two new buffers.
pub(crate) fn halves<E: Float>(x: &GpuStorage<E>, n: usize) -> (GpuStorage<E>, GpuStorage<E>) {
    let dev = &x.device;
    let (a, b) = (dev.alloc_as::<E>(n), dev.alloc_as::<E>(n));
    if n > 0 {
        let bytes = (n * core::mem::size_of::<E>()) as u64;
        super::pipelines::record(dev, |enc| {
            enc.copy_buffer_to_buffer(&x.buf, 0, &a.buf, 0, bytes);
            enc.copy_buffer_to_buffer(&x.buf, bytes, &b.buf, 0, bytes);
        });
    }
    (a, b)
}
