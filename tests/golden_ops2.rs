//! PyTorch reference values for the second set's ops (tests/golden/, README "Second set"):
//! cumsum, topk, sort, chunk, cat of a list and pad. Every output, index and stored gradient
//! of `L = sum(y * gy)` (summed over every output) is checked.
//!
//! Axes and sizes are type parameters here, so each test first checks that the file's
//! hyperparameters are the ones spelled in its types.

mod common;
use common::Golden;
use shaped::ops::binary::{MulKernel, binary_op};
use shaped::ops::cat::cat_tuple;
use shaped::ops::pad::PadMode;
use shaped::prelude::*;

type Traced<S> = Tensor<S, f32, OwnedTape<f32>>;

/// A stored tensor as a typed tensor, checking that the file agrees with the type.
fn load<S: ConstShape>(g: &Golden, name: &str) -> Tensor<S> {
    let t = Tensor::<S>::from_vec(g.f(name)).unwrap();
    assert_eq!(
        g.shape(name),
        t.dims().as_slice(),
        "{}: shape of {name}",
        g.case
    );
    t
}

fn check_hp(g: &Golden, key: &str, expected: &str) {
    assert_eq!(g.hp_str(key), expected, "{}: hyperparameter {key}", g.case);
}

/// Checks output `name` against the file and returns `sum(y * g{name})`, any shape.
fn projected<S: Shape>(g: &Golden, name: &str, y: Traced<S>) -> Traced<()> {
    assert_eq!(
        g.shape(name),
        y.dims().as_slice(),
        "{}: shape of {name}",
        g.case
    );
    g.check_forward(name, y.as_slice());
    let y = y.into_dyn();
    let shape = *y.shape();
    let gy = Tensor::from_vec_with_shape(g.f(&format!("g{name}")), shape).unwrap();
    binary_op(y, gy, shape, MulKernel).sum()
}

#[test]
fn reduce_cumsum() {
    let g = Golden::load("reduce_cumsum");
    check_hp(&g, "dim", "1");
    let x = load::<Rank2<3, 5>>(&g, "x");
    let grads = projected(&g, "y", x.clone().trace().cumsum::<1>()).backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());

    // On a run-time shape too.
    let xd = x
        .clone()
        .into_dyn()
        .try_realize::<(usize, usize)>()
        .unwrap();
    let grads = projected(&g, "y", xd.clone().trace().cumsum::<1>()).backward();
    g.check_grad("x", grads.get_slice(&xd).unwrap());
}

#[test]
fn shape_topk() {
    let g = Golden::load("shape_topk");
    check_hp(&g, "k", "3");
    check_hp(&g, "dim", "-1");
    check_hp(&g, "largest", "true");
    check_hp(&g, "sorted", "true");
    let x = load::<Rank2<3, 7>>(&g, "x");
    let (y, idx) = x.clone().trace().topk::<1, 3>(true);
    let _: &Indices<Rank2<3, 3>> = &idx;
    assert_eq!(idx.to_vec(), g.idx("indices"), "topk indices");
    let grads = projected(&g, "y", y).backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());

    // k chosen at run time gives the same.
    let (y, idx) = x.clone().trace().topk_n::<1>(3, true);
    assert_eq!(idx.to_vec(), g.idx("indices"), "topk_n indices");
    let grads = projected(&g, "y", y).backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
}

#[test]
fn shape_sort() {
    let g = Golden::load("shape_sort");
    check_hp(&g, "dim", "1");
    check_hp(&g, "descending", "false");
    let x = load::<Rank2<3, 6>>(&g, "x");
    let (y, idx) = x.clone().trace().sort::<1>(false);
    assert_eq!(idx.to_vec(), g.idx("indices"), "sort indices");
    let grads = projected(&g, "y", y).backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
}

#[test]
fn shape_chunk() {
    let g = Golden::load("shape_chunk");
    check_hp(&g, "chunks", "3");
    check_hp(&g, "dim", "1");
    let x = load::<Rank3<2, 9, 3>>(&g, "x");

    // Typed: three pieces of Quot<Const<9>, 3>, which realize as Const<3>.
    let [y0, y1, y2] = x.clone().trace().chunk_static::<1, 3>();
    let y0: Traced<Rank3<2, 3, 3>> = y0.realize();
    let loss = projected(&g, "y0", y0) + projected(&g, "y1", y1) + projected(&g, "y2", y2);
    g.check_grad("x", loss.backward().get_slice(&x).unwrap());

    // Run-time: a Vec of pieces.
    let pieces = x.clone().trace().chunk::<1>(3);
    assert_eq!(pieces.len(), 3);
    let loss = pieces
        .into_iter()
        .enumerate()
        .map(|(k, y)| projected(&g, &format!("y{k}"), y))
        .reduce(|a, b| a + b)
        .unwrap();
    g.check_grad("x", loss.backward().get_slice(&x).unwrap());

    // split by sizes, typed and at run time, cuts the same pieces.
    let (y0, y1, y2) = x
        .clone()
        .trace()
        .split_static::<1, (Const<3>, Const<3>, Const<3>)>();
    let loss = projected(&g, "y0", y0) + projected(&g, "y1", y1) + projected(&g, "y2", y2);
    g.check_grad("x", loss.backward().get_slice(&x).unwrap());
    let pieces = x.clone().trace().split::<1>([3, 3, 3]);
    let loss = pieces
        .into_iter()
        .enumerate()
        .map(|(k, y)| projected(&g, &format!("y{k}"), y))
        .reduce(|a, b| a + b)
        .unwrap();
    g.check_grad("x", loss.backward().get_slice(&x).unwrap());
}

#[test]
fn shape_cat_many() {
    let g = Golden::load("shape_cat_many");
    check_hp(&g, "n", "4");
    check_hp(&g, "dim", "0");
    let names = ["x0", "x1", "x2", "x3"];
    // A list of run-time length: rows known only at run time, columns static.
    let xs: Vec<Tensor<(usize, Const<4>)>> = names
        .iter()
        .map(|n| {
            let rows = g.shape(n)[0];
            Tensor::from_vec_with_shape(g.f(n), (rows, Const)).unwrap()
        })
        .collect();
    let traced: Vec<Traced<(usize, Const<4>)>> = xs.iter().map(|x| x.clone().trace()).collect();
    let y = Tensor::cat::<0, _>(&traced);
    let grads = projected(&g, "y", y).backward();
    for (x, n) in xs.iter().zip(names) {
        g.check_grad(n, grads.get_slice(x).unwrap());
    }

    // The typed tuple of four static shapes.
    let x0 = load::<Rank2<1, 4>>(&g, "x0");
    let x1 = load::<Rank2<3, 4>>(&g, "x1");
    let x2 = load::<Rank2<2, 4>>(&g, "x2");
    let x3 = load::<Rank2<2, 4>>(&g, "x3");
    let y: Traced<Rank2<8, 4>> = cat_tuple::<0, _>((
        x0.clone().trace(),
        x1.clone().trace(),
        x2.clone().trace(),
        x3.clone().trace(),
    ))
    .realize();
    let grads = projected(&g, "y", y).backward();
    g.check_grad("x0", grads.get_slice(&x0).unwrap());
    g.check_grad("x1", grads.get_slice(&x1).unwrap());
    g.check_grad("x2", grads.get_slice(&x2).unwrap());
    g.check_grad("x3", grads.get_slice(&x3).unwrap());
}

#[test]
fn shape_pad_constant() {
    let g = Golden::load("shape_pad_constant");
    check_hp(&g, "pad", "[1, 2, 0, 1]");
    check_hp(&g, "mode", "\"constant\"");
    check_hp(&g, "value", "0.5");
    let x = load::<Rank3<2, 3, 4>>(&g, "x");
    let y: Traced<Rank3<2, 4, 7>> = x
        .clone()
        .trace()
        .pad2::<1, 2, 0, 1>(PadMode::Constant(0.5))
        .realize();
    let grads = projected(&g, "y", y).backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
}

#[test]
fn shape_pad_reflect() {
    let g = Golden::load("shape_pad_reflect");
    check_hp(&g, "pad", "[1, 2, 2, 1]");
    check_hp(&g, "mode", "\"reflect\"");
    let x = load::<Rank4<2, 2, 4, 5>>(&g, "x");
    let y: Traced<Rank4<2, 2, 7, 8>> = x
        .clone()
        .trace()
        .pad2::<1, 2, 2, 1>(PadMode::Reflect)
        .realize();
    let grads = projected(&g, "y", y).backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());

    // A run-time batch stays usize; the padded dims are computed.
    let xd = x
        .clone()
        .try_realize::<(usize, Const<2>, Const<4>, Const<5>)>()
        .unwrap();
    let y = xd.clone().trace().pad2::<1, 2, 2, 1>(PadMode::Reflect);
    let grads = projected(&g, "y", y).backward();
    g.check_grad("x", grads.get_slice(&xd).unwrap());
}

// Distances (tests/golden_extra/dist_*, made by distances.py there): F.normalize,
// F.cosine_similarity and F.pairwise_distance, values and the gradients of `sum(y * gy)` for
// every input, near-zero and zero rows included.

#[test]
fn dist_normalize() {
    use shaped::ops::distance::normalize;
    for (case, p) in [("dist_normalize", 2.0), ("dist_normalize_p1", 1.0)] {
        let g = Golden::load(case);
        assert_eq!(g.hp("p"), p);
        assert_eq!(g.hp("eps"), 1e-12);
        let rows = g.shape("x")[0];
        let d = g.shape("x")[1];
        // Run-time shapes: the two cases differ in size.
        let x = Tensor::from_vec_with_shape(g.f("x"), (rows, d)).unwrap();
        let grads = projected(&g, "y", normalize(x.clone().trace(), p, 1e-12)).backward();
        g.check_grad("x", grads.get_slice(&x).unwrap());
        // The method along axis 1 is the same op.
        let grads = projected(&g, "y", x.clone().trace().normalize::<1>(p, 1e-12)).backward();
        g.check_grad("x", grads.get_slice(&x).unwrap());
    }
    // The zero row of the first case stays 0, with the gradient gy / eps.
    let g = Golden::load("dist_normalize");
    assert!(g.f("y")[24..30].iter().all(|&v| v == 0.0));
}

#[test]
fn dist_cosine_similarity() {
    use shaped::nn::CosineSimilarity;
    use shaped::ops::distance::cosine_similarity;
    let g = Golden::load("dist_cosine_similarity");
    assert_eq!(g.hp("eps"), 1e-8);
    let x1 = load::<Rank2<6, 8>>(&g, "x1");
    let x2 = load::<Rank2<6, 8>>(&g, "x2");
    let y = cosine_similarity(x1.clone().trace(), x2.clone().trace(), 1e-8);
    let grads = projected(&g, "y", y).backward();
    g.check_grad("x1", grads.get_slice(&x1).unwrap());
    g.check_grad("x2", grads.get_slice(&x2).unwrap());
    // The layer (PyTorch's default dim = 1), and x2 untraced: x1's gradient alone.
    let y = CosineSimilarity::new().forward((x1.clone().trace(), x2.clone()));
    let grads = projected(&g, "y", y).backward();
    g.check_grad("x1", grads.get_slice(&x1).unwrap());
    assert!(grads.get(&x2).is_none());
}

#[test]
fn dist_pairwise_distance() {
    use shaped::nn::PairwiseDistance;
    use shaped::ops::distance::{pairwise_distance, pairwise_distance_keepdim};
    for (case, p) in [
        ("dist_pairwise_p2", 2.0),
        ("dist_pairwise_p1", 1.0),
        ("dist_pairwise_p3", 3.0),
    ] {
        let g = Golden::load(case);
        assert_eq!((g.hp("p"), g.hp("eps")), (p, 1e-6));
        check_hp(&g, "keepdim", "false");
        let x1 = load::<Rank2<5, 7>>(&g, "x1");
        let x2 = load::<Rank2<5, 7>>(&g, "x2");
        let y = pairwise_distance(x1.clone().trace(), x2.clone().trace(), p, 1e-6);
        let grads = projected(&g, "y", y).backward();
        g.check_grad("x1", grads.get_slice(&x1).unwrap());
        g.check_grad("x2", grads.get_slice(&x2).unwrap());
        let layer = PairwiseDistance::new().p(p);
        let grads = projected(
            &g,
            "y",
            layer.forward((x1.clone().trace(), x2.clone().trace())),
        )
        .backward();
        g.check_grad("x1", grads.get_slice(&x1).unwrap());
        g.check_grad("x2", grads.get_slice(&x2).unwrap());
    }
    let g = Golden::load("dist_pairwise_keepdim");
    check_hp(&g, "keepdim", "true");
    let x1 = load::<Rank2<5, 7>>(&g, "x1");
    let x2 = load::<Rank2<5, 7>>(&g, "x2");
    let y: Traced<Rank2<5, 1>> =
        pairwise_distance_keepdim(x1.clone().trace(), x2.clone().trace(), 2.0, 1e-6);
    let grads = projected(&g, "y", y).backward();
    g.check_grad("x1", grads.get_slice(&x1).unwrap());
    g.check_grad("x2", grads.get_slice(&x2).unwrap());
    let layer = PairwiseDistance::new().keepdim();
    let y: Traced<Rank2<5, 1>> = layer.forward((x1.clone().trace(), x2.clone().trace()));
    let grads = projected(&g, "y", y).backward();
    g.check_grad("x2", grads.get_slice(&x2).unwrap());
}

/// Run-time sizes that do not broadcast, and norms PyTorch's formulas do not cover: an Err
/// naming the op and the sizes from the `try_` forms and the layers, a panic from the others.
#[test]
fn dist_run_time_errors() {
    use shaped::nn::{CosineSimilarity, PairwiseDistance};
    use shaped::ops::distance::*;
    let a = Tensor::<(usize, usize)>::ones_with_shape((4, 3));
    let b = Tensor::<(usize, usize)>::ones_with_shape((4, 5));
    let err = try_cosine_similarity(a.clone(), b.clone(), 1e-8)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cosine_similarity") && err.contains('3') && err.contains('5'),
        "{err}"
    );
    let err = try_pairwise_distance(a.clone(), b.clone(), 2.0, 1e-6)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("pairwise_distance") && err.contains('3') && err.contains('5'),
        "{err}"
    );
    let err = try_pairwise_distance_keepdim(a.clone(), b.clone(), 2.0, 1e-6).unwrap_err();
    assert!(err.to_string().contains("pairwise_distance"), "{err}");
    let err = CosineSimilarity::new()
        .try_forward((a.clone(), b.clone()))
        .unwrap_err();
    assert!(err.to_string().contains("cosine_similarity"), "{err}");
    let err = PairwiseDistance::new()
        .try_forward((a.clone(), b.clone()))
        .unwrap_err();
    assert!(err.to_string().contains("pairwise_distance"), "{err}");
    for p in [0.0, -2.0, f64::NAN] {
        assert!(try_pairwise_distance(a.clone(), a.clone(), p, 1e-6).is_err());
        assert!(try_normalize(a.clone(), p, 1e-12).is_err());
        assert!(a.clone().try_normalize::<0>(p, 1e-12).is_err());
    }
    // Broadcasting run-time sizes: (4, 3) against (1, 3) is fine.
    let row = Tensor::<(usize, usize)>::ones_with_shape((1, 3));
    assert_eq!(
        try_cosine_similarity(a.clone(), row, 1e-8)
            .unwrap()
            .dims()
            .as_slice(),
        &[4]
    );
    let panicked = std::panic::catch_unwind(|| pairwise_distance(a, b, 2.0, 1e-6)).is_err();
    assert!(panicked);
}

/// The floor under a norm's sum of powers is the element type's smallest normal number: an
/// `f64` vector of norm 1e-20 keeps it (an `f32` floor would give 1.1e-19), and a zero vector
/// still has a finite (zero) gradient.
#[test]
fn dist_tiny_f64_norms_are_exact() {
    use shaped::ops::distance::{normalize, pairwise_distance};
    let a = Tensor::<Rank2<1, 2>, f64>::from_array([[3e-21, 4e-21]]);
    let origin = Tensor::<Rank2<1, 2>, f64>::zeros();
    let d = pairwise_distance(a.clone(), origin.clone(), 2.0, 0.0).to_vec()[0];
    assert!((d - 5e-21).abs() < 1e-35, "{d}");
    let d1 = pairwise_distance(a, origin, 3.0, 0.0).to_vec()[0];
    let want = (27e-63f64 + 64e-63).cbrt();
    assert!((d1 - want).abs() < 1e-12 * want, "{d1} vs {want}");
    let zero = Tensor::<Rank2<1, 2>, f64>::zeros();
    let g = normalize(zero.clone().trace(), 2.0, 1e-12).sum().backward();
    assert!(g.get_slice(&zero).unwrap().iter().all(|v| v.is_finite()));
}
