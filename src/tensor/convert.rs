//! Conversions between element types and between shape types.

use super::Tensor;
use crate::autograd::Tape;
use crate::device::Device;
use crate::dtype::Float;
use crate::error::OrPanic;
use crate::error::{Error, Result};
use crate::shape::check::{RealizeShape, SameShapeCheck};
use crate::shape::{DynShape, SameShape, Shape};

impl<S: Shape, E: Float, T> Tensor<S, E, T> {
    /// The same values in another element type (f32 <-> f64), untraced.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let t = Tensor::<Rank1<2>>::from_array([0.5, 1.5]);
    /// let d: Tensor<Rank1<2>, f64> = t.to_dtype();
    /// assert_eq!(d.to_vec(), vec![0.5f64, 1.5]);
    /// ```
    pub fn to_dtype<E2: Float>(&self) -> Tensor<S, E2> {
        Tensor::from_parts(
            self.shape,
            self.data.iter().map(|v| E2::from_f64(v.to_f64())).collect(),
        )
    }

    /// The same tensor under another shape type with the same sizes (the caller checked
    /// them). It keeps the id: the layout is unchanged, so gradients accumulated under either
    /// type are the same buffer.
    pub(crate) fn retype<S2: Shape>(self, shape: S2) -> Tensor<S2, E, T> {
        debug_assert_eq!(self.shape.numel(), shape.numel());
        Tensor {
            shape,
            data: self.data,
            id: self.id,
            tape: self.tape,
        }
    }
}

// Device-generic: these only relabel the shape (the GPU's computed shapes realize too).
impl<S: Shape, E: Float, T: Tape<E>, D: Device> Tensor<S, E, T, D> {
    /// The same tensor with its shape checked against another shape type of the same
    /// sizes, e.g. a dynamic `(usize, usize)` into a static `Rank2<2, 3>`; an error names
    /// both shapes when they differ. Gradients flow through unchanged.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let t = Tensor::<(usize, usize)>::zeros_with_shape((2, 3));
    /// let s: Tensor<Rank2<2, 3>> = t.clone().try_realize().unwrap();
    /// assert!(t.try_realize::<Rank2<3, 2>>().is_err());
    /// ```
    pub fn try_realize<S2: Shape>(self) -> Result<Tensor<S2, E, T, D>> {
        let dims = self.shape.dims();
        match S2::from_dims(&dims) {
            Some(shape) => Ok(Tensor {
                shape,
                data: self.data,
                id: self.id,
                tape: self.tape,
            }),
            None => Err(Error::shape(
                "realize",
                format!(
                    "a tensor of shape {:?} does not fit the target shape {} (`_`: any size)",
                    dims.as_slice(),
                    S2::describe()
                ),
            )),
        }
    }

    /// The same tensor as an untyped [`DynShape`] tensor.
    pub fn into_dyn(self) -> Tensor<DynShape, E, T, D> {
        let shape = DynShape(self.shape.dims());
        Tensor {
            shape,
            data: self.data,
            id: self.id,
            tape: self.tape,
        }
    }

    /// Converts to another spelling of the same shape, checked when the code is built: a
    /// computed `Prod<Const<2>, Const<3>>` into `Const<6>`, or a model output
    /// `(usize, Const<8>, ConvOut<Const<16>, 3, 1, 1, 1>)` into `(usize, Const<8>, Const<16>)`.
    /// Ranks and `Const`s that differ are trait errors (`cargo check`); a computed size that
    /// differs fails the build naming both sizes. Run-time (`usize`) dimensions are carried
    /// over, and a run-time size that does not fit a static one panics
    /// ([`try_realize`](Self::try_realize) returns an `Err` instead).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::shape::{ConvOut, Prod};
    /// let t = Tensor::<(Prod<Const<2>, Const<3>>,)>::zeros();
    /// let u: Tensor<Rank1<6>> = t.realize();
    /// // A run-time batch is kept.
    /// let x = Tensor::<(usize, ConvOut<Const<8>, 3, 1, 1, 1>)>::zeros_with_shape((5, Default::default()));
    /// let y: Tensor<(usize, Const<8>)> = x.realize();
    /// assert_eq!(y.dims().as_slice(), &[5, 8]);
    /// ```
    #[track_caller]
    pub fn realize<S2: Shape>(self) -> Tensor<S2, E, T, D>
    where
        S: SameShape<S2>,
    {
        let () = SameShapeCheck::<S, S2, RealizeShape>::OK;
        self.try_realize().or_panic()
    }
}
