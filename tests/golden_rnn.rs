//! PyTorch reference values for nn.RNN, nn.LSTM and nn.GRU (tests/golden/layer_rnn_tanh,
//! layer_lstm*, layer_gru): outputs, final states and every gradient.

mod common;
use common::Golden;
use rand::SeedableRng;
use shaped::nn::{GRU, LSTM, Module, Params, RNN};
use shaped::prelude::*;

/// Copies every parameter the model names from the golden file (checks the names too).
fn load<M: Params<f32>>(model: &mut M, g: &Golden) {
    model.visit_mut("", &mut |p| {
        let v = g.f(p.name);
        assert_eq!(v.len(), p.data.len(), "{}", p.name);
        p.data.copy_from_slice(&v);
    });
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

fn rng() -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(0)
}

#[test]
fn layer_lstm() {
    let g = Golden::load("layer_lstm");
    let mut lstm = LSTM::<3, 5>::new(&mut rng());
    assert_eq!(
        lstm.param_names(),
        ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    );
    load(&mut lstm, &g);
    let x = Tensor::<Rank3<2, 4, 3>>::from_vec(g.f("x")).unwrap();
    let h0 = Tensor::<Rank3<1, 2, 5>>::from_vec(g.f("h0")).unwrap();
    let c0 = Tensor::<Rank3<1, 2, 5>>::from_vec(g.f("c0")).unwrap();
    let (y, (h_n, c_n)) =
        lstm.forward((x.clone().trace(), (h0.clone().trace(), c0.clone().trace())));
    g.check_forward("y", y.as_slice());
    g.check_forward("h_n", h_n.as_slice());
    g.check_forward("c_n", c_n.as_slice());
    let gy = Tensor::<Rank3<2, 4, 5>>::from_vec(g.f("gy")).unwrap();
    let grads = (y * gy).sum().backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("h0", grads.get_slice(&h0).unwrap());
    g.check_grad("c0", grads.get_slice(&c0).unwrap());
    check_param_grads(&lstm, &g, &grads);
}

#[test]
fn layer_lstm_state_cotangents() {
    let g = Golden::load("layer_lstm_state_cotangents");
    let mut lstm = LSTM::<3, 5>::new(&mut rng());
    load(&mut lstm, &g);
    let x = Tensor::<Rank3<2, 4, 3>>::from_vec(g.f("x")).unwrap();
    let h0 = Tensor::<Rank3<1, 2, 5>>::from_vec(g.f("h0")).unwrap();
    let c0 = Tensor::<Rank3<1, 2, 5>>::from_vec(g.f("c0")).unwrap();
    let (y, (h_n, c_n)) =
        lstm.forward((x.clone().trace(), (h0.clone().trace(), c0.clone().trace())));
    let gy = Tensor::<Rank3<2, 4, 5>>::from_vec(g.f("gy")).unwrap();
    let gh = Tensor::<Rank3<1, 2, 5>>::from_vec(g.f("gh_n")).unwrap();
    let gc = Tensor::<Rank3<1, 2, 5>>::from_vec(g.f("gc_n")).unwrap();
    let loss = (y * gy).sum() + (h_n * gh).sum() + (c_n * gc).sum();
    let grads = loss.backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("h0", grads.get_slice(&h0).unwrap());
    g.check_grad("c0", grads.get_slice(&c0).unwrap());
    check_param_grads(&lstm, &g, &grads);
}

#[test]
fn layer_lstm_2layer() {
    let g = Golden::load("layer_lstm_2layer");
    let mut lstm = LSTM::<3, 4, 2>::new(&mut rng());
    assert_eq!(lstm.param_names().len(), 8);
    load(&mut lstm, &g);
    let x = Tensor::<Rank3<2, 3, 3>>::from_vec(g.f("x")).unwrap();
    let h0 = Tensor::<Rank3<2, 2, 4>>::from_vec(g.f("h0")).unwrap();
    let c0 = Tensor::<Rank3<2, 2, 4>>::from_vec(g.f("c0")).unwrap();
    let (y, (h_n, c_n)) =
        lstm.forward((x.clone().trace(), (h0.clone().trace(), c0.clone().trace())));
    g.check_forward("y", y.as_slice());
    g.check_forward("h_n", h_n.as_slice());
    g.check_forward("c_n", c_n.as_slice());
    let gy = Tensor::<Rank3<2, 3, 4>>::from_vec(g.f("gy")).unwrap();
    let grads = (y * gy).sum().backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("h0", grads.get_slice(&h0).unwrap());
    g.check_grad("c0", grads.get_slice(&c0).unwrap());
    check_param_grads(&lstm, &g, &grads);
}

#[test]
fn layer_gru() {
    let g = Golden::load("layer_gru");
    let mut gru = GRU::<3, 5>::new(&mut rng());
    load(&mut gru, &g);
    let x = Tensor::<Rank3<2, 4, 3>>::from_vec(g.f("x")).unwrap();
    let h0 = Tensor::<Rank3<1, 2, 5>>::from_vec(g.f("h0")).unwrap();
    let (y, h_n) = gru.forward((x.clone().trace(), h0.clone().trace()));
    g.check_forward("y", y.as_slice());
    g.check_forward("h_n", h_n.as_slice());
    let gy = Tensor::<Rank3<2, 4, 5>>::from_vec(g.f("gy")).unwrap();
    let grads = (y * gy).sum().backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("h0", grads.get_slice(&h0).unwrap());
    check_param_grads(&gru, &g, &grads);
}

#[test]
fn layer_rnn_tanh() {
    let g = Golden::load("layer_rnn_tanh");
    let mut rnn = RNN::<3, 5>::new(&mut rng());
    load(&mut rnn, &g);
    let x = Tensor::<Rank3<2, 4, 3>>::from_vec(g.f("x")).unwrap();
    let h0 = Tensor::<Rank3<1, 2, 5>>::from_vec(g.f("h0")).unwrap();
    let (y, h_n) = rnn.forward((x.clone().trace(), h0.clone().trace()));
    g.check_forward("y", y.as_slice());
    g.check_forward("h_n", h_n.as_slice());
    let gy = Tensor::<Rank3<2, 4, 5>>::from_vec(g.f("gy")).unwrap();
    let grads = (y * gy).sum().backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("h0", grads.get_slice(&h0).unwrap());
    check_param_grads(&rnn, &g, &grads);
}

/// The single-step API reproduces the full-sequence forward step by step.
#[test]
fn step_api_matches_sequence_forward() {
    let g = Golden::load("layer_lstm_2layer");
    let mut lstm = LSTM::<3, 4, 2>::new(&mut rng());
    load(&mut lstm, &g);
    let xs = g.f("x"); // (2, 3, 3)
    let h0 = Tensor::<Rank3<2, 2, 4>>::from_vec(g.f("h0")).unwrap();
    let c0 = Tensor::<Rank3<2, 2, 4>>::from_vec(g.f("c0")).unwrap();
    let mut state = Some(shaped::nn::RecurrentState { h: h0, c: Some(c0) });
    let y = g.f("y"); // (2, 3, 4)
    for t in 0..3 {
        let xt: Vec<f32> = (0..2)
            .flat_map(|b| xs[(b * 3 + t) * 3..(b * 3 + t + 1) * 3].to_vec())
            .collect();
        let (yt, s) = lstm
            .step(Tensor::<Rank2<2, 3>>::from_vec(xt).unwrap(), state)
            .unwrap();
        let want: Vec<f32> = (0..2)
            .flat_map(|b| y[(b * 3 + t) * 4..(b * 3 + t + 1) * 4].to_vec())
            .collect();
        common::check_close("step y", yt.as_slice(), &want, 1e-5, 1e-4);
        state = Some(s);
    }
}

#[test]
fn dynamic_sizes_mismatch_is_an_error() {
    let lstm = shaped::nn::LSTMDyn::<f32>::new_dyn(3, 4, 1, true, &mut rng());
    let bad = Tensor::<(usize, usize, usize)>::zeros_with_shape((2, 5, 7));
    let err = lstm
        .try_forward(bad)
        .expect_err("input size 7 does not fit 3");
    assert!(err.to_string().contains("[2, 5, 7]"), "{err}");
    let ok = Tensor::<(usize, usize, usize)>::zeros_with_shape((2, 5, 3));
    assert!(lstm.try_forward(ok).is_ok());
}
