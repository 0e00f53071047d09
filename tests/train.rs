//! The training loop: every optimizer fits a separable problem, the Trainer's History is
//! consistent with what its steps saw, early stopping and best-model keeping work, the
//! curves are written, seeds reproduce runs, and gradient accumulation and clipping behave.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use shaped::data::{DataLoader, Labels, TensorDataset};
use shaped::nn::loss::cross_entropy;
use shaped::nn::{Linear, Module, Params, ReLU};
use shaped::optim::{Adam, AdamW, Optimizer, RmsProp, Sgd, StepLr, clip_grad_norm};
use shaped::prelude::*;
use shaped::train::{BatchSource, Chart, History, Step, StopReason, Trainer, from_fn, shuffled};
use std::cell::RefCell;
use std::path::PathBuf;

type X = Tensor<(usize, Const<4>)>;
type Y = Indices<(usize,)>;
type Mlp = (Linear<4, 16>, ReLU, Linear<16, 2>);

/// Points in [-1, 1]^4 labelled by the side of a hyperplane, with a margin of 0.3 around it
/// so that a classifier can drive the loss to zero.
fn separable(n: usize, seed: u64) -> TensorDataset<Const<4>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let w = [1.0f32, -2.0, 0.5, 1.5];
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    while ys.len() < n {
        let x: [f32; 4] = std::array::from_fn(|_| rng.random_range(-1.0..1.0));
        let s: f32 = x.iter().zip(w).map(|(a, b)| a * b).sum::<f32>() + 0.1;
        if s.abs() < 0.3 {
            continue;
        }
        xs.extend(x);
        ys.push((s > 0.0) as usize);
    }
    let x = Tensor::from_vec_with_shape(xs, (n, Const)).unwrap();
    TensorDataset::new(x, Labels::new(ys, 2).unwrap()).unwrap()
}

fn mlp(seed: u64) -> Mlp {
    let mut rng = StdRng::seed_from_u64(seed);
    (Linear::new(&mut rng), ReLU, Linear::new(&mut rng))
}

fn train_step(m: &mut Mlp, (x, y): (X, Y)) -> shaped::error::Result<Step<f32>> {
    Step::cross_entropy(m.forward_train(x.trace()), &y)
}

fn eval_step(m: &Mlp, (x, y): (X, Y)) -> shaped::error::Result<Step<f32, NoTape>> {
    Step::cross_entropy(m.forward(x), &y)
}

/// Loss and accuracy of `model` on the whole of `data`, in evaluation mode.
fn evaluate(model: &Mlp, data: &TensorDataset<Const<4>>) -> (f64, f64) {
    let (x, y) = (data.features().clone(), data.targets().as_slice().to_vec());
    let y = Indices::from_vec_with_shape(y, (data.targets().as_slice().len(),)).unwrap();
    let logits = model.forward(x);
    let right = shaped::train::correct(&logits, &y).unwrap();
    let loss = cross_entropy(logits, &y).as_slice()[0] as f64;
    (loss, right as f64 / y.numel() as f64)
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("shaped_test_train_{name}_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

// (a) Every optimizer drives a small MLP to near-zero loss on a separable problem.

fn fits_to_near_zero<O: Optimizer<f32>>(name: &str, mut opt: O, epochs: usize) {
    let data = separable(256, 1);
    let mut model = mlp(2);
    let (loss0, _) = evaluate(&model, &data);
    let history = Trainer::new(&mut model, &mut opt)
        .epochs(epochs)
        .quiet(true)
        // Stop as soon as the epoch's mean loss is tiny: the test is about reaching it.
        .on_epoch_end(|ctx| {
            if ctx.record.train_loss < 1e-3 {
                ctx.stop();
            }
            Ok(())
        })
        .fit(DataLoader::new(&data, 32).unwrap().shuffle(3), train_step)
        .unwrap();
    let (loss, acc) = evaluate(&model, &data);
    assert!(
        loss < 0.01,
        "{name}: loss {loss} after {} epochs (from {loss0})",
        history.len()
    );
    assert_eq!(acc, 1.0, "{name}: accuracy {acc}");
    assert_eq!(history.last().unwrap().train_accuracy, Some(1.0), "{name}");
}

#[test]
fn sgd_with_momentum_fits_a_separable_problem() {
    fits_to_near_zero("SGD", Sgd::new(0.1).momentum(0.9), 300);
}

#[test]
fn adam_fits_a_separable_problem() {
    fits_to_near_zero("Adam", Adam::new(0.01), 300);
}

#[test]
fn adamw_fits_a_separable_problem() {
    fits_to_near_zero("AdamW", AdamW::new(0.01), 300);
}

#[test]
fn rmsprop_fits_a_separable_problem() {
    fits_to_near_zero("RMSprop", RmsProp::new(0.005), 300);
}

// (b) The Trainer's bookkeeping.

#[test]
fn history_matches_what_the_steps_and_the_model_saw() {
    let data = separable(200, 4);
    let (train, val) = data.split(0.25, 5).unwrap();
    let mut model = mlp(6);
    let mut opt = Sgd::new(0.2);
    let dir = temp_dir("history");
    let batch_log = RefCell::new(Vec::<(usize, f64, usize)>::new());
    let val_checks = RefCell::new(Vec::<(f64, f64)>::new());
    let history = Trainer::new(&mut model, &mut opt)
        .epochs(6)
        .quiet(true)
        .lr_schedule(StepLr {
            step_size: 2,
            gamma: 0.5,
        })
        .output_dir(&dir)
        .validate(DataLoader::new(&val, 16).unwrap(), eval_step)
        .on_batch_end(|b| batch_log.borrow_mut().push((b.epoch, b.loss, b.samples)))
        .on_epoch_end(|ctx| {
            // The recorded validation loss is the model's loss on the validation set now.
            let (loss, _) = evaluate(ctx.model, &val);
            val_checks
                .borrow_mut()
                .push((loss, ctx.record.val_loss.unwrap()));
            ctx.log("double_loss", 2.0 * ctx.record.train_loss);
            Ok(())
        })
        .fit(DataLoader::new(&train, 32).unwrap().shuffle(7), train_step)
        .unwrap();

    assert_eq!(history.len(), 6);
    assert_eq!(history.stop, StopReason::Completed);
    let log = batch_log.into_inner();
    assert_eq!(
        log.len(),
        6 * 5,
        "150 samples in batches of 32 is 5 batches an epoch"
    );
    for r in &history.epochs {
        let batches: Vec<_> = log.iter().filter(|b| b.0 == r.epoch).collect();
        let n: usize = batches.iter().map(|b| b.2).sum();
        let mean = batches.iter().map(|b| b.1 * b.2 as f64).sum::<f64>() / n as f64;
        assert_eq!(r.samples, 150);
        assert!(
            (r.train_loss - mean).abs() < 1e-12,
            "epoch {}: {} vs {mean}",
            r.epoch,
            r.train_loss
        );
        let acc = r.train_accuracy.unwrap();
        assert!((0.0..=1.0).contains(&acc) && (acc * 150.0 - (acc * 150.0).round()).abs() < 1e-9);
        assert_eq!(
            r.lr,
            0.2 * 0.5f64.powi((r.epoch as i32 - 1) / 2),
            "epoch {}",
            r.epoch
        );
        assert_eq!(r.metrics["double_loss"], 2.0 * r.train_loss);
        assert!(r.seconds > 0.0);
    }
    assert_eq!(
        history.epochs.iter().map(|r| r.epoch).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6]
    );
    for (manual, recorded) in val_checks.into_inner() {
        assert!((manual - recorded).abs() < 1e-6, "{manual} vs {recorded}");
    }
    let first = &history.epochs[0];
    assert!(
        history.last().unwrap().val_loss.unwrap() < first.val_loss.unwrap(),
        "training did not help"
    );

    // The CSV holds exactly these numbers; the SVG is a well-formed picture of them.
    let csv = std::fs::read_to_string(dir.join("history.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        header,
        [
            "epoch",
            "train_loss",
            "train_accuracy",
            "val_loss",
            "val_accuracy",
            "lr",
            "samples",
            "seconds",
            "double_loss"
        ]
    );
    for (line, r) in lines.zip(&history.epochs) {
        let cells: Vec<f64> = line.split(',').map(|c| c.parse().unwrap()).collect();
        assert_eq!(cells[0], r.epoch as f64);
        assert_eq!(cells[1], r.train_loss);
        assert_eq!(cells[3], r.val_loss.unwrap());
        assert_eq!(cells[4], r.val_accuracy.unwrap());
    }
    assert_eq!(csv.lines().count(), 7);
    let svg = std::fs::read_to_string(dir.join("curves.svg")).unwrap();
    check_svg(&svg, 4); // train and validation loss, train and validation accuracy
    for text in ["Loss", "Accuracy", "epoch", "train", "validation"] {
        assert!(svg.contains(&format!(">{text}<")), "no label {text}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Checks that `svg` is one well-formed `<svg>` element with `polylines` lines, each with
/// at least one point.
fn check_svg(svg: &str, polylines: usize) {
    assert!(svg.starts_with("<svg"), "{}", &svg[..40.min(svg.len())]);
    assert!(svg.contains(r#"xmlns="http://www.w3.org/2000/svg""#));
    // Tags balance: every opened element is closed, in order.
    let mut stack: Vec<String> = Vec::new();
    let mut rest = svg;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').expect("unterminated tag") + start;
        let tag = &rest[start + 1..end];
        assert!(!tag.contains('<'), "nested '<' in {tag}");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
        } else if !tag.ends_with('/') {
            stack.push(tag.split_whitespace().next().unwrap().to_string());
        }
        // Text between tags must not hold raw markup characters.
        let next = rest[end + 1..]
            .find('<')
            .map_or(rest.len(), |n| n + end + 1);
        assert!(!rest[end + 1..next].contains('>'), "raw '>' in text");
        rest = &rest[end + 1..];
    }
    assert!(stack.is_empty(), "unclosed {stack:?}");
    assert_eq!(svg.matches("<polyline").count(), polylines);
    for pl in svg.split("<polyline").skip(1) {
        let points = pl
            .split("points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let pairs: Vec<&str> = points.split_whitespace().collect();
        assert!(!pairs.is_empty());
        for p in pairs {
            let (x, y) = p.split_once(',').unwrap();
            assert!(x.parse::<f64>().unwrap().is_finite() && y.parse::<f64>().unwrap().is_finite());
        }
    }
}

#[test]
fn early_stopping_triggers_after_patience_epochs_without_improvement() {
    let data = separable(64, 8);
    let mut model = mlp(9);
    // A learning rate of 0 never improves: epoch 1 sets the best, 3 more without
    // improvement exhaust a patience of 3.
    let history = Trainer::new(&mut model, &mut Sgd::new(0.0))
        .epochs(50)
        .quiet(true)
        .patience(3)
        .validate(DataLoader::new(&data, 64).unwrap(), eval_step)
        .fit(DataLoader::new(&data, 16).unwrap(), train_step)
        .unwrap();
    assert_eq!(history.len(), 4);
    assert_eq!(history.stop, StopReason::EarlyStopping { patience: 3 });
    assert_eq!(history.best().unwrap().epoch, 1);

    // Improvements smaller than min_delta do not count either.
    let mut model = mlp(9);
    let history = Trainer::new(&mut model, &mut Adam::new(0.01))
        .epochs(50)
        .quiet(true)
        .patience(2)
        .min_delta(10.0)
        .fit(DataLoader::new(&data, 16).unwrap(), train_step)
        .unwrap();
    assert_eq!(history.len(), 3);
    assert!(
        history.train_losses()[2] < history.train_losses()[0],
        "the loss still went down"
    );
}

#[test]
fn best_model_is_saved_and_restored() {
    let data = separable(128, 10);
    let (train, val) = data.split(0.5, 11).unwrap();
    let dir = temp_dir("best");
    std::fs::create_dir_all(&dir).unwrap();
    let best_path = dir.join("best.safetensors");
    let mut model = mlp(12);
    let mut on_best_epochs = Vec::new();
    // Decaying then growing learning rate: the validation loss improves, then gets worse.
    let history = Trainer::new(&mut model, &mut Sgd::new(1.0))
        .epochs(8)
        .quiet(true)
        .lr_schedule(LrUpDown)
        .save_best(&best_path)
        .restore_best(true)
        .on_best(|_, r| {
            on_best_epochs.push(r.epoch);
            Ok(())
        })
        .validate(DataLoader::new(&val, 64).unwrap(), eval_step)
        .fit(DataLoader::new(&train, 16).unwrap().shuffle(1), train_step)
        .unwrap();
    let best = history.best().unwrap().clone();
    assert_eq!(*on_best_epochs.last().unwrap(), best.epoch);
    assert!(on_best_epochs.windows(2).all(|w| w[0] < w[1]));
    assert_ne!(
        best.epoch,
        history.len(),
        "the schedule should make the last epoch worse: {:?}",
        history.val_losses()
    );
    // restore_best put the best epoch's weights back...
    let (loss, _) = evaluate(&model, &val);
    assert!(
        (loss - best.val_loss.unwrap()).abs() < 1e-6,
        "{loss} vs {}",
        best.val_loss.unwrap()
    );
    // ...and the file holds them too.
    let mut loaded = mlp(99);
    shaped::serialize::load_safetensors(&mut loaded, &best_path).unwrap();
    assert_eq!(loaded.0.weight.to_vec(), model.0.weight.to_vec());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// 0.3 for three epochs, then 30: a step that large wrecks the fit.
struct LrUpDown;
impl shaped::optim::LrSchedule for LrUpDown {
    fn lr_at(&self, _: f64, step: u64) -> f64 {
        if step < 3 { 0.3 } else { 30.0 }
    }
}

#[test]
fn errors_and_non_finite_losses_end_training() {
    let data = separable(32, 13);
    let mut model = mlp(14);
    let err = Trainer::new(&mut model, &mut Sgd::new(0.1))
        .epochs(3)
        .quiet(true)
        .fit(
            DataLoader::new(&data, 8).unwrap(),
            |_: &mut Mlp, _: (X, Y)| {
                Err::<Step<f32>, _>(shaped::error::Error::Format {
                    what: "batch".into(),
                    message: "corrupt".into(),
                })
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("corrupt"));

    let err = Trainer::new(&mut model, &mut Sgd::new(0.1))
        .epochs(3)
        .quiet(true)
        .fit(Vec::<(X, Y)>::new(), train_step)
        .unwrap_err();
    assert!(
        err.to_string().contains("epoch 1 yielded no batches"),
        "{err}"
    );

    // A NaN loss gives NaN gradients: the first step is refused with an error naming the
    // parameter (issue 14), instead of an epoch of NaN updates.
    let err = Trainer::new(&mut model, &mut Sgd::new(0.1))
        .epochs(5)
        .quiet(true)
        .fit(
            DataLoader::new(&data, 8).unwrap(),
            |m: &mut Mlp, (x, y): (X, Y)| {
                let step = train_step(m, (x, y))?;
                Ok(Step::new(step.loss.mul_scalar(f32::NAN), step.samples))
            },
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("gradient of parameter `0.weight`"), "{err}");
    assert!(model.0.weight.as_slice().iter().all(|v| v.is_finite()));
    // A loss that is infinite while its gradients stay finite still ends the run normally.
    let history = Trainer::new(&mut model, &mut Sgd::new(0.1))
        .epochs(5)
        .quiet(true)
        .fit(
            DataLoader::new(&data, 8).unwrap(),
            |m: &mut Mlp, (x, y): (X, Y)| {
                let step = train_step(m, (x, y))?;
                let inf = Tensor::<()>::from_array(f32::INFINITY);
                Ok(Step::new(step.loss + inf, step.samples))
            },
        )
        .unwrap();
    assert_eq!(
        (history.len(), history.stop),
        (1, StopReason::NonFiniteLoss)
    );
}

#[test]
fn summary_lines_without_a_terminal_do_not_break_training() {
    // Not quiet: under the test harness stdout is not a terminal, so no bar, one line an epoch.
    let data = separable(32, 15);
    let history = Trainer::new(&mut mlp(16), &mut Adam::new(0.01))
        .epochs(2)
        .fit(DataLoader::new(&data, 8).unwrap(), train_step)
        .unwrap();
    assert_eq!(history.len(), 2);
}

// (c) Reproducibility.

/// A typed batch of the user's own, made on the fly from the trainer's generator.
struct Noisy {
    x: Tensor<Rank2<16, 4>>,
    y: Indices<Rank1<16>>,
}

fn run(seed: u64) -> History {
    let data = separable(96, 17);
    let batches: Vec<(X, Y)> = DataLoader::new(&data, 16)
        .unwrap()
        .iter()
        .map(|b| b.unwrap())
        .collect();
    let mut model = mlp(18);
    let mut opt = Adam::new(0.01);
    let mut history = Trainer::new(&mut model, &mut opt)
        .epochs(4)
        .quiet(true)
        .seed(seed)
        .validate(
            from_fn(|_, rng| {
                (0..2)
                    .map(|_| {
                        let x = Tensor::<Rank2<16, 4>>::randn(rng);
                        let y = Indices::from_vec(
                            x.as_slice()
                                .chunks(4)
                                .map(|r| (r[0] > 0.0) as usize)
                                .collect(),
                        )
                        .unwrap();
                        Noisy { x, y }
                    })
                    .collect::<Vec<_>>()
            }),
            |m: &Mlp, b: Noisy| Step::cross_entropy(m.forward(b.x), &b.y),
        )
        .fit(shuffled(batches), train_step)
        .unwrap();
    for r in &mut history.epochs {
        r.seconds = 0.0;
    }
    history
}

#[test]
fn same_seed_same_history() {
    let a = run(5);
    assert_eq!(a, run(5));
    let b = run(6);
    assert_ne!(
        a.train_losses(),
        b.train_losses(),
        "the seed should change the batch order"
    );
    assert_ne!(
        a.val_losses(),
        b.val_losses(),
        "the seed should change the generated validation data"
    );
}

#[test]
fn data_loader_runs_are_reproducible_and_follow_the_loader_epochs() {
    let data = separable(64, 19);
    let go = || {
        let mut model = mlp(20);
        let mut loader = DataLoader::new(&data, 16).unwrap().shuffle(21);
        let mut h = Trainer::new(&mut model, &mut Sgd::new(0.1))
            .epochs(3)
            .quiet(true)
            .fit(&mut loader, train_step)
            .unwrap();
        assert_eq!(
            loader.epoch(),
            3,
            "the loader's epoch counter follows the trainer"
        );
        h.epochs.iter_mut().for_each(|r| r.seconds = 0.0);
        (h, model.0.weight.to_vec())
    };
    assert_eq!(go(), go());
    // The trainer's epoch e is the loader's epoch e.
    let mut loader = DataLoader::new(&data, 16).unwrap().shuffle(21);
    let mut rng = StdRng::seed_from_u64(0);
    let first: Vec<usize> = loader
        .batches(1, &mut rng)
        .next()
        .unwrap()
        .unwrap()
        .1
        .to_vec();
    let expect: Vec<usize> = loader.order(1)[..16]
        .iter()
        .map(|&i| data.targets().as_slice()[i])
        .collect();
    assert_eq!(first, expect);
}

// Gradient accumulation and clipping.

/// `got`'s gradient of `t` is `scale` times `want`'s.
fn assert_close<S: Shape>(got: &Gradients<f32>, want: &Gradients<f32>, t: &Tensor<S>, scale: f64) {
    let (g, w) = (got.get_slice(t).unwrap(), want.get_slice(t).unwrap());
    for (a, b) in g.iter().zip(w) {
        let b = *b as f64 * scale;
        assert!((*a as f64 - b).abs() < 1e-7 + 1e-4 * b.abs(), "{a} vs {b}");
    }
}

#[test]
fn accumulated_micro_batch_gradients_equal_the_full_batch_gradient() {
    let data = separable(32, 22);
    let model = mlp(23);
    let (x, y): (X, Y) = DataLoader::new(&data, 32)
        .unwrap()
        .iter()
        .next()
        .unwrap()
        .unwrap();
    let full = cross_entropy(model.forward(x.clone().trace()), &y).backward();

    // Four micro-batches of 8, each loss scaled by 1/4 so that the sum is the full mean.
    let mut acc = Gradients::default();
    for b in DataLoader::new(&data, 8).unwrap().iter() {
        let (xb, yb) = b.unwrap();
        let loss = cross_entropy(model.forward(xb.trace()), &yb).mul_scalar(0.25);
        acc.accumulate(loss.backward());
    }
    assert_close(&acc, &full, &model.0.weight, 1.0);
    assert_close(&acc, &full, &model.2.weight, 1.0);
    assert_close(&acc, &full, model.2.bias.as_ref().unwrap(), 1.0);

    // Clipping scales the whole gradient to the requested norm, keeping its direction.
    let norm = clip_grad_norm(&model, &mut acc, 0.01);
    assert!(norm > 0.01, "norm {norm}");
    let mut after = 0.0;
    model.visit("", &mut |p| {
        if let Some(g) = acc.get_id(p.id) {
            after += g.iter().map(|v| (*v as f64).powi(2)).sum::<f64>();
        }
    });
    assert!(
        (after.sqrt() - 0.01).abs() < 1e-6,
        "clipped norm {}",
        after.sqrt()
    );
    let coef = 0.01 / (norm + 1e-6);
    assert_close(&acc, &full, &model.0.weight, coef);
    assert_close(&acc, &full, &model.2.weight, coef);
}

#[test]
fn trainer_accumulation_matches_larger_batches() {
    let data = separable(64, 24);
    let weights = |batch: usize, accumulate: usize| {
        let mut model = mlp(25);
        Trainer::new(&mut model, &mut Sgd::new(0.5))
            .epochs(3)
            .quiet(true)
            .accumulate(accumulate)
            .clip_grad_norm(0.5)
            .fit(DataLoader::new(&data, batch).unwrap(), train_step)
            .unwrap();
        model.0.weight.to_vec()
    };
    let (big, small) = (weights(32, 1), weights(8, 4));
    for (a, b) in big.iter().zip(&small) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
    assert_ne!(big, weights(8, 1), "without accumulation the steps differ");
}

#[test]
fn charts_can_carry_custom_series() {
    let mut h = History::default();
    for e in 1..=3 {
        let mut r = shaped::train::EpochRecord {
            epoch: e,
            train_loss: 1.0 / e as f64,
            ..Default::default()
        };
        r.metrics.insert("val_f1".into(), 0.5 + 0.1 * e as f64);
        h.push(r);
    }
    let mut charts = h.charts();
    charts.push(
        Chart::new("F1 <validation>", "epoch", "F1").with_series("f1 & more", h.metric("val_f1")),
    );
    let svg = shaped::train::render_svg(&charts);
    check_svg(&svg, 2);
    assert!(svg.contains("F1 &lt;validation&gt;") && svg.contains("f1 &amp; more"));
    // A lone point, a flat line and NaNs still draw.
    let flat = Chart::new("flat", "x", "y")
        .with_series("s", vec![(1.0, 2.0), (2.0, f64::NAN), (3.0, 2.0)])
        .to_svg();
    check_svg(&flat, 1);
    check_svg(&Chart::new("empty", "x", "y").to_svg(), 0);
}
