//! A port of PyTorch's `examples/vae`: a variational autoencoder with MLP encoder and
//! decoder, the reparameterisation trick (`mu + randn * exp(0.5 * logvar)`), and the loss
//! binary cross-entropy (summed) plus the KL divergence from the unit Gaussian, trained with
//! Adam (lr 1e-3, batch 128).
//!
//! ```sh
//! cargo run --release --example vae
//! ```
//!
//! MNIST is not bundled, so it trains on the bundled UCI digits (8x8 pixels, 0 to 16,
//! scaled to `[0, 1]`; 20% held out for testing). The original's 784 -> 400 -> 20 encoder
//! becomes 64 -> 400 -> 20 (the 400 hidden units and the 20-dimensional latent space kept),
//! the decoder 20 -> 400 -> 64. 100 epochs of 12 batches (the original: 10 epochs of 469).
//!
//! It prints, every 10 epochs, the average loss per training image and per test image (as the
//! original's `====> Epoch` and `====> Test set loss` lines), and writes to `target/vae/`
//! binary PGM images (any image viewer opens them): `sample.pgm`, 64 digits decoded from
//! random latent vectors in an 8x8 grid, and `reconstruction.pgm`, 8 test images (top) over
//! their reconstructions (bottom), as the original's `sample_*.png` and
//! `reconstruction_*.png`.

use rand::SeedableRng;
use rand::rngs::StdRng;
use shaped::data::{self, DataLoader, Dataset};
use shaped::nn::loss::{BCELoss, Reduction};
use shaped::nn::{Linear, Module};
use shaped::optim::{Adam, Optimizer};
use shaped::prelude::*;

const PIXELS: usize = 64;
const HIDDEN: usize = 400;
const LATENT: usize = 20;
const EPOCHS: u64 = 100;
const BATCH: usize = 128;

type Rows<const N: usize, T = NoTape> = Tensor<(usize, Const<N>), f32, T>;

/// The original's `VAE`; the field names name its tensors (`fc1.weight`, ...).
struct Vae {
    fc1: Linear<PIXELS, HIDDEN>,
    fc21: Linear<HIDDEN, LATENT>,
    fc22: Linear<HIDDEN, LATENT>,
    fc3: Linear<LATENT, HIDDEN>,
    fc4: Linear<HIDDEN, PIXELS>,
}
shaped::params!(Vae {
    fc1,
    fc21,
    fc22,
    fc3,
    fc4
});

impl Vae {
    fn new(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        Vae {
            fc1: Linear::new(&mut rng),
            fc21: Linear::new(&mut rng),
            fc22: Linear::new(&mut rng),
            fc3: Linear::new(&mut rng),
            fc4: Linear::new(&mut rng),
        }
    }

    /// The posterior's mean and log-variance.
    fn encode<T: Tape<f32>>(&self, x: Rows<PIXELS, T>) -> (Rows<LATENT, T>, Rows<LATENT, T>) {
        let h1 = self.fc1.forward(x).relu();
        (self.fc21.forward(h1.clone()), self.fc22.forward(h1))
    }

    /// Pixel probabilities.
    fn decode<T: Tape<f32>>(&self, z: Rows<LATENT, T>) -> Rows<PIXELS, T> {
        self.fc4.forward(self.fc3.forward(z).relu()).sigmoid()
    }

    /// Reconstruction, mean and log-variance, sampling `z` with noise from `rng`.
    #[allow(clippy::type_complexity)]
    fn forward<T: Tape<f32>>(
        &self,
        x: Rows<PIXELS, T>,
        rng: &mut StdRng,
    ) -> (Rows<PIXELS, T>, Rows<LATENT, T>, Rows<LATENT, T>) {
        let (mu, logvar) = self.encode(x);
        let std = logvar.clone().mul_scalar(0.5).exp();
        let eps = Rows::<LATENT>::randn_with_shape((mu.dims()[0], Const), rng);
        let z = mu.clone() + std * eps;
        (self.decode(z), mu, logvar)
    }
}

/// Summed BCE of the reconstruction plus `-0.5 * sum(1 + logvar - mu^2 - exp(logvar))`.
fn loss_function<T: Tape<f32>>(
    recon: Rows<PIXELS, T>,
    x: Rows<PIXELS>,
    mu: Rows<LATENT, T>,
    logvar: Rows<LATENT, T>,
) -> Tensor<(), f32, T> {
    let bce = BCELoss::new().reduction(Reduction::Sum).forward(recon, x);
    let kld = (logvar.clone().add_scalar(1.0) - mu.square() - logvar.exp())
        .sum()
        .mul_scalar(-0.5);
    bce + kld
}

/// Digit rows (pixels 0 to 16) scaled to `[0, 1]`.
fn scaled(x: Rows<PIXELS>) -> Rows<PIXELS> {
    x.mul_scalar(1.0 / 16.0)
}

/// Writes `images` (rows of 64 values in `[0, 1]`) as a binary PGM grid of `cols` columns,
/// each 8x8 image magnified `zoom` times, separated by a 2-pixel grey border.
fn write_grid(path: &std::path::Path, images: &[Vec<f32>], cols: usize) -> Result<()> {
    let (zoom, gap) = (4, 2);
    let rows = images.len().div_ceil(cols);
    let cell = 8 * zoom + gap;
    let (width, height) = (cols * cell + gap, rows * cell + gap);
    let mut pixels = vec![128u8; width * height];
    for (k, image) in images.iter().enumerate() {
        let (top, left) = (gap + (k / cols) * cell, gap + (k % cols) * cell);
        for y in 0..8 * zoom {
            for x in 0..8 * zoom {
                let v = image[(y / zoom) * 8 + x / zoom].clamp(0.0, 1.0);
                pixels[(top + y) * width + left + x] = (v * 255.0).round() as u8;
            }
        }
    }
    let mut file = format!("P5\n{width} {height}\n255\n").into_bytes();
    file.extend_from_slice(&pixels);
    std::fs::write(path, file)?;
    Ok(())
}

fn main() -> Result<()> {
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/vae");
    std::fs::create_dir_all(&out)?;
    let (train, test) = data::digits()?.split(0.2, 42)?;
    println!("digits: {} train, {} test images", train.len(), test.len());

    let mut model = Vae::new(1);
    let mut opt = Adam::new(1e-3);
    let mut rng = StdRng::seed_from_u64(0);
    let train_loader = DataLoader::new(&train, BATCH)?.shuffle(1);
    let test_loader = DataLoader::new(&test, BATCH)?;
    let started = std::time::Instant::now();
    let (mut first, mut last) = (f64::NAN, f64::NAN);
    for epoch in 0..EPOCHS {
        let mut train_loss = 0.0;
        for batch in train_loader.iter_epoch(epoch) {
            let x = scaled(batch?.0);
            let (recon, mu, logvar) = model.forward(x.clone().trace_constant(), &mut rng);
            let loss = loss_function(recon, x, mu, logvar);
            train_loss += f64::from(loss.as_slice()[0]);
            opt.step(&mut model, &loss.backward());
        }
        let mut test_loss = 0.0;
        for batch in test_loader.iter_epoch(0) {
            let x = scaled(batch?.0);
            let (recon, mu, logvar) = model.forward(x.clone(), &mut rng);
            test_loss += f64::from(loss_function(recon, x, mu, logvar).as_slice()[0]);
        }
        let train_loss = train_loss / train.len() as f64;
        if epoch == 0 {
            first = train_loss;
        }
        last = train_loss;
        if epoch != 0 && (epoch + 1) % 10 != 0 {
            continue;
        }
        println!(
            "====> Epoch: {:>2} Average loss: {train_loss:.4}  Test set loss: {:.4}",
            epoch + 1,
            test_loss / test.len() as f64
        );
    }
    println!(
        "{EPOCHS} epochs in {:.1} s: average training loss {first:.4} -> {last:.4}",
        started.elapsed().as_secs_f64()
    );

    let z = Rows::<LATENT>::randn_with_shape((64, Const), &mut rng);
    let samples = model.decode(z);
    let samples: Vec<Vec<f32>> = samples
        .as_slice()
        .chunks(PIXELS)
        .map(<[f32]>::to_vec)
        .collect();
    write_grid(&out.join("sample.pgm"), &samples, 8)?;

    let originals = scaled(test.features().clone());
    let (recon, _, _) = model.forward(originals.clone(), &mut rng);
    let mut comparison: Vec<Vec<f32>> = originals
        .as_slice()
        .chunks(PIXELS)
        .take(8)
        .map(<[f32]>::to_vec)
        .collect();
    comparison.extend(recon.as_slice().chunks(PIXELS).take(8).map(<[f32]>::to_vec));
    write_grid(&out.join("reconstruction.pgm"), &comparison, 8)?;
    println!(
        "wrote {} and {}",
        out.join("sample.pgm").display(),
        out.join("reconstruction.pgm").display()
    );
    Ok(())
}
