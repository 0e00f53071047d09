//! `split_static`, `chunk_static` and `cat_tuple` of GPU tensors against the CPU: values,
//! the pieces' types, gradients flowing back into each range, run-time errors; f32 and f64.
#![cfg(feature = "wgpu")]

mod gpu_support;

use gpu_support::{gpu, gpu64};
use shaped::gpu::Wgpu;
use shaped::gpu::prelude::*;
use shaped::ops::cat::{cat_tuple, try_cat_tuple};
use shaped::prelude::*;
use shaped::rand::{SeedableRng, rngs::StdRng};

fn to64<E: Float>(v: Vec<E>) -> Vec<f64> {
    v.into_iter().map(|x| x.to_f64()).collect()
}

fn static_split_vs_cpu<E: Float>(g: &Wgpu) {
    let x = Tensor::<Rank3<2, 5, 3>, E>::randn(&mut StdRng::seed_from_u64(1));
    let r = Tensor::<Rank3<2, 5, 3>, E>::randn(&mut StdRng::seed_from_u64(2));
    // split_static, then the pieces joined back in another order by cat_tuple.
    let (a, b, c) = x
        .clone()
        .trace()
        .split_static::<1, (Const<1>, Const<3>, Const<1>)>();
    let cy: Tensor<Rank3<2, 5, 3>, E, _> = cat_tuple::<1, _>((c, a, b)).realize();
    let gx = x.to_device(g).unwrap();
    let (a, b, c) = gx
        .clone()
        .trace()
        .split_static::<1, (Const<1>, Const<3>, Const<1>)>();
    let b: GpuTensor<Rank3<2, 3, 3>, _, E> = b;
    let gy = cat_tuple::<1, _>((c, a, b));
    assert_eq!(
        to64(gy.to_cpu().unwrap().to_vec()),
        to64(cy.to_vec()),
        "split + cat_tuple"
    );
    let cg = (cy * r.clone()).sum().backward();
    let gy: GpuTensor<Rank3<2, 5, 3>, _, E> = gy.realize();
    let gg = (gy * r.to_device(g).unwrap()).sum().backward();
    assert_eq!(
        to64(gg.get_gpu(&gx).unwrap().to_cpu().unwrap().to_vec()),
        to64(cg.get(&x).unwrap().to_vec()),
        "gradient through the pieces"
    );
    // chunk_static of a static and of a run-time axis.
    let [p, q] = gx.clone().chunk_static::<0, 2>();
    let [cp, cq] = x.clone().chunk_static::<0, 2>();
    assert_eq!(to64(p.to_cpu().unwrap().to_vec()), to64(cp.to_vec()));
    assert_eq!(to64(q.to_cpu().unwrap().to_vec()), to64(cq.to_vec()));
    let pieces = gx.clone().chunk_static::<1, 5>();
    assert_eq!(
        to64(pieces[4].to_cpu().unwrap().to_vec()),
        to64(x.clone().chunk_static::<1, 5>()[4].to_vec())
    );
    let dynx = Tensor::<(usize, usize), E>::randn_with_shape((4, 6), &mut StdRng::seed_from_u64(3));
    let [d0, d1] = dynx.to_device(g).unwrap().chunk_static::<0, 2>();
    assert_eq!(
        to64(d1.to_cpu().unwrap().to_vec()),
        to64(dynx.clone().chunk_static::<0, 2>()[1].to_vec())
    );
    assert_eq!(d0.to_cpu().unwrap().dims().as_slice(), &[2, 6]);
    // Run-time sizes that do not fit are errors naming them.
    let gd = dynx.to_device(g).unwrap();
    let err = gd
        .clone()
        .try_chunk_static::<1, 4>()
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("4 equal chunks"), "{err}");
    let err = gd
        .clone()
        .try_split_static::<1, (Const<2>, Const<3>)>()
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("[2, 3]"), "{err}");
    let other = Tensor::<(usize, usize), E>::zeros_with_shape((4, 5))
        .to_device(g)
        .unwrap();
    assert!(try_cat_tuple::<0, _>((gd, other)).is_err());
}

#[test]
fn static_split_and_cat_tuple_f32() {
    let Some(g) = gpu() else { return };
    static_split_vs_cpu::<f32>(&g);
}

#[test]
fn static_split_and_cat_tuple_f64() {
    let Some(g) = gpu64() else { return };
    static_split_vs_cpu::<f64>(&g);
}
