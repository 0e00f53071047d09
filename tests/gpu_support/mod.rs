//! Shared by the GPU tests: the device, or a skip.

use shaped::device::Wgpu;

/// The GPU, or `None` with a printed line when there is no adapter; with `REQUIRE_GPU=1` a
/// missing adapter fails the test instead (CI installs lavapipe and sets it).
pub fn gpu() -> Option<Wgpu> {
    match Wgpu::new() {
        Ok(g) => Some(g),
        Err(e) => {
            if std::env::var("REQUIRE_GPU").as_deref() == Ok("1") {
                panic!("REQUIRE_GPU=1 but there is no GPU adapter: {e}");
            }
            eprintln!("skipping GPU test: no GPU adapter ({e})");
            None
        }
    }
}

/// Asserts `|a - b| <= atol + rtol * |b|` elementwise, naming the first index that differs.
#[track_caller]
#[allow(dead_code)] // not every test file compares with the CPU
pub fn assert_close(what: &str, a: &[f32], b: &[f32], atol: f32, rtol: f32) {
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= atol + rtol * y.abs(),
            "{what}: index {i}: GPU {x} vs CPU {y}"
        );
    }
}
