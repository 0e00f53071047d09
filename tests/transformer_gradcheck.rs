//! The transformer layers and stacks: f64 finite-difference gradient checks (inputs and every
//! parameter, with causal and key padding masks), dropout only in training mode,
//! `need_weights = false`, and key padding masks that hide keys exactly.

use proptest::prelude::*;
use rand::SeedableRng;
use shaped::gradcheck::{
    GradcheckOptions, Traced, gradcheck_params, gradcheck_vjp, gradcheck2_vjp,
};
use shaped::nn::{
    AttentionInput, AttentionOptions, DecoderInput, Dropout, EncoderInput, LayerNorm, Module,
    MultiheadAttention, Params, TransformerActivation, TransformerConfig, TransformerDecoder,
    TransformerDecoderLayer, TransformerEncoder, TransformerEncoderLayer, causal_mask,
    key_padding_mask,
};
use shaped::prelude::*;
use shaped::strategies::tensor;

fn rng(seed: u64) -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(seed)
}

fn opts() -> GradcheckOptions {
    GradcheckOptions::default()
}

fn config(norm_first: bool, gelu: bool) -> TransformerConfig {
    let activation = if gelu {
        TransformerActivation::Gelu
    } else {
        TransformerActivation::Relu
    };
    TransformerConfig::default()
        .dropout(0.0)
        .norm_first(norm_first)
        .activation(activation)
}

/// Batch element 1 has its last key padded; element 0 has none.
fn padding(len: usize) -> Tensor<(usize, usize), f64> {
    let mut flags = vec![false; 2 * len];
    flags[2 * len - 1] = true;
    key_padding_mask(&flags, 2, len).unwrap()
}

type Enc = TransformerEncoderLayer<4, 2, 6, f64>;
type Dec = TransformerDecoderLayer<4, 2, 6, f64>;

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn encoder_layer_input_and_parameters(x in tensor::<Rank3<2, 3, 4>, f64>(-1.0..1.0), seed in 0u64..1000, norm_first in any::<bool>(), gelu in any::<bool>()) {
        let layer = Enc::new(config(norm_first, gelu), &mut rng(seed));
        let run = |m: &Enc, x: Traced<Rank3<2, 3, 4>>| {
            m.forward(EncoderInput::new(x).with_mask(causal_mask(3)).with_key_padding_mask(padding(3)))
        };
        gradcheck_vjp(&x, |x| run(&layer, x), opts()).unwrap();
        gradcheck_params(&layer, |m| run(m, x.clone().trace()), opts()).unwrap();
    }

    #[test]
    fn decoder_layer_inputs_and_parameters(tgt in tensor::<Rank3<2, 3, 4>, f64>(-1.0..1.0), memory in tensor::<Rank3<2, 4, 4>, f64>(-1.0..1.0), seed in 0u64..1000, norm_first in any::<bool>(), gelu in any::<bool>()) {
        let layer = Dec::new(config(norm_first, gelu), &mut rng(seed));
        let run = |m: &Dec, t: Traced<Rank3<2, 3, 4>>, s: Traced<Rank3<2, 4, 4>>| {
            m.forward(
                DecoderInput::new(t, s)
                    .with_tgt_mask(causal_mask(3))
                    .with_tgt_key_padding_mask(padding(3))
                    .with_memory_key_padding_mask(padding(4)),
            )
        };
        gradcheck2_vjp(&tgt, &memory, |t, s| run(&layer, t, s), opts()).unwrap();
        gradcheck_params(&layer, |m| run(m, tgt.clone().trace(), memory.clone().trace()), opts()).unwrap();
    }

    #[test]
    fn stacks_inputs_and_parameters(x in tensor::<Rank3<2, 3, 4>, f64>(-1.0..1.0), memory in tensor::<Rank3<2, 2, 4>, f64>(-1.0..1.0), seed in 0u64..1000) {
        let mut r = rng(seed);
        let mut encoder = TransformerEncoder::new(Enc::new(config(true, false), &mut r), 2, &mut r)
            .with_norm(LayerNorm::new());
        // Distinct values, so that a mix-up between the layers would show.
        encoder.layers[1] = Enc::new(config(true, false), &mut r);
        let decoder = TransformerDecoder::new(Dec::new(config(false, true), &mut r), 2, &mut r);
        gradcheck_vjp(&x, |x| encoder.forward(x), opts()).unwrap();
        gradcheck2_vjp(&x, &memory, |t, s| decoder.forward((t, s)), opts()).unwrap();
    }
}

/// Gradients reach every parameter of a stack, the final norm included (one case: the
/// layers themselves are checked above).
#[test]
fn stack_parameters() {
    let mut r = rng(8);
    let encoder = TransformerEncoder::new(Enc::new(config(false, true), &mut r), 2, &mut r)
        .with_norm(LayerNorm::new());
    // The layers start equal (PyTorch's copies) but are distinct parameters.
    let ids: std::collections::HashSet<_> = {
        let mut ids = Vec::new();
        encoder.visit("", &mut |p| ids.push(p.id));
        ids.into_iter().collect()
    };
    assert_eq!(ids.len(), encoder.param_names().len());
    let x = Tensor::<Rank3<2, 3, 4>, f64>::from_vec(
        (0..24).map(|i| ((i * 5 % 11) as f64 - 5.0) / 5.0).collect(),
    )
    .unwrap();
    gradcheck_params(&encoder, |m| m.forward(x.clone().trace()), opts()).unwrap();
}

fn ramp<S: ConstShape>() -> Tensor<S, f32> {
    let n = S::default().numel();
    Tensor::from_vec(
        (0..n)
            .map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0)
            .collect(),
    )
    .unwrap()
}

/// Every dropout of a layer, alone at p = 0.5, changes the training-mode output and leaves
/// evaluation alone; at p = 0 training and evaluation agree.
#[test]
fn encoder_dropout_only_in_training_mode() {
    let mut r = rng(1);
    let base =
        TransformerEncoderLayer::<8, 2, 16>::new(TransformerConfig::default().dropout(0.0), &mut r);
    let x = ramp::<Rank3<2, 5, 8>>();
    let eval = base.forward(x.clone()).to_vec();
    assert_eq!(base.clone().forward_train(x.clone()).to_vec(), eval);
    type Slot = fn(&mut TransformerEncoderLayer<8, 2, 16>) -> &mut Dropout;
    let slots: [(&str, Slot); 4] = [
        ("self_attn_dropout", |l| &mut l.self_attn_dropout),
        ("dropout", |l| &mut l.dropout),
        ("dropout1", |l| &mut l.dropout1),
        ("dropout2", |l| &mut l.dropout2),
    ];
    for norm_first in [false, true] {
        for (name, slot) in slots {
            let mut layer = base.clone();
            layer.norm_first = norm_first;
            let eval = layer.forward(x.clone()).to_vec();
            *slot(&mut layer) = Dropout::with_seed(0.5, 7);
            assert_eq!(layer.forward(x.clone()).to_vec(), eval, "{name}: eval");
            let a = layer.forward_train(x.clone()).to_vec();
            let b = layer.forward_train(x.clone()).to_vec();
            assert_ne!(a, eval, "{name}: training mode drops");
            assert_ne!(a, b, "{name}: a new mask per call");
        }
    }
}

#[test]
fn decoder_dropout_only_in_training_mode() {
    let mut r = rng(2);
    let base =
        TransformerDecoderLayer::<8, 2, 16>::new(TransformerConfig::default().dropout(0.0), &mut r);
    let (t, m) = (ramp::<Rank3<2, 3, 8>>(), ramp::<Rank3<2, 4, 8>>());
    let eval = base.forward((t.clone(), m.clone())).to_vec();
    assert_eq!(
        base.clone().forward_train((t.clone(), m.clone())).to_vec(),
        eval
    );
    type Slot = fn(&mut TransformerDecoderLayer<8, 2, 16>) -> &mut Dropout;
    let slots: [(&str, Slot); 6] = [
        ("self_attn_dropout", |l| &mut l.self_attn_dropout),
        ("multihead_attn_dropout", |l| &mut l.multihead_attn_dropout),
        ("dropout", |l| &mut l.dropout),
        ("dropout1", |l| &mut l.dropout1),
        ("dropout2", |l| &mut l.dropout2),
        ("dropout3", |l| &mut l.dropout3),
    ];
    for (name, slot) in slots {
        let mut layer = base.clone();
        *slot(&mut layer) = Dropout::with_seed(0.5, 9);
        assert_eq!(
            layer.forward((t.clone(), m.clone())).to_vec(),
            eval,
            "{name}: eval"
        );
        let a = layer.forward_train((t.clone(), m.clone())).to_vec();
        assert_ne!(a, eval, "{name}: training mode drops");
    }
}

/// The default config (dropout 0.1) drops in the stacks' training mode only, and the cloned
/// layers draw different masks.
#[test]
fn stacks_dropout_and_names() {
    let mut r = rng(3);
    let layer = TransformerEncoderLayer::<8, 2, 16>::new(TransformerConfig::default(), &mut r);
    let mut encoder = TransformerEncoder::new(layer, 2, &mut r).with_norm(LayerNorm::new());
    let names = encoder.param_names();
    assert_eq!(names[0], "layers.0.self_attn.in_proj_weight");
    assert!(names.contains(&"layers.1.linear2.bias".to_string()));
    assert_eq!(&names[names.len() - 2..], ["norm.weight", "norm.bias"]);
    let x = ramp::<Rank3<2, 5, 8>>();
    let eval = encoder.forward(x.clone()).to_vec();
    // Evaluation: the layers in order, then the norm.
    let manual = encoder.layers.iter().fold(x.clone(), |h, l| l.forward(h));
    assert_eq!(
        encoder.norm.as_ref().unwrap().forward(manual).to_vec(),
        eval
    );
    assert_ne!(encoder.forward_train(x.clone()).to_vec(), eval);
    assert_ne!(
        encoder.layers[0]
            .dropout1
            .clone()
            .forward_train(Tensor::<Rank1<64>>::ones())
            .to_vec(),
        encoder.layers[1]
            .dropout1
            .clone()
            .forward_train(Tensor::<Rank1<64>>::ones())
            .to_vec()
    );

    let layer = TransformerDecoderLayer::<8, 2, 16>::new(TransformerConfig::default(), &mut r);
    let mut decoder = TransformerDecoder::new(layer, 2, &mut r);
    assert!(
        decoder
            .param_names()
            .contains(&"layers.1.multihead_attn.out_proj.bias".to_string())
    );
    let m = ramp::<Rank3<2, 3, 8>>();
    let eval = decoder.forward((x.clone(), m.clone())).to_vec();
    let manual = decoder
        .layers
        .iter()
        .fold(x.clone(), |h, l| l.forward((h, m.clone())));
    assert_eq!(manual.to_vec(), eval);
    assert_ne!(decoder.forward_train((x, m)).to_vec(), eval);
}

#[test]
fn need_weights_false_returns_no_weights_and_the_same_output() {
    let mha = MultiheadAttention::<8, 2>::new(&mut rng(4));
    let (q, kv) = (ramp::<Rank3<2, 3, 8>>(), ramp::<Rank3<2, 5, 8>>());
    let mask = causal_mask::<f32>(5).try_narrow_dyn::<0>(0, 3).unwrap();
    let (y_ref, w_ref) = mha.forward(AttentionInput {
        query: q.clone(),
        key: kv.clone(),
        value: kv.clone(),
        attn_mask: Some(mask.clone()),
    });
    let with = |need_weights| AttentionOptions {
        attn_mask: Some(&mask),
        need_weights,
        ..Default::default()
    };
    let (y, w) = mha.forward_with(q.clone(), kv.clone(), kv.clone(), with(false));
    assert!(w.is_none());
    assert_eq!(y.to_vec(), y_ref.to_vec());
    let (y, w) = mha.forward_with(q, kv.clone(), kv, with(true));
    assert_eq!(y.to_vec(), y_ref.to_vec());
    assert_eq!(w.unwrap().to_vec(), w_ref.to_vec());
}

#[test]
fn attention_dropout_is_applied_to_the_weights() {
    let mha = MultiheadAttention::<8, 2>::new(&mut rng(5));
    let x = ramp::<Rank3<2, 4, 8>>();
    let mut dropout = Dropout::with_seed(0.5, 11);
    let options = AttentionOptions {
        dropout: Some(&mut dropout),
        ..Default::default()
    };
    let (_, w) = mha.forward_with(x.clone(), x.clone(), x.clone(), options);
    let (_, w_eval) = mha.forward(x);
    let (w, w_eval) = (w.unwrap().to_vec(), w_eval.to_vec());
    assert_ne!(w, w_eval);
    // Each averaged weight is the mean over the 2 heads of 0 or twice the kept value.
    assert!(w.iter().zip(&w_eval).all(|(d, e)| *d <= 2.0 * e + 1e-6));
}

/// Hiding the last key of a batch element gives, at its real positions, exactly the output
/// of the sequence without that key.
#[test]
fn key_padding_mask_hides_padded_keys() {
    let mut r = rng(6);
    let enc = TransformerEncoderLayer::<8, 2, 16>::new(TransformerConfig::default(), &mut r);
    let x = ramp::<Rank3<2, 4, 8>>();
    let pad = key_padding_mask(
        &[false, false, false, false, false, false, false, true],
        2,
        4,
    )
    .unwrap();
    let y = enc
        .forward(EncoderInput::new(x.clone()).with_key_padding_mask(pad.clone()))
        .to_vec();
    let unpadded = enc.forward(x.clone()).to_vec();
    assert_eq!(&y[..32], &unpadded[..32], "element 0 has no padding");
    let short = x
        .clone()
        .try_narrow_dyn::<0>(1, 1)
        .unwrap()
        .try_narrow_dyn::<1>(0, 3)
        .unwrap();
    let expected = enc.forward(short).to_vec();
    for (a, e) in y[32..56].iter().zip(&expected) {
        assert!((a - e).abs() < 1e-5, "{a} vs {e}");
    }

    let dec = TransformerDecoderLayer::<8, 2, 16>::new(TransformerConfig::default(), &mut r);
    let t = ramp::<Rank3<2, 3, 8>>();
    let y = dec
        .forward(DecoderInput::new(t.clone(), x.clone()).with_memory_key_padding_mask(pad))
        .to_vec();
    let short_memory = x
        .try_narrow_dyn::<0>(1, 1)
        .unwrap()
        .try_narrow_dyn::<1>(0, 3)
        .unwrap();
    let expected = dec
        .forward((t.try_narrow_dyn::<0>(1, 1).unwrap(), short_memory))
        .to_vec();
    for (a, e) in y[24..].iter().zip(&expected) {
        assert!((a - e).abs() < 1e-5, "{a} vs {e}");
    }
}

#[test]
fn shapes_that_do_not_fit_are_errors() {
    let mut r = rng(7);
    let enc = TransformerEncoderLayer::<8, 2, 16>::new(TransformerConfig::default(), &mut r);
    let x = ramp::<Rank3<2, 4, 8>>();
    let err = enc
        .try_forward(EncoderInput::new(x.clone()).with_mask(causal_mask(3)))
        .unwrap_err();
    assert!(err.to_string().contains("attn_mask"), "{err}");
    let pad = key_padding_mask(&[false; 4], 1, 4).unwrap();
    let err = enc
        .try_forward(EncoderInput::new(x.clone()).with_key_padding_mask(pad))
        .unwrap_err();
    assert!(err.to_string().contains("key_padding_mask"), "{err}");
    let wide = Tensor::<(usize, usize, usize)>::zeros_with_shape((2, 4, 6));
    let err = enc.try_forward(wide).unwrap_err();
    assert!(err.to_string().contains("d_model = 8"), "{err}");
    let dec = TransformerDecoderLayer::<8, 2, 16>::new(TransformerConfig::default(), &mut r);
    let memory = Tensor::<(usize, usize, Const<8>)>::zeros_with_shape((3, 5, Const));
    assert!(dec.try_forward((x, memory)).is_err());
    assert!(key_padding_mask::<f32>(&[true; 3], 2, 2).is_err());
}
