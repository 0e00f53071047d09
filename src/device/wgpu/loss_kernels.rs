//! The loss and scan kernels (`loss_shaders`) as plain functions on device buffers: the
//! elementwise terms of Smooth L1, Huber, KL divergence and BCE with a positive weight, the
//! per-row pick of the class losses, and the running sum. Only `crate::gpu` calls these.

use super::GpuStorage;
use super::loss_shaders as shaders;
use super::pipelines::{Kernel, grid_1d, launch};

kernel!(K_LOSS_TERM, shaders::LOSS_TERM);
kernel!(K_LOSS_TERM_BACKWARD, shaders::LOSS_TERM_BACKWARD);
kernel!(K_PICK, shaders::PICK);
kernel!(K_PICK_BACKWARD, shaders::PICK_BACKWARD);
kernel!(K_SCAN, shaders::SCAN);

/// The loss terms of [`term`], with their constants.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Term {
    /// `beta`.
    SmoothL1(f32),
    /// `delta`.
    Huber(f32),
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
    fn code(self) -> (u32, f32) {
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
pub(crate) fn term(
    op: Term,
    a: &GpuStorage<f32>,
    b: &GpuStorage<f32>,
    w: &GpuStorage<f32>,
) -> GpuStorage<f32> {
    let out = a.device.alloc(a.len);
    let (code, c) = op.code();
    launch(
        &a.device,
        K_LOSS_TERM,
        &[a.len as u32, code, c.to_bits(), w.len.max(1) as u32],
        &[&a.buf, &b.buf, &w.buf, &out.buf],
        grid_1d(a.len),
    );
    out
}

/// The gradient of [`term`] with respect to `a` (or `b` when `to_target`), for the output
/// gradient `g`.
pub(crate) fn term_backward(
    op: Term,
    (a, b, w): (&GpuStorage<f32>, &GpuStorage<f32>, &GpuStorage<f32>),
    g: &GpuStorage<f32>,
    to_target: bool,
) -> GpuStorage<f32> {
    let out = a.device.alloc(a.len);
    let (code, c) = op.code();
    let p = [
        a.len as u32,
        code,
        c.to_bits(),
        w.len.max(1) as u32,
        u32::from(to_target),
        f32::NAN.to_bits(),
    ];
    launch(
        &a.device,
        K_LOSS_TERM_BACKWARD,
        &p,
        &[&a.buf, &b.buf, &w.buf, &g.buf, &out.buf],
        grid_1d(a.len),
    );
    out
}

/// `-w[i] x[i, t[i]]` for every row of `x` `(rows, classes)`; 0 where `t[i]` is negative.
pub(crate) fn pick(
    x: &GpuStorage<f32>,
    t: &GpuStorage<f32>,
    w: &GpuStorage<f32>,
    rows: usize,
    classes: usize,
) -> GpuStorage<f32> {
    let out = x.device.alloc(rows);
    launch(
        &x.device,
        K_PICK,
        &[rows as u32, classes as u32],
        &[&x.buf, &t.buf, &w.buf, &out.buf],
        grid_1d(rows),
    );
    out
}

/// The `(rows, classes)` gradient of [`pick`] for the output gradient `g` `(rows,)`.
pub(crate) fn pick_backward(
    t: &GpuStorage<f32>,
    w: &GpuStorage<f32>,
    g: &GpuStorage<f32>,
    rows: usize,
    classes: usize,
) -> GpuStorage<f32> {
    let n = rows * classes;
    let out = g.device.alloc(n);
    launch(
        &g.device,
        K_PICK_BACKWARD,
        &[n as u32, classes as u32],
        &[&t.buf, &w.buf, &g.buf, &out.buf],
        grid_1d(n),
    );
    out
}

/// The running sum along the middle axis of `(outer, n, inner)`, from the end when
/// `reverse`.
pub(crate) fn scan(
    x: &GpuStorage<f32>,
    (outer, n, inner): (usize, usize, usize),
    reverse: bool,
) -> GpuStorage<f32> {
    let out = x.device.alloc(x.len);
    let lines = outer * inner;
    launch(
        &x.device,
        K_SCAN,
        &[
            lines as u32,
            n as u32,
            inner.max(1) as u32,
            u32::from(reverse),
        ],
        &[&x.buf, &out.buf],
        grid_1d(lines),
    );
    out
}
