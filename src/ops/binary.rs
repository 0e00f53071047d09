//! Elementwise functions of two tensors with PyTorch broadcasting. Each is a
//! [`BinaryKernel`] (value and both partial derivatives, written once); [`binary_op`] turns
//! any kernel into a traced op whose gradients are summed over broadcast dimensions.

use crate::autograd::{Gradients, Merge, Tape, UniqueId};
use crate::backend::broadcast;
use crate::backend::elementwise as kernels;
use crate::dtype::Float;
use crate::error::OrPanic;
use crate::error::Result;
use crate::shape::check::{BroadcastCheck, OpName};
use crate::shape::{BroadcastShapes, Dims, Shape};
use crate::tensor::Tensor;
use std::sync::Arc;

/// A function of two elements with its partial derivatives.
pub trait BinaryKernel<E: Float>: Copy + Send + Sync + 'static {
    /// y = f(a, b).
    fn f(&self, a: E, b: E) -> E;
    /// dy/da.
    fn dfa(&self, a: E, b: E) -> E;
    /// dy/db.
    fn dfb(&self, a: E, b: E) -> E;
    /// `Some([da, db])` when dy/da and dy/db are the constants `da`, `db` (each 1 or -1):
    /// the backward pass then hands on the output's gradient (negated for -1) without reading
    /// the inputs again.
    const UNIT_DERIVATIVES: Option<[i8; 2]> = None;
    /// True when the backward loops should compute sixteen derivatives at a time into a
    /// local array before storing them (as the unary ops' do): a derivative that selects
    /// between formulas of a parameter (Smooth L1's `d / beta` or `sign(d)`) stayed scalar
    /// as a plain loop, which reloaded the parameter after every store (38 ms for the
    /// backward of a 4M `f32` Smooth L1 loss, 3.9 staged). False by default: the plain loop
    /// vectorises chained selects (`maximum`'s tie rule) that the staged one does not.
    const STAGED_DERIVATIVES: bool = false;
}

/// Applies `k` over the broadcast of `lhs` and `rhs` into `out` (whose dims the caller has
/// checked), recording the backward step when either side is traced.
pub fn binary_op<SL, SR, SO, E, TL, TR, K>(
    lhs: Tensor<SL, E, TL>,
    rhs: Tensor<SR, E, TR>,
    out: SO,
    k: K,
) -> Tensor<SO, E, <TL as Merge<E, TR>>::Output>
where
    SL: Shape,
    SR: Shape,
    SO: Shape,
    E: Float,
    TL: Merge<E, TR>,
    TR: Tape<E>,
    K: BinaryKernel<E>,
{
    let (lhs, tl) = lhs.split_tape();
    let (rhs, tr) = rhs.split_tape();
    let (ld, rd, od) = merge_axes(lhs.shape.dims(), rhs.shape.dims(), out.dims());
    let (data, id, tape) = binary_untyped(
        (lhs.data, lhs.id, ld),
        tl,
        (rhs.data, rhs.id, rd),
        tr,
        od,
        k,
    );
    Tensor {
        shape: out,
        data,
        id,
        tape,
    }
}

/// The longest row [`merge_axes`] builds: the broadcast loops hand whole rows to the
/// threads, so that a longer one would leave a thread idle.
const MERGED_ROW_MAX: usize = 4096;

/// The operands' and the output's dims with adjacent axes merged where each operand either
/// spans both or repeats over both, and axes of size 1 dropped (PyTorch's iterator does the
/// same): `(32, 64, 16, 16) * (64, 1, 1)` runs as `(32, 64, 256) * (1, 64, 1)`, rows of 256
/// with one slope each instead of 32K rows of 16 (on one thread, 524K `f32`: PReLU per
/// channel 0.13 -> 0.05 ms, PyTorch 0.05; its backward 1.59 -> 0.38, PyTorch 3.3; a
/// `(64, 1, 1)` bias added to `(32, 64, 28, 28)` 0.34 -> 0.17, PyTorch 0.18; the backward of
/// its product 3.6 -> 0.9, PyTorch 5.6). The last merged axis stops growing at
/// [`MERGED_ROW_MAX`]. The element order, and so every buffer, stays the same.
pub(crate) fn merge_axes(ld: Dims, rd: Dims, od: Dims) -> (Dims, Dims, Dims) {
    let ([a, b], o) = merge_operand_axes([ld, rd], od);
    (a, b, o)
}

/// [`merge_axes`] for any number of operands (`where`'s condition and two values).
pub(crate) fn merge_operand_axes<const N: usize>(
    operands: [Dims; N],
    od: Dims,
) -> ([Dims; N], Dims) {
    let rank = od.rank();
    let unchanged = (operands, od);
    if operands.iter().any(|d| d.rank() > rank) || od.as_slice().contains(&0) {
        return unchanged;
    }
    // Each operand's size along output axis `i` (1 where it has fewer axes).
    let size_at = |d: &Dims, i: usize| (i + d.rank()).checked_sub(rank).map_or(1, |j| d[j]);
    // Merged axes from the last: the output's size and the operands'.
    let mut merged = [(1usize, [1usize; N]); crate::shape::MAX_RANK];
    let mut n = 0;
    for i in (0..rank).rev() {
        let o = od[i];
        if o == 1 {
            continue;
        }
        let sizes = operands.map(|d| size_at(&d, i));
        if n > 0 {
            let (po, ps) = merged[n - 1];
            let alike = (0..N).all(|k| (ps[k] == po) == (sizes[k] == o));
            if alike && (n > 1 || po * o <= MERGED_ROW_MAX) {
                merged[n - 1] = (po * o, core::array::from_fn(|k| ps[k] * sizes[k]));
                continue;
            }
        }
        merged[n] = (o, sizes);
        n += 1;
    }
    if n == rank {
        return unchanged;
    }
    let n = n.max(1);
    let axes = &merged[..n];
    let dims_of = |size: &dyn Fn(&(usize, [usize; N])) -> usize| {
        let mut sizes = [1usize; crate::shape::MAX_RANK];
        for (slot, axis) in sizes.iter_mut().zip(axes.iter().rev()) {
            *slot = size(axis);
        }
        Dims::new(&sizes[..n])
    };
    let merged_operands: [Option<Dims>; N] = core::array::from_fn(|k| dims_of(&|a| a.1[k]));
    match (
        dims_of(&|a| a.0),
        merged_operands.iter().all(Option::is_some),
    ) {
        (Some(o), true) => (merged_operands.map(|d| d.unwrap_or(o)), o),
        _ => unchanged,
    }
}

/// A buffer, its id and its dims: a tensor without its shape type.
type Operand<E> = (Arc<Vec<E>>, UniqueId, Dims);

/// [`binary_op`] on buffers and run-time dims: generic over the element, tape and kernel
/// types but not the shapes, so that one op applied at many shapes is compiled once
/// (issue 15).
fn binary_untyped<E, TL, TR, K>(
    lhs: Operand<E>,
    tl: TL,
    rhs: Operand<E>,
    tr: TR,
    od: Dims,
    k: K,
) -> (Arc<Vec<E>>, UniqueId, <TL as Merge<E, TR>>::Output)
where
    E: Float,
    TL: Merge<E, TR>,
    TR: Tape<E>,
    K: BinaryKernel<E>,
{
    let ((l_data, l_id, ld), (r_data, r_id, rd)) = (lhs, rhs);
    let mut tape = tl.merge(tr);
    let track_l = <TL as Merge<E, TR>>::Output::TRACING && tape.tracks(l_id);
    let track_r = <TL as Merge<E, TR>>::Output::TRACING && tape.tracks(r_id);
    // The output into a new buffer, from the left operand `l`.
    let fresh = |l: &[E]| {
        broadcast::binary_map(
            l,
            &ld,
            &r_data,
            &rd,
            &od,
            #[inline(always)]
            move |x, y| k.f(x, y),
        )
    };
    if !track_l && !track_r {
        let data = if ld == od {
            match Arc::try_unwrap(l_data) {
                Ok(mut a) => {
                    broadcast::binary_map_inplace(
                        &mut a,
                        &od,
                        &r_data,
                        &rd,
                        #[inline(always)]
                        move |x, y| k.f(x, y),
                    );
                    a
                }
                Err(a) => fresh(&a),
            }
        } else {
            fresh(&l_data)
        };
        return (Arc::new(data), UniqueId::new(), tape);
    }
    let y = fresh(&l_data);
    let out_id = UniqueId::new();
    let (a, b, a_id, b_id) = (l_data, r_data, l_id, r_id);
    tape.record(
        out_id,
        Box::new(move |g: &mut Gradients<E>| {
            if let (true, true, Some([da, db])) = (ld == od, rd == od, K::UNIT_DERIVATIVES) {
                // A uniform gradient (a whole-tensor sum's) passes on as one number.
                if let Some((n, c)) = g.take_uniform(out_id) {
                    for (track, id, d) in [(track_l, a_id, da), (track_r, b_id, db)] {
                        if track {
                            let v = if d < 0 { -c } else { c };
                            g.add_uniform(id, n, v, kernels::filled::<E>);
                        }
                    }
                    return;
                }
            }
            if let (true, true, None) = (ld == od, rd == od, K::UNIT_DERIVATIVES) {
                // A uniform gradient (a whole-tensor sum's or mean's, as a loss's): each
                // input's gradient in one pass over the inputs, no buffer of copies of it.
                if let Some((_, c)) = g.take_uniform(out_id) {
                    if track_l {
                        let ga = kernels::scaled_derivative(
                            c,
                            &a,
                            &b,
                            K::STAGED_DERIVATIVES,
                            #[inline(always)]
                            move |x, y| k.dfa(x, y),
                        );
                        g.add(a_id, ga);
                    }
                    if track_r {
                        let gb = kernels::scaled_derivative(
                            c,
                            &a,
                            &b,
                            K::STAGED_DERIVATIVES,
                            #[inline(always)]
                            move |x, y| k.dfb(x, y),
                        );
                        g.add(b_id, gb);
                    }
                    return;
                }
            }
            let Some(gy) = g.take(out_id) else { return };
            if let (true, true, Some([da, db])) = (ld == od, rd == od, K::UNIT_DERIVATIVES) {
                unit_grads(g, gy, [(track_l, a_id, da), (track_r, b_id, db)]);
                return;
            }
            if let Some(units) = K::UNIT_DERIVATIVES {
                // Broadcast `a + b` / `a - b`: an input of the output's shape takes the output's
                // gradient as it is (signed), a broadcast one its sum over the broadcast
                // dimensions; neither reads the inputs.
                broadcast_unit_grads(
                    g,
                    gy,
                    &od,
                    [
                        (track_l, a_id, &ld[..], units[0]),
                        (track_r, b_id, &rd[..], units[1]),
                    ],
                );
                return;
            }
            if ld == od && rd == od {
                // No broadcasting: build each input's gradient directly (the rhs reuses the
                // output's buffer) instead of zero-filling and accumulating.
                if track_l {
                    let ga = kernels::derivative_product(
                        &gy,
                        &a,
                        &b,
                        K::STAGED_DERIVATIVES,
                        #[inline(always)]
                        move |x, y| k.dfa(x, y),
                    );
                    g.add(a_id, ga);
                }
                if track_r {
                    let mut gb = gy;
                    kernels::mul_by_derivative(
                        &mut gb,
                        &a,
                        &b,
                        K::STAGED_DERIVATIVES,
                        #[inline(always)]
                        move |x, y| k.dfb(x, y),
                    );
                    g.add(b_id, gb);
                }
                return;
            }
            // An input of the output's shape (`x` in `x * scale[:, None]`) with no gradient
            // yet takes its gradient written over the output's, after the other input's
            // (which reads it): no zero-filled buffer to add into. At most one input has
            // the output's shape here (both would be the unbroadcast case above).
            let in_place = if track_l && ld == od && !g.has(a_id) {
                Some(0)
            } else if track_r && rd == od && !g.has(b_id) {
                Some(1)
            } else {
                None
            };
            // One input's gradient, into `grad` (`gy` given: added; else in place).
            macro_rules! side_grad {
                ($grad:expr, $which:expr, $gy:expr, $d:ident) => {
                    broadcast::binary_grad(
                        $grad,
                        $which,
                        $gy,
                        &a,
                        &ld,
                        &b,
                        &rd,
                        &od,
                        #[inline(always)]
                        move |x, y| k.$d(x, y),
                    )
                };
            }
            if track_l && in_place != Some(0) {
                side_grad!(g.entry(a_id, a.len()), 0, Some(&gy), dfa);
            }
            if track_r && in_place != Some(1) {
                side_grad!(g.entry(b_id, b.len()), 1, Some(&gy), dfb);
            }
            let mut grad = gy;
            match in_place {
                Some(0) => {
                    side_grad!(&mut grad, 0, None, dfa);
                    g.insert(a_id, grad);
                }
                Some(_) => {
                    side_grad!(&mut grad, 1, None, dfb);
                    g.insert(b_id, grad);
                }
                None => {}
            }
        }),
    );
    (Arc::new(y), out_id, tape)
}

/// The gradients of `a + b` or `a - b` without broadcasting: the output's gradient itself,
/// one buffer shared by both sides (copied only if one of them is written to later), negated
/// for a derivative of -1. Generic over the element type alone, so one copy serves every
/// kernel.
fn unit_grads<E: Float>(g: &mut Gradients<E>, gy: Vec<E>, sides: [(bool, UniqueId, i8); 2]) {
    let [(track_l, l_id, dl), (track_r, r_id, dr)] = sides;
    let signed = |v: Vec<E>, d: i8| {
        let mut v = v;
        if d < 0 {
            kernels::map_inplace(&mut v, |x| -x);
        }
        v
    };
    match (track_l, track_r) {
        (true, true) if dl == dr => {
            let shared = Arc::new(signed(gy, dl));
            g.add_shared(l_id, shared.clone());
            g.add_shared(r_id, shared);
        }
        (true, true) => {
            let negated = kernels::map(&gy, |x| -x);
            let (gl, gr) = if dl < 0 { (negated, gy) } else { (gy, negated) };
            g.add(l_id, gl);
            g.add(r_id, gr);
        }
        (true, false) => g.add(l_id, signed(gy, dl)),
        (false, true) => g.add(r_id, signed(gy, dr)),
        (false, false) => {}
    }
}

/// The gradients of a broadcast `a + b` or `a - b` (see [`unit_grads`] for equal shapes):
/// each traced side `(traced, id, dims, derivative)` gets the output's gradient `gy` summed
/// down to its `dims` (column sums when it repeats over leading dimensions), negated for a
/// derivative of -1; a side of the output's shape gets `gy` itself.
fn broadcast_unit_grads<E: Float>(
    g: &mut Gradients<E>,
    gy: Vec<E>,
    out_dims: &[usize],
    sides: [(bool, UniqueId, &[usize], i8); 2],
) {
    let mut full = None;
    for (traced, id, dims, d) in sides {
        if !traced {
            continue;
        }
        if dims == out_dims && full.is_none() {
            full = Some((id, d));
            continue;
        }
        let len: usize = dims.iter().product();
        let mut sum = vec![E::ZERO; len];
        match broadcast::repeat_period(dims, out_dims) {
            Some(period) if period == len && len > 0 => {
                crate::backend::reduce::add_column_sums(&mut sum, &gy)
            }
            _ => broadcast::sum_to_shape(&mut sum, dims, &gy, out_dims),
        }
        if d < 0 {
            kernels::map_inplace(&mut sum, |x| -x);
        }
        g.add(id, sum);
    }
    if let Some((id, d)) = full {
        let mut gy = gy;
        if d < 0 {
            kernels::map_inplace(&mut gy, |x| -x);
        }
        g.add(id, gy);
    }
}

macro_rules! binary_kernel {
    ($(#[$m:meta])* $name:ident, |$a:ident, $b:ident| $f:expr, $dfa:expr, $dfb:expr $(, unit $unit:expr)?) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, Default)]
        pub struct $name;
        impl<E: Float> BinaryKernel<E> for $name {
            #[inline(always)]
            fn f(&self, $a: E, $b: E) -> E { $f }
            #[inline(always)]
            #[allow(unused_variables)]
            fn dfa(&self, $a: E, $b: E) -> E { $dfa }
            #[inline(always)]
            #[allow(unused_variables)]
            fn dfb(&self, $a: E, $b: E) -> E { $dfb }
            $(const UNIT_DERIVATIVES: Option<[i8; 2]> = Some($unit);)?
        }
    };
}

binary_kernel!(/// a + b
    AddKernel, |a, b| a + b, E::ONE, E::ONE, unit [1, 1]);
binary_kernel!(/// a - b
    SubKernel, |a, b| a - b, E::ONE, -E::ONE, unit [1, -1]);
binary_kernel!(/// a * b
    MulKernel, |a, b| a * b, b, a);
binary_kernel!(/// a / b
    DivKernel, |a, b| a / b, E::ONE / b, -a / (b * b));
binary_kernel!(/// a ^ b; d/db uses ln a, so it is NaN for negative a as in PyTorch
    PowKernel, |a, b| a.powf(b), b * a.powf(b - E::ONE), if (a == E::ZERO) & (b >= E::ZERO) { E::ZERO } else { a.powf(b) * a.ln() });
binary_kernel!(/// max(a, b); a tie sends half the gradient to each side, as in PyTorch
    MaximumKernel, |a, b| if a.is_nan() | b.is_nan() { a + b } else { a.max(b) },
    if a > b { E::ONE } else if a == b { E::from_f64(0.5) } else { E::ZERO },
    if b > a { E::ONE } else if a == b { E::from_f64(0.5) } else { E::ZERO });
binary_kernel!(/// min(a, b); a tie sends half the gradient to each side
    MinimumKernel, |a, b| if a.is_nan() | b.is_nan() { a + b } else { a.min(b) },
    if a < b { E::ONE } else if a == b { E::from_f64(0.5) } else { E::ZERO },
    if b < a { E::ONE } else if a == b { E::from_f64(0.5) } else { E::ZERO });
binary_kernel!(/// PReLU: `a` where `a > 0`, else `b * a` (the slope `b` learned, as PyTorch's `prelu`)
    PreluKernel, |a, b| if a > E::ZERO { a } else { b * a },
    if a > E::ZERO { E::ONE } else { b },
    if a > E::ZERO { E::ZERO } else { a });

macro_rules! binary_methods {
    ($($(#[$m:meta])* $name:ident $try_name:ident $kernel:ident;)*) => {
        $(
            impl OpName for $kernel {
                const NAME: &'static str = stringify!($name);
            }
        )*
        // Inherent methods on purpose: unlike the operator traits they take any broadcastable
        // rhs and come with `try_` variants.
        #[allow(clippy::should_implement_trait)]
        impl<S: Shape, E: Float, T: Tape<E>> Tensor<S, E, T> {
            $(
                $(#[$m])*
                ///
                /// Shapes broadcast as in PyTorch; static shapes that do not broadcast are a
                /// compile error. Panics if run-time dimensions do not broadcast (see the
                #[doc = concat!("`", stringify!($try_name), "` variant).")]
                #[track_caller]
                pub fn $name<SR: Shape, TR: Tape<E>>(
                    self,
                    rhs: Tensor<SR, E, TR>,
                ) -> Tensor<<S as BroadcastShapes<SR>>::Output, E, <T as Merge<E, TR>>::Output>
                where
                    S: BroadcastShapes<SR>,
                    T: Merge<E, TR>,
                {
                    let () = BroadcastCheck::<S, SR, $kernel>::OK;
                    self.$try_name(rhs).or_panic()
                }

                #[doc = concat!("[`", stringify!($name), "`](Self::", stringify!($name), "), with an error for run-time dimensions that do not broadcast.")]
                pub fn $try_name<SR: Shape, TR: Tape<E>>(
                    self,
                    rhs: Tensor<SR, E, TR>,
                ) -> Result<Tensor<<S as BroadcastShapes<SR>>::Output, E, <T as Merge<E, TR>>::Output>>
                where
                    S: BroadcastShapes<SR>,
                    T: Merge<E, TR>,
                {
                    let () = BroadcastCheck::<S, SR, $kernel>::OK;
                    let out = crate::shape::broadcast_for(stringify!($name), &self.shape, &rhs.shape)?;
                    Ok(binary_op(self, rhs, out, $kernel))
                }
            )*
        }
    };
}

binary_methods! {
    /// Elementwise `self + rhs`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let a = Tensor::<Rank2<2, 1>>::from_array([[1.0], [2.0]]);
    /// let b = Tensor::<Rank1<3>>::from_array([10.0, 20.0, 30.0]);
    /// assert_eq!(a.add(b).to_vec(), vec![11.0, 21.0, 31.0, 12.0, 22.0, 32.0]);
    /// ```
    add try_add AddKernel;
    /// Elementwise `self - rhs`.
    sub try_sub SubKernel;
    /// Elementwise `self * rhs`.
    mul try_mul MulKernel;
    /// Elementwise `self / rhs`.
    div try_div DivKernel;
    /// Elementwise `self ^ rhs` (`torch.pow` with a tensor exponent).
    pow try_pow PowKernel;
    /// Elementwise maximum (`torch.maximum`).
    maximum try_maximum MaximumKernel;
    /// Elementwise minimum (`torch.minimum`).
    minimum try_minimum MinimumKernel;
    /// PReLU (`F.prelu`): `self` where positive, else `rhs * self`, `rhs` the learned
    /// slopes (one for all, or one per channel shaped to broadcast: `(C, 1, 1)` for
    /// `(N, C, H, W)`; [`nn::PReLU`](crate::nn::PReLU) does this for you).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank2<2, 2>>::from_array([[-1.0, 2.0], [-4.0, 3.0]]);
    /// let slopes = Tensor::<Rank2<2, 1>>::from_array([[0.5], [0.25]]);
    /// assert_eq!(x.prelu(slopes).to_vec(), vec![-0.5, 2.0, -1.0, 3.0]);
    /// ```
    prelu try_prelu PreluKernel;
}

macro_rules! operator {
    ($Trait:ident $method:ident $scalar:ident $kernel:ident) => {
        impl<SL, SR, E, TL, TR> core::ops::$Trait<Tensor<SR, E, TR>> for Tensor<SL, E, TL>
        where
            SL: Shape + BroadcastShapes<SR>,
            SR: Shape,
            E: Float,
            TL: Tape<E> + Merge<E, TR>,
            TR: Tape<E>,
        {
            type Output =
                Tensor<<SL as BroadcastShapes<SR>>::Output, E, <TL as Merge<E, TR>>::Output>;
            #[track_caller]
            fn $method(self, rhs: Tensor<SR, E, TR>) -> Self::Output {
                let () = BroadcastCheck::<SL, SR, $kernel>::OK;
                Tensor::$method(self, rhs)
            }
        }
        impl<'a, 'b, SL, SR, E, TL, TR> core::ops::$Trait<&'b Tensor<SR, E, TR>>
            for &'a Tensor<SL, E, TL>
        where
            SL: Shape + BroadcastShapes<SR>,
            SR: Shape,
            E: Float,
            TL: Tape<E> + Merge<E, TR>,
            TR: Tape<E>,
        {
            type Output =
                Tensor<<SL as BroadcastShapes<SR>>::Output, E, <TL as Merge<E, TR>>::Output>;
            #[track_caller]
            fn $method(self, rhs: &'b Tensor<SR, E, TR>) -> Self::Output {
                let () = BroadcastCheck::<SL, SR, $kernel>::OK;
                Tensor::$method(self.clone(), rhs.clone())
            }
        }
        impl<S: Shape, E: Float, T: Tape<E>> core::ops::$Trait<E> for Tensor<S, E, T> {
            type Output = Tensor<S, E, T>;
            fn $method(self, rhs: E) -> Self::Output {
                self.$scalar(rhs)
            }
        }
    };
}

operator!(Add add add_scalar AddKernel);
operator!(Sub sub sub_scalar SubKernel);
operator!(Mul mul mul_scalar MulKernel);
operator!(Div div div_scalar DivKernel);

impl<S: Shape, E: Float, T: Tape<E>> core::ops::Neg for Tensor<S, E, T> {
    type Output = Self;
    fn neg(self) -> Self {
        Tensor::neg(self)
    }
}
