//! Device mixing is a compile error: a CPU and a GPU tensor in one op, a CPU layer given a
//! GPU input, f32 and f64 GPU tensors in one op, and an op without a GPU kernel called on a
//! GPU tensor.
//!
//! Regenerate with `TRYBUILD=overwrite cargo test --release --features wgpu --test
//! gpu_compile_fail` and read every changed `.stderr`.
#![cfg(feature = "wgpu")]

#[test]
fn device_mixing_does_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/compile_fail_gpu/*.rs");
}
