//! The LSTM on the GPU: [`GpuLSTMCell`] (one step) and [`GpuLSTM`] (a whole sequence), moved
//! from the CPU's `LSTMCell` / `LSTM` with [`ToDevice`]. Both run one op: the input
//! projection of every step as one product, then per step the recurrent product and a fused
//! gate kernel (the four activations, `c'` and `h'`); the backward pass walks the steps in
//! reverse with the gate kernel's backward and the recurrent product, then gets the weights'
//! and the input's gradients as three products over all steps at once.

use super::nn::{GpuParamMut, GpuParams};
use super::shape_ops::{GpuShapeOps, permute_gpu};
use super::tensor::{GpuTensor, ToCpu, ToDevice, add_grad, gpu_tensor, split, take_grad};
use crate::autograd::{Gradients, NoTape, Tape, UniqueId};
use crate::device::kernels::{self, BinaryOp};
use crate::device::seq_kernels::{self, LstmDims, rows, transposed};
use crate::device::{GpuStorage, Wgpu};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::nn::{Direction, Layout, LstmKind, Module, Recurrent, RecurrentCell, Unidirectional};
use crate::shape::{Const, Dim, DimEq, Prod, Shape};
use crate::tensor::Tensor;

/// `nn.LSTMCell` on the GPU, made by `cell.to_device(&gpu)` from an
/// [`LSTMCell`](crate::nn::LSTMCell) (or any `RecurrentCell<LstmKind, ..>`): the same
/// parameters (`weight_ih` `(4H, I)`, gates stacked `i, f, g, o`), as GPU tensors. As a
/// [`Module`] it maps `x` `(B, I)` or `(x, (h, c))` to `(h', c')`, as the CPU cell. `E` is
/// the CPU cell's element type: an f64 cell gives `GpuLSTMCell<I, H, f64>` (adapters with
/// `SHADER_F64`, see [`Wgpu::supports_f64`]), which takes and returns f64 GPU tensors.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::nn::{LSTMCell, Module};
/// use shaped::rand::SeedableRng;
/// let gpu = Wgpu::new()?;
/// let cell = LSTMCell::<3, 4>::new(&mut shaped::rand::rngs::StdRng::seed_from_u64(0)).to_device(&gpu)?;
/// let x = Tensor::<Rank2<2, 3>>::ones().to_device(&gpu)?;
/// let (h, c) = cell.forward(x.clone()); // from zero states
/// let (h, _c) = cell.forward((x, (h, c))); // the next step
/// assert_eq!(h.to_cpu()?.dims().as_slice(), &[2, 4]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct GpuLSTMCell<I: Dim, H: Dim, E: Float = f32> {
    /// Input-to-hidden weights, `(4 * hidden, input)`.
    pub weight_ih: GpuTensor<(Prod<Const<4>, H>, I), NoTape, E>,
    /// Hidden-to-hidden weights, `(4 * hidden, hidden)`.
    pub weight_hh: GpuTensor<(Prod<Const<4>, H>, H), NoTape, E>,
    /// Input-to-hidden bias, `(4 * hidden,)`.
    pub bias_ih: Option<GpuTensor<(Prod<Const<4>, H>,), NoTape, E>>,
    /// Hidden-to-hidden bias, `(4 * hidden,)`.
    pub bias_hh: Option<GpuTensor<(Prod<Const<4>, H>,), NoTape, E>>,
}

impl<I: Dim, H: Dim, E: Float> ToDevice for RecurrentCell<LstmKind, I, H, E> {
    type Output = GpuLSTMCell<I, H, E>;
    fn to_device(&self, gpu: &Wgpu) -> Result<GpuLSTMCell<I, H, E>> {
        let up = |b: &Option<Tensor<(Prod<Const<4>, H>,), E>>| b.as_ref().map(|b| b.to_device(gpu));
        Ok(GpuLSTMCell {
            weight_ih: self.weight_ih.to_device(gpu)?,
            weight_hh: self.weight_hh.to_device(gpu)?,
            bias_ih: up(&self.bias_ih).transpose()?,
            bias_hh: up(&self.bias_hh).transpose()?,
        })
    }
}

impl<I: Dim, H: Dim, E: Float> ToCpu for GpuLSTMCell<I, H, E> {
    type Output = RecurrentCell<LstmKind, I, H, E>;
    fn to_cpu(&self) -> Result<Self::Output> {
        let down =
            |b: &Option<GpuTensor<(Prod<Const<4>, H>,), NoTape, E>>| b.as_ref().map(|b| b.to_cpu());
        Ok(RecurrentCell {
            weight_ih: self.weight_ih.to_cpu()?,
            weight_hh: self.weight_hh.to_cpu()?,
            bias_ih: down(&self.bias_ih).transpose()?,
            bias_hh: down(&self.bias_hh).transpose()?,
        })
    }
}

impl<I: Dim, H: Dim, E: Float> GpuLSTMCell<I, H, E> {
    /// The input size.
    ///
    /// ```no_run
    /// use shaped::gpu::prelude::*;
    /// use shaped::nn::LSTMCell;
    /// use shaped::rand::SeedableRng;
    /// let cpu = LSTMCell::<3, 4>::new(&mut shaped::rand::rngs::StdRng::seed_from_u64(0));
    /// let cell = cpu.to_device(&Wgpu::new()?)?;
    /// assert_eq!((cell.input_size(), cell.hidden_size()), (3, 4));
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    pub fn input_size(&self) -> usize {
        self.weight_ih.shape.1.size()
    }
    /// The hidden size (see [`input_size`](Self::input_size)).
    pub fn hidden_size(&self) -> usize {
        self.weight_hh.shape.1.size()
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

    /// The LSTM over the time-major `x` `(steps, B, I)` from `state` (zeros when `None`),
    /// as one op: returns every step's `h` `(steps, B, H)` when `want_y`, and the last `h`
    /// and `c` `(B, H)`.
    #[allow(clippy::type_complexity)]
    fn run<T: Tape<E>>(
        &self,
        x: GpuTensor<(usize, usize, usize), T, E>,
        state: Option<(
            GpuTensor<(usize, usize), T, E>,
            GpuTensor<(usize, usize), T, E>,
        )>,
        want_y: bool,
    ) -> Result<(
        Option<GpuTensor<(usize, usize, usize), T, E>>,
        GpuTensor<(usize, usize), T, E>,
        GpuTensor<(usize, usize), T, E>,
    )> {
        let (steps, batch, input) = x.shape;
        let hidden = self.hidden_size();
        let d = LstmDims {
            steps,
            batch,
            input,
            hidden,
        };
        let units = batch * hidden;
        let dev = x.data.device().clone();
        let (x, mut tape) = split(x);
        let (h0, c0) = match state {
            Some((h, c)) => {
                let (h, th) = split(h);
                let (c, tc) = split(c);
                tape = tape.merge(th).merge(tc);
                (Some(h), Some(c))
            }
            None => (None, None),
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
        let bias = match (&self.bias_ih, &self.bias_hh) {
            (Some(a), Some(b)) => {
                let n = [4 * hidden];
                Some(kernels::binary(
                    BinaryOp::Add,
                    &a.data,
                    &n,
                    &b.data,
                    &n,
                    &n,
                )?)
            }
            (Some(b), None) | (None, Some(b)) => Some(b.data.clone()),
            (None, None) => None,
        };
        let zeros = || seq_kernels::zeros(&dev, units);
        let h0d = h0.as_ref().map_or_else(zeros, |h| h.data.clone());
        let c0d = c0.as_ref().map_or_else(zeros, |c| c.data.clone());
        let saved = seq_kernels::lstm_forward(
            &x.data,
            &h0d,
            &c0d,
            &self.weight_ih.data,
            &self.weight_hh.data,
            bias.as_ref(),
            d,
        )?;
        let y = want_y.then(|| {
            let y = seq_kernels::copy_range(&saved.hs, units, steps * units);
            gpu_tensor((steps, batch, hidden), y, NoTape)
        });
        let last = |s: &GpuStorage<E>| seq_kernels::copy_range(s, steps * units, units);
        let h_n = gpu_tensor((batch, hidden), last(&saved.hs), NoTape);
        let c_n = gpu_tensor((batch, hidden), last(&saved.cs), NoTape);
        let wants = |id: Option<UniqueId>| T::TRACING && id.is_some_and(|id| tape.tracks(id));
        let track = [
            wants(Some(x.id)),
            wants(h0.as_ref().map(|h| h.id)),
            wants(c0.as_ref().map(|c| c.id)),
            wants(params[0]),
            wants(params[1]),
            wants(params[2]),
            wants(params[3]),
        ];
        if track.iter().any(|&t| t) {
            let y_id = y.as_ref().map(|y| y.id);
            let (h_id, c_id) = (h_n.id, c_n.id);
            let (x_id, xd) = (x.id, x.data);
            let (h0_id, c0_id) = (h0.map(|h| h.id), c0.map(|c| c.id));
            let (w_ih, w_hh) = (self.weight_ih.data.clone(), self.weight_hh.data.clone());
            tape.record(
                c_id,
                Box::new(move |g: &mut Gradients<E>| {
                    let dy = y_id.and_then(|id| take_grad(g, id));
                    let dh = take_grad(g, h_id);
                    let dc = take_grad(g, c_id);
                    if dy.is_none() && dh.is_none() && dc.is_none() {
                        return;
                    }
                    let grads = seq_kernels::lstm_backward(
                        &saved,
                        &w_hh,
                        dy.as_ref(),
                        dh.as_ref(),
                        dc.as_ref(),
                        d,
                    )
                    .expect("sizes checked in forward");
                    let (g4, n) = (4 * hidden, steps * batch);
                    let dg = &grads.dg;
                    let mm = |a, b, m, k, nn| {
                        kernels::matmul(a, b, 1, m, k, nn).expect("sizes checked in forward")
                    };
                    let [tx, th, tc, twi, twh, tbi, tbh] = track;
                    if tx {
                        add_grad(g, x_id, mm(rows(dg, g4), rows(&w_ih, input), n, g4, input));
                    }
                    if let (true, Some(id)) = (th, h0_id) {
                        add_grad(g, id, grads.dh0.clone());
                    }
                    if let (true, Some(id)) = (tc, c0_id) {
                        add_grad(g, id, grads.dc0.clone());
                    }
                    if let (true, Some(id)) = (twi, params[0]) {
                        add_grad(
                            g,
                            id,
                            mm(transposed(dg, g4), rows(&xd, input), g4, n, input),
                        );
                    }
                    if let (true, Some(id)) = (twh, params[1]) {
                        // Slots 0..steps of hs are the states each step read.
                        let hs = rows(&saved.hs, hidden);
                        add_grad(g, id, mm(transposed(dg, g4), hs, g4, n, hidden));
                    }
                    for (on, id) in [(tbi, params[2]), (tbh, params[3])] {
                        if let (true, Some(id)) = (on, id) {
                            let db = kernels::sum_to(dg, &[n, g4], &[g4]).expect("rank 2");
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
        let h_n = {
            let t = tape.for_clone(h_n.id);
            retag(h_n, t)
        };
        Ok((y, h_n, retag(c_n, tape)))
    }
}

/// The untraced `t` carrying `tape` (same id).
pub(super) fn retag<S: Shape, E: Float, T>(
    t: GpuTensor<S, NoTape, E>,
    tape: T,
) -> GpuTensor<S, T, E> {
    Tensor {
        shape: t.shape,
        data: t.data,
        id: t.id,
        tape,
    }
}

/// The same tensor under another shape type with the same sizes (same id and buffer).
pub(super) fn retype<S1: Shape, S2: Shape, E: Float, T>(
    t: GpuTensor<S1, T, E>,
    shape: S2,
) -> GpuTensor<S2, T, E> {
    debug_assert_eq!(t.shape.numel(), shape.numel());
    Tensor {
        shape,
        data: t.data,
        id: t.id,
        tape: t.tape,
    }
}

fn check_cell_state(what: &str, dims: &[usize], want: [usize; 2]) -> Result<()> {
    if dims != want {
        return Err(Error::shape(
            "LSTMCell",
            format!("{what} of shape {dims:?} does not fit (batch, hidden) = {want:?}"),
        ));
    }
    Ok(())
}

impl<I: Dim, H: Dim, E: Float> GpuLSTMCell<I, H, E> {
    #[allow(clippy::type_complexity)]
    fn step<B: Dim, X: Dim, T: Tape<E>>(
        &self,
        x: GpuTensor<(B, X), T, E>,
        state: Option<(
            GpuTensor<(usize, usize), T, E>,
            GpuTensor<(usize, usize), T, E>,
        )>,
    ) -> Result<(GpuTensor<(B, H), T, E>, GpuTensor<(B, H), T, E>)> {
        let (b, i) = (x.shape.0, x.shape.1.size());
        if i != self.input_size() {
            return Err(Error::shape(
                "LSTMCell",
                format!(
                    "input of shape {:?} does not fit (batch, {})",
                    [b.size(), i],
                    self.input_size()
                ),
            ));
        }
        let x = retype(x, (1, b.size(), i));
        let (_, h, c) = self.run(x, state, false)?;
        let shape = (b, self.weight_hh.shape.1);
        Ok((retype(h, shape), retype(c, shape)))
    }
}

impl<I: Dim, H: Dim, B: Dim, X: DimEq<I>, E: Float, T: Tape<E>> Module<GpuTensor<(B, X), T, E>>
    for GpuLSTMCell<I, H, E>
{
    /// `(h', c')`, from zero states.
    type Output = (GpuTensor<(B, H), T, E>, GpuTensor<(B, H), T, E>);
    fn try_forward(&self, x: GpuTensor<(B, X), T, E>) -> Result<Self::Output> {
        x.shape.1.dim_eq(self.weight_ih.shape.1)?;
        self.step(x, None)
    }
}

impl<I, H, B, X, B2, H2, E, T>
    Module<(
        GpuTensor<(B, X), T, E>,
        (GpuTensor<(B2, H2), T, E>, GpuTensor<(B2, H2), T, E>),
    )> for GpuLSTMCell<I, H, E>
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
    /// `(h', c')`.
    type Output = (GpuTensor<(B, H), T, E>, GpuTensor<(B, H), T, E>);
    #[allow(clippy::type_complexity)]
    fn try_forward(
        &self,
        (x, (h, c)): (
            GpuTensor<(B, X), T, E>,
            (GpuTensor<(B2, H2), T, E>, GpuTensor<(B2, H2), T, E>),
        ),
    ) -> Result<Self::Output> {
        x.shape.1.dim_eq(self.weight_ih.shape.1)?;
        let want = [x.shape.0.size(), self.hidden_size()];
        check_cell_state("h", &h.shape.dims(), want)?;
        check_cell_state("c", &c.shape.dims(), want)?;
        let flat = (want[0], want[1]);
        self.step(x, Some((retype(h, flat), retype(c, flat))))
    }
}

impl<I: Dim, H: Dim, E: Float> GpuParams<E> for GpuLSTMCell<I, H, E> {
    fn visit_gpu(&mut self, prefix: &str, f: &mut dyn FnMut(GpuParamMut<'_, E>)) {
        self.visit_named(prefix, "", f);
    }
}

/// `nn.LSTM` on the GPU (any number of layers, one direction or both), made by
/// `lstm.to_device(&gpu)` from an [`LSTM`](crate::nn::LSTM), a [`BiLSTM`](crate::nn::BiLSTM) or
/// an [`LSTMDyn`](crate::nn::LSTMDyn) of either layout ([`BatchFirst`](crate::nn::BatchFirst)
/// or [`SeqFirst`](crate::nn::SeqFirst)). As a [`Module`] it maps `x` or `(x, (h_0, c_0))` to
/// `(y, (h_n, c_n))` with the CPU layer's shapes; parameters keep PyTorch's names
/// (`weight_ih_l0`, `weight_ih_l0_reverse`, ...). Dropout between layers acts in training
/// mode with the CPU layer's generator, on the same elements as on the CPU. An f64 layer
/// (`LSTM<I, H, L, f64>`) moves to `GpuLSTM<.., f64>` and runs in f64 (adapters with
/// `SHADER_F64`).
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::nn::{LSTM, Module};
/// use shaped::rand::SeedableRng;
/// let gpu = Wgpu::new()?;
/// let lstm = LSTM::<3, 5, 2>::new(&mut shaped::rand::rngs::StdRng::seed_from_u64(0)).to_device(&gpu)?;
/// let x = Tensor::<Rank3<2, 4, 3>>::ones().to_device(&gpu)?; // (batch, seq, input)
/// let (y, (h_n, _c_n)) = lstm.forward(x.trace());
/// assert_eq!(y.to_cpu()?.dims().as_slice(), &[2, 4, 5]);
/// assert_eq!(h_n.to_cpu()?.dims().as_slice(), &[2, 2, 5]); // (num_layers, batch, hidden)
/// // In f64 where the adapter has f64 shaders:
/// if gpu.supports_f64() {
///     let lstm = LSTM::<3, 5, 1, f64>::new(&mut shaped::rand::rngs::StdRng::seed_from_u64(0));
///     let x = Tensor::<Rank3<2, 4, 3>, f64>::ones().to_device(&gpu)?;
///     let (y, _) = lstm.to_device(&gpu)?.forward(x);
///     assert_eq!(y.to_cpu()?.dims().as_slice(), &[2, 4, 5]);
/// }
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct GpuLSTM<I: Dim, H: Dim, L: Dim, F: Layout, D: Direction = Unidirectional, E: Float = f32>
{
    /// Layer 0's weights (`weight_ih_l0`, ...).
    pub cell: GpuLSTMCell<I, H, E>,
    /// Layers 1 and up (`weight_ih_l1`, ...); they read `D * H` features.
    pub rest: Vec<GpuLSTMCell<D::Out<H>, H, E>>,
    /// Layer 0's reverse direction (`weight_ih_l0_reverse`, ...), bidirectional only.
    pub cell_reverse: Option<GpuLSTMCell<I, H, E>>,
    /// Layers 1 and up, reverse direction (empty unless bidirectional).
    pub rest_reverse: Vec<GpuLSTMCell<D::Out<H>, H, E>>,
    /// The CPU layer it came from, for its settings and its dropout generator (`to_cpu` puts
    /// the GPU weights in).
    template: Recurrent<LstmKind, I, H, L, E, D, F>,
}

fn cells_to_device<In: Dim, H: Dim, E: Float>(
    cells: &[RecurrentCell<LstmKind, In, H, E>],
    gpu: &Wgpu,
) -> Result<Vec<GpuLSTMCell<In, H, E>>> {
    cells.iter().map(|c| c.to_device(gpu)).collect()
}

fn cells_to_cpu<In: Dim, H: Dim, E: Float>(
    cells: &[GpuLSTMCell<In, H, E>],
) -> Result<Vec<RecurrentCell<LstmKind, In, H, E>>> {
    cells.iter().map(|c| c.to_cpu()).collect()
}

impl<I: Dim, H: Dim, L: Dim, F: Layout, D: Direction, E: Float> ToDevice
    for Recurrent<LstmKind, I, H, L, E, D, F>
{
    type Output = GpuLSTM<I, H, L, F, D, E>;
    fn to_device(&self, gpu: &Wgpu) -> Result<GpuLSTM<I, H, L, F, D, E>> {
        Ok(GpuLSTM {
            cell: self.first.to_device(gpu)?,
            rest: cells_to_device(&self.rest, gpu)?,
            cell_reverse: self
                .first_reverse
                .as_ref()
                .map(|c| c.to_device(gpu))
                .transpose()?,
            rest_reverse: cells_to_device(&self.rest_reverse, gpu)?,
            template: self.clone(),
        })
    }
}

impl<I: Dim, H: Dim, L: Dim, F: Layout, D: Direction, E: Float> ToCpu
    for GpuLSTM<I, H, L, F, D, E>
{
    type Output = Recurrent<LstmKind, I, H, L, E, D, F>;
    fn to_cpu(&self) -> Result<Self::Output> {
        let mut out = self.template.clone();
        out.first = self.cell.to_cpu()?;
        out.rest = cells_to_cpu(&self.rest)?;
        out.first_reverse = self.cell_reverse.as_ref().map(|c| c.to_cpu()).transpose()?;
        out.rest_reverse = cells_to_cpu(&self.rest_reverse)?;
        Ok(out)
    }
}

impl<I: Dim, H: Dim, L: Dim, F: Layout, D: Direction, E: Float> GpuParams<E>
    for GpuLSTM<I, H, L, F, D, E>
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

/// `(A0, A1, D * H)` outputs and `(L * D, batch, H)` states of a [`GpuLSTM`].
#[allow(clippy::type_complexity)]
type LstmOut<A0, A1, H, L, F, D, T, E> = (
    GpuTensor<(A0, A1, <D as Direction>::Out<H>), T, E>,
    (
        GpuTensor<(<D as Direction>::States<L>, <F as Layout>::Batch<A0, A1>, H), T, E>,
        GpuTensor<(<D as Direction>::States<L>, <F as Layout>::Batch<A0, A1>, H), T, E>,
    ),
);

pub(super) type Mat<T, E> = GpuTensor<(usize, usize), T, E>;
pub(super) type Seq<T, E> = GpuTensor<(usize, usize, usize), T, E>;

/// Layer `l` `(B, H)` of states `(L, B, H)`; the gradient goes back into that slot.
pub(super) fn select_layer<E: Float, T: Tape<E>>(t: Seq<T, E>, l: usize) -> Mat<T, E> {
    let (layers, b, h) = t.shape;
    let (t, mut tape) = split(t);
    let y = seq_kernels::copy_range(&t.data, l * b * h, b * h);
    let out = gpu_tensor((b, h), y, NoTape);
    if T::TRACING && tape.tracks(t.id) {
        let (t_id, out_id) = (t.id, out.id);
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = take_grad(g, out_id) else {
                    return;
                };
                let gx = seq_kernels::zeros(gy.device(), layers * b * h);
                seq_kernels::copy_into(&gy, 0, &gx, l * b * h, b * h);
                add_grad(g, t_id, gx);
            }),
        );
    }
    retag(out, tape)
}

/// The time-major `x` `(S, B, F)` with its steps in reverse order (its own backward).
pub(super) fn flip_time<E: Float, T: Tape<E>>(x: Seq<T, E>) -> Seq<T, E> {
    let (s, b, f) = x.shape;
    let (x, mut tape) = split(x);
    let flip = move |src: &GpuStorage<E>| {
        let out = src.device().alloc_as::<E>(s * b * f);
        for t in 0..s {
            seq_kernels::copy_into(src, t * b * f, &out, (s - 1 - t) * b * f, b * f);
        }
        out
    };
    let out = gpu_tensor((s, b, f), flip(&x.data), NoTape);
    if T::TRACING && tape.tracks(x.id) {
        let (x_id, out_id) = (x.id, out.id);
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                if let Some(gy) = take_grad(g, out_id) {
                    add_grad(g, x_id, flip(&gy));
                }
            }),
        );
    }
    retag(out, tape)
}

/// Per-layer `(B, H)` states stacked into `(L, B, H)`.
pub(super) fn stack_layers<E: Float, T: Tape<E>>(states: Vec<Mat<T, E>>) -> Seq<T, E> {
    let (b, h) = states[0].shape;
    let layers = states.len();
    let dev = states[0].data.device().clone();
    let out = dev.alloc_as::<E>(layers * b * h);
    let mut tape: Option<T> = None;
    let mut ids = Vec::with_capacity(layers);
    for (k, s) in states.into_iter().enumerate() {
        let (s, ts) = split(s);
        seq_kernels::copy_into(&s.data, 0, &out, k * b * h, b * h);
        tape = Some(match tape {
            Some(acc) => acc.merge(ts),
            None => ts,
        });
        ids.push(s.id);
    }
    let mut tape = tape.expect("at least one layer");
    let out = gpu_tensor((layers, b, h), out, NoTape);
    let tracked: Vec<_> = ids
        .into_iter()
        .enumerate()
        .filter(|(_, id)| T::TRACING && tape.tracks(*id))
        .collect();
    if !tracked.is_empty() {
        let out_id = out.id;
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = take_grad(g, out_id) else {
                    return;
                };
                for (k, id) in tracked {
                    add_grad(g, id, seq_kernels::copy_range(&gy, k * b * h, b * h));
                }
            }),
        );
    }
    retag(out, tape)
}

impl<I: Dim, H: Dim, L: Dim, F: Layout, D: Direction, E: Float> GpuLSTM<I, H, L, F, D, E> {
    /// The number of layers.
    ///
    /// ```no_run
    /// use shaped::gpu::prelude::*;
    /// use shaped::nn::LSTM;
    /// use shaped::rand::SeedableRng;
    /// let cpu = LSTM::<3, 4, 2>::new(&mut shaped::rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(cpu.to_device(&Wgpu::new()?)?.num_layers(), 2);
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
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
    /// pushed to `hs`, `cs` in PyTorch's order.
    #[allow(clippy::type_complexity)]
    fn run_layer<In: Dim, T: Tape<E>>(
        fwd: &GpuLSTMCell<In, H, E>,
        rev: Option<&GpuLSTMCell<In, H, E>>,
        x: Seq<T, E>,
        state: &dyn Fn(usize) -> Option<(Mat<T, E>, Mat<T, E>)>,
        hs: &mut Vec<Mat<T, E>>,
        cs: &mut Vec<Mat<T, E>>,
    ) -> Result<Seq<T, E>> {
        let Some(rev) = rev else {
            let (y, h, c) = fwd.run(x, state(0), true)?;
            hs.push(h);
            cs.push(c);
            return Ok(y.expect("asked for every step's output"));
        };
        let (yf, hf, cf) = fwd.run(x.clone(), state(0), true)?;
        let (yr, hr, cr) = rev.run(flip_time(x), state(1), true)?;
        hs.extend([hf, hr]);
        cs.extend([cf, cr]);
        let yf = yf.expect("asked for every step's output");
        let yr = flip_time(yr.expect("asked for every step's output"));
        let (s, b, h) = yf.shape;
        let y = yf.try_concat::<2, _, _>(yr)?;
        Ok(retype(y, (s, b, 2 * h)))
    }

    /// The whole forward pass: layout in and out, initial states (zeros when `None`).
    fn forward_core<A0: Dim, A1: Dim, X: DimEq<I>, T: Tape<E>>(
        &self,
        x: GpuTensor<(A0, A1, X), T, E>,
        state: Option<(Seq<T, E>, Seq<T, E>)>,
    ) -> Result<LstmOut<A0, A1, H, L, F, D, T, E>> {
        let (a0, a1) = (x.shape.0, x.shape.1);
        let dims = x.shape.dims();
        let input = self.cell.input_size();
        if dims[2] != input {
            return Err(Error::shape(
                "LSTM",
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
            state.as_ref().map(|(h, c)| {
                if count == 1 {
                    let flat = (b, hidden.size());
                    (retype(h.clone(), flat), retype(c.clone(), flat))
                } else {
                    let i = k * D::NUM + dir;
                    (select_layer(h.clone(), i), select_layer(c.clone(), i))
                }
            })
        };
        let (mut hs, mut cs) = (Vec::with_capacity(count), Vec::with_capacity(count));
        let mut y = Self::run_layer(
            &self.cell,
            self.cell_reverse.as_ref(),
            seq,
            &|dir| layer_state(0, dir),
            &mut hs,
            &mut cs,
        )?;
        for (k, cell) in self.rest.iter().enumerate() {
            y = self.dropout(y)?;
            y = Self::run_layer(
                cell,
                self.rest_reverse.get(k),
                y,
                &|dir| layer_state(k + 1, dir),
                &mut hs,
                &mut cs,
            )?;
        }
        let f = y.shape.2;
        let y = if F::BATCH_FIRST {
            permute_gpu(y, (b, s, f), &[1, 0, 2])
        } else {
            y
        };
        let st = (D::states(self.template.layers_dim()), batch, hidden);
        let (h, c) = (stack_layers(hs), stack_layers(cs));
        let out = (a0, a1, D::out(hidden));
        Ok((retype(y, out), (retype(h, st), retype(c, st))))
    }
}

impl<I, H, L, F, D, A0, A1, X, E, T> Module<GpuTensor<(A0, A1, X), T, E>>
    for GpuLSTM<I, H, L, F, D, E>
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
    /// `(y, (h_n, c_n))`, from zero states.
    type Output = LstmOut<A0, A1, H, L, F, D, T, E>;
    fn try_forward(&self, x: GpuTensor<(A0, A1, X), T, E>) -> Result<Self::Output> {
        self.forward_core(x, None)
    }
}

impl<I, H, L, F, D, A0, A1, X, L2, B2, H2, E, T>
    Module<(
        GpuTensor<(A0, A1, X), T, E>,
        (GpuTensor<(L2, B2, H2), T, E>, GpuTensor<(L2, B2, H2), T, E>),
    )> for GpuLSTM<I, H, L, F, D, E>
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
    /// `(y, (h_n, c_n))`.
    type Output = LstmOut<A0, A1, H, L, F, D, T, E>;
    #[allow(clippy::type_complexity)]
    fn try_forward(
        &self,
        (x, (h0, c0)): (
            GpuTensor<(A0, A1, X), T, E>,
            (GpuTensor<(L2, B2, H2), T, E>, GpuTensor<(L2, B2, H2), T, E>),
        ),
    ) -> Result<Self::Output> {
        let batch = F::batch(x.shape.0, x.shape.1).size();
        let want = [self.num_layers() * D::NUM, batch, self.cell.hidden_size()];
        for (what, d) in [("h_0", h0.shape.dims()), ("c_0", c0.shape.dims())] {
            if d.as_slice() != want {
                return Err(Error::shape(
                    "LSTM",
                    format!(
                        "initial state {what} of shape {:?} does not fit (num_layers * num_directions, batch, hidden) = {want:?}",
                        d.as_slice()
                    ),
                ));
            }
        }
        let full = (want[0], want[1], want[2]);
        self.forward_core(x, Some((retype(h0, full), retype(c0, full))))
    }
}
