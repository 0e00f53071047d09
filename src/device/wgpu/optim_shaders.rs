//! WGSL sources of the Adamax, NAdam, RAdam and Adadelta updates, PyTorch's rules as the CPU
//! loops in `backend::optim` write them, over the element type `T` (f32 or f64, see `dtype.rs`).
//! Same conventions as `shaders.rs`: binding 0 is the `u32` parameter array (a float is read
//! with `sc(i)`), the index is rebuilt from a grid folded into two axes, `sign` is -1 to
//! maximize.

/// Adamax in place: p = n, lr / bias correction 1, beta1, beta2, eps, weight decay, sign.
pub(crate) const ADAMAX: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read_write> w: array<T>;
@group(0) @binding(2) var<storage, read> g: array<T>;
@group(0) @binding(3) var<storage, read_write> m: array<T>;
@group(0) @binding(4) var<storage, read_write> u: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let clr = sc(1);
    let b1 = sc(2);
    let b2 = sc(3);
    let eps = sc(4);
    let wd = sc(5);
    let sign = sc(6);
    let x = w[i];
    let gi = sign * g[i] + wd * x;
    let mi = m[i] + (1.0 - b1) * (gi - m[i]);
    let ui = max(b2 * u[i], abs(gi) + eps);
    m[i] = mi;
    u[i] = ui;
    w[i] = x - clr * mi / ui;
}
"#;

/// NAdam in place: p = n, beta1, beta2, eps, bias correction 2, gradient weight, average
/// weight, (L2) weight decay, decay factor (decoupled weight decay), sign.
pub(crate) const NADAM: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read_write> w: array<T>;
@group(0) @binding(2) var<storage, read> g: array<T>;
@group(0) @binding(3) var<storage, read_write> m: array<T>;
@group(0) @binding(4) var<storage, read_write> v: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let b1 = sc(1);
    let b2 = sc(2);
    let eps = sc(3);
    let bc2 = sc(4);
    let grad_weight = sc(5);
    let avg_weight = sc(6);
    let wd = sc(7);
    let decay = sc(8);
    let sign = sc(9);
    var x = w[i] * decay;
    let gi = sign * g[i] + wd * x;
    let mi = m[i] + (1.0 - b1) * (gi - m[i]);
    let vi = b2 * v[i] + (1.0 - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    let denom = sqrt(vi / bc2) + eps;
    x = x - grad_weight * gi / denom;
    x = x - avg_weight * mi / denom;
    w[i] = x;
}
"#;

/// RAdam in place: p = n, lr, beta1, beta2, eps, bias correction 1, sqrt of bias correction
/// 2, rectification (used when p[8] == 1), (L2) weight decay, decay factor, sign.
pub(crate) const RADAM: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read_write> w: array<T>;
@group(0) @binding(2) var<storage, read> g: array<T>;
@group(0) @binding(3) var<storage, read_write> m: array<T>;
@group(0) @binding(4) var<storage, read_write> v: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let lr = sc(1);
    let b1 = sc(2);
    let b2 = sc(3);
    let eps = sc(4);
    let bc1 = sc(5);
    let bc2_sqrt = sc(6);
    let rect = sc(7);
    let wd = sc(9);
    let decay = sc(10);
    let sign = sc(11);
    var x = w[i] * decay;
    let gi = sign * g[i] + wd * x;
    let mi = m[i] + (1.0 - b1) * (gi - m[i]);
    let vi = b2 * v[i] + (1.0 - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    let corrected = mi / bc1;
    if (p[8] == 1u) {
        let adaptive = bc2_sqrt / (sqrt(vi) + eps);
        x = x - corrected * lr * adaptive * rect;
    } else {
        x = x - corrected * lr;
    }
    w[i] = x;
}
"#;

/// Adadelta in place: p = n, lr, rho, eps, weight decay, sign.
pub(crate) const ADADELTA: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read_write> w: array<T>;
@group(0) @binding(2) var<storage, read> g: array<T>;
@group(0) @binding(3) var<storage, read_write> v: array<T>;
@group(0) @binding(4) var<storage, read_write> u: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let lr = sc(1);
    let rho = sc(2);
    let eps = sc(3);
    let wd = sc(4);
    let sign = sc(5);
    let x = w[i];
    let gi = sign * g[i] + wd * x;
    let vi = rho * v[i] + (1.0 - rho) * gi * gi;
    let delta = sqrt(u[i] + eps) / sqrt(vi + eps) * gi;
    v[i] = vi;
    u[i] = rho * u[i] + (1.0 - rho) * delta * delta;
    w[i] = x - lr * delta;
}
"#;
