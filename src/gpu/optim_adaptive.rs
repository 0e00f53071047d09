//! RMSprop and Adagrad stepping GPU parameters ([`GpuOptimizer`](super::GpuOptimizer)), with
//! the update rules of the CPU optimizers [`RmsProp`] and [`Adagrad`] (PyTorch's).

use super::optim::GpuStep;
use crate::device::GpuStorage;
use crate::device::layer_kernels::{self, RmsPropStep};
use crate::dtype::Float;
use crate::optim::{Adagrad, RmsProp};

fn sign(maximize: bool) -> f64 {
    if maximize { -1.0 } else { 1.0 }
}

/// RMSprop on the GPU: `GpuOptimizer::new(RmsProp::new(0.01).centered(true).momentum(0.9))`.
/// Every parameter keeps three buffers, `square_avg`, `grad_avg` (read only when centered) and
/// `momentum_buffer` (only with momentum).
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::optim::RmsProp;
/// let gpu = Wgpu::new()?;
/// let mut w = Tensor::<Rank1<2>>::ones().to_device(&gpu)?;
/// let mut opt = GpuOptimizer::new(RmsProp::new(0.01).centered(true));
/// let grads = w.clone().trace().square().sum().backward();
/// opt.step(&mut w, &grads)?;
/// # Ok::<(), shaped::error::Error>(())
/// ```
impl<E: Float> GpuStep<E> for RmsProp<E> {
    fn buffer_names(&self) -> &'static [&'static str] {
        &["square_avg", "grad_avg", "momentum_buffer"]
    }
    fn uses_buffer(&self, slot: usize) -> bool {
        match slot {
            1 => self.centered,
            2 => self.momentum > 0.0,
            _ => true,
        }
    }
    fn update(
        &self,
        w: &GpuStorage<E>,
        g: &GpuStorage<E>,
        state: &[GpuStorage<E>],
        _: u64,
        _: bool,
    ) {
        layer_kernels::rmsprop(
            w,
            g,
            state,
            &RmsPropStep {
                lr: self.lr,
                alpha: self.alpha,
                eps: self.eps,
                weight_decay: self.weight_decay,
                momentum: self.momentum,
                centered: self.centered,
                sign: sign(self.maximize),
            },
        );
    }
}

/// Adagrad on the GPU: the rate at step `t` is `lr / (1 + (t - 1) lr_decay)` and the `sum`
/// buffer starts at `initial_accumulator_value`, as on the CPU.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::optim::Adagrad;
/// let gpu = Wgpu::new()?;
/// let mut w = Tensor::<Rank1<2>>::ones().to_device(&gpu)?;
/// let mut opt = GpuOptimizer::new(Adagrad::new(0.1).initial_accumulator_value(0.1));
/// let grads = w.clone().trace().square().sum().backward();
/// opt.step(&mut w, &grads)?;
/// # Ok::<(), shaped::error::Error>(())
/// ```
impl<E: Float> GpuStep<E> for Adagrad<E> {
    fn buffer_names(&self) -> &'static [&'static str] {
        &["sum"]
    }
    fn initial_state(&self) -> E {
        E::from_f64(self.initial_accumulator_value)
    }
    fn update(
        &self,
        w: &GpuStorage<E>,
        g: &GpuStorage<E>,
        state: &[GpuStorage<E>],
        step: u64,
        _: bool,
    ) {
        let clr = self.lr / (1.0 + step.saturating_sub(1) as f64 * self.lr_decay);
        layer_kernels::adagrad(
            w,
            g,
            &state[0],
            (clr, self.eps, self.weight_decay, sign(self.maximize)),
        );
    }
}
