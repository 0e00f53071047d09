//! WGSL sources of the 3-D (volume) kernels: vol2col / col2vol for `Conv3d`, and max and
//! average pooling over cubic windows for `MaxPool3d` / `AvgPool3d`. Binding 0 of each is
//! its `u32` parameter array; the grid is folded into two axes (`pipelines::grid_1d`).

/// The window of output `o` along one axis: `[x, y)` clipped to the input, and `z` the
/// divisor's share (the window clipped to the padded input, `count_include_pad=True`).
macro_rules! span3d {
    () => {
        r#"
fn span(o: u32, len: u32, k: u32, s: u32, pad: u32) -> vec3<i32> {
    let st = i32(o * s) - i32(pad);
    let en = min(st + i32(k), i32(len + pad));
    return vec3<i32>(max(st, 0), min(en, i32(len)), max(en - st, 0));
}
"#
    };
}

/// vol2col: `cols[(n, od, oh, ow), (c, kd, kh, kw)]` from `x (N, C, D, H, W)`, zero outside
/// the volume. p = n cols, C, D, H, W, K, S, P, DIL, OD, OH, OW.
pub(crate) const VOL2COL: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> cols: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let c_in = p[1]; let d_in = p[2]; let h_in = p[3]; let w_in = p[4]; let k = p[5];
    let s = p[6]; let pad = p[7]; let dil = p[8]; let od_n = p[9]; let oh_n = p[10];
    let ow_n = p[11];
    let kkk = k * k * k;
    let ckkk = c_in * kkk;
    let row = i / ckkk;
    let col = i % ckkk;
    let ow = row % ow_n;
    let oh = (row / ow_n) % oh_n;
    let od = (row / (ow_n * oh_n)) % od_n;
    let n = row / (ow_n * oh_n * od_n);
    let c = col / kkk;
    let kd = (col / (k * k)) % k;
    let kh = (col / k) % k;
    let kw = col % k;
    let z = i32(od * s + kd * dil) - i32(pad);
    let y = i32(oh * s + kh * dil) - i32(pad);
    let xw = i32(ow * s + kw * dil) - i32(pad);
    var v: T = 0.0;
    if (z >= 0 && z < i32(d_in) && y >= 0 && y < i32(h_in) && xw >= 0 && xw < i32(w_in)) {
        v = x[(((n * c_in + c) * d_in + u32(z)) * h_in + u32(y)) * w_in + u32(xw)];
    }
    cols[i] = v;
}
"#;

/// col2vol as a gather (no float atomics in WGSL): each input element sums the column
/// entries it was copied to. p = n inputs, then as [`VOL2COL`].
pub(crate) const COL2VOL: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> dcols: array<T>;
@group(0) @binding(2) var<storage, read_write> dx: array<T>;
// The output position along one axis whose tap `t` reads input `a`, or -1.
fn tap_out(a: u32, t: u32, s: u32, pad: u32, dil: u32, out_n: u32) -> i32 {
    let o_s = i32(a + pad) - i32(t * dil);
    if (o_s < 0 || o_s % i32(s) != 0) { return -1; }
    let o = u32(o_s) / s;
    if (o >= out_n) { return -1; }
    return i32(o);
}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let c_in = p[1]; let d_in = p[2]; let h_in = p[3]; let w_in = p[4]; let k = p[5];
    let s = p[6]; let pad = p[7]; let dil = p[8]; let od_n = p[9]; let oh_n = p[10];
    let ow_n = p[11];
    let kkk = k * k * k;
    let ckkk = c_in * kkk;
    let xw = i % w_in;
    let y = (i / w_in) % h_in;
    let z = (i / (w_in * h_in)) % d_in;
    let c = (i / (w_in * h_in * d_in)) % c_in;
    let n = i / (w_in * h_in * d_in * c_in);
    var acc: T = 0.0;
    for (var kd = 0u; kd < k; kd++) {
        let od = tap_out(z, kd, s, pad, dil, od_n);
        if (od < 0) { continue; }
        for (var kh = 0u; kh < k; kh++) {
            let oh = tap_out(y, kh, s, pad, dil, oh_n);
            if (oh < 0) { continue; }
            for (var kw = 0u; kw < k; kw++) {
                let ow = tap_out(xw, kw, s, pad, dil, ow_n);
                if (ow < 0) { continue; }
                let row = ((n * od_n + u32(od)) * oh_n + u32(oh)) * ow_n + u32(ow);
                acc += dcols[row * ckkk + c * kkk + (kd * k + kh) * k + kw];
            }
        }
    }
    dx[i] = acc;
}
"#;

/// 3-D max pooling over `K x K x K` windows (stride, padding counting as -inf) of each
/// `D x H x W` plane, keeping the index (flat over all planes) of each window's first maximum
/// in (depth, row, column) order, or its last NaN, as PyTorch's CPU kernel and the CPU path.
/// p = n outputs, D, H, W, K, S, P, OD, OH, OW.
pub(crate) const MAX_POOL3D: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> y: array<T>;
@group(0) @binding(3) var<storage, read_write> idx: array<u32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let d_in = p[1]; let h_in = p[2]; let w_in = p[3]; let k = i32(p[4]); let s = p[5];
    let pad = i32(p[6]); let od_n = p[7]; let oh_n = p[8]; let ow_n = p[9];
    let ow = i % ow_n;
    let oh = (i / ow_n) % oh_n;
    let od = (i / (ow_n * oh_n)) % od_n;
    let plane = i / (ow_n * oh_n * od_n);
    let z0 = i32(od * s) - pad; let y0 = i32(oh * s) - pad; let x0 = i32(ow * s) - pad;
    var best = -inf_t();
    var at = 0xffffffffu;
    for (var z = max(z0, 0); z < min(z0 + k, i32(d_in)); z++) {
        for (var yy = max(y0, 0); yy < min(y0 + k, i32(h_in)); yy++) {
            for (var xx = max(x0, 0); xx < min(x0 + k, i32(w_in)); xx++) {
                let j = ((plane * d_in + u32(z)) * h_in + u32(yy)) * w_in + u32(xx);
                let v = x[j];
                // `is_nan_t`, not `v != v`, which lavapipe's compiler folds to false.
                if (at == 0xffffffffu || v > best || is_nan_t(v)) {
                    best = v;
                    at = j;
                }
            }
        }
    }
    y[i] = best;
    idx[i] = at;
}
"#;

/// The gradient of [`MAX_POOL3D`] as a gather over the windows holding each input element.
/// p = n inputs, then as [`MAX_POOL3D`].
pub(crate) const MAX_POOL3D_BACKWARD: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> idx: array<u32>;
@group(0) @binding(2) var<storage, read> g: array<T>;
@group(0) @binding(3) var<storage, read_write> dx: array<T>;
// The outputs [lo, hi] along one axis whose window holds input `a`.
fn outputs(a: u32, k: u32, s: u32, pad: u32, out_n: u32) -> vec2<i32> {
    let ap = i32(a + pad);
    let si = i32(s);
    return vec2<i32>(max(0, (ap - i32(k) + si) / si), min(ap / si, i32(out_n) - 1));
}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let d_in = p[1]; let h_in = p[2]; let w_in = p[3]; let k = p[4]; let s = p[5];
    let pad = p[6]; let od_n = p[7]; let oh_n = p[8]; let ow_n = p[9];
    let xw = i % w_in;
    let y = (i / w_in) % h_in;
    let z = (i / (w_in * h_in)) % d_in;
    let plane = i / (w_in * h_in * d_in);
    let rd = outputs(z, k, s, pad, od_n);
    let rh = outputs(y, k, s, pad, oh_n);
    let rw = outputs(xw, k, s, pad, ow_n);
    var acc: T = 0.0;
    for (var od = rd.x; od <= rd.y; od++) {
        for (var oh = rh.x; oh <= rh.y; oh++) {
            for (var ow = rw.x; ow <= rw.y; ow++) {
                let o = ((plane * od_n + u32(od)) * oh_n + u32(oh)) * ow_n + u32(ow);
                if (idx[o] == i) { acc += g[o]; }
            }
        }
    }
    dx[i] = acc;
}
"#;

/// 3-D average pooling over `K x K x K` windows with `count_include_pad=True` (the divisor
/// counts the padding inside the window, not the part past it), as the CPU path.
/// p = n outputs, D, H, W, K, S, P, OD, OH, OW.
pub(crate) const AVG_POOL3D: &str = concat!(
    r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> y: array<T>;
"#,
    span3d!(),
    r#"
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let d_in = p[1]; let h_in = p[2]; let w_in = p[3]; let k = p[4]; let s = p[5];
    let pad = p[6]; let od_n = p[7]; let oh_n = p[8]; let ow_n = p[9];
    let ow = i % ow_n;
    let oh = (i / ow_n) % oh_n;
    let od = (i / (ow_n * oh_n)) % od_n;
    let plane = i / (ow_n * oh_n * od_n);
    let sd = span(od, d_in, k, s, pad);
    let sh = span(oh, h_in, k, s, pad);
    let sw = span(ow, w_in, k, s, pad);
    var acc: T = 0.0;
    for (var z = sd.x; z < sd.y; z++) {
        for (var yy = sh.x; yy < sh.y; yy++) {
            for (var xx = sw.x; xx < sw.y; xx++) {
                acc += x[((plane * d_in + u32(z)) * h_in + u32(yy)) * w_in + u32(xx)];
            }
        }
    }
    y[i] = acc / T(max(sd.z * sh.z * sw.z, 1));
}
"#
);

/// The gradient of [`AVG_POOL3D`] as a gather over the windows holding each input element.
/// p = n inputs, then as [`AVG_POOL3D`].
pub(crate) const AVG_POOL3D_BACKWARD: &str = concat!(
    r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> g: array<T>;
@group(0) @binding(2) var<storage, read_write> dx: array<T>;
"#,
    span3d!(),
    r#"
// The outputs [lo, hi] along one axis whose window holds input `a`.
fn outputs(a: u32, k: u32, s: u32, pad: u32, out_n: u32) -> vec2<i32> {
    let ap = i32(a + pad);
    let si = i32(s);
    return vec2<i32>(max(0, (ap - i32(k) + si) / si), min(ap / si, i32(out_n) - 1));
}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let d_in = p[1]; let h_in = p[2]; let w_in = p[3]; let k = p[4]; let s = p[5];
    let pad = p[6]; let od_n = p[7]; let oh_n = p[8]; let ow_n = p[9];
    let xw = i % w_in;
    let y = (i / w_in) % h_in;
    let z = (i / (w_in * h_in)) % d_in;
    let rd = outputs(z, k, s, pad, od_n);
    let rh = outputs(y, k, s, pad, oh_n);
    let rw = outputs(xw, k, s, pad, ow_n);
    let plane = i / (w_in * h_in * d_in);
    var acc: T = 0.0;
    for (var od = rd.x; od <= rd.y; od++) {
        let cd = span(u32(od), d_in, k, s, pad).z;
        for (var oh = rh.x; oh <= rh.y; oh++) {
            let ch = span(u32(oh), h_in, k, s, pad).z;
            for (var ow = rw.x; ow <= rw.y; ow++) {
                let cw = span(u32(ow), w_in, k, s, pad).z;
                let o = ((plane * od_n + u32(od)) * oh_n + u32(oh)) * ow_n + u32(ow);
                acc += g[o] / T(max(cd * ch * cw, 1));
            }
        }
    }
    dx[i] = acc;
}
"#
);
