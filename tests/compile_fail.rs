//! Compile-fail suite: shape errors that must be rejected by the compiler, each with a
//! correct twin in `tests/compile_pass/` that must build and run.
//!
//! Regenerate the expected messages with `TRYBUILD=overwrite cargo test --test compile_fail`
//! and read every changed `.stderr` before committing it.
//!
//! # What trybuild catches (trybuild 1.0.122, read from its source, `src/cargo.rs`/`src/run.rs`)
//!
//! trybuild runs `cargo check` when a `TestCases` has only compile-fail cases (all of them in
//! one `cargo check --bins --keep-going`), but `cargo build` (one test at a time) as soon as the
//! same `TestCases` also has a `.pass(..)` case. Errors from build-time const assertions
//! (`realize`, `broadcast_to`, `DimEq` between a computed dimension and a `Const`) are raised
//! during monomorphization, which `cargo check` never reaches. They are therefore caught here
//! only because this `TestCases` also holds the pass cases: keep `.pass(..)` in the same
//! `TestCases` as `.compile_fail(..)`, or `realize_wrong_shape`, `broadcast_to_incompatible`
//! and `matmul_computed_dim` will start "compiling" and fail with "expected compile error".
//!
//! `.stderr` files use trybuild's normalized paths (`$DIR`, `$WORKSPACE`, and line numbers
//! erased outside the test file), so the suite passes from any checkout location.

#[test]
fn compile_fail() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/compile_fail/*.rs");
    t.pass("tests/compile_pass/*.rs");
}
