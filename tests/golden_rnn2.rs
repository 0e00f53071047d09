//! PyTorch reference values for the recurrent cells (layer_lstm_cell, layer_gru_cell,
//! layer_rnn_cell_relu), the relu RNN (layer_rnn_relu), bidirectional stacks
//! (layer_lstm_bidirectional, layer_gru_bidirectional) and the sequence-first layout
//! (layer_lstm_seq_first): every output and every gradient, with cotangents on every output.
//! Also: dropout between stacked layers acts in training mode only.

mod common;
use common::Golden;
use rand::SeedableRng;
use shaped::autograd::OwnedTape;
use shaped::nn::{
    BiGRU, BiLSTM, GRU, GRUCell, LSTM, LSTMCell, Module, Params, RNNRelu, RNNReluCell, SeqFirst,
};
use shaped::prelude::*;

/// Copies every parameter the model names from the golden file, and checks that the model
/// names exactly the file's parameters, in PyTorch's order.
fn load<M: Params<f32>>(model: &mut M, g: &Golden) {
    let want: Vec<String> = serde_list(&g.meta["params"]);
    assert_eq!(model.param_names(), want, "{}: parameter names", g.case);
    model.visit_mut("", &mut |p| {
        let v = g.f(p.name);
        assert_eq!(v.len(), p.data.len(), "{}", p.name);
        p.data.copy_from_slice(&v);
    });
}

fn serde_list(s: &str) -> Vec<String> {
    s.trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn check_param_grads<M: Params<f32>>(model: &M, g: &Golden, grads: &Gradients<f32>) {
    model.visit("", &mut |p| {
        g.check_grad(
            p.name,
            grads
                .get_id(p.id)
                .unwrap_or_else(|| panic!("no grad for {}", p.name)),
        )
    });
}

type Tr<S> = Tensor<S, f32, OwnedTape<f32>>;

fn rng() -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(0)
}

fn t<S: ConstShape>(g: &Golden, name: &str) -> Tensor<S> {
    Tensor::<S>::from_vec(g.f(name)).unwrap()
}

#[test]
fn layer_lstm_cell() {
    let g = Golden::load("layer_lstm_cell");
    let mut cell = LSTMCell::<4, 5>::new(&mut rng());
    load(&mut cell, &g);
    let x = t::<Rank2<3, 4>>(&g, "x");
    let h0 = t::<Rank2<3, 5>>(&g, "h0");
    let c0 = t::<Rank2<3, 5>>(&g, "c0");
    let (h1, c1) = cell.forward((x.clone().trace(), (h0.clone().trace(), c0.clone().trace())));
    g.check_forward("h1", h1.as_slice());
    g.check_forward("c1", c1.as_slice());
    let loss = (h1 * t::<Rank2<3, 5>>(&g, "gh1")).sum() + (c1 * t::<Rank2<3, 5>>(&g, "gc1")).sum();
    let grads = loss.backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("h0", grads.get_slice(&h0).unwrap());
    g.check_grad("c0", grads.get_slice(&c0).unwrap());
    check_param_grads(&cell, &g, &grads);
    // Untraced, and with a run-time batch: the same numbers.
    let xd = x.clone().try_realize::<(usize, Const<4>)>().unwrap();
    let hd = h0.try_realize::<(usize, Const<5>)>().unwrap();
    let cd = c0.try_realize::<(usize, Const<5>)>().unwrap();
    let (h1, c1) = cell.forward((xd, (hd, cd)));
    g.check_forward("h1", h1.as_slice());
    g.check_forward("c1", c1.as_slice());
}

#[test]
fn layer_gru_cell() {
    let g = Golden::load("layer_gru_cell");
    let mut cell = GRUCell::<4, 5>::new(&mut rng());
    load(&mut cell, &g);
    let x = t::<Rank2<3, 4>>(&g, "x");
    let h0 = t::<Rank2<3, 5>>(&g, "h0");
    let h1 = cell.forward((x.clone().trace(), h0.clone().trace()));
    g.check_forward("h1", h1.as_slice());
    let grads = (h1 * t::<Rank2<3, 5>>(&g, "gh1")).sum().backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("h0", grads.get_slice(&h0).unwrap());
    check_param_grads(&cell, &g, &grads);
    g.check_forward("h1", cell.forward((x, h0)).as_slice());
}

#[test]
fn layer_rnn_cell_relu() {
    let g = Golden::load("layer_rnn_cell_relu");
    let mut cell = RNNReluCell::<4, 5>::new(&mut rng());
    load(&mut cell, &g);
    let x = t::<Rank2<3, 4>>(&g, "x");
    let h0 = t::<Rank2<3, 5>>(&g, "h0");
    let h1 = cell.forward((x.clone().trace(), h0.clone().trace()));
    g.check_forward("h1", h1.as_slice());
    let grads = (h1 * t::<Rank2<3, 5>>(&g, "gh1")).sum().backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("h0", grads.get_slice(&h0).unwrap());
    check_param_grads(&cell, &g, &grads);
}

#[test]
fn layer_rnn_relu() {
    let g = Golden::load("layer_rnn_relu");
    let mut rnn = RNNRelu::<3, 5, 2>::new(&mut rng());
    load(&mut rnn, &g);
    let x = t::<Rank3<2, 4, 3>>(&g, "x");
    let h0 = t::<Rank3<2, 2, 5>>(&g, "h0");
    let (y, h_n) = rnn.forward((x.clone().trace(), h0.clone().trace()));
    g.check_forward("y", y.as_slice());
    g.check_forward("h_n", h_n.as_slice());
    let loss =
        (y * t::<Rank3<2, 4, 5>>(&g, "gy")).sum() + (h_n * t::<Rank3<2, 2, 5>>(&g, "gh_n")).sum();
    let grads = loss.backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("h0", grads.get_slice(&h0).unwrap());
    check_param_grads(&rnn, &g, &grads);
}

#[test]
fn layer_lstm_bidirectional() {
    let g = Golden::load("layer_lstm_bidirectional");
    let mut lstm = BiLSTM::<3, 5, 2>::new(&mut rng());
    load(&mut lstm, &g);
    let x = t::<Rank3<2, 4, 3>>(&g, "x");
    let h0 = t::<Rank3<4, 2, 5>>(&g, "h0");
    let c0 = t::<Rank3<4, 2, 5>>(&g, "c0");
    let (y, (h_n, c_n)) =
        lstm.forward((x.clone().trace(), (h0.clone().trace(), c0.clone().trace())));
    g.check_forward("y", y.as_slice());
    g.check_forward("h_n", h_n.as_slice());
    g.check_forward("c_n", c_n.as_slice());
    let y: Tr<Rank3<2, 4, 10>> = y.try_realize().unwrap();
    let h_n: Tr<Rank3<4, 2, 5>> = h_n.try_realize().unwrap();
    let c_n: Tr<Rank3<4, 2, 5>> = c_n.try_realize().unwrap();
    let loss = (y * t::<Rank3<2, 4, 10>>(&g, "gy")).sum()
        + (h_n * t::<Rank3<4, 2, 5>>(&g, "gh_n")).sum()
        + (c_n * t::<Rank3<4, 2, 5>>(&g, "gc_n")).sum();
    let grads = loss.backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("h0", grads.get_slice(&h0).unwrap());
    g.check_grad("c0", grads.get_slice(&c0).unwrap());
    check_param_grads(&lstm, &g, &grads);
}

#[test]
fn layer_gru_bidirectional() {
    let g = Golden::load("layer_gru_bidirectional");
    let mut gru = BiGRU::<3, 5>::new(&mut rng());
    load(&mut gru, &g);
    let x = t::<Rank3<2, 4, 3>>(&g, "x");
    let h0 = t::<Rank3<2, 2, 5>>(&g, "h0");
    let (y, h_n) = gru.forward((x.clone().trace(), h0.clone().trace()));
    g.check_forward("y", y.as_slice());
    g.check_forward("h_n", h_n.as_slice());
    let y: Tr<Rank3<2, 4, 10>> = y.try_realize().unwrap();
    let h_n: Tr<Rank3<2, 2, 5>> = h_n.try_realize().unwrap();
    let loss =
        (y * t::<Rank3<2, 4, 10>>(&g, "gy")).sum() + (h_n * t::<Rank3<2, 2, 5>>(&g, "gh_n")).sum();
    let grads = loss.backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("h0", grads.get_slice(&h0).unwrap());
    check_param_grads(&gru, &g, &grads);
}

#[test]
fn layer_lstm_seq_first() {
    let g = Golden::load("layer_lstm_seq_first");
    let mut lstm = LSTM::<3, 5, 1, f32, SeqFirst>::new(&mut rng());
    load(&mut lstm, &g);
    let x = t::<Rank3<4, 2, 3>>(&g, "x"); // (seq, batch, input)
    let h0 = t::<Rank3<1, 2, 5>>(&g, "h0");
    let c0 = t::<Rank3<1, 2, 5>>(&g, "c0");
    let (y, (h_n, c_n)) =
        lstm.forward((x.clone().trace(), (h0.clone().trace(), c0.clone().trace())));
    g.check_forward("y", y.as_slice());
    g.check_forward("h_n", h_n.as_slice());
    g.check_forward("c_n", c_n.as_slice());
    let loss = (y * t::<Rank3<4, 2, 5>>(&g, "gy")).sum()
        + (h_n * t::<Rank3<1, 2, 5>>(&g, "gh_n")).sum()
        + (c_n * t::<Rank3<1, 2, 5>>(&g, "gc_n")).sum();
    let grads = loss.backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("h0", grads.get_slice(&h0).unwrap());
    g.check_grad("c0", grads.get_slice(&c0).unwrap());
    check_param_grads(&lstm, &g, &grads);
}

/// PyTorch's `dropout=` on a stack: in training mode it zeroes some of the first layer's
/// outputs before the second layer reads them (so training and evaluation differ, and two
/// training passes draw different masks); evaluation ignores it; `dropout = 0` is exactly no
/// dropout; the last layer's outputs are never dropped (no exact zeros in `y`).
#[test]
fn dropout_between_layers_acts_in_training_only() {
    let x = Tensor::<Rank3<2, 5, 3>>::from_vec((0..30).map(|i| (i as f32 * 0.37).sin()).collect())
        .unwrap();
    let base = GRU::<3, 8, 2>::new(&mut rng());
    let mut plain = base.clone();
    let mut zero = base.clone().with_dropout(0.0, &mut rng());
    let mut half = base.clone().with_dropout(0.5, &mut rng());
    assert_eq!(half.dropout(), 0.5);
    let (eval, h_eval) = plain.forward(x.clone());
    // Evaluation: dropout has no effect.
    assert_eq!(half.forward(x.clone()).0.to_vec(), eval.to_vec());
    // p = 0 in training is the same as no dropout (and as evaluation).
    assert_eq!(zero.forward_train(x.clone()).0.to_vec(), eval.to_vec());
    assert_eq!(plain.forward_train(x.clone()).0.to_vec(), eval.to_vec());
    // p = 0.5 in training changes the second layer's input, hence its outputs and h_n of
    // layer 1 (h_n of layer 0 is before the dropout and stays).
    let (train1, h1) = half.forward_train(x.clone());
    let (train2, _) = half.forward_train(x.clone());
    assert_ne!(train1.to_vec(), eval.to_vec());
    assert_ne!(train1.to_vec(), train2.to_vec(), "a fresh mask per call");
    assert!(train1.to_vec().iter().all(|&v| v != 0.0));
    let (h1, h_eval) = (h1.to_vec(), h_eval.to_vec());
    assert_eq!(
        h1[..16],
        h_eval[..16],
        "layer 0's final state is before dropout"
    );
    assert_ne!(h1[16..], h_eval[16..]);
    // A one-layer stack has nothing between layers: dropout changes nothing, as PyTorch.
    let mut single = GRU::<3, 8>::new(&mut rng()).with_dropout(0.9, &mut rng());
    assert_eq!(
        single.forward_train(x.clone()).0.to_vec(),
        single.forward(x).0.to_vec()
    );
    assert!(
        GRU::<3, 8, 2>::new(&mut rng())
            .try_with_dropout(1.5, &mut rng())
            .is_err()
    );
}

/// Run-time sizes that do not fit are errors naming the shapes, for cells and stacks.
#[test]
fn run_time_size_mismatches_are_errors() {
    use shaped::nn::{Bidirectional, GruKind, LstmKind, RecurrentCellDyn, RecurrentDyn};
    let cell = RecurrentCellDyn::<LstmKind>::new_dyn(3, 4, true, &mut rng());
    let x = Tensor::<(usize, usize)>::zeros_with_shape((2, 3));
    let bad_x = Tensor::<(usize, usize)>::zeros_with_shape((2, 5));
    let err = cell
        .try_forward(bad_x)
        .expect_err("5 features do not fit 3");
    assert!(err.to_string().contains("[2, 5]"), "{err}");
    let h = Tensor::<(usize, usize)>::zeros_with_shape((3, 4)); // batch 3, x has 2
    let c = Tensor::<(usize, usize)>::zeros_with_shape((2, 4));
    let err = cell
        .try_forward((x.clone(), (h, c.clone())))
        .expect_err("batch 3 vs 2");
    assert!(err.to_string().contains("[3, 4]"), "{err}");
    assert!(cell.try_forward((x, (c.clone(), c))).is_ok());

    let gru = RecurrentDyn::<GruKind, f32, Bidirectional>::new_dyn(3, 4, 2, true, &mut rng());
    let x = Tensor::<(usize, usize, usize)>::zeros_with_shape((2, 5, 3));
    let h0 = Tensor::<(usize, usize, usize)>::zeros_with_shape((2, 2, 4)); // needs 2 * 2
    let err = gru
        .try_forward((x.clone(), h0))
        .expect_err("h_0 needs num_layers * 2 rows");
    assert!(err.to_string().contains("[4, 2, 4]"), "{err}");
    let h0 = Tensor::<(usize, usize, usize)>::zeros_with_shape((4, 3, 4)); // batch 3, x has 2
    assert!(gru.try_forward((x.clone(), h0)).is_err());
    let h0 = Tensor::<(usize, usize, usize)>::zeros_with_shape((4, 2, 4));
    let (y, h_n) = gru.try_forward((x, h0)).unwrap();
    assert_eq!(y.dims().as_slice(), &[2, 5, 8]);
    assert_eq!(h_n.dims().as_slice(), &[4, 2, 4]);
}

/// A bidirectional stack's reverse direction is the forward cell run on the reversed
/// sequence: with the reverse weights copied from the forward ones, the reverse half of `y`
/// is the forward half of the flipped input's `y`, flipped back.
#[test]
fn reverse_direction_reads_the_sequence_backwards() {
    let mut bi = shaped::nn::BiRNN::<2, 3>::new(&mut rng());
    bi.first_reverse = Some(bi.first.clone());
    let xs: Vec<f32> = (0..8).map(|i| (i as f32 * 0.9).cos()).collect(); // (1, 4, 2)
    let flipped: Vec<f32> = (0..4)
        .rev()
        .flat_map(|t| xs[t * 2..t * 2 + 2].to_vec())
        .collect();
    let (y, _) = bi.forward(Tensor::<Rank3<1, 4, 2>>::from_vec(xs).unwrap());
    let (yf, _) = bi.forward(Tensor::<Rank3<1, 4, 2>>::from_vec(flipped).unwrap());
    let (y, yf) = (y.to_vec(), yf.to_vec());
    for t in 0..4 {
        assert_eq!(y[t * 6 + 3..t * 6 + 6], yf[(3 - t) * 6..(3 - t) * 6 + 3]);
    }
}

/// `Recurrent::step` (layer by layer through the fused cell) gives the numbers and the
/// parameter gradients of the whole-sequence forward on a one-step sequence.
#[test]
fn step_matches_a_one_step_sequence_with_gradients() {
    let lstm = LSTM::<3, 4, 2>::new(&mut rng());
    let xs: Vec<f32> = (0..6).map(|i| (i as f32 * 0.7).sin()).collect();
    let weights: Vec<f32> = (0..16).map(|i| (i as f32 * 0.3).cos()).collect();
    let w_h = Tensor::<Rank3<2, 2, 4>>::from_vec(weights.clone()).unwrap();
    let w_y = Tensor::<Rank2<2, 4>>::from_vec(weights[..8].to_vec()).unwrap();
    let x2 = Tensor::<Rank2<2, 3>>::from_vec(xs.clone()).unwrap();
    let (y, s) = lstm.step(x2.trace_constant(), None).unwrap();
    let c = s.c.expect("an LSTM state has c");
    let step_loss = (y * w_y.clone()).sum() + (s.h * w_h.clone()).sum() + (c * w_h.clone()).sum();
    let x3 = Tensor::<Rank3<2, 1, 3>>::from_vec(xs).unwrap();
    let (y, (h, c)) = lstm.forward(x3.trace_constant());
    let y: Tr<Rank2<2, 4>> = y.reshape();
    let seq_loss = (y * w_y).sum() + (h * w_h.clone()).sum() + (c * w_h).sum();
    common::check_close(
        "loss",
        step_loss.as_slice(),
        seq_loss.as_slice(),
        1e-6,
        1e-5,
    );
    let (gs, gq) = (step_loss.backward(), seq_loss.backward());
    lstm.visit("", &mut |p| {
        let (a, b) = (gs.get_id(p.id).unwrap(), gq.get_id(p.id).unwrap());
        common::check_close(p.name, a, b, 1e-6, 1e-5);
    });
}
