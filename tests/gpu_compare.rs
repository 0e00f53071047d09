//! Comparisons and `where` on the GPU against the CPU path, f32 and f64: broadcasting, NaN,
//! scalars, and `where`'s gradients summed back over broadcast dimensions.
#![cfg(feature = "wgpu")]

mod gpu_support;

use gpu_support::{F64_TOL, close64, gpu, gpu64};
use shaped::gpu::prelude::*;
use shaped::gpu::{try_where_, where_};
use shaped::ops::compare::where_ as cpu_where;
use shaped::prelude::*;

/// Values with ties, signed zeros and NaN, so that every comparison has both outcomes.
fn awkward<S: ConstShape, E: Float>(seed: usize) -> Tensor<S, E> {
    let pool = [0.0, -0.0, 1.0, -1.0, 2.5, f64::NAN, 1.0, -3.0, 2.5];
    let n = S::default().numel();
    let v: Vec<E> = (0..n)
        .map(|i| E::from_f64(pool[(i * 7 + seed) % pool.len()]))
        .collect();
    Tensor::from_vec(v).unwrap()
}

macro_rules! all_comparisons {
    ($a:expr, $b:expr, $ga:expr, $gb:expr) => {{
        let (a, b, ga, gb) = (&$a, &$b, &$ga, &$gb);
        let pairs = [
            ("eq", a.eq(b).to_vec(), ga.eq(gb).to_cpu().unwrap().to_vec()),
            ("ne", a.ne(b).to_vec(), ga.ne(gb).to_cpu().unwrap().to_vec()),
            ("lt", a.lt(b).to_vec(), ga.lt(gb).to_cpu().unwrap().to_vec()),
            ("le", a.le(b).to_vec(), ga.le(gb).to_cpu().unwrap().to_vec()),
            ("gt", a.gt(b).to_vec(), ga.gt(gb).to_cpu().unwrap().to_vec()),
            ("ge", a.ge(b).to_vec(), ga.ge(gb).to_cpu().unwrap().to_vec()),
            (
                "eq_scalar",
                a.eq_scalar(1.0).to_vec(),
                ga.eq_scalar(1.0).to_cpu().unwrap().to_vec(),
            ),
            (
                "ne_scalar",
                a.ne_scalar(1.0).to_vec(),
                ga.ne_scalar(1.0).to_cpu().unwrap().to_vec(),
            ),
            (
                "lt_scalar",
                a.lt_scalar(0.0).to_vec(),
                ga.lt_scalar(0.0).to_cpu().unwrap().to_vec(),
            ),
            (
                "le_scalar",
                a.le_scalar(0.0).to_vec(),
                ga.le_scalar(0.0).to_cpu().unwrap().to_vec(),
            ),
            (
                "gt_scalar",
                a.gt_scalar(1.0).to_vec(),
                ga.gt_scalar(1.0).to_cpu().unwrap().to_vec(),
            ),
            (
                "ge_scalar",
                a.ge_scalar(2.5).to_vec(),
                ga.ge_scalar(2.5).to_cpu().unwrap().to_vec(),
            ),
        ];
        for (what, cpu, gpu) in pairs {
            assert_eq!(gpu, cpu, "{what}");
            assert!(
                cpu.iter().any(|x| *x == 1.0) && cpu.iter().any(|x| *x == 0.0),
                "{what}"
            );
        }
    }};
}

#[test]
fn comparisons_broadcast_and_nan_f32() {
    let Some(g) = gpu() else { return };
    let a = awkward::<Rank3<2, 3, 4>, f32>(0);
    let b = awkward::<Rank2<3, 1>, f32>(3);
    let (ga, gb) = (a.to_device(&g).unwrap(), b.to_device(&g).unwrap());
    all_comparisons!(a, b, ga, gb);
}

#[test]
fn comparisons_broadcast_and_nan_f64() {
    let Some(g) = gpu64() else { return };
    let a = awkward::<Rank2<5, 6>, f64>(1);
    let b = awkward::<Rank1<6>, f64>(4);
    let (ga, gb) = (a.to_device(&g).unwrap(), b.to_device(&g).unwrap());
    all_comparisons!(a, b, ga, gb);
}

/// `where(cond, a, b)` with all three broadcast, and the gradients of `sum(y * r)`.
fn where_vs_cpu<E: Float>(g: &shaped::gpu::Wgpu, tol: (f64, f64)) {
    let cond = awkward::<Rank2<3, 1>, E>(2);
    let a = Tensor::<Rank3<2, 3, 4>, E>::randn(&mut shaped::rand::rngs::StdRng::seed_from_u64(1));
    let b = Tensor::<Rank1<4>, E>::randn(&mut shaped::rand::rngs::StdRng::seed_from_u64(2));
    let r = Tensor::<Rank3<2, 3, 4>, E>::randn(&mut shaped::rand::rngs::StdRng::seed_from_u64(3));
    let cy = cpu_where(&cond, a.clone().trace(), b.clone().trace());
    let (gc, ga, gb) = (
        cond.to_device(g).unwrap(),
        a.to_device(g).unwrap(),
        b.to_device(g).unwrap(),
    );
    let gy = where_(&gc, ga.clone().trace(), gb.clone().trace());
    let to64 = |v: Vec<E>| v.into_iter().map(|x| x.to_f64()).collect::<Vec<f64>>();
    assert_eq!(
        to64(gy.to_cpu().unwrap().to_vec()),
        to64(cy.to_vec()),
        "forward"
    );
    let cg = (cy * r.clone()).sum().backward();
    let gg = (gy * r.to_device(g).unwrap()).sum().backward();
    let grad_a = to64(gg.get_gpu(&ga).unwrap().to_cpu().unwrap().to_vec());
    close64("grad a", &grad_a, &to64(cg.get(&a).unwrap().to_vec()), tol);
    let grad_b = to64(gg.get_gpu(&gb).unwrap().to_cpu().unwrap().to_vec());
    close64("grad b", &grad_b, &to64(cg.get(&b).unwrap().to_vec()), tol);
}

use shaped::rand::SeedableRng;

#[test]
fn where_broadcast_with_gradients_f32() {
    let Some(g) = gpu() else { return };
    where_vs_cpu::<f32>(&g, (1e-6, 1e-5));
}

#[test]
fn where_broadcast_with_gradients_f64() {
    let Some(g) = gpu64() else { return };
    where_vs_cpu::<f64>(&g, F64_TOL);
}

#[test]
fn where_relu_and_runtime_shape_errors() {
    let Some(g) = gpu() else { return };
    let x = Tensor::<Rank1<4>>::from_array([-2.0, -1.0, 1.0, 2.0])
        .to_device(&g)
        .unwrap();
    let zero = Tensor::<Rank0>::zeros().to_device(&g).unwrap();
    let y = where_(&x.gt_scalar(0.0), x.clone(), zero.clone());
    assert_eq!(y.to_cpu().unwrap().to_vec(), vec![0.0, 0.0, 1.0, 2.0]);
    let c = Tensor::<(usize,)>::zeros_with_shape((3,))
        .to_device(&g)
        .unwrap();
    let a = Tensor::<(usize,)>::zeros_with_shape((4,))
        .to_device(&g)
        .unwrap();
    let err = try_where_(&c, a.clone(), zero).unwrap_err().to_string();
    assert!(err.contains("where"), "{err}");
    let err = c.try_lt(&a).unwrap_err().to_string();
    assert!(err.contains("lt"), "{err}");
}
