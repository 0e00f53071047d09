//! A port of PyTorch's `examples/mnist`: two convolutions, max-pooling, dropout and two
//! linear layers ending in `log_softmax`, trained with the negative log-likelihood loss by
//! Adadelta (lr 1.0) with a StepLR schedule (gamma 0.7 every epoch), as the original does.
//!
//! ```sh
//! cargo run --release --example mnist
//! ```
//!
//! MNIST is not bundled, so it trains on the bundled UCI digits (1797 images of 8x8 pixels,
//! 20% held out for testing). The images stay at 8x8 and the network keeps the original's
//! layers adapted to that size, not upscaled to 28x28: the two unpadded 3x3 convolutions map
//! 8x8 to 6x6 to 4x4 (the original: 28 -> 26 -> 24), pooling halves that to 2x2, so `fc1`
//! takes 64 * 2 * 2 = 256 features instead of 9216. Pixels are scaled to `[0, 1]` and
//! normalised with the training set's mean and standard deviation (the original's
//! `Normalize((0.1307,), (0.3081,))` are MNIST's). Batch size 64 and test batch size 1000
//! as the original; 14 epochs.
//!
//! It prints, per epoch, the learning rate, the mean training loss and the test set's loss
//! and accuracy, like the original's `test()`.

use rand::SeedableRng;
use shaped::data::{self, DataLoader, Dataset};
use shaped::nn::loss::{NLLLoss, Reduction, nll_loss};
use shaped::nn::{Conv2d, Dropout, Flatten, Linear, LogSoftmax, MaxPool2d, Module, ReLU};
use shaped::optim::{Adadelta, LrScheduler, Optimizer, StepLr};
use shaped::prelude::*;

const EPOCHS: u64 = 14;

/// The original `Net`, layer for layer, at 8x8: the types check that the flattened
/// convolution output is the 256 features `fc1` takes.
type Net = (
    Conv2d<1, 32, 3, 1, 0>,
    ReLU,
    Conv2d<32, 64, 3, 1, 0>,
    ReLU,
    MaxPool2d<2>,
    Dropout,
    Flatten,
    Linear<256, 128>,
    ReLU,
    Dropout,
    Linear<128, 10>,
    LogSoftmax<1>,
);

fn new_net(seed: u64) -> Net {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (
        Conv2d::new(&mut rng),
        ReLU,
        Conv2d::new(&mut rng),
        ReLU,
        MaxPool2d,
        Dropout::with_seed(0.25, seed),
        Flatten,
        Linear::new(&mut rng),
        ReLU,
        Dropout::with_seed(0.5, seed + 1),
        Linear::new(&mut rng),
        LogSoftmax,
    )
}

/// Flat rows of 64 pixels (0 to 16) as normalised single-channel 8x8 images.
fn images(
    x: Tensor<(usize, Const<64>)>,
    mean: f32,
    std: f32,
) -> Tensor<(usize, Const<1>, Const<8>, Const<8>)> {
    let batch = x.dims()[0];
    x.mul_scalar(1.0 / 16.0)
        .add_scalar(-mean)
        .mul_scalar(1.0 / std)
        .try_reshape_dyn((batch, Const, Const, Const))
        .expect("64 pixels are 1 x 8 x 8")
}

fn main() -> Result<()> {
    let (train, test) = data::digits()?.split(0.2, 42)?;
    let pixels: Vec<f64> = train
        .features()
        .as_slice()
        .iter()
        .map(|&p| f64::from(p) / 16.0)
        .collect();
    let mean = pixels.iter().sum::<f64>() / pixels.len() as f64;
    let var = pixels.iter().map(|p| (p - mean).powi(2)).sum::<f64>() / pixels.len() as f64;
    let (mean, std) = (mean as f32, var.sqrt() as f32);
    println!(
        "digits: {} train, {} test images (8x8); pixel mean {mean:.4}, std {std:.4}",
        train.len(),
        test.len()
    );

    let mut model = new_net(1);
    let mut opt = Adadelta::new(1.0);
    let mut scheduler = LrScheduler::new(
        &mut opt,
        StepLr {
            step_size: 1,
            gamma: 0.7,
        },
    );
    let train_loader = DataLoader::new(&train, 64)?.shuffle(1);
    let test_loader = DataLoader::new(&test, 1000)?;
    let started = std::time::Instant::now();
    let mut first_loss = None;
    let mut last_loss = f64::NAN;
    let mut accuracy = 0.0;
    for epoch in 0..EPOCHS {
        let lr = Optimizer::<f32>::lr(&opt);
        let (mut loss_sum, mut seen) = (0.0, 0);
        model.train(); // as PyTorch's train(): forward drops
        for batch in train_loader.iter_epoch(epoch) {
            let (x, y) = batch?;
            let n = y.as_slice().len();
            let output = model.forward(images(x, mean, std).trace_constant());
            let loss = nll_loss(output, &y);
            loss_sum += f64::from(loss.as_slice()[0]) * n as f64;
            seen += n;
            opt.step(&mut model, &loss.backward());
        }
        scheduler.step(&mut opt);
        let train_loss = loss_sum / seen as f64;
        first_loss.get_or_insert(train_loss);
        last_loss = train_loss;

        let (mut test_loss, mut correct) = (0.0, 0);
        model.eval(); // as PyTorch's test(): dropout off
        for batch in test_loader.iter_epoch(0) {
            let (x, y) = batch?;
            let output = model.forward(images(x, mean, std));
            test_loss += f64::from(
                NLLLoss::new()
                    .reduction(Reduction::Sum)
                    .forward(output.clone(), &y)
                    .as_slice()[0],
            );
            let predicted = output.argmax::<1>();
            correct += y
                .as_slice()
                .iter()
                .zip(predicted.as_slice())
                .filter(|(t, p)| t == p)
                .count();
        }
        accuracy = correct as f64 / test.len() as f64;
        println!(
            "epoch {:>2}  lr {lr:.4}  train loss {train_loss:.4}  test loss {:.4}  test accuracy {correct}/{} ({:.2}%)",
            epoch + 1,
            test_loss / test.len() as f64,
            test.len(),
            100.0 * accuracy
        );
    }
    println!(
        "{EPOCHS} epochs in {:.1} s: train loss {:.4} -> {last_loss:.4}, test accuracy {:.2}%",
        started.elapsed().as_secs_f64(),
        first_loss.unwrap_or(f64::NAN),
        100.0 * accuracy
    );
    Ok(())
}
