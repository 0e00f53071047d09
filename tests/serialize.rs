//! Model state on disk: safetensors by state_dict name (including PyTorch's own files in
//! tests/golden), tensors and collections, native checkpoints with bit-exact resume, atomic
//! saves, and hostile input.

mod common;
use common::Golden;
use proptest::prelude::*;
use rand::rngs::{ChaCha12Rng, StdRng};
use rand::{Rng, SeedableRng};
use safetensors::{Dtype, SafeTensors};
use shaped::data::{self, DataLoader, TensorDataset};
use shaped::nn::{Linear, Module, Params, ReLU};
use shaped::optim::{Adam, Optimizer, Sgd};
use shaped::prelude::*;
use shaped::serialize::{
    self, CHECKPOINT_MAGIC, Checkpoint, LoadMode, LoadReport, NamedValues, crc32, from_safetensors,
    load_safetensors, load_safetensors_with, load_tensor, load_tensors, save_safetensors,
    save_tensor, save_tensors, tensors_from_safetensors, tensors_to_safetensors, to_safetensors,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

/// Records the largest single allocation, to show that lying sizes allocate nothing big.
#[path = "common/tracking_alloc.rs"]
mod tracking_alloc;
use tracking_alloc::LARGEST;

/// No test in this binary allocates anywhere near this much in one piece.
const ALLOC_LIMIT: usize = 64 << 20;

fn assert_no_huge_allocation() {
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(
        largest < ALLOC_LIMIT,
        "something allocated {largest} bytes at once"
    );
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "shaped_test_serialize_{}_{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn golden_path(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/{case}.safetensors"))
}

fn tmp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

type Mlp = (Linear<4, 16>, ReLU, Linear<16, 3>);

fn mlp(seed: u64) -> Mlp {
    let mut rng = StdRng::seed_from_u64(seed);
    (Linear::new(&mut rng), ReLU, Linear::new(&mut rng))
}

/// Every parameter's bits, by name.
fn bits<M: Params<f32>>(m: &M) -> Vec<(String, Vec<u32>)> {
    let mut out = Vec::new();
    m.visit("", &mut |p| {
        out.push((
            p.name.to_string(),
            p.data.iter().map(|v| v.to_bits()).collect(),
        ))
    });
    out
}

// ---------------------------------------------------------------- safetensors: models

#[test]
fn model_round_trips_through_a_safetensors_file() {
    let dir = temp_dir("model_round_trip");
    let path = dir.join("mlp.safetensors");
    let model = mlp(1);
    save_safetensors(&model, &path).unwrap();
    let mut other = mlp(2);
    assert_ne!(bits(&other), bits(&model));
    let report = load_safetensors(&mut other, &path).unwrap();
    assert_eq!(report.loaded, ["0.weight", "0.bias", "2.weight", "2.bias"]);
    assert!(report.is_exact());
    assert_eq!(bits(&other), bits(&model));
    let x = Tensor::<Rank2<5, 4>>::randn(&mut StdRng::seed_from_u64(3));
    assert_eq!(other.forward(x.clone()).to_vec(), model.forward(x).to_vec());
    assert!(tmp_files(&dir).is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// What PyTorch's `safetensors.torch.load_file` needs: the standard container, state_dict
/// names, PyTorch's (out, in) weight layout, little-endian F32, and `format: pt`.
#[test]
fn saved_files_are_plain_pytorch_state_dicts() {
    let model = mlp(4);
    let bytes = to_safetensors(&model).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert_eq!(header_len % 8, 0, "data starts 8-byte aligned");
    let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
    assert_eq!(meta.metadata().as_ref().unwrap()["format"], "pt");
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut names = st.names();
    names.sort();
    assert_eq!(names, ["0.bias", "0.weight", "2.bias", "2.weight"]);
    let w = st.tensor("0.weight").unwrap();
    assert_eq!((w.dtype(), w.shape()), (Dtype::F32, &[16usize, 4][..]));
    let first = f32::from_le_bytes(w.data()[..4].try_into().unwrap());
    assert_eq!(first, model.0.weight.at(&[0, 0]).unwrap());
    // An f64 model writes F64.
    let wide = Linear::<2, 3, f64>::new(&mut StdRng::seed_from_u64(0));
    let st_bytes = to_safetensors(&wide).unwrap();
    assert_eq!(
        SafeTensors::deserialize(&st_bytes)
            .unwrap()
            .tensor("weight")
            .unwrap()
            .dtype(),
        Dtype::F64
    );
}

/// PyTorch -> typed model: nn.Linear(6, 5)'s state from PyTorch's reference file reproduces
/// PyTorch's output. The file also holds x, y and gradients, so strict mode refuses it.
#[test]
fn golden_linear_loads_non_strict_and_reproduces_pytorch() {
    let path = golden_path("layer_linear");
    let mut layer = Linear::<6, 5>::new(&mut StdRng::seed_from_u64(0));
    let before = bits(&layer);
    let err = load_safetensors(&mut layer, &path).unwrap_err().to_string();
    assert!(
        err.contains("the file does not fit the model")
            && err.contains("not in the model: ")
            && err.contains("`x`")
            && err.contains("`y`"),
        "{err}"
    );
    assert_eq!(bits(&layer), before, "a refused load changes nothing");
    let report = load_safetensors_with(&mut layer, &path, LoadMode::NonStrict).unwrap();
    assert_eq!(report.loaded, ["weight", "bias"]);
    assert!(report.missing.is_empty());
    assert!(report.unexpected.iter().any(|n| n.starts_with("grad.")));
    let g = Golden::load("layer_linear");
    assert_eq!(layer.weight.to_vec(), g.f("weight"));
    let x = Tensor::<Rank3<2, 3, 6>>::from_vec(g.f("x")).unwrap();
    g.check_forward("y", layer.forward(x).as_slice());
    // Our own reader sees the same tensors, in file order.
    let all = load_tensors::<f32>(&path).unwrap();
    let y = all.iter().find(|(n, _)| n == "y").unwrap();
    assert_eq!(y.1.dims().as_slice(), &[2, 3, 5]);
    assert_eq!(y.1.to_vec(), g.f("y"));
}

fn cross_entropy<T: Tape<f32>>(
    logits: Tensor<(usize, Const<3>), f32, T>,
    y: &Indices<(usize,)>,
) -> Tensor<(), f32, T> {
    let n = y.numel() as f32;
    (logits.log_softmax::<1>() * data::one_hot::<3, f32>(y).unwrap())
        .sum()
        .neg()
        / n
}

/// PyTorch's Sequential(Linear(8,16), ReLU, Linear(16,3)) state dict loads by name into the
/// typed tuple model, reproduces PyTorch's loss, saves back bit for bit, and round-trips.
#[test]
fn golden_mlp_state_dict_round_trips() {
    let dir = temp_dir("golden_mlp");
    let g = Golden::load("e2e_mlp_adam");
    let mut rng = StdRng::seed_from_u64(9);
    let mut model = (
        Linear::<8, 16>::new(&mut rng),
        ReLU,
        Linear::<16, 3>::new(&mut rng),
    );
    let report =
        load_safetensors_with(&mut model, golden_path("e2e_mlp_adam"), LoadMode::NonStrict)
            .unwrap();
    assert_eq!(report.loaded, ["0.weight", "0.bias", "2.weight", "2.bias"]);
    assert!(
        report.unexpected.contains(&"labels".to_string()),
        "int64 tensors are skipped too"
    );
    for name in ["0.weight", "0.bias", "2.weight", "2.bias"] {
        let mine = bits(&model).into_iter().find(|(n, _)| n == name).unwrap().1;
        assert_eq!(
            mine,
            g.f(name).iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            "{name}"
        );
    }
    let x = Tensor::<(usize, Const<8>)>::from_vec_with_shape(g.f("x"), (5, Const)).unwrap();
    let labels = Indices::<(usize,)>::from_vec_with_shape(g.idx("labels"), (5,)).unwrap();
    let loss = cross_entropy(model.forward(x), &labels);
    g.check_forward("loss.0", loss.as_slice());

    // Save ours, read it as PyTorch would, load it into a third model.
    let path = dir.join("mlp.safetensors");
    save_safetensors(&model, &path).unwrap();
    let ours = std::fs::read(&path).unwrap();
    let theirs = std::fs::read(golden_path("e2e_mlp_adam")).unwrap();
    let (a, b) = (
        SafeTensors::deserialize(&ours).unwrap(),
        SafeTensors::deserialize(&theirs).unwrap(),
    );
    for name in ["0.weight", "0.bias", "2.weight", "2.bias"] {
        let (ta, tb) = (a.tensor(name).unwrap(), b.tensor(name).unwrap());
        assert_eq!(
            (ta.dtype(), ta.shape(), ta.data()),
            (tb.dtype(), tb.shape(), tb.data()),
            "{name}"
        );
    }
    let mut third = (
        Linear::<8, 16>::new(&mut rng),
        ReLU,
        Linear::<16, 3>::new(&mut rng),
    );
    load_safetensors(&mut third, &path).unwrap();
    assert_eq!(bits(&third), bits(&model));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn wrong_shapes_are_errors_naming_the_parameter_and_both_shapes() {
    let bytes = to_safetensors(
        &(Linear::<784, 128>::new_no_bias(&mut StdRng::seed_from_u64(
            0,
        )),),
    )
    .unwrap();
    let mut wider = (Linear::<784, 256>::new_no_bias(&mut StdRng::seed_from_u64(
        1,
    )),);
    for mode in [LoadMode::Strict, LoadMode::NonStrict] {
        let err = from_safetensors(&mut wider, &bytes, mode, "model.safetensors").unwrap_err();
        assert!(matches!(err, Error::Format { .. }));
        assert_eq!(
            err.to_string(),
            "model.safetensors: the file does not fit the model (1 mismatch): `0.weight`: the file has shape [128, 784], the model has shape [256, 784]"
        );
    }
    // All checks run before any write: the first layer fits, the second does not, neither changes.
    let small = to_safetensors(&(
        Linear::<3, 4>::new(&mut StdRng::seed_from_u64(0)),
        ReLU,
        Linear::<4, 5>::new(&mut StdRng::seed_from_u64(0)),
    ))
    .unwrap();
    let mut target = (
        Linear::<3, 4>::new(&mut StdRng::seed_from_u64(7)),
        ReLU,
        Linear::<4, 2>::new(&mut StdRng::seed_from_u64(7)),
    );
    let before = bits(&target);
    let err = from_safetensors(&mut target, &small, LoadMode::NonStrict, "f")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`2.weight`: the file has shape [5, 4], the model has shape [2, 4]"),
        "{err}"
    );
    assert_eq!(bits(&target), before);
}

#[test]
fn missing_and_unexpected_keys_are_errors_in_strict_mode_and_reported_otherwise() {
    let full = mlp(0);
    let mut named = Vec::new();
    full.visit("", &mut |p| {
        if p.name != "2.bias" {
            named.push((
                p.name.to_string(),
                Tensor::from_vec_with_shape(p.data.to_vec(), DynShape::new(&p.dims).unwrap())
                    .unwrap(),
            ))
        }
    });
    named.push((
        "extra.weight".to_string(),
        Tensor::<Rank1<2>>::ones().into_dyn(),
    ));
    let bytes = tensors_to_safetensors(&named).unwrap();
    let mut m = mlp(5);
    let before = bits(&m);
    let err =
        from_safetensors(&mut m, &bytes, LoadMode::Strict, "partial.safetensors").unwrap_err();
    assert!(matches!(err, Error::Format { .. }));
    assert_eq!(
        err.to_string(),
        "partial.safetensors: the file does not fit the model (2 mismatches): missing from the file: `2.bias`; not in the model: `extra.weight`"
    );
    assert_eq!(bits(&m), before);
    let report =
        from_safetensors(&mut m, &bytes, LoadMode::NonStrict, "partial.safetensors").unwrap();
    assert_eq!(
        report,
        LoadReport {
            loaded: vec!["0.weight".into(), "0.bias".into(), "2.weight".into()],
            missing: vec!["2.bias".into()],
            unexpected: vec!["extra.weight".into()],
        }
    );
    assert_eq!(m.0.weight.to_vec(), full.0.weight.to_vec());
    assert_eq!(
        m.2.bias.as_ref().unwrap().to_vec(),
        mlp(5).2.bias.unwrap().to_vec(),
        "missing keeps its value"
    );
}

#[test]
fn float_dtypes_convert_and_integer_dtypes_are_refused() {
    // An f64 file into an f32 model and back, when conversion is asked for.
    let wide = Linear::<2, 3, f64>::new(&mut StdRng::seed_from_u64(0));
    let mut narrow = Linear::<2, 3>::new(&mut StdRng::seed_from_u64(1));
    from_safetensors(
        &mut narrow,
        &to_safetensors(&wide).unwrap(),
        shaped::serialize::LoadOptions::new().convert_dtype(true),
        "f",
    )
    .unwrap();
    assert_eq!(
        narrow.weight.to_vec(),
        wide.weight
            .to_vec()
            .iter()
            .map(|&v| v as f32)
            .collect::<Vec<_>>()
    );
    // F16 and BF16, as PyTorch saves half-precision models.
    let f16: Vec<u8> = [0x3c00u16, 0xc000, 0x3800, 0x0001, 0x7c00]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let bf16: Vec<u8> = [0x3f80u16, 0xc040]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let i64s: Vec<u8> = [1i64, 2].iter().flat_map(|v| v.to_le_bytes()).collect();
    let view = |d, shape: Vec<usize>, b: &'static [u8]| {
        safetensors::tensor::TensorView::new(d, shape, b).unwrap()
    };
    let (f16, bf16, i64s): (&'static [u8], &'static [u8], &'static [u8]) =
        (f16.leak(), bf16.leak(), i64s.leak());
    let bytes = safetensors::serialize(
        [
            ("h", view(Dtype::F16, vec![5], f16)),
            ("b", view(Dtype::BF16, vec![2], bf16)),
        ],
        None,
    )
    .unwrap();
    let back: BTreeMap<String, Tensor<DynShape>> = tensors_from_safetensors(&bytes, "f")
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(
        back["h"].to_vec(),
        vec![1.0, -2.0, 0.5, 2f32.powi(-24), f32::INFINITY]
    );
    assert_eq!(back["b"].to_vec(), vec![1.0, -3.0]);
    let ints = safetensors::serialize([("bias", view(Dtype::I64, vec![2], i64s))], None).unwrap();
    let err = tensors_from_safetensors::<f32>(&ints, "ints.safetensors")
        .unwrap_err()
        .to_string();
    assert!(err.contains("`bias` has dtype I64"), "{err}");
    let mut layer = Linear::<1, 2>::new(&mut StdRng::seed_from_u64(0));
    let err = from_safetensors(&mut layer, &ints, LoadMode::NonStrict, "ints.safetensors")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`bias` has dtype I64, which cannot be loaded into f32 parameters"),
        "{err}"
    );
}

// ---------------------------------------------------------------- single tensors and collections

#[test]
fn single_tensors_save_and_load_typed() {
    let dir = temp_dir("single");
    let path = dir.join("t.safetensors");
    let t = Tensor::<Rank3<2, 3, 4>, f64>::randn(&mut StdRng::seed_from_u64(0));
    save_tensor(&t, &path).unwrap();
    let back: Tensor<Rank3<2, 3, 4>, f64> = load_tensor(&path).unwrap();
    assert_eq!(back.to_vec(), t.to_vec());
    let dynamic: Tensor<(usize, Const<3>, usize), f64> = load_tensor(&path).unwrap();
    assert_eq!(dynamic.dims().as_slice(), &[2, 3, 4]);
    let err = load_tensor::<Rank2<6, 4>, f64>(&path).unwrap_err();
    assert!(matches!(err, Error::Shape { .. }));
    assert!(
        err.to_string().contains("the file has shape [2, 3, 4]"),
        "{err}"
    );
    // A traced tensor saves its values.
    save_tensor(&Tensor::<Rank1<2>>::ones().trace(), &path).unwrap();
    assert_eq!(
        load_tensor::<Rank1<2>, f32>(&path).unwrap().to_vec(),
        vec![1.0, 1.0]
    );
    // A file of several tensors is not a single tensor.
    let err = load_tensor::<Rank1<2>, f32>(golden_path("layer_linear"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("expected exactly one"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn named_collections_round_trip_as_vec_and_map() {
    let dir = temp_dir("collections");
    let path = dir.join("c.safetensors");
    let mut rng = StdRng::seed_from_u64(0);
    let named: Vec<(String, Tensor<DynShape>)> = vec![
        (
            "embeddings".into(),
            Tensor::<Rank2<10, 4>>::randn(&mut rng).into_dyn(),
        ),
        ("scalar".into(), Tensor::<()>::full(3.5).into_dyn()),
        (
            "empty".into(),
            Tensor::<(usize, Const<2>)>::zeros_with_shape((0, Const)).into_dyn(),
        ),
        (
            "a.b.c".into(),
            Tensor::<Rank4<1, 2, 1, 2>>::ones().into_dyn(),
        ),
    ];
    save_tensors(&named, &path).unwrap();
    let back = load_tensors::<f32>(&path).unwrap();
    let map: BTreeMap<String, Tensor<DynShape>> = back.into_iter().collect();
    assert_eq!(map.len(), 4);
    for (name, t) in &named {
        assert_eq!(map[name].dims(), t.dims(), "{name}");
        assert_eq!(map[name].to_vec(), t.to_vec(), "{name}");
    }
    // A map saves the same way.
    let as_vec: Vec<(String, Tensor<DynShape>)> = map.clone().into_iter().collect();
    save_tensors(&as_vec, &path).unwrap();
    assert_eq!(load_tensors::<f32>(&path).unwrap().len(), 4);
    // f64 readers widen f32 files.
    let wide = load_tensors::<f64>(&path).unwrap();
    assert_eq!(
        wide.iter().find(|(n, _)| n == "scalar").unwrap().1.to_vec(),
        vec![3.5f64]
    );
    let dup = vec![
        ("x", Tensor::<Rank1<1>>::ones()),
        ("x", Tensor::<Rank1<1>>::ones()),
    ];
    assert!(
        tensors_to_safetensors(&dup)
            .unwrap_err()
            .to_string()
            .contains("two tensors are named `x`")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------- atomic saves

#[test]
fn failed_saves_keep_the_old_file_and_leave_no_temporary() {
    let dir = temp_dir("atomic");
    let path = dir.join("model.safetensors");
    let model = mlp(0);
    save_safetensors(&model, &path).unwrap();
    let good = std::fs::read(&path).unwrap();
    let err = serialize::write_atomic(&path, |w| {
        w.write_all(&good[..good.len() / 2])?;
        Err(std::io::Error::other("disk full").into())
    });
    assert!(err.is_err());
    assert_eq!(std::fs::read(&path).unwrap(), good);
    assert!(tmp_files(&dir).is_empty());
    // A panicking writer also cleans up.
    let caught = std::panic::catch_unwind(|| {
        let _ = serialize::write_atomic(&path, |w| {
            w.write_all(b"partial").unwrap();
            panic!("writer crashed")
        });
    });
    assert!(caught.is_err());
    assert_eq!(std::fs::read(&path).unwrap(), good);
    assert!(tmp_files(&dir).is_empty());
    // A folder that does not exist is an i/o error naming the path.
    let err = save_safetensors(&model, dir.join("no/such/dir/m.safetensors")).unwrap_err();
    assert!(matches!(err, Error::Io { path: Some(_), .. }));
    assert!(err.to_string().contains("no/such/dir"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A process that dies in the middle of a save (here: exits after writing half the new
/// checkpoint) leaves the previous checkpoint intact. The test binary re-runs itself as the
/// process that dies.
#[test]
fn a_crash_mid_save_keeps_the_previous_checkpoint() {
    const CHILD: &str = "SHAPED_CRASH_MID_SAVE";
    if let Ok(path) = std::env::var(CHILD) {
        let bytes = Checkpoint::new(&mlp(1)).with_epoch(2).to_bytes().unwrap();
        let _ = serialize::write_atomic(&path, |w| {
            w.write_all(&bytes[..bytes.len() / 2])?;
            w.flush()?;
            // Like a crash, exit runs no destructors, so nothing cleans up.
            std::process::exit(3);
        });
        unreachable!("the child exits inside the save");
    }
    let dir = temp_dir("crash");
    let path = dir.join("run.ckpt");
    let original = Checkpoint::new(&mlp(0)).with_epoch(1);
    original.save(&path).unwrap();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_crash_mid_save_keeps_the_previous_checkpoint",
            "--test-threads=1",
        ])
        .env(CHILD, &path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert_eq!(
        status.code(),
        Some(3),
        "the child should have died mid-save"
    );
    assert_eq!(
        tmp_files(&dir).len(),
        1,
        "the child died with its half-written temporary file"
    );
    assert_eq!(Checkpoint::<f32>::load(&path).unwrap(), original);
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------- checkpoints

/// Training state that a checkpoint must capture: model, optimizer, RNG (for input noise),
/// and position in the seeded data order.
struct Run<'a> {
    model: Mlp,
    opt: Adam<f32>,
    rng: ChaCha12Rng,
    loader: DataLoader<'a, TensorDataset<Const<4>>>,
    step: u64,
}

impl<'a> Run<'a> {
    fn new(data: &'a TensorDataset<Const<4>>, seed: u64) -> Self {
        Run {
            model: mlp(seed),
            opt: Adam::new(0.01),
            rng: ChaCha12Rng::seed_from_u64(seed + 1000),
            loader: DataLoader::new(data, 32).unwrap().shuffle(5),
            step: 0,
        }
    }
    fn train_until(&mut self, total: u64) {
        let per_epoch = self.loader.len() as u64;
        while self.step < total {
            let (epoch, skip) = (self.step / per_epoch, (self.step % per_epoch) as usize);
            for batch in self.loader.iter_epoch(epoch).skip(skip) {
                if self.step == total {
                    break;
                }
                let (x, y) = batch.unwrap();
                let noise =
                    Tensor::<(usize, Const<4>)>::randn_with_shape(*x.shape(), &mut self.rng) * 0.05;
                let logits = self.model.forward_train((x + noise).trace());
                let grads = cross_entropy(logits, &y).backward();
                self.opt.step(&mut self.model, &grads);
                self.step += 1;
            }
        }
    }
    fn checkpoint(&self) -> Checkpoint<f32> {
        let per_epoch = self.loader.len() as u64;
        Checkpoint::new(&self.model)
            .with_optimizer(&self.opt)
            .with_step(self.step)
            .with_epoch(self.step / per_epoch)
            .with_rng(&self.rng)
            .with_extra("loader_seed", "5")
    }
    fn restore(&mut self, c: &Checkpoint<f32>) {
        c.restore_model(&mut self.model).unwrap();
        c.restore_optimizer(&mut self.opt).unwrap();
        self.rng = c.restore_rng().unwrap().unwrap();
        self.step = c.step;
    }
}

#[test]
fn resuming_from_a_checkpoint_continues_bit_for_bit() {
    let dir = temp_dir("resume");
    let path = dir.join("run.ckpt");
    let (train, _) = data::iris().unwrap().split(0.2, 0).unwrap(); // 120 rows: 4 batches per epoch
    const TOTAL: u64 = 14;

    let mut uninterrupted = Run::new(&train, 1);
    uninterrupted.train_until(TOTAL);

    // Stop in the middle of epoch 1, save, and forget everything.
    let mut first = Run::new(&train, 1);
    first.train_until(6);
    first.checkpoint().save(&path).unwrap();
    drop(first);

    // A fresh process would build everything from other seeds, then restore.
    let mut resumed = Run::new(&train, 77);
    resumed.opt.set_lr(0.5);
    let ckpt = Checkpoint::<f32>::load(&path).unwrap();
    assert_eq!((ckpt.epoch, ckpt.step, ckpt.lr), (1, 6, Some(0.01)));
    assert_eq!(ckpt.extra["loader_seed"], "5");
    resumed.restore(&ckpt);
    resumed.train_until(TOTAL);

    assert_eq!(
        bits(&resumed.model),
        bits(&uninterrupted.model),
        "parameters differ after resuming"
    );
    let state_bits = |o: &Adam<f32>| -> Vec<(String, Vec<u32>)> {
        o.state()
            .into_iter()
            .map(|(n, v)| (n, v.iter().map(|x| x.to_bits()).collect()))
            .collect()
    };
    assert_eq!(state_bits(&resumed.opt), state_bits(&uninterrupted.opt));
    assert_eq!(resumed.rng, uninterrupted.rng);

    // Controls: the test notices a resume that forgets the optimizer or the RNG.
    for forget in ["optimizer", "rng"] {
        let mut partial = Run::new(&train, 77);
        ckpt.restore_model(&mut partial.model).unwrap();
        partial.step = ckpt.step;
        if forget == "optimizer" {
            partial.rng = ckpt.restore_rng().unwrap().unwrap();
        } else {
            ckpt.restore_optimizer(&mut partial.opt).unwrap();
        }
        partial.train_until(TOTAL);
        assert_ne!(
            bits(&partial.model),
            bits(&uninterrupted.model),
            "forgetting the {forget} should show"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn chacha12_is_the_generator_behind_std_rng() {
    let (mut a, mut b) = (StdRng::seed_from_u64(42), ChaCha12Rng::seed_from_u64(42));
    for _ in 0..100 {
        assert_eq!(a.next_u64(), b.next_u64());
    }
    // Its serialized position restores mid-block.
    b.next_u32();
    let ckpt = Checkpoint::new(&mlp(0)).with_rng(&b);
    let mut c = ckpt.restore_rng().unwrap().unwrap();
    assert_eq!(
        (0..10).map(|_| b.next_u32()).collect::<Vec<_>>(),
        (0..10).map(|_| c.next_u32()).collect::<Vec<_>>()
    );
}

#[test]
fn checkpoints_restore_strictly_and_check_the_optimizer_kind() {
    let ckpt = Checkpoint::new(&mlp(0));
    let mut other = (
        Linear::<4, 16>::new(&mut StdRng::seed_from_u64(0)),
        ReLU,
        Linear::<16, 2>::new(&mut StdRng::seed_from_u64(0)),
    );
    let err = ckpt.restore_model(&mut other).unwrap_err().to_string();
    assert!(
        err.contains("`2.weight`: the file has shape [3, 16], the model has shape [2, 16]"),
        "{err}"
    );
    let mut m = mlp(0);
    let mut opt = Adam::new(0.01);
    let grads = cross_entropy(
        m.forward_train(Tensor::<(usize, Const<4>)>::ones_with_shape((2, Const)).trace()),
        &Indices::from_vec_with_shape(vec![0, 1], (2,)).unwrap(),
    )
    .backward();
    opt.step(&mut m, &grads);
    let with_adam = Checkpoint::new(&m).with_optimizer(&opt);
    let mut sgd = Sgd::new(0.1);
    assert!(
        with_adam.restore_optimizer(&mut sgd).is_err(),
        "Adam's moments are not SGD state"
    );
    assert_eq!(Checkpoint::<f32>::new(&m).restore_rng().unwrap(), None);
}

fn small_checkpoint() -> Vec<u8> {
    let model = Linear::<2, 2>::new(&mut StdRng::seed_from_u64(0));
    Checkpoint::new(&model)
        .with_epoch(3)
        .with_step(9)
        .with_rng(&ChaCha12Rng::seed_from_u64(1))
        .to_bytes()
        .unwrap()
}

/// A frame with a correct header and checksum around an arbitrary payload, so that the
/// payload decoder itself is exercised.
fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&CHECKPOINT_MAGIC);
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&[4, 0, 0, 0]);
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    let mut covered = out.clone();
    covered.extend_from_slice(payload);
    out.extend_from_slice(&crc32(&covered).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(payload);
    out
}

#[test]
fn checkpoint_headers_are_checked() {
    let good = small_checkpoint();
    assert!(Checkpoint::<f32>::from_bytes(&good).is_ok());
    assert_eq!(
        frame(&good[32..]),
        good,
        "the test's framing matches the writer's"
    );
    let err = |b: &[u8]| Checkpoint::<f32>::from_bytes(b).unwrap_err().to_string();
    assert!(err(&good[..20]).contains("truncated"));
    assert!(err(&good[..good.len() - 1]).contains("declares a"));
    let mut magic = good.clone();
    magic[0] = b'X';
    assert!(err(&magic).contains("wrong magic"));
    let mut version = good.clone();
    version[8] = 2;
    assert!(err(&version).contains("format version 2"));
    assert!(
        Checkpoint::<f64>::from_bytes(&good)
            .unwrap_err()
            .to_string()
            .contains("holds f32 values, expected f64")
    );
    let mut liar = good.clone();
    liar[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(err(&liar).contains("declares a 18446744073709551615-byte payload"));
    // Every truncation and every single-byte change is caught.
    for n in 0..good.len() {
        assert!(
            Checkpoint::<f32>::from_bytes(&good[..n]).is_err(),
            "truncated to {n}"
        );
    }
    for i in 0..good.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut b = good.clone();
            b[i] ^= flip;
            assert!(
                Checkpoint::<f32>::from_bytes(&b).is_err(),
                "byte {i} ^ {flip:#x}"
            );
        }
    }
}

#[test]
fn hostile_checkpoint_payloads_are_errors_without_big_allocations() {
    // A tensor count of 2^63, then nothing.
    let mut huge_count = vec![0xff; 9];
    huge_count.push(0x7f);
    assert!(Checkpoint::<f32>::from_bytes(&frame(&huge_count)).is_err());
    // One tensor named "w" with 2^60 dims, or 2^60 values.
    for lie in [
        [
            0x01, 0x01, b'w', 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10,
        ],
        [
            0x01, 0x01, b'w', 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
        ],
    ] {
        let mut p = lie.to_vec();
        p.push(0x10);
        assert!(Checkpoint::<f32>::from_bytes(&frame(&p)).is_err());
    }
    // Consistent encoding, inconsistent contents: dims that do not match the values.
    let mut c = Checkpoint::new(&Linear::<2, 2>::new(&mut StdRng::seed_from_u64(0)));
    c.model.push(NamedValues {
        name: "bad".into(),
        dims: vec![1 << 40, 1 << 40],
        data: vec![1.0],
    });
    let err = Checkpoint::<f32>::from_bytes(&c.to_bytes().unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("`bad` has 1 values"), "{err}");
    c.model.pop();
    c.rng = Some(vec![1, 2, 3]);
    assert!(
        Checkpoint::<f32>::from_bytes(&c.to_bytes().unwrap())
            .unwrap_err()
            .to_string()
            .contains("RNG state")
    );
    assert_no_huge_allocation();
}

#[test]
fn hostile_safetensors_are_errors_without_big_allocations() {
    let good = to_safetensors(&Linear::<3, 2>::new(&mut StdRng::seed_from_u64(0))).unwrap();
    let mut m = Linear::<3, 2>::new(&mut StdRng::seed_from_u64(1));
    for n in 0..good.len() {
        assert!(
            from_safetensors(&mut m, &good[..n], LoadMode::NonStrict, "t").is_err(),
            "truncated to {n}"
        );
        assert!(tensors_from_safetensors::<f32>(&good[..n], "t").is_err());
    }
    let with_header = |json: &str, data_len: usize| {
        let mut b = (json.len() as u64).to_le_bytes().to_vec();
        b.extend_from_slice(json.as_bytes());
        b.extend(std::iter::repeat_n(0u8, data_len));
        b
    };
    let cases = [
        // Header length far beyond the file.
        {
            let mut b = good.clone();
            b[..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
            b
        },
        {
            let mut b = good.clone();
            b[..8].copy_from_slice(&u64::MAX.to_le_bytes());
            b
        },
        // A terabyte tensor declared in a tiny file.
        with_header(
            r#"{"weight":{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,4398046511104]}}"#,
            8,
        ),
        // Shapes whose product overflows.
        with_header(
            r#"{"weight":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}}"#,
            8,
        ),
        // Overlapping and reversed offsets.
        with_header(
            r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
            4,
        ),
        with_header(
            r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#,
            4,
        ),
        // Not JSON, not UTF-8.
        with_header("{{{{", 0),
        {
            let mut b = 4u64.to_le_bytes().to_vec();
            b.extend_from_slice(&[0xff, 0xfe, 0xfd, 0xfc]);
            b
        },
    ];
    for (i, b) in cases.iter().enumerate() {
        assert!(
            from_safetensors(&mut m, b, LoadMode::NonStrict, "t").is_err(),
            "case {i}"
        );
        assert!(tensors_from_safetensors::<f32>(b, "t").is_err(), "case {i}");
    }
    // Rank 7 is valid safetensors but not a tensor here.
    let rank7 = with_header(
        r#"{"w":{"dtype":"F32","shape":[1,1,1,1,1,1,1],"data_offsets":[0,4]}}"#,
        4,
    );
    assert!(
        tensors_from_safetensors::<f32>(&rank7, "t")
            .unwrap_err()
            .to_string()
            .contains("rank 7")
    );
    assert_no_huge_allocation();
}

proptest! {
    /// Random bytes, and random changes to valid files, never panic any loader.
    #[test]
    fn loaders_never_panic_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut m = mlp(0);
        let _ = from_safetensors(&mut m, &bytes, LoadMode::Strict, "fuzz");
        let _ = from_safetensors(&mut m, &bytes, LoadMode::NonStrict, "fuzz");
        let _ = tensors_from_safetensors::<f64>(&bytes, "fuzz");
        let _ = Checkpoint::<f32>::from_bytes(&bytes);
        let _ = Checkpoint::<f32>::from_bytes(&frame(&bytes));
    }

    #[test]
    fn loaders_never_panic_on_mutated_files(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mutate = |mut b: Vec<u8>| {
            for (i, v) in &edits {
                let i = i.index(b.len());
                b[i] = *v;
            }
            if truncate {
                b.truncate(cut.index(b.len() + 1));
            }
            b
        };
        let st = mutate(to_safetensors(&Linear::<3, 2>::new(&mut StdRng::seed_from_u64(0))).unwrap());
        let mut m = Linear::<3, 2>::new(&mut StdRng::seed_from_u64(0));
        let _ = from_safetensors(&mut m, &st, LoadMode::NonStrict, "fuzz");
        let _ = tensors_from_safetensors::<f32>(&st, "fuzz");
        let ckpt = small_checkpoint();
        let _ = Checkpoint::<f32>::from_bytes(&mutate(ckpt.clone()));
        // With the checksum repaired, the payload decoder sees the damage.
        if let Ok(c) = Checkpoint::<f32>::from_bytes(&frame(&mutate(ckpt[32..].to_vec()))) {
            let mut target = Linear::<2, 2>::new(&mut StdRng::seed_from_u64(0));
            let _ = c.restore_model_with(&mut target, LoadMode::NonStrict);
            let _ = c.restore_rng();
        }
        prop_assert!(LARGEST.load(Ordering::Relaxed) < ALLOC_LIMIT);
    }
}
