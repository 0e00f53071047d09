//! A model's layer tree with its tensors and parameter counts ([`Params::summary`]), printed
//! like PyTorch's `print(model)` plus the totals.

use super::params::{Params, TensorKind};
use crate::dtype::Float;
use std::fmt;

/// One named tensor of a [`ModelSummary`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SummaryTensor {
    /// Its full `state_dict` name (`0.weight`).
    pub name: String,
    /// Its sizes.
    pub dims: Vec<usize>,
    /// Parameter or buffer.
    pub kind: TensorKind,
}

/// One module of a [`ModelSummary`], in the order the model visits them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SummaryLayer {
    /// Its module name (`layers.0`; `""` for the model itself).
    pub name: String,
    /// PyTorch's `repr` of it, or a container's kind (`Sequential`, a struct's name).
    pub description: String,
    /// Containers hold other layers; their tensors are listed under those.
    pub container: bool,
    /// Containers around it.
    pub depth: usize,
    /// Its tensors (a leaf layer's, including any sublayers it does not describe).
    pub tensors: Vec<SummaryTensor>,
}

impl SummaryLayer {
    /// Trainable scalars of this layer.
    ///
    /// ```
    /// use shaped::nn::{Linear, Params};
    /// use rand::SeedableRng;
    /// let s = Linear::<4, 8>::new(&mut rand::rngs::StdRng::seed_from_u64(0)).summary();
    /// assert_eq!(s.layers[0].params(), 40);
    /// ```
    pub fn params(&self) -> usize {
        count(&self.tensors, TensorKind::Parameter)
    }
    /// Scalars in this layer's buffers (e.g. BatchNorm's running statistics).
    ///
    /// ```
    /// use shaped::nn::{BatchNorm1d, Params};
    /// let s = BatchNorm1d::<4>::new().summary();
    /// assert_eq!(s.layers[0].buffers(), 4 + 4); // running_mean, running_var
    /// ```
    pub fn buffers(&self) -> usize {
        count(&self.tensors, TensorKind::Buffer)
    }
}

fn count(tensors: &[SummaryTensor], kind: TensorKind) -> usize {
    tensors
        .iter()
        .filter(|t| t.kind == kind)
        .map(|t| t.dims.iter().product::<usize>())
        .sum()
}

/// The layer tree of a model with its tensors and totals, from [`Params::summary`]. `{}`
/// prints it like PyTorch's `print(model)`, each leaf layer followed by its parameter count
/// and tensor shapes, then the totals:
///
/// ```text
/// Sequential(
///   (0): Linear(in_features=4, out_features=8, bias=True)  # 40 params: weight [8, 4], bias [8]
///   (1): ReLU()
///   (2): Linear(in_features=8, out_features=2, bias=True)  # 18 params: weight [2, 8], bias [2]
/// )
/// Trainable params: 58
/// Buffer values: 0
/// ```
///
/// ```
/// use shaped::nn::{Linear, Params, ReLU};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let model = (Linear::<4, 8>::new(&mut rng), ReLU, Linear::<8, 2>::new(&mut rng));
/// let s = model.summary();
/// assert_eq!((s.trainable, s.buffers), (58, 0));
/// assert_eq!(s.layers.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(), ["", "0", "1", "2"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelSummary {
    /// Every described module, containers before their contents.
    pub layers: Vec<SummaryLayer>,
    /// Tensors that no described leaf layer holds (listed after the tree).
    pub other: Vec<SummaryTensor>,
    /// Trainable scalars in the model (`num_params`).
    pub trainable: usize,
    /// Scalars in buffers.
    pub buffers: usize,
}

/// Python's `repr` of a bool.
pub(crate) fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// Python's `repr` of a float: `0.1`, `1.0`, `1e-05`.
pub(crate) fn py_float(v: f64) -> String {
    if v != 0.0 && v.is_finite() && (v.abs() < 1e-4 || v.abs() >= 1e16) {
        let s = format!("{v:e}");
        match s.split_once('e') {
            Some((mantissa, exp)) => {
                let (sign, digits) = match exp.strip_prefix('-') {
                    Some(d) => ("-", d),
                    None => ("+", exp),
                };
                format!("{mantissa}e{sign}{digits:0>2}")
            }
            None => s,
        }
    } else {
        format!("{v:?}")
    }
}

/// Whether module `name` lies inside module `parent`.
fn inside(name: &str, parent: &str) -> bool {
    if parent.is_empty() {
        !name.is_empty()
    } else {
        name.len() > parent.len()
            && name.starts_with(parent)
            && name[parent.len()..].starts_with('.')
    }
}

/// Whether tensor `name` belongs to module `module`.
fn holds(module: &str, name: &str) -> bool {
    module.is_empty() || name == module || inside(name, module)
}

impl ModelSummary {
    /// The summary of `model` (what [`Params::summary`] returns).
    ///
    /// ```
    /// use shaped::nn::{Linear, ModelSummary};
    /// use rand::SeedableRng;
    /// let layer = Linear::<2, 3>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(ModelSummary::of::<f32, _>(&layer).trainable, 9);
    /// ```
    pub fn of<E: Float, M: Params<E> + ?Sized>(model: &M) -> ModelSummary {
        let mut described: Vec<(String, String)> = Vec::new();
        model.describe("", &mut |name, description| {
            // A wrapper that re-describes its inner layer under the same name keeps the
            // first (outer) description.
            if !described.iter().any(|(n, _)| n == name) {
                described.push((name.to_string(), description))
            }
        });
        let mut tensors = Vec::new();
        model.visit("", &mut |p| {
            tensors.push(SummaryTensor {
                name: p.name.to_string(),
                dims: p.dims.as_slice().to_vec(),
                kind: p.kind,
            })
        });
        Self::assemble(described, tensors)
    }

    /// The layer tree from the described modules and visited tensors: not generic, so the
    /// user's crate does not compile it again for each model type (issue 15).
    fn assemble(described: Vec<(String, String)>, tensors: Vec<SummaryTensor>) -> ModelSummary {
        let mut layers: Vec<SummaryLayer> = Vec::new();
        let mut open: Vec<String> = Vec::new();
        for (i, (name, description)) in described.iter().enumerate() {
            while open.last().is_some_and(|top| !inside(name, top)) {
                open.pop();
            }
            let container = described
                .get(i + 1)
                .is_some_and(|(next, _)| inside(next, name));
            layers.push(SummaryLayer {
                name: name.clone(),
                description: description.clone(),
                container,
                depth: open.len(),
                tensors: Vec::new(),
            });
            if container {
                open.push(name.clone());
            }
        }
        let mut other = Vec::new();
        for t in tensors {
            let owner = layers
                .iter_mut()
                .filter(|l| !l.container && holds(&l.name, &t.name))
                .max_by_key(|l| l.name.len());
            match owner {
                Some(l) => l.tensors.push(t),
                None => other.push(t),
            }
        }
        let all: Vec<&SummaryTensor> = layers
            .iter()
            .flat_map(|l| l.tensors.iter())
            .chain(other.iter())
            .collect();
        let total = |kind| {
            all.iter()
                .filter(|t| t.kind == kind)
                .map(|t| t.dims.iter().product::<usize>())
                .sum()
        };
        ModelSummary {
            trainable: total(TensorKind::Parameter),
            buffers: total(TensorKind::Buffer),
            layers,
            other,
        }
    }
}

/// `name [d0, d1]`, the name relative to its layer.
fn tensor_text(t: &SummaryTensor, layer: &str) -> String {
    let rel = if layer.is_empty() {
        t.name.as_str()
    } else {
        t.name
            .strip_prefix(layer)
            .map(|r| r.trim_start_matches('.'))
            .unwrap_or(&t.name)
    };
    if rel.is_empty() {
        format!("{:?}", t.dims)
    } else {
        format!("{rel} {:?}", t.dims)
    }
}

/// `# 40 params: weight [8, 4], bias [8]; buffers (9 values): running_mean [4], ...`.
fn tensors_comment(layer: &SummaryLayer) -> Option<String> {
    if layer.tensors.is_empty() {
        return None;
    }
    let list = |kind| {
        layer
            .tensors
            .iter()
            .filter(|t| t.kind == kind)
            .map(|t| tensor_text(t, &layer.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut parts = Vec::new();
    let params = list(TensorKind::Parameter);
    if !params.is_empty() {
        parts.push(format!("{} params: {params}", layer.params()));
    }
    let buffers = list(TensorKind::Buffer);
    if !buffers.is_empty() {
        parts.push(format!("buffers ({} values): {buffers}", layer.buffers()));
    }
    Some(format!("# {}", parts.join("; ")))
}

impl fmt::Display for ModelSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // (text, comment) per line; comments are aligned after the longest text.
        let mut lines: Vec<(String, Option<String>)> = Vec::new();
        let mut open: Vec<(&str, usize)> = Vec::new();
        let close = |lines: &mut Vec<(String, Option<String>)>, depth: usize| {
            lines.push((format!("{})", "  ".repeat(depth)), None));
        };
        for layer in &self.layers {
            while let Some(&(top, depth)) = open.last() {
                if inside(&layer.name, top) {
                    break;
                }
                open.pop();
                close(&mut lines, depth);
            }
            let parent = open.last().map(|(n, _)| *n);
            let label = match parent {
                Some(p) if !p.is_empty() => {
                    format!("({}): ", &layer.name[p.len() + 1..])
                }
                _ if layer.name.is_empty() => String::new(),
                _ => format!("({}): ", layer.name),
            };
            let indent = "  ".repeat(layer.depth);
            if layer.container {
                lines.push((format!("{indent}{label}{}(", layer.description), None));
                open.push((&layer.name, layer.depth));
            } else {
                let mut text = format!("{indent}{label}{}", layer.description);
                if !layer.description.contains('(') {
                    text.push_str("()");
                }
                lines.push((text, tensors_comment(layer)));
            }
        }
        while let Some((_, depth)) = open.pop() {
            close(&mut lines, depth);
        }
        for t in &self.other {
            let kind = match t.kind {
                TensorKind::Parameter => "parameter",
                TensorKind::Buffer => "buffer",
            };
            lines.push((format!("{} {:?} ({kind})", t.name, t.dims), None));
        }
        let width = lines
            .iter()
            .filter(|(_, c)| c.is_some())
            .map(|(t, _)| t.chars().count())
            .max()
            .unwrap_or(0);
        for (text, comment) in &lines {
            match comment {
                Some(c) => writeln!(f, "{text:<width$}  {c}")?,
                None => writeln!(f, "{text}")?,
            }
        }
        writeln!(f, "Trainable params: {}", self.trainable)?;
        write!(f, "Buffer values: {}", self.buffers)
    }
}
