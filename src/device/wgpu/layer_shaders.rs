//! WGSL sources of the layer kernels: the other activations, the elementwise losses, average
//! and adaptive pooling, the normalisations (LayerNorm, BatchNorm, GroupNorm) and the
//! RMSprop / Adagrad / Adam-amsgrad updates. Same conventions as `shaders.rs`: written over
//! the element type `T` with the `dtype` prelude's helpers (never the builtin transcendentals,
//! which have no f64 form), binding 0 is the `u32` parameter array (float scalars read with
//! `sc(i)`), one-dimensional kernels rebuild their index from a grid folded into two axes.

/// Helpers shared by the activation and loss kernels (prepended to their sources).
macro_rules! with_math {
    ($body:literal) => {
        concat!(
            r#"
// erfc: the prelude's (Numerical Recipes' erfcc, fractional error below 1.2e-7, in f32; the
// CPU's series and continued fraction in f64).
fn erfc_(x: T) -> T { return erfc_t(x); }
// log(1 + x) accurate for tiny x (to an ulp or two in either precision).
fn log1p_(x: T) -> T {
    let u = 1.0 + x;
    if (u == 1.0) { return x; }
    return log_t(u) * x / (u - 1.0);
}
// Two branches so that exp never overflows.
fn sigmoid_(x: T) -> T {
    if (x >= 0.0) { return 1.0 / (1.0 + exp_t(-x)); }
    let e = exp_t(x);
    return e / (1.0 + e);
}
// The prelude's saturating tanh: clamped at |x| = 15 in f32 (as before, so that exp-based
// implementations of the builtin stay finite), unclamped in f64.
fn tanh_(x: T) -> T { return tanh_sat_t(x); }
fn log_sigmoid_(x: T) -> T { return min(x, 0.0) - log1p_(exp_t(-abs(x))); }
// e^x - 1 accurate for tiny x (Kahan's correction by the rounding of e^x).
fn expm1_(x: T) -> T {
    let u = exp_t(x);
    if (u == 1.0) { return x; }
    let um1 = u - 1.0;
    if (um1 == -1.0) { return -1.0; }
    if (is_nan_t(um1) || um1 > max_t()) { return um1; }
    return um1 * x / log_t(u);
}
// min(max(x, 0), 6) with NaN kept.
fn relu6_(x: T) -> T {
    var r = x;
    if (r < 0.0) { r = 0.0; }
    if (r > 6.0) { r = 6.0; }
    return r;
}
fn softplus_(x: T) -> T { return max(x, 0.0) + log1p_(exp_t(-abs(x))); }
// x^a as Rust's powf: negative bases with integral exponents, 0^0 = 1.
fn pow_(x: T, a: T) -> T {
    if (a == 0.0) { return 1.0; }
    if (x < 0.0 && a == round(a)) {
        let r = pow_t(-x, a);
        return select(r, -r, (i32(a) & 1) != 0);
    }
    return pow_t(x, a);
}
"#,
            $body
        )
    };
}

/// `out[i] = f(x[i])` for the activations of `crate::gpu::activations`: p = n, op, a, b
/// (floats, `sc`; the op's constants).
pub(crate) const UNARY_EXT: &str = with_math!(
    r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> out: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let v = x[i];
    let a = sc(2);
    let b = sc(3);
    var r: T = 0.0;
    switch p[1] {
        case 0u: { r = abs(v); }
        case 1u: { r = sqrt(v); }
        case 2u: { r = sin_t(v); }
        case 3u: { r = cos_t(v); }
        case 4u: { r = select(a * v, v, v > 0.0); }
        case 5u: { r = 0.5 * v * erfc_(-v * 0.70710678118654752); }
        case 6u: {
            let inner = 0.79788456080286536 * (v + 0.044715 * v * v * v);
            r = 0.5 * v * (1.0 + tanh_(inner));
        }
        case 7u: { r = v * sigmoid_(v); }
        case 8u: {
            let bx = a * v;
            if (bx > b) { r = v; } else { r = (max(bx, 0.0) + log1p_(exp_t(-abs(bx)))) / a; }
        }
        case 9u: {
            // PyTorch's min(max(v, a), b): b wins when a > b (as on the CPU); NaN stays.
            r = v;
            if (r < a) { r = a; }
            if (r > b) { r = b; }
        }
        case 10u: { r = pow_(v, a); }
        case 11u: { r = select(v * b, a * expm1_(v * sc(4)), v <= 0.0); }
        case 12u: {
            r = v;
            if (r < a) { r = a; }
            if (r > b) { r = b; }
        }
        case 13u: { r = relu6_(v + 3.0) / 6.0; }
        case 14u: { r = v * relu6_(v + 3.0) / 6.0; }
        case 15u: { r = v * tanh_(softplus_(v)); }
        case 16u: { r = v / (1.0 + abs(v)); }
        case 17u: { r = log_sigmoid_(v); }
        case 18u: { r = v - tanh_(v); }
        case 19u: { r = select(v, T(0.0), v >= -a && v <= a); }
        case 20u: {
            r = v * 0.0;
            if (v > a) { r = v - a; }
            if (v < -a) { r = v + a; }
        }
        case 21u: { r = select(v, b, v <= a); }
        default: { r = 0.0; }
    }
    out[i] = r;
}
"#
);

/// The gradient of [`UNARY_EXT`] from the input `x`, the output `y` and the output gradient
/// `g`: p = n, op, a, b.
pub(crate) const UNARY_EXT_BACKWARD: &str = with_math!(
    r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> y: array<T>;
@group(0) @binding(3) var<storage, read> g: array<T>;
@group(0) @binding(4) var<storage, read_write> out: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let v = x[i];
    let w = y[i];
    let a = sc(2);
    let b = sc(3);
    var d: T = 0.0;
    switch p[1] {
        case 0u: { d = select(select(T(0.0), T(-1.0), v < 0.0), T(1.0), v > 0.0); }
        case 1u: { d = 0.5 / w; }
        case 2u: { d = cos_t(v); }
        case 3u: { d = -sin_t(v); }
        case 4u: { d = select(a, T(1.0), v > 0.0); }
        case 5u: {
            let cdf = 0.5 * erfc_(-v * 0.70710678118654752);
            let pdf = exp_t(-0.5 * v * v) * 0.39894228040143268;
            d = cdf + v * pdf;
        }
        case 6u: {
            let c: T = 0.79788456080286536;
            let t = tanh_(c * (v + 0.044715 * v * v * v));
            let dinner = c * (1.0 + 3.0 * 0.044715 * v * v);
            d = 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * dinner;
        }
        case 7u: {
            let s = sigmoid_(v);
            d = s * (1.0 + v * (1.0 - s));
        }
        case 8u: {
            let bx = a * v;
            d = select(sigmoid_(bx), T(1.0), bx > b);
        }
        case 9u: { d = select(T(0.0), T(1.0), v >= a && v <= b); }
        case 10u: { d = select(a * pow_(v, a - 1.0), T(0.0), a == 0.0); }
        case 11u: {
            let c = sc(4);
            d = select(b, c * a * exp_t(v * c), v <= 0.0);
        }
        case 12u: { d = select(T(1.0), T(0.0), v <= a || v >= b); }
        case 13u: { d = select(T(0.0), T(1.0 / 6.0), v > -3.0 && v < 3.0); }
        case 14u: {
            d = select(T(1.0), v / 3.0 + 0.5, v <= 3.0);
            if (v < -3.0) { d = 0.0; }
        }
        case 15u: {
            let t = tanh_(softplus_(v));
            d = t + v * sigmoid_(v) * (1.0 - t * t);
        }
        case 16u: {
            let q = 1.0 + abs(v);
            d = 1.0 / (q * q);
        }
        case 17u: { d = sigmoid_(-v); }
        case 18u: {
            let t = tanh_(v);
            d = t * t;
        }
        case 19u, 20u: { d = select(T(1.0), T(0.0), v >= -a && v <= a); }
        case 21u: { d = select(T(1.0), T(0.0), v <= a); }
        default: { d = 0.0; }
    }
    out[i] = g[i] * d;
}
"#
);

/// Elementwise loss terms of a prediction `a` and a target `b` of one shape (op 0: BCE on
/// probabilities with logarithms clamped at -100; op 1: BCE on logits): p = n, op.
pub(crate) const PAIR: &str = with_math!(
    r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> a: array<T>;
@group(0) @binding(2) var<storage, read> b: array<T>;
@group(0) @binding(3) var<storage, read_write> out: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let x = a[i];
    let t = b[i];
    var r: T = 0.0;
    switch p[1] {
        case 0u: {
            let lp = max(log_t(x), -100.0);
            let lq = max(log1p_(-x), -100.0);
            r = -(t * lp + (1.0 - t) * lq);
        }
        case 1u: { r = (1.0 - t) * x - log_sigmoid_(x); }
        default: { r = 0.0; }
    }
    out[i] = r;
}
"#
);

/// The gradient of [`PAIR`] with respect to the prediction (`which` 0) or the target (1),
/// times the output gradient `g`: p = n, op, which.
pub(crate) const PAIR_BACKWARD: &str = with_math!(
    r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> a: array<T>;
@group(0) @binding(2) var<storage, read> b: array<T>;
@group(0) @binding(3) var<storage, read> g: array<T>;
@group(0) @binding(4) var<storage, read_write> out: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let x = a[i];
    let t = b[i];
    let to_target = p[2] == 1u;
    var d: T = 0.0;
    switch p[1] {
        case 0u: {
            if (to_target) {
                d = max(log1p_(-x), -100.0) - max(log_t(x), -100.0);
            } else {
                d = (x - t) / max(x * (1.0 - x), 1e-12);
            }
        }
        case 1u: {
            if (to_target) { d = -x; } else { d = 1.0 / (1.0 + exp_t(-x)) - t; }
        }
        default: { d = 0.0; }
    }
    out[i] = g[i] * d;
}
"#
);

/// Average pooling, windowed or adaptive: `span` gives the window of output `o` along one
/// axis (clipped start, clipped end, divisor extent). Mode 0: a `K`-window with stride and
/// padding (`count_include_pad=True`: the extent counts padding); mode 1: PyTorch's adaptive
/// window `floor(o L / O) .. ceil((o+1) L / O)`; mode 2: mode 0 along W only, each row its own
/// window (1-D pooling of `(planes, 1, L)`, whose divisor must not count padded rows).
/// p = n outputs, mode, H, W, K, S, P, OH, OW.
pub(crate) const AVG_POOL: &str = concat!(
    r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> y: array<T>;
"#,
    r#"
fn span(o: u32, len: u32, out_n: u32, mode: u32, k: u32, s: u32, pad: u32) -> vec3<i32> {
    if (mode == 1u) {
        let lo = (o * len) / out_n;
        let hi = ((o + 1u) * len + out_n - 1u) / out_n;
        return vec3<i32>(i32(lo), i32(hi), i32(hi - lo));
    }
    let st = i32(o * s) - i32(pad);
    let en = min(st + i32(k), i32(len + pad));
    return vec3<i32>(max(st, 0), min(en, i32(len)), max(en - st, 0));
}
"#,
    r#"
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let mode = p[1]; let h_in = p[2]; let w_in = p[3]; let k = p[4]; let s = p[5];
    let pad = p[6]; let oh_n = p[7]; let ow_n = p[8];
    let ow = i % ow_n;
    let oh = (i / ow_n) % oh_n;
    let plane = i / (ow_n * oh_n);
    let line = mode == 2u;
    let m = select(mode, 0u, line);
    let sy = span(oh, h_in, oh_n, m, select(k, 1u, line), select(s, 1u, line), select(pad, 0u, line));
    let sx = span(ow, w_in, ow_n, m, k, s, pad);
    var acc: T = 0.0;
    for (var h = sy.x; h < sy.y; h++) {
        for (var w = sx.x; w < sx.y; w++) {
            acc += x[(plane * h_in + u32(h)) * w_in + u32(w)];
        }
    }
    y[i] = acc / T(max(sy.z * sx.z, 1));
}
"#
);

/// The gradient of [`AVG_POOL`] as a gather over the windows holding each input element:
/// p = n inputs, mode, H, W, K, S, P, OH, OW.
pub(crate) const AVG_POOL_BACKWARD: &str = concat!(
    r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> g: array<T>;
@group(0) @binding(2) var<storage, read_write> dx: array<T>;
"#,
    r#"
fn span(o: u32, len: u32, out_n: u32, mode: u32, k: u32, s: u32, pad: u32) -> vec3<i32> {
    if (mode == 1u) {
        let lo = (o * len) / out_n;
        let hi = ((o + 1u) * len + out_n - 1u) / out_n;
        return vec3<i32>(i32(lo), i32(hi), i32(hi - lo));
    }
    let st = i32(o * s) - i32(pad);
    let en = min(st + i32(k), i32(len + pad));
    return vec3<i32>(max(st, 0), min(en, i32(len)), max(en - st, 0));
}
// The outputs along one axis whose window may hold input `i` (checked again with `span`).
fn outputs(i: u32, len: u32, out_n: u32, mode: u32, k: u32, s: u32, pad: u32) -> vec2<i32> {
    if (mode == 1u) {
        let lo = (i * out_n) / len;
        let hi = ((i + 1u) * out_n + len - 1u) / len;
        return vec2<i32>(i32(lo), min(i32(hi), i32(out_n) - 1));
    }
    let ip = i32(i + pad);
    let si = i32(s);
    return vec2<i32>(max(0, (ip - i32(k) + si) / si), min(ip / si, i32(out_n) - 1));
}
"#,
    r#"
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let mode = p[1]; let h_in = p[2]; let w_in = p[3]; let k = p[4]; let s = p[5];
    let pad = p[6]; let oh_n = p[7]; let ow_n = p[8];
    let w = i32(i % w_in);
    let h = i32((i / w_in) % h_in);
    let plane = i / (w_in * h_in);
    let line = mode == 2u;
    let m = select(mode, 0u, line);
    let kh = select(k, 1u, line); let sh = select(s, 1u, line); let ph = select(pad, 0u, line);
    let ry = outputs(u32(h), h_in, oh_n, m, kh, sh, ph);
    let rx = outputs(u32(w), w_in, ow_n, m, k, s, pad);
    var acc: T = 0.0;
    for (var oh = ry.x; oh <= ry.y; oh++) {
        let sy = span(u32(oh), h_in, oh_n, m, kh, sh, ph);
        if (h < sy.x || h >= sy.y) { continue; }
        for (var ow = rx.x; ow <= rx.y; ow++) {
            let sx = span(u32(ow), w_in, ow_n, m, k, s, pad);
            if (w < sx.x || w >= sx.y) { continue; }
            let o = (plane * oh_n + u32(oh)) * ow_n + u32(ow);
            acc += g[o] / T(max(sy.z * sx.z, 1));
        }
    }
    dx[i] = acc;
}
"#
);

/// Mean and biased variance of each of `G` groups of `M` elements, one workgroup per group,
/// in two passes (mean, then centred squares) as the CPU does. Element `j` of group `g` is at
/// `(j / inner) * G * inner + g * inner + j % inner` (LayerNorm rows: `inner = M`; BatchNorm
/// channels: `inner` = the spatial size). p = G, M, inner.
pub(crate) const GROUP_STATS: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> mean: array<T>;
@group(0) @binding(3) var<storage, read_write> var_: array<T>;
var<workgroup> sh: array<T, 256>;
fn reduce(lid: u32, v: T) -> T {
    sh[lid] = v;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s = s >> 1u) {
        if (lid < s) { sh[lid] += sh[lid + s]; }
        workgroupBarrier();
    }
    let total = sh[0];
    workgroupBarrier();
    return total;
}
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid3: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let lid = lid3.x;
    let grp = wid.x + wid.y * nwg.x;
    let groups = p[0];
    let m = p[1];
    let inner = p[2];
    let valid = grp < groups;
    var acc: T = 0.0;
    if (valid) {
        for (var j = lid; j < m; j += 256u) {
            acc += x[(j / inner) * groups * inner + grp * inner + j % inner];
        }
    }
    let mu = reduce(lid, acc) / T(m);
    acc = 0.0;
    if (valid) {
        for (var j = lid; j < m; j += 256u) {
            let d = x[(j / inner) * groups * inner + grp * inner + j % inner] - mu;
            acc += d * d;
        }
    }
    let v = reduce(lid, acc) / T(m);
    if (valid && lid == 0u) {
        mean[grp] = mu;
        var_[grp] = v;
    }
}
"#;

/// `y = (x - mean[s]) / sqrt(var[s] + eps) * w[q] + b[q]` with the statistics index
/// `s = (i / sdiv) % smod` and the parameter index `q = (i / pdiv) % pmod`:
/// p = n, sdiv, smod, pdiv, pmod, has w, has b, eps (a float, `sc`).
pub(crate) const NORM_APPLY: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> mean: array<T>;
@group(0) @binding(3) var<storage, read> var_: array<T>;
@group(0) @binding(4) var<storage, read> w: array<T>;
@group(0) @binding(5) var<storage, read> b: array<T>;
@group(0) @binding(6) var<storage, read_write> y: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let s = (i / p[1]) % p[2];
    let q = (i / p[3]) % p[4];
    let rstd = 1.0 / sqrt(var_[s] + sc(7));
    var r = (x[i] - mean[s]) * rstd;
    if (p[5] == 1u) { r = r * w[q]; }
    if (p[6] == 1u) { r = r + b[q]; }
    y[i] = r;
}
"#;

/// Per group (addressed as in [`GROUP_STATS`]), `sum a` and `sum a * xhat` with
/// `a = gy * w[q]` (or `gy` without `w`) and `xhat = (x - mean[s]) / sqrt(var[s] + eps)`
/// (indices as in [`NORM_APPLY`]); written as `out[g]` and `out[G + g]`.
/// p = G, M, inner, sdiv, smod, pdiv, pmod, has w, eps (a float, `sc`).
pub(crate) const GROUP_SUMS: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> gy: array<T>;
@group(0) @binding(2) var<storage, read> x: array<T>;
@group(0) @binding(3) var<storage, read> mean: array<T>;
@group(0) @binding(4) var<storage, read> var_: array<T>;
@group(0) @binding(5) var<storage, read> w: array<T>;
@group(0) @binding(6) var<storage, read_write> out: array<T>;
var<workgroup> sa: array<T, 256>;
var<workgroup> sb: array<T, 256>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid3: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let lid = lid3.x;
    let grp = wid.x + wid.y * nwg.x;
    let groups = p[0];
    let m = p[1];
    let inner = p[2];
    let eps = sc(8);
    var acc_a: T = 0.0;
    var acc_b: T = 0.0;
    if (grp < groups) {
        for (var j = lid; j < m; j += 256u) {
            let i = (j / inner) * groups * inner + grp * inner + j % inner;
            let s = (i / p[3]) % p[4];
            var a = gy[i];
            if (p[7] == 1u) { a = a * w[(i / p[5]) % p[6]]; }
            let xhat = (x[i] - mean[s]) / sqrt(var_[s] + eps);
            acc_a += a;
            acc_b += a * xhat;
        }
    }
    sa[lid] = acc_a;
    sb[lid] = acc_b;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s = s >> 1u) {
        if (lid < s) {
            sa[lid] += sa[lid + s];
            sb[lid] += sb[lid + s];
        }
        workgroupBarrier();
    }
    if (grp < groups && lid == 0u) {
        out[grp] = sa[0];
        out[groups + grp] = sb[0];
    }
}
"#;

/// The input gradient of a normalisation: `gx = rstd * wo * (a - c1 (S1[s] + xhat S2[s]))`
/// with `a = gy * wi`, where `wi = w[q]` when the weight acts inside the normalised group
/// (LayerNorm, GroupNorm), `wo = w[q]` when it is constant over it (BatchNorm), and
/// `S1, S2` the [`GROUP_SUMS`] of each statistics group (`c1 = 1/M`; 0 for constant
/// statistics). p = n, sdiv, smod, pdiv, pmod, w inside, w outside, c1, eps (a float, `sc`).
pub(crate) const NORM_BACKWARD_X: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> gy: array<T>;
@group(0) @binding(2) var<storage, read> x: array<T>;
@group(0) @binding(3) var<storage, read> mean: array<T>;
@group(0) @binding(4) var<storage, read> var_: array<T>;
@group(0) @binding(5) var<storage, read> w: array<T>;
@group(0) @binding(6) var<storage, read> sums: array<T>;
@group(0) @binding(7) var<storage, read_write> gx: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let s = (i / p[1]) % p[2];
    let q = (i / p[3]) % p[4];
    let c1 = sc(7);
    let rstd = 1.0 / sqrt(var_[s] + sc(8));
    var a = gy[i];
    if (p[5] == 1u) { a = a * w[q]; }
    var wo: T = 1.0;
    if (p[6] == 1u) { wo = w[q]; }
    var r = a;
    if (c1 != 0.0) {
        let xhat = (x[i] - mean[s]) * rstd;
        r = a - c1 * (sums[s] + xhat * sums[p[2] + s]);
    }
    gx[i] = rstd * wo * r;
}
"#;

/// BatchNorm's running statistics: `(1 - m) running + m batch`, the variance made unbiased:
/// p = C, momentum, unbias (a float, `sc`).
pub(crate) const BN_RUNNING: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> rm: array<T>;
@group(0) @binding(2) var<storage, read> rv: array<T>;
@group(0) @binding(3) var<storage, read> mean: array<T>;
@group(0) @binding(4) var<storage, read> var_: array<T>;
@group(0) @binding(5) var<storage, read_write> new_rm: array<T>;
@group(0) @binding(6) var<storage, read_write> new_rv: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let m = sc(1);
    let unbias = sc(2);
    new_rm[i] = (1.0 - m) * rm[i] + m * mean[i];
    new_rv[i] = (1.0 - m) * rv[i] + m * var_[i] * unbias;
}
"#;

/// PyTorch's RMSprop step in place: p = n, lr, alpha, eps, weight decay, momentum (floats,
/// `sc`), centered, sign (a float, `sc`: -1 maximizes).
pub(crate) const RMSPROP: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read_write> w: array<T>;
@group(0) @binding(2) var<storage, read> g: array<T>;
@group(0) @binding(3) var<storage, read_write> sq: array<T>;
@group(0) @binding(4) var<storage, read_write> ga: array<T>;
@group(0) @binding(5) var<storage, read_write> buf: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let lr = sc(1);
    let alpha = sc(2);
    let eps = sc(3);
    let wd = sc(4);
    let mom = sc(5);
    let sign = sc(7);
    var gi = sign * g[i];
    if (wd != 0.0) { gi += wd * w[i]; }
    let s = alpha * sq[i] + (1.0 - alpha) * gi * gi;
    sq[i] = s;
    var avg: T = 0.0;
    if (p[6] == 1u) {
        let a = alpha * ga[i] + (1.0 - alpha) * gi;
        ga[i] = a;
        avg = sqrt(s - a * a) + eps;
    } else {
        avg = sqrt(s) + eps;
    }
    if (mom > 0.0) {
        let b = mom * buf[i] + gi / avg;
        buf[i] = b;
        w[i] = w[i] - lr * b;
    } else {
        w[i] = w[i] - lr * gi / avg;
    }
}
"#;

/// PyTorch's Adagrad step in place: p = n, decayed lr, eps, weight decay, sign (floats, `sc`).
pub(crate) const ADAGRAD: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read_write> w: array<T>;
@group(0) @binding(2) var<storage, read> g: array<T>;
@group(0) @binding(3) var<storage, read_write> sum: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let clr = sc(1);
    let eps = sc(2);
    let wd = sc(3);
    let sign = sc(4);
    let gi = sign * g[i] + wd * w[i];
    let s = sum[i] + gi * gi;
    sum[i] = s;
    w[i] = w[i] - clr * gi / (sqrt(s) + eps);
}
"#;

/// Adam/AdamW with amsgrad and/or maximize in place: p = n, lr, beta1, beta2, eps, weight
/// decay, bias correction 1, sqrt of bias correction 2 (floats, `sc`), decoupled, amsgrad,
/// sign (a float, `sc`).
pub(crate) const ADAM_EXT: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read_write> w: array<T>;
@group(0) @binding(2) var<storage, read> g: array<T>;
@group(0) @binding(3) var<storage, read_write> m: array<T>;
@group(0) @binding(4) var<storage, read_write> v: array<T>;
@group(0) @binding(5) var<storage, read_write> vmax: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let lr = sc(1);
    let b1 = sc(2);
    let b2 = sc(3);
    let eps = sc(4);
    let wd = sc(5);
    let bc1 = sc(6);
    let bc2_sqrt = sc(7);
    let sign = sc(10);
    var x = w[i];
    var d = sign * g[i];
    if (p[8] == 1u) { x = x * (1.0 - lr * wd); } else { d = d + wd * x; }
    let mi = b1 * m[i] + (1.0 - b1) * d;
    let vi = b2 * v[i] + (1.0 - b2) * d * d;
    m[i] = mi;
    v[i] = vi;
    var denom = vi;
    if (p[9] == 1u) {
        denom = max(vmax[i], vi);
        vmax[i] = denom;
    }
    w[i] = x - (lr / bc1) * mi / (sqrt(denom) / bc2_sqrt + eps);
}
"#;
