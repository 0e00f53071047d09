//! The gradient check of the custom layer in `examples/custom_layer.rs`, as a test: the
//! layer's gradients with respect to its input and every parameter agree with finite
//! differences on random inputs and initialisations.
//!
//! The layer and the check are the example's own code (included below), so the example and
//! this test cannot drift apart.

#[allow(dead_code)] // the example's `main` and training helpers are not used here
#[path = "../examples/custom_layer.rs"]
mod custom_layer;

use custom_layer::{IN, check_gradients};
use proptest::prelude::*;
use shaped::prelude::*;
use shaped::strategies::tensor;

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn custom_layer_gradients_match_finite_differences(
        x in tensor::<Rank2<3, IN>, f64>(-3.0..3.0),
        seed in any::<u64>(),
    ) {
        if let Err(e) = check_gradients(&x, seed) {
            prop_assert!(false, "{e}");
        }
    }
}

/// The example's deterministic property run, as the example prints it.
#[test]
fn example_property_run_passes() {
    custom_layer::run_gradcheck_property(16).unwrap();
}

/// The check is not vacuous: a layer whose `scale` is left off the tape fails it.
#[test]
fn gradcheck_catches_a_parameter_left_off_the_tape() {
    use rand::SeedableRng;
    use shaped::gradcheck::{GradcheckOptions, gradcheck2_vjp};
    use shaped::nn::Module;
    let layer = custom_layer::GatedLinear::<f64>::new(&mut rand::rngs::StdRng::seed_from_u64(3));
    let x = Tensor::<Rank2<3, IN>, f64>::full(0.5);
    let err = gradcheck2_vjp(
        &x,
        &layer.scale,
        |x, s| {
            let value = layer.value.forward(x.clone());
            let gate = layer.gate.forward(x).sigmoid();
            value * gate * s.detach() // the bug: an untraced parameter
        },
        GradcheckOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.input, 1);
}
