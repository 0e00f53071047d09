//! Data-parallel training steps over MPI (cargo feature `mpi`): the W2 MLP (784-256-128-10,
//! global batch 64) and the W3 CNN (global batch 32) on 1 process and on 2 processes that
//! each take half of the batch, with the time spent averaging gradients.
//!
//! Run: `cargo bench --features mpi --bench ddp` (the binary starts itself under
//! `mpirun -np 1` and `-np 2`; each rank uses `SHAPED_NUM_THREADS` threads, 1 by default so
//! that 2 ranks on 2 cores do not oversubscribe them).

use rand::{RngExt, SeedableRng};
use shaped::distributed::{Collective, MpiGroup, average_gradients, broadcast_parameters};
use shaped::nn::loss::cross_entropy;
use shaped::nn::{Conv2d, Flatten, Linear, MaxPool2d, Module, Params, ReLU};
use shaped::optim::{Adam, Optimizer};
use shaped::prelude::*;
use std::process::Command;
use std::time::{Duration, Instant};

const WARMUP: usize = 20;

/// Times `steps` steps; returns (steps/s, mean all-reduce time per step).
fn time_steps<M: Params<f32>>(
    group: &MpiGroup,
    model: &mut M,
    steps: usize,
    mut loss_of: impl FnMut(&mut M) -> Tensor<(), f32, OwnedTape<f32>>,
) -> (f64, Duration) {
    broadcast_parameters(group, model);
    let mut opt = Adam::new(1e-3);
    let mut reduce = Duration::ZERO;
    let mut started = Instant::now();
    for i in 0..WARMUP + steps {
        if i == WARMUP {
            group.barrier();
            reduce = Duration::ZERO;
            started = Instant::now();
        }
        let mut grads = loss_of(model).backward();
        let t = Instant::now();
        average_gradients(group, model, &mut grads);
        reduce += t.elapsed();
        opt.step(model, &grads);
    }
    group.barrier();
    let secs = started.elapsed().as_secs_f64();
    (steps as f64 / secs, reduce / steps as u32)
}

fn labels(n: usize, rng: &mut rand::rngs::StdRng) -> Indices<(usize,)> {
    Indices::from_vec_with_shape((0..n).map(|_| rng.random_range(0..10)).collect(), (n,))
        .expect("n labels")
}

fn rank_main() {
    let group = MpiGroup::init().expect("MPI");
    let world = group.world_size();
    let mut rng = rand::rngs::StdRng::seed_from_u64(group.rank() as u64);

    let batch = 64 / world;
    let mut mlp = (
        Linear::<784, 256>::new(&mut rng),
        ReLU,
        Linear::<256, 128>::new(&mut rng),
        ReLU,
        Linear::<128, 10>::new(&mut rng),
    );
    let x = Tensor::<(usize, Const<784>)>::randn_with_shape((batch, Const), &mut rng);
    let y = labels(batch, &mut rng);
    let (mlp_rate, mlp_reduce) = time_steps(&group, &mut mlp, 500, |m| {
        cross_entropy(m.forward_train(x.clone().trace_constant()), &y)
    });

    let batch = 32 / world;
    let mut cnn = (
        Conv2d::<1, 16, 3>::new(&mut rng),
        ReLU,
        MaxPool2d::<2>,
        Conv2d::<16, 32, 3>::new(&mut rng),
        ReLU,
        MaxPool2d::<2>,
        Flatten,
        Linear::<800, 10>::new(&mut rng),
    );
    let x = Tensor::<(usize, Const<1>, Const<28>, Const<28>)>::randn_with_shape(
        (batch, Const, Const, Const),
        &mut rng,
    );
    let y = labels(batch, &mut rng);
    let (cnn_rate, cnn_reduce) = time_steps(&group, &mut cnn, 200, |m| {
        cross_entropy(m.forward_train(x.clone().trace_constant()), &y)
    });
    if group.is_main() {
        let threads = std::env::var("SHAPED_NUM_THREADS").unwrap_or_else(|_| "all".into());
        println!(
            "{world} process(es) x {threads} thread(s): W2 MLP {mlp_rate:7.0} steps/s (all-reduce {:6.1} us/step), W3 CNN {cnn_rate:6.0} steps/s (all-reduce {:6.1} us/step)",
            mlp_reduce.as_secs_f64() * 1e6,
            cnn_reduce.as_secs_f64() * 1e6,
        );
    }
}

fn main() {
    if std::env::var_os("OMPI_COMM_WORLD_SIZE").is_some() {
        rank_main();
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let exe = std::env::current_exe().expect("own path");
    for (ranks, threads) in [(1, "1"), (1, "2"), (2, "1")] {
        let status = Command::new("mpirun")
            .args([
                "--allow-run-as-root",
                "--oversubscribe",
                "-np",
                &ranks.to_string(),
            ])
            .arg(&exe)
            .env("SHAPED_NUM_THREADS", threads)
            .status()
            .expect("mpirun (install openmpi-bin)");
        assert!(status.success(), "{ranks} ranks: {status}");
    }
}
