//! Data-parallel training over MPI, run as `mpirun -np 2` (cargo feature `mpi`).
//!
//! `cargo test --release --features mpi --test distributed_mpi` starts this binary without
//! MPI; it then launches itself under `mpirun --allow-run-as-root --oversubscribe -np 2` (and
//! alone, for the single-process references) for each phase and checks the results:
//! * the ranks' parameters are bitwise equal after k steps, and equal within float tolerance
//!   to one process training on the combined batch of both ranks;
//! * a checkpoint saved by rank 0 of a 2-rank run resumes in 1 process, and one saved by a
//!   single process resumes on 2 ranks, both ending where the uninterrupted 2-rank run ends.

use rand::SeedableRng;
use shaped::data::{DataLoader, DistributedSampler, Labels, TensorDataset};
use shaped::distributed::{Collective, MpiGroup, average_gradients, broadcast_parameters};
use shaped::nn::loss::cross_entropy;
use shaped::nn::{Linear, Module, Params, ReLU};
use shaped::optim::{Adam, Optimizer};
use shaped::prelude::*;
use shaped::serialize::Checkpoint;
use std::path::{Path, PathBuf};
use std::process::Command;

const STEPS: usize = 8;
const HALF: usize = STEPS / 2;
const BATCH: usize = 8; // per rank
const WORLD: usize = 2;

type Mlp = (Linear<4, 16>, ReLU, Linear<16, 3>);

fn mlp(seed: u64) -> Mlp {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (Linear::new(&mut rng), ReLU, Linear::new(&mut rng))
}

fn dataset() -> TensorDataset<Const<4>, Labels> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(123);
    let n = WORLD * BATCH * STEPS;
    let x = Tensor::<(usize, Const<4>)>::randn_with_shape((n, Const), &mut rng);
    let labels = x
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

fn save_flat(path: &Path, v: &[f32]) {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(path, bytes).unwrap();
}

fn load_flat(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes
        .chunks(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

/// Steps `from..to` of epoch 0; `group` = None trains alone on the combined batches.
fn train(
    group: Option<&dyn Collective>,
    model: &mut Mlp,
    opt: &mut Adam<f32>,
    from: usize,
    to: usize,
    checkpoint_at_half: Option<&Path>,
) {
    let data = dataset();
    let loader = match group {
        Some(g) => DataLoader::new(&data, BATCH)
            .unwrap()
            .shuffle(5)
            .distributed(DistributedSampler::new(g.rank(), g.world_size()).unwrap()),
        None => DataLoader::new(&data, WORLD * BATCH).unwrap().shuffle(5),
    };
    for (step, batch) in loader.iter_epoch(0).enumerate().skip(from).take(to - from) {
        if step == HALF
            && let Some(path) = checkpoint_at_half
            && group.is_none_or(|g| g.is_main())
        {
            Checkpoint::new(&*model)
                .with_optimizer(&*opt)
                .with_step(step as u64)
                .save(path)
                .unwrap();
        }
        let (x, y) = batch.unwrap();
        let loss = cross_entropy(model.forward_train(x.trace_constant()), &y);
        let mut grads = loss.backward();
        if let Some(g) = group {
            average_gradients(g, &*model, &mut grads);
        }
        opt.step(model, &grads);
    }
}

fn resume(path: &Path) -> (Mlp, Adam<f32>) {
    let ckpt = Checkpoint::<f32>::load(path).unwrap();
    let (mut model, mut opt) = (mlp(99), Adam::new(1e-2));
    ckpt.restore_model(&mut model).unwrap();
    ckpt.restore_optimizer(&mut opt).unwrap();
    assert_eq!(ckpt.step, HALF as u64);
    (model, opt)
}

fn assert_close(what: &str, a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-5 + 1e-4 * y.abs(),
            "{what}: parameter {i}: {x} vs {y}"
        );
    }
}

/// One phase, in this process (a rank under mpirun, or alone).
fn phase(name: &str, dir: &Path) {
    match name {
        // Two ranks from different initial weights: broadcast, train, compare.
        "ddp" => {
            let group = MpiGroup::init().unwrap();
            assert_eq!(group.world_size(), WORLD, "run under mpirun -np {WORLD}");
            let mut model = mlp(10 + group.rank() as u64);
            broadcast_parameters(&group, &mut model);
            let mut opt = Adam::new(1e-2);
            let ckpt = dir.join("from_two_ranks.ckpt");
            train(Some(&group), &mut model, &mut opt, 0, STEPS, Some(&ckpt));
            let mine = flat(&model);
            let mut rank0 = mine.clone();
            shaped::distributed::broadcast(&group, &mut rank0, 0);
            assert!(
                mine.iter()
                    .zip(&rank0)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "rank {} differs from rank 0",
                group.rank()
            );
            if group.is_main() {
                save_flat(&dir.join("two_ranks.bin"), &mine);
            }
        }
        // The reference: one process, the combined batch of both ranks at every step.
        "single" => {
            let (mut model, mut opt) = (mlp(10), Adam::new(1e-2));
            let ckpt = dir.join("from_one_rank.ckpt");
            train(None, &mut model, &mut opt, 0, STEPS, Some(&ckpt));
            save_flat(&dir.join("single.bin"), &flat(&model));
        }
        // 2 ranks -> 1: the second half alone from rank 0's checkpoint.
        "resume_on_one" => {
            let (mut model, mut opt) = resume(&dir.join("from_two_ranks.ckpt"));
            train(None, &mut model, &mut opt, HALF, STEPS, None);
            save_flat(&dir.join("resumed_on_one.bin"), &flat(&model));
        }
        // 1 -> 2 ranks: the second half on two ranks from the single process's checkpoint.
        "resume_on_two" => {
            let group = MpiGroup::init().unwrap();
            let (mut model, mut opt) = resume(&dir.join("from_one_rank.ckpt"));
            train(Some(&group), &mut model, &mut opt, HALF, STEPS, None);
            if group.is_main() {
                save_flat(&dir.join("resumed_on_two.bin"), &flat(&model));
            }
        }
        other => panic!("unknown phase {other}"),
    }
}

fn run(dir: &Path, phase: &str, ranks: Option<usize>) {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = match ranks {
        Some(n) => {
            let mut c = Command::new("mpirun");
            c.args([
                "--allow-run-as-root",
                "--oversubscribe",
                "-np",
                &n.to_string(),
            ])
            .arg(&exe);
            c
        }
        None => Command::new(&exe),
    };
    let status = cmd
        .args(["--phase", phase])
        .arg(dir)
        .env("SHAPED_NUM_THREADS", "1")
        .status()
        .unwrap_or_else(|e| panic!("could not start phase {phase}: {e}"));
    assert!(status.success(), "phase {phase} failed: {status}");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--phase") {
        phase(&args[i + 1], Path::new(&args[i + 2]));
        return;
    }
    // `cargo test` passes libtest flags (e.g. `--list` when listing tests): nothing to list.
    if args.iter().any(|a| a == "--list") {
        return;
    }
    if Command::new("mpirun").arg("--version").output().is_err() {
        panic!("mpirun not found: install Open MPI (openmpi-bin) to run the MPI tests");
    }
    let dir: PathBuf = std::env::temp_dir().join(format!("shaped-mpi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    run(&dir, "ddp", Some(WORLD));
    run(&dir, "single", None);
    run(&dir, "resume_on_one", None);
    run(&dir, "resume_on_two", Some(WORLD));
    let two = load_flat(&dir.join("two_ranks.bin"));
    let single = load_flat(&dir.join("single.bin"));
    assert_close("2 ranks vs 1 process on the combined batch", &two, &single);
    assert_ne!(single, flat(&mlp(10)), "training did not move the weights");
    assert_close(
        "2 ranks -> resumed on 1",
        &load_flat(&dir.join("resumed_on_one.bin")),
        &two,
    );
    assert_close(
        "1 -> resumed on 2 ranks",
        &load_flat(&dir.join("resumed_on_two.bin")),
        &two,
    );
    std::fs::remove_dir_all(&dir).ok();
    println!("distributed_mpi: 4 passed, 0 failed");
}
