//! Adamax, NAdam, RAdam and Adadelta stepping GPU parameters
//! ([`GpuOptimizer`](super::GpuOptimizer)), with the update rules of the CPU optimizers
//! [`Adamax`], [`NAdam`], [`RAdam`] and [`Adadelta`] (PyTorch's), weight decay (L2 or
//! decoupled) and `maximize` included. The step counter is the optimizer's.

use super::optim::GpuStep;
use crate::device::GpuStorage;
use crate::device::optim_kernels::{OptimRule, optim_step};
use crate::dtype::Float;
use crate::optim::{Adadelta, Adamax, NAdam, RAdam};
use std::cell::Cell;

fn sign(maximize: bool) -> f64 {
    if maximize { -1.0 } else { 1.0 }
}

/// `(L2 weight decay, factor p is multiplied by first)` for the two weight-decay forms.
fn decay_forms(lr: f64, weight_decay: f64, decoupled: bool) -> (f64, f64) {
    if decoupled {
        (0.0, 1.0 - lr * weight_decay)
    } else {
        (weight_decay, 1.0)
    }
}

/// Adamax on the GPU: `exp_avg` and the infinity norm `exp_inf` per parameter, the rate
/// divided by `1 - beta1^t`, as on the CPU.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::optim::Adamax;
/// let gpu = Wgpu::new()?;
/// let mut w = Tensor::<Rank1<2>>::ones().to_device(&gpu)?;
/// let mut opt = GpuOptimizer::new(Adamax::new(2e-3).weight_decay(0.01));
/// let grads = w.clone().trace().square().sum().backward();
/// opt.step(&mut w, &grads)?;
/// # Ok::<(), shaped::error::Error>(())
/// ```
impl<E: Float> GpuStep<E> for Adamax<E> {
    fn buffer_names(&self) -> &'static [&'static str] {
        &["exp_avg", "exp_inf"]
    }
    fn update(
        &self,
        w: &GpuStorage<E>,
        g: &GpuStorage<E>,
        state: &[GpuStorage<E>],
        step: u64,
        _: bool,
    ) {
        let (b1, b2) = self.betas;
        let t = step.min(i32::MAX as u64) as i32;
        let clr = self.lr / (1.0 - b1.powi(t));
        let rule = OptimRule::Adamax([
            clr,
            b1,
            b2,
            self.eps,
            self.weight_decay,
            sign(self.maximize),
        ]);
        optim_step(w, g, state, &rule);
    }
}

thread_local! {
    /// The last `(beta1, momentum_decay, step, mu product)` NAdam computed: a step reuses it
    /// (every parameter of one step) or extends it by one factor (the next step), so the
    /// product costs one `powf` per step however long the run.
    static MU_PRODUCT: Cell<Option<(u64, u64, u64, f64)>> = const { Cell::new(None) };
}

/// `mu_1 mu_2 ... mu_t` of NAdam's momentum schedule, multiplied in the CPU optimizer's order.
fn nadam_mu_product(b1: f64, momentum_decay: f64, t: u64) -> f64 {
    let mu = |k: u64| b1 * (1.0 - 0.5 * 0.96f64.powf(k as f64 * momentum_decay));
    let key = (b1.to_bits(), momentum_decay.to_bits());
    let product = match MU_PRODUCT.get() {
        Some((b, d, k, prod)) if (b, d) == key && k == t => prod,
        Some((b, d, k, prod)) if (b, d) == key && k + 1 == t => prod * mu(t),
        _ => (1..=t).map(mu).product(),
    };
    MU_PRODUCT.set(Some((key.0, key.1, t, product)));
    product
}

/// NAdam on the GPU: `exp_avg` and `exp_avg_sq` per parameter, the momentum schedule
/// `mu_t = beta1 (1 - 0.96^(t momentum_decay) / 2)` and its running product as on the CPU.
/// The product is rebuilt from the current `beta1`, so a `beta1` changed mid-run counts for
/// the earlier steps too (as on the CPU after loading a checkpoint).
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::optim::NAdam;
/// let gpu = Wgpu::new()?;
/// let mut w = Tensor::<Rank1<2>>::ones().to_device(&gpu)?;
/// let mut opt = GpuOptimizer::new(NAdam::new(2e-3).weight_decay(0.01).decoupled_weight_decay(true));
/// let grads = w.clone().trace().square().sum().backward();
/// opt.step(&mut w, &grads)?;
/// # Ok::<(), shaped::error::Error>(())
/// ```
impl<E: Float> GpuStep<E> for NAdam<E> {
    fn buffer_names(&self) -> &'static [&'static str] {
        &["exp_avg", "exp_avg_sq"]
    }
    fn update(
        &self,
        w: &GpuStorage<E>,
        g: &GpuStorage<E>,
        state: &[GpuStorage<E>],
        step: u64,
        _: bool,
    ) {
        let (b1, b2) = self.betas;
        let t = step;
        let mu_next = b1 * (1.0 - 0.5 * 0.96f64.powf((t + 1) as f64 * self.momentum_decay));
        let mu = b1 * (1.0 - 0.5 * 0.96f64.powf(t as f64 * self.momentum_decay));
        let mu_product = nadam_mu_product(b1, self.momentum_decay, t);
        let mu_product_next = mu_product * mu_next;
        let (l2, decay) = decay_forms(self.lr, self.weight_decay, self.decoupled_weight_decay);
        let rule = OptimRule::NAdam([
            b1,
            b2,
            self.eps,
            1.0 - b2.powf(t as f64),
            self.lr * (1.0 - mu) / (1.0 - mu_product),
            self.lr * mu_next / (1.0 - mu_product_next),
            l2,
            decay,
            sign(self.maximize),
        ]);
        optim_step(w, g, state, &rule);
    }
}

/// RAdam on the GPU: `exp_avg` and `exp_avg_sq` per parameter; the adaptive, rectified step
/// once the variance's degrees of freedom `rho_t` exceed 5, plain momentum before, as on the
/// CPU.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::optim::RAdam;
/// let gpu = Wgpu::new()?;
/// let mut w = Tensor::<Rank1<2>>::ones().to_device(&gpu)?;
/// let mut opt = GpuOptimizer::new(RAdam::new(1e-3).weight_decay(0.01));
/// let grads = w.clone().trace().square().sum().backward();
/// opt.step(&mut w, &grads)?;
/// # Ok::<(), shaped::error::Error>(())
/// ```
impl<E: Float> GpuStep<E> for RAdam<E> {
    fn buffer_names(&self) -> &'static [&'static str] {
        &["exp_avg", "exp_avg_sq"]
    }
    fn update(
        &self,
        w: &GpuStorage<E>,
        g: &GpuStorage<E>,
        state: &[GpuStorage<E>],
        step: u64,
        _: bool,
    ) {
        let (b1, b2) = self.betas;
        let t = step as f64;
        let bias_correction1 = 1.0 - b1.powf(t);
        let bias_correction2 = 1.0 - b2.powf(t);
        let rho_inf = 2.0 / (1.0 - b2) - 1.0;
        let rho_t = rho_inf - 2.0 * t * b2.powf(t) / bias_correction2;
        let rect = (rho_t > 5.0).then(|| {
            ((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
                .sqrt()
        });
        let (l2, decay) = decay_forms(self.lr, self.weight_decay, self.decoupled_weight_decay);
        let rule = OptimRule::RAdam(
            [
                self.lr,
                b1,
                b2,
                self.eps,
                bias_correction1,
                bias_correction2.sqrt(),
                rect.unwrap_or(1.0),
            ],
            rect.is_some(),
            [l2, decay, sign(self.maximize)],
        );
        optim_step(w, g, state, &rule);
    }
}

/// Adadelta on the GPU: `square_avg` and `acc_delta` per parameter, as on the CPU.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::optim::Adadelta;
/// let gpu = Wgpu::new()?;
/// let mut w = Tensor::<Rank1<2>>::ones().to_device(&gpu)?;
/// let mut opt = GpuOptimizer::new(Adadelta::new(1.0).rho(0.9));
/// let grads = w.clone().trace().square().sum().backward();
/// opt.step(&mut w, &grads)?;
/// # Ok::<(), shaped::error::Error>(())
/// ```
impl<E: Float> GpuStep<E> for Adadelta<E> {
    fn buffer_names(&self) -> &'static [&'static str] {
        &["square_avg", "acc_delta"]
    }
    fn update(
        &self,
        w: &GpuStorage<E>,
        g: &GpuStorage<E>,
        state: &[GpuStorage<E>],
        _: u64,
        _: bool,
    ) {
        let rule = OptimRule::Adadelta([
            self.lr,
            self.rho,
            self.eps,
            self.weight_decay,
            sign(self.maximize),
        ]);
        optim_step(w, g, state, &rule);
    }
}
