//! Every differentiable op against finite differences, on random values and random run-time
//! sizes. The number of cases per property comes from `PROPTEST_CASES` (CI sets 32).

use proptest::prelude::*;
use shaped::gradcheck::{
    GradcheckError, GradcheckOptions, Traced, gradcheck, gradcheck_vjp, gradcheck2, gradcheck2_vjp,
};
use shaped::ops::binary::{BinaryKernel, binary_op};
use shaped::ops::compare::where_;
use shaped::ops::conv::ConvArgs;
use shaped::ops::linear::linear_op;
use shaped::ops::unary::UnaryKernel;
use shaped::prelude::*;
use shaped::strategies::{away_from, distinct, shape, tensor, tensor_with_shape};

#[path = "common/unary_ops.rs"]
#[macro_use]
mod unary_ops;

type T64<S> = Tensor<S, f64>;
type Dyn2 = (usize, usize);

fn opts() -> GradcheckOptions {
    GradcheckOptions::default()
}

fn check(r: Result<(), GradcheckError>) -> Result<(), TestCaseError> {
    r.map_err(|e| TestCaseError::fail(e.to_string()))
}

/// Margin from kinks: far above the check's step of 1e-6, small enough to reject rarely.
const KINK: f64 = 1e-3;

fn reals() -> impl Strategy<Value = f64> + Clone {
    -3.0..3.0
}
fn positive() -> impl Strategy<Value = f64> + Clone {
    0.1..3.0
}
fn nonzero() -> impl Strategy<Value = f64> + Clone {
    away_from(-3.0..3.0, &[0.0], 0.2)
}
fn off_zero() -> impl Strategy<Value = f64> + Clone {
    away_from(-3.0..3.0, &[0.0], KINK)
}

/// A matrix of random run-time size, each side drawn from `sizes`.
fn dyn_matrix(
    sizes: core::ops::RangeInclusive<usize>,
    values: impl Strategy<Value = f64> + Clone,
) -> impl Strategy<Value = T64<Dyn2>> + Clone {
    shape::<Dyn2>(sizes).prop_flat_map(move |s| tensor_with_shape(s, values.clone()))
}

/// True when no element of `a` is within `gap` of an element of `b`: maximum and minimum
/// are not differentiable at ties.
fn apart<S1: Shape, S2: Shape>(a: &T64<S1>, b: &T64<S2>, gap: f64) -> bool {
    a.as_slice()
        .iter()
        .all(|x| b.as_slice().iter().all(|y| (x - y).abs() > gap))
}

/// True when no element of `x` is within [`KINK`] of a point where the op has a kink.
fn clear_of<S: Shape>(x: &T64<S>, points: &[f64]) -> bool {
    x.as_slice()
        .iter()
        .all(|v| points.iter().all(|p| (v - p).abs() > KINK))
}

/// One property per row of `unary_ops!` on a static shape, with random parameters.
macro_rules! unary_props {
    ($($name:ident($golden:tt, $values:expr, $domain:ident, [$($kink:expr),*];
        $($p:ident: $ps:expr, $pd:expr, $ph:tt);*) => |$x:ident| $body:expr;)*) => {
        proptest! {
            $(
                #[test]
                fn $name($x in tensor::<Rank2<3, 4>, f64>($values) $(, $p in $ps)*) {
                    prop_assume!(clear_of(&$x, &[$($kink),*]));
                    check(gradcheck_vjp(&$x, |$x| $body, opts()))?;
                }
            )*
        }
    };
}

/// Every row of `unary_ops!` once more on a matrix of random run-time size, with the row's
/// fixed parameters.
macro_rules! unary_dynamic_prop {
    ($($name:ident($golden:tt, $values:expr, $domain:ident, [$($kink:expr),*];
        $($p:ident: $ps:expr, $pd:expr, $ph:tt);*) => |$x:ident| $body:expr;)*) => {
        proptest! {
            #[test]
            fn unary_ops_on_dynamic_shapes(
                x in dyn_matrix(1..=5, away_from(-2.5..2.5, &[-1.0, 0.0, 1.0], 0.05))
            ) {
                $(
                    $(let $p: f64 = $pd;)*
                    check(gradcheck_vjp(&x, |$x| {
                        let $x = unary_dynamic_prop!(@domain $domain, $x);
                        $body
                    }, opts()))
                    .map_err(|e| TestCaseError::fail(format!("{}: {e}", stringify!($name))))?;
                )*
            }
        }
    };
    (@domain any, $x:ident) => { $x };
    (@domain positive, $x:ident) => { $x.abs().add_scalar(0.1) };
}

unary_ops!(unary_props);
unary_ops!(unary_dynamic_prop);

// Forms and branches beyond the table's one row per op.
unary_props! {
    neg_operator(none, reals(), any, [];) => |x| -x;
    // Past beta * x > threshold softplus is exactly x; the branch point itself is a jump.
    softplus_linear_branch(none, away_from(-3.0..3.0, &[0.5], KINK), any, [];) => |x| x.softplus(2.0, 1.0);
    powf_integer_on_reals(none, reals(), any, [];
        p: prop_oneof![Just(0.0), Just(1.0), Just(2.0), Just(3.0)], 2.0, -) => |x| x.powf(p);
    // 0.5 and -1 take the square root's and the reciprocal's loops; 1.5 and -0.5 the general.
    powf_special_on_positives(none, positive(), any, [];
        p: prop_oneof![Just(0.5), Just(-1.0), Just(1.5), Just(-0.5)], 0.5, -) => |x| x.powf(p);
    rdiv_scalar_zero(none, nonzero(), any, [];) => |x| x.rdiv_scalar(0.0);
    scalar_operators(none, reals(), any, []; c: nonzero(), 3.0, -) => |x| ((x + c) * c - c) / c;
    scalar_chain(none, reals(), any, [];) => |x| x.add_scalar(0.5).mul_scalar(-2.0).div_scalar(3.0);
}

/// One property per binary op, over same-shape, one-sided, two-sided and rank-extending
/// broadcasts, static and run-time.
macro_rules! binary_props {
    ($($name:ident($lhs:expr, $rhs:expr) => |$a:ident, $b:ident| $body:expr;)*) => {
        proptest! {
            $(
                #[test]
                fn $name(
                    a34 in tensor::<Rank2<3, 4>, f64>($lhs),
                    b34 in tensor::<Rank2<3, 4>, f64>($rhs),
                    b4 in tensor::<Rank1<4>, f64>($rhs),
                    a31 in tensor::<Rank2<3, 1>, f64>($lhs),
                    b14 in tensor::<Rank2<1, 4>, f64>($rhs),
                    a234 in tensor::<Rank3<2, 3, 4>, f64>($lhs),
                    b31 in tensor::<Rank2<3, 1>, f64>($rhs),
                    b0 in tensor::<Rank0, f64>($rhs),
                    (ad, bd, brow, bvec) in shape::<Dyn2>(1..=4).prop_flat_map(|(m, n)| (
                        tensor_with_shape((m, n), $lhs),
                        tensor_with_shape((m, n), $rhs),
                        tensor_with_shape((1usize, n), $rhs),
                        tensor_with_shape((n,), $rhs),
                    )),
                ) {
                    // Max and min are not differentiable at ties; other ops ignore this.
                    prop_assume!(apart(&a34, &b34, 1e-4) && apart(&a34, &b4, 1e-4) && apart(&a31, &b14, 1e-4));
                    prop_assume!(apart(&a234, &b31, 1e-4) && apart(&a34, &b0, 1e-4));
                    prop_assume!(apart(&ad, &bd, 1e-4) && apart(&ad, &brow, 1e-4) && apart(&ad, &bvec, 1e-4));
                    check(gradcheck2_vjp(&a34, &b34, |$a, $b| $body, opts()))?;
                    check(gradcheck2_vjp(&a34, &b4, |$a, $b| $body, opts()))?;
                    check(gradcheck2_vjp(&a31, &b14, |$a, $b| $body, opts()))?;
                    check(gradcheck2_vjp(&a234, &b31, |$a, $b| $body, opts()))?;
                    check(gradcheck2_vjp(&a34, &b0, |$a, $b| $body, opts()))?;
                    check(gradcheck2_vjp(&ad, &bd, |$a, $b| $body, opts()))?;
                    check(gradcheck2_vjp(&ad, &brow, |$a, $b| $body, opts()))?;
                    check(gradcheck2_vjp(&ad, &bvec, |$a, $b| $body, opts()))?;
                }
            )*
        }
    };
}

binary_props! {
    add(reals(), reals()) => |a, b| a.add(b);
    sub(reals(), reals()) => |a, b| a.sub(b);
    mul(reals(), reals()) => |a, b| a.mul(b);
    div(reals(), nonzero()) => |a, b| a.div(b);
    pow(positive(), -2.0..2.0) => |a, b| a.pow(b);
    maximum(reals(), reals()) => |a, b| a.maximum(b);
    minimum(reals(), reals()) => |a, b| a.minimum(b);
    prelu(off_zero(), reals()) => |a, b| a.prelu(b);
    operators(reals(), nonzero()) => |a, b| ((a.clone() + b.clone()) * b.clone() - a) / b;
    // An input of the output's shape takes a broadcast op's gradient in place when it has
    // none yet, and adds into it when another use gave it one (either side).
    mul_twice(reals(), reals()) => |a, b| a.clone() * b.clone() + a * b;
    div_both_sides(reals(), nonzero()) => |a, b| a.clone() / b.clone() - b * a;
}

/// `f` over the broadcast of `a` and `b` by index arithmetic: the reference for the merged
/// axes of the broadcast loops.
fn naive_broadcast(
    (a, ad): (&[f64], &[usize]),
    (b, bd): (&[f64], &[usize]),
    od: &[usize],
    f: impl Fn(f64, f64) -> f64,
) -> Vec<f64> {
    let numel: usize = od.iter().product();
    let offset = |dims: &[usize], mut i: usize| {
        let (mut at, mut stride) = (0, 1);
        for k in (0..od.len()).rev() {
            let coord = i % od[k];
            i /= od[k];
            if let Some(j) = (k + dims.len()).checked_sub(od.len()) {
                if dims[j] != 1 {
                    at += coord * stride;
                }
                stride *= dims[j];
            }
        }
        at
    };
    (0..numel)
        .map(|i| f(a[offset(ad, i)], b[offset(bd, i)]))
        .collect()
}

/// Broadcasts over middle and trailing axes, where the loops merge adjacent axes (an
/// operand spanning both or repeating over both): values of binary ops, comparisons and
/// `broadcast_to` against index arithmetic, both operand orders; `where` with a broadcast
/// condition against the same choice on operands broadcast beforehand; gradients against the same op on operands broadcast beforehand
/// (`broadcast_to`, then no broadcast), and by finite differences on the small shapes
/// (`gradcheck`), for general and unit derivatives.
macro_rules! merged_axes_props {
    ($($name:ident: $l:ty, $r:ty => $o:ty, $gradcheck:literal;)*) => {
        proptest! {
            $(
                #[test]
                fn $name(
                    a in tensor::<$l, f64>(reals()),
                    b in tensor::<$r, f64>(nonzero()),
                    c in tensor::<$o, f64>(reals()),
                ) {
                    let out = a.clone().mul(b.clone());
                    let want = naive_broadcast(
                        (a.as_slice(), a.dims().as_slice()),
                        (b.as_slice(), b.dims().as_slice()),
                        out.dims().as_slice(),
                        |x, y| x * y,
                    );
                    prop_assert_eq!(out.as_slice(), &want[..]);
                    let flipped = b.clone().sub(a.clone());
                    let want = naive_broadcast(
                        (b.as_slice(), b.dims().as_slice()),
                        (a.as_slice(), a.dims().as_slice()),
                        flipped.dims().as_slice(),
                        |x, y| x - y,
                    );
                    prop_assert_eq!(flipped.as_slice(), &want[..]);
                    let greater = naive_broadcast(
                        (a.as_slice(), a.dims().as_slice()),
                        (b.as_slice(), b.dims().as_slice()),
                        out.dims().as_slice(),
                        |x, y| if x > y { 1.0 } else { 0.0 },
                    );
                    prop_assert_eq!(a.gt(&b).to_vec(), greater);
                    let spread = naive_broadcast(
                        (c.as_slice(), c.dims().as_slice()),
                        (b.as_slice(), b.dims().as_slice()),
                        c.dims().as_slice(),
                        |_, y| y,
                    );
                    prop_assert_eq!(b.clone().broadcast_to::<$o>().to_vec(), spread);
                    // `where` with a broadcast condition: against the same choice made on
                    // operands broadcast beforehand, values and both gradients.
                    let pick = |merged: bool| {
                        let (at, ct) = (a.clone().trace(), c.clone().trace());
                        let y: Tensor<$o, f64, OwnedTape<f64>> = if merged {
                            Tensor::where_cond(&b.gt_scalar(0.0), at, ct)
                        } else {
                            let cond = b.gt_scalar(0.0).broadcast_to::<$o>();
                            Tensor::where_cond(&cond, at.broadcast_to::<$o>(), ct)
                        };
                        let values = y.to_vec();
                        let g = y.mul(c.clone()).sum().backward();
                        (values, g.get_slice(&a).unwrap().to_vec(), g.get_slice(&c).unwrap().to_vec())
                    };
                    prop_assert_eq!(pick(true), pick(false));
                    let grads = |merged: bool| {
                        let (at, bt) = (a.clone().trace(), b.clone().trace());
                        let y: Tensor<$o, f64, OwnedTape<f64>> = if merged {
                            at.mul(bt.clone()).add(bt.clone().prelu(c.clone())).div(bt)
                        } else {
                            let (ab, bb) = (at.broadcast_to::<$o>(), bt.broadcast_to::<$o>());
                            ab.mul(bb.clone()).add(bb.clone().prelu(c.clone())).div(bb)
                        };
                        let g = y.mul(c.clone()).sum().backward();
                        (g.get_slice(&a).unwrap().to_vec(), g.get_slice(&b).unwrap().to_vec())
                    };
                    let (merged, materialized) = (grads(true), grads(false));
                    for (x, y) in merged.0.iter().chain(&merged.1).zip(materialized.0.iter().chain(&materialized.1)) {
                        prop_assert!((x - y).abs() <= 1e-9 * (1.0 + y.abs()), "{x} vs {y}");
                    }
                    if $gradcheck {
                        check(gradcheck2_vjp(&a, &b, |a, b| a.div(b), opts()))?;
                        check(gradcheck2_vjp(&a, &b, |a, b| b.add(a), opts()))?;
                        check(gradcheck2_vjp(&a, &b, |a, b| a.prelu(b), opts()))?;
                    }
                }
            )*
        }
    };
}

merged_axes_props! {
    per_channel: Rank4<2, 3, 4, 5>, Rank3<3, 1, 1> => Rank4<2, 3, 4, 5>, true;
    per_row_of_planes: Rank4<2, 3, 4, 5>, Rank4<1, 3, 4, 1> => Rank4<2, 3, 4, 5>, true;
    both_broadcast: Rank4<2, 1, 4, 5>, Rank3<3, 1, 1> => Rank4<2, 3, 4, 5>, true;
    alternating: Rank4<2, 3, 1, 5>, Rank4<2, 1, 4, 1> => Rank4<2, 3, 4, 5>, true;
    leading_only: Rank4<1, 3, 4, 5>, Rank4<2, 1, 1, 1> => Rank4<2, 3, 4, 5>, true;
    // Past the longest merged row (4096): the last axes merge only up to it.
    long_rows: Rank4<2, 3, 65, 64>, Rank4<2, 1, 1, 64> => Rank4<2, 3, 65, 64>, false;
    scalar_rows: Rank4<3, 2, 65, 64>, Rank4<3, 1, 1, 1> => Rank4<3, 2, 65, 64>, false;
}

/// Broadcasts whose repeated operand spans at least 64 elements run as runs of contiguous
/// elements (a table of positions added to every sequence of a batch): on either side, with
/// leading dimensions dropped or kept as 1, for unit and general derivatives.
macro_rules! periodic_binary_props {
    ($($name:ident($lhs:expr, $rhs:expr) => |$a:ident, $b:ident| $body:expr;)*) => {
        proptest! {
            $(
                #[test]
                fn $name(
                    a in tensor::<Rank3<2, 3, 24>, f64>($lhs),
                    table in tensor::<Rank2<3, 24>, f64>($rhs),
                    table1 in tensor::<Rank3<1, 3, 24>, f64>($rhs),
                    b in tensor::<Rank3<2, 3, 24>, f64>($rhs),
                    lhs_table in tensor::<Rank2<3, 24>, f64>($lhs),
                ) {
                    prop_assume!(apart(&a, &table, 1e-4) && apart(&a, &table1, 1e-4));
                    prop_assume!(apart(&lhs_table, &b, 1e-4));
                    check(gradcheck2_vjp(&a, &table, |$a, $b| $body, opts()))?;
                    check(gradcheck2_vjp(&a, &table1, |$a, $b| $body, opts()))?;
                    check(gradcheck2_vjp(&lhs_table, &b, |$a, $b| $body, opts()))?;
                }
            )*
        }
    };
}

periodic_binary_props! {
    add_periodic(reals(), reals()) => |a, b| a.add(b);
    sub_periodic(reals(), reals()) => |a, b| a.sub(b);
    mul_periodic(reals(), reals()) => |a, b| a.mul(b);
    div_periodic(reals(), nonzero()) => |a, b| a.div(b);
    maximum_periodic(reals(), reals()) => |a, b| a.maximum(b);
}

/// Whole-tensor, per-axis and keepdim forms of one reduction, on distinct values (ties
/// would make max and min non-differentiable) of a static rank-3 tensor and of a matrix
/// whose run-time sides are at least 2 (var and std divide by n - 1).
macro_rules! reduction_props {
    ($($name:ident: $whole:ident $dim:ident $keep:ident;)*) => {
        proptest! {
            $(
                #[test]
                fn $name(
                    x in distinct(tensor::<Rank3<2, 3, 4>, f64>(reals()), 1e-4),
                    d in distinct(dyn_matrix(2..=5, reals()), 1e-4),
                ) {
                    check(gradcheck(&x, |x| x.$whole(), opts()))?;
                    check(gradcheck_vjp(&x, |x| x.$dim::<0>(), opts()))?;
                    check(gradcheck_vjp(&x, |x| x.$dim::<1>(), opts()))?;
                    check(gradcheck_vjp(&x, |x| x.$dim::<2>(), opts()))?;
                    check(gradcheck_vjp(&x, |x| x.$keep::<0>(), opts()))?;
                    check(gradcheck_vjp(&x, |x| x.$keep::<2>(), opts()))?;
                    check(gradcheck(&d, |d| d.$whole(), opts()))?;
                    check(gradcheck_vjp(&d, |d| d.$dim::<0>(), opts()))?;
                    check(gradcheck_vjp(&d, |d| d.$keep::<1>(), opts()))?;
                }
            )*
        }
    };
}

proptest! {
    /// Sums and means over two axes, adjacent (one merged pass) and apart (two passes), on a
    /// static rank-4 tensor and on run-time sizes.
    #[test]
    fn two_axis_sums_and_means(
        x in tensor::<Rank4<2, 3, 2, 3>, f64>(reals()),
        d in shape::<(usize, usize, usize)>(1..=4)
            .prop_flat_map(|s| tensor_with_shape(s, reals())),
    ) {
        check(gradcheck_vjp(&x, |x| x.sum_dims::<2, 3>(), opts()))?;
        check(gradcheck_vjp(&x, |x| x.mean_dims::<2, 3>(), opts()))?;
        check(gradcheck_vjp(&x, |x| x.sum_dims::<0, 2>(), opts()))?;
        check(gradcheck_vjp(&x, |x| x.mean_dims::<1, 3>(), opts()))?;
        check(gradcheck_vjp(&x, |x| x.sum_dims_keepdim::<1, 2>(), opts()))?;
        check(gradcheck_vjp(&x, |x| x.mean_dims_keepdim::<0, 3>(), opts()))?;
        check(gradcheck_vjp(&d, |d| d.mean_dims::<1, 2>(), opts()))?;
        check(gradcheck_vjp(&d, |d| d.sum_dims::<0, 2>(), opts()))?;
        // An input that already has a gradient when the sum's backward runs (added into);
        // used once, it takes the spread written (every axis: runs along the last one).
        check(gradcheck_vjp(&x, |x| x.clone().sum_dim_keepdim::<0>() * x, opts()))?;
        check(gradcheck_vjp(&x, |x| x.clone().sum_dim_keepdim::<2>() * x, opts()))?;
        check(gradcheck_vjp(&x, |x| x.clone().mean_dim_keepdim::<3>() * x, opts()))?;
        check(gradcheck_vjp(&x, |x| x.sum_dim::<3>(), opts()))?;
        check(gradcheck_vjp(&x, |x| x.clone().logsumexp_dim_keepdim::<1>() * x, opts()))?;
        check(gradcheck_vjp(&x, |x| x.clone().logsumexp_dim_keepdim::<3>() * x, opts()))?;
        // Against the one-axis reductions they replace.
        let (two, one) = (x.clone().mean_dims::<2, 3>(), x.clone().mean_dim::<3>().mean_dim::<2>());
        for (a, b) in two.as_slice().iter().zip(one.as_slice()) {
            prop_assert!((a - b).abs() < 1e-12);
        }
    }
}

reduction_props! {
    sum: sum sum_dim sum_dim_keepdim;
    mean: mean mean_dim mean_dim_keepdim;
    max: max max_dim max_dim_keepdim;
    min: min min_dim min_dim_keepdim;
    var: var var_dim var_dim_keepdim;
    std: std std_dim std_dim_keepdim;
    logsumexp: logsumexp logsumexp_dim logsumexp_dim_keepdim;
}

proptest! {
    #[test]
    fn reductions_with_indices_and_correction(x in distinct(tensor::<Rank3<2, 3, 4>, f64>(reals()), 1e-4)) {
        check(gradcheck_vjp(&x, |x| x.max_dim_with_indices::<1>().0, opts()))?;
        check(gradcheck_vjp(&x, |x| x.min_dim_with_indices::<2>().0, opts()))?;
        check(gradcheck_vjp(&x, |x| x.var_dim_correction::<1>(0), opts()))?;
        check(gradcheck_vjp(&x, |x| x.var_dim_correction::<2>(2), opts()))?;
    }

    #[test]
    fn logsumexp_of_large_values(x in tensor::<Rank2<3, 4>, f64>(995.0..1005.0)) {
        check(gradcheck(&x, |x| x.logsumexp(), opts()))?;
        check(gradcheck_vjp(&x, |x| x.logsumexp_dim::<1>(), opts()))?;
    }

    #[test]
    fn softmax(x in tensor::<Rank3<2, 3, 4>, f64>(-5.0..5.0), d in dyn_matrix(1..=5, -5.0..5.0)) {
        check(gradcheck_vjp(&x, |x| x.softmax::<0>(), opts()))?;
        check(gradcheck_vjp(&x, |x| x.softmax::<1>(), opts()))?;
        check(gradcheck_vjp(&x, |x| x.softmax::<2>(), opts()))?;
        check(gradcheck_vjp(&d, |d| d.softmax::<0>(), opts()))?;
        check(gradcheck_vjp(&d, |d| d.softmax::<1>(), opts()))?;
        // An input that already has a gradient when the softmax's backward runs (added
        // into), and one that has none (the gradient written over the output's).
        check(gradcheck_vjp(&x, |x| x.clone().softmax::<1>() * x, opts()))?;
        check(gradcheck_vjp(&x, |x| x.clone().softmax::<2>() * x.clone().softmax::<0>(), opts()))?;
    }

    #[test]
    fn log_softmax(x in tensor::<Rank3<2, 3, 4>, f64>(-5.0..5.0), d in dyn_matrix(1..=5, -5.0..5.0)) {
        check(gradcheck_vjp(&x, |x| x.log_softmax::<0>(), opts()))?;
        check(gradcheck_vjp(&x, |x| x.log_softmax::<1>(), opts()))?;
        check(gradcheck_vjp(&x, |x| x.log_softmax::<2>(), opts()))?;
        check(gradcheck_vjp(&d, |d| d.log_softmax::<0>(), opts()))?;
        check(gradcheck_vjp(&d, |d| d.log_softmax::<1>(), opts()))?;
        check(gradcheck_vjp(&x, |x| x.clone().log_softmax::<2>() * x, opts()))?;
        check(gradcheck_vjp(&x, |x| x.clone().log_softmax::<1>() + x.log_softmax::<0>(), opts()))?;
    }

    #[test]
    fn softmax_of_large_logits(x in tensor::<Rank2<3, 4>, f64>(995.0..1005.0)) {
        check(gradcheck_vjp(&x, |x| x.softmax::<1>(), opts()))?;
        check(gradcheck_vjp(&x, |x| x.log_softmax::<1>(), opts()))?;
    }

    #[test]
    fn matmul_2d_and_vector_forms(
        a in tensor::<Rank2<2, 3>, f64>(reals()),
        b in tensor::<Rank2<3, 4>, f64>(reals()),
        u in tensor::<Rank1<3>, f64>(reals()),
        v in tensor::<Rank1<3>, f64>(reals()),
    ) {
        check(gradcheck2_vjp(&a, &b, |a, b| a.matmul(b), opts()))?;
        check(gradcheck2_vjp(&u, &b, |u, b| u.matmul(b), opts()))?;
        check(gradcheck2_vjp(&a, &u, |a, u| a.matmul(u), opts()))?;
        check(gradcheck2(&u, &v, |u, v| u.matmul(v), opts()))?;
        check(gradcheck2(&u, &v, |u, v| u.dot(v), opts()))?;
    }

    #[test]
    fn matmul_batched_and_broadcast(
        a in tensor::<Rank3<2, 2, 3>, f64>(reals()),
        b in tensor::<Rank3<2, 3, 4>, f64>(reals()),
        m in tensor::<Rank2<3, 4>, f64>(reals()),
        l in tensor::<Rank2<2, 3>, f64>(reals()),
        a4 in tensor::<Rank4<2, 2, 2, 3>, f64>(reals()),
        b4 in tensor::<Rank4<2, 2, 3, 2>, f64>(reals()),
        s in tensor::<Rank2<3, 3>, f64>(reals()),
    ) {
        // A shared side used twice: its first gradient is written by one product (summed
        // over the batch), the second product adds into it.
        check(gradcheck2_vjp(&a, &m, |a, m| a.matmul(m.clone()).matmul(m.t()), opts()))?;
        check(gradcheck2_vjp(&s, &b, |s, b| s.clone().matmul(s.matmul(b)), opts()))?;
        check(gradcheck2_vjp(&a, &b, |a, b| a.matmul(b), opts()))?;
        check(gradcheck2_vjp(&a, &m, |a, m| a.matmul(m), opts()))?;
        check(gradcheck2_vjp(&l, &b, |l, b| l.matmul(b), opts()))?;
        check(gradcheck2_vjp(&a4, &b4, |a, b| a.matmul(b), opts()))?;
        check(gradcheck2_vjp(&a4, &b4, |a, b| a.matmul(b.sum_dim::<0>().sum_dim::<0>()), opts()))?;
    }

    #[test]
    fn matmul_dynamic((a, b) in (1usize..=4, 1usize..=4, 1usize..=4).prop_flat_map(|(m, k, n)| {
        (tensor_with_shape((m, k), reals()), tensor_with_shape((k, n), reals()))
    })) {
        check(gradcheck2_vjp(&a, &b, |a, b| a.matmul(b), opts()))?;
    }

    #[test]
    fn linear(
        x in tensor::<Rank2<4, 3>, f64>(reals()),
        x3 in tensor::<Rank3<2, 2, 3>, f64>(reals()),
        w in tensor::<Rank2<5, 3>, f64>(reals()),
        b in tensor::<Rank1<5>, f64>(reals()),
    ) {
        let (s2, s3) = ((Const::<4>, Const::<5>), (Const::<2>, Const::<2>, Const::<5>));
        let bias = || Some(b.traced_as::<OwnedTape<f64>>());
        check(gradcheck2_vjp(&x, &w, |x, w| linear_op(x, w, bias(), s2), opts()))?;
        check(gradcheck2_vjp(&x, &b, |x, b| linear_op(x, w.traced_as(), Some(b), s2), opts()))?;
        check(gradcheck2_vjp(&x, &w, |x, w| linear_op(x, w, None::<Traced<Rank1<5>>>, s2), opts()))?;
        check(gradcheck2_vjp(&x3, &w, |x, w| linear_op(x, w, bias(), s3), opts()))?;
        check(gradcheck2_vjp(&x3, &b, |x, b| linear_op(x, w.traced_as(), Some(b), s3), opts()))?;
    }

    #[test]
    fn broadcast_to(
        x in tensor::<Rank2<3, 1>, f64>(reals()),
        v in tensor::<Rank1<4>, f64>(reals()),
        d in dyn_matrix(1..=4, reals()),
    ) {
        check(gradcheck_vjp(&x, |x| x.broadcast_to::<Rank3<2, 3, 4>>(), opts()))?;
        check(gradcheck_vjp(&v, |v| v.broadcast_to::<Rank2<3, 4>>(), opts()))?;
        check(gradcheck_vjp(&v, |v| v.broadcast_to::<Rank1<4>>(), opts()))?;
        let (m, n) = *d.shape();
        check(gradcheck_vjp(&d, |d| d.try_broadcast_to_dyn((2usize, m, n)).unwrap(), opts()))?;
        let row = T64::<Dyn2>::from_vec_with_shape(d.as_slice()[..n].to_vec(), (1, n)).unwrap();
        check(gradcheck_vjp(&row, |r| r.try_broadcast_to_dyn((m, 3usize, n)).unwrap(), opts()))?;
    }

    /// A tensor used more than once (through clones) must collect every contribution.
    #[test]
    fn reused_inputs(x in tensor::<Rank2<3, 4>, f64>(reals()), y in tensor::<Rank1<4>, f64>(positive())) {
        check(gradcheck_vjp(&x, |x| x.clone() * x, opts()))?;
        check(gradcheck_vjp(&x, |x| x.clone().sin() * x.clone().cos() + x.exp(), opts()))?;
        check(gradcheck2_vjp(&x, &y, |x, y| (x.clone() * y.clone()).tanh() / y.clone() + x.abs().add_scalar(0.1).pow(y), opts()))?;
    }

    /// A small network: linear, tanh, log_softmax and a mean loss, through both inputs.
    #[test]
    fn mlp_composition(
        x in tensor::<Rank2<4, 3>, f64>(reals()),
        w in tensor::<Rank2<3, 5>, f64>(-1.0..1.0),
        b in tensor::<Rank1<5>, f64>(-1.0..1.0),
    ) {
        let net = |x: Traced<Rank2<4, 3>>, w: Traced<Rank2<3, 5>>| {
            (x.matmul(w) + b.clone()).tanh().log_softmax::<1>().mean_dim::<1>().square().mean()
        };
        check(gradcheck2(&x, &w, net, opts()))?;
    }
}

// The checker itself: it must reject wrong gradients, not just accept right ones.

/// `sin` with the derivative scaled by `1 + err`.
#[derive(Clone, Copy)]
struct SinWithWrongDerivative {
    err: f64,
}
impl UnaryKernel<f64> for SinWithWrongDerivative {
    fn f(&self, x: f64) -> f64 {
        x.sin()
    }
    fn df(&self, x: f64, _: f64) -> f64 {
        x.cos() * (1.0 + self.err)
    }
}

#[test]
fn catches_a_wrong_unary_derivative() {
    let x = T64::<Rank2<2, 3>>::from_array([[0.1, 0.5, -1.0], [2.0, -2.5, 0.7]]);
    let err = gradcheck_vjp(
        &x,
        |x| x.map_kernel(SinWithWrongDerivative { err: 1.0 }),
        opts(),
    )
    .unwrap_err();
    assert_eq!(err.input, 0);
    assert_eq!((err.failed, err.checked), (6, 6));
    assert!((err.analytic - 2.0 * err.numeric).abs() < 1e-6, "{err}");
    let message = err.to_string();
    assert!(
        message.contains("6 of 6") && message.contains(&format!("{:?}", err.index)),
        "{message}"
    );
    // An error of 1% is far outside rtol = 1e-4, and also caught.
    let subtle = SinWithWrongDerivative { err: 0.01 };
    assert!(gradcheck_vjp(&x, |x| x.map_kernel(subtle), opts()).is_err());
    // The same kernel with the right derivative passes.
    let right = SinWithWrongDerivative { err: 0.0 };
    gradcheck_vjp(&x, |x| x.map_kernel(right), opts()).unwrap();
}

/// A relu whose kink sits 0.3 * eps away from the input: the steps of eps cross it, the
/// smaller ones do not.
#[test]
fn a_kink_closer_than_eps_is_checked_again_at_smaller_steps() {
    let base = GradcheckOptions::default();
    let x = T64::<Rank1<3>>::from_array([0.5, -0.25, 1.0]);
    let kink = x.as_slice()[1] - 0.3 * base.eps;
    let shifted_relu = |x: Traced<Rank1<3>>| (x - kink).relu().sum();
    gradcheck(&x, shifted_relu, base).unwrap();
    // Without the smaller steps the element next to the kink fails, and only that one.
    let err = gradcheck(
        &x,
        shifted_relu,
        GradcheckOptions {
            refinements: 0,
            ..base
        },
    )
    .unwrap_err();
    assert_eq!((err.failed, err.index.clone()), (1, vec![1]), "{err}");
    assert!((err.numeric - 0.65).abs() < 1e-6, "{err}");
    // A wrong derivative stays wrong at every step.
    let wrong = SinWithWrongDerivative { err: 0.01 };
    let many = GradcheckOptions {
        refinements: 4,
        ..base
    };
    assert!(gradcheck_vjp(&x, |x| x.map_kernel(wrong), many).is_err());
}

/// Every parameter of a two-layer model passes; a weight that reaches the output off the
/// tape fails, and the error names it.
#[test]
fn gradcheck_params_checks_and_names_every_parameter() {
    use rand::SeedableRng;
    use shaped::gradcheck::gradcheck_params;
    use shaped::nn::{Linear, Module};
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let model = (
        Linear::<3, 4, f64>::new(&mut rng),
        Linear::<4, 2, f64>::new(&mut rng),
    );
    let x = T64::<Rank2<5, 3>>::from_array([[0.3, -0.2, 0.9]; 5]);
    gradcheck_params(&model, |m| m.forward(x.clone().trace()).tanh(), opts()).unwrap();
    // `1.weight` also enters as an untraced constant: autograd misses that path.
    let leaky = |m: &(Linear<3, 4, f64>, Linear<4, 2, f64>)| {
        let constant: f64 = m.1.weight.as_slice().iter().sum();
        m.forward(x.clone().trace()) * constant
    };
    let err = gradcheck_params(&model, leaky, opts()).unwrap_err();
    assert_eq!(err.parameter.as_deref(), Some("1.weight"), "{err}");
    assert_eq!(err.checked, 3 * 4 + 4 + 4 * 2 + 2);
    assert!(err.to_string().contains("parameter `1.weight`"), "{err}");
}

/// A tensor the model holds twice (a clone keeps its id: one parameter used by two layers)
/// is checked once, moved in both places together, against the sum of both uses' gradients;
/// a buffer (BatchNorm's running statistics) is not checked.
#[test]
fn gradcheck_params_checks_a_shared_tensor_once_and_skips_buffers() {
    use rand::SeedableRng;
    use shaped::gradcheck::gradcheck_params;
    use shaped::nn::{BatchNorm1d, Linear, Module};
    let layer = Linear::<3, 3, f64>::new(&mut rand::rngs::StdRng::seed_from_u64(9));
    let shared = (layer.clone(), layer);
    let x = T64::<Rank2<4, 3>>::from_array([
        [0.3, -0.2, 0.9],
        [0.1, 0.5, -0.7],
        [1.0, 0.2, 0.4],
        [-0.6, 0.8, 0.0],
    ]);
    let twice = |m: &(Linear<3, 3, f64>, Linear<3, 3, f64>)| m.forward(x.clone().trace()).tanh();
    gradcheck_params(&shared, twice, opts()).unwrap();
    // Checked once: a wrong gradient reports 3 * 3 + 3 elements checked, not twice that.
    let wrong = |m: &(Linear<3, 3, f64>, Linear<3, 3, f64>)| twice(m) * m.0.weight.as_slice()[0];
    let err = gradcheck_params(&shared, wrong, opts()).unwrap_err();
    assert_eq!(
        (err.checked, err.parameter.as_deref()),
        (12, Some("0.weight")),
        "{err}"
    );
    // BatchNorm1d in evaluation mode: weight and bias checked, running statistics not.
    let mut norm = BatchNorm1d::<3, f64>::new();
    norm.visit_mut("", &mut |p| {
        if p.name == "running_var" {
            p.data.copy_from_slice(&[0.5, 2.0, 1.5]);
        }
    });
    let normed = |m: &BatchNorm1d<3, f64>| {
        let y = m.forward(x.clone().trace());
        y.clone() * y.exp()
    };
    gradcheck_params(&norm, normed, opts()).unwrap();
    let bad = |m: &BatchNorm1d<3, f64>| normed(m) * m.weight.as_slice()[0];
    let err = gradcheck_params(&norm, bad, opts()).unwrap_err();
    assert_eq!(
        (err.checked, err.parameter.as_deref()),
        (6, Some("weight")),
        "{err}"
    );
}

proptest! {
    #[test]
    fn catches_a_wrong_derivative_on_random_inputs(x in tensor::<Rank2<3, 4>, f64>(reals())) {
        // cos(x) * 1.01 stays within tolerance only where cos(x) is tiny, never everywhere.
        let wrong = SinWithWrongDerivative { err: 0.01 };
        prop_assert!(gradcheck_vjp(&x, |x| x.map_kernel(wrong), opts()).is_err());
    }
}

/// `a * b` with `d/db` wrong: the error must name the second input.
#[derive(Clone, Copy)]
struct MulWithWrongRhsDerivative;
impl BinaryKernel<f64> for MulWithWrongRhsDerivative {
    fn f(&self, a: f64, b: f64) -> f64 {
        a * b
    }
    fn dfa(&self, _: f64, b: f64) -> f64 {
        b
    }
    fn dfb(&self, a: f64, _: f64) -> f64 {
        -a
    }
}

#[test]
fn names_the_input_with_the_wrong_gradient() {
    let a = T64::<Rank1<3>>::from_array([1.0, 2.0, 3.0]);
    let b = T64::<Rank1<3>>::from_array([0.5, -0.5, 1.5]);
    let shape = *a.shape();
    let err = gradcheck2_vjp(
        &a,
        &b,
        |a, b| binary_op(a, b, shape, MulWithWrongRhsDerivative),
        opts(),
    )
    .unwrap_err();
    assert_eq!((err.input, err.failed, err.checked), (1, 3, 6));
}

#[test]
fn a_dropped_tape_is_a_zero_gradient() {
    let x = T64::<Rank1<3>>::from_array([1.0, 2.0, 3.0]);
    // A copy of the values is a new leaf: gradients stop there and never reach `x`.
    let copy = |x: Traced<Rank1<3>>| {
        T64::from_vec_with_shape(x.to_vec(), *x.shape())
            .unwrap()
            .trace()
    };
    let err = gradcheck(&x, |x| copy(x).square().sum(), opts()).unwrap_err();
    assert_eq!((err.analytic, err.failed), (0.0, 3));
    assert!((err.numeric - 6.0).abs() < 1e-6);
}

#[test]
fn non_finite_values_fail() {
    // sqrt at 0: an infinite derivative, and NaN one step to the left.
    let x = T64::<Rank1<2>>::from_array([1.0, 0.0]);
    let err = gradcheck(&x, |x| x.sqrt().sum(), opts()).unwrap_err();
    assert_eq!((err.index.as_slice(), err.failed), (&[1][..], 1));
    assert!(err.analytic.is_infinite() && err.numeric.is_nan());
}

#[test]
fn index_is_a_multi_index() {
    let x = T64::<Rank3<2, 3, 4>>::zeros();
    // Only element [1, 2, 3] has a wrong gradient: the mask zeroes the rest.
    let mut mask = vec![0.0; 24];
    mask[23] = 1.0;
    let mask = T64::<Rank3<2, 3, 4>>::from_vec(mask).unwrap();
    let f = |x: Traced<Rank3<2, 3, 4>>| {
        (x.map_kernel(SinWithWrongDerivative { err: 1.0 }) * mask.clone()).sum()
    };
    let err = gradcheck(&x, f, opts()).unwrap_err();
    assert_eq!(err.index, vec![1, 2, 3]);
}

// Shape and indexing ops: they only move elements, so the properties are mostly about
// random sizes, positions and repeated indices (whose gradients must add up).

/// Index vectors of random length with values below `bound`, repeats likely.
fn indices(
    bound: usize,
    len: core::ops::RangeInclusive<usize>,
) -> impl Strategy<Value = Indices<(usize,)>> {
    proptest::collection::vec(0..bound, len).prop_map(|v| {
        let n = v.len();
        Indices::from_vec_with_shape(v, (n,)).unwrap()
    })
}

proptest! {
    #[test]
    fn views(x in tensor::<Rank3<2, 3, 4>, f64>(reals()), d in dyn_matrix(1..=5, reals())) {
        check(gradcheck_vjp(&x, |x| x.reshape::<Rank2<4, 6>>(), opts()))?;
        check(gradcheck_vjp(&x, |x| x.flatten(), opts()))?;
        check(gradcheck_vjp(&x, |x| x.flatten_all(), opts()))?;
        check(gradcheck_vjp(&x, |x| x.unsqueeze::<3>(), opts()))?;
        check(gradcheck_vjp(&x, |x| x.unsqueeze::<1>().squeeze::<1>(), opts()))?;
        let (m, n) = *d.shape();
        check(gradcheck_vjp(&d, |d| d.try_reshape_dyn((n, m)).unwrap(), opts()))?;
        check(gradcheck_vjp(&d, |d| d.flatten_all(), opts()))?;
        check(gradcheck_vjp(&d, |d| d.unsqueeze::<0>().try_squeeze::<0>().unwrap(), opts()))?;
        // Views share the buffer: a view used next to its source must not alias gradients.
        check(gradcheck_vjp(&d, |d| d.clone().try_reshape_dyn((n, m)).unwrap().sin() * d.try_reshape_dyn((n, m)).unwrap(), opts()))?;
    }

    #[test]
    fn transpose_and_permute(
        x in tensor::<Rank3<2, 3, 4>, f64>(reals()),
        y in tensor::<Rank4<2, 3, 1, 2>, f64>(reals()),
        d in dyn_matrix(1..=5, reals()),
    ) {
        check(gradcheck_vjp(&x, |x| x.transpose::<0, 2>(), opts()))?;
        check(gradcheck_vjp(&x, |x| x.transpose::<1, 2>(), opts()))?;
        check(gradcheck_vjp(&x, |x| x.permute::<2, 0, 1>(), opts()))?;
        check(gradcheck_vjp(&x, |x| x.permute::<1, 2, 0>(), opts()))?;
        check(gradcheck_vjp(&y, |y| y.permute::<3, 1, 0, 2>(), opts()))?;
        check(gradcheck_vjp(&d, |d| d.t(), opts()))?;
        check(gradcheck_vjp(&d, |d| d.clone().t().matmul(d), opts()))?;
    }

    #[test]
    fn concat_and_stack(
        a in tensor::<Rank2<2, 3>, f64>(reals()),
        b in tensor::<Rank2<2, 2>, f64>(reals()),
        c in tensor::<Rank2<1, 3>, f64>(reals()),
        e in tensor::<Rank2<2, 3>, f64>(reals()),
        (p, q) in (1usize..=3, 1usize..=3, 1usize..=4).prop_flat_map(|(m, k, n)| {
            (tensor_with_shape((m, n), reals()), tensor_with_shape((k, n), reals()))
        }),
    ) {
        check(gradcheck2_vjp(&a, &b, |a, b| a.concat::<1, _, _>(b), opts()))?;
        check(gradcheck2_vjp(&a, &c, |a, c| a.concat::<0, _, _>(c), opts()))?;
        check(gradcheck2_vjp(&p, &q, |p, q| p.concat::<0, _, _>(q), opts()))?;
        check(gradcheck2_vjp(&p, &q, |p, q| p.t().concat::<1, _, _>(q.t()), opts()))?;
        check(gradcheck2_vjp(&a, &e, |a, e| Tensor::stack::<0, _>([a, e]), opts()))?;
        check(gradcheck2_vjp(&a, &e, |a, e| Tensor::stack::<2, _>([a, e]), opts()))?;
        // One tensor stacked twice receives both slices' gradients.
        check(gradcheck2_vjp(&a, &e, |a, e| Tensor::stack::<1, _>([a.clone(), e, a]), opts()))?;
    }

    #[test]
    fn narrow_slice_and_select(
        x in tensor::<Rank3<2, 5, 3>, f64>(reals()),
        (start, len) in (0usize..5).prop_flat_map(|s| (Just(s), 0..=5 - s)),
        (from, to, step) in (0usize..6, 0usize..7, 1usize..4),
        i in 0usize..5,
        j in 0usize..3,
    ) {
        check(gradcheck_vjp(&x, |x| x.narrow::<1, 1, 3>(), opts()))?;
        check(gradcheck_vjp(&x, |x| x.narrow::<2, 0, 2>(), opts()))?;
        check(gradcheck_vjp(&x, |x| x.try_narrow_dyn::<1>(start, len).unwrap(), opts()))?;
        check(gradcheck_vjp(&x, |x| x.slice_step::<1>(from, to, step), opts()))?;
        check(gradcheck_vjp(&x, |x| x.select::<1>(i), opts()))?;
        check(gradcheck_vjp(&x, |x| x.select::<2>(j), opts()))?;
        check(gradcheck_vjp(&x, |x| x.select::<0>(1), opts()))?;
    }

    #[test]
    fn index_select_and_gather(
        x in tensor::<Rank2<3, 4>, f64>(reals()),
        cols in indices(4, 1..=6),
        rows in indices(3, 1..=5),
        (gr, gc, g) in (1usize..=3, 1usize..=5).prop_flat_map(|(r, c)| {
            (Just(r), Just(c), proptest::collection::vec(0usize..4, r * c))
        }),
        g0 in proptest::collection::vec(0usize..3, 8),
    ) {
        check(gradcheck_vjp(&x, |x| x.index_select::<1, _>(&cols), opts()))?;
        check(gradcheck_vjp(&x, |x| x.index_select::<0, _>(&rows), opts()))?;
        let along1 = Indices::from_vec_with_shape(g, (gr, gc)).unwrap();
        check(gradcheck_vjp(&x, |x| x.gather::<1, _>(&along1), opts()))?;
        let along0 = Indices::<Rank2<2, 4>>::from_vec(g0).unwrap();
        check(gradcheck_vjp(&x, |x| x.gather::<0, _>(&along0), opts()))?;
    }

    #[test]
    fn where_selects_gradients(
        a in tensor::<Rank2<3, 4>, f64>(reals()),
        b in tensor::<Rank1<4>, f64>(reals()),
        mask in tensor::<Rank2<3, 4>, f64>(prop_oneof![Just(0.0), Just(1.0)]),
        rows in tensor::<Rank2<3, 1>, f64>(prop_oneof![Just(0.0), Just(1.0)]),
    ) {
        check(gradcheck2_vjp(&a, &b, |a, b| where_(&mask, a, b), opts()))?;
        check(gradcheck2_vjp(&a, &b, |a, b| where_(&rows, b, a), opts()))?;
        // A full-shape input that already has a gradient (added into) or not (written),
        // and one tensor on both sides.
        check(gradcheck2_vjp(&a, &b, |a, b| where_(&mask, a.clone(), b) * a, opts()))?;
        check(gradcheck_vjp(&a, |a| where_(&mask, a.clone(), a.square()), opts()))?;
        check(gradcheck_vjp(&a, |a| where_(&mask, a.clone(), a), opts()))?;
        // The mask computed from a traced tensor: a relu written with where_.
        check(gradcheck_vjp(&a, |a| where_(&a.gt_scalar(0.0), a.clone(), T64::<Rank0>::zeros()), opts()))?;
    }
}

proptest! {
    /// Convolution and pooling on random values (their fixed-input checks are in
    /// conv_gradcheck.rs); max pooling needs distinct values, like max.
    #[test]
    fn conv_and_pool(
        x in distinct(tensor::<Rank4<1, 2, 5, 4>, f64>(reals()), 1e-4),
        w in tensor::<Rank4<3, 2, 2, 3>, f64>(reals()),
    ) {
        check(gradcheck2_vjp(&x, &w, |x, w| x.conv2d(w, None, ConvArgs::<1, 1, 1>), opts()))?;
        check(gradcheck2_vjp(&x, &w, |x, w| x.conv2d(w, None, ConvArgs::<2, 1, 2>), opts()))?;
        check(gradcheck_vjp(&x, |x| x.max_pool2d::<2, 1, 0>(), opts()))?;
        check(gradcheck_vjp(&x, |x| x.max_pool2d::<3, 2, 1>(), opts()))?;
        check(gradcheck_vjp(&x, |x| x.avg_pool2d::<2, 2, 1>(), opts()))?;
        check(gradcheck_vjp(&x, |x| x.adaptive_avg_pool2d::<2, 3>(), opts()))?;
    }
}
