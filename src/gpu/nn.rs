//! Layers on the GPU: [`GpuLinear`], the activations, tuples of layers (sequential models),
//! moved as a whole with [`ToDevice`] / [`ToCpu`] and visited by [`GpuParams`].

use super::ops::GpuOps;
use super::tensor::{GpuTensor, ToCpu, ToDevice, add_grad, gpu_tensor, split, take_grad, wants};
use crate::autograd::{Gradients, NoTape, Tape, UniqueId};
use crate::device::kernels::{self, BinaryOp, MatView};
use crate::device::{GpuStorage, Wgpu};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::nn::{LinearLayer, Module, ReLU, Sigmoid, Tanh};
use crate::shape::check::{DimCheck, LinearInput};
use crate::shape::{Dim, DimEq, LastDim, Shape, ShapeMismatch};
use crate::tensor::Tensor;

/// One parameter of a GPU model, mutably (for optimizers), of element type `E` (the model's).
pub struct GpuParamMut<'a, E: Float = f32> {
    /// Its `state_dict` name, e.g. `0.weight`.
    pub name: &'a str,
    /// The id its gradients are stored under.
    pub id: UniqueId,
    /// Its buffer on the GPU.
    pub data: &'a mut GpuStorage<E>,
}

/// GPU models whose parameters can be visited by name (the GPU's [`Params`](crate::nn::Params)),
/// under the names the CPU model has (`0.weight`; a lone tensor in a tuple is `0`), and
/// whose mode-dependent layers (Dropout, BatchNorm, recurrent stacks, transformer layers)
/// switch between training and evaluation as a whole, as PyTorch's `model.train()`.
///
/// `E` is the element type of the parameters (`f32` by default; a model moved from
/// `Linear<I, O, f64>` layers is `GpuParams<f64>`). Layers without parameters (activations,
/// pooling, Dropout) are `GpuParams<E>` for both, so they join models of either type.
///
/// A CPU layer that also runs on the GPU unchanged (`Dropout`) has both this trait's and
/// [`Params`](crate::nn::Params)' `train`; on such a lone layer name the trait
/// (`GpuParams::<f32>::train(&mut dropout)`). Models of GPU layers (tuples, `GpuLinear`, ...)
/// have only this one.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::nn::{Dropout, Linear};
/// use shaped::rand::{SeedableRng, rngs::StdRng};
/// let gpu = Wgpu::new()?;
/// let cpu = (Linear::<4, 8>::new(&mut StdRng::seed_from_u64(0)), Dropout::with_seed(0.5, 1));
/// let mut model = cpu.to_device(&gpu)?;
/// model.train();
/// assert!(model.is_training());
/// model.eval();
/// assert_eq!(model.gpu_param_names(), ["0.weight", "0.bias"]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
pub trait GpuParams<E: Float = f32> {
    /// Calls `f` on every parameter, names prefixed by `prefix`.
    fn visit_gpu(&mut self, prefix: &str, f: &mut dyn FnMut(GpuParamMut<'_, E>));
    /// Switches every mode-dependent layer inside to training (`true`) or evaluation
    /// (`false`) mode, as [`Params::set_training`](crate::nn::Params::set_training); layers
    /// without a mode keep this empty default, containers pass it on.
    fn set_training(&mut self, training: bool) {
        let _ = training;
    }
    /// Whether any mode-dependent layer inside is in training mode (`false` for a model
    /// without one).
    fn is_training(&self) -> bool {
        false
    }
    /// PyTorch's `model.train()`: every Dropout, BatchNorm, recurrent and transformer layer
    /// inside runs in training mode until [`eval`](GpuParams::eval).
    fn train(&mut self) {
        self.set_training(true)
    }
    /// PyTorch's `model.eval()`: every layer inside runs in evaluation mode, the state a
    /// layer moved to the GPU keeps from its CPU layer.
    fn eval(&mut self) {
        self.set_training(false)
    }
    /// Every parameter's name, in visiting order (the CPU model's
    /// [`param_names`](crate::nn::Params::param_names) without its buffers).
    fn gpu_param_names(&mut self) -> Vec<String> {
        let mut names = Vec::new();
        self.visit_gpu("", &mut |p| names.push(p.name.to_string()));
        names
    }
}

/// [`Linear`](crate::nn::Linear) on the GPU, made by `linear.to_device(&gpu)`: the same
/// `(out, in)` weight and `(out,)` bias, as GPU tensors of the CPU layer's element type `E`
/// (`Linear<I, O, f64>` becomes `GpuLinear<I, O, f64>` where the adapter has f64 shaders).
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::nn::{Linear, Module};
/// use shaped::rand::{SeedableRng, rngs::StdRng};
/// let gpu = Wgpu::new()?;
/// let cpu = Linear::<3, 2, f64>::new(&mut StdRng::seed_from_u64(0));
/// let layer = cpu.to_device(&gpu)?;
/// let x = Tensor::<Rank2<4, 3>, f64>::ones();
/// let y = layer.forward(x.to_device(&gpu)?).to_cpu()?;
/// assert!((y.to_vec()[0] - cpu.forward(x).to_vec()[0]).abs() < 1e-12);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct GpuLinear<I: Dim, O: Dim, E: Float = f32> {
    /// `(out_features, in_features)`.
    pub weight: GpuTensor<(O, I), NoTape, E>,
    /// `(out_features,)`, or `None` for `bias=False`.
    pub bias: Option<GpuTensor<(O,), NoTape, E>>,
}

weight_bias_on_gpu!([I: Dim, O: Dim] LinearLayer<I, O> => GpuLinear);

/// A parameter joining a forward pass with the input's kind of tape (traced when it is).
fn param_tape<E: Float, T: Tape<E>>(id: UniqueId) -> T {
    T::leaf(id)
}

impl<I: Dim, O: Dim, E: Float, S: Shape + LastDim, T: Tape<E>> Module<GpuTensor<S, T, E>>
    for GpuLinear<I, O, E>
where
    S::Last: DimEq<I>,
{
    type Output = GpuTensor<S::WithLast<O>, T, E>;
    const SHAPE_MISMATCH: ShapeMismatch = DimCheck::<S::Last, I, LinearInput<I, O>>::MISMATCH;
    fn try_forward(&self, x: GpuTensor<S, T, E>) -> Result<Self::Output> {
        let () = <Self as Module<GpuTensor<S, T, E>>>::SHAPE_CHECK;
        let (i, o) = (self.weight.shape.1.size(), self.weight.shape.0.size());
        if x.shape.last().size() != i {
            return Err(Error::shape(
                "Linear",
                format!(
                    "input of shape {:?} has {} features, the layer takes {i}",
                    x.shape.dims().as_slice(),
                    x.shape.last().size()
                ),
            ));
        }
        let out_shape = x.shape.with_last(self.weight.shape.0);
        let rows = x.shape.numel().checked_div(i).unwrap_or(0);
        let (x, tx) = split(x);
        let mut tape = tx.merge(param_tape::<E, T>(self.weight.id));
        if let Some(b) = &self.bias {
            tape = tape.merge(param_tape::<E, T>(b.id));
        }
        let w = &self.weight.data;
        // y = x W^T: W (o, i) read transposed through its strides.
        let wt = MatView {
            data: w,
            batch_stride: 0,
            row_stride: 1,
            col_stride: i,
        };
        let xv = MatView {
            data: &x.data,
            batch_stride: 0,
            row_stride: i,
            col_stride: 1,
        };
        let mut y = kernels::matmul(xv, wt, 1, rows, i, o)?;
        if let Some(b) = &self.bias {
            y = kernels::binary(BinaryOp::Add, &y, &[rows, o], &b.data, &[o], &[rows, o])?;
        }
        let out = gpu_tensor(out_shape, y, NoTape);
        let w_id = self.weight.id;
        let b_id = self.bias.as_ref().map(|b| b.id);
        let (track_x, track_w) = (wants(&tape, x.id), wants(&tape, w_id));
        let track_b = b_id.is_some_and(|id| wants(&tape, id));
        if track_x || track_w || track_b {
            let (x_id, out_id, xd, wd) = (x.id, out.id, x.data, w.clone());
            tape.record(
                out_id,
                Box::new(move |g: &mut Gradients<E>| {
                    let Some(gy) = take_grad(g, out_id) else {
                        return;
                    };
                    if track_x {
                        let gv = MatView {
                            data: &gy,
                            batch_stride: 0,
                            row_stride: o,
                            col_stride: 1,
                        };
                        let wv = MatView {
                            data: &wd,
                            batch_stride: 0,
                            row_stride: i,
                            col_stride: 1,
                        };
                        let gx =
                            kernels::matmul(gv, wv, 1, rows, o, i).expect("checked in forward");
                        add_grad(g, x_id, gx);
                    }
                    if track_w {
                        let gt = MatView {
                            data: &gy,
                            batch_stride: 0,
                            row_stride: 1,
                            col_stride: o,
                        };
                        let xv = MatView {
                            data: &xd,
                            batch_stride: 0,
                            row_stride: i,
                            col_stride: 1,
                        };
                        let gw =
                            kernels::matmul(gt, xv, 1, o, rows, i).expect("checked in forward");
                        add_grad(g, w_id, gw);
                    }
                    if let (true, Some(b_id)) = (track_b, b_id) {
                        let gb = kernels::sum_to(&gy, &[rows, o], &[o]).expect("rank 2");
                        add_grad(g, b_id, gb);
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

macro_rules! gpu_activation {
    ($name:ident, $method:ident) => {
        impl<S: Shape, E: Float, T: Tape<E>> Module<GpuTensor<S, T, E>> for $name {
            type Output = GpuTensor<S, T, E>;
            fn try_forward(&self, x: GpuTensor<S, T, E>) -> Result<Self::Output> {
                Ok(GpuOps::$method(x))
            }
        }
        impl ToDevice for $name {
            type Output = $name;
            fn to_device(&self, _: &Wgpu) -> Result<$name> {
                Ok(*self)
            }
        }
        impl ToCpu for $name {
            type Output = $name;
            fn to_cpu(&self) -> Result<$name> {
                Ok(*self)
            }
        }
        impl<E: Float> GpuParams<E> for $name {
            fn visit_gpu(&mut self, _: &str, _: &mut dyn FnMut(GpuParamMut<'_, E>)) {}
        }
    };
}

gpu_activation!(ReLU, relu);
gpu_activation!(Sigmoid, sigmoid);
gpu_activation!(Tanh, tanh);

macro_rules! gpu_tuple {
    ($($M:ident $i:tt),+) => {
        impl<$($M: ToDevice),+> ToDevice for ($($M,)+) {
            type Output = ($($M::Output,)+);
            fn to_device(&self, gpu: &Wgpu) -> Result<Self::Output> {
                Ok(($(self.$i.to_device(gpu)?,)+))
            }
        }
        impl<$($M: ToCpu),+> ToCpu for ($($M,)+) {
            type Output = ($($M::Output,)+);
            fn to_cpu(&self) -> Result<Self::Output> {
                Ok(($(self.$i.to_cpu()?,)+))
            }
        }
        impl<E: Float, $($M: GpuParams<E>),+> GpuParams<E> for ($($M,)+) {
            fn visit_gpu(&mut self, prefix: &str, f: &mut dyn FnMut(GpuParamMut<'_, E>)) {
                $(self.$i.visit_gpu(&format!("{prefix}{}.", $i), f);)+
            }
            fn set_training(&mut self, training: bool) {
                $(self.$i.set_training(training);)+
            }
            fn is_training(&self) -> bool {
                false $(|| self.$i.is_training())+
            }
        }
    };
}

gpu_tuple!(A 0);
gpu_tuple!(A 0, B 1);
gpu_tuple!(A 0, B 1, C 2);
gpu_tuple!(A 0, B 1, C 2, D 3);
gpu_tuple!(A 0, B 1, C 2, D 3, F 4);
gpu_tuple!(A 0, B 1, C 2, D 3, F 4, G 5);
gpu_tuple!(A 0, B 1, C 2, D 3, F 4, G 5, H 6);
gpu_tuple!(A 0, B 1, C 2, D 3, F 4, G 5, H 6, I 7);
gpu_tuple!(A 0, B 1, C 2, D 3, F 4, G 5, H 6, I 7, J 8);
gpu_tuple!(A 0, B 1, C 2, D 3, F 4, G 5, H 6, I 7, J 8, K 9);
gpu_tuple!(A 0, B 1, C 2, D 3, F 4, G 5, H 6, I 7, J 8, K 9, L 10);
gpu_tuple!(A 0, B 1, C 2, D 3, F 4, G 5, H 6, I 7, J 8, K 9, L 10, M 11);

/// A lone GPU tensor is a model of one parameter named `prefix` without its final dot (as
/// on the CPU: the tensors of a tuple are `0`, `1`, ...).
impl<S: Shape, E: Float> GpuParams<E> for GpuTensor<S, NoTape, E> {
    fn visit_gpu(&mut self, prefix: &str, f: &mut dyn FnMut(GpuParamMut<'_, E>)) {
        f(GpuParamMut {
            name: prefix.strip_suffix('.').unwrap_or(prefix),
            id: self.id,
            data: &mut self.data,
        });
    }
}

/// Dropout on GPU tensors: the mask is drawn on the CPU from the layer's own generator (the
/// same values the CPU layer would draw) and uploaded; training mode as on the CPU
/// (`forward_train`, or `train()`). `to_device` copies the layer with its generator state.
impl<S: Shape, E: Float, T: Tape<E>> Module<GpuTensor<S, T, E>> for crate::nn::Dropout {
    type Output = GpuTensor<S, T, E>;
    fn try_forward(&self, x: GpuTensor<S, T, E>) -> Result<Self::Output> {
        if !self.active() {
            return Ok(x);
        }
        let Some(mask) = self.next_mask::<E>(x.shape.numel()) else {
            return Ok(x);
        };
        let mask = gpu_tensor(x.shape, x.data.device().upload(&mask), NoTape);
        let shape = x.shape;
        super::ops::binary_op(x, mask, shape, BinaryOp::Mul)
    }
}

impl ToDevice for crate::nn::Dropout {
    type Output = crate::nn::Dropout;
    fn to_device(&self, _: &Wgpu) -> Result<Self::Output> {
        Ok(self.clone())
    }
}

impl ToCpu for crate::nn::Dropout {
    type Output = crate::nn::Dropout;
    fn to_cpu(&self) -> Result<Self::Output> {
        Ok(self.clone())
    }
}

impl<E: Float> GpuParams<E> for crate::nn::Dropout {
    fn visit_gpu(&mut self, _: &str, _: &mut dyn FnMut(GpuParamMut<'_, E>)) {}
    fn set_training(&mut self, training: bool) {
        crate::nn::Params::<E>::set_training(self, training)
    }
    fn is_training(&self) -> bool {
        crate::nn::Params::<E>::is_training(self)
    }
}
