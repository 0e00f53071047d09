//! W2 of issue 15 as a user's program: the MLP 784-256-128-10 ReLU, batch 64, cross-entropy,
//! Adam training step of `benches/train_step.rs` (`mlp_784_256_128_10_b64`), timed for
//! `STEPS` steps (default 200). Built cold and after a touch by `../measure.sh`.

use shaped::nn::loss::cross_entropy;
use shaped::nn::{Linear, Module, ReLU};
use shaped::optim::{Adam, Optimizer};
use shaped::prelude::*;
use shaped::rand::{RngExt, SeedableRng, rngs::StdRng};

fn main() {
    let steps: usize = std::env::var("STEPS").ok().and_then(|s| s.parse().ok()).unwrap_or(200);
    let mut rng = StdRng::seed_from_u64(0);
    let mut model = (
        Linear::<784, 256>::new(&mut rng),
        ReLU,
        Linear::<256, 128>::new(&mut rng),
        ReLU,
        Linear::<128, 10>::new(&mut rng),
    );
    let x = Tensor::<Rank2<64, 784>>::randn(&mut rng);
    let labels = (0..64).map(|_| rng.random_range(0..10)).collect();
    let y = Indices::<Rank1<64>>::from_vec(labels).expect("64 labels");
    let mut opt = Adam::new(1e-3);
    let start = std::time::Instant::now();
    let mut last = 0.0;
    for _ in 0..steps {
        let loss = cross_entropy(model.forward_train(x.clone().trace_constant()), &y);
        last = loss.to_vec()[0];
        let grads = loss.backward();
        opt.step(&mut model, &grads);
    }
    let secs = start.elapsed().as_secs_f64();
    println!("{steps} steps, {:.0} steps/s, last loss {last:.4}", steps as f64 / secs);
}
