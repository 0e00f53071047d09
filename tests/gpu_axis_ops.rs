//! The GPU's per-axis ops (softmax, sum/mean/max/min along an axis, argmax/argmin) and shape
//! ops (reshape, transpose, permute, t, concat): against the CPU on the same data, forward
//! and backward, and the PyTorch golden cases they cover, with the CPU tests' files and
//! tolerances.
#![cfg(feature = "wgpu")]

mod common;
mod gpu_support;

use common::Golden;
use gpu_support::{FWD, GRAD, close, down, gpu, randn};
use shaped::gpu::prelude::*;
use shaped::prelude::*;

/// `f(x)` on both devices, then the gradient of `sum(f(x) * r)` for a fixed random `r`.
macro_rules! vs_cpu {
    ($name:ident, $X:ty, $Y:ty, |$x:ident| $body:expr) => {
        #[test]
        fn $name() {
            let Some(g) = gpu() else { return };
            let x = randn::<$X>(11);
            let r = randn::<$Y>(12);
            let cy: Tensor<$Y, f32, OwnedTape<f32>> = {
                let $x = x.clone().trace();
                $body
            };
            let gx = x.to_device(&g).unwrap();
            let gy: GpuTensor<$Y, OwnedTape<f32>> = {
                let $x = gx.clone().trace();
                $body
            };
            close("forward", &down(&gy), cy.as_slice(), FWD);
            let cg = (cy * r.clone()).sum().backward();
            let gg = (gy * r.to_device(&g).unwrap()).sum().backward();
            close(
                "grad",
                &down(&gg.get_gpu(&gx).unwrap()),
                cg.get_slice(&x).unwrap(),
                GRAD,
            );
        }
    };
}

vs_cpu!(softmax_axis0, Rank3<6, 7, 5>, Rank3<6, 7, 5>, |x| x.softmax::<0>());
vs_cpu!(softmax_axis1, Rank3<6, 7, 5>, Rank3<6, 7, 5>, |x| x.softmax::<1>());
vs_cpu!(softmax_last, Rank3<6, 7, 5>, Rank3<6, 7, 5>, |x| x.softmax::<2>());
vs_cpu!(softmax_long_rows, Rank2<3, 600>, Rank2<3, 600>, |x| (x * 20.0).softmax::<1>());
vs_cpu!(sum_dim0, Rank3<6, 7, 5>, Rank2<7, 5>, |x| x.sum_dim::<0>());
vs_cpu!(sum_dim_keepdim1, Rank3<6, 7, 5>, Rank3<6, 1, 5>, |x| x.sum_dim_keepdim::<1>());
vs_cpu!(sum_dim_long, Rank2<3, 700>, Rank1<3>, |x| x.sum_dim::<1>());
vs_cpu!(mean_dim2, Rank3<6, 7, 5>, Rank2<6, 7>, |x| x.mean_dim::<2>());
vs_cpu!(mean_dim_keepdim0, Rank3<6, 7, 5>, Rank3<1, 7, 5>, |x| x.mean_dim_keepdim::<0>());
vs_cpu!(max_dim1, Rank3<6, 7, 5>, Rank2<6, 5>, |x| x.max_dim::<1>());
vs_cpu!(max_dim_keepdim2, Rank3<6, 7, 5>, Rank3<6, 7, 1>, |x| x.max_dim_keepdim::<2>());
vs_cpu!(min_dim0, Rank3<6, 7, 5>, Rank2<7, 5>, |x| x.min_dim::<0>());
vs_cpu!(min_dim_keepdim1, Rank3<6, 7, 5>, Rank3<6, 1, 5>, |x| x.min_dim_keepdim::<1>());
vs_cpu!(reshape_static, Rank3<6, 7, 5>, Rank2<14, 15>, |x| x.reshape::<Rank2<14, 15>>() * 2.0);
vs_cpu!(transpose_0_2, Rank3<6, 7, 5>, Rank3<5, 7, 6>, |x| x.transpose::<0, 2>());
vs_cpu!(permute_3d, Rank3<6, 7, 5>, Rank3<5, 6, 7>, |x| x.permute::<2, 0, 1>());
vs_cpu!(permute_4d, Rank4<2, 3, 4, 5>, Rank4<2, 4, 5, 3>, |x| x.permute::<0, 2, 3, 1>());
vs_cpu!(matrix_t, Rank2<9, 4>, Rank2<4, 9>, |x| x.t());
vs_cpu!(flatten_unsqueeze_squeeze, Rank3<6, 7, 5>, Rank2<6, 35>, |x| {
    x.unsqueeze::<1>()
        .squeeze::<1>()
        .flatten()
        .reshape_dyn(<Rank2<6, 35>>::default())
});
vs_cpu!(flatten_all, Rank3<2, 3, 4>, Rank1<24>, |x| {
    (x.flatten_all() * 3.0).reshape_dyn(<Rank1<24>>::default())
});

#[test]
fn max_dim_ties_and_nan_follow_the_cpu() {
    // Ties go to the first maximum (and its gradient); a NaN wins its row.
    let Some(g) = gpu() else { return };
    let v = vec![
        1.0,
        3.0,
        3.0,
        -1.0, // tie: index 1
        f32::NAN,
        2.0,
        5.0,
        0.0, // NaN first
        0.5,
        f32::NAN,
        9.0,
        f32::NAN, // first NaN at 1
    ];
    let x = Tensor::<Rank2<3, 4>>::from_vec(v).unwrap();
    let gx = x.to_device(&g).unwrap();
    assert_eq!(gx.argmax::<1>().to_vec(), x.argmax::<1>().to_vec());
    assert_eq!(gx.argmin::<1>().to_vec(), x.argmin::<1>().to_vec());
    assert_eq!(gx.argmax::<0>().to_vec(), x.argmax::<0>().to_vec());
    let cy = x.clone().trace().max_dim::<1>();
    let gy = gx.clone().trace().max_dim::<1>();
    let (cv, gv) = (cy.as_slice().to_vec(), down(&gy));
    assert_eq!(cv[0], gv[0]);
    assert!(cv[1].is_nan() && gv[1].is_nan() && cv[2].is_nan() && gv[2].is_nan());
    let cg = cy.sum().backward();
    let gg = gy.sum().backward();
    assert_eq!(
        down(&gg.get_gpu(&gx).unwrap()),
        cg.get_slice(&x).unwrap().to_vec()
    );
}

#[test]
fn argmax_matches_cpu_on_random_data() {
    let Some(g) = gpu() else { return };
    let x = randn::<Rank3<6, 7, 5>>(13);
    let gx = x.to_device(&g).unwrap();
    assert_eq!(gx.argmax::<0>().to_vec(), x.argmax::<0>().to_vec());
    assert_eq!(gx.argmax::<1>().to_vec(), x.argmax::<1>().to_vec());
    assert_eq!(gx.argmin::<2>().to_vec(), x.argmin::<2>().to_vec());
}

#[test]
fn concat_both_axes_and_one_side_traced() {
    let Some(g) = gpu() else { return };
    let a = randn::<Rank3<2, 3, 4>>(14);
    let b = randn::<Rank3<2, 5, 4>>(15);
    let r = randn::<Rank3<2, 8, 4>>(16);
    let cy: Tensor<Rank3<2, 8, 4>, f32, OwnedTape<f32>> = a
        .clone()
        .trace()
        .concat::<1, _, _>(b.clone().trace())
        .realize();
    let (ga, gb) = (a.to_device(&g).unwrap(), b.to_device(&g).unwrap());
    let gy = ga.clone().trace().concat::<1, _, _>(gb.clone().trace());
    close("forward", &down(&gy), cy.as_slice(), FWD);
    let cg = (cy * r.clone()).sum().backward();
    let gy = gy.reshape_dyn((2usize, 8usize, 4usize));
    let rg = r
        .to_device(&g)
        .unwrap()
        .reshape_dyn((2usize, 8usize, 4usize));
    let gg = (gy * rg).sum().backward();
    close(
        "grad a",
        &down(&gg.get_gpu(&ga).unwrap()),
        cg.get_slice(&a).unwrap(),
        GRAD,
    );
    close(
        "grad b",
        &down(&gg.get_gpu(&gb).unwrap()),
        cg.get_slice(&b).unwrap(),
        GRAD,
    );

    // Last axis, run-time sizes, only the right side traced.
    let c = randn::<Rank2<3, 2>>(17);
    let d = randn::<Rank2<3, 6>>(18);
    let cd = c.clone().try_realize::<(usize, usize)>().unwrap();
    let dd = d.clone().try_realize::<(usize, usize)>().unwrap();
    let cy = cd
        .clone()
        .try_concat::<1, _, _>(dd.clone().trace())
        .unwrap();
    let gcd = cd.to_device(&g).unwrap();
    let gdd = dd.to_device(&g).unwrap();
    let gy = gcd
        .clone()
        .try_concat::<1, _, _>(gdd.clone().trace())
        .unwrap();
    close("forward", &down(&gy), cy.as_slice(), FWD);
    let gg = gy.sum().backward();
    assert!(gg.get_gpu(&gcd).is_none());
    assert_eq!(down(&gg.get_gpu(&gdd).unwrap()), vec![1.0; 18]);
    // Sizes off the axis that differ are an error naming both shapes.
    let e = Tensor::<(usize, usize)>::zeros_with_shape((4, 1))
        .to_device(&g)
        .unwrap();
    let err = gcd.try_concat::<1, _, _>(e).unwrap_err().to_string();
    assert!(err.contains("[3, 2]") && err.contains("[4, 1]"), "{err}");
}

#[test]
fn reshape_dyn_checks_the_element_count() {
    let Some(g) = gpu() else { return };
    let x = randn::<Rank2<4, 6>>(19).to_device(&g).unwrap();
    let y = x.clone().try_reshape_dyn((3usize, Const::<8>)).unwrap();
    assert_eq!(down(&y), down(&x));
    let err = x.try_reshape_dyn((5usize,)).unwrap_err().to_string();
    assert!(
        err.contains("24 elements") && err.contains("5 elements"),
        "{err}"
    );
}

type X = Rank3<3, 4, 5>;

/// The stored `x` through `f` on the GPU; `y` and the gradient of `sum(y * gy)`.
fn golden_case<S: ConstShape + shaped::shape::BroadcastShapes<S, Output = S>>(
    name: &str,
    f: impl Fn(GpuTensor<X, OwnedTape<f32>>) -> GpuTensor<S, OwnedTape<f32>>,
) {
    let Some(dev) = gpu() else { return };
    let g = Golden::load(name);
    let x = Tensor::<X>::from_vec(g.f("x"))
        .unwrap()
        .to_device(&dev)
        .unwrap();
    let y = f(x.clone().trace());
    g.check_forward("y", &down(&y));
    let gy = Tensor::<S>::from_vec(g.f("gy"))
        .unwrap()
        .to_device(&dev)
        .unwrap();
    let grads = (y * gy).sum().backward();
    g.check_grad("x", &down(&grads.get_gpu(&x).unwrap()));
}

#[test]
fn reduce_softmax_dim1() {
    golden_case::<X>("reduce_softmax_dim1", |x| x.softmax::<1>());
}
#[test]
fn reduce_softmax_last() {
    golden_case::<X>("reduce_softmax_last", |x| x.softmax::<2>());
}
#[test]
fn reduce_sum_dim() {
    golden_case::<Rank2<3, 5>>("reduce_sum_dim", |x| x.sum_dim::<1>());
}
#[test]
fn reduce_sum_dim_keepdim() {
    golden_case::<Rank3<3, 1, 5>>("reduce_sum_dim_keepdim", |x| x.sum_dim_keepdim::<1>());
}
#[test]
fn reduce_mean_dim() {
    golden_case::<Rank2<3, 5>>("reduce_mean_dim", |x| x.mean_dim::<1>());
}
#[test]
fn reduce_mean_dim_keepdim() {
    golden_case::<Rank3<3, 4, 1>>("reduce_mean_dim_keepdim", |x| x.mean_dim_keepdim::<2>());
}
#[test]
fn reduce_max_dim() {
    golden_case::<Rank2<3, 5>>("reduce_max_dim", |x| x.max_dim::<1>());
}
#[test]
fn reduce_max_dim_keepdim() {
    golden_case::<Rank3<3, 4, 1>>("reduce_max_dim_keepdim", |x| x.max_dim_keepdim::<2>());
    let Some(dev) = gpu() else { return };
    let g = Golden::load("reduce_max_dim_keepdim");
    let x = Tensor::<X>::from_vec(g.f("x"))
        .unwrap()
        .to_device(&dev)
        .unwrap();
    assert_eq!(x.argmax::<2>().to_vec(), g.idx("indices"));
}
#[test]
fn reduce_min_dim() {
    golden_case::<Rank2<4, 5>>("reduce_min_dim", |x| x.min_dim::<0>());
}
#[test]
fn reduce_min_dim_keepdim() {
    golden_case::<Rank3<3, 1, 5>>("reduce_min_dim_keepdim", |x| x.min_dim_keepdim::<1>());
    let Some(dev) = gpu() else { return };
    let g = Golden::load("reduce_min_dim_keepdim");
    let x = Tensor::<X>::from_vec(g.f("x"))
        .unwrap()
        .to_device(&dev)
        .unwrap();
    assert_eq!(x.argmin::<1>().to_vec(), g.idx("indices"));
}
#[test]
fn reduce_argmax() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("reduce_argmax");
    let x = Tensor::<X>::from_vec(g.f("x"))
        .unwrap()
        .to_device(&dev)
        .unwrap();
    let idx: Indices<Rank2<3, 5>> = x.argmax::<1>();
    assert_eq!(idx.to_vec(), g.idx("y"));
}

/// A shape golden case: `x` (and `x2`) of the file through `f`, `y` and every gradient.
fn shape_case<SX: ConstShape, SY: ConstShape + shaped::shape::BroadcastShapes<SY, Output = SY>>(
    name: &str,
    f: impl Fn(GpuTensor<SX, OwnedTape<f32>>) -> GpuTensor<SY, OwnedTape<f32>>,
) {
    let Some(dev) = gpu() else { return };
    let g = Golden::load(name);
    let x = Tensor::<SX>::from_vec(g.f("x"))
        .unwrap()
        .to_device(&dev)
        .unwrap();
    let y = f(x.clone().trace());
    g.check_forward("y", &down(&y));
    let gy = Tensor::<SY>::from_vec(g.f("gy"))
        .unwrap()
        .to_device(&dev)
        .unwrap();
    let grads = (y * gy).sum().backward();
    g.check_grad("x", &down(&grads.get_gpu(&x).unwrap()));
}

#[test]
fn shape_permute_3d() {
    shape_case::<Rank3<2, 3, 4>, Rank3<4, 2, 3>>("shape_permute_3d", |x| x.permute::<2, 0, 1>());
}
#[test]
fn shape_permute_4d() {
    shape_case::<Rank4<2, 3, 4, 5>, Rank4<2, 4, 5, 3>>("shape_permute_4d", |x| {
        x.permute::<0, 2, 3, 1>()
    });
}
#[test]
fn shape_reshape() {
    shape_case::<Rank3<2, 3, 4>, Rank2<6, 4>>("shape_reshape", |x| x.reshape());
}
#[test]
fn shape_transpose() {
    shape_case::<Rank3<2, 3, 4>, Rank3<2, 4, 3>>("shape_transpose", |x| x.transpose::<1, 2>());
    shape_case::<Rank3<2, 3, 4>, Rank3<2, 4, 3>>("shape_transpose", |x| x.transpose::<2, 1>());
}

fn cat_case<SA, SB, SY, const I: usize>(name: &str)
where
    SA: ConstShape + shaped::shape::ConcatShape<SB, I>,
    SB: ConstShape,
    SY: ConstShape + shaped::shape::BroadcastShapes<SY, Output = SY>,
{
    let Some(dev) = gpu() else { return };
    let g = Golden::load(name);
    let a = Tensor::<SA>::from_vec(g.f("x"))
        .unwrap()
        .to_device(&dev)
        .unwrap();
    let b = Tensor::<SB>::from_vec(g.f("x2"))
        .unwrap()
        .to_device(&dev)
        .unwrap();
    let y = a.clone().trace().concat::<I, _, _>(b.clone().trace());
    g.check_forward("y", &down(&y));
    let gy = Tensor::<SY>::from_vec(g.f("gy"))
        .unwrap()
        .to_device(&dev)
        .unwrap();
    let y: GpuTensor<SY, OwnedTape<f32>> = y.reshape_dyn(SY::default());
    let grads = (y * gy).sum().backward();
    g.check_grad("x", &down(&grads.get_gpu(&a).unwrap()));
    g.check_grad("x2", &down(&grads.get_gpu(&b).unwrap()));
}

#[test]
fn shape_cat_dim0() {
    cat_case::<Rank2<2, 3>, Rank2<4, 3>, Rank2<6, 3>, 0>("shape_cat_dim0");
}
#[test]
fn shape_cat_dim1() {
    cat_case::<Rank2<2, 3>, Rank2<2, 5>, Rank2<2, 8>, 1>("shape_cat_dim1");
}
