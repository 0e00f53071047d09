//! `sort` and `topk` on the GPU against the CPU path: ties (stable), NaN, a middle axis,
//! values, positions and gradients, f32 and f64.
#![cfg(feature = "wgpu")]

mod gpu_support;

use gpu_support::{gpu, gpu64};
use shaped::gpu::Wgpu;
use shaped::gpu::prelude::*;
use shaped::prelude::*;
use shaped::rand::{SeedableRng, rngs::StdRng};

/// Values with repeats and a NaN so that stability and NaN order matter.
fn awkward<E: Float>() -> Tensor<Rank3<2, 7, 3>, E> {
    let pool = [
        2.0,
        -1.0,
        2.0,
        0.5,
        f64::NAN,
        -1.0,
        3.0,
        0.5,
        2.0,
        -4.0,
        7.0,
    ];
    let v: Vec<E> = (0..42)
        .map(|i| E::from_f64(pool[(i * 5 + 3) % pool.len()]))
        .collect();
    Tensor::from_vec(v).unwrap()
}

fn same<E: Float>(what: &str, gpu: Vec<E>, cpu: Vec<E>) {
    let bits = |v: Vec<E>| {
        v.iter()
            .map(|x| x.to_f64())
            .map(|x| if x.is_nan() { None } else { Some(x) })
            .collect::<Vec<_>>()
    };
    assert_eq!(bits(gpu), bits(cpu), "{what}");
}

fn sort_vs_cpu<E: Float>(g: &Wgpu) {
    let x = awkward::<E>();
    let r = Tensor::<Rank3<2, 7, 3>, E>::randn(&mut StdRng::seed_from_u64(9));
    for descending in [false, true] {
        let (cy, ci) = x.clone().trace().sort::<1>(descending);
        let gx = x.to_device(g).unwrap();
        let (gy, gi) = gx.clone().trace().sort::<1>(descending);
        same("sorted values", gy.to_cpu().unwrap().to_vec(), cy.to_vec());
        assert_eq!(
            gi.to_vec(),
            ci.to_vec(),
            "positions (descending {descending})"
        );
        let cg = (cy * r.clone()).sum().backward();
        let gg = (gy * r.to_device(g).unwrap()).sum().backward();
        same(
            "gradient",
            gg.get_gpu(&gx).unwrap().to_cpu().unwrap().to_vec(),
            cg.get(&x).unwrap().to_vec(),
        );
    }
    // topk along the last axis, both directions, static and run-time k.
    let x = Tensor::<Rank2<3, 5>, E>::randn(&mut StdRng::seed_from_u64(4));
    let gx = x.to_device(g).unwrap();
    for largest in [true, false] {
        let (cy, ci) = x.clone().topk::<1, 2>(largest);
        let (gy, gi) = gx.clone().topk::<1, 2>(largest);
        same("topk", gy.to_cpu().unwrap().to_vec(), cy.to_vec());
        assert_eq!(gi.to_vec(), ci.to_vec());
        let (cy, ci) = x.clone().topk_n::<0>(2, largest);
        let (gy, gi) = gx.clone().topk_n::<0>(2, largest);
        same("topk_n", gy.to_cpu().unwrap().to_vec(), cy.to_vec());
        assert_eq!(gi.to_vec(), ci.to_vec());
    }
    let err = gx.clone().try_topk_n::<1>(6, true).unwrap_err().to_string();
    assert!(err.contains("k = 6"), "{err}");
    let (empty, idx) = gx.topk_n::<1>(0, true);
    assert!(empty.to_cpu().unwrap().to_vec().is_empty() && idx.to_vec().is_empty());
}

#[test]
fn sort_and_topk_f32() {
    let Some(g) = gpu() else { return };
    sort_vs_cpu::<f32>(&g);
}

#[test]
fn sort_and_topk_f64() {
    let Some(g) = gpu64() else { return };
    sort_vs_cpu::<f64>(&g);
}

/// Lines longer than a workgroup, with many ties: still a stable permutation.
#[test]
fn long_lines_sort_stably() {
    let Some(g) = gpu() else { return };
    let v: Vec<f32> = (0..2 * 1000).map(|i| ((i * 37) % 11) as f32).collect();
    let x = Tensor::<Rank2<2, 1000>>::from_vec(v).unwrap();
    let (cy, ci) = x.clone().sort::<1>(true);
    let (gy, gi) = x.to_device(&g).unwrap().sort::<1>(true);
    assert_eq!(gy.to_cpu().unwrap().to_vec(), cy.to_vec());
    assert_eq!(gi.to_vec(), ci.to_vec());
}
