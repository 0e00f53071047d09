//! The training-step workloads of issue 15, shared by the criterion bench (train_step.rs)
//! and the CPU-time harness (step_cpu.rs): each function builds a model, its data and its
//! optimizer from fixed seeds and returns one training step (forward, backward, optimizer
//! step) as a closure that returns the gradients, so that nothing is optimised away.
//!
//! * W2 [`mlp`]: 784-256-128-10 ReLU MLP, batch 64, cross-entropy, Adam;
//! * W3 [`cnn`]: Conv2d(1,16,3) ReLU MaxPool2 Conv2d(16,32,3) ReLU MaxPool2 Flatten
//!   Linear(800,10) on 28x28, batch 32, cross-entropy, Adam;
//! * W4 [`lstm`]: LSTM(64, 128) over 32 steps, batch 16, Linear(128, 64) at every step,
//!   cross-entropy over the 64 classes, Adam;
//! * W7 [`time_seq`]: PyTorch's `time_sequence_prediction` model, two `LSTMCell`s (1 -> 51,
//!   51 -> 51) and `Linear(51, 1)` stepped over 97 sine waves of 999 steps, one output per
//!   step, MSE over all outputs, Adam (lr 0.01), in f64 or f32;
//! * W8 [`transformer_lm`]: a 2-layer pre-norm transformer language model, Embedding(512,
//!   256) plus sinusoidal positions, 2 x TransformerEncoderLayer(256, 4 heads, ff 1024,
//!   norm_first, dropout 0) under a causal mask, Linear(256, 512), cross-entropy over every
//!   position, AdamW (lr 1e-3); sequences of 128 tokens, batch 16.
//!
//! Initialisation is PyTorch's default from fixed seeds. The input is traced with
//! `trace_constant` (no gradient of its own, like a PyTorch input with
//! `requires_grad=False`), so the step does the same work as PyTorch's.

use rand::{RngExt, SeedableRng};
use shaped::nn::loss::{cross_entropy, mse_loss};
use shaped::nn::{
    Conv2d, Embedding, EncoderInput, Flatten, LSTM, LSTMCell, Linear, MaxPool2d, Module, ReLU,
    TransformerConfig, TransformerEncoder, TransformerEncoderLayer, causal_mask,
};
use shaped::optim::{Adam, AdamW, Optimizer};
use shaped::prelude::*;

/// One training step, returning its gradients.
pub type Step<E> = Box<dyn FnMut() -> Gradients<E>>;

fn labels<const N: usize>(classes: usize, rng: &mut rand::rngs::StdRng) -> Indices<Rank1<N>> {
    Indices::from_vec((0..N).map(|_| rng.random_range(0..classes)).collect()).expect("N labels")
}

/// W2.
pub fn mlp() -> Step<f32> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let mut model = (
        Linear::<784, 256>::new(&mut rng),
        ReLU,
        Linear::<256, 128>::new(&mut rng),
        ReLU,
        Linear::<128, 10>::new(&mut rng),
    );
    let x = Tensor::<Rank2<64, 784>>::randn(&mut rng);
    let y = labels::<64>(10, &mut rng);
    let mut opt = Adam::new(1e-3);
    Box::new(move || {
        let loss = cross_entropy(model.forward_train(x.clone().trace_constant()), &y);
        let grads = loss.backward();
        opt.step(&mut model, &grads);
        grads
    })
}

/// W3.
pub fn cnn() -> Step<f32> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
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
    let y = labels::<32>(10, &mut rng);
    let mut opt = Adam::new(1e-3);
    Box::new(move || {
        let loss = cross_entropy(model.forward_train(x.clone().trace_constant()), &y);
        let grads = loss.backward();
        opt.step(&mut model, &grads);
        grads
    })
}

/// W4.
pub fn lstm() -> Step<f32> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(2);
    let mut model = (
        LSTM::<64, 128>::new(&mut rng),
        Linear::<128, 64>::new(&mut rng),
    );
    let x = Tensor::<Rank3<16, 32, 64>>::randn(&mut rng);
    let y = labels::<{ 16 * 32 }>(64, &mut rng);
    let mut opt = Adam::new(1e-3);
    Box::new(move || {
        let (seq, _) = model.0.forward_train(x.clone().trace_constant());
        let logits = model
            .1
            .forward_train(seq)
            .reshape::<Rank2<{ 16 * 32 }, 64>>();
        let loss = cross_entropy(logits, &y);
        let grads = loss.backward();
        opt.step(&mut model, &grads);
        grads
    })
}

/// W7's sizes: sequences, steps per sequence (the input is the first 999 of 1000 values,
/// the target the last 999) and the hidden size.
const W7_BATCH: usize = 97;
const W7_STEPS: usize = 999;
const W7_HIDDEN: usize = 51;

/// PyTorch's `time_sequence_prediction` model.
struct TimeSeq<E: Float> {
    lstm1: LSTMCell<1, W7_HIDDEN, E>,
    lstm2: LSTMCell<W7_HIDDEN, W7_HIDDEN, E>,
    linear: Linear<W7_HIDDEN, 1, E>,
}
shaped::params!(TimeSeq<E> { lstm1, lstm2, linear });

/// The sine waves of the example's `generate_sine_wave.py` (`sin((t + shift) / 20)`), with
/// the shifts `(37 i) mod 160 - 80` instead of random ones so that benches/pytorch/bench.py
/// reads the same data: `(input, target)` as per-step `(97, 1)` columns and a `(97, 999)`
/// matrix.
#[allow(clippy::type_complexity)]
fn sine_waves<E: Float>() -> (Vec<Tensor<(usize, Const<1>), E>>, Tensor<(usize, usize), E>) {
    let wave = |i: usize, t: usize| {
        let shift = (37 * i % 160) as f64 - 80.0;
        E::from_f64(((t as f64 + shift) / 20.0).sin())
    };
    let columns = (0..W7_STEPS)
        .map(|t| {
            let col = (0..W7_BATCH).map(|i| wave(i, t)).collect();
            Tensor::from_vec_with_shape(col, (W7_BATCH, Const)).expect("a column")
        })
        .collect();
    let target = (0..W7_BATCH)
        .flat_map(|i| (1..=W7_STEPS).map(move |t| wave(i, t)))
        .collect();
    let target = Tensor::from_vec_with_shape(target, (W7_BATCH, W7_STEPS)).expect("the target");
    (columns, target)
}

/// W7 in `E`.
pub fn time_seq<E: Float>() -> Step<E> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut model = TimeSeq::<E> {
        lstm1: LSTMCell::new(&mut rng),
        lstm2: LSTMCell::new(&mut rng),
        linear: Linear::new(&mut rng),
    };
    let (input, target) = sine_waves::<E>();
    let mut opt = Adam::new(0.01);
    Box::new(move || {
        let mut outputs = Vec::with_capacity(W7_STEPS);
        let mut state = None;
        for x in &input {
            let x = x.clone().trace_constant();
            let (h1, c1, h2, c2) = match state.take() {
                None => {
                    let (h1, c1) = model.lstm1.forward(x);
                    let (h2, c2) = model.lstm2.forward(h1.clone());
                    (h1, c1, h2, c2)
                }
                Some((h1, c1, h2, c2)) => {
                    let (h1, c1) = model.lstm1.forward((x, (h1, c1)));
                    let (h2, c2) = model.lstm2.forward((h1.clone(), (h2, c2)));
                    (h1, c1, h2, c2)
                }
            };
            outputs.push(model.linear.forward(h2.clone()));
            state = Some((h1, c1, h2, c2));
        }
        let loss = mse_loss(Tensor::cat::<1, _>(outputs), target.clone());
        let grads = loss.backward();
        opt.step(&mut model, &grads);
        grads
    })
}

const W8_VOCAB: usize = 512;
const W8_D: usize = 256;
const W8_SEQ: usize = 128;
const W8_BATCH: usize = 16;

/// The sinusoidal position table `(seq, d)` of PyTorch's word_language_model example.
fn positions() -> Tensor<Rank2<W8_SEQ, W8_D>> {
    let mut pe = vec![0f32; W8_SEQ * W8_D];
    for pos in 0..W8_SEQ {
        for i in (0..W8_D).step_by(2) {
            let angle = pos as f64 * (-(10000f64.ln()) * i as f64 / W8_D as f64).exp();
            pe[pos * W8_D + i] = angle.sin() as f32;
            pe[pos * W8_D + i + 1] = angle.cos() as f32;
        }
    }
    Tensor::from_vec(pe).expect("seq * d values")
}

/// W8.
pub fn transformer_lm() -> Step<f32> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(8);
    let mut model = (
        Embedding::<W8_VOCAB, W8_D>::new(&mut rng),
        TransformerEncoder::new(
            TransformerEncoderLayer::<W8_D, 4, 1024>::new(
                TransformerConfig::default().dropout(0.0).norm_first(true),
                &mut rng,
            ),
            2,
            &mut rng,
        ),
        Linear::<W8_D, W8_VOCAB>::new(&mut rng),
    );
    let tokens = Indices::<Rank2<W8_BATCH, W8_SEQ>>::from_vec(
        (0..W8_BATCH * W8_SEQ)
            .map(|_| rng.random_range(0..W8_VOCAB))
            .collect(),
    )
    .expect("batch * seq tokens");
    let y = labels::<{ W8_BATCH * W8_SEQ }>(W8_VOCAB, &mut rng);
    let (pe, mask) = (positions(), causal_mask::<f32>(W8_SEQ));
    let mut opt = AdamW::new(1e-3);
    Box::new(move || {
        let x = model.0.lookup::<_, OwnedTape<f32>>(&tokens);
        let x = x.add(pe.clone());
        let h = model
            .1
            .forward_train(EncoderInput::new(x).with_mask(mask.clone()));
        let logits = model
            .2
            .forward_train(h)
            .reshape::<Rank2<{ W8_BATCH * W8_SEQ }, W8_VOCAB>>();
        let loss = cross_entropy(logits, &y);
        let grads = loss.backward();
        opt.step(&mut model, &grads);
        grads
    })
}
