//! Each GPU kernel against the CPU path on the same data, forward and backward.
#![cfg(feature = "wgpu")]

mod gpu_support;

use gpu_support::{assert_close, gpu};
use shaped::gpu::prelude::*;
use shaped::prelude::*;
use shaped::rand::{SeedableRng, rngs::StdRng};

fn randn<S: ConstShape>(seed: u64) -> Tensor<S> {
    let mut rng = StdRng::seed_from_u64(seed);
    Tensor::<S>::randn(&mut rng)
}

#[test]
fn adapter_is_reported() {
    let Some(g) = gpu() else { return };
    let a = g.adapter();
    eprintln!("GPU adapter: {a:?}");
    assert!(!a.name.is_empty());
}

#[test]
fn transfers_round_trip() {
    let Some(g) = gpu() else { return };
    let x = randn::<Rank2<3, 5>>(1);
    let back = x.to_device(&g).unwrap().to_cpu().unwrap();
    assert_eq!(back.to_vec(), x.to_vec());
    let f64s = Tensor::<Rank1<2>, f64>::ones();
    let err = f64s.to_device(&g).unwrap_err().to_string();
    assert!(err.contains("f32"), "{err}");
}
