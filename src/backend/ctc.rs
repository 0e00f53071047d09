//! The connectionist temporal classification loss (`CTCLoss`): the forward (alpha) and
//! backward (beta) recursions in log space over each sample's extended label sequence `l'`
//! (the target with a blank before, between and after its labels, `2 S + 1` states), term
//! for term as PyTorch's CPU kernel (`aten/src/ATen/native/LossCTC.cpp`), so that the values
//! and gradients agree to rounding. One sample after another, in the element type.

use crate::dtype::Float;

/// A checked CTC problem: log-probabilities laid out `(T, N, C)` row-major, each sample's
/// input length `<= T` and its labels (each `< C` and not `blank`).
pub(crate) struct CtcProblem {
    /// `T`, the time steps of the input.
    pub(crate) time: usize,
    /// `N`, the samples.
    pub(crate) batch: usize,
    /// `C`, the classes (blank included).
    pub(crate) classes: usize,
    /// The blank class.
    pub(crate) blank: usize,
    /// The time steps each sample uses.
    pub(crate) input_lengths: Vec<usize>,
    /// The labels of each sample (its target length of them).
    pub(crate) targets: Vec<Vec<usize>>,
}

impl CtcProblem {
    /// The class of state `s` of sample `n`'s extended sequence: blank at even `s`.
    #[inline(always)]
    fn prime(&self, n: usize, s: usize) -> usize {
        if s.is_multiple_of(2) {
            self.blank
        } else {
            self.targets[n][s / 2]
        }
    }

    /// The log-probability of class `c` at time `t` for sample `n`.
    #[inline(always)]
    fn lp<E: Float>(&self, lp: &[E], t: usize, n: usize, c: usize) -> E {
        lp[(t * self.batch + n) * self.classes + c]
    }

    /// `log(exp(a) + exp(b) + exp(c))` as PyTorch: shifted by the largest, which counts as 0
    /// when every term is `-inf` (the result is then `-inf`, never NaN).
    #[inline(always)]
    fn lse3<E: Float>(a: E, b: E, c: E) -> E {
        let mut m = a;
        if b > m {
            m = b;
        }
        if c > m {
            m = c;
        }
        if m == E::NEG_INFINITY {
            m = E::ZERO;
        }
        ((a - m).exp() + (b - m).exp() + (c - m).exp()).ln() + m
    }

    /// The log alphas of sample `n`: `input_length` rows of `2 S + 1` states.
    fn alpha<E: Float>(&self, lp: &[E], n: usize) -> Vec<E> {
        let (il, states) = (self.input_lengths[n], 2 * self.targets[n].len() + 1);
        let mut a = vec![E::NEG_INFINITY; il * states];
        if il == 0 {
            return a;
        }
        a[0] = self.lp(lp, 0, n, self.blank);
        if states > 1 {
            a[1] = self.lp(lp, 0, n, self.prime(n, 1));
        }
        for t in 1..il {
            let (prev, cur) = a.split_at_mut(t * states);
            let prev = &prev[(t - 1) * states..];
            for s in 0..states {
                let c = self.prime(n, s);
                let a1 = prev[s];
                let a2 = if s > 0 { prev[s - 1] } else { E::NEG_INFINITY };
                let a3 = if s > 1 && self.prime(n, s - 2) != c {
                    prev[s - 2]
                } else {
                    E::NEG_INFINITY
                };
                cur[s] = Self::lse3(a1, a2, a3) + self.lp(lp, t, n, c);
            }
        }
        a
    }

    /// `-log p(target | input)` of sample `n` from its alphas: `inf` when no alignment
    /// exists; 0 for an empty input and target, `inf` for an empty input only.
    fn nll_from_alpha<E: Float>(&self, alpha: &[E], n: usize) -> E {
        let (il, tl) = (self.input_lengths[n], self.targets[n].len());
        if il == 0 {
            return if tl == 0 { E::ZERO } else { E::INFINITY };
        }
        let last = &alpha[(il - 1) * (2 * tl + 1)..];
        let l1 = last[2 * tl];
        let l2 = if tl > 0 {
            last[2 * tl - 1]
        } else {
            E::NEG_INFINITY
        };
        -Self::lse3(l1, l2, E::NEG_INFINITY)
    }

    /// The negative log-likelihood of every sample (`inf` where no alignment exists).
    pub(crate) fn nll<E: Float>(&self, lp: &[E]) -> Vec<E> {
        debug_assert_eq!(lp.len(), self.time * self.batch * self.classes);
        (0..self.batch)
            .map(|n| self.nll_from_alpha(&self.alpha(lp, n), n))
            .collect()
    }

    /// PyTorch's gradient for the log-probabilities, given the gradient `gy` of each
    /// sample's loss and `nll` from [`nll`](Self::nll): at `t < input_length`
    /// `gy (exp(lp[t, c]) - exp(log sum_{s: l'[s] = c} alpha_t(s) beta_t(s) + nll - lp[t, c]))`,
    /// which is the gradient for the logits before a `log_softmax` (the Jacobian of the
    /// log-softmax folded in), and 0 at later steps; 0 throughout for a sample whose `nll` is
    /// infinite when `zero_infinity`.
    pub(crate) fn grad<E: Float>(
        &self,
        lp: &[E],
        nll: &[E],
        gy: &[E],
        zero_infinity: bool,
    ) -> Vec<E> {
        let (batch, classes) = (self.batch, self.classes);
        let mut grad = vec![E::ZERO; lp.len()];
        // One sample's sums of alpha * beta per (t, c), in log space.
        let mut acc = Vec::new();
        for n in 0..batch {
            let il = self.input_lengths[n];
            if (zero_infinity && nll[n] == E::INFINITY) || il == 0 {
                continue;
            }
            let tl = self.targets[n].len();
            let states = 2 * tl + 1;
            let alpha = self.alpha(lp, n);
            let mut beta = vec![E::NEG_INFINITY; il * states];
            acc.clear();
            acc.resize(il * classes, E::NEG_INFINITY);
            let t = il - 1;
            beta[t * states + 2 * tl] = self.lp(lp, t, n, self.blank);
            acc[t * classes + self.blank] = alpha[t * states + 2 * tl] + beta[t * states + 2 * tl];
            if tl > 0 {
                let c = self.prime(n, 2 * tl - 1);
                let s = t * states + 2 * tl - 1;
                beta[s] = self.lp(lp, t, n, c);
                acc[t * classes + c] = alpha[s] + beta[s];
            }
            for t in (0..il - 1).rev() {
                let (cur, next) = beta.split_at_mut((t + 1) * states);
                let cur = &mut cur[t * states..];
                for s in 0..states {
                    let c = self.prime(n, s);
                    let b1 = next[s];
                    let b2 = if s < 2 * tl {
                        next[s + 1]
                    } else {
                        E::NEG_INFINITY
                    };
                    let b3 = if s + 1 < 2 * tl && self.prime(n, s + 2) != c {
                        next[s + 2]
                    } else {
                        E::NEG_INFINITY
                    };
                    let b = Self::lse3(b1, b2, b3) + self.lp(lp, t, n, c);
                    cur[s] = b;
                    let ab = alpha[t * states + s] + b;
                    let slot = &mut acc[t * classes + c];
                    if *slot == E::NEG_INFINITY {
                        *slot = ab;
                    } else {
                        let m = slot.max(ab);
                        *slot = ((*slot - m).exp() + (ab - m).exp()).ln() + m;
                    }
                }
            }
            let (nll, gy) = (nll[n], gy[n]);
            for t in 0..il {
                for c in 0..classes {
                    let i = (t * batch + n) * classes + c;
                    let l = lp[i];
                    grad[i] = (l.exp() - (acc[t * classes + c] + nll - l).exp()) * gy;
                }
            }
        }
        grad
    }
}
