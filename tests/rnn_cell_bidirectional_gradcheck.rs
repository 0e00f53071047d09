//! f64 finite-difference gradient checks of the recurrent cells (LSTMCell, GRUCell, RNNCell
//! tanh and relu) and of bidirectional, multi-layer and sequence-first stacks, with respect to
//! their inputs, states and every parameter, through every output, over random values.

use proptest::prelude::*;
use rand::SeedableRng;
use shaped::gradcheck::{GradcheckOptions, Traced, gradcheck_params, gradcheck_vjp};
use shaped::nn::{
    BiGRU, BiLSTM, BiRNNRelu, GRUCell, LSTMCell, Module, RNNCell, RNNReluCell, SeqFirst,
};
use shaped::prelude::*;
use shaped::strategies::tensor;

fn rng(seed: u64) -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(seed)
}

fn opts() -> GradcheckOptions {
    GradcheckOptions::default()
}

/// Every output in one flat vector, so that one check covers all of them.
fn cat<S1: Shape, S2: Shape>(a: Traced<S1>, b: Traced<S2>) -> Traced<(usize,)> {
    let (na, nb) = (a.numel(), b.numel());
    let a = a.try_reshape_dyn((na,)).unwrap();
    let b = b.try_reshape_dyn((nb,)).unwrap();
    a.try_concat::<0, _, _>(b)
        .unwrap()
        .try_reshape_dyn((na + nb,))
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn lstm_cell_inputs_states_and_parameters(x in tensor::<Rank2<2, 3>, f64>(-1.0..1.0), h in tensor::<Rank2<2, 4>, f64>(-1.0..1.0), c in tensor::<Rank2<2, 4>, f64>(-1.0..1.0), seed in 0u64..1000) {
        let cell = LSTMCell::<3, 4, f64>::new(&mut rng(seed));
        let run = |m: &LSTMCell<3, 4, f64>, x: Traced<Rank2<2, 3>>, h: Traced<Rank2<2, 4>>, c: Traced<Rank2<2, 4>>| {
            let (h1, c1) = m.forward((x, (h, c)));
            cat(h1, c1)
        };
        gradcheck_vjp(&x, |x| run(&cell, x, h.clone().trace(), c.clone().trace()), opts()).unwrap();
        gradcheck_vjp(&h, |h| run(&cell, x.clone().trace(), h, c.clone().trace()), opts()).unwrap();
        gradcheck_vjp(&c, |c| run(&cell, x.clone().trace(), h.clone().trace(), c), opts()).unwrap();
        gradcheck_params(&cell, |m| run(m, x.clone().trace(), h.clone().trace(), c.clone().trace()), opts()).unwrap();
        // From zero states, and only h' used (c' unused must not break the backward pass).
        gradcheck_vjp(&x, |x| cell.forward(x).0, opts()).unwrap();
    }

    #[test]
    fn gru_cell_input_state_and_parameters(x in tensor::<Rank2<2, 3>, f64>(-1.0..1.0), h in tensor::<Rank2<2, 4>, f64>(-1.0..1.0), seed in 0u64..1000) {
        let cell = GRUCell::<3, 4, f64>::new(&mut rng(seed));
        gradcheck_vjp(&x, |x| cell.forward((x, h.clone().trace())), opts()).unwrap();
        gradcheck_vjp(&h, |h| cell.forward((x.clone().trace(), h)), opts()).unwrap();
        gradcheck_params(&cell, |m| m.forward((x.clone().trace(), h.clone().trace())), opts()).unwrap();
    }

    #[test]
    fn rnn_cells_input_state_and_parameters(x in tensor::<Rank2<2, 3>, f64>(-1.0..1.0), h in tensor::<Rank2<2, 4>, f64>(-1.0..1.0), seed in 0u64..1000) {
        let tanh = RNNCell::<3, 4, f64>::new(&mut rng(seed));
        gradcheck_vjp(&x, |x| tanh.forward((x, h.clone().trace())), opts()).unwrap();
        gradcheck_vjp(&h, |h| tanh.forward((x.clone().trace(), h)), opts()).unwrap();
        gradcheck_params(&tanh, |m| m.forward((x.clone().trace(), h.clone().trace())), opts()).unwrap();
        let relu = RNNReluCell::<3, 4, f64>::new(&mut rng(seed));
        gradcheck_vjp(&x, |x| relu.forward((x, h.clone().trace())), opts()).unwrap();
        gradcheck_vjp(&h, |h| relu.forward((x.clone().trace(), h)), opts()).unwrap();
        gradcheck_params(&relu, |m| m.forward((x.clone().trace(), h.clone().trace())), opts()).unwrap();
    }

    #[test]
    fn bidirectional_lstm_two_layers(x in tensor::<Rank3<2, 3, 2>, f64>(-1.0..1.0), h in tensor::<Rank3<4, 2, 3>, f64>(-1.0..1.0), c in tensor::<Rank3<4, 2, 3>, f64>(-1.0..1.0), seed in 0u64..1000) {
        let lstm = BiLSTM::<2, 3, 2, f64>::new(&mut rng(seed));
        let run = |m: &BiLSTM<2, 3, 2, f64>, x: Traced<Rank3<2, 3, 2>>, h: Traced<Rank3<4, 2, 3>>, c: Traced<Rank3<4, 2, 3>>| {
            let (y, (hn, cn)) = m.forward((x, (h, c)));
            cat(cat(y, hn), cn)
        };
        gradcheck_vjp(&x, |x| run(&lstm, x, h.clone().trace(), c.clone().trace()), opts()).unwrap();
        gradcheck_vjp(&h, |h| run(&lstm, x.clone().trace(), h, c.clone().trace()), opts()).unwrap();
        gradcheck_vjp(&c, |c| run(&lstm, x.clone().trace(), h.clone().trace(), c), opts()).unwrap();
        gradcheck_params(&lstm, |m| run(m, x.clone().trace(), h.clone().trace(), c.clone().trace()), opts()).unwrap();
    }

    #[test]
    fn bidirectional_gru_seq_first(x in tensor::<Rank3<3, 2, 2>, f64>(-1.0..1.0), h in tensor::<Rank3<2, 2, 3>, f64>(-1.0..1.0), seed in 0u64..1000) {
        let gru = BiGRU::<2, 3, 1, f64, SeqFirst>::new(&mut rng(seed));
        let run = |m: &BiGRU<2, 3, 1, f64, SeqFirst>, x: Traced<Rank3<3, 2, 2>>, h: Traced<Rank3<2, 2, 3>>| {
            let (y, hn) = m.forward((x, h));
            cat(y, hn)
        };
        gradcheck_vjp(&x, |x| run(&gru, x, h.clone().trace()), opts()).unwrap();
        gradcheck_vjp(&h, |h| run(&gru, x.clone().trace(), h), opts()).unwrap();
        gradcheck_params(&gru, |m| run(m, x.clone().trace(), h.clone().trace()), opts()).unwrap();
    }

    #[test]
    fn bidirectional_relu_rnn_two_layers(x in tensor::<Rank3<2, 3, 2>, f64>(-1.0..1.0), h in tensor::<Rank3<4, 2, 3>, f64>(-1.0..1.0), seed in 0u64..1000) {
        let rnn = BiRNNRelu::<2, 3, 2, f64>::new(&mut rng(seed));
        let run = |m: &BiRNNRelu<2, 3, 2, f64>, x: Traced<Rank3<2, 3, 2>>, h: Traced<Rank3<4, 2, 3>>| {
            let (y, hn) = m.forward((x, h));
            cat(y, hn)
        };
        gradcheck_vjp(&x, |x| run(&rnn, x, h.clone().trace()), opts()).unwrap();
        gradcheck_vjp(&h, |h| run(&rnn, x.clone().trace(), h), opts()).unwrap();
        gradcheck_params(&rnn, |m| run(m, x.clone().trace(), h.clone().trace()), opts()).unwrap();
    }
}
