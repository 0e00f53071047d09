//! Choosing classes from a model's scores: greedy decoding, temperature, top-k and top-p
//! (nucleus) sampling, and multinomial draws from probabilities.
//!
//! Every function takes logits (or, for [`multinomial`], probabilities) with the classes on
//! the last axis, either one distribution `Tensor<(C,), E>` or a batch `Tensor<(B, C), E>`
//! (any tape): one distribution gives a `usize`, a batch gives [`Indices`]`<(B,)>`, one pick
//! per row. Randomness comes only from the generator the caller passes, so the same seed
//! gives the same draws.
//!
//! Inputs are checked, and a bad value is an [`Error`] that names it: a temperature that is
//! not positive, `k = 0`, `p` outside `(0, 1]`, a NaN or `+inf` logit (`-inf` is allowed: it
//! masks a class out), probabilities that are negative or do not sum to 1.
//!
//! ```
//! use shaped::prelude::*;
//! use shaped::sample::{self, Sampler};
//! use rand::SeedableRng;
//! let mut rng = rand::rngs::StdRng::seed_from_u64(0);
//! let logits = Tensor::<Rank1<4>>::from_array([2.0, 1.0, 0.5, -1.0]);
//! assert_eq!(sample::greedy(&logits).unwrap(), 0);
//! let i: usize = sample::top_k(&logits, 2, &mut rng).unwrap();
//! assert!(i < 2);
//!
//! // A batch: one pick per row; the usual chain in one value.
//! let batch = Tensor::<Rank2<2, 4>>::from_array([[2.0, 1.0, 0.5, -1.0], [0.0, 0.0, 9.0, 0.0]]);
//! let sampler = Sampler::new().temperature(0.8).top_k(3).top_p(0.9);
//! let picks: Indices<Rank1<2>> = sampler.sample(&batch, &mut rng).unwrap();
//! assert_eq!(picks.as_slice()[1], 2);
//! ```

use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::shape::Dim;
use crate::tensor::{Indices, Tensor};
use rand::{Rng, RngExt};

/// How far the sum of a row of probabilities may be from 1 (f32 softmax outputs over large
/// vocabularies are off by far less).
pub const PROB_SUM_TOLERANCE: f64 = 1e-3;

mod sealed {
    pub trait Sealed {}
}

/// Scores over classes on the last axis: `Tensor<(C,), E, T>` (one distribution) or
/// `Tensor<(B, C), E, T>` (a batch). Implemented by the crate's tensors only.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::sample::Scores;
/// let x = Tensor::<Rank2<2, 3>>::zeros();
/// assert_eq!((x.classes(), x.scores().len()), (3, 6));
/// ```
pub trait Scores: sealed::Sealed {
    /// The element type.
    type Elem: Float;
    /// One pick per distribution: `usize`, or `Indices<(B,)>` for a batch.
    type One;
    /// `n` picks per distribution: `Indices<(usize,)>`, or `Indices<(B, usize)>` for a batch.
    type Many;
    /// The number of classes (the size of the last axis).
    fn classes(&self) -> usize;
    /// All scores, row-major: one row of [`classes`](Scores::classes) values per distribution.
    fn scores(&self) -> &[Self::Elem];
    /// The result from one pick per row.
    fn one(&self, picks: Vec<usize>) -> Self::One;
    /// The result from `n` picks per row, row-major.
    fn many(&self, picks: Vec<usize>, n: usize) -> Self::Many;
}

impl<C: Dim, E: Float, T> sealed::Sealed for Tensor<(C,), E, T> {}
impl<C: Dim, E: Float, T> Scores for Tensor<(C,), E, T> {
    type Elem = E;
    type One = usize;
    type Many = Indices<(usize,)>;
    fn classes(&self) -> usize {
        self.shape.0.size()
    }
    fn scores(&self) -> &[E] {
        self.as_slice()
    }
    fn one(&self, picks: Vec<usize>) -> usize {
        picks[0]
    }
    fn many(&self, picks: Vec<usize>, n: usize) -> Indices<(usize,)> {
        Indices::from_parts((n,), picks)
    }
}

impl<B: Dim, C: Dim, E: Float, T> sealed::Sealed for Tensor<(B, C), E, T> {}
impl<B: Dim, C: Dim, E: Float, T> Scores for Tensor<(B, C), E, T> {
    type Elem = E;
    type One = Indices<(B,)>;
    type Many = Indices<(B, usize)>;
    fn classes(&self) -> usize {
        self.shape.1.size()
    }
    fn scores(&self) -> &[E] {
        self.as_slice()
    }
    fn one(&self, picks: Vec<usize>) -> Indices<(B,)> {
        Indices::from_parts((self.shape.0,), picks)
    }
    fn many(&self, picks: Vec<usize>, n: usize) -> Indices<(B, usize)> {
        Indices::from_parts((self.shape.0, n), picks)
    }
}

/// The rows of `x`, or an error when there are no classes to choose from.
fn rows<X: Scores + ?Sized>(x: &X, what: &str) -> Result<Vec<Vec<f64>>> {
    let c = x.classes();
    if c == 0 {
        return Err(Error::value(
            what,
            "there are no classes to choose from (size 0)",
        ));
    }
    Ok(x.scores()
        .chunks(c)
        .map(|r| r.iter().map(|v| v.to_f64()).collect())
        .collect())
}

/// Rejects NaN and `+inf` logits, and rows in which every class is masked with `-inf`.
fn check_logits(rows: &[Vec<f64>]) -> Result<()> {
    for (r, row) in rows.iter().enumerate() {
        if let Some(c) = row.iter().position(|v| v.is_nan() || *v == f64::INFINITY) {
            return Err(Error::value(
                "logits",
                format!(
                    "{} at row {r}, class {c} (logits must be finite or -inf)",
                    row[c]
                ),
            ));
        }
        if row.iter().all(|v| *v == f64::NEG_INFINITY) {
            return Err(Error::value(
                "logits",
                format!("every class of row {r} is -inf"),
            ));
        }
    }
    Ok(())
}

fn check_temperature(t: f64) -> Result<()> {
    if t > 0.0 && t.is_finite() {
        Ok(())
    } else {
        Err(Error::value(
            "temperature",
            format!("{t} is not a positive finite number"),
        ))
    }
}

fn check_k(k: usize) -> Result<()> {
    if k == 0 {
        Err(Error::value(
            "top_k",
            "k = 0 keeps no class; it must be at least 1",
        ))
    } else {
        Ok(())
    }
}

fn check_p(p: f64) -> Result<()> {
    if p > 0.0 && p <= 1.0 {
        Ok(())
    } else {
        Err(Error::value("top_p", format!("p = {p} is not in (0, 1]")))
    }
}

/// The first index of the largest value (`-inf` loses to any finite value).
fn argmax(row: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

/// `softmax(row / t)` in f64, without normalising: relative weights, the largest being 1.
fn weights(row: &[f64], t: f64) -> Vec<f64> {
    let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    row.iter().map(|&v| ((v - m) / t).exp()).collect()
}

/// Zeroes every weight outside the `k` largest (ties go to the lower index).
fn keep_top_k(w: &mut [f64], k: usize) {
    if k >= w.len() {
        return;
    }
    let mut order: Vec<usize> = (0..w.len()).collect();
    // A total order (weight, then index) makes the selection deterministic; selecting
    // instead of sorting keeps large vocabularies linear.
    order.select_nth_unstable_by(k - 1, |&a, &b| w[b].total_cmp(&w[a]).then(a.cmp(&b)));
    for &i in &order[k..] {
        w[i] = 0.0;
    }
}

/// Zeroes every weight outside the smallest set of most likely classes whose probability
/// reaches `p` (at least one class is always kept).
fn keep_top_p(w: &mut [f64], p: f64) {
    let total: f64 = w.iter().sum();
    let mut order: Vec<usize> = (0..w.len()).collect();
    order.sort_by(|&a, &b| w[b].total_cmp(&w[a]));
    let mut cum = 0.0;
    let mut kept = order.len();
    for (n, &i) in order.iter().enumerate() {
        cum += w[i] / total;
        if cum >= p {
            kept = n + 1;
            break;
        }
    }
    for &i in &order[kept..] {
        w[i] = 0.0;
    }
}

/// One index drawn with probability proportional to its (non-negative) weight; weights sum
/// to more than 0. Zero weights are never drawn.
fn draw<R: Rng + ?Sized>(w: &[f64], rng: &mut R) -> usize {
    let total: f64 = w.iter().sum();
    let u = rng.random::<f64>() * total;
    let mut cum = 0.0;
    for (i, &x) in w.iter().enumerate() {
        cum += x;
        if u < cum {
            return i;
        }
    }
    // Rounding can leave u just above the last partial sum: take the last possible class.
    w.iter().rposition(|&x| x > 0.0).unwrap_or(0)
}

/// The most likely class of every row (argmax; ties go to the lower index). No randomness.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::sample::greedy;
/// let logits = Tensor::<Rank2<2, 3>>::from_array([[0.1, 3.0, 0.2], [5.0, 1.0, 5.0]]);
/// assert_eq!(greedy(&logits).unwrap().as_slice(), &[1, 0]);
/// let bad = Tensor::<Rank1<2>>::from_array([f32::NAN, 0.0]);
/// assert!(greedy(&bad).unwrap_err().to_string().contains("NaN at row 0, class 0"));
/// ```
pub fn greedy<X: Scores + ?Sized>(logits: &X) -> Result<X::One> {
    let rows = rows(logits, "logits")?;
    check_logits(&rows)?;
    Ok(logits.one(rows.iter().map(|r| argmax(r)).collect()))
}

/// A class drawn from `softmax(logits / temperature)` for every row: below 1 sharpens the
/// distribution towards [`greedy`], above 1 flattens it. An error unless `temperature > 0`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::sample::temperature;
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(1);
/// let logits = Tensor::<Rank1<3>>::from_array([1.0, 2.0, 3.0]);
/// assert!(temperature(&logits, 0.7, &mut rng).unwrap() < 3);
/// let err = temperature(&logits, 0.0, &mut rng).unwrap_err();
/// assert!(err.to_string().contains("temperature: 0 is not a positive finite number"));
/// ```
pub fn temperature<X: Scores + ?Sized, R: Rng + ?Sized>(
    logits: &X,
    temperature: f64,
    rng: &mut R,
) -> Result<X::One> {
    Sampler::new().temperature(temperature).sample(logits, rng)
}

/// A class drawn from the `k` most likely classes of every row, with probabilities
/// `softmax(logits)` renormalised over them; `k` larger than the class count keeps all.
/// An error if `k = 0`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::sample::top_k;
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(2);
/// let logits = Tensor::<Rank1<4>>::from_array([0.0, 5.0, 4.0, 1.0]);
/// for _ in 0..100 {
///     assert!([1, 2].contains(&top_k(&logits, 2, &mut rng).unwrap()));
/// }
/// assert!(top_k(&logits, 0, &mut rng).unwrap_err().to_string().contains("k = 0"));
/// ```
pub fn top_k<X: Scores + ?Sized, R: Rng + ?Sized>(
    logits: &X,
    k: usize,
    rng: &mut R,
) -> Result<X::One> {
    Sampler::new().top_k(k).sample(logits, rng)
}

/// Nucleus sampling: a class drawn from the smallest set of most likely classes whose total
/// probability reaches `p`, renormalised; `p = 1` keeps every class. An error unless
/// `0 < p <= 1`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::sample::top_p;
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(3);
/// // probabilities 0.5, 0.3, 0.2: p = 0.6 keeps the first two
/// let logits = Tensor::<Rank1<3>>::from_array([0.5f32.ln(), 0.3f32.ln(), 0.2f32.ln()]);
/// for _ in 0..100 {
///     assert!(top_p(&logits, 0.6, &mut rng).unwrap() < 2);
/// }
/// assert!(top_p(&logits, 1.5, &mut rng).unwrap_err().to_string().contains("p = 1.5"));
/// ```
pub fn top_p<X: Scores + ?Sized, R: Rng + ?Sized>(
    logits: &X,
    p: f64,
    rng: &mut R,
) -> Result<X::One> {
    Sampler::new().top_p(p).sample(logits, rng)
}

/// Checks that every row is a probability distribution: finite, non-negative, summing to 1
/// within [`PROB_SUM_TOLERANCE`].
fn prob_rows<X: Scores + ?Sized>(probs: &X) -> Result<Vec<Vec<f64>>> {
    let rows = rows(probs, "probabilities")?;
    for (r, row) in rows.iter().enumerate() {
        if let Some(c) = row.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
            return Err(Error::value(
                "probabilities",
                format!(
                    "{} at row {r}, class {c} is not a probability (negative or not finite)",
                    row[c]
                ),
            ));
        }
        let sum: f64 = row.iter().sum();
        if (sum - 1.0).abs() > PROB_SUM_TOLERANCE {
            return Err(Error::value(
                "probabilities",
                format!("row {r} sums to {sum}, not 1 (tolerance {PROB_SUM_TOLERANCE})"),
            ));
        }
    }
    Ok(rows)
}

/// One class drawn from every row of probabilities (`torch.multinomial(probs, 1)`). An
/// error names any probability that is negative or not finite, and any row whose sum is
/// not 1 within [`PROB_SUM_TOLERANCE`].
///
/// ```
/// use shaped::prelude::*;
/// use shaped::sample::multinomial;
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(4);
/// let probs = Tensor::<Rank2<2, 3>>::from_array([[0.0, 1.0, 0.0], [0.5, 0.0, 0.5]]);
/// let picks = multinomial(&probs, &mut rng).unwrap();
/// assert_eq!(picks.as_slice()[0], 1);
/// assert_ne!(picks.as_slice()[1], 1);
/// let bad = Tensor::<Rank1<2>>::from_array([0.5, 0.4]);
/// assert!(multinomial(&bad, &mut rng).unwrap_err().to_string().contains("sums to 0.9"));
/// ```
pub fn multinomial<X: Scores + ?Sized, R: Rng + ?Sized>(probs: &X, rng: &mut R) -> Result<X::One> {
    let rows = prob_rows(probs)?;
    Ok(probs.one(rows.iter().map(|r| draw(r, rng)).collect()))
}

/// `n` classes drawn with replacement from every row of probabilities
/// (`torch.multinomial(probs, n, replacement=True)`), row-major: `Indices<(usize,)>` for one
/// distribution, `Indices<(B, usize)>` for a batch. Checked as [`multinomial`].
///
/// ```
/// use shaped::prelude::*;
/// use shaped::sample::multinomial_n;
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(5);
/// let probs = Tensor::<Rank1<3>>::from_array([0.2, 0.0, 0.8]);
/// let draws = multinomial_n(&probs, 1000, &mut rng).unwrap();
/// assert_eq!(draws.numel(), 1000);
/// assert!(draws.as_slice().iter().all(|&i| i != 1));
/// ```
pub fn multinomial_n<X: Scores + ?Sized, R: Rng + ?Sized>(
    probs: &X,
    n: usize,
    rng: &mut R,
) -> Result<X::Many> {
    let rows = prob_rows(probs)?;
    let mut picks = Vec::with_capacity(rows.len() * n);
    for r in &rows {
        picks.extend((0..n).map(|_| draw(r, rng)));
    }
    Ok(probs.many(picks, n))
}

/// A sampling recipe applied to logits in the usual order: divide by the temperature, keep
/// the top `k`, keep the nucleus of probability `p`, then draw (or take the argmax when
/// [`greedy`](Sampler::greedy)). Values are checked when sampling.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::sample::Sampler;
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(6);
/// let logits = Tensor::<Rank1<5>>::from_array([3.0, 2.9, 0.0, -1.0, -2.0]);
/// let s = Sampler::new().temperature(0.5).top_k(2);
/// assert!(s.sample(&logits, &mut rng).unwrap() < 2);
/// assert_eq!(Sampler::greedy().sample(&logits, &mut rng).unwrap(), 0);
/// assert!(Sampler::new().temperature(-1.0).sample(&logits, &mut rng).is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sampler {
    /// Divides the logits before the softmax (1 = unchanged).
    pub temperature: f64,
    /// Keep only the `k` most likely classes.
    pub top_k: Option<usize>,
    /// Keep only the smallest set of most likely classes of total probability `p`.
    pub top_p: Option<f64>,
    /// Ignore the rest and take the most likely class.
    pub greedy: bool,
}

impl Default for Sampler {
    fn default() -> Self {
        Sampler::new()
    }
}

impl Sampler {
    /// Plain sampling from `softmax(logits)`: temperature 1, no top-k, no top-p.
    ///
    /// ```
    /// let s = shaped::sample::Sampler::new();
    /// assert_eq!((s.temperature, s.top_k, s.top_p), (1.0, None, None));
    /// ```
    pub fn new() -> Self {
        Sampler {
            temperature: 1.0,
            top_k: None,
            top_p: None,
            greedy: false,
        }
    }
    /// Always the most likely class (argmax), whatever else is set.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use rand::SeedableRng;
    /// let logits = Tensor::<Rank1<2>>::from_array([0.0, 1.0]);
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// assert_eq!(shaped::sample::Sampler::greedy().sample(&logits, &mut rng).unwrap(), 1);
    /// ```
    pub fn greedy() -> Self {
        Sampler {
            greedy: true,
            ..Sampler::new()
        }
    }
    /// Sets the temperature, which must be positive.
    ///
    /// ```
    /// assert_eq!(shaped::sample::Sampler::new().temperature(0.7).temperature, 0.7);
    /// ```
    pub fn temperature(mut self, t: f64) -> Self {
        self.temperature = t;
        self
    }
    /// Keeps the `k` most likely classes (at least 1).
    ///
    /// ```
    /// assert_eq!(shaped::sample::Sampler::new().top_k(40).top_k, Some(40));
    /// ```
    pub fn top_k(mut self, k: usize) -> Self {
        self.top_k = Some(k);
        self
    }
    /// Keeps the nucleus of total probability `p`, in `(0, 1]`.
    ///
    /// ```
    /// assert_eq!(shaped::sample::Sampler::new().top_p(0.9).top_p, Some(0.9));
    /// ```
    pub fn top_p(mut self, p: f64) -> Self {
        self.top_p = Some(p);
        self
    }
    /// An error naming the first setting that is out of range.
    ///
    /// ```
    /// use shaped::sample::Sampler;
    /// assert!(Sampler::new().top_k(5).check().is_ok());
    /// assert!(Sampler::new().top_p(0.0).check().is_err());
    /// ```
    pub fn check(&self) -> Result<()> {
        check_temperature(self.temperature)?;
        if let Some(k) = self.top_k {
            check_k(k)?;
        }
        if let Some(p) = self.top_p {
            check_p(p)?;
        }
        Ok(())
    }
    /// The probabilities this recipe draws from for one row of logits (zeros outside the
    /// kept classes), after the same checks as [`sample`](Sampler::sample).
    ///
    /// ```
    /// use shaped::sample::Sampler;
    /// let p = Sampler::new().top_k(2).probabilities(&[1.0f32, 1.0, 0.0]).unwrap();
    /// assert_eq!(p, vec![0.5, 0.5, 0.0]);
    /// ```
    pub fn probabilities<E: Float>(&self, logits: &[E]) -> Result<Vec<f64>> {
        self.check()?;
        if logits.is_empty() {
            return Err(Error::value(
                "logits",
                "there are no classes to choose from (size 0)",
            ));
        }
        let row: Vec<f64> = logits.iter().map(|v| v.to_f64()).collect();
        check_logits(std::slice::from_ref(&row))?;
        let mut w = self.weights(&row);
        let total: f64 = w.iter().sum();
        w.iter_mut().for_each(|x| *x /= total);
        Ok(w)
    }
    /// Unnormalised weights of one checked row.
    fn weights(&self, row: &[f64]) -> Vec<f64> {
        if self.greedy {
            let mut w = vec![0.0; row.len()];
            w[argmax(row)] = 1.0;
            return w;
        }
        let mut w = weights(row, self.temperature);
        if let Some(k) = self.top_k {
            keep_top_k(&mut w, k);
        }
        if let Some(p) = self.top_p {
            keep_top_p(&mut w, p);
        }
        w
    }
    /// One class per row of `logits`: `usize` for `(C,)`, `Indices<(B,)>` for `(B, C)`.
    /// An error names a setting out of range or a NaN / `+inf` logit.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::sample::Sampler;
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    /// let logits = Tensor::<(usize, Const<3>)>::zeros_with_shape((4, Const));
    /// let picks = Sampler::new().sample(&logits, &mut rng).unwrap();
    /// assert_eq!(picks.numel(), 4);
    /// ```
    pub fn sample<X: Scores + ?Sized, R: Rng + ?Sized>(
        &self,
        logits: &X,
        rng: &mut R,
    ) -> Result<X::One> {
        self.check()?;
        let rows = rows(logits, "logits")?;
        check_logits(&rows)?;
        let picks = rows
            .iter()
            .map(|r| {
                if self.greedy {
                    argmax(r)
                } else {
                    draw(&self.weights(r), rng)
                }
            })
            .collect();
        Ok(logits.one(picks))
    }
}
