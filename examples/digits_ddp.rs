//! The digits CNN of `examples/digits.rs`, trained data-parallel on several processes over
//! MPI (PyTorch's `DistributedDataParallel`): each process trains on its own half (third, ...)
//! of every batch, gradients are averaged across processes after every backward pass, and
//! rank 0 prints, writes the curves and saves the model.
//!
//! ```sh
//! sudo apt-get install openmpi-bin libopenmpi-dev libclang-dev   # once
//! cargo build --release --features mpi --example digits_ddp
//! mpirun -np 2 target/release/examples/digits_ddp                # as root: --allow-run-as-root
//! ```
//!
//! On several machines, list them in a host file (`node1 slots=2`, one line each) and run
//! `mpirun -np 4 --hostfile hosts target/release/examples/digits_ddp` with the binary and the
//! `data/` folder at the same path on every machine. Every rank gets 32 / N images per step,
//! so the effective batch (32) and the learning rate are those of the single-process example,
//! and so is the accuracy.

use rand::SeedableRng;
use shaped::data::{self, DataLoader, Dataset, DistributedSampler, Standardizer};
use shaped::distributed::{Collective, MpiGroup};
use shaped::nn::{Conv2d, Dropout, Flatten, Linear, MaxPool2d, Module, ReLU};
use shaped::optim::Adam;
use shaped::prelude::*;
use shaped::serialize::save_safetensors;
use shaped::train::{Step, Trainer};

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

/// Every rank builds the model from its own seed (dropout masks differ per rank, as in DDP);
/// the trainer replaces the weights by rank 0's before the first step.
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

fn images(x: Tensor<(usize, Const<64>)>) -> Tensor<(usize, Const<1>, Const<8>, Const<8>)> {
    let batch = x.dims()[0];
    x.try_reshape_dyn((batch, Const, Const, Const))
        .expect("64 pixels are 1 x 8 x 8")
}

fn main() -> Result<()> {
    let group = MpiGroup::init()?;
    let (rank, world) = (group.rank(), group.world_size());
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/digits_ddp");
    if group.is_main() {
        std::fs::create_dir_all(&out)?;
    }

    // The same split on every rank (fixed seeds), then each rank's shard of it.
    let (train_all, test) = data::digits()?.split(0.2, 42)?;
    let (train, val) = train_all.split(0.15, 7)?;
    let scaler = Standardizer::fit(&train)?;
    let (train, val, test) = (
        scaler.transform(&train),
        scaler.transform(&val),
        scaler.transform(&test),
    );
    let shard = DistributedSampler::new(rank, world)?;
    let per_rank_batch = (32 / world).max(1);
    if group.is_main() {
        println!(
            "digits on {world} processes: {} train images, {} per process per step",
            train.len(),
            per_rank_batch
        );
    }

    let mut model = new_model(rank as u64);
    let mut opt = Adam::new(2e-3);
    let started = std::time::Instant::now();
    let history = Trainer::new(&mut model, &mut opt)
        .distributed(&group)
        .epochs(15)
        .seed(0)
        .patience(4)
        .restore_best(true)
        .output_dir(&out)
        .validate(
            DataLoader::new(&val, 256)?.distributed(shard),
            |m, (x, y)| Step::cross_entropy(m.forward(images(x)), &y),
        )
        .fit(
            DataLoader::new(&train, per_rank_batch)?
                .shuffle(0)
                .distributed(shard),
            |m, (x, y)| Step::cross_entropy(m.forward_train(images(x).trace_constant()), &y),
        )?;

    if !group.is_main() {
        return Ok(());
    }
    let best = history.best().expect("at least one epoch");
    println!(
        "trained {} epochs in {:.1} s on {world} processes; best validation loss {:.4} at epoch {}",
        history.len(),
        started.elapsed().as_secs_f64(),
        best.val_loss.unwrap_or(f64::NAN),
        best.epoch
    );
    let path = out.join("model.safetensors");
    save_safetensors(&model, &path)?;
    let mut correct = 0;
    for batch in &mut DataLoader::new(&test, 256)? {
        let (x, y) = batch?;
        let predicted = model.forward(images(x)).argmax::<1>();
        correct += y
            .as_slice()
            .iter()
            .zip(predicted.as_slice())
            .filter(|(t, p)| t == p)
            .count();
    }
    let accuracy = correct as f64 / test.len() as f64;
    println!(
        "test accuracy: {:.2}% ({correct}/{}); model saved to {}",
        100.0 * accuracy,
        test.len(),
        path.display()
    );
    if accuracy < 0.97 {
        return Err(Error::Value {
            what: "test accuracy".into(),
            message: format!(
                "{:.2}% is below the 97% of the single-process example",
                100.0 * accuracy
            ),
        });
    }
    Ok(())
}
