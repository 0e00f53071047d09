//! f64 finite-difference gradient checks of the recurrent layers and multi-head attention,
//! with respect to their inputs, initial states and every parameter, over random values.

use proptest::prelude::*;
use rand::SeedableRng;
use shaped::gradcheck::{
    GradcheckOptions, Traced, gradcheck_params, gradcheck_vjp, gradcheck2_vjp,
};
use shaped::nn::{AttentionInput, AttentionOptions, GRU, LSTM, Module, MultiheadAttention, RNN};
use shaped::prelude::*;
use shaped::strategies::tensor;

fn rng(seed: u64) -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(seed)
}

fn opts() -> GradcheckOptions {
    GradcheckOptions::default()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn lstm_input_and_states(x in tensor::<Rank3<2, 3, 2>, f64>(-1.0..1.0), h in tensor::<Rank3<2, 2, 3>, f64>(-1.0..1.0), c in tensor::<Rank3<2, 2, 3>, f64>(-1.0..1.0), seed in 0u64..1000) {
        let lstm = LSTM::<2, 3, 2, f64>::new(&mut rng(seed));
        gradcheck_vjp(&x, |x| lstm.forward((x, (h.clone().trace(), c.clone().trace()))).0, opts()).unwrap();
        gradcheck_vjp(&h, |h| { let (y, (hn, cn)) = lstm.forward((x.clone().trace(), (h, c.clone().trace()))); y.sum() + hn.sum() + cn.sum() }, opts()).unwrap();
        gradcheck_vjp(&c, |c| lstm.forward((x.clone().trace(), (h.clone().trace(), c))).1.1, opts()).unwrap();
    }

    #[test]
    fn lstm_parameters(x in tensor::<Rank3<2, 3, 2>, f64>(-1.0..1.0), seed in 0u64..1000) {
        let lstm = LSTM::<2, 3, 2, f64>::new(&mut rng(seed));
        gradcheck_params(&lstm, |m| m.forward(x.clone().trace()).0, opts()).unwrap();
    }

    #[test]
    fn gru_input_state_and_parameters(x in tensor::<Rank3<2, 3, 2>, f64>(-1.0..1.0), h in tensor::<Rank3<1, 2, 3>, f64>(-1.0..1.0), seed in 0u64..1000) {
        let gru = GRU::<2, 3, 1, f64>::new(&mut rng(seed));
        gradcheck_vjp(&x, |x| gru.forward((x, h.clone().trace())).0, opts()).unwrap();
        gradcheck_vjp(&h, |h| gru.forward((x.clone().trace(), h)).1, opts()).unwrap();
        gradcheck_params(&gru, |m| m.forward(x.clone().trace()).0, opts()).unwrap();
    }

    #[test]
    fn rnn_input_state_and_parameters(x in tensor::<Rank3<2, 3, 2>, f64>(-1.0..1.0), h in tensor::<Rank3<1, 2, 3>, f64>(-1.0..1.0), seed in 0u64..1000) {
        let rnn = RNN::<2, 3, 1, f64>::new(&mut rng(seed));
        gradcheck_vjp(&x, |x| rnn.forward((x, h.clone().trace())).0, opts()).unwrap();
        gradcheck_vjp(&h, |h| rnn.forward((x.clone().trace(), h)).1, opts()).unwrap();
        gradcheck_params(&rnn, |m| m.forward(x.clone().trace()).0, opts()).unwrap();
    }

    #[test]
    fn attention_inputs_and_parameters(q in tensor::<Rank3<2, 3, 4>, f64>(-1.0..1.0), kv in tensor::<Rank3<2, 5, 4>, f64>(-1.0..1.0), seed in 0u64..1000) {
        let mha = MultiheadAttention::<4, 2, f64>::new(&mut rng(seed));
        let mask = || Some(MultiheadAttention::<4, 2, f64>::causal_mask(5).try_realize::<(usize, usize)>().unwrap().narrow_rows(3));
        let run = |m: &MultiheadAttention<4, 2, f64>, q: Traced<Rank3<2, 3, 4>>, k: Traced<Rank3<2, 5, 4>>, v: Traced<Rank3<2, 5, 4>>| {
            m.forward(AttentionInput { query: q, key: k, value: v, attn_mask: mask() }).0
        };
        gradcheck_vjp(&q, |q| run(&mha, q, kv.clone().trace(), kv.clone().trace()), opts()).unwrap();
        gradcheck2_vjp(&kv, &kv.clone().detach(), |k, v| run(&mha, q.clone().trace(), k, v), opts()).unwrap();
        gradcheck_params(&mha, |m| m.forward(q.clone().trace()).0, opts()).unwrap();
    }

    /// Without weights and dropout the attention is one fused op (heads read in place, one
    /// packed projection when query, key and value are one tensor): checked on its own
    /// against finite differences, with a causal mask and a key padding mask that hides
    /// keys, and against the unfused path (asked for the weights).
    #[test]
    fn fused_attention_inputs_and_parameters(x in tensor::<Rank3<2, 3, 6>, f64>(-1.0..1.0), kv in tensor::<Rank3<2, 5, 6>, f64>(-1.0..1.0), seed in 0u64..1000) {
        let mha = MultiheadAttention::<6, 3, f64>::new(&mut rng(seed));
        let causal = MultiheadAttention::<6, 3, f64>::causal_mask(3);
        let hide = f64::NEG_INFINITY;
        let kpm = Tensor::<(usize, usize), f64>::from_vec_with_shape(
            vec![0.0, 0.0, hide, 0.0, 0.0, hide, 0.0, 0.0, 0.0, hide],
            (2, 5),
        ).unwrap();
        let self_attn = |m: &MultiheadAttention<6, 3, f64>, x: Traced<Rank3<2, 3, 6>>, need_weights: bool| {
            let opts = AttentionOptions { attn_mask: Some(&causal), need_weights, ..Default::default() };
            m.forward_with(x.clone(), x.clone(), x, opts).0
        };
        gradcheck_vjp(&x, |x| self_attn(&mha, x, false), opts()).unwrap();
        gradcheck_params(&mha, |m| self_attn(m, x.clone().trace(), false), opts()).unwrap();
        let cross = |m: &MultiheadAttention<6, 3, f64>, q: Traced<Rank3<2, 3, 6>>, k: Traced<Rank3<2, 5, 6>>, v: Traced<Rank3<2, 5, 6>>, need_weights: bool| {
            let opts = AttentionOptions { key_padding_mask: Some(&kpm), need_weights, ..Default::default() };
            m.forward_with(q, k, v, opts).0
        };
        gradcheck_vjp(&x, |q| cross(&mha, q, kv.clone().trace(), kv.clone().trace(), false), opts()).unwrap();
        gradcheck2_vjp(&kv, &kv.clone().detach(), |k, v| cross(&mha, x.clone().trace(), k, v, false), opts()).unwrap();
        gradcheck_params(&mha, |m| cross(m, x.clone().trace(), kv.clone().trace(), kv.clone().trace(), false), opts()).unwrap();
        for (fused, reference) in [
            (self_attn(&mha, x.clone().trace(), false), self_attn(&mha, x.clone().trace(), true)),
            (
                cross(&mha, x.clone().trace(), kv.clone().trace(), kv.clone().trace(), false),
                cross(&mha, x.clone().trace(), kv.clone().trace(), kv.clone().trace(), true),
            ),
        ] {
            for (a, b) in fused.to_vec().iter().zip(reference.to_vec()) {
                prop_assert!((a - b).abs() <= 1e-12, "fused {a} vs unfused {b}");
            }
        }
    }
}

trait NarrowRows {
    fn narrow_rows(self, n: usize) -> Tensor<(usize, usize), f64>;
}
impl NarrowRows for Tensor<(usize, usize), f64> {
    fn narrow_rows(self, n: usize) -> Tensor<(usize, usize), f64> {
        self.try_narrow_dyn::<0>(0, n).unwrap()
    }
}
