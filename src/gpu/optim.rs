//! Optimizers stepping GPU parameters in place with GPU kernels, with PyTorch's update rules:
//! the settings are those of the CPU optimizers ([`Sgd`], [`Adam`], [`AdamW`], ...), parameter
//! groups and learning-rate schedules included; the state (momentum, moments) lives on the GPU
//! under the CPU optimizer's names, so a state saved on one device loads on the other.

use super::nn::GpuParams;
use crate::autograd::Gradients;
use crate::device::GpuStorage;
use crate::device::kernels::{self, AdamStep, SgdStep};
use crate::device::layer_kernels;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::optim::{Adadelta, Adagrad, Adam, AdamW, Adamax, NAdam, Optimizer, RAdam, RmsProp, Sgd};
use std::collections::BTreeMap;

pub(crate) mod sealed {
    /// What [`GpuOptimizer`](super::GpuOptimizer) needs of a built-in optimizer's parameter
    /// groups; implemented for the built-in optimizers only.
    pub trait Sealed: Sized {
        /// One copy per parameter group with that group's settings as its own (group 0
        /// first); empty without added groups.
        fn per_group(&self) -> Vec<Self>;
        /// The group of parameter `name`, noted for the state's group entries.
        fn group_of(&mut self, name: &str) -> usize;
    }
}

macro_rules! sealed_grouped {
    ($($t:ident),*) => {$(
        impl<E: Float> sealed::Sealed for $t<E> {
            fn per_group(&self) -> Vec<Self> {
                crate::optim::per_group::<E, _>(self)
            }
            fn group_of(&mut self, name: &str) -> usize {
                crate::optim::group_of::<E, _>(self, name)
            }
        }
    )*};
}
sealed_grouped!(Sgd, Adam, RmsProp, Adagrad, Adamax, NAdam, RAdam, Adadelta);

impl<E: Float> sealed::Sealed for AdamW<E> {
    fn per_group(&self) -> Vec<Self> {
        self.0.per_group().into_iter().map(AdamW).collect()
    }
    fn group_of(&mut self, name: &str) -> usize {
        self.0.group_of(name)
    }
}

/// An optimizer whose update has a GPU kernel: the CPU optimizer's settings ([`Optimizer`]
/// gives the learning rates that schedulers set) with the GPU update, for parameters of the
/// element type `E` (`Adam<f64>` steps f64 GPU parameters, `Adam` = `Adam<f32>` f32 ones).
/// The settings reach the kernels as f64: an f64 kernel reads them as two f32 parts (48
/// bits), an f32 kernel rounds them to f32 once, as it always did.
pub trait GpuStep<E: Float = f32>: Optimizer<E> + Clone + sealed::Sealed {
    /// The number of state buffers per parameter: one per name, except where the kernel
    /// needs a buffer the settings do not keep (Adam's `maximize` uses the amsgrad kernel).
    fn state_buffers(&self) -> usize {
        self.buffer_names().len()
    }
    /// The CPU optimizer's name of each state buffer, in buffer order (`momentum_buffer`;
    /// `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq`): the names of the saved state.
    fn buffer_names(&self) -> &'static [&'static str];
    /// Whether these settings use buffer `slot` (the CPU optimizer keeps only those: SGD's
    /// momentum buffer only with momentum).
    fn uses_buffer(&self, slot: usize) -> bool {
        let _ = slot;
        true
    }
    /// The value every state buffer starts at (Adagrad's `initial_accumulator_value`).
    fn initial_state(&self) -> E {
        E::ZERO
    }
    /// An `Err` naming a setting the GPU kernel does not implement yet (every setting of
    /// today's optimizers runs on the GPU).
    fn check_gpu(&self) -> Result<()> {
        Ok(())
    }
    /// Updates `w` in place from `g`; `step` counts from 1; `first` when the state is new.
    fn update(
        &self,
        w: &GpuStorage<E>,
        g: &GpuStorage<E>,
        state: &[GpuStorage<E>],
        step: u64,
        first: bool,
    );
}

impl<E: Float> GpuStep<E> for Sgd<E> {
    fn buffer_names(&self) -> &'static [&'static str] {
        &["momentum_buffer"]
    }
    fn uses_buffer(&self, _: usize) -> bool {
        self.momentum != 0.0
    }
    fn update(
        &self,
        w: &GpuStorage<E>,
        g: &GpuStorage<E>,
        state: &[GpuStorage<E>],
        _: u64,
        first: bool,
    ) {
        kernels::sgd(
            w,
            g,
            &state[0],
            &SgdStep {
                lr: self.lr,
                momentum: self.momentum,
                dampening: self.dampening,
                weight_decay: self.weight_decay,
                nesterov: self.nesterov,
                first,
                sign: if self.maximize { -1.0 } else { 1.0 },
            },
        );
    }
}

fn adam_update<E: Float>(
    a: &Adam<E>,
    w: &GpuStorage<E>,
    g: &GpuStorage<E>,
    state: &[GpuStorage<E>],
    step: u64,
) {
    let (b1, b2) = a.betas;
    let bc1 = 1.0 - b1.powi(step as i32);
    let bc2 = 1.0 - b2.powi(step as i32);
    let settings = AdamStep {
        lr: a.lr,
        beta1: b1,
        beta2: b2,
        eps: a.eps,
        weight_decay: a.weight_decay,
        bias_correction1: bc1,
        bias_correction2_sqrt: bc2.sqrt(),
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
fn adam_buffers<E: Float>(a: &Adam<E>) -> usize {
    if a.amsgrad || a.maximize { 3 } else { 2 }
}

const ADAM_BUFFERS: &[&str] = &["exp_avg", "exp_avg_sq", "max_exp_avg_sq"];

impl<E: Float> GpuStep<E> for Adam<E> {
    fn state_buffers(&self) -> usize {
        adam_buffers(self)
    }
    fn buffer_names(&self) -> &'static [&'static str] {
        ADAM_BUFFERS
    }
    fn uses_buffer(&self, slot: usize) -> bool {
        slot < 2 || self.amsgrad
    }
    fn update(
        &self,
        w: &GpuStorage<E>,
        g: &GpuStorage<E>,
        state: &[GpuStorage<E>],
        step: u64,
        _: bool,
    ) {
        adam_update(self, w, g, state, step)
    }
}

impl<E: Float> GpuStep<E> for AdamW<E> {
    fn state_buffers(&self) -> usize {
        adam_buffers(&self.0)
    }
    fn buffer_names(&self) -> &'static [&'static str] {
        ADAM_BUFFERS
    }
    fn uses_buffer(&self, slot: usize) -> bool {
        slot < 2 || self.0.amsgrad
    }
    fn update(
        &self,
        w: &GpuStorage<E>,
        g: &GpuStorage<E>,
        state: &[GpuStorage<E>],
        step: u64,
        _: bool,
    ) {
        adam_update(&self.0, w, g, state, step)
    }
}

/// A CPU optimizer's settings stepping a GPU model: `GpuOptimizer::new(Adam::new(1e-3))`.
/// Parameters without a gradient are skipped, as on the CPU; state is keyed by parameter name.
///
/// The settings live in [`opt`](GpuOptimizer::opt), the CPU optimizer, and are read at every
/// step: parameter groups added to it ([`ParamGroup`](crate::optim::ParamGroup)) give their
/// parameters their own rate, decay, momentum or betas, and a scheduler drives it as on the
/// CPU (`LrScheduler::new(&mut gpu_opt.opt, schedule)`). [`state`](GpuOptimizer::state) and
/// [`load_state`](GpuOptimizer::load_state) use the CPU optimizer's names and layout.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::nn::{Linear, Module};
/// use shaped::optim::{Optimizer, ParamGroup, Sgd};
/// use shaped::rand::{SeedableRng, rngs::StdRng};
/// let gpu = Wgpu::new()?;
/// let mut model = Linear::<2, 1>::new(&mut StdRng::seed_from_u64(0)).to_device(&gpu)?;
/// let sgd = Sgd::new(0.1).momentum(0.9).with_param_group(ParamGroup::names(["bias"]).lr(0.5));
/// let mut opt = GpuOptimizer::new(sgd);
/// let x = Tensor::<Rank2<4, 2>>::ones().to_device(&gpu)?;
/// let loss = model.forward(x.trace_constant()).square().mean();
/// opt.step(&mut model, &loss.backward())?;
/// assert_eq!(opt.group_lrs(), vec![0.1, 0.5]);
/// let saved = opt.state()?; // "step", "bias.momentum_buffer", ... as the CPU's Sgd
/// # Ok::<(), shaped::error::Error>(())
/// ```
///
/// `E` is the element type of the parameters it steps, the CPU optimizer's (`f32` by
/// default): `GpuOptimizer::new(Adam::<f64>::new(1e-3))` is a `GpuOptimizer<Adam<f64>, f64>`
/// and steps f64 GPU models (adapters with f64 shaders), as the CPU's `Adam<f64>` steps f64
/// models, state and checkpoints in f64 included.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::optim::{Adam, Optimizer};
/// let gpu = Wgpu::new()?;
/// let mut w = Tensor::<Rank1<2>, f64>::ones().to_device(&gpu)?;
/// let mut opt = GpuOptimizer::new(Adam::<f64>::new(0.1));
/// let grads = w.clone().trace().square().sum().backward();
/// opt.step(&mut w, &grads)?;
/// let mut cpu = Adam::<f64>::new(0.1);
/// cpu.load_state(opt.state()?)?; // f64 buffers, continued on the CPU
/// # Ok::<(), shaped::error::Error>(())
/// ```
pub struct GpuOptimizer<O, E: Float = f32> {
    /// The settings (learning rate, betas, parameter groups, ...), changeable between steps.
    pub opt: O,
    pub(super) state: BTreeMap<String, ParamState<E>>,
    pub(super) steps: u64,
}

/// One parameter's buffers: on the GPU once stepped, in main memory when loaded by
/// [`GpuOptimizer::load_state`] (uploaded by the next step, which knows the device).
pub(super) struct ParamState<E: Float> {
    pub(super) bufs: Vec<Buffer<E>>,
    /// Which buffers the CPU optimizer would hold (those some step's settings used, or loaded).
    pub(super) live: Vec<bool>,
}

pub(super) enum Buffer<E: Float> {
    Device(GpuStorage<E>),
    Host(Vec<E>),
}

impl<E: Float> Buffer<E> {
    pub(super) fn len(&self) -> usize {
        match self {
            Buffer::Device(b) => b.len(),
            Buffer::Host(v) => v.len(),
        }
    }
    pub(super) fn to_vec(&self) -> Result<Vec<E>> {
        match self {
            Buffer::Device(b) => b.device().download(b),
            Buffer::Host(v) => Ok(v.clone()),
        }
    }
}

impl<E: Float, O: GpuStep<E>> GpuOptimizer<O, E> {
    /// An optimizer with `opt`'s settings and empty state.
    pub fn new(opt: O) -> Self {
        GpuOptimizer {
            opt,
            state: BTreeMap::new(),
            steps: 0,
        }
    }
    /// One update of every parameter of `model` that has a GPU gradient in `grads`. An
    /// error, before anything changes, when a loaded state does not fit the model.
    pub fn step(&mut self, model: &mut dyn GpuParams<E>, grads: &Gradients<E>) -> Result<()> {
        self.opt.check_gpu()?;
        self.check_lengths(model, grads)?;
        self.steps += 1;
        let groups = self.opt.per_group();
        let (opt, state, steps) = (&mut self.opt, &mut self.state, self.steps);
        model.visit_gpu("", &mut |p| {
            let Some(g) = grads.get_gpu_storage(p.id) else {
                return;
            };
            // Copy-on-write: a buffer shared with a clone of the model is copied first.
            if std::sync::Arc::strong_count(&p.data.buf) > 1 {
                *p.data = kernels::copy(p.data);
            }
            let group = opt.group_of(p.name);
            let settings: &O = groups.get(group).unwrap_or(&*opt);
            let st = state
                .entry(p.name.to_string())
                .or_insert_with(|| ParamState {
                    bufs: Vec::new(),
                    live: Vec::new(),
                });
            let device = p.data.device();
            // A setting switched on between steps (amsgrad) may need one more buffer.
            while st.bufs.len() < settings.state_buffers() {
                let init = vec![settings.initial_state(); p.data.len()];
                st.bufs.push(Buffer::Host(init));
                st.live.push(false);
            }
            let bufs: Vec<GpuStorage<E>> = st
                .bufs
                .iter_mut()
                .map(|b| {
                    if let Buffer::Host(v) = b {
                        *b = Buffer::Device(device.upload(v));
                    }
                    match b {
                        Buffer::Device(d) => d.clone(),
                        Buffer::Host(_) => unreachable!("uploaded above"),
                    }
                })
                .collect();
            // PyTorch starts SGD's momentum buffer at the first gradient it is used for.
            let first = !st.live.first().copied().unwrap_or(false);
            for (slot, live) in st.live.iter_mut().enumerate() {
                *live |= settings.uses_buffer(slot);
            }
            settings.update(p.data, &g, &bufs, steps, first);
        });
        Ok(())
    }
    /// The number of steps taken.
    pub fn steps(&self) -> u64 {
        self.steps
    }
    /// The learning rate of group 0 (the optimizer's own).
    pub fn lr(&self) -> f64 {
        self.opt.lr()
    }
    /// Sets every parameter group's learning rate.
    pub fn set_lr(&mut self, lr: f64) {
        self.opt.set_lr(lr)
    }
    /// Every parameter group's learning rate, group 0 first.
    pub fn group_lrs(&self) -> Vec<f64> {
        self.opt.group_lrs()
    }
    /// Sets group `i`'s learning rate to `lrs[i]`.
    pub fn set_group_lrs(&mut self, lrs: &[f64]) {
        self.opt.set_group_lrs(lrs)
    }
    /// The state of one parameter, copied to the CPU: every buffer the GPU keeps, in buffer
    /// order (see [`GpuStep::buffer_names`]); [`state`](GpuOptimizer::state) has the named
    /// buffers the CPU optimizer keeps.
    pub fn state_of(&self, name: &str) -> Result<Option<Vec<Vec<E>>>> {
        let Some(st) = self.state.get(name) else {
            return Ok(None);
        };
        st.bufs
            .iter()
            .map(Buffer::to_vec)
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// Checks that every loaded buffer of a parameter with a gradient has the parameter's
    /// length.
    fn check_lengths(&self, model: &mut dyn GpuParams<E>, grads: &Gradients<E>) -> Result<()> {
        let mut bad = None;
        let names = self.opt.buffer_names();
        model.visit_gpu("", &mut |p| {
            if bad.is_some() || grads.get_gpu_storage(p.id).is_none() {
                return;
            }
            let Some(st) = self.state.get(p.name) else {
                return;
            };
            let n = p.data.len();
            if let Some((slot, b)) = st.bufs.iter().enumerate().find(|(_, b)| b.len() != n) {
                bad = Some(format!(
                    "buffer `{}.{}` has {} values, but parameter `{}` has {n} (was the state \
                     loaded from another model?)",
                    p.name,
                    names.get(slot).copied().unwrap_or("?"),
                    b.len(),
                    p.name
                ));
            }
        });
        match bad {
            Some(m) => Err(Error::value("GPU optimizer step", m)),
            None => Ok(()),
        }
    }
}
