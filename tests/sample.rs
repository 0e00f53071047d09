//! Sampling: the draws follow the distributions they claim to, truncation never leaks, the
//! same seed repeats, and bad inputs are errors that name the value.

use rand::SeedableRng;
use rand::rngs::StdRng;
use shaped::prelude::*;
use shaped::sample::{self, Sampler};

const DRAWS: usize = 10_000;

/// The largest gap between observed frequencies and `p`. With 10k draws the standard error
/// of a frequency is at most 0.005, so 0.02 is a four-sigma bound.
fn max_gap(counts: &[usize], p: &[f64]) -> f64 {
    let n: usize = counts.iter().sum();
    counts
        .iter()
        .zip(p)
        .map(|(&c, &q)| (c as f64 / n as f64 - q).abs())
        .fold(0.0, f64::max)
}

fn counts(picks: impl IntoIterator<Item = usize>, classes: usize) -> Vec<usize> {
    let mut c = vec![0; classes];
    for i in picks {
        c[i] += 1;
    }
    c
}

fn softmax(x: &[f64], t: f64) -> Vec<f64> {
    let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = x.iter().map(|v| ((v - m) / t).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

const LOGITS: [f32; 5] = [1.0, 2.0, 0.5, -1.0, 1.5];

fn logits64() -> Vec<f64> {
    LOGITS.iter().map(|&v| v as f64).collect()
}

#[test]
fn multinomial_matches_probabilities() {
    let p = [0.1f32, 0.2, 0.3, 0.4];
    let probs = Tensor::<Rank1<4>>::from_array(p);
    let mut rng = StdRng::seed_from_u64(10);
    let draws = sample::multinomial_n(&probs, DRAWS, &mut rng).unwrap();
    let c = counts(draws.as_slice().iter().copied(), 4);
    let expect: Vec<f64> = p.iter().map(|&v| v as f64).collect();
    assert!(max_gap(&c, &expect) < 0.02, "{c:?}");

    // One draw at a time gives the same distribution.
    let c = counts(
        (0..DRAWS).map(|_| sample::multinomial(&probs, &mut rng).unwrap()),
        4,
    );
    assert!(max_gap(&c, &expect) < 0.02, "{c:?}");
}

#[test]
fn multinomial_batched_rows_are_independent_distributions() {
    let probs = Tensor::<Rank2<2, 3>>::from_array([[0.7, 0.3, 0.0], [0.0, 0.25, 0.75]]);
    let mut rng = StdRng::seed_from_u64(11);
    let draws: Indices<(Const<2>, usize)> = sample::multinomial_n(&probs, DRAWS, &mut rng).unwrap();
    let (row0, row1) = draws.as_slice().split_at(DRAWS);
    assert!(max_gap(&counts(row0.iter().copied(), 3), &[0.7, 0.3, 0.0]) < 0.02);
    assert!(max_gap(&counts(row1.iter().copied(), 3), &[0.0, 0.25, 0.75]) < 0.02);
    assert!(
        !row0.contains(&2) && !row1.contains(&0),
        "a zero-probability class was drawn"
    );
}

#[test]
fn temperature_matches_scaled_softmax() {
    let logits = Tensor::<Rank1<5>>::from_array(LOGITS);
    let mut rng = StdRng::seed_from_u64(12);
    for t in [0.5, 1.0, 2.0] {
        let c = counts(
            (0..DRAWS).map(|_| sample::temperature(&logits, t, &mut rng).unwrap()),
            5,
        );
        let expect = softmax(&logits64(), t);
        assert!(max_gap(&c, &expect) < 0.02, "t = {t}: {c:?} vs {expect:?}");
    }
}

#[test]
fn top_k_stays_in_the_top_k_and_renormalises() {
    // Ranking of LOGITS: 1 (2.0), 4 (1.5), 0 (1.0), 2 (0.5), 3 (-1.0).
    let logits = Tensor::<Rank1<5>>::from_array(LOGITS);
    let mut rng = StdRng::seed_from_u64(13);
    let ranked = [1, 4, 0, 2, 3];
    for k in 1..=5 {
        let c = counts(
            (0..DRAWS).map(|_| sample::top_k(&logits, k, &mut rng).unwrap()),
            5,
        );
        for &outside in &ranked[k..] {
            assert_eq!(
                c[outside], 0,
                "k = {k}: class {outside} is outside the top k"
            );
        }
        let mut kept = vec![f64::NEG_INFINITY; 5];
        for &i in &ranked[..k] {
            kept[i] = LOGITS[i] as f64;
        }
        assert!(max_gap(&c, &softmax(&kept, 1.0)) < 0.02, "k = {k}: {c:?}");
    }
    // k beyond the class count keeps everything.
    let c = counts(
        (0..DRAWS).map(|_| sample::top_k(&logits, 50, &mut rng).unwrap()),
        5,
    );
    assert!(max_gap(&c, &softmax(&logits64(), 1.0)) < 0.02);
}

#[test]
fn top_k_batched_over_a_large_vocabulary() {
    let mut rng = StdRng::seed_from_u64(14);
    let logits = Tensor::<Rank2<8, 100>>::randn(&mut rng);
    let rows = logits.to_vec();
    for _ in 0..200 {
        let picks = sample::top_k(&logits, 3, &mut rng).unwrap();
        for (r, &i) in picks.as_slice().iter().enumerate() {
            let row = &rows[r * 100..(r + 1) * 100];
            let larger = row.iter().filter(|&&v| v > row[i]).count();
            assert!(larger < 3, "row {r}: class {i} is not in the top 3");
        }
    }
}

#[test]
fn top_p_keeps_the_nucleus() {
    let p = [0.5f64, 0.25, 0.15, 0.1];
    let logits = Tensor::<Rank1<4>>::from_vec(p.iter().map(|v| v.ln() as f32).collect()).unwrap();
    let mut rng = StdRng::seed_from_u64(15);
    // (nucleus p, kept classes): 0.5 alone reaches 0.5; 0.75 needs two; 0.8 needs three.
    for (nucleus, kept) in [(0.3, 1), (0.49, 1), (0.6, 2), (0.74, 2), (0.8, 3), (1.0, 4)] {
        let c = counts(
            (0..DRAWS).map(|_| sample::top_p(&logits, nucleus, &mut rng).unwrap()),
            4,
        );
        assert!(c[kept..].iter().all(|&n| n == 0), "p = {nucleus}: {c:?}");
        let mass: f64 = p[..kept].iter().sum();
        let expect: Vec<f64> = (0..4)
            .map(|i| if i < kept { p[i] / mass } else { 0.0 })
            .collect();
        assert!(
            max_gap(&c, &expect) < 0.02,
            "p = {nucleus}: {c:?} vs {expect:?}"
        );
    }
}

#[test]
fn greedy_is_the_argmax_and_masks_are_respected() {
    let logits = Tensor::<Rank2<3, 4>>::from_array([
        [0.0, 1.0, 3.0, 2.0],
        [f32::NEG_INFINITY, -5.0, f32::NEG_INFINITY, -6.0],
        [7.0, 7.0, 1.0, 0.0],
    ]);
    assert_eq!(sample::greedy(&logits).unwrap().as_slice(), &[2, 1, 0]);
    let mut rng = StdRng::seed_from_u64(16);
    for _ in 0..1000 {
        let picks = Sampler::new()
            .temperature(3.0)
            .sample(&logits, &mut rng)
            .unwrap();
        assert!(
            ![0, 2].contains(&picks.as_slice()[1]),
            "a -inf class was drawn"
        );
    }
    let greedy: Indices<Rank1<3>> = Sampler::greedy()
        .top_k(1)
        .sample(&logits, &mut rng)
        .unwrap();
    assert_eq!(greedy.as_slice(), &[2, 1, 0]);
}

#[test]
fn combined_recipe_matches_its_probabilities() {
    let s = Sampler::new().temperature(0.7).top_k(4).top_p(0.8);
    let logits = Tensor::<Rank1<5>>::from_array(LOGITS);
    let p = s.probabilities(logits.as_slice()).unwrap();
    assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    assert_eq!(p[3], 0.0, "the least likely class is outside the top 4");
    let mut rng = StdRng::seed_from_u64(17);
    let c = counts((0..DRAWS).map(|_| s.sample(&logits, &mut rng).unwrap()), 5);
    assert!(max_gap(&c, &p) < 0.02, "{c:?} vs {p:?}");
}

#[test]
fn same_seed_same_draws() {
    let logits = Tensor::<Rank2<4, 6>>::randn(&mut StdRng::seed_from_u64(0));
    let s = Sampler::new().temperature(1.3).top_p(0.95);
    let run = |seed| {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..100)
            .map(|_| s.sample(&logits, &mut rng).unwrap().to_vec())
            .collect::<Vec<_>>()
    };
    assert_eq!(run(42), run(42));
    assert_ne!(run(42), run(43));
}

#[test]
fn f64_and_dynamic_shapes_work() {
    let logits =
        Tensor::<(usize, usize), f64>::from_vec_with_shape(vec![0.0, 10.0, 10.0, 0.0], (2, 2))
            .unwrap();
    let mut rng = StdRng::seed_from_u64(18);
    let picks: Indices<(usize,)> = Sampler::new().top_k(1).sample(&logits, &mut rng).unwrap();
    assert_eq!(picks.as_slice(), &[1, 0]);
    let traced = Tensor::<Rank1<3>>::from_array([0.0, 0.0, 1.0]).trace();
    assert_eq!(sample::greedy(&traced).unwrap(), 2);
}

fn err_text<T: std::fmt::Debug>(r: shaped::error::Result<T>) -> String {
    r.unwrap_err().to_string()
}

#[test]
fn bad_inputs_are_errors_naming_the_value() {
    let mut rng = StdRng::seed_from_u64(19);
    let logits = Tensor::<Rank1<3>>::from_array([0.0, 1.0, 2.0]);
    for t in [0.0, -0.5, f64::NAN, f64::INFINITY] {
        let e = err_text(sample::temperature(&logits, t, &mut rng));
        assert!(
            e.contains("temperature") && e.contains(&format!("{t}")),
            "{e}"
        );
    }
    let e = err_text(sample::top_k(&logits, 0, &mut rng));
    assert!(e.contains("top_k") && e.contains("k = 0"), "{e}");
    for p in [0.0, -0.1, 1.01, f64::NAN] {
        let e = err_text(sample::top_p(&logits, p, &mut rng));
        assert!(
            e.contains("top_p") && e.contains(&format!("p = {p}")),
            "{e}"
        );
    }
    let e = err_text(sample::multinomial(
        &Tensor::<Rank1<3>>::from_array([0.5, -0.1, 0.6]),
        &mut rng,
    ));
    assert!(
        e.contains("probabilities") && e.contains("-0.1") && e.contains("class 1"),
        "{e}"
    );
    let e = err_text(sample::multinomial(
        &Tensor::<Rank2<2, 2>>::from_array([[0.5, 0.5], [0.6, 0.6]]),
        &mut rng,
    ));
    assert!(e.contains("row 1 sums to 1.2"), "{e}");
    let e = err_text(sample::multinomial(
        &Tensor::<Rank1<2>>::from_array([f32::NAN, 1.0]),
        &mut rng,
    ));
    assert!(e.contains("NaN at row 0, class 0"), "{e}");
    let e = err_text(sample::greedy(&Tensor::<Rank1<2>>::from_array([
        f32::INFINITY,
        0.0,
    ])));
    assert!(e.contains("inf at row 0, class 0"), "{e}");
    let e = err_text(sample::top_k(
        &Tensor::<Rank1<2>>::from_array([f32::NEG_INFINITY; 2]),
        1,
        &mut rng,
    ));
    assert!(e.contains("every class of row 0 is -inf"), "{e}");
    let empty = Tensor::<(usize,)>::from_vec_with_shape(vec![], (0,)).unwrap();
    assert!(err_text(sample::greedy(&empty)).contains("no classes"));
}
