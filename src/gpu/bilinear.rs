//! [`Bilinear`](crate::nn::Bilinear) on the GPU: `y = x1^T A x2 + b` from batched matrix
//! products, with the gradients of both inputs, the weight and the bias.

use super::tensor::{GpuTensor, add_grad, gpu_tensor, split, take_grad, wants};
use crate::autograd::{Gradients, Merge, NoTape, Tape};
use crate::device::GpuStorage;
use crate::device::kernels::{self, BinaryOp, MatView};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::nn::{BilinearLayer, Module};
use crate::shape::check::{BilinearInput1, BilinearInput2, DimCheck};
use crate::shape::{Dim, DimEq, LastDim, ShapeMismatch};
use crate::tensor::Tensor;

/// [`Bilinear`](crate::nn::Bilinear) (and [`BilinearDyn`](crate::nn::BilinearDyn)) on the
/// GPU, made by `bilinear.to_device(&gpu)`: the same `(out, in1, in2)` weight and `(out,)`
/// bias as GPU tensors of the CPU layer's element type. Its `forward` takes the pair
/// `(x1, x2)` of GPU tensors with equal leading dimensions, as the CPU layer; gradients reach
/// both inputs, the weight and the bias.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::nn::{Bilinear, Module};
/// use shaped::rand::{SeedableRng, rngs::StdRng};
/// let gpu = Wgpu::new()?;
/// let cpu = Bilinear::<3, 2, 4>::new(&mut StdRng::seed_from_u64(0));
/// let layer = cpu.to_device(&gpu)?;
/// let (x1, x2) = (Tensor::<Rank2<5, 3>>::ones(), Tensor::<Rank2<5, 2>>::ones());
/// let y = layer.forward((x1.to_device(&gpu)?, x2.to_device(&gpu)?)).to_cpu()?;
/// assert!((y.to_vec()[0] - cpu.forward((x1, x2)).to_vec()[0]).abs() < 1e-5);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct GpuBilinear<I1: Dim, I2: Dim, O: Dim, E: Float = f32> {
    /// `(out_features, in1_features, in2_features)`.
    pub weight: GpuTensor<(O, I1, I2), NoTape, E>,
    /// `(out_features,)`, or `None` for `bias=False`.
    pub bias: Option<GpuTensor<(O,), NoTape, E>>,
}

weight_bias_on_gpu!([I1: Dim, I2: Dim, O: Dim] BilinearLayer<I1, I2, O> => GpuBilinear);

/// `a` of `dims` read with `(batch, row, col)` strides.
fn view<E: Float>(data: &GpuStorage<E>, strides: [usize; 3]) -> MatView<'_, E> {
    MatView {
        data,
        batch_stride: strides[0],
        row_stride: strides[1],
        col_stride: strides[2],
    }
}

impl<I1, I2, O, E, S1, S2, T1, T2> Module<(GpuTensor<S1, T1, E>, GpuTensor<S2, T2, E>)>
    for GpuBilinear<I1, I2, O, E>
where
    I1: Dim,
    I2: Dim,
    O: Dim,
    E: Float,
    S1: LastDim,
    S2: LastDim,
    S1::Last: DimEq<I1>,
    S2::Last: DimEq<I2>,
    T1: Tape<E> + Merge<E, T2>,
    T2: Tape<E>,
{
    type Output = GpuTensor<S1::WithLast<O>, <T1 as Merge<E, T2>>::Output, E>;
    const SHAPE_MISMATCH: ShapeMismatch =
        DimCheck::<S1::Last, I1, BilinearInput1<I1, I2, O>>::MISMATCH.or(DimCheck::<
            S2::Last,
            I2,
            BilinearInput2<I1, I2, O>,
        >::MISMATCH);
    fn try_forward(
        &self,
        (x1, x2): (GpuTensor<S1, T1, E>, GpuTensor<S2, T2, E>),
    ) -> Result<Self::Output> {
        let () = <Self as Module<(GpuTensor<S1, T1, E>, GpuTensor<S2, T2, E>)>>::SHAPE_CHECK;
        let (d1, d2) = (x1.shape.dims(), x2.shape.dims());
        let (d1, d2) = (d1.as_slice(), d2.as_slice());
        let (o, i1, i2) = self.weight.shape;
        let (o, i1, i2) = (o.size(), i1.size(), i2.size());
        let shapes = || format!("x1 {d1:?}, x2 {d2:?}, weight {:?}", [o, i1, i2]);
        if d1.last() != Some(&i1) || d2.last() != Some(&i2) {
            return Err(Error::shape(
                "bilinear",
                format!(
                    "the inputs' last dimensions must be the weight's (O, I1, I2) in1 and in2: {}",
                    shapes()
                ),
            ));
        }
        if d1[..d1.len() - 1] != d2[..d2.len() - 1] {
            return Err(Error::shape(
                "bilinear",
                format!(
                    "x1 and x2 must have the same dimensions but the last: {}",
                    shapes()
                ),
            ));
        }
        if let Some(b) = &self.bias
            && b.shape.0.size() != o
        {
            return Err(Error::shape(
                "bilinear",
                format!(
                    "the bias has {} elements, the weight {o} outputs",
                    b.shape.0.size()
                ),
            ));
        }
        let n: usize = d1[..d1.len() - 1].iter().product();
        let out_shape = x1.shape.with_last(self.weight.shape.0);
        let (x1, t1) = split(x1);
        let (x2, t2) = split(x2);
        let leaf = <<T1 as Merge<E, T2>>::Output as Tape<E>>::leaf;
        let mut tape = t1.merge(t2).merge(leaf(self.weight.id));
        if let Some(b) = &self.bias {
            tape = tape.merge(leaf(b.id));
        }
        let w = self.weight.data.clone();
        // t[o, n, j] = sum_i x1[n, i] w[o, i, j], one product per output feature.
        let t = kernels::matmul(
            view(&x1.data, [0, i1, 1]),
            view(&w, [i1 * i2, i2, 1]),
            o,
            n,
            i1,
            i2,
        )?;
        // y[n, o] = sum_j t[o, n, j] x2[n, j].
        let p = kernels::binary(
            BinaryOp::Mul,
            &t,
            &[o, n, i2],
            &x2.data,
            &[n, i2],
            &[o, n, i2],
        )?;
        let y_on = kernels::reduce_axis(&p, o * n, i2, 1, false, E::ONE);
        let mut y = kernels::strided_copy(&y_on, &[1, n], &[n, o])?;
        if let Some(b) = &self.bias {
            y = kernels::binary(BinaryOp::Add, &y, &[n, o], &b.data, &[o], &[n, o])?;
        }
        let out = gpu_tensor(out_shape, y, NoTape);
        let (w_id, b_id) = (self.weight.id, self.bias.as_ref().map(|b| b.id));
        let (track_x1, track_x2) = (wants(&tape, x1.id), wants(&tape, x2.id));
        let track_w = wants(&tape, w_id);
        let track_b = b_id.is_some_and(|id| wants(&tape, id));
        if track_x1 || track_x2 || track_w || track_b {
            let (x1_id, x2_id, out_id) = (x1.id, x2.id, out.id);
            let (x1d, x2d) = (x1.data, x2.data);
            tape.record(
                out_id,
                Box::new(move |g: &mut Gradients<E>| {
                    let Some(gy) = take_grad(g, out_id) else {
                        return;
                    };
                    const OK: &str = "sizes checked in forward";
                    // gy transposed to (o, n, 1), to scale the per-feature products.
                    let gyt = kernels::strided_copy(&gy, &[1, o], &[o, n]).expect(OK);
                    // Sums over the output features of `a[o, n, k] gy[n, o]`.
                    let scaled_sum = |a: &GpuStorage<E>, k: usize| {
                        let s = kernels::binary(
                            BinaryOp::Mul,
                            a,
                            &[o, n, k],
                            &gyt,
                            &[o, n, 1],
                            &[o, n, k],
                        )
                        .expect(OK);
                        kernels::reduce_axis(&s, 1, o, n * k, false, E::ONE)
                    };
                    if track_x1 {
                        // u[o, n, i] = sum_j x2[n, j] w[o, i, j].
                        let u = kernels::matmul(
                            view(&x2d, [0, i2, 1]),
                            view(&w, [i1 * i2, 1, i2]),
                            o,
                            n,
                            i2,
                            i1,
                        )
                        .expect(OK);
                        add_grad(g, x1_id, scaled_sum(&u, i1));
                    }
                    if track_x2 {
                        add_grad(g, x2_id, scaled_sum(&t, i2));
                    }
                    if track_w {
                        // gw[o] = (gy[:, o] x1)^T x2.
                        let s = kernels::binary(
                            BinaryOp::Mul,
                            &x1d,
                            &[n, i1],
                            &gyt,
                            &[o, n, 1],
                            &[o, n, i1],
                        )
                        .expect(OK);
                        let gw = kernels::matmul(
                            view(&s, [n * i1, 1, i1]),
                            view(&x2d, [0, i2, 1]),
                            o,
                            i1,
                            n,
                            i2,
                        )
                        .expect(OK);
                        add_grad(g, w_id, gw);
                    }
                    if let (true, Some(b_id)) = (track_b, b_id) {
                        add_grad(g, b_id, kernels::sum_to(&gy, &[n, o], &[o]).expect(OK));
                    }
                }),
            );
        }
        Ok(Tensor {
            shape: out.shape,
            data: out.data,
            id: out.id,
            tape,
        })
    }
}
