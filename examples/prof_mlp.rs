use rand::{RngExt, SeedableRng};
use shaped::nn::loss::cross_entropy;
use shaped::nn::{Linear, Module, ReLU};
use shaped::optim::{Adam, Optimizer};
use shaped::prelude::*;
use std::time::Instant;
fn main() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let mut model = (Linear::<784, 256>::new(&mut rng), ReLU, Linear::<256, 128>::new(&mut rng), ReLU, Linear::<128, 10>::new(&mut rng));
    let x = Tensor::<Rank2<64, 784>>::randn(&mut rng);
    let y = Indices::<Rank1<64>>::from_vec((0..64).map(|_| rng.random_range(0..10)).collect()).unwrap();
    let mut opt = Adam::new(1e-3);
    let (mut tf, mut tb, mut to) = (0.0, 0.0, 0.0);
    let n = 200;
    for _ in 0..n {
        let t0 = Instant::now();
        let loss = cross_entropy(model.forward_train(x.clone().trace()), &y);
        let t1 = Instant::now();
        let grads = loss.backward();
        let t2 = Instant::now();
        opt.step(&mut model, &grads);
        let t3 = Instant::now();
        tf += (t1 - t0).as_secs_f64(); tb += (t2 - t1).as_secs_f64(); to += (t3 - t2).as_secs_f64();
    }
    println!("fwd {:.3} ms bwd {:.3} ms opt {:.3} ms total {:.3} ms", tf/n as f64*1e3, tb/n as f64*1e3, to/n as f64*1e3, (tf+tb+to)/n as f64*1e3);
}
