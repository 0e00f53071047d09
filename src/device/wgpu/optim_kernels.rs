//! The Adamax, NAdam, RAdam and Adadelta kernels (`optim_shaders`) as plain functions on
//! device buffers of either element type. Each updates `w` in place from `g` and its two
//! state buffers; the settings arrive already reduced to per-step constants, as f64 (full
//! precision for f64 buffers, rounded to f32 once for f32 buffers). Only `crate::gpu` calls
//! these.

use super::GpuStorage;
use super::dtype::Params;
use super::optim_shaders as shaders;
use super::pipelines::{Kernel, grid_1d, launch_as};
use crate::dtype::Float;

macro_rules! kernel {
    ($name:ident, $src:ident) => {
        pub(crate) const $name: Kernel = Kernel {
            key: stringify!($name),
            source: shaders::$src,
            entry: "main",
        };
    };
}
kernel!(K_ADAMAX, ADAMAX);
kernel!(K_NADAM, NADAM);
kernel!(K_RADAM, RADAM);
kernel!(K_ADADELTA, ADADELTA);

/// Which update [`optim_step`] runs, with its constants in the order its shader reads them.
pub(crate) enum OptimRule {
    /// `[lr / bias correction 1, beta1, beta2, eps, weight decay, sign]`; state `[exp_avg, exp_inf]`.
    Adamax([f64; 6]),
    /// `[beta1, beta2, eps, bias correction 2, gradient weight, average weight, weight decay,
    /// decay factor, sign]`; state `[exp_avg, exp_avg_sq]`.
    NAdam([f64; 9]),
    /// `[lr, beta1, beta2, eps, bias correction 1, sqrt bias correction 2, rectification]`,
    /// whether to rectify, `[weight decay, decay factor, sign]`; state `[exp_avg, exp_avg_sq]`.
    RAdam([f64; 7], bool, [f64; 3]),
    /// `[lr, rho, eps, weight decay, sign]`; state `[square_avg, acc_delta]`.
    Adadelta([f64; 5]),
}

/// One step of `rule` on `w` in place; `state` holds the rule's two buffers.
pub(crate) fn optim_step<E: Float>(
    w: &GpuStorage<E>,
    g: &GpuStorage<E>,
    state: &[GpuStorage<E>],
    rule: &OptimRule,
) {
    let floats = |p: Params, xs: &[f64]| xs.iter().fold(p, |p, x| p.f(*x));
    let p = Params::new().u(w.len);
    let (k, p) = match rule {
        OptimRule::Adamax(c) => (K_ADAMAX, floats(p, c)),
        OptimRule::NAdam(c) => (K_NADAM, floats(p, c)),
        OptimRule::RAdam(c, rectify, rest) => {
            let p = floats(p, c).u(usize::from(*rectify));
            (K_RADAM, floats(p, rest))
        }
        OptimRule::Adadelta(c) => (K_ADADELTA, floats(p, c)),
    };
    launch_as::<E>(
        &w.device,
        k,
        &p,
        &[&w.buf, &g.buf, &state[0].buf, &state[1].buf],
        grid_1d(w.len),
    );
}
