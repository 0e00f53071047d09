//! Shared (tied) parameters: one tensor used by two layers, as PyTorch's word language model
//! with `--tied` (`self.decoder.weight = self.encoder.weight`). One gradient (the sum of both
//! uses), one optimizer state, one count in `num_params` and clipping, one reduction across
//! ranks, and both names in files, as PyTorch's `state_dict` writes them. Checked against
//! PyTorch: the golden `e2e_char_lstm_tied` (training run), and files PyTorch wrote
//! (tests/golden_extra/tied_lm.py).

mod common;
use common::{Golden, check_close};
use rand::SeedableRng;
use shaped::distributed::{Collective, ThreadGroup, average_gradients, broadcast_parameters};
use shaped::nn::loss::cross_entropy;
use shaped::nn::{
    Embedding, LSTM, Linear, Module, ParamMut, ParamView, Params, TiedLinear, TracedIndices,
};
use shaped::optim::{Adam, Optimizer, Sgd, clip_grad_norm};
use shaped::prelude::*;
use shaped::serialize::{
    Checkpoint, LoadMode, from_safetensors, load_safetensors, tensors_from_safetensors,
    tensors_to_safetensors, to_safetensors,
};

/// PyTorch's word language model with `--tied`: the decoder's weight is the encoder's.
#[derive(Clone, shaped::Params)]
struct TiedLm {
    encoder: Embedding<10, 8>,
    rnn: LSTM<8, 8>,
    #[param(tied(weight = "encoder.weight"))]
    decoder: TiedLinear<8, 10>,
}

impl TiedLm {
    fn new(seed: u64) -> Self {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        TiedLm {
            encoder: Embedding::new(&mut rng),
            rnn: LSTM::new(&mut rng),
            decoder: TiedLinear::new(&mut rng),
        }
    }

    fn logits<const B: usize, const S: usize>(
        &self,
        tokens: &Indices<Rank2<B, S>>,
    ) -> Tensor<Rank3<B, S, 10>> {
        let (y, _) = self.rnn.forward(self.encoder.forward(tokens.clone()));
        self.decoder.forward(&self.encoder.weight, y)
    }

    /// Mean cross-entropy over every position of a (3, 6) batch.
    fn loss(
        &self,
        tokens: &Indices<Rank2<3, 6>>,
        targets: &Indices<Rank1<18>>,
    ) -> Tensor<(), f32, OwnedTape<f32>> {
        let x = self.encoder.forward(TracedIndices(tokens.clone()));
        let (y, _) = self.rnn.forward(x);
        let logits = self.decoder.forward(&self.encoder.weight, y);
        cross_entropy(logits.reshape::<Rank2<18, 10>>(), targets)
    }
}

/// The same model untied: the decoder owns a copy of the weight (another tensor).
struct UntiedLm {
    encoder: Embedding<10, 8>,
    rnn: LSTM<8, 8>,
    decoder: Linear<8, 10>,
}

impl UntiedLm {
    fn from_tied(m: &TiedLm) -> Self {
        let mut rng = rand::rngs::StdRng::seed_from_u64(99);
        let mut decoder = Linear::new(&mut rng);
        decoder.weight = m.encoder.weight.clone().detach(); // a new id: a second parameter
        decoder.bias = m.decoder.bias.clone();
        UntiedLm {
            encoder: m.encoder.clone(),
            rnn: m.rnn.clone(),
            decoder,
        }
    }
    fn loss(
        &self,
        tokens: &Indices<Rank2<3, 6>>,
        targets: &Indices<Rank1<18>>,
    ) -> Tensor<(), f32, OwnedTape<f32>> {
        let x = self.encoder.forward(TracedIndices(tokens.clone()));
        let (y, _) = self.rnn.forward(x);
        cross_entropy(self.decoder.forward(y).reshape::<Rank2<18, 10>>(), targets)
    }
}

fn batch(seed: u64) -> (Indices<Rank2<3, 6>>, Indices<Rank1<18>>) {
    use rand::RngExt;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut draw = || (0..18).map(|_| rng.random_range(0..10)).collect::<Vec<_>>();
    (
        Indices::from_vec(draw()).unwrap(),
        Indices::from_vec(draw()).unwrap(),
    )
}

fn values<E: shaped::dtype::Float, M: Params<E>>(model: &M) -> Vec<(String, Vec<E>)> {
    let mut out = Vec::new();
    model.visit("", &mut |p| out.push((p.name.to_string(), p.data.to_vec())));
    out
}

fn file_tensor(bytes: &[u8], name: &str) -> Vec<f32> {
    tensors_from_safetensors::<f32>(bytes, "bytes")
        .unwrap()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no `{name}` in the file"))
        .1
        .to_vec()
}

#[test]
fn e2e_char_lstm_tied() {
    let g = Golden::load("e2e_char_lstm_tied");
    assert_eq!((g.hp("vocab"), g.hp("hidden")), (10.0, 8.0));
    let mut model = TiedLm::new(0);
    // The golden's parameters are PyTorch's `parameters()`: the tied weight once.
    let params: Vec<String> = g
        .hp_str("params")
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_string())
        .collect();
    assert_eq!(model.param_names(), params);
    model.visit_mut("", &mut |p| p.data.copy_from_slice(&g.f(p.name)));
    let tokens = Indices::<Rank2<3, 6>>::from_vec(g.idx("tokens")).unwrap();
    let targets = Indices::<Rank1<18>>::from_vec(g.idx("targets")).unwrap();
    let mut opt = Sgd::new(g.hp("lr"));
    for step in 0..g.hp("steps") as usize {
        let loss = model.loss(&tokens, &targets);
        g.check_forward(&format!("loss.{step}"), loss.as_slice());
        let mut grads = loss.backward();
        if step == 0 {
            // grad.encoder.weight is the sum over the embedding and the decoder.
            model.visit("", &mut |p| {
                g.check_grad(p.name, grads.get_id(p.id).unwrap())
            });
        }
        clip_grad_norm(&model, &mut grads, g.hp("clip"));
        opt.step(&mut model, &grads);
    }
    model.visit("", &mut |p| {
        let name = format!("final.{}", p.name);
        check_close(&name, p.data, &g.f(&name), 1e-5, 1e-4);
    });
}

#[test]
fn the_tied_weight_is_one_parameter_with_two_names() {
    let model = TiedLm::new(0);
    assert_eq!(
        model.param_names(),
        [
            "encoder.weight",
            "rnn.weight_ih_l0",
            "rnn.weight_hh_l0",
            "rnn.bias_ih_l0",
            "rnn.bias_hh_l0",
            "decoder.bias"
        ]
    );
    assert_eq!(
        model.tied_names(),
        [("decoder.weight".to_string(), "encoder.weight".to_string())]
    );
    assert!(
        model
            .state_dict_names()
            .contains(&"decoder.weight".to_string())
    );
    // sum(p.numel() for p in model.parameters()) in PyTorch: 80 + 576 + 10.
    assert_eq!(model.num_params(), 666);
}

#[test]
fn tied_names_nest_with_their_struct() {
    #[derive(shaped::Params)]
    struct Outer {
        lm: TiedLm,
        heads: Vec<TiedLm>,
    }
    #[derive(shaped::Params)]
    enum Choice {
        Tied(TiedLm),
        Pair { a: TiedLm },
    }
    let outer = Outer {
        lm: TiedLm::new(0),
        heads: vec![TiedLm::new(1)],
    };
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    assert_eq!(
        outer.tied_names(),
        pairs(&[
            ("lm.decoder.weight", "lm.encoder.weight"),
            ("heads.0.decoder.weight", "heads.0.encoder.weight")
        ])
    );
    assert_eq!(
        Choice::Tied(TiedLm::new(0)).tied_names(),
        pairs(&[("decoder.weight", "encoder.weight")])
    );
    assert_eq!(
        Choice::Pair { a: TiedLm::new(0) }.tied_names(),
        pairs(&[("a.decoder.weight", "a.encoder.weight")])
    );
    assert_eq!(outer.num_params(), 2 * 666);

    // An optional tied layer declares its tied name only while present.
    #[derive(shaped::Params)]
    struct MaybeTied {
        encoder: Embedding<10, 8>,
        #[param(tied(weight = "encoder.weight"))]
        decoder: Option<TiedLinear<8, 10>>,
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let mut m = MaybeTied {
        encoder: Embedding::new(&mut rng),
        decoder: Some(TiedLinear::new(&mut rng)),
    };
    assert_eq!(
        m.tied_names(),
        pairs(&[("decoder.weight", "encoder.weight")])
    );
    m.decoder = None;
    assert!(m.tied_names().is_empty());
    assert_eq!(m.state_dict_names(), ["encoder.weight"]);
}

#[test]
fn one_gradient_is_the_sum_of_both_uses() {
    let model = TiedLm::new(1);
    let untied = UntiedLm::from_tied(&model);
    let (tokens, targets) = batch(5);
    let tied_loss = model.loss(&tokens, &targets);
    let untied_loss = untied.loss(&tokens, &targets);
    assert_eq!(tied_loss.as_slice(), untied_loss.as_slice());
    let grads = tied_loss.backward();
    let untied_grads = untied_loss.backward();
    let from_embedding = untied_grads.get_slice(&untied.encoder.weight).unwrap();
    let from_decoder = untied_grads.get_slice(&untied.decoder.weight).unwrap();
    let sum: Vec<f32> = from_embedding
        .iter()
        .zip(from_decoder)
        .map(|(a, b)| a + b)
        .collect();
    assert!(from_embedding.iter().any(|v| *v != 0.0) && from_decoder.iter().any(|v| *v != 0.0));
    check_close(
        "grad encoder.weight",
        grads.get_slice(&model.encoder.weight).unwrap(),
        &sum,
        1e-6,
        1e-5,
    );
}

#[test]
fn one_optimizer_state_and_one_tensor_after_every_step() {
    let mut model = TiedLm::new(2);
    let mut opt = Adam::new(0.01);
    let (tokens, targets) = batch(6);
    let first = model.loss(&tokens, &targets).as_slice()[0];
    for _ in 0..5 {
        let grads = model.loss(&tokens, &targets).backward();
        opt.step(&mut model, &grads);
        // The file's two names hold the weight the embedding now uses.
        let bytes = to_safetensors(&model).unwrap();
        assert_eq!(
            file_tensor(&bytes, "decoder.weight"),
            model.encoder.weight.to_vec()
        );
        assert_eq!(
            file_tensor(&bytes, "encoder.weight"),
            model.encoder.weight.to_vec()
        );
    }
    assert!(model.loss(&tokens, &targets).as_slice()[0] < first);
    let state = Optimizer::<f32>::state(&opt);
    let names: Vec<&str> = state.iter().map(|(n, _)| n.as_str()).collect();
    // "step", then exp_avg and exp_avg_sq for each of the six parameters: no decoder.weight.
    assert_eq!(names.len(), 1 + 2 * 6, "{names:?}");
    assert!(names.contains(&"encoder.weight.exp_avg"));
    assert!(!names.iter().any(|n| n.starts_with("decoder.weight")));

    // A checkpoint keeps the one state entry and restores model and optimizer.
    let ckpt = Checkpoint::new(&model).with_optimizer(&opt);
    let bytes = ckpt.to_bytes().unwrap();
    let back = Checkpoint::<f32>::from_bytes(&bytes).unwrap();
    let mut fresh = TiedLm::new(3);
    back.restore_model(&mut fresh).unwrap();
    let mut fresh_opt = Adam::new(0.01);
    back.restore_optimizer(&mut fresh_opt).unwrap();
    assert_eq!(values(&fresh), values(&model));
    assert_eq!(Optimizer::<f32>::state(&fresh_opt), state);
}

#[test]
fn clipping_counts_the_tied_weight_once() {
    let model = TiedLm::new(4);
    let (tokens, targets) = batch(7);
    let mut grads = model.loss(&tokens, &targets).backward();
    let mut expected = 0.0f64;
    model.visit("", &mut |p| {
        expected += grads
            .get_id(p.id)
            .unwrap()
            .iter()
            .map(|g| (*g as f64).powi(2))
            .sum::<f64>()
    });
    let norm = clip_grad_norm(&model, &mut grads, 1e-3);
    assert!((norm - expected.sqrt()).abs() < 1e-6 * norm.max(1.0));
    assert!(clip_grad_norm(&model, &mut grads, 1e9) <= 1e-3 * (1.0 + 1e-4));
}

/// A hand-written visitor that lists one tensor under two names (the way tied weights were
/// written before `#[param(tied)]`): clipping still counts and scales it once.
struct TwiceVisited {
    layer: Linear<2, 2>,
}

impl Params<f32> for TwiceVisited {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(ParamView<'_, f32>)) {
        self.layer.visit(&format!("{prefix}encoder."), f);
        self.layer.visit(&format!("{prefix}decoder."), f);
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(ParamMut<'_, f32>)) {
        self.layer.visit_mut(&format!("{prefix}encoder."), f);
        self.layer.visit_mut(&format!("{prefix}decoder."), f);
    }
}

#[test]
fn a_tensor_visited_twice_is_clipped_and_counted_once() {
    let model = TwiceVisited {
        layer: Linear::new(&mut rand::rngs::StdRng::seed_from_u64(0)),
    };
    assert_eq!(model.num_params(), 2 * 2 + 2);
    let x = Tensor::<Rank2<1, 2>>::full(3.0);
    let mut grads = model.layer.forward(x.trace_constant()).sum().backward();
    // d sum(W x + b): 3 for each of the 4 weights, 1 for each of the 2 biases.
    let norm = clip_grad_norm(&model, &mut grads, 1.0);
    assert!((norm - (4.0 * 9.0 + 2.0f64).sqrt()).abs() < 1e-5, "{norm}");
    let after = clip_grad_norm(&model, &mut grads, 1e9);
    assert!((after - 1.0).abs() < 1e-4, "{after}");
}

#[test]
fn files_hold_both_names_and_load_back() {
    let model = TiedLm::new(5);
    let bytes = to_safetensors(&model).unwrap();
    let mut names: Vec<String> = tensors_from_safetensors::<f32>(&bytes, "bytes")
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    names.sort();
    // Exactly PyTorch's state_dict keys for the same model (read from a file it wrote).
    let pytorch = std::fs::read("tests/golden_extra/tied_lm_state_dict.safetensors").unwrap();
    let mut expected: Vec<String> = tensors_from_safetensors::<f32>(&pytorch, "pytorch")
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    expected.sort();
    assert_eq!(names, expected);
    assert_eq!(
        file_tensor(&bytes, "decoder.weight"),
        file_tensor(&bytes, "encoder.weight")
    );

    let mut fresh = TiedLm::new(6);
    let report = from_safetensors(&mut fresh, &bytes, LoadMode::Strict, "bytes").unwrap();
    assert!(report.is_exact());
    assert_eq!(report.loaded.len(), 7);
    assert_eq!(values(&fresh), values(&model));
    let tokens = Indices::<Rank2<2, 3>>::from_vec(vec![1, 2, 3, 4, 5, 6]).unwrap();
    assert_eq!(
        fresh.logits(&tokens).to_vec(),
        model.logits(&tokens).to_vec()
    );
}

/// Loads the PyTorch-written files and checks the logits PyTorch computed with them.
#[test]
fn pytorch_files_load_strictly() {
    let io = std::fs::read("tests/golden_extra/tied_lm_io.safetensors").unwrap();
    let tokens: Vec<usize> = file_tensor(&io, "tokens")
        .iter()
        .map(|t| *t as usize)
        .collect();
    let tokens = Indices::<Rank2<2, 5>>::from_vec(tokens).unwrap();
    let expected = file_tensor(&io, "logits");
    // `save_file` of the cloned state_dict: both names. `save_model`: only `decoder.weight`,
    // which safetensors' `load_model(strict=True)` accepts, and so do we.
    for (file, loaded) in [("tied_lm_state_dict", 7), ("tied_lm_save_model", 6)] {
        let mut model = TiedLm::new(7);
        let path = format!("tests/golden_extra/{file}.safetensors");
        let report = load_safetensors(&mut model, &path).unwrap();
        assert!(
            report.missing.is_empty() && report.unexpected.is_empty(),
            "{file}"
        );
        assert_eq!(report.loaded.len(), loaded, "{file}");
        check_close(file, &model.logits(&tokens).to_vec(), &expected, 1e-5, 1e-4);
    }
}

/// The model's file with some names removed or replaced.
fn edited(model: &TiedLm, drop: &[&str], replace: &[(&str, f32)]) -> Vec<u8> {
    let tensors: Vec<(String, Tensor<DynShape>)> =
        tensors_from_safetensors::<f32>(&to_safetensors(model).unwrap(), "bytes")
            .unwrap()
            .into_iter()
            .filter(|(n, _)| !drop.contains(&n.as_str()))
            .map(|(n, t)| match replace.iter().find(|(r, _)| *r == n) {
                Some((_, v)) => {
                    let shape = *t.shape();
                    (n, Tensor::full_with_shape(shape, *v))
                }
                None => (n, t),
            })
            .collect();
    tensors_to_safetensors(&tensors).unwrap()
}

#[test]
fn either_name_loads_and_the_tied_name_wins_when_they_differ() {
    let model = TiedLm::new(8);
    // Only the target, or only the tied name: loaded, nothing reported missing.
    for drop in ["decoder.weight", "encoder.weight"] {
        let mut fresh = TiedLm::new(9);
        let bytes = edited(&model, &[drop], &[]);
        let report = from_safetensors(&mut fresh, &bytes, LoadMode::Strict, "bytes").unwrap();
        assert!(report.is_exact(), "{drop}: {report:?}");
        assert_eq!(values(&fresh), values(&model), "{drop}");
    }
    // Two different copies: the tied name's values, as PyTorch's load_state_dict (it copies in
    // state_dict order, and decoder.weight comes after encoder.weight).
    let mut fresh = TiedLm::new(9);
    let bytes = edited(
        &model,
        &[],
        &[("encoder.weight", 1.0), ("decoder.weight", 2.0)],
    );
    from_safetensors(&mut fresh, &bytes, LoadMode::Strict, "bytes").unwrap();
    assert!(fresh.encoder.weight.to_vec().iter().all(|v| *v == 2.0));
}

#[test]
fn a_file_without_the_tensor_under_any_name_is_an_error() {
    let model = TiedLm::new(10);
    let bytes = edited(&model, &["decoder.weight", "encoder.weight"], &[]);
    let mut fresh = TiedLm::new(11);
    let before = values(&fresh);
    let err = from_safetensors(&mut fresh, &bytes, LoadMode::Strict, "bytes")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`encoder.weight`") && err.contains("`decoder.weight`"),
        "{err}"
    );
    assert_eq!(values(&fresh), before, "a failed load changes nothing");
    let report = from_safetensors(&mut fresh, &bytes, LoadMode::NonStrict, "bytes").unwrap();
    assert_eq!(report.missing, ["encoder.weight", "decoder.weight"]);
    // A wrong shape under the tied name is an error naming it.
    let small = TiedLm::new(12);
    let mut tensors = tensors_from_safetensors::<f32>(&to_safetensors(&small).unwrap(), "b")
        .unwrap()
        .into_iter()
        .filter(|(n, _)| n != "decoder.weight")
        .collect::<Vec<_>>();
    tensors.push((
        "decoder.weight".to_string(),
        Tensor::<DynShape>::full_with_shape(DynShape::new(&[10, 7]).unwrap(), 0.0),
    ));
    let err = from_safetensors(
        &mut fresh,
        &tensors_to_safetensors(&tensors).unwrap(),
        LoadMode::Strict,
        "bytes",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("`decoder.weight`: the file has shape [10, 7]"),
        "{err}"
    );
}

#[test]
fn a_tied_name_for_a_tensor_the_model_lacks_is_an_error() {
    #[derive(shaped::Params)]
    struct Broken {
        encoder: Embedding<10, 8>,
        #[param(tied(weight = "embedding.weight"))]
        decoder: TiedLinear<8, 10>,
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let mut broken = Broken {
        encoder: Embedding::new(&mut rng),
        decoder: TiedLinear::new(&mut rng),
    };
    let err = to_safetensors(&broken).unwrap_err().to_string();
    assert!(
        err.contains("`decoder.weight` stands for `embedding.weight`, which is not one of the model's tensors"),
        "{err}"
    );
    let bytes = edited(&TiedLm::new(0), &["rnn.weight_ih_l0"], &[]);
    assert!(from_safetensors(&mut broken, &bytes, LoadMode::NonStrict, "bytes").is_err());
}

#[test]
fn a_mismatched_tied_weight_is_an_error() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let decoder = shaped::nn::TiedLinearDyn::<f32>::new_dyn(8, 10, true, &mut rng);
    let weight = Tensor::<(usize, usize)>::zeros_with_shape((9, 8));
    let err = decoder
        .try_forward(&weight, Tensor::<Rank2<2, 8>>::ones())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the tied weight has shape [9, 8], the layer takes [10, 8]"),
        "{err}"
    );
}

/// Data-parallel training on 2 thread ranks: the tied weight is broadcast and averaged once,
/// and every rank ends with the same model.
#[test]
fn data_parallel_reduces_the_tied_weight_once() {
    let results = ThreadGroup::run(2, |g| {
        let mut model = TiedLm::new(20 + g.rank() as u64);
        broadcast_parameters(g, &mut model);
        let (tokens, targets) = batch(30 + g.rank() as u64);
        let mut grads = model.loss(&tokens, &targets).backward();
        let local = grads.get_slice(&model.encoder.weight).unwrap().to_vec();
        average_gradients(g, &model, &mut grads);
        let averaged = grads.get_slice(&model.encoder.weight).unwrap().to_vec();
        Sgd::new(0.1).step(&mut model, &grads);
        (local, averaged, values(&model))
    });
    let (l0, a0, m0) = &results[0];
    let (l1, a1, m1) = &results[1];
    let mean: Vec<f32> = l0.iter().zip(l1).map(|(a, b)| (a + b) / 2.0).collect();
    check_close("averaged", a0, &mean, 1e-6, 1e-5);
    assert_eq!(a0, a1);
    assert_eq!(m0, m1);
}
