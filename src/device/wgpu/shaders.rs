//! WGSL sources of the GPU kernels. Binding 0 of each is its `u32` parameter array; one-
//! dimensional kernels rebuild their index from a grid folded into two axes
//! (`pipelines::grid_1d`).

/// `out[i] = a[ia] op b[ib]` over a broadcast: p = n, op, rank, dims[6], a strides[6],
/// b strides[6] (stride 0 on a broadcast dimension).
pub(crate) const BINARY: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> a: array<T>;
@group(0) @binding(2) var<storage, read> b: array<T>;
@group(0) @binding(3) var<storage, read_write> out: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let rank = p[2];
    var rem = i;
    var ia = 0u;
    var ib = 0u;
    for (var d = 0u; d < rank; d++) {
        let k = rank - 1u - d;
        let idx = rem % p[3u + k];
        rem = rem / p[3u + k];
        ia += idx * p[9u + k];
        ib += idx * p[15u + k];
    }
    let x = a[ia];
    let y = b[ib];
    var r: T = 0.0;
    switch p[1] {
        case 0u: { r = x + y; }
        case 1u: { r = x - y; }
        case 2u: { r = x * y; }
        case 3u: { r = x / y; }
        default: { r = 0.0; }
    }
    out[i] = r;
}
"#;

/// `out[i] = f(x[i])`: p = n, op, alpha (a float, `sc`).
pub(crate) const UNARY: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> out: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let v = x[i];
    let alpha = sc(2);
    var r: T = 0.0;
    switch p[1] {
        case 0u: { r = max(v, 0.0); }
        case 1u: { r = -v; }
        case 2u: { r = exp_t(v); }
        case 3u: { r = log_t(v); }
        case 4u: { r = tanh_t(v); }
        case 5u: { r = 1.0 / (1.0 + exp_t(-v)); }
        case 6u: { r = v * alpha; }
        case 7u: { r = v + alpha; }
        case 8u: { r = v * v; }
        default: { r = 0.0; }
    }
    out[i] = r;
}
"#;

/// The gradient of a unary op from its input `x`, output `y` and output gradient `g`:
/// p = n, op, alpha (a float, `sc`), with the op codes of [`UNARY`].
pub(crate) const UNARY_BACKWARD: &str = r#"
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
    let d = g[i];
    let alpha = sc(2);
    var r: T = 0.0;
    switch p[1] {
        case 0u: { r = select(0.0, d, v > 0.0); }
        case 1u: { r = -d; }
        case 2u: { r = d * w; }
        case 3u: { r = d / v; }
        case 4u: { r = d * (1.0 - w * w); }
        case 5u: { r = d * w * (1.0 - w); }
        case 6u: { r = d * alpha; }
        case 7u: { r = d; }
        case 8u: { r = 2.0 * v * d; }
        default: { r = 0.0; }
    }
    out[i] = r;
}
"#;

/// `out[i] = x[offset(i)]` for a strided view of `x` (expand, transpose): p = n, rank,
/// out dims[6], x strides[6].
pub(crate) const STRIDED_COPY: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> out: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let rank = p[1];
    var rem = i;
    var off = 0u;
    for (var d = 0u; d < rank; d++) {
        let k = rank - 1u - d;
        off += (rem % p[2u + k]) * p[8u + k];
        rem = rem / p[2u + k];
    }
    out[i] = x[off];
}
"#;

/// Sums `g` over the dimensions flagged in `red` (a broadcast's backward): one thread per
/// output element. p = n out, rank, full dims[6], red[6].
pub(crate) const SUM_TO: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> g: array<T>;
@group(0) @binding(2) var<storage, read_write> out: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * 256u;
    if (t >= p[0]) { return; }
    let rank = p[1];
    var rem = t;
    var base = 0u;
    var stride = 1u;
    var count = 1u;
    for (var d = 0u; d < rank; d++) {
        let k = rank - 1u - d;
        let size = p[2u + k];
        if (p[8u + k] == 1u) {
            count *= size;
        } else {
            base += (rem % size) * stride;
            rem = rem / size;
        }
        stride *= size;
    }
    var acc: T = 0.0;
    for (var j = 0u; j < count; j++) {
        var r = j;
        var off = base;
        var st = 1u;
        for (var d = 0u; d < rank; d++) {
            let k = rank - 1u - d;
            let size = p[2u + k];
            if (p[8u + k] == 1u) {
                off += (r % size) * st;
                r = r / size;
            }
            st *= size;
        }
        acc += g[off];
    }
    out[t] = acc;
}
"#;

/// Sum (op 0) or max (op 1) along one axis, one workgroup per output, times `scale`:
/// p = outer, n, inner, op, n out, scale (a float, `sc`).
pub(crate) const REDUCE_AXIS: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> out: array<T>;
var<workgroup> sh: array<T, 256>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid3: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let lid = lid3.x;
    let o = wid.x + wid.y * nwg.x;
    let n = p[1];
    let inner = p[2];
    let op = p[3];
    let valid = o < p[4];
    var acc: T = 0.0;
    if (op == 1u) { acc = -inf_t(); }
    if (valid) {
        let base = (o / inner) * n * inner + (o % inner);
        for (var j = lid; j < n; j += 256u) {
            let v = x[base + j * inner];
            if (op == 0u) { acc += v; } else { acc = max(acc, v); }
        }
    }
    sh[lid] = acc;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s = s >> 1u) {
        if (lid < s) {
            if (op == 0u) { sh[lid] += sh[lid + s]; } else { sh[lid] = max(sh[lid], sh[lid + s]); }
        }
        workgroupBarrier();
    }
    if (valid && lid == 0u) { out[o] = sh[0] * sc(5); }
}
"#;

/// `C[b] = A[b] B[b]` in 16x16 tiles, any strides (so transposes are free), the operands read
/// from element offsets (a time step of a `(steps, batch, features)` buffer; 0 for a whole
/// buffer): p = M, N, K, A batch/row/col strides, B batch/row/col strides, A offset, B offset.
/// Grid (N/16, M/16, batch).
pub(crate) const MATMUL: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> a: array<T>;
@group(0) @binding(2) var<storage, read> b: array<T>;
@group(0) @binding(3) var<storage, read_write> c: array<T>;
var<workgroup> ta: array<array<T, 16>, 16>;
var<workgroup> tb: array<array<T, 16>, 16>;
@compute @workgroup_size(16, 16)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let m = p[0];
    let n = p[1];
    let kk = p[2];
    let row = wid.y * 16u + lid.y;
    let col = wid.x * 16u + lid.x;
    let a0 = p[9] + wid.z * p[3];
    let b0 = p[10] + wid.z * p[6];
    var acc: T = 0.0;
    let tiles = (kk + 15u) / 16u;
    for (var t = 0u; t < tiles; t++) {
        let ka = t * 16u + lid.x;
        if (row < m && ka < kk) {
            ta[lid.y][lid.x] = a[a0 + row * p[4] + ka * p[5]];
        } else {
            ta[lid.y][lid.x] = 0.0;
        }
        let kb = t * 16u + lid.y;
        if (kb < kk && col < n) {
            tb[lid.y][lid.x] = b[b0 + kb * p[7] + col * p[8]];
        } else {
            tb[lid.y][lid.x] = 0.0;
        }
        workgroupBarrier();
        for (var k = 0u; k < 16u; k++) {
            acc += ta[lid.y][k] * tb[k][lid.x];
        }
        workgroupBarrier();
    }
    if (row < m && col < n) {
        c[wid.z * m * n + row * n + col] = acc;
    }
}
"#;

/// A softmax-family shader along the middle axis of `(outer, n, inner)`, one workgroup per row
/// (p = rows, n, inner): the row's maximum `mx` and `sum` of `exp_t(x - mx)` are reduced in
/// workgroup memory, then the `$finish` statement writes `y[k]` for each element `k`.
macro_rules! softmax_rows {
    ($finish:literal) => {
        concat!(
            r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> y: array<T>;
var<workgroup> sh: array<T, 256>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid3: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let lid = lid3.x;
    let r = wid.x + wid.y * nwg.x;
    let valid = r < p[0];
    let n = p[1];
    let inner = p[2];
    let base = (r / inner) * n * inner + (r % inner);
    var m = -inf_t();
    if (valid) {
        for (var j = lid; j < n; j += 256u) { m = max(m, x[base + j * inner]); }
    }
    sh[lid] = m;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s = s >> 1u) {
        if (lid < s) { sh[lid] = max(sh[lid], sh[lid + s]); }
        workgroupBarrier();
    }
    let mx = sh[0];
    workgroupBarrier();
    var acc: T = 0.0;
    if (valid) {
        for (var j = lid; j < n; j += 256u) { acc += exp_t(x[base + j * inner] - mx); }
    }
    sh[lid] = acc;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s = s >> 1u) {
        if (lid < s) { sh[lid] += sh[lid + s]; }
        workgroupBarrier();
    }
    let sum = sh[0];
    if (valid) {
        for (var j = lid; j < n; j += 256u) {
            let k = base + j * inner;
            "#,
            $finish,
            r#"
        }
    }
}
"#
        )
    };
}

/// The gradient of a `softmax_rows!` shader from its output `y` and output gradient `g`
/// (p = rows, n, inner): the row's `total` of the `$term` expression, then the `$finish`
/// statement writes `dx[k]` for each element `k`.
macro_rules! softmax_rows_backward {
    ($term:literal, $finish:literal) => {
        concat!(
            r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> y: array<T>;
@group(0) @binding(2) var<storage, read> g: array<T>;
@group(0) @binding(3) var<storage, read_write> dx: array<T>;
var<workgroup> sh: array<T, 256>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid3: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let lid = lid3.x;
    let r = wid.x + wid.y * nwg.x;
    let valid = r < p[0];
    let n = p[1];
    let inner = p[2];
    let base = (r / inner) * n * inner + (r % inner);
    var acc: T = 0.0;
    if (valid) {
        for (var j = lid; j < n; j += 256u) {
            let k = base + j * inner;
            acc += "#,
            $term,
            r#";
        }
    }
    sh[lid] = acc;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s = s >> 1u) {
        if (lid < s) { sh[lid] += sh[lid + s]; }
        workgroupBarrier();
    }
    let total = sh[0];
    if (valid) {
        for (var j = lid; j < n; j += 256u) {
            let k = base + j * inner;
            "#,
            $finish,
            r#"
        }
    }
}
"#
        )
    };
}

/// log_softmax along an axis, one workgroup per row: p = rows, n, inner.
pub(crate) const LOG_SOFTMAX: &str = softmax_rows!("y[k] = x[k] - (mx + log_t(sum));");

/// The gradient of log_softmax: `dx = g - exp_t(y) * sum(g)` per row: p = rows, n, inner.
pub(crate) const LOG_SOFTMAX_BACKWARD: &str =
    softmax_rows_backward!("g[k]", "dx[k] = g[k] - exp_t(y[k]) * total;");

/// softmax along an axis, one workgroup per row: p = rows, n, inner.
pub(crate) const SOFTMAX: &str = softmax_rows!("y[k] = exp_t(x[k] - mx) / sum;");

/// The gradient of softmax: `dx = y * (g - sum(g * y))` per row: p = rows, n, inner.
pub(crate) const SOFTMAX_BACKWARD: &str =
    softmax_rows_backward!("g[k] * y[k]", "dx[k] = y[k] * (g[k] - total);");

/// PyTorch's SGD step in place: p = n, lr, momentum, dampening, weight decay (a float, `sc`),
/// nesterov, first step (momentum buffer starts as the gradient), gradient sign (a float:
/// -1 to maximize).
pub(crate) const SGD: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read_write> w: array<T>;
@group(0) @binding(2) var<storage, read> g: array<T>;
@group(0) @binding(3) var<storage, read_write> buf: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let lr = sc(1);
    let momentum = sc(2);
    let dampening = sc(3);
    let wd = sc(4);
    var d = sc(7) * g[i] + wd * w[i];
    if (momentum != 0.0) {
        var b = d;
        if (p[6] == 0u) { b = momentum * buf[i] + (1.0 - dampening) * d; }
        buf[i] = b;
        if (p[5] == 1u) { d = d + momentum * b; } else { d = b; }
    }
    w[i] = w[i] - lr * d;
}
"#;

/// PyTorch's Adam/AdamW step in place: p = n, lr, beta1, beta2, eps, weight decay,
/// bias correction 1, sqrt of bias correction 2 (a float, `sc`), decoupled.
pub(crate) const ADAM: &str = r#"
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
    let wd = sc(5);
    let bc1 = sc(6);
    let bc2_sqrt = sc(7);
    var x = w[i];
    var d = g[i];
    if (p[8] == 1u) { x = x * (1.0 - lr * wd); } else { d = d + wd * x; }
    let mi = b1 * m[i] + (1.0 - b1) * d;
    let vi = b2 * v[i] + (1.0 - b2) * d * d;
    m[i] = mi;
    v[i] = vi;
    w[i] = x - (lr / bc1) * mi / (sqrt(vi) / bc2_sqrt + eps);
}
"#;

/// im2col: `cols[(n, oh, ow), (c, kh, kw)]` from `x (N, C, H, W)`, zero outside the image;
/// `line` (1-D convolutions of one-row planes): one kernel row, with no stride, padding or
/// dilation along H. p = n cols, C, H, W, K, S, P, D, OH, OW, line.
pub(crate) const IM2COL: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> cols: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let c_in = p[1]; let h_in = p[2]; let w_in = p[3]; let k = p[4];
    let s = p[5]; let pad = p[6]; let d = p[7]; let oh_n = p[8]; let ow_n = p[9];
    let line = p[10] == 1u;
    let kh_n = select(k, 1u, line);
    let sh = select(s, 1u, line); let ph = select(pad, 0u, line); let dh = select(d, 1u, line);
    let ckk = c_in * kh_n * k;
    let row = i / ckk;
    let col = i % ckk;
    let n = row / (oh_n * ow_n);
    let oh = (row / ow_n) % oh_n;
    let ow = row % ow_n;
    let c = col / (kh_n * k);
    let kh = (col / k) % kh_n;
    let kw = col % k;
    let h = i32(oh * sh + kh * dh) - i32(ph);
    let w = i32(ow * s + kw * d) - i32(pad);
    var v: T = 0.0;
    if (h >= 0 && h < i32(h_in) && w >= 0 && w < i32(w_in)) {
        v = x[((n * c_in + c) * h_in + u32(h)) * w_in + u32(w)];
    }
    cols[i] = v;
}
"#;

/// col2im as a gather (no float atomics in WGSL): each input element sums the column
/// entries it was copied to. p = n inputs, C, H, W, K, S, P, D, OH, OW, line (as [`IM2COL`]).
pub(crate) const COL2IM: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> dcols: array<T>;
@group(0) @binding(2) var<storage, read_write> dx: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let c_in = p[1]; let h_in = p[2]; let w_in = p[3]; let k = p[4];
    let s = p[5]; let pad = p[6]; let d = p[7]; let oh_n = p[8]; let ow_n = p[9];
    let line = p[10] == 1u;
    let kh_n = select(k, 1u, line);
    let sh = select(s, 1u, line); let ph = select(pad, 0u, line); let dh = select(d, 1u, line);
    let ckk = c_in * kh_n * k;
    let w = i % w_in;
    let h = (i / w_in) % h_in;
    let c = (i / (w_in * h_in)) % c_in;
    let n = i / (w_in * h_in * c_in);
    var acc: T = 0.0;
    for (var kh = 0u; kh < kh_n; kh++) {
        let oh_s = i32(h + ph) - i32(kh * dh);
        if (oh_s < 0 || oh_s % i32(sh) != 0) { continue; }
        let oh = u32(oh_s) / sh;
        if (oh >= oh_n) { continue; }
        for (var kw = 0u; kw < k; kw++) {
            let ow_s = i32(w + pad) - i32(kw * d);
            if (ow_s < 0 || ow_s % i32(s) != 0) { continue; }
            let ow = u32(ow_s) / s;
            if (ow >= ow_n) { continue; }
            acc += dcols[((n * oh_n + oh) * ow_n + ow) * ckk + (c * kh_n + kh) * k + kw];
        }
    }
    dx[i] = acc;
}
"#;

/// Max pooling (padding counts as -inf), keeping each window's first maximal index. Mode 0:
/// `K x K` windows with stride and padding; mode 1: PyTorch's adaptive windows, rows
/// `floor(o H / OH) .. ceil((o+1) H / OH)` and likewise for columns (`K`, `S`, `P` unused).
/// p = n outputs, H, W, K, S, P, OH, OW, mode.
pub(crate) const MAX_POOL: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> y: array<T>;
@group(0) @binding(3) var<storage, read_write> idx: array<u32>;
// The window [start, end) of output `o` along an axis of `len` inputs and `out_n` outputs.
fn pool_span(o: u32, len: u32, out_n: u32, adaptive: bool, k: u32, s: u32, pad: u32) -> vec2<i32> {
    if (adaptive) {
        return vec2<i32>(i32((o * len) / out_n), i32(((o + 1u) * len + out_n - 1u) / out_n));
    }
    let st = i32(o * s) - i32(pad);
    return vec2<i32>(st, st + i32(k));
}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let h_in = p[1]; let w_in = p[2]; let k = p[3]; let s = p[4]; let pad = p[5];
    let oh_n = p[6]; let ow_n = p[7]; let adaptive = p[8] == 1u;
    let ow = i % ow_n;
    let oh = (i / ow_n) % oh_n;
    let plane = i / (ow_n * oh_n);
    let rows = pool_span(oh, h_in, oh_n, adaptive, k, s, pad);
    let cols = pool_span(ow, w_in, ow_n, adaptive, k, s, pad);
    var best = -inf_t();
    var at = 0xffffffffu;
    for (var h = rows.x; h < rows.y; h++) {
        if (h < 0 || h >= i32(h_in)) { continue; }
        for (var w = cols.x; w < cols.y; w++) {
            if (w < 0 || w >= i32(w_in)) { continue; }
            let j = (plane * h_in + u32(h)) * w_in + u32(w);
            let v = x[j];
            // The first maximum; a NaN wins (and stays), as in PyTorch. `is_nan_t`, not
            // `v != v`, which lavapipe's compiler folds to false.
            if (at == 0xffffffffu || v > best || (is_nan_t(v) && !is_nan_t(best))) {
                best = v;
                at = j;
            }
        }
    }
    y[i] = best;
    idx[i] = at;
}
"#;

/// The gradient of [`MAX_POOL`] as a gather over the windows holding each input element:
/// p = n inputs, H, W, K, S, P, OH, OW, mode.
pub(crate) const MAX_POOL_BACKWARD: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> idx: array<u32>;
@group(0) @binding(2) var<storage, read> g: array<T>;
@group(0) @binding(3) var<storage, read_write> dx: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let h_in = p[1]; let w_in = p[2]; let k = p[3]; let s = p[4]; let pad = p[5];
    let oh_n = p[6]; let ow_n = p[7];
    let w = i % w_in;
    let h = (i / w_in) % h_in;
    let plane = i / (w_in * h_in);
    // Only the windows that contain (h, w): oh in [ceil((h+P-K+1)/S), floor((h+P)/S)].
    let hp = i32(h + pad);
    let wp = i32(w + pad);
    let si = i32(s);
    let ki = i32(k);
    var oh_lo = max(0, (hp - ki + si) / si);
    var oh_hi = min(hp / si, i32(oh_n) - 1);
    var ow_lo = max(0, (wp - ki + si) / si);
    var ow_hi = min(wp / si, i32(ow_n) - 1);
    if (p[8] == 1u) {
        // Adaptive windows: a superset of the outputs whose window holds (h, w); the index
        // test below keeps the right ones.
        oh_lo = i32((h * oh_n) / h_in);
        oh_hi = min(i32(((h + 1u) * oh_n + h_in - 1u) / h_in), i32(oh_n) - 1);
        ow_lo = i32((w * ow_n) / w_in);
        ow_hi = min(i32(((w + 1u) * ow_n + w_in - 1u) / w_in), i32(ow_n) - 1);
    }
    var acc: T = 0.0;
    for (var oh = oh_lo; oh <= oh_hi; oh++) {
        for (var ow = ow_lo; ow <= ow_hi; ow++) {
            let o = (plane * oh_n + u32(oh)) * ow_n + u32(ow);
            if (idx[o] == i) { acc += g[o]; }
        }
    }
    dx[i] = acc;
}
"#;

/// Embedding lookup: `out[p, d] = table[idx[p], d]`: p = n out, D.
pub(crate) const GATHER_ROWS: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> table: array<T>;
@group(0) @binding(2) var<storage, read> idx: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    out[i] = table[idx[i / p[1]] * p[1] + i % p[1]];
}
"#;

/// The table gradient of [`GATHER_ROWS`], one thread per table entry summing the positions
/// that looked its row up (positions grouped by row on the CPU: `offsets`, `positions`);
/// the padding row gets zero. p = V * D, D, padding row (or u32::MAX).
pub(crate) const GATHER_ROWS_BACKWARD: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> offsets: array<u32>;
@group(0) @binding(2) var<storage, read> positions: array<u32>;
@group(0) @binding(3) var<storage, read> g: array<T>;
@group(0) @binding(4) var<storage, read_write> dw: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let d = p[1];
    let row = i / d;
    var acc: T = 0.0;
    if (row != p[2]) {
        for (var k = offsets[row]; k < offsets[row + 1u]; k++) {
            acc += g[positions[k] * d + i % d];
        }
    }
    dw[i] = acc;
}
"#;
