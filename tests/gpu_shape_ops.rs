//! The picking, padding, joining, splitting and resampling shape ops on the GPU (`narrow`,
//! `slice_step`, `select`, `index_select`, `gather`, `broadcast_to`, `pad`, `gpu::cat`,
//! `gpu::stack`, `split`, `chunk`, `interpolate`, `Upsample`): the PyTorch golden cases the
//! CPU tests use (same files and tolerances), and the CPU on other shapes, values and
//! gradients.
#![cfg(feature = "wgpu")]

mod common;
mod gpu_support;

use common::Golden;
use gpu_support::{FWD, GRAD, close, down, gpu, randn, up};
use shaped::autograd::Gradients;
use shaped::gpu::prelude::*;
use shaped::ops::pad::PadMode;
use shaped::prelude::*;
use shaped::rand::{SeedableRng, rngs::StdRng};

fn grad<S: Shape, T>(gg: &Gradients<f32>, t: &GpuTensor<S, T>) -> Vec<f32> {
    down(&gg.get_gpu(t).expect("a GPU gradient"))
}

/// A traced GPU shape op and the CPU's on the same data: values, then the input's gradient
/// of `sum(y * r)`.
macro_rules! shape_op_vs_cpu {
    ($dev:expr, $x:expr, $seed:expr, |$v:ident| $op:expr) => {{
        let x = $x;
        let cy = {
            let $v = x.clone().trace();
            $op
        };
        let gx = up($dev, &x);
        let gy = {
            let $v = gx.clone().trace();
            $op
        };
        assert_eq!(gy.to_cpu().unwrap().dims(), cy.dims());
        close("y", &down(&gy), cy.as_slice(), FWD);
        let r: Tensor<_> = Tensor::from_vec_with_shape(
            randn::<Rank1<512>>($seed).as_slice()[..cy.numel()].to_vec(),
            *cy.shape(),
        )
        .unwrap();
        let cg = (cy * r.clone()).sum().backward();
        let gg = (gy * up($dev, &r)).sum().backward();
        close("x", &grad(&gg, &gx), cg.get_slice(&x).unwrap(), GRAD);
    }};
}

#[test]
fn picking_ops_match_cpu() {
    let Some(dev) = gpu() else { return };
    let dev = &dev;
    shape_op_vs_cpu!(dev, randn::<Rank3<2, 5, 3>>(1), 2, |x| x
        .narrow::<1, 1, 3>());
    shape_op_vs_cpu!(dev, randn::<Rank3<2, 5, 3>>(1), 3, |x| x
        .narrow_dyn::<2>(1, 2));
    shape_op_vs_cpu!(dev, randn::<Rank2<7, 3>>(4), 5, |x| x
        .slice_step::<0>(1, 9, 2));
    shape_op_vs_cpu!(dev, randn::<Rank3<2, 4, 3>>(6), 7, |x| x.select::<1>(3));
    shape_op_vs_cpu!(dev, randn::<Rank3<2, 4, 3>>(6), 8, |x| x.select::<0>(0));
    let idx = Indices::<Rank1<5>>::from_array([2, 0, 2, 3, 2]);
    shape_op_vs_cpu!(dev, randn::<Rank3<2, 4, 3>>(9), 10, |x| x
        .index_select::<1, _>(&idx));
    let idx = Indices::<(usize,)>::from_vec_with_shape(vec![1, 1, 0], (3,)).unwrap();
    shape_op_vs_cpu!(dev, randn::<Rank2<2, 3>>(11), 12, |x| x
        .index_select::<0, _>(&idx));
    let idx =
        Indices::<Rank3<2, 2, 3>>::from_vec(vec![0, 3, 3, 1, 1, 1, 2, 0, 3, 3, 3, 0]).unwrap();
    shape_op_vs_cpu!(dev, randn::<Rank3<2, 4, 3>>(13), 14, |x| x
        .gather::<1, _>(&idx));
    let idx = Indices::<Rank2<1, 2>>::from_array2([[2, 2]]);
    shape_op_vs_cpu!(dev, randn::<Rank2<2, 3>>(15), 16, |x| x
        .gather::<1, _>(&idx));
    shape_op_vs_cpu!(dev, randn::<Rank2<3, 1>>(17), 18, |x| x
        .broadcast_to::<Rank3<2, 3, 4>>());
    shape_op_vs_cpu!(dev, randn::<Rank2<3, 1>>(17), 19, |x| x
        .broadcast_to_dyn((2usize, Const::<3>, 2usize)));
}

#[test]
fn pad_matches_cpu() {
    let Some(dev) = gpu() else { return };
    let dev = &dev;
    for mode in [PadMode::Constant(0.5), PadMode::Reflect, PadMode::Replicate] {
        shape_op_vs_cpu!(dev, randn::<Rank2<2, 4>>(20), 21, |x| x.pad::<2, 3>(mode));
        shape_op_vs_cpu!(dev, randn::<Rank3<2, 3, 4>>(22), 23, |x| x
            .pad2::<1, 2, 2, 1>(mode));
        shape_op_vs_cpu!(dev, randn::<Rank4<1, 3, 4, 3>>(24), 25, |x| x
            .pad3::<1, 0, 2, 1, 1, 2>(mode));
    }
}

#[test]
fn cat_and_stack_of_lists_match_cpu() {
    let Some(dev) = gpu() else { return };
    let mut rng = StdRng::seed_from_u64(30);
    let parts: Vec<Tensor<(Const<2>, usize, Const<3>)>> = [1, 3, 2]
        .iter()
        .map(|&n| Tensor::randn_with_shape((Const, n, Const), &mut rng))
        .collect();
    let ctraced: Vec<_> = parts.iter().map(|p| p.clone().trace()).collect();
    let gparts: Vec<_> = parts.iter().map(|p| up(&dev, p)).collect();
    let gtraced: Vec<_> = gparts.iter().map(|p| p.clone().trace()).collect();
    let cy = Tensor::cat::<1, _>(&ctraced);
    let gy = shaped::gpu::cat::<1, _>(&gtraced);
    close("cat", &down(&gy), cy.as_slice(), FWD);
    let r = Tensor::<(Const<2>, usize, Const<3>)>::randn_with_shape((Const, 6, Const), &mut rng);
    let cg = (cy * r.clone()).sum().backward();
    let gg = (gy * up(&dev, &r)).sum().backward();
    for (k, (c, g)) in parts.iter().zip(&gparts).enumerate() {
        close(
            &format!("cat part {k}"),
            &grad(&gg, g),
            cg.get_slice(c).unwrap(),
            GRAD,
        );
    }
    let e = shaped::gpu::try_cat::<0, _>(&gparts).unwrap_err();
    assert!(e.to_string().contains("tensor 1"), "{e}");

    let a = randn::<Rank2<2, 3>>(31);
    let b = randn::<Rank2<2, 3>>(32);
    let (ga, gb) = (up(&dev, &a), up(&dev, &b));
    for axis in 0..3 {
        let (cy, gy) = match axis {
            0 => (
                Tensor::stack::<0, _>([a.clone().trace(), b.clone().trace()])
                    .reshape_dyn((12usize,)),
                shaped::gpu::stack::<0, _>([ga.clone().trace(), gb.clone().trace()])
                    .reshape_dyn((12usize,)),
            ),
            1 => (
                Tensor::stack::<1, _>(vec![a.clone().trace(), b.clone().trace()])
                    .reshape_dyn((12usize,)),
                shaped::gpu::stack::<1, _>(vec![ga.clone().trace(), gb.clone().trace()])
                    .reshape_dyn((12usize,)),
            ),
            _ => (
                Tensor::stack::<2, _>([a.clone().trace(), b.clone().trace()])
                    .reshape_dyn((12usize,)),
                shaped::gpu::stack::<2, _>([ga.clone().trace(), gb.clone().trace()])
                    .reshape_dyn((12usize,)),
            ),
        };
        close(&format!("stack {axis}"), &down(&gy), cy.as_slice(), FWD);
        let r = randn::<Rank1<12>>(33 + axis as u64).reshape_dyn((12usize,));
        let cg = (cy * r.clone()).sum().backward();
        let gg = (gy * up(&dev, &r)).sum().backward();
        close("stack a", &grad(&gg, &ga), cg.get_slice(&a).unwrap(), GRAD);
        close("stack b", &grad(&gg, &gb), cg.get_slice(&b).unwrap(), GRAD);
    }
    let s: GpuTensor<Rank3<2, 2, 3>> = shaped::gpu::stack::<0, _>([ga.clone(), ga]);
    assert_eq!(down(&s)[..6], a.to_vec()[..]);
}

/// Bad arguments are `Err`s naming the problem, as on the CPU.
#[test]
fn shape_op_errors() {
    let Some(dev) = gpu() else { return };
    let x = up(&dev, &randn::<Rank2<2, 3>>(50));
    assert!(x.clone().try_narrow_dyn::<1>(2, 2).is_err());
    assert!(x.clone().try_select::<0>(2).is_err());
    assert!(x.clone().try_slice_step::<1>(0, 3, 0).is_err());
    let e = x
        .clone()
        .try_index_select::<1, _>(&Indices::<Rank1<2>>::from_array([0, 3]))
        .unwrap_err();
    assert!(e.to_string().contains("index 3"), "{e}");
    let e = x
        .clone()
        .try_gather::<1, _>(&Indices::<Rank2<1, 1>>::from_array2([[5]]))
        .unwrap_err();
    assert!(e.to_string().contains("index 5"), "{e}");
    assert!(x.clone().try_pad::<3, 0>(PadMode::Reflect).is_err());
    assert!(x.try_broadcast_to_dyn((2usize, 4usize)).is_err());
    let empty: Vec<GpuTensor<Rank1<2>>> = Vec::new();
    assert!(shaped::gpu::try_stack::<0, _>(empty).is_err());
}

/// `split` (a size, or a list of sizes) and `chunk`: every piece and the input's gradient
/// of `sum(piece_k * r_k)` over the pieces, against the CPU.
#[test]
fn split_and_chunk_match_cpu() {
    let Some(dev) = gpu() else { return };
    let x = randn::<Rank3<2, 7, 3>>(60);
    let gx = up(&dev, &x);
    type Piece = (Const<2>, usize, Const<3>);
    type CpuPieces = Vec<Tensor<Piece, f32, OwnedTape<f32>>>;
    type GpuPieces = Vec<GpuTensor<Piece, OwnedTape<f32>>>;
    let check = |cp: CpuPieces, gp: GpuPieces, what: &str| {
        assert_eq!(cp.len(), gp.len(), "{what}: piece count");
        let mut closs: Option<Tensor<(), f32, OwnedTape<f32>>> = None;
        let mut gloss: Option<GpuTensor<(), OwnedTape<f32>>> = None;
        for (k, (c, g)) in cp.into_iter().zip(gp).enumerate() {
            close(&format!("{what} piece {k}"), &down(&g), c.as_slice(), FWD);
            let r = Tensor::from_vec_with_shape(
                randn::<Rank1<64>>(61 + k as u64).as_slice()[..c.numel()].to_vec(),
                *c.shape(),
            )
            .unwrap();
            let (cl, gl) = ((c * r.clone()).sum(), (g * up(&dev, &r)).sum());
            closs = Some(match closs {
                Some(a) => a + cl,
                None => cl,
            });
            gloss = Some(match gloss {
                Some(a) => a + gl,
                None => gl,
            });
        }
        let cg = closs.unwrap().backward();
        let gg = gloss.unwrap().backward();
        close(what, &grad(&gg, &gx), cg.get_slice(&x).unwrap(), GRAD);
    };
    check(
        x.clone().trace().split::<1>(3),
        gx.clone().trace().split::<1>(3),
        "split 3",
    );
    check(
        x.clone().trace().split::<1>(vec![2, 0, 5]),
        gx.clone().trace().split::<1>(vec![2, 0, 5]),
        "split [2, 0, 5]",
    );
    check(
        x.clone().trace().chunk::<1>(3),
        gx.clone().trace().chunk::<1>(3),
        "chunk 3",
    );
    assert!(gx.clone().try_split::<1>(vec![2, 2]).is_err());
    assert!(gx.try_chunk::<1>(0).is_err());
}

/// Checks a GPU output against the golden `y` and returns the gradients of `sum(y * gy)`.
fn golden_backward<S: Shape + shaped::shape::BroadcastShapes<S>>(
    g: &Golden,
    dev: &Wgpu,
    y: GpuTensor<S, OwnedTape<f32>>,
) -> Gradients<f32> {
    let cy = y.to_cpu().unwrap();
    assert_eq!(g.shape("y"), cy.dims().as_slice(), "{}: shape", g.case);
    g.check_forward("y", cy.as_slice());
    let gy = Tensor::from_vec_with_shape(g.f("gy"), *cy.shape()).unwrap();
    (y * up(dev, &gy)).sum().backward()
}

fn golden_input<S: ConstShape>(dev: &Wgpu, g: &Golden, name: &str) -> GpuTensor<S> {
    let t = Tensor::<S>::from_vec(g.f(name)).unwrap();
    assert_eq!(g.shape(name), t.dims().as_slice(), "{}: {name}", g.case);
    up(dev, &t)
}

/// The PyTorch golden cases of the shape ops the GPU now has (the CPU tests' files).
#[test]
fn shape_ops_golden() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("shape_narrow");
    let x = golden_input::<Rank2<4, 6>>(&dev, &g, "x");
    let grads = golden_backward(&g, &dev, x.clone().trace().narrow::<1, 1, 3>());
    g.check_grad("x", &grad(&grads, &x));
    let grads = golden_backward(&g, &dev, x.clone().trace().narrow_dyn::<1>(1, 3));
    g.check_grad("x", &grad(&grads, &x));

    let g = Golden::load("shape_slice_step");
    let x = golden_input::<Rank2<4, 7>>(&dev, &g, "x");
    let grads = golden_backward(&g, &dev, x.clone().trace().slice_step::<1>(1, 6, 2));
    g.check_grad("x", &grad(&grads, &x));

    let g = Golden::load("shape_index_select");
    let x = golden_input::<Rank2<4, 5>>(&dev, &g, "x");
    let index = Indices::<Rank1<6>>::from_vec(g.idx("index")).unwrap();
    let grads = golden_backward(&g, &dev, x.clone().trace().index_select::<1, _>(&index));
    g.check_grad("x", &grad(&grads, &x));

    let g = Golden::load("shape_gather");
    let x = golden_input::<Rank2<3, 5>>(&dev, &g, "x");
    let index = Indices::<Rank2<3, 4>>::from_vec(g.idx("index")).unwrap();
    let grads = golden_backward(&g, &dev, x.clone().trace().gather::<1, _>(&index));
    g.check_grad("x", &grad(&grads, &x));

    let g = Golden::load("shape_expand");
    let x = golden_input::<Rank2<3, 1>>(&dev, &g, "x");
    let grads = golden_backward(&g, &dev, x.clone().trace().broadcast_to::<Rank3<2, 3, 4>>());
    g.check_grad("x", &grad(&grads, &x));

    let g = Golden::load("shape_stack");
    let x = golden_input::<Rank2<3, 4>>(&dev, &g, "x");
    let x2 = golden_input::<Rank2<3, 4>>(&dev, &g, "x2");
    let y: GpuTensor<Rank3<3, 2, 4>, _> =
        shaped::gpu::stack::<1, _>([x.clone().trace(), x2.clone().trace()]);
    let grads = golden_backward(&g, &dev, y);
    g.check_grad("x", &grad(&grads, &x));
    g.check_grad("x2", &grad(&grads, &x2));

    let g = Golden::load("shape_cat_many");
    let names = ["x0", "x1", "x2", "x3"];
    let xs: Vec<GpuTensor<(usize, Const<4>)>> = names
        .iter()
        .map(|n| {
            let rows = g.shape(n)[0];
            up(
                &dev,
                &Tensor::from_vec_with_shape(g.f(n), (rows, Const)).unwrap(),
            )
        })
        .collect();
    let traced: Vec<_> = xs.iter().map(|x| x.clone().trace()).collect();
    let grads = golden_backward(&g, &dev, shaped::gpu::cat::<0, _>(&traced));
    for (x, n) in xs.iter().zip(names) {
        g.check_grad(n, &grad(&grads, x));
    }

    let g = Golden::load("shape_pad_constant");
    let x = golden_input::<Rank3<2, 3, 4>>(&dev, &g, "x");
    let y = x.clone().trace().pad2::<1, 2, 0, 1>(PadMode::Constant(0.5));
    let grads = golden_backward(&g, &dev, y);
    g.check_grad("x", &grad(&grads, &x));

    let g = Golden::load("shape_pad_reflect");
    let x = golden_input::<Rank4<2, 2, 4, 5>>(&dev, &g, "x");
    let y = x.clone().trace().pad2::<1, 2, 2, 1>(PadMode::Reflect);
    let grads = golden_backward(&g, &dev, y);
    g.check_grad("x", &grad(&grads, &x));
}

/// `Upsample` (nearest by a factor, bilinear to a size) against the PyTorch golden cases,
/// the layer moved with `to_device`.
#[test]
fn upsample_golden() {
    use shaped::nn::Upsample;
    use shaped::ops::interpolate::ScaleFactor;
    let Some(dev) = gpu() else { return };
    let g = Golden::load("layer_upsample_nearest");
    let x = golden_input::<Rank4<2, 3, 3, 4>>(&dev, &g, "x");
    let up_layer = Upsample::nearest(ScaleFactor::<2>).to_device(&dev).unwrap();
    let grads = golden_backward(&g, &dev, up_layer.forward(x.clone().trace()));
    g.check_grad("x", &grad(&grads, &x));
    let grads = golden_backward(
        &g,
        &dev,
        Upsample::nearest((6usize, 8usize)).forward(x.clone().trace()),
    );
    g.check_grad("x", &grad(&grads, &x));

    let g = Golden::load("layer_upsample_bilinear");
    let x = golden_input::<Rank4<2, 2, 3, 4>>(&dev, &g, "x");
    let layer = Upsample::bilinear((Const::<6>, Const::<8>), false);
    let grads = golden_backward(&g, &dev, layer.forward(x.clone().trace()));
    g.check_grad("x", &grad(&grads, &x));
}

/// `interpolate` on sizes that are not multiples (down and up, both bilinear alignments and
/// nearest) against the CPU, values and gradients.
#[test]
fn interpolate_matches_cpu() {
    use shaped::ops::interpolate::{Interpolation, ScaleFactor};
    let Some(dev) = gpu() else { return };
    let dev = &dev;
    for mode in [
        Interpolation::Nearest,
        Interpolation::Bilinear {
            align_corners: false,
        },
        Interpolation::Bilinear {
            align_corners: true,
        },
    ] {
        shape_op_vs_cpu!(dev, randn::<Rank4<1, 2, 5, 4>>(70), 71, |x| x
            .interpolate((3usize, 7usize), mode));
        shape_op_vs_cpu!(dev, randn::<Rank4<2, 1, 3, 3>>(72), 73, |x| x
            .interpolate(ScaleFactor::<3>, mode));
    }
    let x = up(dev, &randn::<Rank4<1, 1, 2, 2>>(74));
    let e = x
        .try_interpolate((0usize, 3usize), Interpolation::Nearest)
        .unwrap_err();
    assert!(e.to_string().contains("greater than 0"), "{e}");
}
