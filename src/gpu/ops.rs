//! Differentiable ops on GPU tensors: the GPU kernels (`crate::device::kernels`) wrapped with
//! their backward steps, which record on the same [`OwnedTape`](crate::autograd::OwnedTape)
//! as CPU ops and keep every gradient on the GPU.

use super::tensor::{GpuTensor, add_grad, gpu_tensor, split, take_grad, wants, with_tape};
use crate::autograd::{Gradients, Merge, NoTape, Tape};
use crate::device::GpuStorage;
use crate::device::kernels::{self, BinaryOp, MatView, UnaryOp};
use crate::dtype::Float;
use crate::error::{Error, OrPanic, Result};
use crate::shape::{BroadcastShapes, HasAxis, MatMulShape, Shape};

fn unary_op<S: Shape, E: Float, T: Tape<E>>(
    x: GpuTensor<S, T, E>,
    op: UnaryOp,
    alpha: E,
) -> GpuTensor<S, T, E> {
    let (x, mut tape) = split(x);
    let y = kernels::unary(op, &x.data, alpha);
    let out = gpu_tensor(x.shape, y.clone(), NoTape);
    if wants(&tape, x.id) {
        let (xd, x_id, out_id) = (x.data, x.id, out.id);
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = take_grad(g, out_id) else {
                    return;
                };
                add_grad(g, x_id, kernels::unary_backward(op, &xd, &y, &gy, alpha));
            }),
        );
    }
    with_tape(out, tape)
}

/// `lhs op rhs` broadcast to `out`, with the gradients summed back over broadcast dimensions.
pub(crate) fn binary_op<SL, SR, SO, E, TL, TR>(
    lhs: GpuTensor<SL, TL, E>,
    rhs: GpuTensor<SR, TR, E>,
    out: SO,
    op: BinaryOp,
) -> Result<GpuTensor<SO, <TL as Merge<E, TR>>::Output, E>>
where
    SL: Shape,
    SR: Shape,
    SO: Shape,
    E: Float,
    TL: Merge<E, TR>,
    TR: Tape<E>,
{
    let (a, tl) = split(lhs);
    let (b, tr) = split(rhs);
    let mut tape = tl.merge(tr);
    let (ad, bd, od) = (
        a.shape.dims().to_vec(),
        b.shape.dims().to_vec(),
        out.dims().to_vec(),
    );
    let y = kernels::binary(op, &a.data, &ad, &b.data, &bd, &od)?;
    let result = gpu_tensor(out, y, NoTape);
    let (track_a, track_b) = (wants(&tape, a.id), wants(&tape, b.id));
    if track_a || track_b {
        let (out_id, a_id, b_id) = (result.id, a.id, b.id);
        let (av, bv) = (a.data, b.data);
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = take_grad(g, out_id) else {
                    return;
                };
                let bin = |op, x: &GpuStorage<E>, xd: &[usize], y: &GpuStorage<E>, yd: &[usize]| {
                    kernels::binary(op, x, xd, y, yd, &od).expect("rank checked in forward")
                };
                let sum_to = |x: GpuStorage<E>, to: &[usize]| {
                    kernels::sum_to(&x, &od, to).expect("rank checked in forward")
                };
                if track_a {
                    let ga = match op {
                        BinaryOp::Add | BinaryOp::Sub => gy.clone(),
                        BinaryOp::Mul => bin(BinaryOp::Mul, &gy, &od, &bv, &bd),
                        BinaryOp::Div => bin(BinaryOp::Div, &gy, &od, &bv, &bd),
                    };
                    add_grad(g, a_id, sum_to(ga, &ad));
                }
                if track_b {
                    let gb = match op {
                        BinaryOp::Add => gy.clone(),
                        BinaryOp::Sub => kernels::unary(UnaryOp::Neg, &gy, E::ZERO),
                        BinaryOp::Mul => bin(BinaryOp::Mul, &gy, &od, &av, &ad),
                        BinaryOp::Div => {
                            // d(a/b)/db = -(a/b)/b
                            let q = bin(BinaryOp::Div, &av, &ad, &bv, &bd);
                            let q = bin(BinaryOp::Div, &q, &od, &bv, &bd);
                            let t = bin(BinaryOp::Mul, &gy, &od, &q, &od);
                            kernels::unary(UnaryOp::Neg, &t, E::ZERO)
                        }
                    };
                    add_grad(g, b_id, sum_to(gb, &bd));
                }
            }),
        );
    }
    Ok(with_tape(result, tape))
}

macro_rules! gpu_operator {
    ($Trait:ident $method:ident $op:ident $Name:ident) => {
        /// The op's name in build-time shape errors.
        pub struct $Name;
        impl crate::shape::check::OpName for $Name {
            const NAME: &'static str = stringify!($method);
        }
        /// Elementwise on the GPU, broadcasting as on the CPU. Static shapes that do not
        /// broadcast do not compile, and neither does a CPU tensor on either side.
        impl<SL, SR, E, TL, TR> core::ops::$Trait<GpuTensor<SR, TR, E>> for GpuTensor<SL, TL, E>
        where
            SL: Shape + BroadcastShapes<SR>,
            SR: Shape,
            E: Float,
            TL: Tape<E> + Merge<E, TR>,
            TR: Tape<E>,
        {
            type Output =
                GpuTensor<<SL as BroadcastShapes<SR>>::Output, <TL as Merge<E, TR>>::Output, E>;
            #[track_caller]
            fn $method(self, rhs: GpuTensor<SR, TR, E>) -> Self::Output {
                let () = crate::shape::check::BroadcastCheck::<SL, SR, $Name>::OK;
                crate::shape::broadcast_for(stringify!($method), &self.shape, &rhs.shape)
                    .and_then(|out| binary_op(self, rhs, out, BinaryOp::$op))
                    .or_panic()
            }
        }
    };
}

gpu_operator!(Add add Add GpuAddName);
gpu_operator!(Sub sub Sub GpuSubName);
gpu_operator!(Mul mul Mul GpuMulName);
gpu_operator!(Div div Div GpuDivName);

impl<S: Shape, E: Float, T: Tape<E>> core::ops::Mul<E> for GpuTensor<S, T, E> {
    type Output = GpuTensor<S, T, E>;
    fn mul(self, rhs: E) -> Self::Output {
        unary_op(self, UnaryOp::Scale, rhs)
    }
}

impl<S: Shape, E: Float, T: Tape<E>> core::ops::Add<E> for GpuTensor<S, T, E> {
    type Output = GpuTensor<S, T, E>;
    fn add(self, rhs: E) -> Self::Output {
        unary_op(self, UnaryOp::AddScalar, rhs)
    }
}

impl<S: Shape, E: Float, T: Tape<E>> core::ops::Neg for GpuTensor<S, T, E> {
    type Output = GpuTensor<S, T, E>;
    fn neg(self) -> Self::Output {
        unary_op(self, UnaryOp::Neg, E::ZERO)
    }
}

/// The ops GPU tensors have, under the names of the CPU tensor's methods (which they mirror;
/// see those for the maths). Bring them in with `use shaped::gpu::prelude::*`. An op that is
/// missing here does not exist on the GPU yet: calling it on a GPU tensor does not compile.
pub trait GpuOps<S: Shape, T: Tape<E>, E: Float = f32>: Sized {
    /// `max(x, 0)`.
    fn relu(self) -> GpuTensor<S, T, E>;
    /// Logistic sigmoid.
    fn sigmoid(self) -> GpuTensor<S, T, E>;
    /// Hyperbolic tangent.
    fn tanh(self) -> GpuTensor<S, T, E>;
    /// `e^x`.
    fn exp(self) -> GpuTensor<S, T, E>;
    /// Natural logarithm.
    fn ln(self) -> GpuTensor<S, T, E>;
    /// `x^2`.
    fn square(self) -> GpuTensor<S, T, E>;
    /// Sum of every element.
    fn sum(self) -> GpuTensor<(), T, E>;
    /// Mean of every element.
    fn mean(self) -> GpuTensor<(), T, E>;
    /// Log-softmax along axis `I`.
    fn log_softmax<const I: usize>(self) -> GpuTensor<S, T, E>
    where
        S: HasAxis<I>;
    /// Matrix product (`(.., m, k) x (k, n)` and equal-batch `(b, m, k) x (b, k, n)`).
    #[track_caller]
    fn matmul<SR: Shape, TR: Tape<E>>(
        self,
        rhs: GpuTensor<SR, TR, E>,
    ) -> GpuTensor<<S as MatMulShape<SR>>::Output, <T as Merge<E, TR>>::Output, E>
    where
        S: MatMulShape<SR>,
        T: Merge<E, TR>,
    {
        let () = <S as MatMulShape<SR>>::CHECK;
        self.try_matmul(rhs).or_panic()
    }
    /// [`matmul`](Self::matmul), with an `Err` for sizes that do not fit or batch layouts the
    /// GPU kernel does not take yet.
    fn try_matmul<SR: Shape, TR: Tape<E>>(
        self,
        rhs: GpuTensor<SR, TR, E>,
    ) -> Result<GpuTensor<<S as MatMulShape<SR>>::Output, <T as Merge<E, TR>>::Output, E>>
    where
        S: MatMulShape<SR>,
        T: Merge<E, TR>;
}

/// `(outer, n, inner)` around `axis` of `dims`.
fn around(dims: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = dims[..axis].iter().product();
    let inner = dims[axis + 1..].iter().product();
    (outer, dims[axis], inner)
}

/// Sum of everything times `scale` (sum, mean), with its backward: the gradient spread back.
fn sum_all<S: Shape, E: Float, T: Tape<E>>(x: GpuTensor<S, T, E>, scale: E) -> GpuTensor<(), T, E> {
    let (x, mut tape) = split(x);
    let n = x.shape.numel();
    let y = kernels::reduce_axis(&x.data, 1, n, 1, false, scale);
    let out = gpu_tensor((), y, NoTape);
    if wants(&tape, x.id) {
        let (x_id, out_id, dims) = (x.id, out.id, x.shape.dims().to_vec());
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = take_grad(g, out_id) else {
                    return;
                };
                let spread = kernels::strided_copy(&gy, &vec![0; dims.len()], &dims)
                    .expect("rank checked in forward");
                let spread = if scale == E::ONE {
                    spread
                } else {
                    kernels::unary(UnaryOp::Scale, &spread, scale)
                };
                add_grad(g, x_id, spread);
            }),
        );
    }
    with_tape(out, tape)
}

/// A matrix operand as `(batch, rows, cols)` with its strides.
fn mat(dims: &[usize]) -> Option<(usize, usize, usize)> {
    match *dims {
        [m, k] => Some((1, m, k)),
        [b, m, k] => Some((b, m, k)),
        _ => None,
    }
}

impl<S: Shape, E: Float, T: Tape<E>> GpuOps<S, T, E> for GpuTensor<S, T, E> {
    fn relu(self) -> GpuTensor<S, T, E> {
        unary_op(self, UnaryOp::Relu, E::ZERO)
    }
    fn sigmoid(self) -> GpuTensor<S, T, E> {
        unary_op(self, UnaryOp::Sigmoid, E::ZERO)
    }
    fn tanh(self) -> GpuTensor<S, T, E> {
        unary_op(self, UnaryOp::Tanh, E::ZERO)
    }
    fn exp(self) -> GpuTensor<S, T, E> {
        unary_op(self, UnaryOp::Exp, E::ZERO)
    }
    fn ln(self) -> GpuTensor<S, T, E> {
        unary_op(self, UnaryOp::Log, E::ZERO)
    }
    fn square(self) -> GpuTensor<S, T, E> {
        unary_op(self, UnaryOp::Square, E::ZERO)
    }
    fn sum(self) -> GpuTensor<(), T, E> {
        sum_all(self, E::ONE)
    }
    fn mean(self) -> GpuTensor<(), T, E> {
        let n = self.shape.numel().max(1);
        // An empty tensor's mean is NaN, as in PyTorch.
        let scale = if self.shape.numel() == 0 {
            E::from_f64(f64::NAN)
        } else {
            E::ONE / E::from_usize(n)
        };
        sum_all(self, scale)
    }
    fn log_softmax<const I: usize>(self) -> GpuTensor<S, T, E>
    where
        S: HasAxis<I>,
    {
        let (x, mut tape) = split(self);
        let (outer, n, inner) = around(&x.shape.dims(), I);
        let y = kernels::log_softmax(&x.data, outer, n, inner);
        let out = gpu_tensor(x.shape, y.clone(), NoTape);
        if wants(&tape, x.id) {
            let (x_id, out_id) = (x.id, out.id);
            tape.record(
                out_id,
                Box::new(move |g: &mut Gradients<E>| {
                    let Some(gy) = take_grad(g, out_id) else {
                        return;
                    };
                    add_grad(
                        g,
                        x_id,
                        kernels::log_softmax_backward(&y, &gy, outer, n, inner),
                    );
                }),
            );
        }
        with_tape(out, tape)
    }
    fn try_matmul<SR: Shape, TR: Tape<E>>(
        self,
        rhs: GpuTensor<SR, TR, E>,
    ) -> Result<GpuTensor<<S as MatMulShape<SR>>::Output, <T as Merge<E, TR>>::Output, E>>
    where
        S: MatMulShape<SR>,
        T: Merge<E, TR>,
    {
        let () = <S as MatMulShape<SR>>::CHECK;
        let (ad, bd) = (self.shape.dims().to_vec(), rhs.shape.dims().to_vec());
        let out = self
            .shape
            .matmul_shape(&rhs.shape)
            .map_err(|e| Error::shape("matmul", format!("{ad:?} x {bd:?}: {e}")))?;
        let layout = match (mat(&ad), mat(&bd)) {
            // (b, m, k) x (k, n): the batch folds into the rows.
            (Some((ba, m, k)), Some((1, _, n))) if bd.len() == 2 => Some((1, ba * m, k, n, false)),
            (Some((ba, m, k)), Some((bb, _, n))) if ba == bb && ad.len() == 3 => {
                Some((ba, m, k, n, true))
            }
            _ => None,
        };
        let Some((batch, m, k, n, batched_b)) = layout else {
            return Err(Error::value(
                "matmul",
                format!(
                    "{ad:?} x {bd:?} is not on the GPU yet (it takes (.., m, k) x (k, n) and \
                     (b, m, k) x (b, k, n))"
                ),
            ));
        };
        let (a, ta) = split(self);
        let (b, tb) = split(rhs);
        let mut tape = ta.merge(tb);
        let b_batch = if batched_b { k * n } else { 0 };
        let view_a = |d| MatView {
            data: d,
            batch_stride: m * k,
            row_stride: k,
            col_stride: 1,
        };
        let view_b = |d| MatView {
            data: d,
            batch_stride: b_batch,
            row_stride: n,
            col_stride: 1,
        };
        let y = kernels::matmul(view_a(&a.data), view_b(&b.data), batch, m, k, n)?;
        let result = gpu_tensor(out, y, NoTape);
        let (track_a, track_b) = (wants(&tape, a.id), wants(&tape, b.id));
        if track_a || track_b {
            let (out_id, a_id, b_id, av, bv) = (result.id, a.id, b.id, a.data, b.data);
            tape.record(
                out_id,
                Box::new(move |g: &mut Gradients<E>| {
                    let Some(gy) = take_grad(g, out_id) else {
                        return;
                    };
                    let gview = |d| MatView {
                        data: d,
                        batch_stride: m * n,
                        row_stride: n,
                        col_stride: 1,
                    };
                    if track_a {
                        // dA = dY B^T: B read transposed through its strides.
                        let bt = MatView {
                            data: &bv,
                            batch_stride: b_batch,
                            row_stride: 1,
                            col_stride: n,
                        };
                        let ga = kernels::matmul(gview(&gy), bt, batch, m, n, k)
                            .expect("sizes checked in forward");
                        add_grad(g, a_id, ga);
                    }
                    if track_b {
                        // dB = A^T dY, per batch when B is batched, else over all folded rows.
                        let at = MatView {
                            data: &av,
                            batch_stride: m * k,
                            row_stride: 1,
                            col_stride: k,
                        };
                        let gb = kernels::matmul(at, gview(&gy), batch, k, m, n)
                            .expect("sizes checked in forward");
                        add_grad(g, b_id, gb);
                    }
                }),
            );
        }
        Ok(with_tape(result, tape))
    }
}

/// Cross-entropy between GPU logits `(N, C)` and class labels (on the CPU, uploaded here),
/// averaged: the GPU's [`cross_entropy`](crate::nn::loss::cross_entropy), for f32 or f64
/// logits. Panics, naming the label, if one is `>= C` or the sizes differ.
#[track_caller]
pub fn cross_entropy<N, C, N2, E, T>(
    logits: GpuTensor<(N, C), T, E>,
    labels: &crate::tensor::Indices<(N2,)>,
) -> GpuTensor<(), T, E>
where
    N: crate::shape::Dim,
    C: crate::shape::Dim,
    N2: crate::shape::DimEq<N>,
    E: Float,
    T: Tape<E>,
{
    try_cross_entropy(logits, labels).or_panic()
}

/// [`cross_entropy`] with an `Err` for a label `>= C` or differing sizes.
pub fn try_cross_entropy<N, C, N2, E, T>(
    logits: GpuTensor<(N, C), T, E>,
    labels: &crate::tensor::Indices<(N2,)>,
) -> Result<GpuTensor<(), T, E>>
where
    N: crate::shape::Dim,
    C: crate::shape::Dim,
    N2: crate::shape::DimEq<N>,
    E: Float,
    T: Tape<E>,
{
    super::loss::nll_checked(
        ("cross_entropy", "logits"),
        logits.log_softmax::<1>(),
        labels,
    )
}
