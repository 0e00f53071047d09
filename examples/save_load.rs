//! Train -> save -> load in a new process -> identical predictions.
//!
//! ```sh
//! cargo run --release --example save_load           # files in a temporary folder, removed after
//! cargo run --release --example save_load -- out/    # files kept in out/
//! ```
//!
//! The first process trains a small MLP on iris (standardized inputs, Adam, cross-entropy),
//! saves the whole pipeline, standardizer included, to `iris_mlp.safetensors` by PyTorch
//! `state_dict` names, and saves its predictions for the validation set beside it. It then
//! starts itself again as a new process (`save_load load <folder>`), which builds a freshly
//! initialised model of the same type, loads the file strictly, predicts, and checks that
//! every output is bit-for-bit the one the first process computed.
//!
//! The model file loads in PyTorch as it is (an `Identity` stands in for the standardizer so
//! that the layer numbers match):
//!
//! ```python
//! import torch, safetensors.torch
//! state = safetensors.torch.load_file("out/iris_mlp.safetensors")
//! mean, std = state.pop("0.mean"), state.pop("0.std")
//! mlp = torch.nn.Sequential(torch.nn.Identity(), torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
//! mlp.load_state_dict(state)  # 1.weight, 1.bias, 3.weight, 3.bias
//! logits = mlp((x - mean) / std)
//! ```

use rand::SeedableRng;
use rand::rngs::StdRng;
use shaped::data::{self, DataLoader, Dataset, Standardizer};
use shaped::nn::{Linear, Module, ReLU};
use shaped::optim::{Adam, Optimizer};
use shaped::prelude::*;
use shaped::serialize::{load_safetensors, load_tensor, save_safetensors, save_tensor};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// Standardize, then Linear(4, 16), ReLU, Linear(16, 3): the names are `0.mean`, `0.std`,
/// `1.weight`, `1.bias`, `3.weight`, `3.bias`.
type Model = (Standardizer<Const<4>>, Linear<4, 16>, ReLU, Linear<16, 3>);

fn new_model(seed: u64) -> Model {
    let mut rng = StdRng::seed_from_u64(seed);
    (
        Standardizer::default(),
        Linear::new(&mut rng),
        ReLU,
        Linear::new(&mut rng),
    )
}

const MODEL_FILE: &str = "iris_mlp.safetensors";
const PREDICTIONS_FILE: &str = "predictions.safetensors";

fn validation_set() -> Result<data::TensorDataset<Const<4>>> {
    Ok(data::iris()?.split(0.2, 0)?.1)
}

fn accuracy(logits: &Tensor<(usize, Const<3>)>, labels: &[usize]) -> f64 {
    let predicted = logits.argmax::<1>();
    let right = predicted
        .as_slice()
        .iter()
        .zip(labels)
        .filter(|(p, l)| p == l)
        .count();
    right as f64 / labels.len() as f64
}

fn train_and_save(dir: &Path) -> Result<Tensor<(usize, Const<3>)>> {
    let (train, val) = data::iris()?.split(0.2, 0)?;
    let mut model = new_model(1);
    // The standardizer is fitted on training data only; it travels with the model.
    model.0 = Standardizer::fit(&train)?;
    let mut opt = Adam::new(0.01);
    let mut loader = DataLoader::new(&train, 16)?.shuffle(7);
    for epoch in 0..60 {
        let mut total = 0.0;
        for batch in &mut loader {
            let (x, y) = batch?;
            let n = y.numel() as f32;
            let logits = model.try_forward_train(x.trace_constant())?;
            let loss = (logits.log_softmax::<1>() * data::one_hot::<3, f32>(&y)?)
                .sum()
                .neg()
                / n;
            total += loss.as_slice()[0] * n;
            opt.step(&mut model, &loss.backward());
        }
        if epoch % 20 == 19 {
            println!(
                "epoch {:>2}: mean training loss {:.4}",
                epoch + 1,
                total / train.len() as f32
            );
        }
    }
    let logits = model.try_forward(val.features().clone())?;
    println!(
        "validation accuracy: {:.1}%",
        100.0 * accuracy(&logits, val.targets().as_slice())
    );
    save_safetensors(&model, dir.join(MODEL_FILE))?;
    save_tensor(&logits, dir.join(PREDICTIONS_FILE))?;
    Ok(logits)
}

/// The second process: nothing shared with the first but the files.
fn load_and_check(dir: &Path) -> Result<bool> {
    let mut model = new_model(12345);
    load_safetensors(&mut model, dir.join(MODEL_FILE))?;
    let val = validation_set()?;
    let logits = model.try_forward(val.features().clone())?;
    let expected: Tensor<(usize, Const<3>)> = load_tensor(dir.join(PREDICTIONS_FILE))?;
    let same = logits
        .as_slice()
        .iter()
        .map(|v| v.to_bits())
        .eq(expected.as_slice().iter().map(|v| v.to_bits()));
    println!(
        "[new process {}] loaded {MODEL_FILE}: validation accuracy {:.1}%, predictions identical: {same}",
        std::process::id(),
        100.0 * accuracy(&logits, val.targets().as_slice())
    );
    Ok(same)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let result = if args.get(1).map(String::as_str) == Some("load") {
        load_and_check(Path::new(&args[2])).map(|same| {
            if same {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        })
    } else {
        run_parent(args.get(1).map(PathBuf::from))
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e}");
        ExitCode::FAILURE
    })
}

fn run_parent(keep_in: Option<PathBuf>) -> Result<ExitCode> {
    let temp = || std::env::temp_dir().join(format!("shaped_save_load_{}", std::process::id()));
    let dir = keep_in.clone().unwrap_or_else(temp);
    std::fs::create_dir_all(&dir)?;
    println!("[process {}] training on iris", std::process::id());
    train_and_save(&dir)?;
    println!("saved {}", dir.join(MODEL_FILE).display());
    let status = Command::new(std::env::current_exe()?)
        .arg("load")
        .arg(&dir)
        .status()?;
    if keep_in.is_none() {
        std::fs::remove_dir_all(&dir)?;
    }
    if status.success() {
        println!("ok: the new process reproduced every prediction bit for bit");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("the new process did not reproduce the predictions ({status})");
        Ok(ExitCode::FAILURE)
    }
}
