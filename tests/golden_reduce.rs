//! PyTorch reference values for reductions, softmax and log_softmax (tests/golden/reduce_*):
//! forward values, indices and gradients of `sum(y * gy)`.

mod common;
use common::Golden;
use shaped::prelude::*;

type X = Rank3<3, 4, 5>;
type Traced<S> = Tensor<S, f32, OwnedTape<f32>>;

/// Runs `f` on the stored `x`, checks `y`, backpropagates `sum(y * gy)` and checks grad.x.
fn case<S: ConstShape + shaped::shape::BroadcastShapes<S>>(
    name: &str,
    f: impl Fn(Traced<X>) -> Traced<S>,
) {
    let g = Golden::load(name);
    let x = Tensor::<X>::from_vec(g.f("x")).unwrap();
    let y = f(x.clone().trace());
    g.check_forward("y", y.as_slice());
    let gy = Tensor::<S>::from_vec(g.f("gy")).unwrap();
    let grads = y.mul(gy).sum().backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
}

#[test]
fn reduce_sum_all() {
    case::<Rank0>("reduce_sum_all", |x| x.sum());
}
#[test]
fn reduce_sum_dim() {
    case::<Rank2<3, 5>>("reduce_sum_dim", |x| x.sum_dim::<1>());
}
#[test]
fn reduce_sum_dim_keepdim() {
    case::<Rank3<3, 1, 5>>("reduce_sum_dim_keepdim", |x| x.sum_dim_keepdim::<1>());
}
#[test]
fn reduce_mean_all() {
    case::<Rank0>("reduce_mean_all", |x| x.mean());
}
#[test]
fn reduce_mean_dim() {
    case::<Rank2<3, 5>>("reduce_mean_dim", |x| x.mean_dim::<1>());
}
#[test]
fn reduce_mean_dim_keepdim() {
    case::<Rank3<3, 4, 1>>("reduce_mean_dim_keepdim", |x| x.mean_dim_keepdim::<2>());
}
#[test]
fn reduce_max_all() {
    case::<Rank0>("reduce_max_all", |x| x.max());
}
#[test]
fn reduce_var_all() {
    case::<Rank0>("reduce_var_all", |x| x.var());
}
#[test]
fn reduce_var_dim() {
    case::<Rank2<3, 5>>("reduce_var_dim", |x| x.var_dim::<1>());
}
#[test]
fn reduce_std_dim() {
    case::<Rank2<3, 4>>("reduce_std_dim", |x| x.std_dim::<2>());
}
#[test]
fn reduce_logsumexp() {
    case::<Rank2<3, 4>>("reduce_logsumexp", |x| x.logsumexp_dim::<2>());
}
#[test]
fn reduce_softmax_dim1() {
    case::<X>("reduce_softmax_dim1", |x| x.softmax::<1>());
}
#[test]
fn reduce_softmax_last() {
    case::<X>("reduce_softmax_last", |x| x.softmax::<2>());
}
#[test]
fn reduce_log_softmax_dim1() {
    case::<X>("reduce_log_softmax_dim1", |x| x.log_softmax::<1>());
}
#[test]
fn reduce_log_softmax_last() {
    case::<X>("reduce_log_softmax_last", |x| x.log_softmax::<2>());
}

/// max/min along a dim return values and indices (int64 in PyTorch, exact).
#[test]
fn reduce_max_dim() {
    let g = Golden::load("reduce_max_dim");
    let x = Tensor::<X>::from_vec(g.f("x")).unwrap();
    let (y, idx) = x.clone().trace().max_dim_with_indices::<1>();
    assert_eq!(idx.to_vec(), g.idx("indices"));
    case::<Rank2<3, 5>>("reduce_max_dim", |x| x.max_dim::<1>());
    drop(y);
}
#[test]
fn reduce_max_dim_keepdim() {
    let g = Golden::load("reduce_max_dim_keepdim");
    let x = Tensor::<X>::from_vec(g.f("x")).unwrap();
    // Indices keep the axis too: (3, 4, 1) holds the same values as (3, 4).
    assert_eq!(x.argmax::<2>().to_vec(), g.idx("indices"));
    case::<Rank3<3, 4, 1>>("reduce_max_dim_keepdim", |x| x.max_dim_keepdim::<2>());
}
#[test]
fn reduce_min_dim() {
    let g = Golden::load("reduce_min_dim");
    let x = Tensor::<X>::from_vec(g.f("x")).unwrap();
    let (_, idx) = x.min_dim_with_indices::<0>();
    assert_eq!(idx.to_vec(), g.idx("indices"));
    case::<Rank2<4, 5>>("reduce_min_dim", |x| x.min_dim::<0>());
}
#[test]
fn reduce_min_dim_keepdim() {
    let g = Golden::load("reduce_min_dim_keepdim");
    let x = Tensor::<X>::from_vec(g.f("x")).unwrap();
    assert_eq!(x.argmin::<1>().to_vec(), g.idx("indices"));
    case::<Rank3<3, 1, 5>>("reduce_min_dim_keepdim", |x| x.min_dim_keepdim::<1>());
}
#[test]
fn reduce_argmax() {
    let g = Golden::load("reduce_argmax");
    let x = Tensor::<X>::from_vec(g.f("x")).unwrap();
    let idx: Indices<Rank2<3, 5>> = x.argmax::<1>();
    assert_eq!(idx.to_vec(), g.idx("y"));
}

/// Every reduce_* file in tests/golden has a test above (or, for the second set's cumsum,
/// in golden_ops2.rs).
#[test]
fn every_reduce_case_is_covered() {
    let src = [
        include_str!("golden_reduce.rs"),
        include_str!("golden_ops2.rs"),
    ]
    .concat();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if let Some(case) = name
            .strip_prefix("reduce_")
            .and_then(|n| n.strip_suffix(".safetensors"))
        {
            assert!(
                src.contains(&format!("fn reduce_{case}()")),
                "no test for reduce_{case}"
            );
        }
    }
}
