#[test]
fn mine() {
    let t = trybuild::TestCases::new();
    for n in ["loss_mse_column_vs_vector", "loss_bce_transposed", "loss_ce_label_count", "loss_ce_probs_classes", "layernorm_last_dim", "batchnorm2d_channels"] {
        t.compile_fail(format!("tests/compile_fail/{n}.rs"));
        t.pass(format!("tests/compile_pass/{n}.rs"));
    }
}
