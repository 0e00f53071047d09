//! L-BFGS (`torch.optim.LBFGS`): a closure-driven quasi-Newton method, with an optional
//! strong-Wolfe line search, following PyTorch's implementation step for step.

use crate::autograd::{BackwardTape, Gradients};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::nn::{Params, TensorKind};
use crate::ops::optim::lbfgs::{abs_max, abs_sum, axpy, dot, scaled, sub, two_loop};
use crate::shape::ScalarShape;
use crate::tensor::Tensor;
use std::collections::VecDeque;

/// What an L-BFGS closure returns: the loss value and the gradients of the model's
/// parameters. A traced scalar loss is one (the optimizer runs `backward()` on it), and so
/// is a `(loss, gradients)` pair for gradients computed some other way.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::optim::LbfgsLoss;
/// let x = Tensor::<Rank1<2>, f64>::from_array([1.0, 2.0]);
/// let (loss, grads) = x.clone().trace().square().sum().into_loss();
/// assert_eq!(loss, 5.0);
/// assert_eq!(grads.get(&x).unwrap().to_vec(), vec![2.0, 4.0]);
/// ```
pub trait LbfgsLoss<E: Float> {
    /// The loss as f64 and the gradients.
    fn into_loss(self) -> (f64, Gradients<E>);
}

impl<E: Float> LbfgsLoss<E> for (E, Gradients<E>) {
    fn into_loss(self) -> (f64, Gradients<E>) {
        (self.0.to_f64(), self.1)
    }
}

impl<S: ScalarShape, E: Float, T: BackwardTape<E>> LbfgsLoss<E> for Tensor<S, E, T> {
    fn into_loss(self) -> (f64, Gradients<E>) {
        let value = self.as_slice().first().map_or(f64::NAN, |v| v.to_f64());
        (value, self.backward())
    }
}

/// The line search of [`Lbfgs`] (PyTorch's `line_search_fn`).
///
/// ```
/// use shaped::optim::{Lbfgs, LineSearch};
/// let opt = Lbfgs::<f64>::new(1.0).line_search(LineSearch::StrongWolfe);
/// assert_eq!(opt.line_search, Some(LineSearch::StrongWolfe));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineSearch {
    /// A bracketing and zooming search for a step satisfying the strong Wolfe conditions
    /// (c1 = 1e-4, c2 = 0.9), by cubic interpolation (`"strong_wolfe"`).
    StrongWolfe,
}

/// L-BFGS as `torch.optim.LBFGS`: every [`step`](Lbfgs::step) calls a closure that
/// computes the loss and gradients of the model at its current parameters, up to
/// `max_iter` iterations (and `max_eval` closure calls) per step. All parameters form one
/// flat vector, in visiting order; a parameter the loss does not reach counts as a zero
/// gradient. Defaults as PyTorch: lr 1, max_iter 20, max_eval `max_iter * 5 / 4`,
/// tolerance_grad 1e-7, tolerance_change 1e-9, history_size 100, no line search.
///
/// The closure gets the model (`&mut`, so it can run
/// [`forward_train`](crate::nn::Module::forward_train)) and returns a traced scalar loss or
/// a `(loss, gradients)` pair ([`LbfgsLoss`]).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Linear, Module, loss::mse_loss};
/// use shaped::optim::{Lbfgs, LineSearch};
/// use rand::SeedableRng;
/// let mut model = Linear::<1, 1, f64>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let x = Tensor::<Rank2<4, 1>, f64>::from_array([[0.0], [1.0], [2.0], [3.0]]);
/// let y = x.clone().mul_scalar(2.0).add_scalar(1.0);
/// let mut opt = Lbfgs::new(1.0).line_search(LineSearch::StrongWolfe);
/// for _ in 0..5 {
///     opt.step(&mut model, |m| mse_loss(m.forward_train(x.clone().trace_constant()), y.clone()));
/// }
/// assert!((model.weight.as_slice()[0] - 2.0).abs() < 1e-6);
/// assert!((model.bias.as_ref().unwrap().as_slice()[0] - 1.0).abs() < 1e-6);
/// ```
#[derive(Clone, Debug)]
pub struct Lbfgs<E = f32> {
    /// Learning rate: the step length without line search, the first trial step with it.
    pub lr: f64,
    /// Iterations per step.
    pub max_iter: usize,
    /// Closure calls per step; `None` is `max_iter * 5 / 4`.
    pub max_eval: Option<usize>,
    /// Stop when the largest gradient component is at most this.
    pub tolerance_grad: f64,
    /// Stop when the loss or the parameters change by less than this.
    pub tolerance_change: f64,
    /// Curvature pairs kept.
    pub history_size: usize,
    /// The line search, or `None` for fixed steps of `lr`.
    pub line_search: Option<LineSearch>,
    /// Ascend instead of descend.
    pub maximize: bool,
    state: LbfgsState<E>,
}

/// The state PyTorch keeps between steps.
#[derive(Clone, Debug)]
struct LbfgsState<E> {
    func_evals: u64,
    n_iter: u64,
    d: Vec<E>,
    t: f64,
    old_dirs: VecDeque<Vec<E>>,
    old_stps: VecDeque<Vec<E>>,
    ro: VecDeque<f64>,
    h_diag: f64,
    prev_flat_grad: Vec<E>,
    prev_loss: f64,
}

impl<E> Default for LbfgsState<E> {
    fn default() -> Self {
        LbfgsState {
            func_evals: 0,
            n_iter: 0,
            d: Vec::new(),
            t: 0.0,
            old_dirs: VecDeque::new(),
            old_stps: VecDeque::new(),
            ro: VecDeque::new(),
            h_diag: 1.0,
            prev_flat_grad: Vec::new(),
            prev_loss: 0.0,
        }
    }
}

impl<E: Float> Lbfgs<E> {
    /// L-BFGS with learning rate `lr` (PyTorch's default is 1) and PyTorch's other
    /// defaults.
    ///
    /// ```
    /// let opt = shaped::optim::Lbfgs::<f64>::new(1.0);
    /// assert_eq!((opt.max_iter, opt.history_size), (20, 100));
    /// ```
    pub fn new(lr: f64) -> Self {
        Lbfgs {
            lr,
            max_iter: 20,
            max_eval: None,
            tolerance_grad: 1e-7,
            tolerance_change: 1e-9,
            history_size: 100,
            line_search: None,
            maximize: false,
            state: LbfgsState::default(),
        }
    }
    /// Sets the iterations per step.
    ///
    /// ```
    /// let opt = shaped::optim::Lbfgs::<f32>::new(1.0).max_iter(4);
    /// ```
    pub fn max_iter(mut self, n: usize) -> Self {
        self.max_iter = n;
        self
    }
    /// Sets the closure calls per step.
    ///
    /// ```
    /// let opt = shaped::optim::Lbfgs::<f32>::new(1.0).max_eval(30);
    /// ```
    pub fn max_eval(mut self, n: usize) -> Self {
        self.max_eval = Some(n);
        self
    }
    /// Sets the gradient tolerance.
    ///
    /// ```
    /// let opt = shaped::optim::Lbfgs::<f32>::new(1.0).tolerance_grad(1e-5);
    /// ```
    pub fn tolerance_grad(mut self, tol: f64) -> Self {
        self.tolerance_grad = tol;
        self
    }
    /// Sets the change tolerance.
    ///
    /// ```
    /// let opt = shaped::optim::Lbfgs::<f32>::new(1.0).tolerance_change(1e-7);
    /// ```
    pub fn tolerance_change(mut self, tol: f64) -> Self {
        self.tolerance_change = tol;
        self
    }
    /// Sets the number of curvature pairs kept.
    ///
    /// ```
    /// let opt = shaped::optim::Lbfgs::<f32>::new(1.0).history_size(10);
    /// ```
    pub fn history_size(mut self, n: usize) -> Self {
        self.history_size = n;
        self
    }
    /// Sets the line search.
    ///
    /// ```
    /// use shaped::optim::{Lbfgs, LineSearch};
    /// let opt = Lbfgs::<f32>::new(1.0).line_search(LineSearch::StrongWolfe);
    /// ```
    pub fn line_search(mut self, search: LineSearch) -> Self {
        self.line_search = Some(search);
        self
    }
    /// Maximizes instead of minimizing.
    ///
    /// ```
    /// let opt = shaped::optim::Lbfgs::<f32>::new(1.0).maximize(true);
    /// ```
    pub fn maximize(mut self, on: bool) -> Self {
        self.maximize = on;
        self
    }
    /// Iterations taken so far, over all steps (PyTorch's `state["n_iter"]`).
    ///
    /// ```
    /// assert_eq!(shaped::optim::Lbfgs::<f32>::new(1.0).iterations(), 0);
    /// ```
    pub fn iterations(&self) -> u64 {
        self.state.n_iter
    }
    /// Closure calls so far, over all steps (PyTorch's `state["func_evals"]`).
    ///
    /// ```
    /// assert_eq!(shaped::optim::Lbfgs::<f32>::new(1.0).evaluations(), 0);
    /// ```
    pub fn evaluations(&self) -> u64 {
        self.state.func_evals
    }

    /// One optimization step: up to `max_iter` iterations, each calling `closure` once
    /// without line search and up to `max_eval` times in all. Returns the loss of the
    /// first call (the loss at the parameters the step started from), as PyTorch does.
    ///
    /// Panics where [`try_step`](Lbfgs::try_step) returns an error.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::optim::Lbfgs;
    /// // Minimise (p - 3)^2 over a bare tensor parameter.
    /// let mut p = Tensor::<Rank1<1>, f64>::zeros();
    /// let mut opt = Lbfgs::new(1.0);
    /// let first = opt.step(&mut p, |p| p.clone().trace().add_scalar(-3.0).square().sum());
    /// assert_eq!(first, 9.0);
    /// assert!((p.as_slice()[0] - 3.0).abs() < 1e-6);
    /// ```
    pub fn step<M, L>(&mut self, model: &mut M, mut closure: impl FnMut(&mut M) -> L) -> f64
    where
        M: Params<E> + ?Sized,
        L: LbfgsLoss<E>,
    {
        match self.try_step(model, |m| Ok(closure(m))) {
            Ok(loss) => loss,
            Err(e) => panic!("{e}"),
        }
    }

    /// [`step`](Lbfgs::step) with a fallible closure: its first error ends the step and is
    /// returned, with the parameters where the last completed iteration left them. Also an
    /// error: state (from [`load_state`](Lbfgs::load_state)) for a different number of
    /// parameters.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::optim::Lbfgs;
    /// let mut p = Tensor::<Rank1<2>, f64>::ones();
    /// let mut opt = Lbfgs::new(1.0);
    /// let loss = opt.try_step(&mut p, |p| Ok(p.clone().trace().square().sum())).unwrap();
    /// assert_eq!(loss, 2.0);
    /// ```
    pub fn try_step<M, L>(
        &mut self,
        model: &mut M,
        mut closure: impl FnMut(&mut M) -> Result<L>,
    ) -> Result<f64>
    where
        M: Params<E> + ?Sized,
        L: LbfgsLoss<E>,
    {
        let numel = count_params(model);
        if numel == 0 {
            return Ok(closure(model)?.into_loss().0);
        }
        let st = &self.state;
        if st.n_iter > 0 && (st.d.len() != numel || st.prev_flat_grad.len() != numel) {
            return Err(Error::value(
                "L-BFGS state",
                format!(
                    "it holds vectors of {} values but the model has {numel} parameters",
                    st.d.len()
                ),
            ));
        }
        let sign = if self.maximize { -1.0 } else { 1.0 };
        let (lr, max_iter, history_size) = (self.lr, self.max_iter, self.history_size);
        let (tolerance_grad, tolerance_change) = (self.tolerance_grad, self.tolerance_change);
        let max_eval = self.max_eval.unwrap_or(max_iter * 5 / 4);
        let maximize = self.maximize;
        let mut evaluate = |model: &mut M| -> Result<(f64, Vec<E>)> {
            let (loss, grads) = closure(model)?.into_loss();
            Ok((loss, flat_grad(model, &grads, maximize)))
        };

        let (orig_loss, mut flat_grad) = evaluate(model)?;
        let mut loss = sign * orig_loss;
        let mut current_evals = 1;
        let st = &mut self.state;
        st.func_evals += 1;
        let mut opt_cond = abs_max(&flat_grad) <= tolerance_grad;
        if opt_cond {
            return Ok(orig_loss);
        }

        let mut al = vec![0.0; history_size];
        let mut n_iter = 0;
        while n_iter < max_iter {
            n_iter += 1;
            st.n_iter += 1;

            // The descent direction.
            if st.n_iter == 1 {
                st.d = flat_grad.iter().map(|&g| -g).collect();
                st.old_dirs.clear();
                st.old_stps.clear();
                st.ro.clear();
                st.h_diag = 1.0;
            } else {
                let y = sub(&flat_grad, &st.prev_flat_grad);
                let s = scaled(&st.d, st.t);
                let ys = dot(&y, &s);
                if ys > 1e-10 && history_size > 0 {
                    if st.old_dirs.len() == history_size {
                        st.old_dirs.pop_front();
                        st.old_stps.pop_front();
                        st.ro.pop_front();
                    }
                    st.h_diag = ys / dot(&y, &y);
                    st.old_dirs.push_back(y);
                    st.old_stps.push_back(s);
                    st.ro.push_back(1.0 / ys);
                }
                let (dirs, stps) = (st.old_dirs.make_contiguous(), st.old_stps.make_contiguous());
                st.d = two_loop(
                    &flat_grad,
                    dirs,
                    stps,
                    st.ro.make_contiguous(),
                    st.h_diag,
                    &mut al,
                );
            }
            st.prev_flat_grad.clone_from(&flat_grad);
            st.prev_loss = loss;

            // The step length.
            st.t = if st.n_iter == 1 {
                (1.0f64).min(1.0 / abs_sum(&flat_grad)) * lr
            } else {
                lr
            };
            let gtd = dot(&flat_grad, &st.d);
            if gtd > -tolerance_change {
                break;
            }

            let mut ls_func_evals = 0;
            match self.line_search {
                Some(LineSearch::StrongWolfe) => {
                    let x_init = gather_params(model);
                    let d = &st.d;
                    let mut obj = |t: f64| -> Result<(f64, Vec<E>)> {
                        add_to_params(model, t, d);
                        let out = evaluate(model);
                        set_params(model, &x_init);
                        out.map(|(l, g)| (sign * l, g))
                    };
                    let max_ls = max_eval as i64 - current_evals as i64;
                    let found = strong_wolfe(
                        &mut obj,
                        st.t,
                        d,
                        loss,
                        &flat_grad,
                        gtd,
                        tolerance_change,
                        max_ls,
                    )?;
                    (loss, flat_grad, st.t, ls_func_evals) = found;
                    add_to_params(model, st.t, &st.d);
                    opt_cond = abs_max(&flat_grad) <= tolerance_grad;
                }
                None => {
                    add_to_params(model, st.t, &st.d);
                    if n_iter != max_iter {
                        let (l, g) = evaluate(model)?;
                        (loss, flat_grad) = (sign * l, g);
                        opt_cond = abs_max(&flat_grad) <= tolerance_grad;
                        ls_func_evals = 1;
                    }
                }
            }
            current_evals += ls_func_evals;
            st.func_evals += ls_func_evals as u64;

            if n_iter == max_iter || current_evals >= max_eval || opt_cond {
                break;
            }
            // Lack of progress.
            if abs_max(&st.d) * st.t.abs() <= tolerance_change {
                break;
            }
            if (loss - st.prev_loss).abs() < tolerance_change {
                break;
            }
        }
        Ok(orig_loss)
    }

    /// The state kept between steps, as `(name, values)`: `n_iter`, `func_evals`, `d`,
    /// `t`, `H_diag`, `prev_flat_grad`, `prev_loss`, and the history `old_dirs`,
    /// `old_stps` (concatenated) and `ro`. Store it in a
    /// [`Checkpoint`](crate::serialize::Checkpoint)'s `optimizer` field.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::optim::Lbfgs;
    /// let mut p = Tensor::<Rank1<2>, f64>::ones();
    /// let mut opt = Lbfgs::new(1.0).max_iter(2);
    /// opt.step(&mut p, |p| p.clone().trace().square().sum());
    /// let mut resumed = Lbfgs::new(1.0).max_iter(2);
    /// resumed.load_state(opt.state()).unwrap();
    /// assert_eq!(resumed.iterations(), opt.iterations());
    /// ```
    pub fn state(&self) -> Vec<(String, Vec<E>)> {
        let st = &self.state;
        let scalar = |v: f64| vec![E::from_f64(v)];
        let flat = |list: &VecDeque<Vec<E>>| list.iter().flatten().copied().collect::<Vec<E>>();
        vec![
            ("n_iter".into(), scalar(st.n_iter as f64)),
            ("func_evals".into(), scalar(st.func_evals as f64)),
            ("d".into(), st.d.clone()),
            ("t".into(), scalar(st.t)),
            ("H_diag".into(), scalar(st.h_diag)),
            ("prev_flat_grad".into(), st.prev_flat_grad.clone()),
            ("prev_loss".into(), scalar(st.prev_loss)),
            ("old_dirs".into(), flat(&st.old_dirs)),
            ("old_stps".into(), flat(&st.old_stps)),
            ("ro".into(), st.ro.iter().map(|&r| E::from_f64(r)).collect()),
        ]
    }

    /// Restores state saved by [`state`](Lbfgs::state); an unknown or missing entry, or
    /// history vectors of inconsistent sizes, are an error (and change nothing).
    ///
    /// ```
    /// let mut opt = shaped::optim::Lbfgs::<f32>::new(1.0);
    /// assert!(opt.load_state(vec![("momentum_buffer".into(), vec![0.0])]).is_err());
    /// ```
    pub fn load_state(&mut self, state: Vec<(String, Vec<E>)>) -> Result<()> {
        let err = |m: String| Error::value("L-BFGS state", m);
        let mut entries = std::collections::BTreeMap::new();
        for (name, v) in state {
            const NAMES: [&str; 10] = [
                "n_iter",
                "func_evals",
                "d",
                "t",
                "H_diag",
                "prev_flat_grad",
                "prev_loss",
                "old_dirs",
                "old_stps",
                "ro",
            ];
            if !NAMES.contains(&name.as_str()) {
                return Err(err(format!("unknown entry `{name}`")));
            }
            entries.insert(name, v);
        }
        let mut take = |name: &str| {
            entries
                .remove(name)
                .ok_or_else(|| err(format!("missing entry `{name}`")))
        };
        let scalar = |v: Vec<E>, name: &str| match v.as_slice() {
            [x] => Ok(x.to_f64()),
            _ => Err(err(format!("`{name}` has {} values, not 1", v.len()))),
        };
        let n_iter = scalar(take("n_iter")?, "n_iter")?;
        let func_evals = scalar(take("func_evals")?, "func_evals")?;
        let d = take("d")?;
        let t = scalar(take("t")?, "t")?;
        let h_diag = scalar(take("H_diag")?, "H_diag")?;
        let prev_flat_grad = take("prev_flat_grad")?;
        let prev_loss = scalar(take("prev_loss")?, "prev_loss")?;
        let (dirs, stps, ro) = (take("old_dirs")?, take("old_stps")?, take("ro")?);
        let n = d.len();
        let pairs = ro.len();
        if prev_flat_grad.len() != n || dirs.len() != pairs * n || stps.len() != pairs * n {
            return Err(err(format!(
                "inconsistent sizes: d {n}, prev_flat_grad {}, {pairs} history pairs with \
                 old_dirs {} and old_stps {} values",
                prev_flat_grad.len(),
                dirs.len(),
                stps.len()
            )));
        }
        let split = |v: Vec<E>| -> VecDeque<Vec<E>> {
            if n == 0 {
                return VecDeque::new();
            }
            v.chunks(n).map(<[E]>::to_vec).collect()
        };
        self.state = LbfgsState {
            func_evals: func_evals as u64,
            n_iter: n_iter as u64,
            d,
            t,
            old_dirs: split(dirs),
            old_stps: split(stps),
            ro: ro.iter().map(|r| r.to_f64()).collect(),
            h_diag,
            prev_flat_grad,
            prev_loss,
        };
        Ok(())
    }
}

fn count_params<E: Float, M: Params<E> + ?Sized>(model: &M) -> usize {
    let mut n = 0;
    model.visit("", &mut |p| {
        if p.kind == TensorKind::Parameter {
            n += p.data.len();
        }
    });
    n
}

/// The parameters' gradients as one vector (zeros where none reached), negated to maximize.
fn flat_grad<E: Float, M: Params<E> + ?Sized>(
    model: &M,
    grads: &Gradients<E>,
    negate: bool,
) -> Vec<E> {
    let mut out = Vec::new();
    model.visit("", &mut |p| {
        if p.kind != TensorKind::Parameter {
            return;
        }
        match grads.get_id(p.id) {
            Some(g) if g.len() == p.data.len() => {
                out.extend(g.iter().map(|&v| if negate { -v } else { v }))
            }
            _ => out.extend(std::iter::repeat_n(E::ZERO, p.data.len())),
        }
    });
    out
}

fn gather_params<E: Float, M: Params<E> + ?Sized>(model: &M) -> Vec<E> {
    let mut out = Vec::new();
    model.visit("", &mut |p| {
        if p.kind == TensorKind::Parameter {
            out.extend_from_slice(p.data);
        }
    });
    out
}

/// `params += t d`, `d` flat in visiting order.
fn add_to_params<E: Float, M: Params<E> + ?Sized>(model: &mut M, t: f64, d: &[E]) {
    let mut offset = 0;
    model.visit_mut("", &mut |p| {
        if p.kind != TensorKind::Parameter {
            return;
        }
        let n = p.data.len();
        if let Some(part) = d.get(offset..offset + n) {
            axpy(p.data, t, part);
        }
        offset += n;
    });
}

fn set_params<E: Float, M: Params<E> + ?Sized>(model: &mut M, x: &[E]) {
    let mut offset = 0;
    model.visit_mut("", &mut |p| {
        if p.kind != TensorKind::Parameter {
            return;
        }
        let n = p.data.len();
        if let Some(part) = x.get(offset..offset + n) {
            p.data.copy_from_slice(part);
        }
        offset += n;
    });
}

/// Python's `max(a, b)`: `a` unless `b > a` (so NaN behaves as in PyTorch's code).
fn py_max(a: f64, b: f64) -> f64 {
    if b > a { b } else { a }
}

/// Python's `min(a, b)`.
fn py_min(a: f64, b: f64) -> f64 {
    if b < a { b } else { a }
}

/// The minimiser of the cubic through `(x1, f1)`, `(x2, f2)` with slopes `g1`, `g2`,
/// clamped to `bounds` (default: between the points); the midpoint when the cubic has no
/// minimum.
fn cubic_interpolate(
    (x1, f1, g1): (f64, f64, f64),
    (x2, f2, g2): (f64, f64, f64),
    bounds: Option<(f64, f64)>,
) -> f64 {
    let (xmin_bound, xmax_bound) = bounds.unwrap_or(if x1 <= x2 { (x1, x2) } else { (x2, x1) });
    let d1 = g1 + g2 - 3.0 * (f1 - f2) / (x1 - x2);
    let d2_square = d1 * d1 - g1 * g2;
    if d2_square >= 0.0 {
        let d2 = d2_square.sqrt();
        let min_pos = if x1 <= x2 {
            x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2.0 * d2))
        } else {
            x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2.0 * d2))
        };
        py_min(py_max(min_pos, xmin_bound), xmax_bound)
    } else {
        (xmin_bound + xmax_bound) / 2.0
    }
}

/// One trial point of the line search: step, loss, gradient, directional derivative.
struct Point<E> {
    t: f64,
    f: f64,
    g: Vec<E>,
    gtd: f64,
}

/// PyTorch's `_strong_wolfe`: from step `t` along `d` (loss `f`, gradient `g`, directional
/// derivative `gtd` at the start), returns the loss, gradient and step it settles on, and
/// the number of evaluations.
#[allow(clippy::too_many_arguments)]
fn strong_wolfe<E: Float>(
    obj: &mut impl FnMut(f64) -> Result<(f64, Vec<E>)>,
    mut t: f64,
    d: &[E],
    f: f64,
    g: &[E],
    gtd: f64,
    tolerance_change: f64,
    max_ls: i64,
) -> Result<(f64, Vec<E>, f64, usize)> {
    const C1: f64 = 1e-4;
    const C2: f64 = 0.9;
    let d_norm = abs_max(d);
    let (mut f_new, mut g_new) = obj(t)?;
    let mut evals = 1;
    let mut gtd_new = dot(&g_new, d);

    let mut prev = Point {
        t: 0.0,
        f,
        g: g.to_vec(),
        gtd,
    };
    let mut done = false;
    let mut ls_iter: i64 = 0;
    // The bracket: one point when the first phase already satisfied the conditions.
    let mut bracket: Vec<Point<E>> = Vec::new();
    while ls_iter < max_ls {
        let here = |f_new: f64, g_new: &Vec<E>, gtd_new: f64| Point {
            t,
            f: f_new,
            g: g_new.clone(),
            gtd: gtd_new,
        };
        if f_new > f + C1 * t * gtd || (ls_iter > 1 && f_new >= prev.f) {
            bracket = vec![prev, here(f_new, &g_new, gtd_new)];
            break;
        }
        if gtd_new.abs() <= -C2 * gtd {
            bracket = vec![here(f_new, &g_new, gtd_new)];
            done = true;
            break;
        }
        if gtd_new >= 0.0 {
            bracket = vec![prev, here(f_new, &g_new, gtd_new)];
            break;
        }
        // Extrapolate.
        let min_step = t + 0.01 * (t - prev.t);
        let max_step = t * 10.0;
        let tmp = t;
        t = cubic_interpolate(
            (prev.t, prev.f, prev.gtd),
            (t, f_new, gtd_new),
            Some((min_step, max_step)),
        );
        prev = Point {
            t: tmp,
            f: f_new,
            g: g_new,
            gtd: gtd_new,
        };
        (f_new, g_new) = obj(t)?;
        evals += 1;
        gtd_new = dot(&g_new, d);
        ls_iter += 1;
    }
    if bracket.is_empty() {
        // Out of evaluations: between the start and the last trial.
        bracket = vec![
            Point {
                t: 0.0,
                f,
                g: g.to_vec(),
                gtd: f64::NAN,
            },
            Point {
                t,
                f: f_new,
                g: g_new,
                gtd: f64::NAN,
            },
        ];
    }

    // Zoom: shrink the bracket until a point satisfies the conditions.
    let mut insuf_progress = false;
    let last = bracket.len() - 1;
    let (mut low, mut high) = if bracket[0].f <= bracket[last].f {
        (0, 1)
    } else {
        (1, 0)
    };
    while !done && ls_iter < max_ls {
        if (bracket[1].t - bracket[0].t).abs() * d_norm < tolerance_change {
            break;
        }
        let (b0, b1) = (&bracket[0], &bracket[1]);
        t = cubic_interpolate((b0.t, b0.f, b0.gtd), (b1.t, b1.f, b1.gtd), None);
        let (bmax, bmin) = (py_max(b0.t, b1.t), py_min(b0.t, b1.t));
        let eps = 0.1 * (bmax - bmin);
        if py_min(bmax - t, t - bmin) < eps {
            // Too close to an end: move away from it unless the last step progressed.
            if insuf_progress || t >= bmax || t <= bmin {
                t = if (t - bmax).abs() < (t - bmin).abs() {
                    bmax - eps
                } else {
                    bmin + eps
                };
                insuf_progress = false;
            } else {
                insuf_progress = true;
            }
        } else {
            insuf_progress = false;
        }

        let (f_new, g_new) = obj(t)?;
        evals += 1;
        let gtd_new = dot(&g_new, d);
        ls_iter += 1;

        if f_new > f + C1 * t * gtd || f_new >= bracket[low].f {
            // Not enough decrease, or not below the low end: the new point is the high end.
            bracket[high] = Point {
                t,
                f: f_new,
                g: g_new,
                gtd: gtd_new,
            };
            (low, high) = if bracket[0].f <= bracket[1].f {
                (0, 1)
            } else {
                (1, 0)
            };
        } else {
            if gtd_new.abs() <= -C2 * gtd {
                done = true;
            } else if gtd_new * (bracket[high].t - bracket[low].t) >= 0.0 {
                // The old low end becomes the high end.
                let old_low = &bracket[low];
                bracket[high] = Point {
                    t: old_low.t,
                    f: old_low.f,
                    g: old_low.g.clone(),
                    gtd: old_low.gtd,
                };
            }
            bracket[low] = Point {
                t,
                f: f_new,
                g: g_new,
                gtd: gtd_new,
            };
        }
    }
    let best = bracket.swap_remove(low);
    Ok((best.f, best.g, best.t, evals))
}
