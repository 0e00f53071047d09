//! PyTorch reference values for shape ops (tests/golden/shape_*): forward values and every
//! stored gradient of `L = sum(y * gy)`.
//!
//! Axes and sizes are type parameters here, so each test also checks that the file's
//! hyperparameters are the ones spelled in its types. Pixel (un)shuffle against PyTorch
//! (tests/golden_extra/layer_pixel_*, made by glu_pixel_shuffle.py there) and by finite
//! differences. Unflatten against PyTorch (tests/golden_extra/layer_unflatten*, made by
//! layers_more.py there), by finite differences, with its run-time errors.

#[macro_use]
mod common;
use common::Golden;
use proptest::prelude::*;
use shaped::gradcheck::{GradcheckOptions, gradcheck_vjp};
use shaped::nn::{
    Conv2d, Flatten, Module, Params, PixelShuffle, PixelUnshuffle, Unflatten, UnflattenDyn,
};
use shaped::prelude::*;
use shaped::shape::BroadcastShapes;
use shaped::strategies::{shape, tensor_with_shape};

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

/// Checks `y` against the file, then backpropagates `sum(y * gy)`.
fn forward_and_backward<S>(g: &Golden, y: Traced<S>) -> Gradients<f32>
where
    S: Shape + BroadcastShapes<S>,
{
    assert_eq!(g.shape("y"), y.dims().as_slice(), "{}: shape of y", g.case);
    g.check_forward("y", y.as_slice());
    let gy = Tensor::from_vec_with_shape(g.f("gy"), *y.shape()).unwrap();
    (y * gy).sum().backward()
}

fn check_hp(g: &Golden, key: &str, expected: &str) {
    assert_eq!(g.hp_str(key), expected, "{}: hyperparameter {key}", g.case);
}

#[test]
fn shape_broadcast_to_sum() {
    let g = Golden::load("shape_broadcast_to_sum");
    check_hp(&g, "shape", "[3, 5]");
    check_hp(&g, "sum_dim", "0");
    let x = load::<Rank2<3, 1>>(&g, "x");
    let y = x
        .clone()
        .trace()
        .broadcast_to::<Rank2<3, 5>>()
        .sum_dim::<0>();
    let grads = forward_and_backward(&g, y);
    g.check_grad("x", grads.get_slice(&x).unwrap());
}

#[test]
fn shape_expand() {
    let g = Golden::load("shape_expand");
    check_hp(&g, "shape", "[2, 3, 4]");
    let x = load::<Rank2<3, 1>>(&g, "x");
    let y = x.clone().trace().broadcast_to::<Rank3<2, 3, 4>>();
    let grads = forward_and_backward(&g, y);
    g.check_grad("x", grads.get_slice(&x).unwrap());

    // The run-time variant agrees.
    let y = x
        .clone()
        .trace()
        .try_broadcast_to_dyn((2usize, 3usize, 4usize))
        .unwrap();
    let grads = forward_and_backward(&g, y);
    g.check_grad("x", grads.get_slice(&x).unwrap());
}

#[test]
fn shape_cat_dim0() {
    let g = Golden::load("shape_cat_dim0");
    check_hp(&g, "dim", "0");
    let x = load::<Rank2<2, 3>>(&g, "x");
    let x2 = load::<Rank2<4, 3>>(&g, "x2");
    let y: Traced<Rank2<6, 3>> = x
        .clone()
        .trace()
        .concat::<0, _, _>(x2.clone().trace())
        .realize();
    let grads = forward_and_backward(&g, y);
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("x2", grads.get_slice(&x2).unwrap());
}

#[test]
fn shape_cat_dim1() {
    let g = Golden::load("shape_cat_dim1");
    check_hp(&g, "dim", "1");
    let x = load::<Rank2<2, 3>>(&g, "x");
    let x2 = load::<Rank2<2, 5>>(&g, "x2");
    let y: Traced<Rank2<2, 8>> = x
        .clone()
        .trace()
        .concat::<1, _, _>(x2.clone().trace())
        .realize();
    let grads = forward_and_backward(&g, y);
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("x2", grads.get_slice(&x2).unwrap());

    // Run-time dimensions on both sides, and only one side traced.
    let xd = Tensor::<(usize, usize)>::from_vec_with_shape(g.f("x"), (2, 3)).unwrap();
    let x2d = Tensor::<(usize, usize)>::from_vec_with_shape(g.f("x2"), (2, 5)).unwrap();
    let y = xd
        .clone()
        .try_concat::<1, _, _>(x2d.clone().trace())
        .unwrap();
    let grads = forward_and_backward(&g, y);
    assert!(grads.get_slice(&xd).is_none());
    g.check_grad("x2", grads.get_slice(&x2d).unwrap());
}

#[test]
fn shape_stack() {
    let g = Golden::load("shape_stack");
    check_hp(&g, "dim", "1");
    let x = load::<Rank2<3, 4>>(&g, "x");
    let x2 = load::<Rank2<3, 4>>(&g, "x2");
    let y: Traced<Rank3<3, 2, 4>> = Tensor::stack::<1, _>([x.clone().trace(), x2.clone().trace()]);
    let grads = forward_and_backward(&g, y);
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("x2", grads.get_slice(&x2).unwrap());
}

#[test]
fn shape_gather() {
    let g = Golden::load("shape_gather");
    check_hp(&g, "dim", "1");
    let x = load::<Rank2<3, 5>>(&g, "x");
    let index = Indices::<Rank2<3, 4>>::from_vec(g.idx("index")).unwrap();
    assert_eq!(g.shape("index"), &[3, 4]);
    let y = x.clone().trace().gather::<1, _>(&index);
    let grads = forward_and_backward(&g, y);
    g.check_grad("x", grads.get_slice(&x).unwrap());
}

#[test]
fn shape_index_select() {
    let g = Golden::load("shape_index_select");
    check_hp(&g, "dim", "1");
    let x = load::<Rank2<4, 5>>(&g, "x");
    let index = Indices::<Rank1<6>>::from_vec(g.idx("index")).unwrap();
    assert_eq!(g.shape("index"), &[6]);
    let y: Traced<Rank2<4, 6>> = x.clone().trace().index_select::<1, _>(&index);
    let grads = forward_and_backward(&g, y);
    g.check_grad("x", grads.get_slice(&x).unwrap());
}

#[test]
fn shape_matmul_2d() {
    let g = Golden::load("shape_matmul_2d");
    let x = load::<Rank2<3, 4>>(&g, "x");
    let x2 = load::<Rank2<4, 5>>(&g, "x2");
    let y = x.clone().trace().matmul(x2.clone().trace());
    let grads = forward_and_backward(&g, y);
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("x2", grads.get_slice(&x2).unwrap());
}

#[test]
fn shape_matmul_batched() {
    let g = Golden::load("shape_matmul_batched");
    let x = load::<Rank3<2, 3, 4>>(&g, "x");
    let x2 = load::<Rank3<2, 4, 5>>(&g, "x2");
    let y = x.clone().trace().matmul(x2.clone().trace());
    let grads = forward_and_backward(&g, y);
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("x2", grads.get_slice(&x2).unwrap());
}

#[test]
fn shape_matmul_broadcast() {
    let g = Golden::load("shape_matmul_broadcast");
    let x = load::<Rank3<2, 3, 4>>(&g, "x");
    let x2 = load::<Rank2<4, 5>>(&g, "x2");
    let y = x.clone().trace().matmul(x2.clone().trace());
    let grads = forward_and_backward(&g, y);
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("x2", grads.get_slice(&x2).unwrap());
}

#[test]
fn shape_narrow() {
    let g = Golden::load("shape_narrow");
    check_hp(&g, "dim", "1");
    check_hp(&g, "start", "1");
    check_hp(&g, "length", "3");
    let x = load::<Rank2<4, 6>>(&g, "x");
    let y: Traced<Rank2<4, 3>> = x.clone().trace().narrow::<1, 1, 3>();
    let grads = forward_and_backward(&g, y);
    g.check_grad("x", grads.get_slice(&x).unwrap());

    let y = x.clone().trace().try_narrow_dyn::<1>(1, 3).unwrap();
    let grads = forward_and_backward(&g, y);
    g.check_grad("x", grads.get_slice(&x).unwrap());
}

#[test]
fn shape_slice_step() {
    let g = Golden::load("shape_slice_step");
    check_hp(&g, "dim", "1");
    check_hp(&g, "start", "1");
    check_hp(&g, "end", "6");
    check_hp(&g, "step", "2");
    let x = load::<Rank2<4, 7>>(&g, "x");
    let y = x.clone().trace().slice_step::<1>(1, 6, 2);
    let grads = forward_and_backward(&g, y);
    g.check_grad("x", grads.get_slice(&x).unwrap());
}

#[test]
fn shape_permute_3d() {
    let g = Golden::load("shape_permute_3d");
    check_hp(&g, "dims", "[2, 0, 1]");
    let x = load::<Rank3<2, 3, 4>>(&g, "x");
    let y: Traced<Rank3<4, 2, 3>> = x.clone().trace().permute::<2, 0, 1>();
    let grads = forward_and_backward(&g, y);
    g.check_grad("x", grads.get_slice(&x).unwrap());
}

#[test]
fn shape_permute_4d() {
    let g = Golden::load("shape_permute_4d");
    check_hp(&g, "dims", "[0, 2, 3, 1]");
    let x = load::<Rank4<2, 3, 4, 5>>(&g, "x");
    let y: Traced<Rank4<2, 4, 5, 3>> = x.clone().trace().permute::<0, 2, 3, 1>();
    let grads = forward_and_backward(&g, y);
    g.check_grad("x", grads.get_slice(&x).unwrap());
}

#[test]
fn shape_reshape() {
    let g = Golden::load("shape_reshape");
    check_hp(&g, "shape", "[6, 4]");
    let x = load::<Rank3<2, 3, 4>>(&g, "x");
    let y = x.clone().trace().reshape::<Rank2<6, 4>>();
    let grads = forward_and_backward(&g, y);
    g.check_grad("x", grads.get_slice(&x).unwrap());

    let y = x
        .clone()
        .trace()
        .try_reshape_dyn((6usize, Const::<4>))
        .unwrap();
    let grads = forward_and_backward(&g, y);
    g.check_grad("x", grads.get_slice(&x).unwrap());
}

#[test]
fn shape_transpose() {
    let g = Golden::load("shape_transpose");
    check_hp(&g, "dim0", "1");
    check_hp(&g, "dim1", "2");
    let x = load::<Rank3<2, 3, 4>>(&g, "x");
    let y: Traced<Rank3<2, 4, 3>> = x.clone().trace().transpose::<1, 2>();
    let grads = forward_and_backward(&g, y);
    g.check_grad("x", grads.get_slice(&x).unwrap());

    // transpose(2, 1) is the same op.
    let y: Traced<Rank3<2, 4, 3>> = x.clone().trace().transpose::<2, 1>();
    let grads = forward_and_backward(&g, y);
    g.check_grad("x", grads.get_slice(&x).unwrap());
}

/// Every `shape_*` file in tests/golden has a test above, or in golden_ops2.rs for the
/// second set's `cat_many`, `chunk`, `pad_*`, `sort` and `topk`.
#[test]
fn every_shape_case_is_covered() {
    let covered = [
        "broadcast_to_sum",
        "cat_dim0",
        "cat_dim1",
        "cat_many",
        "chunk",
        "expand",
        "gather",
        "index_select",
        "matmul_2d",
        "matmul_batched",
        "matmul_broadcast",
        "narrow",
        "pad_constant",
        "pad_reflect",
        "permute_3d",
        "permute_4d",
        "reshape",
        "slice_step",
        "sort",
        "stack",
        "topk",
        "transpose",
    ];
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");
    let mut cases: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter_map(|n| {
            n.strip_prefix("shape_")
                .and_then(|n| n.strip_suffix(".safetensors"))
                .map(String::from)
        })
        .collect();
    cases.sort();
    assert_eq!(cases, covered);
}

#[test]
fn layer_pixel_shuffle() {
    let g = check_pool!("layer_pixel_shuffle", PixelShuffle::<2>, Rank4<2, 8, 3, 4>);
    assert_eq!(g.hp("upscale_factor"), 2.0);
}

#[test]
fn layer_pixel_shuffle_unbatched() {
    let g = check_pool!("layer_pixel_shuffle_unbatched", PixelShuffle::<3>, Rank3<9, 2, 3>);
    assert_eq!(g.hp("upscale_factor"), 3.0);
}

#[test]
fn layer_pixel_unshuffle() {
    let g = check_pool!("layer_pixel_unshuffle", PixelUnshuffle::<2>, Rank4<2, 3, 4, 6>);
    assert_eq!(g.hp("downscale_factor"), 2.0);
}

/// Static output dims, run-time sizes with their errors, the round trip, and the layers in
/// a model with PyTorch's `print(model)` lines. (Static sizes that do not divide fail the
/// build: tests/compile_fail/pixel_shuffle_channels.rs.)
#[test]
fn pixel_shuffle_shapes_errors_and_print() {
    use shaped::rand::SeedableRng;
    let mut rng = shaped::rand::rngs::StdRng::seed_from_u64(0);
    let model = (
        Conv2d::<3, 12, 3, 1, 1>::new(&mut rng),
        PixelShuffle::<2>,
        PixelUnshuffle::<2>,
    );
    let y = model.forward(Tensor::<Rank4<1, 3, 5, 7>>::ones());
    let y: Tensor<Rank4<1, 12, 5, 7>> = y.realize();
    assert!(y.as_slice().iter().all(|v| v.is_finite()));
    let printed = model.summary().to_string();
    for line in [
        "(1): PixelShuffle(upscale_factor=2)",
        "(2): PixelUnshuffle(downscale_factor=2)",
    ] {
        assert!(printed.contains(line), "{line} missing from\n{printed}");
    }
    let x = Tensor::<(usize, usize, usize, usize)>::zeros_with_shape((2, 6, 3, 3));
    let err = x.clone().try_pixel_shuffle::<2>().unwrap_err().to_string();
    assert!(
        err.contains("6 channels") && err.contains("2^2 = 4"),
        "{err}"
    );
    assert!(x.try_pixel_unshuffle::<2>().is_err());
    let x = Tensor::<(usize, usize, usize)>::from_vec_with_shape(
        (0..36).map(|v| v as f32).collect(),
        (4, 3, 3),
    )
    .unwrap();
    let up = x.clone().pixel_shuffle::<2>();
    assert_eq!(up.dims().as_slice(), &[1, 6, 6]);
    // Output (0, 1, 2): row 1 = 0 * 2 + 1, column 2 = 1 * 2 + 0, so input channel 1 * 2 + 0
    // at (0, 1).
    assert_eq!(up.as_slice()[6 + 2], x.as_slice()[2 * 9 + 1]);
    assert_eq!(up.pixel_unshuffle::<2>().to_vec(), x.to_vec());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]
    /// Both shuffles by finite differences (f64) over random run-time shapes.
    #[test]
    fn pixel_shuffle_gradients(
        x in shape::<(usize, usize, usize, usize)>(1..=3).prop_flat_map(|(b, c, h, w)| {
            tensor_with_shape((b, 4 * c, h, 2 * w), -3.0f64..3.0)
        })
    ) {
        let opts = GradcheckOptions::default();
        let fail = |e: shaped::gradcheck::GradcheckError| TestCaseError::fail(e.to_string());
        gradcheck_vjp(&x, |x| x.pixel_shuffle::<2>(), opts).map_err(fail)?;
        let (b, c, h, w) = *x.shape();
        let even = x.reshape_dyn((b, c / 2, 2 * h, w));
        gradcheck_vjp(&even, |x| x.pixel_unshuffle::<2>(), opts).map_err(fail)?;
    }
}

#[test]
fn layer_unflatten() {
    let g = check_pool!("layer_unflatten", Unflatten::<1, 2, 5>, Rank3<3, 10, 4>);
    assert_eq!(g.hp("dim"), 1.0);
    assert_eq!(g.hp_str("unflattened_size"), "[2, 5]");
    // The run-time layer gives the same values.
    let x = Tensor::<(usize, usize, usize)>::from_vec_with_shape(g.f("x"), (3, 10, 4)).unwrap();
    let y = UnflattenDyn::<1>::new(2, 5).forward(x);
    assert_eq!(y.dims().as_slice(), &[3, 2, 5, 4]);
    g.check_forward("y", y.as_slice());
}

#[test]
fn layer_unflatten_last() {
    // PyTorch's dim=-1 is the last axis, here axis 1.
    let g = check_pool!("layer_unflatten_last", Unflatten::<1, 3, 4>, Rank2<2, 12>);
    assert_eq!(g.hp("dim"), -1.0);
}

/// Static and run-time forms, the free view, run-time errors naming the sizes, empty axes,
/// and the layers' `print(model)` lines. (A static axis of the wrong size fails the build:
/// tests/compile_fail/unflatten_wrong_product.rs.)
#[test]
fn unflatten_shapes_errors_and_print() {
    let x = Tensor::<Rank4<2, 3, 4, 5>>::zeros();
    let flat = Flatten.forward(x);
    let back: Tensor<Rank3<2, 12, 5>> = Unflatten::<1, 12, 5>.forward(flat.clone());
    let again: Tensor<Rank4<2, 3, 4, 5>> = back.unflatten::<1, 3, 4>();
    assert_eq!(again.dims().as_slice(), &[2, 3, 4, 5]);
    // A view: the buffer is shared.
    let y = flat.clone().unflatten::<1, 6, 10>();
    assert!(std::ptr::eq(
        y.as_slice().as_ptr(),
        flat.as_slice().as_ptr()
    ));
    // Axis 0 and the last axis.
    let v = Tensor::<Rank1<6>>::from_array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let m: Tensor<Rank2<2, 3>> = v.unflatten::<0, 2, 3>();
    assert_eq!(m.to_vec(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    // Run-time axes.
    let d = Tensor::<(usize, usize)>::zeros_with_shape((3, 12));
    let err = d
        .clone()
        .try_unflatten::<1, 5, 2>()
        .unwrap_err()
        .to_string();
    assert!(err.contains("size 12") && err.contains("(5, 2)"), "{err}");
    let err = d
        .clone()
        .try_unflatten_dyn::<1, _, _>(7usize, 2usize)
        .unwrap_err()
        .to_string();
    assert!(err.contains("[3, 12]") && err.contains("(7, 2)"), "{err}");
    assert!(
        d.clone()
            .try_unflatten_dyn::<1, _, _>(usize::MAX, 2usize)
            .is_err()
    );
    assert!(UnflattenDyn::<1>::new(5, 5).try_forward(d.clone()).is_err());
    let mixed = d.unflatten_dyn::<1, _, _>(Const::<4>, 3usize);
    assert_eq!(mixed.dims().as_slice(), &[3, 4, 3]);
    // Empty axes split into a zero-sized axis, or fail cleanly.
    let e = Tensor::<(usize, usize)>::zeros_with_shape((2, 0));
    assert_eq!(
        e.clone()
            .try_unflatten_dyn::<1, _, _>(0usize, 7usize)
            .unwrap()
            .dims()
            .as_slice(),
        &[2, 0, 7]
    );
    assert!(e.clone().try_unflatten::<1, 1, 1>().is_err());
    let e0 = Tensor::<(usize, usize)>::zeros_with_shape((0, 6));
    assert_eq!(e0.unflatten::<1, 2, 3>().dims().as_slice(), &[0, 2, 3]);
    // Printed as PyTorch prints them.
    let model = (Flatten, Unflatten::<1, 2, 5>, UnflattenDyn::<2>::new(1, 5));
    let printed = Params::<f32>::summary(&model).to_string();
    for line in [
        "(1): Unflatten(dim=1, unflattened_size=(2, 5))",
        "(2): Unflatten(dim=2, unflattened_size=(1, 5))",
    ] {
        assert!(printed.contains(line), "{line} missing from\n{printed}");
    }
    let y = model.forward(Tensor::<(usize, Const<10>)>::zeros_with_shape((3, Const)));
    assert_eq!(y.dims().as_slice(), &[3, 2, 1, 5]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]
    /// Unflatten by finite differences (f64) over random run-time shapes.
    #[test]
    fn unflatten_gradients(
        x in shape::<(usize, usize, usize)>(1..=3).prop_flat_map(|(b, c, w)| {
            tensor_with_shape((b, 3 * c, w), -3.0f64..3.0)
        })
    ) {
        let opts = GradcheckOptions::default();
        let fail = |e: shaped::gradcheck::GradcheckError| TestCaseError::fail(e.to_string());
        let c = x.shape().1 / 3;
        gradcheck_vjp(&x, |x| x.unflatten_dyn::<1, _, _>(3usize, c), opts).map_err(fail)?;
        gradcheck_vjp(&x, |x| x.unflatten_dyn::<1, _, _>(c, Const::<3>) * 2.0, opts).map_err(fail)?;
    }
}
