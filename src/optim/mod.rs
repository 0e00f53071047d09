//! Optimizers, gradient clipping and learning-rate schedules, with PyTorch's update rules
//! and defaults.
//!
//! An optimizer updates a model through the [`Params`] visitor from the [`Gradients`] of a
//! backward pass. Parameters without a gradient (a frozen part of the model, or one the loss
//! does not reach) are skipped. Per-parameter state (momentum, moments) is keyed by the
//! parameter's `state_dict` name and visible as `"<param>.<state>"`, so it can be saved with
//! the model.
//!
//! ```
//! use shaped::prelude::*;
//! use shaped::nn::Linear;
//! use shaped::optim::{Optimizer, Sgd};
//! use rand::SeedableRng;
//! let mut model = Linear::<2, 1>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
//! let mut opt = Sgd::new(0.1);
//! let x = Tensor::<Rank2<4, 2>>::ones();
//! let loss = model.forward(x.trace()).square().mean();
//! let before = loss.as_slice()[0];
//! opt.step(&mut model, &loss.backward());
//! let after = model.forward(Tensor::<Rank2<4, 2>>::ones()).square().mean();
//! assert!(after.as_slice()[0] < before);
//! ```

mod adadelta;
mod adagrad;
mod adam;
mod adamax;
mod clip;
mod cyclic;
mod groups;
mod lbfgs;
mod nadam;
mod onecycle;
mod plateau;
mod radam;
mod rmsprop;
mod scheduler;
mod sgd;

pub use adadelta::Adadelta;
pub use adagrad::Adagrad;
pub use adam::{Adam, AdamW};
pub use adamax::Adamax;
pub use clip::{clip_grad_norm, clip_grad_value};
pub use cyclic::{CyclicLr, CyclicMode, ScaleMode};
pub use groups::ParamGroup;
pub(crate) use groups::is_group_entry;
#[cfg(feature = "wgpu")]
pub(crate) use groups::{group_of, per_group};
pub use lbfgs::{Lbfgs, LbfgsLoss, LineSearch};
pub use nadam::NAdam;
pub use onecycle::{Anneal, OneCycleLr, OneCycleLrGroups};
pub use plateau::{PlateauMode, ReduceLrOnPlateau, ThresholdMode};
pub use radam::RAdam;
pub use rmsprop::RmsProp;
pub use scheduler::{
    Constant, CosineAnnealingLr, CosineAnnealingWarmRestarts, ExponentialLr, LinearLr,
    LinearWarmup, LrSchedule, LrScheduler, MultiStepLr, SequentialLr, StepLr,
};
pub use sgd::Sgd;

use crate::autograd::Gradients;
use crate::dtype::Float;
use crate::nn::{ParamMut, Params, TensorKind};
use std::collections::BTreeMap;

/// An optimizer: updates parameters from gradients.
///
/// The trait is dyn-compatible: an optimizer chosen at run time can live in a
/// `Box<dyn Optimizer<E>>`, which is itself an `Optimizer` (so it works with
/// [`LrScheduler`], [`Trainer`](crate::train::Trainer) and checkpoints).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::Linear;
/// use shaped::optim::{Adam, Optimizer, Sgd};
/// use rand::SeedableRng;
/// let name = "adam"; // from a config file, say
/// let mut opt: Box<dyn Optimizer<f32>> = match name {
///     "adam" => Box::new(Adam::new(1e-2)),
///     _ => Box::new(Sgd::new(0.1)),
/// };
/// let mut model = Linear::<2, 1>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let loss = model.forward(Tensor::<Rank2<4, 2>>::ones().trace()).square().mean();
/// opt.step(&mut model, &loss.backward());
/// assert_eq!(opt.lr(), 1e-2);
/// ```
pub trait Optimizer<E: Float> {
    /// One update of every parameter of `model` that has a gradient in `grads`. Panics
    /// where [`try_step`](Optimizer::try_step) returns an error.
    fn step(&mut self, model: &mut dyn Params<E>, grads: &Gradients<E>);
    /// [`step`](Optimizer::step), or an error (and no change) when the optimizer's state
    /// does not fit the model: a buffer loaded from another model whose length differs
    /// from its parameter's. The built-in optimizers check; the default calls `step`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::Linear;
    /// use shaped::optim::{Optimizer, Sgd};
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let mut small = Linear::<2, 1>::new(&mut rng);
    /// let mut opt = Sgd::new(0.1).momentum(0.9);
    /// let loss = small.forward(Tensor::<Rank2<1, 2>>::ones().trace()).sum();
    /// opt.step(&mut small, &loss.backward());
    /// // The momentum of `weight` has 2 values; this model's `weight` has 3.
    /// let mut other = Sgd::new(0.1).momentum(0.9);
    /// other.load_state(opt.state()).unwrap();
    /// let mut big = Linear::<3, 1>::new(&mut rng);
    /// let loss = big.forward(Tensor::<Rank2<1, 3>>::ones().trace()).sum();
    /// assert!(other.try_step(&mut big, &loss.backward()).is_err());
    /// ```
    fn try_step(
        &mut self,
        model: &mut dyn Params<E>,
        grads: &Gradients<E>,
    ) -> crate::error::Result<()> {
        self.step(model, grads);
        Ok(())
    }
    /// The learning rate of group 0 (the optimizer's own, PyTorch's
    /// `param_groups[0]['lr']`); [`group_lrs`](Optimizer::group_lrs) has every group's.
    fn lr(&self) -> f64;
    /// Sets the learning rate of every parameter group (as PyTorch's
    /// `for g in opt.param_groups: g['lr'] = lr`).
    fn set_lr(&mut self, lr: f64);
    /// The momentum factor (SGD, RMSprop) or first beta (the Adam family) that
    /// [`OneCycleLr`] and [`CyclicLr`] cycle; `None` for optimizers without one (Adagrad, Adadelta).
    ///
    /// ```
    /// use shaped::optim::{Adam, Adagrad, Optimizer, Sgd};
    /// assert_eq!(Optimizer::<f32>::momentum(&Sgd::new(0.1).momentum(0.9)), Some(0.9));
    /// assert_eq!(Optimizer::<f32>::momentum(&Adam::new(1e-3)), Some(0.9));
    /// assert_eq!(Optimizer::<f32>::momentum(&Adagrad::new(0.01)), None);
    /// ```
    fn momentum(&self) -> Option<f64> {
        None
    }
    /// Sets the momentum factor or first beta (of every group that sets its own, too);
    /// ignored by optimizers without one.
    ///
    /// ```
    /// use shaped::optim::{Adam, Optimizer};
    /// let mut opt = Adam::<f32>::new(1e-3);
    /// opt.set_momentum(0.95);
    /// assert_eq!(opt.betas.0, 0.95);
    /// ```
    fn set_momentum(&mut self, _momentum: f64) {}
    /// The optimizer's state: `(name, values)` for every buffer, named
    /// `"<param name>.<buffer>"`, plus `"step"` for the step count. With parameter groups
    /// also `"param_groups"` (the number of groups), every group's settings
    /// (`"param_groups.<group>.lr"`, `.weight_decay`, `.momentum`, `.betas`; each setting
    /// as its value followed by two small corrections, so that an `f32` state holds an
    /// `f64` setting exactly) and the group
    /// of every parameter stepped (`"param_groups.<group>.params.<param name>"`, no values).
    fn state(&self) -> Vec<(String, Vec<E>)>;
    /// Restores state saved by [`state`](Optimizer::state); unknown names are an error, and
    /// so is a state saved with another grouping (another number of groups, or a parameter
    /// in another group). On error the optimizer is unchanged.
    fn load_state(&mut self, state: Vec<(String, Vec<E>)>) -> crate::error::Result<()>;
    /// Every parameter group's learning rate, group 0 first (PyTorch's
    /// `[g['lr'] for g in opt.param_groups]`).
    ///
    /// ```
    /// use shaped::optim::{Optimizer, ParamGroup, Sgd};
    /// let opt = Sgd::<f32>::new(0.1).with_param_group(ParamGroup::prefix("head.").lr(0.5));
    /// assert_eq!(opt.group_lrs(), vec![0.1, 0.5]);
    /// ```
    fn group_lrs(&self) -> Vec<f64> {
        vec![self.lr()]
    }
    /// Sets group `i`'s learning rate to `lrs[i]` (schedulers use this); rates beyond the
    /// number of groups are ignored, groups beyond the rates keep theirs.
    ///
    /// ```
    /// use shaped::optim::{Optimizer, ParamGroup, Sgd};
    /// let mut opt = Sgd::<f32>::new(0.1).with_param_group(ParamGroup::prefix("head.").lr(0.5));
    /// opt.set_group_lrs(&[0.01, 0.05]);
    /// assert_eq!(opt.group_lrs(), vec![0.01, 0.05]);
    /// ```
    fn set_group_lrs(&mut self, lrs: &[f64]) {
        if let Some(&lr) = lrs.first() {
            self.set_lr(lr);
        }
    }
    /// Adds a parameter group (PyTorch's `add_param_group`); an error for a setting the
    /// optimizer does not have per group (momentum for Adam, betas for SGD), a negative or
    /// non-finite rate or decay, or an optimizer without groups (the default).
    ///
    /// ```
    /// use shaped::optim::{Adam, Optimizer, ParamGroup};
    /// let mut opt = Adam::<f32>::new(1e-3);
    /// opt.add_param_group(ParamGroup::prefix("head.").betas(0.8, 0.99)).unwrap();
    /// assert!(opt.add_param_group(ParamGroup::prefix("x").momentum(0.9)).is_err());
    /// ```
    fn add_param_group(&mut self, group: ParamGroup) -> crate::error::Result<()> {
        Err(crate::error::Error::value(
            "parameter group",
            format!("this optimizer has no parameter groups (adding {group:?})"),
        ))
    }
    /// [`add_param_group`](Optimizer::add_param_group) as a builder; panics where it
    /// returns an error.
    ///
    /// ```
    /// use shaped::optim::{Optimizer, ParamGroup, Sgd};
    /// let opt = Sgd::<f32>::new(0.1)
    ///     .weight_decay(1e-4)
    ///     .with_param_group(ParamGroup::matching(|n| n.ends_with("bias")).weight_decay(0.0));
    /// assert_eq!(opt.group_lrs().len(), 2);
    /// ```
    #[track_caller]
    fn with_param_group(mut self, group: ParamGroup) -> Self
    where
        Self: Sized,
    {
        if let Err(e) = self.add_param_group(group) {
            panic!("{e}");
        }
        self
    }
}

impl<E: Float, O: Optimizer<E> + ?Sized> Optimizer<E> for Box<O> {
    #[track_caller]
    fn step(&mut self, model: &mut dyn Params<E>, grads: &Gradients<E>) {
        (**self).step(model, grads)
    }
    fn try_step(
        &mut self,
        model: &mut dyn Params<E>,
        grads: &Gradients<E>,
    ) -> crate::error::Result<()> {
        (**self).try_step(model, grads)
    }
    fn lr(&self) -> f64 {
        (**self).lr()
    }
    fn set_lr(&mut self, lr: f64) {
        (**self).set_lr(lr)
    }
    fn momentum(&self) -> Option<f64> {
        (**self).momentum()
    }
    fn set_momentum(&mut self, momentum: f64) {
        (**self).set_momentum(momentum)
    }
    fn state(&self) -> Vec<(String, Vec<E>)> {
        (**self).state()
    }
    fn load_state(&mut self, state: Vec<(String, Vec<E>)>) -> crate::error::Result<()> {
        (**self).load_state(state)
    }
    fn group_lrs(&self) -> Vec<f64> {
        (**self).group_lrs()
    }
    fn set_group_lrs(&mut self, lrs: &[f64]) {
        (**self).set_group_lrs(lrs)
    }
    fn add_param_group(&mut self, group: ParamGroup) -> crate::error::Result<()> {
        (**self).add_param_group(group)
    }
}

/// The methods every built-in optimizer shares, through [`groups::Grouped`]: `step`
/// panicking where `try_step` fails, rates per group, groups added, state with groups.
/// `$buffers` lists the optimizer's per-parameter buffer names.
macro_rules! grouped_optimizer_methods {
    ($buffers:expr) => {
        #[track_caller]
        fn step(&mut self, model: &mut dyn Params<E>, grads: &Gradients<E>) {
            if let Err(e) = self.try_step(model, grads) {
                panic!("{e}");
            }
        }
        fn lr(&self) -> f64 {
            $crate::optim::groups::Grouped::hyper(self).lr
        }
        fn set_lr(&mut self, lr: f64) {
            $crate::optim::groups::set_all_lrs(self, lr)
        }
        fn group_lrs(&self) -> Vec<f64> {
            $crate::optim::groups::group_lrs(self)
        }
        fn set_group_lrs(&mut self, lrs: &[f64]) {
            $crate::optim::groups::set_group_lrs(self, lrs)
        }
        fn add_param_group(
            &mut self,
            group: $crate::optim::ParamGroup,
        ) -> crate::error::Result<()> {
            $crate::optim::groups::add_group(self, group)
        }
        fn state(&self) -> Vec<(String, Vec<E>)> {
            let mut out = self.state.export(self.steps);
            out.extend(
                self.groups
                    .export($crate::optim::groups::Grouped::<E>::hyper(self)),
            );
            out
        }
        fn load_state(&mut self, state: Vec<(String, Vec<E>)>) -> crate::error::Result<()> {
            let hyper = $crate::optim::groups::Grouped::<E>::hyper(self);
            let (rest, loaded) = self.groups.import(state, hyper)?;
            self.steps = self.state.import(rest, $buffers)?;
            if let Some(loaded) = loaded {
                let h = self.groups.apply(loaded);
                $crate::optim::groups::Grouped::<E>::set_hyper(self, h);
            }
            $crate::optim::groups::Grouped::<E>::after_load(self);
            Ok(())
        }
    };
}
pub(crate) use grouped_optimizer_methods;

/// Per-parameter buffers, keyed by parameter name, then buffer name. A BTreeMap keeps the
/// state's order stable for checkpoints.
///
/// The maps hold slots into `values` rather than the values themselves, so that the map
/// code is not generic over the element type: it is compiled once in this crate instead of
/// again in every crate that steps an optimizer (issue 15).
#[derive(Clone, Debug, Default)]
pub(crate) struct StateMap<E> {
    index: StateIndex,
    values: Vec<Vec<E>>,
}

/// Parameter name -> buffer name -> slot in [`StateMap`]'s values.
#[derive(Clone, Debug, Default)]
struct StateIndex(BTreeMap<String, BTreeMap<&'static str, usize>>);

impl StateIndex {
    fn get(&self, param: &str, buf: &str) -> Option<usize> {
        self.0.get(param).and_then(|b| b.get(buf)).copied()
    }

    /// The slot of `param.buf`; `fresh` (noted as its slot) when it has none yet, with `true`.
    fn slot(&mut self, param: &str, buf: &'static str, fresh: usize) -> (usize, bool) {
        // Look up before inserting so that the hot path allocates no key String.
        if !self.0.contains_key(param) {
            self.0.insert(param.to_string(), BTreeMap::new());
        }
        let bufs = self.0.get_mut(param).expect("inserted above");
        match bufs.get(buf) {
            Some(&slot) => (slot, false),
            None => {
                bufs.insert(buf, fresh);
                (fresh, true)
            }
        }
    }

    /// Every `(param, buf, slot)`, by parameter name, then buffer name.
    fn entries(&self) -> Vec<(&str, &'static str, usize)> {
        self.0
            .iter()
            .flat_map(|(param, bufs)| bufs.iter().map(|(&buf, &slot)| (param.as_str(), buf, slot)))
            .collect()
    }

    /// The first buffer of `param` (by name) whose slot `bad` picks.
    fn find_buffer(
        &self,
        param: &str,
        bad: &mut dyn FnMut(usize) -> bool,
    ) -> Option<(&'static str, usize)> {
        let bufs = self.0.get(param)?;
        bufs.iter()
            .find(|&(_, &slot)| bad(slot))
            .map(|(&buf, &slot)| (buf, slot))
    }
}

impl<E: Float> StateMap<E> {
    pub(crate) fn export(&self, step: u64) -> Vec<(String, Vec<E>)> {
        let mut out = vec![("step".to_string(), vec![E::from_f64(step as f64)])];
        for (param, buf, slot) in self.index.entries() {
            out.push((format!("{param}.{buf}"), self.values[slot].clone()));
        }
        out
    }

    /// Loads `(name, values)` pairs, returning the step count; `names` lists the buffer names
    /// this optimizer uses.
    pub(crate) fn import(
        &mut self,
        state: Vec<(String, Vec<E>)>,
        names: &[&'static str],
    ) -> crate::error::Result<u64> {
        let mut step = 0;
        let mut index = StateIndex::default();
        let mut values: Vec<Vec<E>> = Vec::new();
        for (name, v) in state {
            if name == "step" {
                step = check_step_count(&v).map_err(|m| {
                    crate::error::Error::value("optimizer state", format!("entry `step`: {m}"))
                })?;
                continue;
            }
            let buf = names.iter().find(|b| name.ends_with(&format!(".{b}")));
            let Some(&buf) = buf else {
                return Err(crate::error::Error::value(
                    "optimizer state",
                    format!("unknown entry `{name}`"),
                ));
            };
            let param = &name[..name.len() - buf.len() - 1];
            // The buffers of one parameter are updated together and need one length.
            if let Some((other, slot)) =
                index.find_buffer(param, &mut |slot| values[slot].len() != v.len())
            {
                return Err(crate::error::Error::value(
                    "optimizer state",
                    format!(
                        "entry `{name}` has {} values, but the parameter's `{other}` has {}",
                        v.len(),
                        values[slot].len()
                    ),
                ));
            }
            let (slot, fresh) = index.slot(param, buf, values.len());
            if fresh {
                values.push(v);
            } else {
                values[slot] = v;
            }
        }
        // Only a state that passed every check replaces the current one.
        self.index = index;
        self.values = values;
        Ok(step)
    }

    /// Checks, before a step changes anything, that every parameter with a gradient has
    /// as many values as its gradient and as each of its buffers (a state loaded from
    /// another model may not).
    pub(crate) fn check_lengths(
        &self,
        model: &dyn Params<E>,
        grads: &Gradients<E>,
        what: &str,
    ) -> crate::error::Result<()> {
        let mut bad = None;
        model.visit("", &mut |p| {
            if bad.is_some() || p.kind != TensorKind::Parameter {
                return;
            }
            let Some(g) = grads.get_id(p.id) else {
                return;
            };
            let n = p.data.len();
            if g.len() != n {
                bad = Some(format!(
                    "the gradient of `{}` has {} values, the parameter {n}",
                    p.name,
                    g.len()
                ));
                return;
            }
            if let Some((buf, slot)) = self
                .index
                .find_buffer(p.name, &mut |slot| self.values[slot].len() != n)
            {
                bad = Some(format!(
                    "buffer `{}.{buf}` has {} values, but parameter `{}` has {n} (was the \
                     state loaded from another model?)",
                    p.name,
                    self.values[slot].len(),
                    p.name
                ));
            }
        });
        match bad {
            Some(m) => Err(crate::error::Error::value(format!("{what} step"), m)),
            None => Ok(()),
        }
    }

    pub(crate) fn contains(&self, param: &str, buf: &'static str) -> bool {
        self.index.get(param, buf).is_some()
    }

    /// The buffer `buf` of `param`, created by `init` on first use.
    pub(crate) fn get(
        &mut self,
        param: &str,
        buf: &'static str,
        init: impl FnOnce() -> Vec<E>,
    ) -> &mut Vec<E> {
        let (slot, fresh) = self.index.slot(param, buf, self.values.len());
        if fresh {
            self.values.push(init());
        }
        &mut self.values[slot]
    }
}

/// The step count stored as the optimizer entry `"step"`: one value, a whole number in
/// `0..=2^53` (beyond that an `f64` no longer counts exactly, and no training run gets near).
pub(crate) fn check_step_count<E: Float>(values: &[E]) -> Result<u64, String> {
    let [v] = values else {
        return Err(format!("expected one value, got {}", values.len()));
    };
    let v = v.to_f64();
    const MAX_STEPS: f64 = (1u64 << 53) as f64;
    if !(v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= MAX_STEPS) {
        return Err(format!(
            "{v} is not a step count (a whole number from 0 to 2^53)"
        ));
    }
    Ok(v as u64)
}

/// Calls `f(group, name, param, grad)` for every trainable parameter of `model` that has a
/// gradient, with the index of its parameter group, noting it as a member of that group.
pub(crate) fn for_each_grouped<E: Float>(
    model: &mut dyn Params<E>,
    grads: &Gradients<E>,
    groups: &mut groups::Groups,
    mut f: impl FnMut(usize, &str, &mut [E], &[E]),
) {
    for_each_param_with_grad(model, grads, |name, p, g| {
        let group = groups.index_of(name);
        groups.note_member(name, group);
        f(group, name, p, g)
    })
}

/// Calls `f(name, param, grad)` for every trainable parameter of `model` that has a gradient.
pub(crate) fn for_each_param_with_grad<E: Float, M: Params<E> + ?Sized>(
    model: &mut M,
    grads: &Gradients<E>,
    mut f: impl FnMut(&str, &mut [E], &[E]),
) {
    model.visit_mut("", &mut |p: ParamMut<'_, E>| {
        if p.kind != TensorKind::Parameter {
            return;
        }
        if let Some(g) = grads.get_id(p.id) {
            f(p.name, p.data, g);
        }
    });
}
