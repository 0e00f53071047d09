//! Optimizers stepping GPU parameters in place with GPU kernels, with PyTorch's update rules:
//! the settings are those of the CPU optimizers ([`Sgd`], [`Adam`], [`AdamW`]), the state
//! (momentum, moments) lives on the GPU.

use super::nn::GpuParams;
use crate::autograd::Gradients;
use crate::device::GpuStorage;
use crate::device::kernels::{self, AdamStep, SgdStep};
use crate::device::layer_kernels;
use crate::error::{Error, Result};
use crate::optim::{Adam, AdamW, Sgd};
use std::collections::HashMap;

/// An optimizer whose update has a GPU kernel.
pub trait GpuStep {
    /// The number of state buffers per parameter (momentum: 1, Adam: 2).
    fn state_buffers(&self) -> usize;
    /// The value every state buffer starts at (Adagrad's `initial_accumulator_value`).
    fn initial_state(&self) -> f32 {
        0.0
    }
    /// An `Err` naming a setting the GPU kernel does not implement yet.
    fn check_gpu(&self) -> Result<()>;
    /// Updates `w` in place from `g`; `step` counts from 1; `first` when the state is new.
    fn update(
        &self,
        w: &GpuStorage<f32>,
        g: &GpuStorage<f32>,
        state: &[GpuStorage<f32>],
        step: u64,
        first: bool,
    );
}

impl GpuStep for Sgd<f32> {
    fn state_buffers(&self) -> usize {
        1
    }
    fn check_gpu(&self) -> Result<()> {
        if self.maximize {
            return Err(Error::value(
                "Sgd on the GPU",
                "maximize=true is not on the GPU yet".to_string(),
            ));
        }
        Ok(())
    }
    fn update(
        &self,
        w: &GpuStorage<f32>,
        g: &GpuStorage<f32>,
        state: &[GpuStorage<f32>],
        _: u64,
        first: bool,
    ) {
        kernels::sgd(
            w,
            g,
            &state[0],
            &SgdStep {
                lr: self.lr as f32,
                momentum: self.momentum as f32,
                dampening: self.dampening as f32,
                weight_decay: self.weight_decay as f32,
                nesterov: self.nesterov,
                first,
            },
        );
    }
}

fn adam_update(
    a: &Adam<f32>,
    w: &GpuStorage<f32>,
    g: &GpuStorage<f32>,
    state: &[GpuStorage<f32>],
    step: u64,
) {
    let (b1, b2) = a.betas;
    let bc1 = 1.0 - b1.powi(step as i32);
    let bc2 = 1.0 - b2.powi(step as i32);
    let settings = AdamStep {
        lr: a.lr as f32,
        beta1: b1 as f32,
        beta2: b2 as f32,
        eps: a.eps as f32,
        weight_decay: a.weight_decay as f32,
        bias_correction1: bc1 as f32,
        bias_correction2_sqrt: bc2.sqrt() as f32,
        decoupled: a.decoupled,
    };
    if a.amsgrad || a.maximize {
        let sign = if a.maximize { -1.0 } else { 1.0 };
        layer_kernels::adam_ext(w, g, state, &settings, a.amsgrad, sign);
    } else {
        kernels::adam(w, g, &state[0], &state[1], &settings);
    }
}

/// `exp_avg`, `exp_avg_sq`, and with amsgrad or maximize (one kernel) `max_exp_avg_sq`.
fn adam_buffers(a: &Adam<f32>) -> usize {
    if a.amsgrad || a.maximize { 3 } else { 2 }
}

impl GpuStep for Adam<f32> {
    fn state_buffers(&self) -> usize {
        adam_buffers(self)
    }
    fn check_gpu(&self) -> Result<()> {
        Ok(())
    }
    fn update(
        &self,
        w: &GpuStorage<f32>,
        g: &GpuStorage<f32>,
        state: &[GpuStorage<f32>],
        step: u64,
        _: bool,
    ) {
        adam_update(self, w, g, state, step)
    }
}

impl GpuStep for AdamW<f32> {
    fn state_buffers(&self) -> usize {
        adam_buffers(&self.0)
    }
    fn check_gpu(&self) -> Result<()> {
        Ok(())
    }
    fn update(
        &self,
        w: &GpuStorage<f32>,
        g: &GpuStorage<f32>,
        state: &[GpuStorage<f32>],
        step: u64,
        _: bool,
    ) {
        adam_update(&self.0, w, g, state, step)
    }
}

/// A CPU optimizer's settings stepping a GPU model: `GpuOptimizer::new(Adam::new(1e-3))`.
/// Parameters without a gradient are skipped, as on the CPU; state is keyed by parameter name.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::nn::{Linear, Module};
/// use shaped::optim::Sgd;
/// use shaped::rand::{SeedableRng, rngs::StdRng};
/// let gpu = Wgpu::new()?;
/// let mut model = Linear::<2, 1>::new(&mut StdRng::seed_from_u64(0)).to_device(&gpu)?;
/// let mut opt = GpuOptimizer::new(Sgd::new(0.1));
/// let x = Tensor::<Rank2<4, 2>>::ones().to_device(&gpu)?;
/// let loss = model.forward(x.trace_constant()).square().mean();
/// opt.step(&mut model, &loss.backward())?;
/// # Ok::<(), shaped::error::Error>(())
/// ```
pub struct GpuOptimizer<O> {
    /// The settings (learning rate, betas, ...), changeable between steps.
    pub opt: O,
    state: HashMap<String, Vec<GpuStorage<f32>>>,
    steps: u64,
}

impl<O: GpuStep> GpuOptimizer<O> {
    /// An optimizer with `opt`'s settings and empty state.
    pub fn new(opt: O) -> Self {
        GpuOptimizer {
            opt,
            state: HashMap::new(),
            steps: 0,
        }
    }
    /// One update of every parameter of `model` that has a GPU gradient in `grads`.
    pub fn step(&mut self, model: &mut dyn GpuParams, grads: &Gradients<f32>) -> Result<()> {
        self.opt.check_gpu()?;
        self.steps += 1;
        let (opt, state, steps) = (&self.opt, &mut self.state, self.steps);
        model.visit_gpu("", &mut |p| {
            let Some(g) = grads.get_gpu_storage(p.id) else {
                return;
            };
            // Copy-on-write: a buffer shared with a clone of the model is copied first.
            if std::sync::Arc::strong_count(&p.data.buf) > 1 {
                *p.data = kernels::copy(p.data);
            }
            let first = !state.contains_key(p.name);
            let bufs = state.entry(p.name.to_string()).or_insert_with(|| {
                let zeros = vec![opt.initial_state(); p.data.len()];
                (0..opt.state_buffers())
                    .map(|_| p.data.device().upload(&zeros))
                    .collect()
            });
            // A setting switched on between steps (amsgrad) may need one more buffer.
            while bufs.len() < opt.state_buffers() {
                bufs.push(p.data.device().upload(&vec![0.0; p.data.len()]));
            }
            opt.update(p.data, &g, bufs, steps, first);
        });
        Ok(())
    }
    /// The number of steps taken.
    pub fn steps(&self) -> u64 {
        self.steps
    }
    /// The state of one parameter, copied to the CPU: `momentum_buffer` (Sgd); `exp_avg`,
    /// `exp_avg_sq` and, with amsgrad or maximize, `max_exp_avg_sq` (Adam, AdamW);
    /// `square_avg`, `grad_avg`, `momentum_buffer` (RmsProp); `sum` (Adagrad).
    pub fn state_of(&self, name: &str) -> Result<Option<Vec<Vec<f32>>>> {
        let Some(bufs) = self.state.get(name) else {
            return Ok(None);
        };
        bufs.iter()
            .map(|b| b.device().download(b))
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }
}
