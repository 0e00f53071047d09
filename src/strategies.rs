//! [proptest] strategies for tensors: random values, random run-time shapes, and values
//! kept away from the points where an op is not differentiable.
//!
//! ```
//! use proptest::prelude::*;
//! use shaped::gradcheck::{gradcheck_vjp, GradcheckOptions};
//! use shaped::prelude::*;
//! use shaped::strategies::{away_from, tensor};
//!
//! proptest!(|(x in tensor::<Rank2<2, 3>, f64>(away_from(-2.0..2.0, &[0.0], 1e-3)))| {
//!     prop_assert!(gradcheck_vjp(&x, |x| x.relu(), GradcheckOptions::default()).is_ok());
//! });
//! ```

use crate::dtype::Float;
use crate::shape::{ConstShape, Shape};
use crate::tensor::Tensor;
use core::ops::RangeInclusive;
use proptest::collection::{SizeRange, vec};
use proptest::strategy::Strategy;

/// Tensors of a static shape whose elements are drawn from `values` (a range such as
/// `-1.0..1.0`, or any cloneable strategy for one element).
///
/// ```
/// use proptest::prelude::*;
/// use shaped::prelude::*;
/// use shaped::strategies::tensor;
///
/// proptest!(|(x in tensor::<Rank2<2, 3>, f64>(0.5..2.0))| {
///     prop_assert!(x.as_slice().iter().all(|v| (0.5..2.0).contains(v)));
/// });
/// ```
pub fn tensor<S: ConstShape, E: Float>(
    values: impl Strategy<Value = E> + Clone,
) -> impl Strategy<Value = Tensor<S, E>> + Clone {
    tensor_with_shape(S::default(), values)
}

/// Tensors of a given shape, which may have run-time dimensions. Combine it with
/// [`shape`] and `prop_flat_map` for tensors of random sizes (every strategy here is
/// `Clone`, so the values strategy can be cloned into the closure).
///
/// ```
/// use proptest::prelude::*;
/// use shaped::prelude::*;
/// use shaped::strategies::{shape, tensor_with_shape};
///
/// let matrices = shape::<(usize, usize)>(1..=4).prop_flat_map(|s| tensor_with_shape(s, -1.0f64..1.0));
/// proptest!(|(x in matrices)| {
///     let (m, n) = *x.shape();
///     prop_assert!((1..=4).contains(&m) && (1..=4).contains(&n));
///     prop_assert_eq!(x.numel(), m * n);
/// });
/// ```
pub fn tensor_with_shape<S: Shape, E: Float>(
    shape: S,
    values: impl Strategy<Value = E> + Clone,
) -> impl Strategy<Value = Tensor<S, E>> + Clone {
    vec(values, shape.numel()).prop_map(move |data| {
        Tensor::from_vec_with_shape(data, shape).expect("one value per element")
    })
}

/// `rank` sizes, each drawn from `sizes` (`1..=5`, `2..6`, or one fixed size): the dims
/// of a random shape.
///
/// ```
/// use proptest::prelude::*;
/// use shaped::shape::{DynShape, Shape};
/// use shaped::strategies::dims;
///
/// proptest!(|(d in dims(3, 1..=5))| {
///     prop_assert_eq!(DynShape::new(&d).unwrap().dims().rank(), 3);
/// });
/// ```
pub fn dims(rank: usize, sizes: impl Into<SizeRange>) -> impl Strategy<Value = Vec<usize>> + Clone {
    vec(size_strategy(sizes), rank)
}

/// Shapes of type `S` whose run-time (`usize`) dimensions are drawn from `sizes`; static
/// dimensions keep their size. Sizes a computed dimension cannot take (an odd size for
/// `Prod<Const<2>, usize>`) are rejected and drawn again. A `Const<0>` axis is taken for a
/// run-time one and never fits: shapes with one are not supported.
///
/// ```
/// use proptest::prelude::*;
/// use shaped::prelude::*;
/// use shaped::strategies::shape;
///
/// proptest!(|(s in shape::<(usize, Const<3>)>(2..=5))| {
///     prop_assert!((2..=5).contains(&s.0));
/// });
/// ```
pub fn shape<S: Shape + Default>(sizes: impl Into<SizeRange>) -> impl Strategy<Value = S> + Clone {
    // `Default` gives every static dimension its size and every run-time one 0, which marks
    // the axes to draw.
    let template = S::default().dims();
    vec(size_strategy(sizes), template.rank()).prop_filter_map(
        "the shape cannot take these sizes",
        move |drawn| {
            let sizes: Vec<usize> = template
                .iter()
                .zip(drawn)
                .map(|(&t, d)| if t == 0 { d } else { t })
                .collect();
            S::from_dims(&sizes)
        },
    )
}

/// `SizeRange` rather than a strategy, so that `1..=5` infers `usize`.
fn size_strategy(sizes: impl Into<SizeRange>) -> RangeInclusive<usize> {
    let (lo, hi) = sizes.into().start_end_incl();
    lo..=hi
}

/// Values from `values` that are at least `margin` away from every one of `points`: keeps
/// inputs off kinks and jumps, such as 0 for `relu` and `abs` or the bounds of `clamp`,
/// where a finite difference straddles two branches. Make `margin` well above the
/// gradient check's step.
///
/// ```
/// use proptest::prelude::*;
/// use shaped::strategies::away_from;
///
/// proptest!(|(x in away_from(-1.0f64..1.0, &[-0.5, 0.5], 0.01))| {
///     prop_assert!((x - 0.5).abs() >= 0.01 && (x + 0.5).abs() >= 0.01);
/// });
/// ```
pub fn away_from<E: Float, V: Strategy<Value = E> + Clone>(
    values: V,
    points: &[E],
    margin: E,
) -> impl Strategy<Value = E> + Clone + use<E, V> {
    let points = points.to_vec();
    values.prop_filter("too close to a non-differentiable point", move |&v| {
        points.iter().all(|&p| (v - p).abs() >= margin)
    })
}

/// Tensors whose elements all differ pairwise by at least `gap`: max, min, sorting and
/// pooling are not differentiable at ties, so a gradient check needs their inputs to have
/// none, not even within its step.
///
/// ```
/// use proptest::prelude::*;
/// use shaped::prelude::*;
/// use shaped::strategies::{distinct, tensor};
///
/// proptest!(|(x in distinct(tensor::<Rank1<5>, f64>(-1.0..1.0), 1e-4))| {
///     let mut v = x.to_vec();
///     v.sort_by(f64::total_cmp);
///     prop_assert!(v.windows(2).all(|w| w[1] - w[0] >= 1e-4));
/// });
/// ```
pub fn distinct<S: Shape, E: Float>(
    tensors: impl Strategy<Value = Tensor<S, E>> + Clone,
    gap: E,
) -> impl Strategy<Value = Tensor<S, E>> + Clone {
    tensors.prop_filter("two elements are closer than the gap", move |t| {
        let mut v = t.to_vec();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(core::cmp::Ordering::Equal));
        v.windows(2).all(|w| w[1] - w[0] >= gap)
    })
}
