//! WGSL of sorting along an axis (see [`super::sort_kernels`]).

/// The first `k` of every line of `x` `(outer, n, inner)` along the middle axis in sorted
/// order, with their positions: one thread per input element counts the elements that sort
/// before it (its rank; equal ones by position, so the sort is stable) and, if that rank is
/// below `k`, writes itself there. O(n) per element: meant for lines of up to a few
/// thousand. NaN sorts above every number (PyTorch). p = outer * n * inner, n, inner, k,
/// descending.
pub(crate) const SORT_LINES: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> vals: array<T>;
@group(0) @binding(3) var<storage, read_write> idx: array<u32>;
fn less(a: T, b: T) -> bool {
    if (is_nan_t(a)) { return false; }
    if (is_nan_t(b)) { return true; }
    return a < b;
}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * 256u;
    if (t >= p[0]) { return; }
    let n = p[1];
    let inner = p[2];
    let k = p[3];
    let desc = p[4] != 0u;
    let pos = (t / inner) % n;
    let o = t / (n * inner);
    let i = t % inner;
    let base = o * n * inner + i;
    let v = x[t];
    var rank = 0u;
    for (var q = 0u; q < n; q++) {
        let w = x[base + q * inner];
        var before = false;
        if (desc) {
            before = less(v, w) || (!less(w, v) && q < pos);
        } else {
            before = less(w, v) || (!less(v, w) && q < pos);
        }
        rank += select(0u, 1u, before);
    }
    if (rank < k) {
        let at = (o * k + rank) * inner + i;
        vals[at] = v;
        idx[at] = pos;
    }
}
"#;

/// The input gradient of [`SORT_LINES`]: each output gradient back to the position it came
/// from (the positions of one line are distinct, so no two threads write one element; `dx`
/// starts at zero). p = outer * k * inner, n, inner, k.
pub(crate) const SORT_BACKWARD: &str = r#"
@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read> idx: array<u32>;
@group(0) @binding(2) var<storage, read> gy: array<T>;
@group(0) @binding(3) var<storage, read_write> dx: array<T>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * 256u;
    if (t >= p[0]) { return; }
    let n = p[1];
    let inner = p[2];
    let k = p[3];
    let o = t / (k * inner);
    let i = t % inner;
    dx[(o * n + idx[t]) * inner + i] = gy[t];
}
"#;
