//! A character-level language model: Embedding -> LSTM -> Linear, trained on the bundled
//! English word list, then generating new word-like strings one character at a time.
//!
//! ```sh
//! cargo run --release --example char_lstm                  # train (about a minute), save, sample
//! cargo run --release --example char_lstm -- --sample-only # load the saved model and sample
//! cargo run --release --example char_lstm -- --sample-only --seed 7   # other samples
//! cargo run --release --example char_lstm -- --model my.safetensors   # another model file
//! ```
//!
//! * Data: the words of `data/words.txt` made only of the letters a-z, 2 to 12 of them (about
//!   61,000), shuffled by seed; 1,000 are held out for validation and training draws random
//!   batches from the rest. Characters are tokens 1-26; token 0 (`.`) marks both the start
//!   and the end of a word, so `cat` is the input `. c a t` with the target `c a t .`,
//!   padded to the longest word of its batch, on positions that the loss ignores.
//! * Shapes: the batch and the sequence length are known only at run time (each batch is as
//!   long as its longest word), so they are *named* run-time dimensions, `Dyn<Batch>` and
//!   `Dyn<Seq>`: the compiler checks that they stay in their places through the embedding,
//!   the LSTM, the head and the loss, e.g. a `(Seq, Batch)` token tensor passed where
//!   `(Batch, Seq)` is expected does not build.
//! * Model: 27 tokens -> 16-dimensional embedding -> LSTM with 128 hidden units -> 27 logits
//!   per position, trained with Adam on the masked cross-entropy.
//! * Generation: start from `.` and a zero state, run one LSTM step per character with
//!   `LSTM::step` (which returns the state to feed back), and choose the next character with
//!   `shaped::sample` (greedy, temperature, top-k, top-p) from a seeded RNG, until `.`.
//! * The model is saved as safetensors under PyTorch `state_dict` names (`emb.weight`,
//!   `lstm.weight_ih_l0`, ..., `head.bias`); `--sample-only` loads it into a freshly
//!   initialised model and samples without retraining.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use shaped::nn::loss::{CrossEntropyLoss, Reduction};
use shaped::nn::{Embedding, LSTM, Linear, Module, Params};
use shaped::optim::{Adam, Optimizer, clip_grad_norm};
use shaped::prelude::*;
use shaped::sample::{self, Sampler};
use shaped::serialize::{load_safetensors, save_safetensors};
use shaped::shape::{Batch, Prod, Seq};
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Instant;

/// Tokens: `.` (start and end) and the 26 letters.
const VOCAB: usize = 27;
const EMBED: usize = 16;
const HIDDEN: usize = 128;
/// The longest word used.
const MAX_LEN: usize = 12;
/// Sequences per batch.
const BATCH: usize = 32;
/// Training steps (about a minute on 2 cores).
const STEPS: usize = 3000;
/// Words held out for validation.
const VAL_WORDS: usize = 1000;

/// The model: `emb`, `lstm` and `head` name its tensors in the saved file.
#[derive(shaped::Params)]
struct CharLstm {
    emb: Embedding<VOCAB, EMBED>,
    lstm: LSTM<EMBED, HIDDEN>,
    head: Linear<HIDDEN, VOCAB>,
}

impl CharLstm {
    fn new(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        CharLstm {
            emb: Embedding::new(&mut rng),
            lstm: LSTM::new(&mut rng),
            head: Linear::new(&mut rng),
        }
    }

    /// Next-token logits at every position of a batch of sequences; tape `T` decides whether
    /// the computation is traced (training) or not (evaluation). The names of the run-time
    /// dimensions come through every layer: a sequence-first input would not build here.
    fn logits<T: Tape<f32>>(
        &self,
        tokens: &Indices<Positions>,
    ) -> Tensor<(Dyn<Batch>, Dyn<Seq>, Const<VOCAB>), f32, T> {
        let x = self.emb.lookup::<_, T>(tokens); // (Batch, Seq, EMBED)
        let (y, _final_state) = self.lstm.forward(x); // (Batch, Seq, HIDDEN)
        self.head.forward(y) // (Batch, Seq, VOCAB)
    }

    /// Mean cross-entropy over the positions that hold a letter or the end token.
    fn loss<T: Tape<f32>>(&self, batch: &WordBatch) -> Tensor<(), f32, T> {
        let logits = self.logits::<T>(&batch.inputs);
        let (b, s, vocab) = *logits.shape();
        let rows: Tensor<(Rows, Const<VOCAB>), f32, T> = logits.reshape_dyn((Prod(b, s), vocab));
        let per_position = CrossEntropyLoss::new()
            .reduction(Reduction::None)
            .forward(rows, &batch.targets);
        (per_position * batch.mask.clone()).sum() / batch.count
    }

    /// Generates one word: one LSTM step per character, fed its own previous choice.
    fn generate(&self, sampler: &Sampler, rng: &mut StdRng) -> Result<String> {
        let mut word = String::new();
        let mut state = None; // zeros
        let mut token = 0; // the start token
        for _ in 0..20 {
            let x = self
                .emb
                .lookup::<_, NoTape>(&Indices::<Rank1<1>>::from_array([token])); // (1, EMBED)
            let (h, next_state) = self.lstm.step(x, state)?; // (1, HIDDEN) and the new state
            state = Some(next_state);
            let logits = self.head.forward(h).select::<0>(0); // (VOCAB,)
            token = sampler.sample(&logits, rng)?;
            if token == 0 {
                break;
            }
            word.push(char::from(b'a' + token as u8 - 1));
        }
        Ok(word)
    }
}

/// `(batch, position)`: both sizes known only at run time, both named.
type Positions = (Dyn<Batch>, Dyn<Seq>);
/// Batch and position merged: one row per position of every sequence.
type Rows = Prod<Dyn<Batch>, Dyn<Seq>>;

/// A batch of padded sequences.
struct WordBatch {
    inputs: Indices<Positions>,
    targets: Indices<(Rows,)>,
    /// 1 where the target counts, 0 on padding.
    mask: Tensor<(Rows,)>,
    count: f32,
}

impl WordBatch {
    fn new(words: &[&str]) -> Result<Self> {
        // The start token and the longest word's letters.
        let seq_len = 1 + words.iter().map(|w| w.len()).max().unwrap_or(0);
        let (batch, seq) = (Dyn::<Batch>::new(words.len()), Dyn::<Seq>::new(seq_len));
        let n = words.len() * seq_len;
        let (mut inputs, mut targets) = (vec![0; n], vec![0; n]);
        let mut mask = vec![0.0; n];
        for (row, word) in words.iter().enumerate() {
            let tokens: Vec<usize> = word.bytes().map(|b| (b - b'a') as usize + 1).collect();
            let base = row * seq_len;
            for (i, &t) in tokens.iter().enumerate() {
                inputs[base + i + 1] = t; // input: . c a t
                targets[base + i] = t; // target: c a t .
            }
            mask[base..=base + tokens.len()].fill(1.0);
        }
        let count = mask.iter().sum();
        let rows = Prod(batch, seq);
        Ok(WordBatch {
            inputs: Indices::from_vec_with_shape(inputs, (batch, seq))?,
            targets: Indices::from_vec_with_shape(targets, (rows,))?,
            mask: Tensor::from_vec_with_shape(mask, (rows,))?,
            count,
        })
    }
}

struct Args {
    sample_only: bool,
    model: PathBuf,
    seed: u64,
}

fn parse_args() -> Args {
    let mut args = Args {
        sample_only: false,
        model: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/char_lstm.safetensors"),
        seed: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--sample-only" => args.sample_only = true,
            "--model" => args.model = it.next().expect("--model needs a path").into(),
            "--seed" => {
                args.seed = it
                    .next()
                    .and_then(|s| s.parse().ok())
                    .expect("--seed needs a number")
            }
            other => panic!("unknown argument `{other}` (see the comment at the top of the file)"),
        }
    }
    args
}

fn main() -> Result<()> {
    let args = parse_args();
    let words: Vec<String> = shaped::data::words()?
        .into_iter()
        .filter(|w| (2..=MAX_LEN).contains(&w.len()) && w.bytes().all(|b| b.is_ascii_lowercase()))
        .collect();

    let model = if args.sample_only {
        let mut model = CharLstm::new(12345); // any initialisation: every tensor is replaced
        load_safetensors(&mut model, &args.model).inspect_err(|_| {
            eprintln!("could not load the model: run without --sample-only first to train one");
        })?;
        println!("loaded {}", args.model.display());
        model
    } else {
        let model = train(&words)?;
        if let Some(dir) = args.model.parent() {
            std::fs::create_dir_all(dir)?;
        }
        save_safetensors(&model, &args.model)?;
        println!(
            "saved {} ({} tensors: {})",
            args.model.display(),
            model.param_names().len(),
            model.param_names().join(", ")
        );
        model
    };

    generate(&model, &words, args.seed)
}

fn train(words: &[String]) -> Result<CharLstm> {
    let start = Instant::now();
    let mut rng = StdRng::seed_from_u64(0);
    let mut order: Vec<&str> = words.iter().map(String::as_str).collect();
    // Fisher-Yates shuffle, then hold out the first words for validation.
    for i in (1..order.len()).rev() {
        order.swap(i, rng.random_range(0..=i));
    }
    let (val, train) = order.split_at(VAL_WORDS);
    println!(
        "{} words of 2-{MAX_LEN} letters: {} for training, {} for validation",
        words.len(),
        train.len(),
        val.len()
    );

    let mut model = CharLstm::new(1);
    println!("model: {} parameters", model.num_params());
    let mut opt = Adam::new(5e-3);
    let val_loss = |model: &CharLstm| -> Result<f32> {
        let mut total = 0.0;
        let chunks: Vec<&[&str]> = val.chunks_exact(BATCH).collect();
        for chunk in &chunks {
            total += model.loss::<NoTape>(&WordBatch::new(chunk)?).as_slice()[0];
        }
        Ok(total / chunks.len() as f32)
    };
    println!("step    0: validation loss {:.3}", val_loss(&model)?);
    let mut running = 0.0;
    for step in 1..=STEPS {
        let picks: Vec<&str> = (0..BATCH)
            .map(|_| train[rng.random_range(0..train.len())])
            .collect();
        let loss = model.loss::<OwnedTape<f32>>(&WordBatch::new(&picks)?);
        running += loss.as_slice()[0];
        let mut grads = loss.backward();
        clip_grad_norm(&model, &mut grads, 1.0);
        opt.step(&mut model, &grads);
        if step % 500 == 0 {
            println!(
                "step {step:>4}: training loss {:.3}, validation loss {:.3}  ({:.0?})",
                running / 500.0,
                val_loss(&model)?,
                start.elapsed()
            );
            running = 0.0;
        }
    }
    // For reference: a uniform guess over 27 tokens has a loss of ln 27 = 3.30.
    println!("trained in {:.1?}", start.elapsed());
    Ok(model)
}

fn generate(model: &CharLstm, words: &[String], seed: u64) -> Result<()> {
    let known: HashSet<&str> = words.iter().map(String::as_str).collect();
    let mark = |w: &str| if known.contains(w) { "" } else { "*" };
    let mut rng = StdRng::seed_from_u64(seed);

    // Greedy decoding always gives the same word.
    let greedy = model.generate(&Sampler::greedy(), &mut rng)?;
    println!("\ngreedy: {greedy}{}", mark(&greedy));

    let samplers = [
        ("temperature 0.8", Sampler::new().temperature(0.8)),
        ("top-k 5", Sampler::new().top_k(5)),
        (
            "top-p 0.9, temperature 0.9",
            Sampler::new().top_p(0.9).temperature(0.9),
        ),
    ];
    let mut new = 0;
    let mut total = 0;
    for (name, sampler) in &samplers {
        let mut line = Vec::new();
        for _ in 0..10 {
            let w = model.generate(sampler, &mut rng)?;
            new += usize::from(!known.contains(w.as_str()));
            total += 1;
            line.push(format!("{w}{}", mark(&w)));
        }
        println!("{name}: {}", line.join(" "));
    }
    println!("(* = not in the word list: {new} of {total} samples are new words)");

    // The sampling functions also work on a single distribution directly: the first letter.
    let x = model
        .emb
        .lookup::<_, NoTape>(&Indices::<Rank1<1>>::from_array([0]));
    let (h, _) = model.lstm.step(x, None)?;
    let first = model.head.forward(h).select::<0>(0).softmax::<0>();
    let draws = sample::multinomial_n(&first, 20, &mut rng)?;
    let letters: String = draws
        .as_slice()
        .iter()
        .map(|&t| {
            if t == 0 {
                '.'
            } else {
                char::from(b'a' + t as u8 - 1)
            }
        })
        .collect();
    println!("20 first letters drawn from the model's distribution: {letters}");
    Ok(())
}
