//! Autograd semantics: tape merging in either order, reuse of a tensor, clones of traced
//! tensors, long chains, untraced forward.

use shaped::prelude::*;

type V = Rank1<3>;

fn x() -> Tensor<V, f64> {
    Tensor::from_array([1.0, -2.0, 3.0])
}

#[test]
fn untraced_left_operand_works() {
    let a = x();
    let c = Tensor::<V, f64>::full(2.0);
    let y = (c.clone() * a.clone().trace()).sum(); // untraced on the left
    let g = y.backward();
    assert_eq!(g.get(&a).unwrap().to_vec(), vec![2.0; 3]);
    assert!(g.get(&c).is_none(), "constants get no gradient");
}

#[test]
fn same_tensor_twice_in_one_expression() {
    let a = x();
    let t = a.clone().trace();
    let y = (t.clone() * t).sum(); // x * x
    let g = y.backward();
    assert_eq!(g.get(&a).unwrap().to_vec(), vec![2.0, -4.0, 6.0]);
}

#[test]
fn clone_of_traced_intermediate_keeps_history_in_either_order() {
    let a = x();
    // Use the clone on the left and the original on the right, then the other way round.
    let h = a.clone().trace().exp();
    let y1 = (h.clone().sin() + h).sum();
    let h = a.clone().trace().exp();
    let y2 = (h.clone() + h.sin()).sum();
    let (g1, g2) = (y1.backward(), y2.backward());
    let want: Vec<f64> = x()
        .to_vec()
        .iter()
        .map(|v| v.exp() * (v.exp().cos() + 1.0))
        .collect();
    for g in [g1, g2] {
        for (a, b) in g.get(&a).unwrap().to_vec().iter().zip(&want) {
            assert!((a - b).abs() < 1e-12);
        }
    }
}

#[test]
fn backward_from_a_clone_alone() {
    // The clone carries the full history: the original can be dropped.
    let a = x();
    let h = a.clone().trace().square();
    let kept = h.clone();
    drop(h);
    let g = kept.sum().backward();
    assert_eq!(g.get(&a).unwrap().to_vec(), vec![2.0, -4.0, 6.0]);
}

#[test]
fn long_chain_does_not_overflow_the_stack() {
    let a = Tensor::<V, f64>::full(0.5);
    let mut h = a.clone().trace();
    for _ in 0..200_000 {
        h = h.mul_scalar(1.0);
    }
    let g = h.sum().backward();
    assert_eq!(g.get(&a).unwrap().to_vec(), vec![1.0; 3]);
}

#[test]
fn long_graph_dropped_without_backward() {
    let mut h = Tensor::<V, f64>::full(0.5).trace();
    for _ in 0..200_000 {
        h = h.add_scalar(0.0);
    }
    drop(h);
}

#[test]
fn branch_not_reaching_loss_is_skipped() {
    let a = x();
    let t = a.clone().trace();
    let _unused = t.clone().exp();
    let g = t.sum().backward();
    assert_eq!(g.get(&a).unwrap().to_vec(), vec![1.0; 3]);
}

#[test]
#[should_panic(expected = "already ran")]
fn second_backward_through_the_same_graph_panics_like_pytorch() {
    let h = x().trace().exp();
    let _ = h.clone().sum().backward();
    let _ = h.sum().backward();
}

/// `trace_constant` (an input that does not require grad, as in PyTorch) gives every
/// parameter the same gradient as `trace`, and no gradient to the input itself.
#[test]
fn trace_constant_gives_parameters_the_same_gradients() {
    use shaped::nn::loss::cross_entropy;
    use shaped::nn::{Conv2d, Flatten, LSTM, Linear, MaxPool2d, Module, ReLU};
    use shaped::nn::{Params, TensorKind};
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(3);
    fn same<M: Params<f64>>(
        model: &M,
        a: &shaped::autograd::Gradients<f64>,
        b: &shaped::autograd::Gradients<f64>,
    ) {
        let mut n = 0;
        model.visit("", &mut |p| {
            if p.kind == TensorKind::Parameter {
                let (ga, gb) = (a.get_id(p.id).expect(p.name), b.get_id(p.id).expect(p.name));
                assert_eq!(ga, gb, "{}", p.name);
                n += 1;
            }
        });
        assert!(n > 0);
    }
    let y = Indices::<Rank1<4>>::from_vec(vec![1, 0, 2, 1]).unwrap();

    let mut mlp = (
        Linear::<6, 5, f64>::new(&mut rng),
        ReLU,
        Linear::<5, 3, f64>::new(&mut rng),
    );
    let x = Tensor::<Rank2<4, 6>, f64>::randn(&mut rng);
    let a = cross_entropy(mlp.forward_train(x.clone().trace()), &y).backward();
    let b = cross_entropy(mlp.forward_train(x.clone().trace_constant()), &y).backward();
    assert!(a.get(&x).is_some() && b.get(&x).is_none());
    same(&mlp, &a, &b);

    let mut cnn = (
        Conv2d::<1, 2, 3, 1, 0, 1, f64>::new(&mut rng),
        ReLU,
        MaxPool2d::<2>,
        Flatten,
        Linear::<8, 3, f64>::new(&mut rng),
    );
    let x = Tensor::<Rank4<4, 1, 6, 6>, f64>::randn(&mut rng);
    let a = cross_entropy(cnn.forward_train(x.clone().trace()), &y).backward();
    let b = cross_entropy(cnn.forward_train(x.clone().trace_constant()), &y).backward();
    assert!(a.get(&x).is_some() && b.get(&x).is_none());
    same(&cnn, &a, &b);

    let mut lstm = LSTM::<3, 4, 1, f64>::new(&mut rng);
    let x = Tensor::<Rank3<4, 5, 3>, f64>::randn(&mut rng);
    let (sa, _) = lstm.forward_train(x.clone().trace());
    let a = sa.sum().backward();
    let (sb, _) = lstm.forward_train(x.clone().trace_constant());
    let b = sb.sum().backward();
    assert!(a.get(&x).is_some() && b.get(&x).is_none());
    same(&lstm, &a, &b);
}

/// Ops whose derivative needs only their output (ReLU, exp, tanh, sigmoid, sqrt) overwrite
/// an intermediate input that nothing else holds; the gradients are the same as when a
/// clone of every intermediate is kept alive (which forces the copying path).
#[test]
fn in_place_unary_ops_give_the_same_gradients() {
    let a = Tensor::<Rank1<5>, f64>::from_array([-1.5, -0.2, 0.0, 0.3, 2.0]);
    let chain = |keep: bool| {
        let mut kept = Vec::new();
        let mut hold = |t: &Tensor<Rank1<5>, f64, shaped::autograd::OwnedTape<f64>>| {
            if keep {
                kept.push(t.clone());
            }
        };
        let t = a.clone().trace() * 0.5;
        hold(&t);
        let t = t.exp();
        hold(&t);
        let t = t.tanh() - 0.5;
        hold(&t);
        let t = t.sigmoid();
        hold(&t);
        let t = t.sqrt() - 0.7;
        hold(&t);
        let y = t.relu().sum();
        (y.backward().get(&a).unwrap().to_vec(), kept.len())
    };
    let (in_place, n0) = chain(false);
    let (copied, n1) = chain(true);
    assert_eq!((n0, n1), (0, 5));
    assert_eq!(in_place, copied);
    assert!(in_place.iter().any(|&g| g != 0.0) && in_place.contains(&0.0));
}

/// The gradient of a whole-tensor `sum` is kept as one number during the backward pass and
/// read as such by element-wise ops (unary ops, `a + b`, `a - b`); every mix with buffer
/// gradients must give the same values as the expanded computation.
#[test]
fn uniform_sum_gradients_mix_with_buffers_in_any_order() {
    let a = x();
    let b = Tensor::<V, f64>::from_array([0.5, 4.0, -1.0]);
    // relu(a + b).sum(): the sum's gradient passes relu (derivative from y) and the add.
    let g = (a.clone().trace() + b.clone().trace())
        .relu()
        .sum()
        .backward();
    assert_eq!(g.get(&a).unwrap().to_vec(), vec![1.0, 1.0, 1.0]);
    assert_eq!(g.get(&b).unwrap().to_vec(), vec![1.0, 1.0, 1.0]);
    // a - b: the right side gets the negated value; mean scales it.
    let g = (a.clone().trace() - b.clone().trace()).mean().backward();
    assert_eq!(g.get(&a).unwrap().to_vec(), vec![1.0 / 3.0; 3]);
    assert_eq!(g.get(&b).unwrap().to_vec(), vec![-1.0 / 3.0; 3]);
    // A leaf's sum gradient is a buffer once backward returns.
    let g = a.clone().trace().sum().backward();
    assert_eq!(g.get_slice(&a).unwrap(), &[1.0, 1.0, 1.0]);
    // Two sums of the same tensor add up; a sum plus a buffer gradient, either order.
    let t = a.clone().trace();
    let g = (t.clone().sum() * 2.0 + t.sum()).backward();
    assert_eq!(g.get(&a).unwrap().to_vec(), vec![3.0; 3]);
    let t = a.clone().trace();
    let g = ((t.clone() * t.clone()).sum() + t.sum()).backward();
    assert_eq!(g.get(&a).unwrap().to_vec(), vec![3.0, -3.0, 7.0]);
    let t = a.clone().trace();
    let g = (t.clone().sum() + (t.clone() * t).sum()).backward();
    assert_eq!(g.get(&a).unwrap().to_vec(), vec![3.0, -3.0, 7.0]);
    // A derivative from x and y (sigmoid's uses y, tanh's y, exp's y; sin uses x).
    let g = a.clone().trace().sin().sum().backward();
    let want: Vec<f64> = [1.0f64, -2.0, 3.0].iter().map(|v| v.cos()).collect();
    assert_eq!(g.get(&a).unwrap().to_vec(), want);
    // The output kept by the caller: its buffer is not reused for the gradient.
    let y = a.clone().trace().exp();
    let kept = y.clone();
    let g = y.sum().backward();
    let want: Vec<f64> = [1.0f64, -2.0, 3.0].iter().map(|v| v.exp()).collect();
    assert_eq!(g.get(&a).unwrap().to_vec(), want);
    assert_eq!(kept.to_vec(), want);
    // A sum over an op that reads its gradient as a buffer (matmul) expands it.
    let w = Tensor::<Rank2<3, 2>, f64>::from_array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]);
    let row = a.clone().trace().reshape::<Rank2<1, 3>>();
    let g = row.matmul(w).sum().backward();
    assert_eq!(g.get(&a).unwrap().to_vec(), vec![3.0, 7.0, 11.0]);
}

/// `register_hook`: the hook sees the summed gradient of every use of the hooked tensor,
/// once, and what it returns is what flows upstream.
#[test]
fn gradient_hook_sees_the_summed_gradient_and_can_replace_it() {
    use std::sync::{Arc, Mutex};
    let x = Tensor::<Rank2<2, 3>, f64>::from_array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]]);
    let calls = Arc::new(Mutex::new(Vec::new()));
    let seen = calls.clone();
    let h = x.clone().trace().square().register_hook(move |g| {
        seen.lock().unwrap().push(g.to_vec());
        None
    });
    // Two uses: d/dh (3h + h) = 4 everywhere.
    let grads = (h.clone().mul_scalar(3.0) + h).sum().backward();
    let calls = calls.lock().unwrap();
    assert_eq!(calls.len(), 1, "called once, after both uses");
    assert_eq!(calls[0], vec![4.0; 6]);
    let gx: Vec<f64> = x.to_vec().iter().map(|v| 8.0 * v).collect();
    assert_eq!(grads.get(&x).unwrap().to_vec(), gx);

    // Replacing: the negative entries of the gradient zeroed on the way back.
    let w = Tensor::<Rank2<2, 3>, f64>::from_array([[1.0, -1.0, 2.0], [-2.0, 3.0, -3.0]]);
    let grads = (x.clone().trace().register_hook(|g| Some(g.clone().relu())) * w)
        .sum()
        .backward();
    assert_eq!(
        grads.get(&x).unwrap().to_vec(),
        vec![1.0, 0.0, 2.0, 0.0, 3.0, 0.0]
    );
}

#[test]
fn gradient_hook_is_not_called_without_a_gradient() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let called = Arc::new(AtomicBool::new(false));
    // Untraced: the same forward code, no backward, no call.
    let flag = called.clone();
    let y = x().register_hook(move |_| {
        flag.store(true, Ordering::SeqCst);
        None
    });
    assert_eq!(y.to_vec(), x().to_vec());
    // Traced, but the hooked branch does not reach the loss.
    let flag = called.clone();
    let t = x().trace();
    let _unused = t.clone().register_hook(move |_| {
        flag.store(true, Ordering::SeqCst);
        None
    });
    let _ = t.sum().backward();
    assert!(!called.load(Ordering::SeqCst));
}

#[test]
fn gradient_hook_on_run_time_sizes_reads_an_intermediate_gradient() {
    use std::sync::{Arc, Mutex};
    let a = Tensor::<(usize, Const<2>), f64>::from_vec_with_shape(
        vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        (3, Const),
    )
    .unwrap();
    let kept = Arc::new(Mutex::new(None));
    let store = kept.clone();
    let mid = a.clone().trace().exp().register_hook(move |g| {
        *store.lock().unwrap() = Some(g.clone());
        None
    });
    let grads = mid.sin().sum().backward();
    let mid_grad = kept.lock().unwrap().take().unwrap();
    assert_eq!(mid_grad.shape().0, 3);
    let expected: Vec<f64> = a.to_vec().iter().map(|v| v.exp().cos()).collect();
    let ga: Vec<f64> = a.to_vec().iter().map(|v| v.exp().cos() * v.exp()).collect();
    let close = |got: Vec<f64>, want: &[f64]| {
        got.iter()
            .zip(want)
            .all(|(g, w)| (g - w).abs() <= 1e-12 * (1.0 + w.abs()))
    };
    assert!(close(mid_grad.to_vec(), &expected), "{mid_grad:?}");
    assert!(close(grads.get(&a).unwrap().to_vec(), &ga));
}

#[test]
#[should_panic(
    expected = "register_hook: the hook returned a gradient of shape [2, 2] for a tensor of shape [3, 2]"
)]
fn gradient_hook_returning_another_shape_panics_like_pytorch() {
    let a =
        Tensor::<(usize, Const<2>), f64>::from_vec_with_shape(vec![1.0; 6], (3, Const)).unwrap();
    let wrong =
        Tensor::<(usize, Const<2>), f64>::from_vec_with_shape(vec![1.0; 4], (2, Const)).unwrap();
    let _ = a
        .trace()
        .register_hook(move |_| Some(wrong))
        .sum()
        .backward();
}
