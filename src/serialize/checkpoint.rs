//! The native checkpoint format: everything needed to resume training exactly.

use super::atomic::write_atomic;
use super::crc32::Crc32;
use super::state::{Data, Entry, LoadMode, LoadReport, load_entries};
use super::tied::checked_ties;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::nn::Params;
use crate::optim::Optimizer;
use rand::rngs::ChaCha12Rng;
use std::collections::BTreeMap;
use std::path::Path;

/// The first bytes of every checkpoint file.
///
/// ```
/// use shaped::serialize::{CHECKPOINT_MAGIC, Checkpoint};
/// use shaped::nn::Linear;
/// use rand::SeedableRng;
/// let bytes = Checkpoint::new(&Linear::<1, 1>::new(&mut rand::rngs::StdRng::seed_from_u64(0))).to_bytes().unwrap();
/// assert_eq!(bytes[..8], CHECKPOINT_MAGIC);
/// ```
pub const CHECKPOINT_MAGIC: [u8; 8] = *b"SHAPEDCK";
/// The format version this crate writes; it reads this version only.
///
/// ```
/// use shaped::serialize::{CHECKPOINT_VERSION, Checkpoint};
/// use shaped::nn::Linear;
/// use rand::SeedableRng;
/// let bytes = Checkpoint::new(&Linear::<1, 1>::new(&mut rand::rngs::StdRng::seed_from_u64(0))).to_bytes().unwrap();
/// assert_eq!(bytes[8..12], CHECKPOINT_VERSION.to_le_bytes());
/// ```
pub const CHECKPOINT_VERSION: u32 = 1;
/// Bytes before the payload: magic, version, dtype, payload length, checksum.
const HEADER_LEN: usize = 32;
/// The length of a serialized ChaCha RNG state (seed, stream, word position).
const RNG_STATE_LEN: usize = 49;

/// One named tensor of model state.
///
/// ```
/// use shaped::serialize::Checkpoint;
/// use shaped::nn::Linear;
/// use rand::SeedableRng;
/// let c = Checkpoint::new(&Linear::<3, 2>::new(&mut rand::rngs::StdRng::seed_from_u64(0)));
/// assert_eq!((c.model[0].name.as_str(), c.model[0].dims.as_slice()), ("weight", &[2, 3][..]));
/// ```
// `Serialize` and `Deserialize`: see serde_struct.rs.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedValues<E> {
    /// Its `state_dict` name.
    pub name: String,
    /// Its sizes.
    pub dims: Vec<usize>,
    /// Its values, row-major.
    pub data: Vec<E>,
}

/// A training checkpoint: model parameters and buffers by name, optimizer state and
/// learning rate, epoch and step counters, the RNG's exact position, and free-form notes.
///
/// The file (see [`to_bytes`](Checkpoint::to_bytes)) is a 32-byte header (magic
/// `SHAPEDCK`, format version, element type, payload length, CRC-32) followed by the
/// postcard-encoded payload. Loading checks all of these before decoding, so a truncated,
/// corrupted or foreign file is an error, never a panic; memory grows with the bytes
/// actually present, never with a length the file merely declares.
///
/// `rand`'s `StdRng` does not expose its state, so a checkpoint records a
/// [`ChaCha12Rng`](rand::rngs::ChaCha12Rng): the same generator (`StdRng` wraps it), giving
/// the same numbers for the same seed, with a readable position.
///
/// ```
/// use shaped::nn::Linear;
/// use shaped::optim::Adam;
/// use shaped::serialize::Checkpoint;
/// use rand::SeedableRng;
/// use rand::rngs::ChaCha12Rng;
/// let mut rng = ChaCha12Rng::seed_from_u64(0);
/// let model = Linear::<2, 1>::new(&mut rng);
/// let opt = Adam::<f32>::new(1e-3);
/// let ckpt = Checkpoint::new(&model).with_optimizer(&opt).with_epoch(3).with_rng(&rng);
/// let back = Checkpoint::<f32>::from_bytes(&ckpt.to_bytes().unwrap()).unwrap();
/// assert_eq!(back, ckpt);
/// let mut restored = Linear::<2, 1>::new(&mut ChaCha12Rng::seed_from_u64(1));
/// back.restore_model(&mut restored).unwrap();
/// assert_eq!(restored.weight.to_vec(), model.weight.to_vec());
/// assert_eq!(back.restore_rng().unwrap().unwrap(), rng);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint<E> {
    /// The model's parameters and buffers, in visiting order.
    pub model: Vec<NamedValues<E>>,
    /// The optimizer's [`state`](Optimizer::state).
    pub optimizer: Vec<(String, Vec<E>)>,
    /// The optimizer's learning rate (schedulers change it), if an optimizer was recorded.
    pub lr: Option<f64>,
    /// Completed epochs.
    pub epoch: u64,
    /// Completed steps (batches).
    pub step: u64,
    /// The RNG state from `ChaCha12Rng::serialize_state`, if recorded.
    pub rng: Option<Vec<u8>>,
    /// Free-form notes, e.g. hyperparameters or a data loader seed.
    pub extra: BTreeMap<String, String>,
}

fn format_err(what: &str, message: impl Into<String>) -> Error {
    Error::Format {
        what: what.to_string(),
        message: message.into(),
    }
}

fn dtype_code<E: Float>() -> u8 {
    if E::DTYPE == "f64" { 8 } else { 4 }
}

impl<E: Float> Checkpoint<E> {
    /// A checkpoint of `model`'s parameters and buffers, at epoch and step 0.
    ///
    /// ```
    /// use shaped::nn::{Linear, ReLU};
    /// use shaped::serialize::Checkpoint;
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let c = Checkpoint::new(&(Linear::<2, 4>::new(&mut rng), ReLU, Linear::<4, 1>::new(&mut rng)));
    /// let names: Vec<&str> = c.model.iter().map(|t| t.name.as_str()).collect();
    /// assert_eq!(names, ["0.weight", "0.bias", "2.weight", "2.bias"]);
    /// ```
    pub fn new<M: Params<E> + ?Sized>(model: &M) -> Self {
        let mut entries = Vec::new();
        model.visit("", &mut |p| {
            entries.push(NamedValues {
                name: p.name.to_string(),
                dims: p.dims.to_vec(),
                data: p.data.to_vec(),
            })
        });
        // A tied tensor is stored under each of its names, as in safetensors files. Broken
        // tied names (a target the model lacks) store none: restoring then says what is wrong.
        let names: Vec<&str> = entries
            .iter()
            .map(|e: &NamedValues<E>| e.name.as_str())
            .collect();
        let ties = checked_ties(model, &names).unwrap_or_default();
        let copies: Vec<NamedValues<E>> = ties
            .into_iter()
            .filter_map(|(tied, target)| {
                let e = entries.iter().find(|e| e.name == target)?;
                Some(NamedValues {
                    name: tied,
                    dims: e.dims.clone(),
                    data: e.data.clone(),
                })
            })
            .collect();
        entries.extend(copies);
        Checkpoint {
            model: entries,
            optimizer: Vec::new(),
            lr: None,
            epoch: 0,
            step: 0,
            rng: None,
            extra: BTreeMap::new(),
        }
    }
    /// Records the optimizer's state and learning rate.
    ///
    /// ```
    /// use shaped::nn::Linear;
    /// use shaped::optim::Sgd;
    /// use shaped::serialize::Checkpoint;
    /// use rand::SeedableRng;
    /// let model = Linear::<2, 1>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// let c = Checkpoint::new(&model).with_optimizer(&Sgd::<f32>::new(0.1));
    /// assert_eq!(c.lr, Some(0.1));
    /// ```
    pub fn with_optimizer<O: Optimizer<E> + ?Sized>(mut self, optimizer: &O) -> Self {
        self.optimizer = optimizer.state();
        self.lr = Some(optimizer.lr());
        self
    }
    /// Records the number of completed epochs.
    ///
    /// ```
    /// use shaped::nn::Linear;
    /// use shaped::serialize::Checkpoint;
    /// use rand::SeedableRng;
    /// let model = Linear::<2, 1>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(Checkpoint::new(&model).with_epoch(4).epoch, 4);
    /// ```
    pub fn with_epoch(mut self, epoch: u64) -> Self {
        self.epoch = epoch;
        self
    }
    /// Records the number of completed steps.
    ///
    /// ```
    /// use shaped::nn::Linear;
    /// use shaped::serialize::Checkpoint;
    /// use rand::SeedableRng;
    /// let model = Linear::<2, 1>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(Checkpoint::new(&model).with_step(1000).step, 1000);
    /// ```
    pub fn with_step(mut self, step: u64) -> Self {
        self.step = step;
        self
    }
    /// Records the exact state of a random number generator.
    ///
    /// ```
    /// use shaped::nn::Linear;
    /// use shaped::serialize::Checkpoint;
    /// use rand::{Rng, SeedableRng};
    /// use rand::rngs::ChaCha12Rng;
    /// let mut rng = ChaCha12Rng::seed_from_u64(0);
    /// let model = Linear::<2, 1>::new(&mut rng);
    /// let c = Checkpoint::new(&model).with_rng(&rng);
    /// assert_eq!(c.restore_rng().unwrap().unwrap().next_u64(), rng.next_u64());
    /// ```
    pub fn with_rng(mut self, rng: &ChaCha12Rng) -> Self {
        self.rng = Some(rng.serialize_state().to_vec());
        self
    }
    /// Adds a note.
    ///
    /// ```
    /// use shaped::nn::Linear;
    /// use shaped::serialize::Checkpoint;
    /// use rand::SeedableRng;
    /// let model = Linear::<2, 1>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// let c = Checkpoint::new(&model).with_extra("hidden", "16");
    /// assert_eq!(c.extra["hidden"], "16");
    /// ```
    pub fn with_extra(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }

    /// Loads the model state into `model`, strictly (see [`restore_model_with`](Self::restore_model_with)).
    ///
    /// ```
    /// use shaped::nn::Linear;
    /// use shaped::serialize::Checkpoint;
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let c = Checkpoint::new(&Linear::<2, 1>::new(&mut rng));
    /// assert!(c.restore_model(&mut Linear::<2, 1>::new(&mut rng)).is_ok());
    /// assert!(c.restore_model(&mut Linear::<3, 1>::new(&mut rng)).is_err()); // another shape
    /// ```
    pub fn restore_model<M: Params<E> + ?Sized>(&self, model: &mut M) -> Result<()> {
        self.restore_model_with(model, LoadMode::Strict).map(|_| ())
    }
    /// Loads the model state into `model` by name, with the same checks as
    /// [`from_safetensors`](super::from_safetensors): a shape that differs is an error naming
    /// both shapes, and so in strict mode is any missing or unexpected name. On error the
    /// model is unchanged.
    ///
    /// ```
    /// use shaped::nn::{Linear, ReLU};
    /// use shaped::serialize::{Checkpoint, LoadMode};
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let c = Checkpoint::new(&(Linear::<2, 4>::new(&mut rng),));
    /// let mut bigger = (Linear::<2, 4>::new(&mut rng), ReLU, Linear::<4, 1>::new(&mut rng));
    /// let report = c.restore_model_with(&mut bigger, LoadMode::NonStrict).unwrap();
    /// assert_eq!(report.missing, ["2.weight", "2.bias"]);
    /// ```
    pub fn restore_model_with<M: Params<E> + ?Sized>(
        &self,
        model: &mut M,
        mode: LoadMode,
    ) -> Result<LoadReport> {
        let entries = self
            .model
            .iter()
            .map(|t| Entry {
                name: &t.name,
                dims: &t.dims,
                data: Data::Values(&t.data),
            })
            .collect();
        load_entries(model, entries, mode, "checkpoint")
    }
    /// Restores the optimizer's state and learning rate; an error if the state does not
    /// belong to this kind of optimizer.
    ///
    /// ```
    /// use shaped::nn::Linear;
    /// use shaped::optim::{Optimizer, Sgd};
    /// use shaped::serialize::Checkpoint;
    /// use rand::SeedableRng;
    /// let model = Linear::<2, 1>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// let c = Checkpoint::new(&model).with_optimizer(&Sgd::<f32>::new(0.05));
    /// let mut opt = Sgd::<f32>::new(1.0);
    /// c.restore_optimizer(&mut opt).unwrap();
    /// assert_eq!(opt.lr(), 0.05);
    /// ```
    pub fn restore_optimizer<O: Optimizer<E> + ?Sized>(&self, optimizer: &mut O) -> Result<()> {
        self.check_optimizer("checkpoint")?;
        optimizer.load_state(self.optimizer.clone())?;
        // A grouped state carries every group's rate; `lr` (group 0's) would overwrite them.
        let grouped = self.optimizer.iter().any(|(n, _)| n == "param_groups");
        if let Some(lr) = self.lr
            && !grouped
        {
            optimizer.set_lr(lr);
        }
        Ok(())
    }
    /// The recorded random number generator, at exactly the recorded position.
    ///
    /// ```
    /// use shaped::nn::Linear;
    /// use shaped::serialize::Checkpoint;
    /// use rand::SeedableRng;
    /// let model = Linear::<2, 1>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert!(Checkpoint::new(&model).restore_rng().unwrap().is_none()); // none recorded
    /// ```
    pub fn restore_rng(&self) -> Result<Option<ChaCha12Rng>> {
        match &self.rng {
            None => Ok(None),
            Some(bytes) => {
                let state: [u8; RNG_STATE_LEN] = bytes.as_slice().try_into().map_err(|_| {
                    format_err(
                        "checkpoint",
                        format!(
                            "the RNG state has {} bytes, expected {RNG_STATE_LEN}",
                            bytes.len()
                        ),
                    )
                })?;
                Ok(Some(ChaCha12Rng::deserialize_state(&state)))
            }
        }
    }

    /// The checkpoint file's bytes: a 32-byte header then the postcard payload.
    ///
    /// | bytes | field |
    /// |---|---|
    /// | 0..8 | magic `SHAPEDCK` |
    /// | 8..12 | format version, u32 little-endian |
    /// | 12 | element type: 4 for f32, 8 for f64; then 3 zero bytes |
    /// | 16..24 | payload length, u64 little-endian |
    /// | 24..28 | CRC-32 of bytes 0..24 and the payload, u32 little-endian; then 4 zero bytes |
    ///
    /// ```
    /// use shaped::nn::Linear;
    /// use shaped::serialize::Checkpoint;
    /// use rand::SeedableRng;
    /// let model = Linear::<2, 1>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// let bytes = Checkpoint::new(&model).to_bytes().unwrap();
    /// assert_eq!(&bytes[..8], b"SHAPEDCK");
    /// assert_eq!(u64::from_le_bytes(bytes[16..24].try_into().unwrap()) as usize, bytes.len() - 32);
    /// ```
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let payload =
            postcard::to_allocvec(self).map_err(|e| Error::value("checkpoint", e.to_string()))?;
        let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
        out.extend_from_slice(&CHECKPOINT_MAGIC);
        out.extend_from_slice(&CHECKPOINT_VERSION.to_le_bytes());
        out.extend_from_slice(&[dtype_code::<E>(), 0, 0, 0]);
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        let mut crc = Crc32::new();
        crc.update(&out);
        crc.update(&payload);
        out.extend_from_slice(&crc.finish().to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&payload);
        Ok(out)
    }

    /// Parses checkpoint bytes, checking the magic, version, element type, length and
    /// checksum before decoding, and every tensor's size after.
    ///
    /// ```
    /// use shaped::nn::Linear;
    /// use shaped::serialize::Checkpoint;
    /// use rand::SeedableRng;
    /// let model = Linear::<2, 1>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// let mut bytes = Checkpoint::new(&model).to_bytes().unwrap();
    /// let last = bytes.len() - 1;
    /// bytes[last] ^= 1;
    /// let err = Checkpoint::<f32>::from_bytes(&bytes).unwrap_err();
    /// assert!(err.to_string().contains("checksum"));
    /// assert!(Checkpoint::<f64>::from_bytes(&Checkpoint::new(&model).to_bytes().unwrap()).is_err());
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Self::parse(bytes, "checkpoint")
    }

    fn parse(bytes: &[u8], what: &str) -> Result<Self> {
        if bytes.len() < HEADER_LEN {
            return Err(format_err(
                what,
                format!(
                    "truncated: {} bytes, shorter than the {HEADER_LEN}-byte header",
                    bytes.len()
                ),
            ));
        }
        if bytes[..8] != CHECKPOINT_MAGIC {
            return Err(format_err(
                what,
                "not a shaped checkpoint (wrong magic bytes)",
            ));
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
        if version != CHECKPOINT_VERSION {
            return Err(format_err(
                what,
                format!(
                    "format version {version}, but this build reads version {CHECKPOINT_VERSION}"
                ),
            ));
        }
        let dtype = bytes[12];
        if dtype != dtype_code::<E>() {
            let name = match dtype {
                4 => "f32",
                8 => "f64",
                _ => "an unknown type",
            };
            return Err(format_err(
                what,
                format!("holds {name} values, expected {}", E::DTYPE),
            ));
        }
        let declared = u64::from_le_bytes(bytes[16..24].try_into().expect("8 bytes"));
        let actual = (bytes.len() - HEADER_LEN) as u64;
        if declared != actual {
            return Err(format_err(
                what,
                format!(
                    "the header declares a {declared}-byte payload, but {actual} bytes follow it (truncated or corrupted)"
                ),
            ));
        }
        let stored = u32::from_le_bytes(bytes[24..28].try_into().expect("4 bytes"));
        let mut crc = Crc32::new();
        crc.update(&bytes[..24]);
        crc.update(&bytes[HEADER_LEN..]);
        if crc.finish() != stored || bytes[13..16] != [0; 3] || bytes[28..32] != [0; 4] {
            return Err(format_err(what, "checksum mismatch: the file is corrupted"));
        }
        let (ckpt, rest): (Self, _) = postcard::take_from_bytes(&bytes[HEADER_LEN..])
            .map_err(|e| format_err(what, format!("cannot decode the payload: {e}")))?;
        if !rest.is_empty() {
            return Err(format_err(
                what,
                format!("{} unexpected bytes after the payload", rest.len()),
            ));
        }
        for t in &ckpt.model {
            let numel = t.dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
            if numel != Some(t.data.len()) {
                return Err(format_err(
                    what,
                    format!(
                        "`{}` has {} values for shape {:?}",
                        t.name,
                        t.data.len(),
                        t.dims
                    ),
                ));
            }
        }
        ckpt.check_optimizer(what)?;
        if let Some(r) = &ckpt.rng
            && r.len() != RNG_STATE_LEN
        {
            return Err(format_err(
                what,
                format!(
                    "the RNG state has {} bytes, expected {RNG_STATE_LEN}",
                    r.len()
                ),
            ));
        }
        Ok(ckpt)
    }

    /// Checks the optimizer state against the model it was saved with: a finite,
    /// non-negative learning rate; a step count that is a whole number in `0..=2^53`; and
    /// every buffer `"<param>.<buffer>"` naming a tensor of the model and holding exactly as
    /// many values (optimizer-wide entries, without a `.`, are left to the optimizer's own
    /// check when it loads them). The error names the entry.
    fn check_optimizer(&self, what: &str) -> Result<()> {
        if let Some(lr) = self.lr
            && !(lr.is_finite() && lr >= 0.0)
        {
            return Err(format_err(
                what,
                format!("entry `lr`: the learning rate {lr} is not a finite non-negative number"),
            ));
        }
        let sizes: BTreeMap<&str, usize> = self
            .model
            .iter()
            .map(|t| (t.name.as_str(), t.data.len()))
            .collect();
        let grouped = self.optimizer.iter().any(|(n, _)| n == "param_groups");
        for (name, values) in &self.optimizer {
            // Parameter-group entries (settings, membership) are checked by the
            // optimizer's own `load_state`.
            if grouped && crate::optim::is_group_entry(name) {
                continue;
            }
            if name == "step" {
                crate::optim::check_step_count(values)
                    .map_err(|m| format_err(what, format!("optimizer entry `step`: {m}")))?;
                continue;
            }
            // A name without a `.` is optimizer-wide state (L-BFGS's flat history vectors),
            // checked by that optimizer's own `load_state`.
            let Some((param, _)) = name.rsplit_once('.') else {
                continue;
            };
            match sizes.get(param) {
                Some(&n) if n == values.len() => {}
                Some(&n) => {
                    return Err(format_err(
                        what,
                        format!(
                            "optimizer entry `{name}` has {} values, but its parameter `{param}` has {n}",
                            values.len(),
                        ),
                    ));
                }
                None => {
                    return Err(format_err(
                        what,
                        format!(
                            "optimizer entry `{name}` belongs to no tensor of the checkpoint's model"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Saves the checkpoint atomically: the file holds the old checkpoint or the complete new
    /// one, never a mix.
    ///
    /// ```
    /// use shaped::nn::Linear;
    /// use shaped::serialize::Checkpoint;
    /// use rand::SeedableRng;
    /// let path = std::env::temp_dir().join("shaped_doc_checkpoint.ckpt");
    /// let model = Linear::<2, 1>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// Checkpoint::new(&model).with_epoch(7).save(&path).unwrap();
    /// assert_eq!(Checkpoint::<f32>::load(&path).unwrap().epoch, 7);
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let bytes = self.to_bytes()?;
        write_atomic(path, |w| Ok(w.write_all(&bytes)?))
    }
    /// Loads a checkpoint file (see [`from_bytes`](Self::from_bytes)).
    ///
    /// ```
    /// let err = shaped::serialize::Checkpoint::<f32>::load("no/such.ckpt").unwrap_err();
    /// assert!(matches!(err, shaped::error::Error::Io { .. }));
    /// ```
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: Some(path.to_path_buf()),
            source,
        })?;
        Self::parse(&bytes, &path.display().to_string())
    }
}
