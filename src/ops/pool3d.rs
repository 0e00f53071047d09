//! Max and average pooling over the last three axes of `(B, C, D, H, W)` or `(C, D, H, W)`
//! tensors, with a cubic window (PyTorch's floor mode; output sizes computed by the types as
//! [`PoolOut`]).

use crate::autograd::{Gradients, Tape, UniqueId};
use crate::backend::pool3d::{self as kernels, Pool3dGeom};
use crate::backend::pooling::{max_pool2d_backward, max_pool2d_backward_new};
use crate::dtype::Float;
use crate::error::{Error, OrPanic, Result};
use crate::shape::{Dim, PoolOut, Shape};
use crate::tensor::Tensor;
use std::sync::Arc;

#[derive(Clone, Copy)]
enum Pool {
    Max,
    Avg,
}

/// Pools `planes` volumes into `out`, recording the backward step when `x` is traced.
fn pool3d_op<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    out: SO,
    planes: usize,
    g: Pool3dGeom,
    kind: Pool,
) -> Tensor<SO, E, T> {
    let (x, mut tape) = x.split_tape();
    let track = T::TRACING && tape.tracks(x.id);
    let (y, idx) = match kind {
        Pool::Max => {
            let (y, idx) = kernels::max_pool3d_forward(&x.data, planes, &g);
            (y, track.then_some(idx))
        }
        Pool::Avg => (kernels::avg_pool3d_forward(&x.data, planes, &g), None),
    };
    let out_id = UniqueId::new();
    if track {
        let (x_id, len) = (x.id, x.data.len());
        tape.record(
            out_id,
            Box::new(move |grads: &mut Gradients<E>| {
                let Some(gy) = grads.take(out_id) else { return };
                let (vol, ovol) = (g.volume(), g.out_volume());
                match idx {
                    // The 2-D scatter: it only reads each maximum's flat index in its plane.
                    Some(idx) => {
                        let gx = match grads.take(x_id) {
                            Some(mut gx) => {
                                max_pool2d_backward(&mut gx, &gy, &idx, vol, ovol);
                                gx
                            }
                            None => max_pool2d_backward_new(&gy, &idx, planes, vol, ovol),
                        };
                        grads.insert(x_id, gx);
                    }
                    None => kernels::avg_pool3d_backward(grads.entry(x_id, len), &gy, &g),
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
fn pool3d_dims<D: Dim, H: Dim, W: Dim, const K: usize, const S: usize, const P: usize>(
    d: D,
    h: H,
    w: W,
) -> Result<(
    PoolOut<D, K, S, P>,
    PoolOut<H, K, S, P>,
    PoolOut<W, K, S, P>,
)> {
    Ok((PoolOut::new(d)?, PoolOut::new(h)?, PoolOut::new(w)?))
}

/// The geometry of one plane, after checking that the max pooling's `u32` indices can
/// address it.
fn geom(
    op: &'static str,
    input: [usize; 3],
    (k, s, p): (usize, usize, usize),
    out: [usize; 3],
) -> Result<Pool3dGeom> {
    let [d, h, w] = input;
    if d.checked_mul(h)
        .and_then(|dh| dh.checked_mul(w))
        .is_none_or(|v| v > u32::MAX as usize)
    {
        return Err(Error::shape(
            op,
            format!(
                "a {d}x{h}x{w} volume has too many elements for the pooling indices (at most 2^32 - 1)"
            ),
        ));
    }
    Ok(Pool3dGeom {
        input,
        k,
        s,
        p,
        out,
    })
}

macro_rules! pool3d_impl {
    ($([$B:ident $b:ident])? $shape:literal $example:literal) => {
        impl<$($B: Dim,)? C: Dim, D: Dim, H: Dim, W: Dim, E: Float, T: Tape<E>> Tensor<($($B,)? C, D, H, W), E, T> {
            #[doc = concat!("Max pooling of ", $shape, " over `K x K x K` windows with stride `S` and padding `P`")]
            /// (PyTorch's `F.max_pool3d`, floor mode). Padding counts as `-inf`; the gradient
            /// goes to each window's first maximum (a NaN counts as the maximum, as in PyTorch)
            /// and accumulates where windows overlap.
            ///
            /// A window larger than the padded input, or `P > K/2`, fails the build for static
            /// sizes.
            ///
            /// ```
            /// use shaped::prelude::*;
            #[doc = $example]
            /// let y = x.max_pool3d::<2, 2, 0>();
            /// assert_eq!(y.dims().as_slice()[y.dims().rank() - 3..], [1, 2, 2]);
            /// assert_eq!(y.to_vec()[..4], [21.0, 23.0, 29.0, 31.0]);
            /// ```
            #[allow(clippy::type_complexity)]
            #[track_caller]
            pub fn max_pool3d<const K: usize, const S: usize, const P: usize>(self) -> Tensor<($($B,)? C, PoolOut<D, K, S, P>, PoolOut<H, K, S, P>, PoolOut<W, K, S, P>), E, T> {
                self.try_max_pool3d().or_panic()
            }

            /// [`max_pool3d`](Self::max_pool3d) with an error for run-time sizes that do not fit.
            ///
            /// ```
            /// use shaped::prelude::*;
            /// let x = Tensor::<(usize, usize, usize, usize)>::zeros_with_shape((3, 1, 8, 8));
            /// assert!(x.clone().try_max_pool3d::<2, 2, 0>().is_err()); // depth 1 < window 2
            /// assert_eq!(x.try_max_pool3d::<2, 2, 1>().unwrap().dims().as_slice(), &[3, 1, 5, 5]);
            /// ```
            #[allow(clippy::type_complexity)]
            pub fn try_max_pool3d<const K: usize, const S: usize, const P: usize>(self) -> Result<Tensor<($($B,)? C, PoolOut<D, K, S, P>, PoolOut<H, K, S, P>, PoolOut<W, K, S, P>), E, T>> {
                let ($($b,)? c, d, h, w) = self.shape;
                let (od, oh, ow) = pool3d_dims::<D, H, W, K, S, P>(d, h, w)?;
                let planes = 1 $(* $b.size())? * c.size();
                let g = geom("max_pool3d", [d.size(), h.size(), w.size()], (K, S, P), [od.size(), oh.size(), ow.size()])?;
                Ok(pool3d_op(self, ($($b,)? c, od, oh, ow), planes, g, Pool::Max))
            }

            #[doc = concat!("Average pooling of ", $shape, " over `K x K x K` windows with stride `S` and padding `P`")]
            /// (PyTorch's `F.avg_pool3d`, floor mode, `count_include_pad=True`: padding counts
            /// as zeros in the average).
            ///
            /// ```
            /// use shaped::prelude::*;
            #[doc = $example]
            /// let y = x.avg_pool3d::<2, 2, 0>();
            /// assert_eq!(y.to_vec()[..4], [10.5, 12.5, 18.5, 20.5]);
            /// ```
            #[allow(clippy::type_complexity)]
            #[track_caller]
            pub fn avg_pool3d<const K: usize, const S: usize, const P: usize>(self) -> Tensor<($($B,)? C, PoolOut<D, K, S, P>, PoolOut<H, K, S, P>, PoolOut<W, K, S, P>), E, T> {
                self.try_avg_pool3d().or_panic()
            }

            /// [`avg_pool3d`](Self::avg_pool3d) with an error for run-time sizes that do not fit.
            ///
            /// ```
            /// use shaped::prelude::*;
            /// let x = Tensor::<(usize, usize, usize, usize)>::ones_with_shape((3, 4, 4, 4));
            /// assert_eq!(x.clone().try_avg_pool3d::<2, 2, 0>().unwrap().to_vec(), vec![1.0; 24]);
            /// assert!(x.try_avg_pool3d::<5, 1, 0>().is_err());
            /// ```
            #[allow(clippy::type_complexity)]
            pub fn try_avg_pool3d<const K: usize, const S: usize, const P: usize>(self) -> Result<Tensor<($($B,)? C, PoolOut<D, K, S, P>, PoolOut<H, K, S, P>, PoolOut<W, K, S, P>), E, T>> {
                let ($($b,)? c, d, h, w) = self.shape;
                let (od, oh, ow) = pool3d_dims::<D, H, W, K, S, P>(d, h, w)?;
                let planes = 1 $(* $b.size())? * c.size();
                let g = geom("avg_pool3d", [d.size(), h.size(), w.size()], (K, S, P), [od.size(), oh.size(), ow.size()])?;
                Ok(pool3d_op(self, ($($b,)? c, od, oh, ow), planes, g, Pool::Avg))
            }
        }
    };
}

pool3d_impl!([B b] "a batch `(B, C, D, H, W)`"
    "let x = Tensor::<Rank5<1, 1, 2, 4, 4>>::from_vec((0..32).map(|v| v as f32).collect()).unwrap();");
pool3d_impl!("one volume `(C, D, H, W)`"
    "let x = Tensor::<Rank4<1, 2, 4, 4>>::from_vec((0..32).map(|v| v as f32).collect()).unwrap();");
