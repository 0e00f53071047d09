//! A port of PyTorch's `examples/time_sequence_prediction`: two stacked `LSTMCell`s
//! (1 -> 51, 51 -> 51) and a `Linear(51, 1)` in f64 learn to continue sine waves, trained
//! with L-BFGS (lr 0.8) through a closure on the mean squared error of the next value, then
//! run on their own outputs to predict 1000 future steps.
//!
//! ```sh
//! cargo run --release --example time_sequence_prediction
//! ```
//!
//! Data as the original's `generate_sine_wave.py`: `sin((t + shift) / 20)` with a random
//! shift in `[-80, 80)` per sequence, the first 3 sequences held out for testing. Smaller
//! than the original so that it runs in well under a minute on 2 cores: 13 sequences of 400
//! steps (the original: 100 of 1000) and 8 L-BFGS steps (the original: 15), each up to 20
//! iterations and 25 closure calls as PyTorch's defaults.
//!
//! It prints, per step, the training loss where the step started (what the closure's first
//! call returns, as the original prints it), the number of closure calls and the test loss
//! over the known part of the held-out sequences, then the final training loss, and writes the 3 test predictions (known part
//! solid, the 1000 predicted steps dotted) as an SVG plot to
//! `target/time_sequence_prediction/predict.svg`.

use rand::{RngExt, SeedableRng};
use shaped::nn::loss::mse_loss;
use shaped::nn::{LSTMCell, Linear, Module};
use shaped::optim::Lbfgs;
use shaped::prelude::*;
use std::fmt::Write as _;

/// The sine period parameter of the original (`T = 20`).
const PERIOD: f64 = 20.0;
/// Steps per sequence (the original: 1000).
const LEN: usize = 400;
/// Sequences; the first `TEST` are held out (the original: 100, of which 3).
const SEQUENCES: usize = 13;
const TEST: usize = 3;
/// L-BFGS steps (the original: 15).
const STEPS: usize = 8;
/// Steps predicted past the end of the known input.
const FUTURE: usize = 1000;
const HIDDEN: usize = 51;

/// One time step of a batch: `(batch, 1)`.
type Column<T = NoTape> = Tensor<(usize, Const<1>), f64, T>;
/// The hidden or cell state of a batch: `(batch, 51)`.
type Hidden<T> = Tensor<(usize, Const<HIDDEN>), f64, T>;

/// The original's `Sequence` module; `lstm1`, `lstm2` and `linear` name its tensors.
struct Sequence {
    lstm1: LSTMCell<1, HIDDEN, f64>,
    lstm2: LSTMCell<HIDDEN, HIDDEN, f64>,
    linear: Linear<HIDDEN, 1, f64>,
}
shaped::params!(Sequence: f64 { lstm1, lstm2, linear });

impl Sequence {
    fn new(seed: u64) -> Self {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        Sequence {
            lstm1: LSTMCell::new(&mut rng),
            lstm2: LSTMCell::new(&mut rng),
            linear: Linear::new(&mut rng),
        }
    }

    /// The prediction after every input step, then `future` more steps fed back from the
    /// model's own output, as a `(batch, steps + future)` matrix. `lift` gives each input
    /// column the tape `T`: traced for training, none for prediction.
    fn forward<T: Tape<f64>>(
        &self,
        input: &[Column],
        future: usize,
        lift: impl Fn(Column) -> Column<T>,
    ) -> Tensor<(usize, usize), f64, T> {
        let mut outputs: Vec<Column<T>> = Vec::with_capacity(input.len() + future);
        let mut state: Option<[Hidden<T>; 4]> = None;
        let step = |x: Column<T>, state: &mut Option<[_; 4]>| {
            let (h1, c1, h2, c2) = match state.take() {
                // The first step starts from zero states, as the original's `torch.zeros`.
                None => {
                    let (h1, c1) = self.lstm1.forward(x);
                    let (h2, c2) = self.lstm2.forward(h1.clone());
                    (h1, c1, h2, c2)
                }
                Some([h1, c1, h2, c2]) => {
                    let (h1, c1) = self.lstm1.forward((x, (h1, c1)));
                    let (h2, c2) = self.lstm2.forward((h1.clone(), (h2, c2)));
                    (h1, c1, h2, c2)
                }
            };
            let output: Column<T> = self.linear.forward(h2.clone());
            *state = Some([h1, c1, h2, c2]);
            output
        };
        for x in input {
            let output = step(lift(x.clone()), &mut state);
            outputs.push(output);
        }
        for _ in 0..future {
            let last = outputs.last().cloned().expect("at least one input step");
            let output = step(last, &mut state);
            outputs.push(output);
        }
        Tensor::cat::<1, _>(outputs)
    }
}

/// Sequences `[sequence][step]` of `sin((t + shift) / PERIOD)`.
fn sine_waves(seed: u64) -> Vec<Vec<f64>> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let span = 4 * PERIOD as i64;
    (0..SEQUENCES)
        .map(|_| {
            let shift = rng.random_range(-span..span);
            (0..LEN)
                .map(|t| ((t as i64 + shift) as f64 / PERIOD).sin())
                .collect()
        })
        .collect()
}

/// Steps `range` of the sequences as one `(batch, 1)` column per step.
fn columns(waves: &[Vec<f64>], range: std::ops::Range<usize>) -> Result<Vec<Column>> {
    range
        .map(|t| {
            let column = waves.iter().map(|w| w[t]).collect();
            Tensor::from_vec_with_shape(column, (waves.len(), Const))
        })
        .collect()
}

/// Steps `range` of the sequences as a `(batch, steps)` matrix.
fn matrix(
    waves: &[Vec<f64>],
    range: std::ops::Range<usize>,
) -> Result<Tensor<(usize, usize), f64>> {
    let values = waves
        .iter()
        .flat_map(|w| w[range.clone()].to_vec())
        .collect();
    Tensor::from_vec_with_shape(values, (waves.len(), range.len()))
}

/// Each row of `pred` as a polyline: the first `known` points solid, the rest dotted.
fn plot(pred: &Tensor<(usize, usize), f64>, known: usize) -> String {
    let [rows, cols] = [pred.dims()[0], pred.dims()[1]];
    let (width, height, margin) = (1200.0, 500.0, 40.0);
    let x = |t: usize| margin + (width - 2.0 * margin) * t as f64 / (cols - 1).max(1) as f64;
    let y = |v: f64| height / 2.0 - (height / 2.0 - margin) * v.clamp(-1.5, 1.5) / 1.5;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{margin}\" y=\"25\" font-family=\"sans-serif\" font-size=\"16\">Predict future \
         values for time sequences (dotted lines are predicted values)</text>\n\
         <line x1=\"{margin}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"#ccc\"/>\n\
         <line x1=\"{2:.1}\" y1=\"{margin}\" x2=\"{2:.1}\" y2=\"{3}\" stroke=\"#ccc\"/>\n",
        y(0.0),
        width - margin,
        x(known - 1),
        height - margin
    );
    let colours = ["#d62728", "#2ca02c", "#1f77b4"];
    for row in 0..rows {
        let values = &pred.as_slice()[row * cols..(row + 1) * cols];
        let colour = colours[row % colours.len()];
        for (range, dash) in [
            (0..known, ""),
            (known - 1..cols, " stroke-dasharray=\"2,3\""),
        ] {
            let mut points = String::new();
            for t in range {
                let _ = write!(points, "{:.1},{:.1} ", x(t), y(values[t]));
            }
            let _ = writeln!(
                svg,
                "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\"{dash} points=\"{}\"/>",
                points.trim_end()
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}

fn main() -> Result<()> {
    let out =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/time_sequence_prediction");
    std::fs::create_dir_all(&out)?;

    let waves = sine_waves(2);
    let (test_waves, train_waves) = waves.split_at(TEST);
    // Input: every step but the last; target: every step but the first.
    let train_input = columns(train_waves, 0..LEN - 1)?;
    let train_target = matrix(train_waves, 1..LEN)?;
    let test_input = columns(test_waves, 0..LEN - 1)?;
    let test_target = matrix(test_waves, 1..LEN)?;
    println!(
        "{} training and {} test sine waves of {LEN} steps",
        train_waves.len(),
        test_waves.len()
    );

    let mut model = Sequence::new(0);
    let mut opt = Lbfgs::<f64>::new(0.8);
    let started = std::time::Instant::now();
    let mut prediction = None;
    for step in 0..STEPS {
        let evaluations = opt.evaluations();
        let loss = opt.step(&mut model, |m| {
            let pred = m.forward(&train_input, 0, Column::trace_constant);
            mse_loss(pred, train_target.clone())
        });
        // Predict without tracing: the known steps, then FUTURE steps on its own outputs.
        let pred = model.forward(&test_input, FUTURE, |x| x);
        let known: Vec<f64> = (0..TEST)
            .flat_map(|row| {
                let cols = LEN - 1 + FUTURE;
                pred.as_slice()[row * cols..row * cols + LEN - 1].to_vec()
            })
            .collect();
        let test_loss = mse_loss(
            Tensor::from_vec_with_shape(known, (TEST, LEN - 1))?,
            test_target.clone(),
        );
        println!(
            "step {:>2}: train loss {loss:.6e} ({} closure calls)  test loss {:.6e}",
            step + 1,
            opt.evaluations() - evaluations,
            test_loss.as_slice()[0]
        );
        prediction = Some(pred);
    }
    let final_loss = mse_loss(model.forward(&train_input, 0, |x| x), train_target.clone());
    println!(
        "{STEPS} L-BFGS steps in {:.1} s: final train loss {:.6e}",
        started.elapsed().as_secs_f64(),
        final_loss.as_slice()[0]
    );
    let pred = prediction.expect("at least one step");
    let path = out.join("predict.svg");
    std::fs::write(&path, plot(&pred, LEN - 1))?;
    println!(
        "wrote {} ({FUTURE} predicted steps per test wave)",
        path.display()
    );
    Ok(())
}
