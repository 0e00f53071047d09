//! The GRU and the Elman RNN (tanh or relu) on the GPU: [`GpuRecurrentCell`] (one step:
//! [`GpuGRUCell`], [`GpuRNNCell`], [`GpuRNNReluCell`]) and [`GpuRecurrent`] (a stack over a
//! sequence, one direction or both: [`GpuGRU`], [`GpuRNN`], [`GpuRNNRelu`]), moved from the CPU layers
//! with [`ToDevice`]. As the LSTM: one op per layer, the input projection of every step as one
//! product, then per step the recurrent product and a fused step kernel; backward walks the
//! steps in reverse, then gets the weights' and the input's gradients as products over all
//! steps at once. PyTorch's gate layout: GRU gates `r, z, n` with the n gate's hidden bias
//! inside `r * (W_hn h + b_hn)`.

use super::nn::{GpuParamMut, GpuParams};
use super::recurrent::{Mat, Seq, flip_time, retag, retype, select_layer, stack_layers};
use super::shape_ops::{GpuShapeOps, permute_gpu};
use super::tensor::{GpuTensor, ToCpu, ToDevice, add_grad, gpu_tensor, split, take_grad};
use crate::autograd::{Gradients, NoTape, Tape, UniqueId};
use crate::device::Wgpu;
use crate::device::kernels;
use crate::device::rnn_kernels::{self, RnnDims, RnnMode, RnnWeights};
use crate::device::seq_kernels::{self, rows, transposed};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::nn::{
    CellKind, Direction, GruKind, Layout, Module, Recurrent, RecurrentCell, RnnReluKind,
    RnnTanhKind, Unidirectional,
};
use crate::shape::{Dim, DimEq, Prod, Shape};

/// A GRU or Elman RNN cell on the GPU, made by `cell.to_device(&gpu)` from a
/// [`GRUCell`](crate::nn::GRUCell), [`RNNCell`](crate::nn::RNNCell) or
/// [`RNNReluCell`](crate::nn::RNNReluCell) (any `RecurrentCell` of those kinds): the same
/// parameters (`weight_ih` `(G*H, I)`, GRU gates `r, z, n`), as GPU tensors. As a [`Module`]
/// it maps `x` `(B, I)` or `(x, h)` to `h'`, as the CPU cell. `E` is the CPU cell's element
/// type: f64 cells run in f64 (adapters with `SHADER_F64`, see [`Wgpu::supports_f64`]).
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::nn::{GRUCell, Module};
/// use shaped::rand::SeedableRng;
/// let gpu = Wgpu::new()?;
/// let cell = GRUCell::<3, 4>::new(&mut shaped::rand::rngs::StdRng::seed_from_u64(0)).to_device(&gpu)?;
/// let x = Tensor::<Rank2<2, 3>>::ones().to_device(&gpu)?;
/// let h = cell.forward(x.clone()); // from a zero state
/// let h = cell.forward((x, h)); // the next step
/// assert_eq!(h.to_cpu()?.dims().as_slice(), &[2, 4]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct GpuRecurrentCell<K: CellKind, I: Dim, H: Dim, E: Float = f32> {
    /// Input-to-hidden weights, `(gates * hidden, input)`.
    pub weight_ih: GpuTensor<(Prod<K::Gates, H>, I), NoTape, E>,
    /// Hidden-to-hidden weights, `(gates * hidden, hidden)`.
    pub weight_hh: GpuTensor<(Prod<K::Gates, H>, H), NoTape, E>,
    /// Input-to-hidden bias, `(gates * hidden,)`.
    pub bias_ih: Option<GpuTensor<(Prod<K::Gates, H>,), NoTape, E>>,
    /// Hidden-to-hidden bias, `(gates * hidden,)`.
    pub bias_hh: Option<GpuTensor<(Prod<K::Gates, H>,), NoTape, E>>,
}

/// `nn.GRUCell` on the GPU (see [`GpuRecurrentCell`]).
pub type GpuGRUCell<I, H, E = f32> = GpuRecurrentCell<GruKind, I, H, E>;
/// `nn.RNNCell` (tanh) on the GPU (see [`GpuRecurrentCell`]).
pub type GpuRNNCell<I, H, E = f32> = GpuRecurrentCell<RnnTanhKind, I, H, E>;
/// `nn.RNNCell(nonlinearity="relu")` on the GPU (see [`GpuRecurrentCell`]).
pub type GpuRNNReluCell<I, H, E = f32> = GpuRecurrentCell<RnnReluKind, I, H, E>;

fn mode_of<K: CellKind>() -> RnnMode {
    match K::MODE {
        "GRU" => RnnMode::Gru,
        "RNN_RELU" => RnnMode::Relu,
        _ => RnnMode::Tanh,
    }
}

impl<K: CellKind, I: Dim, H: Dim, E: Float> ToCpu for GpuRecurrentCell<K, I, H, E> {
    type Output = RecurrentCell<K, I, H, E>;
    fn to_cpu(&self) -> Result<Self::Output> {
        let down =
            |b: &Option<GpuTensor<(Prod<K::Gates, H>,), NoTape, E>>| b.as_ref().map(|b| b.to_cpu());
        Ok(RecurrentCell {
            weight_ih: self.weight_ih.to_cpu()?,
            weight_hh: self.weight_hh.to_cpu()?,
            bias_ih: down(&self.bias_ih).transpose()?,
            bias_hh: down(&self.bias_hh).transpose()?,
        })
    }
}

impl<K: CellKind, I: Dim, H: Dim, E: Float> GpuRecurrentCell<K, I, H, E> {
    /// The input size.
    pub fn input_size(&self) -> usize {
        self.weight_ih.shape.1.size()
    }
    /// The hidden size.
    pub fn hidden_size(&self) -> usize {
        self.weight_hh.shape.1.size()
    }

    fn upload(cell: &RecurrentCell<K, I, H, E>, gpu: &Wgpu) -> Result<Self> {
        let up = |b: &Option<crate::tensor::Tensor<(Prod<K::Gates, H>,), E>>| {
            b.as_ref().map(|b| b.to_device(gpu))
        };
        Ok(GpuRecurrentCell {
            weight_ih: cell.weight_ih.to_device(gpu)?,
            weight_hh: cell.weight_hh.to_device(gpu)?,
            bias_ih: up(&cell.bias_ih).transpose()?,
            bias_hh: up(&cell.bias_hh).transpose()?,
        })
    }

    fn visit_named(&mut self, prefix: &str, suffix: &str, f: &mut dyn FnMut(GpuParamMut<'_, E>)) {
        let name = |n: &str| format!("{prefix}{n}{suffix}");
        f(GpuParamMut {
            name: &name("weight_ih"),
            id: self.weight_ih.id,
            data: &mut self.weight_ih.data,
        });
        f(GpuParamMut {
            name: &name("weight_hh"),
            id: self.weight_hh.id,
            data: &mut self.weight_hh.data,
        });
        for (n, b) in [
            ("bias_ih", &mut self.bias_ih),
            ("bias_hh", &mut self.bias_hh),
        ] {
            if let Some(b) = b {
                f(GpuParamMut {
                    name: &name(n),
                    id: b.id,
                    data: &mut b.data,
                });
            }
        }
    }

    /// The cell over the time-major `x` `(steps, B, I)` from `h0` (zeros when `None`), as one
    /// op: every step's `h` `(steps, B, H)` when `want_y`, and the last `h` `(B, H)`.
    fn run<T: Tape<E>>(
        &self,
        x: Seq<T, E>,
        h0: Option<Mat<T, E>>,
        want_y: bool,
    ) -> Result<(Option<Seq<T, E>>, Mat<T, E>)> {
        let (steps, batch, input) = x.shape;
        let hidden = self.hidden_size();
        let d = RnnDims {
            mode: mode_of::<K>(),
            steps,
            batch,
            input,
            hidden,
        };
        let units = batch * hidden;
        let dev = x.data.device().clone();
        let (x, mut tape) = split(x);
        let h0 = match h0 {
            Some(h) => {
                let (h, th) = split(h);
                tape = tape.merge(th);
                Some(h)
            }
            None => None,
        };
        let params = [
            Some(self.weight_ih.id),
            Some(self.weight_hh.id),
            self.bias_ih.as_ref().map(|b| b.id),
            self.bias_hh.as_ref().map(|b| b.id),
        ];
        for id in params.into_iter().flatten() {
            tape = tape.merge(T::leaf(id));
        }
        let h0d = h0
            .as_ref()
            .map_or_else(|| seq_kernels::zeros(&dev, units), |h| h.data.clone());
        let saved = rnn_kernels::rnn_forward(
            &x.data,
            &h0d,
            &RnnWeights {
                w_ih: &self.weight_ih.data,
                w_hh: &self.weight_hh.data,
                b_ih: self.bias_ih.as_ref().map(|b| &b.data),
                b_hh: self.bias_hh.as_ref().map(|b| &b.data),
            },
            d,
        )?;
        let y = want_y.then(|| {
            let y = seq_kernels::copy_range(&saved.hs, units, steps * units);
            gpu_tensor((steps, batch, hidden), y, NoTape)
        });
        let h_n = gpu_tensor(
            (batch, hidden),
            seq_kernels::copy_range(&saved.hs, steps * units, units),
            NoTape,
        );
        let wants = |id: Option<UniqueId>| T::TRACING && id.is_some_and(|id| tape.tracks(id));
        let track = [
            wants(Some(x.id)),
            wants(h0.as_ref().map(|h| h.id)),
            wants(params[0]),
            wants(params[1]),
            wants(params[2]),
            wants(params[3]),
        ];
        if track.iter().any(|&t| t) {
            let y_id = y.as_ref().map(|y| y.id);
            let h_id = h_n.id;
            let (x_id, xd) = (x.id, x.data);
            let h0_id = h0.map(|h| h.id);
            let (w_ih, w_hh) = (self.weight_ih.data.clone(), self.weight_hh.data.clone());
            tape.record(
                h_id,
                Box::new(move |g: &mut Gradients<E>| {
                    let dy = y_id.and_then(|id| take_grad(g, id));
                    let dh = take_grad(g, h_id);
                    if dy.is_none() && dh.is_none() {
                        return;
                    }
                    let grads =
                        rnn_kernels::rnn_backward(&saved, &w_hh, dy.as_ref(), dh.as_ref(), d)
                            .expect("sizes checked in forward");
                    let (gh, n) = (d.mode.gates() * hidden, steps * batch);
                    let mm = |a, b, m, k, nn| {
                        kernels::matmul(a, b, 1, m, k, nn).expect("sizes checked in forward")
                    };
                    let [tx, th, twi, twh, tbi, tbh] = track;
                    let (dgx, dgh) = (&grads.dgx, &grads.dgh);
                    if tx {
                        add_grad(g, x_id, mm(rows(dgx, gh), rows(&w_ih, input), n, gh, input));
                    }
                    if let (true, Some(id)) = (th, h0_id) {
                        add_grad(g, id, grads.dh0.clone());
                    }
                    if let (true, Some(id)) = (twi, params[0]) {
                        add_grad(
                            g,
                            id,
                            mm(transposed(dgx, gh), rows(&xd, input), gh, n, input),
                        );
                    }
                    if let (true, Some(id)) = (twh, params[1]) {
                        // Slots 0..steps of hs are the states each step read.
                        let hs = rows(&saved.hs, hidden);
                        add_grad(g, id, mm(transposed(dgh, gh), hs, gh, n, hidden));
                    }
                    for (on, id, dg) in [(tbi, params[2], dgx), (tbh, params[3], dgh)] {
                        if let (true, Some(id)) = (on, id) {
                            let db = kernels::sum_to(dg, &[n, gh], &[gh]).expect("rank 2");
                            add_grad(g, id, db);
                        }
                    }
                }),
            );
        }
        let y = y.map(|y| {
            let t = tape.for_clone(y.id);
            retag(y, t)
        });
        Ok((y, retag(h_n, tape)))
    }

    fn step<B: Dim, X: Dim, T: Tape<E>>(
        &self,
        x: GpuTensor<(B, X), T, E>,
        h: Option<Mat<T, E>>,
    ) -> Result<GpuTensor<(B, H), T, E>> {
        let (b, i) = (x.shape.0, x.shape.1.size());
        if i != self.input_size() {
            return Err(Error::shape(
                K::CELL_NAME,
                format!(
                    "input of shape {:?} does not fit (batch, {})",
                    [b.size(), i],
                    self.input_size()
                ),
            ));
        }
        let x = retype(x, (1, b.size(), i));
        let (_, h) = self.run(x, h, false)?;
        Ok(retype(h, (b, self.weight_hh.shape.1)))
    }
}

impl<K: CellKind, I: Dim, H: Dim, E: Float> GpuParams<E> for GpuRecurrentCell<K, I, H, E> {
    fn visit_gpu(&mut self, prefix: &str, f: &mut dyn FnMut(GpuParamMut<'_, E>)) {
        self.visit_named(prefix, "", f);
    }
}

/// A GRU or Elman RNN stack on the GPU (any number of layers, one direction or both), made
/// by `layer.to_device(&gpu)` from a [`GRU`](crate::nn::GRU), [`RNN`](crate::nn::RNN),
/// [`RNNRelu`](crate::nn::RNNRelu), their bidirectional forms ([`BiGRU`](crate::nn::BiGRU),
/// ...) or their `Dyn` forms, of either layout. As a [`Module`] it maps `x` or `(x, h_0)` to
/// `(y, h_n)` with the CPU layer's shapes; parameters keep PyTorch's names (`weight_ih_l0`,
/// `weight_ih_l0_reverse`, ...). Dropout between layers acts in training mode with the CPU
/// layer's generator, on the same elements as on the CPU. `E` is the CPU layer's element
/// type: `GRU<I, H, L, f64>` moves to `GpuGRU<.., f64>` and runs in f64 (adapters with
/// `SHADER_F64`).
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::nn::{GRU, Module};
/// use shaped::rand::SeedableRng;
/// let gpu = Wgpu::new()?;
/// let gru = GRU::<3, 5, 2>::new(&mut shaped::rand::rngs::StdRng::seed_from_u64(0)).to_device(&gpu)?;
/// let x = Tensor::<Rank3<2, 4, 3>>::ones().to_device(&gpu)?; // (batch, seq, input)
/// let (y, h_n) = gru.forward(x.trace());
/// assert_eq!(y.to_cpu()?.dims().as_slice(), &[2, 4, 5]);
/// assert_eq!(h_n.to_cpu()?.dims().as_slice(), &[2, 2, 5]); // (num_layers, batch, hidden)
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct GpuRecurrent<
    K: CellKind,
    I: Dim,
    H: Dim,
    L: Dim,
    F: Layout,
    D: Direction = Unidirectional,
    E: Float = f32,
> {
    /// Layer 0's weights (`weight_ih_l0`, ...).
    pub cell: GpuRecurrentCell<K, I, H, E>,
    /// Layers 1 and up (`weight_ih_l1`, ...); they read `D * H` features.
    pub rest: Vec<GpuRecurrentCell<K, D::Out<H>, H, E>>,
    /// Layer 0's reverse direction (`weight_ih_l0_reverse`, ...), bidirectional only.
    pub cell_reverse: Option<GpuRecurrentCell<K, I, H, E>>,
    /// Layers 1 and up, reverse direction (empty unless bidirectional).
    pub rest_reverse: Vec<GpuRecurrentCell<K, D::Out<H>, H, E>>,
    /// The CPU layer it came from, for its settings and its dropout generator (`to_cpu` puts
    /// the GPU weights in).
    template: Recurrent<K, I, H, L, E, D, F>,
}

/// `nn.GRU` on the GPU (see [`GpuRecurrent`]; `D` = [`Bidirectional`](crate::nn::Bidirectional)
/// for `bidirectional=True`).
pub type GpuGRU<I, H, L, F, D = Unidirectional, E = f32> = GpuRecurrent<GruKind, I, H, L, F, D, E>;
/// `nn.RNN` (tanh) on the GPU (see [`GpuRecurrent`]).
pub type GpuRNN<I, H, L, F, D = Unidirectional, E = f32> =
    GpuRecurrent<RnnTanhKind, I, H, L, F, D, E>;
/// `nn.RNN(nonlinearity="relu")` on the GPU (see [`GpuRecurrent`]).
pub type GpuRNNRelu<I, H, L, F, D = Unidirectional, E = f32> =
    GpuRecurrent<RnnReluKind, I, H, L, F, D, E>;

impl<K: CellKind, I: Dim, H: Dim, L: Dim, F: Layout, D: Direction, E: Float> ToCpu
    for GpuRecurrent<K, I, H, L, F, D, E>
{
    type Output = Recurrent<K, I, H, L, E, D, F>;
    fn to_cpu(&self) -> Result<Self::Output> {
        fn down<K: CellKind, In: Dim, H: Dim, E: Float>(
            cells: &[GpuRecurrentCell<K, In, H, E>],
        ) -> Result<Vec<RecurrentCell<K, In, H, E>>> {
            cells.iter().map(|c| c.to_cpu()).collect()
        }
        let mut out = self.template.clone();
        out.first = self.cell.to_cpu()?;
        out.rest = down(&self.rest)?;
        out.first_reverse = self.cell_reverse.as_ref().map(|c| c.to_cpu()).transpose()?;
        out.rest_reverse = down(&self.rest_reverse)?;
        Ok(out)
    }
}

impl<K: CellKind, I: Dim, H: Dim, L: Dim, F: Layout, D: Direction, E: Float> GpuParams<E>
    for GpuRecurrent<K, I, H, L, F, D, E>
{
    fn visit_gpu(&mut self, prefix: &str, f: &mut dyn FnMut(GpuParamMut<'_, E>)) {
        self.cell.visit_named(prefix, "_l0", f);
        if let Some(c) = &mut self.cell_reverse {
            c.visit_named(prefix, "_l0_reverse", f);
        }
        for (k, c) in self.rest.iter_mut().enumerate() {
            c.visit_named(prefix, &format!("_l{}", k + 1), f);
            if let Some(c) = self.rest_reverse.get_mut(k) {
                c.visit_named(prefix, &format!("_l{}_reverse", k + 1), f);
            }
        }
    }
    fn set_training(&mut self, training: bool) {
        crate::nn::Params::<E>::set_training(&mut self.template, training);
    }
    fn is_training(&self) -> bool {
        crate::nn::Params::<E>::is_training(&self.template)
    }
}

/// `(A0, A1, D * H)` outputs and `(L * D, batch, H)` final states of a [`GpuRecurrent`].
#[allow(clippy::type_complexity)]
type RecurrentOut<A0, A1, H, L, F, D, T, E> = (
    GpuTensor<(A0, A1, <D as Direction>::Out<H>), T, E>,
    GpuTensor<(<D as Direction>::States<L>, <F as Layout>::Batch<A0, A1>, H), T, E>,
);

impl<K: CellKind, I: Dim, H: Dim, L: Dim, F: Layout, D: Direction, E: Float>
    GpuRecurrent<K, I, H, L, F, D, E>
{
    /// The number of layers.
    pub fn num_layers(&self) -> usize {
        1 + self.rest.len()
    }

    /// In training mode with dropout between layers: the CPU layer's mask, drawn in its
    /// element order (batch-first), on the time-major `y`.
    fn dropout<T: Tape<E>>(&self, y: Seq<T, E>) -> Result<Seq<T, E>> {
        let d = self.template.dropout_layer();
        if !d.active() || d.p() == 0.0 {
            return Ok(y);
        }
        let (s, b, h) = y.shape;
        let y = permute_gpu(y, (b, s, h), &[1, 0, 2]);
        let y = d.try_forward(y)?;
        Ok(permute_gpu(y, (s, b, h), &[1, 0, 2]))
    }

    /// One layer in every direction over the time-major `x`: the reverse cell reads the
    /// steps last to first, and its outputs, back in time order, follow the forward ones on
    /// the last axis. `state(k)` gives direction `k`'s initial state; the final states are
    /// pushed to `hs` in PyTorch's order.
    fn run_layer<In: Dim, T: Tape<E>>(
        fwd: &GpuRecurrentCell<K, In, H, E>,
        rev: Option<&GpuRecurrentCell<K, In, H, E>>,
        x: Seq<T, E>,
        state: &dyn Fn(usize) -> Option<Mat<T, E>>,
        hs: &mut Vec<Mat<T, E>>,
    ) -> Result<Seq<T, E>> {
        let Some(rev) = rev else {
            let (y, h) = fwd.run(x, state(0), true)?;
            hs.push(h);
            return Ok(y.expect("asked for every step's output"));
        };
        let (yf, hf) = fwd.run(x.clone(), state(0), true)?;
        let (yr, hr) = rev.run(flip_time(x), state(1), true)?;
        hs.extend([hf, hr]);
        let yf = yf.expect("asked for every step's output");
        let yr = flip_time(yr.expect("asked for every step's output"));
        let (s, b, h) = yf.shape;
        let y = yf.try_concat::<2, _, _>(yr)?;
        Ok(retype(y, (s, b, 2 * h)))
    }

    fn forward_core<A0: Dim, A1: Dim, X: DimEq<I>, T: Tape<E>>(
        &self,
        x: GpuTensor<(A0, A1, X), T, E>,
        state: Option<Seq<T, E>>,
    ) -> Result<RecurrentOut<A0, A1, H, L, F, D, T, E>> {
        let (a0, a1) = (x.shape.0, x.shape.1);
        let dims = x.shape.dims();
        let input = self.cell.input_size();
        if dims[2] != input {
            return Err(Error::shape(
                K::NAME,
                format!(
                    "input of shape {:?} does not fit (.., {input}) (input_size {input})",
                    dims.as_slice()
                ),
            ));
        }
        x.shape.2.dim_eq(self.cell.weight_ih.shape.1)?;
        let batch = F::batch(a0, a1);
        let (b, s) = (batch.size(), if F::BATCH_FIRST { dims[1] } else { dims[0] });
        let seq = if F::BATCH_FIRST {
            permute_gpu(x, (s, b, input), &[1, 0, 2])
        } else {
            retype(x, (s, b, input))
        };
        let count = self.num_layers() * D::NUM;
        let hidden = self.cell.weight_hh.shape.1;
        let layer_state = |k: usize, dir: usize| {
            state.as_ref().map(|h| {
                if count == 1 {
                    retype(h.clone(), (b, hidden.size()))
                } else {
                    select_layer(h.clone(), k * D::NUM + dir)
                }
            })
        };
        let mut hs = Vec::with_capacity(count);
        let mut y = Self::run_layer(
            &self.cell,
            self.cell_reverse.as_ref(),
            seq,
            &|dir| layer_state(0, dir),
            &mut hs,
        )?;
        for (k, cell) in self.rest.iter().enumerate() {
            y = self.dropout(y)?;
            y = Self::run_layer(
                cell,
                self.rest_reverse.get(k),
                y,
                &|dir| layer_state(k + 1, dir),
                &mut hs,
            )?;
        }
        let f = y.shape.2;
        let y = if F::BATCH_FIRST {
            permute_gpu(y, (b, s, f), &[1, 0, 2])
        } else {
            y
        };
        let st = (D::states(self.template.layers_dim()), batch, hidden);
        Ok((
            retype(y, (a0, a1, D::out(hidden))),
            retype(stack_layers(hs), st),
        ))
    }
}

macro_rules! gpu_h_only {
    ($Kind:ty) => {
        impl<I: Dim, H: Dim, E: Float> ToDevice for RecurrentCell<$Kind, I, H, E> {
            type Output = GpuRecurrentCell<$Kind, I, H, E>;
            fn to_device(&self, gpu: &Wgpu) -> Result<Self::Output> {
                GpuRecurrentCell::upload(self, gpu)
            }
        }

        impl<I: Dim, H: Dim, L: Dim, F: Layout, D: Direction, E: Float> ToDevice
            for Recurrent<$Kind, I, H, L, E, D, F>
        {
            type Output = GpuRecurrent<$Kind, I, H, L, F, D, E>;
            fn to_device(&self, gpu: &Wgpu) -> Result<Self::Output> {
                let up = |cells: &[RecurrentCell<$Kind, D::Out<H>, H, E>]| {
                    cells.iter().map(|c| c.to_device(gpu)).collect::<Result<Vec<_>>>()
                };
                Ok(GpuRecurrent {
                    cell: self.first.to_device(gpu)?,
                    rest: up(&self.rest)?,
                    cell_reverse: self
                        .first_reverse
                        .as_ref()
                        .map(|c| c.to_device(gpu))
                        .transpose()?,
                    rest_reverse: up(&self.rest_reverse)?,
                    template: self.clone(),
                })
            }
        }

        impl<I: Dim, H: Dim, B: Dim, X: DimEq<I>, E: Float, T: Tape<E>>
            Module<GpuTensor<(B, X), T, E>> for GpuRecurrentCell<$Kind, I, H, E>
        {
            /// `h'`, from a zero state.
            type Output = GpuTensor<(B, H), T, E>;
            fn try_forward(&self, x: GpuTensor<(B, X), T, E>) -> Result<Self::Output> {
                x.shape.1.dim_eq(self.weight_ih.shape.1)?;
                self.step(x, None)
            }
        }

        impl<I, H, B, X, B2, H2, E, T>
            Module<(GpuTensor<(B, X), T, E>, GpuTensor<(B2, H2), T, E>)>
            for GpuRecurrentCell<$Kind, I, H, E>
        where
            I: Dim,
            H: Dim,
            B: Dim,
            X: DimEq<I>,
            B2: DimEq<B>,
            H2: DimEq<H>,
            E: Float,
            T: Tape<E>,
        {
            /// `h'`.
            type Output = GpuTensor<(B, H), T, E>;
            fn try_forward(
                &self,
                (x, h): (GpuTensor<(B, X), T, E>, GpuTensor<(B2, H2), T, E>),
            ) -> Result<Self::Output> {
                x.shape.1.dim_eq(self.weight_ih.shape.1)?;
                let want = [x.shape.0.size(), self.hidden_size()];
                if h.shape.dims().as_slice() != want {
                    return Err(Error::shape(
                        <$Kind as CellKind>::CELL_NAME,
                        format!(
                            "h of shape {:?} does not fit (batch, hidden) = {want:?}",
                            h.shape.dims().as_slice()
                        ),
                    ));
                }
                self.step(x, Some(retype(h, (want[0], want[1]))))
            }
        }

        impl<I, H, L, F, D, A0, A1, X, E, T> Module<GpuTensor<(A0, A1, X), T, E>>
            for GpuRecurrent<$Kind, I, H, L, F, D, E>
        where
            I: Dim,
            H: Dim,
            L: Dim,
            F: Layout,
            D: Direction,
            A0: Dim,
            A1: Dim,
            X: DimEq<I>,
            E: Float,
            T: Tape<E>,
        {
            /// `(y, h_n)`, from a zero state.
            type Output = RecurrentOut<A0, A1, H, L, F, D, T, E>;
            fn try_forward(&self, x: GpuTensor<(A0, A1, X), T, E>) -> Result<Self::Output> {
                self.forward_core(x, None)
            }
        }

        impl<I, H, L, F, D, A0, A1, X, L2, B2, H2, E, T>
            Module<(GpuTensor<(A0, A1, X), T, E>, GpuTensor<(L2, B2, H2), T, E>)>
            for GpuRecurrent<$Kind, I, H, L, F, D, E>
        where
            I: Dim,
            H: Dim,
            L: Dim,
            F: Layout,
            D: Direction,
            A0: Dim,
            A1: Dim,
            X: DimEq<I>,
            L2: DimEq<D::States<L>>,
            B2: DimEq<F::Batch<A0, A1>>,
            H2: DimEq<H>,
            E: Float,
            T: Tape<E>,
        {
            /// `(y, h_n)`.
            type Output = RecurrentOut<A0, A1, H, L, F, D, T, E>;
            fn try_forward(
                &self,
                (x, h0): (GpuTensor<(A0, A1, X), T, E>, GpuTensor<(L2, B2, H2), T, E>),
            ) -> Result<Self::Output> {
                let batch = F::batch(x.shape.0, x.shape.1).size();
                let want = [self.num_layers() * D::NUM, batch, self.cell.hidden_size()];
                if h0.shape.dims().as_slice() != want {
                    return Err(Error::shape(
                        <$Kind as CellKind>::NAME,
                        format!(
                            "initial state h_0 of shape {:?} does not fit (num_layers * num_directions, batch, hidden) = {want:?}",
                            h0.shape.dims().as_slice()
                        ),
                    ));
                }
                let full = (want[0], want[1], want[2]);
                self.forward_core(x, Some(retype(h0, full)))
            }
        }
    };
}
gpu_h_only!(GruKind);
gpu_h_only!(RnnTanhKind);
gpu_h_only!(RnnReluKind);
