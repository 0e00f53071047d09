//! Matrix products: vector, matrix and batched forms of PyTorch's `matmul`.

use crate::autograd::{Gradients, Merge, Tape, UniqueId};
use crate::backend::matmul::MatMulPlan;
use crate::dtype::Float;
use crate::error::OrPanic;
use crate::error::Result;
use crate::ops::grad_target;
use crate::shape::{MatMulShape, Shape};
use crate::tensor::Tensor;
use std::sync::Arc;

impl<S: Shape, E: Float, T: Tape<E>> Tensor<S, E, T> {
    /// Matrix product with PyTorch's `matmul` rules: `(M, K) x (K, N)`, batched
    /// `(B, M, K) x (B, K, N)`, a shared rhs `(B, M, K) x (K, N)`, and vector forms. The inner
    /// dimensions must match; for static shapes a mismatch is a compile error.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let a = Tensor::<Rank2<2, 3>>::ones();
    /// let b = Tensor::<Rank2<3, 4>>::ones();
    /// let c: Tensor<Rank2<2, 4>> = a.matmul(b);
    /// assert_eq!(c.to_vec(), vec![3.0; 8]);
    /// ```
    #[track_caller]
    pub fn matmul<SR: Shape, TR: Tape<E>>(
        self,
        rhs: Tensor<SR, E, TR>,
    ) -> Tensor<<S as MatMulShape<SR>>::Output, E, <T as Merge<E, TR>>::Output>
    where
        S: MatMulShape<SR>,
        T: Merge<E, TR>,
    {
        let () = <S as MatMulShape<SR>>::CHECK;
        self.try_matmul(rhs).or_panic()
    }

    /// [`matmul`](Self::matmul) with an error for run-time dimensions that do not fit.
    pub fn try_matmul<SR: Shape, TR: Tape<E>>(
        self,
        rhs: Tensor<SR, E, TR>,
    ) -> Result<Tensor<<S as MatMulShape<SR>>::Output, E, <T as Merge<E, TR>>::Output>>
    where
        S: MatMulShape<SR>,
        T: Merge<E, TR>,
    {
        let () = <S as MatMulShape<SR>>::CHECK;
        let out = self.shape.matmul_shape(&rhs.shape).map_err(|e| match e {
            crate::error::Error::Shape { message, .. } => crate::error::Error::shape(
                "matmul",
                format!(
                    "{:?} x {:?}: {message}",
                    self.shape.dims().as_slice(),
                    rhs.shape.dims().as_slice()
                ),
            ),
            e => e,
        })?;
        // The product of two valid shapes can still be too large ((3, 0) x (0, n)).
        out.try_numel("matmul").map_err(|_| {
            crate::error::Error::shape(
                "matmul",
                format!(
                    "{:?} x {:?}: the product's shape {:?} is too large (its element count overflows)",
                    self.shape.dims().as_slice(),
                    rhs.shape.dims().as_slice(),
                    out.dims().as_slice()
                ),
            )
        })?;
        let plan = MatMulPlan::new(&self.shape.dims(), &rhs.shape.dims());
        let (a, ta) = self.split_tape();
        let (b, tb) = rhs.split_tape();
        let mut tape = ta.merge(tb);
        let y = plan.forward(&a.data, &b.data);
        let out_id = UniqueId::new();
        let track_a = <T as Merge<E, TR>>::Output::TRACING && tape.tracks(a.id);
        let track_b = <T as Merge<E, TR>>::Output::TRACING && tape.tracks(b.id);
        if track_a || track_b {
            let (ad, bd, a_id, b_id) = (a.data, b.data, a.id, b.id);
            tape.record(
                out_id,
                Box::new(move |g: &mut Gradients<E>| {
                    let Some(gy) = g.take(out_id) else { return };
                    // SAFETY: given new memory, `grad_a` and `grad_b` write all of it.
                    if track_a {
                        unsafe {
                            g.contribute(a_id, ad.len(), |slot| {
                                plan.grad_a(grad_target(slot), &gy, &bd)
                            })
                        };
                    }
                    if track_b {
                        unsafe {
                            g.contribute(b_id, bd.len(), |slot| {
                                plan.grad_b(grad_target(slot), &ad, &gy)
                            })
                        };
                    }
                }),
            );
        }
        Ok(Tensor {
            shape: out,
            data: Arc::new(y),
            id: out_id,
            tape,
        })
    }

    /// Dot product of two vectors (`torch.dot`).
    pub fn dot<SR: Shape, TR: Tape<E>>(
        self,
        rhs: Tensor<SR, E, TR>,
    ) -> Tensor<(), E, <T as Merge<E, TR>>::Output>
    where
        S: MatMulShape<SR, Output = ()>,
        T: Merge<E, TR>,
    {
        let () = <S as MatMulShape<SR>>::CHECK;
        self.matmul(rhs)
    }
}
