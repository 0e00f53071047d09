//! WGSL sources of the GRU and Elman RNN steps and their backward steps. Conventions as in
//! `shaders.rs`: binding 0 is the `u32` parameter array, one-dimensional kernels rebuild
//! their index from a folded grid. `mode` is 0 (RNN tanh), 1 (RNN relu) or 2 (GRU).

/// One step `t`: `gx` `(steps, B, G*H)` holds `x W_ih^T` of every step, `gh` `(B, G*H)` this
/// step's `h W_hh^T`; `hs` `(steps + 1, B, H)` has the initial state in slot 0 (step `t`
/// reads slot `t`, writes slot `t + 1`). The GRU (PyTorch's gates r, z, n) computes
/// `n = tanh(gx_n + b_in + r * (gh_n + b_hn))`, `h' = (1 - z) n + z h` and keeps
/// `r, z, n, gh_n + b_hn` in `acts` `(steps, B, 4H)`.
/// p = B * H, H, t, mode, has b_ih, has b_hh.
pub(crate) const RNN_STEP: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> gx: array<T>;
@group(0) @binding(2) var<storage, read> gh: array<T>;
@group(0) @binding(3) var<storage, read> bih: array<T>;
@group(0) @binding(4) var<storage, read> bhh: array<T>;
@group(0) @binding(5) var<storage, read_write> hs: array<T>;
@group(0) @binding(6) var<storage, read_write> acts: array<T>;
fn sigm(v: T) -> T { return 1.0 / (1.0 + exp_t(-v)); }
fn bi(k: u32) -> T { if (p[4] == 1u) { return bih[k]; } return 0.0; }
fn bh(k: u32) -> T { if (p[5] == 1u) { return bhh[k]; } return 0.0; }
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    let units = p[0];
    if (i >= units) { return; }
    let hsz = p[1];
    let t = p[2];
    let mode = p[3];
    let b = i / hsz;
    let j = i % hsz;
    if (mode < 2u) {
        let pre = gx[t * units + i] + gh[i] + bi(j) + bh(j);
        var h = max(pre, 0.0);
        if (mode == 0u) { h = tanh_sat_t(pre); }
        hs[(t + 1u) * units + i] = h;
        return;
    }
    let row = b * 3u * hsz;
    let xo = t * units * 3u + row;
    let r = sigm(gx[xo + j] + bi(j) + gh[row + j] + bh(j));
    let z = sigm(gx[xo + hsz + j] + bi(hsz + j) + gh[row + hsz + j] + bh(hsz + j));
    let ghn = gh[row + 2u * hsz + j] + bh(2u * hsz + j);
    let n = tanh_sat_t(gx[xo + 2u * hsz + j] + bi(2u * hsz + j) + r * ghn);
    let h_prev = hs[t * units + i];
    hs[(t + 1u) * units + i] = (1.0 - z) * n + z * h_prev;
    let o4 = t * units * 4u + b * 4u * hsz;
    acts[o4 + j] = r;
    acts[o4 + hsz + j] = z;
    acts[o4 + 2u * hsz + j] = n;
    acts[o4 + 3u * hsz + j] = ghn;
}
"#;

/// The backward step of [`RNN_STEP`] at step `t`, from `dh` (the gradient of `h_{t+1}` through
/// later steps) plus `dy[t]` when p[4] is 1: the pre-activation gradients of the input
/// projection `dgx` and of the recurrent projection `dgh` (both `(steps, B, G*H)`; they differ
/// only in the GRU's n gate, `dgh_n = dgx_n * r`) and `dh_direct`, the part of `dh_t` that
/// does not go through `W_hh` (`z * dh` for the GRU, 0 for the RNN).
/// p = B * H, H, t, mode, has dy.
pub(crate) const RNN_STEP_BACKWARD: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> acts: array<T>;
@group(0) @binding(2) var<storage, read> hs: array<T>;
@group(0) @binding(3) var<storage, read> dy: array<T>;
@group(0) @binding(4) var<storage, read> dh: array<T>;
@group(0) @binding(5) var<storage, read_write> dgx: array<T>;
@group(0) @binding(6) var<storage, read_write> dgh: array<T>;
@group(0) @binding(7) var<storage, read_write> dh_direct: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    let units = p[0];
    if (i >= units) { return; }
    let hsz = p[1];
    let t = p[2];
    let mode = p[3];
    let b = i / hsz;
    let j = i % hsz;
    var dh_t = dh[i];
    if (p[4] == 1u) { dh_t += dy[t * units + i]; }
    if (mode < 2u) {
        let h = hs[(t + 1u) * units + i];
        var d = select(0.0, dh_t, h > 0.0);
        if (mode == 0u) { d = dh_t * (1.0 - h * h); }
        dgx[t * units + i] = d;
        dgh[t * units + i] = d;
        dh_direct[i] = 0.0;
        return;
    }
    let o4 = t * units * 4u + b * 4u * hsz;
    let r = acts[o4 + j];
    let z = acts[o4 + hsz + j];
    let n = acts[o4 + 2u * hsz + j];
    let ghn = acts[o4 + 3u * hsz + j];
    let h_prev = hs[t * units + i];
    let dpn = dh_t * (1.0 - z) * (1.0 - n * n);
    let dpz = dh_t * (h_prev - n) * z * (1.0 - z);
    let dpr = dpn * ghn * r * (1.0 - r);
    let o3 = t * units * 3u + b * 3u * hsz;
    dgx[o3 + j] = dpr;
    dgx[o3 + hsz + j] = dpz;
    dgx[o3 + 2u * hsz + j] = dpn;
    dgh[o3 + j] = dpr;
    dgh[o3 + hsz + j] = dpz;
    dgh[o3 + 2u * hsz + j] = dpn * r;
    dh_direct[i] = dh_t * z;
}
"#;
