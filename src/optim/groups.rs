//! Parameter groups (PyTorch's `param_groups`): parameters selected by `state_dict` name
//! that get their own learning rate, weight decay, momentum or betas.
//!
//! Group 0 is the optimizer's own settings and holds every parameter that no added group
//! selects; added groups are numbered from 1 in the order they were added, and a parameter
//! belongs to the first added group that selects it.

use crate::autograd::UniqueId;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::nn::{Params, TensorKind};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// Which parameters a [`ParamGroup`] holds, by `state_dict` name.
#[derive(Clone)]
enum Select {
    Names(Vec<String>),
    Prefix(String),
    Matching(Arc<dyn Fn(&str) -> bool + Send + Sync>),
}

/// A parameter group: the parameters it selects (by `state_dict` name: a predicate, a
/// prefix, a list of names, or a list of tensors resolved to their names) are updated with its
/// learning rate, weight decay, momentum or betas instead of the optimizer's (PyTorch's
/// `param_groups`, e.g. no weight decay on biases and norm layers). A setting left unset
/// takes the optimizer's value at the time of the step.
///
/// Add groups with [`Optimizer::with_param_group`](super::Optimizer::with_param_group) or
/// [`Optimizer::add_param_group`](super::Optimizer::add_param_group). Parameters that no
/// group selects form group 0, whose settings are the optimizer's own fields; added groups
/// are numbered from 1, and a parameter selected by several belongs to the first.
///
/// ```
/// use shaped::optim::{AdamW, Optimizer, ParamGroup};
/// let opt = AdamW::<f32>::new(1e-3)
///     .with_param_group(
///         ParamGroup::matching(|name| name.ends_with("bias") || name.contains("norm"))
///             .weight_decay(0.0),
///     )
///     .with_param_group(ParamGroup::prefix("head.").lr(1e-2));
/// assert_eq!(opt.group_lrs(), vec![1e-3, 1e-3, 1e-2]);
/// ```
#[derive(Clone)]
pub struct ParamGroup {
    select: Select,
    /// The group's learning rate (`None`: the optimizer's).
    pub lr: Option<f64>,
    /// The group's weight decay (`None`: the optimizer's).
    pub weight_decay: Option<f64>,
    /// The group's momentum, for SGD and RMSprop (`None`: the optimizer's).
    pub momentum: Option<f64>,
    /// The group's betas, for Adam, AdamW, Adamax and RAdam (`None`: the optimizer's).
    pub betas: Option<(f64, f64)>,
}

impl fmt::Debug for ParamGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let select = match &self.select {
            Select::Names(n) => format!("names {n:?}"),
            Select::Prefix(p) => format!("prefix {p:?}"),
            Select::Matching(_) => "a predicate".to_string(),
        };
        f.debug_struct("ParamGroup")
            .field("select", &select)
            .field("lr", &self.lr)
            .field("weight_decay", &self.weight_decay)
            .field("momentum", &self.momentum)
            .field("betas", &self.betas)
            .finish()
    }
}

impl ParamGroup {
    fn new(select: Select) -> Self {
        ParamGroup {
            select,
            lr: None,
            weight_decay: None,
            momentum: None,
            betas: None,
        }
    }
    /// The parameters whose name satisfies `pred`.
    ///
    /// ```
    /// use shaped::optim::ParamGroup;
    /// let g = ParamGroup::matching(|name| name.ends_with("bias"));
    /// assert!(g.selects("0.bias") && !g.selects("0.weight"));
    /// ```
    pub fn matching(pred: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        Self::new(Select::Matching(Arc::new(pred)))
    }
    /// The parameters whose name starts with `prefix` (a sub-module: `"head."`).
    ///
    /// ```
    /// use shaped::optim::ParamGroup;
    /// assert!(ParamGroup::prefix("head.").selects("head.weight"));
    /// ```
    pub fn prefix(prefix: impl Into<String>) -> Self {
        Self::new(Select::Prefix(prefix.into()))
    }
    /// The listed parameters, by `state_dict` name (PyTorch's `{'params': [...]}`).
    ///
    /// ```
    /// use shaped::optim::ParamGroup;
    /// let g = ParamGroup::names(["0.bias", "2.bias"]);
    /// assert!(g.selects("2.bias") && !g.selects("1.bias"));
    /// ```
    pub fn names<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Self {
        Self::new(Select::Names(names.into_iter().map(Into::into).collect()))
    }
    /// The listed tensors of `model` (PyTorch's `{'params': [model.head.weight, ...]}`),
    /// by their [`id`](crate::tensor::Tensor::id): the group holds the names under which
    /// `model` visits them. An error names how many of the ids are not parameters of
    /// `model`.
    ///
    /// ```
    /// use shaped::nn::Linear;
    /// use shaped::optim::ParamGroup;
    /// use rand::SeedableRng;
    /// let model = (Linear::<2, 3>::new(&mut rand::rngs::StdRng::seed_from_u64(0)),);
    /// let g = ParamGroup::tensors(&model, &[model.0.weight.id()]).unwrap().lr(0.5);
    /// assert!(g.selects("0.weight") && !g.selects("0.bias"));
    /// let other = Linear::<2, 3>::new(&mut rand::rngs::StdRng::seed_from_u64(1));
    /// assert!(ParamGroup::tensors(&model, &[other.weight.id()]).is_err());
    /// ```
    pub fn tensors<E: Float, M: Params<E> + ?Sized>(model: &M, ids: &[UniqueId]) -> Result<Self> {
        let mut names = Vec::new();
        let mut found = vec![false; ids.len()];
        model.visit("", &mut |p| {
            if p.kind != TensorKind::Parameter {
                return;
            }
            for (i, id) in ids.iter().enumerate() {
                if *id == p.id {
                    found[i] = true;
                    names.push(p.name.to_string());
                }
            }
        });
        let missing = found.iter().filter(|f| !**f).count();
        if missing > 0 {
            return Err(Error::value(
                "ParamGroup::tensors",
                format!(
                    "{missing} of the {} listed tensors are not parameters of the model",
                    ids.len()
                ),
            ));
        }
        Ok(Self::new(Select::Names(names)))
    }
    /// Whether this group selects the parameter `name`.
    ///
    /// ```
    /// use shaped::optim::ParamGroup;
    /// assert!(!ParamGroup::names(["a"]).selects("ab"));
    /// ```
    pub fn selects(&self, name: &str) -> bool {
        match &self.select {
            Select::Names(n) => n.iter().any(|m| m == name),
            Select::Prefix(p) => name.starts_with(p.as_str()),
            Select::Matching(f) => f(name),
        }
    }
    /// Sets the group's learning rate.
    ///
    /// ```
    /// assert_eq!(shaped::optim::ParamGroup::prefix("head.").lr(0.1).lr, Some(0.1));
    /// ```
    pub fn lr(mut self, lr: f64) -> Self {
        self.lr = Some(lr);
        self
    }
    /// Sets the group's weight decay (0 for none).
    ///
    /// ```
    /// let g = shaped::optim::ParamGroup::matching(|n| n.ends_with("bias")).weight_decay(0.0);
    /// assert_eq!(g.weight_decay, Some(0.0));
    /// ```
    pub fn weight_decay(mut self, wd: f64) -> Self {
        self.weight_decay = Some(wd);
        self
    }
    /// Sets the group's momentum (SGD, RMSprop).
    ///
    /// ```
    /// assert_eq!(shaped::optim::ParamGroup::prefix("a").momentum(0.5).momentum, Some(0.5));
    /// ```
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = Some(momentum);
        self
    }
    /// Sets the group's betas (Adam, AdamW, Adamax, RAdam).
    ///
    /// ```
    /// let g = shaped::optim::ParamGroup::prefix("a").betas(0.8, 0.99);
    /// assert_eq!(g.betas, Some((0.8, 0.99)));
    /// ```
    pub fn betas(mut self, b1: f64, b2: f64) -> Self {
        self.betas = Some((b1, b2));
        self
    }
}

/// One group's settings, resolved. `momentum` and `betas` are `None` for optimizers that
/// have no such setting per group.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Hyper {
    pub(crate) lr: f64,
    pub(crate) weight_decay: f64,
    pub(crate) momentum: Option<f64>,
    pub(crate) betas: Option<(f64, f64)>,
}

/// An optimizer's added groups, and which group each parameter it has stepped belongs to
/// (saved with the state, so that a state is only restored into the same grouping).
#[derive(Clone, Debug, Default)]
pub(crate) struct Groups {
    added: Vec<ParamGroup>,
    members: BTreeMap<String, usize>,
}

/// A setting is stored as [`ENCODED`] numbers: its value in `E` followed by two corrections,
/// so that an `f32` state restores an `f64` setting exactly (to within `f32`'s range:
/// settings above about 1e-20 in magnitude) and a resumed run repeats the original.
const ENCODED: usize = 3;

fn encode<E: Float>(x: f64) -> [E; ENCODED] {
    let hi = E::from_f64(x);
    let mid = E::from_f64(x - hi.to_f64());
    let lo = E::from_f64(x - hi.to_f64() - mid.to_f64());
    [hi, mid, lo]
}

fn decode<E: Float>(parts: &[E]) -> f64 {
    parts.iter().fold(0.0, |acc, p| acc + p.to_f64())
}

/// The name of the entry that marks a grouped state and holds the number of groups.
const COUNT: &str = "param_groups";

/// Whether `name` is a group entry of a state that has the [`COUNT`] marker.
pub(crate) fn is_group_entry(name: &str) -> bool {
    name == COUNT || name.starts_with("param_groups.")
}

/// The groups of a state being loaded, checked but not yet applied.
pub(crate) struct Loaded {
    hypers: Vec<Hyper>,
    members: BTreeMap<String, usize>,
}

impl Groups {
    /// The number of groups, group 0 included.
    pub(crate) fn len(&self) -> usize {
        1 + self.added.len()
    }

    /// The group of parameter `name`.
    pub(crate) fn index_of(&self, name: &str) -> usize {
        self.added
            .iter()
            .position(|g| g.selects(name))
            .map_or(0, |i| i + 1)
    }

    /// Notes that parameter `name` was stepped in group `group`.
    pub(crate) fn note_member(&mut self, name: &str, group: usize) {
        if self.added.is_empty() || self.members.get(name) == Some(&group) {
            return;
        }
        self.members.insert(name.to_string(), group);
    }

    /// Every group's settings: group 0 is `defaults`, the others override them.
    pub(crate) fn resolve(&self, defaults: Hyper) -> Vec<Hyper> {
        let mut out = vec![defaults];
        out.extend(self.added.iter().map(|g| Hyper {
            lr: g.lr.unwrap_or(defaults.lr),
            weight_decay: g.weight_decay.unwrap_or(defaults.weight_decay),
            momentum: defaults.momentum.map(|m| g.momentum.unwrap_or(m)),
            betas: defaults.betas.map(|b| g.betas.unwrap_or(b)),
        }));
        out
    }

    /// Adds `group`, refusing settings that `defaults` (the optimizer's) do not have.
    pub(crate) fn add(&mut self, group: ParamGroup, defaults: Hyper, what: &str) -> Result<()> {
        let bad = |setting: &str| {
            Err(Error::value(
                format!("{what} parameter group"),
                format!("{what} has no per-group `{setting}`"),
            ))
        };
        if group.momentum.is_some() && defaults.momentum.is_none() {
            return bad("momentum");
        }
        if group.betas.is_some() && defaults.betas.is_none() {
            return bad("betas");
        }
        for (name, v) in [("lr", group.lr), ("weight_decay", group.weight_decay)] {
            if let Some(v) = v
                && !(v.is_finite() && v >= 0.0)
            {
                return Err(Error::value(
                    format!("{what} parameter group"),
                    format!("`{name}` {v} is not a finite non-negative number"),
                ));
            }
        }
        self.added.push(group);
        Ok(())
    }

    /// Sets group `i + 1`'s rate to `lrs[i]`; extra rates are ignored.
    pub(crate) fn set_lrs(&mut self, lrs: &[f64]) {
        for (g, &lr) in self.added.iter_mut().zip(lrs) {
            g.lr = Some(lr);
        }
    }

    /// Sets every added group's momentum or first beta, where the group sets its own.
    pub(crate) fn set_momentum(&mut self, momentum: f64) {
        for g in &mut self.added {
            if g.momentum.is_some() {
                g.momentum = Some(momentum);
            }
            if let Some(b) = &mut g.betas {
                b.0 = momentum;
            }
        }
    }

    /// The group entries of a state: nothing without added groups (so an ungrouped state
    /// is as before), else the count, every group's settings and every stepped
    /// parameter's group, as `param_groups.<group>.params.<name>` with no values.
    pub(crate) fn export<E: Float>(&self, defaults: Hyper) -> Vec<(String, Vec<E>)> {
        if self.added.is_empty() {
            return Vec::new();
        }
        let v = |x: f64| encode::<E>(x).to_vec();
        let mut out = vec![(COUNT.to_string(), vec![E::from_f64(self.len() as f64)])];
        for (i, h) in self.resolve(defaults).iter().enumerate() {
            out.push((format!("{COUNT}.{i}.lr"), v(h.lr)));
            out.push((format!("{COUNT}.{i}.weight_decay"), v(h.weight_decay)));
            if let Some(m) = h.momentum {
                out.push((format!("{COUNT}.{i}.momentum"), v(m)));
            }
            if let Some((b1, b2)) = h.betas {
                let mut b = v(b1);
                b.extend(v(b2));
                out.push((format!("{COUNT}.{i}.betas"), b));
            }
        }
        for (name, g) in &self.members {
            out.push((format!("{COUNT}.{g}.params.{name}"), Vec::new()));
        }
        out
    }

    /// Splits the group entries off `state` and checks them against this grouping: the
    /// same number of groups, every saved parameter in the group this optimizer would put
    /// it in, and every setting present and valid. Returns the other entries and the
    /// groups to [`apply`](Self::apply) once the rest of the state has loaded too.
    pub(crate) fn import<E: Float>(
        &self,
        state: Vec<(String, Vec<E>)>,
        defaults: Hyper,
    ) -> Result<(Vec<(String, Vec<E>)>, Option<Loaded>)> {
        let err = |m: String| Error::value("optimizer state", m);
        let grouped = state.iter().any(|(n, _)| n == COUNT);
        if !grouped {
            if !self.added.is_empty() {
                return Err(err(format!(
                    "the state has no parameter groups, but this optimizer has {}; load it into \
                     an optimizer with the same `param_groups`",
                    self.len()
                )));
            }
            return Ok((state, None));
        }
        let (entries, rest): (Vec<_>, Vec<_>) =
            state.into_iter().partition(|(n, _)| is_group_entry(n));
        let count = entries
            .iter()
            .find(|(n, _)| n == COUNT)
            .map(|(_, v)| super::check_step_count(v))
            .transpose()
            .map_err(|m| err(format!("entry `{COUNT}`: {m}")))?
            .unwrap_or(0) as usize;
        if count != self.len() {
            return Err(err(format!(
                "the state has {count} parameter groups, but this optimizer has {}",
                self.len()
            )));
        }
        let mut hypers: Vec<[Option<Vec<f64>>; 4]> = vec![Default::default(); count];
        let mut members = BTreeMap::new();
        const SETTINGS: [&str; 4] = ["lr", "weight_decay", "momentum", "betas"];
        for (name, values) in entries {
            if name == COUNT {
                continue;
            }
            let rest_of = &name[COUNT.len() + 1..];
            let (index, what) = rest_of.split_once('.').unwrap_or((rest_of, ""));
            let group = index
                .parse::<usize>()
                .ok()
                .filter(|&g| g < count)
                .ok_or_else(|| {
                    err(format!(
                        "entry `{name}` names no group of {count} (groups are numbered from 0)"
                    ))
                })?;
            if let Some(param) = what.strip_prefix("params.") {
                let here = self.index_of(param);
                if here != group {
                    return Err(err(format!(
                        "parameter `{param}` was in parameter group {group} when saved, but \
                         this optimizer puts it in group {here}; the grouping differs"
                    )));
                }
                members.insert(param.to_string(), group);
                continue;
            }
            let Some(k) = SETTINGS.iter().position(|s| *s == what) else {
                return Err(err(format!("unknown entry `{name}`")));
            };
            let want = if what == "betas" { 2 } else { 1 };
            let vals: Vec<f64> = values.chunks(ENCODED).map(decode).collect();
            if values.len() != want * ENCODED || vals.iter().any(|v| !(v.is_finite() && *v >= 0.0))
            {
                return Err(err(format!(
                    "entry `{name}` must hold {want} finite non-negative value(s) of {ENCODED} \
                     parts each, got {} parts ({vals:?})",
                    values.len()
                )));
            }
            hypers[group][k] = Some(vals);
        }
        let mut out = Vec::with_capacity(count);
        for (g, [lr, wd, m, b]) in hypers.into_iter().enumerate() {
            let missing = |s: &str| err(format!("entry `{COUNT}.{g}.{s}` is missing"));
            let lr = lr.ok_or_else(|| missing("lr"))?[0];
            let weight_decay = wd.ok_or_else(|| missing("weight_decay"))?[0];
            let momentum = match (defaults.momentum, m) {
                (Some(_), Some(m)) => Some(m[0]),
                (Some(_), None) => return Err(missing("momentum")),
                (None, Some(_)) => {
                    return Err(err(format!("unknown entry `{COUNT}.{g}.momentum`")));
                }
                (None, None) => None,
            };
            let betas = match (defaults.betas, b) {
                (Some(_), Some(b)) => Some((b[0], b[1])),
                (Some(_), None) => return Err(missing("betas")),
                (None, Some(_)) => return Err(err(format!("unknown entry `{COUNT}.{g}.betas`"))),
                (None, None) => None,
            };
            out.push(Hyper {
                lr,
                weight_decay,
                momentum,
                betas,
            });
        }
        Ok((
            rest,
            Some(Loaded {
                hypers: out,
                members,
            }),
        ))
    }

    /// Applies loaded groups: returns group 0's settings for the optimizer's own fields.
    pub(crate) fn apply(&mut self, loaded: Loaded) -> Hyper {
        for (g, h) in self.added.iter_mut().zip(&loaded.hypers[1..]) {
            g.lr = Some(h.lr);
            g.weight_decay = Some(h.weight_decay);
            g.momentum = h.momentum;
            g.betas = h.betas;
        }
        self.members = loaded.members;
        loaded.hypers[0]
    }
}

/// What every built-in optimizer exposes so that one implementation of parameter groups,
/// state with groups and checked steps serves them all.
pub(crate) trait Grouped<E: Float> {
    /// The optimizer's own settings (group 0).
    fn hyper(&self) -> Hyper;
    /// Sets the optimizer's own settings (group 0).
    fn set_hyper(&mut self, h: Hyper);
    fn groups(&self) -> &Groups;
    fn groups_mut(&mut self) -> &mut Groups;
    /// The name used in errors.
    fn kind(&self) -> &'static str;
    /// Recomputes what derives from the step count after a state loaded.
    fn after_load(&mut self) {}
}

pub(crate) fn group_lrs<E: Float, O: Grouped<E>>(opt: &O) -> Vec<f64> {
    opt.groups()
        .resolve(opt.hyper())
        .iter()
        .map(|h| h.lr)
        .collect()
}

pub(crate) fn set_group_lrs<E: Float, O: Grouped<E>>(opt: &mut O, lrs: &[f64]) {
    let Some((&first, rest)) = lrs.split_first() else {
        return;
    };
    let mut h = opt.hyper();
    h.lr = first;
    opt.set_hyper(h);
    opt.groups_mut().set_lrs(rest);
}

/// `set_lr`: every group's rate.
pub(crate) fn set_all_lrs<E: Float, O: Grouped<E>>(opt: &mut O, lr: f64) {
    let n = opt.groups().len();
    set_group_lrs(opt, &vec![lr; n]);
}

/// `set_momentum`: the optimizer's and every group's that sets its own.
pub(crate) fn set_all_momentum<E: Float, O: Grouped<E>>(opt: &mut O, momentum: f64) {
    let mut h = opt.hyper();
    if h.momentum.is_some() {
        h.momentum = Some(momentum);
    }
    if let Some(b) = &mut h.betas {
        b.0 = momentum;
    }
    opt.set_hyper(h);
    opt.groups_mut().set_momentum(momentum);
}

pub(crate) fn add_group<E: Float, O: Grouped<E>>(opt: &mut O, group: ParamGroup) -> Result<()> {
    let (defaults, kind) = (opt.hyper(), opt.kind());
    opt.groups_mut().add(group, defaults, kind)
}

/// Copies of `opt`, one per parameter group (group 0 first), each with its group's settings
/// as its own: how a device optimizer applies one group's settings with one kernel call.
/// Empty when `opt` has no added groups (its own settings are group 0's).
#[cfg_attr(not(feature = "wgpu"), allow(dead_code))]
pub(crate) fn per_group<E: Float, O: Grouped<E> + Clone>(opt: &O) -> Vec<O> {
    let groups = opt.groups();
    if groups.added.is_empty() {
        return Vec::new();
    }
    groups
        .resolve(opt.hyper())
        .into_iter()
        .map(|h| {
            let mut o = opt.clone();
            o.set_hyper(h);
            o
        })
        .collect()
}

/// The parameter group of `name`, noted as a member for the optimizer's state (as a CPU
/// step does).
#[cfg_attr(not(feature = "wgpu"), allow(dead_code))]
pub(crate) fn group_of<E: Float, O: Grouped<E>>(opt: &mut O, name: &str) -> usize {
    let groups = opt.groups_mut();
    let g = groups.index_of(name);
    groups.note_member(name, g);
    g
}
