//! WGSL sources of the sequence kernels: the LSTM's fused gates and their backward, softmax, the
//! per-axis arg-max, and concatenation. Conventions as in `shaders.rs`: binding 0 is the
//! `u32` parameter array, one-dimensional kernels rebuild their index from a folded grid.

/// One LSTM step `t` (PyTorch's gate order i, f, g, o): pre-activations `gx[t] + gh + bias`,
/// `c' = f * c + i * g`, `h' = o * tanh(c')`. `hs` and `cs` are `(steps + 1, B, H)` with the
/// initial state in slot 0 (step `t` reads slot `t`, writes slot `t + 1`); `acts`
/// `(steps, B, 4H)` keeps the activated gates for the backward step.
/// p = B * H, H, t, has bias.
pub(crate) const LSTM_GATES: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> gx: array<T>;
@group(0) @binding(2) var<storage, read> gh: array<T>;
@group(0) @binding(3) var<storage, read> bias: array<T>;
@group(0) @binding(4) var<storage, read_write> hs: array<T>;
@group(0) @binding(5) var<storage, read_write> cs: array<T>;
@group(0) @binding(6) var<storage, read_write> acts: array<T>;
fn sigmoid(v: T) -> T { return 1.0 / (1.0 + exp_t(-v)); }
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    let units = p[0];
    if (i >= units) { return; }
    let hsz = p[1];
    let t = p[2];
    let b = i / hsz;
    let j = i % hsz;
    let g4 = 4u * hsz;
    let xo = t * units * 4u + b * g4;
    let ho = b * g4;
    var pre = array<T, 4>(0.0, 0.0, 0.0, 0.0);
    for (var k = 0u; k < 4u; k++) {
        var v = gx[xo + k * hsz + j] + gh[ho + k * hsz + j];
        if (p[3] == 1u) { v += bias[k * hsz + j]; }
        pre[k] = v;
    }
    let ig = sigmoid(pre[0]);
    let fg = sigmoid(pre[1]);
    let gg = tanh_sat_t(pre[2]);
    let og = sigmoid(pre[3]);
    let c = fg * cs[t * units + i] + ig * gg;
    cs[(t + 1u) * units + i] = c;
    hs[(t + 1u) * units + i] = og * tanh_sat_t(c);
    acts[xo + j] = ig;
    acts[xo + hsz + j] = fg;
    acts[xo + 2u * hsz + j] = gg;
    acts[xo + 3u * hsz + j] = og;
}
"#;

/// The backward step of [`LSTM_GATES`] at step `t`: from the activations, the cell states
/// and the gradients reaching `h_t` (`dy[t]`, when there is one, plus the recurrent `dh`)
/// and `c_t` (`dc`), the pre-activation gradients into `dg[t]` `(steps, B, 4H)` and the
/// gradient of `c_{t-1}` into `dc_prev`. p = B * H, H, t, has dy.
pub(crate) const LSTM_GATES_BACKWARD: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> acts: array<T>;
@group(0) @binding(2) var<storage, read> cs: array<T>;
@group(0) @binding(3) var<storage, read> dy: array<T>;
@group(0) @binding(4) var<storage, read> dh: array<T>;
@group(0) @binding(5) var<storage, read> dc: array<T>;
@group(0) @binding(6) var<storage, read_write> dg: array<T>;
@group(0) @binding(7) var<storage, read_write> dc_prev: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    let units = p[0];
    if (i >= units) { return; }
    let hsz = p[1];
    let t = p[2];
    let b = i / hsz;
    let j = i % hsz;
    let o4 = t * units * 4u + b * 4u * hsz;
    let ig = acts[o4 + j];
    let fg = acts[o4 + hsz + j];
    let gg = acts[o4 + 2u * hsz + j];
    let og = acts[o4 + 3u * hsz + j];
    let c_prev = cs[t * units + i];
    let tc = tanh_sat_t(cs[(t + 1u) * units + i]);
    var dh_t = dh[i];
    if (p[3] == 1u) { dh_t += dy[t * units + i]; }
    let dct = dc[i] + dh_t * og * (1.0 - tc * tc);
    dg[o4 + j] = dct * gg * ig * (1.0 - ig);
    dg[o4 + hsz + j] = dct * c_prev * fg * (1.0 - fg);
    dg[o4 + 2u * hsz + j] = dct * ig * (1.0 - gg * gg);
    dg[o4 + 3u * hsz + j] = dh_t * tc * og * (1.0 - og);
    dc_prev[i] = dct * fg;
}
"#;

/// The maximum (op 0) or minimum (op 1) along the middle axis of `(outer, n, inner)` and the
/// index of the first one, a NaN winning as on the CPU; one thread per output:
/// p = outer * inner, n, inner, op.
pub(crate) const ARG_EXTREME: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> y: array<T>;
@group(0) @binding(3) var<storage, read_write> idx: array<u32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let o = gid.x + gid.y * nwg.x * 256u;
    if (o >= p[0]) { return; }
    let n = p[1];
    let inner = p[2];
    let base = (o / inner) * n * inner + (o % inner);
    var best = x[base];
    var at = 0u;
    for (var k = 1u; k < n; k++) {
        let v = x[base + k * inner];
        var better = v > best;
        if (p[3] == 1u) { better = v < best; }
        if (!is_nan_t(best) && (is_nan_t(v) || better)) {
            best = v;
            at = k;
        }
    }
    y[o] = best;
    idx[o] = at;
}
"#;

/// The input gradient of [`ARG_EXTREME`]: the output gradient at each row's chosen index,
/// zero elsewhere; one thread per input element: p = outer * n * inner, n, inner.
pub(crate) const ARG_EXTREME_BACKWARD: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> idx: array<u32>;
@group(0) @binding(2) var<storage, read> g: array<T>;
@group(0) @binding(3) var<storage, read_write> dx: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let n = p[1];
    let inner = p[2];
    let o = (i / (n * inner)) * inner + (i % inner);
    let k = (i / inner) % n;
    dx[i] = select(0.0, g[o], idx[o] == k);
}
"#;

/// Two tensors joined along the middle axis of `(outer, na | nb, inner)`:
/// p = n out, na * inner, nb * inner.
pub(crate) const CONCAT: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> a: array<T>;
@group(0) @binding(2) var<storage, read> b: array<T>;
@group(0) @binding(3) var<storage, read_write> out: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let la = p[1];
    let lb = p[2];
    let o = i / (la + lb);
    let r = i % (la + lb);
    if (r < la) { out[i] = a[o * la + r]; } else { out[i] = b[o * lb + r - la]; }
}
"#;

/// The slice `[off, off + len)` of the middle axis of `(outer, total, inner)` (the backward
/// step of [`CONCAT`]): p = n out, len * inner, total * inner, off * inner.
pub(crate) const NARROW: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> out: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let len = p[1];
    out[i] = x[(i / len) * p[2] + p[3] + i % len];
}
"#;
