//! PyTorch reference values for the transformer layers (tests/golden/layer_transformer_*),
//! the pre-norm transformer language model trained with AdamW (e2e_transformer_lm), and the
//! masks and stacks the golden set leaves out (tests/golden_extra/transformer_masks_stack).

mod common;
use common::{Golden, check_close};
use rand::SeedableRng;
use shaped::nn::loss::cross_entropy;
use shaped::nn::{
    DecoderInput, Embedding, EncoderInput, LayerNorm, Linear, Module, Params, TracedIndices,
    TransformerActivation, TransformerConfig, TransformerDecoderLayer, TransformerEncoder,
    TransformerEncoderLayer, causal_mask, key_padding_mask,
};
use shaped::optim::{AdamW, Optimizer};
use shaped::prelude::*;

fn rng() -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(0)
}

/// The golden's JSON list under `key`, as strings.
fn list(g: &Golden, key: &str) -> Vec<String> {
    g.hp_str(key)
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The layer options the golden was made with (dropout 0, as every golden here).
fn config(g: &Golden) -> TransformerConfig {
    let activation = match g.hp_str("activation").as_str() {
        "\"relu\"" => TransformerActivation::Relu,
        "\"gelu\"" => TransformerActivation::Gelu,
        other => panic!("{}: unexpected activation {other}", g.case),
    };
    TransformerConfig::default()
        .dropout(g.hp("dropout"))
        .activation(activation)
        .layer_norm_eps(g.hp("layer_norm_eps"))
        .norm_first(g.hp_str("norm_first") == "true")
}

/// Checks the sizes in the type against the golden's hyperparameters.
fn check_sizes(g: &Golden, d: usize, h: usize, f: usize) {
    assert_eq!(
        (g.hp("d_model"), g.hp("nhead"), g.hp("dim_feedforward")),
        (d as f64, h as f64, f as f64),
        "{}: sizes",
        g.case
    );
}

/// Loads the golden's parameters by name, after checking the names and their order.
fn load<M: Params<f32>>(model: &mut M, g: &Golden, prefix: &str) {
    let expected: Vec<String> = list(g, "params")
        .into_iter()
        .filter_map(|n| n.strip_prefix(prefix).map(str::to_string))
        .collect();
    assert_eq!(model.param_names(), expected, "{}: parameter names", g.case);
    model.visit_mut("", &mut |p| {
        p.data.copy_from_slice(&g.f(&format!("{prefix}{}", p.name)))
    });
}

fn check_param_grads<M: Params<f32>>(model: &M, g: &Golden, prefix: &str, grads: &Gradients<f32>) {
    model.visit("", &mut |p| {
        let name = format!("{prefix}{}", p.name);
        let grad = grads
            .get_id(p.id)
            .unwrap_or_else(|| panic!("{}: no gradient for {name}", g.case));
        g.check_grad(&name, grad);
    });
}

/// The stored causal mask, checked against [`causal_mask`].
fn mask(g: &Golden, len: usize) -> Tensor<(usize, usize)> {
    let m = Tensor::<(usize, usize)>::from_vec_with_shape(g.f("mask"), (len, len)).unwrap();
    assert_eq!(
        m.to_vec(),
        causal_mask::<f32>(len).to_vec(),
        "{}: mask",
        g.case
    );
    m
}

#[test]
fn layer_transformer_encoder() {
    let g = Golden::load("layer_transformer_encoder");
    check_sizes(&g, 8, 2, 16);
    assert_eq!(g.hp_str("causal"), "false");
    let mut layer = TransformerEncoderLayer::<8, 2, 16>::new(config(&g), &mut rng());
    assert!(!layer.norm_first);
    load(&mut layer, &g, "");
    let x = Tensor::<Rank3<2, 5, 8>>::from_vec(g.f("x")).unwrap();
    // Dropout is 0: training mode computes the same values.
    g.check_forward("y", layer.forward_train(x.clone()).as_slice());
    let y = layer.forward(x.clone().trace());
    g.check_forward("y", y.as_slice());
    let gy = Tensor::<Rank3<2, 5, 8>>::from_vec(g.f("gy")).unwrap();
    let grads = (y * gy).sum().backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    check_param_grads(&layer, &g, "", &grads);
}

#[test]
fn layer_transformer_encoder_prenorm_gelu() {
    let g = Golden::load("layer_transformer_encoder_prenorm_gelu");
    check_sizes(&g, 8, 4, 12);
    assert_eq!(g.hp_str("causal"), "true");
    let mut layer = TransformerEncoderLayer::<8, 4, 12>::new(config(&g), &mut rng());
    assert!(layer.norm_first && layer.activation == TransformerActivation::Gelu);
    load(&mut layer, &g, "");
    // A run-time batch and length.
    let x =
        Tensor::<(usize, usize, Const<8>)>::from_vec_with_shape(g.f("x"), (2, 6, Const)).unwrap();
    let input = EncoderInput::new(x.clone().trace()).with_mask(mask(&g, 6));
    let y = layer.forward(input);
    g.check_forward("y", y.as_slice());
    let gy =
        Tensor::<(usize, usize, Const<8>)>::from_vec_with_shape(g.f("gy"), (2, 6, Const)).unwrap();
    let grads = (y * gy).sum().backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    check_param_grads(&layer, &g, "", &grads);
}

#[test]
fn layer_transformer_decoder() {
    let g = Golden::load("layer_transformer_decoder");
    check_sizes(&g, 8, 2, 16);
    let mut layer = TransformerDecoderLayer::<8, 2, 16>::new(config(&g), &mut rng());
    load(&mut layer, &g, "");
    let x = Tensor::<Rank3<2, 4, 8>>::from_vec(g.f("x")).unwrap();
    let memory = Tensor::<Rank3<2, 6, 8>>::from_vec(g.f("memory")).unwrap();
    let input =
        DecoderInput::new(x.clone().trace(), memory.clone().trace()).with_tgt_mask(mask(&g, 4));
    let y = layer.forward(input);
    g.check_forward("y", y.as_slice());
    let gy = Tensor::<Rank3<2, 4, 8>>::from_vec(g.f("gy")).unwrap();
    let grads = (y * gy).sum().backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("memory", grads.get_slice(&memory).unwrap());
    check_param_grads(&layer, &g, "", &grads);
}

/// `head(norm(layer(tok(tokens) + pos, mask)))`: a decoder-only language model with one
/// pre-norm encoder layer under a causal mask.
#[derive(Clone)]
struct TransformerLm {
    pos: Tensor<Rank2<5, 8>>,
    tok: Embedding<11, 8>,
    layer: TransformerEncoderLayer<8, 2, 16>,
    norm: LayerNorm<8>,
    head: Linear<8, 11>,
}
shaped::params!(TransformerLm {
    pos,
    tok,
    layer,
    norm,
    head
});

impl TransformerLm {
    fn loss(
        &mut self,
        tokens: &Indices<Rank2<2, 5>>,
        targets: &Indices<Rank1<10>>,
        mask: &Tensor<(usize, usize)>,
    ) -> Tensor<(), f32, OwnedTape<f32>> {
        let x = self.tok.forward(TracedIndices(tokens.clone()));
        let x = x.add(self.pos.traced_as::<OwnedTape<f32>>());
        let h = self
            .layer
            .forward_train(EncoderInput::new(x).with_mask(mask.clone()));
        let logits = self.head.forward(self.norm.forward(h));
        cross_entropy(logits.reshape::<Rank2<10, 11>>(), targets)
    }
}

#[test]
fn e2e_transformer_lm() {
    let g = Golden::load("e2e_transformer_lm");
    check_sizes(&g, 8, 2, 16);
    assert_eq!((g.hp("vocab"), g.hp("seq_len")), (11.0, 5.0));
    let mut rng = rng();
    let mut model = TransformerLm {
        pos: Tensor::zeros(),
        tok: Embedding::new(&mut rng),
        layer: TransformerEncoderLayer::new(
            TransformerConfig::default().dropout(0.0).norm_first(true),
            &mut rng,
        ),
        norm: LayerNorm::new(),
        head: Linear::new(&mut rng),
    };
    load(&mut model, &g, "");
    let tokens = Indices::<Rank2<2, 5>>::from_vec(g.idx("tokens")).unwrap();
    let targets = Indices::<Rank1<10>>::from_vec(g.idx("targets")).unwrap();
    let mask = mask(&g, 5);
    let betas = list(&g, "betas");
    let mut opt = AdamW::new(g.hp("lr"))
        .betas(betas[0].parse().unwrap(), betas[1].parse().unwrap())
        .weight_decay(g.hp("weight_decay"));
    opt.0.eps = g.hp("eps");
    let steps = g.hp("steps") as usize;
    for step in 0..steps {
        let loss = model.loss(&tokens, &targets, &mask);
        g.check_forward(&format!("loss.{step}"), loss.as_slice());
        let grads = loss.backward();
        if step == 0 {
            check_param_grads(&model, &g, "", &grads);
        }
        opt.step(&mut model, &grads);
    }
    model.visit("", &mut |p| {
        let name = format!("final.{}", p.name);
        check_close(&name, p.data, &g.f(&name), 1e-5, 1e-4);
    });
}

/// Loads parameters stored as `{prefix}{name}` and checks their gradients stored as
/// `{prefix}grad.{name}`.
fn extra_params<M: Params<f32>>(model: &mut M, g: &Golden, prefix: &str) {
    model.visit_mut("", &mut |p| {
        p.data.copy_from_slice(&g.f(&format!("{prefix}{}", p.name)))
    });
}
fn extra_grads<M: Params<f32>>(model: &M, g: &Golden, prefix: &str, grads: &Gradients<f32>) {
    model.visit("", &mut |p| {
        let name = format!("{prefix}grad.{}", p.name);
        let grad = grads
            .get_id(p.id)
            .unwrap_or_else(|| panic!("no gradient for {name}"));
        check_close(&name, grad, &g.f(&name), 1e-4, 1e-3);
    });
}

/// A pre-norm GELU decoder layer with all four masks (eps 1e-6), and a two-layer post-norm
/// encoder stack with a final norm, a causal mask and a key padding mask, against PyTorch
/// (tests/golden_extra/transformer_masks_stack.py).
#[test]
fn pytorch_masks_prenorm_decoder_and_encoder_stack() {
    let g = Golden::load("../golden_extra/transformer_masks_stack");
    let mut rng = rng();
    let config = TransformerConfig::default()
        .dropout(0.0)
        .activation(TransformerActivation::Gelu)
        .norm_first(true)
        .layer_norm_eps(1e-6);
    let mut decoder = TransformerDecoderLayer::<8, 2, 12>::new(config, &mut rng);
    extra_params(&mut decoder, &g, "dec.");
    let tgt = Tensor::<Rank3<2, 4, 8>>::from_vec(g.f("dec.tgt")).unwrap();
    let memory = Tensor::<Rank3<2, 5, 8>>::from_vec(g.f("dec.mem")).unwrap();
    let memory_mask =
        Tensor::<(usize, usize)>::from_vec_with_shape(g.f("dec.mem_mask"), (4, 5)).unwrap();
    let mut tgt_padding = [false; 8];
    tgt_padding[7] = true;
    let mut memory_padding = [false; 10];
    memory_padding[3..5].fill(true);
    let input = DecoderInput::new(tgt.clone().trace(), memory.clone().trace())
        .with_tgt_mask(causal_mask(4))
        .with_memory_mask(memory_mask)
        .with_tgt_key_padding_mask(key_padding_mask(&tgt_padding, 2, 4).unwrap())
        .with_memory_key_padding_mask(key_padding_mask(&memory_padding, 2, 5).unwrap());
    let y = decoder.forward(input);
    g.check_forward("dec.y", y.as_slice());
    let gy = Tensor::<Rank3<2, 4, 8>>::from_vec(g.f("dec.gy")).unwrap();
    let grads = (y * gy).sum().backward();
    let (g_tgt, g_memory) = (g.f("dec.grad.tgt"), g.f("dec.grad.mem"));
    check_close(
        "dec.grad.tgt",
        grads.get_slice(&tgt).unwrap(),
        &g_tgt,
        1e-4,
        1e-3,
    );
    check_close(
        "dec.grad.mem",
        grads.get_slice(&memory).unwrap(),
        &g_memory,
        1e-4,
        1e-3,
    );
    extra_grads(&decoder, &g, "dec.", &grads);

    let layer = TransformerEncoderLayer::<8, 2, 12>::new(TransformerConfig::default(), &mut rng);
    let mut encoder = TransformerEncoder::new(layer, 2, &mut rng).with_norm(LayerNorm::new());
    extra_params(&mut encoder, &g, "enc.");
    let x = Tensor::<Rank3<2, 4, 8>>::from_vec(g.f("enc.x")).unwrap();
    let mut padding = [false; 8];
    padding[2..4].fill(true);
    let input = EncoderInput::new(x.clone().trace())
        .with_mask(causal_mask(4))
        .with_key_padding_mask(key_padding_mask(&padding, 2, 4).unwrap());
    let y = encoder.forward(input);
    g.check_forward("enc.y", y.as_slice());
    let gy = Tensor::<Rank3<2, 4, 8>>::from_vec(g.f("enc.gy")).unwrap();
    let grads = (y * gy).sum().backward();
    check_close(
        "enc.grad.x",
        grads.get_slice(&x).unwrap(),
        &g.f("enc.grad.x"),
        1e-4,
        1e-3,
    );
    extra_grads(&encoder, &g, "enc.", &grads);
}
