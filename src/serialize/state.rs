//! Loading named tensors into a model: the checks shared by every file format.

use super::st_format::Dtype;
use super::tied::{checked_ties, held_under_another_name};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::nn::Params;
use std::collections::{BTreeMap, BTreeSet};

/// How [`load_safetensors_with`](super::load_safetensors_with) and
/// [`Checkpoint::restore_model_with`](super::Checkpoint::restore_model_with) treat names
/// that are in the model but not the file (missing) or in the file but not the model
/// (unexpected), like PyTorch's `load_state_dict(strict=...)`.
///
/// A tensor whose shape differs from the model's is an error in both modes.
///
/// ```
/// use shaped::serialize::LoadMode;
/// assert_eq!(LoadMode::default(), LoadMode::Strict);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LoadMode {
    /// Any missing or unexpected name is an error, and nothing is loaded.
    #[default]
    Strict,
    /// Missing names keep their values, unexpected names are skipped; both are reported.
    NonStrict,
}

/// What a load did: the names loaded, the model's names the file lacked, and the file's
/// names the model lacks (PyTorch's `missing_keys` and `unexpected_keys`).
///
/// ```
/// use shaped::serialize::LoadReport;
/// let report = LoadReport::default();
/// assert!(report.is_exact());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Names loaded into the model, in the model's order.
    pub loaded: Vec<String>,
    /// Model names with no tensor in the file (left unchanged), in the model's order.
    pub missing: Vec<String>,
    /// File names the model has no tensor for (skipped), sorted.
    pub unexpected: Vec<String>,
}

impl LoadReport {
    /// True when the file and the model had exactly the same names.
    ///
    /// ```
    /// use shaped::serialize::LoadReport;
    /// let report = LoadReport { missing: vec!["bias".into()], ..Default::default() };
    /// assert!(!report.is_exact());
    /// ```
    pub fn is_exact(&self) -> bool {
        self.missing.is_empty() && self.unexpected.is_empty()
    }
}

/// The values of one incoming tensor: already typed, or raw little-endian bytes.
pub(crate) enum Data<'a, E> {
    Values(&'a [E]),
    Bytes(Dtype, &'a [u8]),
}

/// One named tensor from a file.
pub(crate) struct Entry<'a, E> {
    pub(crate) name: &'a str,
    pub(crate) dims: &'a [usize],
    pub(crate) data: Data<'a, E>,
}

pub(crate) fn dtype_name(d: Dtype) -> &'static str {
    d.name()
}

/// Whether `d` is a floating type this crate reads (F16, BF16, F32, F64).
pub(crate) fn readable(d: Dtype) -> bool {
    use Dtype::*;
    matches!(d, F16 | BF16 | F32 | F64)
}

fn f16_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = ((h >> 10) & 0x1f) as i32;
    let mant = (h & 0x3ff) as f64;
    sign * match exp {
        0 => mant * 2f64.powi(-24),
        31 if mant == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        _ => (1.0 + mant / 1024.0) * 2f64.powi(exp - 15),
    }
}

/// Decodes `bytes` (checked by the caller to hold `out.len()` values of `dtype`) into `out`.
pub(crate) fn decode_into<E: Float>(dtype: Dtype, bytes: &[u8], out: &mut [E]) {
    use Dtype::*;
    match dtype {
        F32 => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                *o = E::from_f64(f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64);
            }
        }
        F64 => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(8)) {
                *o = E::from_f64(f64::from_le_bytes(c.try_into().expect("chunks of 8")));
            }
        }
        BF16 => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                let bits = (u16::from_le_bytes([c[0], c[1]]) as u32) << 16;
                *o = E::from_f64(f32::from_bits(bits) as f64);
            }
        }
        F16 => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = E::from_f64(f16_to_f64(u16::from_le_bytes([c[0], c[1]])));
            }
        }
        _ => unreachable!("callers check `readable` first"),
    }
}

fn names(list: &[impl AsRef<str>]) -> String {
    list.iter()
        .map(|n| format!("`{}`", n.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks every incoming tensor against the model, then (and only if all checks pass)
/// writes the values: a failed load leaves the model as it was.
pub(crate) fn load_entries<E: Float, M: Params<E> + ?Sized>(
    model: &mut M,
    entries: Vec<Entry<'_, E>>,
    mode: LoadMode,
    source: &str,
) -> Result<LoadReport> {
    let format_err = |message: String| Error::Format {
        what: source.to_string(),
        message,
    };
    let mut incoming: BTreeMap<&str, Entry<'_, E>> = BTreeMap::new();
    for e in entries {
        let name = e.name;
        if incoming.insert(name, e).is_some() {
            return Err(format_err(format!("the tensor `{name}` appears twice")));
        }
    }
    let mut model_names: Vec<(String, Vec<usize>)> = Vec::new();
    model.visit("", &mut |p| {
        model_names.push((p.name.to_string(), p.dims.to_vec()))
    });
    // A tied name is checked like any other, with its target's shape.
    let visited: Vec<&str> = model_names.iter().map(|(n, _)| n.as_str()).collect();
    let ties = checked_ties(model, &visited)?;
    for (tied, target) in &ties {
        let dims = model_names
            .iter()
            .find(|(n, _)| n == target)
            .map(|(_, d)| d.clone())
            .expect("checked_ties found the target");
        model_names.push((tied.clone(), dims));
    }
    let mut seen = BTreeSet::new();
    let mut report = LoadReport::default();
    for (name, dims) in &model_names {
        if !seen.insert(name.as_str()) {
            return Err(Error::value(
                "model",
                format!("two tensors are named `{name}`, so they cannot be loaded by name"),
            ));
        }
        let Some(entry) = incoming.get(name.as_str()) else {
            if !held_under_another_name(name, &ties, |n| incoming.contains_key(n)) {
                report.missing.push(name.clone());
            }
            continue;
        };
        if entry.dims != dims.as_slice() {
            return Err(Error::shape(
                "load_state_dict",
                format!(
                    "`{name}`: the file has shape {:?}, the model has shape {:?}",
                    entry.dims, dims
                ),
            ));
        }
        let numel = dims.iter().product::<usize>();
        match &entry.data {
            Data::Values(v) if v.len() != numel => {
                return Err(format_err(format!(
                    "`{name}` has {} values for shape {dims:?}",
                    v.len()
                )));
            }
            Data::Bytes(d, _) if !readable(*d) => {
                return Err(format_err(format!(
                    "`{name}` has dtype {}, which cannot be loaded into {} parameters",
                    dtype_name(*d),
                    E::DTYPE
                )));
            }
            Data::Bytes(d, b) if b.len() != numel * d.bitsize() / 8 => {
                return Err(format_err(format!(
                    "`{name}` has {} bytes for shape {dims:?}",
                    b.len()
                )));
            }
            _ => {}
        }
        report.loaded.push(name.clone());
    }
    report.unexpected = incoming
        .keys()
        .filter(|k| !seen.contains(*k))
        .map(|k| k.to_string())
        .collect();
    if mode == LoadMode::Strict && !report.is_exact() {
        let mut parts = Vec::new();
        if !report.missing.is_empty() {
            parts.push(format!("missing from the file: {}", names(&report.missing)));
        }
        if !report.unexpected.is_empty() {
            parts.push(format!("not in the model: {}", names(&report.unexpected)));
        }
        return Err(format_err(format!("strict load: {}", parts.join("; "))));
    }
    // A tied tensor takes the values of the last of its names the file has: the tied name
    // over its target, as PyTorch's `load_state_dict` copies in `state_dict` order and the
    // layer that borrows a weight comes after the one that owns it (`decoder` after `encoder`).
    model.visit_mut("", &mut |p| {
        let source = ties
            .iter()
            .rev()
            .filter(|(_, target)| target == p.name)
            .find_map(|(tied, _)| incoming.get(tied.as_str()))
            .or_else(|| incoming.get(p.name));
        if let Some(entry) = source {
            match &entry.data {
                Data::Values(v) => p.data.copy_from_slice(v),
                Data::Bytes(d, b) => decode_into(*d, b, p.data),
            }
        }
    });
    Ok(report)
}
