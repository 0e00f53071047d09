//! The crate-level generator (issue 12): `manual_seed`, `GlobalRng`, `randn_like` and
//! `rand_like` repeat for the same seed, differ for another, and are process-wide.
//!
//! The generator is shared by the whole test process, so every test here holds `LOCK`.

use shaped::nn::{Linear, Params};
use shaped::prelude::*;
use shaped::rand::Rng;
use shaped::serialize::Checkpoint;
use shaped::{GlobalRng, get_rng_state, initial_seed, manual_seed, set_rng_state};
use std::sync::Mutex;

static LOCK: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Everything the crate-level generator feeds, drawn in one order.
fn draw() -> Vec<Vec<f32>> {
    let x = Tensor::<Rank2<3, 4>>::zeros();
    let layer = Linear::<4, 3>::new(&mut GlobalRng);
    let mut values = vec![
        x.randn_like().to_vec(),
        x.rand_like().to_vec(),
        Tensor::<Rank1<5>>::randn(&mut GlobalRng).to_vec(),
    ];
    layer.visit("", &mut |p| values.push(p.data.to_vec()));
    values
}

#[test]
fn same_seed_same_numbers_other_seed_other_numbers() {
    let _g = lock();
    manual_seed(123);
    assert_eq!(initial_seed(), 123);
    let a = draw();
    manual_seed(123);
    let b = draw();
    assert_eq!(a, b);
    manual_seed(124);
    let c = draw();
    for (x, y) in a.iter().zip(&c) {
        assert_ne!(x, y);
    }
    // Draws move the generator on: a second draw without reseeding differs.
    let d = draw();
    assert_ne!(c, d);
}

#[test]
fn randn_like_and_rand_like_have_the_shape_and_the_distribution() {
    let _g = lock();
    manual_seed(9);
    let x = Tensor::<(usize, Const<100>)>::zeros_with_shape((100, Const));
    let n = x.clone().trace().randn_like();
    assert_eq!(n.dims().as_slice(), &[100, 100]);
    let v = n.as_slice();
    let mean = v.iter().map(|&a| a as f64).sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|&a| (a as f64 - mean).powi(2)).sum::<f64>() / v.len() as f64;
    assert!(
        mean.abs() < 0.05 && (var - 1.0).abs() < 0.05,
        "{mean} {var}"
    );
    let u = x.rand_like();
    assert!(u.as_slice().iter().all(|&a| (0.0..1.0).contains(&a)));
    let mean = u.as_slice().iter().map(|&a| a as f64).sum::<f64>() / 10000.0;
    assert!((mean - 0.5).abs() < 0.02, "{mean}");
    // f64 tensors draw too.
    let d = Tensor::<Rank1<3>, f64>::zeros().randn_like();
    assert!(d.as_slice().iter().all(|a| a.is_finite()));
}

#[test]
fn rng_state_round_trips_through_a_checkpoint() {
    let _g = lock();
    manual_seed(77);
    let _ = draw();
    let model = Linear::<2, 1>::new(&mut GlobalRng);
    let ckpt = Checkpoint::new(&model).with_rng(&get_rng_state());
    let ckpt = Checkpoint::<f32>::from_bytes(&ckpt.to_bytes().unwrap()).unwrap();
    let expected = draw();
    manual_seed(1); // elsewhere
    set_rng_state(ckpt.restore_rng().unwrap().unwrap());
    assert_eq!(draw(), expected);
    assert_eq!(initial_seed(), 1, "set_rng_state keeps the seed");
}

#[test]
fn the_generator_is_shared_by_all_threads() {
    let _g = lock();
    manual_seed(5);
    let here: Vec<u64> = (0..4).map(|_| GlobalRng.next_u64()).collect();
    manual_seed(5);
    let there = std::thread::spawn(|| (0..4).map(|_| GlobalRng.next_u64()).collect::<Vec<_>>())
        .join()
        .unwrap();
    assert_eq!(here, there);
    // A seed set in another thread applies here.
    std::thread::spawn(|| manual_seed(6)).join().unwrap();
    let after: Vec<u64> = (0..4).map(|_| GlobalRng.next_u64()).collect();
    manual_seed(6);
    let again: Vec<u64> = (0..4).map(|_| GlobalRng.next_u64()).collect();
    assert_eq!(after, again);
}

/// `randn` draws exactly what `rand_distr::StandardNormal` draws from the same generator
/// (the ziggurat is written out in the crate so users' builds skip `rand_distr`; issue 15).
/// 200 000 samples reach the tail branch (layer 0) a few hundred times.
#[test]
fn randn_draws_what_rand_distr_standard_normal_draws() {
    use rand_distr::{Distribution, StandardNormal};
    use shaped::rand::{SeedableRng, rngs::StdRng};
    const N: usize = 200_000;
    for seed in [0u64, 7, 12345] {
        let mut ours = StdRng::seed_from_u64(seed);
        let mut reference = StdRng::seed_from_u64(seed);
        let got = Tensor::<Rank1<N>, f64>::randn(&mut ours).to_vec();
        let want: Vec<f64> = (0..N)
            .map(|_| StandardNormal.sample(&mut reference))
            .collect();
        let tails = want
            .iter()
            .filter(|z| z.abs() > 3.654_152_885_361_009)
            .count();
        assert!(tails > 10, "seed {seed}: only {tails} tail samples");
        assert_eq!(got, want, "seed {seed}");
        let got32 = Tensor::<Rank1<1000>>::randn(&mut ours).to_vec();
        let want32: Vec<f32> = (0..1000)
            .map(|_| StandardNormal.sample(&mut reference))
            .collect();
        assert_eq!(got32, want32, "seed {seed} (f32)");
    }
}
