//! What the Trainer shows: samples/s only for epochs long enough to measure, and curves with
//! the best epoch and an early stop marked.

use shaped::nn::loss::mse_loss;
use shaped::nn::{Linear, Module};
use shaped::optim::Sgd;
use shaped::prelude::*;
use shaped::rand::{SeedableRng, rngs::StdRng};
use shaped::train::{EpochRecord, History, Step, StopReason, Trainer};
use std::process::Command;

const CHILD: &str = "SHAPED_TEST_TRAINER_OUTPUT_CHILD";

/// Two epochs of a tiny regression, printed (not quiet); `pause_ms` per batch.
fn train_printing(pause_ms: u64) {
    let mut rng = StdRng::seed_from_u64(0);
    let x = Tensor::<Rank2<8, 2>>::randn(&mut rng);
    let y = x.clone().matmul(Tensor::<Rank2<2, 1>>::ones());
    let mut model = Linear::<2, 1>::new(&mut rng);
    let mut opt = Sgd::new(0.1);
    Trainer::new(&mut model, &mut opt)
        .epochs(2)
        .on_batch_end(move |_| std::thread::sleep(std::time::Duration::from_millis(pause_ms)))
        .fit(vec![(x, y)], |m, (x, y)| {
            Ok(Step::new(
                mse_loss(m.forward_train(x.trace_constant()), y),
                8,
            ))
        })
        .unwrap();
}

fn epoch_lines(pause_ms: u64) -> Vec<String> {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "samples_per_second_only_when_measurable",
            "--nocapture",
        ])
        .env(CHILD, pause_ms.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("epoch "))
        .map(String::from)
        .collect()
}

#[test]
fn samples_per_second_only_when_measurable() {
    if let Some(pause) = std::env::var_os(CHILD) {
        train_printing(pause.to_str().unwrap().parse().unwrap());
        return;
    }
    let fast = epoch_lines(0);
    assert_eq!(fast.len(), 2, "{fast:?}");
    for line in &fast {
        assert!(
            !line.contains("samples/s") && line.ends_with(" ms"),
            "{line}"
        );
    }
    let slow = epoch_lines(60);
    assert_eq!(slow.len(), 2, "{slow:?}");
    for line in &slow {
        assert!(line.contains(" samples/s "), "{line}");
    }
}

#[test]
fn curves_mark_the_best_epoch_and_an_early_stop() {
    let mut h = History::default();
    for (e, (train, val)) in [(1.0, 1.2), (0.8, 0.9), (0.6, 1.0), (0.5, 1.1)]
        .into_iter()
        .enumerate()
    {
        h.push(EpochRecord {
            epoch: e + 1,
            train_loss: train,
            val_loss: Some(val),
            ..Default::default()
        });
    }
    let svg = h.to_svg();
    assert_eq!(
        svg.matches(r#"class="mark""#).count(),
        1,
        "completed: best only"
    );
    assert!(svg.contains(">best (epoch 2)<"));
    h.stop = StopReason::EarlyStopping { patience: 2 };
    let charts = h.charts();
    assert_eq!(
        charts[0].marks.iter().map(|m| m.x).collect::<Vec<_>>(),
        [2.0, 4.0]
    );
    let svg = h.to_svg();
    assert_eq!(svg.matches(r#"class="mark""#).count(), 2);
    assert!(svg.contains(">early stop (patience 2)<"), "{svg}");
}
