//! The derive's own errors, checked as compile failures: each names what is wrong and
//! where. Regenerate with `TRYBUILD=overwrite cargo test -p shaped-derive --test compile_fail`
//! and read every changed `.stderr` before committing it.

#[test]
fn derive_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
