//! The second set's ops against finite differences (f64, proptest over random shapes and
//! values): cumsum, sort, topk, split/chunk (run-time and typed), cat and stack of lists
//! (run-time length), cat of tuples, pad in its three modes, and gradient hooks.

use proptest::prelude::*;
use shaped::gradcheck::{
    GradcheckError, GradcheckOptions, Traced, gradcheck, gradcheck_vjp, gradcheck2_vjp,
};
use shaped::ops::cat::cat_tuple;
use shaped::ops::pad::PadMode;
use shaped::prelude::*;
use shaped::strategies::{distinct, shape, tensor, tensor_with_shape};

type T64<S> = Tensor<S, f64>;
type Dyn2 = (usize, usize);
type Dyn3 = (usize, usize, usize);

fn opts() -> GradcheckOptions {
    GradcheckOptions::default()
}

fn check(r: Result<(), GradcheckError>) -> Result<(), TestCaseError> {
    r.map_err(|e| TestCaseError::fail(e.to_string()))
}

fn reals() -> impl Strategy<Value = f64> + Clone {
    -3.0..3.0
}

/// A tensor of shape `S` with its run-time sizes drawn from `sizes`.
fn dyn_tensor<S: Shape + Default>(
    sizes: core::ops::RangeInclusive<usize>,
) -> impl Strategy<Value = T64<S>> + Clone {
    shape::<S>(sizes).prop_flat_map(|s| tensor_with_shape(s, reals()))
}

/// `sum_k (k + 1) * sum(piece_k^2)`: a scalar that depends on where every element of every
/// piece lands, so a gradient sent to the wrong place or the wrong piece fails the check.
fn weigh<S: Shape>(pieces: Vec<Traced<S>>) -> Traced<()> {
    pieces
        .into_iter()
        .enumerate()
        .map(|(k, p)| p.square().sum().mul_scalar(k as f64 + 1.0))
        .reduce(|a, b| a + b)
        .expect("at least one piece")
}

/// Sizes adding up to `n` (every one at least 0), from cut points.
fn sizes_summing_to(n: usize) -> impl Strategy<Value = Vec<usize>> + Clone {
    proptest::collection::vec(0..=n, 0..4).prop_map(move |mut cuts| {
        cuts.sort_unstable();
        let mut prev = 0;
        let mut sizes: Vec<usize> = cuts
            .into_iter()
            .map(|c| {
                let s = c - prev;
                prev = c;
                s
            })
            .collect();
        sizes.push(n - prev);
        sizes
    })
}

proptest! {
    /// `register_hook` is the identity on values and on gradients when the hook returns
    /// `None` or the gradient it was given, wherever it sits in a chain.
    #[test]
    fn gradient_hooks_on_random_shapes(x in dyn_tensor::<Dyn3>(1..=4)) {
        check(gradcheck_vjp(&x, |x| x.register_hook(|_| None).square(), opts()))?;
        check(gradcheck_vjp(&x, |x| x.square().register_hook(|g| Some(g.clone())).cumsum::<1>(), opts()))?;
        check(gradcheck_vjp(&x, |x| {
            let h = x.tanh().register_hook(|_| None);
            h.clone() * h
        }, opts()))?;
    }

    #[test]
    fn cumsum_on_random_shapes(x in dyn_tensor::<Dyn3>(1..=4)) {
        check(gradcheck_vjp(&x, |x| x.cumsum::<0>(), opts()))?;
        check(gradcheck_vjp(&x, |x| x.cumsum::<1>(), opts()))?;
        check(gradcheck_vjp(&x, |x| x.cumsum::<2>(), opts()))?;
        // Twice, so that the backward's running sum meets a non-trivial gradient.
        check(gradcheck_vjp(&x, |x| x.cumsum::<1>().square().cumsum::<1>(), opts()))?;
        // An input that already has a gradient (added into) beside one that has none.
        check(gradcheck_vjp(&x, |x| x.clone().cumsum::<2>() * x, opts()))?;
    }

    #[test]
    fn sort_and_topk(
        x in distinct(dyn_tensor::<Dyn2>(1..=5), 1e-3),
        s in distinct(tensor::<Rank2<3, 5>, f64>(reals()), 1e-3),
        k in 0usize..=5,
        largest in any::<bool>(),
    ) {
        check(gradcheck_vjp(&x, |x| x.sort::<0>(false).0, opts()))?;
        check(gradcheck_vjp(&x, |x| x.sort::<1>(true).0, opts()))?;
        // Sorted values weighted by position: a permutation mix-up changes the result.
        check(gradcheck_vjp(&x, |x| x.sort::<1>(false).0.cumsum::<1>(), opts()))?;
        check(gradcheck_vjp(&s, |s| s.topk::<1, 2>(largest).0, opts()))?;
        check(gradcheck_vjp(&s, |s| s.topk::<0, 3>(largest).0, opts()))?;
        let k = k.min(x.dims()[1]);
        check(gradcheck_vjp(&x, |x| x.topk_n::<1>(k, largest).0, opts()))?;
    }

    #[test]
    fn split_and_chunk_at_run_time(
        (x, sizes) in dyn_tensor::<Dyn3>(1..=4).prop_flat_map(|x| {
            let n = x.dims()[1];
            (Just(x), sizes_summing_to(n))
        }),
        every in 1usize..=5,
        chunks in 1usize..=5,
    ) {
        check(gradcheck(&x, |x| weigh(x.split::<1>(sizes.clone())), opts()))?;
        check(gradcheck(&x, |x| weigh(x.split::<0>(every)), opts()))?;
        check(gradcheck(&x, |x| weigh(x.chunk::<2>(chunks)), opts()))?;
        // Splitting and joining again is the identity, gradients included.
        check(gradcheck_vjp(&x, |x| Tensor::cat::<1, _>(x.split::<1>(sizes.clone())), opts()))?;
    }

    #[test]
    fn split_and_chunk_typed(
        x in tensor::<Rank3<2, 6, 2>, f64>(reals()),
        d in dyn_tensor::<(usize, Const<6>)>(1..=3),
    ) {
        check(gradcheck(&x, |x| {
            let (a, b, c) = x.split_static::<1, (Const<1>, Const<2>, Const<3>)>();
            a.square().sum() + b.square().sum().mul_scalar(2.0) + c.square().sum().mul_scalar(3.0)
        }, opts()))?;
        check(gradcheck(&x, |x| weigh(x.chunk_static::<1, 3>().into()), opts()))?;
        check(gradcheck(&d, |d| weigh(d.chunk_static::<1, 2>().into()), opts()))?;
        check(gradcheck(&d, |d| {
            let (a, b) = d.split_static::<1, (Const<4>, Const<2>)>();
            a.square().sum() + b.square().sum().mul_scalar(2.0)
        }, opts()))?;
    }

    #[test]
    fn cat_and_stack_of_lists(
        (a, b) in (1usize..=3, 1usize..=3, 1usize..=4).prop_flat_map(|(m, k, n)| {
            (tensor_with_shape((m, n), reals()), tensor_with_shape((k, n), reals()))
        }),
        pattern in proptest::collection::vec(any::<bool>(), 1..=5),
        e in tensor::<Rank2<2, 3>, f64>(reals()),
        f in tensor::<Rank2<2, 3>, f64>(reals()),
    ) {
        // A list of run-time length built from both inputs, each possibly several times.
        let list = |a: Traced<Dyn2>, b: Traced<Dyn2>| -> Vec<Traced<Dyn2>> {
            pattern
                .iter()
                .enumerate()
                .map(|(k, &use_a)| {
                    let t = if use_a { a.clone() } else { b.clone() };
                    t.mul_scalar(k as f64 + 1.0)
                })
                .collect()
        };
        check(gradcheck2_vjp(&a, &b, |a, b| Tensor::cat::<0, _>(list(a, b)), opts()))?;
        check(gradcheck2_vjp(&a, &b, |a, b| {
            let t: Vec<_> = list(a, b).into_iter().map(|t| t.t()).collect();
            Tensor::cat::<1, _>(&t)
        }, opts()))?;
        let same = |e: Traced<Rank2<2, 3>>, f: Traced<Rank2<2, 3>>| -> Vec<Traced<Rank2<2, 3>>> {
            pattern
                .iter()
                .map(|&use_e| if use_e { e.clone() } else { f.clone().square() })
                .collect()
        };
        check(gradcheck2_vjp(&e, &f, |e, f| Tensor::stack::<0, _>(same(e, f)), opts()))?;
        check(gradcheck2_vjp(&e, &f, |e, f| Tensor::stack::<2, _>(&same(e, f)[..]), opts()))?;
        check(gradcheck2_vjp(&e, &f, |e, f| cat_tuple::<1, _>((e.clone(), f, e)), opts()))?;
    }

    #[test]
    fn pad_modes(
        x in dyn_tensor::<Dyn3>(3..=5),
        s in tensor::<Rank3<2, 3, 4>, f64>(reals()),
        value in reals(),
    ) {
        for mode in [PadMode::Constant(value), PadMode::Reflect, PadMode::Replicate] {
            check(gradcheck_vjp(&x, |x| x.pad::<2, 1>(mode), opts()))?;
            check(gradcheck_vjp(&x, |x| x.pad2::<1, 2, 2, 0>(mode), opts()))?;
            check(gradcheck_vjp(&x, |x| x.pad3::<0, 1, 1, 1, 2, 2>(mode), opts()))?;
            check(gradcheck_vjp(&s, |s| s.pad2::<3, 1, 2, 2>(mode), opts()))?;
        }
        // A constant pad hands its input a new gradient buffer (the output's gradient
        // cropped); two pads of one input: the second adds into the first one's.
        check(gradcheck_vjp(&s, |s| {
            let wide = s.clone().pad::<1, 1>(PadMode::Constant(value));
            wide * s.pad::<2, 0>(PadMode::Constant(-value))
        }, opts()))?;
        check(gradcheck_vjp(&s, |s| {
            let twice = s.clone().pad2::<1, 0, 0, 2>(PadMode::Constant(value));
            twice.clone() * twice + s.pad2::<0, 1, 2, 0>(PadMode::Constant(value))
        }, opts()))?;
        // Replicate pads wider than the dimension, and an empty padding.
        check(gradcheck_vjp(&s, |s| s.pad2::<5, 0, 0, 4>(PadMode::Replicate), opts()))?;
        check(gradcheck_vjp(&s, |s| s.pad::<0, 0>(PadMode::Reflect), opts()))?;
        check(gradcheck_vjp(&s, |s| s.pad2::<0, 0, 0, 0>(PadMode::Constant(value)), opts()))?;
    }
}
