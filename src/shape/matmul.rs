//! Which shapes multiply as matrices, and the shape of the product (PyTorch's `matmul` rules
//! for vectors, matrices and batches).

use super::broadcast::DimUnify;
use super::check::{DimCheck, MatMulBatch, MatMulInner};
use super::dim::Dim;
use super::shape::Shape;
use crate::error::Result;

/// `Self` (lhs) and `Rhs` multiply with [`matmul`](crate::tensor::Tensor::matmul).
///
/// The inner dimensions must be equal ([`DimEq`](super::DimEq)); batch dimensions must be equal too, or
/// absent on one side (then the other side is shared by every batch).
///
/// ```
/// use shaped::shape::{MatMulShape, Rank2, Shape};
/// let out = <Rank2<3, 4>>::default().matmul_shape(&<Rank2<4, 5>>::default()).unwrap();
/// assert_eq!(out.dims().as_slice(), &[3, 5]);
/// ```
#[diagnostic::on_unimplemented(
    message = "cannot matmul shapes `{Self}` and `{Rhs}`",
    note = "matmul takes vectors, matrices, or batches of matrices (rank 1 to 4) with lhs columns == rhs rows"
)]
pub trait MatMulShape<Rhs: Shape>: Shape {
    /// The product's shape.
    type Output: Shape;
    /// Fails the build, naming both sizes, when static inner or batch dimensions differ
    /// (a computed dimension meeting another static one).
    const CHECK: ();
    /// The product's shape, checking run-time sizes.
    fn matmul_shape(&self, rhs: &Rhs) -> Result<Self::Output>;
}

impl<K: Dim + DimUnify<K2>, K2: Dim> MatMulShape<(K2,)> for (K,) {
    type Output = ();
    const CHECK: () = {
        let () = DimCheck::<K, K2, MatMulInner>::OK;
    };
    fn matmul_shape(&self, rhs: &(K2,)) -> Result<()> {
        self.0.unify(rhs.0).map(|_| ())
    }
}
impl<K: Dim + DimUnify<K2>, K2: Dim, N: Dim> MatMulShape<(K2, N)> for (K,) {
    type Output = (N,);
    const CHECK: () = {
        let () = DimCheck::<K, K2, MatMulInner>::OK;
    };
    fn matmul_shape(&self, rhs: &(K2, N)) -> Result<(N,)> {
        self.0.unify(rhs.0)?;
        Ok((rhs.1,))
    }
}
impl<M: Dim, K: Dim + DimUnify<K2>, K2: Dim> MatMulShape<(K2,)> for (M, K) {
    type Output = (M,);
    const CHECK: () = {
        let () = DimCheck::<K, K2, MatMulInner>::OK;
    };
    fn matmul_shape(&self, rhs: &(K2,)) -> Result<(M,)> {
        self.1.unify(rhs.0)?;
        Ok((self.0,))
    }
}
impl<M: Dim, K: Dim + DimUnify<K2>, K2: Dim, N: Dim> MatMulShape<(K2, N)> for (M, K) {
    type Output = (M, N);
    const CHECK: () = {
        let () = DimCheck::<K, K2, MatMulInner>::OK;
    };
    fn matmul_shape(&self, rhs: &(K2, N)) -> Result<(M, N)> {
        self.1.unify(rhs.0)?;
        Ok((self.0, rhs.1))
    }
}
impl<B: Dim, M: Dim, K: Dim + DimUnify<K2>, K2: Dim, N: Dim> MatMulShape<(K2, N)> for (B, M, K) {
    type Output = (B, M, N);
    const CHECK: () = {
        let () = DimCheck::<K, K2, MatMulInner>::OK;
    };
    fn matmul_shape(&self, rhs: &(K2, N)) -> Result<(B, M, N)> {
        self.2.unify(rhs.0)?;
        Ok((self.0, self.1, rhs.1))
    }
}
impl<B: Dim, M: Dim, K: Dim + DimUnify<K2>, K2: Dim, N: Dim> MatMulShape<(B, K2, N)> for (M, K) {
    type Output = (B, M, N);
    const CHECK: () = {
        let () = DimCheck::<K, K2, MatMulInner>::OK;
    };
    fn matmul_shape(&self, rhs: &(B, K2, N)) -> Result<(B, M, N)> {
        self.1.unify(rhs.1)?;
        Ok((rhs.0, self.0, rhs.2))
    }
}
impl<B: Dim + DimUnify<B2>, B2: Dim, M: Dim, K: Dim + DimUnify<K2>, K2: Dim, N: Dim>
    MatMulShape<(B2, K2, N)> for (B, M, K)
{
    type Output = (<B as DimUnify<B2>>::Unified, M, N);
    const CHECK: () = {
        let () = DimCheck::<B, B2, MatMulBatch>::OK;
        let () = DimCheck::<K, K2, MatMulInner>::OK;
    };
    fn matmul_shape(&self, rhs: &(B2, K2, N)) -> Result<Self::Output> {
        self.2.unify(rhs.1)?;
        Ok((self.0.unify(rhs.0)?, self.1, rhs.2))
    }
}
impl<B: Dim, C: Dim, M: Dim, K: Dim + DimUnify<K2>, K2: Dim, N: Dim> MatMulShape<(K2, N)>
    for (B, C, M, K)
{
    type Output = (B, C, M, N);
    const CHECK: () = {
        let () = DimCheck::<K, K2, MatMulInner>::OK;
    };
    fn matmul_shape(&self, rhs: &(K2, N)) -> Result<Self::Output> {
        self.3.unify(rhs.0)?;
        Ok((self.0, self.1, self.2, rhs.1))
    }
}
impl<
    B: Dim + DimUnify<B2>,
    B2: Dim,
    C: Dim + DimUnify<C2>,
    C2: Dim,
    M: Dim,
    K: Dim + DimUnify<K2>,
    K2: Dim,
    N: Dim,
> MatMulShape<(B2, C2, K2, N)> for (B, C, M, K)
{
    type Output = (
        <B as DimUnify<B2>>::Unified,
        <C as DimUnify<C2>>::Unified,
        M,
        N,
    );
    const CHECK: () = {
        let () = DimCheck::<B, B2, MatMulBatch>::OK;
        let () = DimCheck::<C, C2, MatMulBatch>::OK;
        let () = DimCheck::<K, K2, MatMulInner>::OK;
    };
    fn matmul_shape(&self, rhs: &(B2, C2, K2, N)) -> Result<Self::Output> {
        self.3.unify(rhs.2)?;
        Ok((self.0.unify(rhs.0)?, self.1.unify(rhs.1)?, self.2, rhs.3))
    }
}
