//! Tied names (one tensor under two `state_dict` names) in files: written under both names,
//! read from either.

use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::nn::Params;

/// The model's tied names `(tied, target)`, checked against `visited` (the names the model
/// visits, in order): every target must be one of them, and no tied name may be.
pub(crate) fn checked_ties<E: Float, M: Params<E> + ?Sized>(
    model: &M,
    visited: &[&str],
) -> Result<Vec<(String, String)>> {
    let ties = model.tied_names();
    for (tied, target) in &ties {
        if visited.contains(&tied.as_str()) {
            return Err(Error::value(
                "model",
                format!("the tied name `{tied}` is also the name of one of the model's tensors"),
            ));
        }
        if !visited.contains(&target.as_str()) {
            return Err(Error::value(
                "model",
                format!(
                    "the tied name `{tied}` stands for `{target}`, which is not one of the model's tensors"
                ),
            ));
        }
    }
    Ok(ties)
}

/// `entries` (name, dims, values) followed by one copy for every tied name whose target is
/// among them, in tied-name order.
pub(crate) fn with_tied_copies<E: Float, M: Params<E> + ?Sized, T: Clone>(
    model: &M,
    entries: Vec<(String, Vec<usize>, T)>,
) -> Result<Vec<(String, Vec<usize>, T)>> {
    let names: Vec<&str> = entries.iter().map(|(n, _, _)| n.as_str()).collect();
    let ties = checked_ties(model, &names)?;
    let mut copies = Vec::with_capacity(ties.len());
    for (tied, target) in ties {
        let (_, dims, data) = entries
            .iter()
            .find(|(n, _, _)| *n == target)
            .expect("checked_ties found the target");
        copies.push((tied, dims.clone(), data.clone()));
    }
    let mut entries = entries;
    entries.extend(copies);
    Ok(entries)
}

/// Whether the file holds the tensor `name` under another of its names (`present` says which
/// names the file has). Such a name is not missing: safetensors' `save_model` keeps one name
/// of a shared tensor, and its `load_model(strict=True)` accepts the file.
pub(crate) fn held_under_another_name(
    name: &str,
    ties: &[(String, String)],
    present: impl Fn(&str) -> bool,
) -> bool {
    let target = ties
        .iter()
        .find(|(tied, _)| tied == name)
        .map_or(name, |(_, target)| target.as_str());
    std::iter::once(target)
        .chain(
            ties.iter()
                .filter(|(_, t)| t == target)
                .map(|(tied, _)| tied.as_str()),
        )
        .any(|other| other != name && present(other))
}
