//! f64 finite-difference gradient checks of recurrent cells stepped over a sequence, as
//! PyTorch's time_sequence_prediction example steps two stacked `LSTMCell`s: every step adds
//! its share into the same weight gradients (accumulated in place, step after step), and the
//! step's projections live in per-thread scratch rather than on the tape.

use proptest::prelude::*;
use rand::SeedableRng;
use shaped::gradcheck::{GradcheckOptions, Traced, gradcheck_vjp};
use shaped::nn::{GRUCell, LSTMCell, Linear, Module, Params, RNNCell};
use shaped::prelude::*;
use shaped::strategies::tensor;

fn rng(seed: u64) -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(seed)
}

/// Two stacked LSTM cells and a linear head, as the example's `Sequence`.
#[derive(Clone)]
struct Stack {
    lstm1: LSTMCell<1, 3, f64>,
    lstm2: LSTMCell<3, 3, f64>,
    linear: Linear<3, 1, f64>,
}
shaped::params!(Stack: f64 { lstm1, lstm2, linear });

/// The head's output at every step of `x` `(B, steps)`, `(B, steps)`.
fn unroll(m: &Stack, x: Traced<Rank2<2, 4>>) -> Traced<(Const<2>, usize)> {
    let mut outputs = Vec::new();
    let mut state: Option<[Traced<Rank2<2, 3>>; 4]> = None;
    for t in 0..4 {
        let xt = x.clone().narrow_dyn::<1>(t, 1);
        let [h1, c1, h2, c2] = match state.take() {
            None => {
                let (h1, c1) = m.lstm1.forward(xt);
                let (h2, c2) = m.lstm2.forward(h1.clone());
                [h1, c1, h2, c2]
            }
            Some([h1, c1, h2, c2]) => {
                let (h1, c1) = m.lstm1.forward((xt, (h1, c1)));
                let (h2, c2) = m.lstm2.forward((h1.clone(), (h2, c2)));
                [h1, c1, h2, c2]
            }
        };
        outputs.push(m.linear.forward(h2.clone()));
        state = Some([h1, c1, h2, c2]);
    }
    Tensor::cat::<1, _>(outputs)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn stacked_lstm_cells_over_steps(x in tensor::<Rank2<2, 4>, f64>(-1.0..1.0), seed in 0u64..1000) {
        let mut r = rng(seed);
        let m = Stack { lstm1: LSTMCell::new(&mut r), lstm2: LSTMCell::new(&mut r), linear: Linear::new(&mut r) };
        gradcheck_vjp(&x, |x| unroll(&m, x), GradcheckOptions::default()).unwrap();
        check_params(&m, |m| unroll(m, x.clone().trace_constant()));
    }

    #[test]
    fn gru_and_rnn_cells_over_steps(x in tensor::<Rank2<2, 3>, f64>(-1.0..1.0), seed in 0u64..1000) {
        let gru = GRUCell::<3, 3, f64>::new(&mut rng(seed));
        let steps = |m: &GRUCell<3, 3, f64>| {
            let h = m.forward(x.clone().trace_constant());
            let h = m.forward((x.clone().trace_constant(), h));
            m.forward((x.clone().trace_constant(), h))
        };
        check_params(&gru, steps);
        let rnn = RNNCell::<3, 3, f64>::new(&mut rng(seed + 1));
        let steps = |m: &RNNCell<3, 3, f64>| {
            let h = m.forward(x.clone().trace_constant());
            m.forward((x.clone().trace_constant(), h))
        };
        check_params(&rnn, steps);
    }
}

/// Central differences on every element of every parameter against the analytic gradient
/// of `sum(f(model) * gy)` for a fixed cotangent.
fn check_params<M: Params<f64> + Clone, SO: Shape>(model: &M, f: impl Fn(&M) -> Traced<SO>) {
    let n = f(model).dims().numel();
    let gy: Vec<f64> = (0..n)
        .map(|i| ((i * 7919 % 13) as f64 - 6.0) / 6.0)
        .collect();
    let loss = |m: &M| -> (f64, Gradients<f64>) {
        let gyt = Tensor::<(usize,), f64>::from_vec_with_shape(gy.clone(), (n,)).unwrap();
        let l = f(m)
            .try_reshape_dyn((n,))
            .unwrap()
            .try_mul(gyt)
            .unwrap()
            .sum();
        (l.as_slice()[0], l.backward())
    };
    let (_, grads) = loss(model);
    for name in model.param_names() {
        let mut analytic = Vec::new();
        model.visit("", &mut |p| {
            if p.name == name {
                analytic = grads
                    .get_id(p.id)
                    .unwrap_or_else(|| panic!("no gradient for {name}"))
                    .to_vec();
            }
        });
        for (i, &a) in analytic.iter().enumerate() {
            let shifted = |delta: f64| {
                let mut m = model.clone();
                m.visit_mut("", &mut |p| {
                    if p.name == name {
                        p.data[i] += delta;
                    }
                });
                loss(&m).0
            };
            let numeric = (shifted(1e-6) - shifted(-1e-6)) / 2e-6;
            assert!(
                (a - numeric).abs() <= 1e-6 + 1e-4 * numeric.abs(),
                "{name}[{i}]: analytic {a}, numeric {numeric}"
            );
        }
    }
}
