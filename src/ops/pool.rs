//! Pooling over the last two axes of `(B, C, H, W)` or `(C, H, W)` tensors, or the last
//! axis of `(B, C, L)` or `(C, L)` ones: max and average pooling (PyTorch's floor mode,
//! output sizes computed by the types as [`PoolOut`]), and adaptive average and max pooling
//! to a fixed output size. The 1-D forms run the 2-D kernels on planes of one row.

use crate::autograd::{Gradients, Tape, UniqueId};
use crate::backend::adaptive_pool;
use crate::backend::pooling::{self as kernels, PoolGeom};
use crate::dtype::Float;
use crate::error::OrPanic;
use crate::error::Result;
use crate::ops::shape_ops::view_op;
use crate::shape::{Const, Dim, PoolOut, Shape};
use crate::tensor::Tensor;
use std::sync::Arc;

#[derive(Clone, Copy)]
enum Pool {
    Max,
    Avg,
    Adaptive,
    AdaptiveMax,
}

/// Pools `planes` planes of `g.h x g.w` into `out`, recording the backward step when `x`
/// is traced.
fn pool_op<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    out: SO,
    planes: usize,
    g: PoolGeom,
    kind: Pool,
) -> Tensor<SO, E, T> {
    let (x, mut tape) = x.split_tape();
    let track = T::TRACING && tape.tracks(x.id);
    let (y, idx) = match kind {
        Pool::Max if track => {
            let (y, idx) = kernels::max_pool2d_forward(&x.data, planes, &g);
            (y, Some(idx))
        }
        Pool::Max => (kernels::max_pool2d_values(&x.data, planes, &g), None),
        Pool::AdaptiveMax => {
            let (y, idx) = adaptive_pool::adaptive_max_pool2d_forward(
                &x.data,
                planes,
                (g.h, g.w),
                (g.oh, g.ow),
            );
            (y, track.then_some(idx))
        }
        Pool::Avg => (kernels::avg_pool2d_forward(&x.data, planes, &g), None),
        Pool::Adaptive => (
            adaptive_pool::adaptive_avg_pool2d_forward(&x.data, planes, g.h, g.w, g.oh, g.ow),
            None,
        ),
    };
    let out_id = UniqueId::new();
    if track {
        let (x_id, len) = (x.id, x.data.len());
        tape.record(
            out_id,
            Box::new(move |grads: &mut Gradients<E>| {
                let Some(gy) = grads.take(out_id) else { return };
                if let (Pool::Max | Pool::AdaptiveMax, Some(idx)) = (kind, idx.as_ref()) {
                    let (hw, ohw) = (g.h * g.w, g.oh * g.ow);
                    let gx = match grads.take(x_id) {
                        Some(mut gx) => {
                            kernels::max_pool2d_backward(&mut gx, &gy, idx, hw, ohw);
                            gx
                        }
                        None => {
                            kernels::max_pool2d_backward_new(&gy, idx, len / hw.max(1), hw, ohw)
                        }
                    };
                    grads.insert(x_id, gx);
                    return;
                }
                let gx = grads.entry(x_id, len);
                match (kind, idx) {
                    (Pool::Avg, _) => kernels::avg_pool2d_backward(gx, &gy, &g),
                    (Pool::Adaptive, _) => {
                        adaptive_pool::adaptive_avg_pool2d_backward(gx, &gy, g.h, g.w, g.oh, g.ow)
                    }
                    (Pool::Max | Pool::AdaptiveMax, _) => {
                        unreachable!("max pooling records its indices when traced")
                    }
                }
            }),
        );
    }
    Tensor {
        shape: out,
        data: Arc::new(y),
        id: out_id,
        tape,
    }
}

// A plain function rather than code inside the macro below, so that a build error for a
// window that does not fit points here and not at a macro invocation.
#[allow(clippy::type_complexity)]
fn pool_dims<H: Dim, W: Dim, const K: usize, const S: usize, const P: usize>(
    h: H,
    w: W,
) -> Result<(PoolOut<H, K, S, P>, PoolOut<W, K, S, P>)> {
    Ok((PoolOut::new(h)?, PoolOut::new(w)?))
}

/// The run-time checks of adaptive max pooling: a non-empty input whose planes the kernel's
/// `u32` indices can address.
pub(crate) fn check_adaptive_max(op: &'static str, h: usize, w: usize) -> Result<()> {
    if h == 0 || w == 0 {
        return Err(crate::error::Error::shape(
            op,
            format!("cannot pool an empty {h}x{w} input"),
        ));
    }
    if h.checked_mul(w).is_none_or(|hw| hw > u32::MAX as usize) {
        return Err(crate::error::Error::shape(
            op,
            format!(
                "a {h}x{w} plane has too many elements for the pooling indices (at most 2^32 - 1)"
            ),
        ));
    }
    Ok(())
}

macro_rules! pool_impl {
    ($([$B:ident $b:ident])? $shape:literal $example:literal) => {
        impl<$($B: Dim,)? C: Dim, H: Dim, W: Dim, E: Float, T: Tape<E>> Tensor<($($B,)? C, H, W), E, T> {
            #[doc = concat!("Max pooling of ", $shape, " over `K x K` windows with stride `S` and padding `P`")]
            /// (PyTorch's `F.max_pool2d`, floor mode). Padding counts as `-inf`; the gradient
            /// goes to each window's maximum and accumulates where windows overlap.
            ///
            /// A window larger than the padded input, or `P > K/2`, fails the build for static
            /// sizes.
            ///
            /// ```
            /// use shaped::prelude::*;
            #[doc = $example]
            /// let y = x.max_pool2d::<2, 2, 0>();
            /// assert_eq!(y.dims().as_slice()[y.dims().rank() - 2..], [2, 2]);
            /// assert_eq!(y.to_vec()[..4], [5.0, 7.0, 13.0, 15.0]);
            /// ```
            #[allow(clippy::type_complexity)]
            #[track_caller]
            pub fn max_pool2d<const K: usize, const S: usize, const P: usize>(self) -> Tensor<($($B,)? C, PoolOut<H, K, S, P>, PoolOut<W, K, S, P>), E, T> {
                self.try_max_pool2d().or_panic()
            }

            /// [`max_pool2d`](Self::max_pool2d) with an error for run-time sizes that do not fit.
            ///
            /// ```
            /// use shaped::prelude::*;
            /// let x = Tensor::<(usize, usize, usize)>::zeros_with_shape((3, 1, 8));
            /// assert!(x.clone().try_max_pool2d::<2, 2, 0>().is_err()); // height 1 < window 2
            /// assert_eq!(x.try_max_pool2d::<2, 2, 1>().unwrap().dims().as_slice(), &[3, 1, 5]);
            /// ```
            #[allow(clippy::type_complexity)]
            pub fn try_max_pool2d<const K: usize, const S: usize, const P: usize>(self) -> Result<Tensor<($($B,)? C, PoolOut<H, K, S, P>, PoolOut<W, K, S, P>), E, T>> {
                let ($($b,)? c, h, w) = self.shape;
                let (oh, ow) = pool_dims::<H, W, K, S, P>(h, w)?;
                let planes = 1 $(* $b.size())? * c.size();
                let g = PoolGeom::square((h.size(), w.size()), (K, S, P), (oh.size(), ow.size()));
                Ok(pool_op(self, ($($b,)? c, oh, ow), planes, g, Pool::Max))
            }

            #[doc = concat!("Average pooling of ", $shape, " over `K x K` windows with stride `S` and padding `P`")]
            /// (PyTorch's `F.avg_pool2d`, floor mode, `count_include_pad=True`: padding counts
            /// as zeros in the average).
            ///
            /// ```
            /// use shaped::prelude::*;
            #[doc = $example]
            /// let y = x.avg_pool2d::<2, 2, 0>();
            /// assert_eq!(y.to_vec()[..4], [2.5, 4.5, 10.5, 12.5]);
            /// ```
            #[allow(clippy::type_complexity)]
            #[track_caller]
            pub fn avg_pool2d<const K: usize, const S: usize, const P: usize>(self) -> Tensor<($($B,)? C, PoolOut<H, K, S, P>, PoolOut<W, K, S, P>), E, T> {
                self.try_avg_pool2d().or_panic()
            }

            /// [`avg_pool2d`](Self::avg_pool2d) with an error for run-time sizes that do not fit.
            ///
            /// ```
            /// use shaped::prelude::*;
            /// let x = Tensor::<(usize, usize, usize)>::ones_with_shape((3, 4, 4));
            /// assert_eq!(x.clone().try_avg_pool2d::<2, 2, 0>().unwrap().to_vec(), vec![1.0; 12]);
            /// assert!(x.try_avg_pool2d::<5, 1, 0>().is_err());
            /// ```
            #[allow(clippy::type_complexity)]
            pub fn try_avg_pool2d<const K: usize, const S: usize, const P: usize>(self) -> Result<Tensor<($($B,)? C, PoolOut<H, K, S, P>, PoolOut<W, K, S, P>), E, T>> {
                let ($($b,)? c, h, w) = self.shape;
                let (oh, ow) = pool_dims::<H, W, K, S, P>(h, w)?;
                let planes = 1 $(* $b.size())? * c.size();
                let g = PoolGeom::square((h.size(), w.size()), (K, S, P), (oh.size(), ow.size()));
                Ok(pool_op(self, ($($b,)? c, oh, ow), planes, g, Pool::Avg))
            }

            #[doc = concat!("Adaptive average pooling of ", $shape, " to an `OH x OW` grid (PyTorch's")]
            /// `F.adaptive_avg_pool2d`): output cell `i` averages input rows
            /// `floor(i*H/OH) .. ceil((i+1)*H/OH)`, and likewise for columns. `<1, 1>` is global
            /// average pooling.
            ///
            /// ```
            /// use shaped::prelude::*;
            #[doc = $example]
            /// let y = x.adaptive_avg_pool2d::<1, 1>();
            /// assert_eq!(y.to_vec()[0], 7.5);
            /// ```
            #[track_caller]
            pub fn adaptive_avg_pool2d<const OH: usize, const OW: usize>(self) -> Tensor<($($B,)? C, Const<OH>, Const<OW>), E, T> {
                self.try_adaptive_avg_pool2d().or_panic()
            }

            /// [`adaptive_avg_pool2d`](Self::adaptive_avg_pool2d) with an error when the input
            /// is empty.
            ///
            /// ```
            /// use shaped::prelude::*;
            /// let x = Tensor::<(usize, usize, usize)>::zeros_with_shape((3, 0, 4));
            /// assert!(x.try_adaptive_avg_pool2d::<1, 1>().is_err());
            /// ```
            pub fn try_adaptive_avg_pool2d<const OH: usize, const OW: usize>(self) -> Result<Tensor<($($B,)? C, Const<OH>, Const<OW>), E, T>> {
                const { assert!(OH >= 1 && OW >= 1, "adaptive pooling: the output size must be at least 1x1") };
                let ($($b,)? c, h, w) = self.shape;
                if h.size() == 0 || w.size() == 0 {
                    return Err(crate::error::Error::shape(
                        "adaptive_avg_pool2d",
                        format!("cannot pool an empty {}x{} input", h.size(), w.size()),
                    ));
                }
                let planes = 1 $(* $b.size())? * c.size();
                let out = ($($b,)? c, Const::<OH>, Const::<OW>);
                if OH == 1 && OW == 1 {
                    // Global pooling is a mean over each plane: one row reduction (PyTorch's
                    // `adaptive_avg_pool2d` takes a mean here too). The window kernel summed
                    // each window's rows one by one: (32, 512, 7, 7) 0.25 ms against the
                    // reduction's 0.13, with backward 1.1 against 0.38, one thread.
                    let rows = view_op(self, (planes, h.size() * w.size()));
                    return Ok(view_op(rows.mean_dim::<1>(), out));
                }
                let g = PoolGeom::square((h.size(), w.size()), (0, 0, 0), (OH, OW));
                Ok(pool_op(self, out, planes, g, Pool::Adaptive))
            }

            #[doc = concat!("Adaptive max pooling of ", $shape, " to an `OH x OW` grid (PyTorch's")]
            /// `F.adaptive_max_pool2d` without indices): output cell `i` takes the maximum of input
            /// rows `floor(i*H/OH) .. ceil((i+1)*H/OH)`, and likewise for columns. The gradient goes
            /// to each window's first maximum (a NaN counts as the maximum, as in PyTorch) and
            /// accumulates where windows overlap.
            ///
            /// ```
            /// use shaped::prelude::*;
            #[doc = $example]
            /// let y = x.adaptive_max_pool2d::<2, 1>();
            /// assert_eq!(y.to_vec()[..2], [7.0, 15.0]);
            /// ```
            #[track_caller]
            pub fn adaptive_max_pool2d<const OH: usize, const OW: usize>(self) -> Tensor<($($B,)? C, Const<OH>, Const<OW>), E, T> {
                self.try_adaptive_max_pool2d().or_panic()
            }

            /// [`adaptive_max_pool2d`](Self::adaptive_max_pool2d) with an error when the input
            /// is empty.
            ///
            /// ```
            /// use shaped::prelude::*;
            /// let x = Tensor::<(usize, usize, usize)>::zeros_with_shape((3, 4, 0));
            /// assert!(x.try_adaptive_max_pool2d::<2, 2>().is_err());
            /// ```
            pub fn try_adaptive_max_pool2d<const OH: usize, const OW: usize>(self) -> Result<Tensor<($($B,)? C, Const<OH>, Const<OW>), E, T>> {
                const { assert!(OH >= 1 && OW >= 1, "adaptive pooling: the output size must be at least 1x1") };
                let ($($b,)? c, h, w) = self.shape;
                check_adaptive_max("adaptive_max_pool2d", h.size(), w.size())?;
                let planes = 1 $(* $b.size())? * c.size();
                let out = ($($b,)? c, Const::<OH>, Const::<OW>);
                let g = PoolGeom::square((h.size(), w.size()), (0, 0, 0), (OH, OW));
                Ok(pool_op(self, out, planes, g, Pool::AdaptiveMax))
            }
        }
    };
}

pool_impl!([B b] "a batch `(B, C, H, W)`"
    "let x = Tensor::<Rank4<1, 1, 4, 4>>::from_vec((0..16).map(|v| v as f32).collect()).unwrap();");
pool_impl!("one image `(C, H, W)`"
    "let x = Tensor::<Rank3<1, 4, 4>>::from_vec((0..16).map(|v| v as f32).collect()).unwrap();");

macro_rules! pool1d_impl {
    ($([$B:ident $b:ident])? $shape:literal $example:literal) => {
        impl<$($B: Dim,)? C: Dim, L: Dim, E: Float, T: Tape<E>> Tensor<($($B,)? C, L), E, T> {
            #[doc = concat!("Max pooling of ", $shape, " along `L` over windows of `K` with stride `S` and padding `P`")]
            /// (PyTorch's `F.max_pool1d`, floor mode; padding counts as `-inf`; the gradient goes
            /// to the first maximum of each window).
            ///
            /// ```
            /// use shaped::prelude::*;
            #[doc = $example]
            /// let y = x.max_pool1d::<2, 2, 0>();
            /// assert_eq!(y.to_vec(), vec![3.0, 5.0, 6.0]);
            /// ```
            #[track_caller]
            pub fn max_pool1d<const K: usize, const S: usize, const P: usize>(self) -> Tensor<($($B,)? C, PoolOut<L, K, S, P>), E, T> {
                self.try_max_pool1d().or_panic()
            }

            /// [`max_pool1d`](Self::max_pool1d) with an error for run-time sizes that do not fit.
            ///
            /// ```
            /// use shaped::prelude::*;
            /// let x = Tensor::<(usize, usize)>::zeros_with_shape((3, 1));
            /// assert!(x.try_max_pool1d::<2, 2, 0>().is_err()); // length 1 < window 2
            /// ```
            pub fn try_max_pool1d<const K: usize, const S: usize, const P: usize>(self) -> Result<Tensor<($($B,)? C, PoolOut<L, K, S, P>), E, T>> {
                let ($($b,)? c, l) = self.shape;
                let ol = PoolOut::<L, K, S, P>::new(l)?;
                let planes = 1 $(* $b.size())? * c.size();
                let g = PoolGeom::line(l.size(), (K, S, P), ol.size());
                Ok(pool_op(self, ($($b,)? c, ol), planes, g, Pool::Max))
            }

            #[doc = concat!("Average pooling of ", $shape, " along `L` over windows of `K` with stride `S` and padding `P`")]
            /// (PyTorch's `F.avg_pool1d`, floor mode, `count_include_pad=True`).
            ///
            /// ```
            /// use shaped::prelude::*;
            #[doc = $example]
            /// let y = x.avg_pool1d::<2, 2, 0>();
            /// assert_eq!(y.to_vec(), vec![2.0, 4.5, 3.5]);
            /// ```
            #[track_caller]
            pub fn avg_pool1d<const K: usize, const S: usize, const P: usize>(self) -> Tensor<($($B,)? C, PoolOut<L, K, S, P>), E, T> {
                self.try_avg_pool1d().or_panic()
            }

            /// [`avg_pool1d`](Self::avg_pool1d) with an error for run-time sizes that do not fit.
            pub fn try_avg_pool1d<const K: usize, const S: usize, const P: usize>(self) -> Result<Tensor<($($B,)? C, PoolOut<L, K, S, P>), E, T>> {
                let ($($b,)? c, l) = self.shape;
                let ol = PoolOut::<L, K, S, P>::new(l)?;
                let planes = 1 $(* $b.size())? * c.size();
                let g = PoolGeom::line(l.size(), (K, S, P), ol.size());
                Ok(pool_op(self, ($($b,)? c, ol), planes, g, Pool::Avg))
            }

            #[doc = concat!("Adaptive average pooling of ", $shape, " to `O` outputs along `L` (PyTorch's")]
            /// `F.adaptive_avg_pool1d`): output `i` averages inputs
            /// `floor(i*L/O) .. ceil((i+1)*L/O)`.
            ///
            /// ```
            /// use shaped::prelude::*;
            #[doc = $example]
            /// let y = x.adaptive_avg_pool1d::<1>();
            /// assert_eq!(y.to_vec(), vec![20.0 / 6.0]);
            /// ```
            #[track_caller]
            pub fn adaptive_avg_pool1d<const O: usize>(self) -> Tensor<($($B,)? C, Const<O>), E, T> {
                self.try_adaptive_avg_pool1d().or_panic()
            }

            /// [`adaptive_avg_pool1d`](Self::adaptive_avg_pool1d) with an error when the
            /// input is empty.
            pub fn try_adaptive_avg_pool1d<const O: usize>(self) -> Result<Tensor<($($B,)? C, Const<O>), E, T>> {
                const { assert!(O >= 1, "adaptive pooling: the output size must be at least 1") };
                let ($($b,)? c, l) = self.shape;
                if l.size() == 0 {
                    return Err(crate::error::Error::shape(
                        "adaptive_avg_pool1d",
                        "cannot pool an empty input".to_string(),
                    ));
                }
                let planes = 1 $(* $b.size())? * c.size();
                let g = PoolGeom::square((1, l.size()), (0, 0, 0), (1, O));
                Ok(pool_op(self, ($($b,)? c, Const::<O>), planes, g, Pool::Adaptive))
            }

            #[doc = concat!("Adaptive max pooling of ", $shape, " to `O` outputs along `L` (PyTorch's")]
            /// `F.adaptive_max_pool1d` without indices): output `i` takes the maximum of inputs
            /// `floor(i*L/O) .. ceil((i+1)*L/O)`; the gradient goes to the first maximum (a NaN
            /// counts as the maximum, as in PyTorch).
            ///
            /// ```
            /// use shaped::prelude::*;
            #[doc = $example]
            /// let y = x.adaptive_max_pool1d::<2>();
            /// assert_eq!(y.to_vec(), vec![5.0, 6.0]);
            /// ```
            #[track_caller]
            pub fn adaptive_max_pool1d<const O: usize>(self) -> Tensor<($($B,)? C, Const<O>), E, T> {
                self.try_adaptive_max_pool1d().or_panic()
            }

            /// [`adaptive_max_pool1d`](Self::adaptive_max_pool1d) with an error when the
            /// input is empty.
            ///
            /// ```
            /// use shaped::prelude::*;
            /// let x = Tensor::<(usize, usize)>::zeros_with_shape((3, 0));
            /// assert!(x.try_adaptive_max_pool1d::<2>().is_err());
            /// ```
            pub fn try_adaptive_max_pool1d<const O: usize>(self) -> Result<Tensor<($($B,)? C, Const<O>), E, T>> {
                const { assert!(O >= 1, "adaptive pooling: the output size must be at least 1") };
                let ($($b,)? c, l) = self.shape;
                check_adaptive_max("adaptive_max_pool1d", 1, l.size())?;
                let planes = 1 $(* $b.size())? * c.size();
                let g = PoolGeom::square((1, l.size()), (0, 0, 0), (1, O));
                Ok(pool_op(self, ($($b,)? c, Const::<O>), planes, g, Pool::AdaptiveMax))
            }
        }
    };
}

pool1d_impl!([B b] "a batch `(B, C, L)`"
    "let x = Tensor::<Rank3<1, 1, 6>>::from_array([[[1.0, 3.0, 5.0, 4.0, 6.0, 1.0]]]);");
pool1d_impl!("one sequence `(C, L)`"
    "let x = Tensor::<Rank2<1, 6>>::from_array([[1.0, 3.0, 5.0, 4.0, 6.0, 1.0]]);");
