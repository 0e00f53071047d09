//! WGSL sources of the loss terms the other kernels lack (Smooth L1, Huber, the two
//! Kullback-Leibler terms, BCE on logits with a positive-class weight), the per-row pick of
//! the class losses and the running sum along an axis. Same conventions as `shaders.rs`:
//! binding 0 is the `u32` parameter array (floats read with `sc`), the index is rebuilt from
//! a grid folded into two axes; every kernel is over the element type `T` (f32 or f64). The formulas are the CPU kernels' (`ops::loss`) term for term,
//! so infinite and NaN inputs give the same answers.

/// The helpers every loss term uses.
macro_rules! with_loss_math {
    ($body:literal) => {
        concat!(
            r#"
fn log1p_(x: T) -> T {
    let u = 1.0 + x;
    if (u == 1.0) { return x; }
    return log_t(u) * x / (u - 1.0);
}
fn log_sigmoid_(x: T) -> T { return min(x, 0.0) - log1p_(exp_t(-abs(x))); }
fn sign_(d: T) -> T { return select(select(T(0.0), T(-1.0), d < 0.0), T(1.0), d > 0.0); }
"#,
            $body
        )
    };
}

/// The loss term of prediction `a[i]` and target `b[i]`: p = n, op, constant (a float, `sc`),
/// length of `w` (the positive weights, read at `i % len`). Ops: 0 Smooth L1 (beta), 1 Huber
/// (delta), 2 KL divergence, 3 KL divergence of a log-target, 4 BCE on logits with a positive
/// weight, 5 `a[i]` where finite, else 0 (no target), 6 1 where `a[i]` equals `b[0]` (NaN
/// counting as equal to a NaN), else 0.
pub(crate) const LOSS_TERM: &str = with_loss_math!(
    r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> a: array<T>;
@group(0) @binding(2) var<storage, read> b: array<T>;
@group(0) @binding(3) var<storage, read> w: array<T>;
@group(0) @binding(4) var<storage, read_write> out: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let x = a[i];
    let c = sc(2);
    var r: T = 0.0;
    switch p[1] {
        case 0u: {
            let d = x - b[i];
            if (abs(d) < c) { r = 0.5 * d * d / c; } else { r = abs(d) - 0.5 * c; }
        }
        case 1u: {
            let d = x - b[i];
            if (abs(d) < c) { r = 0.5 * d * d; } else { r = c * (abs(d) - 0.5 * c); }
        }
        case 2u: {
            let t = b[i];
            var xlogy: T = 0.0;
            if (t != 0.0) { xlogy = t * log_t(t); }
            r = xlogy - t * x;
        }
        case 3u: { let t = b[i]; r = exp_t(t) * (t - x); }
        case 4u: {
            let t = b[i];
            let pw = w[i % p[3]];
            r = (1.0 - t) * x - ((pw - 1.0) * t + 1.0) * log_sigmoid_(x);
        }
        case 5u: { r = select(0.0, x, abs(x) <= max_t()); }
        case 6u: { r = select(T(0.0), T(1.0), x == b[0] || (is_nan_t(x) && is_nan_t(b[0]))); }
        default: { r = 0.0; }
    }
    out[i] = r;
}
"#
);

/// The gradient of [`LOSS_TERM`] with respect to the prediction (`which` 0) or the target
/// (1), times the output gradient `g`: p = n, op, constant, length of `w`, which, a NaN's
/// bits (read at run time: a NaN literal does not pass shader validation).
pub(crate) const LOSS_TERM_BACKWARD: &str = with_loss_math!(
    r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> a: array<T>;
@group(0) @binding(2) var<storage, read> b: array<T>;
@group(0) @binding(3) var<storage, read> w: array<T>;
@group(0) @binding(4) var<storage, read> g: array<T>;
@group(0) @binding(5) var<storage, read_write> out: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let x = a[i];
    let t = b[i];
    let c = sc(2);
    let to_target = p[4] == 1u;
    var d: T = 0.0;
    switch p[1] {
        case 0u: {
            let e = x - t;
            if (abs(e) < c) { d = e / c; } else { d = sign_(e); }
            if (to_target) { d = -d; }
        }
        case 1u: {
            let e = x - t;
            if (abs(e) < c) { d = e; } else { d = c * sign_(e); }
            if (to_target) { d = -d; }
        }
        case 2u: {
            if (to_target) {
                // PyTorch's xlogy backward: t / t, NaN at t = 0, infinite or NaN t.
                var lg: T = 0.0;
                if (t != 0.0) { lg = log_t(t); }
                let one = select(sc(5), 1.0, t != 0.0 && abs(t) <= max_t());
                d = lg + one - x;
            } else { d = -t; }
        }
        case 3u: {
            let e = exp_t(t);
            if (to_target) { d = e * (t - x) + e; } else { d = -e; }
        }
        case 4u: {
            let pw = w[i % p[3]];
            if (to_target) {
                d = log_sigmoid_(-x) - pw * log_sigmoid_(x);
            } else {
                let pt = pw * t;
                d = (pt + 1.0 - t) * (1.0 / (1.0 + exp_t(-x))) - pt;
            }
        }
        default: { d = 0.0; }
    }
    out[i] = g[i] * d;
}
"#
);

/// `y[i] = -w[i] x[i, t[i]]` for the rows of `x` `(rows, classes)`, and exactly 0 where
/// `t[i] < 0` (an ignored sample, whatever its logits): p = rows, classes.
pub(crate) const PICK: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> t: array<T>;
@group(0) @binding(3) var<storage, read> w: array<T>;
@group(0) @binding(4) var<storage, read_write> y: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    if (t[i] < 0.0) { y[i] = 0.0; return; }
    y[i] = -w[i] * x[i * p[1] + u32(t[i])];
}
"#;

/// The gradient of [`PICK`]: `-w[row] g[row]` at each counted row's target, 0 elsewhere:
/// p = rows * classes, classes.
pub(crate) const PICK_BACKWARD: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> t: array<T>;
@group(0) @binding(2) var<storage, read> w: array<T>;
@group(0) @binding(3) var<storage, read> g: array<T>;
@group(0) @binding(4) var<storage, read_write> dx: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let row = i / p[1];
    let col = i % p[1];
    let hit = t[row] >= 0.0 && col == u32(t[row]);
    dx[i] = select(0.0, -w[row] * g[row], hit);
}
"#;

/// The inclusive running sum of every line along the middle axis of `(outer, n, inner)`, one
/// thread per line, from the end when `reverse` (the backward pass): p = lines, n, inner,
/// reverse.
pub(crate) const SCAN: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> y: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let l = gid.x + gid.y * nwg.x * 256u;
    if (l >= p[0]) { return; }
    let n = p[1];
    let inner = p[2];
    let base = (l / inner) * n * inner + l % inner;
    var acc: T = 0.0;
    for (var k = 0u; k < n; k += 1u) {
        var j = k;
        if (p[3] == 1u) { j = n - 1u - k; }
        let at = base + j * inner;
        acc += x[at];
        y[at] = acc;
    }
}
"#;
