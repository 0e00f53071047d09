//! WGSL of the comparisons and of `where` (see [`super::compare_kernels`]).

/// `out[i] = 1` where `a[ia] op b[ib]`, else 0, over a broadcast: p = n, op, rank, dims[6],
/// a strides[6], b strides[6]; `op`: 0 ==, 1 !=, 2 <, 3 <=, 4 >, 5 >=. With `p[1] >= 8` the
/// right side is the scalar `sc(21)` (op - 8). NaN compares false except with != (IEEE, as
/// the CPU), tested explicitly since WGSL lets drivers assume there is no NaN.
pub(crate) const COMPARE: &str = r#"
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
    var op = p[1];
    var y: T = 0.0;
    if (op >= 8u) {
        op = op - 8u;
        y = sc(21u);
    } else {
        y = b[ib];
    }
    let unordered = is_nan_t(x) || is_nan_t(y);
    var r = false;
    switch op {
        case 0u: { r = !unordered && x == y; }
        case 1u: { r = unordered || x != y; }
        case 2u: { r = !unordered && x < y; }
        case 3u: { r = !unordered && x <= y; }
        case 4u: { r = !unordered && x > y; }
        default: { r = !unordered && x >= y; }
    }
    out[i] = select(T(0.0), T(1.0), r);
}
"#;

/// `out[i] = a[ia]` where `c[ic] != 0`, else `b[ib]`, all three broadcast: p = n, rank,
/// dims[6], c strides[6], a strides[6], b strides[6].
pub(crate) const WHERE: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> c: array<T>;
@group(0) @binding(2) var<storage, read> a: array<T>;
@group(0) @binding(3) var<storage, read> b: array<T>;
@group(0) @binding(4) var<storage, read_write> out: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) { return; }
    let rank = p[1];
    var rem = i;
    var ic = 0u;
    var ia = 0u;
    var ib = 0u;
    for (var d = 0u; d < rank; d++) {
        let k = rank - 1u - d;
        let idx = rem % p[2u + k];
        rem = rem / p[2u + k];
        ic += idx * p[8u + k];
        ia += idx * p[14u + k];
        ib += idx * p[20u + k];
    }
    // A NaN condition is nonzero, as on the CPU (`c != 0`).
    let chosen = c[ic] != 0.0 || is_nan_t(c[ic]);
    out[i] = select(b[ib], a[ia], chosen);
}
"#;
