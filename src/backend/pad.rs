//! Padding along one axis: constant, reflect and replicate, as `torch.nn.functional.pad`.
//! Padding several axes is this applied once per axis (every mode is separable).

use crate::dtype::Float;

/// How the new border elements are filled.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum PadFill<E> {
    /// A fixed value.
    Constant(E),
    /// The mirror image without repeating the edge: `[a b c]` padded by 2 is `c b [a b c] b a`.
    Reflect,
    /// The edge element repeated.
    Replicate,
}

/// The input position an output position `j` of a line of `n` padded by `left` copies, or
/// `None` for a constant border. Reflect needs `left, right < n` (checked by the caller).
#[inline]
fn source<E>(fill: PadFill<E>, j: usize, left: usize, n: usize) -> Option<usize> {
    let p = j as isize - left as isize;
    let last = n as isize - 1;
    match fill {
        PadFill::Constant(_) => (0..n as isize).contains(&p).then_some(p as usize),
        PadFill::Reflect => {
            let r = if p < 0 {
                -p
            } else if p > last {
                2 * last - p
            } else {
                p
            };
            Some(r as usize)
        }
        PadFill::Replicate => Some(p.clamp(0, last) as usize),
    }
}

/// `x` seen as `[outer, n, inner]` padded along the middle axis to
/// `[outer, left + n + right, inner]`.
pub(crate) fn pad_axis<E: Float>(
    x: &[E],
    outer: usize,
    n: usize,
    inner: usize,
    left: usize,
    right: usize,
    fill: PadFill<E>,
) -> Vec<E> {
    let m = left + n + right;
    let value = match fill {
        PadFill::Constant(v) => v,
        _ => E::ZERO,
    };
    let mut out = Vec::with_capacity(outer * m * inner);
    for o in 0..outer {
        for j in 0..m {
            match source(fill, j, left, n) {
                Some(p) => {
                    let at = (o * n + p) * inner;
                    out.extend_from_slice(&x[at..at + inner]);
                }
                None => out.extend(core::iter::repeat_n(value, inner)),
            }
        }
    }
    out
}

/// The backward of [`pad_axis`]: each output gradient goes to the input element it copied,
/// so reflected and replicated elements accumulate several.
#[allow(clippy::too_many_arguments)]
pub(crate) fn pad_axis_backward<E: Float>(
    acc: &mut [E],
    g: &[E],
    outer: usize,
    n: usize,
    inner: usize,
    left: usize,
    right: usize,
    fill: PadFill<E>,
) {
    let m = left + n + right;
    for o in 0..outer {
        for j in 0..m {
            if let Some(p) = source(fill, j, left, n) {
                let src = &g[(o * m + j) * inner..(o * m + j + 1) * inner];
                let at = (o * n + p) * inner;
                for (a, &v) in acc[at..at + inner].iter_mut().zip(src) {
                    *a += v;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_on_one_line() {
        let x = [1.0f32, 2.0, 3.0];
        let pad = |f| pad_axis(&x, 1, 3, 1, 2, 2, f);
        assert_eq!(
            pad(PadFill::Constant(0.5)),
            vec![0.5, 0.5, 1., 2., 3., 0.5, 0.5]
        );
        assert_eq!(pad(PadFill::Reflect), vec![3., 2., 1., 2., 3., 2., 1.]);
        assert_eq!(pad(PadFill::Replicate), vec![1., 1., 1., 2., 3., 3., 3.]);
        let mut g = [0.0f32; 3];
        pad_axis_backward(&mut g, &[1.0; 7], 1, 3, 1, 2, 2, PadFill::Replicate);
        assert_eq!(g, [3.0, 1.0, 3.0]);
        let mut g = [0.0f32; 3];
        pad_axis_backward(&mut g, &[1.0; 7], 1, 3, 1, 2, 2, PadFill::Reflect);
        assert_eq!(g, [2.0, 3.0, 2.0]);
    }
}
