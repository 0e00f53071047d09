//! Compile-fail suite: shape errors the compiler must reject, each with a correct twin of the
//! same name in `tests/compile_pass/` that must build and run.
//!
//! Regenerate the expected messages with `TRYBUILD=overwrite cargo test --test compile_fail`
//! and read every changed `.stderr` before committing it: each should be the crate's own
//! message naming the dimensions involved.
//!
//! # What trybuild catches (trybuild 1.0.122, from its `src/cargo.rs` and `src/run.rs`)
//!
//! When a `TestCases` holds only compile-fail cases, trybuild runs a single
//! `cargo check --bins --keep-going`; as soon as the same `TestCases` also holds a `.pass(..)`
//! case, it runs `cargo build` instead, one case at a time (and runs each pass case).
//!
//! Type-level shape errors (`DimEq`, `BroadcastDim`, `HasAxis`, `MatMulShape`, `ScalarShape`,
//! `BackwardTape`, ...) are trait errors that both `check` and `build` report. Build-time const
//! assertions (`realize`, `broadcast_to`, `reshape`, `DimEq` between a computed dimension and a
//! `Const`, convolution sizes) fail only during monomorphization, which `cargo check` never
//! reaches. They are caught here *only because* this `TestCases` also holds the pass cases, so
//! trybuild uses `cargo build`. Keep `.pass(..)` in the same `TestCases` as `.compile_fail(..)`:
//! split into a compile-fail-only `TestCases`, the const-assert cases (`realize_wrong_shape`,
//! `broadcast_to_incompatible`, `reshape_numel`, `matmul_computed_dim`, `conv_*`) would compile
//! under `cargo check` and fail with "expected compile error".
//!
//! # Portability of the `.stderr` files
//!
//! trybuild normalizes paths (`tests/...` relative to the crate, `$RUST/...` for the standard
//! library, `$N` counts) and erases line numbers outside the test file, so the suite passes
//! from any checkout. The files were recorded with the pinned toolchain (rust-toolchain.toml)
//! without the `rust-src` component; a different compiler version may word messages
//! differently, and with `rust-src` installed the const-assert cases may quote extra lines
//! from `core/src/panic.rs`.

#[test]
fn compile_fail() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/compile_fail/*.rs");
    t.pass("tests/compile_pass/*.rs");
}
