//! The Adamax, NAdam, RAdam and Adadelta kernels (`optim_shaders`) as plain functions on
//! device buffers. Each updates `w` in place from `g` and its two state buffers; the settings
//! arrive already reduced to per-step constants. Only `crate::gpu` calls these.

use super::GpuStorage;
use super::optim_shaders as shaders;
use super::pipelines::{Kernel, grid_1d, launch};

macro_rules! kernel {
    ($name:ident, $src:ident) => {
        const $name: Kernel = Kernel {
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
    Adamax([f32; 6]),
    /// `[beta1, beta2, eps, bias correction 2, gradient weight, average weight, weight decay,
    /// decay factor, sign]`; state `[exp_avg, exp_avg_sq]`.
    NAdam([f32; 9]),
    /// `[lr, beta1, beta2, eps, bias correction 1, sqrt bias correction 2, rectification]`,
    /// whether to rectify, `[weight decay, decay factor, sign]`; state `[exp_avg, exp_avg_sq]`.
    RAdam([f32; 7], bool, [f32; 3]),
    /// `[lr, rho, eps, weight decay, sign]`; state `[square_avg, acc_delta]`.
    Adadelta([f32; 5]),
}

/// One step of `rule` on `w` in place; `state` holds the rule's two buffers.
pub(crate) fn optim_step(
    w: &GpuStorage<f32>,
    g: &GpuStorage<f32>,
    state: &[GpuStorage<f32>],
    rule: &OptimRule,
) {
    let bits = |xs: &[f32]| xs.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
    let mut p = vec![w.len as u32];
    let k = match rule {
        OptimRule::Adamax(c) => {
            p.extend(bits(c));
            K_ADAMAX
        }
        OptimRule::NAdam(c) => {
            p.extend(bits(c));
            K_NADAM
        }
        OptimRule::RAdam(c, rectify, rest) => {
            p.extend(bits(c));
            p.push(u32::from(*rectify));
            p.extend(bits(rest));
            K_RADAM
        }
        OptimRule::Adadelta(c) => {
            p.extend(bits(c));
            K_ADADELTA
        }
    };
    launch(
        &w.device,
        k,
        &p,
        &[&w.buf, &g.buf, &state[0].buf, &state[1].buf],
        grid_1d(w.len),
    );
}
