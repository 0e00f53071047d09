//! Whether a safetensors file fits a model: every mismatch at once, with the file named, and
//! a hint when the file looks like another recurrent architecture.

use super::st_format::{Dtype, TensorView};
use super::state::{LoadMode, dtype_name, readable};
use super::tied::{held_under_another_name, with_tied_copies};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::nn::Params;
use std::collections::BTreeMap;

/// How [`load_safetensors_with`](super::load_safetensors_with) and
/// [`from_safetensors`](super::from_safetensors) treat names and element types.
///
/// `mode` is PyTorch's `strict` (a [`LoadMode`] converts into options with it). By default a
/// tensor stored in another float type than the model's (an F32 file into an `f64` model,
/// F16/BF16 into `f32`) is an error naming both types; `convert_dtype(true)` converts instead
/// (rounding when the model's type is narrower).
///
/// ```
/// use shaped::nn::Linear;
/// use shaped::serialize::{LoadMode, LoadOptions, from_safetensors, to_safetensors};
/// use shaped::rand::{SeedableRng, rngs::StdRng};
/// let bytes = to_safetensors(&Linear::<3, 2>::new(&mut StdRng::seed_from_u64(0))).unwrap(); // F32
/// let mut wide = Linear::<3, 2, f64>::new(&mut StdRng::seed_from_u64(1));
/// let err = from_safetensors(&mut wide, &bytes, LoadMode::Strict, "m.safetensors").unwrap_err();
/// assert!(err.to_string().contains("`weight`: the file holds F32 values, the model is f64"));
/// let options = LoadOptions::new().convert_dtype(true);
/// from_safetensors(&mut wide, &bytes, options, "m.safetensors").unwrap();
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Strict (the default) or not, for missing and unexpected names.
    pub mode: LoadMode,
    /// Convert tensors stored in another float type (default: false, an error).
    pub convert_dtype: bool,
}

impl LoadOptions {
    /// Strict, without dtype conversion.
    ///
    /// ```
    /// use shaped::serialize::{LoadMode, LoadOptions};
    /// assert_eq!(LoadOptions::new(), LoadOptions::from(LoadMode::Strict));
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets strict or non-strict loading.
    ///
    /// ```
    /// use shaped::serialize::{LoadMode, LoadOptions};
    /// assert_eq!(LoadOptions::new().mode(LoadMode::NonStrict).mode, LoadMode::NonStrict);
    /// ```
    pub fn mode(mut self, mode: LoadMode) -> Self {
        self.mode = mode;
        self
    }

    /// Converts tensors stored in another float type (F16, BF16, F32, F64) to the model's.
    ///
    /// ```
    /// use shaped::serialize::LoadOptions;
    /// assert!(LoadOptions::new().convert_dtype(true).convert_dtype);
    /// ```
    pub fn convert_dtype(mut self, on: bool) -> Self {
        self.convert_dtype = on;
        self
    }
}

impl From<LoadMode> for LoadOptions {
    fn from(mode: LoadMode) -> Self {
        Self {
            mode,
            convert_dtype: false,
        }
    }
}

fn dtype_of<E: Float>() -> Dtype {
    if E::DTYPE == "f64" {
        Dtype::F64
    } else {
        Dtype::F32
    }
}

fn quoted(list: &[&str]) -> String {
    list.iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The recurrent architecture with `gates` gate blocks per hidden unit.
fn cell_name(gates: usize) -> Option<&'static str> {
    match gates {
        1 => Some("an RNN (1 gate block)"),
        3 => Some("a GRU (3 gate blocks)"),
        4 => Some("an LSTM (4 gate blocks)"),
        _ => None,
    }
}

/// `weight_hh*` is `(gates * H, H)`: a file whose gate count differs from the model's was
/// saved by another recurrent architecture.
fn architecture_hint(name: &str, file: &[usize], model: &[usize]) -> Option<String> {
    let leaf = name.rsplit('.').next().unwrap_or(name);
    if !leaf.starts_with("weight_hh") || file.len() != 2 || model.len() != 2 {
        return None;
    }
    let gates = |d: &[usize]| (d[1] > 0 && d[0].is_multiple_of(d[1])).then(|| d[0] / d[1]);
    let (f, m) = (gates(file)?, gates(model)?);
    if f == m {
        return None;
    }
    Some(format!(
        "`{name}` has {f} x {} rows in the file and {m} x {} in the model: the file looks like {}, the model is {}",
        file[1],
        model[1],
        cell_name(f)?,
        cell_name(m)?
    ))
}

/// Checks the file's tensors against the model before anything is written, and reports every
/// mismatch at once: names missing or unexpected (strict mode), shapes, and element types.
pub(crate) fn check_fit<E: Float, M: Params<E> + ?Sized>(
    model: &M,
    views: &[(String, TensorView<'_>)],
    options: LoadOptions,
    what: &str,
) -> Result<()> {
    let file: BTreeMap<&str, &TensorView<'_>> =
        views.iter().map(|(n, v)| (n.as_str(), v)).collect();
    let mut model_dims: Vec<(String, Vec<usize>)> = Vec::new();
    model.visit("", &mut |p| {
        model_dims.push((p.name.to_string(), p.dims.to_vec()))
    });
    let model_dims: Vec<(String, Vec<usize>)> = with_tied_copies(
        model,
        model_dims.into_iter().map(|(n, d)| (n, d, ())).collect(),
    )?
    .into_iter()
    .map(|(n, d, ())| (n, d))
    .collect();
    let ties = model.tied_names();
    let mut missing = Vec::new();
    let mut problems = Vec::new();
    let mut hints = Vec::new();
    for (name, dims) in &model_dims {
        let Some(v) = file.get(name.as_str()) else {
            if !held_under_another_name(name, &ties, |n| file.contains_key(n)) {
                missing.push(name.as_str());
            }
            continue;
        };
        if v.shape() != dims.as_slice() {
            problems.push(format!(
                "`{name}`: the file has shape {:?}, the model has shape {dims:?}",
                v.shape()
            ));
            hints.extend(architecture_hint(name, v.shape(), dims));
        } else if !readable(v.dtype()) {
            problems.push(format!(
                "`{name}` has dtype {}, which cannot be loaded into {} parameters",
                dtype_name(v.dtype()),
                E::DTYPE
            ));
        } else if v.dtype() != dtype_of::<E>() && !options.convert_dtype {
            problems.push(format!(
                "`{name}`: the file holds {} values, the model is {} (LoadOptions::convert_dtype(true) converts them)",
                dtype_name(v.dtype()),
                E::DTYPE
            ));
        }
    }
    let in_model: std::collections::BTreeSet<&str> =
        model_dims.iter().map(|(n, _)| n.as_str()).collect();
    let unexpected: Vec<&str> = file
        .keys()
        .copied()
        .filter(|k| !in_model.contains(k))
        .collect();
    let mut parts = Vec::new();
    let mut count = problems.len();
    if options.mode == LoadMode::Strict {
        if !missing.is_empty() {
            parts.push(format!("missing from the file: {}", quoted(&missing)));
        }
        if !unexpected.is_empty() {
            parts.push(format!("not in the model: {}", quoted(&unexpected)));
        }
        count += missing.len() + unexpected.len();
    }
    if count == 0 {
        return Ok(());
    }
    parts.extend(problems);
    parts.extend(hints);
    let s = if count == 1 { "" } else { "es" };
    Err(Error::Format {
        what: what.to_string(),
        message: format!(
            "the file does not fit the model ({count} mismatch{s}): {}",
            parts.join("; ")
        ),
    })
}

/// When safetensors bytes are shorter than their header says: "truncated: header promises N
/// bytes, M present"; `None` when they are not (or the header cannot tell).
pub(crate) fn truncation(bytes: &[u8]) -> Option<String> {
    let m = bytes.len();
    let Some(len) = bytes.get(..8) else {
        return Some(format!(
            "truncated: {m} bytes, fewer than the 8 that give the header's length"
        ));
    };
    let n = u64::from_le_bytes(len.try_into().ok()?);
    let header_end = 8u64.checked_add(n)?;
    if (m as u64) < header_end {
        return Some(format!(
            "truncated: header promises at least {header_end} bytes, {m} present"
        ));
    }
    let header = std::str::from_utf8(&bytes[8..header_end as usize]).ok()?;
    let data_end = max_data_offset(header)?;
    let promised = header_end.checked_add(data_end)?;
    ((m as u64) < promised)
        .then(|| format!("truncated: header promises {promised} bytes, {m} present"))
}

/// The largest end offset of any `"data_offsets":[begin,end]` in a safetensors header.
fn max_data_offset(header: &str) -> Option<u64> {
    let key = "\"data_offsets\"";
    let mut max = None;
    let mut rest = header;
    while let Some(i) = rest.find(key) {
        rest = &rest[i + key.len()..];
        let open = rest.find('[')?;
        // The `]` after the `[` (a corrupt header may have one before it: found by
        // tests/fuzz_loaders.rs).
        let close = open + rest[open..].find(']')?;
        let end = rest[open + 1..close]
            .split(',')
            .nth(1)?
            .trim()
            .parse::<u64>()
            .ok()?;
        max = Some(max.map_or(end, |m: u64| m.max(end)));
    }
    max
}
