//! The main example: a statically typed CNN trained on the bundled handwritten digits
//! (1797 8x8 images, UCI), saved, loaded back, and evaluated.
//!
//! Run with `cargo run --release --example digits` (about half a minute on 2 cores). It
//! prints a progress bar per epoch (on a terminal), the test accuracy of the reloaded model
//! and its confusion matrix, and writes to `target/digits/`:
//! `model.safetensors` (loadable by PyTorch's `safetensors.torch.load_file`),
//! `curves.svg` (loss and accuracy per epoch) and `history.csv`.

use rand::SeedableRng;
use shaped::data::{self, DataLoader, Dataset, Standardizer};
use shaped::nn::{Conv2d, Dropout, Flatten, Linear, MaxPool2d, Module, ReLU};
use shaped::optim::Adam;
use shaped::prelude::*;
use shaped::serialize::{load_safetensors, save_safetensors};
use shaped::train::{Step, Trainer};

/// Every layer's shape is in its type; the compiler checks that they fit: 8x8 images,
/// two padded 3x3 convolutions keep 8x8, pooling halves it to 4x4, so Flatten gives
/// 32 * 4 * 4 = 512 features. Write `Linear<500, 64>` and the build fails, naming 512.
type Cnn = (
    Conv2d<1, 32, 3, 1, 1>,
    ReLU,
    Conv2d<32, 32, 3, 1, 1>,
    ReLU,
    MaxPool2d<2>,
    Flatten,
    Dropout,
    Linear<512, 64>,
    ReLU,
    Linear<64, 10>,
);

fn new_model(seed: u64) -> Cnn {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (
        Conv2d::new(&mut rng),
        ReLU,
        Conv2d::new(&mut rng),
        ReLU,
        MaxPool2d,
        Flatten,
        Dropout::with_seed(0.25, seed),
        Linear::new(&mut rng),
        ReLU,
        Linear::new(&mut rng),
    )
}

/// A batch of flat 64-pixel rows as single-channel 8x8 images.
fn images(x: Tensor<(usize, Const<64>)>) -> Tensor<(usize, Const<1>, Const<8>, Const<8>)> {
    let batch = x.dims()[0];
    x.try_reshape_dyn((batch, Const, Const, Const))
        .expect("64 pixels are 1 x 8 x 8")
}

fn main() -> Result<()> {
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/digits");
    std::fs::create_dir_all(&out)?;

    // 1797 images: 20% held out for the final test, 15% of the rest for validation.
    let (train_all, test) = data::digits()?.split(0.2, 42)?;
    let (train, val) = train_all.split(0.15, 7)?;
    let scaler = Standardizer::fit(&train)?;
    let (train, val, test) = (
        scaler.transform(&train),
        scaler.transform(&val),
        scaler.transform(&test),
    );
    println!(
        "digits: {} train, {} validation, {} test images",
        train.len(),
        val.len(),
        test.len()
    );

    let mut model = new_model(0);
    println!("model: {} parameters", model.num_params());
    let mut opt = Adam::new(2e-3);
    let started = std::time::Instant::now();
    let history = Trainer::new(&mut model, &mut opt)
        .epochs(15)
        .seed(0)
        .patience(4)
        .restore_best(true)
        .output_dir(&out)
        .validate(DataLoader::new(&val, 256)?, |m, (x, y)| {
            Step::cross_entropy(m.forward(images(x)), &y)
        })
        .fit(DataLoader::new(&train, 32)?.shuffle(0), |m, (x, y)| {
            Step::cross_entropy(m.forward_train(images(x).trace_constant()), &y)
        })?;
    let best = history.best().expect("at least one epoch");
    println!(
        "trained {} epochs in {:.1} s; best validation loss {:.4} (accuracy {:.2}%) at epoch {}",
        history.len(),
        started.elapsed().as_secs_f64(),
        best.val_loss.unwrap_or(f64::NAN),
        100.0 * best.val_accuracy.unwrap_or(f64::NAN),
        best.epoch
    );

    // Save, then load into a freshly initialised model: predictions come from the file.
    let path = out.join("model.safetensors");
    save_safetensors(&model, &path)?;
    let mut reloaded = new_model(123);
    load_safetensors(&mut reloaded, &path)?;
    println!("saved and reloaded {}", path.display());

    let mut confusion = [[0usize; 10]; 10];
    for batch in &mut DataLoader::new(&test, 256)? {
        let (x, y) = batch?;
        let predicted = reloaded.forward(images(x)).argmax::<1>();
        for (&truth, &guess) in y.as_slice().iter().zip(predicted.as_slice()) {
            confusion[truth][guess] += 1;
        }
    }
    let correct: usize = (0..10).map(|i| confusion[i][i]).sum();
    let accuracy = correct as f64 / test.len() as f64;
    println!(
        "test accuracy of the reloaded model: {:.2}% ({correct}/{})",
        100.0 * accuracy,
        test.len()
    );
    println!("confusion matrix (rows: true digit, columns: predicted):");
    println!(
        "     {}",
        (0..10).map(|d| format!("{d:>4}")).collect::<String>()
    );
    for (d, row) in confusion.iter().enumerate() {
        println!(
            "  {d}: {}",
            row.iter().map(|c| format!("{c:>4}")).collect::<String>()
        );
    }
    println!("curves: {}", out.join("curves.svg").display());
    if accuracy < 0.97 {
        return Err(Error::Value {
            what: "test accuracy".into(),
            message: format!(
                "{:.2}% is below the 97% this example promises",
                100.0 * accuracy
            ),
        });
    }
    Ok(())
}
