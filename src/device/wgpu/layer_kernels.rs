//! The layer kernels (`layer_shaders`) as plain functions on device buffers: the other
//! activations, the elementwise losses, average pooling, the normalisations and the RMSprop,
//! Adagrad and Adam-amsgrad updates. Only `crate::gpu` calls these.

use super::GpuStorage;
use super::kernels::Window;
use super::layer_shaders as shaders;
use super::pipelines::{Kernel, grid_1d, launch};

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

/// Op codes of UNARY_EXT / UNARY_EXT_BACKWARD, with the constants `a`, `b` they read.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum UnaryExt {
    Abs,
    Sqrt,
    Sin,
    Cos,
    /// The negative slope.
    LeakyRelu(f32),
    GeluErf,
    GeluTanh,
    Silu,
    /// `beta`, `threshold`.
    Softplus(f32, f32),
    /// `min`, `max`.
    Clamp(f32, f32),
    /// The exponent.
    Pow(f32),
}

impl UnaryExt {
    fn params(self, n: usize) -> [u32; 4] {
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
        };
        [n as u32, op, f32::to_bits(a), f32::to_bits(b)]
    }
}

/// `f(x)` elementwise.
pub(crate) fn unary_ext(op: UnaryExt, x: &GpuStorage<f32>) -> GpuStorage<f32> {
    let out = x.device.alloc(x.len);
    launch(
        &x.device,
        K_UNARY_EXT,
        &op.params(x.len),
        &[&x.buf, &out.buf],
        grid_1d(x.len),
    );
    out
}

/// The input gradient of [`unary_ext`] from `x`, `y = f(x)` and the output gradient `g`.
pub(crate) fn unary_ext_backward(
    op: UnaryExt,
    x: &GpuStorage<f32>,
    y: &GpuStorage<f32>,
    g: &GpuStorage<f32>,
) -> GpuStorage<f32> {
    let out = x.device.alloc(x.len);
    launch(
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
pub(crate) fn pair(op: PairOp, a: &GpuStorage<f32>, b: &GpuStorage<f32>) -> GpuStorage<f32> {
    let out = a.device.alloc(a.len);
    launch(
        &a.device,
        K_PAIR,
        &[a.len as u32, op as u32],
        &[&a.buf, &b.buf, &out.buf],
        grid_1d(a.len),
    );
    out
}

/// The gradient of [`pair`] with respect to the prediction (or the target when
/// `to_target`), for the output gradient `g`.
pub(crate) fn pair_backward(
    op: PairOp,
    a: &GpuStorage<f32>,
    b: &GpuStorage<f32>,
    g: &GpuStorage<f32>,
    to_target: bool,
) -> GpuStorage<f32> {
    let out = a.device.alloc(a.len);
    launch(
        &a.device,
        K_PAIR_BACKWARD,
        &[a.len as u32, op as u32, u32::from(to_target)],
        &[&a.buf, &b.buf, &g.buf, &out.buf],
        grid_1d(a.len),
    );
    out
}

/// Which average pooling: a `K`-window (stride, padding, `count_include_pad=True`) or
/// PyTorch's adaptive windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AvgMode {
    Window = 0,
    Adaptive = 1,
}

fn avg_params(count: usize, mode: AvgMode, g: &Window) -> [u32; 9] {
    [
        count as u32,
        mode as u32,
        g.h as u32,
        g.w as u32,
        g.k as u32,
        g.stride as u32,
        g.pad as u32,
        g.oh as u32,
        g.ow as u32,
    ]
}

/// Average pooling of the `n * c` planes of `x`.
pub(crate) fn avg_pool(x: &GpuStorage<f32>, g: &Window, mode: AvgMode) -> GpuStorage<f32> {
    let count = g.n * g.c * g.oh * g.ow;
    let y = x.device.alloc(count);
    launch(
        &x.device,
        K_AVG_POOL,
        &avg_params(count, mode, g),
        &[&x.buf, &y.buf],
        grid_1d(count),
    );
    y
}

/// The input gradient of [`avg_pool`] from the output gradient.
pub(crate) fn avg_pool_backward(
    gy: &GpuStorage<f32>,
    g: &Window,
    mode: AvgMode,
) -> GpuStorage<f32> {
    let count = g.n * g.c * g.h * g.w;
    let dx = gy.device.alloc(count);
    launch(
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
    fn params(&self) -> [u32; 4] {
        [
            self.sdiv as u32,
            self.smod as u32,
            self.pdiv as u32,
            self.pmod as u32,
        ]
    }
}

/// The mean and biased variance of every group.
pub(crate) fn group_stats(x: &GpuStorage<f32>, g: Groups) -> (GpuStorage<f32>, GpuStorage<f32>) {
    let dev = &x.device;
    let (mean, var) = (dev.alloc(g.groups), dev.alloc(g.groups));
    launch(
        dev,
        K_GROUP_STATS,
        &[g.groups as u32, g.m as u32, g.inner as u32],
        &[&x.buf, &mean.buf, &var.buf],
        grid_groups(g.groups),
    );
    (mean, var)
}

/// `(x - mean) / sqrt(var + eps) * w + b`, indexed by `ix`.
pub(crate) fn norm_apply(
    x: &GpuStorage<f32>,
    (mean, var): (&GpuStorage<f32>, &GpuStorage<f32>),
    w: Option<&GpuStorage<f32>>,
    b: Option<&GpuStorage<f32>>,
    ix: NormIndex,
    eps: f32,
) -> GpuStorage<f32> {
    let dev = &x.device;
    let y = dev.alloc(x.len);
    let mut p = vec![x.len as u32];
    p.extend(ix.params());
    p.extend([
        u32::from(w.is_some()),
        u32::from(b.is_some()),
        eps.to_bits(),
    ]);
    // An absent parameter binds the mean buffer, which the kernel then never reads.
    let (wb, bb) = (w.unwrap_or(mean), b.unwrap_or(mean));
    launch(
        dev,
        K_NORM_APPLY,
        &p,
        &[&x.buf, &mean.buf, &var.buf, &wb.buf, &bb.buf, &y.buf],
        grid_1d(x.len),
    );
    y
}

/// Per group, `[sum a; sum a * xhat]` with `a = gy * w` (or `gy`), as one `2 * groups` buffer.
pub(crate) fn group_sums(
    gy: &GpuStorage<f32>,
    x: &GpuStorage<f32>,
    (mean, var): (&GpuStorage<f32>, &GpuStorage<f32>),
    w: Option<&GpuStorage<f32>>,
    g: Groups,
    ix: NormIndex,
    eps: f32,
) -> GpuStorage<f32> {
    let dev = &x.device;
    let out = dev.alloc(2 * g.groups);
    let mut p = vec![g.groups as u32, g.m as u32, g.inner as u32];
    p.extend(ix.params());
    p.extend([u32::from(w.is_some()), eps.to_bits()]);
    let wb = w.unwrap_or(mean);
    launch(
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
/// group with `c1 = 1 / group size`, or `None` for constant statistics (BatchNorm in
/// evaluation).
#[allow(clippy::too_many_arguments)]
pub(crate) fn norm_backward_x(
    gy: &GpuStorage<f32>,
    x: &GpuStorage<f32>,
    (mean, var): (&GpuStorage<f32>, &GpuStorage<f32>),
    w: Option<(&GpuStorage<f32>, WeightAt)>,
    sums: Option<(&GpuStorage<f32>, f32)>,
    ix: NormIndex,
    eps: f32,
) -> GpuStorage<f32> {
    let dev = &x.device;
    let gx = dev.alloc(x.len);
    let at = w.map(|w| w.1);
    let c1 = sums.map_or(0.0, |s| s.1);
    let mut p = vec![x.len as u32];
    p.extend(ix.params());
    p.extend([
        u32::from(at == Some(WeightAt::Inside)),
        u32::from(at == Some(WeightAt::Outside)),
        c1.to_bits(),
        eps.to_bits(),
    ]);
    let wb = w.map_or(mean, |w| w.0);
    let sb = sums.map_or(mean, |s| s.0);
    launch(
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
pub(crate) fn bn_running(
    running: (&GpuStorage<f32>, &GpuStorage<f32>),
    batch: (&GpuStorage<f32>, &GpuStorage<f32>),
    momentum: f32,
    unbias: f32,
) -> (GpuStorage<f32>, GpuStorage<f32>) {
    let dev = &running.0.device;
    let c = running.0.len;
    let (rm, rv) = (dev.alloc(c), dev.alloc(c));
    launch(
        dev,
        K_BN_RUNNING,
        &[c as u32, momentum.to_bits(), unbias.to_bits()],
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

/// Settings of one RMSprop step.
pub(crate) struct RmsPropStep {
    pub(crate) lr: f32,
    pub(crate) alpha: f32,
    pub(crate) eps: f32,
    pub(crate) weight_decay: f32,
    pub(crate) momentum: f32,
    pub(crate) centered: bool,
    pub(crate) sign: f32,
}

/// One RMSprop step on `w` in place; `state` is `[square_avg, grad_avg, momentum_buffer]`.
pub(crate) fn rmsprop(
    w: &GpuStorage<f32>,
    g: &GpuStorage<f32>,
    state: &[GpuStorage<f32>],
    s: &RmsPropStep,
) {
    let p = [
        w.len as u32,
        (s.lr as f32).to_bits(),
        s.alpha.to_bits(),
        (s.eps as f32).to_bits(),
        (s.weight_decay as f32).to_bits(),
        s.momentum.to_bits(),
        u32::from(s.centered),
        s.sign.to_bits(),
    ];
    launch(
        &w.device,
        K_RMSPROP,
        &p,
        &[&w.buf, &g.buf, &state[0].buf, &state[1].buf, &state[2].buf],
        grid_1d(w.len),
    );
}

/// One Adagrad step on `w` in place with the decayed rate `clr`; `sum` is the accumulator.
pub(crate) fn adagrad(
    w: &GpuStorage<f32>,
    g: &GpuStorage<f32>,
    sum: &GpuStorage<f32>,
    (clr, eps, weight_decay, sign): (f32, f32, f32, f32),
) {
    let p = [
        w.len as u32,
        clr.to_bits(),
        eps.to_bits(),
        weight_decay.to_bits(),
        sign.to_bits(),
    ];
    launch(
        &w.device,
        K_ADAGRAD,
        &p,
        &[&w.buf, &g.buf, &sum.buf],
        grid_1d(w.len),
    );
}

/// One Adam step with amsgrad and/or maximize; `state` is `[exp_avg, exp_avg_sq,
/// max_exp_avg_sq]` (the last unused without amsgrad but bound).
pub(crate) fn adam_ext(
    w: &GpuStorage<f32>,
    g: &GpuStorage<f32>,
    state: &[GpuStorage<f32>],
    s: &super::kernels::AdamStep,
    amsgrad: bool,
    sign: f32,
) {
    let p = [
        w.len as u32,
        (s.lr as f32).to_bits(),
        (s.beta1 as f32).to_bits(),
        (s.beta2 as f32).to_bits(),
        (s.eps as f32).to_bits(),
        (s.weight_decay as f32).to_bits(),
        (s.bias_correction1 as f32).to_bits(),
        (s.bias_correction2_sqrt as f32).to_bits(),
        u32::from(s.decoupled),
        u32::from(amsgrad),
        sign.to_bits(),
    ];
    launch(
        &w.device,
        K_ADAM_EXT,
        &p,
        &[&w.buf, &g.buf, &state[0].buf, &state[1].buf, &state[2].buf],
        grid_1d(w.len),
    );
}

/// The two halves of a `2 * n` buffer (the [`group_sums`] pair) as two new buffers.
pub(crate) fn halves(x: &GpuStorage<f32>, n: usize) -> (GpuStorage<f32>, GpuStorage<f32>) {
    let dev = &x.device;
    let (a, b) = (dev.alloc(n), dev.alloc(n));
    if n > 0 {
        let bytes = (n * 4) as u64;
        super::pipelines::record(dev, |enc| {
            enc.copy_buffer_to_buffer(&x.buf, 0, &a.buf, 0, bytes);
            enc.copy_buffer_to_buffer(&x.buf, bytes, &b.buf, 0, bytes);
        });
    }
    (a, b)
}
