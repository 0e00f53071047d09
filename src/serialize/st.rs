//! Model state, tensors and named tensor collections in the safetensors format.

use super::atomic::write_atomic;
use super::fit::{LoadOptions, check_fit, truncation};
use super::st_format::{self, Dtype, TensorView};
use super::state::{
    Data, Entry, LoadMode, LoadReport, decode_into, dtype_name, load_entries, readable,
};
use super::tied::with_tied_copies;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::nn::Params;
use crate::shape::{DynShape, Shape};
use crate::tensor::Tensor;
use std::collections::BTreeSet;
use std::path::Path;

/// The name [`save_tensor`] stores a single tensor under.
///
/// ```
/// use shaped::prelude::*;
/// let path = std::env::temp_dir().join("shaped_doc_single_name.safetensors");
/// shaped::serialize::save_tensor(&Tensor::<Rank1<2>>::ones(), &path).unwrap();
/// let all = shaped::serialize::load_tensors::<f32>(&path).unwrap();
/// assert_eq!(all[0].0, shaped::serialize::SINGLE_TENSOR_NAME);
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub const SINGLE_TENSOR_NAME: &str = "tensor";

fn dtype_of<E: Float>() -> Dtype {
    if E::DTYPE == "f64" {
        Dtype::F64
    } else {
        Dtype::F32
    }
}

fn to_le_bytes<E: Float>(values: &[E]) -> Vec<u8> {
    let mut out = Vec::with_capacity(std::mem::size_of_val(values));
    if E::DTYPE == "f64" {
        values
            .iter()
            .for_each(|v| out.extend_from_slice(&v.to_f64().to_le_bytes()));
    } else {
        values
            .iter()
            .for_each(|v| out.extend_from_slice(&(v.to_f64() as f32).to_le_bytes()));
    }
    out
}

/// Serializes `(name, dims, values)` triples; names must be distinct.
fn serialize_named<'a, E: Float>(
    items: impl IntoIterator<Item = (String, Vec<usize>, &'a [E])>,
) -> Result<Vec<u8>> {
    let mut seen = BTreeSet::new();
    let mut owned = Vec::new();
    for (name, dims, values) in items {
        if !seen.insert(name.clone()) {
            return Err(Error::value(
                "safetensors",
                format!("two tensors are named `{name}`"),
            ));
        }
        owned.push((name, dtype_of::<E>(), dims, to_le_bytes(values)));
    }
    // PyTorch's own save_model writes this; some loaders check for it.
    st_format::write(owned, &[("format", "pt")]).map_err(|e| Error::value("safetensors", e))
}

/// The tensors of safetensors bytes, in file order.
fn parse<'a>(bytes: &'a [u8], what: &str) -> Result<Vec<(String, TensorView<'a>)>> {
    st_format::read(bytes).map_err(|e| Error::Format {
        what: what.to_string(),
        // A file cut short says so, however the cut header reads.
        message: truncation(bytes).unwrap_or_else(|| format!("not a valid safetensors file: {e}")),
    })
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io {
        path: Some(path.to_path_buf()),
        source,
    })
}

/// A model's parameters and buffers in safetensors format, by `state_dict` name, in the
/// model's element type (F32 or F64). PyTorch reads it with `safetensors.torch.load_file`.
///
/// A tied tensor (see [`Params::visit_tied`]) is written under each of its names with equal
/// values, as PyTorch's `state_dict()` lists it, so `model.load_state_dict(load_file(path),
/// strict=True)` accepts the file. (safetensors' own `load_model(model, path, strict=True)`
/// wants one name per shared tensor, as its `save_model` writes; pass `strict=False` there.)
/// A tied name whose target is not one of the model's tensors is an error.
///
/// ```
/// use shaped::nn::{Linear, ReLU};
/// use shaped::serialize::{LoadMode, from_safetensors, to_safetensors};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let model = (Linear::<3, 4>::new(&mut rng), ReLU, Linear::<4, 2>::new(&mut rng));
/// let bytes = to_safetensors(&model).unwrap();
/// let mut copy = (Linear::<3, 4>::new(&mut rng), ReLU, Linear::<4, 2>::new(&mut rng));
/// from_safetensors(&mut copy, &bytes, LoadMode::Strict, "bytes").unwrap();
/// assert_eq!(copy.2.weight.to_vec(), model.2.weight.to_vec());
/// ```
pub fn to_safetensors<E: Float, M: Params<E> + ?Sized>(model: &M) -> Result<Vec<u8>> {
    let mut owned: Vec<(String, Vec<usize>, Vec<E>)> = Vec::new();
    model.visit("", &mut |p| {
        owned.push((p.name.to_string(), p.dims.to_vec(), p.data.to_vec()))
    });
    let items = owned
        .iter()
        .map(|(n, d, v)| (n.clone(), d.clone(), v.as_slice()))
        .collect();
    // A tied tensor is written under each of its names, as PyTorch's `state_dict()` does.
    let items = with_tied_copies(model, items)?;
    serialize_named(items)
}

/// Saves a model's parameters and buffers to a safetensors file (see [`to_safetensors`]),
/// atomically: the file holds either its old contents or the complete new ones.
///
/// In PyTorch: `model.load_state_dict(safetensors.torch.load_file(path))` on a model with
/// the same layer structure.
///
/// ```
/// use shaped::nn::Linear;
/// use shaped::serialize::{load_safetensors, save_safetensors};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let path = std::env::temp_dir().join("shaped_doc_save_safetensors.safetensors");
/// let model = Linear::<3, 2>::new(&mut rng);
/// save_safetensors(&model, &path).unwrap();
/// let mut other = Linear::<3, 2>::new(&mut rng);
/// load_safetensors(&mut other, &path).unwrap();
/// assert_eq!(other.weight.to_vec(), model.weight.to_vec());
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn save_safetensors<E: Float, M: Params<E> + ?Sized>(
    model: &M,
    path: impl AsRef<Path>,
) -> Result<()> {
    let bytes = to_safetensors(model)?;
    write_atomic(path, |w| Ok(w.write_all(&bytes)?))
}

/// Loads safetensors bytes into a model by name; `what` names the data in errors.
///
/// Every tensor the model has is checked before anything is written, so a failed load
/// leaves the model unchanged. One error lists every mismatch, prefixed by `what`: a shape
/// that differs from the model's (naming the tensor and both shapes), a tensor stored in
/// another element type, and (in [`LoadMode::Strict`]) missing and unexpected names; when
/// recurrent weights have another gate count (a GRU's 3H rows for an LSTM's 4H) it says which
/// architecture the file looks like. `options` is a [`LoadMode`] or [`LoadOptions`]: F16,
/// BF16, F32 and F64 tensors are converted to the model's element type only with
/// [`LoadOptions::convert_dtype`].
///
/// A tied tensor (see [`Params::visit_tied`]) loads from any of its names: a file with only
/// one of them is not missing the others (safetensors' `save_model` keeps one name of a
/// shared tensor, e.g. only `decoder.weight`, and its `load_model(strict=True)` accepts that).
/// When the file has several with different values, the tied name's wins over its target's
/// (PyTorch's `load_state_dict` copies in `state_dict` order, so the later name wins, and the
/// layer that borrows a weight comes after the one that owns it).
///
/// ```
/// use shaped::nn::Linear;
/// use shaped::serialize::{LoadMode, from_safetensors, to_safetensors};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let bytes = to_safetensors(&Linear::<3, 2>::new(&mut rng)).unwrap();
/// let mut wrong = Linear::<3, 5>::new(&mut rng);
/// let err = from_safetensors(&mut wrong, &bytes, LoadMode::Strict, "bytes").unwrap_err();
/// assert!(err.to_string().contains("`weight`: the file has shape [2, 3], the model has shape [5, 3]"));
/// assert!(err.to_string().contains("`bias`: the file has shape [2], the model has shape [5]"));
/// ```
pub fn from_safetensors<E: Float, M: Params<E> + ?Sized>(
    model: &mut M,
    bytes: &[u8],
    options: impl Into<LoadOptions>,
    what: &str,
) -> Result<LoadReport> {
    let options = options.into();
    let views = parse(bytes, what)?;
    check_fit(model, &views, options, what)?;
    let entries = views
        .iter()
        .map(|(name, v)| Entry {
            name,
            dims: v.shape(),
            data: Data::Bytes(v.dtype(), v.data()),
        })
        .collect();
    load_entries(model, entries, options.mode, what)
}

/// Loads a safetensors file into a model, strictly: every name in the file and the model
/// must match, with the same shapes. See [`load_safetensors_with`] for a non-strict load.
///
/// ```
/// use shaped::nn::Linear;
/// use shaped::serialize::load_safetensors;
/// use rand::SeedableRng;
/// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/layer_linear.safetensors");
/// let mut layer = Linear::<6, 5>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// // That file also holds inputs and outputs, which a strict load refuses.
/// let err = load_safetensors(&mut layer, path).unwrap_err();
/// assert!(err.to_string().contains("not in the model"));
/// ```
pub fn load_safetensors<E: Float, M: Params<E> + ?Sized>(
    model: &mut M,
    path: impl AsRef<Path>,
) -> Result<LoadReport> {
    load_safetensors_with(model, path, LoadMode::Strict)
}

/// Loads a safetensors file into a model with a [`LoadMode`] or [`LoadOptions`] (see
/// [`from_safetensors`]); errors name the file.
///
/// ```
/// use shaped::nn::Linear;
/// use shaped::serialize::{LoadMode, load_safetensors_with};
/// use rand::SeedableRng;
/// // PyTorch's reference for nn.Linear(6, 5): weight, bias, and also x, y and gradients.
/// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/layer_linear.safetensors");
/// let mut layer = Linear::<6, 5>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let report = load_safetensors_with(&mut layer, path, LoadMode::NonStrict).unwrap();
/// assert_eq!(report.loaded, ["weight", "bias"]);
/// assert!(report.unexpected.contains(&"x".to_string()));
/// ```
pub fn load_safetensors_with<E: Float, M: Params<E> + ?Sized>(
    model: &mut M,
    path: impl AsRef<Path>,
    options: impl Into<LoadOptions>,
) -> Result<LoadReport> {
    let path = path.as_ref();
    from_safetensors(
        model,
        &read_file(path)?,
        options,
        &path.display().to_string(),
    )
}

/// Named tensors of any shapes as safetensors bytes; names must be distinct.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::serialize::{tensors_from_safetensors, tensors_to_safetensors};
/// let bytes = tensors_to_safetensors(&[("w", Tensor::<Rank2<2, 2>>::eye())]).unwrap();
/// let back = tensors_from_safetensors::<f32>(&bytes, "bytes").unwrap();
/// assert_eq!((back[0].0.as_str(), back[0].1.to_vec()), ("w", vec![1., 0., 0., 1.]));
/// ```
pub fn tensors_to_safetensors<E: Float, N: AsRef<str>, S: Shape, T>(
    tensors: &[(N, Tensor<S, E, T>)],
) -> Result<Vec<u8>> {
    serialize_named(
        tensors
            .iter()
            .map(|(n, t)| (n.as_ref().to_string(), t.dims().to_vec(), t.as_slice())),
    )
}

/// Saves named tensors (e.g. a `Vec<(String, Tensor<DynShape>)>`) to a safetensors file,
/// atomically. A map saves the same way after `.into_iter().collect::<Vec<_>>()`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::serialize::{load_tensors, save_tensors};
/// use std::collections::BTreeMap;
/// let path = std::env::temp_dir().join("shaped_doc_save_tensors.safetensors");
/// let named = vec![
///     ("a".to_string(), Tensor::<Rank2<2, 2>>::eye().into_dyn()),
///     ("b".to_string(), Tensor::<Rank1<3>>::ones().into_dyn()),
/// ];
/// save_tensors(&named, &path).unwrap();
/// let back: BTreeMap<String, Tensor<DynShape>> = load_tensors(&path).unwrap().into_iter().collect();
/// assert_eq!(back["a"].dims().as_slice(), &[2, 2]);
/// assert_eq!(back["b"].to_vec(), vec![1.0; 3]);
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn save_tensors<E: Float, N: AsRef<str>, S: Shape, T>(
    tensors: &[(N, Tensor<S, E, T>)],
    path: impl AsRef<Path>,
) -> Result<()> {
    let bytes = tensors_to_safetensors(tensors)?;
    write_atomic(path, |w| Ok(w.write_all(&bytes)?))
}

/// Every tensor in safetensors bytes, in file order, converted to `E`; `what` names the data
/// in errors. A tensor of rank above 6 or of a non-float dtype is an error naming it.
///
/// ```
/// let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/unary_relu.safetensors")).unwrap();
/// let tensors = shaped::serialize::tensors_from_safetensors::<f32>(&bytes, "unary_relu").unwrap();
/// assert!(tensors.iter().any(|(name, _)| name == "x"));
/// assert!(shaped::serialize::tensors_from_safetensors::<f32>(b"garbage", "garbage").is_err());
/// ```
pub fn tensors_from_safetensors<E: Float>(
    bytes: &[u8],
    what: &str,
) -> Result<Vec<(String, Tensor<DynShape, E>)>> {
    let views = parse(bytes, what)?;
    let mut out = Vec::with_capacity(views.len());
    for (name, v) in views {
        let Some(shape) = DynShape::new(v.shape()) else {
            return Err(Error::Format {
                what: what.to_string(),
                message: format!(
                    "`{name}` has rank {}, above the largest supported rank 6",
                    v.shape().len()
                ),
            });
        };
        if !readable(v.dtype()) {
            return Err(Error::Format {
                what: what.to_string(),
                message: format!(
                    "`{name}` has dtype {}, which cannot be read as {}",
                    dtype_name(v.dtype()),
                    E::DTYPE
                ),
            });
        }
        // The parser has checked that the data holds exactly this many values; the shape
        // must also be one a tensor can have (a zero size beside sizes whose product
        // overflows holds no data but cannot exist either).
        let numel = shape.dims().checked_numel().ok_or_else(|| Error::Format {
            what: what.to_string(),
            message: format!("`{name}` has shape {:?}, too large to exist", v.shape()),
        })?;
        let mut values = vec![E::ZERO; numel];
        decode_into(v.dtype(), v.data(), &mut values);
        out.push((name, Tensor::from_parts(shape, values)));
    }
    Ok(out)
}

/// Loads every tensor of a safetensors file (see [`tensors_from_safetensors`]).
///
/// ```
/// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/layer_linear.safetensors");
/// let tensors = shaped::serialize::load_tensors::<f64>(path).unwrap();
/// let (_, w) = tensors.iter().find(|(n, _)| n == "weight").unwrap();
/// assert_eq!(w.dims().as_slice(), &[5, 6]);
/// ```
pub fn load_tensors<E: Float>(
    path: impl AsRef<Path>,
) -> Result<Vec<(String, Tensor<DynShape, E>)>> {
    let path = path.as_ref();
    tensors_from_safetensors(&read_file(path)?, &path.display().to_string())
}

/// Saves one tensor to a safetensors file, under the name [`SINGLE_TENSOR_NAME`].
///
/// ```
/// use shaped::prelude::*;
/// use shaped::serialize::{load_tensor, save_tensor};
/// let path = std::env::temp_dir().join("shaped_doc_save_tensor.safetensors");
/// save_tensor(&Tensor::<Rank2<2, 3>>::ones(), &path).unwrap();
/// let t: Tensor<Rank2<2, 3>> = load_tensor(&path).unwrap();
/// assert!(load_tensor::<Rank2<3, 2>, f32>(&path).is_err()); // the wrong shape
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn save_tensor<S: Shape, E: Float, T>(
    tensor: &Tensor<S, E, T>,
    path: impl AsRef<Path>,
) -> Result<()> {
    let bytes = serialize_named([(
        SINGLE_TENSOR_NAME.to_string(),
        tensor.dims().to_vec(),
        tensor.as_slice(),
    )])?;
    write_atomic(path, |w| Ok(w.write_all(&bytes)?))
}

/// Loads a safetensors file holding exactly one tensor (under any name) as a tensor of shape
/// `S`; an error names both shapes when the file's differs.
///
/// ```
/// use shaped::prelude::*;
/// let path = std::env::temp_dir().join("shaped_doc_load_tensor.safetensors");
/// shaped::serialize::save_tensor(&Tensor::<Rank2<2, 3>>::zeros(), &path).unwrap();
/// let t: Tensor<(usize, Const<3>)> = shaped::serialize::load_tensor(&path).unwrap(); // run-time rows
/// assert_eq!(t.dims()[0], 2);
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn load_tensor<S: Shape, E: Float>(path: impl AsRef<Path>) -> Result<Tensor<S, E>> {
    let path = path.as_ref();
    let mut all = load_tensors::<E>(path)?;
    if all.len() != 1 {
        return Err(Error::Format {
            what: path.display().to_string(),
            message: format!("holds {} tensors, expected exactly one", all.len()),
        });
    }
    let (name, t) = all.pop().expect("one tensor");
    let dims = t.dims();
    S::from_dims(&dims)
        .map(|s| Tensor::from_parts(s, t.into_vec()))
        .ok_or_else(|| {
            Error::shape(
                "load_tensor",
                format!(
                    "`{name}` in {}: the file has shape {:?}, expected a {}",
                    path.display(),
                    dims.as_slice(),
                    std::any::type_name::<S>()
                ),
            )
        })
}
