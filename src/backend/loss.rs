//! Loops of the loss ops with a constant input: loss weights with ignored targets masked out,
//! BCE on logits with `pos_weight`, and the per-sample index logic of the multi-class and
//! multi-label margin losses (value and gradient).
//! Losses are small next to the layers that feed them, so these run on one thread.

use crate::dtype::Float;

/// `f(a[i], b[i], c[i])` for every element.
pub(crate) fn map3<E: Float>(a: &[E], b: &[E], c: &[E], f: impl Fn(E, E, E) -> E) -> Vec<E> {
    a.iter()
        .zip(b)
        .zip(c)
        .map(|((&a, &b), &c)| f(a, b, c))
        .collect()
}

/// `g[i] * d(a[i], b[i], c[i])` for every element: the gradient of one input.
pub(crate) fn derivative_product3<E: Float>(
    g: &[E],
    a: &[E],
    b: &[E],
    c: &[E],
    d: impl Fn(E, E, E) -> E,
) -> Vec<E> {
    g.iter()
        .zip(a.iter().zip(b).zip(c))
        .map(|(&g, ((&a, &b), &c))| g * d(a, b, c))
        .collect()
}

/// `a[i] * w[i]`, or 0 where `keep[i]` is false.
pub(crate) fn masked_mul<E: Float>(a: &[E], w: &[E], keep: Option<&[bool]>) -> Vec<E> {
    match keep {
        None => a.iter().zip(w).map(|(&a, &w)| a * w).collect(),
        Some(keep) => a
            .iter()
            .zip(w)
            .zip(keep)
            .map(|((&a, &w), &k)| if k { a * w } else { E::ZERO })
            .collect(),
    }
}

/// The arguments of the multi-class margin loss (`MultiMarginLoss`) over `x`, rows of
/// `classes` scores: one label per row (checked below `classes`), the power `p` (1 or 2,
/// checked), the margin and the optional class weights (`classes` of them, checked).
pub(crate) struct MultiMargin<'a, E> {
    pub(crate) classes: usize,
    pub(crate) labels: &'a [usize],
    pub(crate) squared: bool,
    pub(crate) margin: E,
    pub(crate) weight: Option<&'a [E]>,
}

impl<E: Float> MultiMargin<'_, E> {
    /// `margin - x[y] + x[i]` of a row whose label is `y`.
    #[inline(always)]
    fn hinge(&self, row: &[E], y: usize, i: usize) -> E {
        self.margin - row[y] + row[i]
    }

    fn label_weight(&self, y: usize) -> E {
        self.weight.map_or(E::ONE, |w| w[y])
    }

    /// The loss of every row: `sum_{i != y} w[y] max(0, margin - x[y] + x[i])^p / classes`,
    /// PyTorch's CPU kernel term for term (the sum in class order, then the division).
    pub(crate) fn forward(&self, x: &[E]) -> Vec<E> {
        let c = E::from_f64(self.classes as f64);
        x.chunks_exact(self.classes)
            .zip(self.labels)
            .map(|(row, &y)| {
                let w = self.label_weight(y);
                let mut sum = E::ZERO;
                for i in (0..self.classes).filter(|&i| i != y) {
                    let z = self.hinge(row, y, i);
                    if z > E::ZERO {
                        let h = if self.squared { z * z } else { z };
                        sum += w * h;
                    }
                }
                sum / c
            })
            .collect()
    }

    /// The gradient of `sum_r gy[r] loss[r]` with respect to `x`: `gy w[y] p z^(p-1) / classes`
    /// at every class `i != y` whose hinge `z` is positive, minus their sum at `y`.
    pub(crate) fn backward(&self, gy: &[E], x: &[E]) -> Vec<E> {
        let c = E::from_f64(self.classes as f64);
        let mut grad = vec![E::ZERO; x.len()];
        for ((row, g), (&y, &gy)) in x
            .chunks_exact(self.classes)
            .zip(grad.chunks_exact_mut(self.classes))
            .zip(self.labels.iter().zip(gy))
        {
            let scale = gy * self.label_weight(y) / c;
            let mut at_label = E::ZERO;
            for i in (0..self.classes).filter(|&i| i != y) {
                let z = self.hinge(row, y, i);
                if z > E::ZERO {
                    let d = if self.squared {
                        E::from_f64(2.0) * z
                    } else {
                        E::ONE
                    };
                    g[i] = scale * d;
                    at_label -= scale * d;
                }
            }
            g[y] = at_label;
        }
        grad
    }
}

/// The target classes of each row of a multi-label margin loss (`MultiLabelMarginLoss`):
/// the entries of the row's target before its first negative one (`-1`; entries are
/// checked to lie in `-1..classes`), repeats kept, and a mask of the classes they name,
/// written into buffers reused from row to row.
#[derive(Default)]
struct TargetRow {
    listed: Vec<usize>,
    is_target: Vec<bool>,
}

impl TargetRow {
    fn read(&mut self, target: &[i64], classes: usize) -> (&[usize], &[bool]) {
        self.listed.clear();
        self.listed
            .extend(target.iter().take_while(|&&t| t >= 0).map(|&t| t as usize));
        self.is_target.clear();
        self.is_target.resize(classes, false);
        for &t in &self.listed {
            self.is_target[t] = true;
        }
        (&self.listed, &self.is_target)
    }
}

/// The loss of every row of `x` (rows of `classes` scores) against `target` (rows of
/// `classes` class indices, each list ended by its first `-1`):
/// `sum_{j listed} sum_{i not a target} max(0, 1 - (x[j] - x[i])) / classes`, PyTorch's CPU
/// kernel term for term.
pub(crate) fn multilabel_margin<E: Float>(x: &[E], target: &[i64], classes: usize) -> Vec<E> {
    let c = E::from_f64(classes as f64);
    let mut rows = TargetRow::default();
    x.chunks_exact(classes)
        .zip(target.chunks_exact(classes))
        .map(|(row, t)| {
            let (listed, is_target) = rows.read(t, classes);
            let mut sum = E::ZERO;
            for &j in listed {
                for i in (0..classes).filter(|&i| !is_target[i]) {
                    let z = E::ONE - row[j] + row[i];
                    if z > E::ZERO {
                        sum += z;
                    }
                }
            }
            sum / c
        })
        .collect()
}

/// The gradient of `sum_r gy[r] loss[r]` for [`multilabel_margin`]: `gy / classes` at each
/// non-target class `i` per positive hinge, and minus that at the listed class `j`.
pub(crate) fn multilabel_margin_grad<E: Float>(
    gy: &[E],
    x: &[E],
    target: &[i64],
    classes: usize,
) -> Vec<E> {
    let c = E::from_f64(classes as f64);
    let mut rows = TargetRow::default();
    let mut grad = vec![E::ZERO; x.len()];
    for ((row, g), (t, &gy)) in x
        .chunks_exact(classes)
        .zip(grad.chunks_exact_mut(classes))
        .zip(target.chunks_exact(classes).zip(gy))
    {
        let (listed, is_target) = rows.read(t, classes);
        let step = gy / c;
        for &j in listed {
            for i in (0..classes).filter(|&i| !is_target[i]) {
                if E::ONE - row[j] + row[i] > E::ZERO {
                    g[i] += step;
                    g[j] -= step;
                }
            }
        }
    }
    grad
}
