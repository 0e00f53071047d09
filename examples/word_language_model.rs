//! A port of PyTorch's `examples/word_language_model`: an embedding, a recurrent network
//! (LSTM, GRU, RNN with tanh or relu) or a Transformer encoder chosen by `--model` at run time,
//! and a decoder to the vocabulary, optionally tied to the embedding (`--tied`), trained by
//! plain SGD on truncated back-propagation through time with gradient clipping and the
//! original's learning-rate annealing; the best model (by validation loss) is saved, reloaded
//! and scored on the test set.
//!
//! ```sh
//! cargo run --release --example word_language_model                     # LSTM, about 35 s
//! cargo run --release --example word_language_model -- --tied           # decoder = embedding
//! cargo run --release --example word_language_model -- --model GRU
//! cargo run --release --example word_language_model -- --model RNN_TANH --lr 5
//! cargo run --release --example word_language_model -- --model RNN_RELU --lr 5
//! cargo run --release --example word_language_model -- --model Transformer --lr 2
//! cargo run --release --example word_language_model -- --optimizer adam --lr 0.003
//! ```
//!
//! The original's `--lr 20` suits the LSTM and GRU on this data; the plain RNNs and the
//! Transformer diverge with it on characters and want the smaller rates above.
//!
//! Options as the original (defaults in brackets where they differ from it): `--model`
//! `LSTM | GRU | RNN_TANH | RNN_RELU | Transformer`, `--lr` 20, `--clip` 0.25, `--epochs`
//! \[5], `--batch_size` 20, `--bptt` 35, `--dropout` 0.2, `--tied`, `--seed` \[1111],
//! `--log-interval` \[100], `--save` \[`target/word_language_model.safetensors`], plus
//! `--words` \[24000], the number of words read, and `--optimizer` `sgd | adam | adamw`
//! \[sgd, the original's update] (with e.g. `--lr 0.003` for Adam). The sizes the original sets by flags
//! (`--emsize`, `--nhid`, `--nlayers`, `--nhead`) are in the model's types here:
//! [`EMSIZE`], [`NHID`], [`NLAYERS`], [`NHEAD`]; `--tied` needs `EMSIZE == NHID`, which the
//! compiler checks (the original raises at run time).
//!
//! * Data: the original reads a word-level corpus (Wikitext-2). Here the token stream is the
//!   bundled English word list as characters: words of the letters a-z, shuffled by seed, each
//!   followed by an end-of-word token (the original's `<eos>`), so the vocabulary has 27
//!   tokens; 80% of the words train, 10% validate, 10% test. `batchify` cuts a stream into
//!   `batch_size` contiguous columns, as the original, but stores them batch-first
//!   (`(batch, steps)`; the original's `(steps, batch)`), so the Transformer needs no
//!   transpose; `get_batch` takes `bptt` steps of every column and the targets one step later.
//! * Training: the hidden state is carried from one chunk to the next and detached in between
//!   (the original's `repackage_hidden`), gradients are clipped to norm `--clip`, and SGD
//!   updates `p -= lr * grad`; after each epoch the learning rate is divided by 4 when the
//!   validation loss did not improve, and the model is saved when it did.
//! * The Transformer variant computes the sinusoidal positional encoding for each chunk
//!   instead of keeping PyTorch's `pos_encoder.pe` buffer, so its file has no such entry.
//! * Saved files use PyTorch's `state_dict` names (`encoder.weight`, `rnn.weight_ih_l0`,
//!   `decoder.bias`, ...); with `--tied` the weight is written as both `encoder.weight` and
//!   `decoder.weight`, as PyTorch does.
//!
//! Dropout and the recurrent layers' dropout act in training only: `forward_train` in
//! training, `forward` in evaluation (the `train` flag of [`Model::forward`] picks one).

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use shaped::nn::loss::cross_entropy;
use shaped::nn::{
    Dropout, Embedding, EncoderInput, GRU, LSTM, Linear, Module, Params, RNN, RNNRelu, TiedLinear,
    TransformerConfig, TransformerEncoder, TransformerEncoderLayer, causal_mask,
};
use shaped::optim::{Adam, AdamW, Optimizer, Sgd, clip_grad_norm};
use shaped::prelude::*;
use shaped::serialize::{load_safetensors, save_safetensors};
use std::path::PathBuf;
use std::time::Instant;

/// Tokens: the end-of-word token (0) and the letters a-z (1-26).
const VOCAB: usize = 27;
/// The embedding size (`--emsize`).
const EMSIZE: usize = 64;
/// Hidden units per recurrent layer, or the Transformer's feed-forward size (`--nhid`).
const NHID: usize = 64;
/// Recurrent or Transformer layers (`--nlayers`).
const NLAYERS: usize = 2;
/// Attention heads (`--nhead`).
const NHEAD: usize = 2;
/// The evaluation batch size, as the original.
const EVAL_BATCH: usize = 10;

/// The recurrent network, chosen at run time; each variant is transparent in the
/// `state_dict`, so an LSTM's tensors are `rnn.weight_ih_l0`, ... as `nn.LSTM`'s.
#[derive(shaped::Params)]
enum Rnn {
    Lstm(LSTM<EMSIZE, NHID, NLAYERS>),
    Gru(GRU<EMSIZE, NHID, NLAYERS>),
    Tanh(RNN<EMSIZE, NHID, NLAYERS>),
    Relu(RNNRelu<EMSIZE, NHID, NLAYERS>),
}

/// The original's `RNNModel` (untied or tied) and `TransformerModel`. The fields are named
/// as the original's sub-modules, so files carry the same names.
#[derive(shaped::Params)]
enum Model {
    Rnn {
        drop: Dropout,
        encoder: Embedding<VOCAB, EMSIZE>,
        rnn: Rnn,
        decoder: Linear<NHID, VOCAB>,
    },
    /// `self.decoder.weight = self.encoder.weight`: one tensor, saved under both names.
    TiedRnn {
        drop: Dropout,
        encoder: Embedding<VOCAB, EMSIZE>,
        rnn: Rnn,
        #[param(tied(weight = "encoder.weight"))]
        decoder: TiedLinear<NHID, VOCAB>,
    },
    Transformer {
        drop: Dropout,
        encoder: Embedding<VOCAB, EMSIZE>,
        transformer_encoder: TransformerEncoder<EMSIZE, NHEAD, NHID>,
        decoder: Linear<EMSIZE, VOCAB>,
    },
}

/// `(NLAYERS, batch, NHID)`: a recurrent network's state between chunks, detached.
type State = Tensor<(Const<NLAYERS>, usize, Const<NHID>)>;

/// The state carried from one chunk to the next (none for the Transformer).
enum Hidden {
    None,
    H(State),
    Lstm(State, State),
}

/// The recurrent network's outputs `(batch, steps, NHID)`.
type Features<T> = Tensor<(usize, usize, Const<NHID>), f32, T>;

/// Logits `(batch, steps, VOCAB)`.
type Logits<T> = Tensor<(usize, usize, Const<VOCAB>), f32, T>;

/// `forward_train` (dropout on) or `forward` (off).
fn run<X, M: Module<X>>(layer: &mut M, x: X, train: bool) -> M::Output {
    if train {
        layer.forward_train(x)
    } else {
        layer.forward(x)
    }
}

impl Model {
    fn new(kind: &str, tied: bool, dropout: f64, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let drop = Dropout::new(dropout, &mut rng);
        let mut encoder = Embedding::new(&mut rng);
        // The original's init_weights: encoder and decoder weights uniform in +-0.1, bias 0.
        encoder.weight = Tensor::uniform(-0.1, 0.1, &mut rng);
        let mut decoder = Linear::new(&mut rng);
        decoder.weight = Tensor::uniform(-0.1, 0.1, &mut rng);
        decoder.bias = Some(Tensor::zeros());
        let rnn = match kind {
            "LSTM" => Rnn::Lstm(LSTM::new(&mut rng).with_dropout(dropout, &mut rng)),
            "GRU" => Rnn::Gru(GRU::new(&mut rng).with_dropout(dropout, &mut rng)),
            "RNN_TANH" => Rnn::Tanh(RNN::new(&mut rng).with_dropout(dropout, &mut rng)),
            "RNN_RELU" => Rnn::Relu(RNNRelu::new(&mut rng).with_dropout(dropout, &mut rng)),
            "Transformer" => {
                let config = TransformerConfig::default().dropout(dropout);
                let layer = TransformerEncoderLayer::new(config, &mut rng);
                return Model::Transformer {
                    drop,
                    encoder,
                    transformer_encoder: TransformerEncoder::new(layer, NLAYERS, &mut rng),
                    decoder,
                };
            }
            other => {
                eprintln!(
                    "unknown --model `{other}`: LSTM, GRU, RNN_TANH, RNN_RELU or Transformer"
                );
                std::process::exit(2);
            }
        };
        if tied {
            let mut decoder = TiedLinear::new(&mut rng);
            decoder.bias = Some(Tensor::zeros());
            Model::TiedRnn {
                drop,
                encoder,
                rnn,
                decoder,
            }
        } else {
            Model::Rnn {
                drop,
                encoder,
                rnn,
                decoder,
            }
        }
    }

    /// Zeros of the model's state for `batch` columns (the original's `init_hidden`).
    fn init_hidden(&self, batch: usize) -> Hidden {
        let zeros = || State::zeros_with_shape((Const, batch, Const));
        match self {
            Model::Rnn { rnn, .. } | Model::TiedRnn { rnn, .. } => match rnn {
                Rnn::Lstm(_) => Hidden::Lstm(zeros(), zeros()),
                _ => Hidden::H(zeros()),
            },
            Model::Transformer { .. } => Hidden::None,
        }
    }

    /// Logits for `tokens` `(batch, steps)` from `hidden`, and the next chunk's state
    /// (detached: gradients stop at the chunk boundary).
    fn forward<T: Tape<f32>>(
        &mut self,
        tokens: &Indices<(usize, usize)>,
        hidden: Hidden,
        train: bool,
    ) -> (Logits<T>, Hidden) {
        match self {
            Model::Rnn {
                drop,
                encoder,
                rnn,
                decoder,
            } => {
                let (y, hidden) = recurrent(drop, encoder, rnn, tokens, hidden, train);
                (decoder.forward(y), hidden)
            }
            Model::TiedRnn {
                drop,
                encoder,
                rnn,
                decoder,
            } => {
                let (y, hidden) = recurrent(drop, encoder, rnn, tokens, hidden, train);
                (decoder.forward(&encoder.weight, y), hidden)
            }
            Model::Transformer {
                drop,
                encoder,
                transformer_encoder,
                decoder,
            } => {
                let steps = tokens.shape().1;
                let x = encoder
                    .lookup::<_, T>(tokens)
                    .mul_scalar((EMSIZE as f32).sqrt());
                let x = run(
                    drop,
                    x.add(positional_encoding(steps).traced_as::<T>()),
                    train,
                );
                let input = EncoderInput::new(x).with_mask(causal_mask(steps));
                (
                    decoder.forward(run(transformer_encoder, input, train)),
                    Hidden::None,
                )
            }
        }
    }
}

/// Embedding, dropout, the recurrent network from `hidden`, dropout: `(batch, steps, NHID)`.
fn recurrent<T: Tape<f32>>(
    drop: &mut Dropout,
    encoder: &Embedding<VOCAB, EMSIZE>,
    rnn: &mut Rnn,
    tokens: &Indices<(usize, usize)>,
    hidden: Hidden,
    train: bool,
) -> (Features<T>, Hidden) {
    let x = run(drop, encoder.lookup::<_, T>(tokens), train);
    let (y, hidden) = match (rnn, hidden) {
        (Rnn::Lstm(lstm), Hidden::Lstm(h, c)) => {
            let state = (h.traced_as::<T>(), c.traced_as::<T>());
            let (y, (h, c)) = run(lstm, (x, state), train);
            (y, Hidden::Lstm(h.detach(), c.detach()))
        }
        (Rnn::Gru(gru), Hidden::H(h)) => {
            let (y, h) = run(gru, (x, h.traced_as::<T>()), train);
            (y, Hidden::H(h.detach()))
        }
        (Rnn::Tanh(rnn), Hidden::H(h)) => {
            let (y, h) = run(rnn, (x, h.traced_as::<T>()), train);
            (y, Hidden::H(h.detach()))
        }
        (Rnn::Relu(rnn), Hidden::H(h)) => {
            let (y, h) = run(rnn, (x, h.traced_as::<T>()), train);
            (y, Hidden::H(h.detach()))
        }
        _ => unreachable!("init_hidden gives each network its own kind of state"),
    };
    (run(drop, y, train), hidden)
}

/// The original's `PositionalEncoding` table for `steps` positions: `sin` on even features,
/// `cos` on odd ones, at wavelengths growing geometrically to 10000.
fn positional_encoding(steps: usize) -> Tensor<(usize, Const<EMSIZE>)> {
    let mut pe = vec![0.0f32; steps * EMSIZE];
    for pos in 0..steps {
        for i in (0..EMSIZE).step_by(2) {
            let angle = pos as f64 * (-(10000f64.ln()) * i as f64 / EMSIZE as f64).exp();
            pe[pos * EMSIZE + i] = angle.sin() as f32;
            pe[pos * EMSIZE + i + 1] = angle.cos() as f32;
        }
    }
    Tensor::from_vec_with_shape(pe, (steps, Const)).expect("steps * EMSIZE values")
}

/// A token stream cut into `batch` contiguous columns, stored batch-first.
struct Batched {
    /// `batch` rows of `steps` tokens.
    tokens: Vec<usize>,
    batch: usize,
    steps: usize,
}

/// The original's `batchify`: drops the tokens that do not fill a whole column.
fn batchify(stream: &[usize], batch: usize) -> Batched {
    let steps = stream.len() / batch;
    Batched {
        tokens: stream[..steps * batch].to_vec(),
        batch,
        steps,
    }
}

/// The original's `get_batch`: `bptt` steps (fewer at the end) from step `i` of every column,
/// and the next token of each as the target (flattened in the logits' row order).
fn get_batch(
    source: &Batched,
    i: usize,
    bptt: usize,
) -> (Indices<(usize, usize)>, Indices<(usize,)>) {
    let len = bptt.min(source.steps - 1 - i);
    let mut data = Vec::with_capacity(source.batch * len);
    let mut target = Vec::with_capacity(source.batch * len);
    for row in source.tokens.chunks(source.steps) {
        data.extend_from_slice(&row[i..i + len]);
        target.extend_from_slice(&row[i + 1..i + 1 + len]);
    }
    (
        Indices::from_vec_with_shape(data, (source.batch, len)).expect("batch * len tokens"),
        Indices::from_vec_with_shape(target, (source.batch * len,)).expect("batch * len tokens"),
    )
}

/// The mean cross-entropy of `logits` against `targets` (`log_softmax` + NLL as the
/// original's `criterion`).
fn loss<T: Tape<f32>>(logits: Logits<T>, targets: &Indices<(usize,)>) -> Tensor<(), f32, T> {
    let rows = targets.numel();
    cross_entropy(logits.reshape_dyn((rows, Const::<VOCAB>)), targets)
}

/// The mean loss per token over `source` (the original's `evaluate`), dropout off.
fn evaluate(model: &mut Model, source: &Batched, bptt: usize) -> f64 {
    let mut total = 0.0;
    let mut hidden = model.init_hidden(source.batch);
    for i in (0..source.steps - 1).step_by(bptt) {
        let (data, targets) = get_batch(source, i, bptt);
        let (logits, next) = model.forward::<NoTape>(&data, hidden, false);
        hidden = next;
        total += data.shape().1 as f64 * loss(logits, &targets).as_slice()[0] as f64;
    }
    total / (source.steps - 1) as f64
}

struct Args {
    model: String,
    lr: f64,
    clip: f64,
    epochs: usize,
    batch_size: usize,
    bptt: usize,
    dropout: f64,
    tied: bool,
    seed: u64,
    log_interval: usize,
    save: PathBuf,
    words: usize,
    optimizer: String,
}

fn parse_args() -> Args {
    let mut args = Args {
        model: "LSTM".into(),
        lr: 20.0,
        clip: 0.25,
        epochs: 5,
        batch_size: 20,
        bptt: 35,
        dropout: 0.2,
        tied: false,
        seed: 1111,
        log_interval: 100,
        save: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("target/word_language_model.safetensors"),
        words: 24000,
        optimizer: "sgd".into(),
    };
    let mut it = std::env::args().skip(1);
    fn value<T: std::str::FromStr>(flag: &str, v: Option<String>) -> T {
        v.and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            eprintln!("{flag} needs a value (see the comment at the top of the file)");
            std::process::exit(2)
        })
    }
    while let Some(a) = it.next() {
        match a.as_str() {
            "--model" => args.model = value(&a, it.next()),
            "--lr" => args.lr = value(&a, it.next()),
            "--clip" => args.clip = value(&a, it.next()),
            "--epochs" => args.epochs = value(&a, it.next()),
            "--batch_size" => args.batch_size = value(&a, it.next()),
            "--bptt" => args.bptt = value(&a, it.next()),
            "--dropout" => args.dropout = value(&a, it.next()),
            "--tied" => args.tied = true,
            "--seed" => args.seed = value(&a, it.next()),
            "--log-interval" => args.log_interval = value(&a, it.next()),
            "--save" => args.save = value(&a, it.next()),
            "--words" => args.words = value(&a, it.next()),
            "--optimizer" => args.optimizer = value(&a, it.next()),
            other => {
                eprintln!("unknown argument `{other}` (see the comment at the top of the file)");
                std::process::exit(2)
            }
        }
    }
    args
}

/// The shuffled word list as three token streams (train, valid, test): characters 1-26, and
/// 0 after each word.
fn corpus(words: usize, seed: u64) -> Result<[Vec<usize>; 3]> {
    let mut list: Vec<String> = shaped::data::words()?
        .into_iter()
        .filter(|w| w.bytes().all(|b| b.is_ascii_lowercase()))
        .collect();
    list.shuffle(&mut StdRng::seed_from_u64(seed));
    list.truncate(words);
    let tokenize = |ws: &[String]| -> Vec<usize> {
        ws.iter()
            .flat_map(|w| w.bytes().map(|b| (b - b'a') as usize + 1).chain([0]))
            .collect()
    };
    let (n_train, n_valid) = (list.len() * 8 / 10, list.len() / 10);
    Ok([
        tokenize(&list[..n_train]),
        tokenize(&list[n_train..n_train + n_valid]),
        tokenize(&list[n_train + n_valid..]),
    ])
}

fn main() -> Result<()> {
    let args = parse_args();
    if args.tied && args.model == "Transformer" {
        eprintln!("--tied applies to the recurrent models, as in the original");
        std::process::exit(2);
    }
    let [train, valid, test] = corpus(args.words, args.seed)?;
    println!(
        "tokens: train {}, valid {}, test {}; vocabulary {VOCAB}",
        train.len(),
        valid.len(),
        test.len()
    );
    let train_data = batchify(&train, args.batch_size);
    let val_data = batchify(&valid, EVAL_BATCH);
    let test_data = batchify(&test, EVAL_BATCH);

    let mut model = Model::new(&args.model, args.tied, args.dropout, args.seed);
    println!(
        "model {}{}: {} parameters ({} tensors; saved as {})",
        args.model,
        if args.tied { ", tied" } else { "" },
        model.num_params(),
        model.param_names().len(),
        model.state_dict_names().len()
    );
    // The original's update is plain SGD (`p.data.add_(p.grad, alpha=-lr)`); `--optimizer`
    // picks another at run time, as a boxed optimizer.
    let mut opt: Box<dyn Optimizer<f32>> = match args.optimizer.as_str() {
        "sgd" => Box::new(Sgd::new(args.lr)),
        "adam" => Box::new(Adam::new(args.lr)),
        "adamw" => Box::new(AdamW::new(args.lr)),
        other => {
            eprintln!("unknown --optimizer `{other}`: sgd, adam or adamw");
            std::process::exit(2)
        }
    };
    let mut best_val: Option<f64> = None;
    if let Some(dir) = args.save.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let start = Instant::now();
    for epoch in 1..=args.epochs {
        let epoch_start = Instant::now();
        let mut hidden = model.init_hidden(args.batch_size);
        let (mut total, mut count, mut interval_start) = (0.0, 0, Instant::now());
        let batches = (train_data.steps - 1).div_ceil(args.bptt);
        for (batch, i) in (0..train_data.steps - 1).step_by(args.bptt).enumerate() {
            let (data, targets) = get_batch(&train_data, i, args.bptt);
            let (logits, next) = model.forward::<OwnedTape<f32>>(&data, hidden, true);
            hidden = next;
            let loss = loss(logits, &targets);
            total += loss.as_slice()[0] as f64;
            count += 1;
            let mut grads = loss.backward();
            clip_grad_norm(&model, &mut grads, args.clip);
            opt.step(&mut model, &grads);
            if (batch + 1) % args.log_interval == 0 {
                let cur = total / count as f64;
                println!(
                    "| epoch {epoch:3} | {:5}/{batches:5} batches | lr {:5.2} | ms/batch {:6.2} | loss {cur:5.2} | ppl {:8.2}",
                    batch + 1,
                    opt.lr(),
                    interval_start.elapsed().as_secs_f64() * 1000.0 / count as f64,
                    cur.exp()
                );
                (total, count, interval_start) = (0.0, 0, Instant::now());
            }
        }
        let val_loss = evaluate(&mut model, &val_data, args.bptt);
        println!("{}", "-".repeat(89));
        println!(
            "| end of epoch {epoch:3} | time: {:5.2}s | valid loss {val_loss:5.2} | valid ppl {:8.2}",
            epoch_start.elapsed().as_secs_f64(),
            val_loss.exp()
        );
        println!("{}", "-".repeat(89));
        if best_val.is_none_or(|best| val_loss < best) {
            save_safetensors(&model, &args.save)?;
            best_val = Some(val_loss);
        } else {
            // Anneal the learning rate if no improvement has been seen on validation.
            let lr = opt.lr() / 4.0;
            opt.set_lr(lr);
        }
    }

    // Load the best saved model into a fresh one (another initialisation: every tensor is
    // replaced) and score it on the test set.
    let mut best = Model::new(&args.model, args.tied, args.dropout, args.seed + 1);
    load_safetensors(&mut best, &args.save)?;
    let test_loss = evaluate(&mut best, &test_data, args.bptt);
    println!("{}", "=".repeat(89));
    println!(
        "| End of training | test loss {test_loss:5.2} | test ppl {:8.2} | {:.1}s",
        test_loss.exp(),
        start.elapsed().as_secs_f64()
    );
    println!("{}", "=".repeat(89));
    println!("best model: {}", args.save.display());
    Ok(())
}
