//! Profiling helper: runs N train steps of one workload (mlp | cnn | lstm).
use rand::{RngExt, SeedableRng};
use shaped::nn::loss::cross_entropy;
use shaped::nn::{Conv2d, Flatten, LSTM, Linear, MaxPool2d, Module, ReLU};
use shaped::optim::{Adam, Optimizer};
use shaped::prelude::*;
use std::time::Instant;
fn main() {
    let which = std::env::args().nth(1).unwrap_or("cnn".into());
    let n: usize = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let t0 = Instant::now();
    match which.as_str() {
        "cnn" => {
            let mut model = (
                Conv2d::<1, 16, 3>::new(&mut rng),
                ReLU,
                MaxPool2d::<2>,
                Conv2d::<16, 32, 3>::new(&mut rng),
                ReLU,
                MaxPool2d::<2>,
                Flatten,
                Linear::<800, 10>::new(&mut rng),
            );
            let x = Tensor::<Rank4<32, 1, 28, 28>>::randn(&mut rng);
            let y =
                Indices::<Rank1<32>>::from_vec((0..32).map(|_| rng.random_range(0..10)).collect())
                    .unwrap();
            let mut opt = Adam::new(1e-3);
            for _ in 0..n {
                let loss = cross_entropy(model.forward_train(x.clone().trace()), &y);
                let g = loss.backward();
                opt.step(&mut model, &g);
            }
        }
        "lstm" => {
            let mut model = (
                LSTM::<64, 128>::new(&mut rng),
                Linear::<128, 64>::new(&mut rng),
            );
            let x = Tensor::<Rank3<16, 32, 64>>::randn(&mut rng);
            let y = Indices::<Rank1<512>>::from_vec(
                (0..512).map(|_| rng.random_range(0..64)).collect(),
            )
            .unwrap();
            let mut opt = Adam::new(1e-3);
            for _ in 0..n {
                let (seq, _) = model.0.forward_train(x.clone().trace());
                let logits = model.1.forward_train(seq).reshape::<Rank2<512, 64>>();
                let g = cross_entropy(logits, &y).backward();
                opt.step(&mut model, &g);
            }
        }
        _ => {
            let mut model = (
                Linear::<784, 256>::new(&mut rng),
                ReLU,
                Linear::<256, 128>::new(&mut rng),
                ReLU,
                Linear::<128, 10>::new(&mut rng),
            );
            let x = Tensor::<Rank2<64, 784>>::randn(&mut rng);
            let y =
                Indices::<Rank1<64>>::from_vec((0..64).map(|_| rng.random_range(0..10)).collect())
                    .unwrap();
            let mut opt = Adam::new(1e-3);
            for _ in 0..n {
                let g = cross_entropy(model.forward_train(x.clone().trace()), &y).backward();
                opt.step(&mut model, &g);
            }
        }
    }
    let dt = t0.elapsed().as_secs_f64();
    println!(
        "{which}: {:.3} ms/step, {:.1} steps/s",
        dt / n as f64 * 1e3,
        n as f64 / dt
    );
}
