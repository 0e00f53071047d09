//! The run-time-sized attention and transformer layers on the GPU against their CPU
//! originals (`MultiheadAttentionDyn`, the encoder and decoder layers and stacks),
//! in f32 and f64: outputs, input gradients and every parameter's gradient by name, with
//! masks and, in training mode, dropout drawn from the same generators on both devices.
#![cfg(feature = "wgpu")]

mod gpu_support;

use gpu_support::{F64_TOL, FWD, GRAD, close, close64, gpu, gpu64};
use shaped::autograd::Gradients;
use shaped::dtype::Float;
use shaped::gpu::prelude::*;
use shaped::gpu::{
    GpuLayerNorm, GpuLinear, GpuMultiheadAttentionDyn, GpuTransformerDecoderDyn,
    GpuTransformerDecoderLayerDyn, GpuTransformerEncoderDyn, GpuTransformerEncoderLayerDyn,
};
use shaped::nn::{
    AttentionOptions, DecoderInput, Dropout, EncoderInput, LayerNormDyn, Module,
    MultiheadAttentionDyn, Params, TransformerActivation, TransformerConfig, TransformerDecoderDyn,
    TransformerDecoderLayerDyn, TransformerEncoderDyn, TransformerEncoderLayerDyn, causal_mask,
    key_padding_mask,
};
use shaped::prelude::*;
use shaped::rand::{SeedableRng, rngs::StdRng};

type Seq<E> = Tensor<(usize, usize, usize), E>;

fn randn<E: Float>(shape: (usize, usize, usize), seed: u64) -> Seq<E> {
    Seq::<E>::randn_with_shape(shape, &mut StdRng::seed_from_u64(seed))
}

fn down<E: Float, S: Shape, T>(t: &GpuTensor<S, T, E>) -> Vec<E> {
    t.to_cpu().unwrap().to_vec()
}

fn grad<E: Float, S: Shape, T>(gg: &Gradients<E>, t: &GpuTensor<S, T, E>) -> Vec<E> {
    down(&gg.get_gpu(t).expect("a GPU gradient"))
}

/// GPU against CPU: f32 with `tol`, f64 with `F64_TOL` (the f64 kernels match the CPU's to
/// rounding, so the f64 runs check the computation itself, not only its rough size).
#[track_caller]
fn cmp<E: Float>(what: &str, gpu: &[E], cpu: &[E], tol: (f32, f32)) {
    assert!(!cpu.is_empty(), "{what}: nothing to compare");
    if std::mem::size_of::<E>() == 8 {
        let f = |v: &[E]| v.iter().map(|x| x.to_f64()).collect::<Vec<_>>();
        close64(what, &f(gpu), &f(cpu), F64_TOL);
    } else {
        let f = |v: &[E]| v.iter().map(|x| x.to_f64() as f32).collect::<Vec<_>>();
        close(what, &f(gpu), &f(cpu), tol);
    }
}

type Named<E> = Vec<(String, Vec<E>)>;

fn linear_grads<E: Float>(l: &GpuLinear<usize, usize, E>, gg: &Gradients<E>, p: &str) -> Named<E> {
    vec![
        (format!("{p}weight"), grad(gg, &l.weight)),
        (format!("{p}bias"), grad(gg, l.bias.as_ref().unwrap())),
    ]
}

fn norm_grads<E: Float>(n: &GpuLayerNorm<usize, E>, gg: &Gradients<E>, p: &str) -> Named<E> {
    vec![
        (format!("{p}weight"), grad(gg, &n.weight)),
        (format!("{p}bias"), grad(gg, &n.bias)),
    ]
}

fn mha_grads<E: Float>(m: &GpuMultiheadAttentionDyn<E>, gg: &Gradients<E>, p: &str) -> Named<E> {
    let mut out = vec![
        (format!("{p}in_proj_weight"), grad(gg, &m.in_proj_weight)),
        (
            format!("{p}in_proj_bias"),
            grad(gg, m.in_proj_bias.as_ref().unwrap()),
        ),
    ];
    out.extend(linear_grads(&m.out_proj, gg, &format!("{p}out_proj.")));
    out
}

fn encoder_layer_grads<E: Float>(
    l: &GpuTransformerEncoderLayerDyn<E>,
    gg: &Gradients<E>,
    p: &str,
) -> Named<E> {
    let mut out = mha_grads(&l.self_attn, gg, &format!("{p}self_attn."));
    out.extend(linear_grads(&l.linear1, gg, &format!("{p}linear1.")));
    out.extend(linear_grads(&l.linear2, gg, &format!("{p}linear2.")));
    out.extend(norm_grads(&l.norm1, gg, &format!("{p}norm1.")));
    out.extend(norm_grads(&l.norm2, gg, &format!("{p}norm2.")));
    out
}

fn decoder_layer_grads<E: Float>(
    l: &GpuTransformerDecoderLayerDyn<E>,
    gg: &Gradients<E>,
    p: &str,
) -> Named<E> {
    let mut out = mha_grads(&l.self_attn, gg, &format!("{p}self_attn."));
    out.extend(mha_grads(
        &l.multihead_attn,
        gg,
        &format!("{p}multihead_attn."),
    ));
    out.extend(linear_grads(&l.linear1, gg, &format!("{p}linear1.")));
    out.extend(linear_grads(&l.linear2, gg, &format!("{p}linear2.")));
    out.extend(norm_grads(&l.norm1, gg, &format!("{p}norm1.")));
    out.extend(norm_grads(&l.norm2, gg, &format!("{p}norm2.")));
    out.extend(norm_grads(&l.norm3, gg, &format!("{p}norm3.")));
    out
}

fn decoder_grads<E: Float>(d: &GpuTransformerDecoderDyn<E>, gg: &Gradients<E>) -> Named<E> {
    let mut out = Named::new();
    for (i, l) in d.layers.iter().enumerate() {
        out.extend(decoder_layer_grads(l, gg, &format!("layers.{i}.")));
    }
    if let Some(n) = &d.norm {
        out.extend(norm_grads(n, gg, "norm."));
    }
    out
}

fn encoder_grads<E: Float>(e: &GpuTransformerEncoderDyn<E>, gg: &Gradients<E>) -> Named<E> {
    let mut out = Named::new();
    for (i, l) in e.layers.iter().enumerate() {
        out.extend(encoder_layer_grads(l, gg, &format!("layers.{i}.")));
    }
    if let Some(n) = &e.norm {
        out.extend(norm_grads(n, gg, "norm."));
    }
    out
}

/// Every parameter of the CPU model, by name, against the GPU's gradient of that name.
fn check_named<E: Float, M: Params<E>>(cpu: &M, gpu: &Named<E>, cg: &Gradients<E>) {
    let mut n = 0;
    cpu.visit("", &mut |p| {
        let (_, gv) = gpu
            .iter()
            .find(|(name, _)| name == p.name)
            .unwrap_or_else(|| panic!("no GPU parameter {}", p.name));
        cmp(p.name, gv, cg.get_id(p.id).unwrap(), GRAD);
        n += 1;
    });
    assert_eq!(n, gpu.len(), "GPU and CPU parameter counts");
}

/// An additive `(rows, cols)` mask hiding the pairs `hide` marks (never a whole row).
fn mask<E: Float>(
    rows: usize,
    cols: usize,
    hide: impl Fn(usize, usize) -> bool,
) -> Tensor<(usize, usize), E> {
    let v = (0..rows * cols)
        .map(|i| {
            if hide(i / cols, i % cols) {
                E::from_f64(f64::NEG_INFINITY)
            } else {
                E::ZERO
            }
        })
        .collect();
    Tensor::from_vec_with_shape(v, (rows, cols)).unwrap()
}

/// Cross-attention with both masks, the weights and dropout 0.3 on them: values, weights,
/// the gradients of query, key, value and of every parameter; then self-attention as a
/// `Module`, the way back with `to_cpu`, and the embed-size error.
fn mha_matches_cpu<E: Float>(dev: &Wgpu) {
    let mha = MultiheadAttentionDyn::<E>::new(8, 2, &mut StdRng::seed_from_u64(3));
    let gmha = mha.to_device(dev).unwrap();
    assert_eq!((gmha.embed_dim(), gmha.num_heads()), (8, 2));
    let (q, k, v) = (
        randn::<E>((2, 3, 8), 41),
        randn::<E>((2, 5, 8), 42),
        randn::<E>((2, 5, 8), 43),
    );
    let am = mask::<E>(3, 5, |i, j| j == i + 2);
    let pad = key_padding_mask::<E>(
        &[
            false, false, false, false, true, false, false, false, true, true,
        ],
        2,
        5,
    )
    .unwrap();
    let (mut cdrop, mut gdrop) = (Dropout::with_seed(0.3, 7), Dropout::with_seed(0.3, 7));
    let copts = AttentionOptions {
        attn_mask: Some(&am),
        key_padding_mask: Some(&pad),
        dropout: Some(&mut cdrop),
        ..Default::default()
    };
    let (cy, cw) = mha
        .try_forward_with(
            q.clone().trace(),
            k.clone().trace(),
            v.clone().trace(),
            copts,
        )
        .unwrap();
    let (gq, gk, gv) = (
        q.to_device(dev).unwrap(),
        k.to_device(dev).unwrap(),
        v.to_device(dev).unwrap(),
    );
    let gopts = AttentionOptions {
        attn_mask: Some(&am),
        key_padding_mask: Some(&pad),
        dropout: Some(&mut gdrop),
        ..Default::default()
    };
    let (gy, gw) = gmha
        .try_forward_with(
            gq.clone().trace(),
            gk.clone().trace(),
            gv.clone().trace(),
            gopts,
        )
        .unwrap();
    assert_eq!(gy.to_cpu().unwrap().dims().as_slice(), &[2, 3, 8]);
    let gw = gw.expect("weights asked for");
    cmp("y", &down(&gy), cy.as_slice(), FWD);
    let cw = cw.unwrap();
    cmp("weights", &down(&gw), cw.as_slice(), FWD);
    // The masks hid something: padded keys get weight 0 (dropout keeps zeros zero).
    let w = down(&gw);
    for (b, key) in [(0, 4), (1, 3), (1, 4)] {
        for query in 0..3 {
            let at = (b * 3 + query) * 5 + key;
            assert_eq!(
                w[at],
                E::ZERO,
                "padded key {key} of batch {b}, query {query}"
            );
        }
    }
    assert!(w.iter().any(|x| x.to_f64() > 0.0));
    let r = randn::<E>((2, 3, 8), 44);
    let cg = (cy * r.clone()).sum().backward();
    let gg = (gy * r.to_device(dev).unwrap()).sum().backward();
    cmp("query", &grad(&gg, &gq), cg.get_slice(&q).unwrap(), GRAD);
    cmp("key", &grad(&gg, &gk), cg.get_slice(&k).unwrap(), GRAD);
    cmp("value", &grad(&gg, &gv), cg.get_slice(&v).unwrap(), GRAD);
    check_named(&mha, &mha_grads(&gmha, &gg, ""), &cg);

    // Self-attention as a Module, on a statically shaped input.
    let x = Tensor::<Rank3<2, 4, 8>, E>::randn(&mut StdRng::seed_from_u64(45));
    let (cy, cw) = mha.forward(x.clone().trace());
    let gx = x.to_device(dev).unwrap();
    let (gy, gw) = gmha.forward(gx.clone().trace());
    cmp("self y", &down(&gy), cy.as_slice(), FWD);
    cmp("self weights", &down(&gw), cw.as_slice(), FWD);
    let cg = cy.square().sum().backward();
    let gg = gy.square().sum().backward();
    cmp("self x", &grad(&gg, &gx), cg.get_slice(&x).unwrap(), GRAD);
    check_named(&mha, &mha_grads(&gmha, &gg, ""), &cg);

    // Back to the CPU: the same parameters and head count.
    let back = gmha.to_cpu().unwrap();
    assert_eq!(back.num_heads(), 2);
    assert_eq!(back.param_names(), mha.param_names());
    assert_eq!(back.in_proj_weight.to_vec(), mha.in_proj_weight.to_vec());
    assert_eq!(back.out_proj.weight.to_vec(), mha.out_proj.weight.to_vec());

    // The CPU layer's error for a wrong feature size.
    let bad = randn::<E>((2, 3, 6), 46).to_device(dev).unwrap();
    let err = gmha.try_forward(bad).unwrap_err().to_string();
    assert!(
        err.contains("MultiheadAttentionDyn expects embed_dim 8, got 6"),
        "{err}"
    );
}

#[test]
fn mha_dyn_matches_cpu_f32() {
    let Some(dev) = gpu() else { return };
    mha_matches_cpu::<f32>(&dev);
}

#[test]
fn mha_dyn_matches_cpu_f64() {
    let Some(dev) = gpu64() else { return };
    mha_matches_cpu::<f64>(&dev);
}

fn config(norm_first: bool) -> TransformerConfig {
    TransformerConfig::default()
        .dropout(0.3)
        .activation(TransformerActivation::Gelu)
        .norm_first(norm_first)
}

/// An encoder layer (post- and pre-norm) in training mode with dropout 0.3 everywhere, a
/// causal mask and a key padding mask: two calls (new masks each, the same on both devices),
/// values, input and parameter gradients; then evaluation mode, `to_cpu` and the width error.
fn encoder_layer_matches_cpu<E: Float>(dev: &Wgpu, norm_first: bool) {
    let mut rng = StdRng::seed_from_u64(9);
    let mut layer = TransformerEncoderLayerDyn::<E>::new(8, 2, 12, config(norm_first), &mut rng);
    let mut glayer = layer.to_device(dev).unwrap();
    assert_eq!(glayer.d_model(), 8);
    let x = randn::<E>((2, 5, 8), 21);
    let gx = x.to_device(dev).unwrap();
    let pad = key_padding_mask::<E>(
        &[
            false, false, false, false, false, false, false, false, true, true,
        ],
        2,
        5,
    )
    .unwrap();
    // One function for both devices' inputs: a closure would fix its argument's type.
    fn input<X, E: Float>(x: X, pad: &Tensor<(usize, usize), E>) -> EncoderInput<X, E> {
        EncoderInput {
            src: x,
            mask: Some(causal_mask::<E>(5)),
            src_key_padding_mask: Some(pad.clone()),
        }
    }
    let mut previous: Option<Vec<E>> = None;
    for call in 0..2 {
        let cy = layer.forward_train(input(x.clone().trace(), &pad));
        let gy = glayer.forward_train(input(gx.clone().trace(), &pad));
        let gv = down(&gy);
        cmp(&format!("y (call {call})"), &gv, cy.as_slice(), FWD);
        if let Some(p) = &previous {
            assert_ne!(p, &gv, "a second training call draws new masks");
        }
        previous = Some(gv);
        let r = randn::<E>((2, 5, 8), 22);
        let cg = (cy * r.clone()).sum().backward();
        let gg = (gy * r.to_device(dev).unwrap()).sum().backward();
        cmp("x", &grad(&gg, &gx), cg.get_slice(&x).unwrap(), GRAD);
        check_named(&layer, &encoder_layer_grads(&glayer, &gg, ""), &cg);
    }
    // Evaluation mode (the state `to_device` keeps): no dropout, the CPU's values.
    layer.eval();
    glayer.eval();
    let cy = layer.forward(input(x.clone().trace(), &pad));
    let gy = glayer.forward(input(gx.clone().trace(), &pad));
    cmp("y (eval)", &down(&gy), cy.as_slice(), FWD);
    let cg = cy.square().sum().backward();
    let gg = gy.square().sum().backward();
    cmp("x (eval)", &grad(&gg, &gx), cg.get_slice(&x).unwrap(), GRAD);
    check_named(&layer, &encoder_layer_grads(&glayer, &gg, ""), &cg);

    let back = glayer.to_cpu().unwrap();
    assert_eq!(back.param_names(), layer.param_names());
    assert_eq!(back.linear1.weight.to_vec(), layer.linear1.weight.to_vec());
    assert_eq!(back.norm_first, norm_first);

    let bad = randn::<E>((2, 5, 6), 23).to_device(dev).unwrap();
    let err = glayer.try_forward(bad).unwrap_err().to_string();
    assert!(
        err.contains("TransformerEncoderLayerDyn expects d_model 8, got 6"),
        "{err}"
    );
}

#[test]
fn encoder_layer_dyn_matches_cpu_f32() {
    let Some(dev) = gpu() else { return };
    encoder_layer_matches_cpu::<f32>(&dev, false);
    encoder_layer_matches_cpu::<f32>(&dev, true);
}

#[test]
fn encoder_layer_dyn_matches_cpu_f64() {
    let Some(dev) = gpu64() else { return };
    encoder_layer_matches_cpu::<f64>(&dev, false);
    encoder_layer_matches_cpu::<f64>(&dev, true);
}

/// A two-layer pre-norm stack with a final LayerNorm: training mode with dropout (the
/// same masks per seed), then evaluation mode; values, input and parameter gradients.
fn encoder_stack_matches_cpu<E: Float>(dev: &Wgpu) {
    let mut rng = StdRng::seed_from_u64(10);
    let layer = TransformerEncoderLayerDyn::<E>::new(8, 4, 16, config(true), &mut rng);
    let mut encoder =
        TransformerEncoderDyn::new(layer, 2, &mut rng).with_norm(LayerNormDyn::new_dyn(8));
    let mut genc = encoder.to_device(dev).unwrap();
    assert_eq!(genc.num_layers(), 2);
    let x = randn::<E>((3, 4, 8), 31);
    let gx = x.to_device(dev).unwrap();
    let cy = encoder.forward_train(EncoderInput::new(x.clone().trace()).with_mask(causal_mask(4)));
    let gy = genc.forward_train(EncoderInput::new(gx.clone().trace()).with_mask(causal_mask(4)));
    cmp("y (train)", &down(&gy), cy.as_slice(), FWD);
    let r = randn::<E>((3, 4, 8), 32);
    let cg = (cy * r.clone()).sum().backward();
    let gg = (gy * r.to_device(dev).unwrap()).sum().backward();
    cmp("x", &grad(&gg, &gx), cg.get_slice(&x).unwrap(), GRAD);
    check_named(&encoder, &encoder_grads(&genc, &gg), &cg);

    encoder.eval();
    genc.eval();
    let cy = encoder.forward(x.clone().trace());
    let gy = genc.forward(gx.clone().trace());
    cmp("y (eval)", &down(&gy), cy.as_slice(), FWD);
    let cg = cy.square().sum().backward();
    let gg = gy.square().sum().backward();
    cmp("x (eval)", &grad(&gg, &gx), cg.get_slice(&x).unwrap(), GRAD);
    check_named(&encoder, &encoder_grads(&genc, &gg), &cg);
    // train() on the GPU stack: the dropouts act in plain forward too, as on the CPU.
    encoder.train();
    genc.train();
    cmp(
        "y (train())",
        &down(&genc.forward(gx)),
        encoder.forward(x).as_slice(),
        FWD,
    );

    let back = genc.to_cpu().unwrap();
    assert_eq!(back.param_names(), encoder.param_names());
    assert!(back.norm.is_some() && back.layers.len() == 2);
}

#[test]
fn encoder_stack_dyn_matches_cpu_f32() {
    let Some(dev) = gpu() else { return };
    encoder_stack_matches_cpu::<f32>(&dev);
}

#[test]
fn encoder_stack_dyn_matches_cpu_f64() {
    let Some(dev) = gpu64() else { return };
    encoder_stack_matches_cpu::<f64>(&dev);
}

/// The four decoder masks (target causal, a memory mask, both key padding masks) on a
/// `DecoderInput` of either device: one function, as a closure would fix its argument types.
fn decoder_input<X, M, E: Float>(tgt: X, memory: M) -> DecoderInput<X, M, E> {
    let tgt_pad = [false, false, false, false, false, false, true, true];
    let mem_pad = [
        false, false, false, false, false, false, false, false, false, true,
    ];
    DecoderInput {
        tgt,
        memory,
        tgt_mask: Some(causal_mask::<E>(4)),
        memory_mask: Some(mask::<E>(4, 5, |i, j| j == i + 1)),
        tgt_key_padding_mask: Some(key_padding_mask::<E>(&tgt_pad, 2, 4).unwrap()),
        memory_key_padding_mask: Some(key_padding_mask::<E>(&mem_pad, 2, 5).unwrap()),
    }
}

/// A decoder layer (post- and pre-norm) in training mode with dropout 0.25 on both
/// attentions and everywhere else, all four masks: values, target and memory gradients,
/// every parameter's; then evaluation mode, `to_cpu` and the memory-width error.
fn decoder_layer_matches_cpu<E: Float>(dev: &Wgpu, norm_first: bool) {
    let mut rng = StdRng::seed_from_u64(11);
    let config = config(norm_first).dropout(0.25);
    let mut layer = TransformerDecoderLayerDyn::<E>::new(6, 2, 8, config, &mut rng);
    let mut glayer = layer.to_device(dev).unwrap();
    assert_eq!(glayer.d_model(), 6);
    let (tgt, memory) = (randn::<E>((2, 4, 6), 51), randn::<E>((2, 5, 6), 52));
    let (gt, gm) = (tgt.to_device(dev).unwrap(), memory.to_device(dev).unwrap());
    let cy = layer.forward_train(decoder_input(tgt.clone().trace(), memory.clone().trace()));
    let gy = glayer.forward_train(decoder_input(gt.clone().trace(), gm.clone().trace()));
    cmp("y (train)", &down(&gy), cy.as_slice(), FWD);
    let r = randn::<E>((2, 4, 6), 53);
    let cg = (cy * r.clone()).sum().backward();
    let gg = (gy * r.to_device(dev).unwrap()).sum().backward();
    cmp("tgt", &grad(&gg, &gt), cg.get_slice(&tgt).unwrap(), GRAD);
    cmp(
        "memory",
        &grad(&gg, &gm),
        cg.get_slice(&memory).unwrap(),
        GRAD,
    );
    check_named(&layer, &decoder_layer_grads(&glayer, &gg, ""), &cg);

    layer.eval();
    glayer.eval();
    let cy = layer.forward(decoder_input(tgt.clone().trace(), memory.clone().trace()));
    let gy = glayer.forward(decoder_input(gt.clone().trace(), gm.clone().trace()));
    cmp("y (eval)", &down(&gy), cy.as_slice(), FWD);
    let cg = cy.square().sum().backward();
    let gg = gy.square().sum().backward();
    cmp(
        "tgt (eval)",
        &grad(&gg, &gt),
        cg.get_slice(&tgt).unwrap(),
        GRAD,
    );
    cmp(
        "memory (eval)",
        &grad(&gg, &gm),
        cg.get_slice(&memory).unwrap(),
        GRAD,
    );
    check_named(&layer, &decoder_layer_grads(&glayer, &gg, ""), &cg);
    // Plain (tgt, memory), no masks.
    cmp(
        "y (no masks)",
        &down(&glayer.forward((gt.clone(), gm.clone()))),
        layer.forward((tgt.clone(), memory.clone())).as_slice(),
        FWD,
    );

    let back = glayer.to_cpu().unwrap();
    assert_eq!(back.param_names(), layer.param_names());
    assert_eq!(
        back.multihead_attn.in_proj_weight.to_vec(),
        layer.multihead_attn.in_proj_weight.to_vec()
    );

    let bad = randn::<E>((2, 5, 4), 54).to_device(dev).unwrap();
    let err = glayer.try_forward((gt, bad)).unwrap_err().to_string();
    assert!(
        err.contains("TransformerDecoderLayerDyn expects memory d_model 6, got 4"),
        "{err}"
    );
}

#[test]
fn decoder_layer_dyn_matches_cpu_f32() {
    let Some(dev) = gpu() else { return };
    decoder_layer_matches_cpu::<f32>(&dev, false);
    decoder_layer_matches_cpu::<f32>(&dev, true);
}

#[test]
fn decoder_layer_dyn_matches_cpu_f64() {
    let Some(dev) = gpu64() else { return };
    decoder_layer_matches_cpu::<f64>(&dev, false);
    decoder_layer_matches_cpu::<f64>(&dev, true);
}

/// A two-layer decoder stack with a final LayerNorm: training mode with dropout and all
/// masks, then evaluation mode; values, target, memory and parameter gradients.
fn decoder_stack_matches_cpu<E: Float>(dev: &Wgpu) {
    let mut rng = StdRng::seed_from_u64(12);
    let layer = TransformerDecoderLayerDyn::<E>::new(6, 3, 10, config(false), &mut rng);
    let mut decoder =
        TransformerDecoderDyn::new(layer, 2, &mut rng).with_norm(LayerNormDyn::new_dyn(6));
    let mut gdec = decoder.to_device(dev).unwrap();
    assert_eq!(gdec.num_layers(), 2);
    let (tgt, memory) = (randn::<E>((2, 4, 6), 61), randn::<E>((2, 5, 6), 62));
    let (gt, gm) = (tgt.to_device(dev).unwrap(), memory.to_device(dev).unwrap());
    let cy = decoder.forward_train(decoder_input(tgt.clone().trace(), memory.clone().trace()));
    let gy = gdec.forward_train(decoder_input(gt.clone().trace(), gm.clone().trace()));
    cmp("y (train)", &down(&gy), cy.as_slice(), FWD);
    let r = randn::<E>((2, 4, 6), 63);
    let cg = (cy * r.clone()).sum().backward();
    let gg = (gy * r.to_device(dev).unwrap()).sum().backward();
    cmp("tgt", &grad(&gg, &gt), cg.get_slice(&tgt).unwrap(), GRAD);
    cmp(
        "memory",
        &grad(&gg, &gm),
        cg.get_slice(&memory).unwrap(),
        GRAD,
    );
    check_named(&decoder, &decoder_grads(&gdec, &gg), &cg);

    decoder.eval();
    gdec.eval();
    let cy = decoder.forward(decoder_input(tgt.clone().trace(), memory.clone().trace()));
    let gy = gdec.forward(decoder_input(gt.clone().trace(), gm.clone().trace()));
    cmp("y (eval)", &down(&gy), cy.as_slice(), FWD);
    let cg = cy.square().sum().backward();
    let gg = gy.square().sum().backward();
    cmp(
        "tgt (eval)",
        &grad(&gg, &gt),
        cg.get_slice(&tgt).unwrap(),
        GRAD,
    );
    cmp(
        "memory (eval)",
        &grad(&gg, &gm),
        cg.get_slice(&memory).unwrap(),
        GRAD,
    );
    check_named(&decoder, &decoder_grads(&gdec, &gg), &cg);

    let back = gdec.to_cpu().unwrap();
    assert_eq!(back.param_names(), decoder.param_names());
    assert!(back.norm.is_some() && back.layers.len() == 2);
}

#[test]
fn decoder_stack_dyn_matches_cpu_f32() {
    let Some(dev) = gpu() else { return };
    decoder_stack_matches_cpu::<f32>(&dev);
}

#[test]
fn decoder_stack_dyn_matches_cpu_f64() {
    let Some(dev) = gpu64() else { return };
    decoder_stack_matches_cpu::<f64>(&dev);
}
