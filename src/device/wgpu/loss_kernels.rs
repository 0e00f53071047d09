//! The loss and scan kernels (`loss_shaders`) as plain functions on device buffers: the
//! elementwise terms of Smooth L1, Huber, KL divergence and BCE with a positive weight, the
//! per-row pick of the class losses, and the running sum. Every one is generic over the
//! element type (f32 or f64). Only `crate::gpu` calls these.

use super::GpuStorage;
use super::dtype::Params;
use super::loss_shaders as shaders;
use super::pipelines::{Kernel, grid_1d, launch_as};
use crate::dtype::Float;

kernel!(K_LOSS_TERM, shaders::LOSS_TERM);
kernel!(K_LOSS_TERM_BACKWARD, shaders::LOSS_TERM_BACKWARD);
kernel!(K_PICK, shaders::PICK);
kernel!(K_PICK_BACKWARD, shaders::PICK_BACKWARD);
kernel!(K_SCAN, shaders::SCAN);

/// The loss terms of [`term`], with their constants (as f64: the kernel gets them in its
/// element type).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Term {
    /// `beta`.
    SmoothL1(f64),
    /// `delta`.
    Huber(f64),
    KlDiv,
    KlDivLogTarget,
    /// BCE on logits; the positive weights come as a buffer.
    BcePosWeight,
    /// The value where finite, else 0 (no target, no gradient).
    FiniteOrZero,
    /// 1 where the value equals the target's first element (NaN equal to NaN), else 0 (no
    /// gradient): the elements that share a full max's gradient.
    Ties,
}

impl Term {
    fn code(self) -> (usize, f64) {
        match self {
            Term::SmoothL1(beta) => (0, beta),
            Term::Huber(delta) => (1, delta),
            Term::KlDiv => (2, 0.0),
            Term::KlDivLogTarget => (3, 0.0),
            Term::BcePosWeight => (4, 0.0),
            Term::FiniteOrZero => (5, 0.0),
            Term::Ties => (6, 0.0),
        }
    }
}

/// The term of every element of `a` against `b`; `w` (read cyclically) is the positive
/// weight of [`Term::BcePosWeight`] and ignored by the others.
pub(crate) fn term<E: Float>(
    op: Term,
    a: &GpuStorage<E>,
    b: &GpuStorage<E>,
    w: &GpuStorage<E>,
) -> GpuStorage<E> {
    let out = a.device.alloc_as::<E>(a.len);
    let (code, c) = op.code();
    let p = Params::new()
        .u(a.len)
        .u(code)
        .f(E::from_f64(c))
        .u(w.len.max(1));
    launch_as::<E>(
        &a.device,
        K_LOSS_TERM,
        &p,
        &[&a.buf, &b.buf, &w.buf, &out.buf],
        grid_1d(a.len),
    );
    out
}

/// The gradient of [`term`] with respect to `a` (or `b` when `to_target`), for the output
/// gradient `g`.
pub(crate) fn term_backward<E: Float>(
    op: Term,
    (a, b, w): (&GpuStorage<E>, &GpuStorage<E>, &GpuStorage<E>),
    g: &GpuStorage<E>,
    to_target: bool,
) -> GpuStorage<E> {
    let out = a.device.alloc_as::<E>(a.len);
    let (code, c) = op.code();
    let p = Params::new()
        .u(a.len)
        .u(code)
        .f(E::from_f64(c))
        .u(w.len.max(1))
        .u(usize::from(to_target))
        .f(E::from_f64(f64::NAN));
    launch_as::<E>(
        &a.device,
        K_LOSS_TERM_BACKWARD,
        &p,
        &[&a.buf, &b.buf, &w.buf, &g.buf, &out.buf],
        grid_1d(a.len),
    );
    out
}

/// `-w[i] x[i, t[i]]` for every row of `x` `(rows, classes)`; 0 where `t[i]` is negative
/// (the targets are class indices as floats of the element type).
pub(crate) fn pick<E: Float>(
    x: &GpuStorage<E>,
    t: &GpuStorage<E>,
    w: &GpuStorage<E>,
    rows: usize,
    classes: usize,
) -> GpuStorage<E> {
    let out = x.device.alloc_as::<E>(rows);
    launch_as::<E>(
        &x.device,
        K_PICK,
        &Params::new().u(rows).u(classes),
        &[&x.buf, &t.buf, &w.buf, &out.buf],
        grid_1d(rows),
    );
    out
}

/// The `(rows, classes)` gradient of [`pick`] for the output gradient `g` `(rows,)`.
pub(crate) fn pick_backward<E: Float>(
    t: &GpuStorage<E>,
    w: &GpuStorage<E>,
    g: &GpuStorage<E>,
    rows: usize,
    classes: usize,
) -> GpuStorage<E> {
    let n = rows * classes;
    let out = g.device.alloc_as::<E>(n);
    launch_as::<E>(
        &g.device,
        K_PICK_BACKWARD,
        &Params::new().u(n).u(classes),
        &[&t.buf, &w.buf, &g.buf, &out.buf],
        grid_1d(n),
    );
    out
}

/// The running sum along the middle axis of `(outer, n, inner)`, from the end when
/// `reverse`.
pub(crate) fn scan<E: Float>(
    x: &GpuStorage<E>,
    (outer, n, inner): (usize, usize, usize),
    reverse: bool,
) -> GpuStorage<E> {
    let out = x.device.alloc_as::<E>(x.len);
    let lines = outer * inner;
    launch_as::<E>(
        &x.device,
        K_SCAN,
        &Params::new()
            .u(lines)
            .u(n)
            .u(inner.max(1))
            .u(usize::from(reverse)),
        &[&x.buf, &out.buf],
        grid_1d(lines),
    );
    out
}
