//! Data-parallel training with ranks as threads (`shaped::distributed::ThreadGroup`): the same
//! averaging, broadcasting and sharding code that runs over MPI, checked without MPI.

use rand::SeedableRng;
use shaped::data::{DataLoader, Dataset, DistributedSampler, Labels, TensorDataset};
use shaped::distributed::{
    Collective, ThreadGroup, average_gradients, average_gradients_in_buckets, broadcast_parameters,
};
use shaped::nn::loss::cross_entropy;
use shaped::nn::{Linear, Module, Params, ReLU, TiedLinear};
use shaped::optim::{Adam, Optimizer};
use shaped::prelude::*;

type Mlp = (Linear<4, 8>, ReLU, Linear<8, 3>);

fn mlp(seed: u64) -> Mlp {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (Linear::new(&mut rng), ReLU, Linear::new(&mut rng))
}

fn dataset(n: usize) -> TensorDataset<Const<4>, Labels> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(123);
    let x = Tensor::<(usize, Const<4>)>::randn_with_shape((n, Const), &mut rng);
    let labels: Vec<usize> = x
        .as_slice()
        .chunks(4)
        .map(|r| (r[0] + r[1] > 0.0) as usize + (r[2] > 0.5) as usize)
        .collect();
    TensorDataset::new(x, Labels::from_vec(labels)).unwrap()
}

fn flat(model: &Mlp) -> Vec<f32> {
    let mut out = Vec::new();
    model.visit("", &mut |p| out.extend_from_slice(p.data));
    out
}

/// `steps` Adam steps on one rank's share of each batch (batch `batch` per rank).
fn train_rank(group: &dyn Collective, steps: usize, batch: usize) -> Vec<f32> {
    let data = dataset(2 * batch * steps);
    let mut model = mlp(group.rank() as u64 + 10); // ranks start different...
    broadcast_parameters(group, &mut model); // ...and equal after this
    let mut opt = Adam::new(1e-2);
    let sampler = DistributedSampler::new(group.rank(), group.world_size()).unwrap();
    let loader = DataLoader::new(&data, batch)
        .unwrap()
        .shuffle(5)
        .distributed(sampler);
    for b in loader.iter_epoch(0).take(steps) {
        let (x, y) = b.unwrap();
        let loss = cross_entropy(model.forward_train(x.trace_constant()), &y);
        let mut grads = loss.backward();
        average_gradients(group, &model, &mut grads);
        opt.step(&mut model, &grads);
    }
    flat(&model)
}

/// The same steps in one process, each on the union of the ranks' batches.
fn train_combined(world: usize, steps: usize, batch: usize) -> Vec<f32> {
    let data = dataset(world * batch * steps);
    let mut model = mlp(10);
    let mut opt = Adam::new(1e-2);
    let loader = DataLoader::new(&data, world * batch).unwrap().shuffle(5);
    for b in loader.iter_epoch(0).take(steps) {
        let (x, y) = b.unwrap();
        let loss = cross_entropy(model.forward_train(x.trace_constant()), &y);
        opt.step(&mut model, &loss.backward());
    }
    flat(&model)
}

#[test]
fn two_ranks_stay_bitwise_equal_and_match_one_process_on_the_combined_batch() {
    let (steps, batch) = (6, 8);
    let ranks = ThreadGroup::run(2, |g| train_rank(g, steps, batch));
    assert_eq!(ranks[0], ranks[1], "ranks diverged");
    let single = train_combined(2, steps, batch);
    for (i, (a, b)) in ranks[0].iter().zip(&single).enumerate() {
        assert!(
            (a - b).abs() <= 1e-5 + 1e-4 * b.abs(),
            "param {i}: {a} vs {b}"
        );
    }
    // And training did move the weights (the comparison is not between two initial states).
    assert_ne!(single, flat(&mlp(10)));
}

#[test]
fn sampler_shards_are_disjoint_and_cover_the_data_every_epoch() {
    let data = dataset(103);
    for world in [1, 2, 3, 4] {
        for epoch in 0..3 {
            let mut seen = Vec::new();
            for rank in 0..world {
                let loader = DataLoader::new(&data, 10)
                    .unwrap()
                    .shuffle(9)
                    .distributed(DistributedSampler::new(rank, world).unwrap());
                let order = loader.order(epoch);
                assert_eq!(order.len(), 103usize.div_ceil(world));
                assert_eq!(loader.len(), order.len().div_ceil(10));
                seen.extend(order);
            }
            // Every example at least once; only the padding repeats, as PyTorch pads.
            let mut unique = seen.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), 103, "world {world}, epoch {epoch}");
            assert_eq!(
                seen.len() - unique.len(),
                103usize.div_ceil(world) * world - 103
            );
        }
    }
    // drop_last: disjoint, nothing repeated.
    let mut seen: Vec<usize> = (0..4)
        .flat_map(|r| {
            DataLoader::new(&data, 10)
                .unwrap()
                .shuffle(9)
                .distributed(DistributedSampler::new(r, 4).unwrap().drop_last(true))
                .order(1)
        })
        .collect();
    assert_eq!(seen.len(), 100);
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 100);
    assert!(data.len() == 103);
}

#[test]
fn bucket_size_does_not_change_the_result() {
    let per_bucket = ThreadGroup::run(2, |g| {
        let mut model = mlp(0);
        let x = Tensor::<(usize, Const<4>)>::full_with_shape((3, Const), g.rank() as f32 + 0.5);
        let loss = model.forward_train(x.trace_constant()).sum();
        let grads = loss.backward();
        [1usize, 7, 40, 1 << 20]
            .iter()
            .map(|&cap| {
                let mut gr = grads.clone();
                average_gradients_in_buckets(g, &model, &mut gr, cap);
                let mut all = Vec::new();
                model.visit("", &mut |p| all.extend_from_slice(gr.get_id(p.id).unwrap()));
                all
            })
            .collect::<Vec<_>>()
    });
    for r in &per_bucket {
        assert!(r.windows(2).all(|w| w[0] == w[1]));
    }
    assert_eq!(per_bucket[0], per_bucket[1]);
}

/// A model that visits one tensor under two names, as a tied embedding/decoder does.
/// A weight used twice: by its own layer and, tied, by a second one.
#[derive(shaped::Params)]
struct Tied {
    encoder: Linear<2, 2>,
    #[param(tied(weight = "encoder.weight"))]
    decoder: TiedLinear<2, 2>,
}

#[test]
fn tied_parameters_are_reduced_once() {
    let grads = ThreadGroup::run(2, |g| {
        let mut rng = rand::rngs::StdRng::seed_from_u64(0);
        let model = Tied {
            encoder: Linear::new(&mut rng),
            decoder: TiedLinear::new_no_bias(),
        };
        let x = Tensor::<Rank2<1, 2>>::full(g.rank() as f32 + 1.0);
        let h = model.encoder.forward(x.trace_constant());
        let mut grads = model
            .decoder
            .forward(&model.encoder.weight, h)
            .sum()
            .backward();
        let local = grads.get_slice(&model.encoder.weight).unwrap().to_vec();
        average_gradients(g, &model, &mut grads);
        let averaged = grads.get_slice(&model.encoder.weight).unwrap().to_vec();
        (local, averaged)
    });
    // The weight's gradient sums both uses on each rank; the ranks' sums are averaged once
    // (summed twice, the result would be twice the mean).
    let mean: Vec<f32> = grads[0]
        .0
        .iter()
        .zip(&grads[1].0)
        .map(|(a, b)| (a + b) / 2.0)
        .collect();
    for (_, averaged) in &grads {
        for (a, m) in averaged.iter().zip(&mean) {
            assert!(
                (a - m).abs() <= 1e-5 * m.abs().max(1.0),
                "{averaged:?} {mean:?}"
            );
        }
    }
}

#[test]
fn a_parameter_unused_on_one_rank_counts_as_zero() {
    let grads = ThreadGroup::run(2, |g| {
        let mut rng = rand::rngs::StdRng::seed_from_u64(0);
        let mut model = (Linear::<1, 1>::new(&mut rng), Linear::<1, 1>::new(&mut rng));
        let x = Tensor::<Rank2<1, 1>>::full(2.0);
        // Rank 0 uses both layers, rank 1 only the first.
        let y = model.0.forward_train(x.clone().trace_constant()).sum();
        let loss = if g.rank() == 0 {
            y + model.1.forward_train(x.trace_constant()).sum()
        } else {
            y
        };
        let mut grads = loss.backward();
        average_gradients(g, &model, &mut grads);
        (
            grads.get_slice(&model.0.weight).unwrap()[0],
            grads.get_slice(&model.1.weight).unwrap()[0],
        )
    });
    assert_eq!(grads, vec![(2.0, 1.0), (2.0, 1.0)]);
}

/// The Trainer on 2 thread ranks, each on its shard: same history and weights on both, and
/// the same as one process training on the combined batches; only rank 0 writes files.
#[test]
fn trainer_on_two_ranks_matches_one_process() {
    use shaped::train::{Step, Trainer};
    let (batch, epochs) = (8, 3);
    let data = dataset(64);
    let val = dataset(30);
    let dir = std::env::temp_dir().join(format!("shaped-ddp-trainer-{}", std::process::id()));
    let runs = ThreadGroup::run(2, |g| {
        let mut model = mlp(g.rank() as u64);
        let mut opt = Adam::new(1e-2);
        let shard = DistributedSampler::new(g.rank(), g.world_size()).unwrap();
        let out = dir.join(format!("rank{}", g.rank()));
        let history = Trainer::new(&mut model, &mut opt)
            .distributed(g)
            .epochs(epochs)
            .quiet(true)
            .output_dir(&out)
            .validate(
                DataLoader::new(&val, 7).unwrap().distributed(shard),
                |m, (x, y)| Step::cross_entropy(m.forward(x), &y),
            )
            .fit(
                DataLoader::new(&data, batch)
                    .unwrap()
                    .shuffle(3)
                    .distributed(shard),
                |m, (x, y)| Step::cross_entropy(m.forward_train(x.trace_constant()), &y),
            )
            .unwrap();
        (flat(&model), history, out.join("history.csv").exists())
    });
    assert_eq!(runs[0].0, runs[1].0, "ranks diverged");
    assert_eq!(runs[0].1.epochs.len(), epochs);
    for (a, b) in runs[0].1.epochs.iter().zip(&runs[1].1.epochs) {
        assert_eq!(
            (a.train_loss, a.val_loss, a.samples),
            (b.train_loss, b.val_loss, b.samples)
        );
    }
    assert_eq!((runs[0].2, runs[1].2), (true, false), "only rank 0 writes");
    std::fs::remove_dir_all(&dir).ok();

    // One process: rank 0's initial weights, batches of 2 x 8 in the same shuffled order.
    let mut model = mlp(0);
    let mut opt = Adam::new(1e-2);
    let history = Trainer::new(&mut model, &mut opt)
        .epochs(epochs)
        .quiet(true)
        .validate(DataLoader::new(&val, 30).unwrap(), |m, (x, y)| {
            Step::cross_entropy(m.forward(x), &y)
        })
        .fit(
            DataLoader::new(&data, 2 * batch).unwrap().shuffle(3),
            |m, (x, y)| Step::cross_entropy(m.forward_train(x.trace_constant()), &y),
        )
        .unwrap();
    for (i, (a, b)) in runs[0].0.iter().zip(flat(&model).iter()).enumerate() {
        assert!(
            (a - b).abs() <= 1e-5 + 1e-4 * b.abs(),
            "param {i}: {a} vs {b}"
        );
    }
    for (d, s) in runs[0].1.epochs.iter().zip(&history.epochs) {
        assert!((d.train_loss - s.train_loss).abs() < 1e-5, "{d:?} vs {s:?}");
        assert_eq!(d.samples, s.samples);
        // Validation: rank shards are padded to 15 + 15 = 30 = the whole set here.
        assert!((d.val_loss.unwrap() - s.val_loss.unwrap()).abs() < 1e-5);
    }
}

/// One rank's y, input gradient, weight and bias gradients, running mean and variance.
type RankResult = (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>);

/// SyncBatchNorm on 2 ranks with half a batch each normalises as one BatchNorm over the whole
/// batch: outputs, running statistics, input gradients and (averaged) parameter gradients.
#[test]
fn sync_batchnorm_on_two_ranks_equals_batchnorm_on_the_whole_batch() {
    use shaped::nn::{BatchNorm2d, SyncBatchNorm};
    use std::sync::Arc;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let x = Tensor::<Rank4<4, 3, 2, 5>, f64>::randn(&mut rng)
        .mul_scalar(2.0)
        .add_scalar(1.5);
    let gy = Tensor::<Rank4<4, 3, 2, 5>, f64>::randn(&mut rng);
    let halves = |t: &Tensor<Rank4<4, 3, 2, 5>, f64>, r: usize| {
        let n = t.numel() / 2;
        Tensor::<(usize, Const<3>, Const<2>, Const<5>), f64>::from_vec_with_shape(
            t.as_slice()[r * n..(r + 1) * n].to_vec(),
            (2, Const, Const, Const),
        )
        .unwrap()
    };

    // One BatchNorm over the whole batch; loss = mean over the batch of sum(y * gy) per row,
    // which is what averaging the two ranks' per-half means gives.
    let mut bn = BatchNorm2d::<3, f64>::new();
    let xt = x.clone().trace();
    let y = bn.forward_train(xt.clone());
    let loss = (y.clone() * gy.clone()).sum().mul_scalar(0.25);
    let grads = loss.backward();
    let (y_full, gx_full) = (y.to_vec(), grads.get(&x).unwrap().to_vec());
    let (gw_full, gb_full) = (
        grads.get(&bn.weight).unwrap().to_vec(),
        grads.get(&bn.bias).unwrap().to_vec(),
    );

    let ranks = ThreadGroup::run(2, |g| {
        let mut sbn = SyncBatchNorm::new(BatchNorm2d::<3, f64>::new(), Arc::new(g.clone()));
        let xr = halves(&x, g.rank());
        let y = sbn.forward_train(xr.clone().trace());
        let loss = (y.clone() * halves(&gy, g.rank())).sum().mul_scalar(0.5);
        let mut grads = loss.backward();
        average_gradients(g, &sbn, &mut grads);
        (
            y.to_vec(),
            grads.get(&xr).unwrap().to_vec(),
            grads.get(&sbn.norm.weight).unwrap().to_vec(),
            grads.get(&sbn.norm.bias).unwrap().to_vec(),
            sbn.norm.running_mean.to_vec(),
            sbn.norm.running_var.to_vec(),
        )
    });
    let close = |a: &[f64], b: &[f64], what: &str| {
        assert_eq!(a.len(), b.len());
        for (i, (u, v)) in a.iter().zip(b).enumerate() {
            assert!((u - v).abs() < 1e-10, "{what}[{i}]: {u} vs {v}");
        }
    };
    let cat =
        |f: fn(&RankResult) -> &Vec<f64>| [f(&ranks[0]).clone(), f(&ranks[1]).clone()].concat();
    close(&cat(|r| &r.0), &y_full, "y");
    // The input gradient of rank r is the full-batch gradient of its rows, scaled by the
    // number of ranks (each rank differentiates the sum of the ranks' losses before
    // averaging, as PyTorch's SyncBatchNorm does).
    let gx: Vec<f64> = cat(|r| &r.1).iter().map(|v| v / 2.0).collect();
    close(&gx, &gx_full, "grad x");
    for r in &ranks {
        close(&r.2, &gw_full, "grad weight");
        close(&r.3, &gb_full, "grad bias");
        close(&r.4, &bn.running_mean.to_vec(), "running_mean");
        close(&r.5, &bn.running_var.to_vec(), "running_var");
    }
}
