//! The sequence layers in f64 on the GPU (adapters with `SHADER_F64`, lavapipe among them):
//! LSTM, GRU and Elman RNN cells and stacks, multi-head attention and the transformer layers
//! and stacks, moved from the CPU's f64 layers with `to_device`, against the CPU's f64 path
//! (outputs, the inputs' and every parameter's gradient, dropout masks drawn from the same
//! generators) to near f64 precision.
#![cfg(feature = "wgpu")]

mod gpu_support;

use gpu_support::{F64_TOL, close64, gpu64, randn64};
use shaped::autograd::Gradients;
use shaped::gpu::prelude::*;
use shaped::gpu::{
    GpuLSTMCell, GpuLayerNorm, GpuLinear, GpuMultiheadAttention, GpuRecurrentCell,
    GpuTransformerDecoderLayer, GpuTransformerEncoderLayer,
};
use shaped::nn::{
    AttentionOptions, BiGRU, BiLSTM, CellKind, DecoderInput, Dropout, EncoderInput, GRU, GRUCell,
    LSTMCell, LayerNorm, Module, MultiheadAttention, Params, RNN, RNNCell, RNNReluCell,
    RecurrentCell, SeqFirst, TransformerActivation, TransformerConfig, TransformerDecoder,
    TransformerDecoderLayer, TransformerEncoder, TransformerEncoderLayer, causal_mask,
    key_padding_mask,
};
use shaped::optim::{Adam, Optimizer};
use shaped::prelude::*;
use shaped::rand::{SeedableRng, rngs::StdRng};

type G64<S, T = NoTape> = GpuTensor<S, T, f64>;
type Named = Vec<(String, Vec<f64>)>;
type Mask64 = Tensor<(usize, usize), f64>;

fn down<S: Shape, T>(t: &G64<S, T>) -> Vec<f64> {
    t.to_cpu().unwrap().to_vec()
}

fn up<S: Shape>(g: &Wgpu, t: &Tensor<S, f64>) -> G64<S> {
    t.to_device(g).unwrap()
}

fn grad<S: Shape, T>(gg: &Gradients<f64>, t: &G64<S, T>) -> Vec<f64> {
    down(&gg.get_gpu(t).expect("a GPU gradient"))
}

/// Every parameter of the CPU model, by name, against the GPU's gradients (`gpu` names
/// each of them once).
#[track_caller]
fn check_named<M: Params<f64>>(cpu: &M, gpu: &Named, cg: &Gradients<f64>) {
    let mut n = 0;
    cpu.visit("", &mut |p| {
        let (_, gv) = gpu
            .iter()
            .find(|(name, _)| name == p.name)
            .unwrap_or_else(|| panic!("no GPU parameter {}", p.name));
        close64(p.name, gv, cg.get_id(p.id).unwrap(), F64_TOL);
        n += 1;
    });
    assert_eq!(n, gpu.len(), "GPU and CPU parameter counts");
}

fn cell_grads<K: CellKind, I: Dim, H: Dim>(
    c: &GpuRecurrentCell<K, I, H, f64>,
    gg: &Gradients<f64>,
    suffix: &str,
) -> Named {
    let mut out = vec![
        (format!("weight_ih{suffix}"), grad(gg, &c.weight_ih)),
        (format!("weight_hh{suffix}"), grad(gg, &c.weight_hh)),
    ];
    for (n, b) in [("bias_ih", &c.bias_ih), ("bias_hh", &c.bias_hh)] {
        if let Some(b) = b {
            out.push((format!("{n}{suffix}"), grad(gg, b)));
        }
    }
    out
}

fn lstm_cell_grads<I: Dim, H: Dim>(
    c: &GpuLSTMCell<I, H, f64>,
    gg: &Gradients<f64>,
    suffix: &str,
) -> Named {
    let mut out = vec![
        (format!("weight_ih{suffix}"), grad(gg, &c.weight_ih)),
        (format!("weight_hh{suffix}"), grad(gg, &c.weight_hh)),
    ];
    for (n, b) in [("bias_ih", &c.bias_ih), ("bias_hh", &c.bias_hh)] {
        if let Some(b) = b {
            out.push((format!("{n}{suffix}"), grad(gg, b)));
        }
    }
    out
}

#[test]
fn lstm_cell_f64_matches_cpu() {
    let Some(g) = gpu64() else { return };
    let cell = LSTMCell::<5, 7, f64>::new(&mut StdRng::seed_from_u64(1));
    let gcell = cell.to_device(&g).unwrap();
    let (x, h0, c0) = (
        randn64::<Rank2<3, 5>>(2),
        randn64::<Rank2<3, 7>>(3),
        randn64::<Rank2<3, 7>>(4),
    );
    let (rh, rc) = (randn64::<Rank2<3, 7>>(5), randn64::<Rank2<3, 7>>(6));
    let (ch, cc) = cell.forward((x.clone().trace(), (h0.clone().trace(), c0.clone().trace())));
    let (gx, gh0, gc0) = (up(&g, &x), up(&g, &h0), up(&g, &c0));
    let (gh, gc) = gcell.forward((
        gx.clone().trace(),
        (gh0.clone().trace(), gc0.clone().trace()),
    ));
    close64("h'", &down(&gh), ch.as_slice(), F64_TOL);
    close64("c'", &down(&gc), cc.as_slice(), F64_TOL);
    let cg = ((ch * rh.clone()).sum() + (cc * rc.clone()).sum()).backward();
    let gg = ((gh * up(&g, &rh)).sum() + (gc * up(&g, &rc)).sum()).backward();
    close64("x", &grad(&gg, &gx), cg.get_slice(&x).unwrap(), F64_TOL);
    close64("h0", &grad(&gg, &gh0), cg.get_slice(&h0).unwrap(), F64_TOL);
    close64("c0", &grad(&gg, &gc0), cg.get_slice(&c0).unwrap(), F64_TOL);
    check_named(&cell, &lstm_cell_grads(&gcell, &gg, ""), &cg);
    // From zero states, untraced; and back to the CPU.
    let (ch, _) = cell.forward(x.clone());
    let (gh, _) = gcell.forward(up(&g, &x));
    close64("h' from zeros", &down(&gh), ch.as_slice(), F64_TOL);
    let back = gcell.to_cpu().unwrap();
    assert_eq!(back.weight_hh.to_vec(), cell.weight_hh.to_vec());
}

/// Two bidirectional layers with dropout in training mode, batch-first, from given states:
/// the CPU's dropout masks, outputs, final states and every gradient.
#[test]
fn bilstm_stack_f64_with_dropout_matches_cpu() {
    let Some(g) = gpu64() else { return };
    let mut rng = StdRng::seed_from_u64(7);
    let mut cpu = BiLSTM::<3, 4, 2, f64>::new(&mut rng).with_dropout(0.3, &mut rng);
    let mut lstm = cpu.to_device(&g).unwrap();
    let x = randn64::<Rank3<2, 5, 3>>(8);
    let (h0, c0) = (randn64::<Rank3<4, 2, 4>>(9), randn64::<Rank3<4, 2, 4>>(10));
    let r = randn64::<Rank3<2, 5, 8>>(11);
    let (cy, (chn, ccn)) = cpu
        .try_forward_train((x.clone().trace(), (h0.clone().trace(), c0.clone().trace())))
        .unwrap();
    let (gx, gh0, gc0) = (up(&g, &x), up(&g, &h0), up(&g, &c0));
    let (gy, (ghn, gcn)) = lstm
        .try_forward_train((
            gx.clone().trace(),
            (gh0.clone().trace(), gc0.clone().trace()),
        ))
        .unwrap();
    let gy_train = down(&gy);
    close64("y", &gy_train, cy.as_slice(), F64_TOL);
    close64("h_n", &down(&ghn), chn.as_slice(), F64_TOL);
    close64("c_n", &down(&gcn), ccn.as_slice(), F64_TOL);
    let cg = ((cy * r.clone()).sum() + chn.square().sum() + ccn.sum()).backward();
    let gg = ((gy * up(&g, &r)).sum() + ghn.square().sum() + gcn.sum()).backward();
    close64("x", &grad(&gg, &gx), cg.get_slice(&x).unwrap(), F64_TOL);
    close64("h0", &grad(&gg, &gh0), cg.get_slice(&h0).unwrap(), F64_TOL);
    close64("c0", &grad(&gg, &gc0), cg.get_slice(&c0).unwrap(), F64_TOL);
    let mut grads = lstm_cell_grads(&lstm.cell, &gg, "_l0");
    grads.extend(lstm_cell_grads(
        lstm.cell_reverse.as_ref().unwrap(),
        &gg,
        "_l0_reverse",
    ));
    grads.extend(lstm_cell_grads(&lstm.rest[0], &gg, "_l1"));
    grads.extend(lstm_cell_grads(&lstm.rest_reverse[0], &gg, "_l1_reverse"));
    check_named(&cpu, &grads, &cg);
    // Evaluation mode from zero states: no dropout on either device, so other values.
    let (cy_eval, _) = cpu.forward(x.clone());
    let (gy_eval, _) = lstm.forward(up(&g, &x));
    close64("eval y", &down(&gy_eval), cy_eval.as_slice(), F64_TOL);
    assert_ne!(down(&gy_eval), gy_train, "training mode dropped something");
    // The f64 GPU model's parameters, by name, as an optimizer visits them.
    assert_eq!(lstm.gpu_param_names(), cpu.param_names());
}

/// One step of each h-only cell (GRU, tanh RNN, relu RNN) from a given state.
fn h_cell_matches_cpu<K: CellKind>(cell: RecurrentCell<K, Const<4>, Const<6>, f64>)
where
    RecurrentCell<K, Const<4>, Const<6>, f64>: Module<
            (
                Tensor<Rank2<3, 4>, f64, OwnedTape<f64>>,
                Tensor<Rank2<3, 6>, f64, OwnedTape<f64>>,
            ),
            Output = Tensor<Rank2<3, 6>, f64, OwnedTape<f64>>,
        > + ToDevice<Output = GpuRecurrentCell<K, Const<4>, Const<6>, f64>>,
    GpuRecurrentCell<K, Const<4>, Const<6>, f64>: Module<
            (
                G64<Rank2<3, 4>, OwnedTape<f64>>,
                G64<Rank2<3, 6>, OwnedTape<f64>>,
            ),
            Output = G64<Rank2<3, 6>, OwnedTape<f64>>,
        >,
{
    let g = gpu64().expect("checked by the caller");
    let gcell = cell.to_device(&g).unwrap();
    let (x, h0, r) = (
        randn64::<Rank2<3, 4>>(21),
        randn64::<Rank2<3, 6>>(22),
        randn64::<Rank2<3, 6>>(23),
    );
    let ch = cell.forward((x.clone().trace(), h0.clone().trace()));
    let (gx, gh0) = (up(&g, &x), up(&g, &h0));
    let gh = gcell.forward((gx.clone().trace(), gh0.clone().trace()));
    close64(K::CELL_NAME, &down(&gh), ch.as_slice(), F64_TOL);
    let cg = (ch * r.clone()).sum().backward();
    let gg = (gh * up(&g, &r)).sum().backward();
    close64("x", &grad(&gg, &gx), cg.get_slice(&x).unwrap(), F64_TOL);
    close64("h0", &grad(&gg, &gh0), cg.get_slice(&h0).unwrap(), F64_TOL);
    check_named(&cell, &cell_grads(&gcell, &gg, ""), &cg);
}

#[test]
fn gru_and_rnn_cells_f64_match_cpu() {
    if gpu64().is_none() {
        return;
    }
    let mut rng = StdRng::seed_from_u64(20);
    h_cell_matches_cpu(GRUCell::<4, 6, f64>::new(&mut rng));
    h_cell_matches_cpu(RNNCell::<4, 6, f64>::new(&mut rng));
    h_cell_matches_cpu(RNNReluCell::<4, 6, f64>::new(&mut rng));
}

/// Two bidirectional GRU layers with dropout, in training mode, sequence-first.
#[test]
fn bigru_stack_f64_with_dropout_matches_cpu() {
    let Some(g) = gpu64() else { return };
    let mut rng = StdRng::seed_from_u64(30);
    let mut cpu = BiGRU::<4, 3, 2, f64, SeqFirst>::new(&mut rng).with_dropout(0.3, &mut rng);
    let mut gru = cpu.to_device(&g).unwrap();
    let x = randn64::<Rank3<5, 2, 4>>(31);
    let h0 = randn64::<Rank3<4, 2, 3>>(32);
    let r = randn64::<Rank3<5, 2, 6>>(33);
    let (cy, chn) = cpu
        .try_forward_train((x.clone().trace(), h0.clone().trace()))
        .unwrap();
    let (gx, gh0) = (up(&g, &x), up(&g, &h0));
    let (gy, ghn) = gru
        .try_forward_train((gx.clone().trace(), gh0.clone().trace()))
        .unwrap();
    close64("y", &down(&gy), cy.as_slice(), F64_TOL);
    close64("h_n", &down(&ghn), chn.as_slice(), F64_TOL);
    let cg = ((cy * r.clone()).sum() + chn.square().sum()).backward();
    let gg = ((gy * up(&g, &r)).sum() + ghn.square().sum()).backward();
    close64("x", &grad(&gg, &gx), cg.get_slice(&x).unwrap(), F64_TOL);
    close64("h0", &grad(&gg, &gh0), cg.get_slice(&h0).unwrap(), F64_TOL);
    let mut grads = cell_grads(&gru.cell, &gg, "_l0");
    grads.extend(cell_grads(
        gru.cell_reverse.as_ref().unwrap(),
        &gg,
        "_l0_reverse",
    ));
    grads.extend(cell_grads(&gru.rest[0], &gg, "_l1"));
    grads.extend(cell_grads(&gru.rest_reverse[0], &gg, "_l1_reverse"));
    check_named(&cpu, &grads, &cg);
    assert_eq!(gru.gpu_param_names(), cpu.param_names());
}

/// A two-layer tanh RNN, batch-first, from zero states; only `y` reaches the loss.
#[test]
fn rnn_stack_f64_matches_cpu() {
    let Some(g) = gpu64() else { return };
    let cpu = RNN::<3, 5, 2, f64>::new(&mut StdRng::seed_from_u64(40));
    let rnn = cpu.to_device(&g).unwrap();
    let x = randn64::<Rank3<2, 6, 3>>(41);
    let (cy, chn) = cpu.forward(x.clone().trace());
    let gx = up(&g, &x);
    let (gy, ghn) = rnn.forward(gx.clone().trace());
    close64("y", &down(&gy), cy.as_slice(), F64_TOL);
    close64("h_n", &down(&ghn), chn.as_slice(), F64_TOL);
    let cg = cy.square().sum().backward();
    let gg = gy.square().sum().backward();
    close64("x", &grad(&gg, &gx), cg.get_slice(&x).unwrap(), F64_TOL);
    let mut grads = cell_grads(&rnn.cell, &gg, "_l0");
    grads.extend(cell_grads(&rnn.rest[0], &gg, "_l1"));
    check_named(&cpu, &grads, &cg);
}

fn linear_grads<I: Dim, O: Dim>(l: &GpuLinear<I, O, f64>, gg: &Gradients<f64>, p: &str) -> Named {
    vec![
        (format!("{p}weight"), grad(gg, &l.weight)),
        (format!("{p}bias"), grad(gg, l.bias.as_ref().unwrap())),
    ]
}

fn norm_grads<D: Dim>(n: &GpuLayerNorm<D, f64>, gg: &Gradients<f64>, p: &str) -> Named {
    vec![
        (format!("{p}weight"), grad(gg, &n.weight)),
        (format!("{p}bias"), grad(gg, &n.bias)),
    ]
}

fn mha_grads<const E: usize, const H: usize>(
    m: &GpuMultiheadAttention<E, H, f64>,
    gg: &Gradients<f64>,
    p: &str,
) -> Named {
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

fn encoder_layer_grads<const D: usize, const H: usize, const F: usize>(
    l: &GpuTransformerEncoderLayer<D, H, F, f64>,
    gg: &Gradients<f64>,
    p: &str,
) -> Named {
    let mut out = mha_grads(&l.self_attn, gg, &format!("{p}self_attn."));
    out.extend(linear_grads(&l.linear1, gg, &format!("{p}linear1.")));
    out.extend(linear_grads(&l.linear2, gg, &format!("{p}linear2.")));
    out.extend(norm_grads(&l.norm1, gg, &format!("{p}norm1.")));
    out.extend(norm_grads(&l.norm2, gg, &format!("{p}norm2.")));
    out
}

fn decoder_layer_grads<const D: usize, const H: usize, const F: usize>(
    l: &GpuTransformerDecoderLayer<D, H, F, f64>,
    gg: &Gradients<f64>,
    p: &str,
) -> Named {
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

/// Cross-attention with both masks (a causal `attn_mask` and a padding mask hiding keys
/// with `-inf`), the averaged weights, and dropout on the weights with the same seed.
#[test]
fn multihead_attention_f64_matches_cpu() {
    let Some(g) = gpu64() else { return };
    let mha = MultiheadAttention::<8, 2, f64>::new(&mut StdRng::seed_from_u64(50));
    let gmha = mha.to_device(&g).unwrap();
    let q = randn64::<Rank3<2, 4, 8>>(51);
    let kv = randn64::<Rank3<2, 4, 8>>(52);
    let r = randn64::<Rank3<2, 4, 8>>(53);
    let mask = causal_mask::<f64>(4);
    let pad = key_padding_mask::<f64>(
        &[false, false, true, false, false, true, false, false],
        2,
        4,
    )
    .unwrap();
    let (mut cdrop, mut gdrop) = (Dropout::with_seed(0.25, 3), Dropout::with_seed(0.25, 3));
    let (cy, cw) = mha.forward_with(
        q.clone().trace(),
        kv.clone().trace(),
        kv.clone().trace(),
        AttentionOptions {
            attn_mask: Some(&mask),
            key_padding_mask: Some(&pad),
            dropout: Some(&mut cdrop),
            ..Default::default()
        },
    );
    let (gq, gkv) = (up(&g, &q), up(&g, &kv));
    let (gy, gw) = gmha
        .try_forward_with(
            gq.clone().trace(),
            gkv.clone().trace(),
            gkv.clone().trace(),
            AttentionOptions {
                attn_mask: Some(&mask),
                key_padding_mask: Some(&pad),
                dropout: Some(&mut gdrop),
                ..Default::default()
            },
        )
        .unwrap();
    close64("y", &down(&gy), cy.as_slice(), F64_TOL);
    let (cw, gw) = (cw.unwrap(), gw.unwrap());
    close64("weights", &down(&gw), cw.as_slice(), F64_TOL);
    let cg = ((cy * r.clone()).sum() + cw.square().sum()).backward();
    let gg = ((gy * up(&g, &r)).sum() + gw.square().sum()).backward();
    close64("q", &grad(&gg, &gq), cg.get_slice(&q).unwrap(), F64_TOL);
    close64("kv", &grad(&gg, &gkv), cg.get_slice(&kv).unwrap(), F64_TOL);
    check_named(&mha, &mha_grads(&gmha, &gg, ""), &cg);
    // Self-attention as a Module, no masks.
    let (cy, cw) = mha.forward(q.clone());
    let (gy, gw) = gmha.forward(up(&g, &q));
    close64("self y", &down(&gy), cy.as_slice(), F64_TOL);
    close64("self weights", &down(&gw), cw.as_slice(), F64_TOL);
}

/// Post-norm gelu encoder layer with a mask and a padding mask, evaluation mode; then a
/// pre-norm two-layer stack with dropout 0.2 in training mode (the same seeds' masks).
#[test]
fn transformer_encoder_f64_matches_cpu() {
    let Some(g) = gpu64() else { return };
    let mut rng = StdRng::seed_from_u64(60);
    let config = TransformerConfig::default().activation(TransformerActivation::Gelu);
    let layer = TransformerEncoderLayer::<6, 2, 10, f64>::new(config, &mut rng);
    let glayer = layer.to_device(&g).unwrap();
    let x = randn64::<Rank3<2, 4, 6>>(61);
    let r = randn64::<Rank3<2, 4, 6>>(62);
    let pad = key_padding_mask::<f64>(
        &[false, false, false, true, false, true, false, false],
        2,
        4,
    )
    .unwrap();
    fn input<S: Shape, T, D: shaped::device::Device>(
        x: Tensor<S, f64, T, D>,
        pad: &Mask64,
    ) -> EncoderInput<Tensor<S, f64, T, D>, f64> {
        EncoderInput::new(x)
            .with_mask(causal_mask::<f64>(4))
            .with_key_padding_mask(pad.clone())
    }
    let cy = layer.forward(input(x.clone().trace(), &pad));
    let gx = up(&g, &x);
    let gy = glayer.forward(input(gx.clone().trace(), &pad));
    close64("layer y", &down(&gy), cy.as_slice(), F64_TOL);
    let cg = (cy * r.clone()).sum().backward();
    let gg = (gy * up(&g, &r)).sum().backward();
    close64(
        "layer x",
        &grad(&gg, &gx),
        cg.get_slice(&x).unwrap(),
        F64_TOL,
    );
    check_named(&layer, &encoder_layer_grads(&glayer, &gg, ""), &cg);

    let config = TransformerConfig::default().dropout(0.2).norm_first(true);
    let layer = TransformerEncoderLayer::<6, 2, 10, f64>::new(config, &mut rng);
    let mut encoder = TransformerEncoder::new(layer, 2, &mut rng).with_norm(LayerNorm::new());
    let mut genc = encoder.to_device(&g).unwrap();
    let cy = encoder.forward_train(x.clone().trace());
    let gy = genc.forward_train(gx.clone().trace());
    close64("stack y", &down(&gy), cy.as_slice(), F64_TOL);
    let cg = (cy * r.clone()).sum().backward();
    let gg = (gy * up(&g, &r)).sum().backward();
    close64(
        "stack x",
        &grad(&gg, &gx),
        cg.get_slice(&x).unwrap(),
        F64_TOL,
    );
    let mut grads = Named::new();
    for (i, l) in genc.layers.iter().enumerate() {
        grads.extend(encoder_layer_grads(l, &gg, &format!("layers.{i}.")));
    }
    grads.extend(norm_grads(genc.norm.as_ref().unwrap(), &gg, "norm."));
    check_named(&encoder, &grads, &cg);
    // Evaluation mode: no dropout.
    close64(
        "stack eval y",
        &down(&genc.forward(gx.clone())),
        encoder.forward(x.clone()).as_slice(),
        F64_TOL,
    );
}

/// A relu decoder layer in training mode with dropout 0.25 (both attentions' weights
/// included) and all four masks; then a two-layer pre-norm stack with a final norm.
#[test]
fn transformer_decoder_f64_matches_cpu() {
    let Some(g) = gpu64() else { return };
    let mut rng = StdRng::seed_from_u64(70);
    let config = TransformerConfig::default().dropout(0.25);
    let mut layer = TransformerDecoderLayer::<6, 3, 8, f64>::new(config, &mut rng);
    let mut glayer = layer.to_device(&g).unwrap();
    let tgt = randn64::<Rank3<2, 3, 6>>(71);
    let memory = randn64::<Rank3<2, 4, 6>>(72);
    let r = randn64::<Rank3<2, 3, 6>>(73);
    let memory_mask = Tensor::<(usize, usize), f64>::randn_with_shape((3, 4), &mut rng);
    let tgt_pad =
        key_padding_mask::<f64>(&[false, false, true, false, false, false], 2, 3).unwrap();
    let mem_pad = key_padding_mask::<f64>(
        &[false, true, false, false, false, false, false, true],
        2,
        4,
    )
    .unwrap();
    fn masks<X, M>(i: DecoderInput<X, M, f64>, m: [&Mask64; 3]) -> DecoderInput<X, M, f64> {
        i.with_tgt_mask(causal_mask::<f64>(3))
            .with_memory_mask(m[0].clone())
            .with_tgt_key_padding_mask(m[1].clone())
            .with_memory_key_padding_mask(m[2].clone())
    }
    let m = [&memory_mask, &tgt_pad, &mem_pad];
    let cy = layer.forward_train(masks(
        DecoderInput::new(tgt.clone().trace(), memory.clone().trace()),
        m,
    ));
    let (gt, gm) = (up(&g, &tgt), up(&g, &memory));
    let gy = glayer.forward_train(masks(
        DecoderInput::new(gt.clone().trace(), gm.clone().trace()),
        m,
    ));
    close64("layer y", &down(&gy), cy.as_slice(), F64_TOL);
    let cg = (cy * r.clone()).sum().backward();
    let gg = (gy * up(&g, &r)).sum().backward();
    close64(
        "layer tgt",
        &grad(&gg, &gt),
        cg.get_slice(&tgt).unwrap(),
        F64_TOL,
    );
    close64(
        "layer memory",
        &grad(&gg, &gm),
        cg.get_slice(&memory).unwrap(),
        F64_TOL,
    );
    check_named(&layer, &decoder_layer_grads(&glayer, &gg, ""), &cg);

    let config = TransformerConfig::default().norm_first(true);
    let layer = TransformerDecoderLayer::<6, 3, 8, f64>::new(config, &mut rng);
    let decoder = TransformerDecoder::new(layer, 2, &mut rng).with_norm(LayerNorm::new());
    let gdec = decoder.to_device(&g).unwrap();
    let cy = decoder.forward((tgt.clone().trace(), memory.clone().trace()));
    let gy = gdec.forward((gt.clone().trace(), gm.clone().trace()));
    close64("stack y", &down(&gy), cy.as_slice(), F64_TOL);
    let cg = (cy * r.clone()).sum().backward();
    let gg = (gy * up(&g, &r)).sum().backward();
    close64(
        "stack tgt",
        &grad(&gg, &gt),
        cg.get_slice(&tgt).unwrap(),
        F64_TOL,
    );
    close64(
        "stack memory",
        &grad(&gg, &gm),
        cg.get_slice(&memory).unwrap(),
        F64_TOL,
    );
    let mut grads = Named::new();
    for (i, l) in gdec.layers.iter().enumerate() {
        grads.extend(decoder_layer_grads(l, &gg, &format!("layers.{i}.")));
    }
    grads.extend(norm_grads(gdec.norm.as_ref().unwrap(), &gg, "norm."));
    check_named(&decoder, &grads, &cg);
    let back = gdec.to_cpu().unwrap();
    assert_eq!(back.param_names(), decoder.param_names());
    let mut gdec = gdec;
    assert_eq!(gdec.gpu_param_names(), decoder.param_names());
}

/// Two Adam steps on an f64 GRU stack on both devices: the GPU layer hands the optimizer
/// every parameter (`GpuParams<f64>`) and the weights stay equal to the CPU's.
#[test]
fn adam_steps_an_f64_gru_as_the_cpu() {
    let Some(g) = gpu64() else { return };
    let mut cpu = GRU::<3, 4, 2, f64>::new(&mut StdRng::seed_from_u64(80));
    let mut gru = cpu.to_device(&g).unwrap();
    let (mut copt, mut gopt) = (
        Adam::<f64>::new(0.01),
        GpuOptimizer::new(Adam::<f64>::new(0.01)),
    );
    let x = randn64::<Rank3<2, 5, 3>>(81);
    let gx = up(&g, &x);
    for _ in 0..2 {
        let (cy, _) = cpu.forward(x.clone().trace_constant());
        copt.try_step(&mut cpu, &cy.square().sum().backward())
            .unwrap();
        let (gy, _) = gru.forward(gx.clone().trace_constant());
        gopt.step(&mut gru, &gy.square().sum().backward()).unwrap();
    }
    let values = |m: &GRU<3, 4, 2, f64>| {
        let mut out = Vec::new();
        m.visit("", &mut |p| out.push((p.name.to_string(), p.data.to_vec())));
        out
    };
    let (cv, gv) = (values(&cpu), values(&gru.to_cpu().unwrap()));
    assert_eq!(cv.len(), 8);
    for ((name, c), (_, gpu)) in cv.iter().zip(&gv) {
        close64(name, gpu, c, F64_TOL);
    }
    // The steps moved the weights.
    let start = GRU::<3, 4, 2, f64>::new(&mut StdRng::seed_from_u64(80));
    assert_ne!(values(&start)[0].1, cv[0].1);
}
